/* The device signatures a `release sign` run will need, known before the device is
 * touched: every APK the plan signs (2 signatures, v2 and v3, and one more for v1 when
 * its min SDK is below 24), every APEX (its payload's vbmeta and its container as an
 * APK; a .capex also its original_apex's container), and the APKs inside APEX
 * payloads (the payload file system is looked into as `release sign` does).  An
 * artifact whose bytes and keys equal one counted earlier in the run (the same APK in
 * two devices' packages, signed with the same key) is a predicted cache hit: the
 * signing is deterministic, so its signatures come from the signing cache. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "release_internal.h"
#include "signet/apk.h"
#include "signet/avb.h"

#define MEMBER_MAX ((size_t)0xffffffffu)

void signet_release_estimate_free(signet_release_estimate *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].what);
    free(e->v);
    memset(e, 0, sizeof *e);
}

/* Signatures the APK engine asks for with the default options: v2 and v3, and v1
 * below min SDK 24.  An APK whose min SDK cannot be read fails later, when signed. */
static unsigned apk_sigs(const uint8_t *apk, size_t len)
{
    int min_sdk = 0;
    if (signet_apk_min_sdk(apk, len, &min_sdk) != SIGNET_OK) {
        signet_err_clear();
        return 2;
    }
    return min_sdk < 24 ? 3 : 2;
}

/* Adds an artifact; *hit: a same-bytes, same-keys artifact came before (or, for an
 * APEX, `inner_new` says an APK inside it is new, which changes its payload). */
static signet_rc add(signet_release_estimate *e, size_t pkg, const char *what, const char *key,
                     const char *payload, const uint8_t *p, size_t len, unsigned sigs,
                     bool inner, bool inner_new, bool *hit)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 64;
        signet_release_est_item *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        e->v = v;
        e->cap = cap;
    }
    signet_release_est_item *it = &e->v[e->n];
    memset(it, 0, sizeof *it);
    if (!(it->what = strdup(what)))
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    it->pkg = pkg;
    snprintf(it->key, sizeof it->key, "%s", key);
    snprintf(it->payload, sizeof it->payload, "%s", payload ? payload : "");
    EVP_Digest(p, len, it->sha256, NULL, EVP_sha256(), NULL);
    it->sigs = sigs;
    it->inner = inner;
    for (size_t i = 0; i < e->n && !inner_new && !it->hit; i++)
        it->hit = strcmp(e->v[i].key, it->key) == 0 && strcmp(e->v[i].payload, it->payload) == 0 &&
                  memcmp(e->v[i].sha256, it->sha256, 32) == 0;
    e->n++;
    *hit = it->hit;
    return SIGNET_OK;
}

static void tally(signet_release_est_sum *s, const signet_release_est_item *it, bool apex)
{
    if (apex)
        s->apexes++;
    else if (it->inner)
        s->inner_apks++;
    else
        s->apks++;
    s->signatures += it->sigs;
    s->predicted_hits += it->hit ? it->sigs : 0;
}

/* The APKs inside one APEX payload (as sign_inner_apks finds and keys them). */
static signet_rc inner_apks(signet_release_estimate *e, const signet_release_job *j, size_t pkg,
                            const char *member, const uint8_t *payload, size_t len,
                            signet_release_est_sum *s, bool *any_new)
{
    signet_avb_footer f;
    signet_rc rc = signet_avb_footer_parse(payload, len, &f);
    if (rc != SIGNET_OK || !j->fs)
        return rc;
    signet_release_fs *fs = NULL;
    const char *const *apks = NULL;
    size_t n = 0;
    rc = j->fs->open(j->fs_ctx, member, payload, (size_t)f.original_image_size, &fs, &apks, &n);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        char where[4200], *key = NULL, st[41];
        rc = rl_inner_key(j->meta, j->map, member, apks[i], where, sizeof where, &key, st);
        sb_wr apk;
        sbw_init(&apk, MEMBER_MAX);
        if (rc == SIGNET_OK && key)
            rc = j->fs->read(fs, apks[i], &apk);
        bool hit = false;
        if (rc == SIGNET_OK && key)
            rc = add(e, pkg, where, st, NULL, apk.p, apk.len, apk_sigs(apk.p, apk.len), true,
                     false, &hit);
        if (rc == SIGNET_OK && key) {
            tally(s, &e->v[e->n - 1], false);
            *any_new |= !hit;
        }
        sbw_free(&apk);
        free(key);
    }
    if (fs)
        j->fs->close(fs);
    return rc;
}

/* An APEX container: its inner APKs, then the payload signature and the container. */
static signet_rc apex(signet_release_estimate *e, const signet_release_job *j, size_t pkg,
                      const char *member, const char *cstore, const char *pstore,
                      const uint8_t *in, size_t len, unsigned extra_sigs, signet_release_est_sum *s)
{
    signet_zip z;
    signet_rc rc = signet_zip_parse(in, len, &z);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "%s", member);
    const signet_zip_entry *pe = signet_zip_find(&z, "apex_payload.img");
    sb_wr payload;
    sbw_init(&payload, MEMBER_MAX);
    bool any_new = false, hit = false;
    if (pe)
        rc = signet_zip_extract(&z, pe, MEMBER_MAX, &payload);
    /* A payload that does not parse is refused by the signing itself, with its reason. */
    if (rc == SIGNET_OK && pe)
        rc = inner_apks(e, j, pkg, member, payload.p, payload.len, s, &any_new);
    if (rc == SIGNET_OK)
        rc = add(e, pkg, member, cstore, pstore, in, len, 1 + apk_sigs(in, len) + extra_sigs,
                 false, any_new, &hit);
    if (rc == SIGNET_OK)
        tally(s, &e->v[e->n - 1], true);
    sbw_free(&payload);
    signet_zip_free(&z);
    return rc;
}

signet_rc signet_release_estimate_add(signet_release_estimate *e, const signet_release_job *j,
                                      size_t pkg, const signet_tf *tf, const signet_rplan *p,
                                      signet_release_est_sum *s)
{
    memset(s, 0, sizeof *s);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < tf->z.n; i++) {
        const char *m = tf->names[i];
        const signet_rplan_item *ap = signet_rplan_find(p, SIGNET_RPLAN_APK, m);
        const signet_rplan_item *ax = signet_rplan_find(p, SIGNET_RPLAN_APEX, m);
        const signet_rplan_item *it = ap ? ap : ax;
        if (!it || it->action != SIGNET_RPLAN_SIGN)
            continue;
        char st[41], ps[41];
        rc = signet_release_store_name(it->key, st);
        if (rc == SIGNET_OK && ax)
            rc = signet_release_store_name(it->payload, ps);
        sb_wr in, plain;
        sbw_init(&in, MEMBER_MAX);
        sbw_init(&plain, MEMBER_MAX);
        if (rc == SIGNET_OK)
            rc = signet_zip_extract(&tf->z, &tf->z.e[i], MEMBER_MAX, &in);
        if (rc == SIGNET_OK && ap && ap->gz)
            rc = rl_gunzip(in.p, in.len, MEMBER_MAX, &plain);
        const uint8_t *b = ap && ap->gz ? plain.p : in.p;
        size_t bl = ap && ap->gz ? plain.len : in.len;
        bool hit;
        if (rc == SIGNET_OK && ap) {
            rc = add(e, pkg, m, st, NULL, b, bl, apk_sigs(b, bl), false, false, &hit);
            if (rc == SIGNET_OK)
                tally(s, &e->v[e->n - 1], false);
        } else if (rc == SIGNET_OK && rl_ends_with(m, ".capex")) {
            /* original_apex is signed as an APEX, then the .capex container */
            signet_zip z;
            rc = signet_zip_parse(in.p, in.len, &z);
            bool parsed = rc == SIGNET_OK;
            const signet_zip_entry *oe = parsed ? signet_zip_find(&z, "original_apex") : NULL;
            if (rc == SIGNET_OK && oe)
                rc = signet_zip_extract(&z, oe, MEMBER_MAX, &plain);
            char inner[4200];
            snprintf(inner, sizeof inner, "%s!original_apex", m);
            if (rc == SIGNET_OK && oe)
                rc = apex(e, j, pkg, inner, st, ps, plain.p, plain.len, apk_sigs(in.p, in.len), s);
            if (rc == SIGNET_OK && !oe)
                rc = signet_fail(SIGNET_E_PARSE, "%s: a compressed APEX without original_apex", m);
            if (parsed)
                signet_zip_free(&z);
        } else if (rc == SIGNET_OK) {
            rc = apex(e, j, pkg, m, st, ps, in.p, in.len, 0, s);
        }
        sbw_free(&in);
        sbw_free(&plain);
    }
    return rc;
}

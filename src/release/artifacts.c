/* The APKs and APEXes of every package of a `release sign` run, signed ordered by key
 * across all packages, in stages that follow the dependencies:
 *
 *   1. every APK: the packages' own and the ones inside APEX payloads;
 *   2. every APEX payload's vbmeta (payload file systems rebuilt around the signed
 *      APKs first), through signet_sign_batch;
 *   3. every APEX container; 4. every .capex container (around its signed
 *      original_apex).
 *
 * In each stage the requests are put in the order of signet_batch_order (each key
 * loaded once, keys already on the device first) and go to the device in groups of
 * one key (signet_apk_jobs_sign / signet_sign_batch: one drain and one trail sync per
 * group).  A request with the same key and the same bytes as an earlier one of the
 * stage (the same APK in two devices' packages) waits for a second pass, where the
 * signing cache answers it with a `reuse` record of its own instead of the device
 * signing twice.  The outputs stay in each package's job until signet_release_sign
 * writes the package. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "artifacts.h"

#define MEMBER_MAX RL_MEMBER_MAX
/* APKs signed together: v2 + v3 are two signatures each, one device group; bounded
 * in input bytes too (each job holds its input). */
#define GROUP_APKS (SIGNET_BATCH_GROUP / 2)
#define GROUP_BYTES (64u << 20)

void rl_sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

static signet_rc push(void ***v, size_t *n, size_t *cap, void *x)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void **nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return SIGNET_OK;
}

signet_rc rl_art_new(struct rl_run *r, signet_release_job *j, const char *what, const char *key,
                         struct rl_art **out)
{
    struct rl_art *a = calloc(1, sizeof *a);
    if (!a || !(a->what = strdup(what))) {
        free(a);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    a->j = j;
    snprintf(a->key, sizeof a->key, "%s", key);
    sbw_init(&a->in, MEMBER_MAX);
    sbw_init(&a->out, MEMBER_MAX);
    signet_rc rc = push((void ***)&r->arts, &r->n_arts, &r->cap_arts, a);
    if (rc) {
        free(a->what);
        free(a);
        return rc;
    }
    *out = a;
    return SIGNET_OK;
}

static void art_free(struct rl_art *a)
{
    free(a->what);
    sbw_free(&a->in);
    sbw_free(&a->out);
    free(a);
}

static void apex_free(struct rl_apex *x)
{
    if (x->fs)
        x->j->fs->close(x->fs);
    if (x->parsed)
        signet_zip_free(&x->z);
    signet_avb_resign_free(&x->r);
    sbw_free(&x->in), sbw_free(&x->payload), sbw_free(&x->rebuilt), sbw_free(&x->pub);
    sbw_free(&x->newpay), sbw_free(&x->di), sbw_free(&x->aligned);
    free(x->arts);
    free(x->member);
    free(x->what);
    free(x);
}

static signet_rc need_key(signet_keystore *ks, const char *store, const char *what)
{
    if (signet_keystore_has_key(ks, store))
        return SIGNET_OK;
    return signet_fail(SIGNET_E_NOTFOUND, "release key '%s' for %s is not in the key store: add "
                                          "it (signet keys init / generate) or map the "
                                          "development key to an existing one",
                       store, what);
}

/* ---- stage requests in key order ---------------------------------------------- */

/* Marks each item that repeats an earlier one's key and bytes (same[i] = index of the
 * first, or i). */
void rl_mark_dups(const char *const *keys, const uint8_t (*sha)[32], size_t n, bool *dup)
{
    for (size_t i = 0; i < n; i++) {
        dup[i] = false;
        for (size_t k = 0; k < i && !dup[i]; k++)
            dup[i] = !dup[k] && strcmp(keys[k], keys[i]) == 0 && memcmp(sha[k], sha[i], 32) == 0;
    }
}

/* The positions of pass `pass` (0: first of their kind, 1: repeats) in signing order. */
signet_rc rl_order_pass(signet_signer *s, const char *const *keys, const bool *dup, size_t n,
                            int pass, size_t *out, size_t *m)
{
    size_t *idx = calloc(n ? n : 1, sizeof *idx), *ord = calloc(n ? n : 1, sizeof *ord);
    const char **k = calloc(n ? n : 1, sizeof *k);
    signet_rc rc = idx && ord && k ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
    *m = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        if (dup[i] == (pass == 1)) {
            idx[*m] = i;
            k[(*m)++] = keys[i];
        }
    if (rc == SIGNET_OK && *m)
        rc = signet_batch_order(s, k, *m, ord);
    for (size_t i = 0; rc == SIGNET_OK && i < *m; i++)
        out[i] = idx[ord[i]];
    free(idx), free(ord), free(k);
    return rc;
}

void rl_step(struct rl_run *r, const char *what, const char *key, size_t bytes)
{
    signet_sign_stats ss;
    signet_signer_stats(r->s, &ss);
    signet_progress_step(&r->pr, "%s (%s, %.1f MB; %llu device ops, %llu cache hits)", what, key,
                         bytes / 1e6, (unsigned long long)ss.device_signs,
                         (unsigned long long)ss.cache_hits);
    signet_progress_done(&r->pr);
}

/* One group of APKs of one key: begun (laid out and hashed), signed together, finished. */
static signet_rc sign_group(struct rl_run *r, struct rl_art **g, size_t n, const sb_wr *cert)
{
    signet_apk_batch_job *v = calloc(n, sizeof *v);
    if (!v)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        struct rl_art *a = g[i];
        signet_apk_opts o;
        signet_apk_opts_default(&o);
        o.v1_signer_name = a->key; /* v1 files named after the key, as apksigner does */
        a->info = (signet_apk_sign_info){.artifact_path = a->what, .caller = "release sign"};
        rl_sha256(a->in.p, a->in.len, a->info.in_sha256);
        rc = signet_apk_sign_begin(a->in.p, a->in.len, &o, cert->p, cert->len, &v[i].job);
        v[i].info = &a->info;
        if (rc)
            rc = signet_wrap(rc, "%s (key %s)", a->what, a->key);
    }
    if (rc == SIGNET_OK)
        signet_apk_jobs_sign(r->s, g[0]->key, v, n);
    for (size_t i = 0; i < n; i++) {
        struct rl_art *a = g[i];
        if (rc == SIGNET_OK && v[i].rc)
            rc = signet_fail(v[i].rc, "%s (key %s): %s", a->what, a->key, v[i].err);
        if (rc == SIGNET_OK)
            rc = signet_apk_sign_finish(v[i].job, &a->out, NULL);
        if (rc == SIGNET_OK) {
            a->j->device_ops += a->info.device_sigs;
            a->j->cache_hits += a->info.reused;
            rl_step(r, a->what, a->key, a->in.len);
        }
        signet_apk_sign_free(v[i].job);
    }
    free(v);
    return rc;
}

/* Signs APKs v[0..n) in key order, repeats after the first of their kind. */
static signet_rc sign_arts(struct rl_run *r, struct rl_art **v, size_t n)
{
    if (!n)
        return SIGNET_OK;
    const char **keys = calloc(n, sizeof *keys);
    uint8_t(*sha)[32] = calloc(n, sizeof *sha);
    bool *dup = calloc(n, sizeof *dup);
    size_t *order = calloc(n, sizeof *order);
    struct rl_art **g = calloc(n, sizeof *g);
    sb_wr cert;
    sbw_init(&cert, 1u << 16);
    signet_rc rc = keys && sha && dup && order && g ? SIGNET_OK
                                                    : signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        keys[i] = v[i]->key;
        rl_sha256(v[i]->in.p, v[i]->in.len, sha[i]);
    }
    if (rc == SIGNET_OK)
        rl_mark_dups(keys, (const uint8_t(*)[32])sha, n, dup);
    for (int pass = 0; rc == SIGNET_OK && pass < 2; pass++) {
        size_t m = 0;
        rc = rl_order_pass(r->s, keys, dup, n, pass, order, &m);
        for (size_t k0 = 0; rc == SIGNET_OK && k0 < m;) {
            const char *key = keys[order[k0]];
            size_t k1 = k0, bytes = 0;
            while (k1 < m && strcmp(keys[order[k1]], key) == 0 && k1 - k0 < GROUP_APKS &&
                   (k1 == k0 || bytes + v[order[k1]]->in.len <= GROUP_BYTES))
                bytes += v[order[k1++]]->in.len;
            for (size_t k = k0; k < k1; k++)
                g[k - k0] = v[order[k]];
            sbw_free(&cert); /* cert_der starts it again */
            rc = signet_keystore_cert_der(r->ks, key, &cert);
            if (rc)
                rc = signet_wrap(rc, "the certificate of key '%s'", key);
            if (rc == SIGNET_OK)
                rc = sign_group(r, g, k1 - k0, &cert);
            k0 = k1;
        }
    }
    sbw_free(&cert);
    free(keys), free(sha), free(dup), free(order), free(g);
    return rc;
}

/* ---- stage 0: what to sign --------------------------------------------------------- */

/* An APEX container: payload verified as built, its file system opened, the APKs
 * inside that have a release key read for stage 1. */
static signet_rc collect_apex(struct rl_run *r, struct rl_apex *x)
{
    signet_release_job *j = x->j;
    signet_rc rc = signet_zip_parse(x->in.p, x->in.len, &x->z);
    x->parsed = rc == SIGNET_OK;
    const signet_zip_entry *pe = x->parsed ? signet_zip_find(&x->z, "apex_payload.img") : NULL;
    if (rc == SIGNET_OK && !pe)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "no apex_payload.img (is it a compressed APEX "
                                               "named .apex?)");
    if (rc == SIGNET_OK)
        rc = signet_zip_extract(&x->z, pe, MEMBER_MAX, &x->payload);
    /* The payload as built must verify (signature with its own key, hash tree over
     * its data) before a release signature vouches for it. */
    if (rc == SIGNET_OK &&
        (rc = signet_avb_image_verify(x->payload.p, x->payload.len, NULL, 0)) != SIGNET_OK)
        rc = signet_wrap(rc, "apex_payload.img does not verify as built (tampered?)");
    signet_avb_footer f;
    if (rc == SIGNET_OK)
        rc = signet_avb_footer_parse(x->payload.p, x->payload.len, &f);
    if (rc == SIGNET_OK && !j->fs)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "cannot look inside its payload for APKs");
    if (rc == SIGNET_OK)
        rc = j->fs->open(j->fs_ctx, x->what, x->payload.p, (size_t)f.original_image_size, &x->fs,
                         &x->inner, &x->n_inner);
    if (rc == SIGNET_OK && x->n_inner && !(x->arts = calloc(x->n_inner, sizeof *x->arts)))
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SIGNET_OK && i < x->n_inner; i++) {
        char where[4200], *key = NULL, st[41];
        rc = rl_inner_key(j->meta, j->map, x->what, x->inner[i], where, sizeof where, &key, st);
        if (rc == SIGNET_OK && key)
            rc = need_key(r->ks, st, where);
        if (rc == SIGNET_OK && key)
            rc = rl_art_new(r, j, where, st, &x->arts[i]);
        if (rc == SIGNET_OK && key)
            rc = j->fs->read(x->fs, x->inner[i], &x->arts[i]->in);
        free(key);
    }
    return rc;
}

static signet_rc collect(struct rl_run *r, signet_release_pkg *k)
{
    signet_release_job *j = k->j;
    const signet_tf *tf = k->tf;
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < tf->z.n; i++) {
        const char *m = tf->names[i];
        const signet_rplan_item *apk = signet_rplan_find(k->p, SIGNET_RPLAN_APK, m);
        const signet_rplan_item *ax = signet_rplan_find(k->p, SIGNET_RPLAN_APEX, m);
        const signet_rplan_item *it = apk ? apk : ax;
        if (!it || it->action != SIGNET_RPLAN_SIGN || rl_dropped_member(m))
            continue;
        char st[41], ps[41];
        rc = rl_store_name(k->p, it->key, st);
        if (rc == SIGNET_OK && ax)
            rc = rl_store_name(k->p, it->payload, ps);
        sb_wr in;
        sbw_init(&in, MEMBER_MAX);
        if (rc == SIGNET_OK)
            rc = signet_zip_extract(&tf->z, &tf->z.e[i], MEMBER_MAX, &in);
        j->done++;
        j->bytes += in.len;
        struct rl_art *a = NULL;
        if (rc == SIGNET_OK && apk) {
            rc = rl_art_new(r, j, m, st, &a);
            if (rc == SIGNET_OK)
                rc = apk->gz ? rl_gunzip(in.p, in.len, MEMBER_MAX, &a->in)
                             : sbw_put(&a->in, in.p, in.len);
            if (rc == SIGNET_OK)
                rc = rl_signed_add(j, m, apk->gz);
            if (rc == SIGNET_OK)
                j->signed_v[j->n_signed - 1].art = a;
        } else if (rc == SIGNET_OK) {
            struct rl_apex *x = calloc(1, sizeof *x);
            char what[4200];
            bool capex = rl_ends_with(m, ".capex");
            snprintf(what, sizeof what, capex ? "%s!original_apex" : "%s", m);
            if (!x || !(x->member = strdup(m)) || !(x->what = strdup(what))) {
                if (x)
                    free(x->member);
                free(x);
                rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
            } else {
                x->j = j;
                x->capex = capex;
                memcpy(x->cstore, st, 41);
                memcpy(x->pstore, ps, 41);
                sbw_init(&x->in, MEMBER_MAX);
                sbw_init(&x->payload, MEMBER_MAX);
                sbw_init(&x->rebuilt, MEMBER_MAX);
                sbw_init(&x->newpay, MEMBER_MAX);
                sbw_init(&x->aligned, MEMBER_MAX);
                sbw_init(&x->pub, 4096);
                sbw_init(&x->di, 128);
                rc = push((void ***)&r->apexes, &r->n_apexes, &r->cap_apexes, x);
                if (rc)
                    apex_free(x);
            }
            if (rc == SIGNET_OK && capex) {
                /* releasetools' SignCompressedApex: original_apex is the APEX signed */
                signet_zip cz;
                rc = signet_zip_parse(in.p, in.len, &cz);
                if (rc == SIGNET_OK) {
                    const signet_zip_entry *oe = signet_zip_find(&cz, "original_apex");
                    rc = oe ? signet_zip_extract(&cz, oe, MEMBER_MAX, &x->in)
                            : signet_fail(SIGNET_E_PARSE, "a compressed APEX without "
                                                          "original_apex");
                    signet_zip_free(&cz);
                }
            } else if (rc == SIGNET_OK) {
                rc = sbw_put(&x->in, in.p, in.len);
            }
            if (rc == SIGNET_OK)
                rc = collect_apex(r, x);
            if (rc == SIGNET_OK)
                rc = rl_signed_add(j, m, false);
            if (rc == SIGNET_OK)
                j->signed_v[j->n_signed - 1].apex = x;
            if (rc)
                rc = signet_wrap(rc, "%s", m);
        }
        sbw_free(&in);
    }
    return rc;
}

/* ---- results ----------------------------------------------------------------------- */

/* What each signed member becomes, with its bindings in the order the records were
 * made (APKs inside a payload, the payload, the container over the payload's binding,
 * the .capex over the original_apex's). */
static signet_rc results(signet_release_job *j)
{
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < j->n_signed; i++) {
        struct rl_signed *sv = &j->signed_v[i];
        struct rl_art *a = sv->art;
        struct rl_apex *x = sv->apex;
        if (a) {
            rc = sv->gz ? rl_gzip(a->out.p, a->out.len, &sv->out)
                        : sbw_put(&sv->out, a->out.p, a->out.len);
            if (rc == SIGNET_OK)
                rc = rl_add_member(j, a->what, a->info.in_sha256, sv->out.p, sv->out.len,
                                   a->info.records, a->info.n_records, false);
            continue;
        }
        for (size_t k = 0; rc == SIGNET_OK && k < x->n_inner; k++) {
            struct rl_art *ia = x->arts[k];
            if (ia)
                rc = rl_add_member(j, ia->what, ia->info.in_sha256, ia->out.p, ia->out.len,
                                   ia->info.records, ia->info.n_records, false);
        }
        char art[4300];
        snprintf(art, sizeof art, "%s!apex_payload.img", x->what);
        if (rc == SIGNET_OK)
            rc = rl_add_member(j, art, x->psha, x->newpay.p, x->newpay.len, &x->pleaf, 1, false);
        if (rc == SIGNET_OK)
            rc = rl_add_member(j, x->what, x->cont->info.in_sha256, x->cont->out.p,
                               x->cont->out.len, x->cont->info.records, x->cont->info.n_records,
                               true);
        const struct rl_art *last = x->cap ? x->cap : x->cont;
        if (rc == SIGNET_OK && x->cap)
            rc = rl_add_member(j, x->member, x->cap->info.in_sha256, x->cap->out.p,
                               x->cap->out.len, x->cap->info.records, x->cap->info.n_records,
                               true);
        if (rc == SIGNET_OK)
            rc = sbw_put(&sv->out, last->out.p, last->out.len);
    }
    for (size_t i = 0; i < j->n_signed; i++)
        j->signed_v[i].art = NULL, j->signed_v[i].apex = NULL;
    return rc;
}

signet_rc signet_release_sign_artifacts(signet_release_pkg *v, size_t n, FILE *progress)
{
    struct rl_run r = {0};
    signet_rc rc = n ? SIGNET_OK : signet_fail(SIGNET_E_ARG, "no package to sign");
    if (rc == SIGNET_OK) {
        r.s = v[0].j->signer;
        r.ks = v[0].j->ks;
    }
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        rc = collect(&r, &v[i]);
    /* Every APK once, every payload once, every container once (+ .capex). */
    size_t total = r.n_arts + 2 * r.n_apexes;
    for (size_t i = 0; i < r.n_apexes; i++)
        total += r.apexes[i]->capex;
    signet_progress_begin(&r.pr, progress, total);
    if (rc == SIGNET_OK)
        rc = sign_arts(&r, r.arts, r.n_arts);
    for (size_t i = 0; rc == SIGNET_OK && i < r.n_apexes; i++)
        rc = rl_payload_begin(&r, r.apexes[i]);
    if (rc == SIGNET_OK)
        rc = rl_sign_payloads(&r);
    size_t first = r.n_arts;
    for (size_t i = 0; rc == SIGNET_OK && i < r.n_apexes; i++)
        rc = rl_container(&r, r.apexes[i]);
    if (rc == SIGNET_OK)
        rc = sign_arts(&r, r.arts + first, r.n_arts - first);
    first = r.n_arts;
    for (size_t i = 0; rc == SIGNET_OK && i < r.n_apexes; i++)
        if (r.apexes[i]->capex)
            rc = rl_capex(&r, r.apexes[i]);
    if (rc == SIGNET_OK)
        rc = sign_arts(&r, r.arts + first, r.n_arts - first);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        rc = results(v[i].j);
    for (size_t i = 0; i < n; i++) {
        v[i].j->artifacts_signed = rc == SIGNET_OK;
        for (size_t k = 0; rc != SIGNET_OK && k < v[i].j->n_signed; k++)
            v[i].j->signed_v[k].art = NULL, v[i].j->signed_v[k].apex = NULL;
    }
    for (size_t i = 0; i < r.n_apexes; i++)
        apex_free(r.apexes[i]);
    for (size_t i = 0; i < r.n_arts; i++)
        art_free(r.arts[i]);
    free(r.apexes);
    free(r.arts);
    return rc;
}

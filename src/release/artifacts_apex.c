/* The APEX stages of a `release sign` run (artifacts.c has the overview): each
 * payload rebuilt around its signed APKs and its vbmeta signed (all payloads of the
 * run through signet_sign_batch, in key order), then each container assembled for
 * the container stage, and each .capex around its signed original_apex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts.h"
#include "signet/digestinfo.h"

#define MEMBER_MAX RL_MEMBER_MAX

/* ---- stage 2: payloads ------------------------------------------------------------- */

/* The payload to sign: rebuilt around the signed APKs when there are any. */
signet_rc rl_payload_begin(struct rl_run *r, struct rl_apex *x)
{
    signet_release_job *j = x->j;
    size_t signed_n = 0;
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < x->n_inner; i++)
        if (x->arts[i]) {
            rc = j->fs->write(x->fs, x->inner[i], x->arts[i]->out.p, x->arts[i]->out.len);
            signed_n++;
        }
    if (rc == SIGNET_OK && signed_n) {
        sb_wr img;
        sbw_init(&img, MEMBER_MAX);
        rc = j->fs->rebuild(x->fs, &img);
        if (rc == SIGNET_OK)
            rc = signet_avb_rebuild(x->payload.p, x->payload.len, img.p, img.len, &x->rebuilt);
        sbw_free(&img);
    }
    const sb_wr *img = x->rebuilt.len ? &x->rebuilt : &x->payload;
    char path[4096];
    if (rc == SIGNET_OK)
        rc = signet_keystore_path(r->ks, x->pstore, ".avbpubkey", path, sizeof path);
    if (rc == SIGNET_OK) {
        FILE *f = fopen(path, "rb");
        uint8_t buf[4096];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        rc = n < 8 ? signet_fail(SIGNET_E_NOTFOUND, "no AVB public key %s", path)
                   : sbw_put(&x->pub, buf, n);
    }
    char alg[32];
    if (rc == SIGNET_OK) {
        snprintf(alg, sizeof alg, "SHA256_RSA%u", be32(x->pub.p));
        rc = signet_avb_resign_begin(img->p, img->len, x->pub.p, x->pub.len, alg, &x->r);
    }
    if (rc == SIGNET_OK)
        rc = signet_digestinfo_encode(x->r.alg->md_nid, x->r.digest, x->r.digest_len, &x->di);
    rl_sha256(x->payload.p, x->payload.len, x->psha);
    return rc == SIGNET_OK ? rc : signet_wrap(rc, "%s", x->what);
}

/* Every payload's vbmeta signature through signet_sign_batch, in key order. */
signet_rc rl_sign_payloads(struct rl_run *r)
{
    size_t n = r->n_apexes;
    if (!n)
        return SIGNET_OK;
    const char **keys = calloc(n, sizeof *keys);
    uint8_t(*sha)[32] = calloc(n, sizeof *sha);
    bool *dup = calloc(n, sizeof *dup);
    size_t *order = calloc(n, sizeof *order);
    signet_batch_item *items = calloc(n, sizeof *items);
    char(*art)[4300] = calloc(n, sizeof *art);
    signet_rc rc = keys && sha && dup && order && items && art
                       ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        keys[i] = r->apexes[i]->pstore;
        rl_sha256(r->apexes[i]->di.p, r->apexes[i]->di.len, sha[i]);
    }
    if (rc == SIGNET_OK)
        rl_mark_dups(keys, (const uint8_t(*)[32])sha, n, dup);
    for (int pass = 0; rc == SIGNET_OK && pass < 2; pass++) {
        size_t m = 0;
        rc = rl_order_pass(r->s, keys, dup, n, pass, order, &m);
        for (size_t k = 0; rc == SIGNET_OK && k < m; k++) {
            struct rl_apex *x = r->apexes[order[k]];
            snprintf(art[k], sizeof art[k], "%s!apex_payload.img", x->what);
            items[k] = (signet_batch_item){
                .req = {.key_name = x->pstore, .mech = SIGNET_MECH_RSA_PKCS1, .data = x->di.p,
                        .len = x->di.len, .artifact_path = art[k], .artifact_sha256 = x->psha,
                        .caller = "release sign"},
                .sig = x->sig, .sig_cap = sizeof x->sig};
        }
        if (rc == SIGNET_OK && m)
            signet_sign_batch(r->s, items, m);
        for (size_t k = 0; rc == SIGNET_OK && k < m; k++) {
            struct rl_apex *x = r->apexes[order[k]];
            if (items[k].rc) {
                rc = signet_fail(items[k].rc, "%s: %s", art[k], items[k].err);
                break;
            }
            x->sig_len = items[k].sig_len;
            x->pleaf = items[k].record;
            x->preused = items[k].reused;
            x->j->device_ops += !x->preused;
            x->j->cache_hits += x->preused;
            rl_step(r, art[k], x->pstore, x->payload.len);
        }
    }
    free(keys), free(sha), free(dup), free(order), free(items), free(art);
    return rc;
}

/* The payload signed in, checked against the release key, the container rebuilt
 * (old signature files dropped, payload and key replaced) and 4 KiB-aligned: the
 * container's APK for stage 3. */
signet_rc rl_container(struct rl_run *r, struct rl_apex *x)
{
    const sb_wr *img = x->rebuilt.len ? &x->rebuilt : &x->payload;
    signet_rc rc = signet_avb_resign_finish(&x->r, img->p, img->len, x->sig, x->sig_len,
                                            &x->newpay);
    /* The signature is checked against the release key before anything is written. */
    if (rc == SIGNET_OK)
        rc = signet_avb_image_verify(x->newpay.p, x->newpay.len, x->pub.p, x->pub.len);
    rl_zw w;
    rl_zw_init(&w);
    for (size_t i = 0; rc == SIGNET_OK && i < x->z.n; i++) {
        const signet_zip_entry *e = &x->z.e[i];
        if (signet_zip_name_is(e, "apex_payload.img"))
            rc = rl_zw_stored(&w, "apex_payload.img", x->newpay.p, x->newpay.len);
        else if (signet_zip_name_is(e, "apex_pubkey"))
            rc = rl_zw_stored(&w, "apex_pubkey", x->pub.p, x->pub.len);
        else if (!(e->name_len >= 9 && memcmp(e->name, "META-INF/", 9) == 0))
            rc = rl_zw_copy(&w, &x->z, e);
    }
    if (rc == SIGNET_OK && !signet_zip_find(&x->z, "apex_pubkey"))
        rc = rl_zw_stored(&w, "apex_pubkey", x->pub.p, x->pub.len);
    sb_wr inner;
    sbw_init(&inner, MEMBER_MAX);
    if (rc == SIGNET_OK)
        rc = rl_zw_finish(&w, &inner);
    rl_zw_free(&w);
    if (rc == SIGNET_OK)
        rc = rl_art_new(r, x->j, x->what, x->cstore, &x->cont);
    if (rc == SIGNET_OK)
        rc = rl_align_stored(inner.p, inner.len, &x->cont->in);
    sbw_free(&inner);
    return rc == SIGNET_OK ? rc : signet_wrap(rc, "%s", x->what);
}

/* The files apex_compression_tool copies from the signed APEX into the .capex next to
 * original_apex, in its order. */
static const char *const CAPEX_META[] = {"apex_manifest.json", "apex_manifest.pb", "apex_pubkey",
                                         "apex_build_info.pb", "AndroidManifest.xml"};

/* A .capex rebuilt as apex_compression_tool makes it, around the signed original_apex:
 * the APK of stage 4. */
signet_rc rl_capex(struct rl_run *r, struct rl_apex *x)
{
    signet_zip sz;
    const sb_wr *sorig = &x->cont->out;
    signet_rc rc = signet_zip_parse(sorig->p, sorig->len, &sz);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "%s", x->what);
    rl_zw w;
    rl_zw_init(&w);
    rc = rl_zw_deflated(&w, "original_apex", sorig->p, sorig->len);
    for (size_t i = 0; rc == SIGNET_OK && i < sizeof CAPEX_META / sizeof CAPEX_META[0]; i++) {
        const signet_zip_entry *e = signet_zip_find(&sz, CAPEX_META[i]);
        if (!e)
            continue;
        sb_wr meta;
        sbw_init(&meta, MEMBER_MAX);
        rc = signet_zip_extract(&sz, e, MEMBER_MAX, &meta);
        if (rc == SIGNET_OK)
            rc = rl_zw_deflated(&w, CAPEX_META[i], meta.p, meta.len);
        sbw_free(&meta);
    }
    if (rc == SIGNET_OK)
        rc = rl_art_new(r, x->j, x->member, x->cstore, &x->cap);
    if (rc == SIGNET_OK)
        rc = rl_zw_finish(&w, &x->cap->in);
    rl_zw_free(&w);
    signet_zip_free(&sz);
    return rc == SIGNET_OK ? rc : signet_wrap(rc, "%s", x->member);
}


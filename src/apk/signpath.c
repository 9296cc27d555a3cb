/* The APK engine over the signing path (include/signet/apk.h,
 * signet_apk_sign_key): every signature the engine asks for is made by
 * signet_sign, so each has its durable audit record before the APK exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "apk_internal.h"
#include "signet/digestinfo.h"
#include "signet/sign.h"

/* The bytes the key signs for a digest: the DigestInfo (RSA PKCS#1 v1.5) or the
 * bare digest (ECDSA). */
signet_rc apk_sign_req_bytes(bool rsa, int md_nid, const uint8_t *digest, size_t digest_len,
                             signet_sign_req *req, sb_wr *di)
{
    if (!rsa) {
        req->mech = SIGNET_MECH_ECDSA;
        req->data = digest;
        req->len = digest_len;
        return SIGNET_OK;
    }
    req->mech = SIGNET_MECH_RSA_PKCS1;
    signet_rc rc = signet_digestinfo_encode(md_nid, digest, digest_len, di);
    req->data = di->p;
    req->len = di->len;
    return rc;
}

struct slot_ref {
    size_t job, req;   /* which job, which of its pending requests */
    sb_wr di;
    uint8_t sig[1024];
};

static void job_fail(signet_apk_batch_job *v, signet_rc rc, const char *msg)
{
    if (v->rc)
        return;
    v->rc = rc;
    snprintf(v->err, sizeof v->err, "%s", msg);
}

/* One round: every pending request of every live job, one signet_sign_batch. */
static signet_rc batch_round(signet_signer *s, const char *key, signet_apk_batch_job *v, size_t n,
                             size_t *asked)
{
    size_t total = 0;
    const signet_apk_sigreq *reqs;
    for (size_t k = 0; k < n; k++)
        if (v[k].rc == SIGNET_OK)
            total += signet_apk_sign_pending(v[k].job, &reqs);
    *asked = total;
    if (total == 0)
        return SIGNET_OK;
    signet_batch_item *items = calloc(total, sizeof *items);
    struct slot_ref *refs = calloc(total, sizeof *refs);
    if (!items || !refs) {
        free(items);
        free(refs);
        return signet_fail(SIGNET_E_NOMEM, "out of memory for %zu signature requests", total);
    }
    /* the old signer's requests (rotation) first: one key at a time */
    size_t m = 0;
    for (int pass = 1; pass >= 0; pass--) {
        for (size_t k = 0; k < n; k++) {
            if (v[k].rc)
                continue;
            signet_apk_sign_info *info = v[k].info;
            size_t np = signet_apk_sign_pending(v[k].job, &reqs);
            if (pass == 1 && info->n_records + np > SIGNET_APK_MAX_RECORDS)
                job_fail(&v[k], SIGNET_E_STATE, "an APK asked for too many signatures");
            for (size_t i = 0; v[k].rc == SIGNET_OK && i < np; i++) {
                if (reqs[i].signer != pass)
                    continue;
                const char *rkey = pass ? info->old_key : key;
                if (!rkey) {
                    job_fail(&v[k], SIGNET_E_ARG, "a rotated APK needs the key of the lineage's "
                                                  "oldest signer");
                    break;
                }
                struct slot_ref *r = &refs[m];
                signet_batch_item *it = &items[m++];
                r->job = k;
                r->req = i;
                sbw_init(&r->di, 128);
                it->req = (signet_sign_req){
                    .key_name = rkey, .artifact_path = info->artifact_path,
                    .artifact_sha256 = info->in_sha256,
                    .caller = info->caller ? info->caller : "signet apk sign",
                    .no_cache = info->no_cache};
                if ((it->rc = apk_sign_req_bytes(reqs[i].rsa, reqs[i].md_nid, reqs[i].digest,
                                                 reqs[i].digest_len, &it->req, &r->di)) != SIGNET_OK)
                    snprintf(it->err, sizeof it->err, "%s", signet_errmsg());
            }
        }
    }
    /* Items whose request could not even be encoded are skipped by the batch (their
     * rc is set); every other one gets its own result. */
    size_t live = 0;
    for (size_t i = 0; i < m; i++) {
        if (items[i].rc) {
            job_fail(&v[refs[i].job], items[i].rc, items[i].err);
            sbw_free(&refs[i].di);
            continue;
        }
        if (live != i) {
            items[live] = items[i];
            refs[live] = refs[i];
        }
        live++;
    }
    for (size_t i = 0; i < live; i++) {
        items[i].sig = refs[i].sig; /* each slot moved with its item */
        items[i].sig_cap = sizeof refs[i].sig;
    }
    if (live)
        signet_sign_batch(s, items, live);
    for (size_t i = 0; i < live; i++) {
        signet_batch_item *it = &items[i];
        signet_apk_batch_job *bj = &v[refs[i].job];
        if (it->rc) {
            job_fail(bj, it->rc, it->err);
            continue;
        }
        signet_apk_sign_info *info = bj->info;
        info->records[info->n_records++] = it->record;
        if (it->reused)
            info->reused++;
        else
            info->device_sigs++;
        if (bj->rc == SIGNET_OK) {
            signet_rc rc = signet_apk_sign_set(bj->job, refs[i].req, refs[i].sig, it->sig_len);
            if (rc)
                job_fail(bj, rc, signet_errmsg());
        }
    }
    for (size_t i = 0; i < live; i++)
        sbw_free(&refs[i].di);
    free(items);
    free(refs);
    return SIGNET_OK;
}

signet_rc signet_apk_jobs_sign(signet_signer *s, const char *key, signet_apk_batch_job *v,
                               size_t n)
{
    signet_rc first = SIGNET_OK;
    for (size_t k = 0; k < n; k++) {
        v[k].rc = SIGNET_OK;
        v[k].err[0] = '\0';
    }
    for (;;) {
        size_t asked = 0;
        signet_rc rc = batch_round(s, key, v, n, &asked);
        if (rc)
            return rc;
        if (asked == 0)
            break;
    }
    for (size_t k = 0; k < n; k++)
        if (v[k].rc && !first)
            first = v[k].rc;
    return first;
}

signet_rc signet_apk_job_sign(signet_signer *s, const char *key, signet_apk_job *j,
                              signet_apk_sign_info *info)
{
    signet_apk_batch_job one = {.job = j, .info = info};
    signet_rc rc = signet_apk_jobs_sign(s, key, &one, 1);
    if (rc)
        return signet_fail(rc, "%s", one.err);
    return SIGNET_OK;
}

signet_rc signet_apk_sign_key(signet_signer *s, const char *key, const uint8_t *apk, size_t len,
                              const signet_apk_opts *o, signet_apk_sign_info *info, sb_wr *out,
                              sb_wr *idsig)
{
    info->device_sigs = 0;
    info->reused = 0;
    info->n_records = 0;
    SHA256(apk, len, info->in_sha256);
    signet_keystore *ks = signet_signer_keystore(s);
    if (!signet_keystore_find(ks, key))
        return signet_fail(SIGNET_E_NOTFOUND, "no key named '%s' in the key store; see `signet "
                                              "keys list`", key);
    sb_wr cert;
    sbw_init(&cert, 1u << 16);
    signet_apk_job *j = NULL;
    signet_rc rc = signet_keystore_cert_der(ks, key, &cert);
    if (rc)
        rc = signet_wrap(rc, "the certificate of key '%s'", key);
    signet_apk_opts named = *o; /* v1 files are named after the key, as apksigner names
                                   them after its key file */
    if (!named.v1_signer_name)
        named.v1_signer_name = key;
    rc = rc ? rc : signet_apk_sign_begin(apk, len, &named, cert.p, cert.len, &j);
    rc = rc ? rc : signet_apk_job_sign(s, key, j, info);
    size_t start = out->len;
    rc = rc ? rc : signet_apk_sign_finish(j, out, idsig);
    if (rc == SIGNET_OK)
        SHA256(out->p + start, out->len - start, info->out_sha256);
    signet_apk_sign_free(j);
    sbw_free(&cert);
    return rc;
}

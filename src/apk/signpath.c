/* The APK engine over the signing path (include/signet/apk.h,
 * signet_apk_sign_key): every signature the engine asks for is made by
 * signet_sign, so each has its durable audit record before the APK exists. */
#include <string.h>

#include <openssl/sha.h>

#include "signet/apk.h"
#include "signet/digestinfo.h"
#include "signet/sign.h"

static signet_rc sign_request(signet_signer *s, const char *key, const signet_apk_sigreq *r,
                              const signet_apk_sign_info *info, uint8_t *sig, size_t *sig_len,
                              uint64_t *record, bool *reused)
{
    signet_sign_req req = {.key_name = key, .artifact_path = info->artifact_path,
                           .artifact_sha256 = info->in_sha256,
                           .caller = info->caller ? info->caller : "signet apk sign",
                           .no_cache = info->no_cache, .record_index = record,
                           .reused = reused};
    sb_wr di;
    sbw_init(&di, 128);
    signet_rc rc = SIGNET_OK;
    if (r->rsa) {
        req.mech = SIGNET_MECH_RSA_PKCS1;
        rc = signet_digestinfo_encode(r->md_nid, r->digest, r->digest_len, &di);
        req.data = di.p;
        req.len = di.len;
    } else {
        req.mech = SIGNET_MECH_ECDSA;
        req.data = r->digest;
        req.len = r->digest_len;
    }
    rc = rc ? rc : signet_sign(s, &req, sig, sig_len);
    sbw_free(&di);
    return rc;
}

signet_rc signet_apk_sign_one(signet_signer *s, const char *key, const signet_apk_sigreq *r,
                              signet_apk_sign_info *info, uint8_t *sig, size_t *sig_len)
{
    uint64_t record = 0;
    bool reused = false;
    if (info->n_records == SIGNET_APK_MAX_RECORDS)
        return signet_fail(SIGNET_E_STATE, "an APK asked for more than %d signatures",
                           SIGNET_APK_MAX_RECORDS);
    signet_rc rc = sign_request(s, key, r, info, sig, sig_len, &record, &reused);
    if (rc == SIGNET_OK) {
        info->records[info->n_records++] = record;
        if (reused)
            info->reused++;
        else
            info->device_sigs++;
    }
    return rc;
}

signet_rc signet_apk_job_sign(signet_signer *s, const char *key, signet_apk_job *j,
                              signet_apk_sign_info *info)
{
    const signet_apk_sigreq *reqs;
    size_t n;
    signet_rc rc = SIGNET_OK;
    while (rc == SIGNET_OK && (n = signet_apk_sign_pending(j, &reqs)) > 0) {
        for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
            uint8_t sig[1024];
            size_t sig_len = sizeof sig;
            rc = signet_apk_sign_one(s, key, &reqs[i], info, sig, &sig_len);
            rc = rc ? rc : signet_apk_sign_set(j, i, sig, sig_len);
        }
    }
    return rc;
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

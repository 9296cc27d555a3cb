/* signapk: the job (include/signet/signapk.h; APKs in signapk_apk.c) and -w, the
 * whole-file signature of an OTA package (AOSP SignApk.signWholeFile).  The archive is rewritten (signapk_zip.c) with
 * META-INF/com/android/otacert last; the one signature covers every byte up to,
 * not including, the end record's comment length; the comment is
 * "signed by SignApk\0", the CMS SignedData and a 6-byte footer (signature start
 * from the end, 0xffff, comment length). */
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "jar.h"
#include "signapk_job.h"
#include "signet/sign.h"

#define MAX_OUT 0xfff00000u
#define OTACERT "META-INF/com/android/otacert"
#define MESSAGE "signed by SignApk"
#define FOOTER 6

/* SignApk's STRIP_PATTERN: old signature files, the manifest, an old otacert. */
static bool ota_keep(const signet_zip_entry *e)
{
    const char *n = (const char *)e->name;
    size_t len = e->name_len;
#define IS(s) (len == sizeof(s) - 1 && memcmp(n, s, len) == 0)
#define ENDS(s) (len >= 9 + sizeof(s) - 1 && memcmp(n + len - (sizeof(s) - 1), s, sizeof(s) - 1) == 0)
    if (IS(JAR_MANIFEST) || IS(OTACERT))
        return false;
    if (len < 9 || memcmp(n, "META-INF/", 9) != 0)
        return true;
    return !(ENDS(".SF") || ENDS(".RSA") || ENDS(".DSA") || ENDS(".EC"));
#undef IS
#undef ENDS
}

/* SignApk.getDigestAlgorithmForOta: SHA-1 for certificates signed with SHA-1 or
 * MD5 and RSA, SHA-256 for SHA256with..., nothing else. */
static signet_rc ota_digest(X509 *cert, int *md_nid)
{
    switch (X509_get_signature_nid(cert)) {
    case NID_sha1WithRSAEncryption:
    case NID_md5WithRSAEncryption: *md_nid = NID_sha1; return SIGNET_OK;
    case NID_sha256WithRSAEncryption:
    case NID_ecdsa_with_SHA256: *md_nid = NID_sha256; return SIGNET_OK;
    default:
        return signet_fail(SIGNET_E_UNSUPPORTED, "the certificate is signed with %s; signapk "
                                                 "-w takes certificates signed with SHA-1 or "
                                                 "SHA-256 only",
                           OBJ_nid2ln(X509_get_signature_nid(cert)));
    }
}

static signet_rc pem_of(X509 *cert, sb_wr *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p = NULL;
    long n = 0;
    if (b && PEM_write_bio_X509(b, cert) == 1)
        n = BIO_get_mem_data(b, &p);
    signet_rc rc = n > 0 ? sbw_put(out, p, (size_t)n)
                         : signet_fail(SIGNET_E_CRYPTO, "encoding the certificate as PEM failed");
    BIO_free(b);
    return rc;
}

static signet_rc build(signet_signapk_job *j)
{
    jos w;
    jos_init(&w, &j->out, 6); /* Deflater.DEFAULT_COMPRESSION */
    sb_wr pem;
    sbw_init(&pem, 1u << 20);
    signet_rc rc = jos_copy_all(&w, &j->z, ota_keep, 0);
    const uint8_t *cf = j->o.cert_file;
    size_t cfl = j->o.cert_file_len;
    if (rc == SIGNET_OK && !cf) {
        rc = pem_of(j->cert, &pem);
        cf = pem.p;
        cfl = pem.len;
    }
    rc = rc ? rc : jos_deflated(&w, (const uint8_t *)OTACERT, strlen(OTACERT), cf, cfl);
    rc = rc ? rc : jos_finish(&w);
    if (rc == SIGNET_OK)
        j->out.len -= 2; /* the comment length is not signed */
    jos_free(&w);
    sbw_free(&pem);
    return rc;
}

signet_rc signet_signapk_begin(const uint8_t *zip, size_t len, const signet_signapk_opts *o,
                               const uint8_t *cert_der, size_t cert_len,
                               signet_signapk_job **out)
{
    *out = NULL;
    signet_signapk_job *j = calloc(1, sizeof *j);
    if (!j)
        return signet_fail(SIGNET_E_NOMEM, "out of memory for a signapk job");
    j->o = *o;
    sbw_init(&j->out, MAX_OUT);
    sbw_init(&j->sig, 4096);
    const uint8_t *p = cert_der;
    j->cert = d2i_X509(NULL, &p, (long)cert_len);
    j->cert_der = cert_der;
    j->cert_len = cert_len;
    EVP_PKEY *pub = j->cert ? X509_get0_pubkey(j->cert) : NULL;
    signet_rc rc = SIGNET_OK;
    if (!pub || p != cert_der + cert_len)
        rc = signet_fail(SIGNET_E_PARSE, "the signer's certificate is not one DER X.509 "
                                         "certificate with a usable key");
    if (rc == SIGNET_OK && EVP_PKEY_base_id(pub) != EVP_PKEY_RSA &&
        EVP_PKEY_base_id(pub) != EVP_PKEY_EC)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "signapk signs with RSA or EC keys only");
    if (rc == SIGNET_OK)
        j->algo = (apk_algo){0, "whole-file", 0, EVP_PKEY_base_id(pub) == EVP_PKEY_RSA};
    if (rc == SIGNET_OK && !o->whole_file) {
        rc = signapk_apk_begin(j, zip, len);
        if (rc)
            signet_signapk_free(j);
        else
            *out = j;
        return rc;
    }
    rc = rc ? rc : ota_digest(j->cert, &j->algo.md_nid);
    rc = rc ? rc : signet_zip_parse(zip, len, &j->z);
    rc = rc ? rc : build(j);
    if (rc == SIGNET_OK) {
        signet_apk_sigreq *r = &j->req;
        r->scheme = 0;
        r->md_nid = j->algo.md_nid;
        r->rsa = j->algo.rsa;
        unsigned dl = 0;
        if (!EVP_Digest(j->out.p, j->out.len, r->digest, &dl, EVP_get_digestbynid(r->md_nid),
                        NULL))
            rc = signet_fail(SIGNET_E_CRYPTO, "hashing the OTA package failed");
        r->digest_len = dl;
    }
    if (rc) {
        signet_signapk_free(j);
        return rc;
    }
    *out = j;
    return SIGNET_OK;
}

size_t signet_signapk_pending(signet_signapk_job *j, const signet_apk_sigreq **reqs)
{
    if (j->apk && j->have)
        return signet_apk_sign_pending(j->apk, reqs);
    *reqs = &j->req;
    return j->have ? 0 : 1;
}

signet_rc signet_signapk_set(signet_signapk_job *j, size_t i, const uint8_t *sig, size_t len)
{
    if (j->apk && j->have)
        return signet_apk_sign_set(j->apk, i, sig, len);
    if (i != 0 || j->have)
        return signet_fail(SIGNET_E_STATE, "no pending signapk signature request %zu", i);
    /* -w signs the archive itself, an APK's first request its v1 signature file */
    const sb_wr *signed_data = j->o.whole_file ? &j->out : &j->sf;
    signet_rc rc = apk_verify_sig(X509_get0_pubkey(j->cert), &j->algo, signed_data->p,
                                  signed_data->len, sig, len);
    if (rc)
        return signet_wrap(rc, j->o.whole_file ? "the device's whole-file signature"
                                               : "the device's v1 signature");
    sbw_reset(&j->sig);
    rc = sbw_put(&j->sig, sig, len);
    j->have = rc == SIGNET_OK;
    if (rc == SIGNET_OK && !j->o.whole_file)
        rc = signapk_apk_v1_done(j);
    return rc;
}

signet_rc signet_signapk_finish(signet_signapk_job *j, sb_wr *out)
{
    if (!j->o.whole_file)
        return j->apk ? signet_apk_sign_finish(j->apk, out, NULL)
                      : signet_fail(SIGNET_E_STATE, "the APK still needs its v1 signature");
    if (!j->have)
        return signet_fail(SIGNET_E_STATE, "the OTA package still needs its signature");
    sb_wr c;
    sbw_init(&c, 0xffff);
    signet_rc rc = sbw_put(&c, MESSAGE, sizeof MESSAGE); /* with its NUL */
    rc = rc ? rc : jar_pkcs7(j->cert_der, j->cert_len, j->algo.md_nid, j->algo.rsa, true,
                             j->sig.p, j->sig.len, &c);
    size_t total = c.len + FOOTER;
    if (rc == SIGNET_OK && total > 0xffff)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the signature does not fit a ZIP comment");
    rc = rc ? rc : sbw_u16_le(&c, (uint16_t)(total - sizeof MESSAGE));
    rc = rc ? rc : sbw_u16_le(&c, 0xffff);
    rc = rc ? rc : sbw_u16_le(&c, (uint16_t)total);
    /* the recovery takes the last end record signature in the file as the real one */
    for (size_t i = 0; rc == SIGNET_OK && i + 4 <= c.len; i++)
        if (le32(c.p + i) == SIGNET_ZIP_EOCD_SIG)
            rc = signet_fail(SIGNET_E_CRYPTO, "the signature happens to contain an end of "
                                              "central directory signature; sign again");
    rc = rc ? rc : sbw_put(out, j->out.p, j->out.len);
    rc = rc ? rc : sbw_u16_le(out, (uint16_t)total);
    rc = rc ? rc : sbw_put(out, c.p, c.len);
    sbw_free(&c);
    return rc;
}

void signet_signapk_free(signet_signapk_job *j)
{
    if (!j)
        return;
    signapk_apk_free(j);
    signet_zip_free(&j->z);
    X509_free(j->cert);
    sbw_free(&j->out);
    sbw_free(&j->sig);
    free(j);
}

/* The one request through signet_sign; its record is counted in info. */
static signet_rc sign_request(signet_signer *s, const char *key, const signet_apk_sigreq *r,
                              signet_apk_sign_info *info, uint8_t *sig, size_t *sig_len)
{
    uint64_t record = 0;
    bool reused = false;
    signet_sign_req req = {.key_name = key, .artifact_path = info->artifact_path,
                           .artifact_sha256 = info->in_sha256,
                           .caller = info->caller ? info->caller : "signet signapk",
                           .no_cache = info->no_cache, .record_index = &record,
                           .reused = &reused};
    sb_wr di;
    sbw_init(&di, 128);
    signet_rc rc = apk_sign_req_bytes(r->rsa, r->md_nid, r->digest, r->digest_len, &req, &di);
    rc = rc ? rc : signet_sign(s, &req, sig, sig_len);
    sbw_free(&di);
    if (rc == SIGNET_OK) {
        info->records[info->n_records++] = record;
        if (reused)
            info->reused++;
        else
            info->device_sigs++;
    }
    return rc;
}

signet_rc signet_signapk_key(signet_signer *s, const char *key, const uint8_t *zip, size_t len,
                             const signet_signapk_opts *o, signet_apk_sign_info *info,
                             sb_wr *out)
{
    info->device_sigs = info->reused = 0;
    info->n_records = 0;
    SHA256(zip, len, info->in_sha256);
    signet_keystore *ks = signet_signer_keystore(s);
    if (!signet_keystore_find(ks, key))
        return signet_fail(SIGNET_E_NOTFOUND, "no key named '%s' in the key store; see `signet "
                                              "keys list`", key);
    sb_wr cert;
    sbw_init(&cert, 1u << 16);
    signet_signapk_job *j = NULL;
    signet_rc rc = signet_keystore_cert_der(ks, key, &cert);
    if (rc)
        rc = signet_wrap(rc, "the certificate of key '%s'", key);
    rc = rc ? rc : signet_signapk_begin(zip, len, o, cert.p, cert.len, &j);
    const signet_apk_sigreq *r;
    size_t n;
    /* -w: one request; APKs: v1, then v2 and v3 over the v1-signed archive */
    while (rc == SIGNET_OK && (n = signet_signapk_pending(j, &r)) > 0) {
        for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
            uint8_t sig[1024];
            size_t sig_len = sizeof sig;
            if (info->n_records == SIGNET_APK_MAX_RECORDS)
                rc = signet_fail(SIGNET_E_STATE, "more signapk requests than records");
            rc = rc ? rc : sign_request(s, key, &r[i], info, sig, &sig_len);
            rc = rc ? rc : signet_signapk_set(j, i, sig, sig_len);
        }
    }
    size_t start = out->len;
    rc = rc ? rc : signet_signapk_finish(j, out);
    if (rc == SIGNET_OK)
        SHA256(out->p + start, out->len - start, info->out_sha256);
    signet_signapk_free(j);
    sbw_free(&cert);
    return rc;
}

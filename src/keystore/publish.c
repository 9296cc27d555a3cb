/* The steps a key takes on its way into the store, shared by generation and
 * import: its public files (PEM, AVB form), a self-signed certificate when none
 * is given, the wrapped copy exported and proven (delete, import, compare public
 * keys byte for byte), then publication with the wrapped copy last.  A key whose
 * backup does not restore is never published. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "ks_internal.h"
#include "signet/proto.h"

void ks_progress(const signet_keygen_opts *o, const char *fmt, ...)
{
    if (!o->progress)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    o->progress(o->progress_ctx, line);
}

void ks_artifacts_init(struct ks_artifacts *a)
{
    memset(a, 0, sizeof *a);
    sbw_init(&a->blob, YH_MAX_MSG);
}

void ks_artifacts_free(struct ks_artifacts *a)
{
    sbw_free(&a->pub_pem);
    sbw_free(&a->cert_pem);
    sbw_free(&a->avb);
    sbw_free(&a->attest_pem);
    sbw_free(&a->origin);
    sbw_free(&a->blob);
}

signet_rc ks_fetch_public_key(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY **pub)
{
    uint8_t algo = 0;
    signet_rc rc = hsm_get_public_key(s, e->id, pub, &algo);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "reading the public key of '%s'", e->name);
    if (algo != e->algorithm) {
        EVP_PKEY_free(*pub);
        *pub = NULL;
        return signet_fail(SIGNET_E_VERIFY, "the HSM reports key '%s' as %s, the key map says %s",
                           e->name, yh_algo_name(algo), yh_algo_name(e->algorithm));
    }
    return SIGNET_OK;
}

signet_rc ks_public_files(const signet_keymap_entry *e, EVP_PKEY *pub,
                          const signet_keygen_opts *o, struct ks_artifacts *a)
{
    signet_rc rc = ks_pubkey_pem(pub, &a->pub_pem);
    if (rc == SIGNET_OK && yh_algo_is_rsa(e->algorithm)) {
        rc = signet_avb_pubkey(pub, &a->avb);
        a->have_avb = rc == SIGNET_OK;
        if (rc == SIGNET_E_UNSUPPORTED) {
            ks_progress(o, "%s: no .avbpubkey (AVB takes RSA-2048, RSA-4096 and RSA-8192 only)",
                        e->name);
            signet_err_clear();
            rc = SIGNET_OK;
        }
    }
    return rc;
}

/* Adapts the caller's certificate signer (the signing path) to signet_tbs_signer. */
struct path_signer {
    const signet_keygen_opts *o;
    const signet_keymap_entry *e;
};

static signet_rc sign_through_path(void *ctx, const uint8_t *tbs, size_t len, int md_nid,
                                   uint8_t *sig, size_t *sig_len)
{
    const struct path_signer *ps = ctx;
    return ps->o->cert_signer(ps->o->cert_signer_ctx, ps->e, tbs, len, md_nid, sig, sig_len);
}

signet_rc ks_certify(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY *pub,
                     const signet_keygen_opts *o, struct ks_artifacts *a)
{
    signet_device_tbs_ctx c = {.session = s, .id = e->id, .algorithm = e->algorithm};
    struct path_signer ps = {o, e};
    X509 *cert = NULL;
    signet_rc rc = o->cert_signer
                       ? signet_cert_selfsign(pub, e->name, &o->cert, sign_through_path, &ps, &cert)
                       : signet_cert_selfsign(pub, e->name, &o->cert, signet_device_tbs_signer, &c,
                                              &cert);
    if (rc != SIGNET_OK)
        return rc;
    rc = ks_cert_pem(cert, &a->cert_pem);
    X509_free(cert);
    if (rc == SIGNET_OK)
        rc = ks_public_files(e, pub, o, a);
    return rc;
}

/* Delete the resident key, import the wrapped blob, compare public keys. */
static signet_rc prove_wrapped(hsm_session *s, uint16_t wrap_id, const signet_keymap_entry *e,
                               EVP_PKEY *pub, const uint8_t *blob, size_t len, bool *resident)
{
    signet_rc rc = hsm_delete_object(s, e->id, YH_TYPE_ASYMMETRIC_KEY);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "deleting '%s' to prove its wrapped copy", e->name);
    *resident = false;
    uint8_t type = 0;
    uint16_t id = 0;
    rc = hsm_import_wrapped(s, wrap_id, blob, len, &type, &id);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "the wrapped copy of '%s' does not import; the key is lost, "
                               "nothing was published",
                           e->name);
    if (type != YH_TYPE_ASYMMETRIC_KEY || id != e->id)
        return signet_fail(SIGNET_E_VERIFY,
                           "the wrapped copy of '%s' imported as %s 0x%04x, not as asymmetric key "
                           "0x%04x",
                           e->name, yh_type_name(type), id, e->id);
    *resident = true;
    EVP_PKEY *back = NULL;
    rc = ks_fetch_public_key(s, e, &back);
    if (rc != SIGNET_OK)
        return rc;
    sb_wr d1, d2;
    rc = ks_spki_der(pub, &d1);
    if (rc == SIGNET_OK)
        rc = ks_spki_der(back, &d2);
    else
        sbw_init(&d2, 0);
    EVP_PKEY_free(back);
    if (rc == SIGNET_OK && (d1.len != d2.len || memcmp(d1.p, d2.p, d1.len) != 0))
        rc = signet_fail(SIGNET_E_VERIFY,
                         "the wrapped copy of '%s' unwraps to another public key: nothing was "
                         "published",
                         e->name);
    sbw_free(&d1);
    sbw_free(&d2);
    return rc;
}

signet_rc ks_export_and_prove(hsm_session *s, uint16_t wrap_id, const signet_keymap_entry *e,
                              EVP_PKEY *pub, struct ks_artifacts *a, bool *resident)
{
    /* Ed25519 keys travel with their seed, or a re-imported copy could not sign;
     * other keys keep the legacy format every firmware reads. */
    uint8_t format = e->algorithm == YH_ALGO_EC_ED25519 ? HSM_WRAP_FORMAT_ED25519_SEED
                                                         : HSM_WRAP_FORMAT_LEGACY;
    signet_rc rc = hsm_export_wrapped_ex(s, wrap_id, YH_TYPE_ASYMMETRIC_KEY, e->id, format,
                                         &a->blob);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "exporting '%s' under wrap key 0x%04x", e->name, wrap_id);
    return prove_wrapped(s, wrap_id, e, pub, a->blob.p, a->blob.len, resident);
}

void ks_unpublish(signet_keystore *ks, const char *name)
{
    static const char *const suffixes[] = {".wrapped", ".pub.pem", ".x509.pem", ".avbpubkey",
                                           ".attest.pem", ".origin", ".token", ".p11wrap"};
    char path[4096];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (signet_keystore_path(ks, name, suffixes[i], path, sizeof path) == SIGNET_OK)
            unlink(path);
}

/* The wrapped blob goes last: its presence is what makes the key "in the store". */
signet_rc ks_publish(signet_keystore *ks, const signet_keymap_entry *e,
                     const struct ks_artifacts *a)
{
    signet_rc rc = signet_keystore_write(ks, e->name, ".pub.pem", a->pub_pem.p, a->pub_pem.len);
    if (rc == SIGNET_OK)
        rc = signet_keystore_write(ks, e->name, ".x509.pem", a->cert_pem.p, a->cert_pem.len);
    if (rc == SIGNET_OK && a->have_avb)
        rc = signet_keystore_write(ks, e->name, ".avbpubkey", a->avb.p, a->avb.len);
    if (rc == SIGNET_OK && a->have_attest)
        rc = signet_keystore_write(ks, e->name, ".attest.pem", a->attest_pem.p, a->attest_pem.len);
    if (rc == SIGNET_OK && a->origin.len)
        rc = signet_keystore_write(ks, e->name, ".origin", a->origin.p, a->origin.len);
    if (rc == SIGNET_OK)
        rc = signet_keystore_write(ks, e->name, ".wrapped", a->blob.p, a->blob.len);
    if (rc != SIGNET_OK)
        ks_unpublish(ks, e->name);
    return rc;
}

signet_rc ks_abandon(hsm_session *s, const signet_keymap_entry *e, signet_rc rc)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", signet_errmsg());
    bool gone = hsm_delete_object(s, e->id, YH_TYPE_ASYMMETRIC_KEY) == SIGNET_OK;
    return signet_fail(rc, "%s%s", msg,
                       gone ? " (the new key was deleted from the HSM)"
                            : " (the new key may still be on the HSM: delete it with "
                              "`signet hsm delete <id> asymmetric-key`)");
}

/* Key generation, one key at a time: generate on the HSM, certify, attest,
 * export under the wrap key, prove the wrapped copy, publish.  The wrapped copy
 * is proven before anything is published: the resident key is deleted and the
 * blob imported again, and the public key that comes back must equal the one
 * recorded byte for byte.  A key whose backup does not restore is never used. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "ks_internal.h"
#include "signet/proto.h"

uint64_t signet_keygen_capabilities(uint8_t algorithm)
{
    uint64_t caps = YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP);
    if (yh_algo_is_rsa(algorithm))
        caps |= YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS);
    else if (yh_algo_is_ec(algorithm))
        caps |= YH_CAP(YH_CAP_SIGN_ECDSA);
    else if (algorithm == YH_ALGO_EC_ED25519)
        caps |= YH_CAP(YH_CAP_SIGN_EDDSA);
    return caps;
}

static void progress(const signet_keygen_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void progress(const signet_keygen_opts *o, const char *fmt, ...)
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

/* Everything a generation produces before it is published. */
struct artifacts {
    sb_wr pub_pem, cert_pem, avb, attest_pem, blob;
    bool have_avb, have_attest;
};

static void artifacts_free(struct artifacts *a)
{
    sbw_free(&a->pub_pem);
    sbw_free(&a->cert_pem);
    sbw_free(&a->avb);
    sbw_free(&a->attest_pem);
    sbw_free(&a->blob);
}

static signet_rc fetch_public_key(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY **pub)
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

static signet_rc certify(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY *pub,
                         const signet_keygen_opts *o, struct artifacts *a)
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
        rc = ks_pubkey_pem(pub, &a->pub_pem);
    if (rc == SIGNET_OK && yh_algo_is_rsa(e->algorithm)) {
        rc = signet_avb_pubkey(pub, &a->avb);
        a->have_avb = rc == SIGNET_OK;
        if (rc == SIGNET_E_UNSUPPORTED) {
            progress(o, "%s: no .avbpubkey (AVB takes RSA-2048, RSA-4096 and RSA-8192 only)",
                     e->name);
            rc = SIGNET_OK;
        }
    }
    return rc;
}

static signet_rc attest(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY *pub,
                        const signet_keygen_opts *o, struct artifacts *a)
{
    sb_wr der;
    signet_rc rc = signet_keystore_attest(s, e->id, pub, &der);
    if (rc == SIGNET_E_UNSUPPORTED) {
        progress(o, "%s: %s", e->name, signet_errmsg());
        signet_err_clear();
        return SIGNET_OK;
    }
    if (rc != SIGNET_OK)
        return rc;
    const unsigned char *p = der.p;
    X509 *x = d2i_X509(NULL, &p, (long)der.len);
    rc = x ? ks_cert_pem(x, &a->attest_pem)
           : signet_fail(SIGNET_E_PARSE, "attestation certificate does not parse");
    X509_free(x);
    sbw_free(&der);
    a->have_attest = rc == SIGNET_OK;
    if (rc == SIGNET_OK)
        progress(o, "%s: attested by the HSM", e->name);
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
    rc = fetch_public_key(s, e, &back);
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

static void unpublish(signet_keystore *ks, const char *name)
{
    static const char *const suffixes[] = {".wrapped", ".pub.pem", ".x509.pem", ".avbpubkey",
                                           ".attest.pem"};
    char path[4096];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
        if (signet_keystore_path(ks, name, suffixes[i], path, sizeof path) == SIGNET_OK)
            unlink(path);
}

/* The wrapped blob goes last: its presence is what makes the key "in the store". */
static signet_rc publish(signet_keystore *ks, const signet_keymap_entry *e,
                         const struct artifacts *a)
{
    signet_rc rc = signet_keystore_write(ks, e->name, ".pub.pem", a->pub_pem.p, a->pub_pem.len);
    if (rc == SIGNET_OK)
        rc = signet_keystore_write(ks, e->name, ".x509.pem", a->cert_pem.p, a->cert_pem.len);
    if (rc == SIGNET_OK && a->have_avb)
        rc = signet_keystore_write(ks, e->name, ".avbpubkey", a->avb.p, a->avb.len);
    if (rc == SIGNET_OK && a->have_attest)
        rc = signet_keystore_write(ks, e->name, ".attest.pem", a->attest_pem.p, a->attest_pem.len);
    if (rc == SIGNET_OK)
        rc = signet_keystore_write(ks, e->name, ".wrapped", a->blob.p, a->blob.len);
    if (rc != SIGNET_OK)
        unpublish(ks, e->name);
    return rc;
}

/* A key that was generated but not published must not stay on the HSM: it would
 * block the id and be a key nobody has a backup of.  Keeps the first error. */
static signet_rc abandon(hsm_session *s, const signet_keymap_entry *e, signet_rc rc)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", signet_errmsg());
    bool gone = hsm_delete_object(s, e->id, YH_TYPE_ASYMMETRIC_KEY) == SIGNET_OK;
    return signet_fail(rc, "%s%s", msg,
                       gone ? " (the new key was deleted from the HSM)"
                            : " (the new key may still be on the HSM: delete it with "
                              "`signet hsm delete <id> asymmetric-key`)");
}

signet_rc signet_keystore_generate(signet_keystore *ks, hsm_session *s,
                                   const signet_keymap_entry *e, const signet_keygen_opts *o)
{
    if (signet_keystore_has_key(ks, e->name))
        return signet_fail(SIGNET_E_STATE, "key '%s' is already in the store %s", e->name,
                           signet_keystore_dir(ks));
    if (o->wrap_id == 0)
        return signet_fail(SIGNET_E_ARG, "no wrap key id: give --wrap-id or wrap_key_id in signet.conf");
    yh_object_info oi;
    signet_rc rc = hsm_get_object_info(s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_OK)
        return signet_fail(SIGNET_E_STATE,
                           "the HSM already holds asymmetric key 0x%04x ('%s') but the store has no "
                           "wrapped copy of '%s': if it is left from an interrupted generation, "
                           "delete it (`signet hsm delete 0x%04x asymmetric-key`) and run again",
                           e->id, oi.label, e->name, e->id);
    if (rc != SIGNET_E_NOTFOUND)
        return signet_wrap(rc, "checking id 0x%04x on the HSM", e->id);
    signet_err_clear();

    hsm_object_attrs attrs = {.id = e->id,
                              .label = e->name,
                              .domains = e->domains,
                              .capabilities = signet_keygen_capabilities(e->algorithm),
                              .algorithm = e->algorithm};
    uint16_t got = 0;
    rc = hsm_generate_asymmetric(s, &attrs, &got);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "generating '%s' on the HSM", e->name);
    if (got != e->id) {
        hsm_delete_object(s, got, YH_TYPE_ASYMMETRIC_KEY);
        return signet_fail(SIGNET_E_DEVICE, "the HSM generated '%s' at id 0x%04x, not 0x%04x",
                           e->name, got, e->id);
    }
    progress(o, "%s: generated on the HSM (id 0x%04x, %s)", e->name, e->id,
             yh_algo_name(e->algorithm));

    bool resident = true;
    struct artifacts a;
    memset(&a, 0, sizeof a);
    sbw_init(&a.blob, YH_MAX_MSG);
    EVP_PKEY *pub = NULL;
    if ((rc = fetch_public_key(s, e, &pub)) != SIGNET_OK)
        goto fail;
    if ((rc = certify(s, e, pub, o, &a)) != SIGNET_OK)
        goto fail;
    progress(o, "%s: certificate signed on the HSM and verified", e->name);
    if ((rc = attest(s, e, pub, o, &a)) != SIGNET_OK)
        goto fail;
    /* Ed25519 keys travel with their seed, or a re-imported copy could not sign;
     * other keys keep the legacy format every firmware reads. */
    uint8_t format = e->algorithm == YH_ALGO_EC_ED25519 ? HSM_WRAP_FORMAT_ED25519_SEED
                                                         : HSM_WRAP_FORMAT_LEGACY;
    if ((rc = hsm_export_wrapped_ex(s, o->wrap_id, YH_TYPE_ASYMMETRIC_KEY, e->id, format,
                                    &a.blob)) != SIGNET_OK) {
        rc = signet_wrap(rc, "exporting '%s' under wrap key 0x%04x", e->name, o->wrap_id);
        goto fail;
    }
    if ((rc = prove_wrapped(s, o->wrap_id, e, pub, a.blob.p, a.blob.len, &resident)) != SIGNET_OK)
        goto fail;
    progress(o, "%s: wrapped copy proven (it unwraps to the same public key)", e->name);
    if ((rc = publish(ks, e, &a)) != SIGNET_OK)
        goto fail;
    progress(o, "%s: published in %s", e->name, signet_keystore_dir(ks));
    EVP_PKEY_free(pub);
    artifacts_free(&a);
    return SIGNET_OK;
fail:
    EVP_PKEY_free(pub);
    artifacts_free(&a);
    return resident ? abandon(s, e, rc) : rc;
}

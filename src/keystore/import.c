/* Key import: an existing private key (PEM or DER; PKCS#8, encrypted PKCS#8,
 * or the traditional RSA / EC forms; AOSP's .pk8 is unencrypted or encrypted
 * PKCS#8 DER) is put on the HSM with the key map's id, label, domains and
 * capabilities, exported under the wrap key, proven and published like a
 * generated key.  The file's bytes, the password and the decoded DER live in
 * locked memory (smem) and are wiped; signet never writes the private key
 * anywhere.  OpenSSL's own copy (the EVP_PKEY) is freed by the caller with
 * EVP_PKEY_free, which clears the private numbers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "ks_internal.h"
#include "signet/proto.h"
#include "signet/secmem.h"

#define KEY_FILE_MAX (64 * 1024)

/* ---- the key file -------------------------------------------------------------- */

enum der_kind { DER_ANY, DER_PKCS8, DER_PKCS8_ENCRYPTED, DER_RSA, DER_EC };

/* Finds the first PEM block whose label is a private key; its base64 body is
 * decoded into der (a secure writer). */
static signet_rc pem_private_block(const char *text, size_t len, enum der_kind *kind, sb_wr *der)
{
    static const struct {
        const char *label;
        enum der_kind kind;
    } labels[] = {{"PRIVATE KEY", DER_PKCS8},
                  {"ENCRYPTED PRIVATE KEY", DER_PKCS8_ENCRYPTED},
                  {"RSA PRIVATE KEY", DER_RSA},
                  {"EC PRIVATE KEY", DER_EC}};
    static const char begin[] = "-----BEGIN ";
    size_t pos = 0;
    while (pos < len) {
        const char *b = memmem(text + pos, len - pos, begin, sizeof begin - 1);
        if (!b)
            break;
        size_t at = (size_t)(b - text) + sizeof begin - 1;
        const char *eol = memchr(text + at, '\n', len - at);
        size_t line_end = eol ? (size_t)(eol - text) : len;
        pos = line_end;
        for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
            size_t ll = strlen(labels[i].label);
            if (line_end - at < ll + 5 || memcmp(text + at, labels[i].label, ll) != 0 ||
                memcmp(text + at + ll, "-----", 5) != 0)
                continue;
            char end[64];
            snprintf(end, sizeof end, "-----END %s-----", labels[i].label);
            const char *e = memmem(text + line_end, len - line_end, end, strlen(end));
            if (!e)
                return signet_fail(SIGNET_E_PARSE, "the PEM block %s has no END line",
                                   labels[i].label);
            size_t body = line_end, body_end = (size_t)(e - text);
            if (memmem(text + body, body_end - body, "Proc-Type:", 10))
                return signet_fail(SIGNET_E_UNSUPPORTED,
                                   "the key is in the legacy encrypted PEM form; convert it to "
                                   "encrypted PKCS#8 first (`openssl pkcs8 -topk8 -v2 aes-256-cbc "
                                   "-in OLD -out NEW`)");
            /* The body without line breaks, then strict base64. */
            sb_wr b64;
            sbw_init_secure(&b64, KEY_FILE_MAX);
            signet_rc rc = SIGNET_OK;
            for (size_t k = body; rc == SIGNET_OK && k < body_end; k++)
                if (text[k] != '\n' && text[k] != '\r')
                    rc = sbw_u8(&b64, (uint8_t)text[k]);
            if (rc == SIGNET_OK)
                rc = b64_decode(der, (const char *)b64.p, b64.len, true);
            sbw_free(&b64);
            if (rc != SIGNET_OK)
                return signet_wrap(rc, "the PEM block %s is not valid base64", labels[i].label);
            *kind = labels[i].kind;
            return SIGNET_OK;
        }
    }
    return signet_fail(SIGNET_E_PARSE,
                       "no private key in the file (PEM blocks PRIVATE KEY, ENCRYPTED PRIVATE "
                       "KEY, RSA PRIVATE KEY or EC PRIVATE KEY, or DER PKCS#8 as AOSP's .pk8)");
}

static EVP_PKEY *from_p8inf(const uint8_t *p, size_t len)
{
    const unsigned char *q = p;
    PKCS8_PRIV_KEY_INFO *inf = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, (long)len);
    EVP_PKEY *k = NULL;
    if (inf && (size_t)(q - p) == len)
        k = EVP_PKCS82PKEY(inf);
    PKCS8_PRIV_KEY_INFO_free(inf);
    return k;
}

static signet_rc decrypt_p8(X509_SIG *sig, signet_key_password_fn pw, void *pw_ctx, EVP_PKEY **out)
{
    if (!pw)
        return signet_fail(SIGNET_E_ARG, "the key is encrypted and no password source was given");
    char *pass = NULL;
    signet_rc rc = pw(pw_ctx, &pass);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "the key is encrypted (PKCS#8)");
    PKCS8_PRIV_KEY_INFO *inf = PKCS8_decrypt(sig, pass, (int)strlen(pass));
    smem_free(pass);
    if (!inf)
        return signet_fail(SIGNET_E_AUTH,
                           "cannot decrypt the key: wrong password (or a damaged file)");
    *out = EVP_PKCS82PKEY(inf);
    PKCS8_PRIV_KEY_INFO_free(inf);
    return *out ? SIGNET_OK
                : signet_fail(SIGNET_E_PARSE, "the decrypted key is not a private key OpenSSL reads");
}

static signet_rc from_der(const uint8_t *p, size_t len, enum der_kind kind,
                          signet_key_password_fn pw, void *pw_ctx, EVP_PKEY **out)
{
    const unsigned char *q;
    if (kind == DER_ANY || kind == DER_PKCS8) {
        if ((*out = from_p8inf(p, len)) != NULL)
            return SIGNET_OK;
    }
    if (kind == DER_ANY || kind == DER_PKCS8_ENCRYPTED) {
        q = p;
        X509_SIG *sig = d2i_X509_SIG(NULL, &q, (long)len);
        if (sig && (size_t)(q - p) == len) {
            signet_rc rc = decrypt_p8(sig, pw, pw_ctx, out);
            X509_SIG_free(sig);
            return rc;
        }
        X509_SIG_free(sig);
    }
    if (kind == DER_ANY || kind == DER_RSA || kind == DER_EC) {
        q = p;
        int type = kind == DER_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;
        *out = kind == DER_ANY ? d2i_AutoPrivateKey(NULL, &q, (long)len)
                               : d2i_PrivateKey(type, NULL, &q, (long)len);
        if (*out && (size_t)(q - p) == len)
            return SIGNET_OK;
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    return signet_fail(SIGNET_E_PARSE, "the key does not parse as %s",
                       kind == DER_ANY ? "DER PKCS#8, encrypted PKCS#8, RSA or EC private key"
                       : kind == DER_PKCS8 ? "PKCS#8"
                       : kind == DER_PKCS8_ENCRYPTED ? "encrypted PKCS#8"
                       : kind == DER_RSA ? "an RSA private key"
                                         : "an EC private key");
}

signet_rc signet_key_parse_private(const uint8_t *bytes, size_t len, signet_key_password_fn pw,
                                   void *pw_ctx, EVP_PKEY **out)
{
    *out = NULL;
    if (len == 0)
        return signet_fail(SIGNET_E_PARSE, "the key file is empty");
    if (len > KEY_FILE_MAX)
        return signet_fail(SIGNET_E_PARSE, "the key file is %zu bytes, more than a key (%d)", len,
                           KEY_FILE_MAX);
    if (!memmem(bytes, len, "-----BEGIN ", 11))
        return from_der(bytes, len, DER_ANY, pw, pw_ctx, out);
    sb_wr der;
    sbw_init_secure(&der, KEY_FILE_MAX);
    enum der_kind kind = DER_ANY;
    signet_rc rc = pem_private_block((const char *)bytes, len, &kind, &der);
    if (rc == SIGNET_OK)
        rc = from_der(der.p, der.len, kind, pw, pw_ctx, out);
    sbw_free(&der);
    return rc;
}

signet_rc signet_key_read_file(const char *path, signet_key_password_fn pw, void *pw_ctx,
                               EVP_PKEY **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(errno == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO,
                           "cannot open the key file %s: %s", path, strerror(errno));
    sb_wr w;
    sbw_init_secure(&w, KEY_FILE_MAX + 4096);
    signet_rc rc = SIGNET_OK;
    for (;;) {
        uint8_t *dst;
        if (sbw_reserve(&w, 4096, &dst) != SIGNET_OK) {
            rc = signet_fail(SIGNET_E_PARSE, "the key file %s is larger than a key (%d bytes)",
                             path, KEY_FILE_MAX);
            break;
        }
        ssize_t n = read(fd, dst, 4096);
        w.len -= 4096 - (n > 0 ? (size_t)n : 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = signet_fail(SIGNET_E_IO, "reading the key file %s: %s", path, strerror(errno));
        if (n <= 0)
            break;
    }
    close(fd);
    if (rc == SIGNET_OK)
        rc = signet_key_parse_private(w.p, w.len, pw, pw_ctx, out);
    sbw_free(&w);
    return rc == SIGNET_OK ? SIGNET_OK : signet_wrap(rc, "%s", path);
}

signet_rc signet_key_algorithm_of(EVP_PKEY *k, uint8_t *algo)
{
    if (EVP_PKEY_is_a(k, "RSA")) {
        switch (EVP_PKEY_get_bits(k)) {
        case 2048: *algo = YH_ALGO_RSA_2048; return SIGNET_OK;
        case 3072: *algo = YH_ALGO_RSA_3072; return SIGNET_OK;
        case 4096: *algo = YH_ALGO_RSA_4096; return SIGNET_OK;
        default:
            return signet_fail(SIGNET_E_UNSUPPORTED,
                               "an RSA-%d key: the YubiHSM 2 holds RSA-2048, 3072 and 4096 only",
                               EVP_PKEY_get_bits(k));
        }
    }
    if (EVP_PKEY_is_a(k, "ED25519")) {
        *algo = YH_ALGO_EC_ED25519;
        return SIGNET_OK;
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        char group[64] = "";
        if (EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           NULL) != 1)
            return signet_fail(SIGNET_E_UNSUPPORTED, "an EC key without a named curve");
        int nid = OBJ_txt2nid(group);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(group);
        for (uint8_t a = YH_ALGO_EC_P256; a <= YH_ALGO_EC_BP512; a++)
            if (nid != NID_undef && yh_algo_curve_nid(a) == nid) {
                *algo = a;
                return SIGNET_OK;
            }
        return signet_fail(SIGNET_E_UNSUPPORTED, "an EC key on curve %s, which the YubiHSM 2 "
                                                 "does not hold", group);
    }
    return signet_fail(SIGNET_E_UNSUPPORTED, "a %s key: signet imports RSA, EC and Ed25519 keys",
                       EVP_PKEY_get0_type_name(k));
}

static bool same_spki(EVP_PKEY *a, EVP_PKEY *b);

/* ---- the certificate -------------------------------------------------------------- */

signet_rc signet_cert_parse(const uint8_t *bytes, size_t len, X509 **out)
{
    *out = NULL;
    if (len == 0 || len > KEY_FILE_MAX)
        return signet_fail(SIGNET_E_PARSE, "a certificate file of %zu bytes", len);
    if (memmem(bytes, len, "-----BEGIN ", 11)) {
        BIO *b = BIO_new_mem_buf(bytes, (int)len);
        if (!b)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        *out = PEM_read_bio_X509(b, NULL, NULL, NULL);
        BIO_free(b);
    } else {
        const unsigned char *q = bytes;
        *out = d2i_X509(NULL, &q, (long)len);
        if (*out && (size_t)(q - bytes) != len) {
            X509_free(*out);
            *out = NULL;
        }
    }
    return *out ? SIGNET_OK
                : signet_fail(SIGNET_E_PARSE, "no X.509 certificate in the file (PEM CERTIFICATE "
                                              "or DER)");
}

bool signet_cert_matches_key(X509 *cert, EVP_PKEY *key)
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    return pub && same_spki(pub, key);
}

static bool same_spki(EVP_PKEY *a, EVP_PKEY *b)
{
    sb_wr d1, d2;
    if (ks_spki_der(a, &d1) != SIGNET_OK)
        return false;
    bool same = ks_spki_der(b, &d2) == SIGNET_OK && d1.len == d2.len &&
                memcmp(d1.p, d2.p, d1.len) == 0;
    sbw_free(&d1);
    sbw_free(&d2);
    return same;
}

/* ---- into the store ------------------------------------------------------------------ */

static signet_rc check_before(signet_keystore *ks, hsm_session *s, const signet_keymap_entry *e,
                              EVP_PKEY *key, X509 *cert, uint16_t wrap_id)
{
    if (signet_keystore_has_key(ks, e->name))
        return signet_fail(SIGNET_E_STATE, "key '%s' is already in the store %s", e->name,
                           signet_keystore_dir(ks));
    if (wrap_id == 0)
        return signet_fail(SIGNET_E_ARG,
                           "no wrap key id: give --wrap-id or wrap_key_id in signet.conf");
    uint8_t algo = 0;
    signet_rc rc = signet_key_algorithm_of(key, &algo);
    if (rc != SIGNET_OK)
        return rc;
    if (algo != e->algorithm)
        return signet_fail(SIGNET_E_ARG, "the key is %s but the key map says '%s' is %s",
                           yh_algo_name(algo), e->name, yh_algo_name(e->algorithm));
    if (cert && !signet_cert_matches_key(cert, key))
        return signet_fail(SIGNET_E_VERIFY,
                           "the certificate is for another key than the private key given: "
                           "nothing was imported");
    yh_object_info oi;
    rc = hsm_get_object_info(s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_OK)
        return signet_fail(SIGNET_E_STATE,
                           "the HSM already holds asymmetric key 0x%04x ('%s'): the id of '%s' is "
                           "taken; delete it (`signet hsm delete 0x%04x asymmetric-key`) if it is "
                           "left from an interrupted import",
                           e->id, oi.label, e->name, e->id);
    if (rc != SIGNET_E_NOTFOUND)
        return signet_wrap(rc, "checking id 0x%04x on the HSM", e->id);
    signet_err_clear();
    return SIGNET_OK;
}

static signet_rc put_key(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY *key)
{
    hsm_object_attrs attrs = {.id = e->id,
                              .label = e->name,
                              .domains = e->domains,
                              .capabilities = signet_keygen_capabilities(e->algorithm),
                              .algorithm = e->algorithm};
    uint16_t got = 0;
    signet_rc rc = hsm_put_asymmetric(s, &attrs, key, &got);
    if (rc != SIGNET_OK) {
        if (rc == SIGNET_E_DEVICE && signet_err_device() == YH_ERR_INSUFFICIENT_PERMISSIONS)
            return signet_wrap(rc, "putting '%s' on the HSM needs the admin credential "
                                   "(put-asymmetric-key and export-wrapped): give --auth-key and "
                                   "the password of the admin key",
                               e->name);
        return signet_wrap(rc, "putting '%s' on the HSM", e->name);
    }
    if (got != e->id) {
        hsm_delete_object(s, got, YH_TYPE_ASYMMETRIC_KEY);
        return signet_fail(SIGNET_E_DEVICE, "the HSM stored '%s' at id 0x%04x, not 0x%04x",
                           e->name, got, e->id);
    }
    return SIGNET_OK;
}

signet_rc signet_keystore_import(signet_keystore *ks, hsm_session *s, const signet_keymap_entry *e,
                                 EVP_PKEY *key, X509 *cert, const char *source,
                                 const signet_keygen_opts *o)
{
    signet_rc rc = check_before(ks, s, e, key, cert, o->wrap_id);
    if (rc != SIGNET_OK)
        return rc;
    if ((rc = put_key(s, e, key)) != SIGNET_OK)
        return rc;
    ks_progress(o, "%s: put on the HSM (id 0x%04x, %s)", e->name, e->id,
                yh_algo_name(e->algorithm));
    bool resident = true;
    struct ks_artifacts a;
    ks_artifacts_init(&a);
    sbw_init(&a.origin, 4096);
    EVP_PKEY *pub = NULL;
    /* What the HSM holds now must be the key given (and the certificate's). */
    if ((rc = ks_fetch_public_key(s, e, &pub)) != SIGNET_OK)
        goto fail;
    if (!same_spki(pub, key)) {
        rc = signet_fail(SIGNET_E_VERIFY, "the HSM holds another public key for '%s' than the "
                                          "key given", e->name);
        goto fail;
    }
    if (cert) {
        rc = ks_cert_pem(cert, &a.cert_pem);
        if (rc == SIGNET_OK)
            rc = ks_public_files(e, pub, o, &a);
        if (rc == SIGNET_OK)
            ks_progress(o, "%s: keeping the certificate given", e->name);
    } else {
        rc = ks_certify(s, e, pub, o, &a);
        if (rc == SIGNET_OK)
            ks_progress(o, "%s: no certificate given: a self-signed one was signed on the HSM",
                        e->name);
    }
    if (rc != SIGNET_OK)
        goto fail;
    if ((rc = ks_export_and_prove(s, o->wrap_id, e, pub, &a, &resident)) != SIGNET_OK)
        goto fail;
    ks_progress(o, "%s: wrapped copy proven (it unwraps to the same public key)", e->name);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    rc = sbw_printf(&a.origin, "imported %s\nsource %s\ncertificate %s\n", when,
                    source && *source ? source : "-", cert ? "given" : "made");
    if (rc == SIGNET_OK)
        rc = ks_publish(ks, e, &a);
    if (rc != SIGNET_OK)
        goto fail;
    ks_progress(o, "%s: published in %s", e->name, signet_keystore_dir(ks));
    EVP_PKEY_free(pub);
    ks_artifacts_free(&a);
    return SIGNET_OK;
fail:
    EVP_PKEY_free(pub);
    ks_artifacts_free(&a);
    return resident ? ks_abandon(s, e, rc) : rc;
}

signet_rc signet_keystore_origin(const signet_keystore *ks, const char *name, char *out,
                                 size_t out_len)
{
    char path[4096];
    signet_rc rc = signet_keystore_path(ks, name, ".origin", path, sizeof path);
    if (rc != SIGNET_OK)
        return rc;
    sb_wr t;
    rc = ks_read_file(path, 4096, &t);
    if (rc == SIGNET_E_NOTFOUND) {
        signet_err_clear();
        snprintf(out, out_len, "%s",
                 signet_keystore_has_file(ks, name, ".attest.pem") ? "generated-attested"
                 : signet_keystore_has_key(ks, name)               ? "generated"
                                                                    : "-");
        return SIGNET_OK;
    }
    if (rc != SIGNET_OK)
        return rc;
    bool imported = t.len >= 9 && memcmp(t.p, "imported ", 9) == 0;
    sbw_free(&t);
    snprintf(out, out_len, "%s", imported ? "imported" : "unknown");
    return SIGNET_OK;
}

/* Self-signed certificates built around a signing callback: an in-process
 * OpenSSL key stands in for the HSM.  The result must verify, carry what AOSP's
 * make_key puts in a certificate, and parse with the openssl tool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "signet/keystore.h"

struct soft_signer {
    EVP_PKEY *key;
    int calls;
    int last_md;
};

static signet_rc soft_sign(void *ctx, const uint8_t *tbs, size_t len, int md_nid, uint8_t *sig,
                           size_t *sig_len)
{
    struct soft_signer *s = ctx;
    s->calls++;
    s->last_md = md_nid;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    const EVP_MD *md = md_nid == NID_undef ? NULL : EVP_get_digestbynid(md_nid);
    int ok = EVP_DigestSignInit(m, NULL, md, NULL, s->key) == 1 &&
             EVP_DigestSign(m, sig, sig_len, tbs, len) == 1;
    EVP_MD_CTX_free(m);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "soft signing failed");
}

static EVP_PKEY *public_only(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    const unsigned char *p = der;
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
    OPENSSL_free(der);
    assert_non_null(pub);
    return pub;
}

static void check_common(X509 *x, EVP_PKEY *pub, const char *name)
{
    assert_int_equal(X509_verify(x, pub), 1);
    assert_int_equal(X509_get_version(x), X509_VERSION_3);
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);
    char cn[128];
    assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                          sizeof cn) > 0);
    assert_string_equal(cn, name);
    /* Serial: positive, 16 bytes. */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
    assert_false(BN_is_negative(bn));
    assert_int_equal(BN_num_bytes(bn), 16);
    BN_free(bn);
    /* Extensions: CA:TRUE critical, key identifiers that agree. */
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_int_equal(crit, 1);
    assert_true(bc->ca);
    BASIC_CONSTRAINTS_free(bc);
    const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(x);
    const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(x);
    assert_non_null(skid);
    assert_non_null(akid);
    assert_int_equal(ASN1_OCTET_STRING_cmp(skid, akid), 0);
    assert_int_equal(ASN1_STRING_length(skid), 20);
    /* The issuer check OpenSSL does for chains: self-issued and self-signed. */
    assert_int_equal(X509_check_issued(x, x), X509_V_OK);
    assert_true(X509_get_extension_flags(x) & EXFLAG_SS);
}

static X509 *make(EVP_PKEY *key, const char *name, const signet_cert_opts *o,
                  struct soft_signer *s)
{
    EVP_PKEY *pub = public_only(key);
    s->key = key;
    X509 *x = NULL;
    assert_int_equal(signet_cert_selfsign(pub, name, o, soft_sign, s, &x), SIGNET_OK);
    assert_non_null(x);
    check_common(x, pub, name);
    EVP_PKEY_free(pub);
    return x;
}

static void rsa_default_subject(void **state)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    struct soft_signer s = {0};
    X509 *x = make(k, "platform", NULL, &s);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.last_md, NID_sha256);
    assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
    char *subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
    assert_string_equal(subj, "/C=US/ST=California/L=Mountain View/O=Android/OU=Android/"
                              "CN=platform/emailAddress=android@android.com");
    OPENSSL_free(subj);
    /* 10000 days, like make_key. */
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)),
                     1);
    assert_int_equal(days, 10000);
    /* Valid now. */
    assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) <= 0);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void ec_and_ed25519(void **state)
{
    struct soft_signer s = {0};
    EVP_PKEY *p256 = EVP_EC_gen("P-256");
    X509 *x = make(p256, "ec_key", NULL, &s);
    assert_int_equal(s.last_md, NID_sha256);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    X509_free(x);
    EVP_PKEY_free(p256);

    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    x = make(p384, "ec384", NULL, &s);
    assert_int_equal(s.last_md, NID_sha384);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA384);
    X509_free(x);
    EVP_PKEY_free(p384);

    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    x = make(ed, "ed", NULL, &s);
    assert_int_equal(s.last_md, NID_undef);
    assert_int_equal(X509_get_signature_nid(x), NID_ED25519);
    X509_free(x);
    EVP_PKEY_free(ed);
}

static void wrong_signer_is_caught(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    EVP_PKEY *pub = public_only(k);
    struct soft_signer s = {.key = other};
    X509 *x = NULL;
    assert_int_equal(signet_cert_selfsign(pub, "k", NULL, soft_sign, &s, &x), SIGNET_E_VERIFY);
    assert_null(x);
    assert_non_null(strstr(signet_errmsg(), "does not verify"));
    /* A signer of another algorithm: an RSA signature under an EC algorithm id. */
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    s.key = rsa;
    assert_int_equal(signet_cert_selfsign(pub, "k", NULL, soft_sign, &s, &x), SIGNET_E_VERIFY);
    assert_null(x);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

static signet_rc failing_sign(void *ctx, const uint8_t *tbs, size_t len, int md_nid, uint8_t *sig,
                              size_t *sig_len)
{
    return signet_fail(SIGNET_E_DEVICE, "device said no");
}

static void signer_failure_propagates(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = NULL;
    assert_int_equal(signet_cert_selfsign(k, "media", NULL, failing_sign, NULL, &x),
                     SIGNET_E_DEVICE);
    assert_null(x);
    assert_non_null(strstr(signet_errmsg(), "signing the certificate of key 'media'"));
    assert_non_null(strstr(signet_errmsg(), "device said no"));
    EVP_PKEY_free(k);
}

static void subject_templates(void **state)
{
    X509_NAME *n = NULL;
    char *s;
    assert_int_equal(signet_cert_subject("/O=Example/OU=Release", "nfc", &n), SIGNET_OK);
    s = X509_NAME_oneline(n, NULL, 0);
    assert_string_equal(s, "/O=Example/OU=Release/CN=nfc"); /* CN appended */
    OPENSSL_free(s);
    X509_NAME_free(n);

    assert_int_equal(signet_cert_subject("/CN=Example {name} key/O=X", "media", &n), SIGNET_OK);
    s = X509_NAME_oneline(n, NULL, 0);
    assert_string_equal(s, "/CN=Example media key/O=X");
    OPENSSL_free(s);
    X509_NAME_free(n);

    assert_int_equal(signet_cert_subject("C=DE, O=Ex\\, Inc., CN={name}", "shared", &n), SIGNET_OK);
    s = X509_NAME_oneline(n, NULL, 0);
    assert_string_equal(s, "/C=DE/O=Ex, Inc./CN=shared");
    OPENSSL_free(s);
    X509_NAME_free(n);

    assert_int_equal(signet_cert_subject("/O=a\\/b", "k", &n), SIGNET_OK);
    s = X509_NAME_oneline(n, NULL, 0);
    assert_string_equal(s, "/O=a\\/b/CN=k");
    OPENSSL_free(s);
    X509_NAME_free(n);

    assert_int_equal(signet_cert_subject("/NOPE=x", "k", &n), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "NOPE=x is not accepted"));
    assert_int_equal(signet_cert_subject("/C=USA", "k", &n), SIGNET_E_ARG);
    assert_int_equal(signet_cert_subject("/O", "k", &n), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "not TYPE=value"));
    assert_int_equal(signet_cert_subject("/O=", "k", &n), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "empty value"));
    assert_int_equal(signet_cert_subject("/", "k", &n), SIGNET_E_ARG);
    assert_null(n);
}

static void custom_days(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    struct soft_signer s = {0};
    signet_cert_opts o = {.subject = "/O=Test", .days = 30};
    X509 *x = make(k, "short", &o, &s);
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)),
                     1);
    assert_int_equal(days, 30);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* The openssl tool reads the certificate and verifies it as its own trust anchor. */
static void openssl_tool_accepts(void **state)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    struct soft_signer s = {0};
    X509 *x = make(k, "releasekey", NULL, &s);
    char dir[] = "/tmp/signet-cert-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], cmd[512];
    snprintf(path, sizeof path, "%s/releasekey.x509.pem", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);

    snprintf(cmd, sizeof cmd, "openssl x509 -in %s -noout -text", path);
    FILE *p = popen(cmd, "r");
    char *text = calloc(1, 65536);
    size_t n = fread(text, 1, 65535, p);
    assert_int_equal(pclose(p), 0);
    assert_true(n > 0);
    assert_non_null(strstr(text, "Signature Algorithm: sha256WithRSAEncryption"));
    assert_non_null(strstr(text, "Subject: C = US, ST = California, L = Mountain View, O = "
                                 "Android, OU = Android, CN = releasekey, emailAddress = "
                                 "android@android.com"));
    assert_non_null(strstr(text, "X509v3 Basic Constraints: critical"));
    assert_non_null(strstr(text, "CA:TRUE"));
    assert_non_null(strstr(text, "X509v3 Subject Key Identifier"));
    assert_non_null(strstr(text, "X509v3 Authority Key Identifier"));
    assert_non_null(strstr(text, "Public-Key: (2048 bit)"));
    free(text);

    snprintf(cmd, sizeof cmd, "openssl verify -CAfile %s %s", path, path);
    p = popen(cmd, "r");
    char out[512] = {0};
    n = fread(out, 1, sizeof out - 1, p);
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, ": OK"));
    unlink(path);
    rmdir(dir);
    X509_free(x);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_default_subject),     cmocka_unit_test(ec_and_ed25519),
        cmocka_unit_test(wrong_signer_is_caught),  cmocka_unit_test(signer_failure_propagates),
        cmocka_unit_test(subject_templates),       cmocka_unit_test(custom_days),
        cmocka_unit_test(openssl_tool_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

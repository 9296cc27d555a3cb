/* Attestation end to end (client and emulator core in-process): certificates
 * from the device attestation key (0) and from a user-supplied attestation key,
 * checked with OpenSSL the way a verifier would (chain to the CA, public key,
 * subject, and each of Yubico's extensions), and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "rig.h"

static X509 *parse(const sb_wr *der)
{
    const unsigned char *p = der->p;
    X509 *x = d2i_X509(NULL, &p, (long)der->len);
    assert_non_null(x);
    assert_ptr_equal(p, der->p + der->len);
    return x;
}

/* The DER value of the Yubico extension 1.3.6.1.4.1.41482.4.<arc>. */
static const ASN1_OCTET_STRING *ext_value(X509 *x, int arc)
{
    char oid[64];
    snprintf(oid, sizeof oid, "1.3.6.1.4.1.41482.4.%d", arc);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    int i = X509_get_ext_by_OBJ(x, obj, -1);
    ASN1_OBJECT_free(obj);
    if (i < 0)
        return NULL;
    return X509_EXTENSION_get_data(X509_get_ext(x, i));
}

static void assert_ext(X509 *x, int arc, const uint8_t *want, size_t n)
{
    const ASN1_OCTET_STRING *v = ext_value(x, arc);
    assert_non_null(v);
    assert_int_equal(ASN1_STRING_length(v), n);
    assert_memory_equal(ASN1_STRING_get0_data(v), want, n);
}

static bool verifies_under(X509 *leaf, X509 *ca)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    assert_int_equal(X509_STORE_add_cert(store, ca), 1);
    assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
    bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

static uint16_t generate(hsm_session *s, uint16_t id, uint8_t algo, uint16_t domains,
                         uint64_t caps, const char *label)
{
    hsm_object_attrs a = {.id = id, .label = label, .domains = domains, .capabilities = caps,
                          .algorithm = algo};
    uint16_t got = 0;
    if (hsm_generate_asymmetric(s, &a, &got) != SIGNET_OK)
        fail_msg("generate: %s", signet_errmsg());
    return got;
}

static void device_key_attests(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    const uint64_t caps = YH_CAP(YH_CAP_SIGN_ECDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP);
    uint16_t id = generate(s, 0x0123, YH_ALGO_EC_P256, 0x0005, caps, "release key");

    /* The CA: the device's certificate, readable as opaque 0 and from the core. */
    sb_wr ca_der, ca_der2, der;
    sbw_init(&ca_der, 8192);
    sbw_init(&ca_der2, 8192);
    sbw_init(&der, 8192);
    assert_int_equal(hsm_get_opaque(s, 0, &ca_der), SIGNET_OK);
    assert_int_equal(hsm_device_ca_der(r.dev, &ca_der2), SIGNET_OK);
    assert_int_equal(ca_der.len, ca_der2.len);
    assert_memory_equal(ca_der.p, ca_der2.p, ca_der.len);
    X509 *ca = parse(&ca_der);
    /* opaque 0 is not an object: it neither lists nor counts */
    hsm_filter f = {.type = YH_TYPE_OPAQUE};
    hsm_object_ref refs[4];
    size_t n = 9;
    assert_int_equal(hsm_list_objects(s, &f, refs, 4, &n), SIGNET_OK);
    assert_int_equal(n, 0);

    assert_int_equal(hsm_sign_attestation_certificate(s, id, 0, &der), SIGNET_OK);
    X509 *x = parse(&der);
    assert_true(verifies_under(x, ca));
    /* the attested key's public key */
    EVP_PKEY *pub = NULL;
    assert_int_equal(hsm_get_public_key(s, id, &pub, NULL), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1);
    /* subject, issuer, validity */
    char cn[128];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "YubiHSM Attestation id:0x0123");
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)), 0);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notBefore(ca)), 0);
    assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)), 0);
    /* a positive 16-byte serial */
    const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_length(serial), 16);
    /* Yubico's extensions, byte for byte */
    assert_ext(x, 1, (const uint8_t[]){0x04, 0x03, 2, 4, 0}, 5);
    assert_ext(x, 2, (const uint8_t[]){0x02, 0x03, 0x12, 0xd6, 0x87}, 5); /* 1234567 */
    assert_ext(x, 3, (const uint8_t[]){0x03, 0x02, 0x00, YH_ORIGIN_GENERATED}, 4);
    assert_ext(x, 4, (const uint8_t[]){0x03, 0x03, 0x00, 0x00, 0x05}, 5);
    uint8_t capbits[] = {0x03, 0x09, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00, 0x80};
    assert_ext(x, 5, capbits, sizeof capbits);
    assert_ext(x, 6, (const uint8_t[]){0x02, 0x02, 0x01, 0x23}, 4);
    assert_ext(x, 9, (const uint8_t *)"\x0c\x0brelease key", 13);
    /* and nothing else: strict parsers refuse unknown extensions */
    assert_int_equal(X509_get_ext_count(x), 7);

    /* Two attestations of one key differ in their serial only. */
    sb_wr der2;
    sbw_init(&der2, 8192);
    assert_int_equal(hsm_sign_attestation_certificate(s, id, 0, &der2), SIGNET_OK);
    X509 *x2 = parse(&der2);
    assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(x2)),
                         0);

    /* RSA and Ed25519 keys are attested too. */
    uint16_t rsa = generate(s, 0, YH_ALGO_RSA_2048, 1, YH_CAP(YH_CAP_SIGN_PKCS), "rsa");
    uint16_t ed = generate(s, 0, YH_ALGO_EC_ED25519, 1, YH_CAP(YH_CAP_SIGN_EDDSA), "ed");
    uint16_t both[2] = {rsa, ed};
    for (int i = 0; i < 2; i++) {
        sb_wr d;
        sbw_init(&d, 8192);
        assert_int_equal(hsm_sign_attestation_certificate(s, both[i], 0, &d), SIGNET_OK);
        X509 *y = parse(&d);
        EVP_PKEY *p = NULL;
        assert_int_equal(hsm_get_public_key(s, both[i], &p, NULL), SIGNET_OK);
        assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(y), p), 1);
        assert_true(verifies_under(y, ca));
        EVP_PKEY_free(p);
        X509_free(y);
        sbw_free(&d);
    }

    /* An untrusted CA does not verify it. */
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *fake = X509_dup(ca);
    assert_int_equal(X509_set_pubkey(fake, other), 1);
    assert_true(X509_sign(fake, other, EVP_sha256()) > 0);
    assert_false(verifies_under(x, fake));
    X509_free(fake);
    EVP_PKEY_free(other);

    X509_free(x);
    X509_free(x2);
    X509_free(ca);
    EVP_PKEY_free(pub);
    sbw_free(&ca_der);
    sbw_free(&ca_der2);
    sbw_free(&der);
    sbw_free(&der2);
    hsm_session_close(s);
    rig_close(&r);
}

static void refusals(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *admin = rig_login(&r);
    uint16_t id = generate(admin, 0x0200, YH_ALGO_EC_P256, 0x0002, YH_CAP(YH_CAP_SIGN_ECDSA),
                           "k");
    sb_wr der;
    sbw_init(&der, 8192);

    /* a login without sign-attestation-certificate */
    rig_add_auth(admin, 0x0010, "no-attest", YH_CAP(YH_CAP_SIGN_ECDSA), 0, 0xffff);
    hsm_session *s;
    assert_int_equal(hsm_session_open(r.conn, 0x0010, "no-attest", &s), SIGNET_OK);
    assert_int_equal(hsm_sign_attestation_certificate(s, id, 0, &der), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    assert_int_equal(der.len, 0);
    hsm_session_close(s);

    /* a key in a domain the login does not have: not found */
    rig_add_auth(admin, 0x0011, "domain-1",
                 YH_CAP(YH_CAP_SIGN_ATTESTATION_CERTIFICATE) | YH_CAP(YH_CAP_GET_OPAQUE), 0,
                 0x0001);
    assert_int_equal(hsm_session_open(r.conn, 0x0011, "domain-1", &s), SIGNET_OK);
    assert_int_equal(hsm_sign_attestation_certificate(s, id, 0, &der), SIGNET_E_NOTFOUND);
    hsm_session_close(s);

    /* not an asymmetric key, and no such key */
    assert_int_equal(hsm_sign_attestation_certificate(admin, 1, 0, &der), SIGNET_E_NOTFOUND);
    assert_int_equal(hsm_sign_attestation_certificate(admin, 0x7777, 0, &der), SIGNET_E_NOTFOUND);

    /* a user attestation key without the capability, or without its certificate */
    uint16_t a1 = generate(admin, 0x0300, YH_ALGO_EC_P256, 0xffff, YH_CAP(YH_CAP_SIGN_ECDSA),
                           "no cap");
    hsm_object_attrs oa = {.id = a1, .label = "cert", .domains = 0xffff,
                           .algorithm = YH_ALGO_OPAQUE_X509_CERTIFICATE};
    sb_wr ca;
    sbw_init(&ca, 8192);
    assert_int_equal(hsm_get_opaque(admin, 0, &ca), SIGNET_OK);
    uint16_t oid;
    assert_int_equal(hsm_put_opaque(admin, &oa, ca.p, ca.len, &oid), SIGNET_OK);
    assert_int_equal(hsm_sign_attestation_certificate(admin, id, a1, &der), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    uint16_t a2 = generate(admin, 0x0301, YH_ALGO_EC_P256, 0xffff,
                           YH_CAP(YH_CAP_SIGN_ATTESTATION_CERTIFICATE), "no cert");
    assert_int_equal(hsm_sign_attestation_certificate(admin, id, a2, &der), SIGNET_E_NOTFOUND);
    /* a "certificate" that is not one */
    oa.id = a2;
    assert_int_equal(hsm_put_opaque(admin, &oa, (const uint8_t *)"not a cert", 10, &oid),
                     SIGNET_OK);
    assert_int_equal(hsm_sign_attestation_certificate(admin, id, a2, &der), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    /* an Ed25519 key cannot sign certificates */
    uint16_t a3 = generate(admin, 0x0302, YH_ALGO_EC_ED25519, 0xffff,
                           YH_CAP(YH_CAP_SIGN_ATTESTATION_CERTIFICATE), "ed");
    oa.id = a3;
    assert_int_equal(hsm_put_opaque(admin, &oa, ca.p, ca.len, &oid), SIGNET_OK);
    assert_int_equal(hsm_sign_attestation_certificate(admin, id, a3, &der), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    assert_int_equal(der.len, 0);

    sbw_free(&ca);
    sbw_free(&der);
    hsm_session_close(admin);
    rig_close(&r);
}

/* A template certificate for an attestation key held by the device: subject and
 * validity chosen here, the device key's public key, signed by a local CA (the
 * device does not check the template's signature; verifiers check the chain). */
static X509 *make_template(EVP_PKEY *dev_pub, EVP_PKEY *ca_key)
{
    X509 *t = X509_new();
    X509_NAME *n = X509_NAME_new();
    assert_int_equal(X509_set_version(t, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(t), 77);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Project attester",
                               -1, -1, 0);
    X509_set_subject_name(t, n);
    X509_set_issuer_name(t, n);
    ASN1_TIME_set_string(X509_getm_notBefore(t), "20250101000000Z");
    ASN1_TIME_set_string(X509_getm_notAfter(t), "20450101000000Z");
    X509_set_pubkey(t, dev_pub);
    assert_true(X509_sign(t, ca_key, EVP_sha256()) > 0);
    X509_NAME_free(n);
    return t;
}

static void user_attestation_key(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    uint16_t id = generate(s, 0x0044, YH_ALGO_EC_P384, 1, YH_CAP(YH_CAP_SIGN_ECDSA), "attested");
    static const uint8_t algos[] = {YH_ALGO_RSA_2048, YH_ALGO_EC_P256};
    for (size_t i = 0; i < sizeof algos; i++) {
        uint16_t aid = generate(s, (uint16_t)(0x0500 + i), algos[i], 1,
                                YH_CAP(YH_CAP_SIGN_ATTESTATION_CERTIFICATE), "attester");
        EVP_PKEY *apub = NULL;
        assert_int_equal(hsm_get_public_key(s, aid, &apub, NULL), SIGNET_OK);
        EVP_PKEY *local = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        X509 *t = make_template(apub, local);
        uint8_t *tder = NULL;
        int tlen = i2d_X509(t, &tder);
        assert_true(tlen > 0);
        hsm_object_attrs oa = {.id = aid, .label = "attester cert", .domains = 1,
                               .algorithm = YH_ALGO_OPAQUE_X509_CERTIFICATE};
        uint16_t oid;
        assert_int_equal(hsm_put_opaque(s, &oa, tder, (size_t)tlen, &oid), SIGNET_OK);

        sb_wr der;
        sbw_init(&der, 8192);
        assert_int_equal(hsm_sign_attestation_certificate(s, id, aid, &der), SIGNET_OK);
        X509 *x = parse(&der);
        /* signed by the attestation key (SHA-256, PKCS#1 v1.5 or ECDSA) */
        assert_int_equal(X509_verify(x, apub), 1);
        assert_int_equal(X509_get_signature_nid(x),
                         algos[i] == YH_ALGO_RSA_2048 ? NID_sha256WithRSAEncryption
                                                      : NID_ecdsa_with_SHA256);
        EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        assert_int_not_equal(X509_verify(x, other), 1);
        EVP_PKEY_free(other);
        /* issuer and validity from the template; the attested key inside */
        assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(t)), 0);
        assert_int_equal(ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notBefore(t)), 0);
        assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(t)), 0);
        EVP_PKEY *pub = NULL;
        assert_int_equal(hsm_get_public_key(s, id, &pub, NULL), SIGNET_OK);
        assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1);
        assert_ext(x, 6, (const uint8_t[]){0x02, 0x01, 0x44}, 3);

        EVP_PKEY_free(pub);
        X509_free(x);
        sbw_free(&der);
        OPENSSL_free(tder);
        X509_free(t);
        EVP_PKEY_free(local);
        EVP_PKEY_free(apub);
    }
    hsm_session_close(s);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_key_attests),
        cmocka_unit_test(refusals),
        cmocka_unit_test(user_attestation_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Signing on the emulated device, every signature verified with OpenSSL:
 * PKCS#1 v1.5 (bare digest and complete DigestInfo), PSS, ECDSA (including
 * digests longer than the curve), EdDSA; and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "dev_client.h"

#define CAP(x) YH_CAP(YH_CAP_##x)

static hsm_device *dev;
static tc_session admin;
static EVP_PKEY *rsa; /* the key put as 0x0010 */

static int put_key(uint16_t id, uint64_t caps, uint8_t algo, const uint8_t *k, size_t n)
{
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    tc_attrs a = {.id = id, .domains = 1, .caps = caps, .algorithm = algo};
    tc_put_hdr(&w, &a);
    sbw_put(&w, k, n);
    int rc = tc_cmd(&admin, YH_CMD_PUT_ASYMMETRIC_KEY, w.p, w.len, NULL);
    sbw_free(&w);
    return rc;
}

static int setup(void **state)
{
    dev = tc_device(NULL, NULL);
    if (!dev || tc_open(dev, 1, "password", &admin))
        return -1;
    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    BIGNUM *p = NULL, *q = NULL;
    uint8_t pq[256];
    EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_FACTOR1, &p);
    EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_FACTOR2, &q);
    BN_bn2binpad(p, pq, 128);
    BN_bn2binpad(q, pq + 128, 128);
    BN_free(p);
    BN_free(q);
    return put_key(0x0010, CAP(SIGN_PKCS) | CAP(SIGN_PSS), YH_ALGO_RSA_2048, pq, 256);
}

static int teardown(void **state)
{
    EVP_PKEY_free(rsa);
    hsm_device_free(dev);
    return 0;
}

static int sign(tc_session *s, uint8_t cmd, uint16_t id, const uint8_t *pre, size_t prelen,
                const uint8_t *data, size_t len, sb_wr *sig)
{
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    sbw_u16(&w, id);
    sbw_put(&w, pre, prelen);
    sbw_put(&w, data, len);
    sbw_reset(sig);
    int rc = tc_cmd(s, cmd, w.p, w.len, sig);
    sbw_free(&w);
    return rc;
}

static int verify(EVP_PKEY *pk, const EVP_MD *md, int padding, const EVP_MD *mgf, int salt,
                  const uint8_t *sig, size_t slen, const uint8_t *dgst, size_t dlen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    int ok = EVP_PKEY_verify_init(ctx) == 1;
    if (ok && padding) {
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1;
        if (ok && padding == RSA_PKCS1_PSS_PADDING)
            ok = EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf) == 1 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt) == 1;
    }
    if (ok && md)
        ok = EVP_PKEY_CTX_set_signature_md(ctx, md) == 1;
    ok = ok && EVP_PKEY_verify(ctx, sig, slen, dgst, dlen) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static void pkcs1(void **state)
{
    uint8_t d[64];
    SHA256((const uint8_t *)"release.zip", 11, d);
    sb_wr sig;
    sbw_init(&sig, 1024);
    /* a bare SHA-256 digest: the device adds the DigestInfo */
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, d, 32, &sig), 0);
    assert_int_equal(sig.len, 256);
    assert_true(verify(rsa, EVP_sha256(), RSA_PKCS1_PADDING, NULL, 0, sig.p, sig.len, d, 32));
    assert_false(verify(rsa, EVP_sha512(), RSA_PKCS1_PADDING, NULL, 0, sig.p, sig.len, d, 32));
    /* a complete DigestInfo (as CKM_RSA_PKCS sends it) is signed as given */
    static const uint8_t di384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
    SHA384((const uint8_t *)"x", 1, d);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0010, di384, sizeof di384, d, 48, &sig),
                     0);
    assert_true(verify(rsa, EVP_sha384(), RSA_PKCS1_PADDING, NULL, 0, sig.p, sig.len, d, 48));
    /* SHA-1 and SHA-512 lengths */
    SHA512((const uint8_t *)"y", 1, d);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, d, 64, &sig), 0);
    assert_true(verify(rsa, EVP_sha512(), RSA_PKCS1_PADDING, NULL, 0, sig.p, sig.len, d, 64));
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, d, 20, &sig), 0);
    assert_true(verify(rsa, EVP_sha1(), RSA_PKCS1_PADDING, NULL, 0, sig.p, sig.len, d, 20));
    /* too long for the modulus (256 - 11 = 245 at most), and empty */
    uint8_t big[246] = {0};
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, big, 246, &sig),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, big, 245, &sig), 0);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, NULL, 0, &sig),
                     YH_ERR_INVALID_DATA);
    /* unknown key */
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0011, NULL, 0, d, 32, &sig),
                     YH_ERR_OBJECT_NOT_FOUND);
    sbw_free(&sig);
}

static void pss(void **state)
{
    uint8_t d[32];
    SHA256((const uint8_t *)"payload", 7, d);
    sb_wr sig;
    sbw_init(&sig, 1024);
    uint8_t pre[3] = {YH_ALGO_MGF1_SHA256, 0x00, 32};
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PSS, 0x0010, pre, 3, d, 32, &sig), 0);
    assert_int_equal(sig.len, 256);
    assert_true(verify(rsa, EVP_sha256(), RSA_PKCS1_PSS_PADDING, EVP_sha256(), 32, sig.p,
                       sig.len, d, 32));
    /* MGF1 with another hash, salt 0 */
    uint8_t pre1[3] = {YH_ALGO_MGF1_SHA1, 0x00, 0};
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PSS, 0x0010, pre1, 3, d, 32, &sig), 0);
    assert_true(verify(rsa, EVP_sha256(), RSA_PKCS1_PSS_PADDING, EVP_sha1(), 0, sig.p, sig.len,
                       d, 32));
    assert_false(verify(rsa, EVP_sha256(), RSA_PKCS1_PSS_PADDING, EVP_sha256(), 0, sig.p,
                        sig.len, d, 32));
    /* refusals: salt too long, unknown MGF1, digest of no known length */
    uint8_t bad_salt[3] = {YH_ALGO_MGF1_SHA256, 0x00, 223};
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PSS, 0x0010, bad_salt, 3, d, 32, &sig),
                     YH_ERR_INVALID_DATA);
    uint8_t ok_salt[3] = {YH_ALGO_MGF1_SHA256, 0x00, 222};
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PSS, 0x0010, ok_salt, 3, d, 32, &sig), 0);
    uint8_t bad_mgf[3] = {YH_ALGO_RSA_2048, 0x00, 32};
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PSS, 0x0010, bad_mgf, 3, d, 32, &sig),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PSS, 0x0010, pre, 3, d, 31, &sig),
                     YH_ERR_INVALID_DATA);
    sbw_free(&sig);
}

static EVP_PKEY *ec_public(uint16_t id, const char *group)
{
    uint8_t req[2];
    put_be16(req, id);
    sb_wr r;
    sbw_init(&r, 512);
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PUBLIC_KEY, req, 2, &r), 0);
    EVP_PKEY *pk = NULL;
    if (strcmp(group, "ED25519") == 0) {
        pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, r.p + 1, r.len - 1);
    } else {
        r.p[0] = 0x04; /* the algorithm byte becomes the uncompressed-point prefix */
        OSSL_PARAM params[] = {
            OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
            OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, r.p, r.len), OSSL_PARAM_END};
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
        EVP_PKEY_CTX_free(ctx);
    }
    sbw_free(&r);
    assert_non_null(pk);
    return pk;
}

static void ecdsa(void **state)
{
    uint16_t id;
    tc_attrs a = {.id = 0x0020, .domains = 1, .caps = CAP(SIGN_ECDSA), .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(tc_generate(&admin, &a, &id), 0);
    a.id = 0x0021;
    a.algorithm = YH_ALGO_EC_P384;
    assert_int_equal(tc_generate(&admin, &a, &id), 0);
    EVP_PKEY *p256 = ec_public(0x0020, "prime256v1"), *p384 = ec_public(0x0021, "secp384r1");
    uint8_t d[64];
    SHA512((const uint8_t *)"m", 1, d);
    sb_wr sig;
    sbw_init(&sig, 1024);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_ECDSA, 0x0020, NULL, 0, d, 32, &sig), 0);
    assert_int_equal(sig.p[0], 0x30); /* DER */
    assert_true(verify(p256, NULL, 0, NULL, 0, sig.p, sig.len, d, 32));
    assert_false(verify(p256, NULL, 0, NULL, 0, sig.p, sig.len, d + 1, 32));
    /* a SHA-512 digest on P-256 is truncated to the leftmost 256 bits */
    assert_int_equal(sign(&admin, YH_CMD_SIGN_ECDSA, 0x0020, NULL, 0, d, 64, &sig), 0);
    assert_true(verify(p256, NULL, 0, NULL, 0, sig.p, sig.len, d, 32));
    /* a SHA-256 digest on P-384 */
    assert_int_equal(sign(&admin, YH_CMD_SIGN_ECDSA, 0x0021, NULL, 0, d, 32, &sig), 0);
    assert_true(verify(p384, NULL, 0, NULL, 0, sig.p, sig.len, d, 32));
    /* PKCS#1 with a key that lacks sign-pkcs; an empty digest */
    assert_int_equal(sign(&admin, YH_CMD_SIGN_PKCS1, 0x0020, NULL, 0, d, 32, &sig),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_ECDSA, 0x0020, NULL, 0, NULL, 0, &sig),
                     YH_ERR_INVALID_DATA);
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    sbw_free(&sig);
}

static void eddsa(void **state)
{
    /* put a known seed (RFC 8032 test 1) and compare with the known signature */
    static const uint8_t seed[32] = {
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
        0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    static const uint8_t sig0[8] = {0xe5, 0x56, 0x43, 0x00, 0xc3, 0x60, 0xac, 0x72};
    assert_int_equal(put_key(0x0030, CAP(SIGN_EDDSA), YH_ALGO_EC_ED25519, seed, 32), 0);
    assert_int_equal(put_key(0x0031, CAP(SIGN_EDDSA), YH_ALGO_EC_ED25519, seed, 31),
                     YH_ERR_INVALID_DATA);
    sb_wr sig;
    sbw_init(&sig, 1024);
    assert_int_equal(sign(&admin, YH_CMD_SIGN_EDDSA, 0x0030, NULL, 0, NULL, 0, &sig), 0);
    assert_int_equal(sig.len, 64);
    assert_memory_equal(sig.p, sig0, sizeof sig0);

    tc_attrs a = {.id = 0x0032, .domains = 1, .caps = CAP(SIGN_EDDSA),
                  .algorithm = YH_ALGO_EC_ED25519};
    uint16_t id;
    assert_int_equal(tc_generate(&admin, &a, &id), 0);
    EVP_PKEY *pk = ec_public(0x0032, "ED25519");
    const uint8_t msg[] = "checkpoint\n";
    assert_int_equal(sign(&admin, YH_CMD_SIGN_EDDSA, 0x0032, NULL, 0, msg, sizeof msg - 1, &sig),
                     0);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, pk, NULL), 1);
    assert_int_equal(EVP_DigestVerify(m, sig.p, sig.len, msg, sizeof msg - 1), 1);
    EVP_MD_CTX_free(m);
    EVP_PKEY_free(pk);
    sbw_free(&sig);
}

static void capability_on_both_sides(void **state)
{
    uint8_t d[32] = {1};
    sb_wr sig;
    sbw_init(&sig, 1024);
    /* the object lacks sign-ecdsa... */
    assert_int_equal(sign(&admin, YH_CMD_SIGN_ECDSA, 0x0010, NULL, 0, d, 32, &sig),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* ...or the session key lacks sign-pkcs while the object has it */
    tc_attrs k = {.id = 0x0040, .domains = 1, .caps = CAP(SIGN_PSS)};
    assert_int_equal(tc_put_auth_key(&admin, &k, 0, "pss-only"), 0);
    tc_session s;
    assert_int_equal(tc_open(dev, 0x0040, "pss-only", &s), 0);
    assert_int_equal(sign(&s, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, d, 32, &sig),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    uint8_t pre[3] = {YH_ALGO_MGF1_SHA256, 0, 32};
    assert_int_equal(sign(&s, YH_CMD_SIGN_PSS, 0x0010, pre, 3, d, 32, &sig), 0);
    /* a key in another domain is not found at all */
    tc_attrs k2 = {.id = 0x0041, .domains = 2, .caps = CAP(SIGN_PKCS) | CAP(SIGN_PSS)};
    assert_int_equal(tc_put_auth_key(&admin, &k2, 0, "dom2"), 0);
    tc_session s2;
    assert_int_equal(tc_open(dev, 0x0041, "dom2", &s2), 0);
    assert_int_equal(sign(&s2, YH_CMD_SIGN_PKCS1, 0x0010, NULL, 0, d, 32, &sig),
                     YH_ERR_OBJECT_NOT_FOUND);
    sbw_free(&sig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pkcs1),
        cmocka_unit_test(pss),
        cmocka_unit_test(ecdsa),
        cmocka_unit_test(eddsa),
        cmocka_unit_test(capability_on_both_sides),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

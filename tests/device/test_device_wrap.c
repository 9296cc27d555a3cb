/* Key wrap on the emulated device: the exact blob layout (decrypted here with
 * the known wrap key), export/import round trips for RSA, EC, Ed25519, opaque
 * and authentication keys, and every refusal. */
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
#define WRAP_ID 0x00ff

static hsm_device *dev;
static tc_session admin;
static const uint8_t wrap_key[32] = "0123456789abcdef0123456789abcdef";
static const uint64_t delegated = CAP(SIGN_PKCS) | CAP(SIGN_ECDSA) | CAP(SIGN_EDDSA) |
                                  CAP(EXPORTABLE_UNDER_WRAP) | CAP(GET_OPAQUE);

static int put_wrap(tc_session *s, uint16_t id, uint64_t caps, uint64_t deleg, uint8_t algo,
                    const uint8_t *key, size_t n)
{
    sb_wr w;
    sbw_init(&w, 256);
    tc_attrs a = {.id = id, .label = "wrap", .domains = 0xffff, .caps = caps, .algorithm = algo};
    tc_put_hdr(&w, &a);
    sbw_u64(&w, deleg);
    sbw_put(&w, key, n);
    int rc = tc_cmd(s, YH_CMD_PUT_WRAP_KEY, w.p, w.len, NULL);
    sbw_free(&w);
    return rc;
}

static int setup(void **state)
{
    dev = tc_device(NULL, NULL);
    if (!dev || tc_open(dev, 1, "password", &admin))
        return -1;
    return put_wrap(&admin, WRAP_ID, CAP(EXPORT_WRAPPED) | CAP(IMPORT_WRAPPED), delegated,
                    YH_ALGO_AES256_CCM_WRAP, wrap_key, 32);
}

static int teardown(void **state)
{
    hsm_device_free(dev);
    return 0;
}

static int export(tc_session *s, uint16_t wid, uint8_t type, uint16_t id, int format, sb_wr *blob)
{
    uint8_t req[6];
    put_be16(req, wid);
    req[2] = type;
    put_be16(req + 3, id);
    req[5] = (uint8_t)format;
    sbw_reset(blob);
    return tc_cmd(s, YH_CMD_EXPORT_WRAPPED, req, format < 0 ? 5 : 6, blob);
}

static int import(tc_session *s, uint16_t wid, const sb_wr *blob, uint8_t *type, uint16_t *id)
{
    sb_wr w, r;
    sbw_init(&w, YH_MAX_FRAME);
    sbw_init(&r, 16);
    sbw_u16(&w, wid);
    sbw_put(&w, blob->p, blob->len);
    int rc = tc_cmd(s, YH_CMD_IMPORT_WRAPPED, w.p, w.len, &r);
    if (!rc) {
        assert_int_equal(r.len, 3);
        *type = r.p[0];
        *id = be16(r.p + 1);
    }
    sbw_free(&w);
    sbw_free(&r);
    return rc;
}

/* Decrypts a blob with the test's copy of the wrap key and checks the header. */
static void open_blob(const sb_wr *blob, uint8_t type, uint16_t id, uint8_t algo, sb_wr *body)
{
    sb_wr pt;
    sbw_init_secure(&pt, YH_MAX_FRAME);
    assert_int_equal(yh_ccm_open(wrap_key, 32, blob->p, blob->len, &pt), SIGNET_OK);
    assert_true(pt.len > YH_WRAP_HEADER_LEN);
    assert_int_equal(pt.p[0], YH_ALGO_AES256_CCM_WRAP);
    assert_int_equal(be16(pt.p + 9), id);
    assert_int_equal(be16(pt.p + 11), pt.len - YH_WRAP_HEADER_LEN);
    assert_int_equal(pt.p[15], type);
    assert_int_equal(pt.p[16], algo);
    sbw_put(body, pt.p + YH_WRAP_HEADER_LEN, pt.len - YH_WRAP_HEADER_LEN);
    sbw_free(&pt);
}

static void put_bn(EVP_PKEY *pk, const char *name, int width, sb_wr *w)
{
    BIGNUM *b = NULL;
    uint8_t buf[512];
    assert_int_equal(EVP_PKEY_get_bn_param(pk, name, &b), 1);
    BN_bn2binpad(b, buf, width);
    sbw_put(w, buf, (size_t)width);
    BN_free(b);
}

static void rsa_layout_and_roundtrip(void **state)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    sb_wr expect, body, blob, put;
    sbw_init(&expect, 4096);
    sbw_init(&body, 4096);
    sbw_init(&blob, 4096);
    sbw_init(&put, 4096);
    put_bn(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, 128, &expect);
    put_bn(pk, OSSL_PKEY_PARAM_RSA_FACTOR2, 128, &expect);
    tc_attrs a = {.id = 0x0100, .label = "platform", .domains = 1,
                  .caps = CAP(SIGN_PKCS) | CAP(EXPORTABLE_UNDER_WRAP),
                  .algorithm = YH_ALGO_RSA_2048};
    tc_put_hdr(&put, &a);
    sbw_put(&put, expect.p, 256);
    /* put, delete, put again: sequence 1 goes into the blob */
    assert_int_equal(tc_cmd(&admin, YH_CMD_PUT_ASYMMETRIC_KEY, put.p, put.len, NULL), 0);
    assert_int_equal(tc_delete(&admin, 0x0100, YH_TYPE_ASYMMETRIC_KEY), 0);
    assert_int_equal(tc_cmd(&admin, YH_CMD_PUT_ASYMMETRIC_KEY, put.p, put.len, NULL), 0);

    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0100, -1, &blob), 0);
    assert_int_equal(blob.len, 13 + 59 + 896 + 16);
    open_blob(&blob, YH_TYPE_ASYMMETRIC_KEY, 0x0100, YH_ALGO_RSA_2048, &body);
    put_bn(pk, OSSL_PKEY_PARAM_RSA_EXPONENT1, 128, &expect);
    put_bn(pk, OSSL_PKEY_PARAM_RSA_EXPONENT2, 128, &expect);
    put_bn(pk, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 128, &expect);
    put_bn(pk, OSSL_PKEY_PARAM_RSA_N, 256, &expect);
    assert_int_equal(body.len, 896);
    assert_memory_equal(body.p, expect.p, 896);
    /* two exports use fresh nonces */
    sb_wr blob2;
    sbw_init(&blob2, 4096);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0100, 0, &blob2), 0);
    assert_memory_not_equal(blob.p, blob2.p, 13);

    /* import while it exists: refused; after delete: back with origin | 0x10 */
    uint8_t type;
    uint16_t id;
    assert_int_equal(import(&admin, WRAP_ID, &blob, &type, &id), YH_ERR_OBJECT_EXISTS);
    assert_int_equal(tc_delete(&admin, 0x0100, YH_TYPE_ASYMMETRIC_KEY), 0);
    assert_int_equal(import(&admin, WRAP_ID, &blob, &type, &id), 0);
    assert_int_equal(type, YH_TYPE_ASYMMETRIC_KEY);
    assert_int_equal(id, 0x0100);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&admin, 0x0100, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
    assert_int_equal(oi.origin, YH_ORIGIN_IMPORTED | YH_ORIGIN_IMPORTED_WRAPPED);
    assert_int_equal(oi.sequence, 2); /* the blob's (1), incremented by the import */
    assert_string_equal(oi.label, "platform");
    assert_int_equal(oi.capabilities, a.caps);
    assert_int_equal(oi.domains, 1);
    /* and it signs with the same key */
    uint8_t req[2 + 32] = {0x01, 0x00};
    SHA256((const uint8_t *)"apk", 3, req + 2);
    sb_wr sig;
    sbw_init(&sig, 1024);
    assert_int_equal(tc_cmd(&admin, YH_CMD_SIGN_PKCS1, req, sizeof req, &sig), 0);
    EVP_PKEY_CTX *v = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    assert_int_equal(EVP_PKEY_verify_init(v), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(v, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_verify(v, sig.p, sig.len, req + 2, 32), 1);
    EVP_PKEY_CTX_free(v);

    /* a damaged blob, or the blob under another wrap key, is invalid data */
    assert_int_equal(tc_delete(&admin, 0x0100, YH_TYPE_ASYMMETRIC_KEY), 0);
    blob.p[40] ^= 1;
    assert_int_equal(import(&admin, WRAP_ID, &blob, &type, &id), YH_ERR_INVALID_DATA);
    blob.p[40] ^= 1;
    uint8_t other[16] = "another wrapkey";
    assert_int_equal(put_wrap(&admin, 0x00fe, CAP(IMPORT_WRAPPED), delegated,
                              YH_ALGO_AES128_CCM_WRAP, other, 16), 0);
    assert_int_equal(import(&admin, 0x00fe, &blob, &type, &id), YH_ERR_INVALID_DATA);
    assert_int_equal(tc_delete(&admin, 0x00fe, YH_TYPE_WRAP_KEY), 0);
    EVP_PKEY_free(pk);
    sbw_free(&expect);
    sbw_free(&body);
    sbw_free(&blob);
    sbw_free(&blob2);
    sbw_free(&put);
    sbw_free(&sig);
}

static void ec_and_opaque_roundtrip(void **state)
{
    tc_attrs a = {.id = 0x0200, .domains = 1, .caps = CAP(SIGN_ECDSA) | CAP(EXPORTABLE_UNDER_WRAP),
                  .algorithm = YH_ALGO_EC_P384};
    uint16_t id;
    uint8_t type;
    assert_int_equal(tc_generate(&admin, &a, &id), 0);
    sb_wr blob, body, pub;
    sbw_init(&blob, 4096);
    sbw_init(&body, 4096);
    sbw_init(&pub, 4096);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0200, -1, &blob), 0);
    open_blob(&blob, YH_TYPE_ASYMMETRIC_KEY, 0x0200, YH_ALGO_EC_P384, &body);
    assert_int_equal(body.len, 48 * 3);
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PUBLIC_KEY, (const uint8_t *)"\x02\x00", 2, &pub),
                     0);
    assert_memory_equal(body.p + 48, pub.p + 1, 96); /* d | X | Y */
    assert_int_equal(tc_delete(&admin, 0x0200, YH_TYPE_ASYMMETRIC_KEY), 0);
    assert_int_equal(import(&admin, WRAP_ID, &blob, &type, &id), 0);
    sbw_reset(&body);
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PUBLIC_KEY, (const uint8_t *)"\x02\x00", 2, &body),
                     0);
    assert_memory_equal(body.p, pub.p, pub.len);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&admin, 0x0200, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
    assert_int_equal(oi.origin, YH_ORIGIN_GENERATED | YH_ORIGIN_IMPORTED_WRAPPED);

    tc_attrs o = {.id = 0x0201, .label = "cert", .domains = 1,
                  .caps = CAP(EXPORTABLE_UNDER_WRAP), .algorithm = YH_ALGO_OPAQUE_X509_CERTIFICATE};
    assert_int_equal(tc_put_opaque(&admin, &o, (const uint8_t *)"certificate", 11, &id), 0);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_OPAQUE, 0x0201, -1, &blob), 0);
    sbw_reset(&body);
    open_blob(&blob, YH_TYPE_OPAQUE, 0x0201, YH_ALGO_OPAQUE_X509_CERTIFICATE, &body);
    assert_int_equal(body.len, 11);
    assert_int_equal(tc_delete(&admin, 0x0201, YH_TYPE_OPAQUE), 0);
    assert_int_equal(import(&admin, WRAP_ID, &blob, &type, &id), 0);
    assert_int_equal(type, YH_TYPE_OPAQUE);
    sbw_reset(&body);
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_OPAQUE, (const uint8_t *)"\x02\x01", 2, &body), 0);
    assert_memory_equal(body.p, "certificate", 11);
    sbw_free(&blob);
    sbw_free(&body);
    sbw_free(&pub);
}

static void ed25519_layout(void **state)
{
    static const uint8_t seed[32] = {
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
        0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
    static const uint8_t pub[32] = {
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
        0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a};
    sb_wr w, blob, body;
    sbw_init(&w, 256);
    sbw_init(&blob, 4096);
    sbw_init(&body, 4096);
    tc_attrs a = {.id = 0x0300, .domains = 1, .caps = CAP(SIGN_EDDSA) | CAP(EXPORTABLE_UNDER_WRAP),
                  .algorithm = YH_ALGO_EC_ED25519};
    tc_put_hdr(&w, &a);
    sbw_put(&w, seed, 32);
    assert_int_equal(tc_cmd(&admin, YH_CMD_PUT_ASYMMETRIC_KEY, w.p, w.len, NULL), 0);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0300, -1, &blob), 0);
    open_blob(&blob, YH_TYPE_ASYMMETRIC_KEY, 0x0300, YH_ALGO_EC_ED25519, &body);
    assert_int_equal(body.len, 96);
    uint8_t h[64];
    SHA512(seed, 32, h);
    h[0] &= 248;
    h[31] = (uint8_t)((h[31] & 127) | 64);
    for (int i = 0; i < 32; i++)
        assert_int_equal(body.p[i], h[31 - i]); /* clamped scalar, byte-reversed */
    assert_memory_equal(body.p + 32, h + 32, 32);
    assert_memory_equal(body.p + 64, pub, 32);

    /* format 1 adds the seed; an import of it signs again */
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0300, 1, &blob), 0);
    sbw_reset(&body);
    open_blob(&blob, YH_TYPE_ASYMMETRIC_KEY, 0x0300, YH_ALGO_EC_ED25519, &body);
    assert_int_equal(body.len, 128);
    assert_memory_equal(body.p + 96, seed, 32);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0300, 2, &body),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(tc_delete(&admin, 0x0300, YH_TYPE_ASYMMETRIC_KEY), 0);
    uint8_t type;
    uint16_t id;
    assert_int_equal(import(&admin, WRAP_ID, &blob, &type, &id), 0);
    sb_wr sig;
    sbw_init(&sig, 128);
    assert_int_equal(tc_cmd(&admin, YH_CMD_SIGN_EDDSA, (const uint8_t *)"\x03\x00", 2, &sig), 0);
    assert_int_equal(sig.p[0], 0xe5); /* RFC 8032 test 1 */
    sbw_free(&w);
    sbw_free(&blob);
    sbw_free(&body);
    sbw_free(&sig);
}

static void refusals(void **state)
{
    sb_wr blob;
    sbw_init(&blob, 4096);
    uint16_t id;
    /* not exportable under wrap */
    tc_attrs a = {.id = 0x0400, .domains = 1, .caps = CAP(SIGN_ECDSA), .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(tc_generate(&admin, &a, &id), 0);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0400, -1, &blob),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* capabilities beyond the wrap key's delegated set (sign-pss) */
    a.id = 0x0401;
    a.caps = CAP(SIGN_ECDSA) | CAP(SIGN_PSS) | CAP(EXPORTABLE_UNDER_WRAP);
    assert_int_equal(tc_generate(&admin, &a, &id), 0);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0401, -1, &blob),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* the wrap key itself lacks export-wrapped */
    uint8_t k[16] = {1};
    assert_int_equal(put_wrap(&admin, 0x00fd, CAP(IMPORT_WRAPPED), delegated | CAP(SIGN_PSS),
                              YH_ALGO_AES128_CCM_WRAP, k, 16), 0);
    assert_int_equal(export(&admin, 0x00fd, YH_TYPE_ASYMMETRIC_KEY, 0x0401, -1, &blob),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* no such object / wrap key */
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0999, -1, &blob),
                     YH_ERR_OBJECT_NOT_FOUND);
    assert_int_equal(export(&admin, 0x0999, YH_TYPE_ASYMMETRIC_KEY, 0x0401, -1, &blob),
                     YH_ERR_OBJECT_NOT_FOUND);
    /* wrap key of the wrong length for its algorithm */
    assert_int_equal(put_wrap(&admin, 0x00fc, CAP(IMPORT_WRAPPED), 0, YH_ALGO_AES256_CCM_WRAP, k,
                              16), YH_ERR_INVALID_DATA);
    /* a session key without export-wrapped */
    tc_attrs op = {.id = 0x0050, .domains = 1, .caps = CAP(IMPORT_WRAPPED)};
    assert_int_equal(tc_put_auth_key(&admin, &op, delegated, "imp"), 0);
    tc_session s;
    assert_int_equal(tc_open(dev, 0x0050, "imp", &s), 0);
    a.id = 0x0402;
    a.caps = CAP(SIGN_ECDSA) | CAP(EXPORTABLE_UNDER_WRAP);
    assert_int_equal(tc_generate(&admin, &a, &id), 0);
    assert_int_equal(export(&s, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0402, -1, &blob),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, 0x0402, -1, &blob), 0);
    assert_int_equal(tc_delete(&admin, 0x0402, YH_TYPE_ASYMMETRIC_KEY), 0);
    /* importing needs only import-wrapped; a truncated blob is refused */
    uint8_t type;
    sb_wr cut = blob;
    cut.len = 40;
    assert_int_equal(import(&s, WRAP_ID, &cut, &type, &id), YH_ERR_WRONG_LENGTH);
    assert_int_equal(import(&s, WRAP_ID, &blob, &type, &id), 0);
    sbw_free(&blob);
}

static void generated_wrap_key(void **state)
{
    sb_wr w, blob;
    sbw_init(&w, 256);
    sbw_init(&blob, 4096);
    tc_attrs a = {.id = 0x0600, .domains = 1, .caps = CAP(EXPORT_WRAPPED) | CAP(IMPORT_WRAPPED),
                  .algorithm = YH_ALGO_AES128_CCM_WRAP};
    tc_put_hdr(&w, &a);
    sbw_u64(&w, delegated);
    assert_int_equal(tc_cmd(&admin, YH_CMD_GENERATE_WRAP_KEY, w.p, w.len, NULL), 0);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&admin, 0x0600, YH_TYPE_WRAP_KEY, &oi), 0);
    assert_int_equal(oi.origin, YH_ORIGIN_GENERATED);
    assert_int_equal(oi.delegated_capabilities, delegated);
    assert_int_equal(oi.len, 24);
    tc_attrs o = {.id = 0x0601, .domains = 1, .caps = CAP(EXPORTABLE_UNDER_WRAP),
                  .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    uint8_t type;
    assert_int_equal(tc_put_opaque(&admin, &o, (const uint8_t *)"d", 1, &id), 0);
    assert_int_equal(export(&admin, 0x0600, YH_TYPE_OPAQUE, 0x0601, -1, &blob), 0);
    assert_int_equal(tc_delete(&admin, 0x0601, YH_TYPE_OPAQUE), 0);
    assert_int_equal(import(&admin, 0x0600, &blob, &type, &id), 0);
    /* a wrap key that is not exportable under wrap stays in */
    assert_int_equal(export(&admin, WRAP_ID, YH_TYPE_WRAP_KEY, 0x0600, -1, &blob),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    sbw_free(&w);
    sbw_free(&blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_layout_and_roundtrip),
        cmocka_unit_test(ec_and_opaque_roundtrip),
        cmocka_unit_test(ed25519_layout),
        cmocka_unit_test(refusals),
        cmocka_unit_test(generated_wrap_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

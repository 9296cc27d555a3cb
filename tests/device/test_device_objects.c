/* The object store: put/generate/get/list/delete, capabilities, delegated
 * capabilities, domains, sequence numbers, storage limits (pages and the 256
 * records), public keys matching the private keys that were put. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "dev_client.h"

#define CAP(x) YH_CAP(YH_CAP_##x)

static hsm_device *dev;
static tc_session admin;

static int setup(void **state)
{
    dev = tc_device(NULL, NULL);
    return dev && tc_open(dev, 1, "password", &admin) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    hsm_device_free(dev);
    return 0;
}

static int storage(tc_session *s, uint16_t *free_records, uint16_t *free_pages)
{
    sb_wr r;
    sbw_init(&r, 64);
    int rc = tc_cmd(s, YH_CMD_GET_STORAGE_INFO, NULL, 0, &r);
    if (!rc) {
        *free_records = be16(r.p + 2);
        *free_pages = be16(r.p + 6);
    }
    sbw_free(&r);
    return rc;
}

static int list(tc_session *s, const uint8_t *filter, size_t len, sb_wr *r)
{
    sbw_reset(r);
    return tc_cmd(s, YH_CMD_LIST_OBJECTS, filter, len, r);
}

static void opaque_roundtrip_and_sequence(void **state)
{
    tc_attrs a = {.id = 0x0100, .label = "cert", .domains = 1, .caps = 0,
                  .algorithm = YH_ALGO_OPAQUE_X509_CERTIFICATE};
    uint16_t id;
    assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"DERDATA", 7, &id), 0);
    assert_int_equal(id, 0x0100);
    assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"x", 1, &id),
                     YH_ERR_OBJECT_EXISTS);
    sb_wr r;
    sbw_init(&r, 4096);
    uint8_t req[2] = {0x01, 0x00};
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_OPAQUE, req, 2, &r), 0);
    assert_int_equal(r.len, 7);
    assert_memory_equal(r.p, "DERDATA", 7);

    yh_object_info oi;
    assert_int_equal(tc_get_info(&admin, 0x0100, YH_TYPE_OPAQUE, &oi), 0);
    assert_int_equal(oi.len, 7);
    assert_int_equal(oi.sequence, 0);
    assert_int_equal(oi.origin, YH_ORIGIN_IMPORTED);
    assert_string_equal(oi.label, "cert");

    /* Delete, then put again: the sequence counts the previous life. */
    assert_int_equal(tc_delete(&admin, 0x0100, YH_TYPE_OPAQUE), 0);
    assert_int_equal(tc_get_info(&admin, 0x0100, YH_TYPE_OPAQUE, &oi), YH_ERR_OBJECT_NOT_FOUND);
    assert_int_equal(tc_delete(&admin, 0x0100, YH_TYPE_OPAQUE), YH_ERR_OBJECT_NOT_FOUND);
    assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"again", 5, &id), 0);
    assert_int_equal(tc_get_info(&admin, 0x0100, YH_TYPE_OPAQUE, &oi), 0);
    assert_int_equal(oi.sequence, 1);
    assert_int_equal(tc_delete(&admin, 0x0100, YH_TYPE_OPAQUE), 0);

    /* Id 0: the device picks one. */
    a.id = 0;
    assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"z", 1, &id), 0);
    assert_int_not_equal(id, 0);
    assert_int_equal(tc_delete(&admin, id, YH_TYPE_OPAQUE), 0);
    /* Bad algorithm and empty data. */
    a.algorithm = YH_ALGO_RSA_2048;
    assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"z", 1, &id),
                     YH_ERR_INVALID_DATA);
    a.algorithm = YH_ALGO_OPAQUE_DATA;
    assert_int_equal(tc_put_opaque(&admin, &a, NULL, 0, &id), YH_ERR_INVALID_DATA);
    sbw_free(&r);
}

static void capabilities_domains_delegation(void **state)
{
    /* An operator key in domain 2 that may put opaque objects but not delete
     * them, and may hand out only get-opaque and exportable-under-wrap. */
    tc_attrs op = {.id = 0x0020, .label = "operator", .domains = 2,
                   .caps = CAP(PUT_OPAQUE) | CAP(GET_OPAQUE)};
    assert_int_equal(tc_put_auth_key(&admin, &op, CAP(GET_OPAQUE) | CAP(EXPORTABLE_UNDER_WRAP),
                                     "op-secret"), 0);
    tc_session s;
    assert_int_equal(tc_open(dev, 0x0020, "op-secret", &s), 0);

    uint16_t id;
    tc_attrs a = {.id = 0x0200, .domains = 2, .caps = CAP(GET_OPAQUE),
                  .algorithm = YH_ALGO_OPAQUE_DATA};
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"d2", 2, &id), 0);
    /* capabilities beyond the key's delegated set */
    a.id = 0x0201;
    a.caps = CAP(SIGN_PKCS);
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"x", 1, &id),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* a domain the key does not have */
    a.caps = 0;
    a.domains = 3;
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"x", 1, &id),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* no domain at all */
    a.domains = 0;
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"x", 1, &id), YH_ERR_INVALID_DATA);
    /* missing capability on the session key: delete, generate, put auth key */
    assert_int_equal(tc_delete(&s, 0x0200, YH_TYPE_OPAQUE), YH_ERR_INSUFFICIENT_PERMISSIONS);
    tc_attrs k = {.id = 0x0300, .domains = 2, .caps = 0, .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(tc_generate(&s, &k, &id), YH_ERR_INSUFFICIENT_PERMISSIONS);
    assert_int_equal(tc_put_auth_key(&s, &op, 0, "x"), YH_ERR_INSUFFICIENT_PERMISSIONS);
    uint8_t rnd[2] = {0, 16};
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_PSEUDO_RANDOM, rnd, 2, NULL),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);

    /* Foreign domain: an object in domain 1 is invisible to this key. */
    tc_attrs d1 = {.id = 0x0400, .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    assert_int_equal(tc_put_opaque(&admin, &d1, (const uint8_t *)"d1", 2, &id), 0);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 0x0400, YH_TYPE_OPAQUE, &oi), YH_ERR_OBJECT_NOT_FOUND);
    uint8_t req[2] = {0x04, 0x00};
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPAQUE, req, 2, NULL), YH_ERR_OBJECT_NOT_FOUND);
    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(list(&s, NULL, 0, &r), 0);
    for (size_t i = 0; i < r.len; i += 4)
        assert_int_not_equal(be16(r.p + i), 0x0400);
    /* while the admin (all domains) sees both */
    assert_int_equal(list(&admin, (const uint8_t *)"\x02\x01", 2, &r), 0);
    assert_int_equal(r.len, 8);

    assert_int_equal(tc_delete(&admin, 0x0400, YH_TYPE_OPAQUE), 0);
    assert_int_equal(tc_delete(&admin, 0x0200, YH_TYPE_OPAQUE), 0);
    assert_int_equal(tc_delete(&admin, 0x0020, YH_TYPE_AUTHENTICATION_KEY), 0);
    /* the deleted key's session can no longer do anything */
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"x", 1, &id),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    sbw_free(&r);
}

static void list_filters(void **state)
{
    uint16_t id;
    tc_attrs a = {.id = 0x0500, .label = "alpha", .domains = 4, .caps = CAP(EXPORTABLE_UNDER_WRAP),
                  .algorithm = YH_ALGO_OPAQUE_DATA};
    assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"1", 1, &id), 0);
    tc_attrs b = {.id = 0x0501, .label = "beta", .domains = 8, .caps = CAP(SIGN_ECDSA),
                  .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(tc_generate(&admin, &b, &id), 0);
    sb_wr r;
    sbw_init(&r, 4096);
    /* by id */
    assert_int_equal(list(&admin, (const uint8_t *)"\x01\x05\x01", 3, &r), 0);
    assert_int_equal(r.len, 4);
    assert_int_equal(r.p[2], YH_TYPE_ASYMMETRIC_KEY);
    /* by domains (the factory key is in every domain) */
    assert_int_equal(list(&admin, (const uint8_t *)"\x03\x00\x04", 3, &r), 0);
    assert_int_equal(r.len, 8);
    assert_int_equal(be16(r.p), 0x0001);
    assert_int_equal(be16(r.p + 4), 0x0500);
    /* by capability and type (the factory key has every capability) */
    uint8_t f[11] = {0x04};
    put_be64(f + 1, CAP(SIGN_ECDSA));
    f[9] = 0x02;
    f[10] = YH_TYPE_ASYMMETRIC_KEY;
    assert_int_equal(list(&admin, f, 11, &r), 0);
    assert_int_equal(r.len, 4);
    assert_int_equal(be16(r.p), 0x0501);
    /* by algorithm */
    assert_int_equal(list(&admin, (const uint8_t *)"\x05\x0c", 2, &r), 0);
    assert_int_equal(r.len, 4);
    /* by label */
    uint8_t lf[41] = {0x06};
    yh_label_encode("alpha", lf + 1);
    assert_int_equal(list(&admin, lf, 41, &r), 0);
    assert_int_equal(r.len, 4);
    assert_int_equal(be16(r.p), 0x0500);
    /* combined (id of one, type of the other): nothing */
    assert_int_equal(list(&admin, (const uint8_t *)"\x01\x05\x00\x02\x03", 5, &r), 0);
    assert_int_equal(r.len, 0);
    /* malformed filters */
    assert_int_equal(list(&admin, (const uint8_t *)"\x09\x00", 2, &r), YH_ERR_INVALID_DATA);
    assert_int_equal(list(&admin, (const uint8_t *)"\x01\x05", 2, &r), YH_ERR_WRONG_LENGTH);
    assert_int_equal(tc_delete(&admin, 0x0500, YH_TYPE_OPAQUE), 0);
    assert_int_equal(tc_delete(&admin, 0x0501, YH_TYPE_ASYMMETRIC_KEY), 0);
    sbw_free(&r);
}

/* p | q of a fresh RSA key, and the key. */
static EVP_PKEY *rsa_pq(int bits, uint8_t *pq)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    BIGNUM *p = NULL, *q = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, &p), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_FACTOR2, &q), 1);
    BN_bn2binpad(p, pq, bits / 16);
    BN_bn2binpad(q, pq + bits / 16, bits / 16);
    BN_free(p);
    BN_free(q);
    return pk;
}

static int put_rsa(tc_session *s, uint16_t id, uint8_t algo, const uint8_t *pq, size_t n)
{
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    tc_attrs a = {.id = id, .domains = 1, .caps = CAP(SIGN_PKCS), .algorithm = algo};
    tc_put_hdr(&w, &a);
    sbw_put(&w, pq, n);
    int rc = tc_cmd(s, YH_CMD_PUT_ASYMMETRIC_KEY, w.p, w.len, NULL);
    sbw_free(&w);
    return rc;
}

static void put_rsa_public_key_and_storage_full(void **state)
{
    uint8_t pq[256];
    EVP_PKEY *pk = rsa_pq(2048, pq);
    assert_int_equal(put_rsa(&admin, 0x1000, YH_ALGO_RSA_2048, pq, 256), 0);
    /* the public key is the modulus of what was put */
    sb_wr r;
    sbw_init(&r, 4096);
    uint8_t req[2] = {0x10, 0x00};
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PUBLIC_KEY, req, 2, &r), 0);
    assert_int_equal(r.len, 1 + 256);
    assert_int_equal(r.p[0], YH_ALGO_RSA_2048);
    BIGNUM *n = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    uint8_t nb[256];
    BN_bn2binpad(n, nb, 256);
    assert_memory_equal(r.p + 1, nb, 256);
    BN_free(n);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&admin, 0x1000, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
    assert_int_equal(oi.len, 896);
    assert_int_equal(oi.origin, YH_ORIGIN_IMPORTED);

    /* Corrupted key material is refused: a damaged factor, wrong length or
     * algorithm. */
    uint8_t bad[256];
    memcpy(bad, pq, 256);
    bad[255] ^= 2;
    assert_int_equal(put_rsa(&admin, 0x1001, YH_ALGO_RSA_2048, bad, 256), YH_ERR_INVALID_DATA);
    assert_int_equal(put_rsa(&admin, 0x1001, YH_ALGO_RSA_2048, pq, 254), YH_ERR_INVALID_DATA);
    assert_int_equal(put_rsa(&admin, 0x1001, YH_ALGO_RSA_3072, pq, 256), YH_ERR_INVALID_DATA);

    /* RSA-2048 takes 8 pages: with the factory key 127 fit (Yubico's figure),
     * then storage fails although records are left. */
    uint16_t fr, fp;
    for (uint16_t i = 1; i < 127; i++)
        assert_int_equal(put_rsa(&admin, (uint16_t)(0x1000 + i), YH_ALGO_RSA_2048, pq, 256), 0);
    assert_int_equal(storage(&admin, &fr, &fp), 0);
    assert_int_equal(fr, 256 - 128);
    assert_int_equal(fp, 1024 - 1 - 127 * 8);
    assert_int_equal(put_rsa(&admin, 0x1100, YH_ALGO_RSA_2048, pq, 256),
                     YH_ERR_STORAGE_FAILED);
    /* small objects still fit in the last pages */
    tc_attrs small = {.id = 0x1101, .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    assert_int_equal(tc_put_opaque(&admin, &small, (const uint8_t *)"s", 1, &id), 0);
    assert_int_equal(tc_delete(&admin, 0x1101, YH_TYPE_OPAQUE), 0);
    for (uint16_t i = 0; i < 127; i++)
        assert_int_equal(tc_delete(&admin, (uint16_t)(0x1000 + i), YH_TYPE_ASYMMETRIC_KEY), 0);
    assert_int_equal(storage(&admin, &fr, &fp), 0);
    assert_int_equal(fr, 255);
    assert_int_equal(fp, 1023);
    EVP_PKEY_free(pk);
    sbw_free(&r);
}

static void record_limit(void **state)
{
    /* 255 one-page objects next to the factory key fill the 256 records. */
    tc_attrs a = {.domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    for (uint16_t i = 0; i < 255; i++) {
        a.id = (uint16_t)(0x2000 + i);
        assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"r", 1, &id), 0);
    }
    a.id = 0x3000;
    assert_int_equal(tc_put_opaque(&admin, &a, (const uint8_t *)"r", 1, &id),
                     YH_ERR_STORAGE_FAILED);
    tc_attrs k = {.id = 0x3001, .domains = 1, .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(tc_generate(&admin, &k, &id), YH_ERR_STORAGE_FAILED);
    uint16_t fr, fp;
    assert_int_equal(storage(&admin, &fr, &fp), 0);
    assert_int_equal(fr, 0);
    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(list(&admin, NULL, 0, &r), 0);
    assert_int_equal(r.len, 256 * 4);
    sbw_free(&r);
    for (uint16_t i = 0; i < 255; i++)
        assert_int_equal(tc_delete(&admin, (uint16_t)(0x2000 + i), YH_TYPE_OPAQUE), 0);
}

static void generate_every_curve(void **state)
{
    static const struct { uint8_t algo; size_t pub; } curves[] = {
        {YH_ALGO_EC_P256, 64}, {YH_ALGO_EC_P384, 96}, {YH_ALGO_EC_P521, 132},
        {YH_ALGO_EC_K256, 64}, {YH_ALGO_EC_P224, 56}, {YH_ALGO_EC_BP256, 64},
        {YH_ALGO_EC_BP384, 96}, {YH_ALGO_EC_BP512, 128}, {YH_ALGO_EC_ED25519, 32},
        {YH_ALGO_RSA_2048, 256},
    };
    sb_wr r;
    sbw_init(&r, 4096);
    for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++) {
        tc_attrs a = {.id = (uint16_t)(0x4000 + i), .domains = 1, .algorithm = curves[i].algo};
        uint16_t id;
        assert_int_equal(tc_generate(&admin, &a, &id), 0);
        uint8_t req[3] = {0x40, (uint8_t)i, YH_TYPE_ASYMMETRIC_KEY};
        sbw_reset(&r);
        assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PUBLIC_KEY, req, 3, &r), 0);
        assert_int_equal(r.len, 1 + curves[i].pub);
        assert_int_equal(r.p[0], curves[i].algo);
        yh_object_info oi;
        assert_int_equal(tc_get_info(&admin, a.id, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
        assert_int_equal(oi.origin, YH_ORIGIN_GENERATED);
        assert_int_equal(oi.algorithm, curves[i].algo);
        assert_int_equal(tc_delete(&admin, a.id, YH_TYPE_ASYMMETRIC_KEY), 0);
    }
    /* not an asymmetric algorithm */
    tc_attrs bad = {.id = 0x4100, .domains = 1, .algorithm = YH_ALGO_AES128_CCM_WRAP};
    uint16_t id;
    assert_int_equal(tc_generate(&admin, &bad, &id), YH_ERR_INVALID_DATA);
    /* public key of something that is not there */
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PUBLIC_KEY, (const uint8_t *)"\x41\x00", 2, NULL),
                     YH_ERR_OBJECT_NOT_FOUND);
    sbw_free(&r);
}

static void random_and_auth_key_change(void **state)
{
    sb_wr r;
    sbw_init(&r, 4096);
    uint8_t req[2] = {0x00, 0x40};
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PSEUDO_RANDOM, req, 2, &r), 0);
    assert_int_equal(r.len, 64);
    /* more than one response can carry */
    uint8_t big[2] = {0x0c, 0x40};
    assert_int_equal(tc_cmd(&admin, YH_CMD_GET_PSEUDO_RANDOM, big, 2, NULL),
                     YH_ERR_WRONG_LENGTH);

    tc_attrs k = {.id = 0x0030, .domains = 1,
                  .caps = CAP(CHANGE_AUTHENTICATION_KEY) | CAP(GET_OPAQUE)};
    assert_int_equal(tc_put_auth_key(&admin, &k, 0, "old"), 0);
    tc_session s;
    assert_int_equal(tc_open(dev, 0x0030, "old", &s), 0);
    yh_static_keys nk;
    yh_derive_password_keys("new", 3, &nk);
    uint8_t msg[3 + 32];
    put_be16(msg, 0x0030);
    msg[2] = YH_ALGO_AES128_YUBICO_AUTHENTICATION;
    memcpy(msg + 3, nk.enc, 16);
    memcpy(msg + 19, nk.mac, 16);
    /* someone else's key: invalid id, as the device answers */
    put_be16(msg, 0x0001);
    assert_int_equal(tc_cmd(&s, YH_CMD_CHANGE_AUTHENTICATION_KEY, msg, sizeof msg, NULL),
                     YH_ERR_INVALID_ID);
    put_be16(msg, 0x0030);
    msg[2] = YH_ALGO_EC_P256_YUBICO_AUTHENTICATION;
    assert_int_equal(tc_cmd(&s, YH_CMD_CHANGE_AUTHENTICATION_KEY, msg, sizeof msg, NULL),
                     YH_ERR_INVALID_DATA);
    msg[2] = YH_ALGO_AES128_YUBICO_AUTHENTICATION;
    sbw_reset(&r);
    assert_int_equal(tc_cmd(&s, YH_CMD_CHANGE_AUTHENTICATION_KEY, msg, sizeof msg, &r), 0);
    assert_int_equal(be16(r.p), 0x0030);
    tc_session s2;
    assert_int_equal(tc_open(dev, 0x0030, "old", &s2), TC_OUTER | YH_ERR_AUTHENTICATION_FAILED);
    assert_int_equal(tc_open(dev, 0x0030, "new", &s2), 0);
    /* the session that changed it keeps working */
    assert_int_equal(tc_cmd(&s, YH_CMD_ECHO, (const uint8_t *)"e", 1, NULL), 0);
    assert_int_equal(tc_delete(&admin, 0x0030, YH_TYPE_AUTHENTICATION_KEY), 0);
    sbw_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opaque_roundtrip_and_sequence),
        cmocka_unit_test(capabilities_domains_delegation),
        cmocka_unit_test(list_filters),
        cmocka_unit_test(put_rsa_public_key_and_storage_full),
        cmocka_unit_test(record_limit),
        cmocka_unit_test(generate_every_curve),
        cmocka_unit_test(random_and_auth_key_change),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

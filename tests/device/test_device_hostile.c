/* A hostile authenticated client next to an honest one, in the device core.
 * (tests/hsmd covers hostile HTTP clients: garbage frames and half-finished
 * requests against the daemon.)  Here the garbage is sent inside a valid
 * session, so it reaches every command handler, the new ones included: every
 * command code with random data of random lengths, interleaved with an honest
 * session that signs with EC and RSA keys.  Every answer must be a well-formed,
 * verifiable frame, and every honest signature must verify.  Deterministic:
 * a fixed seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "dev_client.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static EVP_PKEY *public_key(tc_session *s, uint16_t id)
{
    uint8_t req[2];
    put_be16(req, id);
    sb_wr r;
    sbw_init(&r, 1024);
    assert_int_equal(tc_cmd(s, YH_CMD_GET_PUBLIC_KEY, req, 2, &r), 0);
    EVP_PKEY *k = NULL;
    if (r.p[0] == YH_ALGO_EC_P256) {
        uint8_t pt[65] = {0x04};
        memcpy(pt + 1, r.p + 1, 64);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string("group", (char *)"prime256v1", 0),
            OSSL_PARAM_construct_octet_string("pub", pt, 65), OSSL_PARAM_construct_end()};
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
        EVP_PKEY_CTX_free(ctx);
    } else {
        BIGNUM *n = BN_bin2bn(r.p + 1, (int)r.len - 1, NULL), *e = BN_new();
        BN_set_word(e, 65537);
        OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
        OSSL_PARAM_BLD_push_BN(b, "n", n);
        OSSL_PARAM_BLD_push_BN(b, "e", e);
        OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
        assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
        assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
        OSSL_PARAM_BLD_free(b);
        BN_free(n);
        BN_free(e);
    }
    sbw_free(&r);
    return k;
}

static void honest_sign(tc_session *s, uint16_t id, uint8_t cmd, EVP_PKEY *pub, unsigned round)
{
    uint8_t digest[32], req[2 + 32];
    SHA256((const uint8_t *)&round, sizeof round, digest);
    put_be16(req, id);
    memcpy(req + 2, digest, 32);
    sb_wr sig;
    sbw_init(&sig, 1024);
    assert_int_equal(tc_cmd(s, cmd, req, sizeof req, &sig), 0);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
    if (cmd == YH_CMD_SIGN_PKCS1) {
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING);
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
    }
    assert_int_equal(EVP_PKEY_verify(ctx, sig.p, sig.len, digest, 32), 1);
    EVP_PKEY_CTX_free(ctx);
    sbw_free(&sig);
}

static void garbage_inside_a_session(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session admin, honest, hostile;
    assert_int_equal(tc_open(dev, 1, "password", &admin), 0);
    /* The honest client's keys and login, in domain 1. */
    tc_attrs ec = {.id = 0x10, .label = "ec", .domains = 1, .caps = YH_CAP(YH_CAP_SIGN_ECDSA),
                   .algorithm = YH_ALGO_EC_P256};
    tc_attrs rsa = {.id = 0x11, .label = "rsa", .domains = 1, .caps = YH_CAP(YH_CAP_SIGN_PKCS),
                    .algorithm = YH_ALGO_RSA_2048};
    assert_int_equal(tc_generate(&admin, &ec, NULL), 0);
    assert_int_equal(tc_generate(&admin, &rsa, NULL), 0);
    tc_attrs ha = {.id = 0x20, .label = "honest", .domains = 1,
                   .caps = YH_CAP(YH_CAP_SIGN_ECDSA) | YH_CAP(YH_CAP_SIGN_PKCS)};
    assert_int_equal(tc_put_auth_key(&admin, &ha, 0, "honest"), 0);
    /* The hostile client may do nearly everything in domain 2: it cannot see the
     * honest keys, and it lacks what would legitimately stop the honest client or
     * itself (reset, options that can fill a forced log, changing or deleting
     * its own login). */
    const uint64_t hostile_caps =
        YH_CAPS_ALL & ~(YH_CAP(YH_CAP_RESET_DEVICE) | YH_CAP(YH_CAP_SET_OPTION) |
                        YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY) |
                        YH_CAP(YH_CAP_DELETE_AUTHENTICATION_KEY));
    tc_attrs xa = {.id = 0x30, .label = "hostile", .domains = 2, .caps = hostile_caps};
    assert_int_equal(tc_put_auth_key(&admin, &xa, hostile_caps, "hostile"), 0);
    tc_close(&admin);
    assert_int_equal(tc_open(dev, 0x20, "honest", &honest), 0);
    assert_int_equal(tc_open(dev, 0x30, "hostile", &hostile), 0);
    EVP_PKEY *ec_pub = public_key(&honest, 0x10), *rsa_pub = public_key(&honest, 0x11);

    uint8_t data[600];
    unsigned answered = 0, refused = 0;
    for (unsigned round = 0; round < 3000; round++) {
        uint8_t cmd = (uint8_t)(round < 256 ? round : rnd());
        /* session-level commands belong outside; RSA generation is slow */
        if (cmd == YH_CMD_GENERATE_ASYMMETRIC_KEY && round % 7)
            cmd = YH_CMD_GET_OBJECT_INFO;
        size_t len = (size_t)(rnd() % 4 == 0 ? rnd() % sizeof data : rnd() % 80);
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)rnd();
        /* aim at the objects that exist half of the time */
        if (len >= 2 && rnd() % 2)
            put_be16(data, (uint16_t)(0x10 + rnd() % 0x30));
        if (cmd == YH_CMD_GENERATE_ASYMMETRIC_KEY && len >= 53)
            data[52] = YH_ALGO_EC_P256;
        int rc = tc_cmd(&hostile, cmd, data, len, NULL);
        assert_int_not_equal(rc, TC_BROKEN); /* always a verifiable answer */
        if (rc & TC_OUTER) {
            /* the hostile session ended (closed itself): log in again */
            assert_int_equal(tc_open(dev, 0x30, "hostile", &hostile), 0);
        }
        if (rc)
            refused++;
        else
            answered++;
        if (round % 50 == 0) {
            honest_sign(&honest, 0x10, YH_CMD_SIGN_ECDSA, ec_pub, round);
            if (round % 500 == 0)
                honest_sign(&honest, 0x11, YH_CMD_SIGN_PKCS1, rsa_pub, round);
        }
    }
    assert_true(answered > 0);
    assert_true(refused > 0);
    honest_sign(&honest, 0x11, YH_CMD_SIGN_PKCS1, rsa_pub, 99999);
    EVP_PKEY_free(ec_pub);
    EVP_PKEY_free(rsa_pub);
    hsm_device_free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(garbage_inside_a_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

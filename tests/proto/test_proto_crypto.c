/* Asymmetric session derivation (both sides from their own halves of two P-256
 * ECDH exchanges) and the AES-CCM wrap blobs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "signet/buf.h"
#include "signet/proto.h"

static EVP_PKEY *p256_new(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    assert_non_null(k);
    return k;
}

static void p256_pub(EVP_PKEY *k, uint8_t out[YH_EC_P256_PUB_LEN])
{
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out,
                                                     YH_EC_P256_PUB_LEN, &n),
                     1);
    assert_int_equal(n, YH_EC_P256_PUB_LEN);
    assert_int_equal(out[0], 0x04);
}

static void ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t out[32])
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
    size_t n = 32;
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_derive_init(c), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(c, peer), 1);
    assert_int_equal(EVP_PKEY_derive(c, out, &n), 1);
    assert_int_equal(n, 32);
    EVP_PKEY_CTX_free(c);
}

/* X9.63 with SHA-256 written out: block i = SHA-256(Z | i (4 bytes) | 3c 88 10). */
static void x963_by_hand(const uint8_t shsee[32], const uint8_t shsss[32], uint8_t out[64])
{
    for (uint32_t i = 1; i <= 2; i++) {
        uint8_t buf[64 + 4 + 3];
        memcpy(buf, shsee, 32);
        memcpy(buf + 32, shsss, 32);
        put_be32(buf + 64, i);
        memcpy(buf + 68, "\x3c\x88\x10", 3);
        unsigned int n;
        assert_int_equal(EVP_Digest(buf, sizeof buf, out + 32 * (i - 1), &n, EVP_sha256(), NULL),
                         1);
    }
}

static void asymmetric_session(void **state)
{
    EVP_PKEY *cli_static = p256_new(), *dev_static = p256_new();
    EVP_PKEY *cli_eph = p256_new(), *dev_eph = p256_new();
    uint8_t cli_eph_pub[65], dev_eph_pub[65];
    p256_pub(cli_eph, cli_eph_pub);
    p256_pub(dev_eph, dev_eph_pub);

    /* Each side from its own private halves. */
    uint8_t h_see[32], h_sss[32], d_see[32], d_sss[32];
    ecdh(cli_eph, dev_eph, h_see);
    ecdh(cli_static, dev_static, h_sss);
    ecdh(dev_eph, cli_eph, d_see);
    ecdh(dev_static, cli_static, d_sss);
    assert_memory_equal(h_see, d_see, 32);
    assert_memory_equal(h_sss, d_sss, 32);
    assert_memory_not_equal(h_see, h_sss, 32);

    yh_channel host, dev;
    uint8_t h_rk[16], d_rk[16], h_receipt[16], d_receipt[16];
    assert_int_equal(yh_asym_derive(h_see, h_sss, 3, h_rk, &host), SIGNET_OK);
    assert_int_equal(yh_asym_derive(d_see, d_sss, 3, d_rk, &dev), SIGNET_OK);
    assert_memory_equal(h_rk, d_rk, 16);
    assert_memory_equal(host.s_enc, dev.s_enc, 16);
    assert_memory_equal(host.s_mac, dev.s_mac, 16);
    assert_memory_equal(host.s_rmac, dev.s_rmac, 16);
    static const uint8_t one[16] = {[15] = 1};
    assert_memory_equal(host.counter, one, 16);
    assert_int_equal(host.session_id, 3);

    /* The key order: receipt key | S-ENC | S-MAC | S-RMAC. */
    uint8_t ref[64];
    x963_by_hand(h_see, h_sss, ref);
    assert_memory_equal(h_rk, ref, 16);
    assert_memory_equal(host.s_enc, ref + 16, 16);
    assert_memory_equal(host.s_mac, ref + 32, 16);
    assert_memory_equal(host.s_rmac, ref + 48, 16);

    /* The receipt: CMAC(receipt key, device ephemeral | client ephemeral). */
    assert_int_equal(yh_asym_receipt(d_rk, dev_eph_pub, cli_eph_pub, d_receipt), SIGNET_OK);
    assert_int_equal(yh_asym_receipt(h_rk, dev_eph_pub, cli_eph_pub, h_receipt), SIGNET_OK);
    assert_memory_equal(h_receipt, d_receipt, 16);
    const uint8_t *parts[] = {dev_eph_pub, cli_eph_pub};
    const size_t lens[] = {65, 65};
    uint8_t mac[16];
    assert_int_equal(yh_cmac(h_rk, parts, lens, 2, mac), SIGNET_OK);
    assert_memory_equal(mac, h_receipt, 16);
    /* Swapping the order gives another receipt. */
    assert_int_equal(yh_asym_receipt(h_rk, cli_eph_pub, dev_eph_pub, mac), SIGNET_OK);
    assert_memory_not_equal(mac, h_receipt, 16);

    /* The receipt is the first chain; then messages flow both ways. */
    memcpy(host.chain, h_receipt, 16);
    memcpy(dev.chain, d_receipt, 16);
    sb_wr f, in;
    sbw_init(&f, YH_MAX_FRAME);
    sbw_init_secure(&in, YH_MAX_FRAME);
    for (int i = 0; i < 3; i++) {
        uint8_t cmd[3] = {0x51, 0x00, (uint8_t)i};
        sbw_reset(&f);
        sbw_reset(&in);
        assert_int_equal(yh_channel_wrap_command(&host, cmd, 3, &f), SIGNET_OK);
        assert_int_equal(yh_channel_unwrap_command(&dev, f.p, f.len, &in), SIGNET_OK);
        assert_memory_equal(in.p, cmd, 3);
        sbw_reset(&f);
        sbw_reset(&in);
        assert_int_equal(yh_channel_wrap_response(&dev, cmd, 3, &f), SIGNET_OK);
        assert_int_equal(yh_channel_unwrap_response(&host, f.p, f.len, &in), SIGNET_OK);
        assert_memory_equal(in.p, cmd, 3);
    }
    /* A client with another static key derives other keys: the device's MAC fails. */
    EVP_PKEY *intruder = p256_new();
    uint8_t x_sss[32], x_rk[16];
    yh_channel x;
    ecdh(intruder, dev_static, x_sss);
    assert_int_equal(yh_asym_derive(h_see, x_sss, 3, x_rk, &x), SIGNET_OK);
    assert_memory_not_equal(x.s_mac, dev.s_mac, 16);
    memcpy(x.chain, dev.chain, 16);
    memcpy(x.counter, dev.counter, 16);
    sbw_reset(&f);
    sbw_reset(&in);
    assert_int_equal(yh_channel_wrap_command(&x, (const uint8_t *)"\x01\x00\x00", 3, &f), 0);
    assert_int_equal(yh_channel_unwrap_command(&dev, f.p, f.len, &in), SIGNET_E_VERIFY);

    sbw_free(&f);
    sbw_free(&in);
    EVP_PKEY_free(intruder);
    EVP_PKEY_free(cli_static);
    EVP_PKEY_free(dev_static);
    EVP_PKEY_free(cli_eph);
    EVP_PKEY_free(dev_eph);
}

static void ccm_round_trip(void **state)
{
    static const uint8_t nonce[13] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    static uint8_t key[32], pt[59 + 896];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(0x40 + i);
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i * 13);
    static const size_t key_lens[] = {16, 24, 32};
    /* Empty, tiny, a bare wrap header, an RSA-2048 key under wrap. */
    static const size_t pt_lens[] = {0, 1, 15, 59, 59 + 896};
    for (size_t k = 0; k < 3; k++)
        for (size_t p = 0; p < sizeof pt_lens / sizeof pt_lens[0]; p++) {
            size_t kl = key_lens[k], pl = pt_lens[p];
            sb_wr blob, out;
            sbw_init(&blob, 4096);
            sbw_init_secure(&out, 4096);
            assert_int_equal(yh_ccm_seal(key, kl, nonce, pt, pl, &blob), SIGNET_OK);
            assert_int_equal(blob.len, 13 + pl + 16);
            assert_memory_equal(blob.p, nonce, 13);
            if (pl >= 16)
                assert_memory_not_equal(blob.p + 13, pt, 16);
            assert_int_equal(yh_ccm_open(key, kl, blob.p, blob.len, &out), SIGNET_OK);
            assert_int_equal(out.len, pl);
            if (pl)
                assert_memory_equal(out.p, pt, pl);
            sbw_free(&blob);
            sbw_free(&out);
        }
    /* Key sizes select the AES variant: a 16-byte prefix of the key does not open
     * a blob sealed with the 32-byte key. */
    sb_wr blob, out;
    sbw_init(&blob, 4096);
    sbw_init(&out, 4096);
    assert_int_equal(yh_ccm_seal(key, 32, nonce, pt, 64, &blob), SIGNET_OK);
    assert_int_equal(yh_ccm_open(key, 16, blob.p, blob.len, &out), SIGNET_E_VERIFY);
    assert_int_equal(out.len, 0);
    sbw_free(&blob);
    sbw_free(&out);
}

static void ccm_tampered(void **state)
{
    static const uint8_t nonce[13] = {9};
    static const uint8_t key[16] = {7, 7, 7};
    static const uint8_t pt[] = "wrap key body that must stay secret";
    sb_wr blob, out;
    sbw_init(&blob, 4096);
    sbw_init_secure(&out, 4096);
    assert_int_equal(yh_ccm_seal(key, 16, nonce, pt, sizeof pt, &blob), SIGNET_OK);
    assert_int_equal(sbw_str(&out, "prefix"), SIGNET_OK);
    /* Any flipped bit: nonce, ciphertext, tag. */
    for (size_t i = 0; i < blob.len; i++) {
        blob.p[i] ^= 0x04;
        assert_int_equal(yh_ccm_open(key, 16, blob.p, blob.len, &out), SIGNET_E_VERIFY);
        assert_int_equal(out.len, 6);
        blob.p[i] ^= 0x04;
    }
    uint8_t other[16] = {7, 7, 6};
    assert_int_equal(yh_ccm_open(other, 16, blob.p, blob.len, &out), SIGNET_E_VERIFY);
    /* Truncation (a byte gone from the tag) and a blob too short to hold anything. */
    assert_int_equal(yh_ccm_open(key, 16, blob.p, blob.len - 1, &out), SIGNET_E_VERIFY);
    assert_int_equal(yh_ccm_open(key, 16, blob.p, 28, &out), SIGNET_E_PARSE);
    assert_int_equal(yh_ccm_open(key, 16, NULL, 0, &out), SIGNET_E_PARSE);
    assert_int_equal(out.len, 6);
    /* Bad key sizes are the caller's mistake. */
    assert_int_equal(yh_ccm_open(key, 15, blob.p, blob.len, &out), SIGNET_E_ARG);
    assert_int_equal(yh_ccm_seal(key, 20, nonce, pt, sizeof pt, &blob), SIGNET_E_ARG);
    /* Untouched, it still opens, appended after what was there. */
    assert_int_equal(yh_ccm_open(key, 16, blob.p, blob.len, &out), SIGNET_OK);
    assert_int_equal(out.len, 6 + sizeof pt);
    assert_memory_equal(out.p + 6, pt, sizeof pt);
    sbw_free(&blob);
    sbw_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asymmetric_session),
        cmocka_unit_test(ccm_round_trip),
        cmocka_unit_test(ccm_tampered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

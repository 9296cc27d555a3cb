/* Asymmetric session set-up (firmware 2.3+) against a scripted peer.  The peer
 * plays the device's side with OpenSSL's own X9.63 KDF and CMAC, not with the
 * protocol module, so a mistake in the client's key schedule cannot cancel out.
 * The end-to-end test against the emulator core is test_client_asymauth.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "signet/client.h"

struct peer {
    EVP_PKEY *dev_static;   /* the device's static key */
    EVP_PKEY *client_pub;   /* the authentication key (algorithm 49) */
    uint16_t auth_id;
    uint8_t major, minor;
    yh_channel ch;          /* the device side of the session */
    bool open;
};

static void point_of(EVP_PKEY *k, uint8_t out[65])
{
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &n), 1);
    assert_int_equal(n, 65);
}

static EVP_PKEY *key_from_point(const uint8_t pt[65])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, 65),
        OSSL_PARAM_construct_end()};
    EVP_PKEY *k = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
    assert_int_equal(EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static void ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t out[32])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    size_t n = 32;
    assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
    assert_int_equal(EVP_PKEY_derive_set_peer(ctx, peer), 1);
    assert_int_equal(EVP_PKEY_derive(ctx, out, &n), 1);
    EVP_PKEY_CTX_free(ctx);
}

static void x963(const uint8_t secret[64], uint8_t out[64])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    static const uint8_t info[] = {0x3c, 0x88, 0x10};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, 64),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, sizeof info),
        OSSL_PARAM_construct_end()};
    assert_int_equal(EVP_KDF_derive(ctx, out, 64, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
}

static void cmac(const uint8_t key[16], const uint8_t *p, size_t n, uint8_t out[16])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0),
        OSSL_PARAM_construct_end()};
    size_t len = 0;
    assert_int_equal(EVP_MAC_init(ctx, key, 16, params), 1);
    assert_int_equal(EVP_MAC_update(ctx, p, n), 1);
    assert_int_equal(EVP_MAC_final(ctx, out, &len, 16), 1);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
}

static void answer(uint8_t *resp, size_t *resp_len, uint8_t cmd, const uint8_t *d, size_t n)
{
    sb_wr w;
    sbw_init_fixed(&w, resp, YH_MAX_FRAME);
    assert_int_equal(yh_frame_encode(&w, cmd, d, n), SIGNET_OK);
    *resp_len = w.len;
}

static signet_rc peer_transport(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                                size_t *resp_len)
{
    struct peer *p = ctx;
    if (req[0] == YH_CMD_DEVICE_INFO) {
        uint8_t di[] = {p->major, p->minor, 0, 0, 0, 0, 42, 62, 2, YH_ALGO_EC_P256};
        answer(resp, resp_len, 0x86, di, sizeof di);
    } else if (req[0] == YH_CMD_GET_DEVICE_PUBKEY) {
        uint8_t pt[65];
        point_of(p->dev_static, pt);
        /* the device sends the algorithm in place of 04 (python-yubihsm checks 49) */
        pt[0] = YH_ALGO_EC_P256_YUBICO_AUTHENTICATION;
        answer(resp, resp_len, 0x8a, pt, sizeof pt);
    } else if (req[0] == YH_CMD_CREATE_SESSION) {
        assert_int_equal(len, 3 + 2 + 65);
        if (be16(req + 3) != p->auth_id) {
            answer(resp, resp_len, 0x7f, (const uint8_t[]){YH_ERR_OBJECT_NOT_FOUND}, 1);
            return SIGNET_OK;
        }
        const uint8_t *cli_eph_pt = req + 5;
        EVP_PKEY *cli_eph = key_from_point(cli_eph_pt);
        EVP_PKEY *dev_eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        uint8_t secret[64], keys[64], dev_eph_pt[65], both[130], receipt[16];
        ecdh(dev_eph, cli_eph, secret);
        ecdh(p->dev_static, p->client_pub, secret + 32);
        x963(secret, keys);
        point_of(dev_eph, dev_eph_pt);
        memcpy(both, dev_eph_pt, 65);
        memcpy(both + 65, cli_eph_pt, 65);
        cmac(keys, both, sizeof both, receipt);
        memset(&p->ch, 0, sizeof p->ch);
        memcpy(p->ch.s_enc, keys + 16, 16);
        memcpy(p->ch.s_mac, keys + 32, 16);
        memcpy(p->ch.s_rmac, keys + 48, 16);
        memcpy(p->ch.chain, receipt, 16);
        p->ch.counter[15] = 1;
        p->ch.session_id = 3;
        p->open = true;
        uint8_t out[1 + 65 + 16];
        out[0] = 3;
        memcpy(out + 1, dev_eph_pt, 65);
        memcpy(out + 66, receipt, 16);
        answer(resp, resp_len, 0x83, out, sizeof out);
        EVP_PKEY_free(cli_eph);
        EVP_PKEY_free(dev_eph);
    } else if (req[0] == YH_CMD_SESSION_MESSAGE && p->open) {
        sb_wr inner, out;
        sbw_init(&inner, YH_MAX_FRAME);
        if (yh_channel_unwrap_command(&p->ch, req, len, &inner) != SIGNET_OK) {
            sbw_free(&inner);
            answer(resp, resp_len, 0x7f, (const uint8_t[]){YH_ERR_AUTHENTICATION_FAILED}, 1);
            return SIGNET_OK;
        }
        /* Echo, or an empty answer to Close Session. */
        sbw_init(&out, YH_MAX_FRAME);
        if (inner.p[0] == YH_CMD_ECHO)
            yh_frame_encode(&out, 0x81, inner.p + 3, inner.len - 3);
        else
            yh_frame_encode(&out, (uint8_t)(inner.p[0] | 0x80), NULL, 0);
        sb_wr frame;
        sbw_init_fixed(&frame, resp, YH_MAX_FRAME);
        assert_int_equal(yh_channel_wrap_response(&p->ch, out.p, out.len, &frame), SIGNET_OK);
        *resp_len = frame.len;
        sbw_free(&inner);
        sbw_free(&out);
    } else {
        answer(resp, resp_len, 0x7f, (const uint8_t[]){YH_ERR_INVALID_COMMAND}, 1);
    }
    return SIGNET_OK;
}

static void peer_init(struct peer *p, EVP_PKEY *client)
{
    memset(p, 0, sizeof *p);
    p->dev_static = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t pt[65];
    point_of(client, pt);
    p->client_pub = key_from_point(pt);
    p->auth_id = 7;
    p->major = 2;
    p->minor = 4;
}

static void peer_free(struct peer *p)
{
    EVP_PKEY_free(p->dev_static);
    EVP_PKEY_free(p->client_pub);
}

static void asym_session_echo(void **state)
{
    EVP_PKEY *client = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct peer p;
    peer_init(&p, client);
    hsm_conn *c;
    assert_int_equal(hsm_conn_open_transport(peer_transport, &p, &c), SIGNET_OK);
    hsm_session *s = NULL;
    if (hsm_session_open_asym(c, 7, client, &s) != SIGNET_OK)
        fail_msg("asymmetric session: %s", signet_errmsg());
    assert_int_equal(hsm_session_id(s), 3);
    uint8_t buf[64];
    for (int i = 0; i < 3; i++) {
        sb_wr out;
        sbw_init_fixed(&out, buf, sizeof buf);
        assert_int_equal(hsm_echo(s, (const uint8_t *)"asymmetric", 10, &out), SIGNET_OK);
        assert_memory_equal(buf, "asymmetric", 10);
    }
    hsm_session_close(s);
    hsm_conn_close(c);
    peer_free(&p);
    EVP_PKEY_free(client);
}

static void asym_wrong_key_is_refused(void **state)
{
    EVP_PKEY *client = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct peer p;
    peer_init(&p, client);
    hsm_conn *c;
    assert_int_equal(hsm_conn_open_transport(peer_transport, &p, &c), SIGNET_OK);
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open_asym(c, 7, other, &s), SIGNET_E_AUTH);
    assert_null(s);
    assert_int_equal(hsm_session_open_asym(c, 8, client, &s), SIGNET_E_NOTFOUND);
    /* Not a P-256 key. */
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_int_equal(hsm_session_open_asym(c, 7, p384, &s), SIGNET_E_ARG);
    EVP_PKEY_free(p384);
    hsm_conn_close(c);
    /* Firmware before 2.3 has no asymmetric authentication. */
    p.minor = 2;
    assert_int_equal(hsm_conn_open_transport(peer_transport, &p, &c), SIGNET_OK);
    assert_int_equal(hsm_session_open_asym(c, 7, client, &s), SIGNET_E_UNSUPPORTED);
    hsm_conn_close(c);
    peer_free(&p);
    EVP_PKEY_free(client);
    EVP_PKEY_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(asym_session_echo),
        cmocka_unit_test(asym_wrong_key_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

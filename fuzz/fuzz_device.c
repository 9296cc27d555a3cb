/* Fuzzes the emulated device core through hsm_device_transact().
 *
 * Input: a mode byte, then chunks of len(2, big-endian) | bytes.
 *   bit 0 clear: every chunk is a raw request frame (session-level parsing).
 *   bit 0 set:   a session is opened first, and every chunk is an inner
 *                command, encrypted and MACed as a real host would, so that the
 *                fuzzer reaches every command handler.  The device's answer must
 *                then always verify and decrypt.
 *   bit 1 set:   an asymmetric authentication key (id 2, EC P-256, everything
 *                allowed) is put first; raw Create Session frames for key 2 then
 *                reach the device's ECDH, and with bit 0 the session is opened
 *                asymmetrically: the device's receipt must verify.
 * Each input runs on a fresh volatile device, so runs are independent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "signet/device.h"
#include "signet/proto.h"

#define ASYM_KEY_ID 2

static yh_static_keys factory;
static EVP_PKEY *client_key; /* the holder of authentication key 2 */

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return 1000; /* sessions never expire within one input */
}

static int open_session(hsm_device *dev, yh_channel *ch)
{
    uint8_t req[3 + 10] = {YH_CMD_CREATE_SESSION, 0, 10, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t resp[YH_MAX_FRAME];
    size_t n;
    hsm_device_transact(dev, req, sizeof req, resp, &n);
    if (n != 3 + 17 || resp[0] != YH_RESPONSE(YH_CMD_CREATE_SESSION))
        return -1;
    uint8_t host_crypto[8];
    if (yh_channel_derive(&factory, req + 5, resp + 4, resp[3], ch) ||
        yh_cryptogram(ch, 1, req + 5, resp + 4, host_crypto))
        return -1;
    uint8_t f[64];
    sb_wr w;
    sbw_init_fixed(&w, f, sizeof f);
    if (yh_channel_auth_frame(ch, host_crypto, &w))
        return -1;
    hsm_device_transact(dev, w.p, w.len, resp, &n);
    return n == 3 && resp[0] == YH_RESPONSE(YH_CMD_AUTHENTICATE_SESSION) ? 0 : -1;
}

static int point_of(EVP_PKEY *k, uint8_t pt[YH_EC_P256_PUB_LEN])
{
    size_t n = 0;
    return EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, YH_EC_P256_PUB_LEN,
                                           &n) == 1 && n == YH_EC_P256_PUB_LEN ? 0 : -1;
}

static EVP_PKEY *key_of(const uint8_t pt[YH_EC_P256_PUB_LEN])
{
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, YH_EC_P256_PUB_LEN),
        OSSL_PARAM_construct_end()};
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    return k;
}

static int ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t out[32])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    size_t n = 32;
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
             EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* The host side of asymmetric authentication with key 2.  A receipt that does
 * not verify is a device bug: abort. */
static int open_session_asym(hsm_device *dev, yh_channel *ch)
{
    uint8_t req[3 + 2 + YH_EC_P256_PUB_LEN], resp[YH_MAX_FRAME];
    size_t n;
    uint8_t get_pub[3] = {YH_CMD_GET_DEVICE_PUBKEY, 0, 0};
    hsm_device_transact(dev, get_pub, sizeof get_pub, resp, &n);
    if (n != 3 + YH_EC_P256_PUB_LEN || resp[0] != YH_RESPONSE(YH_CMD_GET_DEVICE_PUBKEY))
        abort();
    resp[3] = 0x04;
    EVP_PKEY *dev_static = key_of(resp + 3);
    EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *dev_eph = NULL;
    int rc = -1;
    req[0] = YH_CMD_CREATE_SESSION;
    put_be16(req + 1, 2 + YH_EC_P256_PUB_LEN);
    put_be16(req + 3, ASYM_KEY_ID);
    if (!dev_static || !eph || point_of(eph, req + 5))
        abort();
    hsm_device_transact(dev, req, sizeof req, resp, &n);
    if (n == 3 + 1 + YH_EC_P256_PUB_LEN + 16 && resp[0] == YH_RESPONSE(YH_CMD_CREATE_SESSION)) {
        uint8_t shsee[32], shsss[32], rkey[16], receipt[16];
        if (!(dev_eph = key_of(resp + 4)) || ecdh(eph, dev_eph, shsee) ||
            ecdh(client_key, dev_static, shsss) ||
            yh_asym_derive(shsee, shsss, resp[3], rkey, ch) ||
            yh_asym_receipt(rkey, resp + 4, req + 5, receipt) ||
            CRYPTO_memcmp(receipt, resp + 4 + YH_EC_P256_PUB_LEN, 16) != 0)
            abort();
        memcpy(ch->chain, receipt, 16);
        rc = 0;
    }
    EVP_PKEY_free(dev_static);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(dev_eph);
    return rc; /* e.g. sessions full, or key 2 was deleted */
}

/* Puts authentication key 2 for client_key through a factory session. */
static void put_asym_key(hsm_device *dev)
{
    yh_channel ch;
    if (open_session(dev, &ch) != 0)
        abort();
    uint8_t inner[3 + 2 + 40 + 2 + 8 + 1 + 8 + 64], pt[YH_EC_P256_PUB_LEN];
    sb_wr w;
    sbw_init_fixed(&w, inner, sizeof inner);
    if (point_of(client_key, pt))
        abort();
    sbw_u8(&w, YH_CMD_PUT_AUTHENTICATION_KEY);
    sbw_u16(&w, sizeof inner - 3);
    sbw_u16(&w, ASYM_KEY_ID);
    sbw_zero(&w, 40);
    sbw_u16(&w, 0xffff);
    sbw_u64(&w, YH_CAPS_ALL);
    sbw_u8(&w, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION);
    sbw_u64(&w, YH_CAPS_ALL);
    sbw_put(&w, pt + 1, 64);
    uint8_t f[256], resp[YH_MAX_FRAME];
    size_t n;
    sb_wr fw;
    sbw_init_fixed(&fw, f, sizeof f);
    if (yh_channel_wrap_command(&ch, w.p, w.len, &fw))
        abort();
    hsm_device_transact(dev, fw.p, fw.len, resp, &n);
    sb_wr plain;
    sbw_init_secure(&plain, YH_MAX_FRAME);
    if (yh_channel_unwrap_response(&ch, resp, n, &plain) || plain.len < 1 ||
        plain.p[0] != YH_RESPONSE(YH_CMD_PUT_AUTHENTICATION_KEY))
        abort();
    sbw_free(&plain);
}

/* Generating RSA keys takes seconds: not what fuzzing is for. */
static int slow(const uint8_t *inner, size_t len)
{
    return len >= 3 + 53 && inner[0] == YH_CMD_GENERATE_ASYMMETRIC_KEY &&
           yh_algo_is_rsa(inner[3 + 52]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        if (yh_derive_password_keys("password", 8, &factory) != SIGNET_OK)
            abort();
        if (!(client_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")))
            abort();
        init = 1;
    }
    if (size < 1)
        return 0;
    hsm_device_opts o = {.now_ms = fixed_clock};
    hsm_device *dev = NULL;
    if (hsm_device_open(&o, &dev) != SIGNET_OK)
        abort();
    int in_session = data[0] & 1, asym = data[0] & 2;
    if (asym)
        put_asym_key(dev);
    int (*open)(hsm_device *, yh_channel *) = asym ? open_session_asym : open_session;
    yh_channel ch;
    if (in_session && open(dev, &ch) != 0)
        abort(); /* a fresh device always lets both keys in */

    sb_rd r;
    sbr_init(&r, data + 1, size - 1);
    uint16_t n;
    const uint8_t *chunk;
    uint8_t resp[YH_MAX_FRAME], f[YH_MAX_FRAME + 64];
    size_t rlen;
    while (sbr_u16(&r, &n) == SIGNET_OK) {
        if (n > sbr_left(&r))
            n = (uint16_t)sbr_left(&r);
        sbr_ptr(&r, &chunk, n);
        if (!in_session) {
            hsm_device_transact(dev, chunk, n, resp, &rlen);
            if (rlen < 3 || rlen > YH_MAX_FRAME)
                abort();
            continue;
        }
        if (slow(chunk, n))
            continue;
        sb_wr w;
        sbw_init_fixed(&w, f, sizeof f);
        if (yh_channel_wrap_command(&ch, chunk, n, &w) != SIGNET_OK)
            continue; /* too long for one session message */
        hsm_device_transact(dev, w.p, w.len, resp, &rlen);
        if (rlen == 4 && resp[0] == YH_CMD_ERROR) {
            /* the session ended (close, reset): start another */
            if (open(dev, &ch) != 0)
                break; /* e.g. the key was deleted or changed */
            continue;
        }
        sb_wr plain;
        sbw_init_secure(&plain, YH_MAX_FRAME);
        if (yh_channel_unwrap_response(&ch, resp, rlen, &plain) != SIGNET_OK)
            abort(); /* the device answered something a host cannot verify */
        uint8_t cmd;
        if (yh_frame_decode(plain.p, plain.len, &cmd, NULL, NULL) != SIGNET_OK)
            abort();
        sbw_free(&plain);
    }
    hsm_device_free(dev);
    return 0;
}

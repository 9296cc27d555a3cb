/* Fuzzes the HSM client's handling of the device's answers.  A scripted device
 * completes the session handshake honestly (so the fuzzer need not forge MACs),
 * then answers every session message with the next chunk of the input: either
 * sealed into a valid 0x85 frame (exercising every typed call's parser on a
 * trusted channel carrying hostile content) or sent raw (exercising the outer
 * frame and MAC checks).
 *
 * Input: repeated { tag(1) len(2, BE) bytes(len) }; tag bit 0 set = raw frame. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "signet/client.h"

struct script {
    const uint8_t *p;
    size_t len, pos;
    yh_static_keys keys;
    yh_channel ch;
    uint8_t host_ch[8], card_ch[8];
};

static bool next_chunk(struct script *s, uint8_t *tag, const uint8_t **d, size_t *n)
{
    if (s->len - s->pos < 3)
        return false;
    *tag = s->p[s->pos];
    size_t l = ((size_t)s->p[s->pos + 1] << 8) | s->p[s->pos + 2];
    s->pos += 3;
    if (l > s->len - s->pos)
        l = s->len - s->pos;
    *d = s->p + s->pos;
    *n = l;
    s->pos += l;
    return true;
}

static signet_rc frame(uint8_t *resp, size_t *rlen, uint8_t cmd, const uint8_t *d, size_t n)
{
    sb_wr w;
    sbw_init_fixed(&w, resp, YH_MAX_FRAME);
    signet_rc rc = yh_frame_encode(&w, cmd, d, n);
    *rlen = w.len;
    return rc;
}

static signet_rc scripted(void *ctx, const uint8_t *req, size_t len, uint8_t *resp, size_t *rlen)
{
    struct script *s = ctx;
    switch (req[0]) {
    case YH_CMD_DEVICE_INFO: {
        static const uint8_t di[] = {2, 4, 0, 0, 0, 0, 1, 62, 2, 9, 12, 46};
        if (len == 3)
            return frame(resp, rlen, 0x86, di, sizeof di);
        /* page 2 (the part number): hostile text from the script */
        uint8_t tag;
        const uint8_t *d;
        size_t n;
        if (!next_chunk(s, &tag, &d, &n))
            return signet_fail(SIGNET_E_NET, "script exhausted");
        return frame(resp, rlen, 0x86, d, n < YH_MAX_DATA ? n : YH_MAX_DATA);
    }
    case YH_CMD_GET_DEVICE_PUBKEY: {
        uint8_t tag;
        const uint8_t *d;
        size_t n;
        if (!next_chunk(s, &tag, &d, &n))
            return signet_fail(SIGNET_E_NET, "script exhausted");
        return frame(resp, rlen, 0x8a, d, n < YH_MAX_DATA ? n : YH_MAX_DATA);
    }
    case YH_CMD_CREATE_SESSION: {
        if (len != 3 + 2 + 8)
            return signet_fail(SIGNET_E_NET, "unexpected create session");
        memcpy(s->host_ch, req + 5, 8);
        memset(s->card_ch, 0x5c, 8);
        uint8_t ans[17] = {1};
        memcpy(ans + 1, s->card_ch, 8);
        if (yh_channel_derive(&s->keys, s->host_ch, s->card_ch, 1, &s->ch) ||
            yh_cryptogram(&s->ch, 0, s->host_ch, s->card_ch, ans + 9))
            return signet_fail(SIGNET_E_CRYPTO, "derive");
        return frame(resp, rlen, 0x83, ans, sizeof ans);
    }
    case YH_CMD_AUTHENTICATE_SESSION:
        if (yh_channel_check_auth(&s->ch, req, len, s->host_ch, s->card_ch) != SIGNET_OK)
            return frame(resp, rlen, 0x7f, (const uint8_t[]){YH_ERR_AUTHENTICATION_FAILED}, 1);
        return frame(resp, rlen, 0x84, NULL, 0);
    case YH_CMD_SESSION_MESSAGE: {
        uint8_t inner[YH_MAX_FRAME];
        sb_wr in;
        sbw_init_fixed(&in, inner, sizeof inner);
        if (yh_channel_unwrap_command(&s->ch, req, len, &in) != SIGNET_OK)
            return signet_fail(SIGNET_E_NET, "client sent a bad session message");
        uint8_t tag;
        const uint8_t *d;
        size_t n;
        if (!next_chunk(s, &tag, &d, &n))
            return signet_fail(SIGNET_E_NET, "script exhausted");
        if (tag & 1) {
            if (n > YH_MAX_FRAME)
                n = YH_MAX_FRAME;
            memcpy(resp, d, n);
            *rlen = n;
            return SIGNET_OK;
        }
        if (n > YH_MAX_SESSION_INNER)
            n = YH_MAX_SESSION_INNER;
        sb_wr out;
        sbw_init_fixed(&out, resp, YH_MAX_FRAME);
        signet_rc rc = yh_channel_wrap_response(&s->ch, d, n, &out);
        *rlen = out.len;
        return rc;
    }
    default:
        return signet_fail(SIGNET_E_NET, "unexpected command");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static EVP_PKEY *peer; /* an ECDH peer for hsm_derive_ecdh */
    if (!peer)
        peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    struct script s = {.p = data, .len = size};
    memset(s.keys.enc, 0x11, sizeof s.keys.enc);
    memset(s.keys.mac, 0x22, sizeof s.keys.mac);
    hsm_conn *c = NULL;
    hsm_session *sess = NULL;
    if (hsm_conn_open_transport(scripted, &s, &c) != SIGNET_OK)
        return 0;
    if (hsm_session_open_keys(c, 1, &s.keys, &sess) != SIGNET_OK) {
        hsm_conn_close(c);
        return 0;
    }
    /* Each call consumes one or more answers; failures are expected and fine. */
    hsm_storage st;
    hsm_storage_info(sess, &st);
    hsm_object_ref refs[8];
    size_t n;
    hsm_filter f = {.type = YH_TYPE_ASYMMETRIC_KEY, .label = "x"};
    hsm_list_objects(sess, &f, refs, 8, &n);
    yh_object_info oi;
    hsm_get_object_info(sess, 1, YH_TYPE_ASYMMETRIC_KEY, &oi);
    EVP_PKEY *pk = NULL;
    uint8_t algo;
    hsm_get_public_key(sess, 1, &pk, &algo);
    EVP_PKEY_free(pk);
    hsm_log log;
    hsm_get_log_entries(sess, &log);
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    hsm_get_option(sess, YH_OPTION_COMMAND_AUDIT, &w);
    sbw_reset(&w);
    hsm_export_wrapped(sess, 2, YH_TYPE_ASYMMETRIC_KEY, 1, &w);
    uint8_t type;
    uint16_t id;
    uint8_t blob[64] = {0};
    hsm_import_wrapped(sess, 2, blob, sizeof blob, &type, &id);
    sbw_reset(&w);
    hsm_echo(sess, (const uint8_t *)"fuzz", 4, &w);
    sbw_reset(&w);
    hsm_get_opaque(sess, 3, &w);
    sbw_free(&w);
    uint8_t digest[32] = {0}, sig[600];
    size_t sl = sizeof sig;
    hsm_sign_pkcs1(sess, 1, digest, sizeof digest, sig, &sl);
    sl = sizeof sig;
    hsm_sign_eddsa(sess, 1, digest, sizeof digest, sig, &sl);
    uint8_t rnd[40];
    hsm_get_pseudo_random(sess, sizeof rnd, rnd);
    hsm_object_attrs a = {.label = "fuzz", .domains = 1, .algorithm = YH_ALGO_EC_P256};
    hsm_generate_asymmetric(sess, &a, &id);
    hsm_delete_object(sess, 1, YH_TYPE_OPAQUE);
    hsm_set_log_index(sess, 5);

    /* The answers of the newer typed calls: a certificate, MACs, decrypted and
     * derived secrets, wrapped data, AES blocks, the part number. */
    sb_wr x;
    sbw_init_secure(&x, 1 << 16);
    hsm_sign_attestation_certificate(sess, 1, 0, &x);
    uint8_t mac[64];
    size_t ml = 0;
    bool match;
    hsm_sign_hmac(sess, 4, digest, sizeof digest, mac, &ml);
    hsm_verify_hmac(sess, 4, digest, sizeof digest, (const uint8_t *)"m", 1, &match);
    sbw_reset(&x);
    hsm_decrypt_pkcs1(sess, 1, sig, 256, &x);
    sbw_reset(&x);
    hsm_decrypt_oaep(sess, 1, YH_ALGO_MGF1_SHA256, EVP_sha256(), NULL, 0, sig, 256, &x);
    if (peer) {
        sbw_reset(&x);
        hsm_derive_ecdh(sess, 1, peer, &x);
    }
    sbw_reset(&x);
    hsm_wrap_data(sess, 2, (const uint8_t *)"data", 4, &x);
    uint8_t wblob[13 + 4 + 16] = {0};
    sbw_reset(&x);
    hsm_unwrap_data(sess, 2, wblob, sizeof wblob, &x);
    sbw_reset(&x);
    hsm_encrypt_ecb(sess, 5, digest, sizeof digest, &x);
    sbw_reset(&x);
    hsm_decrypt_cbc(sess, 5, digest, digest, sizeof digest, &x);
    sbw_reset(&x);
    hsm_export_wrapped_ex(sess, 2, YH_TYPE_ASYMMETRIC_KEY, 1, HSM_WRAP_FORMAT_ED25519_SEED, &x);
    sbw_free(&x);
    hsm_blink(sess, 1);
    char part[32];
    hsm_device_part_number(c, part, sizeof part);
    EVP_PKEY *dpk = NULL;
    hsm_get_device_public_key(c, &dpk);
    EVP_PKEY_free(dpk);
    hsm_session_close(sess);
    hsm_conn_close(c);
    return 0;
}

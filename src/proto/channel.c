/* Session messages (0x05 / 0x85): the SCP03-style wrapping both sides apply.
 *
 *   command:  05 | len | sid | AES-CBC(S-ENC, IV, pad(inner)) | C-MAC[0:8]
 *             C-MAC = CMAC(S-MAC, chain | 05 | len | sid | ciphertext) -> new chain
 *   response: 85 | len | sid | AES-CBC(S-ENC, IV, pad(inner)) | R-MAC[0:8]
 *             R-MAC = CMAC(S-RMAC, chain | 85 | len | sid | ciphertext), chain kept
 *
 * IV = AES-ECB(S-ENC, counter); a command and its response share one IV and
 * the counter steps once the response has been produced (device) or accepted
 * (host).  MACs are checked before anything is decrypted, so the strict padding
 * check offers no oracle. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "proto_internal.h"
#include "signet/secmem.h"

#define BLOCK 16
/* sid(1) + one block + MAC: the shortest valid session-message payload. */
#define MIN_WRAPPED (1 + BLOCK + YH_MAC_LEN)

static void counter_step(uint8_t c[16])
{
    for (int i = 15; i >= 0; i--)
        if (++c[i] != 0)
            break;
}

static signet_rc channel_iv(const yh_channel *ch, uint8_t iv[BLOCK])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, ch->s_enc, NULL) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
              EVP_EncryptUpdate(ctx, iv, &n, ch->counter, BLOCK) == 1 &&
              EVP_EncryptFinal_ex(ctx, iv + n, &m) == 1 && n + m == BLOCK;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "computing the session IV failed");
}

/* AES-128-CBC without padding over a whole number of blocks; in == out is fine. */
static signet_rc cbc(const uint8_t key[YH_KEY_LEN], const uint8_t iv[BLOCK], int enc,
                     const uint8_t *in, uint8_t *out, size_t len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, m = 0;
    bool ok = ctx && len % BLOCK == 0 && len <= INT32_MAX &&
              EVP_CipherInit_ex(ctx, EVP_aes_128_cbc(), NULL, key, iv, enc) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
              EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
              EVP_CipherFinal_ex(ctx, out + n, &m) == 1 && (size_t)(n + m) == len;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "AES-CBC %s failed",
                                        enc ? "encryption" : "decryption");
}

static size_t padded_len(size_t n) { return (n / BLOCK + 1) * BLOCK; }

static size_t max_inner(void) { return YH_MAX_SESSION_INNER; }
_Static_assert(YH_MAX_SESSION_INNER == 3119, "session message size limit");

/* Builds `cmd | len | sid | ciphertext | MAC[0:8]` into out; the 16-byte MAC
 * goes to mac_out.  On failure out is as it was (and wiped where it grew). */
static signet_rc wrap(const yh_channel *ch, uint8_t cmd, const uint8_t mac_key[YH_KEY_LEN],
                      const uint8_t *inner, size_t len, sb_wr *out, uint8_t mac_out[16])
{
    if (len > max_inner())
        return signet_fail(SIGNET_E_ARG,
                           "message of %zu bytes is too large for a session message (at most "
                           "%zu): split the request",
                           len, max_inner());
    size_t ctlen = padded_len(len), start = out->len, dlen = 1 + ctlen + YH_MAC_LEN;
    uint8_t iv[BLOCK], *p;
    signet_rc rc = channel_iv(ch, iv);
    if (rc != SIGNET_OK)
        return rc;
    rc = sbw_reserve(out, 3 + dlen, &p);
    if (rc != SIGNET_OK)
        return rc;
    p[0] = cmd;
    put_be16(p + 1, (uint16_t)dlen);
    p[3] = ch->session_id;
    /* Pad in place and encrypt in place: the plaintext never sits anywhere else. */
    uint8_t *ct = p + 4;
    if (len)
        memcpy(ct, inner, len);
    ct[len] = 0x80;
    memset(ct + len + 1, 0, ctlen - len - 1);
    rc = cbc(ch->s_enc, iv, 1, ct, ct, ctlen);
    if (rc == SIGNET_OK) {
        const uint8_t *parts[] = {ch->chain, p};
        const size_t lens[] = {sizeof ch->chain, 4 + ctlen};
        rc = yh_cmac(mac_key, parts, lens, 2, mac_out);
    }
    if (rc != SIGNET_OK) {
        smem_wipe(p, 3 + dlen);
        out->len = start;
        return rc;
    }
    memcpy(ct + ctlen, mac_out, YH_MAC_LEN);
    return SIGNET_OK;
}

/* Checks the frame shape and the MAC of a wrapped message.  On success
 * ct/ctlen point at the ciphertext inside frame and mac_out holds the full MAC. */
static signet_rc check(const yh_channel *ch, uint8_t want_cmd, const uint8_t mac_key[YH_KEY_LEN],
                       const uint8_t *frame, size_t len, const uint8_t **ct, size_t *ctlen,
                       uint8_t mac_out[16])
{
    uint8_t cmd;
    const uint8_t *data;
    size_t dlen;
    signet_rc rc = yh_frame_decode(frame, len, &cmd, &data, &dlen);
    if (rc != SIGNET_OK)
        return rc;
    if (cmd != want_cmd)
        return signet_fail(SIGNET_E_PARSE, "expected a session message 0x%02x, got command 0x%02x",
                           want_cmd, cmd);
    if (dlen < MIN_WRAPPED || (dlen - 1 - YH_MAC_LEN) % BLOCK != 0)
        return signet_fail(SIGNET_E_PARSE,
                           "session message of %zu bytes is not sid + whole AES blocks + MAC: "
                           "it was truncated or corrupted",
                           dlen);
    if (data[0] != ch->session_id)
        return signet_fail(SIGNET_E_STATE, "session message for session %u arrived on session %u",
                           data[0], ch->session_id);
    *ctlen = dlen - 1 - YH_MAC_LEN;
    *ct = data + 1;
    const uint8_t *parts[] = {ch->chain, frame};
    const size_t lens[] = {sizeof ch->chain, 3 + 1 + *ctlen};
    rc = yh_cmac(mac_key, parts, lens, 2, mac_out);
    if (rc != SIGNET_OK)
        return rc;
    if (CRYPTO_memcmp(mac_out, *ct + *ctlen, YH_MAC_LEN) != 0)
        return signet_fail(SIGNET_E_VERIFY,
                           "session message MAC does not verify: the message was altered, "
                           "replayed or sent on another session");
    return SIGNET_OK;
}

/* Decrypts ct into out and strips the 0x80 00.. padding strictly.  On failure
 * out is as it was; the decrypted bytes are wiped. */
static signet_rc decrypt_unpad(const yh_channel *ch, const uint8_t *ct, size_t ctlen, sb_wr *out)
{
    uint8_t iv[BLOCK], *p;
    size_t start = out->len;
    signet_rc rc = channel_iv(ch, iv);
    if (rc == SIGNET_OK)
        rc = sbw_reserve(out, ctlen, &p);
    if (rc != SIGNET_OK)
        return rc;
    rc = cbc(ch->s_enc, iv, 0, ct, p, ctlen);
    if (rc == SIGNET_OK) {
        /* Padding: 0x80 then 0..15 zero bytes, all inside the last block. */
        size_t i = ctlen;
        while (i > ctlen - BLOCK && p[i - 1] == 0)
            i--;
        if (i == ctlen - BLOCK || p[i - 1] != 0x80)
            rc = signet_fail(SIGNET_E_VERIFY,
                             "session message padding is invalid: the keys or the message "
                             "counter do not match the other side");
        else
            out->len = start + i - 1;
    }
    if (rc != SIGNET_OK) {
        smem_wipe(p, ctlen);
        out->len = start;
        return rc;
    }
    /* Wipe the padding left beyond the new end. */
    smem_wipe(p + (out->len - start), ctlen - (out->len - start));
    return SIGNET_OK;
}

signet_rc yh_channel_wrap_command(yh_channel *ch, const uint8_t *inner, size_t len, sb_wr *out)
{
    uint8_t mac[16];
    signet_rc rc = wrap(ch, YH_CMD_SESSION_MESSAGE, ch->s_mac, inner, len, out, mac);
    if (rc == SIGNET_OK)
        memcpy(ch->chain, mac, sizeof ch->chain);
    return rc;
}

signet_rc yh_channel_unwrap_response(yh_channel *ch, const uint8_t *frame, size_t len, sb_wr *out)
{
    /* Session-level errors come back in clear, without a MAC. */
    if (frame && len == 4 && frame[0] == YH_CMD_ERROR && frame[1] == 0 && frame[2] == 1)
        return signet_fail_device(frame[3], "the HSM rejected the session message");
    const uint8_t *ct;
    size_t ctlen;
    uint8_t mac[16];
    signet_rc rc = check(ch, YH_RESPONSE(YH_CMD_SESSION_MESSAGE), ch->s_rmac, frame, len, &ct,
                         &ctlen, mac);
    if (rc == SIGNET_OK)
        rc = decrypt_unpad(ch, ct, ctlen, out);
    if (rc == SIGNET_OK)
        counter_step(ch->counter);
    return rc;
}

signet_rc yh_channel_unwrap_command(yh_channel *ch, const uint8_t *frame, size_t len, sb_wr *out)
{
    const uint8_t *ct;
    size_t ctlen;
    uint8_t mac[16];
    signet_rc rc = check(ch, YH_CMD_SESSION_MESSAGE, ch->s_mac, frame, len, &ct, &ctlen, mac);
    if (rc != SIGNET_OK)
        return rc;
    /* The MAC verified, so the chain moves on even if the padding turns out bad:
     * the host has moved its chain too. */
    memcpy(ch->chain, mac, sizeof ch->chain);
    return decrypt_unpad(ch, ct, ctlen, out);
}

signet_rc yh_channel_wrap_response(yh_channel *ch, const uint8_t *inner, size_t len, sb_wr *out)
{
    uint8_t mac[16];
    signet_rc rc = wrap(ch, YH_RESPONSE(YH_CMD_SESSION_MESSAGE), ch->s_rmac, inner, len, out, mac);
    if (rc == SIGNET_OK)
        counter_step(ch->counter);
    return rc;
}

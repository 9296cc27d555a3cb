/* Session establishment for the symmetric (SCP03 style) channel: AES-CMAC, the
 * password-to-key derivation, session keys, cryptograms and the Authenticate
 * Session frame.  The message wrapping lives in channel.c. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "proto_internal.h"
#include "signet/secmem.h"

signet_rc yh_cmac(const uint8_t key[YH_KEY_LEN], const uint8_t *const *parts, const size_t *lens,
                  size_t nparts, uint8_t out[16])
{
    signet_rc rc = SIGNET_OK;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!ctx) {
        rc = signet_fail(SIGNET_E_CRYPTO,
                         "OpenSSL offers no AES-CMAC: check the OpenSSL 3 installation");
        goto out;
    }
    char cipher[] = "AES-128-CBC";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher, 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_init(ctx, key, YH_KEY_LEN, params) != 1) {
        rc = signet_fail(SIGNET_E_CRYPTO, "AES-CMAC initialisation failed");
        goto out;
    }
    for (size_t i = 0; i < nparts; i++) {
        if (lens[i] && EVP_MAC_update(ctx, parts[i], lens[i]) != 1) {
            rc = signet_fail(SIGNET_E_CRYPTO, "AES-CMAC update failed");
            goto out;
        }
    }
    size_t outl = 0;
    if (EVP_MAC_final(ctx, out, &outl, 16) != 1 || outl != 16)
        rc = signet_fail(SIGNET_E_CRYPTO, "AES-CMAC finalisation failed");
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

signet_rc yh_derive_password_keys(const char *password, size_t len, yh_static_keys *out)
{
    static const unsigned char salt[] = "Yubico";
    uint8_t k[2 * YH_KEY_LEN];
    if (!password && len)
        return signet_fail(SIGNET_E_ARG, "no password given");
    if (len > INT32_MAX)
        return signet_fail(SIGNET_E_ARG, "password is too long");
    if (PKCS5_PBKDF2_HMAC(password ? password : "", (int)len, salt, (int)(sizeof salt - 1), 10000,
                          EVP_sha256(), (int)sizeof k, k) != 1) {
        smem_wipe(k, sizeof k);
        return signet_fail(SIGNET_E_CRYPTO, "PBKDF2 key derivation failed");
    }
    memcpy(out->enc, k, YH_KEY_LEN);
    memcpy(out->mac, k + YH_KEY_LEN, YH_KEY_LEN);
    smem_wipe(k, sizeof k);
    return SIGNET_OK;
}

/* SCP03 KDF in counter mode, one block: CMAC(key, 00*11 | constant | 00 |
 * L (bits, 2 bytes) | 01 | host challenge | card challenge). */
static signet_rc scp03_kdf(const uint8_t key[YH_KEY_LEN], uint8_t constant, uint16_t bits,
                           const uint8_t host_ch[8], const uint8_t card_ch[8], uint8_t out[16])
{
    uint8_t label[16] = {0};
    label[11] = constant;
    label[12] = 0x00;
    put_be16(label + 13, bits);
    label[15] = 0x01;
    const uint8_t *parts[] = {label, host_ch, card_ch};
    const size_t lens[] = {sizeof label, YH_CHALLENGE_LEN, YH_CHALLENGE_LEN};
    return yh_cmac(key, parts, lens, 3, out);
}

enum {
    KDF_CARD_CRYPTOGRAM = 0x00,
    KDF_HOST_CRYPTOGRAM = 0x01,
    KDF_S_ENC = 0x04,
    KDF_S_MAC = 0x06,
    KDF_S_RMAC = 0x07,
};

void yh_channel_reset_state(yh_channel *ch, uint8_t session_id)
{
    memset(ch->chain, 0, sizeof ch->chain);
    memset(ch->counter, 0, sizeof ch->counter);
    ch->counter[15] = 1;
    ch->session_id = session_id;
}

signet_rc yh_channel_derive(const yh_static_keys *k, const uint8_t host_ch[8],
                            const uint8_t card_ch[8], uint8_t session_id, yh_channel *out)
{
    signet_rc rc = scp03_kdf(k->enc, KDF_S_ENC, 128, host_ch, card_ch, out->s_enc);
    if (rc == SIGNET_OK)
        rc = scp03_kdf(k->mac, KDF_S_MAC, 128, host_ch, card_ch, out->s_mac);
    if (rc == SIGNET_OK)
        rc = scp03_kdf(k->mac, KDF_S_RMAC, 128, host_ch, card_ch, out->s_rmac);
    if (rc != SIGNET_OK) {
        smem_wipe(out, sizeof *out);
        return signet_wrap(rc, "deriving session keys");
    }
    yh_channel_reset_state(out, session_id);
    return SIGNET_OK;
}

signet_rc yh_cryptogram(const yh_channel *ch, int kind, const uint8_t host_ch[8],
                        const uint8_t card_ch[8], uint8_t out[8])
{
    if (kind != 0 && kind != 1)
        return signet_fail(SIGNET_E_ARG, "cryptogram kind must be 0 (card) or 1 (host)");
    uint8_t full[16];
    signet_rc rc = scp03_kdf(ch->s_mac, kind ? KDF_HOST_CRYPTOGRAM : KDF_CARD_CRYPTOGRAM, 64,
                             host_ch, card_ch, full);
    if (rc == SIGNET_OK)
        memcpy(out, full, 8);
    smem_wipe(full, sizeof full);
    return rc;
}

/* Authenticate Session data: sid(1) | host cryptogram(8) | C-MAC(8). */
#define AUTH_DATA_LEN (1 + 8 + YH_MAC_LEN)

signet_rc yh_channel_auth_frame(yh_channel *ch, const uint8_t host_crypto[8], sb_wr *out)
{
    uint8_t frame[3 + AUTH_DATA_LEN], mac[16];
    frame[0] = YH_CMD_AUTHENTICATE_SESSION;
    put_be16(frame + 1, AUTH_DATA_LEN);
    frame[3] = ch->session_id;
    memcpy(frame + 4, host_crypto, 8);
    const uint8_t *parts[] = {ch->chain, frame};
    const size_t lens[] = {sizeof ch->chain, sizeof frame - YH_MAC_LEN};
    signet_rc rc = yh_cmac(ch->s_mac, parts, lens, 2, mac);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "authenticating the session");
    memcpy(frame + 4 + 8, mac, YH_MAC_LEN);
    rc = sbw_put(out, frame, sizeof frame);
    if (rc == SIGNET_OK)
        memcpy(ch->chain, mac, sizeof ch->chain);
    return rc;
}

signet_rc yh_channel_check_auth(yh_channel *ch, const uint8_t *frame, size_t len,
                                const uint8_t host_ch[8], const uint8_t card_ch[8])
{
    uint8_t cmd, expect[8], mac[16];
    const uint8_t *data;
    size_t dlen;
    signet_rc rc = yh_frame_decode(frame, len, &cmd, &data, &dlen);
    if (rc != SIGNET_OK)
        return rc;
    if (cmd != YH_CMD_AUTHENTICATE_SESSION || dlen != AUTH_DATA_LEN)
        return signet_fail(SIGNET_E_PARSE,
                           "Authenticate Session frame has command 0x%02x and %zu data bytes; "
                           "expected 0x04 with %d",
                           cmd, dlen, AUTH_DATA_LEN);
    if (data[0] != ch->session_id)
        return signet_fail(SIGNET_E_STATE, "Authenticate Session names session %u, not %u",
                           data[0], ch->session_id);
    rc = yh_cryptogram(ch, 1, host_ch, card_ch, expect);
    if (rc != SIGNET_OK)
        return rc;
    if (CRYPTO_memcmp(expect, data + 1, 8) != 0)
        return signet_fail(SIGNET_E_AUTH,
                           "host cryptogram does not match: the client used a different "
                           "authentication key or password");
    const uint8_t *parts[] = {ch->chain, frame};
    const size_t lens[] = {sizeof ch->chain, len - YH_MAC_LEN};
    rc = yh_cmac(ch->s_mac, parts, lens, 2, mac);
    if (rc != SIGNET_OK)
        return rc;
    if (CRYPTO_memcmp(mac, data + 1 + 8, YH_MAC_LEN) != 0)
        return signet_fail(SIGNET_E_VERIFY, "Authenticate Session MAC does not verify");
    memcpy(ch->chain, mac, sizeof ch->chain);
    return SIGNET_OK;
}

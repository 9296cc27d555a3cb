/* The device side of asymmetric authentication (firmware 2.3+, SCP11 style;
 * python-yubihsm's AsymmetricAuth shows the host side):
 *   request:  auth key id | client ephemeral public key (65)
 *   device:   a fresh ephemeral key; shsee = ECDH(device ephemeral, client
 *             ephemeral), shsss = ECDH(device static, the key's public key);
 *             X9.63-KDF-SHA256(shsee | shsss, 3c 88 10) -> receipt key, S-ENC,
 *             S-MAC, S-RMAC; receipt = CMAC(receipt key, device eph | client eph)
 *   answer:   session id | device ephemeral public key (65) | receipt (16)
 * The receipt is the first MAC chaining value; the session is authenticated at
 * once (no Authenticate Session).  A client without the private key of the
 * authentication key computes a different shsss and so a different receipt: it
 * finds out itself, and can never produce a valid C-MAC on the session. */
#include <string.h>

#include <openssl/evp.h>

#include "dev.h"
#include "signet/secmem.h"

static uint8_t point_of(EVP_PKEY *k, uint8_t out[YH_EC_P256_PUB_LEN])
{
    dev_object tmp = {.algorithm = YH_ALGO_EC_P256, .pkey = k};
    uint8_t buf[64];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    uint8_t rc = dev_key_public(&tmp, &w);
    if (rc || w.len != 64)
        return YH_ERR_COMMAND_UNEXECUTED;
    out[0] = 0x04;
    memcpy(out + 1, buf, 64);
    return YH_ERR_OK;
}

uint8_t dev_session_asym_open(hsm_device *dev, const dev_object *key,
                              const uint8_t cli_eph[YH_EC_P256_PUB_LEN], uint8_t sid,
                              dev_session *slot, uint8_t answer[YH_EC_P256_PUB_LEN + 16])
{
    const dev_identity *id = &dev->st->id;
    if (!id->present || !id->static_key || key->body_len != 64)
        return YH_ERR_COMMAND_UNEXECUTED;
    if (cli_eph[0] != 0x04)
        return YH_ERR_INVALID_DATA;
    EVP_PKEY *cli_e = dev_p256_from_xy(cli_eph + 1);
    EVP_PKEY *cli_s = dev_p256_from_xy(key->body);
    EVP_PKEY *eph = NULL;
    uint8_t *sec = smem_alloc(32 + 32 + YH_KEY_LEN); /* shsee | shsss | receipt key */
    uint8_t dev_eph[YH_EC_P256_PUB_LEN];
    uint8_t code = YH_ERR_INVALID_DATA;
    if (!cli_e || !cli_s || !sec)
        goto out; /* not a point on P-256 */
    code = YH_ERR_COMMAND_UNEXECUTED;
    if (!(eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) || point_of(eph, dev_eph))
        goto out;
    if ((code = dev_ecdh(eph, cli_e, sec, 32)) || (code = dev_ecdh(id->static_key, cli_s, sec + 32, 32)))
        goto out;
    code = YH_ERR_COMMAND_UNEXECUTED;
    if (yh_asym_derive(sec, sec + 32, sid, sec + 64, &slot->ch) ||
        yh_asym_receipt(sec + 64, dev_eph, cli_eph, slot->ch.chain))
        goto out;
    slot->authenticated = true;
    memcpy(answer, dev_eph, sizeof dev_eph);
    memcpy(answer + YH_EC_P256_PUB_LEN, slot->ch.chain, 16);
    code = YH_ERR_OK;
out:
    smem_free(sec);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(cli_e);
    EVP_PKEY_free(cli_s);
    return code;
}

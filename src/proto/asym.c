/* Asymmetric authentication (firmware 2.3+, SCP11 style): session keys from two
 * P-256 ECDH secrets through the ANSI X9.63 KDF, and the receipt that proves the
 * device holds its static key.  The ECDH itself is the caller's (client or
 * emulator), since each side holds different private keys. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "proto_internal.h"
#include "signet/secmem.h"

signet_rc yh_asym_derive(const uint8_t shsee[32], const uint8_t shsss[32], uint8_t session_id,
                         uint8_t receipt_key[YH_KEY_LEN], yh_channel *out)
{
    /* SHA-256(shsee | shsss | counter(4, from 1) | 3c 88 10), 64 bytes:
     * receipt key | S-ENC | S-MAC | S-RMAC. */
    static const uint8_t shared_info[] = {0x3c, 0x88, 0x10};
    uint8_t z[64], keys[4 * YH_KEY_LEN];
    signet_rc rc = SIGNET_OK;
    memcpy(z, shsee, 32);
    memcpy(z + 32, shsss, 32);

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "X963KDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z, sizeof z),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)shared_info,
                                          sizeof shared_info),
        OSSL_PARAM_construct_end(),
    };
    if (!ctx || EVP_KDF_derive(ctx, keys, sizeof keys, params) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO,
                         "X9.63 key derivation failed: check the OpenSSL 3 installation");
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (rc == SIGNET_OK) {
        memcpy(receipt_key, keys, YH_KEY_LEN);
        memcpy(out->s_enc, keys + YH_KEY_LEN, YH_KEY_LEN);
        memcpy(out->s_mac, keys + 2 * YH_KEY_LEN, YH_KEY_LEN);
        memcpy(out->s_rmac, keys + 3 * YH_KEY_LEN, YH_KEY_LEN);
        /* The caller sets the chain to the receipt (yh_asym_receipt). */
        yh_channel_reset_state(out, session_id);
    }
    smem_wipe(z, sizeof z);
    smem_wipe(keys, sizeof keys);
    return rc;
}

signet_rc yh_asym_receipt(const uint8_t receipt_key[YH_KEY_LEN],
                          const uint8_t dev_eph[YH_EC_P256_PUB_LEN],
                          const uint8_t cli_eph[YH_EC_P256_PUB_LEN], uint8_t out[16])
{
    const uint8_t *parts[] = {dev_eph, cli_eph};
    const size_t lens[] = {YH_EC_P256_PUB_LEN, YH_EC_P256_PUB_LEN};
    return yh_cmac(receipt_key, parts, lens, 2, out);
}

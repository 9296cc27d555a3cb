/* The device's own keys (dev_identity in dev.h): the static P-256 key of
 * asymmetric authentication and the attestation key with its certificate.
 *
 * A real YubiHSM 2 leaves the factory with both (the attestation certificate
 * chains to Yubico's CA).  The emulator makes them at first start, keeps them in
 * the state file and keeps them across Reset Device; its attestation certificate
 * is self-signed, so verifiers trust the emulator's CA explicitly
 * (`signet-hsm --print-ca`, `<state>.ca.pem`). */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "dev.h"
#include "signet/secmem.h"

/* A fresh P-256 scalar (big-endian, 32 bytes) and its key. */
static uint8_t new_p256(uint8_t d[DEV_IDENTITY_KEY_LEN], EVP_PKEY **out)
{
    *out = NULL;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    BIGNUM *bn = NULL;
    uint8_t rc = YH_ERR_COMMAND_UNEXECUTED;
    if (k && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1 &&
        BN_bn2binpad(bn, d, DEV_IDENTITY_KEY_LEN) == DEV_IDENTITY_KEY_LEN) {
        *out = k;
        k = NULL;
        rc = YH_ERR_OK;
    }
    BN_clear_free(bn);
    EVP_PKEY_free(k);
    return rc;
}

void dev_identity_free(dev_identity *id)
{
    EVP_PKEY_free(id->static_key);
    EVP_PKEY_free(id->attest_key);
    free(id->cert);
    smem_wipe(id, sizeof *id);
}

uint8_t dev_identity_create(dev_identity *id, uint32_t serial)
{
    dev_identity_free(id);
    id->attest_algo = YH_ALGO_EC_P256;
    uint8_t rc = new_p256(id->static_d, &id->static_key);
    if (!rc)
        rc = new_p256(id->attest_d, &id->attest_key);
    if (!rc)
        rc = dev_x509_device_cert(id->attest_key, serial, &id->cert, &id->cert_len);
    if (rc) {
        dev_identity_free(id);
        return rc;
    }
    id->present = true;
    return YH_ERR_OK;
}

uint8_t dev_identity_load(dev_identity *id)
{
    EVP_PKEY_free(id->static_key);
    EVP_PKEY_free(id->attest_key);
    id->static_key = id->attest_key = NULL;
    uint8_t rc = dev_key_load(YH_ALGO_EC_P256, id->static_d, DEV_IDENTITY_KEY_LEN, false,
                              &id->static_key);
    if (!rc)
        rc = dev_key_load(id->attest_algo, id->attest_d, DEV_IDENTITY_KEY_LEN, false,
                          &id->attest_key);
    return rc;
}

uint8_t dev_identity_public(const dev_identity *id, sb_wr *out)
{
    if (!id->present || !id->static_key)
        return YH_ERR_COMMAND_UNEXECUTED;
    dev_object tmp = {.algorithm = YH_ALGO_EC_P256, .pkey = id->static_key};
    return dev_key_public(&tmp, out);
}

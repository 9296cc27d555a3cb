/* Attestation: the HSM signs a certificate for a key it generated, with its
 * factory attestation key (id 0), proving the key was born on the device. */
#include <stdio.h>

#include <openssl/x509.h>

#include "ks_internal.h"
#include "signet/proto.h"

signet_rc signet_keystore_attest(hsm_session *s, uint16_t id, EVP_PKEY *pub, sb_wr *der)
{
    sbw_init(der, YH_MAX_MSG);
    signet_rc rc = hsm_sign_attestation_certificate(s, id, 0, der);
    if (rc != SIGNET_OK) {
        uint8_t code = signet_err_device();
        sbw_free(der);
        if (code == 0)
            return rc; /* transport, channel or a bad certificate: not a device property */
        if (code == YH_ERR_INVALID_COMMAND)
            return signet_fail(SIGNET_E_UNSUPPORTED,
                               "attestation unavailable on this device (it does not implement "
                               "Sign Attestation Certificate)");
        /* No attestation key, or a login without sign-attestation-certificate. */
        char why[256];
        snprintf(why, sizeof why, "%s", signet_errmsg());
        return signet_fail(SIGNET_E_UNSUPPORTED, "attestation unavailable on this device (%s)",
                           why);
    }
    const unsigned char *p = der->p;
    X509 *x = d2i_X509(NULL, &p, (long)der->len);
    bool ok = x && p == der->p + der->len && EVP_PKEY_eq(X509_get0_pubkey(x), pub) == 1;
    X509_free(x);
    if (!ok) {
        sbw_free(der);
        return signet_fail(SIGNET_E_VERIFY,
                           "the HSM's attestation certificate for key 0x%04x does not certify "
                           "that key: do not trust this device",
                           id);
    }
    return SIGNET_OK;
}

/* Sign Attestation Certificate: key id(2) | attestation key id(2) -> DER. */
#include <openssl/x509.h>

#include "internal.h"

signet_rc hsm_sign_attestation_certificate(hsm_session *s, uint16_t key_id, uint16_t attest_id,
                                           sb_wr *der)
{
    uint8_t req[4];
    put_be16(req, key_id);
    put_be16(req + 2, attest_id);
    size_t before = der->len;
    signet_rc rc = hsm_xfer(s, YH_CMD_SIGN_ATTESTATION_CERTIFICATE, req, sizeof req, der);
    if (rc)
        return signet_wrap(rc, "attesting key 0x%04x with attestation key 0x%04x", key_id,
                           attest_id);
    /* The answer crossed the connector: it must be one certificate, nothing more. */
    const unsigned char *p = der->p + before;
    size_t n = der->len - before;
    X509 *x = d2i_X509(NULL, &p, (long)n);
    bool ok = x && p == der->p + der->len;
    X509_free(x);
    if (!ok) {
        der->len = before;
        return signet_fail(SIGNET_E_PARSE, "the attestation of key 0x%04x is not a DER "
                                           "certificate (%zu bytes)",
                           key_id, n);
    }
    return SIGNET_OK;
}

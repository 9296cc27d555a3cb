/* The certificate signer of key generation: signs a TBSCertificate with the new
 * key on the HSM.  It is the one place in the key store that signs, so that it
 * can be routed through the signing path (sign.h) as a unit. */
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "ks_internal.h"
#include "signet/proto.h"

signet_rc signet_device_tbs_signer(void *vctx, const uint8_t *tbs, size_t len, int md_nid,
                                   uint8_t *sig, size_t *sig_len)
{
    const signet_device_tbs_ctx *c = vctx;
    if (md_nid == NID_undef) {
        if (c->algorithm != YH_ALGO_EC_ED25519)
            return signet_fail(SIGNET_E_ARG, "a signature without digest needs an Ed25519 key");
        return hsm_sign_eddsa(c->session, c->id, tbs, len, sig, sig_len);
    }
    const EVP_MD *md = EVP_get_digestbynid(md_nid);
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!md || EVP_Digest(tbs, len, digest, &dlen, md, NULL) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "cannot hash the certificate");
    /* The device wraps a bare SHA-256/384/512 digest in its DigestInfo. */
    if (yh_algo_is_rsa(c->algorithm))
        return hsm_sign_pkcs1(c->session, c->id, digest, dlen, sig, sig_len);
    if (yh_algo_is_ec(c->algorithm))
        return hsm_sign_ecdsa(c->session, c->id, digest, dlen, sig, sig_len);
    return signet_fail(SIGNET_E_ARG, "key 0x%04x (%s) cannot sign with a digest", c->id,
                       yh_algo_name(c->algorithm));
}

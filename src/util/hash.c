/* One-shot hashing that reports failure: see include/signet/hash.h. */
#include "signet/hash.h"

signet_rc signet_hash(const EVP_MD *md, const void *p, size_t n, uint8_t *out,
                      unsigned *out_len)
{
    unsigned len = 0;
    if (!md || EVP_Digest(n ? p : "", n, out, &len, md, NULL) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "hashing with %s failed inside OpenSSL (out of memory "
                                            "or no provider for it: check OPENSSL_CONF)",
                           md ? EVP_MD_get0_name(md) : "an unknown digest");
    if (out_len)
        *out_len = len;
    return SIGNET_OK;
}

signet_rc signet_sha256(const void *p, size_t n, uint8_t out[32])
{
    return signet_hash(EVP_sha256(), p, n, out, NULL); /* writes exactly 32 bytes */
}

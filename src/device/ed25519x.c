/* Ed25519 signatures from the expanded key (RFC 8032 section 5.1.6 without
 * step 1): an Ed25519 key imported from a wrapped blob without its seed holds
 * only the clamped scalar s, the prefix (the other half of SHA-512(seed)) and
 * the public key A, which is all signing needs:
 *
 *   r = SHA-512(prefix | M) mod L,  R = r·B,
 *   k = SHA-512(R | A | M) mod L,   S = r + k·s mod L,  signature R | S.
 *
 * OpenSSL's EVP only signs from the seed and exposes no Edwards point or
 * scalar arithmetic, so the scalar operations and the base-point
 * multiplication come from libsodium's low-level ed25519 API (the exception to
 * "OpenSSL for cryptography" recorded in docs/architecture.md); the hashes stay
 * on OpenSSL.  Secret intermediates are wiped. */
#include <string.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "dev.h"
#include "signet/secmem.h"

/* SHA-512(a | b | c) reduced mod L into out (32 bytes, little-endian). */
static bool hash_reduce(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                        const uint8_t *c, size_t nc, uint8_t out[32])
{
    uint8_t h[64];
    unsigned hl = 0;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = m && EVP_DigestInit_ex(m, EVP_sha512(), NULL) == 1 &&
              EVP_DigestUpdate(m, a, na) == 1 && EVP_DigestUpdate(m, b, nb) == 1 &&
              (nc == 0 || EVP_DigestUpdate(m, c, nc) == 1) &&
              EVP_DigestFinal_ex(m, h, &hl) == 1 && hl == 64;
    EVP_MD_CTX_free(m);
    if (ok)
        crypto_core_ed25519_scalar_reduce(out, h);
    smem_wipe(h, sizeof h);
    return ok;
}

uint8_t dev_ed25519_sign_expanded(const uint8_t body[96], const uint8_t *msg, size_t n,
                                  uint8_t sig[64])
{
    if (sodium_init() < 0)
        return YH_ERR_INVALID_DATA;
    const uint8_t *prefix = body + 32, *pub = body + 64;
    uint8_t s_wide[64] = {0}, s[32], r[32], k[32], ks[32];
    uint8_t code = YH_ERR_INVALID_DATA;
    /* The blob holds the scalar big-endian; reduce it mod L (a clamped scalar
     * is below 2^255 but not necessarily below L). */
    for (int i = 0; i < 32; i++)
        s_wide[i] = body[31 - i];
    crypto_core_ed25519_scalar_reduce(s, s_wide);
    if (!hash_reduce(prefix, 32, msg, n, NULL, 0, r))
        goto done;
    /* R = r·B; fails only for r = 0 mod L (probability 2^-252). */
    if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0)
        goto done;
    if (!hash_reduce(sig, 32, pub, 32, msg, n, k))
        goto done;
    crypto_core_ed25519_scalar_mul(ks, k, s);
    crypto_core_ed25519_scalar_add(sig + 32, r, ks);
    code = YH_ERR_OK;
done:
    smem_wipe(s_wide, sizeof s_wide);
    smem_wipe(s, sizeof s);
    smem_wipe(r, sizeof r);
    smem_wipe(ks, sizeof ks);
    return code;
}

/* The AVB public key format (avbtool extract_public_key, AvbRSAPublicKeyHeader):
 *   u32 key bits | u32 n0inv | modulus | R^2 mod n      (big-endian)
 * where n0inv = -1 / n mod 2^32 and R = 2^bits; both numbers take bits/8 bytes.
 * libavb uses n0inv and R^2 for Montgomery multiplication on the device. */
#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "ks_internal.h"

static signet_rc put_bn(sb_wr *out, const BIGNUM *v, int nbytes)
{
    uint8_t *p;
    signet_rc rc = sbw_reserve(out, (size_t)nbytes, &p);
    if (rc != SIGNET_OK)
        return rc;
    if (BN_bn2binpad(v, p, nbytes) != nbytes)
        return signet_fail(SIGNET_E_CRYPTO, "number does not fit in %d bytes", nbytes);
    return SIGNET_OK;
}

signet_rc signet_avb_pubkey(EVP_PKEY *rsa, sb_wr *out)
{
    sbw_init(out, 8 + 2 * 8192 / 8);
    if (EVP_PKEY_get_base_id(rsa) != EVP_PKEY_RSA)
        return signet_fail(SIGNET_E_ARG, "AVB keys must be RSA");
    BIGNUM *n = NULL, *e = NULL, *b = NULL, *n0inv = NULL, *r = NULL, *rr = NULL;
    BN_CTX *ctx = BN_CTX_new();
    signet_rc rc = SIGNET_OK;
    if (!ctx || EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot read the RSA public key");
        goto done;
    }
    int bits = BN_num_bits(n);
    if (bits != 2048 && bits != 4096 && bits != 8192) {
        rc = signet_fail(SIGNET_E_UNSUPPORTED,
                         "AVB accepts RSA-2048, RSA-4096 and RSA-8192 keys, not %d bits", bits);
        goto done;
    }
    if (!BN_is_word(e, 65537)) {
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "AVB accepts only RSA keys with exponent 65537");
        goto done;
    }
    /* n0inv = 2^32 - (n^-1 mod 2^32); n is odd, so the inverse exists. */
    b = BN_new();
    n0inv = BN_new();
    r = BN_new();
    rr = BN_new();
    if (!b || !n0inv || !r || !rr || !BN_set_bit(b, 32) || !BN_mod_inverse(n0inv, n, b, ctx) ||
        !BN_sub(n0inv, b, n0inv) || !BN_set_bit(r, bits) || !BN_mod_sqr(rr, r, n, ctx)) {
        rc = signet_fail(SIGNET_E_CRYPTO, "AVB key arithmetic failed");
        goto done;
    }
    if ((rc = sbw_u32(out, (uint32_t)bits)) == SIGNET_OK &&
        (rc = sbw_u32(out, (uint32_t)BN_get_word(n0inv))) == SIGNET_OK &&
        (rc = put_bn(out, n, bits / 8)) == SIGNET_OK)
        rc = put_bn(out, rr, bits / 8);
    if (rc != SIGNET_OK)
        sbw_free(out);
done:
    BN_free(n);
    BN_free(e);
    BN_free(b);
    BN_free(n0inv);
    BN_free(r);
    BN_free(rr);
    BN_CTX_free(ctx);
    return rc;
}

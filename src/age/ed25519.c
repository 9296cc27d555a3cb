/* Ed25519 keys used as X25519 keys, as age's ssh-ed25519 recipient type does.
 *
 * Public side: the birational map from the Edwards curve to the Montgomery curve,
 * u = (1 + y) / (1 - y) mod p, computed with BIGNUM (the key is public, so
 * variable-time arithmetic is fine).  Before converting, the encoding is checked to
 * be a point of the curve: y < p, and x^2 = (y^2 - 1) / (d y^2 + 1) has a square
 * root (Euler's criterion); y = 1 (the identity, u undefined) is refused.
 *
 * Secret side: the Ed25519 scalar is the first half of SHA-512(seed); X25519
 * clamps it the same way Ed25519 does. */
#include <string.h>

#include <openssl/bn.h>

#include "age_internal.h"
#include "signet/secmem.h"

signet_rc age_ed25519_to_x25519_secret(const uint8_t seed[32], uint8_t scalar[32])
{
    uint8_t h[64];
    signet_rc rc = age_sha512(seed, 32, h);
    if (rc == SIGNET_OK)
        memcpy(scalar, h, 32);
    smem_wipe(h, sizeof h);
    return rc;
}

signet_rc age_ed25519_to_x25519_public(const uint8_t ed[32], uint8_t out[32])
{
    uint8_t le[32];
    memcpy(le, ed, 32);
    int x_sign = le[31] >> 7;
    le[31] &= 0x7f;

    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = BN_new(), *y = BN_lebin2bn(le, 32, NULL), *one = BN_new(), *t = BN_new(),
           *num = BN_new(), *den = BN_new(), *d = BN_new(), *e = BN_new(), *u = BN_new();
    signet_rc rc = SIGNET_OK;
    int ok = ctx && p && y && one && t && num && den && d && e && u;
    /* p = 2^255 - 19 */
    ok = ok && BN_set_word(one, 1) && BN_lshift(p, one, 255) && BN_sub_word(p, 19);
    if (!ok) {
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory converting an Ed25519 key");
        goto out;
    }
    if (BN_cmp(y, p) >= 0) {
        rc = signet_fail(SIGNET_E_PARSE, "the Ed25519 public key is not canonically encoded");
        goto out;
    }
    if (BN_is_one(y)) {
        rc = signet_fail(SIGNET_E_PARSE, "the Ed25519 public key is the identity point, "
                                         "not a usable key");
        goto out;
    }
    /* d = -121665 / 121666 mod p */
    ok = BN_set_word(t, 121666) && BN_mod_inverse(d, t, p, ctx) && BN_set_word(t, 121665) &&
         BN_mod_mul(d, d, t, p, ctx) && BN_mod_sub(d, p, d, p, ctx);
    /* x^2 = (y^2 - 1) / (d y^2 + 1) */
    ok = ok && BN_mod_sqr(t, y, p, ctx) && BN_mod_sub(num, t, one, p, ctx) &&
         BN_mod_mul(den, d, t, p, ctx) && BN_mod_add(den, den, one, p, ctx) &&
         BN_mod_inverse(den, den, p, ctx) && BN_mod_mul(t, num, den, p, ctx);
    /* Euler: t^((p-1)/2) is 1 for a non-zero square, 0 for 0. */
    ok = ok && BN_copy(e, p) && BN_sub_word(e, 1) && BN_rshift1(e, e) &&
         BN_mod_exp(num, t, e, p, ctx);
    if (!ok) {
        rc = signet_fail(SIGNET_E_CRYPTO, "big-number arithmetic failed converting an Ed25519 key");
        goto out;
    }
    if (!(BN_is_one(num) || (BN_is_zero(t) && !x_sign))) {
        rc = signet_fail(SIGNET_E_PARSE, "the Ed25519 public key is not a point of the curve");
        goto out;
    }
    /* u = (1 + y) / (1 - y) */
    ok = BN_mod_sub(den, one, y, p, ctx) && BN_mod_inverse(den, den, p, ctx) &&
         BN_mod_add(num, one, y, p, ctx) && BN_mod_mul(u, num, den, p, ctx) &&
         BN_bn2lebinpad(u, out, 32) == 32;
    if (!ok)
        rc = signet_fail(SIGNET_E_CRYPTO, "big-number arithmetic failed converting an Ed25519 key");
out:
    BN_free(p); BN_free(y); BN_free(one); BN_free(t); BN_free(num);
    BN_free(den); BN_free(d); BN_free(e); BN_free(u);
    BN_CTX_free(ctx);
    return rc;
}

/* Shamir split and combine: see include/signet/sss.h. */
#include <stdint.h>
#include <string.h>

#include <openssl/rand.h>

#include "signet/secmem.h"
#include "sss_internal.h"

sss_share *sss_shares_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX / sizeof(sss_share))
        return NULL;
    return smem_alloc(n * sizeof(sss_share));
}

void sss_shares_free(sss_share *shares, size_t n)
{
    if (shares) {
        smem_wipe(shares, n * sizeof *shares);
        smem_free(shares);
    }
}

uint8_t sss_poly_eval(uint8_t c0, const uint8_t *c, unsigned deg, uint8_t x)
{
    uint8_t acc = 0;
    for (unsigned i = deg; i > 0; i--)
        acc = gf256_mul(acc, x) ^ c[i - 1];
    return gf256_mul(acc, x) ^ c0;
}

static signet_rc check_split_args(size_t len, unsigned t, unsigned n)
{
    if (len == 0 || len > SSS_MAX_SECRET)
        return signet_fail(SIGNET_E_ARG, "a secret to split must be 1 to %d bytes, not %zu",
                           SSS_MAX_SECRET, len);
    if (n < SSS_MIN_THRESHOLD || n > SSS_MAX_SHARES)
        return signet_fail(SIGNET_E_ARG,
                           "cannot make %u shares: the share format allows %d to %d shares",
                           n, SSS_MIN_THRESHOLD, SSS_MAX_SHARES);
    if (t < SSS_MIN_THRESHOLD || t > n)
        return signet_fail(SIGNET_E_ARG,
                           "threshold %u is not possible with %u shares: choose %d to %u "
                           "(a threshold of 1 would hand every holder the whole secret)",
                           t, n, SSS_MIN_THRESHOLD, n);
    return SIGNET_OK;
}

signet_rc sss_split_coeffs(const uint8_t *secret, size_t len, unsigned t, unsigned n,
                           const uint8_t *coeffs, sss_share *out)
{
    signet_rc rc = check_split_args(len, t, n);
    if (rc)
        return rc;
    for (unsigned s = 0; s < n; s++) {
        out[s].threshold = (uint8_t)t;
        out[s].index = (uint8_t)(s + 1);
        out[s].len = (uint16_t)len;
        memset(out[s].y, 0, sizeof out[s].y);
        for (size_t i = 0; i < len; i++)
            out[s].y[i] = sss_poly_eval(secret[i], coeffs + i * (t - 1), t - 1, (uint8_t)(s + 1));
    }
    return SIGNET_OK;
}

signet_rc sss_split(const uint8_t *secret, size_t len, unsigned t, unsigned n, sss_share *out)
{
    signet_rc rc = check_split_args(len, t, n);
    if (rc)
        return rc;
    size_t ncoeff = len * (t - 1);
    uint8_t *coeffs = smem_alloc(ncoeff);
    if (!coeffs)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory for %zu coefficients", ncoeff);
    if (RAND_priv_bytes(coeffs, (int)ncoeff) != 1) {
        smem_free(coeffs);
        return signet_fail(SIGNET_E_CRYPTO, "the random number generator failed: "
                                            "check that the system has entropy and retry");
    }
    rc = sss_split_coeffs(secret, len, t, n, coeffs, out);
    smem_free(coeffs); /* wipes */
    return rc;
}

/* Lagrange basis polynomials of the points xs[0..k-1], evaluated at x:
 * l_i(x) = prod_{j != i} (x - x_j) / (x_i - x_j); in GF(2^8) minus is xor.
 * The x coordinates are public, the arithmetic is constant time anyway. */
static void lagrange_at(const uint8_t *xs, size_t k, uint8_t x, uint8_t *l)
{
    for (size_t i = 0; i < k; i++) {
        uint8_t num = 1, den = 1;
        for (size_t j = 0; j < k; j++) {
            if (j == i)
                continue;
            num = gf256_mul(num, x ^ xs[j]);
            den = gf256_mul(den, xs[i] ^ xs[j]);
        }
        l[i] = gf256_mul(num, gf256_inv(den));
    }
}

static signet_rc check_shares(const sss_share *shares, size_t k)
{
    if (k == 0)
        return signet_fail(SIGNET_E_ARG, "no shares given: enter at least the threshold "
                                         "number of shares, one per line");
    const sss_share *first = &shares[0];
    for (size_t i = 0; i < k; i++) {
        const sss_share *s = &shares[i];
        if (s->threshold < SSS_MIN_THRESHOLD || s->threshold > SSS_MAX_SHARES ||
            s->index < 1 || s->index > SSS_MAX_SHARES || s->len == 0 || s->len > SSS_MAX_SECRET)
            return signet_fail(SIGNET_E_ARG, "share %zu is not a valid share", i + 1);
        if (s->threshold != first->threshold)
            return signet_fail(SIGNET_E_ARG,
                               "share %zu (index %u) needs %u shares but share 1 (index %u) "
                               "needs %u: the shares come from different splits",
                               i + 1, s->index, s->threshold, first->index, first->threshold);
        if (s->len != first->len)
            return signet_fail(SIGNET_E_ARG,
                               "share %zu (index %u) holds %u bytes but share 1 (index %u) "
                               "holds %u: the shares come from different secrets, or one is "
                               "truncated",
                               i + 1, s->index, s->len, first->index, first->len);
        for (size_t j = 0; j < i; j++)
            if (shares[j].index == s->index)
                return signet_fail(SIGNET_E_ARG,
                                   "shares %zu and %zu both have index %u: each share "
                                   "holder's share is different, enter each one once",
                                   j + 1, i + 1, s->index);
    }
    if (k < first->threshold)
        return signet_fail(SIGNET_E_ARG, "only %zu of the %u shares needed were given: "
                                         "collect %zu more",
                           k, first->threshold, first->threshold - k);
    return SIGNET_OK;
}

signet_rc sss_combine(const sss_share *shares, size_t k, sb_wr *secret_out)
{
    signet_rc rc = check_shares(shares, k);
    if (rc)
        return rc;
    size_t t = shares[0].threshold, len = shares[0].len;
    uint8_t xs[SSS_MAX_SHARES], l0[SSS_MAX_SHARES], lx[SSS_MAX_SHARES];
    for (size_t i = 0; i < t; i++)
        xs[i] = shares[i].index;

    /* Surplus shares must lie on the polynomial of the first t: compare all bytes
     * and decide once, so the time does not say which byte differed. */
    for (size_t e = t; e < k; e++) {
        lagrange_at(xs, t, shares[e].index, lx);
        uint8_t diff = 0;
        for (size_t b = 0; b < len; b++) {
            uint8_t v = 0;
            for (size_t i = 0; i < t; i++)
                v ^= gf256_mul(shares[i].y[b], lx[i]);
            diff |= v ^ shares[e].y[b];
        }
        if (diff)
            return signet_fail(SIGNET_E_VERIFY,
                               "share %zu (index %u) does not agree with the first %zu shares: "
                               "one of the shares was mistyped or belongs to another split; "
                               "retry with a different set of shares to find the bad one",
                               e + 1, shares[e].index, t);
    }

    lagrange_at(xs, t, 0, l0);
    uint8_t *dst;
    if ((rc = sbw_reserve(secret_out, len, &dst)) != SIGNET_OK)
        return rc;
    for (size_t b = 0; b < len; b++) {
        uint8_t v = 0;
        for (size_t i = 0; i < t; i++)
            v ^= gf256_mul(shares[i].y[b], l0[i]);
        dst[b] = v;
    }
    return SIGNET_OK;
}

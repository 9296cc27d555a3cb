/* Internals of the sss module, shared with its tests. */
#ifndef SIGNET_SSS_INTERNAL_H
#define SIGNET_SSS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "signet/sss.h"

/* GF(2^8) mod 0x11D.  Multiplication is a fixed sequence of shifts and masks
 * with no secret-dependent branch or table index (log/exp tables would index
 * memory by secret bytes, which leaks through the cache). */
uint8_t gf256_mul(uint8_t a, uint8_t b);
/* a^254 = a^-1 for a != 0, and 0 for 0; also branch-free. */
uint8_t gf256_inv(uint8_t a);

/* The deterministic core of sss_split: coeffs holds len * (t - 1) bytes, the
 * coefficients of x^1..x^(t-1) for secret byte 0, then byte 1, and so on (the
 * order rusty_secrets uses).  Arguments are checked as in sss_split. */
signet_rc sss_split_coeffs(const uint8_t *secret, size_t len, unsigned t, unsigned n,
                           const uint8_t *coeffs, sss_share *out);

/* Value at x of the polynomial with constant term c0 and coefficients
 * c[0..deg-1] for x^1..x^deg (Horner). */
uint8_t sss_poly_eval(uint8_t c0, const uint8_t *c, unsigned deg, uint8_t x);

#endif

/* Arithmetic in GF(2^8) with the reduction polynomial 0x11D, the field of
 * rusty_secrets and so of yubihsm-setup's shares.
 *
 * Constant time: multiplication runs the same eight shift/mask steps whatever
 * the operands, so neither timing nor memory access depends on secret bytes. */
#include "sss_internal.h"

uint8_t gf256_mul(uint8_t a, uint8_t b)
{
    uint8_t r = 0;
    for (int i = 0; i < 8; i++) {
        /* mask is 0xff when the low bit of b is set, else 0: no branch. */
        r ^= (uint8_t)(-(b & 1)) & a;
        b >>= 1;
        /* a *= x, reducing by x^8 = x^4+x^3+x^2+1 (0x1D) when the top bit falls out. */
        a = (uint8_t)((a << 1) ^ ((uint8_t)(-(a >> 7)) & 0x1D));
    }
    return r;
}

uint8_t gf256_inv(uint8_t a)
{
    /* The multiplicative group has order 255, so a^254 = a^-1; 0 maps to 0.
     * 254 = 0b11111110: square-and-multiply with a fixed schedule. */
    uint8_t r = 1, p = a;
    for (int i = 1; i < 8; i++) {
        p = gf256_mul(p, p); /* p = a^(2^i) */
        r = gf256_mul(r, p);
    }
    return r;
}

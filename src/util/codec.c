/* Strict hex and base64: see include/signet/buf.h. */
#include <string.h>

#include "signet/buf.h"

static const char HEX[] = "0123456789abcdef";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

signet_rc hex_encode(sb_wr *w, const uint8_t *p, size_t n)
{
    uint8_t *dst;
    signet_rc rc = sbw_reserve(w, 2 * n, &dst);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = (uint8_t)HEX[p[i] >> 4];
        dst[2 * i + 1] = (uint8_t)HEX[p[i] & 15];
    }
    return SIGNET_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

signet_rc hex_decode(sb_wr *w, const char *s, size_t slen)
{
    if (slen % 2)
        return signet_fail(SIGNET_E_PARSE, "hex string has an odd number of digits (%zu)", slen);
    uint8_t *dst;
    size_t start = w->len;
    signet_rc rc = sbw_reserve(w, slen / 2, &dst);
    if (rc)
        return rc;
    for (size_t i = 0; i < slen / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            w->len = start;
            return signet_fail(SIGNET_E_PARSE, "invalid hex digit at position %zu",
                               hi < 0 ? 2 * i : 2 * i + 1);
        }
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    return SIGNET_OK;
}

signet_rc b64_encode(sb_wr *w, const uint8_t *p, size_t n, bool pad)
{
    size_t full = n / 3, rem = n % 3;
    size_t outlen = full * 4 + (rem ? (pad ? 4 : rem + 1) : 0);
    uint8_t *d;
    signet_rc rc = sbw_reserve(w, outlen, &d);
    if (rc)
        return rc;
    for (size_t i = 0; i < full; i++, p += 3) {
        uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        *d++ = (uint8_t)B64[v >> 18];
        *d++ = (uint8_t)B64[(v >> 12) & 63];
        *d++ = (uint8_t)B64[(v >> 6) & 63];
        *d++ = (uint8_t)B64[v & 63];
    }
    if (rem) {
        uint32_t v = (uint32_t)p[0] << 16 | (rem == 2 ? (uint32_t)p[1] << 8 : 0);
        *d++ = (uint8_t)B64[v >> 18];
        *d++ = (uint8_t)B64[(v >> 12) & 63];
        if (rem == 2)
            *d++ = (uint8_t)B64[(v >> 6) & 63];
        else if (pad)
            *d++ = '=';
        if (pad)
            *d++ = '=';
    }
    return SIGNET_OK;
}

static int b64val(char c)
{
    const char *q = c ? strchr(B64, c) : NULL;
    return q ? (int)(q - B64) : -1;
}

signet_rc b64_decode(sb_wr *w, const char *s, size_t slen, bool pad)
{
    size_t npad = 0;
    if (pad) {
        if (slen % 4)
            return signet_fail(SIGNET_E_PARSE, "base64 length %zu is not a multiple of 4", slen);
        while (npad < 2 && slen > npad && s[slen - 1 - npad] == '=')
            npad++;
    }
    size_t n = slen - npad;
    if (n % 4 == 1)
        return signet_fail(SIGNET_E_PARSE, "base64 text has an impossible length (%zu)", slen);
    size_t start = w->len;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0) {
            w->len = start;
            return signet_fail(SIGNET_E_PARSE, "invalid base64 character at position %zu", i);
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            signet_rc rc = sbw_u8(w, (uint8_t)(acc >> bits));
            if (rc) {
                w->len = start;
                return rc;
            }
        }
    }
    if (pad && npad && (n % 4) + npad != 4) {
        w->len = start;
        return signet_fail(SIGNET_E_PARSE, "base64 padding is wrong");
    }
    /* Canonical: the unused low bits of the last character must be zero. */
    if (bits && (acc & ((1u << bits) - 1))) {
        w->len = start;
        return signet_fail(SIGNET_E_PARSE, "base64 text is not canonical (non-zero trailing bits)");
    }
    return SIGNET_OK;
}

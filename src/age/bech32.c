/* Bech32 (BIP 173), as age uses it: no 90-character limit, one case per string,
 * the checksum computed over the lower-case form. */
#include <string.h>

#include "age_internal.h"

static const char CHARSET[] = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

static uint32_t polymod_step(uint32_t chk, uint8_t v)
{
    static const uint32_t GEN[5] = {0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3};
    uint8_t top = (uint8_t)(chk >> 25);
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (int i = 0; i < 5; i++)
        if ((top >> i) & 1)
            chk ^= GEN[i];
    return chk;
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }
static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

static uint32_t hrp_checksum_start(const char *hrp, size_t n)
{
    uint32_t chk = 1;
    for (size_t i = 0; i < n; i++)
        chk = polymod_step(chk, (uint8_t)(lower(hrp[i]) >> 5));
    chk = polymod_step(chk, 0);
    for (size_t i = 0; i < n; i++)
        chk = polymod_step(chk, (uint8_t)(lower(hrp[i]) & 31));
    return chk;
}

signet_rc bech32_encode(sb_wr *out, const char *hrp, const uint8_t *data, size_t n, bool up)
{
    size_t hlen = strlen(hrp), start = out->len;
    uint32_t chk = hrp_checksum_start(hrp, hlen);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; i < hlen && !rc; i++)
        rc = sbw_u8(out, (uint8_t)(up ? upper(hrp[i]) : lower(hrp[i])));
    if (!rc)
        rc = sbw_u8(out, '1');
    /* 8-bit groups to 5-bit groups, zero-padding the last one. */
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i <= n && !rc; i++) {
        if (i < n) {
            acc = (acc << 8) | data[i];
            bits += 8;
        } else if (bits > 0) {
            acc <<= 5 - bits;
            bits = 5;
        }
        while (bits >= 5 && !rc) {
            bits -= 5;
            uint8_t v = (uint8_t)((acc >> bits) & 31);
            chk = polymod_step(chk, v);
            rc = sbw_u8(out, (uint8_t)(up ? upper(CHARSET[v]) : CHARSET[v]));
        }
    }
    for (int i = 0; i < 6; i++)
        chk = polymod_step(chk, 0);
    chk ^= 1;
    for (int i = 0; i < 6 && !rc; i++) {
        char c = CHARSET[(chk >> (5 * (5 - i))) & 31];
        rc = sbw_u8(out, (uint8_t)(up ? upper(c) : c));
    }
    acc = 0;
    if (rc)
        out->len = start;
    return rc;
}

static int charval(char c)
{
    const char *q = c ? strchr(CHARSET, lower(c)) : NULL;
    return q ? (int)(q - CHARSET) : -1;
}

signet_rc bech32_decode(const char *s, size_t len, char *hrp, size_t hrp_cap, sb_wr *data)
{
    bool has_lower = false, has_upper = false;
    size_t sep = len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 33 || c > 126)
            return signet_fail(SIGNET_E_PARSE, "Bech32 string has an invalid character at "
                                               "position %zu",
                               i);
        has_lower |= c >= 'a' && c <= 'z';
        has_upper |= c >= 'A' && c <= 'Z';
        if (c == '1')
            sep = i; /* the last '1' separates HRP and data */
    }
    if (has_lower && has_upper)
        return signet_fail(SIGNET_E_PARSE, "Bech32 string mixes upper and lower case");
    if (sep == len || sep == 0 || len - sep - 1 < 6)
        return signet_fail(SIGNET_E_PARSE, "Bech32 string has no separator, HRP or checksum");
    if (sep >= hrp_cap)
        return signet_fail(SIGNET_E_PARSE, "Bech32 HRP is too long");
    for (size_t i = 0; i < sep; i++)
        hrp[i] = lower(s[i]);
    hrp[sep] = 0;

    uint32_t chk = hrp_checksum_start(s, sep);
    size_t ndata = len - sep - 1 - 6, start = data->len;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = sep + 1; i < len; i++) {
        int v = charval(s[i]);
        if (v < 0) {
            data->len = start;
            return signet_fail(SIGNET_E_PARSE, "Bech32 string has an invalid character at "
                                               "position %zu",
                               i);
        }
        chk = polymod_step(chk, (uint8_t)v);
        if (i - sep - 1 < ndata) {
            acc = (acc << 5) | (uint32_t)v;
            bits += 5;
            if (bits >= 8) {
                bits -= 8;
                signet_rc rc = sbw_u8(data, (uint8_t)(acc >> bits));
                if (rc) {
                    data->len = start;
                    return rc;
                }
            }
        }
    }
    /* At most 4 padding bits, all zero: anything else is not a canonical encoding. */
    int bad_padding = bits >= 5 || (acc & ((1u << bits) - 1)) != 0;
    acc = 0;
    if (chk != 1) {
        data->len = start;
        return signet_fail(SIGNET_E_PARSE, "Bech32 checksum does not match: the key was "
                                           "mistyped or truncated");
    }
    if (bad_padding) {
        data->len = start;
        return signet_fail(SIGNET_E_PARSE, "Bech32 data has non-zero padding bits");
    }
    return SIGNET_OK;
}

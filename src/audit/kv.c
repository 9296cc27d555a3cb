/* key=value words: the syntax of every trail line (see audit_internal.h). */
#include <string.h>

#include "audit_internal.h"

static bool safe_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("._~/:+=@,-", c) != NULL;
}

static signet_rc put_key(sb_wr *w, const char *key)
{
    /* Words are separated by one space; a line starts after a newline. */
    signet_rc rc = w->len && w->p[w->len - 1] != '\n' ? sbw_u8(w, ' ') : SIGNET_OK;
    if (rc == SIGNET_OK)
        rc = sbw_str(w, key);
    return rc ? rc : sbw_u8(w, '=');
}

signet_rc kv_put_str(sb_wr *w, const char *key, const char *val)
{
    static const char HEX[] = "0123456789ABCDEF";
    signet_rc rc = put_key(w, key);
    for (const unsigned char *p = (const unsigned char *)val; rc == SIGNET_OK && *p; p++) {
        if (safe_char(*p) && *p) {
            rc = sbw_u8(w, *p);
        } else {
            uint8_t e[3] = {'%', (uint8_t)HEX[*p >> 4], (uint8_t)HEX[*p & 15]};
            rc = sbw_put(w, e, 3);
        }
    }
    return rc;
}

signet_rc kv_put_u64(sb_wr *w, const char *key, uint64_t v)
{
    signet_rc rc = put_key(w, key);
    return rc ? rc : sbw_printf(w, "%llu", (unsigned long long)v);
}

signet_rc kv_put_hex16(sb_wr *w, const char *key, uint16_t v)
{
    signet_rc rc = put_key(w, key);
    return rc ? rc : sbw_printf(w, "0x%04x", v);
}

signet_rc kv_put_hex8(sb_wr *w, const char *key, uint8_t v)
{
    signet_rc rc = put_key(w, key);
    return rc ? rc : sbw_printf(w, "0x%02x", v);
}

signet_rc kv_put_hexbytes(sb_wr *w, const char *key, const uint8_t *p, size_t n)
{
    signet_rc rc = put_key(w, key);
    return rc ? rc : hex_encode(w, p, n);
}

signet_rc kv_put_b64(sb_wr *w, const char *key, const uint8_t *p, size_t n)
{
    signet_rc rc = put_key(w, key);
    return rc ? rc : b64_encode(w, p, n, true);
}

signet_rc kv_put_u64_list(sb_wr *w, const char *key, const uint64_t *v, size_t n)
{
    signet_rc rc = put_key(w, key);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        rc = sbw_printf(w, i ? ",%llu" : "%llu", (unsigned long long)v[i]);
    return rc;
}

signet_rc kv_parse(const char *line, size_t len, kv_line *out)
{
    out->n = 0;
    size_t pos = 0;
    if (len == 0)
        return signet_fail(SIGNET_E_PARSE, "empty line");
    while (pos <= len) {
        const char *w = line + pos;
        const char *sp = memchr(w, ' ', len - pos);
        size_t wl = sp ? (size_t)(sp - w) : len - pos;
        const char *eq = memchr(w, '=', wl);
        if (wl == 0)
            return signet_fail(SIGNET_E_PARSE, "empty word at column %zu", pos + 1);
        if (!eq || eq == w)
            return signet_fail(SIGNET_E_PARSE, "word at column %zu is not key=value", pos + 1);
        size_t kl = (size_t)(eq - w);
        for (size_t i = 0; i < kl; i++)
            if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') || w[i] == '_'))
                return signet_fail(SIGNET_E_PARSE, "bad key at column %zu", pos + 1);
        for (size_t i = 0; i < out->n; i++)
            if (out->f[i].klen == kl && memcmp(out->f[i].key, w, kl) == 0)
                return signet_fail(SIGNET_E_PARSE, "key '%.*s' appears twice", (int)kl, w);
        if (out->n == KV_MAX_FIELDS)
            return signet_fail(SIGNET_E_PARSE, "more than %d words", KV_MAX_FIELDS);
        out->f[out->n++] = (kv_field){w, kl, eq + 1, wl - kl - 1, false};
        if (!sp)
            break;
        pos += wl + 1;
    }
    return SIGNET_OK;
}

const kv_field *kv_find(kv_line *l, const char *key)
{
    size_t kl = strlen(key);
    for (size_t i = 0; i < l->n; i++)
        if (l->f[i].klen == kl && memcmp(l->f[i].key, key, kl) == 0) {
            l->f[i].used = true;
            return &l->f[i];
        }
    return NULL;
}

static signet_rc absent(const char *key, bool required)
{
    if (required)
        return signet_fail(SIGNET_E_PARSE, "'%s=' is missing", key);
    return SIGNET_E_NOTFOUND;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

signet_rc kv_get_str(kv_line *l, const char *key, bool required, char *out, size_t cap)
{
    const kv_field *f = kv_find(l, key);
    if (!f)
        return absent(key, required);
    size_t o = 0;
    for (size_t i = 0; i < f->vlen; i++) {
        unsigned char c = (unsigned char)f->val[i];
        if (c == '%') {
            if (i + 2 >= f->vlen)
                return signet_fail(SIGNET_E_PARSE, "'%s=' ends inside a %% escape", key);
            int hi = hexval(f->val[i + 1]), lo = hexval(f->val[i + 2]);
            if (hi < 0 || lo < 0)
                return signet_fail(SIGNET_E_PARSE, "'%s=' has a bad %% escape", key);
            c = (unsigned char)(hi << 4 | lo);
            if (c == 0 || safe_char(c))
                return signet_fail(SIGNET_E_PARSE, "'%s=' escapes a character that needs none", key);
            i += 2;
        } else if (!safe_char(c)) {
            return signet_fail(SIGNET_E_PARSE, "'%s=' holds an unescaped character 0x%02x", key, c);
        }
        if (o + 1 >= cap)
            return signet_fail(SIGNET_E_PARSE, "'%s=' is longer than %zu bytes", key, cap - 1);
        out[o++] = (char)c;
    }
    out[o] = 0;
    return SIGNET_OK;
}

signet_rc kv_get_u64(kv_line *l, const char *key, bool required, uint64_t *out)
{
    const kv_field *f = kv_find(l, key);
    if (!f)
        return absent(key, required);
    if (f->vlen == 0 || f->vlen > 20 || (f->vlen > 1 && f->val[0] == '0'))
        return signet_fail(SIGNET_E_PARSE, "'%s=' is not a canonical decimal number", key);
    uint64_t v = 0;
    for (size_t i = 0; i < f->vlen; i++) {
        if (f->val[i] < '0' || f->val[i] > '9')
            return signet_fail(SIGNET_E_PARSE, "'%s=' is not a decimal number", key);
        uint64_t d = (uint64_t)(f->val[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return signet_fail(SIGNET_E_PARSE, "'%s=' does not fit 64 bits", key);
        v = v * 10 + d;
    }
    *out = v;
    return SIGNET_OK;
}

signet_rc kv_get_u32(kv_line *l, const char *key, bool required, uint32_t *out)
{
    uint64_t v;
    signet_rc rc = kv_get_u64(l, key, required, &v);
    if (rc)
        return rc;
    if (v > UINT32_MAX)
        return signet_fail(SIGNET_E_PARSE, "'%s=' does not fit 32 bits", key);
    *out = (uint32_t)v;
    return SIGNET_OK;
}

/* "0x" and exactly `digits` lower-case hex digits. */
static signet_rc get_fixed_hex(kv_line *l, const char *key, bool required, unsigned digits,
                               uint32_t *out)
{
    const kv_field *f = kv_find(l, key);
    if (!f)
        return absent(key, required);
    if (f->vlen != digits + 2 || f->val[0] != '0' || f->val[1] != 'x')
        return signet_fail(SIGNET_E_PARSE, "'%s=' must be 0x and %u hex digits", key, digits);
    uint32_t v = 0;
    for (unsigned i = 0; i < digits; i++) {
        char c = f->val[2 + i];
        int d = hexval(c);
        if (d < 0 || (c >= 'A' && c <= 'F'))
            return signet_fail(SIGNET_E_PARSE, "'%s=' must be lower-case hex", key);
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return SIGNET_OK;
}

signet_rc kv_get_hex16(kv_line *l, const char *key, bool required, uint16_t *out)
{
    uint32_t v;
    signet_rc rc = get_fixed_hex(l, key, required, 4, &v);
    if (rc == SIGNET_OK)
        *out = (uint16_t)v;
    return rc;
}

signet_rc kv_get_hex8(kv_line *l, const char *key, bool required, uint8_t *out)
{
    uint32_t v;
    signet_rc rc = get_fixed_hex(l, key, required, 2, &v);
    if (rc == SIGNET_OK)
        *out = (uint8_t)v;
    return rc;
}

signet_rc kv_get_hexbytes(kv_line *l, const char *key, bool required, uint8_t *out, size_t n)
{
    const kv_field *f = kv_find(l, key);
    if (!f)
        return absent(key, required);
    if (f->vlen != 2 * n)
        return signet_fail(SIGNET_E_PARSE, "'%s=' must be %zu hex digits", key, 2 * n);
    for (size_t i = 0; i < f->vlen; i++)
        if (f->val[i] >= 'A' && f->val[i] <= 'F')
            return signet_fail(SIGNET_E_PARSE, "'%s=' must be lower-case hex", key);
    sb_wr w;
    sbw_init_fixed(&w, out, n);
    signet_rc rc = hex_decode(&w, f->val, f->vlen);
    return rc ? signet_wrap(rc, "'%s='", key) : SIGNET_OK;
}

signet_rc kv_get_b64(kv_line *l, const char *key, bool required, uint8_t *out, size_t cap, size_t *n)
{
    const kv_field *f = kv_find(l, key);
    if (!f)
        return absent(key, required);
    sb_wr w;
    sbw_init_fixed(&w, out, cap);
    signet_rc rc = b64_decode(&w, f->val, f->vlen, true);
    if (rc)
        return signet_wrap(rc, "'%s='", key);
    *n = w.len;
    return SIGNET_OK;
}

signet_rc kv_get_u64_list(kv_line *l, const char *key, bool required, uint64_t *out, size_t cap,
                          size_t *n)
{
    const kv_field *f = kv_find(l, key);
    if (!f)
        return absent(key, required);
    size_t count = 0, pos = 0;
    while (pos <= f->vlen) {
        const char *p = f->val + pos;
        const char *comma = memchr(p, ',', f->vlen - pos);
        size_t wl = comma ? (size_t)(comma - p) : f->vlen - pos;
        if (wl == 0 || wl > 20 || (wl > 1 && p[0] == '0'))
            return signet_fail(SIGNET_E_PARSE, "'%s=' item %zu is not a canonical decimal number", key,
                               count + 1);
        uint64_t v = 0;
        for (size_t i = 0; i < wl; i++) {
            if (p[i] < '0' || p[i] > '9')
                return signet_fail(SIGNET_E_PARSE, "'%s=' item %zu is not a decimal number", key, count + 1);
            uint64_t d = (uint64_t)(p[i] - '0');
            if (v > (UINT64_MAX - d) / 10)
                return signet_fail(SIGNET_E_PARSE, "'%s=' item %zu does not fit 64 bits", key, count + 1);
            v = v * 10 + d;
        }
        if (count == cap)
            return signet_fail(SIGNET_E_PARSE, "'%s=' lists more than %zu numbers", key, cap);
        if (count && v <= out[count - 1])
            return signet_fail(SIGNET_E_PARSE, "'%s=' must list numbers in increasing order", key);
        out[count++] = v;
        if (!comma)
            break;
        pos += wl + 1;
    }
    *n = count;
    return SIGNET_OK;
}

signet_rc kv_check_used(const kv_line *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (!l->f[i].used)
            return signet_fail(SIGNET_E_PARSE, "unknown key '%.*s='", (int)l->f[i].klen, l->f[i].key);
    return SIGNET_OK;
}

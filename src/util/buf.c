/* Bounds-checked reader and writer: see include/signet/buf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/buf.h"
#include "signet/secmem.h"

static signet_rc short_input(const sb_rd *r, size_t need)
{
    return signet_fail(SIGNET_E_PARSE, "truncated input: need %zu bytes, have %zu", need,
                       r->len - r->pos);
}

void sbr_init(sb_rd *r, const void *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
}

size_t sbr_left(const sb_rd *r) { return r->len - r->pos; }
const uint8_t *sbr_cur(const sb_rd *r) { return r->p + r->pos; }

signet_rc sbr_ptr(sb_rd *r, const uint8_t **out, size_t n)
{
    if (n > r->len - r->pos)
        return short_input(r, n);
    if (out)
        *out = r->p + r->pos;
    r->pos += n;
    return SIGNET_OK;
}

signet_rc sbr_copy(sb_rd *r, void *out, size_t n)
{
    const uint8_t *p;
    signet_rc rc = sbr_ptr(r, &p, n);
    if (rc == SIGNET_OK && n)
        memcpy(out, p, n);
    return rc;
}

signet_rc sbr_skip(sb_rd *r, size_t n) { return sbr_ptr(r, NULL, n); }

signet_rc sbr_sub(sb_rd *r, sb_rd *sub, size_t n)
{
    const uint8_t *p;
    signet_rc rc = sbr_ptr(r, &p, n);
    if (rc == SIGNET_OK)
        sbr_init(sub, p, n);
    return rc;
}

signet_rc sbr_u8(sb_rd *r, uint8_t *v) { return sbr_copy(r, v, 1); }

#define READ_BE(name, type, n, conv)                         \
    signet_rc name(sb_rd *r, type *v)                        \
    {                                                        \
        const uint8_t *p;                                    \
        signet_rc rc = sbr_ptr(r, &p, n);                    \
        if (rc == SIGNET_OK)                                 \
            *v = conv(p);                                    \
        return rc;                                           \
    }
READ_BE(sbr_u16, uint16_t, 2, be16)
READ_BE(sbr_u32, uint32_t, 4, be32)
READ_BE(sbr_u64, uint64_t, 8, be64)
READ_BE(sbr_u16_le, uint16_t, 2, le16)
READ_BE(sbr_u32_le, uint32_t, 4, le32)
READ_BE(sbr_u64_le, uint64_t, 8, le64)

signet_rc sbr_sshstr(sb_rd *r, const uint8_t **out, size_t *n)
{
    size_t save = r->pos;
    uint32_t len;
    signet_rc rc = sbr_u32(r, &len);
    if (rc == SIGNET_OK && (rc = sbr_ptr(r, out, len)) == SIGNET_OK) {
        *n = len;
        return SIGNET_OK;
    }
    r->pos = save;
    return rc;
}

signet_rc sbr_end(const sb_rd *r)
{
    if (r->pos != r->len)
        return signet_fail(SIGNET_E_PARSE, "%zu unexpected trailing bytes", r->len - r->pos);
    return SIGNET_OK;
}

void sbw_init(sb_wr *w, size_t max)
{
    memset(w, 0, sizeof *w);
    w->max = max;
}

void sbw_init_secure(sb_wr *w, size_t max)
{
    sbw_init(w, max);
    w->secure = true;
}

void sbw_init_fixed(sb_wr *w, void *mem, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->p = mem;
    w->cap = w->max = cap;
    w->fixed = true;
}

void sbw_free(sb_wr *w)
{
    if (!w->fixed) {
        if (w->secure)
            smem_free(w->p);
        else
            free(w->p);
        w->p = NULL;
        w->cap = 0;
    }
    w->len = 0;
}

void sbw_reset(sb_wr *w)
{
    if (w->secure && w->p)
        smem_wipe(w->p, w->cap);
    w->len = 0;
}

signet_rc sbw_reserve(sb_wr *w, size_t n, uint8_t **out)
{
    if (n > w->max || w->len > w->max - n)
        return signet_fail(SIGNET_E_PARSE, "output would exceed its limit of %zu bytes", w->max);
    if (w->len + n > w->cap) {
        if (w->fixed)
            return signet_fail(SIGNET_E_PARSE, "output buffer of %zu bytes is too small", w->cap);
        size_t ncap = w->cap ? w->cap : 64;
        while (ncap < w->len + n)
            ncap = ncap > w->max / 2 ? w->max : ncap * 2;
        uint8_t *np = w->secure ? smem_realloc(w->p, ncap) : realloc(w->p, ncap);
        if (!np)
            return signet_fail(SIGNET_E_NOMEM, "out of memory growing a buffer to %zu bytes", ncap);
        w->p = np;
        w->cap = ncap;
    }
    if (out) /* an empty writer has no memory yet: a zero-length reserve gets NULL */
        *out = w->p ? w->p + w->len : NULL;
    w->len += n;
    return SIGNET_OK;
}

signet_rc sbw_put(sb_wr *w, const void *p, size_t n)
{
    uint8_t *dst;
    signet_rc rc = sbw_reserve(w, n, &dst);
    if (rc == SIGNET_OK && n)
        memcpy(dst, p, n);
    return rc;
}

signet_rc sbw_zero(sb_wr *w, size_t n)
{
    uint8_t *dst;
    signet_rc rc = sbw_reserve(w, n, &dst);
    if (rc == SIGNET_OK && n)
        memset(dst, 0, n);
    return rc;
}

signet_rc sbw_u8(sb_wr *w, uint8_t v) { return sbw_put(w, &v, 1); }
signet_rc sbw_u16(sb_wr *w, uint16_t v) { uint8_t b[2]; put_be16(b, v); return sbw_put(w, b, 2); }
signet_rc sbw_u32(sb_wr *w, uint32_t v) { uint8_t b[4]; put_be32(b, v); return sbw_put(w, b, 4); }
signet_rc sbw_u64(sb_wr *w, uint64_t v) { uint8_t b[8]; put_be64(b, v); return sbw_put(w, b, 8); }
signet_rc sbw_u16_le(sb_wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    return sbw_put(w, b, 2);
}
signet_rc sbw_u32_le(sb_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return sbw_put(w, b, 4);
}
signet_rc sbw_u64_le(sb_wr *w, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    return sbw_put(w, b, 8);
}

signet_rc sbw_str(sb_wr *w, const char *s) { return sbw_put(w, s, strlen(s)); }

signet_rc sbw_printf(sb_wr *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return signet_fail(SIGNET_E_ARG, "bad format string");
    uint8_t *dst;
    /* vsnprintf writes a NUL: reserve it, then drop it from the length. */
    signet_rc rc = sbw_reserve(w, (size_t)n + 1, &dst);
    if (rc != SIGNET_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    w->len--;
    return SIGNET_OK;
}

signet_rc sbw_sshstr(sb_wr *w, const void *p, size_t n)
{
    if (n > UINT32_MAX)
        return signet_fail(SIGNET_E_ARG, "string too long");
    signet_rc rc = sbw_u32(w, (uint32_t)n);
    return rc ? rc : sbw_put(w, p, n);
}

/* The target-files zip on bytes in memory: its member names and META files (for the
 * plan), and the output writer (entries copied record for record, new entries
 * stored with AOSP's fixed 2009-01-01 timestamp, a fresh central directory). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "release_internal.h"

#define META_MAX (64u << 20)
#define DOS_TIME 0
#define DOS_DATE ((2009 - 1980) << 9 | 1 << 5 | 1) /* 2009-01-01, as releasetools */

void signet_tf_free(signet_tf *tf)
{
    for (size_t i = 0; i < tf->n; i++)
        free(tf->names[i]);
    free(tf->names);
    signet_zip_free(&tf->z);
    signet_tf_meta_free(&tf->meta);
    memset(tf, 0, sizeof *tf);
}

static signet_rc meta_file(signet_tf *tf, const char *name, bool required,
                           signet_rc (*parse)(const char *, size_t, signet_tf_meta *))
{
    const signet_zip_entry *e = signet_zip_find(&tf->z, name);
    if (!e)
        return required ? signet_fail(SIGNET_E_NOTFOUND, "the package has no %s: is it a "
                                                         "target-files zip?", name)
                        : SIGNET_OK;
    sb_wr w;
    sbw_init(&w, META_MAX);
    signet_rc rc = signet_zip_extract(&tf->z, e, META_MAX, &w);
    if (rc == SIGNET_OK)
        rc = parse((const char *)w.p, w.len, &tf->meta);
    sbw_free(&w);
    return rc;
}

signet_rc signet_tf_open(const uint8_t *data, size_t len, signet_tf *tf)
{
    memset(tf, 0, sizeof *tf);
    signet_tf_meta_init(&tf->meta);
    signet_rc rc = signet_zip_parse(data, len, &tf->z);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "target-files zip");
    tf->names = calloc(tf->z.n ? tf->z.n : 1, sizeof *tf->names);
    if (!tf->names)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SIGNET_OK && i < tf->z.n; i++) {
        const signet_zip_entry *e = &tf->z.e[i];
        if (memchr(e->name, 0, e->name_len))
            rc = signet_fail(SIGNET_E_PARSE, "a member name holds a NUL byte");
        else if (!(tf->names[i] = rl_strndup((const char *)e->name, e->name_len)))
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        tf->n = i + 1;
    }
    if (rc == SIGNET_OK)
        rc = meta_file(tf, "META/apkcerts.txt", true, signet_apkcerts_parse);
    if (rc == SIGNET_OK)
        rc = meta_file(tf, "META/apexkeys.txt", false, signet_apexkeys_parse);
    if (rc == SIGNET_OK)
        rc = meta_file(tf, "META/misc_info.txt", true, signet_misc_info_parse);
    if (rc != SIGNET_OK)
        signet_tf_free(tf);
    return rc;
}

/* ---- output ----------------------------------------------------------------- */

void rl_zw_init(rl_zw *w)
{
    sbw_init(&w->data, (size_t)0xffffffffu);
    sbw_init(&w->cd, (size_t)0xffffffffu);
    w->count = 0;
}

void rl_zw_free(rl_zw *w)
{
    sbw_free(&w->data);
    sbw_free(&w->cd);
}

static signet_rc room(rl_zw *w)
{
    if (w->count == 0xffff || w->data.len >= 0xffffffffu)
        return signet_fail(SIGNET_E_UNSUPPORTED, "the output needs ZIP64 (more than 65535 "
                                                 "entries or 4 GiB), which signet does not write");
    return SIGNET_OK;
}

signet_rc rl_zw_copy(rl_zw *w, const signet_zip *z, const signet_zip_entry *e)
{
    signet_rc rc = room(w);
    uint32_t off = (uint32_t)w->data.len;
    if (rc == SIGNET_OK)
        rc = signet_zip_put_record(z, e, e->extra, e->extra_len, &w->data);
    if (rc == SIGNET_OK)
        rc = signet_zip_put_cd(e, off, &w->cd);
    if (rc == SIGNET_OK)
        w->count++;
    return rc;
}

signet_rc rl_zw_stored(rl_zw *w, const char *name, const uint8_t *p, size_t n)
{
    signet_rc rc = room(w);
    if (rc == SIGNET_OK)
        rc = signet_zip_put_stored(name, p, n, DOS_TIME, DOS_DATE, (uint32_t)w->data.len,
                                   &w->data, &w->cd);
    if (rc == SIGNET_OK)
        w->count++;
    return rc;
}

signet_rc rl_zw_copy_aligned(rl_zw *w, const signet_zip *z, const signet_zip_entry *e,
                             unsigned align)
{
    if (e->method != SIGNET_ZIP_STORED)
        return rl_zw_copy(w, z, e);
    signet_rc rc = room(w);
    uint32_t off = (uint32_t)w->data.len;
    sb_wr extra;
    sbw_init(&extra, 0x10000);
    if (rc == SIGNET_OK)
        rc = signet_zip_align_extra(e->extra, e->extra_len,
                                    (uint64_t)off + SIGNET_ZIP_LFH_LEN + e->name_len, align, false,
                                    &extra);
    if (rc == SIGNET_OK)
        rc = signet_zip_put_record(z, e, extra.p, extra.len, &w->data);
    if (rc == SIGNET_OK)
        rc = signet_zip_put_cd(e, off, &w->cd);
    if (rc == SIGNET_OK)
        w->count++;
    sbw_free(&extra);
    return rc;
}

/* Deflate at level 9 into out: raw (window_bits -MAX_WBITS) or gzip (16 + MAX_WBITS). */
static signet_rc deflate_level9(const uint8_t *p, size_t n, int window_bits, sb_wr *out)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return signet_fail(SIGNET_E_NOMEM, "zlib could not start");
    uLong bound = deflateBound(&s, (uLong)n) + 64;
    uint8_t *dst;
    signet_rc rc = sbw_reserve(out, (size_t)bound, &dst);
    if (rc == SIGNET_OK) {
        s.next_in = (Bytef *)p;
        s.avail_in = (uInt)n;
        s.next_out = dst;
        s.avail_out = (uInt)bound;
        if (deflate(&s, Z_FINISH) != Z_STREAM_END)
            rc = signet_fail(SIGNET_E_CRYPTO, "compression failed");
        out->len -= s.avail_out;
    }
    deflateEnd(&s);
    return rc;
}

static signet_rc deflate_raw(const uint8_t *p, size_t n, sb_wr *out)
{
    return deflate_level9(p, n, -MAX_WBITS, out);
}

static signet_rc header(sb_wr *o, bool cd, uint16_t method, uint32_t crc, size_t clen, size_t n,
                        const char *name, size_t nlen, uint32_t off)
{
    signet_rc rc = sbw_u32_le(o, cd ? SIGNET_ZIP_CDH_SIG : SIGNET_ZIP_LFH_SIG);
    if (cd && rc == SIGNET_OK)
        rc = sbw_u16_le(o, 20); /* made by */
    rc = rc ? rc : sbw_u16_le(o, 20); /* needed: 2.0 for deflate */
    rc = rc ? rc : sbw_u16_le(o, 0);
    rc = rc ? rc : sbw_u16_le(o, method);
    rc = rc ? rc : sbw_u16_le(o, DOS_TIME);
    rc = rc ? rc : sbw_u16_le(o, DOS_DATE);
    rc = rc ? rc : sbw_u32_le(o, crc);
    rc = rc ? rc : sbw_u32_le(o, (uint32_t)clen);
    rc = rc ? rc : sbw_u32_le(o, (uint32_t)n);
    rc = rc ? rc : sbw_u16_le(o, (uint16_t)nlen);
    rc = rc ? rc : sbw_u16_le(o, 0); /* extra */
    if (cd) {
        rc = rc ? rc : sbw_zero(o, 2 + 2 + 2 + 4); /* comment, disk, attributes */
        rc = rc ? rc : sbw_u32_le(o, off);
    }
    return rc ? rc : sbw_put(o, name, nlen);
}

signet_rc rl_zw_deflated(rl_zw *w, const char *name, const uint8_t *p, size_t n)
{
    size_t nlen = strlen(name);
    if (nlen > 0xffff || n >= 0xffffffffu)
        return signet_fail(SIGNET_E_UNSUPPORTED, "entry '%s' needs ZIP64", name);
    signet_rc rc = room(w);
    sb_wr d;
    sbw_init(&d, (size_t)0xffffffffu);
    if (rc == SIGNET_OK)
        rc = deflate_raw(p, n, &d);
    bool store = rc == SIGNET_OK && d.len >= n;
    const uint8_t *data = store ? p : d.p;
    size_t clen = store ? n : d.len;
    uint16_t method = store ? SIGNET_ZIP_STORED : SIGNET_ZIP_DEFLATED;
    uint32_t crc = (uint32_t)crc32(0L, p, (uInt)n);
    uint32_t off = (uint32_t)w->data.len;
    if (rc == SIGNET_OK && w->data.len + clen + nlen + SIGNET_ZIP_LFH_LEN >= 0xffffffffu)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the output needs ZIP64, which signet does not "
                                               "write");
    if (rc == SIGNET_OK)
        rc = header(&w->data, false, method, crc, clen, n, name, nlen, 0);
    if (rc == SIGNET_OK)
        rc = sbw_put(&w->data, data, clen);
    if (rc == SIGNET_OK)
        rc = header(&w->cd, true, method, crc, clen, n, name, nlen, off);
    if (rc == SIGNET_OK)
        w->count++;
    sbw_free(&d);
    return rc;
}

signet_rc rl_zw_finish(rl_zw *w, sb_wr *out)
{
    uint32_t cd_off = (uint32_t)w->data.len;
    signet_rc rc = sbw_put(out, w->data.p, w->data.len);
    if (rc == SIGNET_OK)
        rc = sbw_put(out, w->cd.p, w->cd.len);
    /* End of central directory, no comment. */
    if (rc == SIGNET_OK)
        rc = sbw_u32_le(out, SIGNET_ZIP_EOCD_SIG);
    if (rc == SIGNET_OK)
        rc = sbw_zero(out, 4);
    if (rc == SIGNET_OK)
        rc = sbw_u16_le(out, w->count);
    if (rc == SIGNET_OK)
        rc = sbw_u16_le(out, w->count);
    if (rc == SIGNET_OK)
        rc = sbw_u32_le(out, (uint32_t)w->cd.len);
    if (rc == SIGNET_OK)
        rc = sbw_u32_le(out, cd_off);
    if (rc == SIGNET_OK)
        rc = sbw_u16_le(out, 0);
    return rc;
}

/* ---- gzip (.apk.gz) ------------------------------------------------------------- */

signet_rc rl_gunzip(const uint8_t *p, size_t n, size_t max, sb_wr *out)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
        return signet_fail(SIGNET_E_NOMEM, "zlib could not start");
    s.next_in = (Bytef *)p;
    s.avail_in = (uInt)n;
    signet_rc rc = SIGNET_OK;
    int zr = Z_OK;
    while (rc == SIGNET_OK && zr != Z_STREAM_END) {
        uint8_t *dst;
        if (out->len + 65536 > max) {
            rc = signet_fail(SIGNET_E_PARSE, "gzip data inflates beyond %zu bytes", max);
            break;
        }
        if ((rc = sbw_reserve(out, 65536, &dst)) != SIGNET_OK)
            break;
        s.next_out = dst;
        s.avail_out = 65536;
        zr = inflate(&s, Z_NO_FLUSH);
        out->len -= s.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END)
            rc = signet_fail(SIGNET_E_PARSE, "gzip data is corrupt");
        else if (zr == Z_OK && s.avail_in == 0 && s.avail_out != 0)
            rc = signet_fail(SIGNET_E_PARSE, "gzip data is truncated");
    }
    if (rc == SIGNET_OK && s.avail_in != 0)
        rc = signet_fail(SIGNET_E_PARSE, "%u bytes after the gzip stream", s.avail_in);
    inflateEnd(&s);
    return rc;
}

signet_rc rl_gzip(const uint8_t *p, size_t n, sb_wr *out)
{
    return deflate_level9(p, n, 16 + MAX_WBITS, out);
}

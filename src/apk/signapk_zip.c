/* The ZIP archive signapk.jar writes (SignApk.copyFiles through
 * java.util.jar.JarOutputStream, OpenJDK 17, system zlib):
 *
 *   - entries sorted by name; directories, duplicates' second copies never
 *     (duplicates are refused) and, in OTA mode, old signature files dropped;
 *   - stored entries first: the local header's extra field is the alignment
 *     field 0xd935 (alignment, zero padding), after the 0xcafe marker JarOutputStream
 *     puts on the first entry; version 10, flag 0x0800 (UTF-8 names); a Unix input
 *     entry keeps its permission bits (made-by 3.10, external attributes).  The
 *     padding comes from SignApk's own running offset, which counts each name in
 *     UTF-16 units (String.length()), not in bytes: with non-ASCII names the data
 *     of later entries is not aligned in the file, and signet pads as SignApk does;
 *   - then the other entries, inflated and deflated again (zlib level 6 for OTA
 *     packages, 9 for APKs) with a data descriptor: version 20, flags 0x0808;
 *   - every entry dated 2009-01-01 00:00 (DOS date 0x3a21, time 0). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "jar.h"
#include "signapk_zip.h"

#define DOS_DATE_2009 0x3a21u
#define JAR_MAGIC 0xcafeu
#define MAX_ENTRY 0xfff00000u

void jos_init(jos *w, sb_wr *out, int level)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->level = level;
    w->first = w->first_stored = true;
    sbw_init(&w->cd, MAX_ENTRY);
}

void jos_free(jos *w) { sbw_free(&w->cd); }

/* The local header and the central directory record share most fields. */
typedef struct {
    const uint8_t *name;
    size_t name_len;
    uint16_t version, flags, method, made_by;
    uint32_t crc, csize, usize, ext_attrs;
    const uint8_t *extra;
    size_t extra_len;
} jos_hdr;

static signet_rc put_common(sb_wr *w, const jos_hdr *h, bool descriptor)
{
    signet_rc rc = sbw_u16_le(w, h->version);
    rc = rc ? rc : sbw_u16_le(w, h->flags);
    rc = rc ? rc : sbw_u16_le(w, h->method);
    rc = rc ? rc : sbw_u16_le(w, 0);
    rc = rc ? rc : sbw_u16_le(w, DOS_DATE_2009);
    rc = rc ? rc : sbw_u32_le(w, descriptor ? 0 : h->crc);
    rc = rc ? rc : sbw_u32_le(w, descriptor ? 0 : h->csize);
    rc = rc ? rc : sbw_u32_le(w, descriptor ? 0 : h->usize);
    rc = rc ? rc : sbw_u16_le(w, (uint16_t)h->name_len);
    return rc ? rc : sbw_u16_le(w, (uint16_t)h->extra_len);
}

static signet_rc put_entry(jos *w, const jos_hdr *h, const uint8_t *data, bool descriptor)
{
    if (w->count == 0xffff)
        return signet_fail(SIGNET_E_UNSUPPORTED, "more than 65535 entries need ZIP64");
    uint64_t off = w->out->len;
    if (off > 0xffffffffu - h->csize)
        return signet_fail(SIGNET_E_UNSUPPORTED, "the package would pass 4 GiB (ZIP64)");
    signet_rc rc = sbw_u32_le(w->out, SIGNET_ZIP_LFH_SIG);
    rc = rc ? rc : put_common(w->out, h, descriptor);
    rc = rc ? rc : sbw_put(w->out, h->name, h->name_len);
    rc = rc ? rc : sbw_put(w->out, h->extra, h->extra_len);
    rc = rc ? rc : sbw_put(w->out, data, h->csize);
    if (descriptor) {
        rc = rc ? rc : sbw_u32_le(w->out, 0x08074b50u);
        rc = rc ? rc : sbw_u32_le(w->out, h->crc);
        rc = rc ? rc : sbw_u32_le(w->out, h->csize);
        rc = rc ? rc : sbw_u32_le(w->out, h->usize);
    }
    rc = rc ? rc : sbw_u32_le(&w->cd, SIGNET_ZIP_CDH_SIG);
    rc = rc ? rc : sbw_u16_le(&w->cd, h->made_by);
    rc = rc ? rc : put_common(&w->cd, h, false);
    rc = rc ? rc : sbw_zero(&w->cd, 2 + 2 + 2);     /* comment, disk, internal attrs */
    rc = rc ? rc : sbw_u32_le(&w->cd, h->ext_attrs);
    rc = rc ? rc : sbw_u32_le(&w->cd, (uint32_t)off);
    rc = rc ? rc : sbw_put(&w->cd, h->name, h->name_len);
    rc = rc ? rc : sbw_put(&w->cd, h->extra, h->extra_len);
    w->count++;
    w->first = false;
    return rc;
}

/* The UTF-16 length of a UTF-8 name (Java's String.length()); -1 when the bytes
 * are not UTF-8, which Java's ZipFile refuses ("bad entry name"). */
static long utf16_len(const uint8_t *p, size_t n)
{
    long units = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = jar_utf8_char(p + i, n - i, &cp);
        if (k == 0)
            return -1;
        units += cp >= 0x10000 ? 2 : 1;
        i += k;
    }
    return units;
}

static signet_rc bad_name(const signet_zip_entry *e)
{
    return signet_fail(SIGNET_E_PARSE, "entry name '%.*s' is not UTF-8; signapk (Java's ZipFile) "
                                       "refuses such archives too",
                       (int)(e->name_len > 200 ? 200 : e->name_len), (const char *)e->name);
}

/* SignApk.getStoredEntryDataAlignment: native libraries on a 4096-byte page. */
static unsigned entry_alignment(const signet_zip_entry *e, int align)
{
    if (align <= 0)
        return 0;
    if (e->name_len >= 3 && memcmp(e->name + e->name_len - 3, ".so", 3) == 0)
        return 4096;
    return (unsigned)align;
}

signet_rc jos_stored(jos *w, const signet_zip *z, const signet_zip_entry *e, int align)
{
    long units = utf16_len(e->name, e->name_len);
    if (units < 0)
        return bad_name(e);
    if (e->csize != e->usize)
        return signet_fail(SIGNET_E_PARSE, "stored entry '%.*s' has different compressed and "
                                           "uncompressed sizes", (int)e->name_len,
                           (const char *)e->name);
    uint8_t extra[4 + 6 + 65536];
    size_t n = 0;
    if (w->first) {
        put_le16(extra, JAR_MAGIC);
        put_le16(extra + 2, 0);
        n = 4;
    }
    /* SignApk.copyFiles: offset += 30 + name.length() (+ 4 for its first stored
     * entry); the padding starts after the 6-byte field header; none when aligned */
    w->java_off += SIGNET_ZIP_LFH_LEN + (uint64_t)units + (w->first_stored ? 4 : 0);
    w->first_stored = false;
    unsigned a = entry_alignment(e, align);
    size_t pad = a ? (a - (size_t)((w->java_off + 6) % a)) % a : 0;
    put_le16(extra + n, SIGNET_ZIP_ALIGN_EXTRA_ID);
    put_le16(extra + n + 2, (uint16_t)(2 + pad));
    put_le16(extra + n + 4, (uint16_t)a);
    memset(extra + n + 6, 0, pad);
    n += 6 + pad;
    w->java_off += 6 + pad + e->usize;
    uint16_t made_by = le16(e->cd + 4);
    bool unix_attrs = (made_by >> 8) == 3;
    jos_hdr h = {.name = e->name, .name_len = e->name_len, .version = 10, .flags = 0x0800,
                 .method = SIGNET_ZIP_STORED,
                 .made_by = (uint16_t)(unix_attrs ? 0x0300 | 10 : 10), .crc = e->crc32,
                 .csize = e->usize, .usize = e->usize,
                 .ext_attrs = unix_attrs ? le32(e->cd + 38) & 0xffff0000u : 0, .extra = extra,
                 .extra_len = n};
    if ((uint32_t)crc32(0L, z->data + e->data_offset, e->usize) != e->crc32)
        return signet_fail(SIGNET_E_PARSE, "ZIP entry '%.*s': CRC-32 mismatch", (int)e->name_len,
                           (const char *)e->name);
    return put_entry(w, &h, z->data + e->data_offset, false);
}

signet_rc jos_deflated(jos *w, const uint8_t *name, size_t name_len, const uint8_t *data,
                       size_t len)
{
    uLong bound = compressBound((uLong)len);
    uint8_t *buf = malloc(bound ? bound : 1);
    if (!buf)
        return signet_fail(SIGNET_E_NOMEM, "out of memory deflating an entry");
    z_stream s;
    memset(&s, 0, sizeof s);
    signet_rc rc = SIGNET_OK;
    /* java.util.zip.Deflater(level, nowrap = true) */
    if (deflateInit2(&s, w->level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        rc = signet_fail(SIGNET_E_NOMEM, "zlib could not start deflating");
    if (rc == SIGNET_OK) {
        s.next_in = (Bytef *)data;
        s.avail_in = (uInt)len;
        s.next_out = buf;
        s.avail_out = (uInt)bound;
        int zr = deflate(&s, Z_FINISH);
        deflateEnd(&s);
        if (zr != Z_STREAM_END)
            rc = signet_fail(SIGNET_E_CRYPTO, "zlib could not deflate an entry");
    }
    uint8_t magic[4] = {0xfe, 0xca, 0, 0};
    jos_hdr h = {.name = name, .name_len = name_len, .version = 20, .flags = 0x0808,
                 .method = SIGNET_ZIP_DEFLATED, .made_by = 20,
                 .crc = (uint32_t)crc32(0L, data, (uInt)len), .csize = (uint32_t)s.total_out,
                 .usize = (uint32_t)len, .extra = magic, .extra_len = w->first ? 4 : 0};
    rc = rc ? rc : put_entry(w, &h, buf, true);
    free(buf);
    return rc;
}

signet_rc jos_finish(jos *w)
{
    uint64_t cd_at = w->out->len;
    signet_rc rc = sbw_put(w->out, w->cd.p, w->cd.len);
    rc = rc ? rc : sbw_u32_le(w->out, SIGNET_ZIP_EOCD_SIG);
    rc = rc ? rc : sbw_zero(w->out, 4);
    rc = rc ? rc : sbw_u16_le(w->out, w->count);
    rc = rc ? rc : sbw_u16_le(w->out, w->count);
    rc = rc ? rc : sbw_u32_le(w->out, (uint32_t)w->cd.len);
    rc = rc ? rc : sbw_u32_le(w->out, (uint32_t)cd_at);
    return rc ? rc : sbw_u16_le(w->out, 0);
}

static int by_name(const void *a, const void *b)
{
    const signet_zip_entry *x = *(const signet_zip_entry *const *)a;
    const signet_zip_entry *y = *(const signet_zip_entry *const *)b;
    return jar_name_cmp(x->name, x->name_len, y->name, y->name_len); /* Collections.sort */
}

signet_rc jos_copy_all(jos *w, const signet_zip *z, bool (*keep)(const signet_zip_entry *),
                       int align)
{
    const signet_zip_entry **v = malloc((z->n ? z->n : 1) * sizeof *v);
    if (!v)
        return signet_fail(SIGNET_E_NOMEM, "out of memory sorting entries");
    size_t n = 0;
    for (size_t i = 0; i < z->n; i++) {
        const signet_zip_entry *e = &z->e[i];
        if (utf16_len(e->name, e->name_len) < 0) {
            free(v);
            return bad_name(e);
        }
        if (e->name_len > 0 && e->name[e->name_len - 1] == '/')
            continue; /* JarEntry.isDirectory */
        if (!keep || keep(e))
            v[n++] = e;
    }
    qsort(v, n, sizeof *v, by_name);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 1; rc == SIGNET_OK && i < n; i++)
        if (by_name(&v[i - 1], &v[i]) == 0)
            rc = signet_fail(SIGNET_E_PARSE, "two entries are named '%.*s'; signapk refuses "
                                             "such archives too",
                             (int)(v[i]->name_len > 200 ? 200 : v[i]->name_len),
                             (const char *)v[i]->name);
    /* two passes: stored entries first (only they are aligned), then the rest */
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        if (v[i]->method == SIGNET_ZIP_STORED)
            rc = jos_stored(w, z, v[i], align);
    sb_wr data;
    sbw_init(&data, MAX_ENTRY);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        if (v[i]->method == SIGNET_ZIP_STORED)
            continue;
        sbw_reset(&data);
        rc = signet_zip_extract(z, v[i], MAX_ENTRY, &data);
        rc = rc ? rc : jos_deflated(w, v[i]->name, v[i]->name_len, data.p, data.len);
    }
    sbw_free(&data);
    free(v);
    return rc;
}

/* ZIP writer pieces and entry extraction (include/signet/zip.h).  Records are
 * copied byte for byte; only the fields a signer must change are rewritten. */
#include <string.h>
#include <zlib.h>

#include "signet/zip.h"

signet_rc signet_zip_put_record(const signet_zip *z, const signet_zip_entry *e,
                                const uint8_t *extra, size_t extra_len, sb_wr *out)
{
    if (extra_len > 0xffff)
        return signet_fail(SIGNET_E_ARG, "extra field of %zu bytes does not fit a ZIP header",
                           extra_len);
    const uint8_t *h = z->data + e->lfh_offset;
    size_t head = SIGNET_ZIP_LFH_LEN + e->name_len;
    uint8_t *p;
    signet_rc rc = sbw_reserve(out, head, &p);
    if (rc)
        return rc;
    memcpy(p, h, head);
    put_le16(p + 28, (uint16_t)extra_len);
    size_t tail = e->record_len - (e->data_offset - e->lfh_offset);
    if ((rc = sbw_put(out, extra, extra_len)) != SIGNET_OK)
        return rc;
    return sbw_put(out, z->data + e->data_offset, tail);
}

signet_rc signet_zip_put_cd(const signet_zip_entry *e, uint32_t lfh_offset, sb_wr *out)
{
    if (e->zip64)
        return signet_fail(SIGNET_E_UNSUPPORTED, "ZIP entry '%.*s' has ZIP64 fields; writing "
                                                 "ZIP64 archives is not supported",
                           (int)(e->name_len > 200 ? 200 : e->name_len), (const char *)e->name);
    uint8_t *p;
    signet_rc rc = sbw_reserve(out, e->cd_len, &p);
    if (rc == SIGNET_OK) {
        memcpy(p, e->cd, e->cd_len);
        put_le32(p + 42, lfh_offset);
    }
    return rc;
}

signet_rc signet_zip_put_eocd(const signet_zip *z, uint16_t count, uint32_t cd_size,
                              uint32_t cd_offset, sb_wr *out)
{
    size_t n = z->len - z->eocd_offset;
    uint8_t *p;
    signet_rc rc = sbw_reserve(out, n, &p);
    if (rc == SIGNET_OK) {
        memcpy(p, z->data + z->eocd_offset, n);
        put_le16(p + 8, count);
        put_le16(p + 10, count);
        put_le32(p + 12, cd_size);
        put_le32(p + 16, cd_offset);
    }
    return rc;
}

signet_rc signet_zip_put_stored(const char *name, const uint8_t *data, size_t len,
                                uint16_t mtime, uint16_t mdate, uint32_t lfh_offset,
                                sb_wr *lfh_out, sb_wr *cd_out)
{
    size_t nlen = strlen(name);
    if (nlen > 0xffff || len >= 0xffffffffu)
        return signet_fail(SIGNET_E_ARG, "entry '%s' is too large for a ZIP archive", name);
    uint32_t crc = (uint32_t)crc32(0L, data, (uInt)len);
    signet_rc rc = SIGNET_OK;
    /* local header: version 10, no flags, stored */
    rc = rc ? rc : sbw_u32_le(lfh_out, SIGNET_ZIP_LFH_SIG);
    rc = rc ? rc : sbw_u16_le(lfh_out, 10);
    rc = rc ? rc : sbw_u16_le(lfh_out, 0);
    rc = rc ? rc : sbw_u16_le(lfh_out, SIGNET_ZIP_STORED);
    rc = rc ? rc : sbw_u16_le(lfh_out, mtime);
    rc = rc ? rc : sbw_u16_le(lfh_out, mdate);
    rc = rc ? rc : sbw_u32_le(lfh_out, crc);
    rc = rc ? rc : sbw_u32_le(lfh_out, (uint32_t)len);
    rc = rc ? rc : sbw_u32_le(lfh_out, (uint32_t)len);
    rc = rc ? rc : sbw_u16_le(lfh_out, (uint16_t)nlen);
    rc = rc ? rc : sbw_u16_le(lfh_out, 0);
    rc = rc ? rc : sbw_put(lfh_out, name, nlen);
    rc = rc ? rc : sbw_put(lfh_out, data, len);
    /* central directory record: made by 10, needs 10 */
    rc = rc ? rc : sbw_u32_le(cd_out, SIGNET_ZIP_CDH_SIG);
    rc = rc ? rc : sbw_u16_le(cd_out, 10);
    rc = rc ? rc : sbw_u16_le(cd_out, 10);
    rc = rc ? rc : sbw_u16_le(cd_out, 0);
    rc = rc ? rc : sbw_u16_le(cd_out, SIGNET_ZIP_STORED);
    rc = rc ? rc : sbw_u16_le(cd_out, mtime);
    rc = rc ? rc : sbw_u16_le(cd_out, mdate);
    rc = rc ? rc : sbw_u32_le(cd_out, crc);
    rc = rc ? rc : sbw_u32_le(cd_out, (uint32_t)len);
    rc = rc ? rc : sbw_u32_le(cd_out, (uint32_t)len);
    rc = rc ? rc : sbw_u16_le(cd_out, (uint16_t)nlen);
    rc = rc ? rc : sbw_zero(cd_out, 2 + 2 + 2 + 2 + 4); /* extra, comment, disk, attrs */
    rc = rc ? rc : sbw_u32_le(cd_out, lfh_offset);
    rc = rc ? rc : sbw_put(cd_out, name, nlen);
    return rc;
}

int signet_zip_extra_alignment(const uint8_t *extra, size_t extra_len)
{
    sb_rd r;
    sbr_init(&r, extra, extra_len);
    while (sbr_left(&r) >= 4) {
        uint16_t id, n;
        sbr_u16_le(&r, &id);
        sbr_u16_le(&r, &n);
        if (n > sbr_left(&r))
            break;
        if (id == SIGNET_ZIP_ALIGN_EXTRA_ID) {
            if (n < 2)
                break;
            uint16_t a;
            sbr_u16_le(&r, &a);
            return a;
        }
        sbr_skip(&r, n);
    }
    return -1;
}

signet_rc signet_zip_align_extra(const uint8_t *extra, size_t extra_len, uint64_t extra_start,
                                 unsigned align, bool apksig31, sb_wr *out)
{
    if (align <= 1 || align > 0xffff)
        return signet_fail(SIGNET_E_ARG, "alignment %u is not between 2 and 65535", align);
    sb_rd r;
    sbr_init(&r, extra, extra_len);
    size_t base = out->len;
    signet_rc rc = SIGNET_OK;
    /* Keep every field except old alignment padding (an empty id-0 field) and an
     * earlier alignment field; a malformed tail is dropped, as apksig does. */
    while (rc == SIGNET_OK && sbr_left(&r) >= 4) {
        const uint8_t *f = sbr_cur(&r);
        uint16_t id, n;
        if (apksig31) {
            sbr_u16(&r, &id);
            sbr_u16(&r, &n);
        } else {
            sbr_u16_le(&r, &id);
            sbr_u16_le(&r, &n);
        }
        if (n > sbr_left(&r))
            break;
        sbr_skip(&r, n);
        if ((id == 0 && n == 0) || id == SIGNET_ZIP_ALIGN_EXTRA_ID)
            continue;
        rc = sbw_put(out, f, 4u + n);
    }
    if (rc)
        return rc;
    uint64_t min_data = extra_start + (out->len - base) + 6;
    unsigned pad = (unsigned)((align - min_data % align) % align);
    rc = sbw_u16_le(out, SIGNET_ZIP_ALIGN_EXTRA_ID);
    rc = rc ? rc : sbw_u16_le(out, (uint16_t)(2 + pad));
    rc = rc ? rc : sbw_u16_le(out, (uint16_t)align);
    return rc ? rc : sbw_zero(out, pad);
}

signet_rc signet_zip_extract(const signet_zip *z, const signet_zip_entry *e, size_t max,
                             sb_wr *out)
{
    if (e->usize > max)
        return signet_fail(SIGNET_E_PARSE, "ZIP entry '%.*s' is %u bytes, more than the %zu "
                                           "allowed", (int)e->name_len, (const char *)e->name,
                           e->usize, max);
    const uint8_t *src = z->data + e->data_offset;
    uint8_t *dst;
    signet_rc rc = sbw_reserve(out, e->usize, &dst);
    if (rc)
        return rc;
    if (e->method == SIGNET_ZIP_STORED) {
        memcpy(dst, src, e->usize);
    } else {
        z_stream s;
        memset(&s, 0, sizeof s);
        if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
            return signet_fail(SIGNET_E_NOMEM, "zlib could not start inflating");
        s.next_in = (Bytef *)src;
        s.avail_in = e->csize;
        s.next_out = dst;
        s.avail_out = e->usize;
        int zr = inflate(&s, Z_FINISH);
        size_t got = s.total_out;
        inflateEnd(&s);
        if (zr != Z_STREAM_END || got != e->usize)
            return signet_fail(SIGNET_E_PARSE, "ZIP entry '%.*s': deflated data is corrupt",
                               (int)e->name_len, (const char *)e->name);
    }
    if ((uint32_t)crc32(0L, dst, e->usize) != e->crc32)
        return signet_fail(SIGNET_E_PARSE, "ZIP entry '%.*s': CRC-32 mismatch",
                           (int)e->name_len, (const char *)e->name);
    return SIGNET_OK;
}

/* ZIP reader: end record, central directory, local headers, the APK Signing Block
 * slot (include/signet/zip.h).  Every field is validated before it is used. */
#include <stdlib.h>
#include <string.h>

#include "signet/buf.h"
#include "signet/zip.h"

#define EOCD_MAX_COMMENT 0xffffu
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define DESCRIPTOR_SIG 0x08074b50u
#define ZIP64_EOCD_SIG 0x06064b50u
#define ZIP64_EOCD_LEN 56u
#define ZIP64_EXTRA_ID 0x0001u
#define MAX32 0xffffffffu
#define SIGBLOCK_MAGIC "APK Sig Block 42"

/* The end record: the last "PK\5\6" whose comment length reaches exactly to the
 * end of the file (as apksig's ZipUtils.findZipEndOfCentralDirectoryRecord). */
static signet_rc find_eocd(const uint8_t *d, size_t len, size_t *off)
{
    if (len < SIGNET_ZIP_EOCD_LEN)
        return signet_fail(SIGNET_E_PARSE, "not a ZIP archive: %zu bytes is shorter than the end "
                                           "of central directory record", len);
    size_t max_comment = len - SIGNET_ZIP_EOCD_LEN;
    if (max_comment > EOCD_MAX_COMMENT)
        max_comment = EOCD_MAX_COMMENT;
    for (size_t c = 0; c <= max_comment; c++) {
        size_t at = len - SIGNET_ZIP_EOCD_LEN - c;
        if (le32(d + at) == SIGNET_ZIP_EOCD_SIG && le16(d + at + 20) == c) {
            *off = at;
            return SIGNET_OK;
        }
    }
    return signet_fail(SIGNET_E_PARSE, "not a ZIP archive: no end of central directory record "
                                       "(is the file truncated?)");
}

static void find_signing_block(signet_zip *z)
{
    const uint8_t *d = z->data;
    uint32_t cd = z->cd_offset;
    z->has_signing_block = false;
    z->entries_end = cd;
    if (cd < 32 || memcmp(d + cd - 16, SIGBLOCK_MAGIC, 16) != 0)
        return;
    uint64_t size = le64(d + cd - 24);
    /* size counts everything after the leading size field: at least the trailing
     * size field and the magic; the leading copy must agree. */
    if (size < 24 || size > (uint64_t)cd - 8)
        return;
    uint32_t start = (uint32_t)(cd - size - 8);
    if (le64(d + start) != size)
        return;
    z->has_signing_block = true;
    z->entries_end = start;
}

static signet_rc entry_fail(const signet_zip_entry *e, const char *what)
{
    return signet_fail(SIGNET_E_PARSE, "ZIP entry '%.*s': %s", (int)(e->name_len > 200 ? 200 : e->name_len),
                       (const char *)e->name, what);
}

/* The ZIP64 extended information extra field (id 1) of an extra area: its values
 * in order, for each field whose 32-bit value is 0xffffffff (APPNOTE 4.5.3).  The
 * values must fit 32 bits: signet reads archives under 4 GiB. */
static signet_rc zip64_values(const signet_zip_entry *e, const uint8_t *extra, size_t len,
                              uint32_t *const fields[], size_t n)
{
    sb_rd r;
    sbr_init(&r, extra, len);
    while (sbr_left(&r) >= 4) {
        uint16_t id, size;
        sbr_u16_le(&r, &id);
        sbr_u16_le(&r, &size);
        sb_rd v;
        if (sbr_sub(&r, &v, size) != SIGNET_OK)
            return entry_fail(e, "an extra field runs past its area");
        if (id != ZIP64_EXTRA_ID)
            continue;
        for (size_t i = 0; i < n; i++) {
            uint64_t x;
            if (*fields[i] != MAX32)
                continue;
            if (sbr_u64_le(&v, &x) != SIGNET_OK)
                return entry_fail(e, "its ZIP64 extra field is too short");
            if (x >= MAX32)
                return signet_fail(SIGNET_E_UNSUPPORTED, "ZIP entry '%.*s' is 4 GiB or more "
                                                         "(or lies beyond 4 GiB): not supported",
                                   (int)(e->name_len > 200 ? 200 : e->name_len),
                                   (const char *)e->name);
            *fields[i] = (uint32_t)x;
        }
        return SIGNET_OK;
    }
    return entry_fail(e, "sizes or offset say ZIP64 but there is no ZIP64 extra field");
}

/* Reads the local header of e and checks it against the central directory. */
static signet_rc read_local(const signet_zip *z, signet_zip_entry *e)
{
    const uint8_t *d = z->data;
    uint64_t h = e->lfh_offset;
    if (h + SIGNET_ZIP_LFH_LEN + e->name_len > z->entries_end)
        return entry_fail(e, "local header runs past the start of the central directory");
    if (le32(d + h) != SIGNET_ZIP_LFH_SIG)
        return entry_fail(e, "no local file header at the offset the central directory gives");
    uint16_t lflags = le16(d + h + 6);
    if ((lflags & SIGNET_ZIP_FLAG_DESCRIPTOR) != (e->flags & SIGNET_ZIP_FLAG_DESCRIPTOR))
        return entry_fail(e, "local header and central directory disagree on the data descriptor");
    uint16_t nlen = le16(d + h + 26), xlen = le16(d + h + 28);
    if (nlen != e->name_len || memcmp(d + h + SIGNET_ZIP_LFH_LEN, e->name, nlen) != 0)
        return entry_fail(e, "local header names another entry");
    uint64_t data = h + SIGNET_ZIP_LFH_LEN + nlen + xlen;
    if (data > z->entries_end)
        return entry_fail(e, "local extra field runs past the start of the central directory");
    uint32_t lcsize = le32(d + h + 18), lusize = le32(d + h + 22);
    if (!(lflags & SIGNET_ZIP_FLAG_DESCRIPTOR) && (lcsize == MAX32 || lusize == MAX32)) {
        /* the local ZIP64 field holds both sizes, uncompressed first */
        uint32_t *const f[] = {&lusize, &lcsize};
        if (lusize != MAX32 || lcsize != MAX32)
            return entry_fail(e, "local header has one ZIP64 size but not the other");
        signet_rc rc = zip64_values(e, d + h + SIGNET_ZIP_LFH_LEN + nlen, xlen, f, 2);
        if (rc)
            return rc;
    }
    if (!(lflags & SIGNET_ZIP_FLAG_DESCRIPTOR) &&
        (le32(d + h + 14) != e->crc32 || lcsize != e->csize || lusize != e->usize))
        return entry_fail(e, "local header and central directory disagree on CRC-32 or sizes");
    uint64_t dlen = e->method == SIGNET_ZIP_STORED ? e->usize : e->csize;
    uint64_t end = data + dlen;
    if (end > z->entries_end)
        return entry_fail(e, "data runs past the start of the central directory");
    if (lflags & SIGNET_ZIP_FLAG_DESCRIPTOR) {
        /* Optional signature, then CRC-32 and the two sizes (as Android reads it). */
        if (end + 12 > z->entries_end)
            return entry_fail(e, "data descriptor runs past the central directory");
        if (le32(d + end) == DESCRIPTOR_SIG) {
            if (end + 16 > z->entries_end)
                return entry_fail(e, "data descriptor runs past the central directory");
            end += 4;
        }
        end += 12;
    }
    e->extra = d + h + SIGNET_ZIP_LFH_LEN + nlen;
    e->extra_len = xlen;
    e->data_offset = (uint32_t)data;
    e->record_len = (uint32_t)(end - h);
    return SIGNET_OK;
}

static signet_rc read_cd(signet_zip *z, size_t count)
{
    sb_rd r;
    sbr_init(&r, z->data + z->cd_offset, z->cd_size);
    z->e = calloc(count ? count : 1, sizeof *z->e);
    if (!z->e)
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading %zu ZIP entries", count);
    for (size_t i = 0; i < count; i++) {
        signet_zip_entry *e = &z->e[i];
        const uint8_t *h;
        if (sbr_ptr(&r, &h, SIGNET_ZIP_CDH_LEN) != SIGNET_OK || le32(h) != SIGNET_ZIP_CDH_SIG)
            return signet_fail(SIGNET_E_PARSE, "ZIP central directory record %zu of %zu is "
                                               "truncated or malformed", i + 1, count);
        e->flags = le16(h + 8);
        e->method = le16(h + 10);
        e->mtime = le16(h + 12);
        e->mdate = le16(h + 14);
        e->crc32 = le32(h + 16);
        e->csize = le32(h + 20);
        e->usize = le32(h + 24);
        e->name_len = le16(h + 28);
        size_t var = (size_t)e->name_len + le16(h + 30) + le16(h + 32);
        e->lfh_offset = le32(h + 42);
        if (sbr_ptr(&r, &e->name, var) != SIGNET_OK)
            return signet_fail(SIGNET_E_PARSE, "ZIP central directory record %zu of %zu runs "
                                               "past the directory", i + 1, count);
        e->cd = h;
        e->cd_len = SIGNET_ZIP_CDH_LEN + var;
        if (e->csize == MAX32 || e->usize == MAX32 || e->lfh_offset == MAX32) {
            uint32_t *const f[] = {&e->usize, &e->csize, &e->lfh_offset};
            signet_rc rc = zip64_values(e, e->name + e->name_len, le16(h + 30), f, 3);
            if (rc)
                return rc;
            e->zip64 = true;
        }
        if (e->method != SIGNET_ZIP_STORED && e->method != SIGNET_ZIP_DEFLATED)
            return entry_fail(e, "compression method is neither stored nor deflated");
        signet_rc rc = read_local(z, e);
        if (rc)
            return rc;
        z->n++;
    }
    return SIGNET_OK;
}

/* The ZIP64 locator (20 bytes before the end record) and the ZIP64 end record it
 * points at: entry count, directory size and offset.  A 32-bit field of the end
 * record that is not its "see ZIP64" value must agree with the ZIP64 one. */
static signet_rc read_zip64_end(signet_zip *z, size_t eocd, uint64_t *count)
{
    const uint8_t *d = z->data, *loc = d + eocd - 20, *e = d + eocd;
    uint64_t at = le64(loc + 8);
    if (le32(loc + 4) != 0 || le32(loc + 16) > 1)
        return signet_fail(SIGNET_E_PARSE, "multi-disk ZIP64 archives are not supported");
    if (at > eocd - 20 || eocd - 20 - at < ZIP64_EOCD_LEN || le32(d + at) != ZIP64_EOCD_SIG)
        return signet_fail(SIGNET_E_PARSE, "the ZIP64 locator does not point at a ZIP64 end "
                                           "record");
    const uint8_t *r = d + at;
    uint64_t size = le64(r + 4);
    if (size < ZIP64_EOCD_LEN - 12 || size > eocd - 20 - at - 12)
        return signet_fail(SIGNET_E_PARSE, "the ZIP64 end record's size is wrong");
    if (le32(r + 16) != 0 || le32(r + 20) != 0 || le64(r + 24) != le64(r + 32))
        return signet_fail(SIGNET_E_PARSE, "multi-disk ZIP64 archives are not supported");
    uint64_t n = le64(r + 32), cd_size = le64(r + 40), cd_off = le64(r + 48);
    if (cd_size >= MAX32 || cd_off >= MAX32)
        return signet_fail(SIGNET_E_UNSUPPORTED, "ZIP64 central directory beyond 4 GiB");
    if ((le16(e + 10) != 0xffff && le16(e + 10) != n) ||
        (le32(e + 12) != MAX32 && le32(e + 12) != cd_size) ||
        (le32(e + 16) != MAX32 && le32(e + 16) != cd_off))
        return signet_fail(SIGNET_E_PARSE, "the end record and the ZIP64 end record disagree");
    z->zip64 = true;
    z->eocd64_offset = (uint32_t)at;
    z->cd_size = (uint32_t)cd_size;
    z->cd_offset = (uint32_t)cd_off;
    *count = n;
    return SIGNET_OK;
}

signet_rc signet_zip_parse(const uint8_t *data, size_t len, signet_zip *z)
{
    memset(z, 0, sizeof *z);
    z->data = data;
    z->len = len;
    if (len >= 0xffffffffu)
        return signet_fail(SIGNET_E_UNSUPPORTED, "archive of %zu bytes needs ZIP64, which is not "
                                                 "supported", len);
    size_t eocd = 0;
    signet_rc rc = find_eocd(data, len, &eocd);
    if (rc)
        return rc;
    const uint8_t *e = data + eocd;
    if (le16(e + 4) != 0 || le16(e + 6) != 0)
        return signet_fail(SIGNET_E_PARSE, "multi-disk ZIP archives are not supported");
    z->eocd_offset = (uint32_t)eocd;
    z->comment_len = le16(e + 20);
    z->cd_size = le32(e + 12);
    z->cd_offset = le32(e + 16);
    uint64_t count = le16(e + 10);
    size_t cd_limit = eocd;
    if (eocd >= 20 && le32(data + eocd - 20) == ZIP64_LOCATOR_SIG) {
        rc = read_zip64_end(z, eocd, &count);
        if (rc)
            return rc;
        cd_limit = z->eocd64_offset;
    }
    if ((uint64_t)z->cd_offset + z->cd_size > cd_limit)
        return signet_fail(SIGNET_E_PARSE, "ZIP central directory (offset %u, %u bytes) runs past "
                                           "the end record at %zu", z->cd_offset, z->cd_size,
                                           cd_limit);
    /* each directory record is at least 46 bytes: a count beyond that is a lie */
    if (count > z->cd_size / SIGNET_ZIP_CDH_LEN)
        return signet_fail(SIGNET_E_PARSE, "the end record counts %llu entries, more than a "
                                           "%u-byte central directory holds",
                                           (unsigned long long)count, z->cd_size);
    find_signing_block(z);
    rc = read_cd(z, (size_t)count);
    if (rc)
        signet_zip_free(z);
    return rc;
}

void signet_zip_free(signet_zip *z)
{
    free(z->e);
    z->e = NULL;
    z->n = 0;
}

bool signet_zip_name_is(const signet_zip_entry *e, const char *name)
{
    size_t n = strlen(name);
    return n == e->name_len && memcmp(e->name, name, n) == 0;
}

const signet_zip_entry *signet_zip_find(const signet_zip *z, const char *name)
{
    for (size_t i = 0; i < z->n; i++)
        if (signet_zip_name_is(&z->e[i], name))
            return &z->e[i];
    return NULL;
}

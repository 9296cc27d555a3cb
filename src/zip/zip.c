/* ZIP reader: end record, central directory, local headers, the APK Signing Block
 * slot (include/signet/zip.h).  Every field is validated before it is used. */
#include <stdlib.h>
#include <string.h>

#include "signet/zip.h"

#define EOCD_MAX_COMMENT 0xffffu
#define ZIP64_LOCATOR_SIG 0x07064b50u
#define DESCRIPTOR_SIG 0x08074b50u
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
    if (!(lflags & SIGNET_ZIP_FLAG_DESCRIPTOR) &&
        (le32(d + h + 14) != e->crc32 || le32(d + h + 18) != e->csize ||
         le32(d + h + 22) != e->usize))
        return entry_fail(e, "local header and central directory disagree on CRC-32 or sizes");
    uint64_t data = h + SIGNET_ZIP_LFH_LEN + nlen + xlen;
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
        if (e->csize == 0xffffffffu || e->usize == 0xffffffffu || e->lfh_offset == 0xffffffffu)
            return signet_fail(SIGNET_E_UNSUPPORTED, "ZIP entry %zu uses ZIP64 fields; ZIP64 "
                                                     "archives are not supported", i + 1);
        if (e->method != SIGNET_ZIP_STORED && e->method != SIGNET_ZIP_DEFLATED)
            return entry_fail(e, "compression method is neither stored nor deflated");
        signet_rc rc = read_local(z, e);
        if (rc)
            return rc;
        z->n++;
    }
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
    if (eocd >= 20 && le32(data + eocd - 20) == ZIP64_LOCATOR_SIG)
        return signet_fail(SIGNET_E_UNSUPPORTED, "ZIP64 archives are not supported");
    if (le16(e + 4) != 0 || le16(e + 6) != 0)
        return signet_fail(SIGNET_E_PARSE, "multi-disk ZIP archives are not supported");
    z->eocd_offset = (uint32_t)eocd;
    z->comment_len = le16(e + 20);
    z->cd_size = le32(e + 12);
    z->cd_offset = le32(e + 16);
    if ((uint64_t)z->cd_offset + z->cd_size > eocd)
        return signet_fail(SIGNET_E_PARSE, "ZIP central directory (offset %u, %u bytes) runs past "
                                           "the end record at %zu", z->cd_offset, z->cd_size, eocd);
    find_signing_block(z);
    rc = read_cd(z, le16(e + 10));
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

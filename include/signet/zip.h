/* One ZIP reader/writer for APKs, OTA packages and target-files (DESIGN.md,
 * "Release-scale signing").  It works on bytes in memory (a mapped file or a
 * buffer) and does no I/O, so the APK engine, the fuzz target and the tests share
 * it.  Entries are never recompressed: a writer copies each record byte for byte
 * and changes only what a signer must change (the local header's extra field for
 * alignment, the central directory's offsets, the end record).
 *
 * Every offset and length read from the archive is checked against the archive
 * before use; a malformed archive fails with SIGNET_E_PARSE and a message naming
 * the entry.  ZIP64 archives are read (the ZIP64 end record and locator, the
 * ZIP64 extra fields of local headers and directory records; APPNOTE 4.3.14-15,
 * 4.5.3) as long as every value fits 32 bits (archives under 4 GiB, such as
 * target-files zips written with ZIP64 forced); larger ones are refused with
 * SIGNET_E_UNSUPPORTED.  Writing ZIP64 is not supported: signet_zip_put_cd refuses
 * a ZIP64 entry, and the APK engine refuses ZIP64 APKs as Android does. */
#ifndef SIGNET_ZIP_H
#define SIGNET_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

#define SIGNET_ZIP_LFH_SIG 0x04034b50u
#define SIGNET_ZIP_CDH_SIG 0x02014b50u
#define SIGNET_ZIP_EOCD_SIG 0x06054b50u
#define SIGNET_ZIP_LFH_LEN 30u      /* fixed part of a local file header */
#define SIGNET_ZIP_CDH_LEN 46u      /* fixed part of a central directory record */
#define SIGNET_ZIP_EOCD_LEN 22u     /* end of central directory without comment */
#define SIGNET_ZIP_FLAG_DESCRIPTOR 0x0008u
#define SIGNET_ZIP_STORED 0
#define SIGNET_ZIP_DEFLATED 8

typedef struct {
    const uint8_t *name;        /* not NUL-terminated; name_len bytes */
    uint16_t name_len;
    uint16_t flags, method, mtime, mdate;
    uint32_t crc32, csize, usize;
    uint32_t lfh_offset;        /* of the local file header */
    const uint8_t *cd;          /* the raw central directory record */
    size_t cd_len;
    /* From the local header, checked against the central directory: */
    const uint8_t *extra;       /* the local extra field */
    uint16_t extra_len;
    uint32_t data_offset;       /* first byte of the (compressed) data */
    uint32_t record_len;        /* header + data + data descriptor */
    bool zip64;                 /* a size or offset came from its ZIP64 extra field */
} signet_zip_entry;

typedef struct {
    const uint8_t *data;
    size_t len;
    signet_zip_entry *e;        /* in central directory order */
    size_t n;
    uint32_t cd_offset, cd_size;
    uint32_t eocd_offset;       /* the end record (with its comment) runs to the end */
    uint16_t comment_len;
    /* The APK Signing Block sits between the entries and the central directory;
     * entries_end is its offset (cd_offset when there is none). */
    bool has_signing_block;
    uint32_t entries_end;
    /* ZIP64 end records (read, values below 4 GiB only; writing refuses ZIP64
     * entries): the directory ends at or before eocd64_offset. */
    bool zip64;
    uint32_t eocd64_offset;
} signet_zip;

/* Parses the end record, the central directory and every local header.  data must
 * outlive z.  Directory entries, duplicates and gaps are kept as found. */
signet_rc signet_zip_parse(const uint8_t *data, size_t len, signet_zip *z);
void signet_zip_free(signet_zip *z);
/* The entry named name, or NULL. */
const signet_zip_entry *signet_zip_find(const signet_zip *z, const char *name);
bool signet_zip_name_is(const signet_zip_entry *e, const char *name);
/* The uncompressed bytes of a stored or deflated entry (at most max bytes; the
 * CRC-32 is checked). */
signet_rc signet_zip_extract(const signet_zip *z, const signet_zip_entry *e, size_t max,
                             sb_wr *out);

/* Writers. */
/* The local header of e with its extra field replaced, then its data and data
 * descriptor as they are. */
signet_rc signet_zip_put_record(const signet_zip *z, const signet_zip_entry *e,
                                const uint8_t *extra, size_t extra_len, sb_wr *out);
/* The central directory record of e with the local header offset replaced. */
signet_rc signet_zip_put_cd(const signet_zip_entry *e, uint32_t lfh_offset, sb_wr *out);
/* z's end record (with its comment) for a new central directory. */
signet_rc signet_zip_put_eocd(const signet_zip *z, uint16_t count, uint32_t cd_size,
                              uint32_t cd_offset, sb_wr *out);
/* A stored entry for new content (OTA certificates, signature files). */
signet_rc signet_zip_put_stored(const char *name, const uint8_t *data, size_t len,
                                uint16_t mtime, uint16_t mdate, uint32_t lfh_offset,
                                sb_wr *lfh_out, sb_wr *cd_out);

/* The apksigner alignment extra field (id 0xd935): the entry's other extra fields,
 * then one field padding the data start to a multiple of align, given where the
 * extra field will start in the output (apksig ApkSigner.createExtraFieldToAlignData).
 * apksig31: read the old fields as apksig 31.0.2 does, big-endian (its buffer lost
 * its byte order), which in practice drops them; byte identity with Debian's
 * apksigner needs it. */
#define SIGNET_ZIP_ALIGN_EXTRA_ID 0xd935u
signet_rc signet_zip_align_extra(const uint8_t *extra, size_t extra_len, uint64_t extra_start,
                                 unsigned align, bool apksig31, sb_wr *out);
/* The alignment an apksigner extra field asks for, or -1 when there is none. */
int signet_zip_extra_alignment(const uint8_t *extra, size_t extra_len);

#endif

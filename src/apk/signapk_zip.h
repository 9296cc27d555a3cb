/* A ZIP writer that writes what java.util.jar.JarOutputStream writes for
 * signapk.jar (signapk_zip.c), so `signet signapk` matches it byte for byte. */
#ifndef SIGNET_SIGNAPK_ZIP_H
#define SIGNET_SIGNAPK_ZIP_H

#include <stdbool.h>

#include "signet/zip.h"

typedef struct {
    sb_wr *out;
    sb_wr cd;
    bool first;       /* the next entry gets JarOutputStream's 0xcafe marker */
    bool first_stored;/* SignApk counts the marker's 4 bytes on its first stored entry */
    uint64_t java_off;/* SignApk's own count of the stored entries' bytes (names
                         counted in UTF-16 units), which decides their padding */
    uint16_t count;
    int level;        /* zlib level for deflated entries */
} jos;

void jos_init(jos *w, sb_wr *out, int level);
void jos_free(jos *w);
/* Every file entry of z that keep() accepts (NULL: all), sorted by name: stored
 * ones first, aligned (align 0: none; else .so entries to 4096 and the others to
 * align, as SignApk.getStoredEntryDataAlignment), then the others re-deflated. */
signet_rc jos_copy_all(jos *w, const signet_zip *z, bool (*keep)(const signet_zip_entry *),
                       int align);
signet_rc jos_stored(jos *w, const signet_zip *z, const signet_zip_entry *e, int align);
signet_rc jos_deflated(jos *w, const uint8_t *name, size_t name_len, const uint8_t *data,
                       size_t len);
/* The central directory and an end record with an empty comment. */
signet_rc jos_finish(jos *w);

#endif

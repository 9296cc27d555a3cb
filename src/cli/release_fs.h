/* APEX payload file systems for `signet release sign` (release_fs.c). */
#ifndef SIGNET_CLI_RELEASE_FS_H
#define SIGNET_CLI_RELEASE_FS_H

#include "signet/release.h"

extern const signet_release_fs_ops cli_release_fs_ops;

/* The payloads of one run, by SHA-256 of their bytes (pass it as the job's fs_ctx;
 * NULL unpacks on every open).  A payload is unpacked once: the first tree opened and
 * closed unchanged (the estimate's) is kept, and each later open of the same bytes
 * gets a copy of it (the signing stages, identical APEXes of other devices). */
struct fs_cached;
typedef struct cli_release_fs_cache {
    struct fs_cached *v;
    size_t n, cap;
    size_t unpacked, reused; /* opens that unpacked; opens served by a copy */
} cli_release_fs_cache;

/* Removes the kept trees. */
void cli_release_fs_cache_free(cli_release_fs_cache *c);

#endif

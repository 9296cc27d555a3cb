/* The one durable file writer: what must not be lost (keys, certificates,
 * manifests, trail files, signatures) replaces its file through a temporary file,
 * fsync, rename and an fsync of the directory, so a crash leaves the old or the new
 * file, never a mix. */
#ifndef SIGNET_FILE_H
#define SIGNET_FILE_H

#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "signet/err.h"

/* Writes data to path with the given mode.  durable = false skips both fsyncs
 * (for hints that may be lost, such as LRU stamps). */
signet_rc signet_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                              bool durable);
/* The same from pieces, written with writev (no assembly in memory first). */
struct iovec;
signet_rc signet_file_replace_iov(const char *path, const struct iovec *v, size_t n, mode_t mode,
                                  bool durable);
/* The same in two steps, for many files at once: stage writes the pieces to a
 * temporary file next to path and starts its write-back; commit makes it durable
 * (fsync, unless durable is false), then renames it over path.  The directory's
 * fsync is left to the caller (signet_fsync_parent once per directory), so a
 * group of files waits for the disk about once instead of twice per file.
 * abort removes a staged file that will not be committed (commit needs no abort,
 * whatever it returns). */
typedef struct {
    int fd;
    char tmp[PATH_MAX];
    char path[PATH_MAX];
} signet_file_stage;
signet_rc signet_file_stage_iov(signet_file_stage *st, const char *path, const struct iovec *v,
                                size_t n, mode_t mode);
signet_rc signet_file_commit(signet_file_stage *st, bool durable);
void signet_file_abort(signet_file_stage *st);
/* fsync of the directory holding path. */
signet_rc signet_fsync_parent(const char *path);

#endif

/* The one durable file writer: what must not be lost (keys, certificates,
 * manifests, trail files, signatures) replaces its file through a temporary file,
 * fsync, rename and an fsync of the directory, so a crash leaves the old or the new
 * file, never a mix. */
#ifndef SIGNET_FILE_H
#define SIGNET_FILE_H

#include <stdbool.h>
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
/* fsync of the directory holding path. */
signet_rc signet_fsync_parent(const char *path);

#endif

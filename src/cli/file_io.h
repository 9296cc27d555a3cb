/* Small file helpers for the signet command. */
#ifndef SIGNET_CLI_FILE_IO_H
#define SIGNET_CLI_FILE_IO_H

#include "signet/buf.h"

/* Reads everything (at most max bytes) into a new writer (caller frees). */
signet_rc cli_read_fd(int fd, const char *what, size_t max, sb_wr *out);
signet_rc cli_read_file(const char *path, size_t max, sb_wr *out);
signet_rc cli_write_all(int fd, const char *what, const uint8_t *p, size_t n);
/* temp file, fsync, rename. */
signet_rc cli_write_file(const char *path, const uint8_t *p, size_t n);
/* Overwrites an existing file in place (same inode, so that a reader holding it
 * open reads the new bytes), truncates it to n and fsyncs it before returning. */
signet_rc cli_overwrite_file(const char *path, const uint8_t *p, size_t n);

/* SHA-256 of a whole file (streamed). */
signet_rc cli_sha256_file(const char *path, uint8_t out[32]);

#endif

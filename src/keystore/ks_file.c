/* Whole-file reads with a size bound, and durable replacement of files
 * (write-temp, fsync, rename, fsync the directory): a file of the key store is
 * either the old version or the complete new one, never half written. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ks_internal.h"
#include "signet/file.h"

signet_rc ks_read_file(const char *path, size_t max, sb_wr *out)
{
    sbw_init(out, max);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return signet_fail(SIGNET_E_NOTFOUND, "%s does not exist", path);
        return signet_fail(SIGNET_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    uint8_t chunk[4096];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            sbw_free(out);
            return signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        if (sbw_put(out, chunk, (size_t)r) != SIGNET_OK) {
            close(fd);
            sbw_free(out);
            return signet_fail(SIGNET_E_PARSE, "%s is larger than %zu bytes: is it the right file?",
                               path, max);
        }
    }
    close(fd);
    return SIGNET_OK;
}

signet_rc ks_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return signet_file_replace(path, data, len, mode, true);
}

signet_rc ks_write_replace(const char *path, const void *data, size_t len, mode_t mode)
{
    return signet_file_replace(path, data, len, mode, false);
}

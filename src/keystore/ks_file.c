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

static signet_rc write_all(int fd, const char *path, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return signet_fail(SIGNET_E_IO, "cannot write %s: %s", path, strerror(errno));
        }
        p += w;
        len -= (size_t)w;
    }
    return SIGNET_OK;
}

static signet_rc fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0)
        return signet_fail(SIGNET_E_IO, "cannot sync directory %s: %s", dir, strerror(e));
    return SIGNET_OK;
}

static signet_rc replace(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp)
        return signet_fail(SIGNET_E_ARG, "path %s is too long", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot create a temporary file next to %s: %s", path,
                           strerror(errno));
    signet_rc rc = SIGNET_OK;
    if (fchmod(fd, mode) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot set permissions of %s: %s", tmp, strerror(errno));
    if (rc == SIGNET_OK)
        rc = write_all(fd, tmp, data, len);
    if (rc == SIGNET_OK && durable && fsync(fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == SIGNET_OK)
        rc = signet_fail(SIGNET_E_IO, "cannot close %s: %s", tmp, strerror(errno));
    if (rc == SIGNET_OK && rename(tmp, path) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc != SIGNET_OK) {
        unlink(tmp);
        return rc;
    }
    return durable ? fsync_parent(path) : SIGNET_OK;
}

signet_rc ks_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return replace(path, data, len, mode, true);
}

signet_rc ks_write_replace(const char *path, const void *data, size_t len, mode_t mode)
{
    return replace(path, data, len, mode, false);
}

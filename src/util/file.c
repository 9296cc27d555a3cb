/* The durable file writer: see include/signet/file.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "signet/file.h"

signet_rc signet_fsync_parent(const char *path)
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

/* writev until every piece is written: at most IOV_MAX pieces a call, and a
 * short write resumes inside its piece. */
static signet_rc write_all(int fd, const char *what, const struct iovec *v, size_t n)
{
    struct iovec cur[64];
    size_t i = 0, off = 0; /* next byte: piece i, offset off */
    while (i < n) {
        size_t k = 0;
        for (size_t m = i; m < n && k < sizeof cur / sizeof cur[0] && k < IOV_MAX; m++) {
            size_t skip = m == i ? off : 0;
            if (v[m].iov_len > skip)
                cur[k++] = (struct iovec){(uint8_t *)v[m].iov_base + skip, v[m].iov_len - skip};
        }
        if (k == 0)
            break;
        ssize_t w = writev(fd, cur, (int)k);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return signet_fail(SIGNET_E_IO, "cannot write %s: %s", what, strerror(errno));
        if (w == 0)
            return signet_fail(SIGNET_E_IO, "cannot write %s: no progress", what);
        size_t left = (size_t)w;
        while (i < n && left >= v[i].iov_len - off) {
            left -= v[i].iov_len - off;
            i++;
            off = 0;
        }
        off += left;
    }
    return SIGNET_OK;
}

signet_rc signet_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                              bool durable)
{
    struct iovec v = {(void *)(uintptr_t)data, len};
    return signet_file_replace_iov(path, &v, 1, mode, durable);
}

signet_rc signet_file_replace_iov(const char *path, const struct iovec *v, size_t n, mode_t mode,
                                  bool durable)
{
    signet_file_stage st;
    signet_rc rc = signet_file_stage_iov(&st, path, v, n, mode);
    rc = rc ? rc : signet_file_commit(&st, durable);
    return rc == SIGNET_OK && durable ? signet_fsync_parent(path) : rc;
}

signet_rc signet_file_stage_iov(signet_file_stage *st, const char *path, const struct iovec *v,
                                size_t n, mode_t mode)
{
    st->fd = -1;
    if ((size_t)snprintf(st->path, sizeof st->path, "%s", path) >= sizeof st->path ||
        (size_t)snprintf(st->tmp, sizeof st->tmp, "%s.tmp.XXXXXX", path) >= sizeof st->tmp)
        return signet_fail(SIGNET_E_ARG, "path %s is too long", path);
    int fd = mkostemp(st->tmp, O_CLOEXEC);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot create a temporary file next to %s: %s", path,
                           strerror(errno));
    st->fd = fd;
    signet_rc rc = SIGNET_OK;
    if (fchmod(fd, mode) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot set permissions of %s: %s", st->tmp, strerror(errno));
    if (rc == SIGNET_OK)
        rc = write_all(fd, st->tmp, v, n);
    if (rc) {
        signet_file_abort(st);
        return rc;
    }
    /* start the write-back now: the disk works on every staged file while the
     * caller stages the next, and each commit's fsync waits less (a hint: the
     * fsync in commit is what makes the file durable) */
    (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    return SIGNET_OK;
}

signet_rc signet_file_commit(signet_file_stage *st, bool durable)
{
    signet_rc rc = SIGNET_OK;
    if (st->fd < 0)
        return signet_fail(SIGNET_E_STATE, "%s was not staged", st->path);
    if (durable && fsync(st->fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot sync %s: %s", st->tmp, strerror(errno));
    if (close(st->fd) != 0 && rc == SIGNET_OK)
        rc = signet_fail(SIGNET_E_IO, "cannot close %s: %s", st->tmp, strerror(errno));
    st->fd = -1;
    if (rc == SIGNET_OK && rename(st->tmp, st->path) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot rename %s to %s: %s", st->tmp, st->path,
                         strerror(errno));
    if (rc != SIGNET_OK)
        unlink(st->tmp);
    return rc;
}

void signet_file_abort(signet_file_stage *st)
{
    if (st->fd >= 0) {
        close(st->fd);
        unlink(st->tmp);
    }
    st->fd = -1;
}

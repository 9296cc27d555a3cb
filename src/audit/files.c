/* Durable appends, atomic writes and line reading for the trail files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit_internal.h"
#include "signet/file.h"

signet_rc fsync_dir(const char *dir)
{
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

signet_rc file_read_all(const char *path, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(errno == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO, "cannot open %s: %s",
                           path, strerror(errno));
    sb_wr w;
    sbw_init(&w, SIZE_MAX / 2);
    signet_rc rc = SIGNET_OK;
    for (;;) {
        uint8_t *dst;
        if ((rc = sbw_reserve(&w, 65536, &dst)))
            break;
        ssize_t n = read(fd, dst, 65536);
        if (n < 0 && errno == EINTR) {
            w.len -= 65536;
            continue;
        }
        if (n < 0) {
            rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        w.len -= 65536 - (size_t)n;
        if (n == 0)
            break;
    }
    close(fd);
    if (rc == SIGNET_OK)
        rc = sbw_u8(&w, 0);
    if (rc) {
        sbw_free(&w);
        return rc;
    }
    *data = (char *)w.p;
    *len = w.len - 1;
    return SIGNET_OK;
}

static signet_rc write_all(int fd, const void *p, size_t n, const char *path)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return signet_fail(SIGNET_E_IO, "cannot write %s: %s", path, strerror(errno));
        b += k;
        n -= (size_t)k;
    }
    return SIGNET_OK;
}

signet_rc file_append_durable(const char *dir, const char *name, const void *p, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bool existed = access(path, F_OK) == 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open %s for appending: %s", path, strerror(errno));
    signet_rc rc = write_all(fd, p, n, path);
    if (rc == SIGNET_OK && fsync(fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot sync %s: %s (the last record may not be durable)", path,
                         strerror(errno));
    close(fd);
    if (rc == SIGNET_OK && !existed)
        rc = fsync_dir(dir);
    return rc;
}

signet_rc file_write_atomic(const char *dir, const char *name, const void *p, size_t n)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return signet_fail(SIGNET_E_ARG, "path %s/%s is too long", dir, name);
    return signet_file_replace(path, p, n, 0644, true);
}

signet_rc lr_open(line_reader *r, const char *path)
{
    memset(r, 0, sizeof *r);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return signet_fail(errno == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO, "cannot open %s: %s",
                           path, strerror(errno));
    r->cap = 4 * SIGNET_LINE_MAX;
    r->buf = malloc(r->cap);
    if (!r->buf) {
        close(r->fd);
        r->fd = -1;
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading %s", path);
    }
    return SIGNET_OK;
}

void lr_close(line_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    r->fd = -1;
    r->buf = NULL;
}

signet_rc lr_next(line_reader *r, const char **line, size_t *len, int *kind)
{
    for (;;) {
        char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        if (nl) {
            *line = r->buf + r->start;
            *len = (size_t)(nl - *line);
            r->start += *len + 1;
            r->lineno++;
            if (*len > SIGNET_LINE_MAX)
                return signet_fail(SIGNET_E_PARSE, "line %llu is longer than %d bytes",
                                   (unsigned long long)r->lineno, SIGNET_LINE_MAX);
            *kind = 1;
            return SIGNET_OK;
        }
        if (r->end - r->start > SIGNET_LINE_MAX)
            return signet_fail(SIGNET_E_PARSE, "line %llu is longer than %d bytes",
                               (unsigned long long)r->lineno + 1, SIGNET_LINE_MAX);
        if (r->eof) {
            if (r->end > r->start) {
                *line = r->buf + r->start;
                *len = r->end - r->start;
                r->start = r->end;
                r->lineno++;
                *kind = 2;
                return SIGNET_OK;
            }
            *kind = 0;
            return SIGNET_OK;
        }
        /* Move the partial line to the front and read more. */
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return signet_fail(SIGNET_E_IO, "read error: %s", strerror(errno));
        if (n == 0)
            r->eof = true;
        r->end += (size_t)n;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

signet_rc list_device_logs(const char *dir, uint32_t **serials, size_t *n)
{
    *serials = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return signet_fail(SIGNET_E_IO, "cannot list %s: %s", dir, strerror(errno));
    size_t cap = 0;
    signet_rc rc = SIGNET_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        unsigned long s;
        char tail[8];
        /* device-<decimal serial>.log, nothing else. */
        if (sscanf(de->d_name, "device-%lu%7s", &s, tail) != 2 || strcmp(tail, ".log") != 0 ||
            s > UINT32_MAX)
            continue;
        char canon[64];
        snprintf(canon, sizeof canon, "device-%lu.log", s);
        if (strcmp(canon, de->d_name) != 0)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            uint32_t *np = realloc(*serials, cap * sizeof *np);
            if (!np) {
                rc = signet_fail(SIGNET_E_NOMEM, "out of memory listing %s", dir);
                break;
            }
            *serials = np;
        }
        (*serials)[(*n)++] = (uint32_t)s;
    }
    closedir(d);
    if (rc) {
        free(*serials);
        *serials = NULL;
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(*serials, *n, sizeof **serials, cmp_u32);
    return SIGNET_OK;
}

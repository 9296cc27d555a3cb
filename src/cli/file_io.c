/* Small file helpers for the signing commands: bounded reads, durable writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "file_io.h"
#include "signet/file.h"

static signet_rc read_into(int fd, const char *what, size_t max, sb_wr *out)
{
    for (;;) {
        uint8_t buf[65536];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return signet_fail(SIGNET_E_IO, "reading %s: %s", what, strerror(errno));
        if (n == 0)
            return SIGNET_OK;
        if (sbw_put(out, buf, (size_t)n) != SIGNET_OK)
            return signet_fail(SIGNET_E_ARG, "%s is larger than %zu bytes", what, max);
    }
}

signet_rc cli_read_fd(int fd, const char *what, size_t max, sb_wr *out)
{
    sbw_init(out, max);
    return read_into(fd, what, max, out);
}

signet_rc cli_read_file(const char *path, size_t max, sb_wr *out)
{
    sbw_init(out, max); /* the caller frees it on every path */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_open_error(NULL, path);
    signet_rc rc = read_into(fd, path, max, out);
    close(fd);
    return rc;
}

signet_rc cli_write_all(int fd, const char *what, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return signet_fail(SIGNET_E_IO, "writing %s: %s", what, strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return SIGNET_OK;
}

signet_rc cli_write_file(const char *path, const uint8_t *p, size_t n)
{
    return signet_file_replace(path, p, n, 0644, true);
}

signet_rc cli_overwrite_file(const char *path, const uint8_t *p, size_t n)
{
    /* The same inode: a reader holding the file open sees the new bytes. */
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open %s for writing: %s", path, strerror(errno));
    signet_rc rc = SIGNET_OK;
    size_t done = 0;
    while (rc == SIGNET_OK && done < n) {
        ssize_t w = pwrite(fd, p + done, n - done, (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = signet_fail(SIGNET_E_IO, "writing %s: %s", path, w < 0 ? strerror(errno) : "no progress");
        else
            done += (size_t)w;
    }
    if (rc == SIGNET_OK && ftruncate(fd, (off_t)n) != 0)
        rc = signet_fail(SIGNET_E_IO, "truncating %s: %s", path, strerror(errno));
    if (rc == SIGNET_OK && fsync(fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot flush %s to disk: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == SIGNET_OK)
        rc = signet_fail(SIGNET_E_IO, "closing %s: %s", path, strerror(errno));
    return rc;
}

signet_rc cli_sha256_file(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return signet_fail(SIGNET_E_NOTFOUND, "cannot open %s", path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t buf[65536];
    size_t n;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n);
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_IO, "cannot hash %s", path);
}

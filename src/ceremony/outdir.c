/* The ceremony's output directory.  Everything that must not be lost (shares,
 * credentials, the wrapped log key, the manifest) is written to a temporary file,
 * fsynced, renamed into place and the directory fsynced, before the step that made
 * it is reported done.  A failed attempt's files are kept, not overwritten: they
 * are evidence of what happened. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ceremony_internal.h"
#include "signet/file.h"

static signet_rc fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open directory %s: %s", dir, strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0)
        return signet_fail(SIGNET_E_IO, "cannot fsync directory %s: %s", dir, strerror(e));
    return SIGNET_OK;
}

signet_rc cer_write_file(const char *dir, const char *rel, const void *p, size_t n, mode_t mode)
{
    char path[CER_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
        return signet_fail(SIGNET_E_ARG, "path %s/%s is too long", dir, rel);
    return signet_file_replace(path, p, n, mode, true);
}

signet_rc cer_mkdir(const char *dir, const char *rel, mode_t mode)
{
    char path[CER_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
        return signet_fail(SIGNET_E_ARG, "path %s/%s is too long", dir, rel);
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        return signet_fail(SIGNET_E_IO, "cannot create directory %s: %s", path, strerror(errno));
    return fsync_dir(dir);
}

signet_rc cer_read_file(const char *path, size_t max, sb_wr *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(errno == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO, "cannot open %s: %s",
                           path, strerror(errno));
    signet_rc rc = SIGNET_OK;
    size_t total = 0;
    for (;;) {
        uint8_t buf[4096];
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (k == 0)
            break;
        total += (size_t)k;
        if (total > max) {
            rc = signet_fail(SIGNET_E_PARSE, "%s is larger than %zu bytes: is it the right file?",
                             path, max);
            break;
        }
        if ((rc = sbw_put(out, buf, (size_t)k)))
            break;
    }
    close(fd);
    return rc;
}

signet_rc cer_file_sha256(const char *path, uint8_t out[32])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(errno == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO, "cannot open %s: %s",
                           path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    signet_rc rc = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
                       ? SIGNET_OK
                       : signet_fail(SIGNET_E_CRYPTO, "SHA-256 is not available");
    while (rc == SIGNET_OK) {
        uint8_t buf[8192];
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(errno));
        else if (k == 0)
            break;
        else if (EVP_DigestUpdate(md, buf, (size_t)k) != 1)
            rc = signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed");
    }
    unsigned int n = 0;
    if (rc == SIGNET_OK && (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32))
        rc = signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed");
    EVP_MD_CTX_free(md);
    close(fd);
    return rc;
}

static bool exists(const char *dir, const char *name)
{
    char path[CER_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* Moves every entry of dir except failed-attempts into dir/failed-attempts/N. */
static signet_rc move_attempt(const char *dir, char *moved_to, size_t cap)
{
    signet_rc rc = cer_mkdir(dir, CER_ATTEMPTS_DIR, 0755);
    if (rc)
        return rc;
    char adir[CER_PATH_MAX], rel[64];
    unsigned n = 1;
    for (;; n++) {
        snprintf(rel, sizeof rel, "%s/%u", CER_ATTEMPTS_DIR, n);
        if (!exists(dir, rel))
            break;
    }
    if ((rc = cer_mkdir(dir, rel, 0755)))
        return rc;
    snprintf(adir, sizeof adir, "%s/%s", dir, rel);
    DIR *d = opendir(dir);
    if (!d)
        return signet_fail(SIGNET_E_IO, "cannot read directory %s: %s", dir, strerror(errno));
    struct dirent *de;
    while (rc == SIGNET_OK && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
            !strcmp(de->d_name, CER_ATTEMPTS_DIR))
            continue;
        char from[CER_PATH_MAX + 256], to[CER_PATH_MAX + 256];
        snprintf(from, sizeof from, "%s/%s", dir, de->d_name);
        snprintf(to, sizeof to, "%s/%s", adir, de->d_name);
        if (rename(from, to) != 0)
            rc = signet_fail(SIGNET_E_IO, "cannot move %s to %s: %s", from, to, strerror(errno));
    }
    closedir(d);
    if (rc == SIGNET_OK && (rc = fsync_dir(adir)) == SIGNET_OK)
        rc = fsync_dir(dir);
    if (rc == SIGNET_OK)
        snprintf(moved_to, cap, "%s", adir);
    return rc;
}

signet_rc cer_prepare_out(const char *dir, const char *done_file, char *moved_to, size_t cap)
{
    moved_to[0] = 0;
    if (strlen(dir) > CER_PATH_MAX - 256)
        return signet_fail(SIGNET_E_ARG, "output directory path is too long");
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT)
            return signet_fail(SIGNET_E_IO, "cannot use %s: %s", dir, strerror(errno));
        if (mkdir(dir, 0755) != 0)
            return signet_fail(SIGNET_E_IO, "cannot create the output directory %s: %s (does its "
                                            "parent exist?)",
                               dir, strerror(errno));
        char parent[CER_PATH_MAX];
        snprintf(parent, sizeof parent, "%s", dir);
        size_t n = strlen(parent);
        while (n > 1 && parent[n - 1] == '/')
            parent[--n] = 0;
        char *slash = strrchr(parent, '/');
        if (slash == parent)
            slash[1] = 0;
        else if (slash)
            *slash = 0;
        else
            snprintf(parent, sizeof parent, ".");
        return fsync_dir(parent);
    }
    if (!S_ISDIR(st.st_mode))
        return signet_fail(SIGNET_E_ARG, "%s exists and is not a directory", dir);
    if (exists(dir, done_file))
        return signet_fail(SIGNET_E_STATE,
                           "%s holds a completed ceremony (%s): it is never overwritten; choose a "
                           "new output directory",
                           dir, done_file);
    if (exists(dir, CER_STATE_FILE))
        return move_attempt(dir, moved_to, cap);
    DIR *d = opendir(dir);
    if (!d)
        return signet_fail(SIGNET_E_IO, "cannot read directory %s: %s", dir, strerror(errno));
    bool empty = true;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            empty = false;
    closedir(d);
    if (!empty)
        return signet_fail(SIGNET_E_STATE, "%s is not empty and holds no earlier attempt of this "
                                            "ceremony: choose an empty or new output directory",
                           dir);
    return SIGNET_OK;
}

signet_rc cer_state_write(const char *dir, const char *text)
{
    return cer_write_file(dir, CER_STATE_FILE, text, strlen(text), 0644);
}

signet_rc cer_state_remove(const char *dir)
{
    char path[CER_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, CER_STATE_FILE);
    if (unlink(path) != 0 && errno != ENOENT)
        return signet_fail(SIGNET_E_IO, "cannot remove %s: %s", path, strerror(errno));
    return fsync_dir(dir);
}

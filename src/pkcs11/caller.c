/* What the audit record of a signature says was signed, and for whom.
 *
 * SIGNET_ARTIFACT (a path) names the artifact: the module records the path and
 * the SHA-256 of the file (hashed once while the file is unchanged: apksigner
 * makes several signatures per APK).  The caller is this process's command line,
 * redacted so that no password given on it reaches the trail. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "p11.h"
#include "signet/audit.h"

#define ARTIFACT_ENV "SIGNET_ARTIFACT"
#define CMDLINE_MAX 8192
#define CALLER_MAX 2000 /* a record's caller field holds 2047 */

static struct {
    bool valid;
    char path[PATH_MAX];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint8_t sha256[32];
} cache;

static signet_rc hash_fd(int fd, const char *path, uint8_t out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return signet_fail(SIGNET_E_CRYPTO, "cannot start SHA-256");
    }
    static uint8_t buf[1 << 16];
    signet_rc rc = SIGNET_OK;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)n);
    }
    unsigned int len = 0;
    if (rc == SIGNET_OK && !EVP_DigestFinal_ex(md, out, &len))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot finish SHA-256");
    EVP_MD_CTX_free(md);
    return rc;
}

signet_rc p11_artifact_get(struct p11_artifact *a)
{
    memset(a, 0, sizeof *a);
    const char *path = getenv(ARTIFACT_ENV);
    if (!path || !*path)
        return SIGNET_OK;
    if (strlen(path) >= sizeof cache.path)
        return signet_fail(SIGNET_E_ARG, "%s is longer than %zu bytes", ARTIFACT_ENV,
                           sizeof cache.path - 1);
    /* A record naming an artifact that was not hashed would be worse than none:
     * a wrong path is an error the person signing must fix. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = fd < 0 ? errno : EINVAL;
        if (fd >= 0)
            close(fd);
        return signet_fail(SIGNET_E_IO, "%s names %s, which cannot be read as a file (%s): fix "
                                        "or unset it", ARTIFACT_ENV, path, strerror(e));
    }
    if (!(cache.valid && strcmp(cache.path, path) == 0 && cache.dev == st.st_dev &&
          cache.ino == st.st_ino && cache.size == st.st_size &&
          cache.mtime.tv_sec == st.st_mtim.tv_sec && cache.mtime.tv_nsec == st.st_mtim.tv_nsec)) {
        cache.valid = false;
        signet_rc rc = hash_fd(fd, path, cache.sha256);
        if (rc) {
            close(fd);
            return rc;
        }
        snprintf(cache.path, sizeof cache.path, "%s", path);
        cache.dev = st.st_dev;
        cache.ino = st.st_ino;
        cache.size = st.st_size;
        cache.mtime = st.st_mtim;
        cache.valid = true;
    }
    close(fd);
    a->path = cache.path;
    memcpy(a->sha256, cache.sha256, sizeof a->sha256);
    return SIGNET_OK;
}

/* /proc/self/cmdline: NUL-separated words.  Reads at most CMDLINE_MAX bytes. */
static size_t read_cmdline(char *buf, size_t cap)
{
    size_t n = 0;
    FILE *f = fopen("/proc/self/cmdline", "r");
    if (f) {
        n = fread(buf, 1, cap - 1, f);
        fclose(f);
    }
    buf[n] = 0;
    return n;
}

/* The command line with every secret replaced (signet_redact_argv), cut to what a
 * record holds.  If it cannot be redacted, only argv[0]: the program, never
 * arguments that might hold a password. */
static char *caller_line(void)
{
    static char buf[CMDLINE_MAX + 1];
    size_t n = read_cmdline(buf, sizeof buf);
    if (n == 0)
        return strdup("unknown");
    char *argv[256];
    int argc = 0;
    for (size_t i = 0; i < n && argc < (int)(sizeof argv / sizeof argv[0]); i += strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    sb_wr w;
    sbw_init(&w, CMDLINE_MAX);
    char *line = NULL;
    if (signet_redact_argv(argc, argv, &w) == SIGNET_OK && sbw_u8(&w, 0) == SIGNET_OK) {
        size_t len = strlen((char *)w.p);
        if (len > CALLER_MAX) /* a JVM's class path is long: keep the start */
            memcpy(w.p + CALLER_MAX - 3, "...", 4);
        line = strdup((char *)w.p);
    }
    sbw_free(&w);
    return line ? line : strdup(argv[0]);
}

const char *p11_caller(void)
{
    if (!p11.caller)
        p11.caller = caller_line();
    return p11.caller ? p11.caller : "unknown";
}

void p11_caller_reset(void)
{
    free(p11.caller);
    p11.caller = NULL;
    cache.valid = false;
}

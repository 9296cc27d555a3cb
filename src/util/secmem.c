/* Locked, wiped memory and process hardening: see include/signet/secmem.h.
 * Each block carries its size in a header so that free can wipe all of it.
 * Blocks are page-aligned mappings so that mlock and MADV_DONTDUMP cover
 * exactly the secret and nothing the allocator shares with other data. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "signet/secmem.h"

#define HDR 64 /* keeps the user pointer 64-byte aligned */

void smem_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

/* Mapping, locking and unmapping a page costs far more than the work done with
 * most secrets (a session message), and munmap flushes TLBs on every CPU, so
 * single-page blocks are kept in a small pool: still locked and undumpable, wiped
 * whole when they come back. */
#define POOL_MAX 64
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *pool[POOL_MAX];
static size_t pool_len;

static uint8_t *pool_take(size_t total)
{
    uint8_t *base = NULL;
    if (total != page_round(1))
        return NULL;
    pthread_mutex_lock(&pool_lock);
    if (pool_len)
        base = pool[--pool_len];
    pthread_mutex_unlock(&pool_lock);
    return base;
}

static bool pool_give(uint8_t *base, size_t total)
{
    bool kept = false;
    if (total != page_round(1))
        return false;
    pthread_mutex_lock(&pool_lock);
    if (pool_len < POOL_MAX) {
        pool[pool_len++] = base;
        kept = true;
    }
    pthread_mutex_unlock(&pool_lock);
    return kept;
}

static uint8_t *map_locked(size_t total)
{
    uint8_t *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    if (mlock(base, total) != 0 && getenv("SIGNET_DEBUG"))
        fprintf(stderr, "signet: could not lock %zu bytes of secret memory (%s)\n", total,
                strerror(errno));
#ifdef MADV_DONTDUMP
    madvise(base, total, MADV_DONTDUMP);
#endif
    return base;
}

void *smem_alloc(size_t n)
{
    if (n > SIZE_MAX - HDR - 4096)
        return NULL;
    size_t total = page_round(n + HDR);
    uint8_t *base = pool_take(total);
    if (!base && !(base = map_locked(total)))
        return NULL;
    memcpy(base, &total, sizeof total);
    memcpy(base + sizeof total, &n, sizeof n);
    return base + HDR;
}

static void block_sizes(void *p, size_t *total, size_t *n)
{
    uint8_t *base = (uint8_t *)p - HDR;
    memcpy(total, base, sizeof *total);
    memcpy(n, base + sizeof *total, sizeof *n);
}

void smem_free(void *p)
{
    if (!p)
        return;
    size_t total, n;
    block_sizes(p, &total, &n);
    uint8_t *base = (uint8_t *)p - HDR;
    OPENSSL_cleanse(base, total);
    if (pool_give(base, total))
        return;
    munlock(base, total);
    munmap(base, total);
}

void *smem_realloc(void *p, size_t n)
{
    if (!p)
        return smem_alloc(n);
    size_t total, old;
    block_sizes(p, &total, &old);
    void *np = smem_alloc(n);
    if (!np)
        return NULL;
    memcpy(np, p, old < n ? old : n);
    smem_free(p);
    return np;
}

char *smem_strdup(const char *s)
{
    size_t n = strlen(s);
    char *d = smem_alloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

signet_rc signet_harden_process(void)
{
    struct rlimit rl = {0, 0};
    if (setrlimit(RLIMIT_CORE, &rl) != 0)
        return signet_fail(SIGNET_E_IO, "cannot disable core dumps: %s", strerror(errno));
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return signet_fail(SIGNET_E_IO, "cannot mark the process non-dumpable: %s", strerror(errno));
    return SIGNET_OK;
}

/* Longest password taken from a file or a terminal; anything longer is refused
 * rather than cut, so that a wrong file never logs in with a prefix of itself. */
#define PASSWORD_MAX 4095

static signet_rc read_password_file(const char *file, char **out)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open password file %s: %s", file, strerror(errno));
    /* The longest password, its line end ("\r\n") and one byte more, to notice a
     * longer file. */
    enum { CAP = PASSWORD_MAX + 3 };
    char *buf = smem_alloc(CAP + 1);
    if (!buf) {
        close(fd);
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    }
    size_t len = 0;
    ssize_t r = 0;
    while (len < CAP && ((r = read(fd, buf + len, CAP - len)) > 0 || (r < 0 && errno == EINTR)))
        len += r > 0 ? (size_t)r : 0;
    int err = errno;
    close(fd);
    buf[len] = 0;
    signet_rc rc = SIGNET_OK;
    if (r < 0)
        rc = signet_fail(SIGNET_E_IO, "cannot read password file %s: %s", file, strerror(err));
    else if (len == CAP || strcspn(buf, "\r\n") > PASSWORD_MAX)
        rc = signet_fail(SIGNET_E_ARG,
                         "password file %s is longer than a password of at most %d bytes and its "
                         "line end: is it the right file?",
                         file, PASSWORD_MAX);
    else if (memchr(buf, 0, len))
        rc = signet_fail(SIGNET_E_ARG, "password file %s contains a NUL byte: is it the right file?",
                         file);
    if (rc) {
        smem_free(buf);
        return rc;
    }
    buf[strcspn(buf, "\r\n")] = 0; /* the first line is the password */
    *out = buf;
    return SIGNET_OK;
}

static signet_rc prompt_password(const char *prompt, const char *env, char **out)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return signet_fail(SIGNET_E_ARG, "no password given: use --password-file FILE%s%s%s run "
                                         "on a terminal",
                           env ? ", set the environment variable " : "", env ? env : "",
                           env ? "," : " or");
    struct termios old, quiet;
    int have_tty = tcgetattr(fd, &old) == 0;
    if (have_tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) { /* best effort */ }
    char *buf = smem_alloc(PASSWORD_MAX + 2);
    size_t len = 0;
    char c;
    while (buf && len <= PASSWORD_MAX && read(fd, &c, 1) == 1 && c != '\n')
        buf[len++] = c;
    if (have_tty)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) { /* best effort */ }
    close(fd);
    if (!buf)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    buf[len] = 0;
    if (len > PASSWORD_MAX) {
        smem_free(buf);
        return signet_fail(SIGNET_E_ARG, "the password typed is longer than %d bytes", PASSWORD_MAX);
    }
    *out = buf;
    return SIGNET_OK;
}

signet_rc signet_read_password(const char *file, const char *env, const char *prompt, char **out)
{
    *out = NULL;
    if (file)
        return read_password_file(file, out);
    const char *v = env ? getenv(env) : NULL;
    if (v) {
        *out = smem_strdup(v);
        if (!*out)
            return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
        /* Wipe the environment copy too, then drop it so children do not inherit it. */
        smem_wipe((void *)v, strlen(v));
        unsetenv(env);
        return SIGNET_OK;
    }
    return prompt_password(prompt ? prompt : "Password: ", env, out);
}

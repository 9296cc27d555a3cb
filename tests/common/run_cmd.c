/* Running commands and handling files in tests: see hsmd_fixture.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/hsmd_fixture.h"

#define DEFAULT_TIMEOUT_S 300

const char *test_bin(const char *name)
{
    static __thread char path[512];
    const char *dir = getenv("SIGNET_BIN_DIR");
    if (!dir || !*dir) {
        fprintf(stderr, "test: SIGNET_BIN_DIR is not set; run the tests through ctest\n");
        abort();
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A growable capture buffer. */
struct capture {
    char *p;
    size_t len, cap;
};

static int capture_read(int fd, struct capture *c)
{
    if (c->cap - c->len < 4097) {
        size_t ncap = c->cap ? c->cap * 2 : 8192;
        char *np = realloc(c->p, ncap);
        if (!np)
            return 0; /* out of memory: stop reading, keep what we have */
        c->p = np;
        c->cap = ncap;
    }
    ssize_t n = read(fd, c->p + c->len, c->cap - c->len - 1);
    if (n > 0) {
        c->len += (size_t)n;
        return 1;
    }
    return n < 0 && (errno == EINTR || errno == EAGAIN); /* 0: end of file or error */
}

static int exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

static void give(struct capture *c, char **out, size_t *out_len)
{
    if (out) {
        if (!c->p)
            c->p = calloc(1, 1);
        else
            c->p[c->len] = 0;
        *out = c->p;
        if (out_len)
            *out_len = c->len;
    } else {
        free(c->p);
    }
}

int run_cmd_full(const char *cmd, const void *in, size_t in_len, char **out, size_t *out_len,
                 char **err, unsigned timeout_s)
{
    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    if (out)
        *out = NULL;
    if (err)
        *err = NULL;
    /* Writing to a command that exits early must fail with EPIPE, not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || (err && pipe2(perr, O_CLOEXEC))) {
        fprintf(stderr, "test: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "test: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0); /* so a timeout kills the whole pipeline */
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        if (err)
            dup2(perr[1], 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    if (err)
        close(perr[1]);
    if (!in || in_len == 0) {
        close(pin[1]);
        pin[1] = -1;
    } else {
        fcntl(pin[1], F_SETFL, O_NONBLOCK);
    }

    struct capture co = {0}, ce = {0};
    size_t sent = 0;
    long long deadline = now_ms() + 1000LL * (timeout_s ? timeout_s : DEFAULT_TIMEOUT_S);
    bool timed_out = false;
    int open_out = 1, open_err = err ? 1 : 0;
    while (open_out || open_err || pin[1] >= 0) {
        struct pollfd fds[3];
        int nf = 0, io = -1, ie = -1, ii = -1;
        if (open_out) { io = nf; fds[nf++] = (struct pollfd){.fd = pout[0], .events = POLLIN}; }
        if (open_err) { ie = nf; fds[nf++] = (struct pollfd){.fd = perr[0], .events = POLLIN}; }
        if (pin[1] >= 0) { ii = nf; fds[nf++] = (struct pollfd){.fd = pin[1], .events = POLLOUT}; }
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        int r = poll(fds, (nfds_t)nf, (int)(left > 1000 ? 1000 : left));
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0)
            continue;
        if (io >= 0 && fds[io].revents)
            open_out = capture_read(pout[0], &co);
        if (ie >= 0 && fds[ie].revents)
            open_err = capture_read(perr[0], &ce);
        if (ii >= 0 && fds[ii].revents) {
            ssize_t n = (fds[ii].revents & POLLOUT)
                            ? write(pin[1], (const char *)in + sent, in_len - sent)
                            : -1;
            if (n > 0)
                sent += (size_t)n;
            if (n < 0 && errno == EAGAIN)
                continue;
            if (n < 0 || sent == in_len) {
                close(pin[1]);
                pin[1] = -1;
            }
        }
    }
    if (pin[1] >= 0)
        close(pin[1]);
    close(pout[0]);
    if (err)
        close(perr[0]);
    if (timed_out) {
        fprintf(stderr, "test: command timed out, killing it: %s\n", cmd);
        kill(-pid, SIGKILL);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    give(&co, out, out_len);
    give(&ce, err, NULL);
    return timed_out ? 124 : exit_code(status);
}

int run_cmd(const char *cmd, char **out)
{
    return run_cmd_full(cmd, NULL, 0, out, NULL, NULL, 0);
}

int test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "test: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        fprintf(stderr, "test: cannot write %s\n", path);
    return ok ? 0 : -1;
}

int test_read_file(const char *path, char **data, size_t *len)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "test: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct capture c = {0};
    while (capture_read(fileno(f), &c) == 1)
        ;
    fclose(f);
    give(&c, data, len);
    return *data ? 0 : -1;
}

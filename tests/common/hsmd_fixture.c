/* A private signet-hsm per test: see hsmd_fixture.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/hsmd_fixture.h"

#define MAX_ARGS 64
/* Generous: under ASan a first start creates the state and may be slow. */
#define START_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS 20000

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dump_log(const struct hsmd *h)
{
    char *text = NULL;
    size_t len;
    if (h->log[0] && test_read_file(h->log, &text, &len) == 0 && len)
        fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", h->log, text);
    free(text);
}

/* Splits extra_args on spaces into argv[*argc...]; copies into buf.  Remembers the
 * value of --state if given. */
static int split_args(const char *extra, char *buf, size_t buflen, char **argv, int *argc,
                      const char **state)
{
    if (!extra)
        return 0;
    if (strlen(extra) >= buflen) {
        fprintf(stderr, "hsmd_start: extra arguments too long\n");
        return -1;
    }
    strcpy(buf, extra);
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
        if (*argc >= MAX_ARGS - 1) {
            fprintf(stderr, "hsmd_start: too many extra arguments\n");
            return -1;
        }
        argv[(*argc)++] = t;
        if (strcmp(t, "--state") == 0)
            *state = "";             /* the next word is the file */
        else if (*state && !**state)
            *state = t;
        else if (strncmp(t, "--state=", 8) == 0)
            *state = t + 8;
    }
    return 0;
}

/* Reads the "listening on URL" line from the daemon's stdout. */
static int read_url(struct hsmd *h, int fd)
{
    char line[256];
    size_t n = 0;
    long long deadline = now_ms() + START_TIMEOUT_MS;
    while (n < sizeof line - 1) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            fprintf(stderr, "hsmd_start: signet-hsm did not announce its URL within %d s\n",
                    START_TIMEOUT_MS / 1000);
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t got = read(fd, line + n, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            fprintf(stderr, "hsmd_start: signet-hsm exited before announcing its URL\n");
            return -1;
        }
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = 0;
    const char *prefix = "listening on ";
    if (strncmp(line, prefix, strlen(prefix)) != 0 ||
        strlen(line + strlen(prefix)) >= sizeof h->url) {
        fprintf(stderr, "hsmd_start: unexpected first line from signet-hsm: %s\n", line);
        return -1;
    }
    strcpy(h->url, line + strlen(prefix));
    return 0;
}

/* Starts the daemon in h->dir (which must exist) with h->state. */
static int launch(struct hsmd *h, const char *extra)
{
    char path[512], argbuf[2048];
    const char *state = NULL;
    char *argv[MAX_ARGS + 8];
    int argc = 0;
    snprintf(path, sizeof path, "%s", test_bin("signet-hsm"));
    argv[argc++] = path;
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1:0";
    int state_idx = argc;
    argv[argc++] = "--state";
    argv[argc++] = h->state;
    if (split_args(extra, argbuf, sizeof argbuf, argv, &argc, &state) != 0)
        return -1;
    if (state && *state) {
        snprintf(h->state, sizeof h->state, "%s", state);
        argv[state_idx + 1] = h->state;
    }
    argv[argc] = NULL;

    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) {
        fprintf(stderr, "hsmd_start: pipe: %s\n", strerror(errno));
        return -1;
    }
    int logfd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0) {
        fprintf(stderr, "hsmd_start: cannot open %s: %s\n", h->log, strerror(errno));
        close(out[0]);
        close(out[1]);
        if (logfd >= 0)
            close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        return -1;
    }
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "hsmd_start: fork: %s\n", strerror(errno));
        close(out[0]);
        close(out[1]);
        close(logfd);
        close(nullfd);
        return -1;
    }
    if (pid == 0) {
        /* The daemon must not outlive a test that crashed or was killed. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1);
        dup2(nullfd, 0);
        dup2(out[1], 1);
        dup2(logfd, 2);
        if (chdir(h->dir) != 0)
            _exit(1);
        execv(path, argv);
        _exit(127);
    }
    close(out[1]);
    close(logfd);
    close(nullfd);
    h->pid = pid;
    int rc = read_url(h, out[0]);
    close(out[0]);
    if (rc != 0) {
        dump_log(h);
        hsmd_stop(h);
    }
    return rc;
}

int hsmd_start(struct hsmd *h, const char *extra_args)
{
    memset(h, 0, sizeof *h);
    h->exit_status = -1;
    const char *tmp = getenv("TMPDIR");
    snprintf(h->dir, sizeof h->dir, "%s/signet-hsmd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(h->dir)) {
        fprintf(stderr, "hsmd_start: mkdtemp %s: %s\n", h->dir, strerror(errno));
        h->dir[0] = 0;
        return -1;
    }
    if (snprintf(h->state, sizeof h->state, "%s/signet-hsm.state", h->dir) >= (int)sizeof h->state ||
        snprintf(h->log, sizeof h->log, "%s/signet-hsm.log", h->dir) >= (int)sizeof h->log) {
        fprintf(stderr, "hsmd_start: TMPDIR %s is too long\n", h->dir);
        return -1;
    }
    return launch(h, extra_args);
}

int hsmd_restart(struct hsmd *h, const char *extra_args)
{
    hsmd_stop(h);
    h->url[0] = 0;
    return launch(h, extra_args);
}

void hsmd_stop(struct hsmd *h)
{
    if (h->pid <= 0)
        return;
    kill(h->pid, SIGTERM);
    long long deadline = now_ms() + STOP_TIMEOUT_MS;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(h->pid, &status, WNOHANG);
        if (r == h->pid)
            break;
        if (r < 0 && errno != EINTR) {
            status = -1;
            break;
        }
        if (now_ms() > deadline) {
            fprintf(stderr, "hsmd_stop: signet-hsm (pid %ld) ignored SIGTERM; killing it\n",
                    (long)h->pid);
            kill(h->pid, SIGKILL);
            waitpid(h->pid, &status, 0);
            break;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    h->exit_status = status == -1        ? -1
                     : WIFEXITED(status)   ? WEXITSTATUS(status)
                     : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                           : -1;
    h->pid = 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path) == 0 ? 0 : (fprintf(stderr, "hsmd_cleanup: cannot remove %s\n", path), 0);
}

void hsmd_cleanup(struct hsmd *h)
{
    hsmd_stop(h);
    if (h->dir[0])
        nftw(h->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    h->dir[0] = 0;
}

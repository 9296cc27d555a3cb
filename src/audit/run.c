/* Running an external program (git) without a shell, capturing its output. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit_internal.h"

signet_rc run_capture(char *const argv[], sb_wr *out, int *status)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return signet_fail(SIGNET_E_IO, "cannot create a pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return signet_fail(SIGNET_E_IO, "cannot start %s: %s", argv[0], strerror(errno));
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(p[1], 1);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    signet_rc rc = SIGNET_OK;
    for (;;) {
        uint8_t *dst;
        if ((rc = sbw_reserve(out, 65536, &dst)))
            break;
        ssize_t n = read(p[0], dst, 65536);
        if (n < 0 && errno == EINTR) {
            out->len -= 65536;
            continue;
        }
        out->len -= 65536 - (size_t)(n > 0 ? n : 0);
        if (n <= 0) {
            if (n < 0)
                rc = signet_fail(SIGNET_E_IO, "cannot read the output of %s: %s", argv[0], strerror(errno));
            break;
        }
    }
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (rc) {
        return rc;
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    if (*status == 127)
        return signet_fail(SIGNET_E_NOTFOUND, "cannot run %s: is it installed?", argv[0]);
    return SIGNET_OK;
}

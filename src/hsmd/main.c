/* signet-hsm: an emulated YubiHSM 2 behind Yubico's connector HTTP API.
 * Start-up order matters: harden, block the stop signals before any thread exists
 * (so every server thread inherits the mask and only sigwait sees them), open the
 * device state, bind, serve, and only then announce the URL. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hsmd.h"
#include "signet/secmem.h"

void hsmd_log(const char *fmt, ...)
{
    char msg[640], line[704];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One write per line, so lines of concurrent threads do not interleave. */
    snprintf(line, sizeof line, "signet-hsm[%ld]: %s\n", (long)getpid(), msg);
    fputs(line, stderr);
}

static int fail(signet_rc rc)
{
    hsmd_log("%s", signet_errmsg());
    return signet_exit_code(rc);
}

static signet_rc write_pid_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot write the pid file %s: %s", path, strerror(errno));
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    bool ok = write(fd, buf, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return signet_fail(SIGNET_E_IO, "cannot write the pid file %s: %s", path, strerror(errno));
    }
    return SIGNET_OK;
}

int main(int argc, char **argv)
{
    signet_rc rc = signet_harden_process();
    if (rc != SIGNET_OK)
        return fail(rc);

    struct hsmd_config cfg;
    switch (hsmd_parse_args(argc, argv, &cfg)) {
    case HSMD_RUN: break;
    case HSMD_EXIT_OK: return 0;
    case HSMD_EXIT_USAGE: return 2;
    }

    struct hsmd_endpoint ep;
    if ((rc = hsmd_endpoint_parse(cfg.listen, &ep)) != SIGNET_OK) {
        fprintf(stderr, "signet-hsm: %s\n", signet_errmsg());
        return 2;
    }
    if (!ep.loopback && !cfg.allow_remote) {
        fprintf(stderr,
                "signet-hsm: refusing to listen on %s, which is not a loopback address: the\n"
                "connector API has no authentication of its own.  Add --allow-remote if the\n"
                "network is trusted (and --allow-host for the name clients will use).\n",
                ep.host);
        return 2;
    }

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that hangs up must not kill the daemon */

    hsm_device_opts dopts = {
        .state_path = cfg.state_path,
        .serial = cfg.serial,
        .session_timeout_s = cfg.session_timeout_s,
        .latency_profile = cfg.latency,
    };
    hsm_device *dev = NULL;
    if ((rc = hsm_device_open(&dopts, &dev)) != SIGNET_OK)
        return fail(signet_wrap(rc, "opening the device state %s", cfg.state_path));
    if (cfg.print_ca) {
        sb_wr pem;
        sbw_init(&pem, 16384);
        if ((rc = hsm_device_ca_pem(dev, &pem)) == SIGNET_OK)
            fwrite(pem.p, 1, pem.len, stdout);
        sbw_free(&pem);
        hsm_device_free(dev);
        return rc == SIGNET_OK && fflush(stdout) == 0 ? 0 : fail(rc);
    }

    int fd = -1;
    struct hsmd_hostlist hosts;
    struct hsmd_server *srv = NULL;
    if ((rc = hsmd_listen(&ep, &fd)) != SIGNET_OK ||
        (rc = hsmd_hostlist_init(&hosts, &ep, cfg.allow_hosts, cfg.n_allow_hosts)) != SIGNET_OK) {
        if (fd >= 0)
            close(fd);
        hsm_device_free(dev);
        return fail(rc);
    }
    struct hsmd_server_opts so = {.dev = dev, .listen_fd = fd, .ep = &ep, .hosts = &hosts,
                                   .connection_timeout_s = cfg.connection_timeout_s};
    if ((rc = hsmd_server_start(&so, &srv)) != SIGNET_OK) {
        hsm_device_free(dev);
        return fail(rc);
    }
    if (cfg.pid_file && (rc = write_pid_file(cfg.pid_file)) != SIGNET_OK) {
        hsmd_server_stop(srv);
        hsm_device_free(dev);
        return fail(rc);
    }

    char url[96];
    hsmd_endpoint_url(&ep, url, sizeof url);
    hsmd_log("started: YubiHSM 2 serial %u firmware %s, state %s, latency %s, on %s",
             hsm_device_serial(dev), hsm_device_version(dev), cfg.state_path, cfg.latency, url);
    /* The one line on stdout: tests and scripts read the URL from it (port 0). */
    printf("listening on %s\n", url);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    hsmd_log("stopping on %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
    hsmd_server_stop(srv);
    hsm_device_free(dev);
    if (cfg.pid_file)
        unlink(cfg.pid_file);
    hsmd_log("stopped");
    return 0;
}

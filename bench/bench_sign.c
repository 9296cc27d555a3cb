/* bench_sign: signatures per second through the whole signet stack (client ->
 * HTTP -> secure channel -> emulated device) against OpenSSL signing in-process
 * with a key of the same type, in the same run, with the device's command audit
 * off and then on.  It also times the layers in between, so that a gap to OpenSSL
 * can be attributed:
 *
 *   http echo        a plain Echo frame over HTTP: one connector round trip
 *   core echo        the same Echo frame into an in-process device core: framing
 *   session echo     Echo inside the secure channel, in-process: + channel crypto
 *   in-process sign  the full sign command into an in-process device core: no HTTP
 *
 * It starts its own signet-hsm (latency none) on a free port unless --url names a
 * running connector.  Not part of ctest: run it by hand (docs/BENCHMARKS.md). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/hsmd_fixture.h"
#include "signet/client.h"
#include "signet/device.h"

#define AUDIT_DRAIN_EVERY 50 /* well below the log's 62 entries */

struct bench_key {
    const char *name;
    uint8_t algo;
    bool rsa;
    uint16_t id_http, id_core; /* the key on the daemon and on the in-process core */
    EVP_PKEY *local;           /* same type, for the OpenSSL figure */
};

static struct bench_key keys[] = {
    {"rsa2048", YH_ALGO_RSA_2048, true, 0, 0, NULL},
    {"rsa4096", YH_ALGO_RSA_4096, true, 0, 0, NULL},
    {"p256", YH_ALGO_EC_P256, false, 0, 0, NULL},
};
#define N_KEYS (sizeof keys / sizeof keys[0])

static double seconds_per_figure = 3.0;
static const uint8_t digest[32] = {0x5e, 0x88, 0x48, 0x98, 0xda, 0x28, 0x04, 0x71,
                                   0x51, 0xd0, 0xe5, 0x6f, 0x8d, 0xc6, 0x29, 0x27,
                                   0x73, 0x60, 0x3d, 0x0d, 0x6a, 0xab, 0xbd, 0xd6,
                                   0x2a, 0x11, 0xef, 0x72, 0x1d, 0x15, 0x42, 0xd8};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- timing --------------------------------------------------------------------- */
typedef signet_rc (*op_fn)(void *ctx, unsigned i);

/* Wall-clock rate and CPU time per operation.  The CPU figure adds this process and
 * the daemon (when we started it): it is what an idle machine would spend, and it
 * stays meaningful when other work competes for the CPUs and stretches the wall
 * clock (the HTTP path needs two processes to be scheduled in turn). */
struct figure {
    double per_s;      /* operations per second (wall clock); -1 on failure */
    double cpu_us;     /* CPU microseconds per operation, both processes */
};

static pid_t daemon_pid; /* 0: not ours, its CPU time is unknown */

static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* utime + stime of another process, in seconds (clock-tick resolution). */
static double other_cpu_s(pid_t pid)
{
    if (!pid)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields after the command name (which may contain spaces) in parentheses. */
    const char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
                     &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Runs op until seconds_per_figure have passed (and at least 5 times), after 3
 * warm-up calls. */
static struct figure rate(op_fn op, void *ctx, bool with_daemon, const char *what)
{
    struct figure fig = {-1, -1};
    for (unsigned i = 0; i < 3; i++)
        if (op(ctx, i) != SIGNET_OK)
            goto failed;
    unsigned n = 0;
    double start = now_s(), el;
    double cpu0 = process_cpu_s(), dcpu0 = with_daemon ? other_cpu_s(daemon_pid) : 0;
    do {
        if (op(ctx, n) != SIGNET_OK)
            goto failed;
        n++;
        el = now_s() - start;
    } while (el < seconds_per_figure || n < 5);
    double cpu = process_cpu_s() - cpu0;
    if (with_daemon)
        cpu += other_cpu_s(daemon_pid) - dcpu0;
    fig.per_s = n / el;
    fig.cpu_us = cpu * 1e6 / n;
    return fig;
failed:
    fprintf(stderr, "bench_sign: %s failed: %s\n", what, signet_errmsg());
    return fig;
}

/* ---- the operations ------------------------------------------------------------- */
struct device_op {
    hsm_session *s;
    struct bench_key *k;
    uint16_t id;
    bool audited;     /* drain the device log as the signing path would */
};

static signet_rc drain_log(hsm_session *s)
{
    static hsm_log log; /* 2 KB: keep it off the stack */
    signet_rc rc = hsm_get_log_entries(s, &log);
    if (rc == SIGNET_OK && log.n)
        rc = hsm_set_log_index(s, log.entries[log.n - 1].number);
    return rc;
}

static signet_rc op_device_sign(void *ctx, unsigned i)
{
    struct device_op *d = ctx;
    uint8_t sig[600];
    size_t sig_len = sizeof sig;
    signet_rc rc = d->k->rsa ? hsm_sign_pkcs1(d->s, d->id, digest, sizeof digest, sig, &sig_len)
                             : hsm_sign_ecdsa(d->s, d->id, digest, sizeof digest, sig, &sig_len);
    if (rc == SIGNET_OK && d->audited && i % AUDIT_DRAIN_EVERY == AUDIT_DRAIN_EVERY - 1)
        rc = drain_log(d->s);
    return rc;
}

struct openssl_op {
    EVP_PKEY_CTX *ctx;
};

static signet_rc op_openssl_sign(void *ctx, unsigned i)
{
    struct openssl_op *o = ctx;
    uint8_t sig[600];
    size_t sig_len = sizeof sig;
    if (EVP_PKEY_sign(o->ctx, sig, &sig_len, digest, sizeof digest) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "EVP_PKEY_sign failed");
    return SIGNET_OK;
}

static signet_rc op_plain_echo(void *ctx, unsigned i)
{
    uint8_t buf[16];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    return hsm_conn_command(ctx, YH_CMD_ECHO, digest, 8, &w);
}

static signet_rc op_session_echo(void *ctx, unsigned i)
{
    uint8_t buf[16];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    return hsm_echo(ctx, digest, 8, &w);
}

/* ---- setup ---------------------------------------------------------------------- */
static signet_rc core_transport(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                                size_t *resp_len)
{
    return hsm_device_transact(ctx, req, len, resp, resp_len);
}

static signet_rc generate_keys(hsm_session *s, bool on_core, const bool *selected)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        struct bench_key *k = &keys[i];
        if (!selected[i])
            continue;
        hsm_object_attrs a = {
            .label = k->name, .domains = 1, .algorithm = k->algo,
            .capabilities = k->rsa ? YH_CAP(YH_CAP_SIGN_PKCS) : YH_CAP(YH_CAP_SIGN_ECDSA)};
        uint16_t *id = on_core ? &k->id_core : &k->id_http;
        signet_rc rc = hsm_generate_asymmetric(s, &a, id);
        if (rc)
            return signet_wrap(rc, "generating %s", k->name);
    }
    return SIGNET_OK;
}

static signet_rc set_sign_audit(hsm_session *s, uint8_t value)
{
    const uint8_t pairs[] = {YH_CMD_SIGN_PKCS1, value, YH_CMD_SIGN_PSS, value,
                             YH_CMD_SIGN_ECDSA, value, YH_CMD_SIGN_EDDSA, value};
    signet_rc rc = hsm_set_option(s, YH_OPTION_COMMAND_AUDIT, pairs, sizeof pairs);
    if (rc == SIGNET_OK)
        rc = drain_log(s);
    return rc;
}

static signet_rc openssl_ctx(struct bench_key *k, EVP_PKEY_CTX **out)
{
    if (!k->local)
        k->local = k->rsa ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
                                              (size_t)(k->algo == YH_ALGO_RSA_4096 ? 4096 : 2048))
                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY_CTX *c = k->local ? EVP_PKEY_CTX_new(k->local, NULL) : NULL;
    if (!c || EVP_PKEY_sign_init(c) != 1 ||
        (k->rsa && (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) != 1 ||
                    EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) != 1))) {
        EVP_PKEY_CTX_free(c);
        return signet_fail(SIGNET_E_CRYPTO, "OpenSSL could not prepare a %s key", k->name);
    }
    *out = c;
    return SIGNET_OK;
}

static void cpu_model(char *out, size_t len)
{
    snprintf(out, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + strspn(v + 1, " ");
                v[strcspn(v, "\n")] = 0;
                snprintf(out, len, "%s", v);
            }
            break;
        }
    }
    fclose(f);
}

/* signet-hsm sits next to this program in the build's bin directory. */
static void find_bin_dir(void)
{
    if (getenv("SIGNET_BIN_DIR"))
        return;
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = 0;
    setenv("SIGNET_BIN_DIR", dirname(self), 1);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_sign [--seconds S] [--url URL] [--keys rsa2048,rsa4096,p256]\n"
               "                  [--state-dir DIR]\n"
               "\n"
               "Signatures per second through client -> HTTP -> secure channel -> signet-hsm,\n"
               "against OpenSSL in-process, with device command audit off and on.\n"
               "  --seconds S   time per figure (default 3)\n"
               "  --url URL     benchmark this running connector instead of starting signet-hsm\n"
               "                (it must have the factory authentication key)\n"
               "  --keys LIST   which key types to measure (default all)\n"
               "  --state-dir D keep the daemon's state file in D (default: a temporary\n"
               "                directory under $TMPDIR; /dev/shm shows the cost without fsync)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"seconds", required_argument, 0, 's'},
                                         {"state-dir", required_argument, 0, 'd'},
                                         {"url", required_argument, 0, 'u'},
                                         {"keys", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *url = NULL, *only = NULL, *state_dir = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0); /* progress and table lines in order, also in a pipe */
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': seconds_per_figure = atof(optarg); break;
        case 'u': url = optarg; break;
        case 'k': only = optarg; break;
        case 'd': state_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (seconds_per_figure <= 0 || optind < argc) {
        usage(stderr);
        return 2;
    }
    bool selected[N_KEYS];
    for (size_t i = 0; i < N_KEYS; i++)
        selected[i] = !only || strstr(only, keys[i].name) != NULL;

    struct hsmd daemon = {0};
    if (!url) {
        find_bin_dir();
        /* The daemon's directory (state and whatever the device keeps next to it)
         * goes under --state-dir, e.g. tmpfs to take fsync out of the figures. */
        if (state_dir)
            setenv("TMPDIR", state_dir, 1);
        if (hsmd_start(&daemon, "--latency none") != 0)
            return 1;
        url = daemon.url;
        daemon_pid = daemon.pid;
    }

    signet_rc rc;
    hsm_conn *conn = NULL, *core_conn = NULL;
    hsm_session *s = NULL, *core_s = NULL;
    hsm_device *core = NULL;
    hsm_device_opts dopts = {.state_path = NULL, .latency_profile = "none"};
    if ((rc = hsm_conn_open(url, &conn)) || (rc = hsm_session_open(conn, 1, "password", &s)) ||
        (rc = hsm_device_open(&dopts, &core)) ||
        (rc = hsm_conn_open_transport(core_transport, core, &core_conn)) ||
        (rc = hsm_session_open(core_conn, 1, "password", &core_s))) {
        fprintf(stderr, "bench_sign: %s\n", signet_errmsg());
        hsmd_cleanup(&daemon);
        return 1;
    }
    fprintf(stderr, "bench_sign: generating keys on signet-hsm and on the in-process core...\n");
    if ((rc = generate_keys(s, false, selected)) ||
        (rc = generate_keys(core_s, true, selected))) {
        fprintf(stderr, "bench_sign: %s\n", signet_errmsg());
        hsmd_cleanup(&daemon);
        return 1;
    }

    char cpu[128];
    cpu_model(cpu, sizeof cpu);
    printf("bench_sign: %.1f s per figure; %s; %ld CPUs; %s; connector %s\n", seconds_per_figure,
           cpu, sysconf(_SC_NPROCESSORS_ONLN), OpenSSL_version(OPENSSL_VERSION), url);

    struct figure http_echo = rate(op_plain_echo, conn, true, "echo over HTTP");
    struct figure core_echo = rate(op_plain_echo, core_conn, false, "echo in-process");
    struct figure sess_echo = rate(op_session_echo, core_s, false, "session echo in-process");
    printf("\nlayers (one round trip each):          per second   wall us    cpu us\n");
    printf("  plain echo over HTTP               %11.0f %9.1f %9.1f%s\n", http_echo.per_s,
           1e6 / http_echo.per_s, http_echo.cpu_us, daemon_pid ? "" : " (client only)");
    printf("  plain echo in-process              %11.0f %9.1f %9.1f\n", core_echo.per_s,
           1e6 / core_echo.per_s, core_echo.cpu_us);
    printf("  session echo in-process            %11.0f %9.1f %9.1f\n", sess_echo.per_s,
           1e6 / sess_echo.per_s, sess_echo.cpu_us);

    int status = 0;
    for (int audit = 0; audit < 2; audit++) {
        if (audit && ((rc = set_sign_audit(s, YH_OPT_ON)) || (rc = set_sign_audit(core_s, YH_OPT_ON)))) {
            fprintf(stderr, "bench_sign: turning on sign audit: %s\n", signet_errmsg());
            status = 1;
            break;
        }
        printf("\ndevice command audit of sign commands: %s%s\n", audit ? "on" : "off",
               audit ? " (log drained every 50 signatures, timed with them)" : "");
        printf("  %-8s | %12s %12s %12s %7s | %22s %10s %10s %7s\n", "key", "signet-hsm/s",
               "in-process/s", "openssl/s", "ratio", "cpu us/sig: signet-hsm", "in-process",
               "openssl", "ratio");
        for (size_t i = 0; i < N_KEYS; i++) {
            if (!selected[i])
                continue;
            struct bench_key *k = &keys[i];
            struct device_op dh = {.s = s, .k = k, .id = k->id_http, .audited = audit};
            struct device_op dc = {.s = core_s, .k = k, .id = k->id_core, .audited = audit};
            struct openssl_op o;
            if (openssl_ctx(k, &o.ctx) != SIGNET_OK) {
                fprintf(stderr, "bench_sign: %s\n", signet_errmsg());
                status = 1;
                continue;
            }
            struct figure f_http = rate(op_device_sign, &dh, true, "signing over HTTP");
            struct figure f_core = rate(op_device_sign, &dc, false, "signing in-process");
            struct figure f_ssl = rate(op_openssl_sign, &o, false, "OpenSSL signing");
            EVP_PKEY_CTX_free(o.ctx);
            if (f_http.per_s < 0 || f_core.per_s < 0 || f_ssl.per_s < 0) {
                status = 1;
                continue;
            }
            printf("  %-8s | %12.1f %12.1f %12.1f %7.3f | %22.1f %10.1f %10.1f %7.3f\n", k->name,
                   f_http.per_s, f_core.per_s, f_ssl.per_s, f_http.per_s / f_ssl.per_s,
                   f_http.cpu_us, f_core.cpu_us, f_ssl.cpu_us, f_ssl.cpu_us / f_http.cpu_us);
            fflush(stdout);
        }
    }
    printf("\nratio (left) = signet-hsm/s over openssl/s, wall clock.  ratio (right) = OpenSSL's\n"
           "CPU time per signature over the whole stack's (client + signet-hsm): the figure an\n"
           "idle machine would show; it does not count waiting for the CPU.\n");

    for (size_t i = 0; i < N_KEYS; i++)
        EVP_PKEY_free(keys[i].local);
    hsm_session_close(s);
    hsm_session_close(core_s);
    hsm_conn_close(conn);
    hsm_conn_close(core_conn);
    hsm_device_free(core);
    hsmd_cleanup(&daemon);
    return status;
}

/* signet-hsm command line: see hsmd.h and docs/signet-hsm.1.md. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsmd.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: signet-hsm [options]\n"
            "\n"
            "An emulated YubiHSM 2 serving Yubico's connector HTTP API, for tests, demos and\n"
            "ceremony rehearsals.  Point signet (or yubihsm-shell) at the printed URL.\n"
            "\n"
            "options:\n"
            "  --listen ADDR:PORT     address to serve (default %s; port 0 picks a free\n"
            "                         port); IPv6 as [ADDR]:PORT; numeric addresses only\n"
            "  --state FILE           device state, created in factory state when missing\n"
            "                         (default %s)\n"
            "  --serial N             serial number of a newly created state\n"
            "  --session-timeout S    seconds before an idle session expires (default 30)\n"
            "  --connection-timeout S seconds before an idle or stalled HTTP connection is\n"
            "                         closed (default 10)\n"
            "  --latency PROFILE      none (default) or yubihsm2 (as slow as the device)\n"
            "  --allow-host H         also accept this Host header (NAME or NAME:PORT; the\n"
            "                         listening port is implied); repeatable\n"
            "  --allow-remote         allow listening on a non-loopback address\n"
            "  --pid-file F           write the process id to F (removed on exit)\n"
            "  --print-ca             print the device's attestation CA certificate (PEM)\n"
            "                         and exit (also kept in STATE.ca.pem)\n"
            "  --foreground           stay in the foreground (the default; never daemonises)\n"
            "  -h, --help             this help\n"
            "  --version              print the version\n"
            "\n"
            "Requests whose Host header is not localhost, 127.0.0.1 or [::1] with the\n"
            "listening port (or an --allow-host) are refused with 403, against DNS rebinding.\n"
            "SIGTERM or SIGINT stops the daemon.  Manual: docs/signet-hsm.1.md\n",
            HSMD_DEFAULT_LISTEN, HSMD_DEFAULT_STATE);
}

static enum hsmd_parse_result usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static enum hsmd_parse_result usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "signet-hsm: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(try `signet-hsm --help`)\n");
    return HSMD_EXIT_USAGE;
}

/* Whole-string unsigned decimal within [min, max]. */
static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return false;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

enum hsmd_parse_result hsmd_parse_args(int argc, char **argv, struct hsmd_config *cfg)
{
    enum { O_LISTEN = 256, O_STATE, O_SERIAL, O_TIMEOUT, O_CONN_TIMEOUT, O_LATENCY, O_ALLOW_HOST, O_REMOTE,
           O_PIDFILE, O_FOREGROUND, O_VERSION, O_PRINT_CA };
    static const struct option opts[] = {
        {"listen", required_argument, 0, O_LISTEN},
        {"state", required_argument, 0, O_STATE},
        {"serial", required_argument, 0, O_SERIAL},
        {"session-timeout", required_argument, 0, O_TIMEOUT},
        {"connection-timeout", required_argument, 0, O_CONN_TIMEOUT},
        {"latency", required_argument, 0, O_LATENCY},
        {"allow-host", required_argument, 0, O_ALLOW_HOST},
        {"allow-remote", no_argument, 0, O_REMOTE},
        {"pid-file", required_argument, 0, O_PIDFILE},
        {"foreground", no_argument, 0, O_FOREGROUND},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, O_VERSION},
        {"print-ca", no_argument, 0, O_PRINT_CA},
        {0, 0, 0, 0}};

    memset(cfg, 0, sizeof *cfg);
    cfg->listen = HSMD_DEFAULT_LISTEN;
    cfg->state_path = HSMD_DEFAULT_STATE;
    cfg->session_timeout_s = 30;
    cfg->connection_timeout_s = 10;
    cfg->latency = "none";

    int c;
    unsigned long v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN: cfg->listen = optarg; break;
        case O_STATE:
            if (!*optarg)
                return usage_error("--state needs a file name");
            cfg->state_path = optarg;
            break;
        case O_SERIAL:
            if (!parse_uint(optarg, 1, UINT32_MAX, &v))
                return usage_error("--serial '%s' is not a number from 1 to 4294967295", optarg);
            cfg->serial = (uint32_t)v;
            break;
        case O_TIMEOUT:
            if (!parse_uint(optarg, 1, 86400, &v))
                return usage_error("--session-timeout '%s' is not a number of seconds (1..86400)",
                                   optarg);
            cfg->session_timeout_s = (unsigned)v;
            break;
        case O_CONN_TIMEOUT:
            if (!parse_uint(optarg, 1, 86400, &v))
                return usage_error("--connection-timeout '%s' is not a number of seconds "
                                   "(1..86400)", optarg);
            cfg->connection_timeout_s = (unsigned)v;
            break;
        case O_LATENCY:
            if (strcmp(optarg, "none") != 0 && strcmp(optarg, "yubihsm2") != 0)
                return usage_error("--latency '%s' is unknown: use none or yubihsm2", optarg);
            cfg->latency = optarg;
            break;
        case O_ALLOW_HOST:
            if (cfg->n_allow_hosts == HSMD_MAX_ALLOWED_HOSTS)
                return usage_error("too many --allow-host options (at most %d)", HSMD_MAX_ALLOWED_HOSTS);
            if (!*optarg || strlen(optarg) >= HSMD_HOST_LEN - 8)
                return usage_error("--allow-host '%s' is empty or too long", optarg);
            cfg->allow_hosts[cfg->n_allow_hosts++] = optarg;
            break;
        case O_REMOTE: cfg->allow_remote = true; break;
        case O_PIDFILE: cfg->pid_file = optarg; break;
        case O_PRINT_CA: cfg->print_ca = true; break;
        case O_FOREGROUND: break; /* always in the foreground: supervisors and tests want that */
        case 'h': usage(stdout); return HSMD_EXIT_OK;
        case O_VERSION:
            printf("signet-hsm %s (YubiHSM 2 emulator, connector API %s)\n", SIGNET_VERSION,
                   HSMD_CONNECTOR_VERSION);
            return HSMD_EXIT_OK;
        default: usage(stderr); return HSMD_EXIT_USAGE;
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return HSMD_RUN;
}

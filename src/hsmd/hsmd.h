/* signet-hsm: the HTTP front of the emulated YubiHSM 2.  It serves Yubico's
 * connector API (GET /connector/status, POST /connector/api) over the device
 * core of include/signet/device.h and adds nothing to the protocol: every frame
 * goes to hsm_device_transact unchanged.  Internal to src/hsmd. */
#ifndef SIGNET_HSMD_H
#define SIGNET_HSMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "signet/device.h"
#include "signet/err.h"

/* What yubihsm-connector reports as its own version on the status page; clients
 * only log it, but tools compare it with what they know, so mimic a current one. */
#define HSMD_CONNECTOR_VERSION "3.0.4"
#define HSMD_DEFAULT_LISTEN "127.0.0.1:12345"
#define HSMD_DEFAULT_STATE "./signet-hsm.state"
#define HSMD_MAX_ALLOWED_HOSTS 16
#define HSMD_HOST_LEN 256

/* ---- command line (options.c) ----------------------------------------------- */
struct hsmd_config {
    const char *listen;          /* ADDR:PORT */
    const char *state_path;
    uint32_t serial;             /* 0 = the device core's default */
    unsigned session_timeout_s;
    unsigned connection_timeout_s; /* idle HTTP connections are closed after this */
    const char *latency;         /* "none" or "yubihsm2" */
    const char *allow_hosts[HSMD_MAX_ALLOWED_HOSTS];
    size_t n_allow_hosts;
    bool allow_remote;
    const char *pid_file;
    bool print_ca;               /* --print-ca: print the attestation CA (PEM) and exit */
};

enum hsmd_parse_result { HSMD_RUN, HSMD_EXIT_OK, HSMD_EXIT_USAGE };
/* Fills cfg from argv.  --help and --version print and return HSMD_EXIT_OK; a usage
 * error is printed to stderr and returns HSMD_EXIT_USAGE. */
enum hsmd_parse_result hsmd_parse_args(int argc, char **argv, struct hsmd_config *cfg);

/* ---- listening address (listen.c) ------------------------------------------- */
struct hsmd_endpoint {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host[64];   /* numeric address as given, without brackets: "127.0.0.1", "::1" */
    uint16_t port;   /* after binding: the real port, also when 0 was asked for */
    bool loopback;
    bool wildcard;   /* 0.0.0.0 or :: */
};

/* Parses "ADDR:PORT" or "[V6ADDR]:PORT" (numeric addresses only, so that what is
 * checked for loopback is what is bound). */
signet_rc hsmd_endpoint_parse(const char *spec, struct hsmd_endpoint *ep);
/* Creates, binds and listens; updates ep->port from the bound socket.  Returns the fd. */
signet_rc hsmd_listen(struct hsmd_endpoint *ep, int *fd_out);
/* "http://127.0.0.1:12345" or "http://[::1]:12345". */
void hsmd_endpoint_url(const struct hsmd_endpoint *ep, char *out, size_t outlen);

/* ---- Host header allowlist against DNS rebinding (hostcheck.c) -------------- */
struct hsmd_hostlist {
    char entries[HSMD_MAX_ALLOWED_HOSTS + 4][HSMD_HOST_LEN]; /* "name:port", lower case */
    size_t n;
};

/* The defaults (localhost, 127.0.0.1 and [::1] on the listening port, plus the
 * listening address itself when it is a specific address) and every --allow-host
 * (a name with the listening port implied, or name:port). */
signet_rc hsmd_hostlist_init(struct hsmd_hostlist *hl, const struct hsmd_endpoint *ep,
                             const char *const *extra, size_t n_extra);
/* True when the Host header value names an allowed host and port.  NULL (no Host
 * header) is never allowed. */
bool hsmd_host_allowed(const struct hsmd_hostlist *hl, const char *host_header);

/* ---- the HTTP server (http.c) ----------------------------------------------- */
struct hsmd_server;

struct hsmd_server_opts {
    hsm_device *dev;
    int listen_fd;                     /* taken over by the server */
    const struct hsmd_endpoint *ep;
    const struct hsmd_hostlist *hosts;
    unsigned connection_timeout_s;
};

/* Starts serving in background threads; the caller waits for a signal and then
 * calls hsmd_server_stop. */
signet_rc hsmd_server_start(const struct hsmd_server_opts *o, struct hsmd_server **out);
void hsmd_server_stop(struct hsmd_server *s);

/* ---- logging (main.c) ----------------------------------------------------------- */
/* One line on stderr: "signet-hsm: <message>".  Never payloads or secrets. */
void hsmd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/* The connector HTTP API over libmicrohttpd:
 *   GET  /connector/status  -> text lines, as yubihsm-connector prints them
 *   POST /connector/api     -> one raw frame in, the device's raw frame out
 * Every request first passes the Host allowlist (hostcheck.c).  Bodies are read
 * into a fixed buffer of one maximal frame; anything longer is refused while it
 * is being read, so a client cannot make us buffer without bound.
 *
 * Threads: one per connection (libmicrohttpd's thread-per-connection mode), with
 * an idle timeout and a connection limit, so a client that sends half a request
 * holds only its own thread; the device core serialises the commands. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "hsmd.h"
#include "signet/proto.h"

#define PATH_STATUS "/connector/status"
#define PATH_API "/connector/api"
#define MIN_FRAME 3                  /* cmd | len(2) */
#define CONNECTION_LIMIT 64

struct hsmd_server {
    struct MHD_Daemon *mhd;
    struct hsmd_server_opts o;
};

/* Per-request state of a POST /connector/api. */
struct api_request {
    size_t len;
    bool too_large;
    uint8_t body[YH_MAX_FRAME];
    uint8_t resp[YH_MAX_FRAME];
};

/* Markers for requests without per-request memory: one answered on the first call
 * (a refusal: libmicrohttpd then closes the connection), and a status request
 * answered on the second call (so that the connection can be kept alive). */
static char answered_early;
static char status_pending;

/* Untrusted text (a Host header) made safe for one log line: printable ASCII,
 * truncated. */
static void printable(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; in && *in && n + 1 < outlen; in++)
        out[n++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
    out[n] = 0;
}

static void client_address(struct MHD_Connection *conn, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, outlen, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)outlen);
}

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *ctype,
                               const void *body, size_t len, const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* A refused request: one log line (never the payload) and a plain-text answer that
 * says what to do. */
static enum MHD_Result refuse(struct MHD_Connection *conn, const char *method, const char *url,
                              unsigned status, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static enum MHD_Result refuse(struct MHD_Connection *conn, const char *method, const char *url,
                              unsigned status, const char *allow, const char *fmt, ...)
{
    char why[384], m[16], u[96], peer[INET6_ADDRSTRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    printable(method, m, sizeof m);
    printable(url, u, sizeof u);
    client_address(conn, peer, sizeof peer);
    hsmd_log("refused %s %s from %s: %u %s", m, u, peer, status, why);
    char body[448];
    int n = snprintf(body, sizeof body, "signet-hsm: %s\n", why);
    return respond(conn, status, "text/plain; charset=utf-8", body,
                   n < 0 ? 0 : (size_t)n >= sizeof body ? sizeof body - 1 : (size_t)n, allow);
}

static enum MHD_Result serve_status(struct hsmd_server *s, struct MHD_Connection *conn)
{
    char body[256];
    int n = snprintf(body, sizeof body,
                     "status=OK\nserial=%u\nversion=%s\npid=%ld\naddress=%s\nport=%u\n",
                     hsm_device_serial(s->o.dev), HSMD_CONNECTOR_VERSION, (long)getpid(),
                     s->o.ep->host, s->o.ep->port);
    return respond(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", body, (size_t)n, NULL);
}

static enum MHD_Result serve_api(struct hsmd_server *s, struct MHD_Connection *conn,
                                 struct api_request *rq, const char *method, const char *url)
{
    if (rq->too_large)
        return refuse(conn, method, url, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                      "a frame is at most %d bytes", YH_MAX_FRAME);
    if (rq->len < MIN_FRAME)
        return refuse(conn, method, url, MHD_HTTP_BAD_REQUEST, NULL,
                      "the body must be one frame of %d to %d bytes (got %zu)", MIN_FRAME,
                      YH_MAX_FRAME, rq->len);
    size_t resp_len = 0;
    signet_rc rc = hsm_device_transact(s->o.dev, rq->body, rq->len, rq->resp, &resp_len);
    if (rc != SIGNET_OK)
        hsmd_log("device: %s", signet_errmsg());
    if (resp_len == 0 || resp_len > sizeof rq->resp)
        return refuse(conn, method, url, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL,
                      "the device core failed; see the daemon's log");
    return respond(conn, MHD_HTTP_OK, "application/octet-stream", rq->resp, resp_len, NULL);
}

/* Checks a Content-Length header before any body is read.  Returns false (and has
 * queued the answer) when the request is refused. */
static bool content_length_ok(struct MHD_Connection *conn, const char *method, const char *url,
                              enum MHD_Result *ret)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return true; /* chunked: bounded while reading */
    char *end;
    unsigned long long v = strtoull(cl, &end, 10);
    if (*end == 0 && *cl >= '0' && *cl <= '9' && v <= YH_MAX_FRAME)
        return true;
    *ret = refuse(conn, method, url, MHD_HTTP_CONTENT_TOO_LARGE, NULL,
                  "a frame is at most %d bytes", YH_MAX_FRAME);
    return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct hsmd_server *s = cls;

    if (*con_cls == NULL) {
        /* First call: headers only.  Decide now whether to accept a body at all. */
        *con_cls = &answered_early;
        const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
        if (!hsmd_host_allowed(s->o.hosts, host)) {
            char h[80];
            printable(host, h, sizeof h);
            return refuse(conn, method, url, MHD_HTTP_FORBIDDEN, NULL,
                          host ? "Host '%s' is not allowed (DNS rebinding protection); if you "
                                 "trust that name, start signet-hsm with --allow-host"
                               : "a request needs a Host header%s",
                          host ? h : "");
        }
        /* Browsers send Origin on cross-site requests; connector clients never do.
         * A page cannot read our answers, but it could still send commands. */
        if (MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"))
            return refuse(conn, method, url, MHD_HTTP_FORBIDDEN, NULL,
                          "requests from web pages (with an Origin header) are not served");
        if (strcmp(url, PATH_STATUS) == 0) {
            if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return refuse(conn, method, url, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD",
                              "%s serves GET only", PATH_STATUS);
            *con_cls = &status_pending;
            return MHD_YES;
        }
        if (strcmp(url, PATH_API) == 0) {
            if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
                return refuse(conn, method, url, MHD_HTTP_METHOD_NOT_ALLOWED, "POST",
                              "%s serves POST only", PATH_API);
            enum MHD_Result ret;
            if (!content_length_ok(conn, method, url, &ret))
                return ret;
            struct api_request *rq = calloc(1, sizeof *rq);
            if (!rq)
                return MHD_NO;
            *con_cls = rq;
            return MHD_YES;
        }
        return refuse(conn, method, url, MHD_HTTP_NOT_FOUND, NULL,
                      "no such path; the connector API is %s and %s", PATH_STATUS, PATH_API);
    }

    if (*con_cls == &answered_early)
        return MHD_YES; /* an answer is queued; MHD is only draining */
    if (*con_cls == &status_pending) {
        if (*upload_data_size != 0)
            return MHD_NO; /* a GET with a body: drop it rather than read it */
        return serve_status(s, conn);
    }
    struct api_request *rq = *con_cls;
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_large || n > sizeof rq->body - rq->len) {
            /* Only a chunked body gets here (Content-Length was checked).  Drop the
             * connection rather than read on: nothing more of it is stored. */
            if (!rq->too_large) {
                char peer[INET6_ADDRSTRLEN];
                client_address(conn, peer, sizeof peer);
                hsmd_log("refused POST %s from %s: chunked body over %d bytes, connection closed",
                         PATH_API, peer, YH_MAX_FRAME);
            }
            rq->too_large = true;
            return MHD_NO;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        return MHD_YES;
    }
    return serve_api(s, conn, rq, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    if (*con_cls && *con_cls != &answered_early && *con_cls != &status_pending)
        free(*con_cls);
    *con_cls = NULL;
}

/* Connector clients send small requests and wait for each answer: without
 * TCP_NODELAY, Nagle's algorithm and delayed ACKs can hold a response back. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci) {
        int one = 1;
        (void)setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt,
                                                              va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\r\n")] = 0;
    hsmd_log("http: %s", line);
}

signet_rc hsmd_server_start(const struct hsmd_server_opts *o, struct hsmd_server **out)
{
    struct hsmd_server *s = calloc(1, sizeof *s);
    if (!s)
        return signet_fail(SIGNET_E_NOMEM, "out of memory starting the HTTP server");
    s->o = *o;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (o->ep->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, /* first, or early messages escape it */
        MHD_OPTION_LISTEN_SOCKET, o->listen_fd,
        MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_END);
    if (!s->mhd) {
        free(s);
        close(o->listen_fd);
        return signet_fail(SIGNET_E_IO, "libmicrohttpd could not start serving (see the lines "
                                        "above); check --listen");
    }
    *out = s;
    return SIGNET_OK;
}

void hsmd_server_stop(struct hsmd_server *s)
{
    if (!s)
        return;
    /* MHD_stop_daemon closes the listening socket it was given and joins every
     * connection thread, so no request is in flight once it returns. */
    MHD_stop_daemon(s->mhd);
    free(s);
}

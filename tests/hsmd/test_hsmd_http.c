/* signet-hsm at the HTTP level: the connector API's shape, the limits on request
 * bodies, the Host allowlist, the command line and clean shutdown.  Requests are
 * written by hand (http_raw.c) so that every header is under the test's control. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/hsmd_fixture.h"
#include "http_raw.h"

#define SERIAL "424242"

static struct hsmd shared; /* one daemon for the tests that do not need their own */

static int start_shared(void **state)
{
    return hsmd_start(&shared, "--serial " SERIAL) == 0 ? 0 : -1;
}

static int stop_shared(void **state)
{
    hsmd_cleanup(&shared);
    return 0;
}

static uint16_t port(void) { return url_port(shared.url); }

static char *hostport(const char *name, uint16_t p)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s:%u", name, p);
    return buf;
}

/* One request to the shared daemon with Host 127.0.0.1:PORT. */
static void request(const char *method, const char *path, const void *body, size_t len,
                    struct http_resp *r)
{
    size_t n;
    uint8_t *req = http_build(method, path, hostport("127.0.0.1", port()), NULL, body, len, &n);
    assert_int_equal(http_exchange(port(), req, n, r), 0);
    free(req);
}

static void status_page_format(void **state)
{
    struct http_resp r;
    request("GET", "/connector/status", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    char expect[256], ct[64];
    snprintf(expect, sizeof expect,
             "status=OK\nserial=%s\nversion=3.0.4\npid=%ld\naddress=127.0.0.1\nport=%u\n",
             SERIAL, (long)shared.pid, port());
    assert_string_equal((char *)r.body, expect);
    assert_non_null(http_header(&r, "Content-Type", ct, sizeof ct));
    assert_non_null(strstr(ct, "text/plain"));
    http_resp_free(&r);
}

static void api_echo_round_trip(void **state)
{
    const uint8_t frame[] = {0x01, 0x00, 0x03, 'a', 'b', 'c'};
    const uint8_t want[] = {0x81, 0x00, 0x03, 'a', 'b', 'c'};
    struct http_resp r;
    char ct[64];
    request("POST", "/connector/api", frame, sizeof frame, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body_len, sizeof want);
    assert_memory_equal(r.body, want, sizeof want);
    assert_non_null(http_header(&r, "Content-Type", ct, sizeof ct));
    assert_string_equal(ct, "application/octet-stream");
    http_resp_free(&r);
}

/* Clients keep one connection for a whole session: the status page and API answers
 * must leave it open for the next request. */
static void connection_reused(void **state)
{
    int fd = http_connect(port());
    assert_true(fd >= 0);
    const uint8_t frame[] = {0x01, 0x00, 0x01, 'x'};
    for (int i = 0; i < 3; i++) {
        size_t n;
        uint8_t *req = i == 0 ? http_build("GET", "/connector/status",
                                           hostport("localhost", port()), NULL, NULL, 0, &n)
                              : http_build("POST", "/connector/api",
                                           hostport("localhost", port()), NULL, frame,
                                           sizeof frame, &n);
        assert_int_equal(http_send(fd, req, n), 0);
        free(req);
        struct http_resp r;
        assert_int_equal(http_read(fd, &r, 30000), 0);
        assert_int_equal(r.status, 200);
        char conn[32];
        const char *c = http_header(&r, "Connection", conn, sizeof conn);
        assert_true(c == NULL || strcasecmp(c, "close") != 0);
        http_resp_free(&r);
    }
    close(fd);
}

/* The largest frame (3139 bytes) passes the HTTP layer: the answer is a frame. */
static void api_largest_frame_accepted(void **state)
{
    static uint8_t frame[3139];
    frame[0] = 0x01;
    frame[1] = (3136 >> 8) & 0xff;
    frame[2] = 3136 & 0xff;
    memset(frame + 3, 0x5a, 3136);
    struct http_resp r;
    request("POST", "/connector/api", frame, sizeof frame, &r);
    assert_int_equal(r.status, 200);
    assert_true(r.body_len >= 4);
    assert_int_equal(r.body_len, 3 + ((size_t)r.body[1] << 8 | r.body[2]));
    assert_true(r.body[0] == 0x81 || r.body[0] == 0x7f);
    http_resp_free(&r);
}

/* A Content-Length over one frame is refused before the body is read: the answer
 * comes although the body is never sent. */
static void api_oversized_content_length(void **state)
{
    char req[256];
    int n = snprintf(req, sizeof req,
                     "POST /connector/api HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                     "Content-Length: 3140\r\n\r\n", port());
    int fd = http_connect(port());
    assert_true(fd >= 0);
    assert_int_equal(http_send(fd, req, (size_t)n), 0);
    struct http_resp r;
    assert_int_equal(http_read(fd, &r, 30000), 0);
    assert_int_equal(r.status, 413);
    http_resp_free(&r);
    close(fd);

    /* A huge announced length gets the same answer, not an allocation. */
    n = snprintf(req, sizeof req,
                 "POST /connector/api HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                 "Content-Length: 99999999999\r\n\r\n", port());
    fd = http_connect(port());
    assert_true(fd >= 0);
    assert_int_equal(http_send(fd, req, (size_t)n), 0);
    assert_int_equal(http_read(fd, &r, 30000), 0);
    assert_int_equal(r.status, 413);
    http_resp_free(&r);
    close(fd);
}

/* A chunked body (no Content-Length) that grows past one frame is cut off while
 * it is read: never a 200, and the connection ends. */
static void api_oversized_chunked(void **state)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /connector/api HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n", port());
    int fd = http_connect(port());
    assert_true(fd >= 0);
    assert_int_equal(http_send(fd, head, (size_t)n), 0);
    static char chunk[1000 + 16];
    int cn = snprintf(chunk, sizeof chunk, "3e8\r\n");
    memset(chunk + cn, 'A', 1000);
    memcpy(chunk + cn + 1000, "\r\n", 2);
    for (int i = 0; i < 4; i++)
        if (http_send(fd, chunk, (size_t)cn + 1002) != 0)
            break; /* already closed by the server: that is the point */
    http_send(fd, "0\r\n\r\n", 5);
    struct http_resp r;
    if (http_read(fd, &r, 30000) == 0) {
        assert_int_not_equal(r.status, 200);
        http_resp_free(&r);
    }
    assert_true(http_peer_closed(fd, 30000));
    close(fd);
}

static void api_empty_and_short_bodies(void **state)
{
    struct http_resp r;
    request("POST", "/connector/api", "", 0, &r);
    assert_int_equal(r.status, 400);
    http_resp_free(&r);
    request("POST", "/connector/api", "\x01\x00", 2, &r);
    assert_int_equal(r.status, 400);
    http_resp_free(&r);
    request("POST", "/connector/api", NULL, 0, &r); /* no body, no Content-Length */
    assert_int_equal(r.status, 400);
    http_resp_free(&r);
}

static void wrong_method(void **state)
{
    const char *methods[] = {"GET", "PUT", "DELETE", "OPTIONS"};
    char allow[64];
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        struct http_resp r;
        request(methods[i], "/connector/api", NULL, 0, &r);
        assert_int_equal(r.status, 405);
        assert_non_null(http_header(&r, "Allow", allow, sizeof allow));
        assert_string_equal(allow, "POST");
        http_resp_free(&r);
    }
    struct http_resp r;
    request("POST", "/connector/status", "\x01\x00\x00", 3, &r);
    assert_int_equal(r.status, 405);
    http_resp_free(&r);
}

static void wrong_path(void **state)
{
    const char *paths[] = {"/", "/connector", "/connector/api/x", "/connector/status/",
                           "/connector/../connector/api", "/api"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        struct http_resp r;
        request("POST", paths[i], "\x01\x00\x00", 3, &r);
        assert_int_equal(r.status, 404);
        http_resp_free(&r);
        request("GET", paths[i], NULL, 0, &r);
        assert_int_equal(r.status, 404);
        http_resp_free(&r);
    }
}

static int status_with_host(uint16_t p, const char *host, const char *extra)
{
    size_t n;
    uint8_t *req = http_build("GET", "/connector/status", host, extra, NULL, 0, &n);
    struct http_resp r;
    int rc = http_exchange(p, req, n, &r);
    free(req);
    int status = rc == 0 ? r.status : -1;
    http_resp_free(&r);
    return status;
}

static void host_allowlist_defaults(void **state)
{
    uint16_t p = port();
    char h[128];
    assert_int_equal(status_with_host(p, hostport("127.0.0.1", p), NULL), 200);
    assert_int_equal(status_with_host(p, hostport("localhost", p), NULL), 200);
    assert_int_equal(status_with_host(p, hostport("LocalHost", p), NULL), 200);
    assert_int_equal(status_with_host(p, hostport("[::1]", p), NULL), 200);
    /* DNS rebinding: a foreign name with our port. */
    assert_int_equal(status_with_host(p, hostport("evil.example", p), NULL), 403);
    assert_int_equal(status_with_host(p, hostport("localhost.evil.example", p), NULL), 403);
    /* The right name with another port (or none, which means 80). */
    assert_int_equal(status_with_host(p, hostport("127.0.0.1", (uint16_t)(p + 1)), NULL), 403);
    assert_int_equal(status_with_host(p, "127.0.0.1", NULL), 403);
    /* Garbage and no Host at all. */
    snprintf(h, sizeof h, "127.0.0.1:%u extra", p);
    assert_int_equal(status_with_host(p, h, NULL), 403);
    assert_int_equal(status_with_host(p, "", NULL), 403);
    {
        const char *req = "GET /connector/status HTTP/1.0\r\n\r\n";
        struct http_resp r;
        assert_int_equal(http_exchange(p, req, strlen(req), &r), 0);
        assert_int_equal(r.status, 403);
        http_resp_free(&r);
    }
    /* A web page's request (Origin header) is refused even with a good Host. */
    assert_int_equal(status_with_host(p, hostport("127.0.0.1", p),
                                      "Origin: http://127.0.0.1:8000\r\n"), 403);
}

/* A foreign Host is refused on the API too, before the frame reaches the device. */
static void host_refused_on_api(void **state)
{
    const uint8_t frame[] = {0x01, 0x00, 0x01, 'q'};
    size_t n;
    uint8_t *req = http_build("POST", "/connector/api", hostport("rebind.example", port()), NULL,
                              frame, sizeof frame, &n);
    struct http_resp r;
    assert_int_equal(http_exchange(port(), req, n, &r), 0);
    free(req);
    assert_int_equal(r.status, 403);
    assert_true(r.body_len == 0 || r.body[0] != 0x81);
    http_resp_free(&r);
}

static void allow_host_option(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, "--allow-host hsm.test --allow-host Other.Test:8080"), 0);
    uint16_t p = url_port(h.url);
    assert_int_equal(status_with_host(p, hostport("hsm.test", p), NULL), 200);
    assert_int_equal(status_with_host(p, hostport("HSM.test", p), NULL), 200);
    assert_int_equal(status_with_host(p, "other.test:8080", NULL), 200);
    assert_int_equal(status_with_host(p, hostport("other.test", p), NULL), 403);
    assert_int_equal(status_with_host(p, hostport("evil.test", p), NULL), 403);
    assert_int_equal(status_with_host(p, hostport("localhost", p), NULL), 200);
    hsmd_cleanup(&h);
}

/* Refusals are logged one line each; payloads never reach the log. */
static void log_lines(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    uint16_t p = url_port(h.url);
    const char payload[] = "\x01\x00\x11ZZPAYLOADMARKERZZ";
    size_t n;
    uint8_t *req = http_build("POST", "/connector/api", hostport("127.0.0.1", p), NULL, payload,
                              sizeof payload - 1, &n);
    struct http_resp r;
    assert_int_equal(http_exchange(p, req, n, &r), 0);
    assert_int_equal(r.status, 200);
    http_resp_free(&r);
    free(req);
    assert_int_equal(status_with_host(p, hostport("evil.example", p), NULL), 403);
    hsmd_stop(&h);
    assert_int_equal(h.exit_status, 0);

    char *log = NULL;
    size_t len;
    assert_int_equal(test_read_file(h.log, &log, &len), 0);
    assert_non_null(strstr(log, "started"));
    assert_non_null(strstr(log, "stopped"));
    const char *refusal = strstr(log, "refused GET /connector/status from 127.0.0.1: 403");
    assert_non_null(refusal);
    assert_non_null(strstr(refusal, "evil.example"));
    assert_null(strstr(log, "ZZPAYLOADMARKERZZ"));
    /* Exactly one line for the one refusal. */
    assert_null(strstr(refusal + 1, "refused"));
    free(log);
    hsmd_cleanup(&h);
}

static void sigint_and_pid_file(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    char pidfile[300], args[320];
    snprintf(pidfile, sizeof pidfile, "%s/hsm.pid", h.dir);
    snprintf(args, sizeof args, "--pid-file %s", pidfile);
    assert_int_equal(hsmd_restart(&h, args), 0);
    char *text = NULL;
    size_t len;
    assert_int_equal(test_read_file(pidfile, &text, &len), 0);
    assert_int_equal(strtol(text, NULL, 10), h.pid);
    free(text);
    assert_int_equal(kill(h.pid, SIGINT), 0);
    hsmd_stop(&h); /* collects the exit status */
    assert_int_equal(h.exit_status, 0);
    assert_int_not_equal(access(pidfile, F_OK), 0);
    assert_int_equal(test_read_file(h.log, &text, &len), 0);
    assert_non_null(strstr(text, "stopping on SIGINT"));
    free(text);
    hsmd_cleanup(&h);
}

/* A client that sends half a request is disconnected after --connection-timeout. */
static void stalled_connection_closed(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, "--connection-timeout 1"), 0);
    int fd = http_connect(url_port(h.url));
    assert_true(fd >= 0);
    const char half[] = "POST /connector/api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le";
    assert_int_equal(http_send(fd, half, sizeof half - 1), 0);
    assert_true(http_peer_closed(fd, 60000));
    close(fd);
    hsmd_cleanup(&h);
}

static void ipv6_loopback(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, "--listen [::1]:0"), 0);
    assert_non_null(strstr(h.url, "http://[::1]:"));
    uint16_t p = url_port(h.url);
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(p)};
    a.sin6_addr = in6addr_loopback;
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t n;
    uint8_t *req = http_build("GET", "/connector/status", hostport("[::1]", p), NULL, NULL, 0, &n);
    assert_int_equal(http_send(fd, req, n), 0);
    free(req);
    struct http_resp r;
    assert_int_equal(http_read(fd, &r, 30000), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr((char *)r.body, "address=::1\n"));
    http_resp_free(&r);
    close(fd);
    hsmd_cleanup(&h);
}

static int run_hsm(const char *args, char **out, char **err)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd /tmp && '%s' %s", test_bin("signet-hsm"), args);
    return run_cmd_full(cmd, NULL, 0, out, NULL, err, 60);
}

static void command_line(void **state)
{
    char *out, *err;
    assert_int_equal(run_hsm("--help", &out, &err), 0);
    assert_non_null(strstr(out, "--listen"));
    assert_non_null(strstr(out, "--allow-host"));
    free(out), free(err);
    assert_int_equal(run_hsm("--version", &out, &err), 0);
    assert_non_null(strstr(out, "signet-hsm "));
    free(out), free(err);
    const char *bad[] = {"--bogus", "--latency fast", "--listen nonsense", "--listen 127.0.0.1:99999",
                         "--listen ::1:0", "--serial 0", "--serial x", "--session-timeout -1",
                         "extra-arg"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(run_hsm(bad[i], &out, &err), 2);
        assert_true(strlen(err) > 0);
        assert_string_equal(out, ""); /* nothing claims to be listening */
        free(out), free(err);
    }
}

/* Listening beyond loopback needs --allow-remote: the API has no authentication of
 * its own. */
static void refuses_non_loopback(void **state)
{
    char *out, *err;
    assert_int_equal(run_hsm("--state /nonexistent/x --listen 0.0.0.0:0", &out, &err), 2);
    assert_non_null(strstr(err, "--allow-remote"));
    assert_string_equal(out, "");
    free(out), free(err);
    assert_int_equal(run_hsm("--state /nonexistent/x --listen [::]:0", &out, &err), 2);
    assert_non_null(strstr(err, "--allow-remote"));
    free(out), free(err);
    assert_int_equal(run_hsm("--state /nonexistent/x --listen 192.0.2.1:0", &out, &err), 2);
    assert_non_null(strstr(err, "--allow-remote"));
    free(out), free(err);
}

int main(void)
{
    const struct CMUnitTest shared_tests[] = {
        cmocka_unit_test(status_page_format),
        cmocka_unit_test(api_echo_round_trip),
        cmocka_unit_test(connection_reused),
        cmocka_unit_test(api_largest_frame_accepted),
        cmocka_unit_test(api_oversized_content_length),
        cmocka_unit_test(api_oversized_chunked),
        cmocka_unit_test(api_empty_and_short_bodies),
        cmocka_unit_test(wrong_method),
        cmocka_unit_test(wrong_path),
        cmocka_unit_test(host_allowlist_defaults),
        cmocka_unit_test(host_refused_on_api),
    };
    const struct CMUnitTest own_daemon_tests[] = {
        cmocka_unit_test(allow_host_option),
        cmocka_unit_test(log_lines),
        cmocka_unit_test(sigint_and_pid_file),
        cmocka_unit_test(stalled_connection_closed),
        cmocka_unit_test(ipv6_loopback),
        cmocka_unit_test(command_line),
        cmocka_unit_test(refuses_non_loopback),
    };
    int failed = cmocka_run_group_tests_name("hsmd_http_shared", shared_tests, start_shared,
                                             stop_shared);
    failed += cmocka_run_group_tests_name("hsmd_http_own", own_daemon_tests, NULL, NULL);
    return failed;
}

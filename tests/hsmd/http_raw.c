/* Raw HTTP for tests: see http_raw.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_raw.h"

uint16_t url_port(const char *url)
{
    const char *colon = strrchr(url, ':');
    return colon ? (uint16_t)atoi(colon + 1) : 0;
}

int http_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

int http_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

uint8_t *http_build(const char *method, const char *path, const char *host, const char *extra,
                    const void *body, size_t body_len, size_t *out_len)
{
    char head[2048];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\n", method, path);
    if (host)
        n += snprintf(head + n, sizeof head - (size_t)n, "Host: %s\r\n", host);
    if (extra)
        n += snprintf(head + n, sizeof head - (size_t)n, "%s", extra);
    if (body)
        n += snprintf(head + n, sizeof head - (size_t)n,
                      "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n",
                      body_len);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    uint8_t *req = malloc((size_t)n + body_len + 1);
    if (!req)
        abort();
    memcpy(req, head, (size_t)n);
    if (body && body_len)
        memcpy(req + n, body, body_len);
    *out_len = (size_t)n + (body ? body_len : 0);
    return req;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads up to n bytes before the deadline; returns bytes read, 0 on EOF, -1 on
 * error or timeout. */
static ssize_t read_some(int fd, void *p, size_t n, long long deadline)
{
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t got = recv(fd, p, n, 0);
        if (got < 0 && errno == EINTR)
            continue;
        return got;
    }
}

const char *http_header(const struct http_resp *r, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(r->head, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            size_t vl = strcspn(v, "\r\n");
            if (vl >= outlen)
                vl = outlen - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return out;
        }
    }
    return NULL;
}

int http_read(int fd, struct http_resp *r, int timeout_ms)
{
    memset(r, 0, sizeof *r);
    long long deadline = now_ms() + timeout_ms;
    size_t n = 0;
    /* Headers, one byte at a time so that nothing of the body is consumed. */
    while (n < sizeof r->head - 1) {
        if (read_some(fd, r->head + n, 1, deadline) != 1)
            return -1;
        n++;
        if (n >= 4 && memcmp(r->head + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    r->head[n] = 0;
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -1;
    char cl[32];
    bool have_len = http_header(r, "Content-Length", cl, sizeof cl) != NULL;
    size_t want = have_len ? strtoul(cl, NULL, 10) : 1 << 20;
    r->body = malloc(want + 1);
    if (!r->body)
        abort();
    while (r->body_len < want) {
        ssize_t got = read_some(fd, r->body + r->body_len, want - r->body_len, deadline);
        if (got <= 0) {
            if (have_len || got < 0)
                return -1;
            break; /* closed: the end of a body without Content-Length */
        }
        r->body_len += (size_t)got;
    }
    r->body[r->body_len] = 0;
    return 0;
}

int http_exchange(uint16_t port, const void *req, size_t len, struct http_resp *r)
{
    memset(r, 0, sizeof *r);
    int fd = http_connect(port);
    if (fd < 0)
        return -1;
    int rc = http_send(fd, req, len) == 0 ? http_read(fd, r, 30000) : -1;
    close(fd);
    return rc;
}

void http_resp_free(struct http_resp *r)
{
    free(r->body);
    r->body = NULL;
}

bool http_peer_closed(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    char c;
    for (;;) {
        ssize_t got = read_some(fd, &c, 1, deadline);
        if (got == 0)
            return true;
        if (got < 0)
            return errno == ECONNRESET;
        /* Data (e.g. an error page): keep reading until EOF or the deadline. */
    }
}

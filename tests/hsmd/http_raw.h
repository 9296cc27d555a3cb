/* Raw HTTP/1.1 over a TCP socket, for tests that need exact control over what
 * reaches signet-hsm (missing or foreign Host headers, half requests, lying
 * Content-Length).  Not a general HTTP client: one response at a time, bodies
 * delimited by Content-Length or by the server closing the connection. */
#ifndef SIGNET_TEST_HTTP_RAW_H
#define SIGNET_TEST_HTTP_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_resp {
    int status;          /* 0 when no status line arrived */
    char head[4096];     /* status line and headers, NUL-terminated */
    uint8_t *body;       /* malloc'd, NUL-terminated (not counted in body_len) */
    size_t body_len;
};

/* The port of "http://127.0.0.1:PORT". */
uint16_t url_port(const char *url);
/* Connected TCP socket to 127.0.0.1:port, or -1. */
int http_connect(uint16_t port);
int http_send(int fd, const void *p, size_t n); /* 0 on success */
/* A request: method, path, Host header value (NULL = no Host header), extra header
 * lines (each ending in \r\n; may be NULL), and a body sent with Content-Length
 * (body NULL = no body and no Content-Length).  Returns a malloc'd buffer. */
uint8_t *http_build(const char *method, const char *path, const char *host, const char *extra,
                    const void *body, size_t body_len, size_t *out_len);
/* Reads one response.  0 on success; -1 if the connection closed first or nothing
 * complete arrived within timeout_ms. */
int http_read(int fd, struct http_resp *r, int timeout_ms);
/* connect, send, read one response, close. */
int http_exchange(uint16_t port, const void *req, size_t len, struct http_resp *r);
/* The value of a response header (case-insensitive name), copied into out; NULL if absent. */
const char *http_header(const struct http_resp *r, const char *name, char *out, size_t outlen);
void http_resp_free(struct http_resp *r);
/* True when the peer has closed the connection (EOF readable within timeout_ms). */
bool http_peer_closed(int fd, int timeout_ms);

#endif

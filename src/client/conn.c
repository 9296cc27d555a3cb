/* The connector transport: one libcurl easy handle per connection, reused so that
 * the HTTP connection stays alive between commands.  POST /connector/api carries one
 * raw frame each way; GET /connector/status says whether a device is there. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "internal.h"
#include "signet/secmem.h"

#define CONNECT_TIMEOUT_S 5L
/* A YubiHSM 2 takes tens of seconds to generate an RSA-4096 key (the emulator's
 * latency profile too): the total timeout must outlast that, not a signature. */
#define TOTAL_TIMEOUT_S 300L
#define STATUS_MAX 4096

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A bounded sink for response bodies: a hostile connector cannot make us buffer
 * more than cap bytes. */
struct sink {
    uint8_t *p;
    size_t len, cap;
    bool overflow;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    if (n > s->cap - s->len) {
        s->overflow = true;
        return 0; /* aborts the transfer */
    }
    memcpy(s->p + s->len, data, n);
    s->len += n;
    return n;
}

static signet_rc url_join(char *out, size_t outlen, const char *base, const char *path)
{
    int n = snprintf(out, outlen, "%s%s", base, path);
    if (n < 0 || (size_t)n >= outlen)
        return signet_fail(SIGNET_E_ARG, "connector URL is too long (at most %zu characters)",
                           outlen - strlen(path) - 1);
    return SIGNET_OK;
}

signet_rc hsm_conn_open(const char *url, hsm_conn **out)
{
    *out = NULL;
    if (!url || !*url)
        url = SIGNET_DEFAULT_CONNECTOR;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return signet_fail(SIGNET_E_ARG,
                           "connector URL '%s' must start with http:// or https:// "
                           "(for example %s)",
                           url, SIGNET_DEFAULT_CONNECTOR);
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return signet_fail(SIGNET_E_NET, "libcurl failed to initialise: %s",
                           curl_easy_strerror(curl_init_rc));

    hsm_conn *c = calloc(1, sizeof *c);
    if (!c)
        return signet_fail(SIGNET_E_NOMEM, "out of memory opening the connector");
    size_t ul = strlen(url);
    while (ul > 0 && url[ul - 1] == '/')
        ul--; /* "http://host:12345/" and "http://host:12345" mean the same */
    if (ul >= sizeof c->base_url) {
        free(c);
        return signet_fail(SIGNET_E_ARG, "connector URL is too long");
    }
    memcpy(c->base_url, url, ul);
    c->base_url[ul] = 0;
    signet_rc rc = url_join(c->api_url, sizeof c->api_url, c->base_url, "/connector/api");
    if (rc == SIGNET_OK)
        rc = url_join(c->status_url, sizeof c->status_url, c->base_url, "/connector/status");
    if (rc) {
        free(c);
        return rc;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        free(c);
        return signet_fail(SIGNET_E_NOMEM, "libcurl could not create a handle");
    }
    c->curl = h;
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    /* No "Expect: 100-continue" round trip for frames over 1 KiB. */
    struct curl_slist *hd2 = hd ? curl_slist_append(hd, "Expect:") : NULL;
    if (!hd2) {
        curl_slist_free_all(hd);
        hsm_conn_close(c);
        return signet_fail(SIGNET_E_NOMEM, "out of memory building HTTP headers");
    }
    c->headers = hd2;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* The connector is a local service: never route HSM frames through a proxy
     * picked up from the environment. */
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
    *out = c;
    return SIGNET_OK;
}

signet_rc hsm_conn_open_transport(hsm_transport_fn fn, void *ctx, hsm_conn **out)
{
    *out = NULL;
    if (!fn)
        return signet_fail(SIGNET_E_ARG, "no transport function given");
    hsm_conn *c = calloc(1, sizeof *c);
    if (!c)
        return signet_fail(SIGNET_E_NOMEM, "out of memory opening the connector");
    c->transport = fn;
    c->transport_ctx = ctx;
    snprintf(c->base_url, sizeof c->base_url, "in-process");
    *out = c;
    return SIGNET_OK;
}

void hsm_conn_close(hsm_conn *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c);
}

/* One HTTP exchange into a bounded sink.  body NULL = GET. */
static signet_rc http_exchange(hsm_conn *c, const char *url, const uint8_t *body, size_t len,
                               struct sink *sink)
{
    CURL *h = c->curl;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, (struct curl_slist *)c->headers);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    }
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    CURLcode cc = curl_easy_perform(h);
    /* Do not leave a pointer to the caller's frame in the handle. */
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)NULL);
    if (sink->overflow)
        return signet_fail(SIGNET_E_PARSE,
                           "the connector at %s sent more than %zu bytes; is that really a "
                           "YubiHSM connector?",
                           c->base_url, sink->cap);
    if (cc != CURLE_OK)
        return signet_fail(SIGNET_E_NET,
                           "cannot talk to the connector at %s: %s; check that "
                           "yubihsm-connector or signet-hsm is running there (--connector URL)",
                           c->base_url, curl_easy_strerror(cc));
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200)
        return signet_fail(SIGNET_E_NET,
                           "the connector at %s answered HTTP %ld; check the URL (--connector) "
                           "and the connector's log",
                           c->base_url, code);
    return SIGNET_OK;
}

signet_rc hsm_conn_transfer(hsm_conn *c, const uint8_t *req, size_t len, uint8_t *resp,
                            size_t *resp_len)
{
    *resp_len = 0;
    if (len < 3 || len > YH_MAX_FRAME)
        return signet_fail(SIGNET_E_ARG, "a frame of %zu bytes cannot be sent (3..%d)", len,
                           YH_MAX_FRAME);
    if (c->transport) {
        size_t n = 0;
        signet_rc rc = c->transport(c->transport_ctx, req, len, resp, &n);
        if (rc)
            return rc;
        if (n > YH_MAX_FRAME)
            return signet_fail(SIGNET_E_PARSE, "the transport returned %zu bytes", n);
        *resp_len = n;
        return SIGNET_OK;
    }
    struct sink sink = {.p = resp, .cap = YH_MAX_FRAME};
    signet_rc rc = http_exchange(c, c->api_url, req, len, &sink);
    if (rc)
        return rc;
    *resp_len = sink.len;
    return SIGNET_OK;
}

/* Copies the value of "key=" from the status text into out (bounded, printable). */
static bool status_field(const char *text, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t ll = eol ? (size_t)(eol - line) : strlen(line);
        if (ll > kl && strncmp(line, key, kl) == 0 && line[kl] == '=') {
            size_t vl = ll - kl - 1;
            while (vl > 0 && (line[kl + 1 + vl - 1] == '\r' || line[kl + 1 + vl - 1] == ' '))
                vl--;
            if (out && outlen) {
                size_t n = vl < outlen - 1 ? vl : outlen - 1;
                for (size_t i = 0; i < n; i++) {
                    unsigned char ch = (unsigned char)line[kl + 1 + i];
                    out[i] = isprint(ch) ? (char)ch : '?';
                }
                out[n] = 0;
            }
            return true;
        }
        line = eol ? eol + 1 : NULL;
    }
    return false;
}

signet_rc hsm_conn_status(hsm_conn *c, char *serial, size_t serial_len, char *version,
                          size_t version_len)
{
    if (serial && serial_len)
        serial[0] = 0;
    if (version && version_len)
        version[0] = 0;
    if (c->transport) {
        /* In-process: there is no connector; report the device itself. */
        signet_rc rc = conn_ensure_info(c);
        if (rc)
            return rc;
        if (serial && serial_len)
            snprintf(serial, serial_len, "%u", c->info.serial);
        if (version && version_len)
            snprintf(version, version_len, "in-process");
        return SIGNET_OK;
    }
    char text[STATUS_MAX + 1];
    struct sink sink = {.p = (uint8_t *)text, .cap = STATUS_MAX};
    signet_rc rc = http_exchange(c, c->status_url, NULL, 0, &sink);
    if (rc)
        return rc;
    text[sink.len] = 0;
    char status[32];
    if (!status_field(text, "status", status, sizeof status))
        return signet_fail(SIGNET_E_NET,
                           "the connector at %s sent a status without a status= line; is that "
                           "a YubiHSM connector?",
                           c->base_url);
    if (strcmp(status, "OK") != 0)
        return signet_fail(SIGNET_E_NET,
                           "the connector at %s reports status=%s: no usable device; check that "
                           "the HSM is plugged in (or signet-hsm is running)",
                           c->base_url, status);
    status_field(text, "serial", serial, serial_len);
    status_field(text, "version", version, version_len);
    return SIGNET_OK;
}

signet_rc hsm_conn_command(hsm_conn *c, uint8_t cmd, const uint8_t *data, size_t len,
                           sb_wr *resp_data)
{
    size_t limit = c->max_msg ? c->max_msg : YH_MAX_MSG;
    if (len > limit - 3)
        return signet_fail(SIGNET_E_ARG,
                           "%s: a %zu-byte message is more than this device accepts (%zu)",
                           yh_cmd_name(cmd), len + 3, limit);
    uint8_t req[YH_MAX_FRAME];
    sb_wr w;
    sbw_init_fixed(&w, req, sizeof req);
    signet_rc rc = yh_frame_encode(&w, cmd, data, len);
    if (rc)
        return signet_wrap(rc, "encoding %s", yh_cmd_name(cmd));
    uint8_t resp[YH_MAX_FRAME];
    size_t rlen = 0;
    rc = hsm_conn_transfer(c, req, w.len, resp, &rlen);
    if (rc)
        return rc;
    uint8_t rcmd;
    const uint8_t *rdata;
    size_t rdlen;
    rc = yh_frame_decode(resp, rlen, &rcmd, &rdata, &rdlen);
    if (rc)
        return signet_wrap(rc, "%s: malformed answer from the device", yh_cmd_name(cmd));
    if (rcmd == YH_CMD_ERROR) {
        if (rdlen != 1)
            return signet_fail(SIGNET_E_PARSE, "%s: malformed error frame (%zu bytes)",
                               yh_cmd_name(cmd), rdlen);
        return signet_fail_device(rdata[0], "%s", yh_cmd_name(cmd));
    }
    if (rcmd != YH_RESPONSE(cmd))
        return signet_fail(SIGNET_E_PARSE,
                           "%s: the device answered command 0x%02x instead of 0x%02x",
                           yh_cmd_name(cmd), rcmd, YH_RESPONSE(cmd));
    return sbw_put(resp_data, rdata, rdlen);
}

signet_rc conn_ensure_info(hsm_conn *c)
{
    if (c->max_msg)
        return SIGNET_OK;
    hsm_devinfo info;
    return hsm_device_info(c, &info);
}

signet_rc hsm_device_info(hsm_conn *c, hsm_devinfo *out)
{
    memset(out, 0, sizeof *out);
    uint8_t buf[256];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_conn_command(c, YH_CMD_DEVICE_INFO, NULL, 0, &w);
    if (rc)
        return rc;
    sb_rd r;
    sbr_init(&r, w.p, w.len);
    if ((rc = sbr_u8(&r, &out->major)) || (rc = sbr_u8(&r, &out->minor)) ||
        (rc = sbr_u8(&r, &out->patch)) || (rc = sbr_u32(&r, &out->serial)) ||
        (rc = sbr_u8(&r, &out->log_total)) || (rc = sbr_u8(&r, &out->log_used)))
        return signet_wrap(rc, "device info answer");
    size_t n = sbr_left(&r);
    if (n > sizeof out->algorithms)
        return signet_fail(SIGNET_E_PARSE, "device info lists %zu algorithms (at most %zu)", n,
                           sizeof out->algorithms);
    sbr_copy(&r, out->algorithms, n);
    out->n_algorithms = n;
    bool v24 = out->major > 2 || (out->major == 2 && out->minor >= 4);
    c->max_msg = v24 ? YH_MAX_MSG : YH_MAX_MSG_LEGACY;
    c->info = *out;
    return SIGNET_OK;
}

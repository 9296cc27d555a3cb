/* signet-hsm under hostile neighbours.  While one client sends a stream of garbage
 * frames and others hold connections with half a request, a normal client
 * authenticates, generates keys and signs, and every signature verifies.
 *
 * No timing assertions: the daemon runs with --connection-timeout 600, so the
 * stalled connections cannot be timed out during the test.  If they could block
 * the daemon, the signing client would hang and fail (its transport times out);
 * that it finishes while they are still open is the property under test.  Then
 * SIGTERM must stop the daemon cleanly although those connections are open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "common/hsmd_fixture.h"
#include "http_raw.h"
#include "signet/client.h"

#define GARBAGE_FRAMES 400

struct garbage {
    uint16_t port;
    unsigned sent, answered_200, answered_4xx;
    char failure[256]; /* first unexpected outcome, empty if none */
};

static uint64_t rng_state = 0x5157e7c0ffee1234ull; /* fixed seed: failures reproduce */
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A garbage frame: random command and bytes; half of them with a length field that
 * matches (so they get past framing into the command parsers), some longer than a
 * frame may be.  Commands that address sessions (create, authenticate, session
 * message) are left out: a forged frame for the signing client's session may
 * legitimately end it, which would test the client's retry, not the daemon. */
static size_t make_garbage(uint8_t *buf, size_t cap)
{
    size_t len = (size_t)(rnd() % 100 < 5 ? 3140 + rnd() % 200 : rnd() % 300);
    if (len > cap)
        len = cap;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)rnd();
    if (len >= 1 && (buf[0] == 0x03 || buf[0] == 0x04 || buf[0] == 0x05))
        buf[0] = 0x06 ^ (uint8_t)(rnd() & 0x70);
    if (len >= 3 && rnd() % 2) {
        buf[1] = (uint8_t)((len - 3) >> 8);
        buf[2] = (uint8_t)(len - 3);
    }
    return len;
}

static void *garbage_client(void *arg)
{
    struct garbage *g = arg;
    static uint8_t frame[3400];
    int fd = -1;
    for (unsigned i = 0; i < GARBAGE_FRAMES && !g->failure[0]; i++) {
        if (fd < 0 && (fd = http_connect(g->port)) < 0) {
            snprintf(g->failure, sizeof g->failure, "connect failed at frame %u", i);
            break;
        }
        size_t len = make_garbage(frame, sizeof frame);
        char host[64];
        snprintf(host, sizeof host, "127.0.0.1:%u", g->port);
        size_t n;
        uint8_t *req;
        if (len > 3139) {
            /* Oversized: send the headers only.  The daemon answers 413 and closes
             * without reading; a body still in flight would turn that close into a
             * reset that can swallow the answer. */
            char cl[64];
            snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", len);
            req = http_build("POST", "/connector/api", host, cl, NULL, 0, &n);
        } else {
            req = http_build("POST", "/connector/api", host, NULL, frame, len, &n);
        }
        int rc = http_send(fd, req, n);
        free(req);
        struct http_resp r = {0};
        if (rc == 0)
            rc = http_read(fd, &r, 60000);
        g->sent++;
        if (rc != 0) {
            snprintf(g->failure, sizeof g->failure, "no answer to garbage frame %u (%zu bytes)", i,
                     len);
        } else if (r.status == 200) {
            g->answered_200++;
            /* Whatever came in, a well-formed frame must come out. */
            if (r.body_len < 3 || r.body_len != 3 + ((size_t)r.body[1] << 8 | r.body[2]) ||
                (r.body[0] != 0x7f && r.body[0] != (frame[0] | 0x80)))
                snprintf(g->failure, sizeof g->failure,
                         "malformed answer (%zu bytes, first 0x%02x) to frame %u", r.body_len,
                         r.body_len ? r.body[0] : 0, i);
        } else if ((r.status == 400 && len < 3) || (r.status == 413 && len > 3139)) {
            g->answered_4xx++;
            close(fd); /* a refused upload may leave the connection unusable */
            fd = -1;
        } else {
            snprintf(g->failure, sizeof g->failure, "HTTP %d to a %zu-byte frame %u", r.status,
                     len, i);
        }
        http_resp_free(&r);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int stall(uint16_t port, const char *text)
{
    int fd = http_connect(port);
    assert_true(fd >= 0);
    if (text)
        assert_int_equal(http_send(fd, text, strlen(text)), 0);
    return fd;
}

static void verify(EVP_PKEY *pub, bool rsa, const uint8_t *digest, const uint8_t *sig,
                   size_t sig_len)
{
    EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(pub, NULL);
    assert_non_null(vc);
    assert_int_equal(EVP_PKEY_verify_init(vc), 1);
    if (rsa) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(vc, RSA_PKCS1_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256()), 1);
    }
    assert_int_equal(EVP_PKEY_verify(vc, sig, sig_len, digest, 32), 1);
    EVP_PKEY_CTX_free(vc);
}

/* The well-behaved client: authenticate, generate an RSA-2048 and a P-256 key, sign
 * with both, verify every signature. */
static void honest_client(const char *url)
{
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    assert_int_equal(hsm_conn_open(url, &c), SIGNET_OK);
    if (hsm_session_open(c, 1, "password", &s) != SIGNET_OK)
        fail_msg("session: %s", signet_errmsg());
    const struct { uint8_t algo; uint64_t cap; bool rsa; } keys[] = {
        {YH_ALGO_EC_P256, YH_CAP(YH_CAP_SIGN_ECDSA), false},
        {YH_ALGO_RSA_2048, YH_CAP(YH_CAP_SIGN_PKCS), true},
    };
    for (size_t k = 0; k < 2; k++) {
        hsm_object_attrs a = {.label = "robust", .domains = 1, .capabilities = keys[k].cap,
                              .algorithm = keys[k].algo};
        uint16_t id = 0;
        if (hsm_generate_asymmetric(s, &a, &id) != SIGNET_OK)
            fail_msg("generate: %s", signet_errmsg());
        EVP_PKEY *pub = NULL;
        uint8_t algo;
        assert_int_equal(hsm_get_public_key(s, id, &pub, &algo), SIGNET_OK);
        for (int i = 0; i < 10; i++) {
            uint8_t digest[32], sig[512];
            size_t sig_len = sizeof sig;
            memset(digest, i + 1, sizeof digest);
            signet_rc rc = keys[k].rsa
                               ? hsm_sign_pkcs1(s, id, digest, sizeof digest, sig, &sig_len)
                               : hsm_sign_ecdsa(s, id, digest, sizeof digest, sig, &sig_len);
            if (rc != SIGNET_OK)
                fail_msg("sign: %s", signet_errmsg());
            verify(pub, keys[k].rsa, digest, sig, sig_len);
        }
        EVP_PKEY_free(pub);
    }
    hsm_session_close(s);
    hsm_conn_close(c);
}

static void signing_succeeds_among_hostile_clients(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, "--connection-timeout 600"), 0);
    uint16_t port = url_port(h.url);
    char text[256];

    /* Three kinds of stall: headers cut short, a body cut short, and silence. */
    int stalled[3];
    snprintf(text, sizeof text, "POST /connector/api HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Le",
             port);
    stalled[0] = stall(port, text);
    snprintf(text, sizeof text,
             "POST /connector/api HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Length: 100\r\n\r\n"
             "partial body",
             port);
    stalled[1] = stall(port, text);
    stalled[2] = stall(port, NULL);

    struct garbage g = {.port = port};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, garbage_client, &g), 0);
    honest_client(h.url);
    pthread_join(t, NULL);
    if (g.failure[0])
        fail_msg("garbage client: %s", g.failure);
    assert_int_equal(g.sent, GARBAGE_FRAMES);
    assert_true(g.answered_200 > 0);
    assert_true(g.answered_4xx > 0);

    /* The stalled clients are still connected, the daemon still serves. */
    for (int i = 0; i < 3; i++)
        assert_false(http_peer_closed(stalled[i], 100));
    assert_int_equal(waitpid(h.pid, NULL, WNOHANG), 0);
    hsm_conn *c;
    char serial[32], version[32];
    assert_int_equal(hsm_conn_open(h.url, &c), SIGNET_OK);
    assert_int_equal(hsm_conn_status(c, serial, sizeof serial, version, sizeof version), SIGNET_OK);
    hsm_conn_close(c);

    /* SIGTERM ends the daemon cleanly with those connections still open. */
    hsmd_stop(&h);
    assert_int_equal(h.exit_status, 0);
    for (int i = 0; i < 3; i++)
        close(stalled[i]);
    hsmd_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signing_succeeds_among_hostile_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

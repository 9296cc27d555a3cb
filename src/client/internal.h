/* Private pieces shared by the files of the HSM client (src/client).  Nothing
 * outside this directory includes it. */
#ifndef SIGNET_CLIENT_INTERNAL_H
#define SIGNET_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "signet/client.h"

/* Requests are built without a tight limit of their own, so that hsm_xfer, which
 * knows the device's message size, is the one to refuse an oversized command. */
#define CLIENT_REQ_MAX (64 * 1024)

/* A connector: either libcurl talking to <url>/connector/api, or an in-process
 * transport (hsm_conn_open_transport) for tests and embedding. */
struct hsm_conn {
    void *curl;                 /* CURL easy handle, reused for keep-alive; NULL for custom */
    void *headers;              /* struct curl_slist */
    char api_url[512];
    char status_url[512];
    char base_url[480];
    hsm_transport_fn transport; /* custom transport, else NULL */
    void *transport_ctx;
    /* Largest frame the device accepts, from Device Info: 3136 from firmware
     * 2.4.0 on, 2048 before.  0 until Device Info has been asked. */
    size_t max_msg;
    hsm_devinfo info;
};

enum session_state {
    SESSION_OPEN,        /* usable */
    SESSION_STALE,       /* the channel state is unknown (transport error, plain error
                            frame): re-open before the next command */
    SESSION_DEAD,        /* closed, reset, or a response failed verification */
};

struct hsm_session {
    pthread_mutex_t lock;       /* one command at a time; the session may be shared */
    hsm_conn *conn;
    uint16_t auth_id;
    enum session_state state;
    bool can_reopen;            /* the credential below is valid for auth_id */
    bool asym;                  /* credential kind */
    yh_static_keys keys;        /* symmetric credential (K-ENC, K-MAC) */
    EVP_PKEY *priv;             /* asymmetric credential (up-referenced) */
    yh_channel ch;              /* session keys, MAC chain, counter */
    /* The log hook (hsm_session_set_log_hook): commands sent since the device log
     * was last consumed, an upper bound of the entries this session left there. */
    hsm_log_hook hook;
    void *hook_ctx;
    void (*hook_release)(void *ctx);
    unsigned hook_every;
    unsigned since_drain;
    bool in_hook;
};

/* The session and everything in it live in one smem block (locked, wiped on free). */

/* Creates the device session for s->auth_id with the stored credential and fills
 * s->ch; retries "sessions full" with backoff.  Does not lock. */
signet_rc session_establish(hsm_session *s);
signet_rc session_establish_sym(hsm_session *s);
signet_rc session_establish_asym(hsm_session *s);

/* Sends Create Session, retrying "sessions full" with a doubling backoff for about
 * five seconds before failing with the device's advice. */
signet_rc session_create_with_backoff(hsm_conn *c, const uint8_t *req, size_t len, sb_wr *resp);

/* State changes made by typed calls (they take the session lock). */
void session_mark_dead(hsm_session *s);          /* after Reset Device */
void session_forget_credential(hsm_session *s);  /* the auth key changed to another kind */
void session_set_keys(hsm_session *s, const yh_static_keys *k); /* after Change Auth Key */

/* Makes sure Device Info is known for c (fills c->max_msg). */
signet_rc conn_ensure_info(hsm_conn *c);

/* Helpers for the typed calls. */
signet_rc put_header(sb_wr *w, const hsm_object_attrs *a, uint8_t algorithm);
signet_rc expect_id(const sb_wr *resp, uint16_t *out_id, const char *what);
signet_rc expect_empty(const sb_wr *resp, const char *what);

/* Public key bytes as the device returns them -> EVP_PKEY (RSA n; EC X|Y; Ed25519). */
signet_rc pubkey_from_device(uint8_t algorithm, const uint8_t *p, size_t len, EVP_PKEY **out);
/* An uncompressed P-256 point -> EVP_PKEY; checks the point is on the curve. */
signet_rc pubkey_p256_from_point(const uint8_t pt[YH_EC_P256_PUB_LEN], EVP_PKEY **out);
/* The uncompressed public point of an EC P-256 key. */
signet_rc pubkey_p256_point(EVP_PKEY *k, uint8_t out[YH_EC_P256_PUB_LEN]);
/* The private key material Put Asymmetric Key sends: RSA p|q, EC d, Ed25519 seed. */
signet_rc privkey_device_bytes(EVP_PKEY *key, uint8_t algorithm, sb_wr *out_secure);

#endif

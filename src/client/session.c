/* Authenticated sessions: opening (symmetric credential), the secure command
 * exchange, transparent re-opening after an idle expiry, and closing.
 * Asymmetric opening is in session_asym.c. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "internal.h"
#include "signet/secmem.h"

#define BACKOFF_FIRST_MS 50
#define BACKOFF_TOTAL_MS 5000

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

signet_rc session_create_with_backoff(hsm_conn *c, const uint8_t *req, size_t len, sb_wr *resp)
{
    /* Sessions free up when their holders close them or after 30 s idle; a short
     * doubling backoff rides out the common case (another tool finishing) without
     * hiding a device that is really full. */
    unsigned waited = 0, delay = BACKOFF_FIRST_MS;
    for (;;) {
        sbw_reset(resp);
        signet_rc rc = hsm_conn_command(c, YH_CMD_CREATE_SESSION, req, len, resp);
        if (rc == SIGNET_OK)
            return SIGNET_OK;
        if (signet_err_device() != YH_ERR_SESSIONS_FULL || waited >= BACKOFF_TOTAL_MS)
            return rc;
        if (delay > BACKOFF_TOTAL_MS - waited)
            delay = BACKOFF_TOTAL_MS - waited;
        sleep_ms(delay);
        waited += delay;
        delay *= 2;
    }
}

signet_rc session_establish_sym(hsm_session *s)
{
    hsm_conn *c = s->conn;
    signet_rc rc = conn_ensure_info(c);
    if (rc)
        return rc;
    uint8_t host_ch[YH_CHALLENGE_LEN];
    if (RAND_bytes(host_ch, sizeof host_ch) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "the random generator failed (host challenge)");
    uint8_t req[2 + YH_CHALLENGE_LEN];
    put_be16(req, s->auth_id);
    memcpy(req + 2, host_ch, sizeof host_ch);

    uint8_t rbuf[64];
    sb_wr resp;
    sbw_init_fixed(&resp, rbuf, sizeof rbuf);
    rc = session_create_with_backoff(c, req, sizeof req, &resp);
    if (rc)
        return signet_wrap(rc, "opening a session with authentication key %u", s->auth_id);
    sb_rd r;
    sbr_init(&r, resp.p, resp.len);
    uint8_t sid, card_ch[YH_CHALLENGE_LEN], card_crypto[8];
    if ((rc = sbr_u8(&r, &sid)) || (rc = sbr_copy(&r, card_ch, sizeof card_ch)) ||
        (rc = sbr_copy(&r, card_crypto, sizeof card_crypto)) || (rc = sbr_end(&r)))
        return signet_wrap(rc, "create session answer");
    if (sid >= YH_MAX_SESSIONS)
        return signet_fail(SIGNET_E_PARSE, "the device gave session id %u (0..15 expected)", sid);

    uint8_t expect[8], host_crypto[8];
    if ((rc = yh_channel_derive(&s->keys, host_ch, card_ch, sid, &s->ch)) ||
        (rc = yh_cryptogram(&s->ch, 0, host_ch, card_ch, expect)) ||
        (rc = yh_cryptogram(&s->ch, 1, host_ch, card_ch, host_crypto)))
        return rc;
    /* Authenticate even when the card cryptogram is wrong (a wrong password): the
     * device then frees the session slot at once instead of holding it for 30 s. */
    uint8_t fbuf[64];
    sb_wr frame;
    sbw_init_fixed(&frame, fbuf, sizeof fbuf);
    rc = yh_channel_auth_frame(&s->ch, host_crypto, &frame);
    smem_wipe(host_crypto, sizeof host_crypto);
    if (rc)
        return rc;
    uint8_t ans[YH_MAX_FRAME];
    size_t alen = 0;
    rc = hsm_conn_transfer(c, frame.p, frame.len, ans, &alen);
    if (rc)
        return rc;
    uint8_t acmd;
    const uint8_t *adata;
    size_t adlen;
    rc = yh_frame_decode(ans, alen, &acmd, &adata, &adlen);
    if (rc)
        return signet_wrap(rc, "authenticate session answer");
    if (acmd == YH_CMD_ERROR && adlen == 1)
        return signet_fail_device(adata[0], "authenticating with key %u", s->auth_id);
    if (acmd != YH_RESPONSE(YH_CMD_AUTHENTICATE_SESSION))
        return signet_fail(SIGNET_E_PARSE, "authenticate session: unexpected answer 0x%02x", acmd);
    if (CRYPTO_memcmp(expect, card_crypto, sizeof expect) != 0)
        return signet_fail(SIGNET_E_VERIFY,
                           "the device accepted authentication key %u but its card cryptogram "
                           "is wrong: the peer does not hold that key; do not trust this connector",
                           s->auth_id);
    s->state = SESSION_OPEN;
    return SIGNET_OK;
}

signet_rc session_establish(hsm_session *s)
{
    return s->asym ? session_establish_asym(s) : session_establish_sym(s);
}

static signet_rc session_new(hsm_conn *c, uint16_t auth_id, hsm_session **out)
{
    *out = NULL;
    if (!c)
        return signet_fail(SIGNET_E_ARG, "no connector given");
    hsm_session *s = smem_alloc(sizeof *s);
    if (!s)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory for a session");
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        smem_free(s);
        return signet_fail(SIGNET_E_NOMEM, "cannot create the session lock");
    }
    s->conn = c;
    s->auth_id = auth_id;
    s->state = SESSION_DEAD;
    *out = s;
    return SIGNET_OK;
}

static void session_free(hsm_session *s)
{
    if (s->hook_release)
        s->hook_release(s->hook_ctx);
    pthread_mutex_destroy(&s->lock);
    EVP_PKEY_free(s->priv);
    smem_free(s); /* wipes keys, channel and all */
}

signet_rc hsm_session_open_keys(hsm_conn *c, uint16_t auth_id, const yh_static_keys *keys,
                                hsm_session **out)
{
    hsm_session *s;
    signet_rc rc = session_new(c, auth_id, &s);
    if (rc)
        return rc;
    s->keys = *keys;
    s->can_reopen = true;
    rc = session_establish_sym(s);
    if (rc) {
        session_free(s);
        return rc;
    }
    *out = s;
    return SIGNET_OK;
}

signet_rc hsm_session_open(hsm_conn *c, uint16_t auth_id, const char *password, hsm_session **out)
{
    *out = NULL;
    if (!password)
        return signet_fail(SIGNET_E_ARG, "no password given for authentication key %u", auth_id);
    yh_static_keys *k = smem_alloc(sizeof *k);
    if (!k)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = yh_derive_password_keys(password, strlen(password), k);
    if (rc == SIGNET_OK)
        rc = hsm_session_open_keys(c, auth_id, k, out);
    smem_free(k);
    return rc;
}

signet_rc hsm_session_open_asym(hsm_conn *c, uint16_t auth_id, EVP_PKEY *priv, hsm_session **out)
{
    *out = NULL;
    if (!priv)
        return signet_fail(SIGNET_E_ARG, "no private key given for authentication key %u", auth_id);
    hsm_session *s;
    signet_rc rc = session_new(c, auth_id, &s);
    if (rc)
        return rc;
    if (EVP_PKEY_up_ref(priv) != 1) {
        session_free(s);
        return signet_fail(SIGNET_E_CRYPTO, "cannot reference the private key");
    }
    s->priv = priv;
    s->asym = true;
    s->can_reopen = true;
    rc = session_establish_asym(s);
    if (rc) {
        session_free(s);
        return rc;
    }
    *out = s;
    return SIGNET_OK;
}

/* Re-creates the device session with the kept credential. */
static signet_rc session_reopen(hsm_session *s)
{
    if (!s->can_reopen) {
        s->state = SESSION_DEAD;
        return signet_fail(SIGNET_E_STATE,
                           "the session with authentication key %u ended and its credential "
                           "changed; open a new session",
                           s->auth_id);
    }
    smem_wipe(&s->ch, sizeof s->ch);
    signet_rc rc = session_establish(s);
    if (rc) {
        /* Try again on the next command (the connector may come back), unless the
         * peer failed to prove it holds the key. */
        s->state = rc == SIGNET_E_VERIFY ? SESSION_DEAD : SESSION_STALE;
        return signet_wrap(rc, "re-opening the session with authentication key %u", s->auth_id);
    }
    return SIGNET_OK;
}

/* One secure exchange.  *retry is set when the device said the session is gone
 * (the command was not executed), so that re-opening and resending is safe. */
static signet_rc xfer_once(hsm_session *s, uint8_t cmd, const uint8_t *inner, size_t ilen,
                           sb_wr *resp, bool *retry)
{
    const char *name = yh_cmd_name(cmd);
    *retry = false;
    uint8_t frame[YH_MAX_FRAME];
    sb_wr w;
    sbw_init_fixed(&w, frame, sizeof frame);
    signet_rc rc = yh_channel_wrap_command(&s->ch, inner, ilen, &w);
    if (rc) {
        s->state = SESSION_STALE;
        return signet_wrap(rc, "%s", name);
    }
    uint8_t ans[YH_MAX_FRAME];
    size_t alen = 0;
    rc = hsm_conn_transfer(s->conn, frame, w.len, ans, &alen);
    if (rc) {
        /* Whether the device executed it is unknown: never resend, but re-open
         * before the next command because the counters may now disagree. */
        s->state = SESSION_STALE;
        return signet_wrap(rc, "%s", name);
    }
    uint8_t acmd;
    const uint8_t *adata;
    size_t adlen;
    rc = yh_frame_decode(ans, alen, &acmd, &adata, &adlen);
    if (rc) {
        s->state = SESSION_STALE;
        return signet_wrap(rc, "%s: malformed answer", name);
    }
    if (acmd == YH_CMD_ERROR) {
        /* A session-level error, sent in the clear. */
        s->state = SESSION_STALE;
        if (adlen != 1)
            return signet_fail(SIGNET_E_PARSE, "%s: malformed error frame", name);
        if ((adata[0] == YH_ERR_INVALID_SESSION || adata[0] == YH_ERR_AUTHENTICATION_FAILED) &&
            s->can_reopen)
            *retry = true;
        return signet_fail_device(adata[0], "%s", name);
    }
    if (acmd != YH_RESPONSE(YH_CMD_SESSION_MESSAGE) || adlen < 1) {
        s->state = SESSION_STALE;
        return signet_fail(SIGNET_E_PARSE, "%s: the device answered command 0x%02x to a session "
                                           "message",
                           name, acmd);
    }
    if (adata[0] != s->ch.session_id) {
        s->state = SESSION_STALE;
        return signet_fail(SIGNET_E_PARSE, "%s: answer for session %u arrived on session %u",
                           name, adata[0], s->ch.session_id);
    }
    sb_wr plain;
    sbw_init_secure(&plain, YH_MAX_FRAME);
    rc = yh_channel_unwrap_response(&s->ch, ans, alen, &plain);
    if (rc) {
        sbw_free(&plain);
        s->state = SESSION_DEAD;
        if (rc == SIGNET_E_VERIFY)
            return signet_wrap(rc, "%s: the answer did not verify, so the connector or the "
                                   "device is not trustworthy; the session was closed",
                               name);
        return signet_wrap(rc, "%s: cannot decrypt the answer; the session was closed", name);
    }
    uint8_t icmd;
    const uint8_t *idata;
    size_t idlen;
    rc = yh_frame_decode(plain.p, plain.len, &icmd, &idata, &idlen);
    if (rc == SIGNET_OK && icmd == YH_CMD_ERROR) {
        uint8_t code = idlen == 1 ? idata[0] : 0;
        sbw_free(&plain);
        if (idlen != 1)
            return signet_fail(SIGNET_E_PARSE, "%s: malformed error answer", name);
        return signet_fail_device(code, "%s", name);
    }
    if (rc == SIGNET_OK && icmd != YH_RESPONSE(cmd))
        rc = signet_fail(SIGNET_E_PARSE, "%s: the device answered command 0x%02x instead of 0x%02x",
                         name, icmd, YH_RESPONSE(cmd));
    if (rc == SIGNET_OK)
        rc = sbw_put(resp, idata, idlen);
    else
        rc = signet_wrap(rc, "%s: malformed answer", name);
    sbw_free(&plain);
    return rc;
}

/* Outer frame size of a session message carrying an inner frame of n bytes:
 * 05 len(2) sid | ciphertext (inner + 0x80 padding to 16) | MAC(8). */
static size_t wrapped_size(size_t n)
{
    return 3 + 1 + (n / 16 + 1) * 16 + YH_MAC_LEN;
}

void hsm_session_set_log_hook(hsm_session *s, hsm_log_hook fn, void *ctx, void (*release)(void *ctx),
                              unsigned every, unsigned already)
{
    pthread_mutex_lock(&s->lock);
    void (*old_release)(void *) = s->hook_release;
    void *old_ctx = s->hook_ctx;
    s->hook = fn;
    s->hook_ctx = ctx;
    s->hook_release = release;
    s->hook_every = every ? every : 1;
    s->since_drain = already;
    pthread_mutex_unlock(&s->lock);
    if (old_release)
        old_release(old_ctx);
}

/* The commands a drain is made of never call the hook (it would recurse, or take a
 * drain's entries away from its caller). */
static bool hook_exempt(uint8_t cmd) { return cmd == YH_CMD_GET_LOG_ENTRIES || cmd == YH_CMD_SET_LOG_INDEX; }

/* Runs the hook when due (or, with force, when anything was sent).  Called without
 * the session lock: the hook sends commands on this session. */
static signet_rc run_hook(hsm_session *s, bool force)
{
    pthread_mutex_lock(&s->lock);
    bool due = s->hook && !s->in_hook && s->state != SESSION_DEAD &&
               (force ? s->since_drain > 0 : s->since_drain >= s->hook_every);
    if (due)
        s->in_hook = true;
    pthread_mutex_unlock(&s->lock);
    if (!due)
        return SIGNET_OK;
    signet_rc rc = s->hook(s->hook_ctx, s);
    pthread_mutex_lock(&s->lock);
    s->in_hook = false;
    /* Drained: a Set Log Index left its own entry (count 1), else the log was empty
     * of ours.  SIGNET_E_BUSY: the hook could not drain now; ask again next time. */
    if (rc == SIGNET_OK && s->since_drain > 1)
        s->since_drain = 0;
    pthread_mutex_unlock(&s->lock);
    if (rc == SIGNET_E_BUSY) {
        signet_err_clear();
        rc = SIGNET_OK;
    }
    return rc;
}

signet_rc hsm_xfer(hsm_session *s, uint8_t cmd, const uint8_t *data, size_t len, sb_wr *resp)
{
    if (!s)
        return signet_fail(SIGNET_E_ARG, "no session");
    const char *name = yh_cmd_name(cmd);
    if (len > YH_MAX_DATA)
        return signet_fail(SIGNET_E_ARG, "%s: %zu bytes of data are more than any device accepts",
                           name, len);
    signet_rc rc;
    if (!hook_exempt(cmd) && (rc = run_hook(s, false)) != SIGNET_OK)
        return signet_wrap(rc, "%s was not sent: the device audit log could not be drained into the "
                           "trail first", name);
    pthread_mutex_lock(&s->lock);
    if (s->state == SESSION_DEAD) {
        rc = signet_fail(SIGNET_E_STATE, "%s: the session is closed; open a new one", name);
        goto out;
    }
    size_t limit = s->conn->max_msg ? s->conn->max_msg : YH_MAX_MSG_LEGACY;
    if (wrapped_size(3 + len) > limit) {
        rc = signet_fail(SIGNET_E_ARG,
                         "%s: the command would need a %zu-byte message, more than this device "
                         "accepts (%zu); send less data",
                         name, wrapped_size(3 + len), limit);
        goto out;
    }
    /* The inner frame may carry key material (put commands): locked memory. */
    sb_wr inner;
    sbw_init_secure(&inner, YH_MAX_FRAME);
    rc = yh_frame_encode(&inner, cmd, data, len);
    if (rc == SIGNET_OK && s->state == SESSION_STALE) {
        rc = session_reopen(s);
        s->since_drain += 2; /* create and authenticate */
    }
    if (rc == SIGNET_OK) {
        bool retry;
        rc = xfer_once(s, cmd, inner.p, inner.len, resp, &retry);
        if (rc && retry) {
            rc = session_reopen(s);
            s->since_drain += 2;
            if (rc == SIGNET_OK)
                rc = xfer_once(s, cmd, inner.p, inner.len, resp, &retry);
        }
    }
    /* Set Log Index consumed everything up to the entries just read; its own entry
     * (when audited) is the one left. */
    if (cmd == YH_CMD_SET_LOG_INDEX && rc == SIGNET_OK)
        s->since_drain = 1;
    else if (cmd != YH_CMD_GET_LOG_ENTRIES)
        s->since_drain++;
    sbw_free(&inner);
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void session_mark_dead(hsm_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->state = SESSION_DEAD;
    smem_wipe(&s->ch, sizeof s->ch);
    pthread_mutex_unlock(&s->lock);
}

void session_forget_credential(hsm_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->can_reopen = false;
    smem_wipe(&s->keys, sizeof s->keys);
    pthread_mutex_unlock(&s->lock);
}

void session_set_keys(hsm_session *s, const yh_static_keys *k)
{
    pthread_mutex_lock(&s->lock);
    /* The authentication key is now symmetric with these keys, whatever it was. */
    s->asym = false;
    EVP_PKEY_free(s->priv);
    s->priv = NULL;
    s->keys = *k;
    s->can_reopen = true;
    pthread_mutex_unlock(&s->lock);
}

void hsm_session_close(hsm_session *s)
{
    if (!s)
        return;
    /* The last drain of this session's entries, before Close Session.  Best effort
     * (close cannot fail): a failure leaves at most `every` entries for the next. */
    if (s->hook) {
        signet_rc saved_rc = signet_errcode();
        char saved[512];
        snprintf(saved, sizeof saved, "%s", signet_errmsg());
        if (run_hook(s, true) != SIGNET_OK)
            fprintf(stderr, "signet: warning: the device log was not drained at the end: %s\n",
                    signet_errmsg());
        if (saved_rc != SIGNET_OK)
            signet_fail(saved_rc, "%s", saved);
        else
            signet_err_clear();
    }
    pthread_mutex_lock(&s->lock);
    if (s->state == SESSION_OPEN) {
        /* Best effort: frees the device's slot now instead of after 30 s idle.
         * Callers often close before reporting an earlier failure, so a failing
         * close must not replace that failure's message. */
        signet_rc saved_rc = signet_errcode();
        char saved[512];
        snprintf(saved, sizeof saved, "%s", signet_errmsg());
        uint8_t inner[3] = {YH_CMD_CLOSE_SESSION, 0, 0};
        uint8_t buf[16];
        sb_wr w;
        sbw_init_fixed(&w, buf, sizeof buf);
        bool retry;
        if (xfer_once(s, YH_CMD_CLOSE_SESSION, inner, sizeof inner, &w, &retry) != SIGNET_OK) {
            if (saved_rc != SIGNET_OK)
                signet_fail(saved_rc, "%s", saved);
            else
                signet_err_clear();
        }
    }
    s->state = SESSION_DEAD;
    pthread_mutex_unlock(&s->lock);
    session_free(s);
}

hsm_conn *hsm_session_conn(hsm_session *s) { return s->conn; }
uint16_t hsm_session_auth_id(const hsm_session *s) { return s->auth_id; }
uint8_t hsm_session_id(const hsm_session *s) { return s->ch.session_id; }

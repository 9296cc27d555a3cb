/* Sessions: 16 slots, symmetric authentication (SCP03 style, through proto.h's
 * channel functions) and asymmetric authentication (session_asym.c), idle expiry on the injectable clock, and the session
 * message that carries every other command encrypted.
 *
 * Session-level failures (unknown or expired session, bad MAC, wrong host
 * cryptogram) answer a plain `7f 00 01 code`.  A command inside a session that
 * fails answers `7f 00 01 code` inside the encrypted response, as the device
 * does (python-yubihsm and yubihsm-shell unwrap the response, then look for 7f). */
#include <string.h>

#include <openssl/rand.h>

#include "dev.h"
#include "signet/secmem.h"

static void session_free(dev_session *s)
{
    smem_wipe(s, sizeof *s);
}

void dev_sessions_clear(hsm_device *dev)
{
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        session_free(&dev->sessions[i]);
}

void dev_sessions_expire(hsm_device *dev)
{
    uint64_t now = dev_now(dev);
    for (int i = 0; i < YH_MAX_SESSIONS; i++) {
        dev_session *s = &dev->sessions[i];
        if (s->used && now - s->last_ms >= dev->timeout_ms)
            session_free(s);
    }
}

static void error_frame(sb_wr *resp, uint8_t code)
{
    sbw_reset(resp);
    yh_frame_error(resp, code);
}

/* Logs a create/authenticate session when command-audit asks for it; with a
 * full forced log it is counted instead (and the command still works). */
static void log_session_cmd(hsm_device *dev, uint8_t cmd, size_t len, uint16_t key_id,
                            uint8_t result)
{
    dev_state *st = dev->st;
    if (!dev_cmd_audited(st, cmd))
        return;
    if (dev_log_full(st)) {
        dev_log_count_auth(dev);
    } else {
        dev_log_append(dev, cmd, (uint16_t)len, DEV_NO_KEY, key_id, DEV_NO_KEY, result);
    }
}

void dev_create_session(hsm_device *dev, const uint8_t *data, size_t len, sb_wr *resp)
{
    uint16_t key_id = len >= 2 ? be16(data) : DEV_NO_KEY;
    uint8_t code = YH_ERR_OK;
    dev_session *slot = NULL;
    int sid = -1;
    dev_object *key = NULL;
    /* Symmetric: id | host challenge (8).  Asymmetric (firmware 2.3+): id | the
     * client's ephemeral public key (65, uncompressed). */
    bool asym = len == 2 + YH_EC_P256_PUB_LEN;

    if (!asym && len != 2 + YH_CHALLENGE_LEN) {
        code = YH_ERR_WRONG_LENGTH;
        goto out;
    }
    key = dev_obj_find(dev->st, YH_TYPE_AUTHENTICATION_KEY, key_id);
    if (!key) {
        code = YH_ERR_OBJECT_NOT_FOUND;
        goto out;
    }
    /* The kind of request must match the kind of key (docs/emulator.md). */
    if (asym != (key->algorithm == YH_ALGO_EC_P256_YUBICO_AUTHENTICATION)) {
        code = YH_ERR_INVALID_DATA;
        goto out;
    }
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        if (!dev->sessions[i].used) {
            sid = i;
            break;
        }
    if (sid < 0) {
        code = YH_ERR_SESSIONS_FULL;
        goto out;
    }
    slot = &dev->sessions[sid];
    memset(slot, 0, sizeof *slot);
    uint8_t answer[1 + YH_EC_P256_PUB_LEN + 16];
    size_t answer_len;
    answer[0] = (uint8_t)sid;
    if (asym) {
        code = dev_session_asym_open(dev, key, data + 2, (uint8_t)sid, slot, answer + 1);
        if (code) {
            session_free(slot);
            goto out;
        }
        answer_len = 1 + YH_EC_P256_PUB_LEN + 16;
    } else {
        memcpy(slot->host_ch, data + 2, YH_CHALLENGE_LEN);
        yh_static_keys keys;
        memcpy(keys.enc, key->body, YH_KEY_LEN);
        memcpy(keys.mac, key->body + YH_KEY_LEN, YH_KEY_LEN);
        uint8_t card_crypto[8];
        if (RAND_bytes(slot->card_ch, YH_CHALLENGE_LEN) != 1 ||
            yh_channel_derive(&keys, slot->host_ch, slot->card_ch, (uint8_t)sid, &slot->ch) ||
            yh_cryptogram(&slot->ch, 0, slot->host_ch, slot->card_ch, card_crypto)) {
            smem_wipe(&keys, sizeof keys);
            session_free(slot);
            code = YH_ERR_COMMAND_UNEXECUTED;
            goto out;
        }
        smem_wipe(&keys, sizeof keys);
        memcpy(answer + 1, slot->card_ch, 8);
        memcpy(answer + 9, card_crypto, 8);
        answer_len = 1 + 8 + 8;
    }
    slot->used = true;
    slot->auth_id = key_id;
    slot->last_ms = dev_now(dev);
    sbw_reset(resp);
    yh_frame_encode(resp, YH_RESPONSE(YH_CMD_CREATE_SESSION), answer, answer_len);
out:
    if (code)
        error_frame(resp, code);
    log_session_cmd(dev, YH_CMD_CREATE_SESSION, len, key_id,
                    code ? YH_CMD_ERROR : YH_RESPONSE(YH_CMD_CREATE_SESSION));
}

void dev_authenticate_session(hsm_device *dev, const uint8_t *frame, size_t flen,
                              const uint8_t *data, size_t len, sb_wr *resp)
{
    uint8_t code = YH_ERR_OK;
    uint16_t key_id = DEV_NO_KEY;
    if (len != 1 + 8 + YH_MAC_LEN) {
        code = YH_ERR_WRONG_LENGTH;
        goto out;
    }
    if (data[0] >= YH_MAX_SESSIONS || !dev->sessions[data[0]].used ||
        dev->sessions[data[0]].authenticated) {
        code = YH_ERR_INVALID_SESSION;
        goto out;
    }
    dev_session *s = &dev->sessions[data[0]];
    key_id = s->auth_id;
    if (yh_channel_check_auth(&s->ch, frame, flen, s->host_ch, s->card_ch) != SIGNET_OK) {
        /* wrong password (host cryptogram) or MAC: the slot is given back */
        session_free(s);
        code = YH_ERR_AUTHENTICATION_FAILED;
        goto out;
    }
    s->authenticated = true;
    s->last_ms = dev_now(dev);
    sbw_reset(resp);
    yh_frame_encode(resp, YH_RESPONSE(YH_CMD_AUTHENTICATE_SESSION), NULL, 0);
out:
    if (code)
        error_frame(resp, code);
    log_session_cmd(dev, YH_CMD_AUTHENTICATE_SESSION, len, key_id,
                    code ? YH_CMD_ERROR : YH_RESPONSE(YH_CMD_AUTHENTICATE_SESSION));
}

/* Runs one decrypted inner command; fills inner (a whole cmd|len|data frame). */
static void run_inner(hsm_device *dev, dev_session *s, const uint8_t *in, size_t in_len,
                      sb_wr *inner, dev_req *rq)
{
    uint8_t cmd;
    const uint8_t *data;
    size_t dlen;
    uint8_t code;
    uint8_t buf[YH_MAX_FRAME];
    sb_wr out;
    sbw_init_fixed(&out, buf, sizeof buf);

    if (yh_frame_decode(in, in_len, &cmd, &data, &dlen) != SIGNET_OK) {
        yh_frame_error(inner, YH_ERR_WRONG_LENGTH);
        return;
    }
    dev_handler h = dev_find_handler(cmd);
    /* The plain session commands have no meaning inside a session. */
    if (!h || cmd == YH_CMD_CREATE_SESSION || cmd == YH_CMD_AUTHENTICATE_SESSION ||
        cmd == YH_CMD_SESSION_MESSAGE) {
        yh_frame_error(inner, YH_ERR_INVALID_COMMAND);
        return;
    }
    bool audited = dev_cmd_audited(dev->st, cmd);
    /* Set Log Index is the way out of a full forced log: it runs even when
     * audited, and its entry goes into the room it freed. */
    if (audited && dev_log_full(dev->st) && cmd != YH_CMD_SET_LOG_INDEX) {
        yh_frame_error(inner, YH_ERR_LOG_FULL);
        return;
    }
    *rq = (dev_req){.dev = dev, .sess = s, .cmd = cmd, .data = data, .len = dlen, .out = &out,
                    .target = DEV_NO_KEY, .second = DEV_NO_KEY};
    code = h(rq);
    if (!rq->latency_ms)
        rq->latency_ms = dev_latency_ms(cmd, 0);
    /* The answer must fit one encrypted frame: 1 (sid) + ciphertext + MAC. */
    size_t padded = ((3 + out.len) / 16 + 1) * 16;
    if (!code && 1 + padded + YH_MAC_LEN > YH_MAX_DATA)
        code = YH_ERR_WRONG_LENGTH;
    if (code) {
        rq->reset_after = rq->close_after = false;
        yh_frame_error(inner, code);
    } else {
        yh_frame_encode(inner, YH_RESPONSE(cmd), out.p, out.len);
    }
    smem_wipe(buf, out.len);
    if (audited) {
        /* journaled by dev_persist_log unless the command also changed the state */
        dev_log_append(dev, cmd, (uint16_t)dlen, s->auth_id, rq->target, rq->second,
                       code ? YH_CMD_ERROR : YH_RESPONSE(cmd));
    }
}

signet_rc dev_session_message(hsm_device *dev, const uint8_t *frame, size_t flen,
                              const uint8_t *data, size_t len, sb_wr *resp,
                              unsigned *latency_ms)
{
    *latency_ms = 0;
    if (len < 1 + 16 + YH_MAC_LEN || (len - 1 - YH_MAC_LEN) % 16 != 0) {
        error_frame(resp, len < 1 ? YH_ERR_INVALID_SESSION : YH_ERR_WRONG_LENGTH);
        return SIGNET_OK;
    }
    uint8_t sid = data[0];
    if (sid >= YH_MAX_SESSIONS || !dev->sessions[sid].used ||
        !dev->sessions[sid].authenticated) {
        error_frame(resp, YH_ERR_INVALID_SESSION);
        return SIGNET_OK;
    }
    dev_session *s = &dev->sessions[sid];
    sb_wr in, inner;
    sbw_init_secure(&in, YH_MAX_FRAME);
    sbw_init_secure(&inner, YH_MAX_FRAME);
    if (yh_channel_unwrap_command(&s->ch, frame, flen, &in) != SIGNET_OK) {
        /* A forged or corrupted message ends the session. */
        session_free(s);
        sbw_free(&in);
        sbw_free(&inner);
        error_frame(resp, YH_ERR_SESSION_FAILED);
        return SIGNET_OK;
    }
    s->last_ms = dev_now(dev);

    dev_req rq = {0};
    run_inner(dev, s, in.p, in.len, &inner, &rq);
    sbw_free(&in);

    sbw_reset(resp);
    signet_rc rc = yh_channel_wrap_response(&s->ch, inner.p, inner.len, resp);
    sbw_free(&inner);
    if (rc) {
        session_free(s);
        error_frame(resp, YH_ERR_COMMAND_UNEXECUTED);
        /* what the command changed (and logged) is kept all the same */
        return rq.changed ? dev_persist(dev) : dev_persist_log(dev);
    }
    *latency_ms = rq.latency_ms;
    if (rq.close_after)
        session_free(s);
    if (rq.reset_after) {
        /* The answer is ready; now the device wipes itself (sessions too). */
        dev_sessions_clear(dev);
        dev_state_factory(dev->st, dev->st->serial);
        rq.changed = true;
    }
    /* A change to the log alone is one journal record; anything else (which
     * includes a reset) rewrites the whole state. */
    if (rq.changed)
        return dev_persist(dev);
    return dev_persist_log(dev);
}

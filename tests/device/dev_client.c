/* The in-test host: see dev_client.h. */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "dev_client.h"

uint64_t tc_clock_now(void *ctx) { return ((tc_clock *)ctx)->ms; }

hsm_device *tc_device(const char *state_path, tc_clock *clock)
{
    hsm_device_opts o = {.state_path = state_path, .serial = 7654321};
    if (clock) {
        o.now_ms = tc_clock_now;
        o.now_ctx = clock;
    }
    hsm_device *dev = NULL;
    if (hsm_device_open(&o, &dev) != SIGNET_OK)
        return NULL;
    return dev;
}

void tc_raw(hsm_device *dev, const uint8_t *req, size_t len, uint8_t *resp, size_t *resp_len)
{
    *resp_len = 0;
    hsm_device_transact(dev, req, len, resp, resp_len);
}

static int frame_result(uint8_t cmd, const uint8_t *f, size_t n, sb_wr *resp)
{
    uint8_t rcmd;
    const uint8_t *data;
    size_t dlen;
    if (yh_frame_decode(f, n, &rcmd, &data, &dlen) != SIGNET_OK)
        return TC_BROKEN;
    if (rcmd == YH_CMD_ERROR)
        return dlen == 1 ? data[0] : TC_BROKEN;
    if (rcmd != YH_RESPONSE(cmd))
        return TC_BROKEN;
    if (resp)
        sbw_put(resp, data, dlen);
    return 0;
}

int tc_plain(hsm_device *dev, uint8_t cmd, const uint8_t *data, size_t len, sb_wr *resp)
{
    uint8_t req[YH_MAX_FRAME], out[YH_MAX_FRAME];
    sb_wr w;
    sbw_init_fixed(&w, req, sizeof req);
    if (yh_frame_encode(&w, cmd, data, len) != SIGNET_OK)
        return TC_BROKEN;
    size_t n;
    tc_raw(dev, w.p, w.len, out, &n);
    return frame_result(cmd, out, n, resp);
}

int tc_open_keys(hsm_device *dev, uint16_t auth_id, const yh_static_keys *k, tc_session *s)
{
    uint8_t req[2 + 8], host[8];
    RAND_bytes(host, sizeof host);
    put_be16(req, auth_id);
    memcpy(req + 2, host, 8);
    uint8_t buf[64];
    sb_wr r;
    sbw_init_fixed(&r, buf, sizeof buf);
    int rc = tc_plain(dev, YH_CMD_CREATE_SESSION, req, sizeof req, &r);
    if (rc)
        return TC_OUTER | rc;
    if (r.len != 17)
        return TC_BROKEN;
    memset(s, 0, sizeof *s);
    s->dev = dev;
    s->auth_id = auth_id;
    uint8_t card_crypto[8];
    if (yh_channel_derive(k, host, buf + 1, buf[0], &s->ch) ||
        yh_cryptogram(&s->ch, 0, host, buf + 1, card_crypto))
        return TC_BROKEN;
    /* A wrong password shows already here (the card cryptogram differs); send
     * the authenticate command anyway so that the device decides. */
    uint8_t host_crypto[8];
    yh_cryptogram(&s->ch, 1, host, buf + 1, host_crypto);
    uint8_t f[64], out[64];
    sb_wr w;
    sbw_init_fixed(&w, f, sizeof f);
    if (yh_channel_auth_frame(&s->ch, host_crypto, &w))
        return TC_BROKEN;
    size_t n;
    tc_raw(dev, w.p, w.len, out, &n);
    rc = frame_result(YH_CMD_AUTHENTICATE_SESSION, out, n, NULL);
    if (rc)
        return rc == TC_BROKEN ? rc : TC_OUTER | rc;
    return memcmp(card_crypto, buf + 9, 8) == 0 ? 0 : TC_BROKEN;
}

int tc_open(hsm_device *dev, uint16_t auth_id, const char *password, tc_session *s)
{
    yh_static_keys k;
    if (yh_derive_password_keys(password, strlen(password), &k))
        return TC_BROKEN;
    return tc_open_keys(dev, auth_id, &k, s);
}

int tc_cmd(tc_session *s, uint8_t cmd, const uint8_t *data, size_t len, sb_wr *resp)
{
    uint8_t inner[YH_MAX_FRAME], f[YH_MAX_FRAME], out[YH_MAX_FRAME];
    sb_wr w, fw;
    sbw_init_fixed(&w, inner, sizeof inner);
    sbw_init_fixed(&fw, f, sizeof f);
    if (yh_frame_encode(&w, cmd, data, len) || yh_channel_wrap_command(&s->ch, w.p, w.len, &fw))
        return TC_BROKEN;
    size_t n;
    tc_raw(s->dev, fw.p, fw.len, out, &n);
    if (n == 4 && out[0] == YH_CMD_ERROR)
        return TC_OUTER | out[3];
    sb_wr plain;
    sbw_init_secure(&plain, YH_MAX_FRAME);
    if (yh_channel_unwrap_response(&s->ch, out, n, &plain)) {
        sbw_free(&plain);
        return TC_BROKEN;
    }
    int rc = frame_result(cmd, plain.p, plain.len, resp);
    sbw_free(&plain);
    return rc;
}

void tc_close(tc_session *s) { tc_cmd(s, YH_CMD_CLOSE_SESSION, NULL, 0, NULL); }

void tc_put_hdr(sb_wr *w, const tc_attrs *a)
{
    uint8_t label[YH_LABEL_LEN];
    yh_label_encode(a->label ? a->label : "", label);
    sbw_u16(w, a->id);
    sbw_put(w, label, sizeof label);
    sbw_u16(w, a->domains);
    sbw_u64(w, a->caps);
    sbw_u8(w, a->algorithm);
}

static int id_answer(int rc, sb_wr *r, uint16_t *id)
{
    if (!rc && id)
        *id = r->len == 2 ? be16(r->p) : 0;
    sbw_free(r);
    return rc;
}

int tc_put_auth_key(tc_session *s, const tc_attrs *a, uint64_t delegated, const char *password)
{
    yh_static_keys k;
    yh_derive_password_keys(password, strlen(password), &k);
    sb_wr w, r;
    sbw_init(&w, YH_MAX_FRAME);
    sbw_init(&r, 64);
    tc_attrs b = *a;
    b.algorithm = YH_ALGO_AES128_YUBICO_AUTHENTICATION;
    tc_put_hdr(&w, &b);
    sbw_u64(&w, delegated);
    sbw_put(&w, k.enc, 16);
    sbw_put(&w, k.mac, 16);
    int rc = tc_cmd(s, YH_CMD_PUT_AUTHENTICATION_KEY, w.p, w.len, &r);
    sbw_free(&w);
    return id_answer(rc, &r, NULL);
}

int tc_put_opaque(tc_session *s, const tc_attrs *a, const uint8_t *data, size_t len,
                  uint16_t *id)
{
    sb_wr w, r;
    sbw_init(&w, YH_MAX_FRAME);
    sbw_init(&r, 64);
    tc_put_hdr(&w, a);
    sbw_put(&w, data, len);
    int rc = tc_cmd(s, YH_CMD_PUT_OPAQUE, w.p, w.len, &r);
    sbw_free(&w);
    return id_answer(rc, &r, id);
}

int tc_generate(tc_session *s, const tc_attrs *a, uint16_t *id)
{
    sb_wr w, r;
    sbw_init(&w, 128);
    sbw_init(&r, 64);
    tc_put_hdr(&w, a);
    int rc = tc_cmd(s, YH_CMD_GENERATE_ASYMMETRIC_KEY, w.p, w.len, &r);
    sbw_free(&w);
    return id_answer(rc, &r, id);
}

int tc_get_info(tc_session *s, uint16_t id, uint8_t type, yh_object_info *oi)
{
    uint8_t req[3];
    put_be16(req, id);
    req[2] = type;
    sb_wr r;
    sbw_init(&r, 128);
    int rc = tc_cmd(s, YH_CMD_GET_OBJECT_INFO, req, 3, &r);
    if (!rc) {
        sb_rd rd;
        sbr_init(&rd, r.p, r.len);
        if (r.len != YH_OBJECT_INFO_LEN || yh_object_info_decode(&rd, oi))
            rc = TC_BROKEN;
    }
    sbw_free(&r);
    return rc;
}

int tc_delete(tc_session *s, uint16_t id, uint8_t type)
{
    uint8_t req[3];
    put_be16(req, id);
    req[2] = type;
    return tc_cmd(s, YH_CMD_DELETE_OBJECT, req, 3, NULL);
}

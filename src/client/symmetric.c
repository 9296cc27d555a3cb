/* Typed calls for symmetric keys (AES ECB/CBC) and for Wrap/Unwrap Data. */
#include <string.h>

#include "internal.h"
#include "signet/secmem.h"

#define AES_BLOCK 16

static signet_rc new_key(hsm_session *s, uint8_t cmd, const hsm_object_attrs *a,
                         const uint8_t *key, size_t len, uint16_t *out_id)
{
    int want = yh_algo_key_bytes(a->algorithm);
    if (a->algorithm != YH_ALGO_AES128 && a->algorithm != YH_ALGO_AES192 &&
        a->algorithm != YH_ALGO_AES256)
        return signet_fail(SIGNET_E_ARG, "%s is not a symmetric key algorithm (aes128, aes192, "
                                         "aes256)",
                           yh_algo_name(a->algorithm));
    if (key && len != (size_t)want)
        return signet_fail(SIGNET_E_ARG, "%s needs a %d-byte key, not %zu bytes",
                           yh_algo_name(a->algorithm), want, len);
    sb_wr w;
    sbw_init_secure(&w, 256);
    signet_rc rc = put_header(&w, a, a->algorithm);
    if (rc == SIGNET_OK && key)
        rc = sbw_put(&w, key, len);
    uint8_t buf[8];
    sb_wr resp;
    sbw_init_fixed(&resp, buf, sizeof buf);
    if (rc == SIGNET_OK)
        rc = hsm_xfer(s, cmd, w.p, w.len, &resp);
    if (rc == SIGNET_OK)
        rc = expect_id(&resp, out_id, yh_cmd_name(cmd));
    sbw_free(&w);
    return rc ? signet_wrap(rc, "%s symmetric key", key ? "importing" : "generating")
              : SIGNET_OK;
}

signet_rc hsm_put_symmetric_key(hsm_session *s, const hsm_object_attrs *a, const uint8_t *key,
                                size_t len, uint16_t *out_id)
{
    if (!key)
        return signet_fail(SIGNET_E_ARG, "put symmetric key: no key given");
    return new_key(s, YH_CMD_PUT_SYMMETRIC_KEY, a, key, len, out_id);
}

signet_rc hsm_generate_symmetric_key(hsm_session *s, const hsm_object_attrs *a, uint16_t *out_id)
{
    return new_key(s, YH_CMD_GENERATE_SYMMETRIC_KEY, a, NULL, 0, out_id);
}

/* How many data bytes one command can carry: the session message must fit the
 * device's message size, with room for id, IV, padding and the answer. */
static size_t chunk_size(hsm_session *s)
{
    hsm_conn *c = hsm_session_conn(s);
    size_t limit = c->max_msg ? c->max_msg : YH_MAX_MSG_LEGACY;
    size_t room = limit - (3 + 1 + YH_MAC_LEN) - AES_BLOCK - 3 - 2 - AES_BLOCK;
    return room / AES_BLOCK * AES_BLOCK;
}

static signet_rc aes_op(hsm_session *s, uint8_t cmd, uint16_t id, const uint8_t iv_in[16],
                        const uint8_t *in, size_t len, sb_wr *out)
{
    if (len == 0 || len % AES_BLOCK)
        return signet_fail(SIGNET_E_ARG, "%s: the data must be a non-empty multiple of 16 bytes "
                                         "(%zu given); pad it first",
                           yh_cmd_name(cmd), len);
    bool cbc = iv_in != NULL, enc = cmd == YH_CMD_ENCRYPT_CBC;
    uint8_t iv[AES_BLOCK];
    if (cbc)
        memcpy(iv, iv_in, sizeof iv);
    size_t chunk = chunk_size(s), before = out->len;
    sb_wr req;
    sbw_init_secure(&req, CLIENT_REQ_MAX);
    signet_rc rc = SIGNET_OK;
    for (size_t done = 0; rc == SIGNET_OK && done < len;) {
        size_t n = len - done < chunk ? len - done : chunk;
        sbw_reset(&req);
        size_t at = out->len;
        rc = sbw_u16(&req, id);
        if (rc == SIGNET_OK && cbc)
            rc = sbw_put(&req, iv, sizeof iv);
        if (rc == SIGNET_OK)
            rc = sbw_put(&req, in + done, n);
        if (rc == SIGNET_OK)
            rc = hsm_xfer(s, cmd, req.p, req.len, out);
        if (rc == SIGNET_OK && out->len - at != n)
            rc = signet_fail(SIGNET_E_PARSE, "%s: %zu bytes back for %zu sent", yh_cmd_name(cmd),
                             out->len - at, n);
        /* CBC across chunks: the next IV is the last ciphertext block. */
        if (rc == SIGNET_OK && cbc)
            memcpy(iv, enc ? out->p + out->len - AES_BLOCK : in + done + n - AES_BLOCK,
                   sizeof iv);
        done += n;
    }
    sbw_free(&req);
    if (rc) {
        if (out->len > before)
            smem_wipe(out->p + before, out->len - before);
        out->len = before;
        return signet_wrap(rc, "with symmetric key 0x%04x", id);
    }
    return SIGNET_OK;
}

signet_rc hsm_encrypt_ecb(hsm_session *s, uint16_t id, const uint8_t *in, size_t len, sb_wr *out)
{
    return aes_op(s, YH_CMD_ENCRYPT_ECB, id, NULL, in, len, out);
}

signet_rc hsm_decrypt_ecb(hsm_session *s, uint16_t id, const uint8_t *in, size_t len, sb_wr *out)
{
    return aes_op(s, YH_CMD_DECRYPT_ECB, id, NULL, in, len, out);
}

signet_rc hsm_encrypt_cbc(hsm_session *s, uint16_t id, const uint8_t iv[16], const uint8_t *in,
                          size_t len, sb_wr *out)
{
    return aes_op(s, YH_CMD_ENCRYPT_CBC, id, iv, in, len, out);
}

signet_rc hsm_decrypt_cbc(hsm_session *s, uint16_t id, const uint8_t iv[16], const uint8_t *in,
                          size_t len, sb_wr *out)
{
    return aes_op(s, YH_CMD_DECRYPT_CBC, id, iv, in, len, out);
}

static signet_rc id_and_data(hsm_session *s, uint8_t cmd, uint16_t id, const uint8_t *p,
                             size_t len, sb_wr *out)
{
    sb_wr req;
    sbw_init_secure(&req, CLIENT_REQ_MAX);
    signet_rc rc = sbw_u16(&req, id);
    if (rc == SIGNET_OK)
        rc = sbw_put(&req, p, len);
    if (rc == SIGNET_OK)
        rc = hsm_xfer(s, cmd, req.p, req.len, out);
    sbw_free(&req);
    return rc;
}

signet_rc hsm_wrap_data(hsm_session *s, uint16_t wrap_id, const uint8_t *data, size_t len,
                        sb_wr *blob)
{
    if (len == 0)
        return signet_fail(SIGNET_E_ARG, "wrap data: nothing to wrap");
    size_t before = blob->len;
    signet_rc rc = id_and_data(s, YH_CMD_WRAP_DATA, wrap_id, data, len, blob);
    if (rc)
        return signet_wrap(rc, "wrapping data with wrap key 0x%04x", wrap_id);
    if (blob->len - before != YH_WRAP_NONCE_LEN + len + YH_WRAP_TAG_LEN) {
        blob->len = before;
        return signet_fail(SIGNET_E_PARSE, "wrap data: the blob is not nonce | %zu bytes | tag",
                           len);
    }
    return SIGNET_OK;
}

signet_rc hsm_unwrap_data(hsm_session *s, uint16_t wrap_id, const uint8_t *blob, size_t len,
                          sb_wr *out)
{
    if (len <= YH_WRAP_NONCE_LEN + YH_WRAP_TAG_LEN)
        return signet_fail(SIGNET_E_ARG, "unwrap data: a %zu-byte blob is too short", len);
    size_t before = out->len;
    signet_rc rc = id_and_data(s, YH_CMD_UNWRAP_DATA, wrap_id, blob, len, out);
    if (rc)
        return signet_wrap(rc, "unwrapping data with wrap key 0x%04x", wrap_id);
    if (out->len - before != len - YH_WRAP_NONCE_LEN - YH_WRAP_TAG_LEN) {
        smem_wipe(out->p + before, out->len - before);
        out->len = before;
        return signet_fail(SIGNET_E_PARSE, "unwrap data: an answer of the wrong length");
    }
    return SIGNET_OK;
}

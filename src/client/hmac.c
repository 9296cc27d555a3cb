/* Typed calls for HMAC keys: put, generate, sign and verify. */
#include <string.h>

#include "internal.h"
#include "signet/secmem.h"

static size_t block_size(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_HMAC_SHA1:
    case YH_ALGO_HMAC_SHA256: return 64;
    case YH_ALGO_HMAC_SHA384:
    case YH_ALGO_HMAC_SHA512: return 128;
    default: return 0;
    }
}

static signet_rc new_key(hsm_session *s, uint8_t cmd, const hsm_object_attrs *a,
                         const uint8_t *key, size_t len, uint16_t *out_id)
{
    size_t b = block_size(a->algorithm);
    if (!b)
        return signet_fail(SIGNET_E_ARG, "%s is not an HMAC algorithm (hmac-sha1, hmac-sha256, "
                                         "hmac-sha384, hmac-sha512)",
                           yh_algo_name(a->algorithm));
    if (key && (len == 0 || len > b))
        return signet_fail(SIGNET_E_ARG, "an %s key is 1 to %zu bytes, not %zu (hash a longer "
                                         "key first, as HMAC does)",
                           yh_algo_name(a->algorithm), b, len);
    sb_wr w;
    sbw_init_secure(&w, 512);
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
    return rc ? signet_wrap(rc, "%s HMAC key", key ? "importing" : "generating") : SIGNET_OK;
}

signet_rc hsm_put_hmac_key(hsm_session *s, const hsm_object_attrs *a, const uint8_t *key,
                           size_t len, uint16_t *out_id)
{
    if (!key)
        return signet_fail(SIGNET_E_ARG, "put HMAC key: no key given");
    return new_key(s, YH_CMD_PUT_HMAC_KEY, a, key, len, out_id);
}

signet_rc hsm_generate_hmac_key(hsm_session *s, const hsm_object_attrs *a, uint16_t *out_id)
{
    return new_key(s, YH_CMD_GENERATE_HMAC_KEY, a, NULL, 0, out_id);
}

static bool mac_len_ok(size_t n)
{
    return n == 20 || n == 32 || n == 48 || n == 64;
}

signet_rc hsm_sign_hmac(hsm_session *s, uint16_t id, const uint8_t *data, size_t len,
                        uint8_t *mac, size_t *mac_len)
{
    *mac_len = 0;
    if (len == 0)
        return signet_fail(SIGNET_E_ARG, "sign HMAC: no data given");
    sb_wr req, resp;
    sbw_init(&req, CLIENT_REQ_MAX);
    uint8_t buf[64];
    sbw_init_fixed(&resp, buf, sizeof buf);
    signet_rc rc = sbw_u16(&req, id);
    if (rc == SIGNET_OK)
        rc = sbw_put(&req, data, len);
    if (rc == SIGNET_OK)
        rc = hsm_xfer(s, YH_CMD_SIGN_HMAC, req.p, req.len, &resp);
    sbw_free(&req);
    if (rc)
        return signet_wrap(rc, "HMAC with key 0x%04x", id);
    if (!mac_len_ok(resp.len))
        return signet_fail(SIGNET_E_PARSE, "sign HMAC: a %zu-byte MAC", resp.len);
    memcpy(mac, resp.p, resp.len);
    *mac_len = resp.len;
    return SIGNET_OK;
}

signet_rc hsm_verify_hmac(hsm_session *s, uint16_t id, const uint8_t *mac, size_t mac_len,
                          const uint8_t *data, size_t len, bool *match)
{
    *match = false;
    if (!mac_len_ok(mac_len) || len == 0)
        return signet_fail(SIGNET_E_ARG, "verify HMAC: needs a 20/32/48/64-byte MAC and data");
    sb_wr req, resp;
    sbw_init(&req, CLIENT_REQ_MAX);
    uint8_t buf[8];
    sbw_init_fixed(&resp, buf, sizeof buf);
    signet_rc rc = sbw_u16(&req, id);
    if (rc == SIGNET_OK)
        rc = sbw_put(&req, mac, mac_len);
    if (rc == SIGNET_OK)
        rc = sbw_put(&req, data, len);
    if (rc == SIGNET_OK)
        rc = hsm_xfer(s, YH_CMD_VERIFY_HMAC, req.p, req.len, &resp);
    sbw_free(&req);
    if (rc)
        return signet_wrap(rc, "verifying an HMAC with key 0x%04x", id);
    if (resp.len != 1 || resp.p[0] > 1)
        return signet_fail(SIGNET_E_PARSE, "verify HMAC: unexpected answer of %zu bytes",
                           resp.len);
    *match = resp.p[0] == 1;
    return SIGNET_OK;
}

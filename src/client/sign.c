/* Typed signing calls.  The device does the padding; these only frame the
 * request and check the answer's length against the caller's buffer. */
#include <string.h>

#include "internal.h"

static bool digest_len_ok(size_t n)
{
    return n == 20 || n == 32 || n == 48 || n == 64;
}

/* Sends key id | prefix | data and copies the answer into sig. */
static signet_rc sign_cmd(hsm_session *s, uint8_t cmd, uint16_t id, const uint8_t *prefix,
                          size_t plen, const uint8_t *data, size_t len, uint8_t *sig,
                          size_t *sig_len)
{
    size_t cap = *sig_len;
    *sig_len = 0;
    sb_wr req;
    sbw_init(&req, YH_MAX_FRAME);
    signet_rc rc = sbw_u16(&req, id);
    if (rc == SIGNET_OK && plen)
        rc = sbw_put(&req, prefix, plen);
    if (rc == SIGNET_OK)
        rc = sbw_put(&req, data, len);
    if (rc) {
        sbw_free(&req);
        return signet_fail(SIGNET_E_ARG, "%s: %zu bytes of input are too many", yh_cmd_name(cmd),
                           len);
    }
    sb_wr resp;
    sbw_init(&resp, YH_MAX_FRAME);
    rc = hsm_xfer(s, cmd, req.p, req.len, &resp);
    sbw_free(&req);
    if (rc == SIGNET_OK && resp.len == 0)
        rc = signet_fail(SIGNET_E_PARSE, "%s: empty signature", yh_cmd_name(cmd));
    if (rc == SIGNET_OK && resp.len > cap)
        rc = signet_fail(SIGNET_E_ARG,
                         "%s: the %zu-byte signature does not fit the %zu-byte buffer",
                         yh_cmd_name(cmd), resp.len, cap);
    if (rc == SIGNET_OK) {
        memcpy(sig, resp.p, resp.len);
        *sig_len = resp.len;
    }
    sbw_free(&resp);
    return rc ? signet_wrap(rc, "signing with key 0x%04x", id) : SIGNET_OK;
}

signet_rc hsm_sign_pkcs1(hsm_session *s, uint16_t id, const uint8_t *data, size_t len,
                         uint8_t *sig, size_t *sig_len)
{
    if (len == 0)
        return signet_fail(SIGNET_E_ARG, "sign pkcs1: nothing to sign");
    return sign_cmd(s, YH_CMD_SIGN_PKCS1, id, NULL, 0, data, len, sig, sig_len);
}

signet_rc hsm_sign_pss(hsm_session *s, uint16_t id, uint8_t mgf1, uint16_t salt_len,
                       const uint8_t *digest, size_t len, uint8_t *sig, size_t *sig_len)
{
    if (!digest_len_ok(len))
        return signet_fail(SIGNET_E_ARG, "sign pss: a digest is 20, 32, 48 or 64 bytes, not %zu",
                           len);
    if (mgf1 < YH_ALGO_MGF1_SHA1 || mgf1 > YH_ALGO_MGF1_SHA512)
        return signet_fail(SIGNET_E_ARG, "sign pss: %u is not an MGF1 algorithm", mgf1);
    uint8_t prefix[3] = {mgf1, (uint8_t)(salt_len >> 8), (uint8_t)salt_len};
    return sign_cmd(s, YH_CMD_SIGN_PSS, id, prefix, sizeof prefix, digest, len, sig, sig_len);
}

signet_rc hsm_sign_ecdsa(hsm_session *s, uint16_t id, const uint8_t *digest, size_t len,
                         uint8_t *sig, size_t *sig_len)
{
    /* 28 for P-224 and 66 for P-521 besides the usual digest sizes, as yubihsm-shell. */
    if (!digest_len_ok(len) && len != 28 && len != 66)
        return signet_fail(SIGNET_E_ARG, "sign ecdsa: a digest of %zu bytes is not accepted", len);
    return sign_cmd(s, YH_CMD_SIGN_ECDSA, id, NULL, 0, digest, len, sig, sig_len);
}

signet_rc hsm_sign_eddsa(hsm_session *s, uint16_t id, const uint8_t *msg, size_t len, uint8_t *sig,
                         size_t *sig_len)
{
    signet_rc rc = sign_cmd(s, YH_CMD_SIGN_EDDSA, id, NULL, 0, msg, len, sig, sig_len);
    if (rc == SIGNET_OK && *sig_len != 64) {
        size_t got = *sig_len;
        *sig_len = 0;
        return signet_fail(SIGNET_E_PARSE, "sign eddsa: a %zu-byte signature (64 expected)", got);
    }
    return rc;
}

/* Typed calls that create keys: asymmetric (generate, put), wrap keys (put,
 * generate, export and import under wrap) and authentication keys (put, change).
 * Requests that carry key material are built in locked memory and wiped. */
#include <string.h>

#include "internal.h"
#include "signet/secmem.h"

/* Sends a request built in w and expects an object id back. */
static signet_rc send_for_id(hsm_session *s, uint8_t cmd, sb_wr *w, uint16_t *out_id)
{
    uint8_t buf[8];
    sb_wr resp;
    sbw_init_fixed(&resp, buf, sizeof buf);
    signet_rc rc = hsm_xfer(s, cmd, w->p, w->len, &resp);
    if (rc == SIGNET_OK)
        rc = expect_id(&resp, out_id, yh_cmd_name(cmd));
    return rc;
}

static bool is_asym_key_algo(uint8_t a)
{
    return a == YH_ALGO_RSA_2048 || a == YH_ALGO_RSA_3072 || a == YH_ALGO_RSA_4096 ||
           yh_algo_is_ec(a) || a == YH_ALGO_EC_ED25519;
}

signet_rc hsm_generate_asymmetric(hsm_session *s, const hsm_object_attrs *a, uint16_t *out_id)
{
    if (!is_asym_key_algo(a->algorithm))
        return signet_fail(SIGNET_E_ARG, "%s is not an asymmetric key algorithm (rsa2048, "
                                         "ecp256, ed25519, ...)",
                           yh_algo_name(a->algorithm));
    uint8_t buf[64];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = put_header(&w, a, a->algorithm);
    if (rc == SIGNET_OK)
        rc = send_for_id(s, YH_CMD_GENERATE_ASYMMETRIC_KEY, &w, out_id);
    return rc ? signet_wrap(rc, "generating %s key", yh_algo_name(a->algorithm)) : SIGNET_OK;
}

signet_rc hsm_put_asymmetric(hsm_session *s, const hsm_object_attrs *a, EVP_PKEY *key,
                             uint16_t *out_id)
{
    if (!is_asym_key_algo(a->algorithm))
        return signet_fail(SIGNET_E_ARG, "%s is not an asymmetric key algorithm",
                           yh_algo_name(a->algorithm));
    sb_wr w;
    sbw_init_secure(&w, YH_MAX_FRAME);
    signet_rc rc = put_header(&w, a, a->algorithm);
    if (rc == SIGNET_OK)
        rc = privkey_device_bytes(key, a->algorithm, &w);
    if (rc == SIGNET_OK)
        rc = send_for_id(s, YH_CMD_PUT_ASYMMETRIC_KEY, &w, out_id);
    sbw_free(&w);
    return rc ? signet_wrap(rc, "importing %s key", yh_algo_name(a->algorithm)) : SIGNET_OK;
}

static size_t wrap_key_len(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_AES128_CCM_WRAP: return 16;
    case YH_ALGO_AES192_CCM_WRAP: return 24;
    case YH_ALGO_AES256_CCM_WRAP: return 32;
    default: return 0;
    }
}

signet_rc hsm_put_wrap_key(hsm_session *s, const hsm_object_attrs *a, const uint8_t *key,
                           size_t key_len, uint16_t *out_id)
{
    size_t want = wrap_key_len(a->algorithm);
    if (!want)
        return signet_fail(SIGNET_E_ARG, "%s is not a wrap key algorithm (aes128-ccm-wrap, "
                                         "aes192-ccm-wrap, aes256-ccm-wrap)",
                           yh_algo_name(a->algorithm));
    if (key_len != want)
        return signet_fail(SIGNET_E_ARG, "%s needs a %zu-byte key, not %zu bytes",
                           yh_algo_name(a->algorithm), want, key_len);
    sb_wr w;
    sbw_init_secure(&w, 256);
    signet_rc rc = put_header(&w, a, a->algorithm);
    if (rc == SIGNET_OK)
        rc = sbw_u64(&w, a->delegated);
    if (rc == SIGNET_OK)
        rc = sbw_put(&w, key, key_len);
    if (rc == SIGNET_OK)
        rc = send_for_id(s, YH_CMD_PUT_WRAP_KEY, &w, out_id);
    sbw_free(&w);
    return rc ? signet_wrap(rc, "importing wrap key") : SIGNET_OK;
}

signet_rc hsm_generate_wrap_key(hsm_session *s, const hsm_object_attrs *a, uint16_t *out_id)
{
    if (!wrap_key_len(a->algorithm))
        return signet_fail(SIGNET_E_ARG, "%s is not a wrap key algorithm",
                           yh_algo_name(a->algorithm));
    uint8_t buf[96];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = put_header(&w, a, a->algorithm);
    if (rc == SIGNET_OK)
        rc = sbw_u64(&w, a->delegated);
    if (rc == SIGNET_OK)
        rc = send_for_id(s, YH_CMD_GENERATE_WRAP_KEY, &w, out_id);
    return rc ? signet_wrap(rc, "generating wrap key") : SIGNET_OK;
}

signet_rc hsm_export_wrapped(hsm_session *s, uint16_t wrap_id, uint8_t type, uint16_t id,
                             sb_wr *blob)
{
    return hsm_export_wrapped_ex(s, wrap_id, type, id, HSM_WRAP_FORMAT_LEGACY, blob);
}

signet_rc hsm_export_wrapped_ex(hsm_session *s, uint16_t wrap_id, uint8_t type, uint16_t id,
                                uint8_t format, sb_wr *blob)
{
    if (format != HSM_WRAP_FORMAT_LEGACY && format != HSM_WRAP_FORMAT_ED25519_SEED)
        return signet_fail(SIGNET_E_ARG, "export wrapped: format %u is unknown (0 legacy, "
                                         "1 with the Ed25519 seed)",
                           format);
    /* Format 0 is sent as the 5-byte request every firmware understands; the
     * format byte exists from firmware 2.4 (python-yubihsm sends it only for 1). */
    uint8_t req[6];
    put_be16(req, wrap_id);
    req[2] = type;
    put_be16(req + 3, id);
    req[5] = format;
    size_t before = blob->len;
    signet_rc rc = hsm_xfer(s, YH_CMD_EXPORT_WRAPPED, req, format ? 6 : 5, blob);
    if (rc)
        return signet_wrap(rc, "exporting %s 0x%04x under wrap key 0x%04x", yh_type_name(type),
                           id, wrap_id);
    size_t n = blob->len - before;
    if (n < YH_WRAP_NONCE_LEN + YH_WRAP_HEADER_LEN + YH_WRAP_TAG_LEN) {
        blob->len = before;
        return signet_fail(SIGNET_E_PARSE, "export wrapped: a %zu-byte blob is too short to hold "
                                           "an object",
                           n);
    }
    return SIGNET_OK;
}

signet_rc hsm_import_wrapped(hsm_session *s, uint16_t wrap_id, const uint8_t *blob, size_t len,
                             uint8_t *out_type, uint16_t *out_id)
{
    if (len < YH_WRAP_NONCE_LEN + YH_WRAP_TAG_LEN)
        return signet_fail(SIGNET_E_ARG, "a %zu-byte wrapped blob is too short", len);
    sb_wr w;
    sbw_init(&w, CLIENT_REQ_MAX);
    signet_rc rc = sbw_u16(&w, wrap_id);
    if (rc == SIGNET_OK)
        rc = sbw_put(&w, blob, len);
    uint8_t buf[8];
    sb_wr resp;
    sbw_init_fixed(&resp, buf, sizeof buf);
    if (rc == SIGNET_OK)
        rc = hsm_xfer(s, YH_CMD_IMPORT_WRAPPED, w.p, w.len, &resp);
    sbw_free(&w);
    if (rc)
        return signet_wrap(rc, "importing under wrap key 0x%04x", wrap_id);
    if (resp.len != 3)
        return signet_fail(SIGNET_E_PARSE, "import wrapped: answer of %zu bytes (expected 3)",
                           resp.len);
    if (out_type)
        *out_type = resp.p[0];
    if (out_id)
        *out_id = be16(resp.p + 1);
    return SIGNET_OK;
}

/* Authentication keys: id label domains caps algorithm delegated key, where key is
 * K-ENC | K-MAC (algorithm 38) or the public point X | Y without the 04 (49). */
static signet_rc put_auth(hsm_session *s, const hsm_object_attrs *a, uint8_t algo,
                          const uint8_t *key, size_t key_len, uint16_t *out_id)
{
    sb_wr w;
    sbw_init_secure(&w, 256);
    signet_rc rc = put_header(&w, a, algo);
    if (rc == SIGNET_OK)
        rc = sbw_u64(&w, a->delegated);
    if (rc == SIGNET_OK)
        rc = sbw_put(&w, key, key_len);
    if (rc == SIGNET_OK)
        rc = send_for_id(s, YH_CMD_PUT_AUTHENTICATION_KEY, &w, out_id);
    sbw_free(&w);
    return rc ? signet_wrap(rc, "storing authentication key") : SIGNET_OK;
}

signet_rc hsm_put_auth_key(hsm_session *s, const hsm_object_attrs *a, const char *password,
                           uint16_t *out_id)
{
    if (!password || !*password)
        return signet_fail(SIGNET_E_ARG, "an authentication key needs a non-empty password");
    yh_static_keys *k = smem_alloc(sizeof *k);
    if (!k)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = yh_derive_password_keys(password, strlen(password), k);
    if (rc == SIGNET_OK)
        rc = put_auth(s, a, YH_ALGO_AES128_YUBICO_AUTHENTICATION, (const uint8_t *)k, sizeof *k,
                      out_id);
    smem_free(k);
    return rc;
}

static signet_rc check_p256_point(const uint8_t pub[YH_EC_P256_PUB_LEN])
{
    EVP_PKEY *k = NULL;
    signet_rc rc = pubkey_p256_from_point(pub, &k);
    EVP_PKEY_free(k);
    if (rc)
        return signet_fail(SIGNET_E_ARG, "the asymmetric authentication key is not a valid "
                                         "uncompressed P-256 point");
    return SIGNET_OK;
}

signet_rc hsm_put_auth_key_asym(hsm_session *s, const hsm_object_attrs *a,
                                const uint8_t pub[YH_EC_P256_PUB_LEN], uint16_t *out_id)
{
    signet_rc rc = check_p256_point(pub);
    if (rc)
        return rc;
    return put_auth(s, a, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION, pub + 1, YH_EC_P256_PUB_LEN - 1,
                    out_id);
}

/* Change Authentication Key: id(2) algorithm(1) key; answers the id. */
static signet_rc change_auth(hsm_session *s, uint8_t algo, const uint8_t *key, size_t key_len)
{
    uint16_t self = hsm_session_auth_id(s);
    sb_wr w;
    sbw_init_secure(&w, 128);
    signet_rc rc = sbw_u16(&w, self);
    if (rc == SIGNET_OK)
        rc = sbw_u8(&w, algo);
    if (rc == SIGNET_OK)
        rc = sbw_put(&w, key, key_len);
    uint16_t id = 0;
    if (rc == SIGNET_OK)
        rc = send_for_id(s, YH_CMD_CHANGE_AUTHENTICATION_KEY, &w, &id);
    sbw_free(&w);
    if (rc)
        return signet_wrap(rc, "changing authentication key %u", self);
    if (id != self)
        return signet_fail(SIGNET_E_PARSE, "change authentication key: the device changed key %u, "
                                           "not %u",
                           id, self);
    return SIGNET_OK;
}

signet_rc hsm_change_auth_key(hsm_session *s, const char *new_password)
{
    if (!new_password || !*new_password)
        return signet_fail(SIGNET_E_ARG, "the new password must not be empty");
    yh_static_keys *k = smem_alloc(sizeof *k);
    if (!k)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = yh_derive_password_keys(new_password, strlen(new_password), k);
    if (rc == SIGNET_OK)
        rc = change_auth(s, YH_ALGO_AES128_YUBICO_AUTHENTICATION, (const uint8_t *)k, sizeof *k);
    /* Re-opening after an idle expiry must use the new credential. */
    if (rc == SIGNET_OK)
        session_set_keys(s, k);
    smem_free(k);
    return rc;
}

signet_rc hsm_change_auth_key_asym(hsm_session *s, const uint8_t pub[YH_EC_P256_PUB_LEN])
{
    signet_rc rc = check_p256_point(pub);
    if (rc == SIGNET_OK)
        rc = change_auth(s, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION, pub + 1, YH_EC_P256_PUB_LEN - 1);
    /* Only the holder of the new private key can open sessions now. */
    if (rc == SIGNET_OK)
        session_forget_credential(s);
    return rc;
}

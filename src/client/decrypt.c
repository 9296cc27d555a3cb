/* Typed calls for RSA decryption (PKCS#1 v1.5, OAEP) and ECDH. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "internal.h"
#include "signet/secmem.h"

/* Sends id | prefix | body | suffix and appends the answer to out. */
static signet_rc send3(hsm_session *s, uint8_t cmd, uint16_t id, const uint8_t *prefix,
                       size_t plen, const uint8_t *body, size_t blen, const uint8_t *suffix,
                       size_t slen, sb_wr *out)
{
    sb_wr req;
    sbw_init(&req, CLIENT_REQ_MAX);
    signet_rc rc = sbw_u16(&req, id);
    if (rc == SIGNET_OK && plen)
        rc = sbw_put(&req, prefix, plen);
    if (rc == SIGNET_OK)
        rc = sbw_put(&req, body, blen);
    if (rc == SIGNET_OK && slen)
        rc = sbw_put(&req, suffix, slen);
    if (rc == SIGNET_OK)
        rc = hsm_xfer(s, cmd, req.p, req.len, out);
    sbw_free(&req);
    return rc;
}

signet_rc hsm_decrypt_pkcs1(hsm_session *s, uint16_t id, const uint8_t *ct, size_t len,
                            sb_wr *out)
{
    if (len == 0)
        return signet_fail(SIGNET_E_ARG, "decrypt PKCS#1: no ciphertext given");
    signet_rc rc = send3(s, YH_CMD_DECRYPT_PKCS1, id, NULL, 0, ct, len, NULL, 0, out);
    return rc ? signet_wrap(rc, "decrypting with key 0x%04x", id) : SIGNET_OK;
}

signet_rc hsm_decrypt_oaep(hsm_session *s, uint16_t id, uint8_t mgf1, const EVP_MD *md,
                           const uint8_t *label, size_t label_len, const uint8_t *ct, size_t len,
                           sb_wr *out)
{
    if (mgf1 < YH_ALGO_MGF1_SHA1 || mgf1 > YH_ALGO_MGF1_SHA512)
        return signet_fail(SIGNET_E_ARG, "decrypt OAEP: %u is not an MGF1 algorithm", mgf1);
    if (!md || len == 0)
        return signet_fail(SIGNET_E_ARG, "decrypt OAEP: needs a hash and a ciphertext");
    /* The device takes the label's hash, which also names the OAEP hash. */
    uint8_t lhash[EVP_MAX_MD_SIZE];
    unsigned int hlen = 0;
    if (EVP_Digest(label_len ? label : (const uint8_t *)"", label_len, lhash, &hlen, md, NULL) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "decrypt OAEP: cannot hash the label");
    if (hlen != 20 && hlen != 32 && hlen != 48 && hlen != 64)
        return signet_fail(SIGNET_E_ARG, "decrypt OAEP: the hash must be SHA-1/256/384/512");
    signet_rc rc = send3(s, YH_CMD_DECRYPT_OAEP, id, &mgf1, 1, ct, len, lhash, hlen, out);
    return rc ? signet_wrap(rc, "decrypting (OAEP) with key 0x%04x", id) : SIGNET_OK;
}

signet_rc hsm_derive_ecdh(hsm_session *s, uint16_t id, EVP_PKEY *peer, sb_wr *out)
{
    uint8_t pt[1 + 2 * 66];
    size_t n = 0;
    if (!peer || !EVP_PKEY_is_a(peer, "EC") ||
        EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) != 1 ||
        n < 3 || pt[0] != 0x04)
        return signet_fail(SIGNET_E_ARG, "derive ECDH: the peer key must be an EC public key "
                                         "(uncompressed point)");
    size_t before = out->len;
    signet_rc rc = send3(s, YH_CMD_DERIVE_ECDH, id, NULL, 0, pt, n, NULL, 0, out);
    if (rc)
        return signet_wrap(rc, "ECDH with key 0x%04x", id);
    /* The secret is the X coordinate: as long as the field. */
    size_t got = out->len - before;
    if (got != (n - 1) / 2) {
        out->len = before;
        return signet_fail(SIGNET_E_PARSE, "derive ECDH: a secret of %zu bytes for a %zu-byte "
                                           "field",
                           got, (n - 1) / 2);
    }
    return SIGNET_OK;
}

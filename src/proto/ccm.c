/* Wrap blobs (Export / Import Wrapped): nonce(13) | AES-CCM ciphertext | tag(16),
 * no associated data, key of 16, 24 or 32 bytes. */
#include <string.h>

#include <openssl/evp.h>

#include "signet/proto.h"
#include "signet/secmem.h"

static const EVP_CIPHER *ccm_cipher(size_t key_len)
{
    switch (key_len) {
    case 16: return EVP_aes_128_ccm();
    case 24: return EVP_aes_192_ccm();
    case 32: return EVP_aes_256_ccm();
    default: return NULL;
    }
}

/* Sets up a CCM context with a 13-byte nonce and 16-byte tag (expected tag when
 * decrypting) and announces the message length, as CCM requires. */
static EVP_CIPHER_CTX *ccm_begin(const EVP_CIPHER *c, const uint8_t *key, const uint8_t *nonce,
                                 int enc, const uint8_t *tag, size_t len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0;
    if (!ctx || EVP_CipherInit_ex(ctx, c, NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, YH_WRAP_NONCE_LEN, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, YH_WRAP_TAG_LEN, (void *)tag) != 1 ||
        EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1 ||
        EVP_CipherUpdate(ctx, NULL, &outl, NULL, (int)len) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

signet_rc yh_ccm_seal(const uint8_t *key, size_t key_len, const uint8_t nonce[13],
                      const uint8_t *pt, size_t pt_len, sb_wr *out)
{
    const EVP_CIPHER *c = ccm_cipher(key_len);
    if (!c)
        return signet_fail(SIGNET_E_ARG, "wrap key of %zu bytes: AES-CCM needs 16, 24 or 32",
                           key_len);
    if (pt_len > YH_MAX_MSG)
        return signet_fail(SIGNET_E_ARG, "%zu bytes are too many to wrap", pt_len);
    size_t start = out->len, total = YH_WRAP_NONCE_LEN + pt_len + YH_WRAP_TAG_LEN;
    uint8_t *p;
    signet_rc rc = sbw_reserve(out, total, &p);
    if (rc != SIGNET_OK)
        return rc;
    memcpy(p, nonce, YH_WRAP_NONCE_LEN);
    EVP_CIPHER_CTX *ctx = ccm_begin(c, key, nonce, 1, NULL, pt_len);
    int n = 0, m = 0;
    uint8_t empty = 0;
    /* OpenSSL computes the CCM tag inside the one update call, so an empty message
     * still needs it, with non-NULL buffers (a NULL output means "AAD"). */
    bool ok = ctx &&
              EVP_EncryptUpdate(ctx, pt_len ? p + YH_WRAP_NONCE_LEN : &empty, &n,
                                pt_len ? pt : &empty, (int)pt_len) == 1 &&
              EVP_EncryptFinal_ex(ctx, p + YH_WRAP_NONCE_LEN + n, &m) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, YH_WRAP_TAG_LEN,
                                  p + YH_WRAP_NONCE_LEN + pt_len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        smem_wipe(p, total);
        out->len = start;
        return signet_fail(SIGNET_E_CRYPTO, "AES-CCM encryption failed");
    }
    return SIGNET_OK;
}

signet_rc yh_ccm_open(const uint8_t *key, size_t key_len, const uint8_t *blob, size_t blob_len,
                      sb_wr *out_secure)
{
    const EVP_CIPHER *c = ccm_cipher(key_len);
    if (!c)
        return signet_fail(SIGNET_E_ARG, "wrap key of %zu bytes: AES-CCM needs 16, 24 or 32",
                           key_len);
    if (!blob || blob_len < YH_WRAP_NONCE_LEN + YH_WRAP_TAG_LEN)
        return signet_fail(SIGNET_E_PARSE,
                           "wrapped blob of %zu bytes is shorter than nonce and tag (%d)",
                           blob_len, YH_WRAP_NONCE_LEN + YH_WRAP_TAG_LEN);
    size_t ct_len = blob_len - YH_WRAP_NONCE_LEN - YH_WRAP_TAG_LEN;
    if (ct_len > YH_MAX_MSG)
        return signet_fail(SIGNET_E_PARSE, "wrapped blob of %zu bytes is too large", blob_len);
    const uint8_t *ct = blob + YH_WRAP_NONCE_LEN, *tag = ct + ct_len;
    size_t start = out_secure->len;
    uint8_t *p = NULL;
    signet_rc rc = sbw_reserve(out_secure, ct_len, &p);
    if (rc != SIGNET_OK)
        return rc;
    EVP_CIPHER_CTX *ctx = ccm_begin(c, key, blob, 0, tag, ct_len);
    int n = 0;
    uint8_t empty;
    /* For CCM the tag is checked inside this one update; an empty message still
     * needs the call (with a dummy buffer) for the check to happen. */
    bool ok = ctx && EVP_DecryptUpdate(ctx, ct_len ? p : &empty, &n, ct_len ? ct : &empty,
                                       (int)ct_len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        if (ct_len)
            smem_wipe(p, ct_len);
        out_secure->len = start;
        return signet_fail(SIGNET_E_VERIFY,
                           "wrapped blob does not authenticate: wrong wrap key, or the blob "
                           "was altered");
    }
    return SIGNET_OK;
}

signet_rc yh_wrapped_parse(const uint8_t *pt, size_t len, yh_wrapped *w)
{
    sb_rd r;
    sbr_init(&r, pt, len);
    if (sbr_u8(&r, &w->wrap_algorithm) || sbr_u64(&r, &w->capabilities) || sbr_u16(&r, &w->id) ||
        sbr_u16(&r, &w->body_len) || sbr_u16(&r, &w->domains) || sbr_u8(&r, &w->type) ||
        sbr_u8(&r, &w->algorithm) || sbr_u8(&r, &w->sequence) || sbr_u8(&r, &w->origin) ||
        sbr_copy(&r, w->label, sizeof w->label) || w->body_len != sbr_left(&r))
        return signet_fail(SIGNET_E_PARSE, "the wrapped object's header is malformed");
    w->body = sbr_cur(&r);
    return SIGNET_OK;
}

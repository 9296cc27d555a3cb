/* Signing: PKCS#1 v1.5, PSS, ECDSA and EdDSA with OpenSSL EVP on the stored key.
 * Every operation needs the capability on the session's key and on the object. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dev.h"

/* The key an operation may use: visible, capability on both sides. */
static uint8_t sign_key(dev_req *rq, unsigned cap, dev_object **out)
{
    if (rq->len < 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_ASYMMETRIC_KEY, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(o->capabilities & YH_CAP(cap)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (!o->pkey)
        return YH_ERR_INVALID_DATA;
    rq->latency_ms = dev_latency_ms(rq->cmd, o->algorithm);
    *out = o;
    return YH_ERR_OK;
}

/* Runs EVP_PKEY_sign on an initialised context into the response. */
static uint8_t sign_into(EVP_PKEY_CTX *ctx, const uint8_t *tbs, size_t n, sb_wr *out)
{
    size_t sig_len = 0;
    uint8_t *dst;
    if (EVP_PKEY_sign(ctx, NULL, &sig_len, tbs, n) != 1 ||
        sbw_reserve(out, sig_len, &dst) != SIGNET_OK)
        return YH_ERR_INVALID_DATA;
    size_t cap = sig_len;
    if (EVP_PKEY_sign(ctx, dst, &sig_len, tbs, n) != 1 || sig_len > cap) {
        out->len -= cap;
        return YH_ERR_INVALID_DATA;
    }
    out->len -= cap - sig_len; /* DER ECDSA signatures can be shorter than the maximum */
    return YH_ERR_OK;
}

static const EVP_MD *md_for_len(size_t n)
{
    switch (n) {
    case 20: return EVP_sha1();
    case 32: return EVP_sha256();
    case 48: return EVP_sha384();
    case 64: return EVP_sha512();
    default: return NULL;
    }
}

/* DigestInfo prefixes (RFC 8017 section 9.2 note 1). */
static const uint8_t DI_SHA1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                  0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const uint8_t DI_SHA256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t DI_SHA384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const uint8_t DI_SHA512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

uint8_t cmd_sign_pkcs1(dev_req *rq)
{
    dev_object *o;
    uint8_t code = sign_key(rq, YH_CAP_SIGN_PKCS, &o);
    if (code)
        return code;
    if (!yh_algo_is_rsa(o->algorithm))
        return YH_ERR_INVALID_DATA;
    const uint8_t *in = rq->data + 2;
    size_t n = rq->len - 2;
    int k = yh_algo_key_bytes(o->algorithm);
    uint8_t di[19 + 64];
    const uint8_t *prefix = NULL;
    size_t plen = 0;
    switch (n) {
    case 20: prefix = DI_SHA1; plen = sizeof DI_SHA1; break;
    case 32: prefix = DI_SHA256; plen = sizeof DI_SHA256; break;
    case 48: prefix = DI_SHA384; plen = sizeof DI_SHA384; break;
    case 64: prefix = DI_SHA512; plen = sizeof DI_SHA512; break;
    default: break;
    }
    if (prefix) {
        /* a bare digest: wrap it in its DigestInfo */
        memcpy(di, prefix, plen);
        memcpy(di + plen, in, n);
        in = di;
        n += plen;
    }
    /* Type-1 padding needs at least 11 bytes: longer input cannot be signed. */
    if (n == 0 || n > (size_t)k - 11)
        return YH_ERR_INVALID_DATA;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, o->pkey, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
        code = YH_ERR_INVALID_DATA;
    else
        code = sign_into(ctx, in, n, rq->out);
    EVP_PKEY_CTX_free(ctx);
    return code;
}

uint8_t cmd_sign_pss(dev_req *rq)
{
    dev_object *o;
    /* The fixed header (id, MGF1 algorithm, salt length) is a framing matter:
     * checked before permissions, like every other request length. */
    if (rq->len < 2 + 1 + 2)
        return YH_ERR_WRONG_LENGTH;
    uint8_t code = sign_key(rq, YH_CAP_SIGN_PSS, &o);
    if (code)
        return code;
    if (!yh_algo_is_rsa(o->algorithm))
        return YH_ERR_INVALID_DATA;
    uint8_t mgf = rq->data[2];
    uint16_t salt = be16(rq->data + 3);
    const uint8_t *digest = rq->data + 5;
    size_t n = rq->len - 5;
    const EVP_MD *md = md_for_len(n), *mgf_md;
    switch (mgf) {
    case YH_ALGO_MGF1_SHA1: mgf_md = EVP_sha1(); break;
    case YH_ALGO_MGF1_SHA256: mgf_md = EVP_sha256(); break;
    case YH_ALGO_MGF1_SHA384: mgf_md = EVP_sha384(); break;
    case YH_ALGO_MGF1_SHA512: mgf_md = EVP_sha512(); break;
    default: return YH_ERR_INVALID_DATA;
    }
    int k = yh_algo_key_bytes(o->algorithm);
    /* emLen >= hLen + sLen + 2 (RFC 8017 9.1.1) */
    if (!md || (size_t)salt + n + 2 > (size_t)k)
        return YH_ERR_INVALID_DATA;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, o->pkey, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, md) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf_md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, salt) != 1)
        code = YH_ERR_INVALID_DATA;
    else
        code = sign_into(ctx, digest, n, rq->out);
    EVP_PKEY_CTX_free(ctx);
    return code;
}

uint8_t cmd_sign_ecdsa(dev_req *rq)
{
    dev_object *o;
    uint8_t code = sign_key(rq, YH_CAP_SIGN_ECDSA, &o);
    if (code)
        return code;
    if (!yh_algo_is_ec(o->algorithm))
        return YH_ERR_INVALID_DATA;
    size_t n = rq->len - 2;
    /* The digest is used as given: OpenSSL, like the device, keeps its leftmost
     * bits up to the order's length (SEC 1 4.1.3 step 5); at most SHA-512 size
     * or the field size, whichever is larger. */
    size_t max = (size_t)yh_algo_key_bytes(o->algorithm);
    if (max < 64)
        max = 64;
    if (n == 0 || n > max)
        return YH_ERR_INVALID_DATA;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, o->pkey, NULL);
    if (!ctx || EVP_PKEY_sign_init(ctx) != 1)
        code = YH_ERR_INVALID_DATA;
    else
        code = sign_into(ctx, rq->data + 2, n, rq->out);
    EVP_PKEY_CTX_free(ctx);
    return code;
}

uint8_t cmd_sign_eddsa(dev_req *rq)
{
    dev_object *o;
    uint8_t code = sign_key(rq, YH_CAP_SIGN_EDDSA, &o);
    if (code)
        return code;
    if (o->algorithm != YH_ALGO_EC_ED25519)
        return YH_ERR_INVALID_DATA;
    /* A key imported without its seed signs from scalar | prefix | public. */
    if (o->body_len == 96) {
        uint8_t *dst;
        if (sbw_reserve(rq->out, 64, &dst) != SIGNET_OK)
            return YH_ERR_INVALID_DATA;
        code = dev_ed25519_sign_expanded(o->body, rq->data + 2, rq->len - 2, dst);
        if (code)
            rq->out->len -= 64;
        return code;
    }
    if (o->body_len != 32)
        return YH_ERR_INVALID_DATA;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    uint8_t *dst;
    size_t sig_len = 64;
    code = YH_ERR_INVALID_DATA;
    if (mctx && EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, o->pkey, NULL) == 1 &&
        sbw_reserve(rq->out, 64, &dst) == SIGNET_OK) {
        if (EVP_DigestSign(mctx, dst, &sig_len, rq->data + 2, rq->len - 2) == 1 && sig_len == 64)
            code = YH_ERR_OK;
        else
            rq->out->len -= 64;
    }
    EVP_MD_CTX_free(mctx);
    return code;
}

/* HMAC keys: put, generate, sign and verify (SHA-1/256/384/512).
 *   Put HMAC Key:      header | key (1 .. block size bytes)
 *   Generate HMAC Key: header
 *   Sign HMAC:         id | data -> MAC
 *   Verify HMAC:       id | MAC (the hash's length) | data -> 01 match, 00 not
 * Sign and verify need the capability on the session key and on the HMAC key. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dev.h"
#include "signet/secmem.h"

static uint8_t hmac_key_new(dev_req *rq, bool generate)
{
    unsigned cap = generate ? YH_CAP_GENERATE_HMAC_KEY : YH_CAP_PUT_MAC_KEY;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    sb_rd r;
    sbr_init(&r, rq->data, rq->len);
    dev_put_hdr h;
    uint8_t code = dev_parse_put_hdr(&r, &h);
    if (code)
        return code;
    size_t b = dev_hmac_block_size(h.algorithm);
    if (!b)
        return YH_ERR_INVALID_DATA;
    size_t n = sbr_left(&r);
    if (generate ? n != 0 : (n == 0 || n > b))
        return generate ? YH_ERR_WRONG_LENGTH : YH_ERR_INVALID_DATA;
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_HMAC_KEY, &h, 0, b, &slot)))
        return code;
    uint8_t *body = smem_alloc(b); /* zeroed: a short key is zero-padded */
    if (!body)
        return YH_ERR_STORAGE_FAILED;
    if (generate) {
        if (RAND_bytes(body, (int)b) != 1) {
            smem_free(body);
            return YH_ERR_COMMAND_UNEXECUTED;
        }
    } else {
        memcpy(body, sbr_cur(&r), n);
    }
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_HMAC_KEY, &h, 0,
                 generate ? YH_ORIGIN_GENERATED : YH_ORIGIN_IMPORTED, body, b);
    rq->target = h.id;
    rq->changed = true;
    return sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_put_hmac_key(dev_req *rq) { return hmac_key_new(rq, false); }
uint8_t cmd_generate_hmac_key(dev_req *rq) { return hmac_key_new(rq, true); }

static uint8_t hmac_key(dev_req *rq, unsigned cap, dev_object **out)
{
    if (rq->len < 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_HMAC_KEY, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(o->capabilities & YH_CAP(cap)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    *out = o;
    return YH_ERR_OK;
}

static uint8_t compute(const dev_object *o, const uint8_t *data, size_t n, uint8_t *mac,
                       size_t *mac_len)
{
    const char *name;
    switch (o->algorithm) {
    case YH_ALGO_HMAC_SHA1: name = "SHA1"; break;
    case YH_ALGO_HMAC_SHA256: name = "SHA256"; break;
    case YH_ALGO_HMAC_SHA384: name = "SHA384"; break;
    case YH_ALGO_HMAC_SHA512: name = "SHA512"; break;
    default: return YH_ERR_INVALID_DATA;
    }
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)name, 0),
        OSSL_PARAM_construct_end()};
    int ok = ctx && EVP_MAC_init(ctx, o->body, o->body_len, params) == 1 &&
             EVP_MAC_update(ctx, data, n) == 1 &&
             EVP_MAC_final(ctx, mac, mac_len, EVP_MAX_MD_SIZE) == 1;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(m);
    return ok ? YH_ERR_OK : YH_ERR_COMMAND_UNEXECUTED;
}

uint8_t cmd_sign_hmac(dev_req *rq)
{
    dev_object *o;
    uint8_t code = hmac_key(rq, YH_CAP_SIGN_HMAC, &o);
    if (code)
        return code;
    if (rq->len == 2)
        return YH_ERR_INVALID_DATA; /* nothing to authenticate */
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if ((code = compute(o, rq->data + 2, rq->len - 2, mac, &n)))
        return code;
    return sbw_put(rq->out, mac, n) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_verify_hmac(dev_req *rq)
{
    dev_object *o;
    uint8_t code = hmac_key(rq, YH_CAP_VERIFY_HMAC, &o);
    if (code)
        return code;
    size_t hlen = (size_t)EVP_MD_get_size(dev_hmac_md(o->algorithm));
    if (rq->len <= 2 + hlen)
        return YH_ERR_INVALID_DATA; /* a MAC of the hash's length, then the data */
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if ((code = compute(o, rq->data + 2 + hlen, rq->len - 2 - hlen, mac, &n)))
        return code;
    uint8_t match = n == hlen && CRYPTO_memcmp(mac, rq->data + 2, hlen) == 0;
    return sbw_u8(rq->out, match) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

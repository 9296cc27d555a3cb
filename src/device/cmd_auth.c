/* Authentication keys: put and change (own key) for both kinds, symmetric
 * (algorithm 38, K-ENC | K-MAC) and asymmetric (algorithm 49, the client's
 * P-256 public point X | Y), and Get Device Public Key (the device's static
 * key that asymmetric authentication runs against). */
#include <string.h>

#include "dev.h"
#include "signet/secmem.h"

/* Key bytes an authentication key of algo carries; 0 for other algorithms. */
static size_t auth_key_len(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_AES128_YUBICO_AUTHENTICATION: return 2 * YH_KEY_LEN;
    case YH_ALGO_EC_P256_YUBICO_AUTHENTICATION: return 64;
    default: return 0;
    }
}

/* The key bytes must be usable: an asymmetric key must be a point on P-256. */
static uint8_t check_auth_key(uint8_t algo, const uint8_t *key)
{
    if (algo != YH_ALGO_EC_P256_YUBICO_AUTHENTICATION)
        return YH_ERR_OK;
    EVP_PKEY *k = dev_p256_from_xy(key);
    EVP_PKEY_free(k);
    return k ? YH_ERR_OK : YH_ERR_INVALID_DATA;
}

uint8_t cmd_get_device_pubkey(dev_req *rq)
{
    if (rq->len != 0)
        return YH_ERR_WRONG_LENGTH;
    if (sbw_u8(rq->out, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION))
        return YH_ERR_WRONG_LENGTH;
    return dev_identity_public(&rq->dev->st->id, rq->out);
}

uint8_t cmd_put_auth_key(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_PUT_AUTHENTICATION_KEY))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    sb_rd r;
    sbr_init(&r, rq->data, rq->len);
    dev_put_hdr h;
    uint64_t delegated;
    uint8_t code = dev_parse_put_hdr(&r, &h);
    if (code)
        return code;
    if (sbr_u64(&r, &delegated))
        return YH_ERR_WRONG_LENGTH;
    size_t klen = auth_key_len(h.algorithm);
    if (!klen)
        return YH_ERR_INVALID_DATA;
    if (sbr_left(&r) != klen)
        return YH_ERR_WRONG_LENGTH;
    if ((code = check_auth_key(h.algorithm, sbr_cur(&r))))
        return code;
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_AUTHENTICATION_KEY, &h, delegated, 1, &slot)))
        return code;
    uint8_t *body = smem_alloc(klen);
    if (!body)
        return YH_ERR_STORAGE_FAILED;
    memcpy(body, sbr_cur(&r), klen);
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_AUTHENTICATION_KEY, &h, delegated,
                 YH_ORIGIN_IMPORTED, body, klen);
    rq->target = h.id;
    rq->changed = true;
    return sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_change_auth_key(dev_req *rq)
{
    if (rq->len < 3)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    uint8_t algo = rq->data[2];
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_CHANGE_AUTHENTICATION_KEY))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    /* Only the key this session authenticated with can be changed; another
     * id is "invalid id", as the device answers. */
    if (id != rq->sess->auth_id)
        return YH_ERR_INVALID_ID;
    dev_object *k = dev_session_key(rq->dev, rq->sess);
    if (!k)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(k->capabilities & YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    /* The kind of key stays (python-yubihsm offers change_key for symmetric and
     * change_public_key for asymmetric keys). */
    if (algo != k->algorithm)
        return YH_ERR_INVALID_DATA;
    size_t klen = auth_key_len(algo);
    if (rq->len != 3 + klen || k->body_len != klen)
        return YH_ERR_WRONG_LENGTH;
    uint8_t code = check_auth_key(algo, rq->data + 3);
    if (code)
        return code;
    memcpy(k->body, rq->data + 3, klen);
    rq->changed = true;
    return sbw_u16(rq->out, id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

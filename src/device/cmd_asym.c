/* Asymmetric keys: generate, put (RSA p|q, EC d, Ed25519 seed) and get public key. */
#include <string.h>

#include "dev.h"
#include "signet/secmem.h"

/* Capabilities that make sense on an asymmetric key are not enforced here:
 * the device stores what it is given within the delegated set. */

uint8_t cmd_generate_asymmetric(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_GENERATE_ASYMMETRIC_KEY))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    sb_rd r;
    sbr_init(&r, rq->data, rq->len);
    dev_put_hdr h;
    uint8_t code = dev_parse_put_hdr(&r, &h);
    if (code)
        return code;
    if (sbr_end(&r))
        return YH_ERR_WRONG_LENGTH;
    if (!dev_algo_asym_supported(h.algorithm))
        return YH_ERR_INVALID_DATA;
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_ASYMMETRIC_KEY, &h, 0,
                                dev_key_object_len(h.algorithm), &slot)))
        return code;
    uint8_t *body;
    size_t body_len;
    EVP_PKEY *pk;
    if ((code = dev_key_generate(h.algorithm, &body, &body_len, &pk)))
        return code;
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_ASYMMETRIC_KEY, &h, 0, YH_ORIGIN_GENERATED, body,
                 body_len);
    slot->pkey = pk;
    rq->target = h.id;
    rq->changed = true;
    rq->latency_ms = dev_latency_ms(rq->cmd, h.algorithm);
    return sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_put_asymmetric(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_PUT_ASYMMETRIC_KEY))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    sb_rd r;
    sbr_init(&r, rq->data, rq->len);
    dev_put_hdr h;
    uint8_t code = dev_parse_put_hdr(&r, &h);
    if (code)
        return code;
    if (!dev_algo_asym_supported(h.algorithm))
        return YH_ERR_INVALID_DATA;
    size_t n = sbr_left(&r);
    /* Ed25519 takes the 32-byte seed only (the expanded form is for wraps). */
    if (h.algorithm == YH_ALGO_EC_ED25519 && n != 32)
        return YH_ERR_INVALID_DATA;
    uint8_t *body = smem_alloc(n ? n : 1);
    if (!body)
        return YH_ERR_STORAGE_FAILED;
    memcpy(body, sbr_cur(&r), n);
    EVP_PKEY *pk;
    if ((code = dev_key_load(h.algorithm, body, n, true, &pk))) {
        smem_free(body);
        return code;
    }
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_ASYMMETRIC_KEY, &h, 0,
                                dev_key_object_len(h.algorithm), &slot))) {
        EVP_PKEY_free(pk);
        smem_free(body);
        return code;
    }
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_ASYMMETRIC_KEY, &h, 0, YH_ORIGIN_IMPORTED, body, n);
    slot->pkey = pk;
    rq->target = h.id;
    rq->changed = true;
    rq->latency_ms = dev_latency_ms(rq->cmd, h.algorithm);
    return sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_get_public_key(dev_req *rq)
{
    /* id(2), and from firmware 2.4 optionally the type (asymmetric key only here). */
    if (rq->len != 2 && rq->len != 3)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    if (rq->len == 3 && rq->data[2] != YH_TYPE_ASYMMETRIC_KEY)
        return YH_ERR_INVALID_DATA;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_ASYMMETRIC_KEY, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (sbw_u8(rq->out, o->algorithm))
        return YH_ERR_WRONG_LENGTH;
    return dev_key_public(o, rq->out);
}

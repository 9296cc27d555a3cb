/* Authentication keys: put (algorithm 38, K-ENC | K-MAC) and change (own key). */
#include <string.h>

#include "dev.h"
#include "signet/secmem.h"

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
    /* Asymmetric authentication keys (49) come with asymmetric sessions. */
    if (h.algorithm != YH_ALGO_AES128_YUBICO_AUTHENTICATION)
        return YH_ERR_INVALID_DATA;
    if (sbr_left(&r) != 2 * YH_KEY_LEN)
        return YH_ERR_WRONG_LENGTH;
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_AUTHENTICATION_KEY, &h, delegated, 1, &slot)))
        return code;
    uint8_t *body = smem_alloc(2 * YH_KEY_LEN);
    if (!body)
        return YH_ERR_STORAGE_FAILED;
    memcpy(body, sbr_cur(&r), 2 * YH_KEY_LEN);
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_AUTHENTICATION_KEY, &h, delegated,
                 YH_ORIGIN_IMPORTED, body, 2 * YH_KEY_LEN);
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
    /* Only the key this session authenticated with can be changed. */
    if (id != rq->sess->auth_id)
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *k = dev_session_key(rq->dev, rq->sess);
    if (!k)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(k->capabilities & YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (algo != k->algorithm)
        return YH_ERR_INVALID_DATA;
    if (rq->len != 3 + 2 * YH_KEY_LEN)
        return YH_ERR_WRONG_LENGTH;
    memcpy(k->body, rq->data + 3, 2 * YH_KEY_LEN);
    rq->changed = true;
    return sbw_u16(rq->out, id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

/* Wrap Data and Unwrap Data: arbitrary bytes sealed with a wrap key, in the
 * blob layout of Export Wrapped (nonce(13) | AES-CCM ciphertext | tag(16)).
 *   Wrap Data:   id | data -> blob      Unwrap Data: id | blob -> data
 * The session key needs wrap-data / unwrap-data.  A wrap key without that
 * capability answers invalid data, not insufficient permissions: that is what
 * the device answers (python-yubihsm's test_wrap_data_many). */
#include <openssl/rand.h>

#include "dev.h"
#include "signet/secmem.h"

static uint8_t data_key(dev_req *rq, unsigned cap, dev_object **out)
{
    if (rq->len < 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *w = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_WRAP_KEY, id);
    if (!w)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(w->capabilities & YH_CAP(cap)))
        return YH_ERR_INVALID_DATA;
    *out = w;
    return YH_ERR_OK;
}

uint8_t cmd_wrap_data(dev_req *rq)
{
    dev_object *w;
    uint8_t code = data_key(rq, YH_CAP_WRAP_DATA, &w);
    if (code)
        return code;
    if (rq->len == 2)
        return YH_ERR_INVALID_DATA;
    uint8_t nonce[YH_WRAP_NONCE_LEN];
    if (RAND_bytes(nonce, sizeof nonce) != 1)
        return YH_ERR_COMMAND_UNEXECUTED;
    /* Too large an answer fails in the fixed response buffer: wrong length. */
    if (yh_ccm_seal(w->body, w->body_len, nonce, rq->data + 2, rq->len - 2, rq->out))
        return YH_ERR_WRONG_LENGTH;
    return YH_ERR_OK;
}

uint8_t cmd_unwrap_data(dev_req *rq)
{
    dev_object *w;
    uint8_t code = data_key(rq, YH_CAP_UNWRAP_DATA, &w);
    if (code)
        return code;
    if (rq->len < 2 + YH_WRAP_NONCE_LEN + YH_WRAP_TAG_LEN + 1)
        return YH_ERR_INVALID_DATA;
    sb_wr pt;
    sbw_init_secure(&pt, YH_MAX_FRAME);
    if (yh_ccm_open(w->body, w->body_len, rq->data + 2, rq->len - 2, &pt) != SIGNET_OK)
        code = YH_ERR_INVALID_DATA; /* another key, or damaged */
    else if (sbw_put(rq->out, pt.p, pt.len))
        code = YH_ERR_WRONG_LENGTH;
    sbw_free(&pt);
    return code;
}

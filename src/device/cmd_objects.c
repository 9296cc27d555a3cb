/* Object commands: list, get object info, delete, put and get opaque. */
#include <string.h>

#include "dev.h"
#include "signet/secmem.h"

/* List Objects filters (TLV). */
enum { F_ID = 1, F_TYPE = 2, F_DOMAINS = 3, F_CAPS = 4, F_ALGO = 5, F_LABEL = 6 };

typedef struct {
    bool has_id, has_type, has_domains, has_caps, has_algo, has_label;
    uint16_t id, domains;
    uint8_t type, algo;
    uint64_t caps;
    uint8_t label[YH_LABEL_LEN];
} list_filter;

static uint8_t parse_filter(const uint8_t *p, size_t len, list_filter *f)
{
    sb_rd r;
    sbr_init(&r, p, len);
    memset(f, 0, sizeof *f);
    while (sbr_left(&r)) {
        uint8_t tag;
        sbr_u8(&r, &tag);
        signet_rc rc;
        switch (tag) {
        case F_ID: rc = sbr_u16(&r, &f->id); f->has_id = true; break;
        case F_TYPE: rc = sbr_u8(&r, &f->type); f->has_type = true; break;
        case F_DOMAINS: rc = sbr_u16(&r, &f->domains); f->has_domains = true; break;
        case F_CAPS: rc = sbr_u64(&r, &f->caps); f->has_caps = true; break;
        case F_ALGO: rc = sbr_u8(&r, &f->algo); f->has_algo = true; break;
        case F_LABEL: rc = sbr_copy(&r, f->label, YH_LABEL_LEN); f->has_label = true; break;
        default: return YH_ERR_INVALID_DATA;
        }
        if (rc)
            return YH_ERR_WRONG_LENGTH;
    }
    return YH_ERR_OK;
}

static bool matches(const list_filter *f, const dev_object *o)
{
    if (f->has_id && o->id != f->id) return false;
    if (f->has_type && o->type != f->type) return false;
    /* domains and capabilities: any of them (python-yubihsm documents "one or more") */
    if (f->has_domains && f->domains && !(o->domains & f->domains)) return false;
    if (f->has_caps && f->caps && !(o->capabilities & f->caps)) return false;
    if (f->has_algo && o->algorithm != f->algo) return false;
    if (f->has_label && memcmp(o->label, f->label, YH_LABEL_LEN) != 0) return false;
    return true;
}

uint8_t cmd_list_objects(dev_req *rq)
{
    list_filter f;
    uint8_t code = parse_filter(rq->data, rq->len, &f);
    if (code)
        return code;
    dev_object *k = dev_session_key(rq->dev, rq->sess);
    if (!k)
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    for (size_t i = 0; i < YH_MAX_OBJECTS; i++) {
        const dev_object *o = &rq->dev->st->objects[i];
        if (!o->used || !(o->domains & k->domains) || !matches(&f, o))
            continue;
        if (sbw_u16(rq->out, o->id) || sbw_u8(rq->out, o->type) || sbw_u8(rq->out, o->sequence))
            return YH_ERR_WRONG_LENGTH;
    }
    return YH_ERR_OK;
}

uint8_t cmd_get_object_info(dev_req *rq)
{
    if (rq->len != 3)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, rq->data[2], id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    yh_object_info oi;
    dev_obj_info(o, &oi);
    return yh_object_info_encode(&oi, rq->out) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

static int delete_cap(uint8_t type)
{
    switch (type) {
    case YH_TYPE_OPAQUE: return YH_CAP_DELETE_OPAQUE;
    case YH_TYPE_AUTHENTICATION_KEY: return YH_CAP_DELETE_AUTHENTICATION_KEY;
    case YH_TYPE_ASYMMETRIC_KEY: return YH_CAP_DELETE_ASYMMETRIC_KEY;
    case YH_TYPE_WRAP_KEY: return YH_CAP_DELETE_WRAP_KEY;
    case YH_TYPE_HMAC_KEY: return YH_CAP_DELETE_HMAC_KEY;
    case YH_TYPE_TEMPLATE: return YH_CAP_DELETE_TEMPLATE;
    case YH_TYPE_OTP_AEAD_KEY: return YH_CAP_DELETE_OTP_AEAD_KEY;
    case YH_TYPE_SYMMETRIC_KEY: return YH_CAP_DELETE_SYMMETRIC_KEY;
    /* firmware 2.4 gives public wrap keys a delete capability of their own */
    case YH_TYPE_PUBLIC_WRAP_KEY: return YH_CAP_DELETE_PUBLIC_WRAP_KEY;
    default: return -1;
    }
}

uint8_t cmd_delete_object(dev_req *rq)
{
    if (rq->len != 3)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    uint8_t type = rq->data[2];
    rq->target = id;
    int cap = delete_cap(type);
    if (cap < 0)
        return YH_ERR_INVALID_DATA;
    /* Deleting needs only the type's delete capability on the session key. */
    if (!dev_session_has_cap(rq->dev, rq->sess, (unsigned)cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, type, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    dev_obj_delete(rq->dev->st, o);
    rq->changed = true;
    return YH_ERR_OK;
}

uint8_t cmd_put_opaque(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_PUT_OPAQUE))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    sb_rd r;
    sbr_init(&r, rq->data, rq->len);
    dev_put_hdr h;
    uint8_t code = dev_parse_put_hdr(&r, &h);
    if (code)
        return code;
    size_t n = sbr_left(&r);
    if (n == 0 || (h.algorithm != YH_ALGO_OPAQUE_DATA &&
                   h.algorithm != YH_ALGO_OPAQUE_X509_CERTIFICATE))
        return YH_ERR_INVALID_DATA;
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_OPAQUE, &h, 0, n, &slot)))
        return code;
    uint8_t *body = smem_alloc(n);
    if (!body)
        return YH_ERR_STORAGE_FAILED;
    memcpy(body, sbr_cur(&r), n);
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_OPAQUE, &h, 0, YH_ORIGIN_IMPORTED, body, n);
    rq->target = h.id;
    rq->changed = true;
    return sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_get_opaque(dev_req *rq)
{
    if (rq->len != 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    /* The session key's get-opaque is what counts: opaque objects are data,
     * usually stored without capabilities (docs/emulator.md). */
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_GET_OPAQUE))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_OPAQUE, id);
    if (!o && id == 0 && rq->dev->st->id.present) {
        /* The device's attestation certificate reads as opaque object 0, as
         * Yubico documents for the pre-loaded one (it is not a stored object:
         * it neither lists nor counts). */
        const dev_identity *ident = &rq->dev->st->id;
        return sbw_put(rq->out, ident->cert, ident->cert_len) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
    }
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    return sbw_put(rq->out, o->body, o->body_len) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

/* Wrap keys and key wrap: put/generate wrap key, export and import under wrap.
 *
 * Blob = nonce(13) | AES-CCM(header(59) | body) | tag(16), header = wrap key
 * algorithm, then the object's caps, id, len, domains, type, algorithm,
 * sequence, origin and label; body per type (shared/docs/yubihsm2.md). */
#include <string.h>

#include <openssl/rand.h>

#include "dev.h"
#include "signet/secmem.h"

static uint8_t wrap_key_new(dev_req *rq, bool generate)
{
    unsigned cap = generate ? YH_CAP_GENERATE_WRAP_KEY : YH_CAP_PUT_WRAP_KEY;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
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
    if (!yh_algo_is_wrap(h.algorithm))
        return YH_ERR_INVALID_DATA;
    size_t klen = (size_t)yh_algo_key_bytes(h.algorithm);
    if (sbr_left(&r) != (generate ? 0 : klen))
        return generate ? YH_ERR_WRONG_LENGTH : YH_ERR_INVALID_DATA;
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_WRAP_KEY, &h, delegated, 8 + klen, &slot)))
        return code;
    uint8_t *body = smem_alloc(klen);
    if (!body)
        return YH_ERR_STORAGE_FAILED;
    if (generate) {
        if (RAND_bytes(body, (int)klen) != 1) {
            smem_free(body);
            return YH_ERR_COMMAND_UNEXECUTED;
        }
    } else {
        memcpy(body, sbr_cur(&r), klen);
    }
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_WRAP_KEY, &h, delegated,
                 generate ? YH_ORIGIN_GENERATED : YH_ORIGIN_IMPORTED, body, klen);
    rq->target = h.id;
    rq->changed = true;
    return sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_put_wrap_key(dev_req *rq) { return wrap_key_new(rq, false); }
uint8_t cmd_generate_wrap_key(dev_req *rq) { return wrap_key_new(rq, true); }

/* The wrap key a session may use for cap (export-wrapped / import-wrapped). */
static uint8_t use_wrap_key(dev_req *rq, uint16_t id, unsigned cap, dev_object **out)
{
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *w = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_WRAP_KEY, id);
    if (!w)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(w->capabilities & YH_CAP(cap)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    *out = w;
    return YH_ERR_OK;
}

static uint8_t put_body(const dev_object *o, bool with_seed, sb_wr *pt)
{
    switch (o->type) {
    case YH_TYPE_ASYMMETRIC_KEY:
        return dev_key_wrap_body(o, with_seed, pt);
    case YH_TYPE_WRAP_KEY:
    case YH_TYPE_AUTHENTICATION_KEY:
        if (sbw_u64(pt, o->delegated) || sbw_put(pt, o->body, o->body_len))
            return YH_ERR_WRONG_LENGTH;
        return YH_ERR_OK;
    case YH_TYPE_OPAQUE:
    case YH_TYPE_SYMMETRIC_KEY:
        return sbw_put(pt, o->body, o->body_len) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
    case YH_TYPE_HMAC_KEY:
        return dev_hmac_wrap_body(o, pt);
    default:
        return YH_ERR_INVALID_DATA;
    }
}

uint8_t cmd_export_wrapped(dev_req *rq)
{
    if (rq->len != 5 && rq->len != 6)
        return YH_ERR_WRONG_LENGTH;
    uint16_t wid = be16(rq->data), id = be16(rq->data + 3);
    uint8_t type = rq->data[2], format = rq->len == 6 ? rq->data[5] : 0;
    dev_object *w, *o;
    uint8_t code = use_wrap_key(rq, wid, YH_CAP_EXPORT_WRAPPED, &w);
    rq->second = id;
    if (code)
        return code;
    if (format > 1)
        return YH_ERR_INVALID_DATA;
    if (!(o = dev_obj_visible(rq->dev, rq->sess, type, id)))
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(o->capabilities & YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP)) ||
        (o->capabilities & ~w->delegated))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (o->type == YH_TYPE_ASYMMETRIC_KEY)
        rq->latency_ms = dev_latency_ms(rq->cmd, o->algorithm);

    sb_wr pt;
    sbw_init_secure(&pt, YH_MAX_FRAME);
    uint8_t label[YH_LABEL_LEN];
    memcpy(label, o->label, YH_LABEL_LEN);
    size_t len_at;
    signet_rc rc = sbw_u8(&pt, w->algorithm);
    if (!rc) rc = sbw_u64(&pt, o->capabilities);
    if (!rc) rc = sbw_u16(&pt, o->id);
    len_at = pt.len;
    if (!rc) rc = sbw_u16(&pt, 0); /* body length, filled below */
    if (!rc) rc = sbw_u16(&pt, o->domains);
    if (!rc) rc = sbw_u8(&pt, o->type);
    if (!rc) rc = sbw_u8(&pt, o->algorithm);
    if (!rc) rc = sbw_u8(&pt, o->sequence);
    if (!rc) rc = sbw_u8(&pt, o->origin);
    if (!rc) rc = sbw_put(&pt, label, YH_LABEL_LEN);
    code = rc ? YH_ERR_WRONG_LENGTH : put_body(o, format == 1, &pt);
    if (!code) {
        put_be16(pt.p + len_at, (uint16_t)(pt.len - YH_WRAP_HEADER_LEN));
        uint8_t nonce[YH_WRAP_NONCE_LEN];
        if (RAND_bytes(nonce, sizeof nonce) != 1)
            code = YH_ERR_COMMAND_UNEXECUTED;
        else if (yh_ccm_seal(w->body, w->body_len, nonce, pt.p, pt.len, rq->out))
            code = YH_ERR_WRONG_LENGTH;
    }
    sbw_free(&pt);
    return code;
}

/* Our object body from a wrapped body; checks the algorithm against the type. */
static uint8_t take_body(uint8_t type, uint8_t algo, const uint8_t *p, size_t n,
                         uint64_t *delegated, uint8_t **body, size_t *body_len, EVP_PKEY **pk)
{
    *delegated = 0;
    *pk = NULL;
    size_t keep;
    switch (type) {
    case YH_TYPE_ASYMMETRIC_KEY:
        return dev_key_unwrap_body(algo, p, n, body, body_len, pk);
    case YH_TYPE_WRAP_KEY:
        if (!yh_algo_is_wrap(algo) || n != 8 + (size_t)yh_algo_key_bytes(algo))
            return YH_ERR_INVALID_DATA;
        break;
    case YH_TYPE_AUTHENTICATION_KEY:
        if (algo == YH_ALGO_EC_P256_YUBICO_AUTHENTICATION && n == 8 + 64) {
            EVP_PKEY *k = dev_p256_from_xy(p + 8);
            EVP_PKEY_free(k);
            if (!k)
                return YH_ERR_INVALID_DATA;
            break;
        }
        if (algo != YH_ALGO_AES128_YUBICO_AUTHENTICATION || n != 8 + 2 * YH_KEY_LEN)
            return YH_ERR_INVALID_DATA;
        break;
    case YH_TYPE_HMAC_KEY:
        return dev_hmac_unwrap_body(algo, p, n, body, body_len);
    case YH_TYPE_SYMMETRIC_KEY:
        if (!dev_algo_is_aes(algo) || n != (size_t)yh_algo_key_bytes(algo))
            return YH_ERR_INVALID_DATA;
        keep = n;
        goto copy;
    case YH_TYPE_OPAQUE:
        if ((algo != YH_ALGO_OPAQUE_DATA && algo != YH_ALGO_OPAQUE_X509_CERTIFICATE) || n == 0)
            return YH_ERR_INVALID_DATA;
        keep = n;
        goto copy;
    default:
        return YH_ERR_INVALID_DATA;
    }
    *delegated = be64(p);
    p += 8;
    keep = n - 8;
copy:
    *body = smem_alloc(keep);
    if (!*body)
        return YH_ERR_STORAGE_FAILED;
    memcpy(*body, p, keep);
    *body_len = keep;
    return YH_ERR_OK;
}

uint8_t cmd_import_wrapped(dev_req *rq)
{
    if (rq->len < 2 + YH_WRAP_NONCE_LEN + YH_WRAP_HEADER_LEN + YH_WRAP_TAG_LEN)
        return YH_ERR_WRONG_LENGTH;
    dev_object *w;
    uint8_t code = use_wrap_key(rq, be16(rq->data), YH_CAP_IMPORT_WRAPPED, &w);
    if (code)
        return code;
    sb_wr pt;
    sbw_init_secure(&pt, YH_MAX_FRAME);
    if (yh_ccm_open(w->body, w->body_len, rq->data + 2, rq->len - 2, &pt) != SIGNET_OK) {
        sbw_free(&pt);
        return YH_ERR_INVALID_DATA; /* wrong wrap key or a damaged blob */
    }
    yh_wrapped in;
    code = YH_ERR_INVALID_DATA;
    if (yh_wrapped_parse(pt.p, pt.len, &in) != SIGNET_OK || in.wrap_algorithm != w->algorithm ||
        in.id == 0 || in.domains == 0)
        goto done;
    uint8_t type = in.type, seq = in.sequence, origin = in.origin;
    size_t blen = in.body_len;
    dev_put_hdr h = {.capabilities = in.capabilities, .id = in.id, .domains = in.domains,
                     .algorithm = in.algorithm};
    memcpy(h.label, in.label, YH_LABEL_LEN);
    rq->second = h.id;
    dev_object *k = dev_session_key(rq->dev, rq->sess);
    if ((h.capabilities & ~w->delegated) || !k || (h.domains & ~k->domains)) {
        code = YH_ERR_INSUFFICIENT_PERMISSIONS;
        goto done;
    }
    if (dev_obj_find(rq->dev->st, type, h.id)) {
        code = YH_ERR_OBJECT_EXISTS;
        goto done;
    }
    uint64_t delegated;
    uint8_t *body = NULL;
    size_t body_len = 0;
    EVP_PKEY *pk = NULL;
    if ((code = take_body(type, h.algorithm, in.body, blen, &delegated, &body, &body_len,
                          &pk)))
        goto done;
    size_t olen = type == YH_TYPE_ASYMMETRIC_KEY ? dev_key_object_len(h.algorithm)
                  : type == YH_TYPE_AUTHENTICATION_KEY ? 1
                  : type == YH_TYPE_HMAC_KEY ? body_len : blen;
    dev_object *slot = NULL;
    if ((code = dev_storage_check(rq->dev->st, olen)) || !(slot = dev_obj_alloc(rq->dev->st))) {
        EVP_PKEY_free(pk);
        smem_free(body);
        code = code ? code : YH_ERR_STORAGE_FAILED;
        goto done;
    }
    dev_obj_fill(rq->dev->st, slot, type, &h, delegated, (uint8_t)(origin | YH_ORIGIN_IMPORTED_WRAPPED),
                 body, body_len);
    /* The device counts the import as a new incarnation of (type, id), as
     * yubihsm-shell's wrap test expects (sequence 1 after delete and import
     * of a fresh key). */
    slot->sequence = (uint8_t)(seq + 1);
    slot->pkey = pk;
    if (type == YH_TYPE_ASYMMETRIC_KEY)
        rq->latency_ms = dev_latency_ms(rq->cmd, h.algorithm);
    rq->changed = true;
    code = sbw_u8(rq->out, type) || sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
done:
    sbw_free(&pt);
    return code;
}

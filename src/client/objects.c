/* Typed calls about objects: list, object info, public keys, opaque data, delete,
 * plus the small device services (echo, storage info, pseudo-random).  Byte
 * layouts follow yubihsm-shell's lib/yubihsm.c; every answer's length is checked
 * before it is read, because the device and the connector are not trusted. */
#include <string.h>

#include "internal.h"
#include "signet/secmem.h"

signet_rc put_header(sb_wr *w, const hsm_object_attrs *a, uint8_t algorithm)
{
    const char *label = a->label ? a->label : "";
    if (strlen(label) > YH_LABEL_LEN)
        return signet_fail(SIGNET_E_ARG, "label '%.20s...' is longer than %d bytes", label,
                           YH_LABEL_LEN);
    uint8_t lab[YH_LABEL_LEN];
    yh_label_encode(label, lab);
    signet_rc rc;
    if ((rc = sbw_u16(w, a->id)) || (rc = sbw_put(w, lab, sizeof lab)) ||
        (rc = sbw_u16(w, a->domains)) || (rc = sbw_u64(w, a->capabilities)) ||
        (rc = sbw_u8(w, algorithm)))
        return rc;
    return SIGNET_OK;
}

signet_rc expect_id(const sb_wr *resp, uint16_t *out_id, const char *what)
{
    if (resp->len != 2)
        return signet_fail(SIGNET_E_PARSE, "%s: answer of %zu bytes (expected an object id)", what,
                           resp->len);
    if (out_id)
        *out_id = be16(resp->p);
    return SIGNET_OK;
}

signet_rc expect_empty(const sb_wr *resp, const char *what)
{
    if (resp->len != 0)
        return signet_fail(SIGNET_E_PARSE, "%s: unexpected %zu-byte answer", what, resp->len);
    return SIGNET_OK;
}

signet_rc hsm_echo(hsm_session *s, const uint8_t *data, size_t len, sb_wr *out)
{
    size_t before = out->len;
    signet_rc rc = hsm_xfer(s, YH_CMD_ECHO, data, len, out);
    if (rc)
        return rc;
    if (out->len - before != len || memcmp(out->p + before, data, len) != 0)
        return signet_fail(SIGNET_E_VERIFY, "echo: the device returned different bytes");
    return SIGNET_OK;
}

signet_rc hsm_storage_info(hsm_session *s, hsm_storage *out)
{
    uint8_t buf[32];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_xfer(s, YH_CMD_GET_STORAGE_INFO, NULL, 0, &w);
    if (rc)
        return rc;
    sb_rd r;
    sbr_init(&r, w.p, w.len);
    if ((rc = sbr_u16(&r, &out->total_records)) || (rc = sbr_u16(&r, &out->free_records)) ||
        (rc = sbr_u16(&r, &out->total_pages)) || (rc = sbr_u16(&r, &out->free_pages)) ||
        (rc = sbr_u16(&r, &out->page_size)) || (rc = sbr_end(&r)))
        return signet_wrap(rc, "storage info answer");
    return SIGNET_OK;
}

signet_rc hsm_list_objects(hsm_session *s, const hsm_filter *f, hsm_object_ref *out, size_t max,
                           size_t *n)
{
    *n = 0;
    uint8_t req[128];
    sb_wr w;
    sbw_init_fixed(&w, req, sizeof req);
    signet_rc rc = SIGNET_OK;
    if (f) {
        /* TLV filters, in yubihsm-shell's order: 01 id, 02 type, 03 domains,
         * 05 algorithm, 06 label, 04 capabilities. */
        if (f->id && ((rc = sbw_u8(&w, 1)) || (rc = sbw_u16(&w, f->id))))
            return rc;
        if (f->type && ((rc = sbw_u8(&w, 2)) || (rc = sbw_u8(&w, f->type))))
            return rc;
        if (f->domains && ((rc = sbw_u8(&w, 3)) || (rc = sbw_u16(&w, f->domains))))
            return rc;
        if (f->algorithm && ((rc = sbw_u8(&w, 5)) || (rc = sbw_u8(&w, f->algorithm))))
            return rc;
        if (f->label && f->label[0]) {
            if (strlen(f->label) > YH_LABEL_LEN)
                return signet_fail(SIGNET_E_ARG, "label filter is longer than %d bytes",
                                   YH_LABEL_LEN);
            uint8_t lab[YH_LABEL_LEN];
            yh_label_encode(f->label, lab);
            if ((rc = sbw_u8(&w, 6)) || (rc = sbw_put(&w, lab, sizeof lab)))
                return rc;
        }
        if (f->capabilities && ((rc = sbw_u8(&w, 4)) || (rc = sbw_u64(&w, f->capabilities))))
            return rc;
    }
    sb_wr resp;
    sbw_init(&resp, YH_MAX_FRAME);
    rc = hsm_xfer(s, YH_CMD_LIST_OBJECTS, w.p, w.len, &resp);
    if (rc == SIGNET_OK && resp.len % 4 != 0)
        rc = signet_fail(SIGNET_E_PARSE, "list objects: answer of %zu bytes is not a list of "
                                         "4-byte entries",
                         resp.len);
    if (rc == SIGNET_OK) {
        size_t count = resp.len / 4;
        for (size_t i = 0; i < count && i < max; i++) {
            out[i].id = be16(resp.p + 4 * i);
            out[i].type = resp.p[4 * i + 2];
            out[i].sequence = resp.p[4 * i + 3];
        }
        *n = count;
    }
    sbw_free(&resp);
    return rc;
}

signet_rc hsm_get_object_info(hsm_session *s, uint16_t id, uint8_t type, yh_object_info *out)
{
    uint8_t req[3];
    put_be16(req, id);
    req[2] = type;
    uint8_t buf[YH_OBJECT_INFO_LEN + 16];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_xfer(s, YH_CMD_GET_OBJECT_INFO, req, sizeof req, &w);
    if (rc)
        return signet_wrap(rc, "object 0x%04x (%s)", id, yh_type_name(type));
    if (w.len != YH_OBJECT_INFO_LEN)
        return signet_fail(SIGNET_E_PARSE, "object info: answer of %zu bytes (expected %d)", w.len,
                           YH_OBJECT_INFO_LEN);
    sb_rd r;
    sbr_init(&r, w.p, w.len);
    rc = yh_object_info_decode(&r, out);
    if (rc == SIGNET_OK)
        rc = sbr_end(&r);
    return rc ? signet_wrap(rc, "object info answer") : SIGNET_OK;
}

signet_rc hsm_get_public_key(hsm_session *s, uint16_t id, EVP_PKEY **out, uint8_t *algorithm)
{
    *out = NULL;
    uint8_t req[2];
    put_be16(req, id);
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    signet_rc rc = hsm_xfer(s, YH_CMD_GET_PUBLIC_KEY, req, sizeof req, &w);
    if (rc) {
        sbw_free(&w);
        return signet_wrap(rc, "public key of asymmetric key 0x%04x", id);
    }
    if (w.len < 1) {
        sbw_free(&w);
        return signet_fail(SIGNET_E_PARSE, "get public key: empty answer");
    }
    uint8_t algo = w.p[0];
    rc = pubkey_from_device(algo, w.p + 1, w.len - 1, out);
    sbw_free(&w);
    if (rc)
        return signet_wrap(rc, "public key of asymmetric key 0x%04x", id);
    if (algorithm)
        *algorithm = algo;
    return SIGNET_OK;
}

signet_rc hsm_put_opaque(hsm_session *s, const hsm_object_attrs *a, const uint8_t *data,
                         size_t len, uint16_t *out_id)
{
    sb_wr w;
    sbw_init(&w, CLIENT_REQ_MAX);
    uint8_t algo = a->algorithm ? a->algorithm : YH_ALGO_OPAQUE_DATA;
    signet_rc rc = put_header(&w, a, algo);
    if (rc == SIGNET_OK)
        rc = sbw_put(&w, data, len);
    if (rc == SIGNET_OK) {
        uint8_t buf[8];
        sb_wr resp;
        sbw_init_fixed(&resp, buf, sizeof buf);
        rc = hsm_xfer(s, YH_CMD_PUT_OPAQUE, w.p, w.len, &resp);
        if (rc == SIGNET_OK)
            rc = expect_id(&resp, out_id, "put opaque");
    }
    sbw_free(&w);
    return rc;
}

signet_rc hsm_get_opaque(hsm_session *s, uint16_t id, sb_wr *out)
{
    uint8_t req[2];
    put_be16(req, id);
    signet_rc rc = hsm_xfer(s, YH_CMD_GET_OPAQUE, req, sizeof req, out);
    return rc ? signet_wrap(rc, "opaque object 0x%04x", id) : SIGNET_OK;
}

signet_rc hsm_delete_object(hsm_session *s, uint16_t id, uint8_t type)
{
    uint8_t req[3];
    put_be16(req, id);
    req[2] = type;
    uint8_t buf[8];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_xfer(s, YH_CMD_DELETE_OBJECT, req, sizeof req, &w);
    if (rc)
        return signet_wrap(rc, "deleting %s 0x%04x", yh_type_name(type), id);
    return expect_empty(&w, "delete object");
}

signet_rc hsm_get_pseudo_random(hsm_session *s, size_t len, uint8_t *out)
{
    /* In chunks that fit any firmware's message size. */
    const size_t chunk = 1024;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < chunk ? len - done : chunk;
        uint8_t req[2];
        put_be16(req, (uint16_t)n);
        sb_wr w;
        sbw_init_fixed(&w, out + done, n);
        signet_rc rc = hsm_xfer(s, YH_CMD_GET_PSEUDO_RANDOM, req, sizeof req, &w);
        if (rc)
            return rc; /* an over-long answer fails inside the fixed writer */
        if (w.len != n)
            return signet_fail(SIGNET_E_PARSE, "get pseudo random: %zu bytes instead of %zu",
                               w.len, n);
        done += n;
    }
    return SIGNET_OK;
}

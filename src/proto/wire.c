/* Fixed structures on the wire: object info (66 bytes), audit log entries
 * (32 bytes) with their digest chain, and 40-byte labels. */
#include <string.h>

#include <openssl/evp.h>

#include "signet/proto.h"

void yh_label_encode(const char *label, uint8_t out[YH_LABEL_LEN])
{
    memset(out, 0, YH_LABEL_LEN);
    if (label) {
        /* Callers check the length first; a longer label is cut at 40 bytes,
         * as the device would store it. */
        size_t n = strnlen(label, YH_LABEL_LEN);
        memcpy(out, label, n);
    }
}

void yh_label_decode(const uint8_t in[YH_LABEL_LEN], char out[YH_LABEL_LEN + 1])
{
    /* The label is raw bytes; stop at the first NUL so the copy is a C string. */
    memset(out, 0, YH_LABEL_LEN + 1);
    for (size_t i = 0; i < YH_LABEL_LEN && in[i]; i++)
        out[i] = (char)in[i];
}

signet_rc yh_object_info_encode(const yh_object_info *oi, sb_wr *out)
{
    uint8_t b[YH_OBJECT_INFO_LEN], *p = b;
    put_be64(p, oi->capabilities), p += 8;
    put_be16(p, oi->id), p += 2;
    put_be16(p, oi->len), p += 2;
    put_be16(p, oi->domains), p += 2;
    *p++ = oi->type;
    *p++ = oi->algorithm;
    *p++ = oi->sequence;
    *p++ = oi->origin;
    yh_label_encode(oi->label, p), p += YH_LABEL_LEN;
    put_be64(p, oi->delegated_capabilities);
    return sbw_put(out, b, sizeof b);
}

signet_rc yh_object_info_decode(sb_rd *r, yh_object_info *oi)
{
    const uint8_t *p;
    signet_rc rc = sbr_ptr(r, &p, YH_OBJECT_INFO_LEN);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "object info");
    memset(oi, 0, sizeof *oi);
    oi->capabilities = be64(p), p += 8;
    oi->id = be16(p), p += 2;
    oi->len = be16(p), p += 2;
    oi->domains = be16(p), p += 2;
    oi->type = *p++;
    oi->algorithm = *p++;
    oi->sequence = *p++;
    oi->origin = *p++;
    yh_label_decode(p, oi->label), p += YH_LABEL_LEN;
    oi->delegated_capabilities = be64(p);
    return SIGNET_OK;
}

void yh_log_entry_encode(const yh_log_entry *e, uint8_t out[YH_LOG_ENTRY_LEN])
{
    uint8_t *p = out;
    put_be16(p, e->number), p += 2;
    *p++ = e->command;
    put_be16(p, e->length), p += 2;
    put_be16(p, e->session_key), p += 2;
    put_be16(p, e->target_key), p += 2;
    put_be16(p, e->second_key), p += 2;
    *p++ = e->result;
    put_be32(p, e->systick), p += 4;
    memcpy(p, e->digest, YH_LOG_DIGEST_LEN);
}

void yh_log_entry_decode(const uint8_t in[YH_LOG_ENTRY_LEN], yh_log_entry *e)
{
    const uint8_t *p = in;
    e->number = be16(p), p += 2;
    e->command = *p++;
    e->length = be16(p), p += 2;
    e->session_key = be16(p), p += 2;
    e->target_key = be16(p), p += 2;
    e->second_key = be16(p), p += 2;
    e->result = *p++;
    e->systick = be32(p), p += 4;
    memcpy(e->digest, p, YH_LOG_DIGEST_LEN);
}

/* The 16 bytes before the digest are what the chain covers. */
#define LOG_BODY_LEN (YH_LOG_ENTRY_LEN - YH_LOG_DIGEST_LEN)

static bool log_digest(const yh_log_entry *e, const uint8_t prev[YH_LOG_DIGEST_LEN],
                       uint8_t out[YH_LOG_DIGEST_LEN])
{
    uint8_t buf[LOG_BODY_LEN + YH_LOG_DIGEST_LEN], entry[YH_LOG_ENTRY_LEN];
    uint8_t md[32];
    unsigned int mdlen = 0;
    yh_log_entry_encode(e, entry);
    memcpy(buf, entry, LOG_BODY_LEN);
    memcpy(buf + LOG_BODY_LEN, prev, YH_LOG_DIGEST_LEN);
    bool ok = EVP_Digest(buf, sizeof buf, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
    memcpy(out, ok ? md : (const uint8_t[YH_LOG_DIGEST_LEN]){0}, YH_LOG_DIGEST_LEN);
    return ok;
}

void yh_log_digest(const yh_log_entry *e, const uint8_t prev[YH_LOG_DIGEST_LEN],
                   uint8_t out[YH_LOG_DIGEST_LEN])
{
    (void)log_digest(e, prev, out);
}

bool yh_log_entry_verify(const yh_log_entry *e, const uint8_t prev[YH_LOG_DIGEST_LEN])
{
    uint8_t d[YH_LOG_DIGEST_LEN];
    /* A failed hash never counts as a match.  Log digests are public, so an
     * ordinary comparison is fine. */
    return log_digest(e, prev, d) && memcmp(d, e->digest, YH_LOG_DIGEST_LEN) == 0;
}

/* The one bounds-checked byte buffer API, in the spirit of OpenSSH's sshbuf.
 * Every codec of untrusted bytes (frames, wrapped blobs, age files, shares, logs)
 * reads through sb_rd and writes through sb_wr.  Integers are big-endian unless the
 * name says _le.
 *
 * Reader: a cursor over borrowed bytes.  Every call checks the remaining length
 * and fails with SIGNET_E_PARSE ("truncated input: need N bytes, have M") without
 * moving the cursor.
 *
 * Writer: a growable buffer with a hard size limit.  A writer made with
 * sbw_init_secure keeps its bytes in locked memory and wipes them on free and on
 * growth.  sbw_init_fixed writes into caller memory and never allocates. */
#ifndef SIGNET_BUF_H
#define SIGNET_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/err.h"

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
} sb_rd;

void sbr_init(sb_rd *r, const void *p, size_t len);
size_t sbr_left(const sb_rd *r);
const uint8_t *sbr_cur(const sb_rd *r); /* pointer to the unread bytes */
signet_rc sbr_u8(sb_rd *r, uint8_t *v);
signet_rc sbr_u16(sb_rd *r, uint16_t *v);
signet_rc sbr_u32(sb_rd *r, uint32_t *v);
signet_rc sbr_u64(sb_rd *r, uint64_t *v);
signet_rc sbr_u16_le(sb_rd *r, uint16_t *v);
signet_rc sbr_u32_le(sb_rd *r, uint32_t *v);
signet_rc sbr_u64_le(sb_rd *r, uint64_t *v);
signet_rc sbr_copy(sb_rd *r, void *out, size_t n);            /* n bytes into out */
signet_rc sbr_ptr(sb_rd *r, const uint8_t **out, size_t n);   /* borrow n bytes */
signet_rc sbr_skip(sb_rd *r, size_t n);
signet_rc sbr_sub(sb_rd *r, sb_rd *sub, size_t n);            /* sub-reader over n bytes */
/* A uint32 big-endian length then that many bytes (SSH string). */
signet_rc sbr_sshstr(sb_rd *r, const uint8_t **out, size_t *n);
/* Fails unless every byte was consumed ("N unexpected trailing bytes"). */
signet_rc sbr_end(const sb_rd *r);

typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max;      /* hard limit; writes past it fail with SIGNET_E_PARSE */
    bool fixed;      /* p is caller memory; never reallocated or freed */
    bool secure;     /* p is locked memory, wiped on free and on growth */
} sb_wr;

void sbw_init(sb_wr *w, size_t max);
void sbw_init_secure(sb_wr *w, size_t max);
void sbw_init_fixed(sb_wr *w, void *mem, size_t cap);
void sbw_free(sb_wr *w);    /* wipes when secure; leaves an empty writer */
void sbw_reset(sb_wr *w);   /* len = 0, keeps memory (wiped when secure) */
signet_rc sbw_u8(sb_wr *w, uint8_t v);
signet_rc sbw_u16(sb_wr *w, uint16_t v);
signet_rc sbw_u32(sb_wr *w, uint32_t v);
signet_rc sbw_u64(sb_wr *w, uint64_t v);
signet_rc sbw_u16_le(sb_wr *w, uint16_t v);
signet_rc sbw_u32_le(sb_wr *w, uint32_t v);
signet_rc sbw_u64_le(sb_wr *w, uint64_t v);
signet_rc sbw_put(sb_wr *w, const void *p, size_t n);
signet_rc sbw_zero(sb_wr *w, size_t n);
signet_rc sbw_str(sb_wr *w, const char *s);                   /* without the NUL */
signet_rc sbw_printf(sb_wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
signet_rc sbw_sshstr(sb_wr *w, const void *p, size_t n);
/* Reserve n bytes at the end and return a pointer to them (valid until next write). */
signet_rc sbw_reserve(sb_wr *w, size_t n, uint8_t **out);

/* Helpers for fixed-size big-endian fields in arrays. */
static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return ((uint64_t)be32(p) << 32) | be32(p + 4); }
static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void put_be64(uint8_t *p, uint64_t v) { put_be32(p, (uint32_t)(v >> 32)); put_be32(p + 4, (uint32_t)v); }

/* Little-endian fixed-size fields in arrays (ZIP, APK Signing Block). */
static inline uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t le32(const uint8_t *p) {
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t le64(const uint8_t *p) { return le32(p) | ((uint64_t)le32(p + 4) << 32); }
static inline void put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_le32(uint8_t *p, uint32_t v) { put_le16(p, (uint16_t)v); put_le16(p + 2, (uint16_t)(v >> 16)); }
static inline void put_le64(uint8_t *p, uint64_t v) { put_le32(p, (uint32_t)v); put_le32(p + 4, (uint32_t)(v >> 32)); }

/* Hex and base64 codecs (strict: invalid characters, odd length or
 * non-canonical padding fail with SIGNET_E_PARSE). */
signet_rc hex_encode(sb_wr *w, const uint8_t *p, size_t n);            /* lower case */
signet_rc hex_decode(sb_wr *w, const char *s, size_t slen);
/* Standard alphabet.  pad: emit/require '=' padding.  Decoding rejects
 * non-canonical trailing bits. */
signet_rc b64_encode(sb_wr *w, const uint8_t *p, size_t n, bool pad);
signet_rc b64_decode(sb_wr *w, const char *s, size_t slen, bool pad);

#endif

/* vbmeta descriptors (libavb avb_descriptor.c, avb_hashtree_descriptor.c,
 * avb_property_descriptor.c): u64 tag | u64 num_bytes_following | body, the body a
 * multiple of 8 bytes.  Each body's fixed part and its variable parts are checked
 * against num_bytes_following before use. */
#include <string.h>

#include "signet/avb.h"

#define HASHTREE_FIXED 164 /* AvbHashtreeDescriptor without the 16-byte header */
#define PROPERTY_FIXED 16

signet_rc signet_avb_descriptors(const signet_avb_vbmeta *v, signet_avb_desc_fn fn, void *ctx)
{
    sb_rd r;
    sbr_init(&r, v->descriptors, (size_t)v->desc_size);
    while (sbr_left(&r) > 0) {
        uint64_t tag, n;
        if (sbr_u64(&r, &tag) != SIGNET_OK || sbr_u64(&r, &n) != SIGNET_OK)
            return signet_fail(SIGNET_E_PARSE, "vbmeta: truncated descriptor header");
        if (n % 8 || n > sbr_left(&r))
            return signet_fail(SIGNET_E_PARSE, "vbmeta: descriptor (tag %llu) of %llu bytes does "
                                               "not fit (%zu left) or is not 8-aligned",
                               (unsigned long long)tag, (unsigned long long)n, sbr_left(&r));
        const uint8_t *body;
        (void)sbr_ptr(&r, &body, (size_t)n);
        signet_rc rc = fn(ctx, tag, body, (size_t)n);
        if (rc != SIGNET_OK)
            return rc;
    }
    return SIGNET_OK;
}

static signet_rc sum_fits(uint64_t a, uint64_t b, uint64_t c, uint64_t limit)
{
    return (a <= limit && b <= limit - a && c <= limit - a - b) ? SIGNET_OK : SIGNET_E_PARSE;
}

signet_rc signet_avb_hashtree_parse(const uint8_t *body, size_t len, signet_avb_hashtree *h)
{
    memset(h, 0, sizeof *h);
    if (len < HASHTREE_FIXED)
        return signet_fail(SIGNET_E_PARSE, "vbmeta: hashtree descriptor of %zu bytes is too short",
                           len);
    const uint8_t *p = body;
    h->dm_verity_version = be32(p);
    h->image_size = be64(p + 4);
    h->tree_offset = be64(p + 12);
    h->tree_size = be64(p + 20);
    h->data_block_size = be32(p + 28);
    h->hash_block_size = be32(p + 32);
    h->fec_num_roots = be32(p + 36);
    h->fec_offset = be64(p + 40);
    h->fec_size = be64(p + 48);
    memcpy(h->hash_algorithm, p + 56, 32);
    h->hash_algorithm[32] = 0;
    h->partition_name_len = be32(p + 88);
    h->salt_len = be32(p + 92);
    h->root_digest_len = be32(p + 96);
    h->flags = be32(p + 100);
    if (sum_fits(h->partition_name_len, h->salt_len, h->root_digest_len, len - HASHTREE_FIXED))
        return signet_fail(SIGNET_E_PARSE, "vbmeta: hashtree descriptor's name, salt and digest "
                                           "(%u + %u + %u bytes) overrun it",
                           h->partition_name_len, h->salt_len, h->root_digest_len);
    h->partition_name = p + HASHTREE_FIXED;
    h->salt = h->partition_name + h->partition_name_len;
    h->root_digest = h->salt + h->salt_len;
    return SIGNET_OK;
}

signet_rc signet_avb_property_parse(const uint8_t *body, size_t len, signet_avb_property *p)
{
    memset(p, 0, sizeof *p);
    if (len < PROPERTY_FIXED)
        return signet_fail(SIGNET_E_PARSE, "vbmeta: property descriptor too short");
    p->key_len = be64(body);
    p->value_len = be64(body + 8);
    uint64_t room = len - PROPERTY_FIXED;
    /* key NUL value NUL */
    if (p->key_len >= room || p->value_len >= room - p->key_len - 1 ||
        body[PROPERTY_FIXED + p->key_len] != 0 ||
        body[PROPERTY_FIXED + p->key_len + 1 + p->value_len] != 0)
        return signet_fail(SIGNET_E_PARSE, "vbmeta: property descriptor sizes are inconsistent");
    p->key = body + PROPERTY_FIXED;
    p->value = p->key + p->key_len + 1;
    return SIGNET_OK;
}

struct find_ctx {
    signet_avb_hashtree *h;
    unsigned n;
    const char *key;
    signet_avb_property *prop;
    bool *found;
};

static signet_rc find_ht(void *c, uint64_t tag, const uint8_t *body, size_t len)
{
    struct find_ctx *f = c;
    if (tag != SIGNET_AVB_DESC_HASHTREE)
        return SIGNET_OK;
    if (f->n++)
        return signet_fail(SIGNET_E_PARSE, "vbmeta holds more than one hashtree descriptor");
    return signet_avb_hashtree_parse(body, len, f->h);
}

signet_rc signet_avb_find_hashtree(const signet_avb_vbmeta *v, signet_avb_hashtree *h)
{
    struct find_ctx f = {.h = h};
    signet_rc rc = signet_avb_descriptors(v, find_ht, &f);
    if (rc == SIGNET_OK && f.n == 0)
        rc = signet_fail(SIGNET_E_NOTFOUND, "vbmeta has no hashtree descriptor");
    return rc;
}

static signet_rc find_prop(void *c, uint64_t tag, const uint8_t *body, size_t len)
{
    struct find_ctx *f = c;
    if (tag != SIGNET_AVB_DESC_PROPERTY)
        return SIGNET_OK;
    signet_avb_property p;
    signet_rc rc = signet_avb_property_parse(body, len, &p);
    if (rc == SIGNET_OK && p.key_len == strlen(f->key) && memcmp(p.key, f->key, p.key_len) == 0) {
        if (*f->found)
            return signet_fail(SIGNET_E_PARSE, "vbmeta sets property %s twice", f->key);
        *f->prop = p;
        *f->found = true;
    }
    return rc;
}

signet_rc signet_avb_find_property(const signet_avb_vbmeta *v, const char *key,
                                   signet_avb_property *p, bool *found)
{
    *found = false;
    struct find_ctx f = {.key = key, .prop = p, .found = found};
    return signet_avb_descriptors(v, find_prop, &f);
}

/* AVB images come from the target-files package (APEX payloads): footer, vbmeta
 * header, descriptors and hash tree parsing may not crash or read out of bounds,
 * whatever the bytes.  The input is tried as a footed image, as a bare vbmeta and as
 * the old image of a rebuild. */
#include <stdlib.h>

#include "signet/avb.h"

static signet_rc walk(void *ctx, uint64_t tag, const uint8_t *body, size_t len)
{
    (void)ctx;
    signet_avb_hashtree h;
    signet_avb_property p;
    if (tag == SIGNET_AVB_DESC_HASHTREE && signet_avb_hashtree_parse(body, len, &h) == SIGNET_OK &&
        (uint64_t)h.partition_name_len + h.salt_len + h.root_digest_len > len)
        abort();
    if (tag == SIGNET_AVB_DESC_PROPERTY && signet_avb_property_parse(body, len, &p) == SIGNET_OK &&
        p.key_len + p.value_len + 2 > len)
        abort();
    return SIGNET_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    signet_avb_vbmeta v;
    if (signet_avb_vbmeta_parse(data, size, &v) == SIGNET_OK) {
        if (v.total > size)
            abort();
        (void)signet_avb_descriptors(&v, walk, NULL);
        (void)signet_avb_vbmeta_verify(&v, NULL, 0);
    }
    (void)signet_avb_image_verify(data, size, NULL, 0);
    /* A rebuild over the image's own first bytes as the new file system. */
    sb_wr out;
    sbw_init(&out, 1u << 20);
    (void)signet_avb_rebuild(data, size, data, size < 8192 ? size : 8192, &out);
    sbw_free(&out);
    return 0;
}

/* The APK Signing Block: encode with apksig's verity padding pair, find a pair. */
#include <string.h>

#include "apk_internal.h"

#define MAGIC "APK Sig Block 42"

signet_rc apk_block_encode(const apk_pair *pairs, size_t n, sb_wr *out)
{
    uint64_t size = 8 + 8 + 16;
    for (size_t i = 0; i < n; i++)
        size += 8 + 4 + (uint64_t)pairs[i].len;
    /* Pad the whole block to a multiple of 4096 with a pair of its own (at least
     * 12 bytes: its size and id). */
    uint64_t pad = 0;
    if (size % APK_PAGE) {
        pad = APK_PAGE - size % APK_PAGE;
        if (pad < 12)
            pad += APK_PAGE;
        size += pad;
    }
    signet_rc rc = sbw_u64_le(out, size - 8);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        rc = sbw_u64_le(out, 4 + (uint64_t)pairs[i].len);
        rc = rc ? rc : sbw_u32_le(out, pairs[i].id);
        rc = rc ? rc : sbw_put(out, pairs[i].value, pairs[i].len);
    }
    if (rc == SIGNET_OK && pad) {
        rc = sbw_u64_le(out, pad - 8);
        rc = rc ? rc : sbw_u32_le(out, SIGNET_APK_VERITY_PADDING_ID);
        rc = rc ? rc : sbw_zero(out, pad - 12);
    }
    rc = rc ? rc : sbw_u64_le(out, size - 8);
    return rc ? rc : sbw_put(out, MAGIC, 16);
}

signet_rc apk_block_find(const signet_zip *z, uint32_t id, sb_rd *value)
{
    if (!z->has_signing_block)
        return signet_fail(SIGNET_E_NOTFOUND, "the APK has no APK Signing Block");
    /* pairs sit between the leading size field and the trailing size + magic */
    sb_rd r;
    sbr_init(&r, z->data + z->entries_end + 8, z->cd_offset - z->entries_end - 8 - 24);
    while (sbr_left(&r) > 0) {
        uint64_t n;
        uint32_t pid;
        if (sbr_u64_le(&r, &n) != SIGNET_OK || n < 4 || n > sbr_left(&r))
            return signet_fail(SIGNET_E_PARSE, "APK Signing Block: malformed id-value pair");
        sbr_u32_le(&r, &pid);
        if (pid == id)
            return sbr_sub(&r, value, (size_t)n - 4);
        sbr_skip(&r, (size_t)n - 4);
    }
    return signet_fail(SIGNET_E_NOTFOUND, "no block 0x%08x in the APK Signing Block", id);
}

/* A footed image for a rebuilt file system: what avbtool add_hashtree_footer writes
 * for the new data (no partition size, no FEC) with the old image's vbmeta, its
 * hashtree descriptor updated (size, tree offset and size, root digest; salt and
 * algorithm kept).  The signature is left stale on purpose: the caller re-signs the
 * result through the signing path (signet_avb_resign_begin/finish), as releasetools
 * repacks an APEX payload (apexer) and then signs it (add_hashtree_footer --salt). */
#include <stdlib.h>
#include <string.h>

#include "signet/avb.h"

#define HASHTREE_FIXED 164 /* the descriptor body before name, salt and digest */

static uint64_t round_up(uint64_t v, uint64_t m)
{
    return (v + m - 1) / m * m;
}

signet_rc signet_avb_rebuild(const uint8_t *old, size_t old_len, const uint8_t *fs, size_t fs_len,
                             sb_wr *out)
{
    signet_avb_footer f;
    signet_avb_vbmeta v;
    signet_avb_hashtree h;
    signet_rc rc = signet_avb_footer_parse(old, old_len, &f);
    if (rc == SIGNET_OK)
        rc = signet_avb_vbmeta_parse(old + f.vbmeta_offset, (size_t)f.vbmeta_size, &v);
    if (rc == SIGNET_OK)
        rc = signet_avb_find_hashtree(&v, &h);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "the payload to rebuild");
    if (h.fec_size || h.fec_num_roots)
        return signet_fail(SIGNET_E_UNSUPPORTED, "the image carries FEC data; releasetools "
                                                 "re-signs without it and so does signet");
    uint64_t block = h.data_block_size;
    if (block != h.hash_block_size || block < 512 || block > 65536 || (block & (block - 1)))
        return signet_fail(SIGNET_E_UNSUPPORTED, "hash tree block sizes %u/%u are not supported",
                           h.data_block_size, h.hash_block_size);
    if (fs_len == 0 || fs_len > SIZE_MAX - 2 * block)
        return signet_fail(SIGNET_E_ARG, "a %zu-byte file system cannot get a hash tree", fs_len);
    uint64_t data = round_up(fs_len, block);
    signet_avb_hashtree nh = h;
    nh.image_size = data;
    uint8_t *tree = NULL, root[64];
    uint64_t tree_len = 0;
    size_t root_len = 0;
    /* The tree is computed over the padded data: pad a copy only when needed. */
    uint8_t *padded = NULL;
    const uint8_t *img = fs;
    if (data != fs_len) {
        if (!(padded = calloc(1, (size_t)data)))
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        memcpy(padded, fs, fs_len);
        img = padded;
    }
    rc = signet_avb_hashtree_build(img, &nh, &tree, &tree_len, root, &root_len);
    if (rc == SIGNET_OK && root_len != h.root_digest_len)
        rc = signet_fail(SIGNET_E_PARSE, "the old hashtree descriptor's digest is %u bytes, %s "
                                         "gives %zu",
                         h.root_digest_len, h.hash_algorithm, root_len);
    /* The old vbmeta with the descriptor's fields patched in place (same length). */
    size_t blob = (size_t)f.vbmeta_size;
    uint8_t *vb = rc == SIGNET_OK ? malloc(blob) : NULL;
    if (rc == SIGNET_OK && !vb)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK) {
        const uint8_t *base = old + f.vbmeta_offset;
        memcpy(vb, base, blob);
        uint8_t *body = vb + (h.partition_name - HASHTREE_FIXED - base);
        put_be64(body + 4, data);
        put_be64(body + 12, data);
        put_be64(body + 20, tree_len);
        memcpy(vb + (h.root_digest - base), root, root_len);
    }
    signet_avb_footer nf = {.version_major = f.version_major,
                            .version_minor = f.version_minor,
                            .original_image_size = fs_len,
                            .vbmeta_offset = data + tree_len,
                            .vbmeta_size = blob};
    uint8_t foot[SIGNET_AVB_FOOTER_SIZE];
    signet_avb_footer_encode(&nf, foot);
    if (rc == SIGNET_OK)
        rc = sbw_put(out, img, (size_t)data);
    if (rc == SIGNET_OK)
        rc = sbw_put(out, tree, (size_t)tree_len);
    if (rc == SIGNET_OK)
        rc = sbw_put(out, vb, blob);
    if (rc == SIGNET_OK)
        rc = sbw_zero(out, (size_t)(round_up(blob, SIGNET_AVB_BLOCK) - blob));
    if (rc == SIGNET_OK)
        rc = sbw_zero(out, SIGNET_AVB_BLOCK - SIGNET_AVB_FOOTER_SIZE);
    if (rc == SIGNET_OK)
        rc = sbw_put(out, foot, sizeof foot);
    free(vb);
    free(tree);
    free(padded);
    return rc;
}

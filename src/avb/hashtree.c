/* The dm-verity hash tree as avbtool builds it (calc_hash_level_offsets,
 * generate_hash_tree): each block hashed as H(salt | block), short blocks padded
 * with zeros, each digest padded to a power of two, each level padded to a block,
 * levels stored with the top level first; the root is H(salt | last level). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "signet/avb.h"

#define MAX_LEVELS 32

static uint64_t round_up(uint64_t v, uint64_t m)
{
    return (v + m - 1) / m * m;
}

static signet_rc hash_block(const EVP_MD *md, const signet_avb_hashtree *h, const uint8_t *data,
                            size_t n, size_t block, uint8_t *out)
{
    static const uint8_t zeros[4096];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, md, NULL) && EVP_DigestUpdate(c, h->salt, h->salt_len) &&
             EVP_DigestUpdate(c, data, n);
    for (size_t pad = block - n; ok && pad > 0;) {
        size_t k = pad < sizeof zeros ? pad : sizeof zeros;
        ok = EVP_DigestUpdate(c, zeros, k);
        pad -= k;
    }
    ok = ok && EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "hash tree digest failed");
}

/* The tree over image[0, h->image_size) with h's algorithm, block size and salt:
 * *tree (malloc'd, h->tree_size is not read) of *tree_len bytes, and the root. */
static signet_rc build_tree(const uint8_t *image, const signet_avb_hashtree *h, uint8_t **tree_out,
                            uint64_t *tree_len, uint8_t root[64], size_t *root_len)
{
    *tree_out = NULL;
    const EVP_MD *md = EVP_get_digestbyname(h->hash_algorithm);
    if (!md || (strcmp(h->hash_algorithm, "sha1") && strcmp(h->hash_algorithm, "sha256") &&
                strcmp(h->hash_algorithm, "sha512")))
        return signet_fail(SIGNET_E_UNSUPPORTED, "hash tree algorithm '%s' is not supported",
                           h->hash_algorithm);
    uint64_t block = h->data_block_size;
    if (block != h->hash_block_size || block < 512 || block > 65536 || (block & (block - 1)))
        return signet_fail(SIGNET_E_UNSUPPORTED, "hash tree block sizes %u/%u are not supported",
                           h->data_block_size, h->hash_block_size);
    size_t dlen = (size_t)EVP_MD_get_size(md), dpad = 1;
    while (dpad < dlen)
        dpad <<= 1;
    *root_len = dlen;
    if (h->image_size <= block || h->image_size % block)
        return signet_fail(SIGNET_E_PARSE, "a hash tree over %llu bytes (not a multiple of %llu "
                                           "above one block) is not supported",
                           (unsigned long long)h->image_size, (unsigned long long)block);
    /* Level sizes, bottom up, as calc_hash_level_offsets. */
    uint64_t sizes[MAX_LEVELS], offs[MAX_LEVELS], tree = 0, size = h->image_size;
    unsigned levels = 0;
    while (size > block) {
        if (levels == MAX_LEVELS)
            return signet_fail(SIGNET_E_PARSE, "hash tree too deep");
        sizes[levels] = round_up((size + block - 1) / block * dpad, block);
        tree += sizes[levels];
        size = sizes[levels++];
    }
    for (unsigned n = 0; n < levels; n++) {
        offs[n] = 0;
        for (unsigned m = n + 1; m < levels; m++)
            offs[n] += sizes[m];
    }
    uint8_t *t = calloc(1, (size_t)tree);
    if (!t)
        return signet_fail(SIGNET_E_NOMEM, "out of memory for a %llu-byte hash tree",
                           (unsigned long long)tree);
    signet_rc rc = SIGNET_OK;
    const uint8_t *src = image;
    uint64_t src_size = h->image_size;
    for (unsigned lv = 0; rc == SIGNET_OK && lv < levels; lv++) {
        uint8_t *dst = t + offs[lv];
        for (uint64_t o = 0; rc == SIGNET_OK && o < src_size; o += block) {
            size_t n = (size_t)(src_size - o < block ? src_size - o : block);
            rc = hash_block(md, h, src + o, n, (size_t)block, dst + o / block * dpad);
        }
        src = dst;
        src_size = sizes[lv];
    }
    if (rc == SIGNET_OK)
        rc = hash_block(md, h, src, (size_t)src_size, (size_t)src_size, root);
    if (rc != SIGNET_OK) {
        free(t);
        return rc;
    }
    *tree_out = t;
    *tree_len = tree;
    return SIGNET_OK;
}

signet_rc signet_avb_hashtree_build(const uint8_t *image, const signet_avb_hashtree *h,
                                    uint8_t **tree, uint64_t *tree_len, uint8_t root[64],
                                    size_t *root_len)
{
    return build_tree(image, h, tree, tree_len, root, root_len);
}

signet_rc signet_avb_hashtree_verify(const uint8_t *image, size_t len,
                                     const signet_avb_hashtree *h)
{
    if (h->image_size > len)
        return signet_fail(SIGNET_E_PARSE, "hash tree covers %llu bytes of a %zu-byte image",
                           (unsigned long long)h->image_size, len);
    uint8_t *t = NULL, root[64];
    uint64_t tree = 0;
    size_t dlen = 0;
    signet_rc rc = build_tree(image, h, &t, &tree, root, &dlen);
    if (rc != SIGNET_OK)
        return rc;
    if (h->root_digest_len != dlen)
        rc = signet_fail(SIGNET_E_PARSE, "hash tree root digest is %u bytes, %s gives %zu",
                         h->root_digest_len, h->hash_algorithm, dlen);
    else if (h->tree_size != tree)
        rc = signet_fail(SIGNET_E_VERIFY, "hash tree size %llu does not match the %llu bytes "
                                          "the image needs",
                         (unsigned long long)h->tree_size, (unsigned long long)tree);
    else if (h->tree_offset > len || tree > len - h->tree_offset)
        rc = signet_fail(SIGNET_E_PARSE, "hash tree [%llu, +%llu) lies outside the image",
                         (unsigned long long)h->tree_offset, (unsigned long long)tree);
    else if (memcmp(root, h->root_digest, dlen) != 0)
        rc = signet_fail(SIGNET_E_VERIFY, "hash tree root digest does not match the image data");
    else if (memcmp(t, image + h->tree_offset, (size_t)tree) != 0)
        rc = signet_fail(SIGNET_E_VERIFY, "the hash tree stored in the image does not match its "
                                          "data");
    free(t);
    return rc;
}

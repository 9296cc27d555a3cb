/* Android Verified Boot structures (external/avb: libavb, avbtool.py): the footer at
 * the end of a partition image, the vbmeta blob (header, authentication block,
 * auxiliary block), its descriptors, the dm-verity hash tree, verification with an
 * AVB public key, and re-signing a footed image's vbmeta with another key.
 *
 * Every structure is validated completely before any field is used (the libavb
 * order: length, magic, version, each offset + size against its own block with
 * overflow checks, the algorithm); afterwards only the converted struct is read.
 * No I/O: images are bytes in memory, signatures come from the caller (the signing
 * path), so the same code is tested, fuzzed and used. */
#ifndef SIGNET_AVB_H
#define SIGNET_AVB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

#define SIGNET_AVB_FOOTER_SIZE 64
#define SIGNET_AVB_HEADER_SIZE 256
#define SIGNET_AVB_BLOCK 4096           /* avbtool's image block size */
#define SIGNET_AVB_MAX_VBMETA (64u << 10) /* avbtool's MAX_VBMETA_SIZE */
#define SIGNET_AVB_VERSION_MAJOR 1
#define SIGNET_AVB_VERSION_MINOR 3      /* the newest libavb minor signet accepts */

typedef struct {
    uint32_t version_major, version_minor;
    uint64_t original_image_size;
    uint64_t vbmeta_offset;
    uint64_t vbmeta_size;
} signet_avb_footer;

/* Parses the last 64 bytes of image and checks the vbmeta it points at lies inside
 * the image, before the footer, at or after the original image size. */
signet_rc signet_avb_footer_parse(const uint8_t *image, size_t len, signet_avb_footer *f);
/* 64 bytes. */
void signet_avb_footer_encode(const signet_avb_footer *f, uint8_t out[SIGNET_AVB_FOOTER_SIZE]);

/* Algorithms (AvbAlgorithmType). */
typedef enum {
    SIGNET_AVB_NONE = 0,
    SIGNET_AVB_SHA256_RSA2048 = 1,
    SIGNET_AVB_SHA256_RSA4096 = 2,
    SIGNET_AVB_SHA256_RSA8192 = 3,
    SIGNET_AVB_SHA512_RSA2048 = 4,
    SIGNET_AVB_SHA512_RSA4096 = 5,
    SIGNET_AVB_SHA512_RSA8192 = 6,
} signet_avb_alg;

/* avbtool's name ("SHA256_RSA4096"), the hash (NID), its length, the modulus bytes. */
typedef struct {
    signet_avb_alg type;
    const char *name;
    int md_nid;
    size_t hash_len;
    size_t sig_len;
} signet_avb_alg_info;
const signet_avb_alg_info *signet_avb_alg_by_type(uint32_t type);
const signet_avb_alg_info *signet_avb_alg_by_name(const char *name);

typedef struct {
    uint32_t required_major, required_minor;
    uint64_t auth_size, aux_size;
    uint32_t algorithm;
    uint64_t hash_offset, hash_size;
    uint64_t sig_offset, sig_size;
    uint64_t pubkey_offset, pubkey_size;
    uint64_t pkmd_offset, pkmd_size;
    uint64_t desc_offset, desc_size;
    uint64_t rollback_index;
    uint32_t flags, rollback_index_location;
    uint8_t release_string[48];
    /* Views into the blob, valid while it lives (checked by the parser). */
    const uint8_t *header;   /* 256 bytes */
    const uint8_t *hash, *sig, *pubkey, *pkmd, *descriptors, *aux;
    size_t total;            /* header + auth + aux */
} signet_avb_vbmeta;

/* Validates and converts a vbmeta blob (len may exceed the blob: padding). */
signet_rc signet_avb_vbmeta_parse(const uint8_t *blob, size_t len, signet_avb_vbmeta *v);

/* ---- descriptors ------------------------------------------------------------ */
typedef enum {
    SIGNET_AVB_DESC_PROPERTY = 0,
    SIGNET_AVB_DESC_HASHTREE = 1,
    SIGNET_AVB_DESC_HASH = 2,
    SIGNET_AVB_DESC_KERNEL_CMDLINE = 3,
    SIGNET_AVB_DESC_CHAIN_PARTITION = 4,
} signet_avb_desc_tag;

typedef struct {
    uint32_t dm_verity_version;
    uint64_t image_size, tree_offset, tree_size;
    uint32_t data_block_size, hash_block_size;
    uint32_t fec_num_roots;
    uint64_t fec_offset, fec_size;
    char hash_algorithm[33];
    uint32_t flags;
    const uint8_t *partition_name;
    uint32_t partition_name_len;
    const uint8_t *salt;
    uint32_t salt_len;
    const uint8_t *root_digest;
    uint32_t root_digest_len;
} signet_avb_hashtree;

typedef struct {
    const uint8_t *key, *value;   /* each NUL-terminated in the blob */
    uint64_t key_len, value_len;
} signet_avb_property;

/* Walks the descriptors: fn is called for each (tag, body after the 16-byte
 * descriptor header, its length).  Each descriptor's length is checked. */
typedef signet_rc (*signet_avb_desc_fn)(void *ctx, uint64_t tag, const uint8_t *body,
                                        size_t len);
signet_rc signet_avb_descriptors(const signet_avb_vbmeta *v, signet_avb_desc_fn fn, void *ctx);
signet_rc signet_avb_hashtree_parse(const uint8_t *body, size_t len, signet_avb_hashtree *h);
signet_rc signet_avb_property_parse(const uint8_t *body, size_t len, signet_avb_property *p);
/* The one hashtree descriptor of v (SIGNET_E_NOTFOUND when none, PARSE when two),
 * and the value of property `key` (NULL when absent). */
signet_rc signet_avb_find_hashtree(const signet_avb_vbmeta *v, signet_avb_hashtree *h);
signet_rc signet_avb_find_property(const signet_avb_vbmeta *v, const char *key,
                                   signet_avb_property *p, bool *found);

/* ---- hash tree ---------------------------------------------------------------- */
/* Computes the dm-verity tree over image[0, h->image_size) as avbtool's
 * generate_hash_tree does (salted, digests padded to a power of two, levels stored
 * top-down) and checks the root digest and the tree bytes stored in the image. */
signet_rc signet_avb_hashtree_verify(const uint8_t *image, size_t len,
                                     const signet_avb_hashtree *h);
/* The tree over image[0, h->image_size) with h's algorithm, block sizes and salt
 * (h->tree_* and the root digest are not read): *tree is malloc'd, *tree_len bytes,
 * root[0, *root_len) its root digest. */
signet_rc signet_avb_hashtree_build(const uint8_t *image, const signet_avb_hashtree *h,
                                    uint8_t **tree, uint64_t *tree_len, uint8_t root[64],
                                    size_t *root_len);

/* ---- signature ------------------------------------------------------------------ */
/* Verifies v's hash and signature with the public key embedded in it, and that the
 * embedded key equals expected_pubkey (the AVB public key format) when given. */
signet_rc signet_avb_vbmeta_verify(const signet_avb_vbmeta *v, const uint8_t *expected_pubkey,
                                   size_t expected_len);
/* A whole footed image: footer, vbmeta, signature (with expected key), and the
 * hashtree descriptor's tree and root digest over the image. */
signet_rc signet_avb_image_verify(const uint8_t *image, size_t len,
                                  const uint8_t *expected_pubkey, size_t expected_len);

/* ---- re-signing --------------------------------------------------------------- */
/* The new vbmeta of a footed image for another key, in two steps so the signature
 * can come from the signing path:
 *   1. signet_avb_resign_begin: header + auxiliary block for pubkey (AVB format)
 *      and algorithm; the descriptors, flags, rollback index and release string are
 *      kept, the public key metadata is dropped (as releasetools re-signs: no
 *      --public_key_metadata); *digest is what must be signed (PKCS#1 v1.5 over
 *      that hash).
 *   2. signet_avb_resign_finish: the whole image as `avbtool add_hashtree_footer`
 *      writes it with the same salt and no partition size: the bytes before the old
 *      vbmeta unchanged, the new vbmeta padded to the block size, a block ending in
 *      the footer.
 * Refused: images with FEC (releasetools re-signs with --do_not_generate_fec) and
 * vbmeta not at a block boundary. */
typedef struct {
    sb_wr signed_part;          /* header || aux */
    uint8_t digest[64];
    size_t digest_len;
    const signet_avb_alg_info *alg;
    signet_avb_footer footer;   /* of the input */
} signet_avb_resign;

signet_rc signet_avb_resign_begin(const uint8_t *image, size_t len, const uint8_t *pubkey,
                                  size_t pubkey_len, const char *algorithm,
                                  signet_avb_resign *r);
signet_rc signet_avb_resign_finish(signet_avb_resign *r, const uint8_t *image, size_t len,
                                   const uint8_t *sig, size_t sig_len, sb_wr *out);
void signet_avb_resign_free(signet_avb_resign *r);

/* A rebuilt file system (an APEX payload whose APKs were re-signed) as a footed
 * image: fs padded to the hash block size, a new hash tree, old's vbmeta with its
 * hashtree descriptor updated (image and tree size and offset, root digest; salt,
 * algorithm and every other descriptor kept), a footer.  The vbmeta signature is
 * stale: re-sign the result with signet_avb_resign_begin/finish. */
signet_rc signet_avb_rebuild(const uint8_t *old, size_t old_len, const uint8_t *fs, size_t fs_len,
                             sb_wr *out);

#endif

/* The vbmeta header (libavb avb_vbmeta_image.c, AvbVBMetaImageHeader): 256 bytes,
 * big-endian, then the authentication block (hash, signature) and the auxiliary
 * block (descriptors, public key, public key metadata).  Validated in libavb's
 * order before any field is used. */
#include <string.h>

#include <openssl/obj_mac.h>

#include "signet/avb.h"

static const signet_avb_alg_info ALGS[] = {
    {SIGNET_AVB_NONE, "NONE", NID_undef, 0, 0},
    {SIGNET_AVB_SHA256_RSA2048, "SHA256_RSA2048", NID_sha256, 32, 256},
    {SIGNET_AVB_SHA256_RSA4096, "SHA256_RSA4096", NID_sha256, 32, 512},
    {SIGNET_AVB_SHA256_RSA8192, "SHA256_RSA8192", NID_sha256, 32, 1024},
    {SIGNET_AVB_SHA512_RSA2048, "SHA512_RSA2048", NID_sha512, 64, 256},
    {SIGNET_AVB_SHA512_RSA4096, "SHA512_RSA4096", NID_sha512, 64, 512},
    {SIGNET_AVB_SHA512_RSA8192, "SHA512_RSA8192", NID_sha512, 64, 1024},
};

const signet_avb_alg_info *signet_avb_alg_by_type(uint32_t type)
{
    return type < sizeof ALGS / sizeof ALGS[0] ? &ALGS[type] : NULL;
}

const signet_avb_alg_info *signet_avb_alg_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof ALGS / sizeof ALGS[0]; i++)
        if (strcmp(ALGS[i].name, name) == 0)
            return &ALGS[i];
    return NULL;
}

/* offset + size must lie inside a block of block_size bytes. */
static signet_rc in_block(const char *what, uint64_t off, uint64_t size, uint64_t block_size,
                          const char *block)
{
    if (off > block_size || size > block_size - off)
        return signet_fail(SIGNET_E_PARSE, "vbmeta: %s [%llu, +%llu) lies outside the %s block "
                                           "of %llu bytes",
                           what, (unsigned long long)off, (unsigned long long)size, block,
                           (unsigned long long)block_size);
    return SIGNET_OK;
}

signet_rc signet_avb_vbmeta_parse(const uint8_t *blob, size_t len, signet_avb_vbmeta *v)
{
    memset(v, 0, sizeof *v);
    if (len < SIGNET_AVB_HEADER_SIZE)
        return signet_fail(SIGNET_E_PARSE, "vbmeta of %zu bytes is shorter than its header", len);
    if (memcmp(blob, "AVB0", 4) != 0)
        return signet_fail(SIGNET_E_PARSE, "vbmeta does not start with AVB0");
    const uint8_t *h = blob;
    v->required_major = be32(h + 4);
    v->required_minor = be32(h + 8);
    if (v->required_major != SIGNET_AVB_VERSION_MAJOR ||
        v->required_minor > SIGNET_AVB_VERSION_MINOR)
        return signet_fail(SIGNET_E_UNSUPPORTED, "vbmeta needs libavb %u.%u; signet reads %d.0-%d.%d",
                           v->required_major, v->required_minor, SIGNET_AVB_VERSION_MAJOR,
                           SIGNET_AVB_VERSION_MAJOR, SIGNET_AVB_VERSION_MINOR);
    v->auth_size = be64(h + 12);
    v->aux_size = be64(h + 20);
    v->algorithm = be32(h + 28);
    v->hash_offset = be64(h + 32);
    v->hash_size = be64(h + 40);
    v->sig_offset = be64(h + 48);
    v->sig_size = be64(h + 56);
    v->pubkey_offset = be64(h + 64);
    v->pubkey_size = be64(h + 72);
    v->pkmd_offset = be64(h + 80);
    v->pkmd_size = be64(h + 88);
    v->desc_offset = be64(h + 96);
    v->desc_size = be64(h + 104);
    v->rollback_index = be64(h + 112);
    v->flags = be32(h + 120);
    v->rollback_index_location = be32(h + 124);
    memcpy(v->release_string, h + 128, sizeof v->release_string);
    /* Block sizes: multiples of 64 (libavb), and header + auth + aux within len. */
    if (v->auth_size % 64 || v->aux_size % 64)
        return signet_fail(SIGNET_E_PARSE, "vbmeta block sizes %llu and %llu are not multiples "
                                           "of 64",
                           (unsigned long long)v->auth_size, (unsigned long long)v->aux_size);
    uint64_t room = len - SIGNET_AVB_HEADER_SIZE;
    if (v->auth_size > room || v->aux_size > room - v->auth_size)
        return signet_fail(SIGNET_E_PARSE, "vbmeta blocks (%llu + %llu bytes) run past its %zu "
                                           "bytes",
                           (unsigned long long)v->auth_size, (unsigned long long)v->aux_size, len);
    signet_rc rc;
    if ((rc = in_block("hash", v->hash_offset, v->hash_size, v->auth_size, "authentication")) ||
        (rc = in_block("signature", v->sig_offset, v->sig_size, v->auth_size, "authentication")) ||
        (rc = in_block("public key", v->pubkey_offset, v->pubkey_size, v->aux_size, "auxiliary")) ||
        (rc = in_block("public key metadata", v->pkmd_offset, v->pkmd_size, v->aux_size,
                       "auxiliary")) ||
        (rc = in_block("descriptors", v->desc_offset, v->desc_size, v->aux_size, "auxiliary")))
        return rc;
    const signet_avb_alg_info *a = signet_avb_alg_by_type(v->algorithm);
    if (!a)
        return signet_fail(SIGNET_E_UNSUPPORTED, "vbmeta algorithm %u is unknown", v->algorithm);
    if (a->type != SIGNET_AVB_NONE && (v->hash_size != a->hash_len || v->sig_size != a->sig_len))
        return signet_fail(SIGNET_E_PARSE, "vbmeta: %s needs a %zu-byte hash and %zu-byte "
                                           "signature, not %llu and %llu",
                           a->name, a->hash_len, a->sig_len, (unsigned long long)v->hash_size,
                           (unsigned long long)v->sig_size);
    const uint8_t *auth = blob + SIGNET_AVB_HEADER_SIZE;
    v->aux = auth + v->auth_size;
    v->header = blob;
    v->hash = auth + v->hash_offset;
    v->sig = auth + v->sig_offset;
    v->pubkey = v->aux + v->pubkey_offset;
    v->pkmd = v->aux + v->pkmd_offset;
    v->descriptors = v->aux + v->desc_offset;
    v->total = SIGNET_AVB_HEADER_SIZE + (size_t)v->auth_size + (size_t)v->aux_size;
    return SIGNET_OK;
}

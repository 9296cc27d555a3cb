/* Symmetric key material: HMAC keys (algorithms 19-22) and AES keys (50-52).
 *
 * An HMAC key is stored zero-padded to the hash's block size: HMAC pads a short
 * key with zeros anyway, so the padded key gives the same MACs, and it matches
 * the wrapped layout yhwrap builds (key ^ 0x36 | key ^ 0x5c, one block each).
 * AES keys are stored and wrapped as the raw key. */
#include <string.h>

#include <openssl/evp.h>

#include "dev.h"
#include "signet/secmem.h"

size_t dev_hmac_block_size(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_HMAC_SHA1:
    case YH_ALGO_HMAC_SHA256: return 64;
    case YH_ALGO_HMAC_SHA384:
    case YH_ALGO_HMAC_SHA512: return 128;
    default: return 0;
    }
}

const EVP_MD *dev_hmac_md(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_HMAC_SHA1: return EVP_sha1();
    case YH_ALGO_HMAC_SHA256: return EVP_sha256();
    case YH_ALGO_HMAC_SHA384: return EVP_sha384();
    case YH_ALGO_HMAC_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

bool dev_algo_is_aes(uint8_t algo)
{
    return algo == YH_ALGO_AES128 || algo == YH_ALGO_AES192 || algo == YH_ALGO_AES256;
}

uint8_t dev_hmac_wrap_body(const dev_object *o, sb_wr *out)
{
    size_t b = dev_hmac_block_size(o->algorithm);
    if (!b || o->body_len != b)
        return YH_ERR_INVALID_DATA;
    uint8_t *dst;
    if (sbw_reserve(out, 2 * b, &dst) != SIGNET_OK)
        return YH_ERR_WRONG_LENGTH;
    for (size_t i = 0; i < b; i++) {
        dst[i] = o->body[i] ^ 0x36;
        dst[b + i] = o->body[i] ^ 0x5c;
    }
    return YH_ERR_OK;
}

uint8_t dev_hmac_unwrap_body(uint8_t algo, const uint8_t *p, size_t n, uint8_t **body,
                             size_t *body_len)
{
    size_t b = dev_hmac_block_size(algo);
    if (!b || n != 2 * b)
        return YH_ERR_INVALID_DATA;
    /* Both halves must describe the same key. */
    uint8_t diff = 0;
    for (size_t i = 0; i < b; i++)
        diff |= (uint8_t)((p[i] ^ 0x36) ^ (p[b + i] ^ 0x5c));
    if (diff)
        return YH_ERR_INVALID_DATA;
    uint8_t *k = smem_alloc(b);
    if (!k)
        return YH_ERR_STORAGE_FAILED;
    for (size_t i = 0; i < b; i++)
        k[i] = p[i] ^ 0x36;
    *body = k;
    *body_len = b;
    return YH_ERR_OK;
}

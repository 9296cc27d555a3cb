/* Symmetric keys (firmware 2.3+): AES-128/192/256 (algorithms 50-52).
 *   Put Symmetric Key:      header | key        Generate Symmetric Key: header
 *   Encrypt/Decrypt ECB:    id | data (a non-empty multiple of 16 bytes)
 *   Encrypt/Decrypt CBC:    id | IV (16) | data (a non-empty multiple of 16)
 * No padding: the host chains and pads (python-yubihsm's SymmetricKey).  Each
 * operation needs its capability on the session key and on the key. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dev.h"
#include "signet/secmem.h"

#define AES_BLOCK 16

static uint8_t sym_key_new(dev_req *rq, bool generate)
{
    unsigned cap = generate ? YH_CAP_GENERATE_SYMMETRIC_KEY : YH_CAP_PUT_SYMMETRIC_KEY;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    sb_rd r;
    sbr_init(&r, rq->data, rq->len);
    dev_put_hdr h;
    uint8_t code = dev_parse_put_hdr(&r, &h);
    if (code)
        return code;
    if (!dev_algo_is_aes(h.algorithm))
        return YH_ERR_INVALID_DATA;
    size_t klen = (size_t)yh_algo_key_bytes(h.algorithm);
    if (sbr_left(&r) != (generate ? 0 : klen))
        return generate ? YH_ERR_WRONG_LENGTH : YH_ERR_INVALID_DATA;
    dev_object *slot;
    if ((code = dev_prepare_new(rq, YH_TYPE_SYMMETRIC_KEY, &h, 0, klen, &slot)))
        return code;
    uint8_t *body = smem_alloc(klen);
    if (!body)
        return YH_ERR_STORAGE_FAILED;
    if (generate) {
        if (RAND_bytes(body, (int)klen) != 1) {
            smem_free(body);
            return YH_ERR_COMMAND_UNEXECUTED;
        }
    } else {
        memcpy(body, sbr_cur(&r), klen);
    }
    dev_obj_fill(rq->dev->st, slot, YH_TYPE_SYMMETRIC_KEY, &h, 0,
                 generate ? YH_ORIGIN_GENERATED : YH_ORIGIN_IMPORTED, body, klen);
    rq->target = h.id;
    rq->changed = true;
    return sbw_u16(rq->out, h.id) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_put_symmetric_key(dev_req *rq) { return sym_key_new(rq, false); }
uint8_t cmd_generate_symmetric_key(dev_req *rq) { return sym_key_new(rq, true); }

static const EVP_CIPHER *cipher_for(uint8_t algo, bool cbc)
{
    switch (algo) {
    case YH_ALGO_AES128: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ecb();
    case YH_ALGO_AES192: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ecb();
    case YH_ALGO_AES256: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ecb();
    default: return NULL;
    }
}

/* One ECB or CBC pass over whole blocks, without padding. */
static uint8_t aes_op(dev_req *rq, unsigned cap, bool cbc, bool enc)
{
    if (rq->len < 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_SYMMETRIC_KEY, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(o->capabilities & YH_CAP(cap)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    const EVP_CIPHER *c = cipher_for(o->algorithm, cbc);
    size_t ivlen = cbc ? AES_BLOCK : 0;
    if (!c || rq->len < 2 + ivlen)
        return YH_ERR_INVALID_DATA;
    const uint8_t *iv = cbc ? rq->data + 2 : NULL, *in = rq->data + 2 + ivlen;
    size_t n = rq->len - 2 - ivlen;
    if (n == 0 || n % AES_BLOCK)
        return YH_ERR_INVALID_DATA;
    uint8_t *dst;
    if (sbw_reserve(rq->out, n, &dst) != SIGNET_OK)
        return YH_ERR_WRONG_LENGTH;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0;
    int ok = ctx && EVP_CipherInit_ex(ctx, c, NULL, o->body, iv, enc) == 1 &&
             EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
             EVP_CipherUpdate(ctx, dst, &l1, in, (int)n) == 1 &&
             EVP_CipherFinal_ex(ctx, dst + l1, &l2) == 1 && (size_t)(l1 + l2) == n;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        smem_wipe(dst, n);
        rq->out->len -= n;
        return YH_ERR_COMMAND_UNEXECUTED;
    }
    return YH_ERR_OK;
}

uint8_t cmd_encrypt_ecb(dev_req *rq) { return aes_op(rq, YH_CAP_ENCRYPT_ECB, false, true); }
uint8_t cmd_decrypt_ecb(dev_req *rq) { return aes_op(rq, YH_CAP_DECRYPT_ECB, false, false); }
uint8_t cmd_encrypt_cbc(dev_req *rq) { return aes_op(rq, YH_CAP_ENCRYPT_CBC, true, true); }
uint8_t cmd_decrypt_cbc(dev_req *rq) { return aes_op(rq, YH_CAP_DECRYPT_CBC, true, false); }

/* RSA decryption: PKCS#1 v1.5 and OAEP.
 *   Decrypt PKCS1: id | ciphertext (the modulus length) -> message
 *   Decrypt OAEP:  id | MGF1 algorithm (32-35) | ciphertext | label hash
 * OAEP takes the hash of the label, not the label (python-yubihsm's
 * decrypt_oaep); its length picks the OAEP hash (20/32/48/64 bytes: SHA-1/256/
 * 384/512).  Because OpenSSL's OAEP wants the label itself, the device side does
 * the raw RSA operation through EVP and decodes EME-OAEP (RFC 8017 7.1.2) here,
 * with one answer (invalid data) for every decoding failure.
 * Both need the capability on the session key and on the key. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "dev.h"
#include "signet/secmem.h"

static uint8_t rsa_key(dev_req *rq, unsigned cap, dev_object **out)
{
    if (rq->len < 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, cap))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_ASYMMETRIC_KEY, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(o->capabilities & YH_CAP(cap)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (!yh_algo_is_rsa(o->algorithm) || !o->pkey)
        return YH_ERR_INVALID_DATA;
    rq->latency_ms = dev_latency_ms(YH_CMD_SIGN_PKCS1, o->algorithm);
    *out = o;
    return YH_ERR_OK;
}

/* EVP_PKEY_decrypt with the given padding into out (secure). */
static uint8_t rsa_decrypt(EVP_PKEY *k, int padding, const uint8_t *ct, size_t n, sb_wr *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    size_t len = 0;
    uint8_t code = YH_ERR_INVALID_DATA;
    int ok = ctx && EVP_PKEY_decrypt_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1;
#ifdef OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION
    /* OpenSSL 3.2+ would answer a random message for bad PKCS#1 padding; the
     * device answers an error. */
    unsigned int implicit = 0;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_uint(OSSL_ASYM_CIPHER_PARAM_IMPLICIT_REJECTION, &implicit),
        OSSL_PARAM_construct_end()};
    if (ok && padding == RSA_PKCS1_PADDING)
        ok = EVP_PKEY_CTX_set_params(ctx, params) == 1;
#endif
    if (ok && EVP_PKEY_decrypt(ctx, NULL, &len, ct, n) == 1) {
        uint8_t *dst;
        if (sbw_reserve(out, len, &dst) == SIGNET_OK) {
            size_t cap = len;
            if (EVP_PKEY_decrypt(ctx, dst, &len, ct, n) == 1 && len <= cap) {
                out->len -= cap - len;
                code = YH_ERR_OK;
            } else {
                smem_wipe(dst, cap);
                out->len -= cap;
            }
        }
    }
    EVP_PKEY_CTX_free(ctx);
    return code;
}

uint8_t cmd_decrypt_pkcs1(dev_req *rq)
{
    dev_object *o;
    uint8_t code = rsa_key(rq, YH_CAP_DECRYPT_PKCS, &o);
    if (code)
        return code;
    size_t k = (size_t)yh_algo_key_bytes(o->algorithm);
    if (rq->len - 2 != k)
        return YH_ERR_INVALID_DATA;
    sb_wr pt;
    sbw_init_secure(&pt, k);
    code = rsa_decrypt(o->pkey, RSA_PKCS1_PADDING, rq->data + 2, k, &pt);
    if (!code && sbw_put(rq->out, pt.p, pt.len))
        code = YH_ERR_WRONG_LENGTH;
    sbw_free(&pt);
    return code;
}

static const EVP_MD *md_of_len(size_t n)
{
    switch (n) {
    case 20: return EVP_sha1();
    case 32: return EVP_sha256();
    case 48: return EVP_sha384();
    case 64: return EVP_sha512();
    default: return NULL;
    }
}

static const EVP_MD *mgf1_md(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_MGF1_SHA1: return EVP_sha1();
    case YH_ALGO_MGF1_SHA256: return EVP_sha256();
    case YH_ALGO_MGF1_SHA384: return EVP_sha384();
    case YH_ALGO_MGF1_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

/* MGF1 (RFC 8017 B.2.1): mask ^= Hash(seed | counter) blocks, in place. */
static bool mgf1_xor(const EVP_MD *md, const uint8_t *seed, size_t seed_len, uint8_t *buf,
                     size_t len)
{
    size_t hlen = (size_t)EVP_MD_get_size(md);
    uint8_t block[EVP_MAX_MD_SIZE];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx != NULL;
    for (uint32_t c = 0; ok && (size_t)c * hlen < len; c++) {
        uint8_t cnt[4];
        put_be32(cnt, c);
        ok = EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
             EVP_DigestUpdate(ctx, seed, seed_len) == 1 &&
             EVP_DigestUpdate(ctx, cnt, sizeof cnt) == 1 &&
             EVP_DigestFinal_ex(ctx, block, NULL) == 1;
        for (size_t i = 0; ok && i < hlen && c * hlen + i < len; i++)
            buf[c * hlen + i] ^= block[i];
    }
    smem_wipe(block, sizeof block);
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* EME-OAEP decoding of em (k bytes, destroyed) against lhash; message into out.
 * Checks are folded into one flag so that the failure does not say which one. */
static uint8_t oaep_decode(uint8_t *em, size_t k, const uint8_t *lhash, size_t hlen,
                           const EVP_MD *mgf, sb_wr *out)
{
    if (k < 2 * hlen + 2)
        return YH_ERR_INVALID_DATA;
    uint8_t *seed = em + 1, *db = em + 1 + hlen;
    size_t db_len = k - hlen - 1;
    if (!mgf1_xor(mgf, db, db_len, seed, hlen) || !mgf1_xor(mgf, seed, hlen, db, db_len))
        return YH_ERR_COMMAND_UNEXECUTED;
    unsigned bad = em[0] != 0;
    bad |= CRYPTO_memcmp(db, lhash, hlen) != 0;
    size_t one = 0;      /* index of the 01 separator */
    unsigned found = 0;
    for (size_t i = hlen; i < db_len; i++) {
        unsigned is_one = db[i] == 0x01, is_zero = db[i] == 0x00;
        if (!found && is_one)
            one = i;
        bad |= !found && !is_one && !is_zero;
        found |= is_one;
    }
    bad |= !found;
    if (bad)
        return YH_ERR_INVALID_DATA;
    return sbw_put(out, db + one + 1, db_len - one - 1) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_decrypt_oaep(dev_req *rq)
{
    dev_object *o;
    uint8_t code = rsa_key(rq, YH_CAP_DECRYPT_OAEP, &o);
    if (code)
        return code;
    size_t k = (size_t)yh_algo_key_bytes(o->algorithm);
    if (rq->len < 3 + k)
        return YH_ERR_INVALID_DATA;
    const EVP_MD *mgf = mgf1_md(rq->data[2]);
    size_t hlen = rq->len - 3 - k;
    if (!mgf || !md_of_len(hlen))
        return YH_ERR_INVALID_DATA;
    sb_wr em;
    sbw_init_secure(&em, k);
    code = rsa_decrypt(o->pkey, RSA_NO_PADDING, rq->data + 3, k, &em);
    if (!code && em.len != k)
        code = YH_ERR_INVALID_DATA;
    if (!code)
        code = oaep_decode(em.p, k, rq->data + 3 + k, hlen, mgf, rq->out);
    sbw_free(&em);
    return code;
}

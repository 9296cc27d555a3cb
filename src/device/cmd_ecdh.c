/* Derive ECDH: id | the peer's public point (uncompressed, 04 | X | Y) -> the
 * shared secret, the X coordinate of d * peer (field length), as SP 800-56A's
 * ECC CDH primitive and python-yubihsm's derive_ecdh give it.  Needs
 * derive-ecdh on the session key and on the key; ECDSA curves only. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>

#include "dev.h"

static EVP_PKEY *peer_key(uint8_t algo, const uint8_t *pt, size_t n)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                         (char *)OBJ_nid2sn(yh_algo_curve_nid(algo)), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, n),
        OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(ctx);
    if (!k)
        return NULL;
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    int ok = chk && EVP_PKEY_public_check(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (!ok) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

uint8_t cmd_derive_ecdh(dev_req *rq)
{
    if (rq->len < 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data);
    rq->target = id;
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_DERIVE_ECDH))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_ASYMMETRIC_KEY, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    if (!(o->capabilities & YH_CAP(YH_CAP_DERIVE_ECDH)))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (!yh_algo_is_ec(o->algorithm) || !o->pkey)
        return YH_ERR_INVALID_DATA;
    size_t k = (size_t)yh_algo_key_bytes(o->algorithm);
    const uint8_t *pt = rq->data + 2;
    size_t n = rq->len - 2;
    if (n != 1 + 2 * k || pt[0] != 0x04)
        return YH_ERR_INVALID_DATA;
    EVP_PKEY *peer = peer_key(o->algorithm, pt, n);
    if (!peer)
        return YH_ERR_INVALID_DATA;
    rq->latency_ms = dev_latency_ms(YH_CMD_SIGN_ECDSA, o->algorithm);
    uint8_t *dst;
    uint8_t code = YH_ERR_WRONG_LENGTH;
    if (sbw_reserve(rq->out, k, &dst) == SIGNET_OK) {
        code = dev_ecdh(o->pkey, peer, dst, k);
        if (code)
            rq->out->len -= k;
    }
    EVP_PKEY_free(peer);
    return code;
}

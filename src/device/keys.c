/* Asymmetric key material of the emulated device, through OpenSSL 3 EVP.
 *
 * What is stored (the object body, in locked memory) is the input of Put
 * Asymmetric Key: RSA p | q (half the modulus each), EC d (field length),
 * Ed25519 the 32-byte seed.  An Ed25519 key imported from a wrapped blob that
 * carries only the expanded key keeps scalar | prefix | public (96 bytes).
 * Everything else (n, dp, dq, qinv, public points) is derived when needed. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>

#include "dev.h"
#include "signet/secmem.h"

#define ED25519_SEED_LEN 32
#define ED25519_EXPANDED_LEN 96

bool dev_algo_asym_supported(uint8_t algo)
{
    if (yh_algo_is_rsa(algo))
        return algo == YH_ALGO_RSA_2048 || algo == YH_ALGO_RSA_3072 || algo == YH_ALGO_RSA_4096;
    if (algo == YH_ALGO_EC_ED25519)
        return true;
    if (!yh_algo_is_ec(algo) || algo == YH_ALGO_EC_P256_YUBICO_AUTHENTICATION)
        return false;
    int nid = yh_algo_curve_nid(algo);
    if (!nid)
        return false;
    /* Brainpool and P-224 only when this OpenSSL build has them. */
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    EC_GROUP_free(g);
    return g != NULL;
}

size_t dev_key_object_len(uint8_t algo)
{
    int k = yh_algo_key_bytes(algo);
    if (yh_algo_is_rsa(algo))
        return (size_t)k * 7 / 2; /* p q dp dq qinv (k/2 each) and n (k) */
    if (algo == YH_ALGO_EC_ED25519)
        return ED25519_EXPANDED_LEN;
    return (size_t)k * 3;         /* d X Y */
}

/* ---- RSA ----------------------------------------------------------------------- */

/* 2^(p-1) mod p == 1 */
static bool fermat2(const BIGNUM *p, const BIGNUM *p1, BN_CTX *ctx)
{
    BIGNUM *two = BN_new(), *r = BN_new();
    bool ok = two && r && BN_set_word(two, 2) && BN_mod_exp(r, two, p1, p, ctx) && BN_is_one(r);
    BN_free(two);
    BN_free(r);
    return ok;
}

static uint8_t rsa_from_factors(int k, const BIGNUM *p, const BIGNUM *q, bool check_primes,
                                EVP_PKEY **out)
{
    uint8_t rc = YH_ERR_INVALID_DATA;
    BN_CTX *ctx = BN_CTX_secure_new();
    BIGNUM *n = BN_new(), *e = BN_new(), *d = BN_secure_new(), *p1 = BN_secure_new(),
           *q1 = BN_secure_new(), *phi = BN_secure_new(), *dp = BN_secure_new(),
           *dq = BN_secure_new(), *qi = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (!ctx || !n || !e || !d || !p1 || !q1 || !phi || !dp || !dq || !qi || !bld)
        goto done;
    if (!BN_set_word(e, 65537) || !BN_mul(n, p, q, ctx))
        goto done;
    /* The modulus must have exactly the size of the algorithm. */
    if (BN_num_bits(n) != k * 8 || BN_cmp(p, q) == 0)
        goto done;
    if (!BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()) ||
        !BN_mul(phi, p1, q1, ctx))
        goto done;
    /* A Fermat test to base 2 catches corrupted factors at the cost of one
     * modular exponentiation each (a full primality test per put would make
     * filling the device take minutes). */
    if (check_primes && (!fermat2(p, p1, ctx) || !fermat2(q, q1, ctx)))
        goto done;
    if (!BN_mod_inverse(d, e, phi, ctx)) /* e must be invertible: gcd(e, phi) = 1 */
        goto done;
    if (!BN_mod(dp, d, p1, ctx) || !BN_mod(dq, d, q1, ctx) || !BN_mod_inverse(qi, q, p, ctx))
        goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi))
        goto done;
    if (!(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) != 1)
        goto done;
    rc = YH_ERR_OK;
done:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    BN_clear_free(d);
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_clear_free(phi);
    BN_clear_free(dp);
    BN_clear_free(dq);
    BN_clear_free(qi);
    BN_CTX_free(ctx);
    return rc;
}

static uint8_t rsa_load(uint8_t algo, const uint8_t *body, size_t len, bool check_primes,
                        EVP_PKEY **out)
{
    int k = yh_algo_key_bytes(algo);
    if (len != (size_t)k)
        return YH_ERR_INVALID_DATA;
    BIGNUM *p = BN_secure_new(), *q = BN_secure_new();
    uint8_t rc = YH_ERR_INVALID_DATA;
    if (p && q && BN_bin2bn(body, k / 2, p) && BN_bin2bn(body + k / 2, k / 2, q))
        rc = rsa_from_factors(k, p, q, check_primes, out);
    BN_clear_free(p);
    BN_clear_free(q);
    return rc;
}

static uint8_t put_bn(const EVP_PKEY *pk, const char *name, int width, sb_wr *out)
{
    BIGNUM *b = NULL;
    uint8_t *dst;
    uint8_t rc = YH_ERR_INVALID_DATA;
    if (EVP_PKEY_get_bn_param(pk, name, &b) == 1 && BN_num_bytes(b) <= width &&
        sbw_reserve(out, (size_t)width, &dst) == SIGNET_OK) {
        BN_bn2binpad(b, dst, width);
        rc = YH_ERR_OK;
    }
    BN_clear_free(b);
    return rc;
}

/* ---- EC -------------------------------------------------------------------------- */

/* Uncompressed public point X | Y (without the 04 prefix) of d on the curve. */
static uint8_t ec_public_of(int nid, const BIGNUM *d, uint8_t *pub, size_t pub_len)
{
    uint8_t rc = YH_ERR_INVALID_DATA;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
    BN_CTX *ctx = BN_CTX_secure_new();
    if (pt && ctx && !BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(g)) < 0 &&
        EC_POINT_mul(g, pt, d, NULL, NULL, ctx) &&
        EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, pub, pub_len, ctx) == pub_len)
        rc = YH_ERR_OK;
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    BN_CTX_free(ctx);
    return rc;
}

static uint8_t ec_load(uint8_t algo, const uint8_t *body, size_t len, EVP_PKEY **out)
{
    int nid = yh_algo_curve_nid(algo), k = yh_algo_key_bytes(algo);
    if (!nid || len != (size_t)k)
        return YH_ERR_INVALID_DATA;
    uint8_t pub[1 + 2 * 66];
    size_t pub_len = 1 + 2 * (size_t)k;
    uint8_t rc = YH_ERR_INVALID_DATA;
    BIGNUM *d = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (!d || !bld || !BN_bin2bn(body, k, d) || ec_public_of(nid, d, pub, pub_len))
        goto done;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len))
        goto done;
    if (!(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
        EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) != 1)
        goto done;
    rc = YH_ERR_OK;
done:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return rc;
}

static uint8_t ec_point(const EVP_PKEY *pk, int k, sb_wr *out)
{
    uint8_t pub[1 + 2 * 66];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &n) != 1 ||
        n != 1 + 2 * (size_t)k || pub[0] != 0x04)
        return YH_ERR_INVALID_DATA;
    return sbw_put(out, pub + 1, n - 1) == SIGNET_OK ? YH_ERR_OK : YH_ERR_INVALID_DATA;
}

/* ---- Ed25519 ----------------------------------------------------------------------- */

/* The expanded form of the facts file: the clamped scalar of SHA-512(seed)
 * byte-reversed, the other half of the hash, the public key. */
static uint8_t ed25519_expand(const uint8_t seed[32], const uint8_t pub[32], uint8_t out[96])
{
    uint8_t h[64];
    if (!SHA512(seed, 32, h))
        return YH_ERR_INVALID_DATA;
    h[0] &= 248;
    h[31] &= 127;
    h[31] |= 64;
    for (int i = 0; i < 32; i++)
        out[i] = h[31 - i];
    memcpy(out + 32, h + 32, 32);
    memcpy(out + 64, pub, 32);
    smem_wipe(h, sizeof h);
    return YH_ERR_OK;
}

static uint8_t ed25519_load(const uint8_t *body, size_t len, EVP_PKEY **out)
{
    if (len == ED25519_SEED_LEN) {
        *out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, body, len);
        return *out ? YH_ERR_OK : YH_ERR_INVALID_DATA;
    }
    if (len == ED25519_EXPANDED_LEN) {
        /* OpenSSL gets the public half; Sign EdDSA uses the expanded key
         * itself (ed25519x.c). */
        *out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, body + 64, 32);
        return *out ? YH_ERR_OK : YH_ERR_INVALID_DATA;
    }
    return YH_ERR_INVALID_DATA;
}

/* ---- common ---------------------------------------------------------------------- */

uint8_t dev_key_load(uint8_t algo, const uint8_t *body, size_t len, bool check_primes,
                     EVP_PKEY **out)
{
    *out = NULL;
    if (!dev_algo_asym_supported(algo))
        return YH_ERR_INVALID_DATA;
    if (yh_algo_is_rsa(algo))
        return rsa_load(algo, body, len, check_primes, out);
    if (algo == YH_ALGO_EC_ED25519)
        return ed25519_load(body, len, out);
    return ec_load(algo, body, len, out);
}

uint8_t dev_key_generate(uint8_t algo, uint8_t **body, size_t *len, EVP_PKEY **out)
{
    *out = NULL;
    *body = NULL;
    if (!dev_algo_asym_supported(algo))
        return YH_ERR_INVALID_DATA;
    EVP_PKEY *pk = NULL;
    int k = yh_algo_key_bytes(algo);
    if (yh_algo_is_rsa(algo))
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)k * 8);
    else if (algo == YH_ALGO_EC_ED25519)
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", OBJ_nid2sn(yh_algo_curve_nid(algo)));
    if (!pk)
        return YH_ERR_INVALID_DATA;

    sb_wr w;
    sbw_init_secure(&w, 1024);
    uint8_t rc = YH_ERR_INVALID_DATA;
    if (yh_algo_is_rsa(algo)) {
        rc = put_bn(pk, OSSL_PKEY_PARAM_RSA_FACTOR1, k / 2, &w);
        if (!rc)
            rc = put_bn(pk, OSSL_PKEY_PARAM_RSA_FACTOR2, k / 2, &w);
    } else if (algo == YH_ALGO_EC_ED25519) {
        size_t n = ED25519_SEED_LEN;
        uint8_t *dst;
        if (sbw_reserve(&w, n, &dst) == SIGNET_OK &&
            EVP_PKEY_get_raw_private_key(pk, dst, &n) == 1 && n == ED25519_SEED_LEN)
            rc = YH_ERR_OK;
    } else {
        rc = put_bn(pk, OSSL_PKEY_PARAM_PRIV_KEY, k, &w);
    }
    if (rc) {
        sbw_free(&w);
        EVP_PKEY_free(pk);
        return rc;
    }
    *body = w.p; /* ownership of the locked buffer moves to the object */
    *len = w.len;
    *out = pk;
    return YH_ERR_OK;
}

uint8_t dev_key_public(const dev_object *o, sb_wr *out)
{
    if (!o->pkey)
        return YH_ERR_INVALID_DATA;
    int k = yh_algo_key_bytes(o->algorithm);
    if (yh_algo_is_rsa(o->algorithm))
        return put_bn(o->pkey, OSSL_PKEY_PARAM_RSA_N, k, out);
    if (o->algorithm == YH_ALGO_EC_ED25519) {
        uint8_t pub[32];
        size_t n = sizeof pub;
        if (EVP_PKEY_get_raw_public_key(o->pkey, pub, &n) != 1 || n != 32)
            return YH_ERR_INVALID_DATA;
        return sbw_put(out, pub, n) == SIGNET_OK ? YH_ERR_OK : YH_ERR_INVALID_DATA;
    }
    return ec_point(o->pkey, k, out);
}

uint8_t dev_key_wrap_body(const dev_object *o, bool with_seed, sb_wr *out)
{
    int k = yh_algo_key_bytes(o->algorithm);
    uint8_t rc;
    if (!o->pkey)
        return YH_ERR_INVALID_DATA;
    if (yh_algo_is_rsa(o->algorithm)) {
        static const char *const parts[] = {
            OSSL_PKEY_PARAM_RSA_FACTOR1, OSSL_PKEY_PARAM_RSA_FACTOR2,
            OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2,
            OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
        for (size_t i = 0; i < 5; i++)
            if ((rc = put_bn(o->pkey, parts[i], k / 2, out)))
                return rc;
        return put_bn(o->pkey, OSSL_PKEY_PARAM_RSA_N, k, out);
    }
    if (o->algorithm == YH_ALGO_EC_ED25519) {
        uint8_t exp[ED25519_EXPANDED_LEN], pub[32];
        size_t n = sizeof pub;
        if (o->body_len == ED25519_EXPANDED_LEN) {
            if (with_seed)
                return YH_ERR_INVALID_DATA; /* the seed is not known */
            memcpy(exp, o->body, sizeof exp);
        } else if (EVP_PKEY_get_raw_public_key(o->pkey, pub, &n) != 1 ||
                   ed25519_expand(o->body, pub, exp)) {
            return YH_ERR_INVALID_DATA;
        }
        signet_rc wrc = sbw_put(out, exp, sizeof exp);
        smem_wipe(exp, sizeof exp);
        if (wrc == SIGNET_OK && with_seed)
            wrc = sbw_put(out, o->body, ED25519_SEED_LEN);
        return wrc == SIGNET_OK ? YH_ERR_OK : YH_ERR_INVALID_DATA;
    }
    if ((rc = put_bn(o->pkey, OSSL_PKEY_PARAM_PRIV_KEY, k, out)))
        return rc;
    return ec_point(o->pkey, k, out);
}

/* Our body from a wrapped one, checked against the public parts it carries. */
uint8_t dev_key_unwrap_body(uint8_t algo, const uint8_t *p, size_t len, uint8_t **body,
                            size_t *body_len, EVP_PKEY **out)
{
    *body = NULL;
    *out = NULL;
    if (!dev_algo_asym_supported(algo))
        return YH_ERR_INVALID_DATA;
    int k = yh_algo_key_bytes(algo);
    size_t keep;
    if (yh_algo_is_rsa(algo)) {
        if (len != dev_key_object_len(algo))
            return YH_ERR_INVALID_DATA;
        keep = (size_t)k; /* p | q */
    } else if (algo == YH_ALGO_EC_ED25519) {
        if (len == ED25519_EXPANDED_LEN + ED25519_SEED_LEN) {
            p += ED25519_EXPANDED_LEN; /* with the seed: keep only the seed */
            keep = ED25519_SEED_LEN;
        } else if (len == ED25519_EXPANDED_LEN) {
            keep = ED25519_EXPANDED_LEN;
        } else {
            return YH_ERR_INVALID_DATA;
        }
    } else {
        if (len != dev_key_object_len(algo))
            return YH_ERR_INVALID_DATA;
        keep = (size_t)k; /* d */
    }
    uint8_t *b = smem_alloc(keep);
    if (!b)
        return YH_ERR_STORAGE_FAILED;
    memcpy(b, p, keep);
    uint8_t rc = dev_key_load(algo, b, keep, false, out);
    /* The public parts in the blob must match the private key. */
    if (!rc) {
        sb_wr w;
        sbw_init_secure(&w, 4096);
        if (algo == YH_ALGO_EC_ED25519 && keep == ED25519_SEED_LEN)
            rc = dev_key_public(&(dev_object){.algorithm = algo, .pkey = *out}, &w);
        if (!rc && algo == YH_ALGO_EC_ED25519 && keep == ED25519_SEED_LEN &&
            memcmp(w.p, p - ED25519_EXPANDED_LEN + 64, 32) != 0)
            rc = YH_ERR_INVALID_DATA;
        if (!rc && algo != YH_ALGO_EC_ED25519) {
            dev_object tmp = {.algorithm = algo, .pkey = *out};
            rc = dev_key_wrap_body(&tmp, false, &w);
            if (!rc && (w.len != len || CRYPTO_memcmp(w.p, p, len) != 0))
                rc = YH_ERR_INVALID_DATA;
        }
        sbw_free(&w);
    }
    if (rc) {
        EVP_PKEY_free(*out);
        *out = NULL;
        smem_free(b);
        return rc;
    }
    *body = b;
    *body_len = keep;
    return YH_ERR_OK;
}

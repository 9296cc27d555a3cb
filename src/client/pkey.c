/* Conversions between the device's key encodings and OpenSSL keys:
 *   Get Public Key answers RSA n, EC X|Y, Ed25519 A (32 bytes);
 *   Put Asymmetric Key takes RSA p|q, EC d, the Ed25519 seed. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "internal.h"
#include "signet/secmem.h"

static bool is_rsa_key(uint8_t a)
{
    return a == YH_ALGO_RSA_2048 || a == YH_ALGO_RSA_3072 || a == YH_ALGO_RSA_4096;
}

static signet_rc from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *k = NULL;
    int ok = params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) == 1;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    if (ok) {
        /* A point not on the curve (or a bad modulus) must not become a key. */
        EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
        ok = chk && EVP_PKEY_public_check(chk) == 1;
        EVP_PKEY_CTX_free(chk);
    }
    if (!ok) {
        EVP_PKEY_free(k);
        return signet_fail(SIGNET_E_PARSE, "the device returned an invalid %s public key", type);
    }
    *out = k;
    return SIGNET_OK;
}

static signet_rc ec_from_point(int nid, const uint8_t *pt, size_t len, EVP_PKEY **out)
{
    const char *group = OBJ_nid2sn(nid);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (!bld || !group ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len)) {
        OSSL_PARAM_BLD_free(bld);
        return signet_fail(SIGNET_E_NOMEM, "out of memory building an EC key");
    }
    signet_rc rc = from_params("EC", bld, out);
    OSSL_PARAM_BLD_free(bld);
    return rc;
}

signet_rc pubkey_from_device(uint8_t algo, const uint8_t *p, size_t len, EVP_PKEY **out)
{
    *out = NULL;
    if (is_rsa_key(algo)) {
        size_t n = (size_t)yh_algo_key_bytes(algo);
        if (len != n)
            return signet_fail(SIGNET_E_PARSE, "%s public key of %zu bytes (expected %zu)",
                               yh_algo_name(algo), len, n);
        BIGNUM *bn = BN_bin2bn(p, (int)len, NULL);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        signet_rc rc;
        if (!bn || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
            !OSSL_PARAM_BLD_push_ulong(bld, OSSL_PKEY_PARAM_RSA_E, 65537UL))
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory building an RSA key");
        else
            rc = from_params("RSA", bld, out);
        OSSL_PARAM_BLD_free(bld);
        BN_free(bn);
        return rc;
    }
    if (yh_algo_is_ec(algo)) {
        size_t f = (size_t)yh_algo_key_bytes(algo);
        int nid = yh_algo_curve_nid(algo);
        if (!f || !nid)
            return signet_fail(SIGNET_E_UNSUPPORTED, "curve %s is not supported",
                               yh_algo_name(algo));
        if (len != 2 * f)
            return signet_fail(SIGNET_E_PARSE, "%s public key of %zu bytes (expected %zu)",
                               yh_algo_name(algo), len, 2 * f);
        uint8_t pt[1 + 2 * 66];
        pt[0] = 0x04;
        memcpy(pt + 1, p, len);
        return ec_from_point(nid, pt, 1 + len, out);
    }
    if (algo == YH_ALGO_EC_ED25519) {
        if (len != 32)
            return signet_fail(SIGNET_E_PARSE, "ed25519 public key of %zu bytes (expected 32)",
                               len);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        signet_rc rc;
        if (!bld || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, p, len))
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory building an Ed25519 key");
        else
            rc = from_params("ED25519", bld, out);
        OSSL_PARAM_BLD_free(bld);
        return rc;
    }
    return signet_fail(SIGNET_E_UNSUPPORTED, "the device returned a key of algorithm %s (%u), "
                                             "which has no public key signet understands",
                       yh_algo_name(algo), algo);
}

signet_rc pubkey_p256_from_point(const uint8_t pt[YH_EC_P256_PUB_LEN], EVP_PKEY **out)
{
    *out = NULL;
    if (pt[0] != 0x04)
        return signet_fail(SIGNET_E_PARSE, "a P-256 point must be uncompressed (04 | X | Y)");
    return ec_from_point(NID_X9_62_prime256v1, pt, YH_EC_P256_PUB_LEN, out);
}

signet_rc pubkey_p256_point(EVP_PKEY *k, uint8_t out[YH_EC_P256_PUB_LEN])
{
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, out, YH_EC_P256_PUB_LEN,
                                        &n) != 1 ||
        n != YH_EC_P256_PUB_LEN || out[0] != 0x04)
        return signet_fail(SIGNET_E_ARG, "not an uncompressed EC P-256 public key");
    return SIGNET_OK;
}

static signet_rc put_bn_param(EVP_PKEY *key, const char *name, size_t width, sb_wr *out)
{
    BIGNUM *bn = NULL;
    uint8_t *dst;
    signet_rc rc = SIGNET_OK;
    if (EVP_PKEY_get_bn_param(key, name, &bn) != 1)
        return signet_fail(SIGNET_E_ARG, "the private key lacks its %s component", name);
    if ((size_t)BN_num_bytes(bn) > width)
        rc = signet_fail(SIGNET_E_ARG, "the key's %s component is longer than %zu bytes", name,
                         width);
    else if ((rc = sbw_reserve(out, width, &dst)) == SIGNET_OK &&
             BN_bn2binpad(bn, dst, (int)width) < 0)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the key's %s component", name);
    BN_clear_free(bn);
    return rc;
}

signet_rc privkey_device_bytes(EVP_PKEY *key, uint8_t algo, sb_wr *out)
{
    if (is_rsa_key(algo)) {
        size_t n = (size_t)yh_algo_key_bytes(algo);
        if (!EVP_PKEY_is_a(key, "RSA") || (size_t)EVP_PKEY_get_bits(key) != n * 8)
            return signet_fail(SIGNET_E_ARG, "the key is not an RSA-%zu key, as %s needs", n * 8,
                               yh_algo_name(algo));
        BIGNUM *e = NULL;
        bool e_ok = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
                    BN_is_word(e, 65537);
        BN_free(e);
        if (!e_ok)
            return signet_fail(SIGNET_E_ARG, "the YubiHSM only holds RSA keys with exponent 65537");
        signet_rc rc = put_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR1, n / 2, out);
        return rc ? rc : put_bn_param(key, OSSL_PKEY_PARAM_RSA_FACTOR2, n / 2, out);
    }
    if (yh_algo_is_ec(algo)) {
        char group[64] = "";
        if (!EVP_PKEY_is_a(key, "EC") ||
            EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           NULL) != 1)
            return signet_fail(SIGNET_E_ARG, "the key is not an EC key, as %s needs",
                               yh_algo_name(algo));
        int nid = OBJ_txt2nid(group);
        if (nid == NID_undef)
            nid = EC_curve_nist2nid(group);
        if (nid != yh_algo_curve_nid(algo))
            return signet_fail(SIGNET_E_ARG, "the key is on curve %s, not the curve of %s", group,
                               yh_algo_name(algo));
        return put_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, (size_t)yh_algo_key_bytes(algo), out);
    }
    if (algo == YH_ALGO_EC_ED25519) {
        if (!EVP_PKEY_is_a(key, "ED25519"))
            return signet_fail(SIGNET_E_ARG, "the key is not an Ed25519 key");
        uint8_t *dst;
        size_t n = 32;
        signet_rc rc = sbw_reserve(out, 32, &dst);
        if (rc == SIGNET_OK && (EVP_PKEY_get_raw_private_key(key, dst, &n) != 1 || n != 32))
            rc = signet_fail(SIGNET_E_ARG, "cannot read the Ed25519 private key");
        return rc;
    }
    return signet_fail(SIGNET_E_ARG, "%s is not an asymmetric key algorithm", yh_algo_name(algo));
}

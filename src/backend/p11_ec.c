/* EC and Ed25519 public keys in PKCS#11 form: CKA_EC_PARAMS (the curve's OID,
 * DER) and CKA_EC_POINT (the public point, DER OCTET STRING), both ways.  Tokens
 * are not required to offer CKA_PUBLIC_KEY_INFO (SoftHSM2 2.6 leaves it empty),
 * while CKA_EC_POINT is mandatory for every EC and EdDSA public key object.
 * DER goes through OpenSSL's own ASN.1 decoder; the point is then checked by
 * EVP_PKEY_fromdata (on the curve) before it is compared with anything. */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>

#include "p11_internal.h"
#include "signet/proto.h"

static int curve_nid(uint8_t algorithm)
{
    return algorithm == YH_ALGO_EC_ED25519 ? NID_ED25519 : yh_algo_curve_nid(algorithm);
}

signet_rc p11_ec_params(uint8_t algorithm, sb_wr *out)
{
    int nid = curve_nid(algorithm);
    const ASN1_OBJECT *oid = nid ? OBJ_nid2obj(nid) : NULL;
    int n = oid ? i2d_ASN1_OBJECT(oid, NULL) : -1;
    uint8_t *dst;
    if (n <= 0)
        return signet_fail(SIGNET_E_UNSUPPORTED, "no PKCS#11 curve for %s", yh_algo_name(algorithm));
    signet_rc rc = sbw_reserve(out, (size_t)n, &dst);
    if (rc == SIGNET_OK && i2d_ASN1_OBJECT(oid, &dst) != n)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the curve of %s", yh_algo_name(algorithm));
    return rc;
}

signet_rc p11_ec_point(EVP_PKEY *pk, sb_wr *out)
{
    uint8_t pt[160];
    size_t n = 0;
    ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
    signet_rc rc = SIGNET_OK;
    if (!os || EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                                sizeof pt, &n) != 1 ||
        ASN1_OCTET_STRING_set(os, pt, (int)n) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot read the public point of an EC key");
    int len = rc ? -1 : i2d_ASN1_OCTET_STRING(os, NULL);
    uint8_t *dst;
    if (rc == SIGNET_OK && (len <= 0 || sbw_reserve(out, (size_t)len, &dst) != SIGNET_OK ||
                            i2d_ASN1_OCTET_STRING(os, &dst) != len))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the public point of an EC key");
    ASN1_OCTET_STRING_free(os);
    return rc;
}

/* The curve the token names must be the key map's: its OID, or for Ed25519 also
 * the PrintableString "edwards25519" that PKCS#11 3.0 allows. */
static bool params_match(uint8_t algorithm, const uint8_t *params, size_t len)
{
    static const uint8_t ed_name[] = {0x13, 12, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5', '5',
                                      '1', '9'};
    if (algorithm == YH_ALGO_EC_ED25519 && len == sizeof ed_name &&
        memcmp(params, ed_name, len) == 0)
        return true;
    sb_wr want;
    sbw_init(&want, 16);
    bool ok = p11_ec_params(algorithm, &want) == SIGNET_OK && want.len == len &&
              memcmp(want.p, params, len) == 0;
    sbw_free(&want);
    signet_err_clear();
    return ok;
}

signet_rc p11_ec_public(uint8_t algorithm, const uint8_t *params, size_t params_len,
                        const uint8_t *point, size_t point_len, EVP_PKEY **out)
{
    *out = NULL;
    if (!params_match(algorithm, params, params_len))
        return signet_fail(SIGNET_E_VERIFY, "the token's key is not on the curve of %s",
                           yh_algo_name(algorithm));
    /* DER OCTET STRING as the standard says; some tokens give the bare point (a
     * bare point that happens to read as DER has the wrong length inside). */
    const uint8_t *raw = point;
    size_t raw_len = point_len;
    const unsigned char *q = point;
    ASN1_OCTET_STRING *os = point_len <= 200 ? d2i_ASN1_OCTET_STRING(NULL, &q, (long)point_len)
                                             : NULL;
    size_t k = (size_t)yh_algo_key_bytes(algorithm);
    size_t in = os ? (size_t)ASN1_STRING_length(os) : 0;
    bool plausible = algorithm == YH_ALGO_EC_ED25519 ? in == 32 : in == 2 * k + 1 || in == k + 1;
    if (os && q == point + point_len && plausible) {
        raw = ASN1_STRING_get0_data(os);
        raw_len = (size_t)ASN1_STRING_length(os);
    }
    signet_rc rc = SIGNET_OK;
    if (algorithm == YH_ALGO_EC_ED25519) {
        if (raw_len != 32 ||
            !(*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, raw_len)))
            rc = signet_fail(SIGNET_E_PARSE, "the token's Ed25519 public key has %zu bytes, not 32",
                             raw_len);
    } else {
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        OSSL_PARAM *p = NULL;
        EVP_PKEY_CTX *ctx = NULL;
        const char *group = OBJ_nid2sn(curve_nid(algorithm));
        if (!bld || !group ||
            !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, raw, raw_len) ||
            !(p = OSSL_PARAM_BLD_to_param(bld)) ||
            !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
            EVP_PKEY_fromdata_init(ctx) != 1 ||
            EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, p) != 1)
            rc = signet_fail(SIGNET_E_PARSE, "the token's public point is not a point of %s",
                             yh_algo_name(algorithm));
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(p);
        OSSL_PARAM_BLD_free(bld);
    }
    ASN1_OCTET_STRING_free(os);
    if (rc == SIGNET_OK)
        signet_err_clear();
    return rc;
}

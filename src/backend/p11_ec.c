/* EC and Ed25519 public keys in PKCS#11 form: CKA_EC_PARAMS (the curve's OID,
 * DER) and CKA_EC_POINT (the public point, DER OCTET STRING), both ways.  Tokens
 * are not required to offer CKA_PUBLIC_KEY_INFO (SoftHSM2 2.6 leaves it empty),
 * while CKA_EC_POINT is mandatory for every EC and EdDSA public key object.
 * DER goes through OpenSSL's own ASN.1 decoder.
 *
 * Public keys are built as SubjectPublicKeyInfo DER and decoded by d2i_PUBKEY
 * (which checks an EC point is on its curve), not by EVP_PKEY_fromdata: inside
 * signet's PKCS#11 module the host process may have an ENGINE registered for RSA
 * or EC (openssl with libp11's engine), and OpenSSL then hands EVP_PKEY_CTX_new_*
 * the engine's legacy method, which cannot build keys from parameters. */
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "p11_internal.h"
#include "signet/proto.h"

static int curve_nid(uint8_t algorithm)
{
    return algorithm == YH_ALGO_EC_ED25519 ? NID_ED25519 : yh_algo_curve_nid(algorithm);
}

/* A DER length. */
static signet_rc der_len(sb_wr *w, size_t n)
{
    uint8_t b[5];
    size_t k = 0;
    if (n < 0x80) {
        b[k++] = (uint8_t)n;
    } else {
        size_t bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
        b[k++] = (uint8_t)(0x80 | bytes);
        for (size_t i = bytes; i-- > 0;)
            b[k++] = (uint8_t)(n >> (8 * i));
    }
    return sbw_put(w, b, k);
}

static signet_rc der_tlv(sb_wr *w, uint8_t tag, const uint8_t *lead, size_t lead_len,
                         const uint8_t *v, size_t n)
{
    signet_rc rc = sbw_put(w, &tag, 1);
    if (rc == SIGNET_OK)
        rc = der_len(w, lead_len + n);
    if (rc == SIGNET_OK && lead_len)
        rc = sbw_put(w, lead, lead_len);
    return rc ? rc : sbw_put(w, v, n);
}

signet_rc p11_spki(const uint8_t *alg, size_t alg_len, const uint8_t *key, size_t key_len,
                   EVP_PKEY **out)
{
    static const uint8_t unused_bits = 0;
    sb_wr body, spki;
    sbw_init(&body, 1100);
    sbw_init(&spki, 1100);
    signet_rc rc = der_tlv(&body, 0x30, NULL, 0, alg, alg_len);
    if (rc == SIGNET_OK)
        rc = der_tlv(&body, 0x03, &unused_bits, 1, key, key_len);
    if (rc == SIGNET_OK)
        rc = der_tlv(&spki, 0x30, NULL, 0, body.p, body.len);
    const unsigned char *q = spki.p;
    *out = NULL;
    if (rc == SIGNET_OK && (!(*out = d2i_PUBKEY(NULL, &q, (long)spki.len)) ||
                            q != spki.p + spki.len)) {
        EVP_PKEY_free(*out);
        *out = NULL;
        rc = signet_fail(SIGNET_E_PARSE, "the token's public key does not decode");
    }
    sbw_free(&body);
    sbw_free(&spki);
    return rc;
}

/* An unsigned big-endian number as a DER INTEGER. */
static signet_rc der_uint(sb_wr *w, const uint8_t *v, size_t n)
{
    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    static const uint8_t zero = 0;
    bool pad = n == 0 || (v[0] & 0x80);
    return der_tlv(w, 0x02, &zero, pad ? 1 : 0, v, n);
}

signet_rc p11_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                         EVP_PKEY **out)
{
    static const uint8_t alg[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
                                  0x05, 0x00}; /* rsaEncryption, NULL */
    sb_wr ints, seq;
    sbw_init(&ints, 1100);
    sbw_init(&seq, 1100);
    *out = NULL;
    signet_rc rc = der_uint(&ints, n, n_len);
    if (rc == SIGNET_OK)
        rc = der_uint(&ints, e, e_len);
    if (rc == SIGNET_OK)
        rc = der_tlv(&seq, 0x30, NULL, 0, ints.p, ints.len);
    if (rc == SIGNET_OK)
        rc = p11_spki(alg, sizeof alg, seq.p, seq.len, out);
    sbw_free(&ints);
    sbw_free(&seq);
    return rc;
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
    if (algorithm == YH_ALGO_EC_ED25519 && raw_len != 32)
        rc = signet_fail(SIGNET_E_PARSE, "the token's Ed25519 public key has %zu bytes, not 32",
                         raw_len);
    static const uint8_t ec_oid[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    sb_wr alg;
    sbw_init(&alg, 32);
    if (rc == SIGNET_OK && algorithm == YH_ALGO_EC_ED25519)
        rc = p11_ec_params(algorithm, &alg); /* id-Ed25519, no parameters (RFC 8410) */
    else if (rc == SIGNET_OK && (rc = sbw_put(&alg, ec_oid, sizeof ec_oid)) == SIGNET_OK)
        rc = p11_ec_params(algorithm, &alg);
    if (rc == SIGNET_OK)
        rc = p11_spki(alg.p, alg.len, raw, raw_len, out);
    if (rc)
        rc = signet_wrap(rc, "the token's public point is not a point of %s",
                         yh_algo_name(algorithm));
    sbw_free(&alg);
    ASN1_OCTET_STRING_free(os);
    if (rc == SIGNET_OK)
        signet_err_clear();
    return rc;
}

/* Mechanisms: what the module offers, and the conversions between PKCS#11's forms
 * and the device's (DigestInfo for RSA, raw r|s for ECDSA, PSS parameters). */
#include <string.h>

#include <openssl/evp.h>

#include "p11.h"
#include "signet/proto.h"

#define SV (CKF_SIGN | CKF_VERIFY)
#define ED (CKF_ENCRYPT | CKF_DECRYPT)
static const struct p11_mech_desc mechs[] = {
    {CKM_RSA_PKCS, CKK_RSA, NULL, false, SV | ED},
    {CKM_SHA1_RSA_PKCS, CKK_RSA, "SHA1", false, SV},
    {CKM_SHA256_RSA_PKCS, CKK_RSA, "SHA256", false, SV},
    {CKM_SHA384_RSA_PKCS, CKK_RSA, "SHA384", false, SV},
    {CKM_SHA512_RSA_PKCS, CKK_RSA, "SHA512", false, SV},
    {CKM_RSA_PKCS_PSS, CKK_RSA, NULL, true, SV},
    {CKM_SHA1_RSA_PKCS_PSS, CKK_RSA, "SHA1", true, SV},
    {CKM_SHA256_RSA_PKCS_PSS, CKK_RSA, "SHA256", true, SV},
    {CKM_SHA384_RSA_PKCS_PSS, CKK_RSA, "SHA384", true, SV},
    {CKM_SHA512_RSA_PKCS_PSS, CKK_RSA, "SHA512", true, SV},
    {CKM_ECDSA, CKK_EC, NULL, false, SV},
    {CKM_ECDSA_SHA1, CKK_EC, "SHA1", false, SV},
    {CKM_ECDSA_SHA256, CKK_EC, "SHA256", false, SV},
    {CKM_ECDSA_SHA384, CKK_EC, "SHA384", false, SV},
    {CKM_ECDSA_SHA512, CKK_EC, "SHA512", false, SV},
    {CKM_EDDSA, CKK_EC_EDWARDS, NULL, false, SV},
    /* Encryption with the public key in software; decryption on the device, only
     * with keys whose key-map role is "decrypt". */
    {CKM_RSA_PKCS_OAEP, CKK_RSA, NULL, false, ED},
    /* Key generation through `signet keys generate`'s path (keygen.c). */
    {CKM_RSA_PKCS_KEY_PAIR_GEN, CKK_RSA, NULL, false, CKF_GENERATE_KEY_PAIR},
    {CKM_EC_KEY_PAIR_GEN, CKK_EC, NULL, false, CKF_GENERATE_KEY_PAIR},
    {CKM_EC_EDWARDS_KEY_PAIR_GEN, CKK_EC_EDWARDS, NULL, false, CKF_GENERATE_KEY_PAIR},
    /* Digests, in software. */
    {CKM_SHA_1, P11_NO_KEY, "SHA1", false, CKF_DIGEST},
    {CKM_SHA224, P11_NO_KEY, "SHA224", false, CKF_DIGEST},
    {CKM_SHA256, P11_NO_KEY, "SHA256", false, CKF_DIGEST},
    {CKM_SHA384, P11_NO_KEY, "SHA384", false, CKF_DIGEST},
    {CKM_SHA512, P11_NO_KEY, "SHA512", false, CKF_DIGEST},
};

#define N_MECHS (sizeof mechs / sizeof mechs[0])

const struct p11_mech_desc *p11_mech_find(CK_MECHANISM_TYPE type)
{
    for (size_t i = 0; i < N_MECHS; i++)
        if (mechs[i].type == type)
            return &mechs[i];
    return NULL;
}

const struct p11_mech_desc *p11_mech_lookup(CK_MECHANISM_TYPE type)
{
    const struct p11_mech_desc *m = p11_mech_find(type);
    return m && (m->flags & CKF_SIGN) ? m : NULL;
}

size_t p11_mech_count(void) { return N_MECHS; }

const struct p11_mech_desc *p11_mech_at(size_t i) { return i < N_MECHS ? &mechs[i] : NULL; }

const EVP_MD *p11_md_by_len(size_t len)
{
    switch (len) {
    case 20: return EVP_sha1();
    case 32: return EVP_sha256();
    case 48: return EVP_sha384();
    case 64: return EVP_sha512();
    default: return NULL;
    }
}

const EVP_MD *p11_md_of_mgf1(uint8_t mgf1)
{
    switch (mgf1) {
    case YH_ALGO_MGF1_SHA1: return EVP_sha1();
    case YH_ALGO_MGF1_SHA256: return EVP_sha256();
    case YH_ALGO_MGF1_SHA384: return EVP_sha384();
    case YH_ALGO_MGF1_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

void p11_mech_info(const struct p11_mech_desc *m, CK_MECHANISM_INFO *info)
{
    memset(info, 0, sizeof *info);
    /* Signing and decryption run on the device; verification, encryption and
     * digests in the module. */
    info->flags = m->flags;
    if (m->flags & (CKF_SIGN | CKF_DECRYPT | CKF_GENERATE_KEY_PAIR))
        info->flags |= CKF_HW;
    switch (m->key_type) {
    case CKK_RSA:
        info->ulMinKeySize = 2048;
        info->ulMaxKeySize = 4096;
        break;
    case CKK_EC:
        info->ulMinKeySize = 224;
        info->ulMaxKeySize = 521;
        info->flags |= CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
        break;
    case CKK_EC_EDWARDS:
        info->ulMinKeySize = 256;
        info->ulMaxKeySize = 256;
        break;
    default: /* digests */
        break;
    }
}

size_t p11_mechs_for_key(CK_KEY_TYPE kt, CK_MECHANISM_TYPE *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < N_MECHS && n < max; i++)
        if (mechs[i].key_type == kt && (mechs[i].flags & CKF_SIGN))
            out[n++] = mechs[i].type;
    return n;
}

/* ---- DigestInfo ------------------------------------------------------------------ */
struct digestinfo {
    const char *digest;
    const EVP_MD *(*md)(void);
    size_t hash_len;
    uint8_t prefix[19];
    size_t prefix_len;
};

/* DER of DigestInfo up to the digest's OCTET STRING header (RFC 8017 section 9.2). */
static const struct digestinfo digestinfos[] = {
    {"SHA1", EVP_sha1, 20, {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
                  0x04, 0x14}, 15},
    {"SHA224", EVP_sha224, 28, {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x04, 0x05, 0x00, 0x04, 0x1c}, 19},
    {"SHA256", EVP_sha256, 32, {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, 19},
    {"SHA384", EVP_sha384, 48, {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x02, 0x05, 0x00, 0x04, 0x30}, 19},
    {"SHA512", EVP_sha512, 64, {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                    0x02, 0x03, 0x05, 0x00, 0x04, 0x40}, 19},
};

const uint8_t *p11_digestinfo_prefix(const char *digest, size_t *len)
{
    for (size_t i = 0; i < sizeof digestinfos / sizeof digestinfos[0]; i++)
        if (strcmp(digestinfos[i].digest, digest) == 0) {
            *len = digestinfos[i].prefix_len;
            return digestinfos[i].prefix;
        }
    return NULL;
}

const EVP_MD *p11_digest_md(const char *digest)
{
    for (size_t i = 0; digest && i < sizeof digestinfos / sizeof digestinfos[0]; i++)
        if (strcmp(digestinfos[i].digest, digest) == 0)
            return digestinfos[i].md();
    return NULL; /* never a default: an unknown name is an error for the caller */
}

bool p11_is_digestinfo(const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < sizeof digestinfos / sizeof digestinfos[0]; i++) {
        const struct digestinfo *d = &digestinfos[i];
        if (len == d->prefix_len + d->hash_len && memcmp(data, d->prefix, d->prefix_len) == 0)
            return true;
    }
    return false;
}

/* ---- ECDSA signature form --------------------------------------------------------- */
static signet_rc der_header(sb_rd *r, uint8_t want_tag, size_t *len)
{
    uint8_t tag, b;
    signet_rc rc = sbr_u8(r, &tag);
    if (rc)
        return rc;
    if (tag != want_tag)
        return signet_fail(SIGNET_E_PARSE, "ECDSA signature: expected DER tag 0x%02x, got 0x%02x",
                           want_tag, tag);
    if ((rc = sbr_u8(r, &b)))
        return rc;
    if (b < 0x80) {
        *len = b;
    } else if (b == 0x81) {
        if ((rc = sbr_u8(r, &b)))
            return rc;
        if (b < 0x80)
            return signet_fail(SIGNET_E_PARSE, "ECDSA signature: non-minimal DER length");
        *len = b;
    } else {
        /* No ECDSA signature of a supported curve needs more than 255 bytes. */
        return signet_fail(SIGNET_E_PARSE, "ECDSA signature: unsupported DER length form 0x%02x",
                           b);
    }
    if (*len > sbr_left(r))
        return signet_fail(SIGNET_E_PARSE, "ECDSA signature: DER length %zu exceeds the %zu bytes "
                                           "left", *len, sbr_left(r));
    return SIGNET_OK;
}

static signet_rc der_uint(sb_rd *r, size_t field_bytes, uint8_t *out)
{
    size_t len;
    const uint8_t *p;
    signet_rc rc = der_header(r, 0x02, &len);
    if (rc == SIGNET_OK)
        rc = sbr_ptr(r, &p, len);
    if (rc)
        return rc;
    if (len == 0 || (p[0] & 0x80))
        return signet_fail(SIGNET_E_PARSE, "ECDSA signature: r or s is empty or negative");
    if (len > 1 && p[0] == 0 && !(p[1] & 0x80))
        return signet_fail(SIGNET_E_PARSE, "ECDSA signature: non-minimal integer");
    while (len > 0 && p[0] == 0) {
        p++;
        len--;
    }
    if (len > field_bytes)
        return signet_fail(SIGNET_E_PARSE, "ECDSA signature: integer of %zu bytes is longer than "
                                           "the curve's %zu", len, field_bytes);
    memset(out, 0, field_bytes - len);
    memcpy(out + field_bytes - len, p, len);
    return SIGNET_OK;
}

signet_rc p11_ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t field_bytes, uint8_t *out)
{
    sb_rd r, seq;
    size_t slen;
    sbr_init(&r, der, len);
    signet_rc rc = der_header(&r, 0x30, &slen);
    if (rc == SIGNET_OK)
        rc = sbr_sub(&r, &seq, slen);
    if (rc == SIGNET_OK)
        rc = sbr_end(&r);
    if (rc == SIGNET_OK)
        rc = der_uint(&seq, field_bytes, out);
    if (rc == SIGNET_OK)
        rc = der_uint(&seq, field_bytes, out + field_bytes);
    if (rc == SIGNET_OK)
        rc = sbr_end(&seq);
    if (rc)
        return signet_wrap(rc, "the device's ECDSA signature is malformed");
    return SIGNET_OK;
}

/* ---- PSS parameters ------------------------------------------------------------------ */
static bool hash_of(CK_MECHANISM_TYPE h, const char **name, size_t *len)
{
    switch (h) {
    case CKM_SHA_1: *name = "SHA1"; *len = 20; return true;
    case CKM_SHA256: *name = "SHA256"; *len = 32; return true;
    case CKM_SHA384: *name = "SHA384"; *len = 48; return true;
    case CKM_SHA512: *name = "SHA512"; *len = 64; return true;
    default: return false;
    }
}

static bool mgf_of(CK_RSA_PKCS_MGF_TYPE mgf, uint8_t *algo)
{
    switch (mgf) {
    case CKG_MGF1_SHA1: *algo = YH_ALGO_MGF1_SHA1; return true;
    case CKG_MGF1_SHA256: *algo = YH_ALGO_MGF1_SHA256; return true;
    case CKG_MGF1_SHA384: *algo = YH_ALGO_MGF1_SHA384; return true;
    case CKG_MGF1_SHA512: *algo = YH_ALGO_MGF1_SHA512; return true;
    default: return false; /* the device has MGF1 with these four hashes only */
    }
}

CK_RV p11_pss_params(const CK_MECHANISM *m, const struct p11_mech_desc *d, size_t *hash_len,
                     uint8_t *mgf1, uint16_t *salt_len)
{
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    CK_RSA_PKCS_PSS_PARAMS pp;
    memcpy(&pp, m->pParameter, sizeof pp);
    const char *name;
    if (!hash_of(pp.hashAlg, &name, hash_len))
        return CKR_MECHANISM_PARAM_INVALID;
    /* For the hashing variants the parameter must name the mechanism's own hash. */
    if (d->digest && strcmp(d->digest, name) != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!mgf_of(pp.mgf, mgf1))
        return CKR_MECHANISM_PARAM_INVALID;
    if (pp.sLen > 0xffff)
        return CKR_MECHANISM_PARAM_INVALID;
    *salt_len = (uint16_t)pp.sLen;
    return CKR_OK;
}

CK_RV p11_oaep_params(const CK_MECHANISM *m, const EVP_MD **md, uint8_t *mgf1,
                      const uint8_t **label, size_t *label_len)
{
    if (!m->pParameter || m->ulParameterLen != sizeof(CK_RSA_PKCS_OAEP_PARAMS))
        return CKR_MECHANISM_PARAM_INVALID;
    CK_RSA_PKCS_OAEP_PARAMS op;
    memcpy(&op, m->pParameter, sizeof op);
    const char *name;
    size_t hlen;
    if (!hash_of(op.hashAlg, &name, &hlen) || !mgf_of(op.mgf, mgf1))
        return CKR_MECHANISM_PARAM_INVALID;
    if (op.source != 0 && op.source != CKZ_DATA_SPECIFIED)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!op.pSourceData && op.ulSourceDataLen)
        return CKR_MECHANISM_PARAM_INVALID;
    *md = p11_digest_md(name);
    *label = op.pSourceData;
    *label_len = op.ulSourceDataLen;
    return CKR_OK;
}

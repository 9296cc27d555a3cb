/* Self-signed X.509 certificates for keys that never leave the HSM.  OpenSSL
 * builds the TBSCertificate; its DER is signed through a callback (the HSM, or an
 * in-process key in tests) and the Certificate is assembled around it:
 *   SEQUENCE { tbsCertificate, signatureAlgorithm, BIT STRING signature }
 * The result is parsed back and verified against the public key before anyone
 * sees it, so a wrong signature or a wrong algorithm identifier cannot get out. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "ks_internal.h"

#define SIG_MAX 1024
#define CERT_MAX (16 * 1024)

/* Signature algorithm for a key: (digest, signature algorithm, parameter type). */
static signet_rc pick_algorithm(EVP_PKEY *pub, int *md_nid, int *sig_nid, int *ptype)
{
    int base = EVP_PKEY_get_base_id(pub);
    if (base == EVP_PKEY_RSA) {
        /* sha256WithRSAEncryption, as AOSP's make_key (openssl req -sha256). */
        *md_nid = NID_sha256;
        *sig_nid = NID_sha256WithRSAEncryption;
        *ptype = V_ASN1_NULL;
        return SIGNET_OK;
    }
    if (base == EVP_PKEY_EC) {
        /* A digest as strong as the curve. */
        int bits = EVP_PKEY_get_bits(pub);
        *md_nid = bits > 384 ? NID_sha512 : bits > 256 ? NID_sha384 : NID_sha256;
        *ptype = V_ASN1_UNDEF;
        if (!OBJ_find_sigid_by_algs(sig_nid, *md_nid, NID_X9_62_id_ecPublicKey))
            return signet_fail(SIGNET_E_CRYPTO, "no ECDSA signature algorithm for that digest");
        return SIGNET_OK;
    }
    if (base == EVP_PKEY_ED25519) {
        *md_nid = NID_undef;
        *sig_nid = NID_ED25519;
        *ptype = V_ASN1_UNDEF;
        return SIGNET_OK;
    }
    return signet_fail(SIGNET_E_UNSUPPORTED,
                       "certificates are made for RSA, EC and Ed25519 keys only");
}

static signet_rc set_serial(X509 *x)
{
    /* 16 random bytes, top bit clear (positive) and the next one set (no leading
     * zero byte, never zero): a 127-bit serial as RFC 5280 recommends. */
    uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "no random bytes for the serial number");
    b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(b, sizeof b, NULL);
    int ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "cannot set the serial number");
}

static signet_rc add_extensions(X509 *x)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    signet_rc rc = SIGNET_OK;
    ASN1_OCTET_STRING *skid = ASN1_OCTET_STRING_new();
    AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    /* Key identifier: SHA-1 of the subjectPublicKey bits (RFC 5280 4.2.1.2
     * method 1, what OpenSSL's "hash" gives); self-signed, so the authority key
     * identifier is the same value. */
    if (!skid || !akid || !bc ||
        X509_pubkey_digest(x, EVP_sha1(), md, &mdlen) != 1 ||
        ASN1_OCTET_STRING_set(skid, md, (int)mdlen) != 1 ||
        !(akid->keyid = ASN1_OCTET_STRING_dup(skid)))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot compute the key identifier");
    if (rc == SIGNET_OK) {
        bc->ca = 0xff;
        if (X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0, X509V3_ADD_DEFAULT) != 1 ||
            X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, X509V3_ADD_DEFAULT) != 1 ||
            X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) != 1)
            rc = signet_fail(SIGNET_E_CRYPTO, "cannot add the certificate extensions");
    }
    ASN1_OCTET_STRING_free(skid);
    AUTHORITY_KEYID_free(akid);
    BASIC_CONSTRAINTS_free(bc);
    return rc;
}

static signet_rc der_header(sb_wr *w, uint8_t tag, size_t len)
{
    signet_rc rc = sbw_u8(w, tag);
    if (rc != SIGNET_OK)
        return rc;
    if (len < 0x80)
        return sbw_u8(w, (uint8_t)len);
    if (len < 0x100) {
        if ((rc = sbw_u8(w, 0x81)) != SIGNET_OK)
            return rc;
        return sbw_u8(w, (uint8_t)len);
    }
    if (len < 0x10000) {
        if ((rc = sbw_u8(w, 0x82)) != SIGNET_OK)
            return rc;
        return sbw_u16(w, (uint16_t)len);
    }
    return signet_fail(SIGNET_E_ARG, "certificate of %zu bytes is too large", len);
}

static size_t der_header_len(size_t len)
{
    return len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
}

/* Certificate ::= SEQUENCE { tbs, algId, BIT STRING (0 unused bits) sig } */
static signet_rc assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *alg, size_t alg_len,
                          const uint8_t *sig, size_t sig_len, sb_wr *out)
{
    size_t bits_len = 1 + sig_len;
    size_t body = tbs_len + alg_len + der_header_len(bits_len) + bits_len;
    signet_rc rc;
    if ((rc = der_header(out, 0x30, body)) == SIGNET_OK &&
        (rc = sbw_put(out, tbs, tbs_len)) == SIGNET_OK &&
        (rc = sbw_put(out, alg, alg_len)) == SIGNET_OK &&
        (rc = der_header(out, 0x03, bits_len)) == SIGNET_OK && (rc = sbw_u8(out, 0)) == SIGNET_OK)
        rc = sbw_put(out, sig, sig_len);
    return rc;
}

/* Fills every field of the TBSCertificate, including its signature algorithm. */
static signet_rc fill_tbs(X509 *x, EVP_PKEY *pub, const char *name, const signet_cert_opts *o,
                          int sig_nid, int ptype)
{
    unsigned days = o && o->days ? o->days : SIGNET_CERT_DEFAULT_DAYS;
    X509_NAME *subj = NULL;
    signet_rc rc = signet_cert_subject(o ? o->subject : NULL, name, &subj);
    if (rc != SIGNET_OK)
        return rc;
    if (X509_set_version(x, X509_VERSION_3) != 1 || X509_set_subject_name(x, subj) != 1 ||
        X509_set_issuer_name(x, subj) != 1 || X509_set_pubkey(x, pub) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot fill in the certificate of key '%s'", name);
    X509_NAME_free(subj);
    if (rc == SIGNET_OK)
        rc = set_serial(x);
    if (rc == SIGNET_OK)
        rc = add_extensions(x);
    /* OpenSSL only sets the TBS signature algorithm while signing with a key it
     * holds; the object is owned by x and writable, so it is set here directly
     * (the const of the getter is about ownership). */
    if (rc == SIGNET_OK &&
        X509_ALGOR_set0((X509_ALGOR *)X509_get0_tbs_sigalg(x), OBJ_nid2obj(sig_nid), ptype,
                        NULL) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot set the signature algorithm");
    return rc;
}

static signet_rc algid_der(int sig_nid, int ptype, sb_wr *out)
{
    X509_ALGOR *a = X509_ALGOR_new();
    unsigned char *der = NULL;
    int n = -1;
    if (a && X509_ALGOR_set0(a, OBJ_nid2obj(sig_nid), ptype, NULL) == 1)
        n = i2d_X509_ALGOR(a, &der);
    X509_ALGOR_free(a);
    if (n <= 0)
        return signet_fail(SIGNET_E_CRYPTO, "cannot encode the signature algorithm");
    signet_rc rc = sbw_put(out, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

signet_rc signet_cert_selfsign(EVP_PKEY *pub, const char *name, const signet_cert_opts *o,
                               signet_tbs_signer sign, void *sign_ctx, X509 **out)
{
    *out = NULL;
    if (o && o->days > 365u * 1000)
        return signet_fail(SIGNET_E_ARG, "a validity of %u days is beyond reason", o->days);
    int md_nid = NID_undef, sig_nid = NID_undef, ptype = 0;
    signet_rc rc = pick_algorithm(pub, &md_nid, &sig_nid, &ptype);
    if (rc != SIGNET_OK)
        return rc;
    X509 *x = X509_new();
    if (!x)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    unsigned char *tbs = NULL;
    int tbs_len = 0;
    uint8_t sig[SIG_MAX];
    size_t sig_len = sizeof sig;
    sb_wr alg, der;
    sbw_init(&alg, 256);
    sbw_init(&der, CERT_MAX);
    if ((rc = fill_tbs(x, pub, name, o, sig_nid, ptype)) != SIGNET_OK)
        goto done;
    if ((tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0) {
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the certificate of key '%s'", name);
        goto done;
    }
    if ((rc = sign(sign_ctx, tbs, (size_t)tbs_len, md_nid, sig, &sig_len)) != SIGNET_OK) {
        rc = signet_wrap(rc, "signing the certificate of key '%s'", name);
        goto done;
    }
    if (sig_len == 0 || sig_len > sizeof sig) {
        rc = signet_fail(SIGNET_E_CRYPTO, "the certificate signature of key '%s' has %zu bytes",
                         name, sig_len);
        goto done;
    }
    if ((rc = algid_der(sig_nid, ptype, &alg)) != SIGNET_OK ||
        (rc = assemble(tbs, (size_t)tbs_len, alg.p, alg.len, sig, sig_len, &der)) != SIGNET_OK)
        goto done;
    const unsigned char *p = der.p;
    X509 *cert = d2i_X509(NULL, &p, (long)der.len);
    if (!cert || p != der.p + der.len) {
        X509_free(cert);
        rc = signet_fail(SIGNET_E_CRYPTO, "the assembled certificate of key '%s' does not parse",
                         name);
        goto done;
    }
    if (X509_verify(cert, pub) != 1) {
        X509_free(cert);
        rc = signet_fail(SIGNET_E_VERIFY,
                         "the signature on the certificate of key '%s' does not verify with its "
                         "public key: the signer used another key or algorithm",
                         name);
        goto done;
    }
    *out = cert;
done:
    OPENSSL_free(tbs);
    sbw_free(&alg);
    sbw_free(&der);
    X509_free(x);
    return rc;
}

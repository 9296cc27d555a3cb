/* The PKCS#7 SignedData of a JAR signature block (META-INF/NAME.RSA or .EC) as
 * apksig's V1SchemeSigner encodes it (RFC 2315; DER):
 *
 *   ContentInfo { signedData, [0] SignedData {
 *     version 1, digestAlgorithms { {md, NULL} }, contentInfo { data } (detached),
 *     certificates [0] { cert },
 *     signerInfos { { version 1, issuerAndSerialNumber, {md, NULL},
 *                     {rsaEncryption or id-ecPublicKey, NULL}, signature } } } }
 *
 * There are no signed attributes: the signature is over the signature file
 * itself.  signapk's whole-file signature (Bouncy Castle's CMS encoder, direct
 * signature) differs in two places: the digest algorithm has no NULL parameter and
 * the signature algorithm names the digest (sha256WithRSAEncryption NULL,
 * ecdsa-with-SHA256). */
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "jar.h"

#define MAX_P7 (1u << 20)

static signet_rc der_len(sb_wr *w, size_t n)
{
    if (n < 0x80)
        return sbw_u8(w, (uint8_t)n);
    uint8_t b[4];
    int k = 0;
    for (size_t v = n; v; v >>= 8)
        b[k++] = (uint8_t)v;
    signet_rc rc = sbw_u8(w, (uint8_t)(0x80 | k));
    while (rc == SIGNET_OK && k > 0)
        rc = sbw_u8(w, b[--k]);
    return rc;
}

/* tag, length, then the bytes of inner (which is then emptied for reuse). */
static signet_rc der_wrap(sb_wr *out, uint8_t tag, sb_wr *inner)
{
    signet_rc rc = sbw_u8(out, tag);
    rc = rc ? rc : der_len(out, inner->len);
    rc = rc ? rc : sbw_put(out, inner->p, inner->len);
    sbw_reset(inner);
    return rc;
}

static signet_rc der_oid(sb_wr *w, int nid)
{
    const ASN1_OBJECT *o = OBJ_nid2obj(nid);
    const unsigned char *d = o ? OBJ_get0_data(o) : NULL;
    size_t n = o ? OBJ_length(o) : 0;
    if (!d || n == 0)
        return signet_fail(SIGNET_E_CRYPTO, "OpenSSL knows no OID for NID %d", nid);
    signet_rc rc = sbw_u8(w, 0x06);
    rc = rc ? rc : der_len(w, n);
    return rc ? rc : sbw_put(w, d, n);
}

/* AlgorithmIdentifier { oid, NULL } or { oid } */
static signet_rc der_alg(sb_wr *w, int nid, bool null_param, sb_wr *tmp)
{
    signet_rc rc = der_oid(tmp, nid);
    if (null_param)
        rc = rc ? rc : sbw_put(tmp, "\x05\x00", 2);
    return rc ? rc : der_wrap(w, 0x30, tmp);
}

/* The DER of the certificate's issuer (as encoded in it) or serial number. */
static signet_rc put_issuer_serial(sb_wr *w, X509 *cert, bool serial)
{
    unsigned char *der = NULL;
    int n = serial ? i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &der)
                   : i2d_X509_NAME(X509_get_issuer_name(cert), &der);
    signet_rc rc = n > 0 ? sbw_put(w, der, (size_t)n)
                         : signet_fail(SIGNET_E_CRYPTO, "encoding the certificate's issuer "
                                                        "or serial number failed");
    OPENSSL_free(der);
    return rc;
}

signet_rc jar_pkcs7(const uint8_t *cert_der, size_t cert_len, int md_nid, bool rsa, bool cms,
                    const uint8_t *sig, size_t sig_len, sb_wr *out)
{
    int sig_nid = rsa ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey;
    if (cms && !OBJ_find_sigid_by_algs(&sig_nid, md_nid, rsa ? NID_rsaEncryption
                                                              : NID_X9_62_id_ecPublicKey))
        return signet_fail(SIGNET_E_CRYPTO, "no signature algorithm for this digest and key");
    const uint8_t *p = cert_der;
    X509 *cert = d2i_X509(NULL, &p, (long)cert_len);
    if (!cert || p != cert_der + cert_len) {
        X509_free(cert);
        return signet_fail(SIGNET_E_PARSE, "the signer's certificate is not one DER X.509 "
                                           "certificate");
    }
    sb_wr sd, si, a, b;
    sbw_init(&sd, MAX_P7);
    sbw_init(&si, MAX_P7);
    sbw_init(&a, MAX_P7);
    sbw_init(&b, MAX_P7);
    /* SignerInfo */
    signet_rc rc = sbw_put(&si, "\x02\x01\x01", 3);
    rc = rc ? rc : put_issuer_serial(&a, cert, false);
    rc = rc ? rc : put_issuer_serial(&a, cert, true);
    rc = rc ? rc : der_wrap(&si, 0x30, &a);
    rc = rc ? rc : der_alg(&si, md_nid, !cms, &a);
    rc = rc ? rc : der_alg(&si, sig_nid, rsa || !cms, &a);
    rc = rc ? rc : sbw_put(&a, sig, sig_len);
    rc = rc ? rc : der_wrap(&si, 0x04, &a);
    /* SignedData */
    rc = rc ? rc : sbw_put(&sd, "\x02\x01\x01", 3);
    rc = rc ? rc : der_alg(&a, md_nid, !cms, &b);
    rc = rc ? rc : der_wrap(&sd, 0x31, &a);
    rc = rc ? rc : der_oid(&a, NID_pkcs7_data);
    rc = rc ? rc : der_wrap(&sd, 0x30, &a);
    rc = rc ? rc : sbw_put(&a, cert_der, cert_len);
    rc = rc ? rc : der_wrap(&sd, 0xa0, &a);
    rc = rc ? rc : der_wrap(&a, 0x30, &si);
    rc = rc ? rc : der_wrap(&sd, 0x31, &a);
    /* ContentInfo */
    rc = rc ? rc : der_wrap(&a, 0x30, &sd);
    rc = rc ? rc : der_oid(&b, NID_pkcs7_signed);
    rc = rc ? rc : der_wrap(&b, 0xa0, &a);
    rc = rc ? rc : der_wrap(out, 0x30, &b);
    X509_free(cert);
    sbw_free(&sd);
    sbw_free(&si);
    sbw_free(&a);
    sbw_free(&b);
    return rc;
}

/* Attestation certificates, shaped like the YubiHSM 2's (Yubico's attestation
 * documentation; python-yubihsm's and yubihsm-parse-attestation's parsers):
 *   version 3, a random positive 16-byte serial, issuer = the attesting
 *   certificate's subject, validity copied from it, subject
 *   CN=YubiHSM Attestation id:0x<id>, the attested key's public key, signed
 *   with SHA-256 (PKCS#1 v1.5 for RSA, ECDSA for EC), and only Yubico's
 *   extensions (a strict parser refuses others):
 *     1.3.6.1.4.1.41482.4.1 firmware   OCTET STRING major minor patch
 *     .2 serial    INTEGER
 *     .3 origin    BIT STRING (1 byte)       .4 domains BIT STRING (2 bytes)
 *     .5 capabilities BIT STRING (8 bytes)   .6 object id INTEGER
 *     .9 label     UTF8String (up to the first NUL)
 *   The bit strings carry the big-endian value bytes with no unused bits.
 * The device's own certificate (attestation key 0) is self-signed, a CA, and
 * carries the firmware and serial extensions, as the factory certificate does. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dev.h"

#define YUBICO_ATTEST_ARC "1.3.6.1.4.1.41482.4."

/* ---- small DER values (short lengths only: at most 41 content bytes) ------------- */

static signet_rc der_tlv(sb_wr *w, uint8_t tag, const uint8_t *p, size_t n)
{
    signet_rc rc = sbw_u8(w, tag);
    if (!rc) rc = sbw_u8(w, (uint8_t)n);
    if (!rc) rc = sbw_put(w, p, n);
    return rc;
}

/* A non-negative INTEGER in its minimal encoding. */
static signet_rc der_uint(sb_wr *w, uint64_t v)
{
    uint8_t b[9];
    size_t n = 0;
    for (int i = 7; i >= 0; i--) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        if (n == 0 && byte == 0 && i > 0)
            continue;
        if (n == 0 && (byte & 0x80))
            b[n++] = 0;
        b[n++] = byte;
    }
    return der_tlv(w, 0x02, b, n);
}

/* A BIT STRING of the big-endian bytes of v (width bytes), no unused bits. */
static signet_rc der_bits(sb_wr *w, uint64_t v, size_t width)
{
    uint8_t b[9];
    b[0] = 0; /* unused bits */
    for (size_t i = 0; i < width; i++)
        b[1 + i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    return der_tlv(w, 0x03, b, 1 + width);
}

/* Adds a non-critical extension whose value is the DER in w. */
static bool add_ext(X509 *x, const char *arc, const sb_wr *w)
{
    char oid[64];
    snprintf(oid, sizeof oid, YUBICO_ATTEST_ARC "%s", arc);
    ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    bool ok = obj && val && ASN1_OCTET_STRING_set(val, w->p, (int)w->len) == 1 &&
              (ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, val)) != NULL &&
              X509_add_ext(x, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(val);
    ASN1_OBJECT_free(obj);
    return ok;
}

/* Firmware and serial: in every certificate the device makes. */
static bool add_device_exts(X509 *x, uint32_t serial)
{
    uint8_t buf[64];
    sb_wr w;
    const uint8_t fw[3] = {DEV_VERSION_MAJOR, DEV_VERSION_MINOR, DEV_VERSION_PATCH};
    sbw_init_fixed(&w, buf, sizeof buf);
    if (der_tlv(&w, 0x04, fw, sizeof fw) || !add_ext(x, "1", &w))
        return false;
    sbw_init_fixed(&w, buf, sizeof buf);
    return der_uint(&w, serial) == SIGNET_OK && add_ext(x, "2", &w);
}

static bool add_key_exts(X509 *x, const dev_object *o)
{
    uint8_t buf[64];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    if (der_bits(&w, o->origin, 1) || !add_ext(x, "3", &w))
        return false;
    sbw_init_fixed(&w, buf, sizeof buf);
    if (der_bits(&w, o->domains, 2) || !add_ext(x, "4", &w))
        return false;
    sbw_init_fixed(&w, buf, sizeof buf);
    if (der_bits(&w, o->capabilities, 8) || !add_ext(x, "5", &w))
        return false;
    sbw_init_fixed(&w, buf, sizeof buf);
    if (der_uint(&w, o->id) || !add_ext(x, "6", &w))
        return false;
    size_t n = 0;
    while (n < YH_LABEL_LEN && o->label[n])
        n++;
    sbw_init_fixed(&w, buf, sizeof buf);
    return der_tlv(&w, 0x0c, o->label, n) == SIGNET_OK && add_ext(x, "9", &w);
}

/* A random positive serial of 16 bytes, as the device uses. */
static bool set_random_serial(X509 *x)
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        return false;
    r[0] &= 0x7f;
    r[0] |= 0x40; /* keep all 16 bytes significant */
    BIGNUM *bn = BN_bin2bn(r, sizeof r, NULL);
    ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    bool ok = ai && X509_set_serialNumber(x, ai) == 1;
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok;
}

/* SHA-256 with the signer's scheme; Ed25519 signers are not offered by the device. */
static bool sign_cert(X509 *x, EVP_PKEY *signer)
{
    if (!EVP_PKEY_is_a(signer, "RSA") && !EVP_PKEY_is_a(signer, "EC"))
        return false;
    return X509_sign(x, signer, EVP_sha256()) > 0;
}

static bool to_der(X509 *x, sb_wr *out)
{
    int n = i2d_X509(x, NULL);
    uint8_t *dst;
    if (n <= 0 || sbw_reserve(out, (size_t)n, &dst) != SIGNET_OK)
        return false;
    return i2d_X509(x, &dst) == n;
}

uint8_t dev_x509_device_cert(EVP_PKEY *key, uint32_t serial, uint8_t **der, size_t *len)
{
    *der = NULL;
    *len = 0;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    ASN1_TIME *nb = ASN1_TIME_new(), *na = ASN1_TIME_new();
    X509V3_CTX v3;
    X509_EXTENSION *bc = NULL, *ku = NULL, *ski = NULL;
    char cn[96];
    snprintf(cn, sizeof cn, "signet-hsm Attestation (%u)", serial);
    bool ok = x && name && nb && na && X509_set_version(x, 2) == 1 && set_random_serial(x) &&
              X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                         (const unsigned char *)"signet-hsm emulator", -1, -1,
                                         0) == 1 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                         -1, 0) == 1 &&
              X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
              X509_gmtime_adj(nb, 0) && X509_set1_notBefore(x, nb) == 1 &&
              /* no well-defined expiration (RFC 5280 4.1.2.5), like a root kept for the
               * device's life */
              ASN1_TIME_set_string(na, "99991231235959Z") == 1 && X509_set1_notAfter(x, na) == 1 &&
              X509_set_pubkey(x, key) == 1;
    if (ok) {
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        ok = (bc = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE")) &&
             (ku = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign")) &&
             (ski = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_key_identifier, "hash")) &&
             X509_add_ext(x, bc, -1) == 1 && X509_add_ext(x, ku, -1) == 1 &&
             X509_add_ext(x, ski, -1) == 1 && add_device_exts(x, serial) && sign_cert(x, key);
    }
    sb_wr w;
    sbw_init(&w, 4096);
    ok = ok && to_der(x, &w);
    X509_EXTENSION_free(bc);
    X509_EXTENSION_free(ku);
    X509_EXTENSION_free(ski);
    ASN1_TIME_free(nb);
    ASN1_TIME_free(na);
    X509_NAME_free(name);
    X509_free(x);
    if (!ok) {
        sbw_free(&w);
        return YH_ERR_COMMAND_UNEXECUTED;
    }
    *der = w.p; /* plain heap memory: the certificate is public */
    *len = w.len;
    return YH_ERR_OK;
}

uint8_t dev_x509_attest(const uint8_t *tmpl, size_t tmpl_len, EVP_PKEY *signer,
                        const dev_object *o, uint32_t serial, sb_wr *out)
{
    const unsigned char *p = tmpl;
    X509 *t = d2i_X509(NULL, &p, (long)tmpl_len);
    if (!t || p != tmpl + tmpl_len) {
        X509_free(t);
        return YH_ERR_INVALID_DATA; /* the template is not a certificate */
    }
    if (!o->pkey) {
        X509_free(t);
        return YH_ERR_INVALID_DATA;
    }
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    char cn[64];
    snprintf(cn, sizeof cn, "YubiHSM Attestation id:0x%04x", o->id);
    bool ok = x && name && X509_set_version(x, 2) == 1 && set_random_serial(x) &&
              X509_set_issuer_name(x, X509_get_subject_name(t)) == 1 &&
              X509_set1_notBefore(x, X509_get0_notBefore(t)) == 1 &&
              X509_set1_notAfter(x, X509_get0_notAfter(t)) == 1 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
                                         -1, 0) == 1 &&
              X509_set_subject_name(x, name) == 1 && X509_set_pubkey(x, o->pkey) == 1 &&
              add_device_exts(x, serial) && add_key_exts(x, o);
    uint8_t code = YH_ERR_COMMAND_UNEXECUTED;
    if (ok)
        code = sign_cert(x, signer) ? YH_ERR_OK : YH_ERR_INVALID_DATA;
    if (!code && !to_der(x, out))
        code = YH_ERR_WRONG_LENGTH;
    X509_NAME_free(name);
    X509_free(x);
    X509_free(t);
    return code;
}

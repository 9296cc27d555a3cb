/* DER and PEM encodings of public keys and certificates, through memory BIOs. */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ks_internal.h"
#include "signet/proto.h"

#define PEM_MAX (64 * 1024)

signet_rc ks_spki_der(EVP_PKEY *pk, sb_wr *out)
{
    sbw_init(out, 16 * 1024);
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    if (n <= 0)
        return signet_fail(SIGNET_E_CRYPTO, "cannot encode the public key");
    signet_rc rc = sbw_put(out, der, (size_t)n);
    OPENSSL_free(der);
    return rc;
}

static signet_rc bio_to_writer(BIO *b, sb_wr *out)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    if (n <= 0)
        return signet_fail(SIGNET_E_CRYPTO, "PEM encoding produced nothing");
    return sbw_put(out, p, (size_t)n);
}

signet_rc ks_pubkey_pem(EVP_PKEY *pk, sb_wr *out)
{
    sbw_init(out, PEM_MAX);
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = PEM_write_bio_PUBKEY(b, pk) == 1
                       ? bio_to_writer(b, out)
                       : signet_fail(SIGNET_E_CRYPTO, "cannot write the public key as PEM");
    BIO_free(b);
    return rc;
}

signet_rc ks_cert_pem(X509 *x, sb_wr *out)
{
    sbw_init(out, PEM_MAX);
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = PEM_write_bio_X509(b, x) == 1
                       ? bio_to_writer(b, out)
                       : signet_fail(SIGNET_E_CRYPTO, "cannot write the certificate as PEM");
    BIO_free(b);
    return rc;
}

bool ks_object_is_key(const yh_object_info *oi, const signet_keymap_entry *e)
{
    return oi->type == YH_TYPE_ASYMMETRIC_KEY && oi->id == e->id &&
           oi->algorithm == e->algorithm && strcmp(oi->label, e->name) == 0;
}

/* Fuzzes what v1 (JAR) signing and signet signapk read from an untrusted input:
 * the main section of an input's META-INF/MANIFEST.MF (java.util.jar.Manifest
 * rules), the manifest and signature file built over every entry of a ZIP (names,
 * inflate, duplicates), and signapk -w's rewrite of a ZIP (JarOutputStream
 * layout, re-deflate) up to its signature request. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "apk/jar.h"
#include "signet/signapk.h"

static uint8_t *cert;
static int cert_len;

/* A throwaway self-signed certificate: the engine needs one to pick algorithms. */
static void make_cert(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"fuzz", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    cert_len = i2d_X509(x, &cert);
    X509_free(x);
    EVP_PKEY_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!cert)
        make_cert();
    jar_attrs as;
    as.n = 0;
    (void)jar_parse_main(data, size, &as);
    jar_attrs_free(&as);
    signet_zip z;
    if (signet_zip_parse(data, size, &z) == SIGNET_OK) {
        sb_wr mf, sf;
        sbw_init(&mf, 1 << 24);
        sbw_init(&sf, 1 << 24);
        (void)jar_make_manifest(&z, size & 1 ? NID_sha1 : NID_sha256, JAR_CREATED_BY, "2, 3", &mf,
                                &sf);
        sbw_free(&mf);
        sbw_free(&sf);
        signet_zip_free(&z);
    }
    signet_signapk_opts o = {.whole_file = true};
    signet_signapk_job *j = NULL;
    if (cert_len > 0 && signet_signapk_begin(data, size, &o, cert, (size_t)cert_len, &j) ==
                            SIGNET_OK)
        signet_signapk_free(j);
    return 0;
}

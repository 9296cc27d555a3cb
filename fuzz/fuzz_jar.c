/* Fuzzes what v1 (JAR) signing and signet signapk read from an untrusted input:
 * the main section of an input's META-INF/MANIFEST.MF (java.util.jar.Manifest
 * rules), the manifest and signature file built over every entry of a ZIP (names,
 * inflate, duplicates), signapk -w's rewrite of a ZIP (JarOutputStream
 * layout, re-deflate) up to its signature request, and signapk's APK mode the
 * whole way: the rewrite with alignment (Java's UTF-16 names), v1, and v2/v3 by
 * the APK engine over the result, each request answered with a real signature. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "apk/jar.h"
#include "signet/signapk.h"

static uint8_t *cert;
static int cert_len;
static EVP_PKEY *key;

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
    key = k;
}

/* Answers every request of the job (ECDSA over the digest, DER), then finishes. */
static void sign_through(signet_signapk_job *j)
{
    const signet_apk_sigreq *r;
    size_t n;
    int rounds = 0;
    while ((n = signet_signapk_pending(j, &r)) > 0 && rounds++ < 4) {
        for (size_t i = 0; i < n; i++) {
            uint8_t sig[128];
            size_t sig_len = sizeof sig;
            EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
            int ok = c && EVP_PKEY_sign_init(c) == 1 &&
                     EVP_PKEY_sign(c, sig, &sig_len, r[i].digest, r[i].digest_len) == 1;
            EVP_PKEY_CTX_free(c);
            if (!ok || signet_signapk_set(j, i, sig, sig_len) != SIGNET_OK)
                return;
        }
    }
    sb_wr out;
    sbw_init(&out, 1u << 26);
    (void)signet_signapk_finish(j, &out);
    sbw_free(&out);
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
    /* APKs: the min SDK from the input's manifest or fixed; alignment from its size */
    static const int aligns[4] = {4, 0, 4096, 3};
    signet_signapk_opts a = {.align = aligns[size & 3], .min_sdk = size & 4 ? 0 : 21,
                             .disable_v2 = (size & 8) != 0};
    j = NULL;
    if (cert_len > 0 && signet_signapk_begin(data, size, &a, cert, (size_t)cert_len, &j) ==
                            SIGNET_OK)
        sign_through(j);
    signet_signapk_free(j);
    return 0;
}

/* Whole-file signatures of OTA packages (signapk -w), checked as the recovery
 * does (bootable/recovery install/verifier.cpp): the end record's comment ends
 * with a 6-byte footer (u16 signature start from the end of the file, 0xffff, u16
 * comment length); the PKCS#7 SignedData sits at the end of the comment and signs
 * every byte of the file up to, not including, the comment length field. */
#include <string.h>

#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "signet/apk.h"
#include "signet/zip.h"

#define FOOTER 6

static signet_rc ofail(const char *what)
{
    return signet_fail(SIGNET_E_VERIFY, "OTA package: %s", what);
}

signet_rc signet_ota_verify(const uint8_t *zip, size_t len, const uint8_t *cert_der,
                            size_t cert_len, uint8_t signer_sha256[32])
{
    if (len < SIGNET_ZIP_EOCD_LEN + FOOTER)
        return ofail("too short to carry a whole-file signature");
    const uint8_t *f = zip + len - FOOTER;
    if (f[2] != 0xff || f[3] != 0xff)
        return ofail("no whole-file signature footer (was it signed with signapk -w?)");
    size_t sig_start = le16(f), comment = le16(f + 4);
    size_t eocd_size = comment + SIGNET_ZIP_EOCD_LEN;
    if (sig_start <= FOOTER || sig_start > comment || eocd_size > len)
        return ofail("the footer's offsets do not fit the comment");
    const uint8_t *eocd = zip + len - eocd_size;
    if (le32(eocd) != SIGNET_ZIP_EOCD_SIG || le16(eocd + 20) != comment)
        return ofail("the footer does not belong to the end of central directory record");
    /* another end record inside the comment could fool a ZIP reader */
    for (size_t i = 4; i + 4 <= eocd_size; i++)
        if (le32(eocd + i) == SIGNET_ZIP_EOCD_SIG)
            return ofail("the comment holds a second end of central directory record");
    size_t signed_len = len - eocd_size + SIGNET_ZIP_EOCD_LEN - 2;
    const uint8_t *sig = zip + len - sig_start;
    const uint8_t *p = sig;
    PKCS7 *p7 = d2i_PKCS7(NULL, &p, (long)(sig_start - FOOTER));
    X509 *want = NULL;
    if (cert_der) {
        const uint8_t *c = cert_der;
        want = d2i_X509(NULL, &c, (long)cert_len);
    }
    BIO *data = BIO_new_mem_buf(zip, (int)signed_len);
    STACK_OF(X509) *certs = sk_X509_new_null();
    signet_rc rc = SIGNET_OK;
    if (!p7 || !PKCS7_type_is_signed(p7))
        rc = ofail("the signature is not a PKCS#7 SignedData");
    else if (cert_der && !want)
        rc = signet_fail(SIGNET_E_PARSE, "the expected certificate does not parse");
    if (rc == SIGNET_OK && want)
        sk_X509_push(certs, want);
    /* The recovery trusts the keys it was built with, not a chain: so do we. */
    int flags = PKCS7_BINARY | PKCS7_NOVERIFY | (want ? PKCS7_NOINTERN : 0);
    if (rc == SIGNET_OK && (!data || PKCS7_verify(p7, certs, NULL, data, NULL, flags) != 1))
        rc = ofail(want ? "the whole-file signature does not verify with the given certificate"
                        : "the whole-file signature does not verify");
    if (rc == SIGNET_OK && signer_sha256) {
        STACK_OF(X509) *signers = PKCS7_get0_signers(p7, want ? certs : NULL, flags);
        X509 *s = signers && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
        uint8_t *der = NULL;
        int n = s ? i2d_X509(s, &der) : -1;
        if (n > 0)
            EVP_Digest(der, (size_t)n, signer_sha256, NULL, EVP_sha256(), NULL);
        else
            rc = ofail("the signature names no single signer certificate");
        OPENSSL_free(der);
        sk_X509_free(signers);
    }
    sk_X509_free(certs);
    X509_free(want);
    BIO_free(data);
    PKCS7_free(p7);
    return rc;
}

/* signet ota verify: the whole-file signature of an OTA package (signapk -w),
 * checked as the recovery does (docs/apk.md, "OTA packages"). */
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli_table.h"
#include "file_io.h"
#include "signet/apk.h"

struct verify_args {
    const char *cert, *package;
};

static const struct cli_opt VERIFY_OPTS[] = {
    CLI_OPT("cert", 0, "CERT.x509.pem", cli_p_str, struct verify_args, cert, 0,
            "must verify with this certificate (the recovery's otacerts)"),
    CLI_POS("PACKAGE.zip", cli_p_str, struct verify_args, package, CLI_REQUIRED,
            "the OTA package"),
    CLI_END};

static signet_rc run_verify(struct cli_ctx *c, void *args)
{
    (void)c;
    const struct verify_args *a = args;
    sb_wr pkg;
    uint8_t *der = NULL;
    int der_len = 0;
    signet_rc rc = SIGNET_OK;
    if (a->cert) {
        FILE *f = fopen(a->cert, "r");
        X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        der_len = x ? i2d_X509(x, &der) : -1;
        X509_free(x);
        if (der_len <= 0)
            rc = f ? signet_fail(SIGNET_E_PARSE, "%s is not a PEM X.509 certificate", a->cert)
                   : cli_open_error("the certificate", a->cert);
    }
    sbw_init(&pkg, 0);
    if (rc == SIGNET_OK)
        rc = cli_read_file(a->package, 0xfff00000u, &pkg);
    uint8_t sha[32];
    if (rc == SIGNET_OK)
        rc = signet_ota_verify(pkg.p, pkg.len, der, (size_t)(der_len > 0 ? der_len : 0), sha);
    sbw_free(&pkg);
    OPENSSL_free(der);
    if (rc)
        return rc;
    printf("Verifies\nSigner certificate SHA-256: ");
    for (int i = 0; i < 32; i++)
        printf("%02x", sha[i]);
    printf("\n");
    return SIGNET_OK;
}

static const struct cli_cmd CMDS[] = {
    {"verify", "verify an OTA package's whole-file signature (signapk -w)",
     "Checks the whole-file signature signapk -w puts in the ZIP comment (PKCS#7 over\n"
     "every byte up to the comment length, 6-byte footer) as the recovery does.  With\n"
     "--cert it must verify with that certificate (the recovery's otacerts); without,\n"
     "with the certificate the package carries.  Exit 0 when it verifies, 1 when it\n"
     "does not.\n",
     VERIFY_OPTS, sizeof(struct verify_args), 0, run_verify},
    {0}};

const struct cli_table cli_table_ota = {
    "ota", "verify OTA packages' whole-file signatures",
    "OTA packages: whole-file signatures as signapk -w writes them (docs/signapk.md).\n",
    CMDS};

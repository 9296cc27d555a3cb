/* signet ota verify: the whole-file signature of an OTA package (signapk -w),
 * checked as the recovery does (docs/apk.md, "OTA packages"). */
#include <getopt.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "file_io.h"
#include "signet/apk.h"

static void verify_usage(FILE *f)
{
    fprintf(f, "usage: signet ota verify [--cert CERT.x509.pem] PACKAGE.zip\n"
               "\n"
               "Checks the whole-file signature signapk -w puts in the ZIP comment (PKCS#7\n"
               "over every byte up to the comment length, 6-byte footer) as the recovery\n"
               "does.  With --cert it must verify with that certificate (the recovery's\n"
               "otacerts); without, with the certificate the package carries.  Exit 0 when\n"
               "it verifies, 1 when it does not.\n");
}

static int cmd_verify(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"cert", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cert = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cert = optarg; break;
        case 'h': verify_usage(stdout); return 0;
        default: verify_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("ota verify", "needs one OTA package");
    sb_wr pkg;
    uint8_t *der = NULL;
    int der_len = 0;
    signet_rc rc = SIGNET_OK;
    if (cert) {
        FILE *f = fopen(cert, "r");
        X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        der_len = x ? i2d_X509(x, &der) : -1;
        X509_free(x);
        if (der_len <= 0)
            rc = signet_fail(SIGNET_E_PARSE, "%s is not a PEM X.509 certificate", cert);
    }
    sbw_init(&pkg, 0);
    if (rc == SIGNET_OK)
        rc = cli_read_file(argv[optind], 0xfff00000u, &pkg);
    uint8_t sha[32];
    if (rc == SIGNET_OK)
        rc = signet_ota_verify(pkg.p, pkg.len, der, (size_t)(der_len > 0 ? der_len : 0), sha);
    sbw_free(&pkg);
    OPENSSL_free(der);
    if (rc)
        return cli_report(rc);
    printf("Verifies\nSigner certificate SHA-256: ");
    for (int i = 0; i < 32; i++)
        printf("%02x", sha[i]);
    printf("\n");
    return 0;
}

static const struct cli_command CMDS[] = {
    {"verify", cmd_verify, "verify an OTA package's whole-file signature (signapk -w)"},
};

static int run(const struct cli_globals *g, int argc, char **argv)
{
    return cli_dispatch("ota", "OTA packages: whole-file signatures as signapk -w writes them.\n",
                        CMDS, sizeof CMDS / sizeof CMDS[0], g, argc, argv);
}

const struct cli_group cli_group_ota = {"ota", "verify OTA packages' whole-file signatures", run};

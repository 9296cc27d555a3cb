/* signet payload-sign: the OTA payload signer (ota_from_target_files
 * --payload_signer).  It is run as `signer <args> -in HASH -out SIG`; HASH holds a
 * SHA-256 digest and SIG gets what `openssl pkeyutl -sign -pkeyopt digest:sha256`
 * would write: PKCS#1 v1.5 for RSA keys, DER ECDSA for EC keys. */
#include <getopt.h>
#include <openssl/obj_mac.h>

#include "cli.h"
#include "file_io.h"
#include "signet/sign.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: signet [global options] payload-sign --key NAME -in HASH -out SIG\n"
               "\n"
               "OTA payload signer: HASH holds a 32-byte SHA-256 digest; SIG receives the\n"
               "signature (as `openssl pkeyutl -sign -pkeyopt digest:sha256` makes it).\n"
               "Use with ota_from_target_files --payload_signer signet\n"
               "--payload_signer_args 'payload-sign --key avb_DEVICE'.\n");
}

static int run(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"in", required_argument, 0, 'i'},
                                         {"out", required_argument, 0, 'o'},
                                         {"key", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *in = NULL, *out = NULL, *key = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'k': key = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!in || !out || !key || optind != argc)
        return cli_usage_error("payload-sign", "needs --key NAME -in HASH -out SIG");
    sb_wr hash;
    signet_rc rc = cli_read_file(in, 64, &hash);
    if (rc == SIGNET_OK && hash.len != 32)
        rc = signet_fail(SIGNET_E_ARG, "%s holds %zu bytes; a SHA-256 digest has 32", in, hash.len);
    signet_signer *s = NULL;
    if (rc == SIGNET_OK)
        rc = cli_open_signer(g, &s);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (rc == SIGNET_OK)
        rc = cli_sign_digest(s, key, NID_sha256, hash.p, hash.len, in, NULL, sig, &sig_len);
    signet_signer_close(s);
    sbw_free(&hash);
    if (rc == SIGNET_OK)
        rc = cli_write_file(out, sig, sig_len);
    return rc ? cli_report(rc) : 0;
}

const struct cli_group cli_group_payloadsign = {"payload-sign", "OTA payload signer (-in HASH -out SIG)",
                                                run};

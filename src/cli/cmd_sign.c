/* signet sign: sign a release artifact with a key of the key store through the
 * signing path; the audit record names the artifact and its SHA-256. */
#include <getopt.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli.h"
#include "file_io.h"
#include "signet/hash.h"
#include "signet/sign.h"

#define MAX_ARTIFACT (1u << 30)

static void usage(FILE *f)
{
    fprintf(f, "usage: signet [global options] sign --key NAME [--hash sha256|sha384|sha512]\n"
               "                                  -in FILE -out SIG\n"
               "\n"
               "Hashes FILE and signs the digest with key NAME of the key store (RSA: PKCS#1\n"
               "v1.5; EC: ECDSA, DER).  The signature is written to SIG only after the audit\n"
               "record naming FILE and its SHA-256 is on disk.\n");
}

static int run(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"in", required_argument, 0, 'i'},
                                         {"out", required_argument, 0, 'o'},
                                         {"key", required_argument, 0, 'k'},
                                         {"hash", required_argument, 0, 'H'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *in = NULL, *out = NULL, *key = NULL, *hash = "sha256";
    int c;
    while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'k': key = optarg; break;
        case 'H': hash = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!in || !out || !key || optind != argc)
        return cli_usage_error("sign", "needs --key NAME -in FILE -out SIG");
    const EVP_MD *md = EVP_get_digestbyname(hash);
    if (!md || (strcmp(hash, "sha256") && strcmp(hash, "sha384") && strcmp(hash, "sha512")))
        return cli_usage_error("sign", "--hash must be sha256, sha384 or sha512");

    sb_wr file;
    signet_rc rc = cli_read_file(in, MAX_ARTIFACT, &file);
    uint8_t digest[64], file_sha256[32];
    unsigned dlen = 0;
    if (rc == SIGNET_OK)
        rc = signet_hash(md, file.p, file.len, digest, &dlen);
    if (rc == SIGNET_OK)
        rc = signet_sha256(file.p, file.len, file_sha256);
    sbw_free(&file);
    signet_signer *s = NULL;
    if (rc == SIGNET_OK)
        rc = cli_open_signer(g, &s);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (rc == SIGNET_OK)
        rc = cli_sign_digest(s, key, EVP_MD_get_type(md), digest, dlen, in, file_sha256, sig,
                             &sig_len);
    signet_signer_close(s);
    if (rc == SIGNET_OK)
        rc = cli_write_file(out, sig, sig_len);
    return rc ? cli_report(rc) : 0;
}

const struct cli_group cli_group_sign = {"sign", "sign a release artifact with a key of the key store",
                                         run};

/* signet apk sign | verify: APK Signature Scheme v2/v3/v4 with keys of the key
 * store, through the signing path (docs/apk.md).  Flags follow apksigner's. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "apk_cli.h"
#include "cli.h"
#include "file_io.h"
#include "signet/apk.h"
#include "signet/sign.h"

static void sign_usage(FILE *f)
{
    fprintf(f,
        "usage: signet apk sign --key NAME [options] --in IN.apk --out OUT.apk\n"
        "       signet apk sign --batch LIST [options]\n"
        "\n"
        "Signs an APK with key NAME of the key store (its certificate is the signer's)\n"
        "with APK Signature Scheme v2 and v3, as Debian's apksigner 31.0.2 lays it out.\n"
        "Every signature goes through the signing path and has its audit record, naming\n"
        "IN.apk and its SHA-256, before OUT.apk is written (temporary file, rename).\n"
        "\n"
        "  --key NAME                   a key of the key store (RSA or EC)\n"
        "  --in FILE, --out FILE        the APK to sign and where to write it\n"
        "  --min-sdk-version N          instead of AndroidManifest.xml's minSdkVersion\n"
        "  --v1-signing-enabled BOOL    JAR signing; default: only when the min SDK is\n"
        "                               below 24 (apksigner makes it at any min SDK)\n"
        "  --v1-signer-name NAME        META-INF/NAME.SF (default: the key's name)\n"
        "  --v2-signing-enabled BOOL    default true (false is allowed from min SDK 28:\n"
        "                               one device signature per APK instead of two)\n"
        "  --v3-signing-enabled BOOL    default true\n"
        "  --v4-signing-enabled BOOL    default false; writes OUT.apk.idsig\n"
        "  --v4-signature-file FILE     where the .idsig goes\n"
        "  --lib-page-alignment BYTES   alignment of stored native libraries: 16384\n"
        "                               (default, current Android tools) or 4096 (Debian's\n"
        "                               apksigner 31.0.2, byte-identical output)\n"
        "  --realign                    align every stored entry anew instead of keeping\n"
        "                               the input's layout (as newer apksigner does)\n"
        "  --threads N                  hashing threads (default: one per core)\n"
        "  --batch LIST                 sign many APKs in one device session: lines\n"
        "                               \"IN OUT KEY\" (# comments); several --in/--out\n"
        "                               pairs with one --key also make a batch\n"
        "  --no-cache                   ask the device for every signature (by default a\n"
        "                               signature the key already made over the same\n"
        "                               bytes is reused from the signing cache and\n"
        "                               recorded as a reuse)\n"
        "  --lineage FILE               key rotation: FILE (from `signet apk lineage` or\n"
        "                               `apksigner rotate`) ends with --key's certificate;\n"
        "                               v3 carries it, v2 is signed by its oldest signer\n"
        "                               (a key of the key store, found by certificate)\n"
        "\n"
        "Once OUT.apk is durable, a binding record ties it (path and SHA-256) to the\n"
        "records made over IN.apk: `signet audit prove OUT.apk` makes its receipt.\n");
}

static signet_rc parse_bool(const char *flag, const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else
        return signet_fail(SIGNET_E_ARG, "%s takes true or false, not '%s'", flag, v);
    return SIGNET_OK;
}

static signet_rc parse_uint(const char *flag, const char *v, unsigned lo, unsigned hi,
                            unsigned *out)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        return signet_fail(SIGNET_E_ARG, "%s takes a number from %u to %u, not '%s'", flag, lo,
                           hi, v);
    *out = (unsigned)n;
    return SIGNET_OK;
}

static int cmd_sign(const struct cli_globals *g, int argc, char **argv)
{
    enum { O_IN = 1, O_OUT, O_KEY, O_MIN, O_V1, O_V2, O_V3, O_V4, O_V4F, O_PAGE, O_REALIGN,
           O_THREADS, O_BATCH, O_NOCACHE, O_LINEAGE, O_HELP, O_V1NAME };
    static const struct option opts[] = {
        {"in", required_argument, 0, O_IN}, {"out", required_argument, 0, O_OUT},
        {"key", required_argument, 0, O_KEY}, {"min-sdk-version", required_argument, 0, O_MIN},
        {"v1-signing-enabled", required_argument, 0, O_V1},
        {"v1-signer-name", required_argument, 0, O_V1NAME},
        {"v2-signing-enabled", required_argument, 0, O_V2},
        {"v3-signing-enabled", required_argument, 0, O_V3},
        {"v4-signing-enabled", required_argument, 0, O_V4},
        {"v4-signature-file", required_argument, 0, O_V4F},
        {"lib-page-alignment", required_argument, 0, O_PAGE},
        {"realign", no_argument, 0, O_REALIGN}, {"threads", required_argument, 0, O_THREADS},
        {"batch", required_argument, 0, O_BATCH}, {"no-cache", no_argument, 0, O_NOCACHE},
        {"lineage", required_argument, 0, O_LINEAGE}, {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0}};
    struct apk_batch b;
    apk_batch_init(&b);
    signet_apk_opts_default(&b.opts);
    const char *key = NULL, *batch = NULL;
    signet_rc rc = SIGNET_OK;
    unsigned u;
    int c;
    while (rc == SIGNET_OK && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_IN: rc = apk_batch_add(&b, optarg, NULL, NULL); break;
        case O_OUT: rc = apk_batch_set_out(&b, optarg); break;
        case O_KEY: key = optarg; break;
        case O_MIN:
            rc = parse_uint("--min-sdk-version", optarg, 1, 10000, &u);
            b.opts.min_sdk = (int)u;
            break;
        case O_V1:
            rc = parse_bool("--v1-signing-enabled", optarg, &b.opts.v1);
            b.opts.v1_off = !b.opts.v1;
            break;
        case O_V1NAME: b.opts.v1_signer_name = optarg; break;
        case O_V2: rc = parse_bool("--v2-signing-enabled", optarg, &b.opts.v2); break;
        case O_V3: rc = parse_bool("--v3-signing-enabled", optarg, &b.opts.v3); break;
        case O_V4: rc = parse_bool("--v4-signing-enabled", optarg, &b.opts.v4); break;
        case O_V4F: b.v4_file = optarg; break;
        case O_PAGE: rc = parse_uint("--lib-page-alignment", optarg, 4, 32768, &b.opts.lib_page_align); break;
        case O_REALIGN: b.opts.realign = true; break;
        case O_THREADS: rc = parse_uint("--threads", optarg, 1, 64, &b.opts.threads); break;
        case O_BATCH: batch = optarg; break;
        case O_NOCACHE: b.no_cache = true; break;
        case O_LINEAGE:
            if (b.lineage) {
                rc = signet_fail(SIGNET_E_ARG, "--lineage given twice");
                break;
            }
            rc = apk_batch_set_lineage(&b, optarg);
            break;
        case O_HELP: sign_usage(stdout); apk_batch_free(&b); return 0;
        default: sign_usage(stderr); apk_batch_free(&b); return 2;
        }
    }
    /* apksigner takes the input APK as its last argument */
    if (rc == SIGNET_OK && optind == argc - 1)
        rc = apk_batch_add(&b, argv[optind++], NULL, NULL);
    if (rc == SIGNET_OK && batch)
        rc = apk_batch_load(&b, batch);
    if (rc == SIGNET_OK)
        rc = apk_batch_check(&b, key, optind != argc);
    if (rc == SIGNET_E_ARG) {
        apk_batch_free(&b);
        return cli_usage_error("apk sign", "%s", signet_errmsg());
    }
    int ret = rc ? cli_report(rc) : apk_batch_run(g, &b);
    apk_batch_free(&b);
    return ret;
}

static void verify_usage(FILE *f)
{
    fprintf(f,
        "usage: signet apk verify [--min-sdk-version N] [--v4-signature-file F] [--print-certs]\n"
        "                         APK\n"
        "\n"
        "Checks every APK Signature Scheme block of APK (v2, v3, v3.1): the signer's\n"
        "signature over its signed data, the digests over the whole file, v2's\n"
        "stripping protection (a v2 signature that says v3 existed) and one signer\n"
        "across schemes; with --v4-signature-file also the .idsig.  Exit 0 when it\n"
        "verifies, 1 when it does not.  v1 (JAR) signatures are reported, not checked.\n");
}

static int cmd_verify(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"min-sdk-version", required_argument, 0, 'm'},
        {"v4-signature-file", required_argument, 0, '4'}, {"print-certs", no_argument, 0, 'p'},
        {"verbose", no_argument, 0, 'v'}, {"in", required_argument, 0, 'i'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *in = NULL, *v4 = NULL;
    unsigned min_sdk = 0;
    bool certs = false;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (parse_uint("--min-sdk-version", optarg, 1, 10000, &min_sdk))
                return cli_usage_error("apk verify", "%s", signet_errmsg());
            break;
        case '4': v4 = optarg; break;
        case 'p': certs = true; break;
        case 'v': break; /* always verbose */
        case 'i': in = optarg; break;
        case 'h': verify_usage(stdout); return 0;
        default: verify_usage(stderr); return 2;
        }
    }
    if (!in && optind == argc - 1)
        in = argv[optind++];
    if (!in || optind != argc)
        return cli_usage_error("apk verify", "needs one APK");
    sb_wr apk, idsig;
    sbw_init(&idsig, 0);
    signet_rc rc = cli_read_file(in, APK_CLI_MAX, &apk);
    if (rc == SIGNET_OK && v4)
        rc = cli_read_file(v4, APK_CLI_MAX, &idsig);
    signet_apk_verify_result r;
    if (rc == SIGNET_OK)
        rc = signet_apk_verify(apk.p, apk.len, v4 ? idsig.p : NULL, idsig.len, (int)min_sdk, &r);
    sbw_free(&apk);
    sbw_free(&idsig);
    if (rc)
        return cli_report(rc);
    printf("Verifies\n");
    if (r.min_sdk)
        printf("Min SDK: %d\n", r.min_sdk);
    else
        printf("Min SDK: unknown (AndroidManifest.xml unreadable; give --min-sdk-version)\n");
    printf("v1 (JAR signing): %s\n", r.v1_present ? "present, not checked" : "absent");
    printf("v2 (APK Signature Scheme v2): %s\n", r.v2 ? "verified" : "absent");
    printf("v3 (APK Signature Scheme v3): %s\n", r.v3 ? "verified" : "absent");
    printf("v3.1 (APK Signature Scheme v3.1): %s\n", r.v31 ? "verified" : "absent");
    if (r.lineage_signers)
        printf("Key rotation: v3 carries a lineage of %zu signers (v2 may name an older "
               "one)\n", r.lineage_signers);
    printf("v4 (APK Signature Scheme v4): %s\n", r.v4 ? "verified" : v4 ? "failed" : "not given");
    if (r.min_sdk && r.min_sdk < 24 && !r.v1_present)
        printf("warning: min SDK %d is below 24 and the APK has no v1 signature: Android "
               "6 and older will refuse it\n", r.min_sdk);
    if (certs) {
        printf("Signer #1 certificate DN: %s\n", r.cert_subject);
        printf("Signer #1 certificate SHA-256 digest: ");
        for (int i = 0; i < 32; i++)
            printf("%02x", r.cert_sha256[i]);
        printf("\n");
    }
    return 0;
}

static const struct cli_command CMDS[] = {
    {"sign", cmd_sign, "sign APKs (v2, v3, v4) with keys of the key store"},
    {"verify", cmd_verify, "verify an APK's v2/v3/v3.1 (and v4) signatures"},
    {"lineage", apk_cmd_lineage, "rotate an APK signing key: make or print a lineage"},
};

static int run(const struct cli_globals *g, int argc, char **argv)
{
    return cli_dispatch("apk",
                        "Native Android APK signing: APK Signature Scheme v2, v3 and v4 with keys\n"
                        "of the key store, byte-identical to Debian's apksigner 31.0.2 with\n"
                        "--lib-page-alignment 4096 (docs/apk.md).\n",
                        CMDS, sizeof CMDS / sizeof CMDS[0], g, argc, argv);
}

const struct cli_group cli_group_apk = {"apk", "sign and verify APKs (v2, v3, v4) natively", run};

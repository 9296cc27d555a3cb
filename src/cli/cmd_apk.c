/* signet apk sign | verify | lineage: APK Signature Scheme v1/v2/v3/v4 with keys of
 * the key store, through the signing path (docs/apk.md).  Flags follow apksigner's. */
#include <stdlib.h>
#include <string.h>

#include "apk_cli.h"
#include "cli_table.h"
#include "file_io.h"
#include "signet/apk.h"
#include "signet/sign.h"

/* apksigner's BOOL flags: 0 when absent, so that the engine's default stays. */
enum { TRI_UNSET, TRI_TRUE, TRI_FALSE };

static signet_rc p_bool(const char *v, void *dst)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        *(int *)dst = TRI_TRUE;
    else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        *(int *)dst = TRI_FALSE;
    else
        return signet_fail(SIGNET_E_ARG, "takes true or false, not '%s'", v);
    return SIGNET_OK;
}

static signet_rc p_range(const char *v, unsigned lo, unsigned hi, void *dst)
{
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || n < lo || n > hi)
        return signet_fail(SIGNET_E_ARG, "takes a number from %u to %u, not '%s'", lo, hi, v);
    *(unsigned *)dst = (unsigned)n;
    return SIGNET_OK;
}
static signet_rc p_sdk(const char *v, void *dst) { return p_range(v, 1, 10000, dst); }
static signet_rc p_page(const char *v, void *dst) { return p_range(v, 4, 32768, dst); }
static signet_rc p_threads(const char *v, void *dst) { return p_range(v, 1, 64, dst); }

static void set_bool(int tri, bool *field)
{
    if (tri != TRI_UNSET)
        *field = tri == TRI_TRUE;
}

struct sign_args {
    const char *key, *v1_name, *v4_file, *batch, *lineage, *apk;
    struct cli_list in, out;
    unsigned min_sdk, page, threads, rot_sdk;
    int v1, v2, v3, v4;
    bool realign, no_cache;
};

static const struct cli_opt SIGN_OPTS[] = {
    CLI_OPT("key", 0, "NAME", cli_p_str, struct sign_args, key, 0,
            "a key of the key store (RSA or EC)"),
    CLI_OPT("in", 0, "FILE", cli_p_str, struct sign_args, in, CLI_REPEAT,
            "the APK to sign (several --in/--out pairs make a batch)"),
    CLI_OPT("out", 0, "FILE", cli_p_str, struct sign_args, out, CLI_REPEAT,
            "where to write the signed APK (the n-th --out is the n-th input's)"),
    CLI_OPT("min-sdk-version", 0, "N", p_sdk, struct sign_args, min_sdk, 0,
            "instead of AndroidManifest.xml's minSdkVersion"),
    CLI_OPT("v1-signing-enabled", 0, "BOOL", p_bool, struct sign_args, v1, 0,
            "JAR signing; default: only when the min SDK is below 24"),
    CLI_OPT("v1-signer-name", 0, "NAME", cli_p_str, struct sign_args, v1_name, 0,
            "META-INF/NAME.SF (default: the key's name)"),
    CLI_OPT("v2-signing-enabled", 0, "BOOL", p_bool, struct sign_args, v2, 0,
            "default true (false is allowed from min SDK 28)"),
    CLI_OPT("v3-signing-enabled", 0, "BOOL", p_bool, struct sign_args, v3, 0, "default true"),
    CLI_OPT("v4-signing-enabled", 0, "BOOL", p_bool, struct sign_args, v4, 0,
            "default false; writes OUT.apk.idsig"),
    CLI_OPT("v4-signature-file", 0, "FILE", cli_p_str, struct sign_args, v4_file, 0,
            "where the .idsig goes (one APK)"),
    CLI_OPT("lib-page-alignment", 0, "BYTES", p_page, struct sign_args, page, 0,
            "stored native libraries: 16384 (default) or 4096 (Debian's apksigner)"),
    CLI_SWITCH("realign", 0, struct sign_args, realign,
               "align every stored entry anew instead of keeping the input's layout"),
    CLI_OPT("threads", 0, "N", p_threads, struct sign_args, threads, 0,
            "hashing threads (default: one per core)"),
    CLI_OPT("batch", 0, "LIST", cli_p_str, struct sign_args, batch, 0,
            "lines \"IN OUT KEY\" (# comments): many APKs in one device session"),
    CLI_SWITCH("no-cache", 0, struct sign_args, no_cache,
               "ask the device for every signature (no reuse from the signing cache)"),
    CLI_OPT("lineage", 0, "FILE", cli_p_str, struct sign_args, lineage, 0,
            "key rotation: FILE ends with --key's certificate; v2 by its oldest signer"),
    CLI_OPT("rotation-min-sdk-version", 0, "N", p_sdk, struct sign_args, rot_sdk, 0,
            "with --lineage: first SDK of the new key (default 33: v3.1; below 33: v3 "
            "from Android 9)"),
    CLI_POS("APK", cli_p_str, struct sign_args, apk, 0,
            "the APK to sign, as apksigner takes it (instead of --in)"),
    CLI_END};

static signet_rc fill_batch(const struct sign_args *a, struct apk_batch *b)
{
    signet_apk_opts *o = &b->opts;
    signet_apk_opts_default(o);
    o->min_sdk = (int)a->min_sdk;
    set_bool(a->v1, &o->v1);
    o->v1_off = a->v1 == TRI_FALSE;
    o->v1_signer_name = a->v1_name;
    set_bool(a->v2, &o->v2);
    set_bool(a->v3, &o->v3);
    set_bool(a->v4, &o->v4);
    if (a->page)
        o->lib_page_align = a->page;
    if (a->threads)
        o->threads = a->threads;
    o->realign = a->realign;
    o->rotation_min_sdk = (int)a->rot_sdk;
    b->v4_file = a->v4_file;
    b->no_cache = a->no_cache;
    size_t n_in = a->in.n + (a->apk ? 1 : 0);
    if (a->out.n > n_in)
        return signet_fail(SIGNET_E_ARG, "--out %s has no input APK", a->out.v[n_in]);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; i < n_in && !rc; i++)
        rc = apk_batch_add(b, i < a->in.n ? a->in.v[i] : a->apk,
                           i < a->out.n ? a->out.v[i] : NULL, NULL);
    if (!rc && a->lineage)
        rc = apk_batch_set_lineage(b, a->lineage);
    if (!rc && a->batch)
        rc = apk_batch_load(b, a->batch);
    return rc ? rc : apk_batch_check(b, a->key, false);
}

static signet_rc run_sign(struct cli_ctx *c, void *args)
{
    struct apk_batch b;
    apk_batch_init(&b);
    signet_rc rc = fill_batch(args, &b);
    if (rc == SIGNET_OK)
        c->status = apk_batch_run(c->g, &b);
    apk_batch_free(&b);
    return rc;
}

struct verify_args {
    const char *in, *apk, *v4;
    unsigned min_sdk;
    bool certs, verbose;
};

static const struct cli_opt VERIFY_OPTS[] = {
    CLI_OPT("min-sdk-version", 0, "N", p_sdk, struct verify_args, min_sdk, 0,
            "instead of AndroidManifest.xml's minSdkVersion"),
    CLI_OPT("v4-signature-file", 0, "FILE", cli_p_str, struct verify_args, v4, 0,
            "also check this .idsig"),
    CLI_SWITCH("print-certs", 0, struct verify_args, certs, "print the signer's certificate"),
    CLI_SWITCH("verbose", 'v', struct verify_args, verbose, "accepted (always verbose)"),
    CLI_OPT("in", 0, "FILE", cli_p_str, struct verify_args, in, 0, "the APK (or as argument)"),
    CLI_POS("APK", cli_p_str, struct verify_args, apk, 0, "the APK to verify"),
    CLI_END};

static void print_result(const signet_apk_verify_result *r, bool v4_given, bool certs)
{
    printf("Verifies\n");
    if (r->min_sdk)
        printf("Min SDK: %d\n", r->min_sdk);
    else
        printf("Min SDK: unknown (AndroidManifest.xml unreadable; give --min-sdk-version)\n");
    printf("v1 (JAR signing): %s\n", r->v1_present ? "present, not checked" : "absent");
    printf("v2 (APK Signature Scheme v2): %s\n", r->v2 ? "verified" : "absent");
    printf("v3 (APK Signature Scheme v3): %s\n", r->v3 ? "verified" : "absent");
    printf("v3.1 (APK Signature Scheme v3.1): %s\n", r->v31 ? "verified" : "absent");
    if (r->lineage_signers && r->v31)
        printf("Key rotation: v3.1 carries a lineage of %zu signers, used from SDK %d (Android "
               "13 and later); v3 and v2 name the original signer\n", r->lineage_signers,
               r->rotation_min_sdk);
    else if (r->lineage_signers)
        printf("Key rotation: v3 carries a lineage of %zu signers (v2 may name an older "
               "one)\n", r->lineage_signers);
    printf("v4 (APK Signature Scheme v4): %s\n",
           r->v4 ? "verified" : v4_given ? "failed" : "not given");
    if (r->min_sdk && r->min_sdk < 24 && !r->v1_present)
        printf("warning: min SDK %d is below 24 and the APK has no v1 signature: Android "
               "6 and older will refuse it\n", r->min_sdk);
    if (certs) {
        printf("Signer #1 certificate DN: %s\n", r->cert_subject);
        printf("Signer #1 certificate SHA-256 digest: ");
        for (int i = 0; i < 32; i++)
            printf("%02x", r->cert_sha256[i]);
        printf("\n");
    }
}

static signet_rc run_verify(struct cli_ctx *c, void *args)
{
    (void)c;
    const struct verify_args *a = args;
    if (!a->in == !a->apk)
        return signet_fail(SIGNET_E_ARG, "needs one APK (--in FILE or as argument)");
    sb_wr apk, idsig;
    sbw_init(&apk, 0);
    sbw_init(&idsig, 0);
    signet_rc rc = cli_read_file(a->in ? a->in : a->apk, APK_CLI_MAX, &apk);
    if (rc == SIGNET_OK && a->v4)
        rc = cli_read_file(a->v4, APK_CLI_MAX, &idsig);
    signet_apk_verify_result r;
    if (rc == SIGNET_OK)
        rc = signet_apk_verify(apk.p, apk.len, a->v4 ? idsig.p : NULL, idsig.len,
                               (int)a->min_sdk, &r);
    sbw_free(&apk);
    sbw_free(&idsig);
    if (rc == SIGNET_OK)
        print_result(&r, a->v4 != NULL, a->certs);
    return rc;
}

static const struct cli_opt LINEAGE_OPTS[] = {
    CLI_OPT("old-key", 0, "OLD", cli_p_str, struct apk_lineage_args, old_key, 0,
            "the key being rotated out (signs NEW's certificate)"),
    CLI_OPT("new-key", 0, "NEW", cli_p_str, struct apk_lineage_args, new_key, 0,
            "the key rotated in"),
    CLI_OPT("in", 0, "LINEAGE", cli_p_str, struct apk_lineage_args, in, 0,
            "extend (or print) this lineage; its newest signer must be OLD"),
    CLI_OPT("out", 0, "LINEAGE", cli_p_str, struct apk_lineage_args, out, 0,
            "where to write the lineage"),
    CLI_SWITCH("print-certs", 0, struct apk_lineage_args, print,
               "list the signers, oldest first, with certificate SHA-256 and capabilities"),
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {"sign", "sign APKs (v1, v2, v3, v4) with keys of the key store",
     "Signs an APK with key NAME of the key store (its certificate is the signer's) with\n"
     "APK Signature Scheme v2 and v3, as Debian's apksigner 31.0.2 lays it out.  Every\n"
     "signature goes through the signing path and has its audit record, naming IN.apk\n"
     "and its SHA-256, before OUT.apk is written (temporary file, rename).  Once OUT.apk\n"
     "is durable, a binding record ties it to those records: `signet audit prove\n"
     "OUT.apk` makes its receipt.  By default a signature the key already made over the\n"
     "same bytes is reused from the signing cache and recorded as a reuse.\n",
     SIGN_OPTS, sizeof(struct sign_args), 0, run_sign},
    {"verify", "verify an APK's v2/v3/v3.1 (and v4) signatures",
     "Checks every APK Signature Scheme block of APK (v2, v3, v3.1): the signer's\n"
     "signature over its signed data, the digests over the whole file, v2's stripping\n"
     "protection (a v2 signature that says v3 existed), v3's protection of v3.1 (a v3\n"
     "signer that names the SDK where the v3.1 signer takes over) and one signing\n"
     "history across schemes (v2/v3 may name a key of v3.1's or v3's lineage);\n"
     "with --v4-signature-file also the .idsig.  Exit 0 when it verifies, 1 when it does\n"
     "not.  v1 (JAR) signatures are reported, not checked.\n",
     VERIFY_OPTS, sizeof(struct verify_args), 0, run_verify},
    {"lineage", "rotate an APK signing key: make or print a lineage",
     "Key rotation for APKs (APK Signature Scheme v3, Android 9 and later): the old key\n"
     "OLD signs the certificate of the new key NEW (one signature through the signing\n"
     "path, with its audit record naming LINEAGE), and the lineage file is written as\n"
     "`apksigner rotate` writes it.  With --in, the rotation extends that lineage.  Then\n"
     "sign with the new key:\n"
     "  signet apk sign --key NEW --lineage LINEAGE --in IN.apk --out OUT.apk\n"
     "By default (as apksigner) the rotation targets Android 13: a v3.1 block is signed\n"
     "by NEW and carries the lineage, while v3, v2 (and v1) keep the lineage's oldest\n"
     "key for older devices.  --rotation-min-sdk-version 28 puts the rotation into v3\n"
     "from Android 9 (refused for apps with android:sharedUserId, which Android 9-12\n"
     "do not let rotate).  Both keys keep apksigner's default capabilities (no\n"
     "rollback).  AVB, OTA and APEX payload keys cannot be rotated by a lineage: this\n"
     "command refuses keys of those roles.\n"
     "Usage: --old-key OLD --new-key NEW [--in LINEAGE] --out LINEAGE, or\n"
     "       --in LINEAGE --print-certs\n",
     LINEAGE_OPTS, sizeof(struct apk_lineage_args), 0, apk_lineage_run},
    {0}};

const struct cli_table cli_table_apk = {
    "apk", "sign and verify APKs (v1, v2, v3, v4) natively",
    "Native Android APK signing: APK Signature Scheme v1, v2, v3 and v4 with keys of the\n"
    "key store, byte-identical to Debian's apksigner 31.0.2 with --lib-page-alignment\n"
    "4096 (docs/apk.md).\n",
    CMDS};

/* signet signapk: a command-line twin of AOSP's signapk.jar for APKs (v1 + v2 +
 * v3) and OTA packages (-w), so that releasetools can call it where they call
 * `java -jar signapk.jar` (docs/signapk.md).  The key is named with --key, or
 * found in the key store by the certificate given as signapk's first argument
 * (the .pk8 after it is never read and need not exist). */
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli_table.h"
#include "file_io.h"
#include "signet/keystore.h"
#include "signet/sign.h"
#include "signet/signapk.h"

#define MAX_PACKAGE 0xfff00000u
#define MAX_CERT (1u << 20)

struct signapk_args {
    bool whole_file, disable_v2;
    unsigned align, min_sdk;
    const char *key, *provider;
    struct cli_list files;
};

static const struct cli_opt OPTS[] = {
    CLI_SWITCH("w", 'w', struct signapk_args, whole_file,
               "sign the whole file (OTA packages); without it IN is an APK"),
    CLI_OPT_DEF("a", 'a', "ALIGN", cli_p_uint, struct signapk_args, align, "4",
                "APKs: stored entries' data alignment, .so files 4096 (0: none; -w: ignored)"),
    CLI_OPT("min-sdk-version", 0, "N", cli_p_uint, struct signapk_args, min_sdk, 0,
            "APKs: the min SDK (default: AndroidManifest.xml's; -w: ignored)"),
    CLI_SWITCH("disable-v2", 0, struct signapk_args, disable_v2,
               "APKs: no v2 signature (v1 and v3 only; -w: ignored)"),
    CLI_OPT("providerClass", 0, "CLASS", cli_p_str, struct signapk_args, provider, 0,
            "accepted and ignored (signapk's Java key provider)"),
    CLI_OPT("key", 0, "NAME", cli_p_str, struct signapk_args, key, 0,
            "a key of the key store (else found by CERT)"),
    CLI_POS("[CERT.x509.pem KEY.pk8] IN OUT", cli_p_str, struct signapk_args, files,
            CLI_REQUIRED | CLI_REST, "signapk's arguments"),
    CLI_END};

/* The key of the key store whose certificate is the one in cert_der. */
static signet_rc key_by_cert(struct signet_signer *s, const uint8_t *cert_der, size_t cert_len,
                             const char *path, const char **name)
{
    signet_keystore *ks = signet_signer_keystore(s);
    sb_wr mine;
    sbw_init(&mine, MAX_CERT);
    signet_rc rc = SIGNET_E_NOTFOUND;
    for (size_t i = 0; i < signet_keystore_count(ks) && rc == SIGNET_E_NOTFOUND; i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        sbw_reset(&mine);
        if (signet_keystore_cert_der(ks, e->name, &mine) == SIGNET_OK && mine.len == cert_len &&
            memcmp(mine.p, cert_der, cert_len) == 0) {
            *name = e->name;
            rc = SIGNET_OK;
        }
    }
    sbw_free(&mine);
    if (rc)
        return signet_fail(SIGNET_E_NOTFOUND, "no key of the key store has the certificate %s; "
                                              "import the key (`signet keys import --aosp`) or "
                                              "name one with --key", path);
    return SIGNET_OK;
}

/* A certificate file as signapk reads it: PEM or DER. */
static signet_rc read_cert(const char *path, sb_wr *file, sb_wr *der)
{
    signet_rc rc = cli_read_file(path, MAX_CERT, file);
    if (rc)
        return rc;
    BIO *b = BIO_new_mem_buf(file->p, (int)file->len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    const uint8_t *p = file->p;
    if (!x)
        x = d2i_X509(NULL, &p, (long)file->len);
    unsigned char *d = NULL;
    int n = x ? i2d_X509(x, &d) : -1;
    rc = n > 0 ? sbw_put(der, d, (size_t)n)
               : signet_fail(SIGNET_E_PARSE, "%s is not an X.509 certificate (PEM or DER)", path);
    OPENSSL_free(d);
    X509_free(x);
    BIO_free(b);
    return rc;
}

static signet_rc signapk(struct cli_ctx *c, void *args)
{
    struct signapk_args *a = args;
    if (a->files.n != 2 && a->files.n != 4)
        return signet_fail(SIGNET_E_ARG, "give IN OUT, or CERT.x509.pem KEY.pk8 IN OUT as "
                                         "signapk takes them (one key only)");
    if (!a->whole_file && a->align > 32768)
        return signet_fail(SIGNET_E_ARG, "alignment %u is larger than a ZIP extra field can "
                                         "pad; give -a 32768 or less", a->align);
    if (a->files.n == 2 && !a->key)
        return signet_fail(SIGNET_E_ARG, "name the key: --key NAME, or its certificate "
                                         "before IN OUT");
    const char *cert_path = a->files.n == 4 ? a->files.v[0] : NULL;
    const char *in = a->files.v[a->files.n - 2], *out = a->files.v[a->files.n - 1];
    sb_wr cert_file, cert_der, zip, signed_zip;
    sbw_init(&cert_file, MAX_CERT);
    sbw_init(&cert_der, MAX_CERT);
    sbw_init(&signed_zip, MAX_PACKAGE);
    zip.p = NULL;
    signet_rc rc = cert_path ? read_cert(cert_path, &cert_file, &cert_der) : SIGNET_OK;
    rc = rc ? rc : cli_read_file(in, MAX_PACKAGE, &zip);
    rc = rc ? rc : cli_ctx_open(c);
    const char *key = a->key;
    if (rc == SIGNET_OK && !key)
        rc = key_by_cert(c->signer, cert_der.p, cert_der.len, cert_path, &key);
    signet_signapk_opts o = {.whole_file = a->whole_file, .align = (int)a->align,
                             .min_sdk = (int)a->min_sdk, .disable_v2 = a->disable_v2,
                             .cert_file = cert_path ? cert_file.p : NULL,
                             .cert_file_len = cert_file.len};
    signet_apk_sign_info info = {.artifact_path = in, .caller = "signet signapk"};
    rc = rc ? rc : signet_signapk_key(c->signer, key, zip.p, zip.len, &o, &info, &signed_zip);
    rc = rc ? rc : cli_write_file(out, signed_zip.p, signed_zip.len);
    /* the output is durable: bind it to the record made over the input */
    rc = rc ? rc : signet_signer_bind(c->signer, in, info.in_sha256, out, info.out_sha256,
                                      info.records, info.n_records);
    if (rc == SIGNET_OK && !c->g->quiet)
        fprintf(stderr, "signet signapk: %s signed with key '%s' (%u device operation%s, %u "
                        "cache hit%s)\n", out, key, info.device_sigs,
                info.device_sigs == 1 ? "" : "s", info.reused, info.reused == 1 ? "" : "s");
    sbw_free(&cert_file);
    sbw_free(&cert_der);
    if (zip.p)
        sbw_free(&zip);
    sbw_free(&signed_zip);
    return rc;
}

static const struct cli_cmd CMDS[] = {
    {NULL, "Sign an APK or an OTA package as AOSP's signapk does",
     "Rewrites IN as signapk.jar writes it (entries sorted, directories and old\n"
     "signature files dropped, stored entries first, the others deflated again,\n"
     "all dated 2009-01-01) and signs it as Debian's signapk 10.0.0+r36 does:\n"
     "an APK with v1 (META-INF/CERT.SF, CERT.RSA or CERT.EC) and then v2 and v3\n"
     "(stored entries aligned by -a, .so files to 4096; three signatures); with -w\n"
     "an OTA package as one file (META-INF/com/android/otacert last, a CMS\n"
     "signature in the ZIP comment with the footer the recovery reads).  The output\n"
     "is byte for byte what signapk.jar writes with the same key (RSA; ECDSA\n"
     "signatures are randomised), deflated entries included as long as both use the\n"
     "same zlib.  Each signature goes through the signing path (audit records naming\n"
     "IN and its SHA-256, then a binding record naming OUT).  The key is --key NAME,\n"
     "or the key store's key whose certificate is CERT.x509.pem; KEY.pk8 is never\n"
     "read.  `apksigner verify` or `signet apk verify` check an APK, `signet ota\n"
     "verify` an OTA package.\n",
     OPTS, sizeof(struct signapk_args), CLI_SIGNER | CLI_LATE, signapk},
    {0}};

const struct cli_table cli_table_signapk = {
    "signapk", "sign an APK or an OTA package (-w) as AOSP's signapk.jar", NULL, CMDS};

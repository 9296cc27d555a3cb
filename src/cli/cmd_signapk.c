/* signet signapk: a command-line twin of AOSP's signapk.jar for OTA packages
 * (-w), so that releasetools can call it where they call
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
               "sign the whole file (OTA packages); required: APKs go to `signet apk sign`"),
    CLI_OPT_DEF("a", 'a', "ALIGN", cli_p_uint, struct signapk_args, align, "4",
                "stored entries' alignment (APKs; -w aligns nothing)"),
    CLI_OPT("min-sdk-version", 0, "N", cli_p_uint, struct signapk_args, min_sdk, 0,
            "accepted for signapk's argv (it changes nothing with -w)"),
    CLI_SWITCH("disable-v2", 0, struct signapk_args, disable_v2,
               "accepted for signapk's argv (it changes nothing with -w)"),
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
    if (!a->whole_file)
        return signet_fail(SIGNET_E_UNSUPPORTED, "signet signapk signs OTA packages (-w); sign "
                                                 "APKs with `signet apk sign`");
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
    signet_signapk_opts o = {.whole_file = true, .align = 0,
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
    {NULL, "Sign an OTA package as AOSP's signapk -w does",
     "Rewrites IN as signapk.jar -w writes it (entries sorted, directories and old\n"
     "signature files dropped, stored entries first, the others deflated again,\n"
     "all dated 2009-01-01, META-INF/com/android/otacert last) and signs the whole\n"
     "file: a CMS signature in the ZIP comment with the footer the recovery reads.\n"
     "The output is byte for byte what Debian's signapk writes with the same key\n"
     "(for deflated entries, as long as both use the same zlib).  The signature goes\n"
     "through the signing path (an audit record naming IN and its SHA-256, then a\n"
     "binding record naming OUT).  The key is --key NAME, or the key store's key\n"
     "whose certificate is CERT.x509.pem; KEY.pk8 is never read.  `signet ota\n"
     "verify` checks the result.  APKs: use `signet apk sign`.\n",
     OPTS, sizeof(struct signapk_args), CLI_SIGNER | CLI_LATE, signapk},
    {0}};

const struct cli_table cli_table_signapk = {
    "signapk", "sign an OTA package as AOSP's signapk -w (whole-file signature)", NULL, CMDS};

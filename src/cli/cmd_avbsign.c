/* signet avb-sign: avbtool's --signing_helper and --signing_helper_with_files.
 *
 * avbtool runs `helper ALGORITHM KEY` with the complete PKCS#1 v1.5 block on stdin
 * and wants the raw RSA signature on stdout (or, _with_files, `helper ALGORITHM KEY
 * FILE` and the signature written over FILE).  The YubiHSM has no raw RSA, so the
 * block is checked to be exactly type-1 padding around a DigestInfo of the hash the
 * algorithm names, at the key's modulus length, and the DigestInfo is signed with
 * Sign PKCS#1 (the device pads it the same way).  Anything else is refused. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "cli.h"
#include "file_io.h"
#include "signet/digestinfo.h"
#include "signet/sign.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: signet [global options] avb-sign ALGORITHM KEY [FILE]\n"
               "\n"
               "avbtool signing helper: pass `--signing_helper 'signet avb-sign'` (block on\n"
               "stdin, signature on stdout) or `--signing_helper_with_files` (the block is read\n"
               "from FILE and replaced by the signature).  ALGORITHM is avbtool's name, e.g.\n"
               "SHA256_RSA4096; KEY names a key of the key store (a path is reduced to its\n"
               "file name without .pem/.avbpubkey/.x509.pem).  Configuration: --config or\n"
               "$SIGNET_CONF; password: --password-file or $SIGNET_PASSWORD.\n"
               "The audit record names $SIGNET_ARTIFACT when set.\n");
}

/* "SHA256_RSA4096" -> NID_sha256, 512 bytes. */
static signet_rc parse_algorithm(const char *a, int *md_nid, size_t *mod_bytes)
{
    static const struct { const char *name; int nid; size_t bytes; } algs[] = {
        {"SHA256_RSA2048", NID_sha256, 256}, {"SHA256_RSA4096", NID_sha256, 512},
        {"SHA256_RSA8192", NID_sha256, 1024}, {"SHA512_RSA2048", NID_sha512, 256},
        {"SHA512_RSA4096", NID_sha512, 512}, {"SHA512_RSA8192", NID_sha512, 1024},
    };
    for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
        if (strcmp(a, algs[i].name) == 0) {
            *md_nid = algs[i].nid;
            *mod_bytes = algs[i].bytes;
            return SIGNET_OK;
        }
    return signet_fail(SIGNET_E_ARG, "unknown avbtool algorithm '%s' (SHA256_RSA4096, ...)", a);
}

/* avbtool passes the --key argument verbatim: accept a key name or a path to one
 * of the key store's files. */
static void key_name_from_arg(const char *arg, char *out, size_t len)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", arg);
    snprintf(out, len, "%s", basename(tmp));
    static const char *const suffixes[] = {".x509.pem", ".pub.pem", ".avbpubkey", ".pem", ".pk8"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t n = strlen(out), s = strlen(suffixes[i]);
        if (n > s && strcmp(out + n - s, suffixes[i]) == 0) {
            out[n - s] = 0;
            break;
        }
    }
}

static signet_rc avb_sign(const struct cli_globals *g, const char *alg, const char *key,
                          const uint8_t *block, size_t block_len, uint8_t *sig, size_t *sig_len)
{
    int md_nid = 0, got_nid = 0;
    size_t mod_bytes = 0;
    signet_rc rc = parse_algorithm(alg, &md_nid, &mod_bytes);
    if (rc)
        return rc;
    if (block_len != mod_bytes)
        return signet_fail(SIGNET_E_ARG, "%s needs a %zu-byte block, got %zu bytes", alg,
                           mod_bytes, block_len);
    const uint8_t *di;
    size_t di_len;
    if (signet_pkcs1_block_parse(block, block_len, &di, &di_len, &got_nid) != SIGNET_OK)
        return signet_wrap(SIGNET_E_ARG, "refusing to sign for avbtool"); /* exit status 2 */
    if (got_nid != md_nid)
        return signet_fail(SIGNET_E_ARG, "the block holds a %s digest but %s names %s",
                           OBJ_nid2sn(got_nid), alg, OBJ_nid2sn(md_nid));

    char name[SIGNET_KEY_NAME_MAX];
    key_name_from_arg(key, name, sizeof name);
    signet_signer *s;
    if ((rc = cli_open_signer(g, &s)) != SIGNET_OK)
        return rc;
    signet_sign_req req = {.key_name = name, .mech = SIGNET_MECH_RSA_PKCS1, .data = di,
                           .len = di_len, .artifact_path = getenv("SIGNET_ARTIFACT"),
                           .caller = "avb-sign"};
    rc = signet_sign(s, &req, sig, sig_len);
    signet_signer_close(s);
    if (rc == SIGNET_OK && *sig_len != mod_bytes)
        rc = signet_fail(SIGNET_E_STATE, "key '%s' made a %zu-byte signature; %s needs %zu", name,
                         *sig_len, alg, mod_bytes);
    return rc;
}

static int run(const struct cli_globals *g, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc != 3 && argc != 4) {
        usage(stderr);
        return 2;
    }
    const char *file = argc == 4 ? argv[3] : NULL;
    sb_wr block;
    signet_rc rc = file ? cli_read_file(file, 1024, &block) : cli_read_fd(0, "stdin", 1024, &block);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (rc == SIGNET_OK)
        rc = avb_sign(g, argv[1], argv[2], block.p, block.len, sig, &sig_len);
    sbw_free(&block);
    if (rc == SIGNET_OK)
        rc = file ? cli_write_file(file, sig, sig_len) : cli_write_all(1, "stdout", sig, sig_len);
    return rc ? cli_report(rc) : 0;
}

const struct cli_group cli_group_avbsign = {"avb-sign", "avbtool signing helper (--signing_helper)",
                                            run};

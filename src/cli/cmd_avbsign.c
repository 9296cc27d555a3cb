/* signet avb-sign: avbtool's --signing_helper and --signing_helper_with_files.
 *
 * avbtool runs `helper ALGORITHM KEY` with the complete PKCS#1 v1.5 block on stdin
 * and wants the raw RSA signature on stdout (or, _with_files, `helper ALGORITHM KEY
 * FILE` and the signature written over FILE).  The YubiHSM has no raw RSA, so the
 * block is checked to be exactly type-1 padding around a DigestInfo of the hash the
 * algorithm names, at the key's modulus length, and the DigestInfo is signed with
 * Sign PKCS#1 (the device pads it the same way).  Anything else is refused.
 *
 * In the files mode avbtool keeps FILE open and reads the signature back through
 * that handle, so FILE is overwritten in place (same inode) and fsynced before the
 * helper exits 0; a rename would leave avbtool reading the unsigned block.
 * Installed also as signet-avb-sign: avbtool takes the helper as one program path. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "cli_table.h"
#include "file_io.h"
#include "signet/digestinfo.h"
#include "signet/sign.h"

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

struct avb_args {
    const char *algorithm, *key, *file;
};

static const struct cli_opt OPTS[] = {
    CLI_POS("ALGORITHM", cli_p_str, struct avb_args, algorithm, CLI_REQUIRED,
            "avbtool's algorithm name, e.g. SHA256_RSA4096"),
    CLI_POS("KEY", cli_p_str, struct avb_args, key, CLI_REQUIRED,
            "a key of the key store (a path is reduced to its file name)"),
    CLI_POS("FILE", cli_p_str, struct avb_args, file, 0,
            "files mode: the block is read from FILE and overwritten by the signature"),
    CLI_END};

/* Checks the block and signs its DigestInfo through the signing path. */
static signet_rc avb_sign(struct cli_ctx *c, const char *alg, const char *key,
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
    if ((rc = cli_ctx_open(c)) != SIGNET_OK)
        return rc;
    signet_sign_req req = {.key_name = name, .mech = SIGNET_MECH_RSA_PKCS1, .data = di,
                           .len = di_len, .artifact_path = getenv("SIGNET_ARTIFACT"),
                           .caller = "avb-sign"};
    rc = signet_sign(c->signer, &req, sig, sig_len);
    if (rc == SIGNET_OK && *sig_len != mod_bytes)
        rc = signet_fail(SIGNET_E_STATE, "key '%s' made a %zu-byte signature; %s needs %zu", name,
                         *sig_len, alg, mod_bytes);
    return rc;
}

static signet_rc run(struct cli_ctx *c, void *args)
{
    const struct avb_args *a = args;
    sb_wr block;
    signet_rc rc = a->file ? cli_read_file(a->file, 1024, &block)
                           : cli_read_fd(0, "stdin", 1024, &block);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (rc == SIGNET_OK)
        rc = avb_sign(c, a->algorithm, a->key, block.p, block.len, sig, &sig_len);
    sbw_free(&block);
    if (rc == SIGNET_OK)
        rc = a->file ? cli_overwrite_file(a->file, sig, sig_len)
                     : cli_write_all(1, "stdout", sig, sig_len);
    return rc;
}

static const struct cli_cmd CMDS[] = {
    {NULL, "avbtool signing helper",
     "avbtool runs the helper with the PKCS#1 v1.5 block on stdin and takes the\n"
     "signature from stdout (--signing_helper), or names FILE, which holds the block\n"
     "and is overwritten in place by the signature (--signing_helper_with_files).\n"
     "avbtool takes one program path, so name the installed link:\n"
     "  avbtool ... --signing_helper /usr/local/bin/signet-avb-sign\n"
     "Credentials come from signet.conf ($SIGNET_CONF: auth_key with password_file\n"
     "or auth_key_file) or $SIGNET_AUTH_KEY and $SIGNET_PASSWORD.  The audit record\n"
     "names $SIGNET_ARTIFACT when set.\n",
     OPTS, sizeof(struct avb_args), CLI_SIGNER | CLI_LATE, run},
    {0}};

const struct cli_table cli_table_avbsign = {"avb-sign", "avbtool signing helper (--signing_helper)",
                                            NULL, CMDS};

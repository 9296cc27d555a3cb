/* signet sign: sign a release artifact with a key of the key store through the
 * signing path; the audit record names the artifact and its SHA-256. */
#include <string.h>

#include <openssl/evp.h>

#include "cli_table.h"
#include "file_io.h"
#include "signet/sign.h"

#define MAX_ARTIFACT (1u << 30)

struct sign_args {
    const char *key, *in, *out, *hash;
};

static const struct cli_opt OPTS[] = {
    CLI_OPT("key", 0, "NAME", cli_p_str, struct sign_args, key, CLI_REQUIRED,
            "a key of the key store"),
    CLI_OPT("in", 0, "FILE", cli_p_str, struct sign_args, in, CLI_REQUIRED, "the artifact"),
    CLI_OPT("out", 0, "SIG", cli_p_str, struct sign_args, out, CLI_REQUIRED,
            "where the signature goes"),
    CLI_OPT_DEF("hash", 0, "H", cli_p_hash, struct sign_args, hash, "sha256",
                "sha256, sha384 or sha512"),
    CLI_END};

static signet_rc sign(struct cli_ctx *c, void *args)
{
    const struct sign_args *a = args;
    const EVP_MD *md = EVP_get_digestbyname(a->hash);
    if (!md)
        return signet_fail(SIGNET_E_UNSUPPORTED, "OpenSSL does not provide %s", a->hash);
    sb_wr file;
    signet_rc rc = cli_read_file(a->in, MAX_ARTIFACT, &file);
    uint8_t digest[64], file_sha256[32];
    unsigned dlen = 0;
    if (rc == SIGNET_OK && (EVP_Digest(file.p, file.len, digest, &dlen, md, NULL) != 1 ||
                            EVP_Digest(file.p, file.len, file_sha256, NULL, EVP_sha256(), NULL) != 1))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot hash %s", a->in);
    sbw_free(&file);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (rc == SIGNET_OK)
        rc = cli_ctx_open(c);
    if (rc == SIGNET_OK)
        rc = cli_sign_digest(c->signer, a->key, EVP_MD_get_type(md), digest, dlen, a->in,
                             file_sha256, sig, &sig_len);
    if (rc == SIGNET_OK)
        rc = cli_write_file(a->out, sig, sig_len);
    return rc;
}

static const struct cli_cmd CMDS[] = {
    {NULL, "Sign a release artifact with a key of the key store",
     "Hashes FILE and signs the digest with key NAME of the key store (RSA: PKCS#1\n"
     "v1.5; EC: ECDSA, DER).  The signature is written to SIG only after the audit\n"
     "record naming FILE and its SHA-256 is on disk.\n",
     OPTS, sizeof(struct sign_args), CLI_SIGNER | CLI_LATE, sign},
    {0}};

const struct cli_table cli_table_sign = {"sign", "sign a release artifact with a key of the key store", NULL, CMDS};

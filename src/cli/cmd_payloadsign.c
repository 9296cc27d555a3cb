/* signet payload-sign: the OTA payload signer (ota_from_target_files
 * --payload_signer).  It is run as `signer <args> -in HASH -out SIG`; HASH holds a
 * SHA-256 digest and SIG gets what `openssl pkeyutl -sign -pkeyopt digest:sha256`
 * would write: PKCS#1 v1.5 for RSA keys, DER ECDSA for EC keys.  Installed also as
 * signet-payload-sign, which the OTA tools can name with --payload_signer. */
#include <openssl/obj_mac.h>

#include "cli_table.h"
#include "file_io.h"
#include "signet/sign.h"

struct payload_args {
    const char *key, *in, *out;
};

static const struct cli_opt OPTS[] = {
    CLI_OPT("key", 0, "NAME", cli_p_str, struct payload_args, key, CLI_REQUIRED,
            "a key of the key store"),
    CLI_OPT("in", 0, "HASH", cli_p_str, struct payload_args, in, CLI_REQUIRED,
            "file holding a 32-byte SHA-256 digest"),
    CLI_OPT("out", 0, "SIG", cli_p_str, struct payload_args, out, CLI_REQUIRED,
            "where the signature goes"),
    CLI_END};

static signet_rc payload_sign(struct cli_ctx *c, void *args)
{
    const struct payload_args *a = args;
    sb_wr hash;
    signet_rc rc = cli_read_file(a->in, 64, &hash);
    if (rc == SIGNET_OK && hash.len != 32)
        rc = signet_fail(SIGNET_E_ARG, "%s holds %zu bytes; a SHA-256 digest has 32", a->in,
                         hash.len);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (rc == SIGNET_OK)
        rc = cli_ctx_open(c);
    if (rc == SIGNET_OK)
        rc = cli_sign_digest(c->signer, a->key, NID_sha256, hash.p, hash.len, a->in, NULL, sig,
                             &sig_len);
    sbw_free(&hash);
    if (rc == SIGNET_OK)
        rc = cli_write_file(a->out, sig, sig_len);
    return rc;
}

static const struct cli_cmd CMDS[] = {
    {NULL, "OTA payload signer: sign a SHA-256 digest",
     "HASH holds a 32-byte SHA-256 digest; SIG receives the signature (as `openssl\n"
     "pkeyutl -sign -pkeyopt digest:sha256` makes it).  Use with ota_from_target_files\n"
     "--payload_signer signet-payload-sign --payload_signer_args '--key avb_DEVICE'\n"
     "(credentials from signet.conf: auth_key with password_file or auth_key_file).\n",
     OPTS, sizeof(struct payload_args), CLI_SIGNER | CLI_LATE, payload_sign},
    {0}};

const struct cli_table cli_table_payloadsign = {"payload-sign", "OTA payload signer (-in HASH -out SIG)", NULL, CMDS};

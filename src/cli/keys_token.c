/* `signet keys token-wrap-key`: the trusted AES key of the PKCS#11 token that
 * signet.conf names, under which `signet keys generate` wraps the backups of the
 * keys it makes there (docs/migration.md). */
#include <stdio.h>

#include "keys_cmds.h"
#include "signet/backend.h"
#include "signet/sign.h"

const char keys_token_wrap_key_help[] =
    "Logs in to the PKCS#11 token of signet.conf (backend = pkcs11) as its security\n"
    "officer and generates there an AES-256 key labelled pkcs11_wrap_key_label\n"
    "(default signet-wrap): never extractable, wrap and unwrap only, CKA_TRUSTED (only\n"
    "the security officer may set it), and with an unwrap template asking that what is\n"
    "unwrapped under it stay sensitive.  `signet keys generate` then makes keys that\n"
    "leave the token only wrapped under it.  The SO PIN is read from --so-pin-file F\n"
    "(first line) or $SIGNET_PKCS11_SO_PIN, never from the command line.  An object made\n"
    "by the security officer is public (PKCS#11): any session of the token can use it\n"
    "to unwrap, so keep the wrapped copies (NAME.p11wrap) as private as the token.\n";

const struct cli_opt keys_token_wrap_key_opts[] = {
    CLI_OPT("so-pin-file", 0, "F", cli_p_str, struct keys_token_wrap_key_args, so_pin_file, 0,
            "the security officer's PIN (first line); else $SIGNET_PKCS11_SO_PIN"),
    CLI_END};

signet_rc keys_token_wrap_key(struct cli_ctx *c, void *args)
{
    const struct keys_token_wrap_key_args *a = args;
    signet_config cfg;
    signet_rc rc = cli_named_config(c->g, &cfg);
    if (rc)
        return rc;
    if (cfg.backend != SIGNET_BACKEND_PKCS11)
        return signet_fail(SIGNET_E_ARG, "signet.conf names no PKCS#11 token: set backend = "
                                         "pkcs11, pkcs11_module and pkcs11_token");
    signet_pkcs11_opts o = {.module = cfg.pkcs11_module, .token = cfg.pkcs11_token,
                            .pin_file = a->so_pin_file, .so = true,
                            .wrap_key_label = cfg.pkcs11_wrap_key_label};
    signet_device *d = NULL;
    rc = signet_device_pkcs11(&o, &d);
    if (rc == SIGNET_OK)
        rc = signet_pkcs11_make_wrap_key(d);
    signet_device_close(d);
    if (rc == SIGNET_OK)
        printf("trusted wrap key '%s' made on token '%s'\n", cfg.pkcs11_wrap_key_label,
               cfg.pkcs11_token);
    return rc;
}

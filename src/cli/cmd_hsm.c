/* `signet hsm <command>`: direct YubiHSM 2 operations (see docs/signet.1.md).
 * This file only dispatches; the commands are in hsm_*.c. */
#include <getopt.h>
#include <string.h>

#include "hsm_cmds.h"

static const struct cli_command CMDS[] = {
    {"info", hsm_cmd_info, "connector status and device information (no login)"},
    {"list", hsm_cmd_list, "list the objects this authentication key can see"},
    {"get-info", hsm_cmd_get_info, "show one object's attributes"},
    {"get-public-key", hsm_cmd_get_public_key, "write an asymmetric key's public key (PEM)"},
    {"generate", hsm_cmd_generate, "generate an asymmetric key on the device"},
    {"sign", hsm_cmd_sign, "sign a file with a device key (low level; tests, ceremonies)"},
    {"delete", hsm_cmd_delete, "delete an object"},
    {"put-wrap-key", hsm_cmd_put_wrap_key, "import a wrap key from a key file"},
    {"generate-wrap-key", hsm_cmd_generate_wrap_key, "generate a wrap key on the device"},
    {"export-wrapped", hsm_cmd_export_wrapped, "export an object encrypted under a wrap key"},
    {"import-wrapped", hsm_cmd_import_wrapped, "import an object exported under a wrap key"},
    {"put-auth-key", hsm_cmd_put_auth_key, "add a password authentication key"},
    {"change-password", hsm_cmd_change_password, "change the password of the key you log in with"},
    {"log", hsm_cmd_log, "print the device audit log and verify its digest chain"},
    {"set-option", hsm_cmd_set_option, "set force-audit or command-audit"},
    {"get-option", hsm_cmd_get_option, "show the audit options"},
    {"storage", hsm_cmd_storage, "free object slots and storage pages"},
    {"random", hsm_cmd_random, "random bytes from the device, in hex"},
    {"echo", hsm_cmd_echo, "check the secure channel with an echo"},
    {"reset", hsm_cmd_reset, "wipe the device to factory state"},
};

static int run(const struct cli_globals *g, int argc, char **argv)
{
    return cli_dispatch("hsm",
                        "Direct YubiHSM 2 operations through the connector (--connector).  Commands\n"
                        "that log in use --auth-key (default 1) with the password from\n"
                        "--password-file, $SIGNET_PASSWORD or a prompt, or --auth-key-file.\n",
                        CMDS, sizeof CMDS / sizeof CMDS[0], g, argc, argv);
}

const struct cli_group cli_group_hsm = {"hsm", "direct YubiHSM 2 operations (list, generate, "
                                               "wrap, log, options, reset)",
                                        run};

/* `signet hsm <command>`: direct YubiHSM 2 operations (see docs/signet.1.md).
 * This file is the command table: every command's options, help and needs; the
 * handlers are in hsm_*.c. */
#include "hsm_cmds.h"

#define T_LIST struct hsm_list_args
static const struct cli_opt LIST_OPTS[] = {
    CLI_OPT("type", 0, "T", hsm_p_type, T_LIST, f.type, 0, "only objects of this type"),
    CLI_OPT("id", 0, "ID", cli_p_id, T_LIST, f.id, 0, "only this id"),
    CLI_OPT("domains", 0, "D", cli_p_domains, T_LIST, f.domains, 0, "only objects in these domains"),
    CLI_OPT("label", 0, "L", hsm_p_label, T_LIST, f.label, 0, "only objects with this label"),
    CLI_OPT("algorithm", 0, "A", hsm_p_algo, T_LIST, f.algorithm, 0, "only this algorithm"),
    CLI_OPT("capabilities", 0, "C", hsm_p_caps, T_LIST, f.capabilities, 0,
            "only objects having all of these"),
    CLI_END};

#define T_OBJ struct hsm_obj_args
#define OBJ_ID CLI_POS("ID", cli_p_id, T_OBJ, id, CLI_REQUIRED, "object id (decimal or 0x hex)")
#define OBJ_TYPE                                                                                   \
    CLI_POS("TYPE", hsm_p_type, T_OBJ, type, CLI_REQUIRED,                                         \
            "opaque, authentication-key, asymmetric-key, wrap-key, hmac-key, template, ...")
static const struct cli_opt OBJ_OPTS[] = {OBJ_ID, OBJ_TYPE, CLI_END};
static const struct cli_opt PUBKEY_OPTS[] = {
    OBJ_ID, CLI_OPT("out", 0, "FILE", cli_p_str, T_OBJ, out, 0, "write there (else stdout)"),
    CLI_END};

static const struct cli_opt RANDOM_OPTS[] = {
    CLI_POS("N", cli_p_uint, struct hsm_random_args, n, CLI_REQUIRED, "bytes, 1..65536"), CLI_END};
static const struct cli_opt ECHO_OPTS[] = {
    CLI_POS("TEXT", cli_p_str, struct hsm_echo_args, text, 0, "default \"signet\""), CLI_END};

#define T_ATTR struct hsm_attr_args
#define ATTR_ID CLI_OPT("id", 0, "ID", cli_p_id, T_ATTR, a.id, 0, "0 (default) lets the device choose")
#define ATTR_LABEL CLI_OPT("label", 0, "L", hsm_p_label, T_ATTR, a.label, 0, "at most 40 bytes")
#define ATTR_DOMAINS                                                                               \
    CLI_OPT("domains", 0, "D", cli_p_domains, T_ATTR, a.domains, CLI_REQUIRED, "e.g. 1,2 or all")
#define ATTR_CAPS                                                                                  \
    CLI_OPT("capabilities", 0, "C", hsm_p_caps, T_ATTR, a.capabilities, CLI_REQUIRED,              \
            "e.g. sign-pkcs,exportable-under-wrap")
#define ATTR_DELEGATED(req)                                                                        \
    CLI_OPT("delegated", 0, "C", hsm_p_caps, T_ATTR, a.delegated, req,                             \
            "the most an object under this key may carry")
#define ATTR_ALGO(req, help) CLI_OPT("algorithm", 0, "A", hsm_p_algo, T_ATTR, a.algorithm, req, help)
#define NEW_CREDENTIAL                                                                             \
    CLI_OPT("new-password-file", 0, "F", cli_p_str, T_ATTR, pw_file, 0,                           \
            "the new password (else $SIGNET_NEW_PASSWORD or typed twice)"),                        \
        CLI_OPT("public-key", 0, "P", cli_p_str, T_ATTR, public_key, 0,                            \
                "an EC P-256 public key (PEM): asymmetric login")

static const struct cli_opt GENERATE_OPTS[] = {
    ATTR_ALGO(CLI_REQUIRED, "rsa2048, rsa3072, rsa4096, ecp256, ecp384, ed25519, ..."),
    ATTR_DOMAINS, ATTR_CAPS, ATTR_ID, ATTR_LABEL,
    CLI_OPT("public-out", 0, "FILE", cli_p_str, T_ATTR, public_out, 0,
            "also write the public key there (PEM)"),
    CLI_END};
static const struct cli_opt PUT_WRAP_OPTS[] = {
    CLI_OPT("key-file", 0, "F", cli_p_str, T_ATTR, key_file, CLI_REQUIRED,
            "16, 24 or 32-byte AES key, raw or hex"),
    ATTR_DOMAINS, ATTR_CAPS, ATTR_DELEGATED(0), ATTR_ID, ATTR_LABEL,
    ATTR_ALGO(0, "aes128-ccm-wrap, ... (default: from the key length)"), CLI_END};
static const struct cli_opt GEN_WRAP_OPTS[] = {
    ATTR_DOMAINS, ATTR_CAPS, ATTR_DELEGATED(0), ATTR_ID, ATTR_LABEL,
    ATTR_ALGO(0, "aes128-ccm-wrap, aes192-ccm-wrap or aes256-ccm-wrap (default)"), CLI_END};
static const struct cli_opt PUT_AUTH_OPTS[] = {
    CLI_OPT("id", 0, "ID", cli_p_id, T_ATTR, a.id, CLI_REQUIRED, "the new key's id"),
    ATTR_DOMAINS, ATTR_CAPS, ATTR_DELEGATED(0), ATTR_LABEL, NEW_CREDENTIAL, CLI_END};
static const struct cli_opt CHANGE_PW_OPTS[] = {NEW_CREDENTIAL, CLI_END};

#define T_SIGN struct hsm_sign_args
static const struct cli_opt SIGN_OPTS[] = {
    CLI_OPT("id", 0, "ID", cli_p_id, T_SIGN, id, CLI_REQUIRED, "the device key"),
    CLI_OPT("mech", 0, "M", cli_p_str, T_SIGN, mech, CLI_REQUIRED, "pkcs1, pss, ecdsa or eddsa"),
    CLI_OPT_DEF("hash", 0, "H", cli_p_str, T_SIGN, hash, "sha256", "sha1, sha256, sha384, sha512"),
    CLI_OPT("in", 0, "FILE", cli_p_str, T_SIGN, in, CLI_REQUIRED, "what to sign"),
    CLI_OPT("out", 0, "SIG", cli_p_str, T_SIGN, out, CLI_REQUIRED, "the raw signature"),
    CLI_END};

#define T_WRAPPED struct hsm_wrapped_args
#define WRAP_ID CLI_OPT("wrap-id", 0, "W", cli_p_id, T_WRAPPED, wrap_id, CLI_REQUIRED, "the wrap key")
static const struct cli_opt EXPORT_OPTS[] = {
    WRAP_ID,
    CLI_OPT("type", 0, "T", hsm_p_type, T_WRAPPED, type, CLI_REQUIRED, "the object's type"),
    CLI_OPT("id", 0, "ID", cli_p_id, T_WRAPPED, id, CLI_REQUIRED, "the object's id"),
    CLI_OPT("out", 0, "FILE", cli_p_str, T_WRAPPED, out, CLI_REQUIRED, "written durably, mode 0600"),
    CLI_END};
static const struct cli_opt IMPORT_OPTS[] = {
    WRAP_ID, CLI_OPT("in", 0, "FILE", cli_p_str, T_WRAPPED, in, CLI_REQUIRED, "an export-wrapped file"),
    CLI_END};

#define T_LOG struct hsm_log_args
static const struct cli_opt LOG_OPTS[] = {
    CLI_OPT("anchor", 0, "N:DIGEST", hsm_p_anchor, T_LOG, anchor, 0,
            "entry number and its 32 hex digit digest"),
    CLI_OPT("verify-from", 0, "FILE", cli_p_str, T_LOG, verify_from, 0,
            "an earlier output of this command"),
    CLI_SWITCH("consume", 0, T_LOG, consume, "mark the printed entries as read"), CLI_END};

static const struct cli_opt SET_OPTION_OPTS[] = {
    CLI_POS("NAME", cli_p_str, struct hsm_option_args, name, CLI_REQUIRED,
            "force-audit or command-audit"),
    CLI_POS("VALUE", cli_p_str, struct hsm_option_args, value, CLI_REQUIRED,
            "on|off|fixed, or CMD=on|off|fixed[,CMD=...]"),
    CLI_END};
static const struct cli_opt GET_OPTION_OPTS[] = {
    CLI_POS("NAME", cli_p_str, struct hsm_option_args, name, 0, "force-audit or command-audit"),
    CLI_END};
static const struct cli_opt RESET_OPTS[] = {
    CLI_SWITCH("yes", 0, struct hsm_reset_args, yes, "do not ask on the terminal"),
    CLI_OPT("record-key", 0, "FILE", cli_p_str, struct hsm_reset_args, record_key, 0,
            "the admin's or auditor's record key (PEM, - for stdin): records the reset, signed, "
            "in the configured trail before it happens"),
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {"info", "connector status and device information (no login)",
     "Shows the connector's status and the device's firmware, serial number, audit log\n"
     "use and algorithms.  Needs no credentials.\n",
     NULL, 0, CLI_CONNECTOR, hsm_cmd_info},
    {"list", "list the objects this authentication key can see",
     "One line per object:\n"
     "  id=0x0064 type=asymmetric-key algorithm=rsa2048 sequence=0 domains=1 label=\"...\"\n"
     "The filters are applied by the device.\n",
     LIST_OPTS, sizeof(struct hsm_list_args), CLI_SESSION, hsm_cmd_list},
    {"get-info", "show one object's attributes", NULL, OBJ_OPTS, sizeof(T_OBJ), CLI_SESSION,
     hsm_cmd_get_info},
    {"get-public-key", "write an asymmetric key's public key (PEM)", NULL, PUBKEY_OPTS,
     sizeof(T_OBJ), CLI_SESSION, hsm_cmd_get_public_key},
    {"generate", "generate an asymmetric key on the device",
     "Prints the new key's id (0x....) on standard output.\n", GENERATE_OPTS, sizeof(T_ATTR),
     CLI_SESSION, hsm_cmd_generate},
    {"sign", "sign a file with a device key (low level; tests, ceremonies)",
     "pkcs1, pss and ecdsa sign the file's digest (PSS: MGF1 with the same hash, salt\n"
     "as long as the digest); eddsa signs the file itself (at most 3000 bytes).  ECDSA\n"
     "signatures are DER.  Release signing goes through the signing path instead\n"
     "(`signet sign`), which keeps the audit trail.\n",
     SIGN_OPTS, sizeof(T_SIGN), CLI_SESSION | CLI_LATE, hsm_cmd_sign},
    {"delete", "delete an object",
     "There is no undo: export it under a wrap key first if it may be needed again.\n",
     OBJ_OPTS, sizeof(T_OBJ), CLI_SESSION, hsm_cmd_delete},
    {"put-wrap-key", "import a wrap key from a key file",
     "Keys are never taken from the command line.  Prints the key's id.\n", PUT_WRAP_OPTS,
     sizeof(T_ATTR), CLI_SESSION | CLI_LATE, hsm_cmd_put_wrap_key},
    {"generate-wrap-key", "generate a wrap key on the device",
     "A generated wrap key can never be backed up: use put-wrap-key for one that must\n"
     "survive the device.  Prints the key's id.\n",
     GEN_WRAP_OPTS, sizeof(T_ATTR), CLI_SESSION, hsm_cmd_generate_wrap_key},
    {"export-wrapped", "export an object encrypted under a wrap key",
     "Writes the object exactly as the device returns it (nonce | AES-CCM ciphertext |\n"
     "tag).\n",
     EXPORT_OPTS, sizeof(T_WRAPPED), CLI_SESSION, hsm_cmd_export_wrapped},
    {"import-wrapped", "import an object exported under a wrap key",
     "Prints the imported object's type and id (\"asymmetric-key 0x0064\").\n", IMPORT_OPTS,
     sizeof(T_WRAPPED), CLI_SESSION | CLI_LATE, hsm_cmd_import_wrapped},
    {"put-auth-key", "add a password authentication key",
     "With a password it is a symmetric key; with --public-key an asymmetric one whose\n"
     "holder logs in with --auth-key-file.  Prints its id.\n",
     PUT_AUTH_OPTS, sizeof(T_ATTR), CLI_SESSION | CLI_LATE, hsm_cmd_put_auth_key},
    {"change-password", "change the password of the key you log in with",
     "A new password, or an EC P-256 public key to make it an asymmetric key.\n",
     CHANGE_PW_OPTS, sizeof(T_ATTR), CLI_SESSION | CLI_LATE, hsm_cmd_change_password},
    {"log", "print the device audit log and verify its digest chain",
     "One entry per line (number=... digest=...); every entry must follow the previous\n"
     "one by number and digest, and (--anchor, --verify-from) continue from what was\n"
     "seen before.  Findings: exit 1.  --consume marks the entries as read when the\n"
     "chain verified (frees a full log under force-audit); keep the output.\n",
     LOG_OPTS, sizeof(T_LOG), CLI_SESSION | CLI_LATE, hsm_cmd_log},
    {"set-option", "set force-audit or command-audit",
     "force-audit on makes every logged command fail once the log holds 62 unread\n"
     "entries, until they are read (`signet audit drain`); fixed can only be undone by\n"
     "a reset.  command-audit names commands as `signet hsm log` does (e.g.\n"
     "sign-pkcs1=on,generate-asymmetric-key=fixed); commands whose auditing can lock\n"
     "the device (echo, session-message, device-info, get-log-entries) are refused.\n",
     SET_OPTION_OPTS, sizeof(struct hsm_option_args), CLI_SESSION | CLI_LATE, hsm_cmd_set_option},
    {"get-option", "show the audit options", "Both when no name is given.\n", GET_OPTION_OPTS,
     sizeof(struct hsm_option_args), CLI_SESSION | CLI_LATE, hsm_cmd_get_option},
    {"storage", "free object slots and storage pages", NULL, NULL, 0, CLI_SESSION,
     hsm_cmd_storage},
    {"random", "random bytes from the device, in hex", NULL, RANDOM_OPTS,
     sizeof(struct hsm_random_args), CLI_SESSION | CLI_LATE, hsm_cmd_random},
    {"echo", "check the secure channel with an echo",
     "Sends TEXT through the secure channel, checks that the same bytes come back and\n"
     "prints them.\n",
     ECHO_OPTS, sizeof(struct hsm_echo_args), CLI_SESSION | CLI_LATE, hsm_cmd_echo},
    {"reset", "wipe the device to factory state",
     "Wipes every object and option and restores the factory authentication key (id\n"
     "1, password \"password\").  Asks on the terminal unless --yes.  When the\n"
     "configured audit trail (`audit` in signet.conf) anchors the device, --record-key\n"
     "drains its log and appends a reset record signed with that record key first, so\n"
     "that `audit verify` finds the reset explained; without it the reset is reported\n"
     "as a device-reset incident (to be acknowledged).\n",
     RESET_OPTS, sizeof(struct hsm_reset_args), CLI_SESSION | CLI_LATE, hsm_cmd_reset},
    {0}};

const struct cli_table cli_table_hsm = {
    "hsm", "direct YubiHSM 2 operations (list, generate, wrap, log, options, reset)",
    "Direct YubiHSM 2 operations through the connector (--connector).  Commands that\n"
    "log in use --auth-key with the password from --password-file, $SIGNET_PASSWORD\n"
    "or a prompt, or --auth-key-file (or the credential settings of signet.conf).\n",
    CMDS};

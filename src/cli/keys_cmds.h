/* Pieces of `signet keys` shared by cmd_keys.c (the table) and the sub-commands
 * that live in their own files. */
#ifndef SIGNET_CLI_KEYS_CMDS_H
#define SIGNET_CLI_KEYS_CMDS_H

#include "cli_table.h"
#include "signet/keystore.h"

/* The key store directory: --keystore (which also replaces cfg->keystore, for the
 * signing path) or keystore in the named signet.conf. */
signet_rc keys_resolve_store(const struct cli_globals *g, const char *opt, signet_config *cfg,
                             const char **dir);
/* Progress callback of the key store: ctx is the cli_globals. */
void keys_print_progress(void *ctx, const char *line);
signet_rc keys_p_wrap_id(const char *s, void *dst); /* uint16_t, not 0 */
signet_rc keys_p_days(const char *s, void *dst);    /* unsigned, 1..365000 */

/* `signet keys import` (keys_import.c). */
struct keys_import_args {
    const char *name, *key, *cert, *aosp, *keystore;
    const char *pass_file, *pass_env;
    const char *role;
    uint16_t domains, id, wrap_id;
    const char *subject;
    unsigned days;
};
extern const struct cli_opt keys_import_opts[];
extern const char keys_import_help[];
signet_rc keys_import(struct cli_ctx *c, void *args);
#define KEYS_IMPORT_ROW                                                                            \
    {"import", "bring an existing private key (PEM, PKCS#8, AOSP .pk8) into the store",           \
     keys_import_help, keys_import_opts, sizeof(struct keys_import_args), CLI_SESSION | CLI_LATE,  \
     keys_import}

/* `signet keys migrate` (keys_migrate.c). */
struct keys_migrate_args {
    const char *keystore, *wrap_key_file;
    struct cli_list names;
};
extern const struct cli_opt keys_migrate_opts[];
extern const char keys_migrate_help[];
signet_rc keys_migrate(struct cli_ctx *c, void *args);
#define KEYS_MIGRATE_ROW                                                                           \
    {"migrate", "move the store's keys onto a PKCS#11 token without re-keying",                   \
     keys_migrate_help, keys_migrate_opts, sizeof(struct keys_migrate_args), 0, keys_migrate}

/* `signet keys token-wrap-key` (keys_token.c). */
struct keys_token_wrap_key_args {
    const char *so_pin_file;
};
extern const struct cli_opt keys_token_wrap_key_opts[];
extern const char keys_token_wrap_key_help[];
signet_rc keys_token_wrap_key(struct cli_ctx *c, void *args);
#define KEYS_TOKEN_WRAP_KEY_ROW                                                                    \
    {"token-wrap-key", "make the PKCS#11 token's trusted wrap key (security officer)",            \
     keys_token_wrap_key_help, keys_token_wrap_key_opts,                                          \
     sizeof(struct keys_token_wrap_key_args), 0, keys_token_wrap_key}

/* `signet audit bind` (audit_bind.c). */
int cli_audit_bind(const struct cli_globals *g, const char *in, const char *out);

#endif

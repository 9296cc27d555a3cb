/* The `signet hsm` commands: low-level device operations for provisioning,
 * ceremonies, tests and troubleshooting.  cmd_hsm.c dispatches; the commands live
 * in hsm_objects.c, hsm_keys.c and hsm_audit.c; hsm_util.c holds their helpers. */
#ifndef SIGNET_CLI_HSM_CMDS_H
#define SIGNET_CLI_HSM_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "signet/buf.h"

/* Every command: argv[0] is the command name; returns an exit code. */

int hsm_cmd_info(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_list(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_get_info(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_get_public_key(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_delete(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_echo(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_random(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_storage(const struct cli_globals *g, int argc, char **argv);

int hsm_cmd_generate(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_sign(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_put_wrap_key(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_generate_wrap_key(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_export_wrapped(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_import_wrapped(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_put_auth_key(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_change_password(const struct cli_globals *g, int argc, char **argv);

int hsm_cmd_log(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_set_option(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_get_option(const struct cli_globals *g, int argc, char **argv);
int hsm_cmd_reset(const struct cli_globals *g, int argc, char **argv);

/* ---- helpers (hsm_util.c) ------------------------------------------------- */

/* Prints a command's usage text to stdout (for --help) and returns 0. */
int hsm_help(const char *usage);
/* Usage error for `signet hsm <cmd>`: message, then a pointer to --help; returns 2. */
int hsm_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Argument parsers: on failure they print a usage error and return false. */
bool hsm_arg_id(const char *cmd, const char *opt, const char *s, uint16_t *out);
bool hsm_arg_type(const char *cmd, const char *s, uint8_t *out);
bool hsm_arg_algo(const char *cmd, const char *s, uint8_t *out);
bool hsm_arg_domains(const char *cmd, const char *s, uint16_t *out);
bool hsm_arg_caps(const char *cmd, const char *opt, const char *s, uint64_t *out);

/* Formats into a static buffer (one per call site kind; not reentrant). */
const char *hsm_fmt_caps(uint64_t caps);
const char *hsm_fmt_domains(uint16_t domains);
const char *hsm_fmt_origin(uint8_t origin);
/* Label as a quoted, printable string. */
const char *hsm_fmt_label(const char *label);

/* Files.  Writes are durable: temporary file, fsync, rename, fsync of the directory. */
signet_rc hsm_read_file(const char *path, size_t max, sb_wr *out);
signet_rc hsm_write_file(const char *path, const void *data, size_t len, int mode);
/* Reads a key file: hex (whitespace ignored) or raw bytes; into locked memory. */
signet_rc hsm_read_key_file(const char *path, sb_wr *out_secure);

/* Asks on /dev/tty for the exact word; false when it was not typed or there is no
 * terminal. */
bool hsm_confirm(const char *question, const char *word);

#endif

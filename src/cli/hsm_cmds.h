/* The `signet hsm` commands: low-level device operations for provisioning,
 * ceremonies, tests and troubleshooting.  cmd_hsm.c is the command table (options,
 * help, what each command needs); the handlers live in hsm_objects.c, hsm_keys.c
 * and hsm_audit.c; hsm_util.c holds their parsers and helpers. */
#ifndef SIGNET_CLI_HSM_CMDS_H
#define SIGNET_CLI_HSM_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "cli_table.h"
#include "signet/buf.h"
#include "signet/proto.h"

/* ---- the values each command receives ------------------------------------- */

struct hsm_list_args { hsm_filter f; };
struct hsm_obj_args { uint16_t id; uint8_t type; const char *out; };  /* get-info, delete,
                                                                        * get-public-key */
struct hsm_random_args { unsigned n; };
struct hsm_echo_args { const char *text; };
/* generate, put-wrap-key, generate-wrap-key, put-auth-key */
struct hsm_attr_args {
    hsm_object_attrs a;
    const char *public_out;  /* generate */
    const char *key_file;    /* put-wrap-key */
    const char *pw_file;     /* put-auth-key, change-password */
    const char *public_key;  /* put-auth-key, change-password */
};
struct hsm_sign_args { uint16_t id; const char *mech, *hash, *in, *out; };
struct hsm_wrapped_args { uint16_t wrap_id, id; uint8_t type; const char *in, *out; };
struct hsm_log_anchor {
    bool set;
    uint16_t number;
    uint8_t digest[YH_LOG_DIGEST_LEN];
};
struct hsm_log_args { struct hsm_log_anchor anchor; const char *verify_from; bool consume; };
struct hsm_option_args { const char *name, *value; };
struct hsm_reset_args { bool yes; const char *record_key; };

/* ---- handlers ------------------------------------------------------------- */

signet_rc hsm_cmd_info(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_list(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_get_info(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_get_public_key(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_delete(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_echo(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_random(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_storage(struct cli_ctx *c, void *args);

signet_rc hsm_cmd_generate(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_sign(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_put_wrap_key(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_generate_wrap_key(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_export_wrapped(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_import_wrapped(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_put_auth_key(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_change_password(struct cli_ctx *c, void *args);

signet_rc hsm_cmd_log(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_set_option(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_get_option(struct cli_ctx *c, void *args);
signet_rc hsm_cmd_reset(struct cli_ctx *c, void *args);

/* ---- parsers for the table (hsm_util.c); SIGNET_E_ARG on bad text ---------- */

signet_rc hsm_p_type(const char *s, void *dst);    /* uint8_t */
signet_rc hsm_p_algo(const char *s, void *dst);    /* uint8_t */
signet_rc hsm_p_caps(const char *s, void *dst);    /* uint64_t */
signet_rc hsm_p_label(const char *s, void *dst);   /* const char *, at most 40 bytes */
signet_rc hsm_p_anchor(const char *s, void *dst);  /* struct hsm_log_anchor: N:HEXDIGEST */

/* ---- helpers (hsm_util.c) ------------------------------------------------- */

/* Formats into a static buffer (one per call site kind; not reentrant). */
const char *hsm_fmt_caps(uint64_t caps);
const char *hsm_fmt_domains(uint16_t domains);
const char *hsm_fmt_origin(uint8_t origin);
/* Label as a quoted, printable string. */
const char *hsm_fmt_label(const char *label);

/* Files.  Reads append to out (at most max bytes in all); writes are durable:
 * temporary file, fsync, rename, fsync of the directory. */
signet_rc hsm_read_file(const char *path, size_t max, sb_wr *out);
signet_rc hsm_write_file(const char *path, const void *data, size_t len, int mode);
/* Writes a public key as PEM (SubjectPublicKeyInfo) to path, or stdout when NULL. */
signet_rc hsm_write_public_pem(EVP_PKEY *pk, const char *path);
/* Reads a key file: hex (whitespace ignored) or raw bytes; into locked memory. */
signet_rc hsm_read_key_file(const char *path, sb_wr *out_secure);

/* Asks on /dev/tty for the exact word; false when it was not typed or there is no
 * terminal. */
bool hsm_confirm(const char *question, const char *word);

#endif

/* Shared pieces of the signet command: global options, credentials, output. */
#ifndef SIGNET_CLI_H
#define SIGNET_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "signet/client.h"
#include "signet/err.h"
#include "signet/sign.h"

/* Options that come before the command group. */
struct cli_globals {
    const char *connector;      /* --connector URL, else $SIGNET_CONNECTOR, else default */
    uint16_t auth_key;          /* --auth-key ID, else $SIGNET_AUTH_KEY (main.c) */
    bool auth_key_set;          /* auth_key was given; else signet.conf's auth_key, else 1 */
    const char *password_file;  /* --password-file F */
    const char *auth_key_file;  /* --auth-key-file F: PEM P-256 private key (asymmetric) */
    const char *config;         /* --config F: signet.conf (else $SIGNET_CONF) */
    bool quiet;                 /* -q: no progress output */
};

/* The connector URL: --connector, $SIGNET_CONNECTOR, the connector of signet.conf
 * when one is named (--config, $SIGNET_CONF), else the default. */
signet_rc cli_connector_url(const struct cli_globals *g, char *url, size_t cap);

/* The credential to log in with: the command line (--auth-key, $SIGNET_AUTH_KEY,
 * --password-file or --auth-key-file) over signet.conf (auth_key, password_file,
 * auth_key_file); auth key 1 when neither names one. */
struct cli_credential {
    uint16_t auth_key;
    const char *password_file; /* NULL: $SIGNET_PASSWORD or a prompt */
    const char *auth_key_file; /* asymmetric login when set */
};
signet_rc cli_credentials(const struct cli_globals *g, const signet_config *cfg,
                          struct cli_credential *out);

/* Opens the connector and a session with that credential: the password from the
 * password file, $SIGNET_PASSWORD or a prompt; or the key in the auth key file. */
signet_rc cli_open_session(const struct cli_globals *g, hsm_conn **conn, hsm_session **sess);
/* The same with a configuration already loaded. */
signet_rc cli_open_session_cfg(const struct cli_globals *g, const signet_config *cfg,
                               hsm_conn **conn, hsm_session **sess);
/* The credential a session was opened with, kept for a failover login. */
struct cli_kept {
    uint16_t auth_id;
    char *password;        /* smem (free with smem_free), or NULL */
    EVP_PKEY *key;         /* or the EC P-256 key (EVP_PKEY_free) */
};
/* cli_open_session_cfg that also hands back the credential (kept may be NULL); on
 * failure nothing is kept. */
signet_rc cli_open_session_keep(const struct cli_globals *g, const signet_config *cfg,
                                hsm_conn **conn, hsm_session **sess, struct cli_kept *kept);
void cli_close_session(hsm_conn *conn, hsm_session *sess);
/* Arms the session to drain the device log into the configured trail as it goes
 * (signet_audit_arm); cli_open_session does it for every session.  A session that
 * must only read the log (audit verify --device) disarms with
 * hsm_session_set_log_hook(s, NULL, NULL, NULL, 0, 0). */
signet_rc cli_arm_drain(const signet_config *cfg, hsm_session *s);

/* The signing path with the configuration (--config, $SIGNET_CONF) and the global
 * credentials. */
struct signet_signer;
signet_rc cli_open_signer(const struct cli_globals *g, struct signet_signer **out);
/* Signs a digest with a key of the key store through the signing path: RSA keys
 * PKCS#1 v1.5 over its DigestInfo, EC keys ECDSA.  artifact* go into the record. */
signet_rc cli_sign_digest(struct signet_signer *s, const char *key, int md_nid,
                          const uint8_t *digest, size_t len, const char *artifact,
                          const uint8_t *artifact_sha256, uint8_t *sig, size_t *sig_len);

/* The error for a file that could not be opened (errno set by open/fopen): a
 * missing file is "not found" (exit 6) everywhere, anything else an I/O error (7). */
signet_rc cli_open_error(const char *what, const char *path);
/* A PEM private key from path ("-": standard input); what names it in errors. */
signet_rc cli_load_private_key(const char *what, const char *path, EVP_PKEY **out);

/* Checks that path names a regular file (or nothing, when optional and NULL) before
 * it is handed to a module that reads it: missing is 6, a directory or other
 * non-file 7. */
signet_rc cli_require_file(const char *path);

/* Prints "signet: <message>" for the last error and returns its exit code. */
int cli_report(signet_rc rc);
/* Prints a usage error to stderr and returns exit code 2. */
int cli_usage_error(const char *group, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Progress line on stderr unless -q. */
void cli_progress(const struct cli_globals *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* True when argv[i] is -h or --help. */
bool cli_wants_help(int argc, char **argv);
/* Parses a 16-bit object id: decimal or 0x hex. */
signet_rc cli_parse_id(const char *s, uint16_t *out);

#endif

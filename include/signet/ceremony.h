/* The key ceremony: provisioning two YubiHSM 2 devices (operation and backup) from
 * a ceremony plan, and restoring a device from the custodians' Shamir shares.
 * Walk-through for people: docs/ceremony.md.
 *
 * A plan is a small text file, itself part of the public record:
 *
 *   # comments and blank lines are ignored; one setting per line
 *   project      Example OS release signing
 *   primary      http://127.0.0.1:12345        the operation device's connector
 *   backup       http://127.0.0.1:12346        the backup device's connector
 *   threshold    3                             shares needed to restore (default 3)
 *   domains      1                             domains of every object (default 1)
 *   wrap-key-id  0x00ff                        (default 0x00ff)
 *   log-key-id   0x0010                        (default 0x0010)
 *   log-name     example.org/signet-audit      checkpoint origin and vkey name
 *   custodian    alice  age1...                one line per share, 2..9 of them;
 *   custodian    bob    ssh-ed25519 AAAA...    the order gives the share index
 *   admin        carol  age1...                exactly one holder per role
 *   operator     dave   age1...
 *   auditor      erin   ssh-ed25519 AAAA...
 *
 * Every output is written durably (temporary file, fsync, rename, fsync of the
 * directory) before the step that made it is reported done.  Nothing secret is
 * written unencrypted: shares and credentials are age-encrypted to their holders. */
#ifndef SIGNET_CEREMONY_H
#define SIGNET_CEREMONY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "signet/audit.h"
#include "signet/buf.h"
#include "signet/client.h"
#include "signet/err.h"
#include "signet/sign.h"
#include "signet/sss.h"

#define SIGNET_PLAN_MAX_BYTES (64 * 1024)
#define SIGNET_PLAN_NAME_MAX 32        /* [A-Za-z0-9_.-], not starting with '.' or '-' */
#define SIGNET_PLAN_RECIPIENT_MAX 512  /* "age1..." or "ssh-ed25519 AAAA... [comment]" */
#define SIGNET_PLAN_URL_MAX 256
#define SIGNET_PLAN_PROJECT_MAX 128

/* ---- roles ------------------------------------------------------------------ */

typedef enum {
    SIGNET_ROLE_ADMIN,     /* manages credentials, deletes keys, resets; EC P-256 credential */
    SIGNET_ROLE_OPERATOR,  /* generates and signs with release keys; password credential */
    SIGNET_ROLE_AUDITOR,   /* reads (drains) the audit log, nothing else; EC P-256 credential */
    SIGNET_ROLE__COUNT
} signet_role;

typedef struct {
    const char *name;       /* "admin", "operator", "auditor" */
    uint16_t auth_id;       /* authentication key id on the device */
    bool asymmetric;        /* EC P-256 credential (algorithm 49), else a password */
    uint64_t capabilities;
    uint64_t delegated;
    const char *label;      /* object label on the device */
} signet_role_def;

/* The fixed role table (docs/ceremony.md explains each capability). */
const signet_role_def *signet_role_get(signet_role r);

/* The wrap key: AES-256 CCM.  It may only export and import keys (never itself:
 * no exportable-under-wrap, no delete), and only signing keys pass under it. */
#define SIGNET_WRAP_LABEL "signet wrap key"
#define SIGNET_WRAP_ALGORITHM YH_ALGO_AES256_CCM_WRAP
#define SIGNET_WRAP_CAPS (YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED))
#define SIGNET_WRAP_DELEGATED                                                                   \
    (YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS) | YH_CAP(YH_CAP_SIGN_ECDSA) |            \
     YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP))
/* The audit log key: Ed25519, signs checkpoints, kept as a wrapped copy. */
#define SIGNET_LOG_KEY_LABEL "signet audit log key"
#define SIGNET_LOG_KEY_CAPS (YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP))
/* The operator's generated password: this many characters from the 94 printable
 * ASCII characters (about 314 bits). */
#define SIGNET_OPERATOR_PASSWORD_LEN 48

/* ---- the plan ----------------------------------------------------------------- */

typedef struct {
    char name[SIGNET_PLAN_NAME_MAX + 1];
    char recipient[SIGNET_PLAN_RECIPIENT_MAX + 1];
} signet_plan_person;

typedef struct {
    char project[SIGNET_PLAN_PROJECT_MAX + 1];
    char primary_url[SIGNET_PLAN_URL_MAX + 1];
    char backup_url[SIGNET_PLAN_URL_MAX + 1];
    unsigned threshold;
    uint16_t domains;
    uint16_t wrap_key_id;
    uint16_t log_key_id;
    char log_name[SIGNET_ORIGIN_MAX];
    size_t n_custodians;                         /* = number of shares */
    signet_plan_person custodians[SSS_MAX_SHARES];
    signet_plan_person holders[SIGNET_ROLE__COUNT];
} signet_plan;

/* Strict parser for untrusted text: every error names the line.  Recipients are
 * checked with the age module (a typo in a Bech32 recipient is caught here, not
 * after the devices were reset). */
signet_rc signet_plan_parse(const char *text, size_t len, signet_plan *out);
/* Reads and parses a plan file; raw (optional) receives its exact bytes. */
signet_rc signet_plan_load(const char *path, signet_plan *out, sb_wr *raw);

/* ---- running a ceremony -------------------------------------------------------- */

/* One line of progress ("[3/14] reset: ..."); NULL = silent. */
typedef void (*signet_progress_fn)(void *ctx, const char *line);

typedef struct {
    const char *plan_path;
    const char *out_dir;        /* created if missing; an earlier failed attempt in it is
                                 * moved to OUT/failed-attempts/N; a completed ceremony in
                                 * it is never touched */
    /* Already-open connections to use instead of the plan's URLs (tests, embedding);
     * NULL = open the plan's.  They are not closed. */
    hsm_conn *primary;
    hsm_conn *backup;
    /* The admin holder's age identity file: lets a rerun reset a device whose factory
     * key an earlier attempt deleted, with that attempt's admin credential
     * (OUT/failed-attempts/N/credentials/admin-NAME.age).  NULL = not given. */
    const char *admin_identity;
    signet_progress_fn progress;
    void *progress_ctx;
} signet_provision_opts;

/* Runs the whole ceremony (docs/ceremony.md, steps 1-14).  On failure the message
 * says which step failed, what was done and how to resume; OUT/ceremony.state holds
 * the same text.  Fault injection for tests: SIGNET_CEREMONY_FAIL_AT=<step> fails
 * at the start of that step; SIGNET_CEREMONY_STOP_AT=<step> stops the process
 * (SIGSTOP) there, so that a test can kill a device or the process. */
signet_rc signet_ceremony_provision(const signet_provision_opts *o);

/* Reads one share typed by a custodian (the text "T-X-BASE64") into *line
 * (smem-allocated, NUL-terminated; free with smem_free).  *line = NULL when no more
 * shares come.  number counts from 1; threshold is how many are needed. */
typedef signet_rc (*signet_share_reader)(void *ctx, unsigned number, unsigned threshold,
                                         char **line);

typedef struct {
    const char *plan_path;
    const char *manifest_path;      /* the provision's manifest.txt; the files it lists
                                     * (shares, log-key.wrapped) are found next to it */
    const char *connector;          /* the device to restore onto */
    hsm_conn *conn;                 /* instead of connector (tests); not closed */
    const char *out_dir;
    const char *const *identities;  /* age identity files of custodians ... */
    size_t n_identities;
    signet_share_reader read_share; /* ... or shares typed in (then identities unused) */
    void *read_share_ctx;
    const char *keystore_dir;       /* NULL = no key store to import */
    const char *trail_dir;          /* NULL = OUT/audit (a new trail) */
    /* A record key the trail's anchors/record-keys names (the admin's or the
     * auditor's, Ed25519): signs the restore's service records in a trail that names
     * record keys (required then).  A trail without record keys (a new one) gets new
     * ones for the plan's admin and auditor, and the admin's signs. */
    EVP_PKEY *record_key;
    /* The credential that may reset the target device.  auth id 0 = the factory
     * key (id 1, password "password"). */
    uint16_t reset_auth_id;
    const char *reset_password;
    EVP_PKEY *reset_key;
    signet_progress_fn progress;
    void *progress_ctx;
} signet_restore_opts;

/* Restores a device: the shares are decrypted, combined and checked against the
 * manifest's check value before the device is touched; then reset, wrap key, audit
 * options, roles with new credentials, log key, key store (each key's public key
 * checked), factory key deleted, a service record in the trail. */
signet_rc signet_ceremony_restore(const signet_restore_opts *o);

/* ---- the migration ceremony (docs/ceremony.md, "Migrating to a PKCS#11 token") ----- */

typedef struct {
    const char *plan_path;
    const char *manifest_path;      /* the provision's manifest.txt (log-key.wrapped and
                                     * the shares next to it) */
    const char *out_dir;            /* migrate-manifest.txt, transcript.txt, plan.txt */
    const char *const *identities;  /* age identity files of custodians ... */
    size_t n_identities;
    signet_share_reader read_share; /* ... or shares typed in */
    void *read_share_ctx;
    /* The target: signet.conf with backend = pkcs11 (module, token, PIN file,
     * log_key_label), its keystore (the YubiHSM's wrapped keys) and audit (the
     * ceremony's trail, which records the migration). */
    const signet_config *config;
    /* Signs the change of log key when the log key's wrapped copy lacks its seed
     * (the admin's or auditor's record key, named in the trail); NULL otherwise. */
    EVP_PKEY *record_key;
    signet_progress_fn progress;
    void *progress_ctx;
} signet_migrate_opts;

/* Moves the key store and the audit log key from the YubiHSM world onto a PKCS#11
 * token: the shares rebuild the wrap key in locked memory (checked against the
 * manifest), each wrapped key is opened and put onto the token by C_UnwrapKey under
 * a transport key generated there, its public key compared with the recorded one;
 * the log key moves when its wrapped copy carries the seed, else a new one is made on
 * the token and the trail records the change of log key (signed).  Key records, a
 * checkpoint by the token's log key, migrate-manifest.txt and transcript.txt. */
signet_rc signet_ceremony_migrate(const signet_migrate_opts *o);

#endif

/* Internals of the key ceremony (include/signet/ceremony.h).  One file per job:
 *   lines.c      the line tokenizer the plan and the manifest share
 *   plan.c       the plan parser
 *   roles.c      the role table
 *   outdir.c     the output directory: durable writes, hashes, failed attempts
 *   run.c        steps, progress, transcript, fault injection, failure reports
 *   hsmprep.c    what the ceremony does to one device (connect ... delete factory key)
 *   secrets.c    wrap key, operator password, P-256 credentials
 *   seal.c       age encryption to holders; splitting and collecting shares
 *   rkeys.c      the admin's and auditor's record keys (anchors/record-keys)
 *   manifest.c   the public manifest: writing and parsing
 *   provision.c  the provisioning ceremony
 *   rerun.c      a rerun's way into devices whose factory key an earlier attempt deleted
 *   restore*.c   the restore (restore_internal.h lists its files) */
#ifndef SIGNET_CEREMONY_INTERNAL_H
#define SIGNET_CEREMONY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "signet/age.h"
#include "signet/audit.h"
#include "signet/ceremony.h"
#include "signet/client.h"
#include "signet/progress.h"
#include "signet/sss.h"

#define CER_FACTORY_AUTH_ID 1
#define CER_FACTORY_PASSWORD "password"
#define CER_STATE_FILE "ceremony.state"
#define CER_ATTEMPTS_DIR "failed-attempts"
#define CER_PATH_MAX 4096
#define CER_LINE_MAX 4096

/* ---- lines.c --------------------------------------------------------------- */
/* One meaningful line: the first word and the rest (both trimmed). */
typedef struct {
    const char *key;
    size_t key_len;
    const char *val;
    size_t val_len;
    unsigned lineno;
} cer_kv;

typedef struct {
    const char *p;
    size_t len, pos;
    unsigned lineno;
    const char *what;   /* "plan", "manifest": named in errors */
} cer_lines;

void cer_lines_init(cer_lines *l, const char *what, const char *p, size_t len);
/* Next line that is not blank or a '#' comment; *got false at the end.  Refuses NUL
 * and control characters and lines longer than CER_LINE_MAX. */
signet_rc cer_lines_next(cer_lines *l, cer_kv *kv, bool *got);
bool cer_kv_is(const cer_kv *kv, const char *key);
/* Splits the value into its first word and the rest. */
void cer_split_word(const char *s, size_t len, const char **w, size_t *wlen, const char **rest,
                    size_t *rlen);
/* Copies s into dst (cap bytes with the NUL); fails naming the line when too long. */
signet_rc cer_copy(char *dst, size_t cap, const char *s, size_t len, const cer_lines *l,
                   const char *what);
/* 16-bit id in decimal or 0x hex, 1..0xffff. */
signet_rc cer_parse_id(const char *s, size_t len, uint16_t *out);
/* Decimal 0..max. */
signet_rc cer_parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out);
/* [A-Za-z0-9_.-]{1,SIGNET_PLAN_NAME_MAX}, not starting with '.' or '-'. */
bool cer_name_valid(const char *s, size_t len);

/* ---- plan.c ------------------------------------------------------------------ */
/* Checks one recipient with the age module. */
signet_rc cer_recipient_check(const char *text);

/* ---- outdir.c ------------------------------------------------------------------ */
/* Durably writes dir/rel (rel may hold '/' into existing subdirectories). */
signet_rc cer_write_file(const char *dir, const char *rel, const void *p, size_t n, mode_t mode);
/* Creates dir/rel (one level) if missing and fsyncs its parent. */
signet_rc cer_mkdir(const char *dir, const char *rel, mode_t mode);
/* Whole file into out (at most max bytes; use a secure writer for secrets). */
signet_rc cer_read_file(const char *path, size_t max, sb_wr *out);
signet_rc cer_file_sha256(const char *path, uint8_t out[32]);
/* Makes dir ready for a new run: created when missing; refused when it holds a
 * completed run (done_file exists) or unrelated files; an earlier failed attempt
 * (CER_STATE_FILE exists) is moved to dir/failed-attempts/N, whose path is put into
 * moved_to ("" when nothing moved). */
signet_rc cer_prepare_out(const char *dir, const char *done_file, char *moved_to, size_t cap);
/* Replaces dir/CER_STATE_FILE durably; remove deletes it (the run completed). */
signet_rc cer_state_write(const char *dir, const char *text);
signet_rc cer_state_remove(const char *dir);

/* ---- run.c ---------------------------------------------------------------------- */
typedef struct {
    const char *name;
    const char *summary;
} cer_step_def;

typedef struct {
    const char *kind;              /* "provision" / "restore" */
    const char *out_dir;
    const cer_step_def *steps;
    size_t n_steps;
    size_t cur;                    /* 1-based index of the running step; 0 before the first */
    int transcript_fd;             /* -1 until the output directory exists */
    signet_progress_fn progress;
    void *progress_ctx;
    sb_wr pending;                 /* transcript lines said before it was opened */
    signet_progress pr;            /* "N/M step: ..." with elapsed time and an estimate */
    const char *resume;            /* the state file's advice if the run is interrupted
                                    * (NULL: run the same command again) */
} cer_run;

void cer_run_init(cer_run *r, const char *kind, const char *out_dir, const cer_step_def *steps,
                  size_t n, signet_progress_fn fn, void *ctx);
/* Opens OUT/transcript.txt for appending (after cer_prepare_out). */
signet_rc cer_run_open_transcript(cer_run *r);
/* A progress line, also appended to the transcript. */
void cer_say(cer_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Starts step `name`: fsyncs the transcript so far, records the step in the state
 * file, announces it, and honours SIGNET_CEREMONY_FAIL_AT / _STOP_AT. */
signet_rc cer_step(cer_run *r, const char *name);
/* Turns the current error into the failure report: which step, what was done,
 * `advice`; written to OUT/ceremony.state and the transcript.  Returns rc. */
signet_rc cer_run_fail(cer_run *r, signet_rc rc, const char *advice);
/* The run completed: the state file goes, the transcript is synced and closed. */
signet_rc cer_run_finish(cer_run *r);
void cer_run_close(cer_run *r);
/* UTC time "2026-01-31T12:00:00Z". */
void cer_utc_now(char out[32]);

/* ---- hsmprep.c ------------------------------------------------------------------ */
typedef struct {
    const char *role;              /* "primary", "backup", "target" */
    const char *url;
    hsm_conn *conn;
    bool own_conn;
    hsm_session *sess;             /* the working session: factory key, later a role */
    hsm_devinfo info;
    uint32_t serial;
    bool factory_deleted;
} cer_device;

/* Opens the connector (unless conn is set), reads Device Info and refuses firmware
 * older than 2.4.0. */
signet_rc cer_dev_connect(cer_device *d);
/* Logs in with auth id / password / key (id 0: the factory key). */
signet_rc cer_dev_login(cer_device *d, uint16_t auth_id, const char *password, EVP_PKEY *key);
/* Reset; then logs in again with the factory key (retrying while the device reboots)
 * and checks it is the same device. */
signet_rc cer_dev_reset(cer_device *d);
/* Get Log Entries on the working session. */
signet_rc cer_dev_read_log(cer_device *d, hsm_log *log);
/* The log right after a reset: entry 1 (start) and the boot entry, nothing else. */
signet_rc cer_dev_check_fresh_log(const cer_device *d, const hsm_log *log);
/* Makes the log the device's trust anchor in the trail and consumes it on the device. */
signet_rc cer_dev_anchor(cer_device *d, signet_trail *t, const hsm_log *log);
/* Only the factory authentication key, across all domains, with factory attributes. */
signet_rc cer_dev_prove_clean(cer_device *d);
/* Every auditable command except those that would lock the device, fixed, in one
 * Set Option; then force-audit fixed; then reads both back. */
signet_rc cer_dev_set_audit(cer_device *d, size_t *n_commands);
/* Drains the device log into the trail; a gap or unlogged event is an error. */
signet_rc cer_dev_drain(cer_device *d, signet_trail *t);
signet_rc cer_dev_put_wrap_key(cer_device *d, const sss_wrapkey *wk);
/* Object list "object <serial> ..." lines for the manifest. */
signet_rc cer_dev_describe_objects(cer_device *d, sb_wr *out);
void cer_dev_close(cer_device *d);
/* "2.4.0" */
void cer_dev_version(const cer_device *d, char out[16]);

/* ---- rerun.c ---------------------------------------------------------------------- */
/* The newest failed attempt's admin credential under out_dir
 * ("failed-attempts/2/credentials/admin-carol.age"); false when none wrote one. */
bool cer_attempt_admin_credential(const char *out_dir, char *rel, size_t cap);
/* Logs in as admin with the admin credential of an earlier failed attempt (newest
 * first), decrypted with the age identity file; used receives the credential's
 * path relative to out_dir. */
signet_rc cer_dev_login_attempt_admin(cer_device *d, const char *out_dir, const char *identity,
                                      char *used, size_t cap);

/* ---- secrets.c ------------------------------------------------------------------- */
typedef struct {
    char *password;                            /* operator: smem, NUL-terminated */
    EVP_PKEY *key[SIGNET_ROLE__COUNT];         /* admin, auditor: P-256 private keys */
    uint8_t pub[SIGNET_ROLE__COUNT][YH_EC_P256_PUB_LEN];
} cer_creds;

signet_rc cer_creds_generate(cer_creds *c);
void cer_creds_free(cer_creds *c);
/* The credential as its holder receives it (secure writer): the operator's password
 * and a newline, or the PKCS#8 PEM private key. */
signet_rc cer_cred_text(const cer_creds *c, signet_role r, sb_wr *out);
/* Writes one output file of a ceremony (provision's or restore's writer). */
typedef signet_rc (*cer_output_fn)(void *ctx, const char *rel, const void *data, size_t len,
                                   mode_t mode);
/* Seals each role's credential to its holder (age) and writes it through out as
 * credentials/<role>-<name>.age. */
signet_rc cer_seal_credentials(const cer_creds *c, const signet_plan *plan, cer_run *run,
                               cer_output_fn out, void *ctx);
/* A private key as PKCS#8 PEM into out (a secure writer); what names it in errors. */
signet_rc cer_pem_private(EVP_PKEY *k, const char *what, sb_wr *out);
/* Puts the three authentication keys onto a device. */
signet_rc cer_dev_put_roles(cer_device *d, const cer_creds *c, uint16_t domains);
/* Logs in as `role` with its new credential on a fresh session (closed again). */
signet_rc cer_dev_try_role(cer_device *d, const cer_creds *c, signet_role role);
/* Logs in as admin (kept as the working session) and deletes the factory key. */
signet_rc cer_dev_delete_factory(cer_device *d, const cer_creds *c);
/* 32 key bytes: HKDF-SHA256 over this host's random bytes and every device's
 * (Get Pseudo Random), so that neither alone decides the key. */
signet_rc cer_wrapkey_make(cer_device *devs, size_t n, const signet_plan *p, sss_wrapkey *wk);

/* ---- seal.c ------------------------------------------------------------------------ */
/* Age-encrypts (armored) to one recipient. */
signet_rc cer_seal(const char *recipient, const uint8_t *p, size_t n, sb_wr *out);
/* Splits the wrap-key blob t of n and proves that every set of at least t shares
 * gives it back. */
signet_rc cer_split_checked(const sss_wrapkey *wk, unsigned t, unsigned n, sss_share *shares);
unsigned cer_popcount(unsigned v);

/* What the manifest records of the wrap key. */
typedef struct {
    unsigned threshold;
    uint8_t check[SSS_WRAPKEY_CHECK_LEN];
    uint16_t id, domains;
    uint64_t capabilities, delegated;
} cer_wrap_expect;

/* Which of the given shares (bit i = shares[i]) did what. */
typedef struct {
    unsigned used;      /* the quorum that gave the recorded key */
    unsigned wrong;     /* shares that, in place of one of the quorum, give another key */
    unsigned foreign;   /* shares of another split (threshold or length differ) */
    unsigned tried;     /* quorums combined before one matched (or all of them) */
    bool meta_only;     /* some quorum gave the right key bytes but other attributes */
} cer_quorum;

/* Finds threshold shares among k that give the wrap key the manifest records (check
 * value, id, domains, capabilities) and tests every other share against them, so
 * that a mistyped share is named instead of blamed on a correct one.  SIGNET_E_VERIFY
 * when no quorum matches (q still says which shares were foreign). */
signet_rc cer_find_quorum(const sss_share *shares, size_t k, const cer_wrap_expect *e,
                          sss_wrapkey *wk, cer_quorum *q);
/* "shares/3-alice.age", "credentials/admin-carol.age" */
void cer_share_file(unsigned index, const char *name, char *out, size_t cap);
void cer_cred_file(signet_role r, const char *name, char *out, size_t cap);

/* ---- manifest.c ---------------------------------------------------------------------- */
#define CER_MANIFEST_FILE "manifest.txt"
#define CER_RESTORE_MANIFEST_FILE "restore-manifest.txt"
#define CER_MANIFEST_MAGIC "signet-ceremony-manifest v1"
#define CER_MANIFEST_MAX_FILES 128
#define CER_REL_MAX 128

typedef struct {
    unsigned index;
    char name[SIGNET_PLAN_NAME_MAX + 1];
    char file[CER_REL_MAX];
} cer_manifest_share;

typedef struct {
    char path[CER_REL_MAX];
    uint8_t sha256[32];
} cer_manifest_file;

/* What a restore needs from a provision's manifest. */
typedef struct {
    unsigned threshold;
    unsigned n_shares;
    uint16_t wrap_id;
    uint16_t wrap_domains;
    uint64_t wrap_caps;
    uint64_t wrap_delegated;
    uint8_t check[SSS_WRAPKEY_CHECK_LEN];
    uint16_t log_key_id;
    signet_vkey vkey;
    char log_wrapped[CER_REL_MAX];
    cer_manifest_share shares[SSS_MAX_SHARES];
    size_t n_listed_shares;
    cer_manifest_file files[CER_MANIFEST_MAX_FILES];
    size_t n_files;
    uint32_t primary_serial;        /* "device primary SERIAL ..."; 0 when not given */
} cer_manifest;

/* Strict on what it reads, ignores lines it does not need (device, object, role
 * lines are for people).  Paths must be relative, without "..". */
signet_rc cer_manifest_parse(const char *text, size_t len, cer_manifest *out);
const cer_manifest_file *cer_manifest_find_file(const cer_manifest *m, const char *path);
/* Relative path check shared with the parser. */
bool cer_rel_path_valid(const char *s, size_t len);
/* "file <sha256> <path>" for each path (hashed now). */
signet_rc cer_manifest_add_files(sb_wr *w, const char *dir, char (*paths)[CER_REL_MAX], size_t n);

/* ---- rkeys.c ------------------------------------------------------------------------
 * Record keys (docs/audit.md, "Record keys"): Ed25519 keys of the admin and the
 * auditor that sign acknowledgements and service records.  Made on this computer
 * like the P-256 credentials, age-encrypted to their holders, their public halves
 * named in the trail's anchors/record-keys.  The admin's key signs the ceremony's
 * own service records while the ceremony runs (it holds it anyway). */
#define CER_RKEY_ROLES 2                 /* admin, auditor */
typedef struct {
    EVP_PKEY *key[CER_RKEY_ROLES];
    char id[CER_RKEY_ROLES][9];
} cer_rkeys;

signet_rc cer_rkeys_generate(cer_rkeys *rk);
void cer_rkeys_free(cer_rkeys *rk);
/* The key that signs the ceremony's service records: the admin's. */
EVP_PKEY *cer_rkeys_signer(const cer_rkeys *rk);
/* Seals each key (PKCS#8 PEM) to its holder as OUT/credentials/<role>-record-key-
 * <holder>.age and names them in TRAIL/anchors/record-keys (refused when it exists).
 * The relative paths of the sealed files are appended to paths (n of max). */
signet_rc cer_rkeys_write(const cer_rkeys *rk, const signet_plan *pl, const char *out_dir,
                          const char *trail_dir, char (*paths)[CER_REL_MAX], size_t *n, size_t max,
                          cer_run *run);
/* "record-key <role> <holder> ed25519 <id> <file>" lines for a manifest. */
signet_rc cer_rkeys_manifest(const cer_rkeys *rk, const signet_plan *pl, sb_wr *m);

#endif

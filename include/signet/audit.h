/* The audit trail: a local, append-only, signed and verifiable record of everything
 * signet signed, tied to the HSM's own hash-chained audit log.  Format: docs/audit.md.
 *
 * A trail is a directory meant to be a git repository:
 *   DIR/log.vkey                    the verifier key of the checkpoint signer
 *   DIR/anchors/device-S.anchor     trust anchor: device S's log as found at the ceremony
 *   DIR/device-S.log                every audit log entry of device S, one per line
 *   DIR/records.log                 one line per signing (and key / service) event
 *   DIR/checkpoints                 signed checkpoints (c2sp.org/tlog-checkpoint)
 *   DIR/incomplete.log              torn tail lines set aside after a crash
 *   DIR/.lock                       flock()ed by writers (not committed)
 *
 * Every line of device-*.log and records.log is one leaf of one RFC 6962 Merkle
 * tree; each line starts with `i=<leaf index>`, so the tree's order is global across
 * the files.  Lines are written with O_APPEND and fsync()ed before success is
 * reported (and the directory is fsynced when a file is created).
 *
 * The signing path (src/sign) uses it like this, with one trail per process:
 *
 *   signet_trail_open(cfg->audit, &t);
 *   ...
 *   signet_trail_lock(t);                       serialises signing processes
 *   signet_audit_drain(t, sess, serial, NULL);  the device log is empty of strangers
 *   hsm_sign_...(...);                          the device logs entry E
 *   signet_audit_drain(t, sess, serial, &d);    E is now in device-S.log
 *   e = signet_drain_find(&d, YH_CMD_SIGN_PKCS1, key_id, auth_id);
 *   rec.serial = serial; rec.seq = e->seq; ...
 *   signet_trail_append_record(t, &rec);        durable before the signature is released
 *   if (due) signet_audit_checkpoint(t, sess, serial, log_key_id, origin);
 *   signet_trail_unlock(t);
 *   ...
 *   signet_trail_close(t);
 *
 * Set Log Index: no public source names the capability the YubiHSM 2 requires for
 * it; signet assumes get-log-entries (the only audit capability, which CalyxOS's
 * auditor role had), and signet-hsm enforces that.  A drain whose Set Log Index is
 * refused still keeps the entries it read and says which capability is missing. */
#ifndef SIGNET_AUDIT_H
#define SIGNET_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "signet/buf.h"
#include "signet/client.h"
#include "signet/err.h"
#include "signet/proto.h"

#define SIGNET_HASH_LEN 32         /* SHA-256 */
#define SIGNET_SIG_MAX 512         /* RSA-4096 */
#define SIGNET_LINE_MAX 16384      /* longest trail line accepted */
#define SIGNET_ORIGIN_MAX 128

/* ---- Merkle trees (RFC 6962 / RFC 9162) -------------------------------------- */

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[SIGNET_HASH_LEN]);
void merkle_node_hash(const uint8_t l[SIGNET_HASH_LEN], const uint8_t r[SIGNET_HASH_LEN],
                      uint8_t out[SIGNET_HASH_LEN]);
void merkle_empty_root(uint8_t out[SIGNET_HASH_LEN]);   /* SHA-256("") */

/* A tree over leaf hashes, with every level kept so that roots of any prefix and
 * proofs cost O(log^2 n) after an O(n) build. */
typedef struct merkle_tree merkle_tree;
signet_rc merkle_tree_new(merkle_tree **out);
void merkle_tree_free(merkle_tree *t);
signet_rc merkle_tree_append(merkle_tree *t, const uint8_t leaf_hash[SIGNET_HASH_LEN]);
uint64_t merkle_tree_size(const merkle_tree *t);
const uint8_t *merkle_tree_leaf(const merkle_tree *t, uint64_t i);
/* Root of the first `size` leaves (size <= tree size). */
signet_rc merkle_tree_root(const merkle_tree *t, uint64_t size, uint8_t out[SIGNET_HASH_LEN]);
/* Proofs as concatenated 32-byte hashes (RFC 9162 section 2.1.3 / 2.1.4 order). */
signet_rc merkle_tree_inclusion(const merkle_tree *t, uint64_t index, uint64_t size, sb_wr *proof);
signet_rc merkle_tree_consistency(const merkle_tree *t, uint64_t size1, uint64_t size2,
                                  sb_wr *proof);

/* Verifiers take the proof as n_hashes * 32 bytes; fail with SIGNET_E_VERIFY. */
signet_rc merkle_verify_inclusion(uint64_t index, uint64_t size,
                                  const uint8_t leaf_hash[SIGNET_HASH_LEN], const uint8_t *proof,
                                  size_t n_hashes, const uint8_t root[SIGNET_HASH_LEN]);
signet_rc merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t *proof,
                                    size_t n_hashes, const uint8_t root1[SIGNET_HASH_LEN],
                                    const uint8_t root2[SIGNET_HASH_LEN]);

/* ---- signed notes (c2sp.org/signed-note), Ed25519 only --------------------------- */

typedef struct {
    char name[SIGNET_ORIGIN_MAX];
    uint32_t key_id;
    uint8_t pub[32];
} signet_vkey;

/* key id = SHA-256(name | 0x0a | 0x01 | pub)[0:4] */
uint32_t signet_note_key_id(const char *name, const uint8_t pub[32]);
signet_rc signet_vkey_make(const char *name, const uint8_t pub[32], signet_vkey *out);
/* "<name>+<8 hex>+<base64(0x01 | pub)>"; surrounding whitespace is ignored; the key
 * id must match the name and key. */
signet_rc signet_vkey_parse(const char *s, size_t len, signet_vkey *out);
signet_rc signet_vkey_format(const signet_vkey *k, sb_wr *out);   /* without newline */
signet_rc signet_vkey_load(const char *path, signet_vkey *out);

/* Signs msg with Ed25519; the key lives wherever the callback reaches (the HSM in
 * production, an in-process key in tests). */
typedef signet_rc (*signet_sign_fn)(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64]);

/* text (ending in newline, no blank line) | "\n" | "— name base64(id|sig)\n". */
signet_rc signet_note_sign(const char *text, size_t len, const char *name, uint32_t key_id,
                           signet_sign_fn fn, void *ctx, sb_wr *out);
/* Parses a note and verifies the signature by key k: SIGNET_E_VERIFY when no line
 * carries k's name and id, or when such a line does not verify.  Other signatures
 * are ignored (c2sp.org/signed-note).  *text_len = length of the text (from note[0]). */
signet_rc signet_note_open(const char *note, size_t len, const signet_vkey *k, size_t *text_len);

/* ---- checkpoints (c2sp.org/tlog-checkpoint) --------------------------------------- */

typedef struct {
    char origin[SIGNET_ORIGIN_MAX];
    uint64_t size;
    uint8_t root[SIGNET_HASH_LEN];
} signet_checkpoint;

signet_rc signet_checkpoint_format(const signet_checkpoint *c, sb_wr *text);
/* Strict: exactly three lines (no extension lines), canonical decimal and base64. */
signet_rc signet_checkpoint_parse(const char *text, size_t len, signet_checkpoint *out);
/* Opens a signed checkpoint note: signature by k and text parsed. */
signet_rc signet_checkpoint_open(const char *note, size_t len, const signet_vkey *k,
                                 signet_checkpoint *out);

/* ---- proof receipts (c2sp.org/tlog-proof@v1) ---------------------------------------- */

typedef struct {
    uint8_t *extra;            /* malloc'd; the trail line (the leaf) for signet receipts */
    size_t extra_len;
    uint64_t index;
    uint8_t *proof;            /* malloc'd, n_hashes * 32 */
    size_t n_hashes;
    char *checkpoint;          /* malloc'd, NUL-terminated signed note, verbatim */
    size_t checkpoint_len;
} signet_receipt;

signet_rc signet_receipt_format(const signet_receipt *r, sb_wr *out);
signet_rc signet_receipt_parse(const char *s, size_t len, signet_receipt *out);
void signet_receipt_free(signet_receipt *r);
/* Verifies the checkpoint's signature by k and the inclusion of the leaf `extra` at
 * `index`.  On success *cp holds the checkpoint (may be NULL). */
signet_rc signet_receipt_verify(const signet_receipt *r, const signet_vkey *k,
                                signet_checkpoint *cp);

/* ---- records ------------------------------------------------------------------------ */

typedef enum {
    SIGNET_REC_SIGN = 1,       /* a signature made on the device */
    SIGNET_REC_CHECKPOINT,     /* a checkpoint signed by the log key on the device */
    SIGNET_REC_SERVICE,        /* a device taken out of / put into service, backup, restore, reset */
    SIGNET_REC_KEY,            /* a key generated, imported, rotated, revoked, deleted */
    SIGNET_REC_INTENT,         /* written (fsynced) just before a signature is asked of the
                                * device: if the signer dies before its sign record, the
                                * device entry is explained as an interrupted signature
                                * that was never released, not as a rogue one */
    SIGNET_REC_BIND,           /* an output file, once complete, bound to the input artifact
                                * its sign / reuse records name: receipts prove the output */
    SIGNET_REC_REUSE,          /* a signing-cache hit: the signature of an earlier sign record
                                * used again for the same key, mechanism and bytes */
    SIGNET_REC_ACK,            /* a person looked into one finding (by its hash) and closed it,
                                * signed with a record key of the trust anchors */
} signet_record_type;

#define SIGNET_BIND_MAX 1024       /* leaves one binding record may cover */

typedef struct {
    signet_record_type type;
    uint64_t index;            /* leaf index: assigned by append, filled by parse */
    int64_t time;              /* seconds since the epoch; 0 at append = now */
    char host[64];             /* "" at append = this host's name */
    uint16_t auth_id;          /* authentication key of the session */
    uint32_t serial;           /* the device */
    uint64_t seq;              /* the device log entry (running count) of the operation; 0 = none */
    bool no_log;               /* sign: the device keeps no log (a PKCS#11 token): the record
                                * stands alone, seq 0 ("log=none" in the line) */
    /* sign, key */
    char key_name[64];
    uint16_t key_id;
    uint8_t command;           /* sign: YH_CMD_SIGN_PKCS1 / _PSS / _ECDSA / _EDDSA */
    uint8_t data_sha256[SIGNET_HASH_LEN]; /* sign: SHA-256 of the exact bytes sent to the device */
    uint8_t sig[SIGNET_SIG_MAX];          /* sign: the signature the device returned */
    size_t sig_len;
    char artifact[1024];       /* optional: what was signed (path as the caller named it) */
    uint8_t artifact_sha256[SIGNET_HASH_LEN];
    bool has_artifact_sha256;
    char caller[2048];         /* optional: who asked: a redacted command line */
    /* checkpoint */
    uint64_t tree_size;
    uint8_t root[SIGNET_HASH_LEN];
    /* service: out | in | backup | restore | reset;  key: generated | imported |
     * rotated | revoked | deleted */
    char event[16];
    char note[256];            /* optional free text */
    /* reuse: the leaf index of the sign record whose signature is used again */
    uint64_t original;
    /* bind: the input is artifact + artifact_sha256; the complete output file; the
     * leaf indexes (strictly increasing, all earlier) of the sign, reuse or bind
     * records whose signatures it carries */
    char output[1024];
    uint8_t output_sha256[SIGNET_HASH_LEN];
    uint64_t covers[SIGNET_BIND_MAX];
    size_t n_covers;
    /* ack: the finding's hash (16 hex digits); the reason is `note` */
    char finding[17];
    /* ack, service: signed by the record key with this id (8 hex digits) over the
     * line up to " rsig=" (which comes last); signed_len is filled by parse */
    char signer[9];
    uint8_t rsig[64];
    bool has_rsig;
    size_t signed_len;
} signet_record;

/* ---- record builders: each kind of record is made in exactly one place --------------
 * Each builder clears *r, fills it and checks it as the formatter will (a string too
 * long for its field is an error, never cut).  time, host and index are filled by
 * signet_trail_append_record().  serial and auth_id name the device and the session's
 * authentication key the record comes from. */

/* What a signature is over and by which key: shared by sign, intent and reuse. */
typedef struct {
    const char *key_name;
    uint16_t key_id;
    uint8_t command;                 /* YH_CMD_SIGN_PKCS1 / _PSS / _ECDSA / _EDDSA */
    const uint8_t *data_sha256;      /* 32 bytes: SHA-256 of the exact bytes signed */
    const uint8_t *sig;              /* sign, reuse: the signature */
    size_t sig_len;
    const char *artifact;            /* optional: what was signed (path as named) */
    const uint8_t *artifact_sha256;  /* optional, 32 bytes */
    const char *caller;              /* optional: redacted command line */
} signet_rec_sig;

/* seq: the device entry of the signature. */
signet_rc signet_record_sign(signet_record *r, uint32_t serial, uint16_t auth_id, uint64_t seq,
                             const signet_rec_sig *s);
/* A signature by a device that keeps no log (a PKCS#11 token): no entry to name. */
signet_rc signet_record_sign_nolog(signet_record *r, uint32_t serial, uint16_t auth_id,
                                   const signet_rec_sig *s);
/* Before the device is asked (sig unused). */
signet_rc signet_record_intent(signet_record *r, uint32_t serial, uint16_t auth_id,
                               const signet_rec_sig *s);
/* A cache hit: s->sig is the signature of the sign record at leaf `original`. */
signet_rc signet_record_reuse(signet_record *r, uint32_t serial, uint16_t auth_id,
                              const signet_rec_sig *s, uint64_t original);
/* After the output file is complete (durable): input as named in the covered records,
 * output as written; covers: leaf indexes of those records (any order, no repeats). */
signet_rc signet_record_bind(signet_record *r, uint32_t serial, uint16_t auth_id,
                             const char *input, const uint8_t input_sha256[SIGNET_HASH_LEN],
                             const char *output, const uint8_t output_sha256[SIGNET_HASH_LEN],
                             const uint64_t *covers, size_t n_covers, const char *caller);
/* event: generated | imported | rotated | revoked | deleted; seq: its device entry. */
signet_rc signet_record_key(signet_record *r, uint32_t serial, uint16_t auth_id, uint64_t seq,
                            const char *event, const char *key_name, uint16_t key_id,
                            const char *note);
/* The log key's signature of a checkpoint of tree_size leaves at device entry seq. */
signet_rc signet_record_checkpoint(signet_record *r, uint32_t serial, uint16_t auth_id,
                                   uint64_t seq, uint16_t log_key_id, uint64_t tree_size,
                                   const uint8_t root[SIGNET_HASH_LEN]);
/* event: out | in | backup | restore | reset; seq: the device log position the event
 * is bound to (the trail's newest entry of that device when it is recorded: for a
 * reset, the last entry before the restart).  Service records are signed
 * (signet_trail_append_service). */
signet_rc signet_record_service(signet_record *r, uint32_t serial, uint16_t auth_id, uint64_t seq,
                                const char *event, const char *note);

/* An acknowledgement of the finding with this hash (reason: why it is closed). */
signet_rc signet_record_ack(signet_record *r, const char *finding_hash, const char *reason);

/* ---- record keys (the trust anchors' anchors/record-keys) -------------------------
 * Ed25519 keys of the people who may sign acknowledgements and service records
 * (the admin and the auditor).  One line each: role=R holder=NAME alg=ed25519
 * pub=BASE64; the key id is SHA-256(pub)[0:4] in hex. */
#define SIGNET_RKEYS_FILE "anchors/record-keys"
#define SIGNET_RKEYS_MAX 16
typedef struct {
    char role[16];
    char holder[64];
    uint8_t pub[32];
    char id[9];
} signet_rkey;
typedef struct {
    signet_rkey k[SIGNET_RKEYS_MAX];
    size_t n;
} signet_rkeys;
signet_rc signet_rkeys_load(const char *path, signet_rkeys *out);
/* Writes DIR/anchors/record-keys (refused when it exists: anchors never change). */
signet_rc signet_rkeys_create(const char *dir, const signet_rkeys *keys);
/* The id of an Ed25519 public key. */
void signet_rkey_id(const uint8_t pub[32], char id[9]);
/* The id of an Ed25519 private (or public) key; SIGNET_E_ARG for any other key. */
signet_rc signet_rkey_id_of(EVP_PKEY *k, char id[9]);
/* The record key with this id, NULL when the record keys do not name it. */
const signet_rkey *signet_rkeys_find(const signet_rkeys *keys, const char *id);
/* `signet audit acknowledge`: verifies DIR, finds the finding with this hash (an
 * incident; anything else is refused), and appends an acknowledgement signed by
 * priv, which must be a key of the record keys (rkeys_path NULL: DIR's). */
signet_rc signet_trail_acknowledge(const char *dir, const char *rkeys_path, const char *hash,
                                   const char *reason, EVP_PKEY *priv);

/* True when the record is about a file with this SHA-256: a sign or reuse record's
 * artifact, a binding's output. */
bool signet_record_names(const signet_record *r, const uint8_t sha256[SIGNET_HASH_LEN]);

/* One record line (starting with i=<index>), without the newline. */
signet_rc signet_record_format(const signet_record *r, sb_wr *out);
signet_rc signet_record_parse(const char *line, size_t len, signet_record *out);
const char *signet_mech_name(uint8_t command);   /* "rsa-pkcs1"...; NULL if not a signing command */
bool signet_command_is_signing(uint8_t command);

/* Redaction of command lines for records: the value after --ks-pass, --key-pass,
 * --pin, --password, --passin, ... ; "pass:SECRET"; KEY=VALUE when KEY names a
 * secret (pass, pin, secret, token); passwords in URLs.  Words are joined with
 * spaces; the result never holds the secrets. */
signet_rc signet_redact_argv(int argc, char *const *argv, sb_wr *out);
/* The same for a command line as one string (split on white space). */
signet_rc signet_redact_cmdline(const char *cmdline, sb_wr *out);

/* ---- the trail ------------------------------------------------------------------------ */

typedef struct signet_trail signet_trail;

/* Creates DIR (one level), DIR/anchors and DIR/.gitignore if missing; idempotent. */
signet_rc signet_trail_init(const char *dir);
/* Opens an existing trail (SIGNET_E_NOTFOUND with advice when DIR is not one). */
signet_rc signet_trail_open(const char *dir, signet_trail **out);
void signet_trail_close(signet_trail *t);     /* unlocks when locked */
const char *signet_trail_dir(const signet_trail *t);

/* flock(DIR/.lock): waits for other writers, then reads the tails of the trail files
 * (next leaf index, each device's last entry).  A torn last line (a crash while
 * writing) is moved to DIR/incomplete.log and cut off, so appends start on a fresh
 * line.  Every append below requires the lock. */
signet_rc signet_trail_lock(signet_trail *t);
void signet_trail_unlock(signet_trail *t);
uint64_t signet_trail_size(const signet_trail *t);  /* leaves, as of the lock */

signet_rc signet_trail_append_record(signet_trail *t, signet_record *r);
/* Appends r signed with the Ed25519 record key priv (its key id goes into r): an
 * acknowledgement or service record.  Requires the lock. */
signet_rc signet_trail_append_signed(signet_trail *t, signet_record *r, EVP_PKEY *priv);
/* A service event of device `serial` (out, in, backup, restore, reset), bound to the
 * device log position it explains: seq is the trail's newest entry of that device,
 * so drain first (and for a reset, sign BEFORE the reset: a reset destroys the
 * device's log key, and the restart that follows is explained only by a reset record
 * bound to the entry just before it).  Signed with the record key rkey, which
 * DIR/anchors/record-keys must name.  Requires the lock. */
signet_rc signet_trail_append_service(signet_trail *t, uint32_t serial, uint16_t auth_id,
                                      const char *event, const char *note, EVP_PKEY *rkey);
/* A change of log key (a migration that could not move the log key made a new one):
 * a service record of device `serial` (the device whose log key is retired), event
 * log-key, its note the new key's vkey line, signed by the record key rkey.
 * Checkpoints of more leaves than the record's are then signed, and verified, with
 * the new key; log.vkey stays the first key (docs/audit.md).  Requires the lock. */
signet_rc signet_trail_change_log_key(signet_trail *t, uint32_t serial, uint16_t auth_id,
                                      const signet_vkey *next, EVP_PKEY *rkey);
/* The log key in force now: log.vkey's, or the newest change of log key recorded. */
signet_rc signet_trail_log_key(const char *dir, signet_vkey *out);
/* Appends n records with one write and one fsync (a signer's group commit): all are
 * durable on success.  offsets (may be NULL): the byte offset of each line in
 * records.log, so that a record can be read back directly. */
signet_rc signet_trail_append_records(signet_trail *t, signet_record *const *recs, size_t n,
                                      uint64_t *offsets);

/* One device entry as the trail keeps it: seq is the trail's 64-bit running count
 * of that device's entries (the device's numbers are 16-bit and wrap). */
typedef struct {
    uint64_t seq;
    uint64_t index;            /* leaf index */
    yh_log_entry e;
} signet_dev_entry;

typedef struct {
    size_t n_new;                          /* entries appended by this drain */
    signet_dev_entry entries[YH_LOG_CAPACITY];
    uint16_t unlogged_boots, unlogged_auths;
    uint64_t lost;             /* entries the device dropped before they were drained */
    bool restarted;            /* the device log restarted at entry 1 (a reset) */
    bool index_set;            /* Set Log Index was sent and accepted */
} signet_drain_result;

/* The trust anchor of device `serial`: its log as read at the ceremony (right after
 * a reset: entry 1 all 0xff, entry 2 the boot).  Writes anchors/device-S.anchor and
 * starts device-S.log with those entries.  Refused when the device has a log here. */
signet_rc signet_trail_add_anchor(signet_trail *t, uint32_t serial, const hsm_log *log);
/* Appends the entries of `log` (as Get Log Entries returned them) that are new to
 * the trail, after checking that each chains from the last one kept; a gap (the
 * ring overwrote entries) is kept and reported in out->lost, never hidden.  Fails
 * with SIGNET_E_VERIFY, appending nothing, when the device's entries do not chain
 * from the trail's.  out may be NULL. */
signet_rc signet_trail_ingest(signet_trail *t, uint32_t serial, const hsm_log *log,
                              signet_drain_result *out);
/* Get Log Entries, ingest, then Set Log Index to the last entry read, so that a
 * device with force-audit never fills up. */
signet_rc signet_audit_drain(signet_trail *t, hsm_session *s, uint32_t serial,
                             signet_drain_result *out);
/* Arms session s to drain the device log into the trail DIR as a side effect of its
 * commands (hsm_session_set_log_hook): whenever they could have filled half the log,
 * and before the session closes.  *armed false (and nothing done) when DIR holds no
 * log of this device.  Never arm a session that only reads (audit verify --device):
 * a drain consumes entries, and a second trail drained from them would fork. */
signet_rc signet_audit_arm(hsm_session *s, const char *dir, bool *armed);
/* Before resetting device `serial` (session s): drains its log into t and appends the
 * reset record signed by rkey, bound to the last entry.  Keep t locked until the reset
 * is done, so that no drain (this process's session hook included) comes between:
 * the restart must follow the entry the record names.  out (may be NULL): the drain. */
signet_rc signet_audit_before_reset(signet_trail *t, hsm_session *s, uint32_t serial, const char *note,
                                    EVP_PKEY *rkey, signet_drain_result *out);
/* The newest successful entry of a drain with this command, target key and session
 * key; NULL when there is none. */
const signet_dev_entry *signet_drain_find(const signet_drain_result *d, uint8_t command,
                                          uint16_t key_id, uint16_t auth_id);

/* Checkpoint of every leaf so far: text, signature through fn (checked against
 * DIR/log.vkey), appended to DIR/checkpoints.  out may be NULL. */
signet_rc signet_trail_checkpoint(signet_trail *t, const char *origin, signet_sign_fn fn,
                                  void *ctx, signet_checkpoint *out);
/* The same with the Ed25519 log key log_key_id on the device, drains around the
 * signature and a checkpoint record pairing it with its device entry. */
signet_rc signet_audit_checkpoint(signet_trail *t, hsm_session *s, uint32_t serial,
                                  uint16_t log_key_id, const char *origin,
                                  signet_checkpoint *out);

/* Receipt for the newest sign record naming this artifact SHA-256, proven against
 * the newest checkpoint that covers it. */
signet_rc signet_trail_prove(const char *dir, const uint8_t artifact_sha256[SIGNET_HASH_LEN],
                             sb_wr *receipt);

/* ---- verification ----------------------------------------------------------------------- */

typedef enum {
    SIGNET_FIND_PARSE = 1,     /* a line is malformed */
    SIGNET_FIND_TORN_TAIL,     /* a file ends in an incomplete line (a crash) */
    SIGNET_FIND_LEAF_MISSING,  /* a leaf index is absent: a line was deleted */
    SIGNET_FIND_LEAF_ORDER,    /* leaf indexes go backwards in a file: lines were reordered */
    SIGNET_FIND_LEAF_DUP,      /* a leaf index appears twice */
    SIGNET_FIND_CHAIN,         /* a device entry's digest does not chain from the previous one */
    SIGNET_FIND_GAP,           /* device entries were lost (numbers skipped) */
    SIGNET_FIND_ANCHOR,        /* no anchor, or the log does not start with it */
    SIGNET_FIND_UNLOGGED,      /* the device reported unlogged boots or authentications */
    SIGNET_FIND_RESTART,       /* the device log restarted (a reset) without a signed reset
                                * record bound to the entry before the restart */
    SIGNET_FIND_FORGED,        /* a record names no device entry, or one that does not match */
    SIGNET_FIND_UNRECORDED,    /* a device signature with no record */
    SIGNET_FIND_REUSED,        /* two records name the same device entry */
    SIGNET_FIND_SIGNATURE,     /* a checkpoint signature is invalid */
    SIGNET_FIND_ALTERED,       /* leaves no longer hash to a signed root */
    SIGNET_FIND_FORK,          /* two checkpoints are inconsistent with each other */
    SIGNET_FIND_TRUNCATED,     /* a checkpoint covers more leaves than the trail holds */
    SIGNET_FIND_STALE,         /* the trail is older than a known checkpoint or the device */
    SIGNET_FIND_EXPECT,        /* key usage differs from what was expected */
    SIGNET_FIND_VKEY,          /* the verifier key is missing or differs */
    SIGNET_FIND_HISTORY,       /* git history: a commit rewrote instead of appending */
    SIGNET_FIND_BINDING,       /* a binding names no earlier sign / reuse record of its input */
    SIGNET_FIND_REUSE,         /* a reuse does not match the sign record it names */
    SIGNET_FIND_NEVER_SIGNED,  /* an intent with no device entry: nothing was signed (notice) */
    SIGNET_FIND_ACK,           /* an acknowledgement that does not verify (a forged one) */
    SIGNET_FIND_SERVICE,       /* a service record not signed by a record key, or bound to no
                                * device entry before it (a forged one) */
    SIGNET_FIND_NO_DEVICE_LOG, /* sign records of a device without a log stand alone (notice) */
} signet_finding_kind;

/* How much a finding matters (docs/audit.md, "Findings"):
 *   notice     informational; `audit verify` still exits 0
 *   incident   something happened to a device or a signer (a full log, lost entries,
 *              an interrupted signature, a reset, a signature outside signet): exit 1
 *   attention  this copy or these expectations (stale, unexpected usage): exit 1;
 *              fixed by draining, a newer copy or new expectations
 *   tamper     the trail was changed, forged or forked: exit 1 */
typedef enum {
    SIGNET_SEV_NOTICE = 1,
    SIGNET_SEV_INCIDENT,
    SIGNET_SEV_ATTENTION,
    SIGNET_SEV_TAMPER,
} signet_severity;

signet_severity signet_finding_severity(signet_finding_kind kind);
const char *signet_severity_name(signet_severity s);

typedef struct {
    signet_finding_kind kind;
    char file[64];             /* "" when not about one file */
    uint64_t line;             /* 1-based, 0 when not about one line */
    char msg[320];
    signet_severity severity;
    char hash[17];             /* a stable name (16 hex digits) for the finding */
    bool acknowledged;         /* an incident closed by a valid acknowledgement record */
    char ack[200];
} signet_finding;

typedef struct {
    char key_name[64];
    uint16_t key_id;
    uint64_t count;            /* sign records */
    uint64_t reuses;           /* reuse records (signing-cache hits) */
} signet_key_usage;

typedef struct signet_report signet_report;
void signet_report_free(signet_report *r);
size_t signet_report_count(const signet_report *r);
const signet_finding *signet_report_finding(const signet_report *r, size_t i);
/* True when some finding has this kind. */
bool signet_report_has(const signet_report *r, signet_finding_kind kind);
size_t signet_report_usage_count(const signet_report *r);
const signet_key_usage *signet_report_usage(const signet_report *r, size_t i);
/* Findings, then a summary (leaves, devices, checkpoints, per-key usage). */
void signet_report_print(const signet_report *r, FILE *f);

typedef struct {
    const char *vkey_path;        /* NULL: DIR/log.vkey (then only self-consistency is proven) */
    const char *expect_path;      /* key usage a release should show (docs/audit.md) */
    const char *known_checkpoint; /* a signed checkpoint known from elsewhere (path) */
    const hsm_log *live;          /* the live device log, for freshness; NULL = skip */
    uint32_t live_serial;
    const char *rkeys_path;       /* record keys (published copy); NULL = DIR/anchors/record-keys */
} signet_verify_opts;

/* SIGNET_OK when no finding needs attention (notices only); SIGNET_E_VERIFY
 * otherwise, with the findings in *out; other codes when the trail could not be
 * read, or SIGNET_E_NOMEM when memory ran out (then *out is incomplete and must not
 * be trusted: verification stopped). */
signet_rc signet_trail_verify(const char *dir, const signet_verify_opts *o, signet_report **out);

/* Walks the history of the git repository REPO (oldest commit first, with `git`):
 * every commit may only append lines to the trail files, never change log.vkey or
 * anchors once written, and every checkpoint must be signed and match the trail of
 * its commit.  since: a commit verified before that must still be an ancestor of
 * HEAD (detects rewritten history).  vkey_path: NULL = the repository's log.vkey. */
signet_rc signet_git_verify(const char *repo, const char *since, const char *vkey_path,
                            signet_report **out);

#endif

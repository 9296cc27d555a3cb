/* The signing path (DESIGN.md): the one function that signs on the device.
 *
 *   resolve key (load the wrapped copy if not resident, evict LRU on-demand keys
 *   when the device runs low) -> drain the device audit log into the trail ->
 *   sign on the device -> drain again and append a durable (fsynced) record that
 *   pairs with the device's log entry -> release the signature.
 *
 * The CLI, the PKCS#11 module and the avb/payload helpers are thin adapters over
 * signet_sign().  Processes signing at once are serialised on the trail's lock. */
#ifndef SIGNET_SIGN_H
#define SIGNET_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "signet/client.h"
#include "signet/err.h"
#include "signet/keystore.h"

typedef struct signet_signer signet_signer;

/* Configuration shared by every adapter, read from one file (SIGNET_CONF or
 * /etc/signet/signet.conf), "key = value" lines:
 *   connector = http://127.0.0.1:12345
 *   keystore = /path/to/keys       (the key store directory, with keymap.txt)
 *   audit = /path/to/audit         (the audit trail directory; empty = no trail)
 *   wrap_key_id = 0x00ff
 *   min_free_objects = 8           (evict below this many free object slots)
 *   min_free_pages = 64            (evict below this many free storage pages)
 *   checkpoint_every = 100         (records between automatic checkpoints; 0 = off)
 *   checkpoint_seconds = 300
 *   log_key_id = 0x0010            (the Ed25519 audit log key, for checkpoints)
 *   log_name = signet.example/audit (the checkpoint origin line)
 *   auth_key = 3                   (the authentication key to log in with)
 *   password_file = /path/to/pw    (its password, first line; or:)
 *   auth_key_file = /path/to/k.pem (its EC P-256 private key, asymmetric login)
 * The command line (--auth-key, --password-file, --auth-key-file) and
 * $SIGNET_AUTH_KEY override the credential settings.
 *   cache = on                     (the signing cache: on | off; on needs a trail)
 *   cache_dir = /path/to/audit.cache (default: the audit directory's name + ".cache")
 * $SIGNET_CACHE=off turns the cache off for one process (helpers, the PKCS#11 module).
 *   backend = yubihsm              (yubihsm: the connector above; pkcs11: a PKCS#11 token)
 *   pkcs11_module = /usr/lib/softhsm/libsofthsm2.so
 *   pkcs11_token = signet          (the token's label)
 *   pkcs11_pin_file = /path/to/pin (the user PIN, first line; else $SIGNET_PKCS11_PIN;
 *                                   never on the command line)
 *   log_key_label = signet-log     (pkcs11: the Ed25519 checkpoint key on the token)
 *   pkcs11_wrap_key_label = signet-wrap
 *                                  (pkcs11: the trusted AES key that wraps the backups of
 *                                   keys generated on the token)
 *   failover = http://h2:12345 http://h3:12345
 *                                  (further HSMs holding the same wrap key and credential:
 *                                   when the device stops answering mid-batch, the signer
 *                                   moves to the next and retries what was not finished;
 *                                   signet_signer_open, or signet_signer_keep_credential after
 *                                   signet_signer_open_session, which keep the credential)
 * docs/migration.md describes the PKCS#11 backend. */
typedef enum { SIGNET_BACKEND_YUBIHSM = 0, SIGNET_BACKEND_PKCS11 } signet_backend_kind;

typedef struct {
    char connector[256];
    char keystore[1024];
    char audit[1024];
    uint16_t wrap_key_id;
    unsigned min_free_objects;
    unsigned min_free_pages;
    unsigned checkpoint_every;
    unsigned checkpoint_seconds;
    uint16_t log_key_id;
    char log_name[256];
    uint16_t auth_key;          /* 0: not set (the commands then use 1) */
    char password_file[1024];   /* empty: not set */
    char auth_key_file[1024];   /* empty: not set */
    bool cache_off;
    char cache_dir[1024];
    signet_backend_kind backend;
    char pkcs11_module[1024];
    char pkcs11_token[33];
    char pkcs11_pin_file[1024];
    char log_key_label[64];
    char pkcs11_wrap_key_label[64];
    char failover[1024];
} signet_config;

void signet_config_defaults(signet_config *cfg);
/* path NULL: $SIGNET_CONF, else /etc/signet/signet.conf.  Unknown keys are errors. */
signet_rc signet_config_load(const char *path, signet_config *cfg);

/* Opens the connector, authenticates (auth_id + password), opens the key store and
 * the trail.  The password is copied into locked memory.  backend = pkcs11: the
 * password is the token's user PIN (auth_id is not used). */
signet_rc signet_signer_open(const signet_config *cfg, uint16_t auth_id, const char *password,
                             signet_signer **out);
/* The same over a session the caller already opened (any credential, e.g. the
 * CLI's asymmetric one).  The signer takes ownership of conn and sess. */
signet_rc signet_signer_open_session(const signet_config *cfg, hsm_conn *conn, hsm_session *sess,
                                     signet_signer **out);
/* Keeps the credential of a signer opened over the caller's session, so that it fails
 * over like signet_signer_open's (failover in signet.conf): the password (copied into
 * locked memory) or the EC P-256 authentication key (a reference is kept), for
 * authentication key auth_id.  Nothing is kept when signet.conf names no failover. */
signet_rc signet_signer_keep_credential(signet_signer *s, uint16_t auth_id, const char *password,
                                        EVP_PKEY *key);
/* backend = pkcs11: opens the module and logs in to the token (PIN from
 * pkcs11_pin_file or $SIGNET_PKCS11_PIN), opens the key store and the trail.  With
 * backend = yubihsm, signet_signer_open also ends here. */
signet_rc signet_signer_open_config(const signet_config *cfg, signet_signer **out);
/* Writes a checkpoint when records were added, closes the device session. */
void signet_signer_close(signet_signer *s);

typedef enum {
    SIGNET_MECH_RSA_PKCS1, /* data: a bare digest or a complete DigestInfo */
    SIGNET_MECH_RSA_PSS,   /* data: the digest; pss_mgf1 + pss_salt_len */
    SIGNET_MECH_ECDSA,     /* data: the digest; signature DER */
    SIGNET_MECH_EDDSA,     /* data: the message; signature 64 bytes */
} signet_mech;

typedef struct {
    const char *key_name;       /* a key of the key store */
    signet_mech mech;
    const uint8_t *data;
    size_t len;
    uint8_t pss_mgf1;           /* YH_ALGO_MGF1_* */
    uint16_t pss_salt_len;
    /* What is being signed, for the audit record (all optional). */
    const char *artifact_path;
    const uint8_t *artifact_sha256; /* 32 bytes */
    const char *caller;         /* who asked (redacted command line) */
    bool no_cache;              /* always ask the device (the signing cache is not read) */
    /* Optional outputs: the leaf index of the sign (or reuse) record, for a binding
     * record (signet_signer_bind); whether the signature came from the cache. */
    uint64_t *record_index;
    bool *reused;
} signet_sign_req;

/* sig_len: in capacity, out length.  On success the record is durable.
 *
 * The signing cache: when the signer has one (a trail, cache on) and the request
 * allows it, a signature this key already made over exactly these bytes (same
 * mechanism and parameters) is used again instead of asking the device.  Entries
 * live in cache_dir, one file each, named by SHA-256 of (the key's public key,
 * mechanism, parameters, SHA-256 of the bytes); the directory may be deleted at any
 * time.  Before an entry is used its signature is verified with the key's public key
 * and the sign record it names is read back from the trail; a mismatch (a poisoned
 * or stale entry) is refused, reported through the signer's report function, removed,
 * and the device signs instead.  Each hit appends a durable `reuse` record pointing at
 * the original sign record. */
signet_rc signet_sign(signet_signer *s, const signet_sign_req *req, uint8_t *sig, size_t *sig_len);

/* What a signer did since it was opened. */
typedef struct {
    uint64_t device_signs;      /* signatures the device made */
    uint64_t cache_hits;        /* signatures reused from the cache */
    uint64_t cache_refused;     /* cache entries refused (poisoned, stale, no record) */
    uint64_t drains;            /* reads of the device log */
    uint64_t syncs;             /* durable appends to the trail (each one fsync) */
    uint64_t failovers;         /* moves to a failover device */
} signet_sign_stats;
void signet_signer_stats(const signet_signer *s, signet_sign_stats *out);

/* Turns the signing cache off (or on again, when the configuration allows it). */
void signet_signer_set_cache(signet_signer *s, bool on);
bool signet_signer_cache_on(const signet_signer *s);

/* Where warnings go (one line each, no newline); default stderr. */
typedef void (*signet_report_fn)(void *ctx, const char *line);
void signet_signer_set_report(signet_signer *s, signet_report_fn fn, void *ctx);

/* ---- batches ----------------------------------------------------------------------
 * Many requests of one process in one device session under one trail lock.  Items are
 * taken in groups (consecutive items of one key, at most SIGNET_BATCH_GROUP): per
 * group one drain before and one after the device signatures, the intents (and reuse
 * records of cache hits) made durable with one fsync, the sign records with one more.
 * No signature is copied out before its record is durable.  Each item has its own
 * result; one failing item does not stop the others. */
#define SIGNET_BATCH_GROUP 24

typedef struct {
    signet_sign_req req;
    uint8_t *sig;               /* capacity sig_cap; filled only on success */
    size_t sig_cap;
    size_t sig_len;             /* out */
    signet_rc rc;               /* out: SIGNET_OK or why this item failed */
    char err[256];              /* out: the message when rc != SIGNET_OK */
    uint64_t record;            /* out: leaf index of its sign or reuse record */
    bool reused;                /* out: from the signing cache */
} signet_batch_item;

/* Returns SIGNET_OK when every item was signed, else the code of the first failed
 * item (each item says what happened to it). */
signet_rc signet_sign_batch(signet_signer *s, signet_batch_item *items, size_t n);

/* The order to sign requests in so that each key is loaded at most once and keys
 * already on the device go first (before loads could evict them): a permutation
 * `order` of 0..n-1 grouping equal key names, keys resident now first, then the others
 * in order of first appearance.  keys[i]: the key name of request i. */
signet_rc signet_batch_order(signet_signer *s, const char *const *keys, size_t n, size_t *order);

/* ---- bindings --------------------------------------------------------------------- */
/* Appends a durable binding record: the output file `output` (SHA-256 out_sha256),
 * complete on disk, carries the signatures of the records `covers` (leaf indexes of
 * sign, reuse or bind records, from signet_sign_req.record_index) made over the input
 * `input` (in_sha256).  Call it after the output was written durably and before telling
 * anyone it exists; receipts (`signet audit prove OUTPUT`) then prove the output. */
signet_rc signet_signer_bind(signet_signer *s, const char *input, const uint8_t in_sha256[32],
                             const char *output, const uint8_t out_sha256[32],
                             const uint64_t *covers, size_t n_covers);
/* The same, also giving the leaf index of the bind record (0 without a trail), for a
 * binding that covers bindings (a package over its members). */
signet_rc signet_signer_bind_leaf(signet_signer *s, const char *input, const uint8_t in_sha256[32],
                                  const char *output, const uint8_t out_sha256[32],
                                  const uint64_t *covers, size_t n_covers, uint64_t *leaf);
/* Several bindings as one durable append (a batch's outputs, each already durable):
 * all or none.  Any failure appends nothing; the caller may then bind one by one
 * to learn which binding fails. */
typedef struct {
    const char *input, *output;
    const uint8_t *in_sha256, *out_sha256;   /* 32 bytes each */
    const uint64_t *covers;
    size_t n_covers;
} signet_bind_item;
signet_rc signet_signer_bind_group(signet_signer *s, const signet_bind_item *v, size_t n);
/* The same for a tool that signed through the module or a helper (apksigner with
 * SIGNET_ARTIFACT=input): covers every sign and reuse record naming in_sha256 that no
 * earlier binding of that input covers (`signet audit bind IN OUT`).  *n_bound: how
 * many.  SIGNET_E_NOTFOUND when there is none. */
signet_rc signet_signer_bind_input(signet_signer *s, const char *input, const uint8_t in_sha256[32],
                                   const char *output, const uint8_t out_sha256[32], size_t *n_bound);

/* Writes a signed checkpoint now when records were added since the last one
 * (also done automatically per checkpoint_every / checkpoint_seconds and at close). */
signet_rc signet_signer_checkpoint(signet_signer *s);

/* A signet_cert_signer (keystore.h) for key generation: ctx is the signer.  The
 * record names "certificate of NAME" and the SHA-256 of the TBSCertificate. */
signet_rc signet_sign_certificate(void *ctx, const signet_keymap_entry *e, const uint8_t *tbs,
                                  size_t len, int md_nid, uint8_t *sig, size_t *sig_len);
/* Appends a key record (event: generated, imported, rotated, revoked, deleted). */
signet_rc signet_signer_record_key(signet_signer *s, const signet_keymap_entry *e,
                                   const char *event, const char *note);
/* The YubiHSM session; NULL when the backend is a PKCS#11 token. */
hsm_session *signet_signer_session(signet_signer *s);
/* The device the signer signs with (backend.h). */
struct signet_device *signet_signer_device(signet_signer *s);

/* The signer's key store and device serial, for adapters that list keys. */
signet_keystore *signet_signer_keystore(signet_signer *s);
uint32_t signet_signer_serial(const signet_signer *s);

#endif

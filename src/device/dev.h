/* Internal structures of the emulated YubiHSM 2 (include/signet/device.h).
 *
 * The device is one struct: persistent state (objects, audit log, options),
 * volatile sessions, and the settings it was opened with.  Command handlers get
 * a dev_req describing one command and answer with a device error code (0 = ok)
 * plus response bytes; the dispatcher in device.c does framing, encryption,
 * auditing and persistence around them. */
#ifndef SIGNET_DEVICE_DEV_H
#define SIGNET_DEVICE_DEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "signet/buf.h"
#include "signet/device.h"
#include "signet/proto.h"

#define DEV_VERSION_MAJOR 2
#define DEV_VERSION_MINOR 4
#define DEV_VERSION_PATCH 0
#define DEV_DEFAULT_SERIAL 1234567u
#define DEV_DEFAULT_TIMEOUT_S 30u
#define DEV_FACTORY_LABEL "DEFAULT AUTHKEY CHANGE THIS ASAP"
/* "not applicable" in audit log key fields */
#define DEV_NO_KEY 0xffff

/* ---- objects --------------------------------------------------------------- */
typedef struct {
    bool used;
    uint8_t type;
    uint8_t algorithm;
    uint8_t sequence;
    uint8_t origin;
    uint16_t id;
    uint16_t domains;
    uint64_t capabilities;
    uint64_t delegated;
    uint8_t label[YH_LABEL_LEN];
    /* Key material or opaque data in locked memory (see objects.c for the
     * layout per type); wiped on delete and free. */
    uint8_t *body;
    size_t body_len;
    /* Asymmetric keys: the OpenSSL key built from body (not persisted). */
    EVP_PKEY *pkey;
} dev_object;

/* How many times an object of (type, id) existed before: kept for deleted
 * objects so that a re-created object gets the next sequence number. */
typedef struct {
    uint8_t type;
    uint16_t id;
    uint8_t next_seq;
} dev_tombstone;

/* ---- audit log ------------------------------------------------------------- */
typedef struct {
    yh_log_entry e[YH_LOG_CAPACITY]; /* oldest first */
    size_t n;
    uint16_t next_number;
    uint16_t unlogged_boots;
    uint16_t unlogged_auths;
    uint8_t last_digest[YH_LOG_DIGEST_LEN];
} dev_log;

/* ---- the device's own keys ---------------------------------------------------- */
/* Made at first start and kept across resets, like the keys Yubico provisions:
 * the static P-256 key of asymmetric authentication (Get Device Public Key) and
 * the attestation key (id 0) with its self-signed certificate.  The private
 * scalars live here (dev_state is locked memory); the OpenSSL keys are built
 * from them and not persisted. */
#define DEV_IDENTITY_KEY_LEN 32
typedef struct {
    bool present;
    uint8_t static_d[DEV_IDENTITY_KEY_LEN];
    uint8_t attest_algo;                    /* YH_ALGO_EC_P256 */
    uint8_t attest_d[DEV_IDENTITY_KEY_LEN];
    uint8_t *cert;                          /* attestation certificate, DER (public) */
    size_t cert_len;
    EVP_PKEY *static_key;
    EVP_PKEY *attest_key;
} dev_identity;

/* ---- persistent state -------------------------------------------------------- */
typedef struct {
    uint32_t serial;
    dev_object objects[YH_MAX_OBJECTS];
    dev_tombstone *tombs;
    size_t n_tombs;
    dev_log log;
    uint8_t force_audit;       /* YH_OPT_OFF / ON / FIXED */
    uint8_t cmd_audit[256];    /* per command code */
    dev_identity id;           /* survives Reset Device */
} dev_state;

/* ---- sessions (volatile) ----------------------------------------------------- */
typedef struct {
    bool used;
    bool authenticated;
    uint16_t auth_id;
    uint8_t host_ch[YH_CHALLENGE_LEN];
    uint8_t card_ch[YH_CHALLENGE_LEN];
    yh_channel ch;
    uint64_t last_ms;
} dev_session;

/* ---- the audit log's journal (journal.c) ------------------------------------------ */
/* A log change made durable by one record appended to <state>.journal. */
enum {
    DEV_JR_ENTRY = 1,          /* an entry was appended */
    DEV_JR_UNLOGGED_AUTH = 2,  /* a session opening was counted (forced log full) */
    DEV_JR_UNLOGGED_BOOT = 3,  /* a boot was counted (forced log full) */
    DEV_JR_SET_INDEX = 4,      /* Set Log Index consumed entries */
};
/* After this many records the next log change is a full state write instead,
 * which empties the journal: replay at open stays short. */
#define DEV_JOURNAL_MAX_RECORDS 256u
#define DEV_JOURNAL_BASE_LEN 8
#define DEV_STATE_SUM_LEN 32   /* the SHA-256 trailer of a state file */

typedef struct {
    char *path;                /* <state>.journal; NULL = volatile device */
    int fd;                    /* open for appending, -1 until the first full write */
    unsigned records;          /* records in the file */
    uint8_t base[DEV_JOURNAL_BASE_LEN]; /* names the state file the records extend */
    /* The log change made since the last durable point (a command makes at
     * most one; two or more are written as a full state). */
    unsigned n_pending;
    uint8_t kind;
    uint16_t index;            /* DEV_JR_SET_INDEX */
    yh_log_entry entry;        /* DEV_JR_ENTRY */
} dev_journal;

struct hsm_device {
    pthread_mutex_t lock;
    char *state_path;          /* NULL = volatile */
    dev_journal journal;
    unsigned timeout_ms;
    bool latency;              /* "yubihsm2" profile */
    bool broken;               /* persisting failed: refuse everything */
    uint64_t (*now_ms)(void *ctx);
    void *now_ctx;
    uint64_t boot_ms;          /* systick 0 */
    dev_state *st;             /* smem: holds key material */
    dev_session *sessions;     /* smem: holds session keys */
};

/* ---- one command --------------------------------------------------------------- */
typedef struct {
    hsm_device *dev;
    dev_session *sess;         /* the authenticated session, NULL outside one */
    uint8_t cmd;
    const uint8_t *data;
    size_t len;
    sb_wr *out;                /* response data, without cmd|len */
    uint16_t target;           /* audit log fields, DEV_NO_KEY when unused */
    uint16_t second;
    unsigned latency_ms;       /* how long the real device would take */
    bool changed;              /* state changed: persist before answering (a change
                                * to the audit log alone is noted by audit_log.c and
                                * journaled instead) */
    bool reset_after;          /* reset the device after answering */
    bool close_after;          /* close the session after answering */
} dev_req;

typedef uint8_t (*dev_handler)(dev_req *rq);

/* ---- device.c ------------------------------------------------------------------- */
uint64_t dev_now(const hsm_device *dev);
uint32_t dev_systick(const hsm_device *dev);
/* Persists the whole state when it has a file, then empties the journal; marks
 * the device broken on failure. */
signet_rc dev_persist(hsm_device *dev);
/* Makes the log change noted since the last durable point durable: one journal
 * record, or a full write (dev_persist) when the journal is full.  Nothing to do
 * when no change is pending.  Marks the device broken on failure. */
signet_rc dev_persist_log(hsm_device *dev);
/* The handler of a command, NULL when not implemented. */
dev_handler dev_find_handler(uint8_t cmd);
/* Command codes in the order Get Option (command-audit) reports them. */
extern const uint8_t dev_audit_cmds[];
extern const size_t dev_n_audit_cmds;
bool dev_is_audit_cmd(uint8_t cmd);

/* ---- session.c ------------------------------------------------------------------ */
void dev_sessions_expire(hsm_device *dev);
void dev_sessions_clear(hsm_device *dev);
/* Handlers of the plain (unencrypted) session commands: fill resp, a whole frame. */
void dev_create_session(hsm_device *dev, const uint8_t *data, size_t len, sb_wr *resp);
void dev_authenticate_session(hsm_device *dev, const uint8_t *frame, size_t flen,
                              const uint8_t *data, size_t len, sb_wr *resp);
/* Session message: decrypts, dispatches, encrypts.  *latency_ms receives the time
 * the real device would have taken. */
signet_rc dev_session_message(hsm_device *dev, const uint8_t *frame, size_t flen,
                              const uint8_t *data, size_t len, sb_wr *resp,
                              unsigned *latency_ms);

/* ---- objects.c ------------------------------------------------------------------ */
dev_object *dev_obj_find(dev_state *st, uint8_t type, uint16_t id);
/* A free slot, or NULL when the 256 records are used. */
dev_object *dev_obj_alloc(dev_state *st);
void dev_obj_clear(dev_object *o);        /* wipes and frees key material */
void dev_obj_delete(dev_state *st, dev_object *o); /* clear + remember the sequence */
uint8_t dev_obj_next_sequence(const dev_state *st, uint8_t type, uint16_t id);
/* The length Get Object Info reports (and the wrapped body length). */
uint16_t dev_obj_len(const dev_object *o);
unsigned dev_obj_pages(const dev_object *o);
unsigned dev_pages_for_len(size_t len);
unsigned dev_used_pages(const dev_state *st);
unsigned dev_used_records(const dev_state *st);
/* Storage check for a new object of len bytes: 0 or YH_ERR_STORAGE_FAILED. */
uint8_t dev_storage_check(const dev_state *st, size_t len);
/* Picks a free id for type (when id is 0). 0 = none left. */
uint16_t dev_pick_id(const dev_state *st, uint8_t type);
void dev_obj_info(const dev_object *o, yh_object_info *oi);
/* The session's authentication key, NULL if it was deleted meanwhile. */
dev_object *dev_session_key(hsm_device *dev, const dev_session *s);
/* An object the session can see (shares a domain), or NULL. */
dev_object *dev_obj_visible(hsm_device *dev, const dev_session *s, uint8_t type, uint16_t id);
bool dev_session_has_cap(hsm_device *dev, const dev_session *s, unsigned bit);
void dev_state_free_objects(dev_state *st);

/* Common put/generate header: id(2) label(40) domains(2) caps(8) algorithm(1). */
typedef struct {
    uint16_t id;
    uint8_t label[YH_LABEL_LEN];
    uint16_t domains;
    uint64_t capabilities;
    uint8_t algorithm;
} dev_put_hdr;
uint8_t dev_parse_put_hdr(sb_rd *r, dev_put_hdr *h);
/* Checks a new object against the session key (capabilities within delegated,
 * domains within the key's), resolves id 0, checks existence and storage.
 * Returns 0 or a device error code; on success *slot is the free record. */
uint8_t dev_prepare_new(dev_req *rq, uint8_t type, dev_put_hdr *h, uint64_t delegated,
                        size_t len, dev_object **slot);
/* Fills a freshly prepared slot (body ownership moves into the object). */
void dev_obj_fill(dev_state *st, dev_object *o, uint8_t type, const dev_put_hdr *h,
                  uint64_t delegated, uint8_t origin, uint8_t *body, size_t body_len);

/* ---- keys.c: asymmetric key material ----------------------------------------------- */
/* Body of an asymmetric key: RSA p|q, EC d, Ed25519 seed (32) or the expanded
 * key scalar|prefix|public (96) when imported without its seed. */
bool dev_algo_asym_supported(uint8_t algo);
/* Validates body and builds the OpenSSL key; check_primes for puts. 0 or code. */
uint8_t dev_key_load(uint8_t algo, const uint8_t *body, size_t len, bool check_primes,
                     EVP_PKEY **out);
/* Generates a key: body in smem (caller owns) and the OpenSSL key. */
uint8_t dev_key_generate(uint8_t algo, uint8_t **body, size_t *len, EVP_PKEY **out);
/* Public key as Get Public Key returns it (after the algorithm byte). */
uint8_t dev_key_public(const dev_object *o, sb_wr *out);
/* Wrapped body: RSA p q dp dq qinv n, EC d X Y, Ed25519 scalar prefix public
 * (then the seed when with_seed). */
uint8_t dev_key_wrap_body(const dev_object *o, bool with_seed, sb_wr *out);
/* The inverse: from a wrapped body to our body (smem) and key. */
uint8_t dev_key_unwrap_body(uint8_t algo, const uint8_t *p, size_t len, uint8_t **body,
                            size_t *body_len, EVP_PKEY **out);
/* Lengths: the object length Get Object Info reports for an asymmetric key. */
size_t dev_key_object_len(uint8_t algo);

/* ---- ed25519x.c: signing from the expanded Ed25519 key ------------------------------- */
/* RFC 8032 signature of msg with body = scalar (big-endian) | prefix | public. */
uint8_t dev_ed25519_sign_expanded(const uint8_t body[96], const uint8_t *msg, size_t n,
                                  uint8_t sig[64]);

/* ---- identity.c: the device's own keys ---------------------------------------------- */
/* Generates the static key, the attestation key and its certificate.  0 or a code. */
uint8_t dev_identity_create(dev_identity *id, uint32_t serial);
/* Builds the OpenSSL keys from the stored scalars (after loading a state file). */
uint8_t dev_identity_load(dev_identity *id);
void dev_identity_free(dev_identity *id);
/* The device's static public key as Get Device Public Key answers it: X | Y. */
uint8_t dev_identity_public(const dev_identity *id, sb_wr *out);

/* ---- ecpoint.c: P-256 points of asymmetric authentication keys ----------------------- */
/* An EC P-256 public key from X | Y (64 bytes); NULL when not a point on the curve. */
EVP_PKEY *dev_p256_from_xy(const uint8_t xy[64]);
/* ECDH: the X coordinate of priv * peer (32 bytes for P-256).  0 or a code. */
uint8_t dev_ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t *out, size_t out_len);

/* ---- x509.c: attestation certificates ------------------------------------------------ */
/* The self-signed certificate of the device attestation key (DER, malloc'd). */
uint8_t dev_x509_device_cert(EVP_PKEY *key, uint32_t serial, uint8_t **der, size_t *len);
/* A certificate for the asymmetric key o, issued by the holder of signer under the
 * subject and validity of the template certificate (DER). */
uint8_t dev_x509_attest(const uint8_t *tmpl, size_t tmpl_len, EVP_PKEY *signer,
                        const dev_object *o, uint32_t serial, sb_wr *out);

/* ---- audit_log.c ------------------------------------------------------------------ */
/* Factory log: entry 1 all 0xff with a random start digest, entry 2 the boot. */
void dev_log_factory(dev_log *log);
bool dev_log_full(const dev_state *st);
bool dev_cmd_audited(const dev_state *st, uint8_t cmd);
/* The changes on the device, each noted for the journal (dev_journal_note). */
/* Appends one entry (dropping the oldest when full and not forced). */
void dev_log_append(hsm_device *dev, uint8_t cmd, uint16_t length, uint16_t session_key,
                    uint16_t target, uint16_t second, uint8_t result);
/* A boot: logged, or counted when the forced log is full. */
void dev_log_boot(hsm_device *dev);
/* An audited session opening that the full forced log could not take. */
void dev_log_count_auth(hsm_device *dev);
/* Drops entries up to and including index.  0 or YH_ERR_INVALID_DATA. */
uint8_t dev_log_set_index(hsm_device *dev, uint16_t index);
/* The same changes on a bare log (used by the above and by journal replay). */
void dev_log_push(dev_log *log, yh_log_entry *e);   /* chains e (sets its digest) */
void dev_log_count_unlogged(uint16_t *counter);     /* saturating */
uint8_t dev_log_consume(dev_log *log, uint16_t index);

/* ---- journal.c ------------------------------------------------------------------ */
/* Sets up the (closed) journal of a device on state_path (NULL: volatile). */
signet_rc dev_journal_init(dev_journal *j, const char *state_path);
void dev_journal_close(dev_journal *j);
/* Notes a log change for the next dev_persist_log (nothing on a volatile device). */
void dev_journal_note(hsm_device *dev, uint8_t kind, const yh_log_entry *e, uint16_t index);
/* Appends the pending change as one record and fdatasyncs it. */
signet_rc dev_journal_append(hsm_device *dev);
/* After a full write of the state whose trailer is sum: the journal is emptied
 * (created, mode 0600, on first use) and its records will name that state. */
signet_rc dev_journal_restart(dev_journal *j, const uint8_t sum[DEV_STATE_SUM_LEN]);
/* At open, after dev_state_load: applies the records of the journal at path
 * that extend the state whose trailer is sum, verifying each.  A torn final
 * record (a crash during its append) and records that extend another state
 * (already folded into this one; or any, when sum is NULL because there is no
 * state file) are dropped with a note on stderr; anything else that does not
 * verify is refused with SIGNET_E_PARSE.  Never writes. */
signet_rc dev_journal_replay(dev_state *st, const char *path,
                             const uint8_t sum[DEV_STATE_SUM_LEN]);

/* ---- state.c ------------------------------------------------------------------ */
void dev_state_factory(dev_state *st, uint32_t serial);
/* Both give the file's SHA-256 trailer in sum (it names the state in the journal). */
signet_rc dev_state_save(const dev_state *st, const char *path, uint8_t sum[DEV_STATE_SUM_LEN]);
/* SIGNET_E_NOTFOUND if missing */
signet_rc dev_state_load(dev_state *st, const char *path, uint8_t sum[DEV_STATE_SUM_LEN]);
signet_rc dev_state_encode(const dev_state *st, sb_wr *out);
signet_rc dev_state_decode(dev_state *st, const uint8_t *p, size_t len);
/* fsync of the directory holding path (after a rename into it). */
signet_rc dev_fsync_dir(const char *path);

/* ---- ca_file.c ------------------------------------------------------------------ */
/* Writes <state>.ca.pem (atomically); nothing for a volatile device. */
signet_rc dev_write_ca_file(hsm_device *dev);

/* ---- handlers (cmd_*.c) ------------------------------------------------------------ */
uint8_t cmd_echo(dev_req *rq);
uint8_t cmd_device_info(dev_req *rq);
uint8_t cmd_storage_info(dev_req *rq);
uint8_t cmd_get_pseudo_random(dev_req *rq);
uint8_t cmd_reset_device(dev_req *rq);
uint8_t cmd_close_session(dev_req *rq);
uint8_t cmd_list_objects(dev_req *rq);
uint8_t cmd_get_object_info(dev_req *rq);
uint8_t cmd_delete_object(dev_req *rq);
uint8_t cmd_put_opaque(dev_req *rq);
uint8_t cmd_get_opaque(dev_req *rq);
uint8_t cmd_generate_asymmetric(dev_req *rq);
uint8_t cmd_put_asymmetric(dev_req *rq);
uint8_t cmd_get_public_key(dev_req *rq);
uint8_t cmd_sign_pkcs1(dev_req *rq);
uint8_t cmd_sign_pss(dev_req *rq);
uint8_t cmd_sign_ecdsa(dev_req *rq);
uint8_t cmd_sign_eddsa(dev_req *rq);
uint8_t cmd_put_wrap_key(dev_req *rq);
uint8_t cmd_generate_wrap_key(dev_req *rq);
uint8_t cmd_export_wrapped(dev_req *rq);
uint8_t cmd_import_wrapped(dev_req *rq);
uint8_t cmd_put_auth_key(dev_req *rq);
uint8_t cmd_change_auth_key(dev_req *rq);
uint8_t cmd_set_option(dev_req *rq);
uint8_t cmd_get_option(dev_req *rq);
uint8_t cmd_get_log_entries(dev_req *rq);
uint8_t cmd_set_log_index(dev_req *rq);
uint8_t cmd_get_device_pubkey(dev_req *rq);
uint8_t cmd_sign_attestation(dev_req *rq);
uint8_t cmd_put_hmac_key(dev_req *rq);
uint8_t cmd_generate_hmac_key(dev_req *rq);
uint8_t cmd_sign_hmac(dev_req *rq);
uint8_t cmd_verify_hmac(dev_req *rq);
uint8_t cmd_decrypt_pkcs1(dev_req *rq);
uint8_t cmd_decrypt_oaep(dev_req *rq);
uint8_t cmd_derive_ecdh(dev_req *rq);
uint8_t cmd_wrap_data(dev_req *rq);
uint8_t cmd_unwrap_data(dev_req *rq);
uint8_t cmd_put_symmetric_key(dev_req *rq);
uint8_t cmd_generate_symmetric_key(dev_req *rq);
uint8_t cmd_encrypt_ecb(dev_req *rq);
uint8_t cmd_decrypt_ecb(dev_req *rq);
uint8_t cmd_encrypt_cbc(dev_req *rq);
uint8_t cmd_decrypt_cbc(dev_req *rq);
uint8_t cmd_blink(dev_req *rq);

/* ---- session_asym.c ------------------------------------------------------------------ */
/* Asymmetric Create Session into a free slot: derives the session keys from the
 * client's ephemeral key and the authentication key's public key, fills answer
 * with device ephemeral (65) | receipt (16).  The session is authenticated at once. */
uint8_t dev_session_asym_open(hsm_device *dev, const dev_object *key,
                              const uint8_t cli_eph[YH_EC_P256_PUB_LEN], uint8_t sid,
                              dev_session *slot, uint8_t answer[YH_EC_P256_PUB_LEN + 16]);

/* ---- sym.c: HMAC and AES key material ------------------------------------------------ */
/* HMAC block size of an HMAC algorithm (the stored key length), 0 if not HMAC. */
size_t dev_hmac_block_size(uint8_t algo);
const EVP_MD *dev_hmac_md(uint8_t algo);
bool dev_algo_is_aes(uint8_t algo);     /* symmetric keys: aes128/192/256 */
/* Wrapped bodies: HMAC keys as ipad | opad (yhwrap's layout), AES keys raw. */
uint8_t dev_hmac_wrap_body(const dev_object *o, sb_wr *out);
uint8_t dev_hmac_unwrap_body(uint8_t algo, const uint8_t *p, size_t n, uint8_t **body,
                             size_t *body_len);

/* ---- latency.c ------------------------------------------------------------------ */
/* Milliseconds the real device takes for cmd on a key of algorithm algo (0 = n/a). */
unsigned dev_latency_ms(uint8_t cmd, uint8_t algo);
void dev_sleep_ms(unsigned ms);

#endif

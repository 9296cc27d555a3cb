/* Pieces shared by the files of the signing path (not a public API):
 *   signer.c   open / close, signet_sign() itself, the certificate signer
 *   resolve.c  which device command, keys made resident, the device call
 *   records.c  intent, sign, reuse, key and bind records in the trail
 *   cache.c    the signing cache (signatures reused for bytes already signed)
 *   batch.c    many requests under one lock: grouped drains and fsyncs */
#ifndef SIGNET_SIGN_INTERNAL_H
#define SIGNET_SIGN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "signet/audit.h"
#include "signet/backend.h"
#include "signet/sign.h"

typedef struct sign_cache sign_cache;

struct signet_signer {
    signet_config cfg;
    signet_device *dev;               /* what signs: backend.h (YubiHSM 2 or PKCS#11) */
    hsm_conn *conn;                   /* dev->conn, dev->sess: NULL unless a YubiHSM */
    hsm_session *sess;
    signet_keystore *ks;
    signet_trail *trail;              /* NULL when the configuration names no audit dir */
    uint32_t serial;
    /* Keys this signer found resident, so that a run of signatures with one key
     * costs no Get Object Info each: a key another process evicted since is
     * noticed when the device answers "object not found", then loaded again. */
    struct {
        uint16_t id;
        time_t touched;               /* last LRU stamp written for it */
    } resident[16];
    unsigned next_slot;
    unsigned since_checkpoint;        /* records since the last checkpoint */
    time_t last_checkpoint;
    sign_cache *cache;                /* NULL: off (no trail, cache = off, SIGNET_CACHE=off) */
    signet_sign_stats stats;
    signet_report_fn report;          /* warnings (a refused cache entry); NULL = stderr */
    void *report_ctx;
    pthread_mutex_t lock;             /* one signature at a time per process */
    /* Failover (failover.c): the credential, kept to log in to the next device. */
    uint16_t auth_id;
    char *password;                   /* smem; NULL with auth_pkey NULL: no failover */
    EVP_PKEY *auth_pkey;              /* or the EC P-256 authentication key */
    size_t next_failover;             /* position in cfg.failover */
};

/* A warning for the person running the signer ("signing cache: entry ... refused"). */
void signer_warn(signet_signer *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- resolve.c ---- */
/* Which device command a mechanism uses, and whether the key can do it. */
signet_rc signer_pick_command(const signet_keymap_entry *e, signet_mech mech, uint8_t *cmd);
/* Makes the key resident unless this signer saw it resident; keeps its LRU stamp. */
signet_rc signer_resolve_key(signet_signer *s, const signet_keymap_entry *e);
/* The signature on the device; "object not found" (evicted by another process
 * meanwhile) forgets the key so that the caller may resolve again. */
signet_rc signer_device_sign(signet_signer *s, uint8_t cmd, const signet_keymap_entry *e,
                             const signet_sign_req *r, uint8_t *sig, size_t *sig_len);
void signer_remember_resident(signet_signer *s, uint16_t id);

/* ---- records.c (caller holds s->lock and the trail lock) ---- */
/* Reads the device log into the trail (d may be NULL). */
signet_rc signer_drain(signet_signer *s, signet_drain_result *d);
/* What a signature is over, for the record builders. */
void signer_rec_sig(const signet_keymap_entry *e, uint8_t cmd, const signet_sign_req *r,
                    const uint8_t data_sha256[32], const uint8_t *sig, size_t sig_len,
                    signet_rec_sig *out);
/* Appends n records with one fsync; fills each index and, when offsets is not NULL,
 * the byte offset of each line in records.log. */
signet_rc signer_append(signet_signer *s, signet_record *const *recs, size_t n,
                        uint64_t *offsets);
bool signer_checkpoint_due(const signet_signer *s);
signet_rc signer_checkpoint_locked(signet_signer *s);
/* Takes the process mutex and the trail lock (when there is a trail). */
signet_rc signer_lock(signet_signer *s);
void signer_unlock(signet_signer *s);

/* ---- failover.c (caller holds s->lock) ---- */
bool signer_can_fail_over(const signet_signer *s);
/* Moves to the next device of cfg.failover that answers; SIGNET_E_NET when none. */
signet_rc signer_failover(signet_signer *s);

/* ---- cache.c ---- */
typedef struct {
    uint8_t cmd, mgf1;
    uint16_t salt_len, key_id;
    uint8_t pub_sha256[32], data_sha256[32];
    uint64_t index, offset;           /* the original sign record: leaf, byte in records.log */
    uint8_t sig[SIGNET_SIG_MAX];
    size_t sig_len;
} sign_cache_entry;
/* The entry file's bytes (format in cache.c); parse is strict (hostile input). */
signet_rc sign_cache_entry_format(const sign_cache_entry *e, sb_wr *out);
signet_rc sign_cache_entry_parse(const uint8_t *p, size_t len, sign_cache_entry *e);
/* dir: the cache directory (created on first store). */
signet_rc sign_cache_open(const char *dir, sign_cache **out);
void sign_cache_close(sign_cache *c);
const char *sign_cache_dir(const sign_cache *c);
/* A verified hit: the entry matches the key, mechanism and bytes, its signature
 * verifies with the key's public key, and the sign record it names is in the
 * trail with that signature.  *hit false: no entry, or one that was refused (then
 * reported and removed).  *original: the leaf index of that sign record. */
signet_rc sign_cache_lookup(signet_signer *s, const signet_keymap_entry *e, uint8_t cmd,
                            const signet_sign_req *r, const uint8_t data_sha256[32], uint8_t *sig,
                            size_t *sig_len, uint64_t *original, bool *hit);
/* Stores the signature of the durable sign record at (index, offset); best effort. */
void sign_cache_store(signet_signer *s, const signet_keymap_entry *e, uint8_t cmd,
                      const signet_sign_req *r, const uint8_t data_sha256[32], const uint8_t *sig,
                      size_t sig_len, uint64_t index, uint64_t offset);
/* True when the signature verifies over the request's bytes with key `pub`. */
bool sign_verify(EVP_PKEY *pub, uint8_t cmd, const signet_sign_req *r, const uint8_t *sig,
                 size_t sig_len);

#endif

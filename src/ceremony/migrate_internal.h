/* Internals of `signet ceremony migrate` (include/signet/ceremony.h):
 *   migrate.c       the steps, the inputs it checks first, the manifest
 *   migrate_keys.c  the key store and the log key onto the token
 * The plan, manifest and shares are read by restore's code (restore_internal.h) on
 * the same state. */
#ifndef SIGNET_MIGRATE_INTERNAL_H
#define SIGNET_MIGRATE_INTERNAL_H

#include "restore_internal.h"
#include "signet/sign.h"

#define MIG_MANIFEST_FILE "migrate-manifest.txt"
#define MIG_MAX_KEYS 256

typedef struct {
    char name[64];
    uint16_t id;
    uint8_t algorithm;
    bool kept;                      /* the token already held it (same public key) */
    uint8_t spki_sha256[32];        /* of the public key, the store's = the token's */
} mig_key;

typedef struct {
    rest r;                         /* plan, manifest, shares, run, wrap key (restore's) */
    signet_restore_opts ro;         /* what restore's code reads of the options */
    const signet_migrate_opts *o;
    const signet_config *cfg;
    signet_signer *s;
    bool log_seed;                  /* the log key's wrapped copy carries its seed */
    enum { MIG_LOG_MOVED, MIG_LOG_KEPT, MIG_LOG_NEW } log_fate;
    signet_vkey log_vkey;           /* the token's log key */
    mig_key keys[MIG_MAX_KEYS];
    size_t n_keys;
    signet_checkpoint cp;
} migr;

signet_rc mig_step_keystore(migr *m);
signet_rc mig_step_log_key(migr *m);

#endif

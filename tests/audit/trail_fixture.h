/* A trail in a temporary directory fed by a synthetic YubiHSM audit log (valid
 * hash chain via proto.h) and checkpointed with an in-process Ed25519 key. */
#ifndef SIGNET_TEST_TRAIL_FIXTURE_H
#define SIGNET_TEST_TRAIL_FIXTURE_H

#include <openssl/evp.h>

#include "signet/audit.h"

#define TFX_ORIGIN "signet.test/audit"
#define TFX_AUTH 0x0002

struct tfx {
    char dir[256];
    signet_trail *t;
    uint8_t seed[32];
    signet_vkey vk;
    uint32_t serial;
    yh_log_entry last;  /* the synthetic device's newest entry */
};

/* Temporary trail, locked, with log.vkey and the device anchored (entries 1 and 2). */
void tfx_init(struct tfx *f);
void tfx_cleanup(struct tfx *f);
/* The device's next entry (chained from the last one). */
yh_log_entry tfx_entry(struct tfx *f, uint8_t cmd, uint16_t target, uint8_t result);
/* Ingests entries as a drain would. */
void tfx_ingest(struct tfx *f, const yh_log_entry *es, size_t n, signet_drain_result *d);
/* A signature as the signing path makes it: device entry, drain, record.  Returns
 * the record's leaf index. */
uint64_t tfx_sign(struct tfx *f, const char *key, uint16_t key_id, const char *artifact);
void tfx_checkpoint(struct tfx *f);
/* The device is reset: its log restarts at entry 1 (all 0xff) and the boot entry,
 * which are ingested as the next drain would. */
void tfx_device_reset(struct tfx *f);
/* Writes anchors/record-keys naming one admin key (holder frank) and returns its
 * private key (EVP_PKEY_free it). */
EVP_PKEY *tfx_record_keys(struct tfx *f);
/* The record at leaf index (fails the test when there is none). */
void tfx_record_at(const struct tfx *f, uint64_t index, signet_record *out);
signet_rc tfx_sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64]);

/* DIR/name (a static buffer per call site is not needed: the result is malloc'd). */
char *tfx_path(const struct tfx *f, const char *name);
char *tfx_read(const struct tfx *f, const char *name, size_t *len);
void tfx_write(const struct tfx *f, const char *name, const char *data, size_t len);
/* Verifies with DIR/log.vkey and the given options (may be NULL). */
signet_rc tfx_verify(const struct tfx *f, const signet_verify_opts *o, signet_report **r);
/* Counts findings of a kind. */
size_t tfx_count(const signet_report *r, signet_finding_kind k);

#endif

/* Internals of `signet ceremony restore` (restore.c runs the steps):
 *   restore_inputs.c   step plan: plan, manifest, listed files, key store, output dir
 *   restore_shares.c   step shares: collect, combine, check (before the device is touched)
 *   restore_device.c   the device steps (connect ... factory key)
 *   restore_trail.c    the trail: opened or created, which record key signs, the reset
 *                      record (before the reset), anchor, service record
 *   restore_keys.c     step keystore: import every wrapped key and check its public key
 *   restore_outputs.c  new credentials and the restore manifest
 * The migration ceremony (migrate*.c) reuses the reading of the inputs and the
 * shares step on the same state. */
#ifndef SIGNET_RESTORE_INTERNAL_H
#define SIGNET_RESTORE_INTERNAL_H

#include "ceremony_internal.h"
#include "signet/keystore.h"

#define RST_MAX_OUTPUTS 16

typedef struct {
    const signet_restore_opts *o;
    cer_run run;
    signet_plan plan;
    sb_wr plan_raw;
    cer_manifest *man;
    uint8_t man_sha[32];
    char man_dir[CER_PATH_MAX];
    sb_wr log_blob;
    cer_device dev;
    char trail_dir[CER_PATH_MAX];
    signet_trail *trail;
    bool default_trail;
    sss_wrapkey *wk;                 /* smem */
    char used[64];                   /* share indexes used, "2,4,5" */
    char wrong[256];                 /* shares given but left out, "3 (chen)"; "" none */
    size_t n_used;
    cer_creds creds;
    cer_rkeys rkeys;                 /* new record keys when the trail names none */
    bool new_rkeys, rkeys_written;
    EVP_PKEY *signer;                /* signs the service records */
    signet_keystore *ks;
    size_t n_keys;
    size_t n_audited;
    char outputs[RST_MAX_OUTPUTS][CER_REL_MAX];
    size_t n_outputs;
} rest;

/* Durably writes OUT/rel and lists it for the manifest. */
signet_rc rst_output(rest *p, const char *rel, const void *data, size_t len, mode_t mode);
/* A file the manifest lists, read and checked against its recorded SHA-256. */
signet_rc rst_read_listed(rest *p, const char *rel, size_t max, sb_wr *out);
/* Which record key signs the service records: one the given trail names
 * (--record-key), or new ones for a trail that names none.  Decided in step plan,
 * before the device is touched. */
signet_rc rst_choose_signer(rest *p);
/* Appends a signed service record (event, note) for the target, bound to its newest
 * entry in the trail; new record keys are sealed and named in the trail first. */
signet_rc rst_service_record(rest *p, const char *event, const char *note);
/* Before the reset of a device the given trail knows: drains its log and appends
 * the signed reset record bound to its last entry.  Nothing for other devices. */
signet_rc rst_record_reset(rest *p);

/* The plan, the manifest (checked against the plan), the log key's wrapped copy
 * and the key store's recorded public keys (step plan's reading half; the
 * migration ceremony shares it). */
signet_rc rst_load_inputs(rest *p);

/* The steps, in order (restore.c's STEPS). */
signet_rc rst_step_plan(rest *p);
signet_rc rst_step_shares(rest *p);
signet_rc rst_step_connect(rest *p);
signet_rc rst_step_reset(rest *p);
signet_rc rst_step_anchor(rest *p);
signet_rc rst_step_clean(rest *p);
signet_rc rst_step_audit(rest *p);
signet_rc rst_step_wrap_key(rest *p);
signet_rc rst_step_roles(rest *p);
signet_rc rst_step_log_key(rest *p);
signet_rc rst_step_keystore(rest *p);
signet_rc rst_step_credentials(rest *p);
signet_rc rst_step_factory_key(rest *p);
signet_rc rst_step_service(rest *p);
signet_rc rst_step_manifest(rest *p);

#endif

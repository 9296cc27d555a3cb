/* Internals of `signet ceremony restore` (restore.c runs the steps):
 *   restore_inputs.c   step plan: plan, manifest, listed files, key store, output dir
 *   restore_shares.c   step shares: collect, combine, check (before the device is touched)
 *   restore_device.c   the device steps (connect ... factory key)
 *   restore_trail.c    the trail: opened or created, anchor or reset record, service record
 *   restore_keys.c     step keystore: import every wrapped key and check its public key
 *   restore_outputs.c  new credentials and the restore manifest */
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
    size_t n_used;
    cer_creds creds;
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
/* Appends a service record (event, note) for the target to the trail. */
signet_rc rst_service_record(rest *p, const char *event, const char *note);

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

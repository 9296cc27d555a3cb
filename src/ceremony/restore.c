/* `signet ceremony restore`: a device rebuilt from the custodians' shares.  The
 * shares are decrypted, combined and checked against the manifest's check value
 * before the device is touched at all; only then is it reset and set up like the
 * provisioned ones (same wrap key, audit options and roles, new credentials), the
 * log key and the key store imported (every public key compared with the recorded
 * one) and the device recorded as put into service in the trail.
 *
 * This file runs the steps; restore_internal.h says which file does what. */
#include <stdlib.h>

#include "restore_internal.h"
#include "signet/secmem.h"

static const cer_step_def STEPS[] = {
    {"plan", "check the plan, the manifest and the files it lists; prepare the output directory"},
    {"shares", "decrypt the shares, combine them, compare with the manifest's check value (the "
               "device is not touched before this succeeds)"},
    {"connect", "connect to the device, check its firmware (2.4.0 or later), log in"},
    {"reset", "reset the device to factory state (a device the trail knows: drain its log and sign "
              "the reset record first)"},
    {"anchor", "read the device's fresh audit log into the trail"},
    {"clean", "prove the device holds only the factory authentication key, in every domain"},
    {"audit", "audit every command and force auditing, both fixed until a reset"},
    {"wrap-key", "put the restored wrap key"},
    {"roles", "make new admin, operator and auditor credentials and their authentication keys"},
    {"log-key", "import the audit log key from its wrapped copy and compare it with the "
                "manifest's verifier key"},
    {"keystore", "import every wrapped key of the key store and compare each public key with "
                 "the recorded one"},
    {"credentials", "encrypt each new credential to its holder"},
    {"factory-key", "log in with every new credential, then delete the factory key as admin"},
    {"service", "record the device put into service in the trail (a signed service record)"},
    {"manifest", "write the restore manifest"},
};
#define N_STEPS (sizeof STEPS / sizeof STEPS[0])
signet_rc rst_output(rest *p, const char *rel, const void *data, size_t len, mode_t mode)
{
    signet_rc rc = cer_write_file(p->o->out_dir, rel, data, len, mode);
    if (rc == SIGNET_OK && p->n_outputs < RST_MAX_OUTPUTS)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "%s", rel);
    return rc;
}

static void failure_advice(const rest *p, char *buf, size_t cap)
{
    if (p->run.cur <= 3) {
        snprintf(buf, cap, "The device was not changed.  Fix the cause (the shares, identities, "
                           "plan, manifest or connection) and run the same command again.");
        return;
    }
    if (p->dev.factory_deleted) {
        snprintf(buf, cap,
                 "The factory key is already deleted: reset the device with this attempt's admin "
                 "credential (credentials/admin-%s.age, decrypted by its holder): `signet "
                 "--connector URL --auth-key 2 --auth-key-file admin.pem hsm reset`, or physically "
                 "(docs/ceremony.md), then run the same command again.",
                 p->plan.holders[SIGNET_ROLE_ADMIN].name);
        return;
    }
    snprintf(buf, cap, "The device was reset and is partly set up; its factory key still works, "
                       "and this attempt's credentials are void.  Fix the cause and run the same "
                       "command again: it resets the device again.");
}

typedef signet_rc (*step_fn)(rest *p);

signet_rc signet_ceremony_restore(const signet_restore_opts *o)
{
    if (!o || !o->plan_path || !o->manifest_path || !o->out_dir || (!o->connector && !o->conn))
        return signet_fail(SIGNET_E_ARG, "restore needs a plan, a manifest, a device and an "
                                         "output directory");
    if (!o->read_share && o->n_identities == 0)
        return signet_fail(SIGNET_E_ARG, "restore needs the custodians' identity files or shares "
                                         "typed in");
    signet_rc rc = signet_harden_process();
    if (rc)
        return rc;
    rest *p = calloc(1, sizeof *p);
    cer_manifest *man = calloc(1, sizeof *man);
    if (!p || !man) {
        free(p);
        free(man);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    p->o = o;
    p->man = man;
    sbw_init(&p->plan_raw, SIGNET_PLAN_MAX_BYTES);
    sbw_init(&p->log_blob, 64 * 1024);
    cer_run_init(&p->run, "restore", o->out_dir, STEPS, N_STEPS, o->progress, o->progress_ctx);
    p->dev = (cer_device){.role = "target", .url = o->connector, .conn = o->conn};

    /* In the order of STEPS. */
    static const step_fn FNS[N_STEPS] = {
        rst_step_plan,     rst_step_shares,      rst_step_connect,     rst_step_reset,
        rst_step_anchor,   rst_step_clean,       rst_step_audit,       rst_step_wrap_key,
        rst_step_roles,    rst_step_log_key,     rst_step_keystore,    rst_step_credentials,
        rst_step_factory_key, rst_step_service,  rst_step_manifest};
    for (size_t i = 0; rc == SIGNET_OK && i < N_STEPS; i++) {
        if ((rc = cer_step(&p->run, STEPS[i].name)) == SIGNET_OK)
            rc = FNS[i](p);
    }
    if (rc) {
        char advice[2048];
        failure_advice(p, advice, sizeof advice);
        rc = cer_run_fail(&p->run, rc, advice);
    } else {
        cer_say(&p->run, "restore complete: hand each role holder their new credential file; "
                         "publish restore-manifest.txt and the transcript");
        rc = cer_run_finish(&p->run);
    }
    if (p->trail)
        signet_trail_close(p->trail);
    cer_dev_close(&p->dev);
    cer_creds_free(&p->creds);
    cer_rkeys_free(&p->rkeys);
    smem_free(p->wk);
    signet_keystore_close(p->ks);
    sbw_free(&p->plan_raw);
    sbw_free(&p->log_blob);
    cer_run_close(&p->run);
    free(p->man);
    free(p);
    return rc;
}

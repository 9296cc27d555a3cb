/* `signet ceremony migrate`: the move from the YubiHSM world onto a PKCS#11 token
 * without re-keying (docs/ceremony.md, "Migrating to a PKCS#11 token").  Run
 * offline under the conditions of a provisioning ceremony: the custodians' shares
 * rebuild the wrap key in locked memory, every wrapped key of the key store (and the
 * audit log key, when its wrapped copy carries the seed) is opened on this machine
 * and put onto the token by C_UnwrapKey only.  The plaintext keys exist in this
 * machine's locked memory while it runs: that is the threat the ceremony accepts.
 *
 * This file runs the steps and writes the manifest; migrate_internal.h lists the
 * others. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "migrate_internal.h"
#include "signet/backend.h"
#include "signet/proto.h"
#include "signet/secmem.h"

static const cer_step_def STEPS[] = {
    {"plan", "check the plan, the manifest, the files it lists, the key store, the trail and the "
             "target token's settings; prepare the output directory"},
    {"shares", "decrypt the shares, combine them, compare with the manifest's check value"},
    {"token", "open the PKCS#11 module and log in to the target token"},
    {"keystore", "move every wrapped key onto the token (C_UnwrapKey under a transport key) and "
                 "compare each public key with the recorded one"},
    {"log-key", "move the audit log key onto the token, or make a new one and record the change "
                "of log key"},
    {"checkpoint", "sign a checkpoint of the trail with the token's log key"},
    {"manifest", "write the migration manifest"},
};
#define N_STEPS (sizeof STEPS / sizeof STEPS[0])

/* Plaintext length of the log key's wrapped copy: 128 body bytes with the seed. */
static bool blob_has_seed(const sb_wr *blob)
{
    return blob->len == YH_WRAP_NONCE_LEN + YH_WRAP_HEADER_LEN + 128 + 16;
}

static signet_rc check_trail(migr *m)
{
    const char *dir = m->cfg->audit;
    char path[CER_PATH_MAX + 32];
    signet_vkey have;
    snprintf(path, sizeof path, "%s/log.vkey", dir);
    signet_rc rc = signet_vkey_load(path, &have);
    if (rc)
        return signet_wrap(rc, "the trail (audit in signet.conf) must be the ceremony's");
    if (have.key_id != m->r.man->vkey.key_id || strcmp(have.name, m->r.man->vkey.name) != 0 ||
        CRYPTO_memcmp(have.pub, m->r.man->vkey.pub, 32) != 0)
        return signet_fail(SIGNET_E_VERIFY, "the trail %s belongs to another log key than the "
                                            "ceremony's: audit in signet.conf names the "
                                            "ceremony's trail", dir);
    /* A new log key: the change is signed by a record key the trail names. */
    if (!m->log_seed && !m->o->record_key)
        return signet_fail(SIGNET_E_ARG, "the log key's wrapped copy lacks its seed, so a new log "
                                         "key will be made and the change recorded: give the "
                                         "admin's or the auditor's record key with --record-key "
                                         "FILE (it signs the change)");
    return SIGNET_OK;
}

/* The record key that will sign a change of log key is one the trail names. */
static signet_rc check_record_key(migr *m)
{
    char path[CER_PATH_MAX + 32];
    signet_rc rc;
    snprintf(path, sizeof path, "%s/%s", m->cfg->audit, SIGNET_RKEYS_FILE);
    signet_rkeys *keys = calloc(1, sizeof *keys);
    char id[9];
    rc = keys ? signet_rkeys_load(path, keys) : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK && (rc = signet_rkey_id_of(m->o->record_key, id)) == SIGNET_OK &&
        !signet_rkeys_find(keys, id))
        rc = signet_fail(SIGNET_E_AUTH, "the record key given (%s) is not one of those %s names",
                         id, path);
    free(keys);
    return rc;
}

static signet_rc mig_step_plan(migr *m)
{
    const signet_config *c = m->cfg;
    if (c->backend != SIGNET_BACKEND_PKCS11)
        return signet_fail(SIGNET_E_ARG, "signet.conf names no PKCS#11 token: set backend = "
                                         "pkcs11, pkcs11_module, pkcs11_token and pkcs11_pin_file "
                                         "(the target)");
    if (!c->keystore[0] || !c->audit[0])
        return signet_fail(SIGNET_E_ARG, "signet.conf needs keystore (the YubiHSM's wrapped keys) "
                                         "and audit (the ceremony's trail)");
    signet_rc rc = rst_load_inputs(&m->r);
    if (rc)
        return rc;
    m->log_seed = blob_has_seed(&m->r.log_blob);
    if ((rc = check_trail(m)) || (m->o->record_key && (rc = check_record_key(m))))
        return rc;
    cer_say(&m->r.run, "plan %s, manifest %s: wrap key 0x%04x split %u of %u", m->o->plan_path,
            m->o->manifest_path, m->r.man->wrap_id, m->r.man->threshold, m->r.man->n_shares);
    cer_say(&m->r.run, "key store %s: %zu wrapped keys; trail %s; target token '%s' (%s)",
            c->keystore, m->r.n_keys, c->audit, c->pkcs11_token, c->pkcs11_module);
    cer_say(&m->r.run, "log key 0x%04x: %s", m->r.man->log_key_id,
            m->log_seed ? "its wrapped copy carries the seed: it moves"
                        : "its wrapped copy lacks the seed: a new log key will be made");
    char moved[CER_PATH_MAX];
    if ((rc = cer_prepare_out(m->o->out_dir, MIG_MANIFEST_FILE, moved, sizeof moved)) ||
        (rc = cer_run_open_transcript(&m->r.run)))
        return rc;
    if (moved[0])
        cer_say(&m->r.run, "an earlier attempt that did not finish was moved to %s", moved);
    return rst_output(&m->r, "plan.txt", m->r.plan_raw.p, m->r.plan_raw.len, 0644);
}

static signet_rc mig_step_shares(migr *m)
{
    return rst_step_shares(&m->r);
}

static signet_rc mig_step_token(migr *m)
{
    signet_rc rc = signet_signer_open_config(m->cfg, &m->s);
    if (rc == SIGNET_OK)
        cer_say(&m->r.run, "token '%s': logged in", m->cfg->pkcs11_token);
    return rc;
}

/* Always a new checkpoint (the signer writes one only after its own records): the
 * token's log key proves here that it signs for this trail. */
static signet_rc mig_step_checkpoint(migr *m)
{
    signet_device *d = signet_signer_device(m->s);
    signet_trail *t = NULL;
    signet_rc rc = signet_trail_open(m->cfg->audit, &t);
    if (rc == SIGNET_OK && (rc = signet_trail_lock(t)) == SIGNET_OK)
        rc = d->ops->checkpoint(d, t, m->r.man->vkey.name);
    signet_trail_close(t);
    if (rc == SIGNET_OK)
        cer_say(&m->r.run, "the trail's checkpoint is signed by the token's log key %08x",
                m->log_vkey.key_id);
    return rc;
}

static signet_rc mig_step_manifest(migr *m)
{
    sb_wr w, tmp;
    sbw_init(&w, 256 * 1024);
    sbw_init(&tmp, 1024);
    char stamp[32];
    cer_utc_now(stamp);
    static const char *const FATE[] = {"moved", "kept", "new"};
    signet_rc rc = sbw_printf(&w, "signet-migrate-manifest v1\n# The public record of a move "
                                  "onto a PKCS#11 token (docs/ceremony.md).\nkind migrate\n"
                                  "created %s\nceremony-manifest ", stamp);
    if (rc == SIGNET_OK && (rc = hex_encode(&w, m->r.man_sha, 32)) == SIGNET_OK)
        rc = sbw_printf(&w, "\nshares-used %s\n", m->r.used);
    if (rc == SIGNET_OK && m->r.wrong[0])
        rc = sbw_printf(&w, "shares-wrong %s\n", m->r.wrong);
    if (rc == SIGNET_OK)
        rc = sbw_printf(&w, "wrap-key.id 0x%04x\nwrap-key.check ", m->r.man->wrap_id);
    if (rc == SIGNET_OK)
        rc = hex_encode(&w, m->r.man->check, sizeof m->r.man->check);
    if (rc == SIGNET_OK)
        rc = sbw_printf(&w, "\ntarget.module %s\ntarget.token %s\nkeystore %s\ntrail %s\n",
                        m->cfg->pkcs11_module, m->cfg->pkcs11_token, m->cfg->keystore,
                        m->cfg->audit);
    for (size_t i = 0; rc == SIGNET_OK && i < m->n_keys; i++) {
        const mig_key *k = &m->keys[i];
        rc = sbw_printf(&w, "key %s 0x%04x %s %s spki-sha256=", k->name, k->id,
                        yh_algo_name(k->algorithm), k->kept ? "kept" : "moved");
        if (rc == SIGNET_OK && (rc = hex_encode(&w, k->spki_sha256, 32)) == SIGNET_OK)
            rc = sbw_u8(&w, '\n');
    }
    if (rc == SIGNET_OK && (rc = signet_vkey_format(&m->log_vkey, &tmp)) == SIGNET_OK)
        rc = sbw_printf(&w, "log-key %s %.*s label=%s\n", FATE[m->log_fate], (int)tmp.len,
                        (const char *)tmp.p, m->cfg->log_key_label[0] ? m->cfg->log_key_label
                                                                      : "signet-log");
    if (rc == SIGNET_OK)
        rc = cer_manifest_add_files(&w, m->o->out_dir, m->r.outputs, m->r.n_outputs);
    if (rc == SIGNET_OK)
        rc = cer_write_file(m->o->out_dir, MIG_MANIFEST_FILE, w.p, w.len, 0644);
    if (rc == SIGNET_OK)
        cer_say(&m->r.run, "migration manifest %s written", MIG_MANIFEST_FILE);
    sbw_free(&w);
    sbw_free(&tmp);
    return rc;
}

typedef signet_rc (*mig_fn)(migr *m);

signet_rc signet_ceremony_migrate(const signet_migrate_opts *o)
{
    if (!o || !o->plan_path || !o->manifest_path || !o->out_dir || !o->config)
        return signet_fail(SIGNET_E_ARG, "migrate needs a plan, a manifest, an output directory "
                                         "and the target's signet.conf");
    if (!o->read_share && o->n_identities == 0)
        return signet_fail(SIGNET_E_ARG, "migrate needs the custodians' identity files or shares "
                                         "typed in");
    signet_rc rc = signet_harden_process();
    if (rc)
        return rc;
    migr *m = calloc(1, sizeof *m);
    cer_manifest *man = calloc(1, sizeof *man);
    if (!m || !man) {
        free(m);
        free(man);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    m->o = o;
    m->cfg = o->config;
    m->ro = (signet_restore_opts){.plan_path = o->plan_path, .manifest_path = o->manifest_path,
                                  .out_dir = o->out_dir, .identities = o->identities,
                                  .n_identities = o->n_identities, .read_share = o->read_share,
                                  .read_share_ctx = o->read_share_ctx,
                                  .keystore_dir = o->config->keystore};
    m->r.o = &m->ro;
    m->r.man = man;
    sbw_init(&m->r.plan_raw, SIGNET_PLAN_MAX_BYTES);
    sbw_init(&m->r.log_blob, 64 * 1024);
    cer_run_init(&m->r.run, "migrate", o->out_dir, STEPS, N_STEPS, o->progress, o->progress_ctx);

    static const mig_fn FNS[N_STEPS] = {mig_step_plan,     mig_step_shares,    mig_step_token,
                                        mig_step_keystore, mig_step_log_key,   mig_step_checkpoint,
                                        mig_step_manifest};
    for (size_t i = 0; rc == SIGNET_OK && i < N_STEPS; i++)
        if ((rc = cer_step(&m->r.run, STEPS[i].name)) == SIGNET_OK)
            rc = FNS[i](m);
    /* The wrap key goes before anything else can fail or wait. */
    smem_free(m->r.wk);
    m->r.wk = NULL;
    if (rc) {
        rc = cer_run_fail(&m->r.run, rc,
                          "Keys already on the token stay there (a rerun keeps them after "
                          "comparing their public keys).  Fix the cause and run the same "
                          "command again.");
    } else {
        cer_say(&m->r.run, "migration complete: the wrap key and every plaintext key are wiped; "
                           "publish migrate-manifest.txt and the transcript; sign with "
                           "backend = pkcs11 from now on");
        rc = cer_run_finish(&m->r.run);
    }
    /* Closing checkpoints when records were added, which fails without a log key on
     * the token: the run's own error is the one to report. */
    char *why = rc ? strdup(signet_errmsg()) : NULL;
    signet_signer_close(m->s);
    if (rc)
        rc = signet_fail(rc, "%s", why ? why : "the migration failed");
    free(why);
    signet_keystore_close(m->r.ks);
    sbw_free(&m->r.plan_raw);
    sbw_free(&m->r.log_blob);
    cer_run_close(&m->r.run);
    free(man);
    free(m);
    return rc;
}

/* `signet ceremony provision`: two devices (primary for operation, backup) set up
 * from a plan, step by step (docs/ceremony.md).  Order matters:
 *   - the anchors are read right after the reset, before anything else is done;
 *   - every output a person needs later (shares, credentials, wrapped log key) is
 *     durable before the factory key is deleted, so that a run that stops before
 *     that point can always be rerun from the reset with the factory key;
 *   - the logs are drained after every step, so that force-audit never fills them. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ceremony_internal.h"
#include "signet/proto.h"
#include "signet/secmem.h"

static const cer_step_def STEPS[] = {
    {"plan", "check the plan and prepare the output directory"},
    {"connect", "connect to both devices, check their firmware (2.4.0 or later), log in with "
                "the factory key"},
    {"reset", "reset both devices to factory state"},
    {"anchor", "read each device's fresh audit log and keep it as the trail's trust anchor"},
    {"clean", "prove each device holds only the factory authentication key, in every domain"},
    {"audit", "audit every command and force auditing, both fixed until a reset; from here on "
              "the logs are drained into the trail after every step"},
    {"wrap-key", "make the wrap key from both devices' random numbers and this computer's; put "
                 "it into both devices"},
    {"roles", "make the admin, operator and auditor credentials and their authentication keys "
              "on both devices"},
    {"log-key", "generate the audit log key on the primary, copy it to the backup under the "
                "wrap key"},
    {"shares", "split the wrap key, check every quorum of shares, encrypt each share to its "
               "custodian"},
    {"credentials", "encrypt each credential to its holder; make the admin's and the auditor's "
                    "record keys, encrypt each to its holder and name them in the trail's "
                    "anchors/record-keys"},
    {"factory-key", "log in with every new credential, then delete the factory key as admin on "
                    "both devices"},
    {"checkpoint", "record both devices as in service (signed with the admin's record key); sign "
                   "the first checkpoint with the log key"},
    {"manifest", "write the public manifest"},
};
#define N_STEPS (sizeof STEPS / sizeof STEPS[0])
#define MAX_OUTPUTS 32

typedef struct {
    const signet_provision_opts *o;
    cer_run run;
    signet_plan plan;
    sb_wr plan_raw;
    cer_device dev[2];
    char trail_dir[CER_PATH_MAX];
    signet_trail *trail;
    sss_wrapkey *wk;                  /* smem */
    uint8_t check[SSS_WRAPKEY_CHECK_LEN];
    cer_creds creds;
    cer_rkeys rkeys;
    sb_wr log_blob;
    signet_vkey vkey;
    signet_checkpoint cp;
    size_t n_audited;
    char outputs[MAX_OUTPUTS][CER_REL_MAX]; /* files the manifest lists with their SHA-256 */
    size_t n_outputs;
    bool need_identity;               /* a device needs an earlier attempt's admin credential */
    char resume[1024];                /* the state file's advice once the factory key may be gone */
} prov;

static signet_rc output(prov *p, const char *rel, const void *data, size_t len, mode_t mode)
{
    signet_rc rc = cer_write_file(p->o->out_dir, rel, data, len, mode);
    if (rc == SIGNET_OK && p->n_outputs < MAX_OUTPUTS)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "%s", rel);
    return rc;
}

static signet_rc drain_all(prov *p)
{
    for (int i = 0; i < 2; i++) {
        signet_rc rc = cer_dev_drain(&p->dev[i], p->trail);
        if (rc)
            return rc;
    }
    return SIGNET_OK;
}

static signet_rc step_plan(prov *p)
{
    signet_rc rc = signet_plan_load(p->o->plan_path, &p->plan, &p->plan_raw);
    if (rc)
        return rc;
    const signet_plan *pl = &p->plan;
    cer_say(&p->run, "plan %s: project \"%s\"", p->o->plan_path, pl->project[0] ? pl->project : "-");
    cer_say(&p->run, "  primary %s, backup %s", pl->primary_url, pl->backup_url);
    cer_say(&p->run, "  wrap key 0x%04x split %u of %zu, log key 0x%04x (%s)", pl->wrap_key_id,
            pl->threshold, pl->n_custodians, pl->log_key_id, pl->log_name);
    for (size_t i = 0; i < pl->n_custodians; i++)
        cer_say(&p->run, "  share %zu: custodian %s (%s)", i + 1, pl->custodians[i].name,
                pl->custodians[i].recipient);
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++)
        cer_say(&p->run, "  %s (auth key 0x%04x): %s (%s)", signet_role_get((signet_role)r)->name,
                signet_role_get((signet_role)r)->auth_id, pl->holders[r].name,
                pl->holders[r].recipient);
    char moved[CER_PATH_MAX];
    if ((rc = cer_prepare_out(p->o->out_dir, CER_MANIFEST_FILE, moved, sizeof moved)))
        return rc;
    if ((rc = cer_run_open_transcript(&p->run)))
        return rc;
    if (moved[0])
        cer_say(&p->run, "an earlier attempt that did not finish was moved to %s", moved);
    if ((rc = output(p, "plan.txt", p->plan_raw.p, p->plan_raw.len, 0644)) ||
        (rc = cer_mkdir(p->o->out_dir, "shares", 0700)) ||
        (rc = cer_mkdir(p->o->out_dir, "credentials", 0700)))
        return rc;
    return SIGNET_OK;
}

/* The factory key is gone: an earlier attempt deleted it.  Its admin credential
 * opens the device for the reset step (rerun.c), given the admin's identity. */
static signet_rc login_after_failed_attempt(prov *p, cer_device *d)
{
    char rel[CER_PATH_MAX];
    if (!p->o->admin_identity) {
        if (!cer_attempt_admin_credential(p->o->out_dir, rel, sizeof rel))
            return signet_wrap(signet_errcode(), "no earlier attempt in %s left an admin "
                                                 "credential to reset it with",
                               p->o->out_dir);
        p->need_identity = true;
        return signet_fail(SIGNET_E_AUTH, "the %s (serial %u) no longer accepts the factory key: "
                                          "an earlier attempt deleted it.  Run the same command "
                                          "again with --admin-identity FILE (the age identity of "
                                          "that attempt's admin holder) to reset it with the "
                                          "attempt's admin credential %s, or reset it physically "
                                          "(docs/ceremony.md, \"Resetting a device\")",
                           d->role, d->serial, rel);
    }
    signet_err_clear();
    signet_rc rc = cer_dev_login_attempt_admin(d, p->o->out_dir, p->o->admin_identity, rel,
                                               sizeof rel);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "%s: its factory key was deleted by an earlier attempt; logged in as "
                         "admin with %s to reset it",
                d->role, rel);
    return rc;
}

static signet_rc step_connect(prov *p)
{
    for (int i = 0; i < 2; i++) {
        cer_device *d = &p->dev[i];
        signet_rc rc = cer_dev_connect(d);
        if (rc == SIGNET_OK)
            rc = cer_dev_login(d, 0, NULL, NULL);
        if (rc == SIGNET_E_AUTH || rc == SIGNET_E_NOTFOUND)
            rc = login_after_failed_attempt(p, d);
        if (rc)
            return rc;
        char v[16];
        cer_dev_version(d, v);
        cer_say(&p->run, "%s: serial %u, firmware %s, %s", d->role, d->serial, v,
                d->url ? d->url : "in-process");
    }
    if (p->dev[0].serial == p->dev[1].serial)
        return signet_fail(SIGNET_E_ARG, "the primary and the backup are the same device (serial "
                                         "%u): connect the second device and fix the plan",
                           p->dev[0].serial);
    return SIGNET_OK;
}

static signet_rc step_reset(prov *p)
{
    for (int i = 0; i < 2; i++) {
        signet_rc rc = cer_dev_reset(&p->dev[i]);
        if (rc)
            return rc;
        cer_say(&p->run, "%s (serial %u) reset; logged in again with the factory key",
                p->dev[i].role, p->dev[i].serial);
    }
    return SIGNET_OK;
}

static signet_rc step_anchor(prov *p)
{
    snprintf(p->trail_dir, sizeof p->trail_dir, "%s/audit", p->o->out_dir);
    signet_rc rc = signet_trail_init(p->trail_dir);
    if (rc == SIGNET_OK)
        rc = signet_trail_open(p->trail_dir, &p->trail);
    if (rc == SIGNET_OK)
        rc = signet_trail_lock(p->trail);
    for (int i = 0; rc == SIGNET_OK && i < 2; i++) {
        cer_device *d = &p->dev[i];
        hsm_log log;
        if ((rc = cer_dev_read_log(d, &log)) || (rc = cer_dev_check_fresh_log(d, &log)))
            break;
        if ((rc = cer_dev_anchor(d, p->trail, &log)))
            break;
        cer_say(&p->run, "%s: anchored its log (%zu entries, last digest %02x%02x%02x%02x...) in "
                         "audit/anchors",
                d->role, log.n, log.entries[log.n - 1].digest[0], log.entries[log.n - 1].digest[1],
                log.entries[log.n - 1].digest[2], log.entries[log.n - 1].digest[3]);
    }
    return rc;
}

static signet_rc step_clean(prov *p)
{
    for (int i = 0; i < 2; i++) {
        signet_rc rc = cer_dev_prove_clean(&p->dev[i]);
        if (rc)
            return rc;
        cer_say(&p->run, "%s: only the factory key (0x0001, all domains); one record in use",
                p->dev[i].role);
    }
    return SIGNET_OK;
}

static signet_rc step_audit(prov *p)
{
    for (int i = 0; i < 2; i++) {
        signet_rc rc = cer_dev_set_audit(&p->dev[i], &p->n_audited);
        if (rc)
            return rc;
        cer_say(&p->run, "%s: %zu commands audited (fixed), force-audit fixed", p->dev[i].role,
                p->n_audited);
    }
    return drain_all(p);
}

static signet_rc step_wrap_key(prov *p)
{
    p->wk = smem_alloc(sizeof *p->wk);
    if (!p->wk)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = cer_wrapkey_make(p->dev, 2, &p->plan, p->wk);
    if (rc == SIGNET_OK)
        rc = sss_wrapkey_check(p->wk, p->check);
    for (int i = 0; rc == SIGNET_OK && i < 2; i++)
        rc = cer_dev_put_wrap_key(&p->dev[i], p->wk);
    if (rc)
        return rc;
    char hex[2 * SSS_WRAPKEY_CHECK_LEN + 1];
    sb_wr w;
    sbw_init_fixed(&w, hex, sizeof hex);
    hex_encode(&w, p->check, sizeof p->check);
    sbw_u8(&w, 0);
    cer_say(&p->run, "wrap key 0x%04x (AES-256) is on both devices; its public check value is %s",
            p->wk->id, hex);
    return drain_all(p);
}

static signet_rc step_roles(prov *p)
{
    signet_rc rc = cer_creds_generate(&p->creds);
    for (int i = 0; rc == SIGNET_OK && i < 2; i++)
        rc = cer_dev_put_roles(&p->dev[i], &p->creds, p->plan.domains);
    if (rc)
        return rc;
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *def = signet_role_get((signet_role)r);
        cer_say(&p->run, "%s: authentication key 0x%04x with %s on both devices", def->name,
                def->auth_id,
                def->asymmetric ? "an EC P-256 credential"
                                : "a generated password of 48 characters (about 314 bits)");
    }
    return drain_all(p);
}

static signet_rc pub_raw(EVP_PKEY *k, uint8_t out[32])
{
    size_t n = 32;
    if (!EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_get_raw_public_key(k, out, &n) != 1 || n != 32)
        return signet_fail(SIGNET_E_STATE, "the log key is not an Ed25519 key");
    return SIGNET_OK;
}

/* The log key's public key as a device reports it. */
static signet_rc log_key_pub(cer_device *d, uint16_t id, uint8_t out[32])
{
    EVP_PKEY *k = NULL;
    uint8_t algo = 0;
    signet_rc rc = hsm_get_public_key(d->sess, id, &k, &algo);
    if (rc == SIGNET_OK)
        rc = pub_raw(k, out);
    EVP_PKEY_free(k);
    return rc ? signet_wrap(rc, "the %s's log key", d->role) : SIGNET_OK;
}

static signet_rc step_log_key(prov *p)
{
    cer_device *pri = &p->dev[0], *bak = &p->dev[1];
    hsm_object_attrs a = {.id = p->plan.log_key_id, .label = SIGNET_LOG_KEY_LABEL,
                          .domains = p->plan.domains, .capabilities = SIGNET_LOG_KEY_CAPS,
                          .algorithm = YH_ALGO_EC_ED25519};
    uint16_t id = 0, id2 = 0;
    uint8_t type = 0, pub[32], pub2[32];
    signet_rc rc = hsm_generate_asymmetric(pri->sess, &a, &id);
    if (rc)
        return signet_wrap(rc, "generating the log key on the primary");
    if ((rc = log_key_pub(pri, id, pub)))
        return rc;
    /* With the seed: an Ed25519 key imported without it cannot sign. */
    if ((rc = hsm_export_wrapped_ex(pri->sess, p->plan.wrap_key_id, YH_TYPE_ASYMMETRIC_KEY, id,
                                    HSM_WRAP_FORMAT_ED25519_SEED, &p->log_blob)))
        return signet_wrap(rc, "exporting the log key under the wrap key");
    if ((rc = hsm_import_wrapped(bak->sess, p->plan.wrap_key_id, p->log_blob.p, p->log_blob.len,
                                 &type, &id2)))
        return signet_wrap(rc, "importing the log key into the backup");
    if (type != YH_TYPE_ASYMMETRIC_KEY || id2 != id)
        return signet_fail(SIGNET_E_STATE, "the backup imported the log key as %s 0x%04x",
                           yh_type_name(type), id2);
    if ((rc = log_key_pub(bak, id2, pub2)))
        return rc;
    if (CRYPTO_memcmp(pub, pub2, 32) != 0)
        return signet_fail(SIGNET_E_VERIFY, "the backup's copy of the log key has another public "
                                            "key than the primary's");
    if ((rc = signet_vkey_make(p->plan.log_name, pub, &p->vkey)))
        return rc;
    sb_wr v;
    sbw_init(&v, 1024);
    rc = signet_vkey_format(&p->vkey, &v);
    if (rc == SIGNET_OK)
        rc = sbw_u8(&v, '\n');
    if (rc == SIGNET_OK)
        rc = output(p, "audit/log.vkey", v.p, v.len, 0644);
    if (rc == SIGNET_OK)
        rc = output(p, "log-key.wrapped", p->log_blob.p, p->log_blob.len, 0644);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "log key 0x%04x on both devices; verifier key %.*s", id, (int)v.len - 1,
                (const char *)v.p);
    sbw_free(&v);
    return rc ? rc : drain_all(p);
}

static signet_rc step_shares(prov *p)
{
    const signet_plan *pl = &p->plan;
    unsigned n = (unsigned)pl->n_custodians;
    sss_share *shares = sss_shares_alloc(SSS_MAX_SHARES);
    if (!shares)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = cer_split_checked(p->wk, pl->threshold, n, shares);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "split %u of %u; every set of %u or more shares gives the wrap key back",
                pl->threshold, n, pl->threshold);
    sb_wr text, sealed;
    sbw_init_secure(&text, 1024);
    sbw_init(&sealed, 64 * 1024);
    for (unsigned i = 0; rc == SIGNET_OK && i < n; i++) {
        char rel[CER_REL_MAX];
        cer_share_file(i + 1, pl->custodians[i].name, rel, sizeof rel);
        sbw_reset(&text);
        sbw_reset(&sealed);
        if ((rc = sss_share_format(&shares[i], &text)) || (rc = sbw_u8(&text, '\n')) ||
            (rc = cer_seal(pl->custodians[i].recipient, text.p, text.len, &sealed)) ||
            (rc = output(p, rel, sealed.p, sealed.len, 0600)))
            break;
        cer_say(&p->run, "share %u for %s: %s", i + 1, pl->custodians[i].name, rel);
    }
    sbw_free(&text);
    sbw_free(&sealed);
    sss_shares_free(shares, SSS_MAX_SHARES);
    /* The devices hold the key and the shares are durable: this copy goes. */
    if (rc == SIGNET_OK)
        smem_wipe(p->wk->key, sizeof p->wk->key);
    return rc;
}

static signet_rc output_cb(void *ctx, const char *rel, const void *data, size_t len,
                           mode_t mode)
{
    return output(ctx, rel, data, len, mode);
}

static signet_rc step_credentials(prov *p)
{
    signet_rc rc = cer_seal_credentials(&p->creds, &p->plan, &p->run, output_cb, p);
    if (rc == SIGNET_OK && (rc = cer_rkeys_generate(&p->rkeys)) == SIGNET_OK)
        rc = cer_rkeys_write(&p->rkeys, &p->plan, p->o->out_dir, p->trail_dir, p->outputs,
                             &p->n_outputs, MAX_OUTPUTS, &p->run);
    if (rc == SIGNET_OK && p->n_outputs < MAX_OUTPUTS)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "audit/%s", SIGNET_RKEYS_FILE);
    return rc;
}

static signet_rc step_factory_key(prov *p)
{
    for (int i = 0; i < 2; i++) {
        cer_device *d = &p->dev[i];
        signet_rc rc;
        if ((rc = cer_dev_try_role(d, &p->creds, SIGNET_ROLE_OPERATOR)) ||
            (rc = cer_dev_try_role(d, &p->creds, SIGNET_ROLE_AUDITOR)) ||
            (rc = cer_dev_delete_factory(d, &p->creds)))
            return rc;
        cer_say(&p->run, "%s: operator and auditor credentials work; logged in as admin and "
                         "deleted the factory key",
                d->role);
    }
    return drain_all(p);
}

/* Signed with the admin's record key, bound to the device's newest drained entry. */
static signet_rc service_record(prov *p, cer_device *d)
{
    char note[96];
    snprintf(note, sizeof note, "provisioned by key ceremony as the %s", d->role);
    return signet_trail_append_service(p->trail, d->serial, hsm_session_auth_id(d->sess), "in", note,
                                       cer_rkeys_signer(&p->rkeys));
}

static signet_rc step_checkpoint(prov *p)
{
    signet_rc rc = SIGNET_OK;
    for (int i = 0; rc == SIGNET_OK && i < 2; i++)
        rc = service_record(p, &p->dev[i]);
    if (rc)
        return rc;
    /* The operator signs it: proof that the log key works for the signing path. */
    cer_device *pri = &p->dev[0];
    const signet_role_def *op = signet_role_get(SIGNET_ROLE_OPERATOR);
    hsm_session *s = NULL;
    if ((rc = hsm_session_open(pri->conn, op->auth_id, p->creds.password, &s)))
        return signet_wrap(rc, "logging in to the primary as operator");
    rc = signet_audit_checkpoint(p->trail, s, pri->serial, p->plan.log_key_id, p->plan.log_name,
                                 &p->cp);
    hsm_session_close(s);
    if (rc)
        return signet_wrap(rc, "signing the first checkpoint");
    cer_say(&p->run, "checkpoint of %llu trail entries signed by the log key on the primary",
            (unsigned long long)p->cp.size);
    return drain_all(p);
}

static signet_rc step_manifest(prov *p)
{
    const signet_plan *pl = &p->plan;
    sb_wr m, tmp;
    sbw_init(&m, 1024 * 1024);
    sbw_init(&tmp, 8192);
    char stamp[32], ver[16];
    cer_utc_now(stamp);
    signet_rc rc = sbw_printf(&m, "%s\n# The public record of a signet key ceremony "
                                  "(docs/ceremony.md).  Nothing here is secret.\n"
                                  "kind provision\ncreated %s\nproject %s\n",
                              CER_MANIFEST_MAGIC, stamp, pl->project[0] ? pl->project : "-");
    if (rc == SIGNET_OK)
        rc = sbw_printf(&m, "threshold %u\nshares %zu\nwrap-key.id 0x%04x\nwrap-key.algorithm "
                            "%s\n",
                        pl->threshold, pl->n_custodians, p->wk->id,
                        yh_algo_name(SIGNET_WRAP_ALGORITHM));
    if (rc == SIGNET_OK && (rc = yh_domains_format(p->wk->domains, &tmp)) == SIGNET_OK)
        rc = sbw_printf(&m, "wrap-key.domains %.*s\n", (int)tmp.len, (const char *)tmp.p);
    sbw_reset(&tmp);
    if (rc == SIGNET_OK && (rc = yh_caps_format(p->wk->capabilities, &tmp)) == SIGNET_OK)
        rc = sbw_printf(&m, "wrap-key.capabilities %.*s\n", (int)tmp.len, (const char *)tmp.p);
    sbw_reset(&tmp);
    if (rc == SIGNET_OK && (rc = yh_caps_format(p->wk->delegated, &tmp)) == SIGNET_OK)
        rc = sbw_printf(&m, "wrap-key.delegated %.*s\n", (int)tmp.len, (const char *)tmp.p);
    sbw_reset(&tmp);
    if (rc == SIGNET_OK && (rc = sbw_printf(&m, "wrap-key.check ")) == SIGNET_OK &&
        (rc = hex_encode(&m, p->check, sizeof p->check)) == SIGNET_OK)
        rc = sbw_u8(&m, '\n');
    if (rc == SIGNET_OK && (rc = signet_vkey_format(&p->vkey, &tmp)) == SIGNET_OK)
        rc = sbw_printf(&m, "log-key.id 0x%04x\nlog-key.algorithm ed25519\nlog-key.vkey %.*s\n"
                            "log-key.wrapped log-key.wrapped\n",
                        pl->log_key_id, (int)tmp.len, (const char *)tmp.p);
    for (size_t i = 0; rc == SIGNET_OK && i < pl->n_custodians; i++) {
        char rel[CER_REL_MAX];
        cer_share_file((unsigned)i + 1, pl->custodians[i].name, rel, sizeof rel);
        rc = sbw_printf(&m, "custodian %zu %s %s %s\n", i + 1, pl->custodians[i].name, rel,
                        pl->custodians[i].recipient);
    }
    for (int r = 0; rc == SIGNET_OK && r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *def = signet_role_get((signet_role)r);
        char rel[CER_REL_MAX];
        cer_cred_file((signet_role)r, pl->holders[r].name, rel, sizeof rel);
        rc = sbw_printf(&m, "role %s 0x%04x %s %s %s %s\n", def->name, def->auth_id,
                        def->asymmetric ? "ecp256" : "password", pl->holders[r].name, rel,
                        pl->holders[r].recipient);
    }
    if (rc == SIGNET_OK)
        rc = cer_rkeys_manifest(&p->rkeys, pl, &m);
    for (int i = 0; rc == SIGNET_OK && i < 2; i++) {
        cer_device *d = &p->dev[i];
        cer_dev_version(d, ver);
        rc = sbw_printf(&m, "device %s %u firmware=%s audited-commands=%zu force-audit=fixed\n",
                        d->role, d->serial, ver, p->n_audited);
        if (rc == SIGNET_OK)
            rc = cer_dev_describe_objects(d, &m);
    }
    if (rc == SIGNET_OK && (rc = sbw_printf(&m, "trail.checkpoint.size %llu\ntrail.checkpoint.root ",
                                            (unsigned long long)p->cp.size)) == SIGNET_OK &&
        (rc = b64_encode(&m, p->cp.root, sizeof p->cp.root, true)) == SIGNET_OK)
        rc = sbw_u8(&m, '\n');
    for (int i = 0; rc == SIGNET_OK && i < 2 && p->n_outputs < MAX_OUTPUTS; i++)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "audit/anchors/device-%u.anchor",
                 p->dev[i].serial);
    if (rc == SIGNET_OK)
        rc = cer_manifest_add_files(&m, p->o->out_dir, p->outputs, p->n_outputs);
    if (rc == SIGNET_OK)
        rc = cer_write_file(p->o->out_dir, CER_MANIFEST_FILE, m.p, m.len, 0644);
    if (rc == SIGNET_OK) {
        char path[CER_PATH_MAX];
        uint8_t h[32];
        snprintf(path, sizeof path, "%s/%s", p->o->out_dir, CER_MANIFEST_FILE);
        sbw_reset(&tmp);
        if ((rc = cer_file_sha256(path, h)) == SIGNET_OK && (rc = hex_encode(&tmp, h, 32)) == SIGNET_OK)
            cer_say(&p->run, "manifest %s written, SHA-256 %.*s", CER_MANIFEST_FILE, (int)tmp.len,
                    (const char *)tmp.p);
    }
    sbw_free(&m);
    sbw_free(&tmp);
    return rc;
}

static void failure_advice(const prov *p, char *buf, size_t cap)
{
    size_t reset_step = 3;
    if (p->need_identity) {
        snprintf(buf, cap, "No device was changed.  Run the same command again with "
                           "--admin-identity FILE (the admin holder's age identity), or reset the "
                           "device physically (docs/ceremony.md, \"Resetting a device\").");
        return;
    }
    if (p->run.cur < reset_step) {
        snprintf(buf, cap, "No device was changed.  Fix the cause and run the same command again.");
        return;
    }
    if (p->dev[0].factory_deleted || p->dev[1].factory_deleted) {
        snprintf(buf, cap,
                 "The factory key is already deleted on the%s%s.  Fix the cause and run the same "
                 "command again with --admin-identity FILE, the age identity of the admin holder "
                 "(%s): the rerun resets %s with this attempt's admin credential (moved to "
                 "%s/N/credentials/admin-%s.age) and starts again from the reset.  Without that "
                 "identity, reset %s physically first (docs/ceremony.md, \"Resetting a "
                 "device\").",
                 p->dev[0].factory_deleted ? " primary" : "",
                 p->dev[1].factory_deleted ? (p->dev[0].factory_deleted ? " and the backup" : " backup")
                                           : "",
                 p->plan.holders[SIGNET_ROLE_ADMIN].name,
                 p->dev[0].factory_deleted && p->dev[1].factory_deleted ? "them" : "it",
                 CER_ATTEMPTS_DIR, p->plan.holders[SIGNET_ROLE_ADMIN].name,
                 p->dev[0].factory_deleted && p->dev[1].factory_deleted ? "them" : "it");
        return;
    }
    snprintf(buf, cap,
             "Both devices still have their factory key, so nothing of this attempt can be used "
             "or is needed: its shares and credentials are void.  Fix the cause (is every device "
             "connected and its connector running?) and run the same command again: it starts "
             "again from the device reset, and this attempt's files are moved to %s/.",
             CER_ATTEMPTS_DIR);
}

typedef signet_rc (*step_fn)(prov *p);

signet_rc signet_ceremony_provision(const signet_provision_opts *o)
{
    if (!o || !o->plan_path || !o->out_dir)
        return signet_fail(SIGNET_E_ARG, "provision needs a plan and an output directory");
    signet_rc rc = signet_harden_process();
    if (rc)
        return rc;
    prov *p = calloc(1, sizeof *p);
    if (!p)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    p->o = o;
    sbw_init(&p->plan_raw, SIGNET_PLAN_MAX_BYTES);
    sbw_init(&p->log_blob, 8192);
    cer_run_init(&p->run, "provision", o->out_dir, STEPS, N_STEPS, o->progress, o->progress_ctx);
    p->dev[0] = (cer_device){.role = "primary", .conn = o->primary};
    p->dev[1] = (cer_device){.role = "backup", .conn = o->backup};

    static const step_fn FNS[N_STEPS] = {
        step_plan,   step_connect,   step_reset,       step_anchor,      step_clean,
        step_audit,  step_wrap_key,  step_roles,       step_log_key,     step_shares,
        step_credentials, step_factory_key, step_checkpoint, step_manifest};
    for (size_t i = 0; rc == SIGNET_OK && i < N_STEPS; i++) {
        if ((rc = cer_step(&p->run, STEPS[i].name)))
            break;
        if (i == 1) {
            /* The URLs are known once the plan is read. */
            p->dev[0].url = p->plan.primary_url;
            p->dev[1].url = p->plan.backup_url;
        }
        if (strcmp(STEPS[i].name, "credentials") == 0) {
            /* From the next step on, a run killed midway may leave a device without
             * its factory key: the state file says how the rerun gets in. */
            snprintf(p->resume, sizeof p->resume,
                     "If this file is still here and no signet process is running, the run was "
                     "interrupted: run the same command again with --admin-identity FILE, the age "
                     "identity of the admin holder (%s).  If a device's factory key was already "
                     "deleted, the rerun resets it with this attempt's admin credential "
                     "(credentials/admin-%s.age, moved to %s/N/); the rerun starts again from the "
                     "device reset.",
                     p->plan.holders[SIGNET_ROLE_ADMIN].name,
                     p->plan.holders[SIGNET_ROLE_ADMIN].name, CER_ATTEMPTS_DIR);
            p->run.resume = p->resume;
        }
        rc = FNS[i](p);
    }
    if (rc) {
        char advice[2048];
        failure_advice(p, advice, sizeof advice);
        rc = cer_run_fail(&p->run, rc, advice);
    } else {
        cer_say(&p->run, "ceremony complete: hand each custodian their share file and each role "
                         "holder their credential file; publish plan.txt, manifest.txt, "
                         "transcript.txt and audit/");
        rc = cer_run_finish(&p->run);
    }
    if (p->trail)
        signet_trail_close(p->trail);
    for (int i = 0; i < 2; i++)
        cer_dev_close(&p->dev[i]);
    cer_creds_free(&p->creds);
    cer_rkeys_free(&p->rkeys);
    smem_free(p->wk);
    sbw_free(&p->plan_raw);
    sbw_free(&p->log_blob);
    cer_run_close(&p->run);
    free(p);
    return rc;
}

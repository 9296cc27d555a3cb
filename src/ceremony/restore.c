/* `signet ceremony restore`: a device rebuilt from the custodians' shares.  The
 * shares are decrypted, combined and checked against the manifest's check value
 * before the device is touched at all; only then is it reset and set up like the
 * provisioned ones (same wrap key, audit options and roles, new credentials), the
 * log key and the key store imported (every public key compared with the recorded
 * one) and the device recorded as put into service in the trail. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ceremony_internal.h"
#include "signet/keystore.h"
#include "signet/proto.h"
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
#define MAX_OUTPUTS 16

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
    cer_rkeys rkeys;                 /* new record keys when the trail names none */
    bool new_rkeys, rkeys_written;
    EVP_PKEY *signer;                /* signs the service records */
    signet_keystore *ks;
    size_t n_keys;
    size_t n_audited;
    char outputs[MAX_OUTPUTS][CER_REL_MAX];
    size_t n_outputs;
} rest;

static signet_rc output(rest *p, const char *rel, const void *data, size_t len, mode_t mode)
{
    signet_rc rc = cer_write_file(p->o->out_dir, rel, data, len, mode);
    if (rc == SIGNET_OK && p->n_outputs < MAX_OUTPUTS)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "%s", rel);
    return rc;
}

/* A file the manifest lists, read and checked against its recorded SHA-256. */
static signet_rc read_listed(rest *p, const char *rel, size_t max, sb_wr *out)
{
    const cer_manifest_file *f = cer_manifest_find_file(p->man, rel);
    if (!f)
        return signet_fail(SIGNET_E_VERIFY, "the manifest lists no SHA-256 for %s: it is not a "
                                            "complete ceremony manifest",
                           rel);
    char path[CER_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", p->man_dir, rel);
    signet_rc rc = cer_read_file(path, max, out);
    if (rc)
        return rc;
    uint8_t h[32];
    if (EVP_Digest(out->p, out->len, h, NULL, EVP_sha256(), NULL) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed");
    if (CRYPTO_memcmp(h, f->sha256, 32) != 0)
        return signet_fail(SIGNET_E_VERIFY, "%s differs from the file the ceremony recorded (its "
                                            "SHA-256 does not match the manifest): it was altered "
                                            "or replaced; use the ceremony's copy",
                           path);
    return SIGNET_OK;
}

static signet_rc check_plan_matches(rest *p)
{
    const signet_plan *pl = &p->plan;
    const cer_manifest *m = p->man;
    if (pl->threshold != m->threshold || pl->n_custodians != m->n_shares)
        return signet_fail(SIGNET_E_ARG, "the plan splits %u of %zu but the ceremony split %u of "
                                         "%u: use the ceremony's plan (plan.txt next to the "
                                         "manifest); only role holders may change",
                           pl->threshold, pl->n_custodians, m->threshold, m->n_shares);
    for (size_t i = 0; i < m->n_listed_shares; i++) {
        const cer_manifest_share *s = &m->shares[i];
        if (strcmp(pl->custodians[s->index - 1].name, s->name) != 0)
            return signet_fail(SIGNET_E_ARG, "share %u belongs to %s in the manifest but to %s in "
                                             "the plan: use the ceremony's plan",
                               s->index, s->name, pl->custodians[s->index - 1].name);
    }
    if (pl->wrap_key_id != m->wrap_id || pl->log_key_id != m->log_key_id ||
        pl->domains != m->wrap_domains)
        return signet_fail(SIGNET_E_ARG, "the plan's wrap-key-id, log-key-id or domains differ "
                                         "from the ceremony's: use the ceremony's plan");
    if (strcmp(pl->log_name, m->vkey.name) != 0)
        return signet_fail(SIGNET_E_ARG, "the plan's log-name %s differs from the ceremony's %s",
                           pl->log_name, m->vkey.name);
    return SIGNET_OK;
}

static signet_rc check_keystore(rest *p)
{
    signet_rc rc = signet_keystore_open(p->o->keystore_dir, &p->ks);
    if (rc)
        return rc;
    for (size_t i = 0; i < signet_keystore_count(p->ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(p->ks, i);
        if (!signet_keystore_has_key(p->ks, e->name))
            continue;
        EVP_PKEY *pub = NULL;
        if ((rc = signet_keystore_public_key(p->ks, e->name, &pub)))
            return signet_wrap(rc, "key store %s, key %s: without its recorded public key the "
                                   "imported key cannot be checked",
                               p->o->keystore_dir, e->name);
        EVP_PKEY_free(pub);
        p->n_keys++;
    }
    return SIGNET_OK;
}

/* Which record key signs the service records: one the trail names (given), or new
 * ones for a trail that names none.  Decided before the device is touched. */
static signet_rc choose_signer(rest *p)
{
    char path[CER_PATH_MAX + 32], id[9];
    snprintf(path, sizeof path, "%s/%s", p->o->trail_dir ? p->o->trail_dir : "", SIGNET_RKEYS_FILE);
    signet_rkeys *keys = calloc(1, sizeof *keys);
    if (!keys)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = p->o->trail_dir ? signet_rkeys_load(path, keys) : SIGNET_E_NOTFOUND;
    if (rc == SIGNET_E_NOTFOUND) {
        signet_err_clear();
        free(keys);
        p->new_rkeys = true;
        if ((rc = cer_rkeys_generate(&p->rkeys)) == SIGNET_OK)
            p->signer = cer_rkeys_signer(&p->rkeys);
        return rc;
    }
    if (rc == SIGNET_OK && !p->o->record_key)
        rc = signet_fail(SIGNET_E_ARG, "the trail %s names record keys (%s): give the admin's or the "
                         "auditor's with --record-key FILE (its holder decrypts "
                         "credentials/<role>-record-key-<name>.age of the ceremony); it signs the "
                         "restore's service records", p->o->trail_dir, SIGNET_RKEYS_FILE);
    if (rc == SIGNET_OK && (rc = signet_rkey_id_of(p->o->record_key, id)) == SIGNET_OK &&
        !signet_rkeys_find(keys, id))
        rc = signet_fail(SIGNET_E_AUTH, "the record key given (%s) is not one of those %s names", id,
                         path);
    free(keys);
    if (rc == SIGNET_OK) {
        p->signer = p->o->record_key;
        cer_say(&p->run, "service records will be signed with record key %s", id);
    }
    return rc;
}

/* New record keys are sealed and named in the trail the first time one signs. */
static signet_rc signed_service(rest *p, const char *event, const char *note)
{
    signet_rc rc = SIGNET_OK;
    if (p->new_rkeys && !p->rkeys_written) {
        rc = cer_rkeys_write(&p->rkeys, &p->plan, p->o->out_dir, p->trail_dir, p->outputs,
                             &p->n_outputs, MAX_OUTPUTS, &p->run);
        if (rc == SIGNET_OK && p->default_trail && p->n_outputs < MAX_OUTPUTS)
            snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "audit/%s", SIGNET_RKEYS_FILE);
        p->rkeys_written = rc == SIGNET_OK;
    }
    if (rc == SIGNET_OK)
        rc = signet_trail_append_service(p->trail, p->dev.serial, hsm_session_auth_id(p->dev.sess),
                                         event, note, p->signer);
    return rc;
}

static signet_rc step_plan(rest *p)
{
    const signet_restore_opts *o = p->o;
    signet_rc rc = signet_plan_load(o->plan_path, &p->plan, &p->plan_raw);
    if (rc)
        return rc;
    sb_wr mt;
    sbw_init(&mt, 1024 * 1024);
    rc = cer_read_file(o->manifest_path, 1024 * 1024, &mt);
    if (rc == SIGNET_OK && (rc = cer_manifest_parse((const char *)mt.p, mt.len, p->man)))
        rc = signet_wrap(rc, "%s", o->manifest_path);
    if (rc == SIGNET_OK && EVP_Digest(mt.p, mt.len, p->man_sha, NULL, EVP_sha256(), NULL) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed");
    sbw_free(&mt);
    if (rc)
        return rc;
    char tmp[CER_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", o->manifest_path);
    snprintf(p->man_dir, sizeof p->man_dir, "%s", dirname(tmp));
    if ((rc = check_plan_matches(p)))
        return rc;
    if ((rc = read_listed(p, p->man->log_wrapped, 64 * 1024, &p->log_blob)))
        return rc;
    if (o->keystore_dir && (rc = check_keystore(p)))
        return rc;
    if ((rc = choose_signer(p)))
        return rc;
    cer_say(&p->run, "plan %s, manifest %s: wrap key 0x%04x split %u of %u, log key 0x%04x", o->plan_path,
            o->manifest_path, p->man->wrap_id, p->man->threshold, p->man->n_shares,
            p->man->log_key_id);
    if (o->keystore_dir)
        cer_say(&p->run, "key store %s: %zu wrapped keys to import and check", o->keystore_dir,
                p->n_keys);
    char moved[CER_PATH_MAX];
    if ((rc = cer_prepare_out(o->out_dir, CER_RESTORE_MANIFEST_FILE, moved, sizeof moved)) ||
        (rc = cer_run_open_transcript(&p->run)))
        return rc;
    if (moved[0])
        cer_say(&p->run, "an earlier attempt that did not finish was moved to %s", moved);
    if ((rc = output(p, "plan.txt", p->plan_raw.p, p->plan_raw.len, 0644)) ||
        (rc = cer_mkdir(o->out_dir, "credentials", 0700)))
        return rc;
    return SIGNET_OK;
}

static signet_rc add_share_text(rest *p, const char *text, size_t len, sss_share *shares, size_t *k,
                                const char *what)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    while (len && (*text == ' ' || *text == '\t')) {
        text++;
        len--;
    }
    if (*k == SSS_MAX_SHARES)
        return signet_fail(SIGNET_E_ARG, "more than %d shares given", SSS_MAX_SHARES);
    signet_rc rc = sss_share_parse(text, len, &shares[*k]);
    if (rc)
        return signet_wrap(rc, "%s", what);
    for (size_t i = 0; i < *k; i++)
        if (shares[i].index == shares[*k].index) {
            smem_wipe(&shares[*k], sizeof shares[*k]);
            return signet_fail(SIGNET_E_ARG, "%s: share %u was given already", what,
                               shares[i].index);
        }
    size_t n = strlen(p->used);
    snprintf(p->used + n, sizeof p->used - n, "%s%u", n ? "," : "", shares[*k].index);
    (*k)++;
    return SIGNET_OK;
}

static signet_rc shares_typed(rest *p, sss_share *shares, size_t *k)
{
    for (unsigned number = 1; number <= SSS_MAX_SHARES; number++) {
        char *line = NULL;
        signet_rc rc = p->o->read_share(p->o->read_share_ctx, number, p->man->threshold, &line);
        if (rc)
            return rc;
        if (!line)
            break;
        char what[32];
        snprintf(what, sizeof what, "typed share %u", number);
        rc = add_share_text(p, line, strlen(line), shares, k, what);
        smem_free(line);
        if (rc)
            return rc;
    }
    return SIGNET_OK;
}

static signet_rc shares_from_identities(rest *p, sss_share *shares, size_t *k)
{
    age_identities *ids = NULL;
    signet_rc rc = age_identities_new(&ids);
    for (size_t i = 0; rc == SIGNET_OK && i < p->o->n_identities; i++)
        if ((rc = age_identities_add_file(ids, p->o->identities[i])))
            rc = signet_wrap(rc, "identity file %s", p->o->identities[i]);
    sb_wr file, plain;
    sbw_init(&file, 64 * 1024);
    sbw_init_secure(&plain, 4096);
    for (size_t i = 0; rc == SIGNET_OK && i < p->man->n_listed_shares; i++) {
        const cer_manifest_share *s = &p->man->shares[i];
        sbw_reset(&file);
        sbw_reset(&plain);
        rc = read_listed(p, s->file, 64 * 1024, &file);
        if (rc == SIGNET_E_NOTFOUND) {
            /* A custodian who is not here may keep the only copy. */
            cer_say(&p->run, "share %u (%s): %s is not there", s->index, s->name, s->file);
            signet_err_clear();
            rc = SIGNET_OK;
            continue;
        }
        if (rc)
            break;
        rc = age_decrypt_mem(ids, file.p, file.len, &plain);
        if (rc == SIGNET_E_AUTH) {
            /* Not one of the identities given: this custodian is not here. */
            cer_say(&p->run, "share %u (%s): no identity for it", s->index, s->name);
            signet_err_clear();
            rc = SIGNET_OK;
            continue;
        }
        if (rc) {
            rc = signet_wrap(rc, "decrypting the share of %s (%s)", s->name, s->file);
            break;
        }
        char what[96];
        snprintf(what, sizeof what, "the share of %s (%s)", s->name, s->file);
        if ((rc = add_share_text(p, (const char *)plain.p, plain.len, shares, k, what)))
            break;
        if (shares[*k - 1].index != s->index)
            rc = signet_fail(SIGNET_E_VERIFY, "%s holds share %u instead of %u", what,
                             shares[*k - 1].index, s->index);
        else
            cer_say(&p->run, "share %u (%s): decrypted", s->index, s->name);
    }
    sbw_free(&file);
    sbw_free(&plain);
    age_identities_free(ids);
    return rc;
}

static signet_rc step_shares(rest *p)
{
    const cer_manifest *m = p->man;
    sss_share *shares = sss_shares_alloc(SSS_MAX_SHARES);
    p->wk = smem_alloc(sizeof *p->wk);
    if (!shares || !p->wk) {
        sss_shares_free(shares, SSS_MAX_SHARES);
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    }
    size_t k = 0;
    signet_rc rc = p->o->read_share ? shares_typed(p, shares, &k) : shares_from_identities(p, shares, &k);
    if (rc == SIGNET_OK && k < m->threshold)
        rc = signet_fail(SIGNET_E_ARG, "%zu share%s (%s) of the %u needed: bring more custodians "
                                       "(their identity files, or their shares typed in)",
                         k, k == 1 ? "" : "s", k ? p->used : "none", m->threshold);
    if (rc == SIGNET_OK && (rc = cer_combine_checked(shares, k, m->check, p->wk)))
        rc = signet_wrap(rc, "the shares %s do not give this ceremony's wrap key; nothing was done "
                             "to the device",
                         p->used);
    sss_shares_free(shares, SSS_MAX_SHARES);
    if (rc)
        return rc;
    if (p->wk->id != m->wrap_id || p->wk->domains != m->wrap_domains ||
        p->wk->capabilities != m->wrap_caps || p->wk->delegated != m->wrap_delegated)
        return signet_fail(SIGNET_E_VERIFY, "the restored wrap key's id, domains or capabilities "
                                            "differ from the manifest's; nothing was done to the "
                                            "device");
    p->n_used = k;
    cer_say(&p->run, "shares %s give wrap key 0x%04x; its check value matches the manifest", p->used,
            p->wk->id);
    return SIGNET_OK;
}

static signet_rc step_connect(rest *p)
{
    cer_device *d = &p->dev;
    signet_rc rc = cer_dev_connect(d);
    if (rc == SIGNET_OK)
        rc = cer_dev_login(d, p->o->reset_auth_id, p->o->reset_password, p->o->reset_key);
    if (rc)
        return rc;
    char v[16];
    cer_dev_version(d, v);
    cer_say(&p->run, "target: serial %u, firmware %s, %s", d->serial, v, d->url ? d->url : "in-process");
    return SIGNET_OK;
}

static signet_rc open_trail(rest *p);

/* A device the given trail knows: its log up to now is drained and the reset record
 * signed and bound to its last entry BEFORE the reset (a reset destroys the log key
 * and restarts the log at entry 1, which only such a record explains). */
static signet_rc record_reset(rest *p)
{
    char apath[CER_PATH_MAX + 64];
    snprintf(apath, sizeof apath, "%s/anchors/device-%u.anchor", p->o->trail_dir, p->dev.serial);
    if (access(apath, F_OK) != 0)
        return SIGNET_OK;
    signet_rc rc = open_trail(p);
    if (rc)
        return rc;
    signet_drain_result *d = calloc(1, sizeof *d);
    if (!d)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rc = signet_audit_drain(p->trail, p->dev.sess, p->dev.serial, d);
    if (rc == SIGNET_OK && (d->lost || d->unlogged_boots || d->unlogged_auths))
        cer_say(&p->run, "target's log before the reset: %llu entries lost, %u unlogged boots, %u "
                         "unlogged authentications (kept in the trail as findings)",
                (unsigned long long)d->lost, d->unlogged_boots, d->unlogged_auths);
    free(d);
    if (rc)
        return signet_wrap(rc, "draining the target's log before its reset (the reset record is "
                               "bound to its last entry); nothing was reset");
    rc = signed_service(p, "reset", "reset for a restore from the ceremony's shares");
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target is known to the trail %s: its log is drained and the reset record "
                         "signed before the reset", p->trail_dir);
    return rc;
}

static signet_rc step_reset(rest *p)
{
    signet_rc rc = p->o->trail_dir ? record_reset(p) : SIGNET_OK;
    if (rc == SIGNET_OK)
        rc = cer_dev_reset(&p->dev);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target (serial %u) reset; logged in again with the factory key", p->dev.serial);
    return rc;
}

static signet_rc open_trail(rest *p)
{
    signet_vkey have;
    signet_rc rc;
    if (p->trail)
        return SIGNET_OK;
    if (p->o->trail_dir) {
        snprintf(p->trail_dir, sizeof p->trail_dir, "%s", p->o->trail_dir);
        char vpath[CER_PATH_MAX + 16];
        snprintf(vpath, sizeof vpath, "%s/log.vkey", p->trail_dir);
        if ((rc = signet_vkey_load(vpath, &have)))
            return signet_wrap(rc, "the trail %s", p->trail_dir);
        if (have.key_id != p->man->vkey.key_id || strcmp(have.name, p->man->vkey.name) != 0 ||
            CRYPTO_memcmp(have.pub, p->man->vkey.pub, 32) != 0)
            return signet_fail(SIGNET_E_VERIFY, "the trail %s belongs to another log key than the "
                                                "ceremony's: give the ceremony's trail",
                               p->trail_dir);
    } else {
        p->default_trail = true;
        snprintf(p->trail_dir, sizeof p->trail_dir, "%s/audit", p->o->out_dir);
        sb_wr v;
        sbw_init(&v, 1024);
        rc = signet_trail_init(p->trail_dir);
        if (rc == SIGNET_OK)
            rc = signet_vkey_format(&p->man->vkey, &v);
        if (rc == SIGNET_OK)
            rc = sbw_u8(&v, '\n');
        if (rc == SIGNET_OK)
            rc = output(p, "audit/log.vkey", v.p, v.len, 0644);
        sbw_free(&v);
        if (rc)
            return rc;
    }
    if ((rc = signet_trail_open(p->trail_dir, &p->trail)) == SIGNET_OK)
        rc = signet_trail_lock(p->trail);
    return rc;
}

static signet_rc step_anchor(rest *p)
{
    signet_rc rc = open_trail(p);
    hsm_log log;
    if (rc == SIGNET_OK && (rc = cer_dev_read_log(&p->dev, &log)) == SIGNET_OK)
        rc = cer_dev_check_fresh_log(&p->dev, &log);
    if (rc)
        return rc;
    char apath[CER_PATH_MAX + 64];
    snprintf(apath, sizeof apath, "%s/anchors/device-%u.anchor", p->trail_dir, p->dev.serial);
    if (access(apath, F_OK) == 0) {
        /* The trail knows this device: the restart follows its signed reset record. */
        if ((rc = cer_dev_drain(&p->dev, p->trail)))
            return rc;
        cer_say(&p->run, "target is known to the trail %s: its log continues after the reset",
                p->trail_dir);
        return SIGNET_OK;
    }
    if ((rc = cer_dev_anchor(&p->dev, p->trail, &log)))
        return rc;
    cer_say(&p->run, "target: anchored its log (%zu entries) in %s/anchors", log.n, p->trail_dir);
    return SIGNET_OK;
}

static signet_rc step_clean(rest *p)
{
    signet_rc rc = cer_dev_prove_clean(&p->dev);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target: only the factory key (0x0001, all domains)");
    return rc;
}

static signet_rc step_audit(rest *p)
{
    signet_rc rc = cer_dev_set_audit(&p->dev, &p->n_audited);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target: %zu commands audited (fixed), force-audit fixed", p->n_audited);
    return rc ? rc : cer_dev_drain(&p->dev, p->trail);
}

static signet_rc step_wrap_key(rest *p)
{
    signet_rc rc = cer_dev_put_wrap_key(&p->dev, p->wk);
    smem_wipe(p->wk->key, sizeof p->wk->key);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "wrap key 0x%04x is on the target", p->wk->id);
    return rc ? rc : cer_dev_drain(&p->dev, p->trail);
}

static signet_rc step_roles(rest *p)
{
    signet_rc rc = cer_creds_generate(&p->creds);
    if (rc == SIGNET_OK)
        rc = cer_dev_put_roles(&p->dev, &p->creds, p->plan.domains);
    if (rc)
        return rc;
    cer_say(&p->run, "admin 0x%04x, operator 0x%04x, auditor 0x%04x with new credentials",
            signet_role_get(SIGNET_ROLE_ADMIN)->auth_id, signet_role_get(SIGNET_ROLE_OPERATOR)->auth_id,
            signet_role_get(SIGNET_ROLE_AUDITOR)->auth_id);
    return cer_dev_drain(&p->dev, p->trail);
}

static signet_rc step_log_key(rest *p)
{
    uint8_t type = 0;
    uint16_t id = 0;
    signet_rc rc = hsm_import_wrapped(p->dev.sess, p->man->wrap_id, p->log_blob.p, p->log_blob.len,
                                      &type, &id);
    if (rc)
        return signet_wrap(rc, "importing the log key from %s", p->man->log_wrapped);
    if (type != YH_TYPE_ASYMMETRIC_KEY || id != p->man->log_key_id)
        return signet_fail(SIGNET_E_VERIFY, "%s unwrapped to %s 0x%04x, not the log key 0x%04x",
                           p->man->log_wrapped, yh_type_name(type), id, p->man->log_key_id);
    EVP_PKEY *k = NULL;
    uint8_t algo = 0, pub[32];
    size_t n = sizeof pub;
    rc = hsm_get_public_key(p->dev.sess, id, &k, &algo);
    if (rc == SIGNET_OK && (!EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 ||
                            n != 32))
        rc = signet_fail(SIGNET_E_VERIFY, "the imported log key is not an Ed25519 key");
    EVP_PKEY_free(k);
    if (rc)
        return rc;
    if (CRYPTO_memcmp(pub, p->man->vkey.pub, 32) != 0)
        return signet_fail(SIGNET_E_VERIFY, "the imported log key's public key differs from the "
                                            "manifest's verifier key");
    cer_say(&p->run, "log key 0x%04x imported; its public key matches the manifest's vkey", id);
    return cer_dev_drain(&p->dev, p->trail);
}

/* Imports one wrapped key and compares its public key with the recorded one.  When
 * the device is full, keys checked earlier are deleted again (they stay loadable on
 * demand from the store) to make room. */
static signet_rc import_key(rest *p, const signet_keymap_entry *e, uint16_t *resident, size_t *n_res)
{
    sb_wr blob;
    sbw_init(&blob, 64 * 1024);
    signet_rc rc = signet_keystore_wrapped(p->ks, e->name, &blob);
    uint8_t type = 0;
    uint16_t id = 0;
    size_t evicted = 0;
    while (rc == SIGNET_OK) {
        rc = hsm_import_wrapped(p->dev.sess, p->man->wrap_id, blob.p, blob.len, &type, &id);
        if (rc == SIGNET_OK || signet_err_device() != YH_ERR_STORAGE_FAILED || evicted == *n_res)
            break;
        rc = hsm_delete_object(p->dev.sess, resident[evicted++], YH_TYPE_ASYMMETRIC_KEY);
    }
    sbw_free(&blob);
    if (evicted) {
        memmove(resident, resident + evicted, (*n_res - evicted) * sizeof *resident);
        *n_res -= evicted;
    }
    if (rc)
        return signet_wrap(rc, "importing key %s", e->name);
    if (type != YH_TYPE_ASYMMETRIC_KEY || id != e->id)
        return signet_fail(SIGNET_E_VERIFY, "key %s unwrapped to %s 0x%04x instead of key 0x%04x",
                           e->name, yh_type_name(type), id, e->id);
    resident[(*n_res)++] = id;
    EVP_PKEY *got = NULL, *want = NULL;
    uint8_t algo = 0;
    if ((rc = hsm_get_public_key(p->dev.sess, id, &got, &algo)) == SIGNET_OK &&
        (rc = signet_keystore_public_key(p->ks, e->name, &want)) == SIGNET_OK &&
        (algo != e->algorithm || EVP_PKEY_eq(got, want) != 1))
        rc = signet_fail(SIGNET_E_VERIFY, "key %s: the wrapped copy unwraps to another public key "
                                          "than the one recorded for it (%s.pub.pem): the key store "
                                          "does not match this wrap key; stop and investigate",
                         e->name, e->name);
    EVP_PKEY_free(got);
    EVP_PKEY_free(want);
    return rc;
}

static signet_rc step_keystore(rest *p)
{
    if (!p->ks) {
        cer_say(&p->run, "no key store given: nothing to import");
        return SIGNET_OK;
    }
    uint16_t resident[YH_MAX_OBJECTS];
    size_t n_res = 0, done = 0;
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < signet_keystore_count(p->ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(p->ks, i);
        if (!signet_keystore_has_key(p->ks, e->name))
            continue;
        if ((rc = import_key(p, e, resident, &n_res)) == SIGNET_OK &&
            (rc = cer_dev_drain(&p->dev, p->trail)) == SIGNET_OK) {
            done++;
            cer_say(&p->run, "key %s (0x%04x, %s): imported, public key matches", e->name, e->id,
                    yh_algo_name(e->algorithm));
        }
    }
    if (rc == SIGNET_OK)
        cer_say(&p->run, "%zu keys imported and checked; %zu resident", done, n_res);
    return rc;
}

static signet_rc step_credentials(rest *p)
{
    sb_wr text, sealed;
    sbw_init_secure(&text, 16 * 1024);
    sbw_init(&sealed, 64 * 1024);
    signet_rc rc = SIGNET_OK;
    for (int r = 0; rc == SIGNET_OK && r < SIGNET_ROLE__COUNT; r++) {
        const signet_plan_person *h = &p->plan.holders[r];
        char rel[CER_REL_MAX];
        cer_cred_file((signet_role)r, h->name, rel, sizeof rel);
        sbw_reset(&text);
        sbw_reset(&sealed);
        if ((rc = cer_cred_text(&p->creds, (signet_role)r, &text)) ||
            (rc = cer_seal(h->recipient, text.p, text.len, &sealed)) ||
            (rc = output(p, rel, sealed.p, sealed.len, 0600)))
            break;
        cer_say(&p->run, "%s credential for %s: %s", signet_role_get((signet_role)r)->name, h->name,
                rel);
    }
    sbw_free(&text);
    sbw_free(&sealed);
    return rc;
}

static signet_rc step_factory_key(rest *p)
{
    signet_rc rc;
    if ((rc = cer_dev_try_role(&p->dev, &p->creds, SIGNET_ROLE_OPERATOR)) ||
        (rc = cer_dev_try_role(&p->dev, &p->creds, SIGNET_ROLE_AUDITOR)) ||
        (rc = cer_dev_delete_factory(&p->dev, &p->creds)))
        return rc;
    cer_say(&p->run, "operator and auditor credentials work; logged in as admin and deleted the "
                     "factory key");
    return cer_dev_drain(&p->dev, p->trail);
}

static signet_rc step_service(rest *p)
{
    char note[256];
    snprintf(note, sizeof note, "restored from shares %s of the key ceremony; %zu keys imported "
                                "and checked",
             p->used, p->n_keys);
    signet_rc rc = signed_service(p, "in", note);
    if (rc == SIGNET_OK)
        rc = cer_dev_drain(&p->dev, p->trail);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "trail %s: device %u recorded as put into service", p->trail_dir,
                p->dev.serial);
    return rc;
}

static signet_rc step_manifest(rest *p)
{
    sb_wr m, tmp;
    sbw_init(&m, 1024 * 1024);
    sbw_init(&tmp, 8192);
    char stamp[32], ver[16];
    cer_utc_now(stamp);
    cer_dev_version(&p->dev, ver);
    signet_rc rc = sbw_printf(&m, "signet-restore-manifest v1\n# The public record of a restore "
                                  "from a signet key ceremony (docs/ceremony.md).\n"
                                  "kind restore\ncreated %s\nceremony-manifest ",
                              stamp);
    if (rc == SIGNET_OK && (rc = hex_encode(&m, p->man_sha, 32)) == SIGNET_OK)
        rc = sbw_printf(&m, "\nshares-used %s\nwrap-key.id 0x%04x\nwrap-key.check ", p->used,
                        p->man->wrap_id);
    if (rc == SIGNET_OK && (rc = hex_encode(&m, p->man->check, sizeof p->man->check)) == SIGNET_OK &&
        (rc = signet_vkey_format(&p->man->vkey, &tmp)) == SIGNET_OK)
        rc = sbw_printf(&m, "\nlog-key.id 0x%04x\nlog-key.vkey %.*s\ntrail %s\nkeystore %s\n"
                            "keystore.keys %zu\n",
                        p->man->log_key_id, (int)tmp.len, (const char *)tmp.p, p->trail_dir,
                        p->o->keystore_dir ? p->o->keystore_dir : "-", p->n_keys);
    for (int r = 0; rc == SIGNET_OK && r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *def = signet_role_get((signet_role)r);
        char rel[CER_REL_MAX];
        cer_cred_file((signet_role)r, p->plan.holders[r].name, rel, sizeof rel);
        rc = sbw_printf(&m, "role %s 0x%04x %s %s %s %s\n", def->name, def->auth_id,
                        def->asymmetric ? "ecp256" : "password", p->plan.holders[r].name, rel,
                        p->plan.holders[r].recipient);
    }
    if (rc == SIGNET_OK && p->new_rkeys)
        rc = cer_rkeys_manifest(&p->rkeys, &p->plan, &m);
    if (rc == SIGNET_OK)
        rc = sbw_printf(&m, "device target %u firmware=%s audited-commands=%zu force-audit=fixed\n",
                        p->dev.serial, ver, p->n_audited);
    if (rc == SIGNET_OK)
        rc = cer_dev_describe_objects(&p->dev, &m);
    if (rc == SIGNET_OK && p->default_trail && p->n_outputs < MAX_OUTPUTS)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "audit/anchors/device-%u.anchor",
                 p->dev.serial);
    if (rc == SIGNET_OK)
        rc = cer_manifest_add_files(&m, p->o->out_dir, p->outputs, p->n_outputs);
    if (rc == SIGNET_OK)
        rc = cer_write_file(p->o->out_dir, CER_RESTORE_MANIFEST_FILE, m.p, m.len, 0644);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "restore manifest %s written", CER_RESTORE_MANIFEST_FILE);
    sbw_free(&m);
    sbw_free(&tmp);
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

    static const step_fn FNS[N_STEPS] = {
        step_plan,     step_shares,  step_connect,     step_reset,       step_anchor,
        step_clean,    step_audit,   step_wrap_key,    step_roles,       step_log_key,
        step_keystore, step_credentials, step_factory_key, step_service, step_manifest};
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

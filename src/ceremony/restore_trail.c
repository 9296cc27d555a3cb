/* Restore and the audit trail: a new trail or the ceremony's (same log key), the
 * record key that signs the service records, the target's log anchored or its reset
 * recorded (signed, before the reset), and the service record that puts it into
 * service. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "restore_internal.h"

static signet_rc open_trail(rest *p)
{
    signet_vkey have;
    signet_rc rc;
    if (p->trail)
        return SIGNET_OK; /* opened before the reset of a device it knows */
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
            rc = rst_output(p, "audit/log.vkey", v.p, v.len, 0644);
        sbw_free(&v);
        if (rc)
            return rc;
    }
    if ((rc = signet_trail_open(p->trail_dir, &p->trail)) == SIGNET_OK)
        rc = signet_trail_lock(p->trail);
    return rc;
}

signet_rc rst_choose_signer(rest *p)
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

/* New record keys are sealed to their holders and named in the trail the first time
 * one signs. */
static signet_rc write_new_rkeys(rest *p)
{
    if (!p->new_rkeys || p->rkeys_written)
        return SIGNET_OK;
    signet_rc rc = cer_rkeys_write(&p->rkeys, &p->plan, p->o->out_dir, p->trail_dir, p->outputs,
                                   &p->n_outputs, RST_MAX_OUTPUTS, &p->run);
    if (rc == SIGNET_OK && p->default_trail && p->n_outputs < RST_MAX_OUTPUTS)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "audit/%s", SIGNET_RKEYS_FILE);
    p->rkeys_written = rc == SIGNET_OK;
    return rc;
}

signet_rc rst_service_record(rest *p, const char *event, const char *note)
{
    signet_rc rc = write_new_rkeys(p);
    if (rc == SIGNET_OK)
        rc = signet_trail_append_service(p->trail, p->dev.serial, hsm_session_auth_id(p->dev.sess),
                                         event, note, p->signer);
    return rc;
}

/* A reset destroys the device's log key and restarts its log at entry 1, which only
 * a reset record signed before it, bound to the last entry before it, explains.  The
 * trail stays locked until the restore ends. */
signet_rc rst_record_reset(rest *p)
{
    if (!p->o->trail_dir)
        return SIGNET_OK; /* a new trail knows no device yet */
    char apath[CER_PATH_MAX + 64];
    snprintf(apath, sizeof apath, "%s/anchors/device-%u.anchor", p->o->trail_dir, p->dev.serial);
    if (access(apath, F_OK) != 0)
        return SIGNET_OK;
    signet_rc rc = open_trail(p);
    if (rc == SIGNET_OK)
        rc = write_new_rkeys(p);
    signet_drain_result *d = rc == SIGNET_OK ? calloc(1, sizeof *d) : NULL;
    if (rc == SIGNET_OK && !d)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK)
        rc = signet_audit_before_reset(p->trail, p->dev.sess, p->dev.serial,
                                       "reset for a restore from the ceremony's shares", p->signer, d);
    if (rc == SIGNET_OK && (d->lost || d->unlogged_boots || d->unlogged_auths))
        cer_say(&p->run, "target's log before the reset: %llu entries lost, %u unlogged boots, %u "
                         "unlogged authentications (kept in the trail as findings)",
                (unsigned long long)d->lost, d->unlogged_boots, d->unlogged_auths);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target is known to the trail %s: its log is drained and the reset record "
                         "signed before the reset", p->trail_dir);
    free(d);
    return rc;
}

signet_rc rst_step_anchor(rest *p)
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

signet_rc rst_step_service(rest *p)
{
    char note[256];
    snprintf(note, sizeof note, "restored from shares %s of the key ceremony; %zu keys imported "
                                "and checked",
             p->used, p->n_keys);
    signet_rc rc = rst_service_record(p, "in", note);
    if (rc == SIGNET_OK)
        rc = cer_dev_drain(&p->dev, p->trail);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "trail %s: device %u recorded as put into service", p->trail_dir,
                p->dev.serial);
    return rc;
}

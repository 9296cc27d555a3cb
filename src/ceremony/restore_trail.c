/* Restore and the audit trail: a new trail or the ceremony's (same log key), the
 * target's log anchored or its reset recorded, and the service record that puts it
 * into service. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "restore_internal.h"

static signet_rc open_trail(rest *p)
{
    signet_vkey have;
    signet_rc rc;
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

signet_rc rst_service_record(rest *p, const char *event, const char *note)
{
    signet_record *r = calloc(1, sizeof *r);
    if (!r)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    r->type = SIGNET_REC_SERVICE;
    r->auth_id = hsm_session_auth_id(p->dev.sess);
    r->serial = p->dev.serial;
    snprintf(r->event, sizeof r->event, "%s", event);
    snprintf(r->note, sizeof r->note, "%s", note);
    signet_rc rc = signet_trail_append_record(p->trail, r);
    free(r);
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
        /* The trail knows this device: the reset is an event in its history. */
        if ((rc = rst_service_record(p, "reset", "reset for a restore from the ceremony's shares")) ||
            (rc = cer_dev_drain(&p->dev, p->trail)))
            return rc;
        cer_say(&p->run, "target is known to the trail %s: its reset is recorded, its log continues",
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

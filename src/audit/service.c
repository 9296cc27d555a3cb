/* Service records (docs/audit.md, "Service records"): a device put into or taken out
 * of service, or reset, signed with a record key of the trust anchors and bound to
 * the device log position it explains.  A reset record is made before the reset. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

signet_rc signet_trail_append_service(signet_trail *t, uint32_t serial, uint16_t auth_id,
                                      const char *event, const char *note, EVP_PKEY *rkey)
{
    signet_rc rc = trail_require_lock(t);
    if (rc)
        return rc;
    /* Checked here, not only by verifiers: a service record no anchor names would
     * be a finding forever. */
    char path[PATH_MAX], id[9];
    snprintf(path, sizeof path, "%s/%s", t->dir, SIGNET_RKEYS_FILE);
    signet_rkeys *keys = malloc(sizeof *keys);
    if (!keys)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    if ((rc = signet_rkey_id_of(rkey, id)) == SIGNET_OK &&
        (rc = signet_rkeys_load(path, keys)) == SIGNET_OK && !signet_rkeys_find(keys, id))
        rc = signet_fail(SIGNET_E_AUTH, "record key %s is not named in %s: service records are "
                         "signed by the admin's or the auditor's record key of the ceremony", id, path);
    free(keys);
    if (rc)
        return signet_wrap(rc, "recording the service event '%s' of device %u", event, serial);
    const dev_tail *d = trail_dev(t, serial, false);
    if (!d || !d->have)
        return signet_fail(SIGNET_E_STATE, "device %u has no log in %s: anchor and drain it before "
                           "recording a service event (the record is bound to its newest entry)",
                           serial, t->dir);
    signet_record *r = calloc(1, sizeof *r);
    if (!r)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rc = signet_record_service(r, serial, auth_id, d->seq, event, note);
    if (rc == SIGNET_OK)
        rc = signet_trail_append_signed(t, r, rkey);
    free(r);
    return rc;
}

signet_rc signet_audit_before_reset(signet_trail *t, hsm_session *s, uint32_t serial, const char *note,
                                    EVP_PKEY *rkey, signet_drain_result *out)
{
    signet_drain_result *d = calloc(1, sizeof *d);
    if (!d)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = signet_audit_drain(t, s, serial, d);
    if (rc)
        rc = signet_wrap(rc, "draining device %u before its reset (the reset record is bound to its "
                         "last entry); nothing was reset", serial);
    else
        rc = signet_trail_append_service(t, serial, hsm_session_auth_id(s), "reset", note, rkey);
    if (rc == SIGNET_OK && out)
        *out = *d;
    free(d);
    return rc;
}

signet_rc signet_trail_change_log_key(signet_trail *t, uint32_t serial, uint16_t auth_id,
                                      const signet_vkey *next, EVP_PKEY *rkey)
{
    char path[PATH_MAX];
    signet_vkey base;
    snprintf(path, sizeof path, "%s/%s", t->dir, VKEY_FILE);
    signet_rc rc = signet_vkey_load(path, &base);
    if (rc)
        return rc;
    if (strcmp(base.name, next->name) != 0)
        return signet_fail(SIGNET_E_ARG, "the new log key names the log '%s', the trail's is '%s'",
                           next->name, base.name);
    sb_wr line;
    sbw_init(&line, 512);
    rc = signet_vkey_format(next, &line);
    if (rc == SIGNET_OK)
        rc = sbw_u8(&line, 0);
    if (rc == SIGNET_OK)
        rc = signet_trail_append_service(t, serial, auth_id, "log-key", (const char *)line.p, rkey);
    sbw_free(&line);
    return rc;
}

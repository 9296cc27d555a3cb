/* `signet audit acknowledge`: closing one incident a person has looked into with a
 * record signed by their record key (docs/audit.md, "Acknowledgements"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

signet_rc signet_trail_acknowledge(const char *dir, const char *rkeys_path, const char *hash,
                                   const char *reason, EVP_PKEY *priv)
{
    char rp[PATH_MAX];
    snprintf(rp, sizeof rp, "%s/%s", dir, SIGNET_RKEYS_FILE);
    signet_rkeys keys;
    signet_rc rc = signet_rkeys_load(rkeys_path ? rkeys_path : rp, &keys);
    if (rc)
        return signet_wrap(rc, "reading the record keys (the trust anchors name who may acknowledge)");
    char id[9];
    if ((rc = signet_rkey_id_of(priv, id)))
        return rc;
    if (!signet_rkeys_find(&keys, id))
        return signet_fail(SIGNET_E_AUTH, "record key %s is not one of the trust anchors' record keys", id);

    signet_verify_opts o = {.rkeys_path = rkeys_path};
    signet_report *rep = NULL;
    rc = signet_trail_verify(dir, &o, &rep);
    const signet_finding *f = NULL;
    for (size_t i = 0; rep && i < signet_report_count(rep); i++)
        if (strcmp(signet_report_finding(rep, i)->hash, hash) == 0)
            f = signet_report_finding(rep, i);
    if (rc != SIGNET_OK && rc != SIGNET_E_VERIFY) {
        signet_report_free(rep);
        return rc;
    }
    signet_rc out = SIGNET_OK;
    if (!f)
        out = signet_fail(SIGNET_E_NOTFOUND, "no finding of %s has the hash %s (see `signet audit verify`)",
                          dir, hash);
    else if (f->severity != SIGNET_SEV_INCIDENT)
        out = signet_fail(SIGNET_E_STATE, "finding %s is %s (%s): only incidents can be acknowledged; "
                          "a changed, forged or forked trail cannot be", hash,
                          signet_severity_name(f->severity), f->msg);
    else if (f->acknowledged)
        out = signet_fail(SIGNET_E_STATE, "finding %s is already acknowledged %s", hash, f->ack);
    signet_report_free(rep);
    if (out)
        return out;

    signet_trail *t = NULL;
    signet_record *r = calloc(1, sizeof *r);
    if (!r)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rc = signet_record_ack(r, hash, reason);
    if (rc == SIGNET_OK)
        rc = signet_trail_open(dir, &t);
    if (rc == SIGNET_OK)
        rc = signet_trail_lock(t);
    if (rc == SIGNET_OK)
        rc = signet_trail_append_signed(t, r, priv);
    signet_trail_close(t);
    free(r);
    return rc;
}

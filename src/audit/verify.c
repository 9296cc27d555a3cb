/* Verifying a trail: reads the leaves, then runs each check in its own file
 * (verify_leaves.c, verify_device.c, verify_pairing.c, verify_links.c,
 * verify_checkpoints.c, verify_fresh.c, verify_expect.c) and sums up.  Every problem
 * becomes a finding with a message that says what it means; running out of memory
 * stops verification with SIGNET_E_NOMEM, never with fewer findings. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify_internal.h"

static signet_rc load_vkeys(vstate *v, const signet_verify_opts *o, signet_vkey *k, bool *have)
{
    char path[PATH_MAX];
    signet_vkey local;
    snprintf(path, sizeof path, "%s/%s", v->dir, VKEY_FILE);
    signet_rc lrc = signet_vkey_load(path, &local);
    if (lrc == SIGNET_E_NOMEM)
        return lrc;
    bool have_local = lrc == SIGNET_OK;
    *have = false;
    if (o && o->vkey_path) {
        signet_rc rc = signet_vkey_load(o->vkey_path, k);
        if (rc == SIGNET_E_NOMEM)
            return rc;
        if (rc) {
            report_add(v->rep, SIGNET_FIND_VKEY, o->vkey_path, 0, "%s", signet_errmsg());
            return SIGNET_OK;
        }
        *have = true;
        if (have_local && memcmp(&local, k, sizeof local) != 0)
            report_add(v->rep, SIGNET_FIND_VKEY, VKEY_FILE, 0,
                       "the trail's log.vkey is not the verifier key you trust: the trail claims "
                       "another log key");
        return SIGNET_OK;
    }
    if (!have_local) {
        report_add(v->rep, SIGNET_FIND_VKEY, VKEY_FILE, 0,
                   "no usable log.vkey: checkpoints cannot be verified (pass the published key with --vkey)");
        return SIGNET_OK;
    }
    *k = local;
    *have = true;
    return SIGNET_OK;
}

signet_rc signet_trail_verify(const char *dir, const signet_verify_opts *o, signet_report **out)
{
    vstate v;
    memset(&v, 0, sizeof v);
    v.dir = dir;
    v.rep = report_new();
    *out = v.rep;
    if (!v.rep)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, ANCHOR_DIR);
    if (access(dir, R_OK) != 0 || access(p, R_OK) != 0)
        return signet_fail(SIGNET_E_NOTFOUND, "%s is not an audit trail (no %s/)", dir, ANCHOR_DIR);

    signet_vkey k;
    bool have_k;
    signet_rc rc = load_vkeys(&v, o, &k, &have_k);
    if (rc == SIGNET_OK) {
        char rp[PATH_MAX];
        snprintf(rp, sizeof rp, "%s/%s", dir, SIGNET_RKEYS_FILE);
        rc = signet_rkeys_load(o && o->rkeys_path ? o->rkeys_path : rp, &v.rkeys);
        if (rc == SIGNET_E_NOTFOUND) { /* no record keys: every acknowledgement is a finding */
            signet_err_clear();
            rc = SIGNET_OK;
        } else if (rc && rc != SIGNET_E_NOMEM) {
            report_add(v.rep, SIGNET_FIND_ACK, SIGNET_RKEYS_FILE, 0, "%s", signet_errmsg());
            rc = SIGNET_OK;
        }
    }

    /* Records first: device checks look up reset records. */
    if (rc == SIGNET_OK)
        rc = vread_leaf_file(&v, RECORDS_FILE, NULL);
    uint32_t *serials = NULL;
    size_t nser = 0;
    if (rc == SIGNET_OK)
        rc = list_device_logs(dir, &serials, &nser);
    if (rc == SIGNET_OK && nser) {
        v.devs = calloc(nser, sizeof *v.devs);
        if (!v.devs)
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == SIGNET_OK && i < nser; i++) {
        char name[64];
        device_log_name(serials[i], name);
        v.devs[i].serial = serials[i];
        snprintf(v.devs[i].fname, sizeof v.devs[i].fname, "%s", name);
        v.n_devs++;
        rc = vread_leaf_file(&v, name, &v.devs[i]);
        if (rc == SIGNET_OK && !v.devs[i].anchor_loaded)
            rc = vload_anchor(&v, &v.devs[i], name);
        if (rc == SIGNET_OK && v.devs[i].n_anchor > v.devs[i].n)
            report_add(v.rep, SIGNET_FIND_ANCHOR, name, 0,
                       "device %u's log is shorter than its anchor: its beginning was removed",
                       v.devs[i].serial);
    }
    free(serials);
    if (rc)
        goto done;

    bool tree_ok;
    if ((rc = vcheck_leaves(&v, &tree_ok)))
        goto done;
    /* Checkpoints before pairing: a published checkpoint tells a deleted checkpoint
     * record from an interrupted one. */
    if ((rc = vcheck_checkpoints(&v, have_k ? &k : NULL, tree_ok)) || (rc = vpair_records(&v)))
        goto done;
    check_links(&v);
    if (o && o->known_checkpoint && (rc = vcheck_known(&v, have_k ? &k : NULL, o->known_checkpoint, tree_ok)))
        goto done;
    if (o && o->live)
        vcheck_live(&v, o->live, o->live_serial);
    for (size_t i = 0; i < v.n_recs; i++) {
        if (v.recs[i].type == SIGNET_REC_SIGN && v.recs[i].slot >= 0)
            v.rep->u[v.recs[i].slot].count++;
        if (v.recs[i].type == SIGNET_REC_REUSE && v.recs[i].slot >= 0)
            v.rep->u[v.recs[i].slot].reuses++;
    }
    if (o && o->expect_path && (rc = vcheck_expect(&v, o->expect_path)))
        goto done;

    vapply_acks(&v);

    /* Summary. */
    v.rep->leaves = v.max_plus1;
    v.rep->records = v.n_recs;
    v.rep->devs = calloc(v.n_devs ? v.n_devs : 1, sizeof *v.rep->devs);
    if (!v.rep->devs) {
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < v.n_devs; i++) {
        vdev *d = &v.devs[i];
        report_dev *rd = &v.rep->devs[v.rep->ndevs++];
        rd->serial = d->serial;
        rd->first_seq = d->n ? d->e[0].seq : 0;
        rd->last_seq = d->n ? d->e[d->n - 1].seq : 0;
        v.rep->entries += d->n;
        for (size_t j = 0; j < d->n; j++)
            if (signet_command_is_signing(d->e[j].cmd)) {
                if (d->e[j].result == YH_RESPONSE(d->e[j].cmd))
                    rd->signatures++;
                else
                    rd->failed++;
            }
    }
    snprintf(p, sizeof p, "%s/%s", dir, INCOMPLETE_FILE);
    char *inc;
    size_t inclen;
    signet_rc irc = file_read_all(p, &inc, &inclen);
    if (irc == SIGNET_OK) {
        for (size_t i = 0; i < inclen; i++)
            v.rep->set_aside += inc[i] == '\n';
        free(inc);
    } else if (irc == SIGNET_E_NOMEM) {
        rc = irc;
    } else {
        signet_err_clear();
    }

done:
    for (size_t i = 0; i < v.n_devs; i++) {
        free(v.devs[i].e);
        free(v.devs[i].anchor);
    }
    free(v.devs);
    free(v.recs);
    free(v.covers);
    free(v.cp_sizes);
    free(v.acks);
    free(v.logkeys);
    free(v.hashes);
    free(v.where);
    free(v.file_of);
    free(v.seen);
    merkle_tree_free(v.tree);
    if (rc == SIGNET_OK && v.rep->nomem)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory recording findings: verification stopped");
    if (rc)
        return rc;
    return report_failed(v.rep) ? SIGNET_E_VERIFY : SIGNET_OK;
}

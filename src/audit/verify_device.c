/* Verifying device chains: each device log starts with its anchor (the log as read
 * at the ceremony), every entry chains from the previous one by digest, numbers and
 * the trail's running count agree, and a restart at entry 1 (a reset) is explained
 * by a signed reset record bound to the entry just before it. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

vdev *vdev_of(vstate *v, uint32_t serial)
{
    for (size_t i = 0; i < v->n_devs; i++)
        if (v->devs[i].serial == serial)
            return &v->devs[i];
    return NULL;
}

ventry *vfind_entry(vdev *d, uint64_t seq)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->e[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n && d->e[lo].seq == seq ? &d->e[lo] : NULL;
}

/* Loads anchors/device-S.anchor; a missing or broken anchor is a finding. */
signet_rc vload_anchor(vstate *v, vdev *d, const char *fname)
{
    char path[PATH_MAX], aname[64];
    anchor_name(d->serial, aname);
    snprintf(path, sizeof path, "%s/%s/%s", v->dir, ANCHOR_DIR, aname);
    d->anchor_loaded = true;
    line_reader r;
    signet_rc orc = lr_open(&r, path);
    if (orc == SIGNET_E_NOMEM)
        return orc;
    if (orc != SIGNET_OK) {
        report_add(v->rep, SIGNET_FIND_ANCHOR, fname, 0,
                   "device %u has no anchor (%s/%s): its chain cannot be tied to the key ceremony",
                   d->serial, ANCHOR_DIR, aname);
        return SIGNET_OK;
    }
    const char *line;
    size_t len;
    int kind;
    signet_rc rc = SIGNET_OK;
    while ((rc = lr_next(&r, &line, &len, &kind)) == SIGNET_OK && kind) {
        yh_log_entry e;
        if (kind != 1 || anchor_line_parse(line, len, &e) != SIGNET_OK) {
            report_add(v->rep, SIGNET_FIND_ANCHOR, aname, r.lineno, "the anchor is malformed: %s",
                       kind != 1 ? "incomplete last line" : signet_errmsg());
            break;
        }
        yh_log_entry *na = realloc(d->anchor, (d->n_anchor + 1) * sizeof *na);
        if (!na) {
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory reading the anchor of device %u", d->serial);
            break;
        }
        d->anchor = na;
        d->anchor[d->n_anchor++] = e;
    }
    lr_close(&r);
    if (rc != SIGNET_OK && rc != SIGNET_E_NOMEM) {
        report_add(v->rep, SIGNET_FIND_ANCHOR, aname, r.lineno, "the anchor is malformed: %s", signet_errmsg());
        rc = SIGNET_OK;
    }
    return rc;
}

static bool same_entry(const yh_log_entry *a, const yh_log_entry *b)
{
    return a->number == b->number && a->command == b->command && a->length == b->length &&
           a->session_key == b->session_key && a->target_key == b->target_key &&
           a->second_key == b->second_key && a->result == b->result && a->systick == b->systick &&
           memcmp(a->digest, b->digest, YH_LOG_DIGEST_LEN) == 0;
}

/* A reset is explained by a reset record of this device, validly signed by a record
 * key, made before the restart and bound to the last entry before it (the signer
 * drained, signed, then reset; a reset destroys the device's log key, so nothing
 * after the reset could vouch for it).  Returns that record, else NULL with *near
 * the newest reset record of the device since its previous restart (for the
 * message). */
static const vrec *reset_record(const vstate *v, const vdev *d, uint64_t index, const vrec **near)
{
    *near = NULL;
    for (size_t i = 0; i < v->n_recs; i++) {
        const vrec *x = &v->recs[i];
        if (x->type != SIGNET_REC_SERVICE || x->serial != d->serial || x->command != 1 ||
            x->index >= index || x->index < d->restart_index)
            continue;
        if (x->rsig_ok && x->seq == d->last_seq)
            return x;
        *near = x;
    }
    return NULL;
}

static void report_restart(vstate *v, vdev *d, const char *fname, uint64_t lineno, uint64_t index)
{
    const vrec *near;
    const vrec *ok = reset_record(v, d, index, &near);
    d->restart_index = index;
    if (ok)
        return;
    if (!near)
        report_add(v->rep, SIGNET_FIND_RESTART, fname, lineno,
                   "device %u's log restarted at entry 1 (a device reset) with no service "
                   "record of event=reset before it", d->serial);
    else if (!near->rsig_ok)
        report_add(v->rep, SIGNET_FIND_RESTART, fname, lineno,
                   "device %u's log restarted at entry 1 (a device reset); the reset record "
                   "(records.log line %llu) is not validly signed by a record key, so it does "
                   "not explain it", d->serial, (unsigned long long)near->line);
    else
        report_add(v->rep, SIGNET_FIND_RESTART, fname, lineno,
                   "device %u's log restarted at entry 1 (a device reset) after entry seq %llu, "
                   "but the reset record (records.log line %llu) is bound to entry seq %llu, so "
                   "it does not explain it", d->serial, (unsigned long long)d->last_seq,
                   (unsigned long long)near->line, (unsigned long long)near->seq);
}

signet_rc vdevice_line(vstate *v, vdev *d, const char *fname, uint64_t lineno, const devline *dl)
{
    signet_rc rc;
    if (dl->type == DEVLINE_UNLOGGED) {
        if (dl->boots || dl->auths)
            report_add(v->rep, SIGNET_FIND_UNLOGGED, fname, lineno,
                       "device %u reported %u unlogged boots and %u unlogged authentications: the "
                       "log was full and events went unrecorded (treat as an incident)",
                       d->serial, dl->boots, dl->auths);
        return SIGNET_OK;
    }
    const yh_log_entry *e = &dl->e;
    size_t k = d->n; /* position of this entry in the device log */
    if (!d->anchor_loaded && (rc = vload_anchor(v, d, fname)))
        return rc;
    if (k < d->n_anchor && !same_entry(e, &d->anchor[k]))
        report_add(v->rep, SIGNET_FIND_ANCHOR, fname, lineno,
                   "device %u entry %u differs from entry %zu of its anchor: the log does not start "
                   "from the ceremony's state", d->serial, e->number, k + 1);
    if (d->have) {
        uint64_t step = dl->seq - d->last_seq;
        if (dl->seq <= d->last_seq) {
            report_add(v->rep, SIGNET_FIND_CHAIN, fname, lineno,
                       "device %u: entry seq %llu comes after seq %llu: entries were reordered or "
                       "duplicated", d->serial, (unsigned long long)dl->seq,
                       (unsigned long long)d->last_seq);
        } else if (entry_is_start(e) && !entry_is_start(&d->last)) {
            report_restart(v, d, fname, lineno, dl->index);
        } else if ((uint16_t)(d->last.number + step) != e->number) {
            report_add(v->rep, SIGNET_FIND_CHAIN, fname, lineno,
                       "device %u: entry number %u does not follow %u at seq %llu", d->serial,
                       e->number, d->last.number, (unsigned long long)dl->seq);
        } else if (step > 1) {
            report_add(v->rep, SIGNET_FIND_GAP, fname, lineno,
                       "device %u: %llu entries before entry %u were lost before being drained (the "
                       "log wrapped): what they did is unknown", d->serial,
                       (unsigned long long)(step - 1), e->number);
        } else if (!yh_log_entry_verify(e, d->last.digest)) {
            report_add(v->rep, SIGNET_FIND_CHAIN, fname, lineno,
                       "device %u entry %u: its digest does not chain from entry %u: the entry or "
                       "the one before it was altered", d->serial, e->number, d->last.number);
        }
    }
    d->have = true;
    d->last = *e;
    d->last_seq = dl->seq;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 256;
        ventry *ne = realloc(d->e, ncap * sizeof *ne);
        if (!ne)
            return signet_fail(SIGNET_E_NOMEM, "out of memory reading %zu entries of device %u", ncap,
                               d->serial);
        d->e = ne;
        d->cap = ncap;
    }
    d->e[d->n++] = (ventry){dl->seq, dl->index, lineno, e->target_key, e->session_key, e->number,
                            e->command, e->result, 0};
    return SIGNET_OK;
}

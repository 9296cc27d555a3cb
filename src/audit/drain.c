/* Draining the device audit log into the trail: anchors, ingestion (chain checks,
 * gaps, restarts) and the Get Log Entries / Set Log Index round trip. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit_internal.h"

static void write_entry_line(uint32_t serial, uint64_t index, uint64_t seq, const yh_log_entry *e,
                             sb_wr *w, signet_rc *rc)
{
    devline d = {.type = DEVLINE_ENTRY, .index = index, .serial = serial, .seq = seq, .e = *e};
    if (*rc == SIGNET_OK)
        *rc = devline_format(&d, w);
    if (*rc == SIGNET_OK)
        *rc = sbw_u8(w, '\n');
}

/* Builds the lines for the new entries of `log` and appends them in one durable
 * write.  anchor_mode: the device has no log here yet; the first entry starts it. */
static signet_rc ingest(signet_trail *t, uint32_t serial, const hsm_log *log, bool anchor_mode,
                        signet_drain_result *out)
{
    dev_tail *d = trail_dev(t, serial, true);
    if (!d)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (!anchor_mode && !d->have)
        return signet_fail(SIGNET_E_STATE,
                           "device %u has no anchor in %s: anchor it first (`signet audit anchor`), "
                           "ideally right after a reset at the key ceremony", serial, t->dir);
    if (log->n > YH_LOG_CAPACITY)
        return signet_fail(SIGNET_E_PARSE, "device returned %zu log entries, more than %d", log->n,
                           YH_LOG_CAPACITY);
    signet_drain_result res;
    memset(&res, 0, sizeof res);
    res.unlogged_boots = log->unlogged_boots;
    res.unlogged_auths = log->unlogged_auths;

    dev_tail cur = *d;
    uint64_t index = t->next_index;
    sb_wr w;
    sbw_init(&w, (size_t)(YH_LOG_CAPACITY + 1) * 512);
    signet_rc rc = SIGNET_OK;
    /* Entries up to the trail's newest one are still on the device when nobody
     * set the log index (e.g. right after anchoring): skip them as a whole, so
     * that a re-read entry 1 is not mistaken for a reset.  The digest chain makes
     * "same number, same digest" mean "same history". */
    size_t first_new = 0;
    for (size_t i = 0; cur.have && i < log->n; i++)
        if (log->entries[i].number == cur.last.number &&
            memcmp(log->entries[i].digest, cur.last.digest, YH_LOG_DIGEST_LEN) == 0)
            first_new = i + 1;
    for (size_t i = first_new; rc == SIGNET_OK && i < log->n; i++) {
        const yh_log_entry *e = &log->entries[i];
        uint64_t seq;
        if (!cur.have) {
            seq = 1;
        } else {
            uint16_t delta = (uint16_t)(e->number - cur.last.number);
            if (entry_is_start(e) && !entry_is_start(&cur.last)) {
                /* The log restarted at entry 1: the device was reset. */
                res.restarted = true;
                seq = cur.seq + 1;
            } else if (delta == 0 || delta >= 0x8000) {
                /* Already in the trail (not consumed yet): the newest one we hold
                 * must be the very same entry. */
                if (delta == 0 && memcmp(e->digest, cur.last.digest, YH_LOG_DIGEST_LEN) != 0) {
                    rc = signet_fail(SIGNET_E_VERIFY,
                                     "device %u entry %u differs from the trail's copy: the trail or "
                                     "the device is not what it claims; nothing was appended "
                                     "(run `signet audit verify`)", serial, e->number);
                }
                continue;
            } else if (delta == 1) {
                if (!yh_log_entry_verify(e, cur.last.digest)) {
                    rc = signet_fail(SIGNET_E_VERIFY,
                                     "device %u entry %u does not chain from the trail's entry %u: "
                                     "the trail or the device log was altered; nothing was appended "
                                     "(run `signet audit verify`)", serial, e->number, cur.last.number);
                    continue;
                }
                seq = cur.seq + 1;
            } else {
                /* Entries were overwritten before anyone drained them: keep the
                 * count honest and say so. */
                res.lost += (uint64_t)delta - 1;
                seq = cur.seq + delta;
            }
        }
        write_entry_line(serial, index, seq, e, &w, &rc);
        if (rc == SIGNET_OK && res.n_new < YH_LOG_CAPACITY)
            res.entries[res.n_new++] = (signet_dev_entry){seq, index, *e};
        index++;
        cur.have = true;
        cur.seq = seq;
        cur.last = *e;
    }
    if (rc == SIGNET_OK && (log->unlogged_boots || log->unlogged_auths)) {
        devline u = {.type = DEVLINE_UNLOGGED, .index = index++, .serial = serial,
                     .boots = log->unlogged_boots, .auths = log->unlogged_auths};
        if ((rc = devline_format(&u, &w)) == SIGNET_OK)
            rc = sbw_u8(&w, '\n');
    }
    if (rc == SIGNET_OK && w.len) {
        char name[64];
        device_log_name(serial, name);
        rc = file_append_durable(t->dir, name, w.p, w.len);
    }
    sbw_free(&w);
    if (rc)
        return rc;
    *d = cur;
    t->next_index = index;
    if (out)
        *out = res;
    return SIGNET_OK;
}

signet_rc signet_trail_add_anchor(signet_trail *t, uint32_t serial, const hsm_log *log)
{
    signet_rc rc = trail_require_lock(t);
    if (rc)
        return rc;
    dev_tail *d = trail_dev(t, serial, false);
    char aname[64], adir[PATH_MAX], apath[PATH_MAX + 64];
    anchor_name(serial, aname);
    snprintf(adir, sizeof adir, "%s/%s", t->dir, ANCHOR_DIR);
    snprintf(apath, sizeof apath, "%s/%s", adir, aname);
    if ((d && d->have) || access(apath, F_OK) == 0)
        return signet_fail(SIGNET_E_STATE, "device %u is anchored already in %s", serial, t->dir);
    if (log->n == 0)
        return signet_fail(SIGNET_E_ARG, "an anchor needs at least one log entry");
    if (!entry_is_start(&log->entries[0]))
        fprintf(stderr, "signet: warning: device %u's log does not begin at entry 1 (it was not "
                "reset just before): the anchor starts at entry %u\n", serial, log->entries[0].number);
    sb_wr w;
    sbw_init(&w, (size_t)(YH_LOG_CAPACITY + 1) * 256);
    for (size_t i = 0; rc == SIGNET_OK && i < log->n; i++) {
        if ((rc = anchor_line_format(&log->entries[i], &w)) == SIGNET_OK)
            rc = sbw_u8(&w, '\n');
    }
    /* The anchor must chain by itself before it becomes the root of trust. */
    for (size_t i = 1; rc == SIGNET_OK && i < log->n; i++)
        if (!yh_log_entry_verify(&log->entries[i], log->entries[i - 1].digest))
            rc = signet_fail(SIGNET_E_VERIFY, "device %u's log entry %u does not chain from entry %u",
                             serial, log->entries[i].number, log->entries[i - 1].number);
    if (rc == SIGNET_OK)
        rc = file_write_atomic(adir, aname, w.p, w.len);
    sbw_free(&w);
    if (rc == SIGNET_OK)
        rc = ingest(t, serial, log, true, NULL);
    return rc;
}

signet_rc signet_trail_ingest(signet_trail *t, uint32_t serial, const hsm_log *log,
                              signet_drain_result *out)
{
    signet_rc rc = trail_require_lock(t);
    return rc ? rc : ingest(t, serial, log, false, out);
}

const signet_dev_entry *signet_drain_find(const signet_drain_result *d, uint8_t command,
                                          uint16_t key_id, uint16_t auth_id)
{
    for (size_t i = d->n_new; i > 0; i--) {
        const signet_dev_entry *e = &d->entries[i - 1];
        if (e->e.command == command && e->e.target_key == key_id && e->e.session_key == auth_id &&
            e->e.result == YH_RESPONSE(command))
            return e;
    }
    return NULL;
}

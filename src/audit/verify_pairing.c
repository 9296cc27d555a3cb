/* Verifying that records and device entries explain each other: every sign,
 * checkpoint and key record names a device entry that did exactly that; every
 * successful device signature has its record, or an open intent that explains it
 * as interrupted; an intent nothing answered is noted as never signed; a checkpoint
 * whose record is gone is a deleted line, not a crash. */
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

static bool intent_matches(const vrec *x, uint32_t serial, uint16_t key, uint16_t auth, uint8_t cmd)
{
    return x->serial == serial && x->key_id == key && x->auth == auth && x->command == cmd;
}

/* The device commands a key record may name. */
static bool key_command_ok(uint8_t event, uint8_t cmd)
{
    switch (event) {
    case KEY_GENERATED: return cmd == YH_CMD_GENERATE_ASYMMETRIC_KEY;
    case KEY_IMPORTED: return cmd == YH_CMD_PUT_ASYMMETRIC_KEY || cmd == YH_CMD_IMPORT_WRAPPED;
    case KEY_DELETED: return cmd == YH_CMD_DELETE_OBJECT;
    default: return true;
    }
}

/* Intents still open after their process stopped: each sign record closes the
 * newest earlier open intent of the same device, key, session key and command.
 * Signers hold the trail lock from intent to record, so the open list stays tiny
 * and this is linear in the records. */
static signet_rc open_intents(vstate *v, vrec ***out, size_t *n_open)
{
    vrec **open = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < v->n_recs; i++) {
        vrec *x = &v->recs[i];
        if (x->type == SIGNET_REC_INTENT) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                vrec **no = realloc(open, ncap * sizeof *no);
                if (!no) {
                    free(open);
                    return signet_fail(SIGNET_E_NOMEM, "out of memory pairing intents");
                }
                open = no;
                cap = ncap;
            }
            open[n++] = x;
        } else if (x->type == SIGNET_REC_SIGN || x->type == SIGNET_REC_CHECKPOINT) {
            uint8_t cmd = x->type == SIGNET_REC_SIGN ? x->command : YH_CMD_SIGN_EDDSA;
            for (size_t j = n; j-- > 0;)
                if (intent_matches(open[j], x->serial, x->key_id, x->auth, cmd)) {
                    memmove(&open[j], &open[j + 1], (n - j - 1) * sizeof *open);
                    n--;
                    break;
                }
        }
    }
    *out = open;
    *n_open = n;
    return SIGNET_OK;
}

/* A record that names a device entry: it must exist and be what the record says. */
static void pair_one(vstate *v, vrec *x)
{
    vdev *d = vdev_of(v, x->serial);
    ventry *e = d ? vfind_entry(d, x->seq) : NULL;
    const char *what = x->type == SIGNET_REC_KEY ? "key record" : "record";
    if (!e) {
        report_add(v->rep, SIGNET_FIND_FORGED, RECORDS_FILE, x->line,
                   "the %s names device %u entry seq %llu, which the device never logged: "
                   "a forged record (or the device log lost it)", what, x->serial,
                   (unsigned long long)x->seq);
        return;
    }
    bool match;
    if (x->type == SIGNET_REC_KEY) {
        match = key_command_ok(x->event, e->cmd) && e->target == x->key_id && e->sess == x->auth &&
                e->result == YH_RESPONSE(e->cmd);
    } else {
        uint8_t want = x->type == SIGNET_REC_SIGN ? x->command : YH_CMD_SIGN_EDDSA;
        match = e->cmd == want && e->target == x->key_id && e->sess == x->auth &&
                e->result == YH_RESPONSE(want);
    }
    if (!match) {
        report_add(v->rep, SIGNET_FIND_FORGED, RECORDS_FILE, x->line,
                   "the %s does not match its device entry: it claims key 0x%04x (session key "
                   "0x%04x) but device %u entry %u was command 0x%02x on key 0x%04x (session key "
                   "0x%04x, result 0x%02x): a forged record", what, x->key_id, x->auth, x->serial,
                   e->number, e->cmd, e->target, e->sess, e->result);
        return;
    }
    if (e->used) {
        report_add(v->rep, SIGNET_FIND_REUSED, RECORDS_FILE, x->line,
                   "device %u entry %u (seq %llu) is claimed by a second record", x->serial, e->number,
                   (unsigned long long)e->seq);
        return;
    }
    e->used = 1;
}

/* A checkpoint's note is appended only after its record: a valid note for the
 * tree that ended at this intent means the record was written and is now gone. */
static bool note_follows(const vstate *v, const vrec *intent)
{
    for (size_t i = 0; i < v->n_cp_sizes; i++)
        if (v->cp_sizes[i] == intent->index + 1)
            return true;
    return false;
}

/* Sign records of a device without a log (a PKCS#11 token) name no entry: they
 * stand alone.  Claiming that for a device whose log is in the trail is a forgery;
 * otherwise one notice per device says what such a trail cannot show. */
static void standalone_records(vstate *v)
{
    struct {
        uint32_t serial;
        uint64_t n, line;
    } devs[16];
    size_t nd = 0;
    for (size_t i = 0; i < v->n_recs; i++) {
        vrec *x = &v->recs[i];
        if (x->type != SIGNET_REC_SIGN || !x->no_log)
            continue;
        if (vdev_of(v, x->serial)) {
            report_add(v->rep, SIGNET_FIND_FORGED, RECORDS_FILE, x->line,
                       "the record says device %u keeps no log, but that device's log is in the "
                       "trail: a forged record", x->serial);
            continue;
        }
        size_t k = 0;
        while (k < nd && devs[k].serial != x->serial)
            k++;
        if (k == nd && nd < sizeof devs / sizeof devs[0]) {
            devs[nd].serial = x->serial;
            devs[nd].n = 0;
            devs[nd++].line = x->line;
        }
        if (k < nd)
            devs[k].n++;
    }
    for (size_t k = 0; k < nd; k++)
        report_add(v->rep, SIGNET_FIND_NO_DEVICE_LOG, RECORDS_FILE, devs[k].line,
                   "device %u keeps no log (a PKCS#11 token): its %llu sign record%s stand alone; "
                   "this trail cannot show signatures the token made outside signet, nor whether "
                   "an interrupted signature was made", devs[k].serial,
                   (unsigned long long)devs[k].n, devs[k].n == 1 ? "" : "s");
}

/* A signed service record is bound to the device log position it explains: the
 * device's newest entry when it was recorded, which the trail holds before it. */
static void check_service(vstate *v, const vrec *x)
{
    vdev *d = vdev_of(v, x->serial);
    ventry *e = d && x->seq ? vfind_entry(d, x->seq) : NULL;
    if (!x->seq)
        report_add(v->rep, SIGNET_FIND_SERVICE, RECORDS_FILE, x->line,
                   "the service record of device %u is bound to no device log position (no seq): "
                   "it cannot say which part of the log it explains", x->serial);
    else if (!e || e->index > x->index)
        report_add(v->rep, SIGNET_FIND_SERVICE, RECORDS_FILE, x->line,
                   "the service record is bound to device %u entry seq %llu, which the trail does "
                   "not hold before it: a forged service record", x->serial,
                   (unsigned long long)x->seq);
}

signet_rc vpair_records(vstate *v)
{
    for (size_t i = 0; i < v->n_recs; i++) {
        vrec *x = &v->recs[i];
        if ((x->type == SIGNET_REC_SIGN && !x->no_log) || x->type == SIGNET_REC_CHECKPOINT ||
            (x->type == SIGNET_REC_KEY && x->seq))
            pair_one(v, x);
        if (x->type == SIGNET_REC_SERVICE && x->rsig_ok)
            check_service(v, x);
    }
    standalone_records(v);
    size_t n_open = 0;
    vrec **open = NULL;
    signet_rc rc = open_intents(v, &open, &n_open);
    if (rc)
        return rc;
    for (size_t k = 0; k < v->n_devs; k++) {
        vdev *d = &v->devs[k];
        for (size_t j = 0; j < d->n; j++) {
            ventry *e = &d->e[j];
            if (!signet_command_is_signing(e->cmd) || e->result != YH_RESPONSE(e->cmd) || e->used)
                continue;
            size_t o = 0;
            while (o < n_open && !(open[o]->index < e->index &&
                                   intent_matches(open[o], d->serial, e->target, e->sess, e->cmd)))
                o++;
            if (o < n_open && open[o]->command == YH_CMD_SIGN_EDDSA && note_follows(v, open[o])) {
                report_add(v->rep, SIGNET_FIND_LEAF_MISSING, RECORDS_FILE, open[o]->line,
                           "the checkpoint record after this intent (device %u entry %u) is missing "
                           "although its signed checkpoint was published: a record line was deleted",
                           d->serial, e->number);
            } else if (o < n_open) {
                report_add(v->rep, SIGNET_FIND_TORN_TAIL, d->fname, e->line,
                           "device %u entry %u: an interrupted %s signature by key 0x%04x: its "
                           "intent is recorded (records.log line %llu) but the signer stopped "
                           "before recording the signature, so it was never released",
                           d->serial, e->number, signet_mech_name(e->cmd), e->target,
                           (unsigned long long)open[o]->line);
            } else {
                report_add(v->rep, SIGNET_FIND_UNRECORDED, d->fname, e->line,
                           "device %u entry %u: a %s signature by key 0x%04x (session key 0x%04x) "
                           "has no record: something signed outside signet", d->serial, e->number,
                           signet_mech_name(e->cmd), e->target, e->sess);
                continue;
            }
            memmove(&open[o], &open[o + 1], (n_open - o - 1) * sizeof *open);
            n_open--;
        }
    }
    /* What is left asked the device for nothing it did: a signer stopped before
     * the device signed (or the intent was added by hand).  Nothing was signed. */
    for (size_t o = 0; o < n_open; o++)
        if (!vdev_of(v, open[o]->serial))
            report_add(v->rep, SIGNET_FIND_NO_DEVICE_LOG, RECORDS_FILE, open[o]->line,
                       "an intent for a %s signature by key 0x%04x on device %u, which keeps no "
                       "log, has no sign record: the signer stopped; whether the device signed "
                       "cannot be known, but no signature was released",
                       signet_mech_name(open[o]->command) ? signet_mech_name(open[o]->command) : "?",
                       open[o]->key_id, open[o]->serial);
        else
            report_add(v->rep, SIGNET_FIND_NEVER_SIGNED, RECORDS_FILE, open[o]->line,
                   "never signed: an intent for a %s signature by key 0x%04x on device %u has no "
                   "device entry: the signer stopped before asking the device (or the intent was "
                   "written by hand); nothing was signed",
                   signet_mech_name(open[o]->command) ? signet_mech_name(open[o]->command) : "?",
                   open[o]->key_id, open[o]->serial);
    free(open);
    return SIGNET_OK;
}

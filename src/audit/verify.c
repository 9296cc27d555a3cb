/* Verifying a trail: leaves complete and in order, device chains from their anchors,
 * records paired with device entries both ways, checkpoints signed and consistent,
 * freshness against a known checkpoint or the live device, expected key usage.
 * Every problem becomes a finding with a message that says what it means. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "verify_internal.h"

static signet_rc grow_leaves(vstate *v, uint64_t index)
{
    if (index < v->cap)
        return SIGNET_OK;
    uint64_t ncap = v->cap ? v->cap : 4096;
    while (ncap <= index)
        ncap *= 2;
    uint8_t *h = realloc(v->hashes, ncap * SIGNET_HASH_LEN);
    if (h) v->hashes = h;
    uint32_t *w = realloc(v->where, ncap * sizeof *w);
    if (w) v->where = w;
    uint8_t *f = realloc(v->file_of, ncap);
    if (f) v->file_of = f;
    uint8_t *s = realloc(v->seen, ncap);
    if (s) v->seen = s;
    if (!h || !w || !f || !s)
        return signet_fail(SIGNET_E_NOMEM, "out of memory verifying a trail of %llu leaves",
                           (unsigned long long)ncap);
    memset(v->seen + v->cap, 0, ncap - v->cap);
    v->cap = ncap;
    return SIGNET_OK;
}

static vdev *dev_of(vstate *v, uint32_t serial)
{
    for (size_t i = 0; i < v->n_devs; i++)
        if (v->devs[i].serial == serial)
            return &v->devs[i];
    return NULL;
}

/* Loads anchors/device-S.anchor; a missing or broken anchor is a finding. */
static void load_anchor(vstate *v, vdev *d, const char *fname)
{
    char path[PATH_MAX], aname[64];
    anchor_name(d->serial, aname);
    snprintf(path, sizeof path, "%s/%s/%s", v->dir, ANCHOR_DIR, aname);
    d->anchor_loaded = true;
    line_reader r;
    if (lr_open(&r, path) != SIGNET_OK) {
        report_add(v->rep, SIGNET_FIND_ANCHOR, fname, 0,
                   "device %u has no anchor (%s/%s): its chain cannot be tied to the key ceremony",
                   d->serial, ANCHOR_DIR, aname);
        return;
    }
    const char *line;
    size_t len;
    int kind;
    while (lr_next(&r, &line, &len, &kind) == SIGNET_OK && kind) {
        yh_log_entry e;
        if (kind != 1 || anchor_line_parse(line, len, &e) != SIGNET_OK) {
            report_add(v->rep, SIGNET_FIND_ANCHOR, aname, r.lineno, "the anchor is malformed: %s",
                       kind != 1 ? "incomplete last line" : signet_errmsg());
            break;
        }
        yh_log_entry *na = realloc(d->anchor, (d->n_anchor + 1) * sizeof *na);
        if (!na)
            break;
        d->anchor = na;
        d->anchor[d->n_anchor++] = e;
    }
    lr_close(&r);
}

static bool same_entry(const yh_log_entry *a, const yh_log_entry *b)
{
    return a->number == b->number && a->command == b->command && a->length == b->length &&
           a->session_key == b->session_key && a->target_key == b->target_key &&
           a->second_key == b->second_key && a->result == b->result && a->systick == b->systick &&
           memcmp(a->digest, b->digest, YH_LOG_DIGEST_LEN) == 0;
}

/* True when a service record of event reset for this device precedes leaf index. */
static bool reset_recorded(const vstate *v, uint32_t serial, uint64_t index)
{
    for (size_t i = 0; i < v->n_recs; i++)
        if (v->recs[i].type == SIGNET_REC_SERVICE && v->recs[i].serial == serial &&
            v->recs[i].command == 1 && v->recs[i].index < index)
            return true;
    return false;
}

static void device_line(vstate *v, vdev *d, const char *fname, uint64_t lineno, const devline *dl)
{
    if (dl->type == DEVLINE_UNLOGGED) {
        if (dl->boots || dl->auths)
            report_add(v->rep, SIGNET_FIND_UNLOGGED, fname, lineno,
                       "device %u reported %u unlogged boots and %u unlogged authentications: the "
                       "log was full and events went unrecorded (treat as an incident)",
                       d->serial, dl->boots, dl->auths);
        return;
    }
    const yh_log_entry *e = &dl->e;
    size_t k = d->n; /* position of this entry in the device log */
    if (!d->anchor_loaded)
        load_anchor(v, d, fname);
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
            if (!reset_recorded(v, d->serial, dl->index))
                report_add(v->rep, SIGNET_FIND_RESTART, fname, lineno,
                           "device %u's log restarted at entry 1 (a device reset) with no service "
                           "record of event=reset before it", d->serial);
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
            return;
        d->e = ne;
        d->cap = ncap;
    }
    d->e[d->n++] = (ventry){dl->seq, dl->index, lineno, e->target_key, e->session_key, e->number,
                            e->command, e->result, 0};
}

static signet_rc sha16(const uint8_t *p, size_t n, uint8_t out[16])
{
    uint8_t h[SIGNET_HASH_LEN];
    if (EVP_Digest(p, n, h, NULL, EVP_sha256(), NULL) != 1)
        return signet_fail(SIGNET_E_NOMEM, "SHA-256 failed while verifying (out of memory?)");
    memcpy(out, h, 16);
    return SIGNET_OK;
}

static signet_rc record_line(vstate *v, uint64_t lineno, const signet_record *r)
{
    if (v->n_recs == v->cap_recs) {
        size_t ncap = v->cap_recs ? v->cap_recs * 2 : 1024;
        vrec *nr = realloc(v->recs, ncap * sizeof *nr);
        if (!nr)
            return signet_fail(SIGNET_E_NOMEM, "out of memory reading %zu records", ncap);
        v->recs = nr;
        v->cap_recs = ncap;
    }
    if (r->type == SIGNET_REC_BIND && v->n_cover + r->n_covers > v->cap_cover) {
        size_t ncap = v->cap_cover ? v->cap_cover : 1024;
        while (ncap < v->n_cover + r->n_covers)
            ncap *= 2;
        uint64_t *nc = realloc(v->covers, ncap * sizeof *nc);
        if (!nc)
            return signet_fail(SIGNET_E_NOMEM, "out of memory reading binding records");
        v->covers = nc;
        v->cap_cover = ncap;
    }
    vrec *x = &v->recs[v->n_recs];
    memset(x, 0, sizeof *x);
    x->index = r->index;
    x->line = lineno;
    x->seq = r->seq;
    x->serial = r->serial;
    x->key_id = r->key_id;
    x->auth = r->auth_id;
    x->type = (uint8_t)r->type;
    x->command = r->command;
    x->tree_size = r->tree_size;
    x->slot = -1;
    x->original = r->original;
    memcpy(x->root, r->root, SIGNET_HASH_LEN);
    memcpy(x->data16, r->data_sha256, 16);
    memcpy(x->art16, r->artifact_sha256, 16);
    x->has_art = r->has_artifact_sha256;
    signet_rc rc = SIGNET_OK;
    if (r->type == SIGNET_REC_SIGN || r->type == SIGNET_REC_REUSE) {
        x->slot = report_usage_slot(v->rep, r->key_name, r->key_id);
        if (x->slot < 0)
            return signet_fail(SIGNET_E_NOMEM, "out of memory counting key usage");
        rc = sha16(r->sig, r->sig_len, x->sig16);
    }
    if (r->type == SIGNET_REC_SERVICE)
        x->command = strcmp(r->event, "reset") == 0; /* reused as "is a reset" */
    if (r->type == SIGNET_REC_BIND) {
        x->cover_off = v->n_cover;
        x->n_covers = (uint32_t)r->n_covers;
        memcpy(v->covers + v->n_cover, r->covers, r->n_covers * sizeof *r->covers);
        v->n_cover += r->n_covers;
    }
    if (rc == SIGNET_OK)
        v->n_recs++;
    return rc;
}

/* Reads one leaf file: indexes, leaf hashes, and the device or record lines. */
static signet_rc read_leaf_file(vstate *v, const char *name, vdev *d)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", v->dir, name);
    line_reader r;
    signet_rc rc = lr_open(&r, path);
    if (rc == SIGNET_E_NOTFOUND)
        return SIGNET_OK;
    if (rc)
        return rc;
    if (v->n_files == 64)
        return signet_fail(SIGNET_E_UNSUPPORTED, "more than 63 device logs in one trail");
    uint8_t fno = (uint8_t)v->n_files;
    snprintf(v->files[v->n_files++], 64, "%s", name);
    signet_record *rec = malloc(sizeof *rec);
    if (!rec) {
        lr_close(&r);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    uint64_t prev_index = 0;
    bool have_prev = false;
    const char *line;
    size_t len;
    int kind;
    for (;;) {
        rc = lr_next(&r, &line, &len, &kind);
        if (rc) {
            report_add(v->rep, SIGNET_FIND_PARSE, name, r.lineno + 1, "%s; the rest of the file was not read",
                       signet_errmsg());
            rc = SIGNET_OK;
            break;
        }
        if (kind == 0)
            break;
        if (kind == 2) {
            report_add(v->rep, SIGNET_FIND_TORN_TAIL, name, r.lineno,
                       "1 incomplete tail record: the file ends inside a line (a crash while "
                       "writing); the next writer sets it aside into incomplete.log");
            break;
        }
        devline dl;
        signet_rc prc = d ? devline_parse(line, len, &dl) : signet_record_parse(line, len, rec);
        if (prc == SIGNET_OK && d && dl.serial != d->serial) {
            report_add(v->rep, SIGNET_FIND_PARSE, name, r.lineno, "a line of device %u in the log of device %u",
                       dl.serial, d->serial);
            continue;
        }
        uint64_t index;
        if (prc != SIGNET_OK) {
            report_add(v->rep, SIGNET_FIND_PARSE, name, r.lineno, "%s", signet_errmsg());
            /* Keep the leaf when at least its index reads, so that one bad byte is
             * not also reported as a deleted line. */
            kv_line kl;
            if (kv_parse(line, len, &kl) != SIGNET_OK || kv_get_u64(&kl, "i", true, &index) != SIGNET_OK)
                continue;
        } else {
            index = d ? dl.index : rec->index;
        }
        if (have_prev && index <= prev_index)
            report_add(v->rep, SIGNET_FIND_LEAF_ORDER, name, r.lineno,
                       "leaf %llu comes after leaf %llu: lines were reordered",
                       (unsigned long long)index, (unsigned long long)prev_index);
        have_prev = true;
        prev_index = index;
        if (index >= (UINT64_C(1) << 36)) {
            report_add(v->rep, SIGNET_FIND_PARSE, name, r.lineno, "leaf index %llu is implausible",
                       (unsigned long long)index);
            continue;
        }
        if ((rc = grow_leaves(v, index)))
            break;
        if (v->seen[index]) {
            report_add(v->rep, SIGNET_FIND_LEAF_DUP, name, r.lineno,
                       "leaf %llu appears twice (first in %s line %u): a line was copied",
                       (unsigned long long)index, v->files[v->file_of[index]], v->where[index]);
            continue;
        }
        v->seen[index] = 1;
        v->file_of[index] = fno;
        v->where[index] = (uint32_t)r.lineno;
        merkle_leaf_hash((const uint8_t *)line, len, v->hashes + index * SIGNET_HASH_LEN);
        if (index + 1 > v->max_plus1)
            v->max_plus1 = index + 1;
        if (prc == SIGNET_OK) {
            if (d)
                device_line(v, d, name, r.lineno, &dl);
            else if ((rc = record_line(v, r.lineno, rec)))
                break;
        }
    }
    free(rec);
    lr_close(&r);
    return rc;
}

static ventry *find_entry(vdev *d, uint64_t seq)
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

static bool intent_matches(const vrec *x, uint32_t serial, uint16_t key, uint16_t auth, uint8_t cmd)
{
    return x->serial == serial && x->key_id == key && x->auth == auth && x->command == cmd;
}

/* Intents still open after their process stopped: each sign record closes the
 * newest earlier open intent of the same device, key, session key and command.
 * Signers hold the trail lock from intent to record, so the open list stays tiny
 * and this is linear in the records.  Returns the open ones (caller frees). */
static vrec **open_intents(vstate *v, size_t *n_open)
{
    vrec **open = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < v->n_recs; i++) {
        vrec *x = &v->recs[i];
        if (x->type == SIGNET_REC_INTENT) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                vrec **no = realloc(open, ncap * sizeof *no);
                if (!no)
                    break;
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
    *n_open = n;
    return open;
}

static void pair_records(vstate *v)
{
    for (size_t i = 0; i < v->n_recs; i++) {
        vrec *x = &v->recs[i];
        if (x->type != SIGNET_REC_SIGN && x->type != SIGNET_REC_CHECKPOINT)
            continue;
        uint8_t want = x->type == SIGNET_REC_SIGN ? x->command : YH_CMD_SIGN_EDDSA;
        vdev *d = dev_of(v, x->serial);
        ventry *e = d ? find_entry(d, x->seq) : NULL;
        if (!e) {
            report_add(v->rep, SIGNET_FIND_FORGED, RECORDS_FILE, x->line,
                       "the record names device %u entry seq %llu, which the device never logged: "
                       "a forged record (or the device log lost it)", x->serial,
                       (unsigned long long)x->seq);
            continue;
        }
        if (e->cmd != want || e->target != x->key_id || e->sess != x->auth ||
            e->result != YH_RESPONSE(want)) {
            report_add(v->rep, SIGNET_FIND_FORGED, RECORDS_FILE, x->line,
                       "the record does not match its device entry: it claims %s by key 0x%04x "
                       "(session key 0x%04x) but device %u entry %u was command 0x%02x on key "
                       "0x%04x (session key 0x%04x, result 0x%02x): a forged record",
                       signet_mech_name(want), x->key_id, x->auth, x->serial, e->number, e->cmd,
                       e->target, e->sess, e->result);
            continue;
        }
        if (e->used) {
            report_add(v->rep, SIGNET_FIND_REUSED, RECORDS_FILE, x->line,
                       "device %u entry %u (seq %llu) is claimed by a second record", x->serial,
                       e->number, (unsigned long long)e->seq);
            continue;
        }
        e->used = 1;
    }
    size_t n_open = 0;
    vrec **open = open_intents(v, &n_open);
    for (size_t k = 0; k < v->n_devs; k++) {
        vdev *d = &v->devs[k];
        char fname[64];
        device_log_name(d->serial, fname);
        for (size_t j = 0; j < d->n; j++) {
            ventry *e = &d->e[j];
            if (!signet_command_is_signing(e->cmd))
                continue;
            if (e->result != YH_RESPONSE(e->cmd))
                continue;
            if (e->used)
                continue;
            size_t o = 0;
            while (o < n_open && !(open[o]->index < e->index &&
                                   intent_matches(open[o], d->serial, e->target, e->sess, e->cmd)))
                o++;
            if (o < n_open) {
                report_add(v->rep, SIGNET_FIND_TORN_TAIL, fname, e->line,
                           "device %u entry %u: an interrupted %s signature by key 0x%04x: its "
                           "intent is recorded (records.log line %llu) but the signer stopped "
                           "before recording the signature, so it was never released",
                           d->serial, e->number, signet_mech_name(e->cmd), e->target,
                           (unsigned long long)open[o]->line);
                memmove(&open[o], &open[o + 1], (n_open - o - 1) * sizeof *open);
                n_open--;
                continue;
            }
            report_add(v->rep, SIGNET_FIND_UNRECORDED, fname, e->line,
                           "device %u entry %u: a %s signature by key 0x%04x (session key 0x%04x) "
                           "has no record: something signed outside signet", d->serial, e->number,
                           signet_mech_name(e->cmd), e->target, e->sess);
        }
    }
    free(open);
}

typedef struct {
    signet_checkpoint c;
    uint64_t line;
} vcp;

static void check_checkpoints(vstate *v, const signet_vkey *k, bool tree_ok)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", v->dir, CHECKPOINTS_FILE);
    char *data;
    size_t len;
    if (file_read_all(path, &data, &len) != SIGNET_OK)
        return;
    vcp *cps = NULL;
    size_t n = 0, cap = 0;
    size_t pos = 0;
    uint64_t line = 1;
    const char *note;
    size_t nlen;
    for (;;) {
        uint64_t at = line;
        if (!notes_next(data, len, &pos, &note, &nlen, &line))
            break;
        v->rep->checkpoints++;
        signet_checkpoint c;
        if (!k)
            continue;
        if (signet_checkpoint_open(note, nlen, k, &c) != SIGNET_OK) {
            report_add(v->rep, SIGNET_FIND_SIGNATURE, CHECKPOINTS_FILE, at,
                       "checkpoint does not verify: %s", signet_errmsg());
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            vcp *nc = realloc(cps, cap * sizeof *nc);
            if (!nc)
                break;
            cps = nc;
        }
        cps[n++] = (vcp){c, at};
    }
    free(data);
    v->rep->checkpoints_valid = n;
    uint64_t size = v->tree ? merkle_tree_size(v->tree) : v->max_plus1;
    bool *match = calloc(n ? n : 1, sizeof *match);
    for (size_t i = 0; match && i < n; i++) {
        if (cps[i].c.size > v->rep->newest_checkpoint)
            v->rep->newest_checkpoint = cps[i].c.size;
        if (i > 0 && cps[i].c.size < cps[i - 1].c.size)
            report_add(v->rep, SIGNET_FIND_FORK, CHECKPOINTS_FILE, cps[i].line,
                       "checkpoint of %llu leaves follows one of %llu: the log went backwards",
                       (unsigned long long)cps[i].c.size, (unsigned long long)cps[i - 1].c.size);
        if (cps[i].c.size > size) {
            report_add(v->rep, SIGNET_FIND_TRUNCATED, CHECKPOINTS_FILE, cps[i].line,
                       "the checkpoint covers %llu leaves but the trail holds only %llu: lines were "
                       "removed from the end of the trail (or this copy is stale)",
                       (unsigned long long)cps[i].c.size, (unsigned long long)size);
            continue;
        }
        uint8_t root[SIGNET_HASH_LEN];
        match[i] = tree_ok && merkle_tree_root(v->tree, cps[i].c.size, root) == SIGNET_OK &&
                   memcmp(root, cps[i].c.root, SIGNET_HASH_LEN) == 0;
    }
    bool altered_reported = false;
    for (size_t i = 0; match && tree_ok && i < n; i++) {
        if (cps[i].c.size > size || match[i])
            continue;
        size_t later = n;
        for (size_t j = i + 1; j < n; j++)
            if (match[j])
                later = j;
        if (later < n)
            report_add(v->rep, SIGNET_FIND_FORK, CHECKPOINTS_FILE, cps[i].line,
                       "checkpoints at lines %llu (size %llu) and %llu (size %llu) are inconsistent: "
                       "the log signed two different histories (a fork); the trail matches the later one",
                       (unsigned long long)cps[i].line, (unsigned long long)cps[i].c.size,
                       (unsigned long long)cps[later].line, (unsigned long long)cps[later].c.size);
        else if (!altered_reported) {
            report_add(v->rep, SIGNET_FIND_ALTERED, CHECKPOINTS_FILE, cps[i].line,
                       "the trail's first %llu leaves no longer hash to the root this checkpoint "
                       "signed: lines it covers were altered after signing",
                       (unsigned long long)cps[i].c.size);
            altered_reported = true;
        }
    }
    /* Consecutive checkpoints that both match the trail must also have a valid
     * consistency proof between them (RFC 9162 section 2.1.4). */
    for (size_t i = 1; match && tree_ok && i < n; i++) {
        if (!match[i] || !match[i - 1] || cps[i].c.size < cps[i - 1].c.size)
            continue;
        sb_wr proof;
        sbw_init(&proof, 128 * SIGNET_HASH_LEN);
        if (merkle_tree_consistency(v->tree, cps[i - 1].c.size, cps[i].c.size, &proof) != SIGNET_OK ||
            merkle_verify_consistency(cps[i - 1].c.size, cps[i].c.size, proof.p, proof.len / SIGNET_HASH_LEN,
                                      cps[i - 1].c.root, cps[i].c.root) != SIGNET_OK)
            report_add(v->rep, SIGNET_FIND_FORK, CHECKPOINTS_FILE, cps[i].line,
                       "no consistency proof from the previous checkpoint to this one");
        sbw_free(&proof);
    }
    /* Records of checkpoints must name roots of this trail. */
    for (size_t i = 0; tree_ok && i < v->n_recs; i++) {
        vrec *x = &v->recs[i];
        uint8_t root[SIGNET_HASH_LEN];
        if (x->type != SIGNET_REC_CHECKPOINT)
            continue;
        if (x->tree_size > x->index || merkle_tree_root(v->tree, x->tree_size, root) != SIGNET_OK ||
            memcmp(root, x->root, SIGNET_HASH_LEN) != 0)
            report_add(v->rep, SIGNET_FIND_ALTERED, RECORDS_FILE, x->line,
                       "the checkpoint record's root of %llu leaves is not this trail's root at that size",
                       (unsigned long long)x->tree_size);
    }
    free(match);
    free(cps);
}

static void check_known(vstate *v, const signet_vkey *k, const char *path, bool tree_ok)
{
    char *data;
    size_t len;
    signet_checkpoint c;
    if (file_read_all(path, &data, &len) != SIGNET_OK) {
        report_add(v->rep, SIGNET_FIND_STALE, path, 0, "cannot read the known checkpoint: %s",
                   signet_errmsg());
        return;
    }
    signet_rc rc = k ? signet_checkpoint_open(data, len, k, &c) : SIGNET_E_VERIFY;
    free(data);
    if (rc) {
        report_add(v->rep, SIGNET_FIND_SIGNATURE, path, 0, "the known checkpoint does not verify");
        return;
    }
    uint64_t size = v->tree ? merkle_tree_size(v->tree) : v->max_plus1;
    uint8_t root[SIGNET_HASH_LEN];
    if (c.size > size)
        report_add(v->rep, SIGNET_FIND_STALE, path, 0,
                   "a checkpoint known from elsewhere covers %llu leaves but this trail only %llu: it "
                   "is a stale or rolled-back copy", (unsigned long long)c.size, (unsigned long long)size);
    else if (tree_ok && (merkle_tree_root(v->tree, c.size, root) != SIGNET_OK ||
                         memcmp(root, c.root, SIGNET_HASH_LEN) != 0))
        report_add(v->rep, SIGNET_FIND_FORK, path, 0,
                   "the known checkpoint of %llu leaves disagrees with this trail: a fork",
                   (unsigned long long)c.size);
}

static void check_live(vstate *v, const hsm_log *live, uint32_t serial)
{
    vdev *d = dev_of(v, serial);
    if (live->unlogged_boots || live->unlogged_auths)
        report_add(v->rep, SIGNET_FIND_UNLOGGED, NULL, 0,
                   "the live device %u reports %u unlogged boots and %u unlogged authentications",
                   serial, live->unlogged_boots, live->unlogged_auths);
    if (!d || !d->have) {
        report_add(v->rep, SIGNET_FIND_STALE, NULL, 0, "the trail holds no log of the live device %u",
                   serial);
        return;
    }
    if (live->n == 0)
        return; /* an empty live log tells nothing either way */
    size_t at = live->n;
    for (size_t i = 0; i < live->n; i++)
        if (live->entries[i].number == d->last.number)
            at = i;
    if (at < live->n) {
        if (memcmp(live->entries[at].digest, d->last.digest, YH_LOG_DIGEST_LEN) != 0) {
            report_add(v->rep, SIGNET_FIND_STALE, NULL, 0,
                       "the live device's entry %u differs from the trail's: this trail is not the "
                       "device's current history", d->last.number);
            return;
        }
    } else {
        uint16_t delta = (uint16_t)(live->entries[0].number - d->last.number);
        if (delta == 1 && yh_log_entry_verify(&live->entries[0], d->last.digest)) {
            at = (size_t)-1; /* the live log continues right after the trail */
        } else if (delta >= 1 && delta < 0x8000) {
            report_add(v->rep, SIGNET_FIND_STALE, NULL, 0,
                       "the device consumed entries %u..%u, which this trail lacks: it is a stale or "
                       "replayed copy (or another trail drained the device)",
                       (uint16_t)(d->last.number + 1), (uint16_t)(live->entries[0].number - 1));
            return;
        } else {
            report_add(v->rep, SIGNET_FIND_STALE, NULL, 0,
                       "the live device log (entries %u..) does not continue this trail (last entry %u)",
                       live->entries[0].number, d->last.number);
            return;
        }
    }
    size_t undrained_sigs = 0;
    for (size_t i = at + 1; i < live->n; i++)
        if (signet_command_is_signing(live->entries[i].command) &&
            live->entries[i].result == YH_RESPONSE(live->entries[i].command))
            undrained_sigs++;
    if (undrained_sigs)
        report_add(v->rep, SIGNET_FIND_STALE, NULL, 0,
                   "the device holds %zu signatures not yet drained into the trail: run `signet audit "
                   "drain` and verify again", undrained_sigs);
}

typedef struct {
    char name[64];
    uint64_t count;
    bool seen;
} expect_row;

static void check_expect(vstate *v, const char *path)
{
    char *data;
    size_t len;
    if (file_read_all(path, &data, &len) != SIGNET_OK) {
        report_add(v->rep, SIGNET_FIND_EXPECT, path, 0, "cannot read the expectations: %s", signet_errmsg());
        return;
    }
    expect_row *rows = NULL;
    size_t n = 0;
    uint64_t from = 0, lineno = 0;
    char *save = NULL;
    for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char name[64];
        unsigned long long c;
        char extra;
        while (*l == ' ' || *l == '\t')
            l++;
        if (*l == '#' || *l == 0)
            continue;
        if (sscanf(l, "from %llu %c", &c, &extra) == 1) {
            from = c;
            continue;
        }
        if (sscanf(l, "%63s %llu %c", name, &c, &extra) != 2) {
            report_add(v->rep, SIGNET_FIND_EXPECT, path, lineno,
                       "expected '<key name> <count>' or 'from <leaf index>'");
            continue;
        }
        expect_row *nr = realloc(rows, (n + 1) * sizeof *nr);
        if (!nr)
            break;
        rows = nr;
        memset(&rows[n], 0, sizeof rows[n]);
        snprintf(rows[n].name, sizeof rows[n].name, "%s", name);
        rows[n++].count = c;
    }
    free(data);
    /* Counts per key name among sign records from leaf `from` on. */
    uint64_t *got = calloc(v->rep->nu ? v->rep->nu : 1, sizeof *got);
    for (size_t i = 0; got && i < v->n_recs; i++)
        if (v->recs[i].type == SIGNET_REC_SIGN && v->recs[i].index >= from && v->recs[i].slot >= 0)
            got[v->recs[i].slot]++;
    for (size_t i = 0; got && i < n; i++) {
        uint64_t total = 0;
        for (size_t u = 0; u < v->rep->nu; u++)
            if (strcmp(v->rep->u[u].key_name, rows[i].name) == 0)
                total += got[u];
        if (total != rows[i].count)
            report_add(v->rep, SIGNET_FIND_EXPECT, NULL, 0,
                       "key %s: expected %llu signatures, the trail records %llu", rows[i].name,
                       (unsigned long long)rows[i].count, (unsigned long long)total);
    }
    for (size_t u = 0; got && u < v->rep->nu; u++) {
        bool listed = false;
        for (size_t i = 0; i < n; i++)
            listed |= strcmp(rows[i].name, v->rep->u[u].key_name) == 0;
        if (!listed && got[u])
            report_add(v->rep, SIGNET_FIND_EXPECT, NULL, 0,
                       "key %s (0x%04x) signed %llu times but the expectations do not list it",
                       v->rep->u[u].key_name, v->rep->u[u].key_id, (unsigned long long)got[u]);
    }
    free(got);
    free(rows);
}

static void load_vkeys(vstate *v, const signet_verify_opts *o, signet_vkey *k, bool *have)
{
    char path[PATH_MAX];
    signet_vkey local;
    snprintf(path, sizeof path, "%s/%s", v->dir, VKEY_FILE);
    bool have_local = signet_vkey_load(path, &local) == SIGNET_OK;
    *have = false;
    if (o && o->vkey_path) {
        if (signet_vkey_load(o->vkey_path, k) != SIGNET_OK) {
            report_add(v->rep, SIGNET_FIND_VKEY, o->vkey_path, 0, "%s", signet_errmsg());
            return;
        }
        *have = true;
        if (have_local && memcmp(&local, k, sizeof local) != 0)
            report_add(v->rep, SIGNET_FIND_VKEY, VKEY_FILE, 0,
                       "the trail's log.vkey is not the verifier key you trust: the trail claims "
                       "another log key");
        return;
    }
    if (!have_local) {
        report_add(v->rep, SIGNET_FIND_VKEY, VKEY_FILE, 0,
                   "no usable log.vkey: checkpoints cannot be verified (pass the published key with --vkey)");
        return;
    }
    *k = local;
    *have = true;
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
    load_vkeys(&v, o, &k, &have_k);

    /* Records first: device checks look up reset records. */
    signet_rc rc = read_leaf_file(&v, RECORDS_FILE, NULL);
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
        v.n_devs++;
        rc = read_leaf_file(&v, name, &v.devs[i]);
        if (!v.devs[i].anchor_loaded)
            load_anchor(&v, &v.devs[i], name);
        if (v.devs[i].n_anchor > v.devs[i].n)
            report_add(v.rep, SIGNET_FIND_ANCHOR, name, 0,
                       "device %u's log is shorter than its anchor: its beginning was removed",
                       v.devs[i].serial);
    }
    free(serials);
    if (rc)
        goto done;

    /* Every index from 0 to the largest must be present exactly once. */
    uint64_t missing = 0;
    for (uint64_t i = 0; i < v.max_plus1; i++) {
        if (v.seen[i])
            continue;
        if (missing++ < 20) {
            if (i > 0 && v.seen[i - 1])
                report_add(v.rep, SIGNET_FIND_LEAF_MISSING, v.files[v.file_of[i - 1]], v.where[i - 1],
                           "leaf %llu is missing: a line after this one was deleted", (unsigned long long)i);
            else
                report_add(v.rep, SIGNET_FIND_LEAF_MISSING, NULL, 0, "leaf %llu is missing: a line was deleted",
                           (unsigned long long)i);
        }
    }
    if (missing > 20)
        report_add(v.rep, SIGNET_FIND_LEAF_MISSING, NULL, 0, "%llu leaves are missing in all",
                   (unsigned long long)missing);
    bool tree_ok = missing == 0;
    if (tree_ok && (rc = merkle_tree_new(&v.tree)) == SIGNET_OK)
        for (uint64_t i = 0; rc == SIGNET_OK && i < v.max_plus1; i++)
            rc = merkle_tree_append(v.tree, v.hashes + i * SIGNET_HASH_LEN);
    if (rc)
        goto done;

    pair_records(&v);
    check_links(&v);
    check_checkpoints(&v, have_k ? &k : NULL, tree_ok);
    if (o && o->known_checkpoint)
        check_known(&v, have_k ? &k : NULL, o->known_checkpoint, tree_ok);
    if (o && o->live)
        check_live(&v, o->live, o->live_serial);
    for (size_t i = 0; i < v.n_recs; i++) {
        if (v.recs[i].type == SIGNET_REC_SIGN && v.recs[i].slot >= 0)
            v.rep->u[v.recs[i].slot].count++;
        if (v.recs[i].type == SIGNET_REC_REUSE && v.recs[i].slot >= 0)
            v.rep->u[v.recs[i].slot].reuses++;
    }
    if (o && o->expect_path)
        check_expect(&v, o->expect_path);

    /* Summary. */
    v.rep->leaves = v.max_plus1;
    v.rep->records = v.n_recs;
    v.rep->devs = calloc(v.n_devs ? v.n_devs : 1, sizeof *v.rep->devs);
    for (size_t i = 0; v.rep->devs && i < v.n_devs; i++) {
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
    if (file_read_all(p, &inc, &inclen) == SIGNET_OK) {
        for (size_t i = 0; i < inclen; i++)
            v.rep->set_aside += inc[i] == '\n';
        free(inc);
    }

done:
    for (size_t i = 0; i < v.n_devs; i++) {
        free(v.devs[i].e);
        free(v.devs[i].anchor);
    }
    free(v.devs);
    free(v.recs);
    free(v.covers);
    free(v.hashes);
    free(v.where);
    free(v.file_of);
    free(v.seen);
    merkle_tree_free(v.tree);
    if (rc)
        return rc;
    return v.rep->n || v.rep->omitted ? SIGNET_E_VERIFY : SIGNET_OK;
}

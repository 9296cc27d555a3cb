/* Verifying leaves: every line of records.log and device-*.log is one leaf of one
 * Merkle tree, indexes global across the files, each present exactly once; lines
 * are parsed and handed to the device and record checks. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    x->no_log = r->no_log;
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
    if (r->type == SIGNET_REC_KEY)
        x->event = strcmp(r->event, "generated") == 0  ? KEY_GENERATED
                   : strcmp(r->event, "imported") == 0 ? KEY_IMPORTED
                   : strcmp(r->event, "deleted") == 0  ? KEY_DELETED
                                                       : KEY_OTHER;
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
signet_rc vread_leaf_file(vstate *v, const char *name, vdev *d)
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
        if (rc == SIGNET_E_NOMEM)
            break;
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
            rc = d ? vdevice_line(v, d, name, r.lineno, &dl) : record_line(v, r.lineno, rec);
            if (rc == SIGNET_OK && !d && (rec->type == SIGNET_REC_ACK || rec->type == SIGNET_REC_SERVICE))
                rc = vsigned_record(v, line, rec, r.lineno);
            if (rc)
                break;
        }
    }
    free(rec);
    lr_close(&r);
    return rc;
}


signet_rc vcheck_leaves(vstate *v, bool *tree_ok)
{
    uint64_t missing = 0;
    *tree_ok = false;
    for (uint64_t i = 0; i < v->max_plus1; i++) {
        if (v->seen[i])
            continue;
        if (missing++ < 20) {
            if (i > 0 && v->seen[i - 1])
                report_add(v->rep, SIGNET_FIND_LEAF_MISSING, v->files[v->file_of[i - 1]], v->where[i - 1],
                           "leaf %llu is missing: a line after this one was deleted", (unsigned long long)i);
            else
                report_add(v->rep, SIGNET_FIND_LEAF_MISSING, NULL, 0, "leaf %llu is missing: a line was deleted",
                           (unsigned long long)i);
        }
    }
    if (missing > 20)
        report_add(v->rep, SIGNET_FIND_LEAF_MISSING, NULL, 0, "%llu leaves are missing in all",
                   (unsigned long long)missing);
    if (missing)
        return SIGNET_OK;
    signet_rc rc = merkle_tree_new(&v->tree);
    for (uint64_t i = 0; rc == SIGNET_OK && i < v->max_plus1; i++)
        rc = merkle_tree_append(v->tree, v->hashes + i * SIGNET_HASH_LEN);
    *tree_ok = rc == SIGNET_OK;
    return rc;
}

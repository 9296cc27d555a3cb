/* Verifying checkpoints: each signed by the verifier key, sizes never going back,
 * each root this trail's root at that size (else altered, or a fork when a later
 * checkpoint matches), consecutive ones consistent, checkpoint records naming
 * roots of this trail. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

typedef struct {
    signet_checkpoint c;
    uint64_t line;
} vcp;

void vlogkeys_fill(vstate *v, const signet_vkey *k, trail_logkeys *keys, bool report)
{
    memset(keys, 0, sizeof *keys);
    keys->k[0] = *k;
    keys->n = 1;
    for (size_t i = 0; i < v->n_logkeys; i++)
        if (trail_logkeys_add(keys, v->logkeys[i].index, v->logkeys[i].vkey) != SIGNET_OK &&
            report)
            report_add(v->rep, SIGNET_FIND_SERVICE, RECORDS_FILE, v->logkeys[i].line,
                       "the change of log key is signed but unusable: %s", signet_errmsg());
    signet_err_clear();
}

signet_rc vcheck_checkpoints(vstate *v, const signet_vkey *k, bool tree_ok)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", v->dir, CHECKPOINTS_FILE);
    char *data;
    size_t len;
    signet_rc rc = file_read_all(path, &data, &len);
    if (rc == SIGNET_E_NOTFOUND) {
        signet_err_clear();
        return SIGNET_OK; /* no checkpoint yet */
    }
    if (rc)
        return rc;
    trail_logkeys *keys = k ? malloc(sizeof *keys) : NULL;
    if (k && !keys) {
        free(data);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    if (keys)
        vlogkeys_fill(v, k, keys, true);
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
        if (trail_checkpoint_open(keys, note, nlen, &c, NULL) != SIGNET_OK) {
            report_add(v->rep, SIGNET_FIND_SIGNATURE, CHECKPOINTS_FILE, at,
                       "checkpoint does not verify: %s", signet_errmsg());
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            vcp *nc = realloc(cps, ncap * sizeof *nc);
            uint64_t *ns = realloc(v->cp_sizes, ncap * sizeof *ns);
            if (ns)
                v->cp_sizes = ns;
            if (!nc || !ns) {
                free(nc ? nc : cps);
                free(data);
                free(keys);
                return signet_fail(SIGNET_E_NOMEM, "out of memory reading %zu checkpoints", ncap);
            }
            cps = nc;
            cap = ncap;
        }
        v->cp_sizes[n] = c.size;
        cps[n++] = (vcp){c, at};
    }
    v->n_cp_sizes = n;
    free(data);
    free(keys);
    v->rep->checkpoints_valid = n;
    uint64_t size = v->tree ? merkle_tree_size(v->tree) : v->max_plus1;
    bool *match = calloc(n ? n : 1, sizeof *match);
    if (!match) {
        free(cps);
        return signet_fail(SIGNET_E_NOMEM, "out of memory comparing checkpoints");
    }
    for (size_t i = 0; i < n; i++) {
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
    for (size_t i = 0; tree_ok && i < n; i++) {
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
    for (size_t i = 1; tree_ok && i < n; i++) {
        if (!match[i] || !match[i - 1] || cps[i].c.size < cps[i - 1].c.size)
            continue;
        sb_wr proof;
        sbw_init(&proof, 128 * SIGNET_HASH_LEN);
        rc = merkle_tree_consistency(v->tree, cps[i - 1].c.size, cps[i].c.size, &proof);
        if (rc == SIGNET_E_NOMEM) {
            sbw_free(&proof);
            break;
        }
        if (rc != SIGNET_OK ||
            merkle_verify_consistency(cps[i - 1].c.size, cps[i].c.size, proof.p, proof.len / SIGNET_HASH_LEN,
                                      cps[i - 1].c.root, cps[i].c.root) != SIGNET_OK)
            report_add(v->rep, SIGNET_FIND_FORK, CHECKPOINTS_FILE, cps[i].line,
                       "no consistency proof from the previous checkpoint to this one");
        rc = SIGNET_OK;
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
    return rc;
}


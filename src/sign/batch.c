/* The core of the signing path: a group of requests for one key under the locks.
 * signet_sign() is a batch of one.
 *
 *   cache lookups (verified hits) -> resolve the key -> drain -> reuse records of the
 *   hits and intents of the misses, durable with one fsync -> the device signs each
 *   miss -> drain -> sign records paired with their device entries in order, durable
 *   with one fsync -> only then are the signatures copied out.
 *
 * Pairing in a group: the device logs the group's signatures in the order they were
 * asked, so the k-th successful signing entry of this key, command and session key
 * after the group's first drain belongs to the k-th signature the device made.  An
 * intent explains at most one device entry; a crash between the device's signatures
 * and their records leaves at most one explained, never-released signature per
 * intent of the group (docs/audit.md). */
#include <stdlib.h>
#include <string.h>

#include "signet/hash.h"
#include "signet/secmem.h"
#include "sign_internal.h"

struct pending {
    signet_batch_item *it;
    uint8_t cmd;
    uint8_t data_sha256[32];
    uint8_t sig[SIGNET_SIG_MAX];
    size_t sig_len;
    bool hit, made;               /* from the cache / made by the device */
    uint64_t original;            /* hit: the sign record it reuses */
    const signet_dev_entry *de;
    uint64_t index, offset;
};

static void item_fail(struct pending *p, signet_rc rc)
{
    p->it->rc = rc;
    snprintf(p->it->err, sizeof p->it->err, "%s", signet_errmsg());
    smem_wipe(p->sig, sizeof p->sig);
    p->sig_len = 0;
    p->made = p->hit = false;
}

static bool live(const struct pending *p) { return p->it->rc == SIGNET_OK; }

/* The largest signature a key makes, so a too small buffer fails before signing. */
static size_t sig_need(const signet_keymap_entry *e)
{
    size_t kb = (size_t)yh_algo_key_bytes(e->algorithm);
    if (yh_algo_is_rsa(e->algorithm))
        return kb;
    return e->algorithm == YH_ALGO_EC_ED25519 ? 64 : 2 * kb + 9;
}

/* Fails every live item of the group with the current error. */
static void fail_all(struct pending *p, size_t k, signet_rc rc, bool only_made)
{
    for (size_t i = 0; i < k; i++)
        if (live(&p[i]) && (!only_made || p[i].made))
            item_fail(&p[i], rc);
}

static void lookups(signet_signer *s, const signet_keymap_entry *e, struct pending *p, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        if (!live(&p[i]) || !s->cache || p[i].it->req.no_cache)
            continue;
        p[i].sig_len = sizeof p[i].sig;
        if (sign_cache_lookup(s, e, p[i].cmd, &p[i].it->req, p[i].data_sha256, p[i].sig,
                              &p[i].sig_len, &p[i].original, &p[i].hit) != SIGNET_OK)
            p[i].hit = false; /* a cache that cannot be read is no cache */
        signet_err_clear();
    }
}

/* Reuse records of the hits and intents of the misses, one fsync. */
static signet_rc before_device(signet_signer *s, const signet_keymap_entry *e, struct pending *p,
                               size_t k, signet_record *recs, signet_record **ptrs)
{
    size_t n = 0, slot[SIGNET_BATCH_GROUP];
    signet_rc rc = SIGNET_OK;
    uint16_t auth = s->dev->auth_id;
    for (size_t i = 0; rc == SIGNET_OK && i < k; i++) {
        if (!live(&p[i]))
            continue;
        signet_rec_sig rs;
        signer_rec_sig(e, p[i].cmd, &p[i].it->req, p[i].data_sha256, p[i].sig, p[i].sig_len, &rs);
        rc = p[i].hit ? signet_record_reuse(&recs[n], s->serial, auth, &rs, p[i].original)
                      : signet_record_intent(&recs[n], s->serial, auth, &rs);
        ptrs[n] = &recs[n];
        slot[i] = n++;
    }
    if (rc == SIGNET_OK)
        rc = signer_append(s, ptrs, n, NULL);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "recording the intent to sign (nothing was signed)");
    for (size_t i = 0; i < k; i++)
        if (live(&p[i]) && p[i].hit)
            p[i].index = recs[slot[i]].index;
    return SIGNET_OK;
}

static void device_signs(signet_signer *s, const signet_keymap_entry *e, struct pending *p,
                         size_t k)
{
    for (size_t i = 0; i < k; i++) {
        if (!live(&p[i]) || p[i].hit)
            continue;
        signet_rc rc;
        for (int attempt = 0;; attempt++) {
            p[i].sig_len = sizeof p[i].sig;
            rc = signer_device_sign(s, p[i].cmd, e, &p[i].it->req, p[i].sig, &p[i].sig_len);
            if (rc != SIGNET_E_NOTFOUND || attempt > 0)
                break;
            /* Evicted by another process meanwhile: load it again, same intent. */
            signet_err_clear();
            if ((rc = signer_resolve_key(s, e)) != SIGNET_OK)
                break;
        }
        if (rc != SIGNET_OK)
            item_fail(&p[i], signet_wrap(rc, "signing with '%s'", e->name));
        else
            p[i].made = true;
    }
}

/* Drain, pair each signature with its device entry in order, append the sign
 * records with one fsync.  On failure no signature of the group is released. */
static signet_rc after_device(signet_signer *s, const signet_keymap_entry *e, struct pending *p,
                              size_t k, signet_record *recs, signet_record **ptrs,
                              uint64_t *offsets)
{
    signet_drain_result *d = malloc(sizeof *d);
    if (!d)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = signer_drain(s, d);
    if (rc != SIGNET_OK) {
        free(d);
        return signet_wrap(rc, "reading the device log after signing with '%s'", e->name);
    }
    uint16_t auth = s->dev->auth_id;
    size_t next = 0, n = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < k; i++) {
        if (!live(&p[i]) || !p[i].made)
            continue;
        const signet_dev_entry *de = NULL;
        for (; next < d->n_new; next++) {
            const signet_dev_entry *c = &d->entries[next];
            if (c->e.command == p[i].cmd && c->e.target_key == e->id &&
                c->e.session_key == auth && c->e.result == YH_RESPONSE(p[i].cmd)) {
                de = c;
                next++;
                break;
            }
        }
        signet_rec_sig rs;
        signer_rec_sig(e, p[i].cmd, &p[i].it->req, p[i].data_sha256, p[i].sig, p[i].sig_len, &rs);
        rc = signet_device_has_log(s->dev)
                 ? signet_record_sign(&recs[n], s->serial, auth, de ? de->seq : 0, &rs)
                 : signet_record_sign_nolog(&recs[n], s->serial, auth, &rs);
        ptrs[n] = &recs[n];
        n++;
    }
    free(d);
    if (rc == SIGNET_OK)
        rc = signer_append(s, ptrs, n, offsets);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "recording the signature (it was not released)");
    for (size_t i = 0, j = 0; i < k; i++)
        if (live(&p[i]) && p[i].made) {
            p[i].index = recs[j].index;
            p[i].offset = offsets[j++];
        }
    return SIGNET_OK;
}

static void release(signet_signer *s, const signet_keymap_entry *e, struct pending *p, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        signet_batch_item *it = p[i].it;
        if (!live(&p[i]))
            continue;
        if (s->trail && s->cache && p[i].made)
            sign_cache_store(s, e, p[i].cmd, &it->req, p[i].data_sha256, p[i].sig, p[i].sig_len,
                             p[i].index, p[i].offset);
        memcpy(it->sig, p[i].sig, p[i].sig_len);
        it->sig_len = p[i].sig_len;
        it->record = p[i].index;
        it->reused = p[i].hit;
        if (p[i].hit)
            s->stats.cache_hits++;
        if (it->req.record_index)
            *it->req.record_index = p[i].index;
        if (it->req.reused)
            *it->req.reused = p[i].hit;
        smem_wipe(p[i].sig, sizeof p[i].sig);
    }
}

/* One group: items of key e, at most SIGNET_BATCH_GROUP.  Caller holds the locks. */
static void sign_group(signet_signer *s, const signet_keymap_entry *e, struct pending *p, size_t k,
                       signet_record *recs, signet_record **ptrs, uint64_t *offsets)
{
    if (s->trail)
        lookups(s, e, p, k);
    bool misses = false;
    for (size_t i = 0; i < k; i++)
        misses |= live(&p[i]) && !p[i].hit;
    signet_rc rc = SIGNET_OK;
    if (misses && (rc = signer_resolve_key(s, e)) != SIGNET_OK) {
        for (size_t i = 0; i < k; i++)
            if (live(&p[i]) && !p[i].hit)
                item_fail(&p[i], rc);
        misses = false;
    }
    if (s->trail && misses && (rc = signer_drain(s, NULL)) != SIGNET_OK) {
        rc = signet_wrap(rc, "draining the device log before signing");
        for (size_t i = 0; i < k; i++)
            if (live(&p[i]) && !p[i].hit)
                item_fail(&p[i], rc);
    }
    if (s->trail && (rc = before_device(s, e, p, k, recs, ptrs)) != SIGNET_OK) {
        fail_all(p, k, rc, false);
        return;
    }
    device_signs(s, e, p, k);
    bool made = false;
    for (size_t i = 0; i < k; i++)
        made |= live(&p[i]) && p[i].made;
    if (s->trail && made &&
        (rc = after_device(s, e, p, k, recs, ptrs, offsets)) != SIGNET_OK)
        fail_all(p, k, rc, true); /* no record, no signature: wiped */
    release(s, e, p, k);
}

/* The device stopped answering during the group: the items it did not finish
 * (failed with SIGNET_E_NET: not signed, or signed without a durable record and
 * wiped) are signed again on the next device of the failover list, with new intents
 * there.  Items already released are not touched. */
static void retry_lost(signet_signer *s, const signet_keymap_entry *e, struct pending *grp,
                       size_t k, signet_record *recs, signet_record **ptrs, uint64_t *offsets)
{
    while (signer_can_fail_over(s)) {
        struct pending again[SIGNET_BATCH_GROUP];
        size_t from[SIGNET_BATCH_GROUP], m = 0;
        for (size_t g = 0; g < k; g++)
            if (grp[g].it->rc == SIGNET_E_NET) {
                from[m] = g;
                again[m++] = grp[g];
            }
        if (m == 0 || signer_failover(s) != SIGNET_OK)
            break; /* they keep the error of the lost device */
        for (size_t j = 0; j < m; j++) {
            again[j].it->rc = SIGNET_OK;
            again[j].it->err[0] = 0;
            again[j].made = again[j].hit = false;
        }
        sign_group(s, e, again, m, recs, ptrs, offsets);
        for (size_t j = 0; j < m; j++)
            grp[from[j]] = again[j];
        smem_wipe(again, sizeof again);
    }
    signet_err_clear();
}

/* Checks an item before anything happens; the entry of its key in *e. */
static signet_rc prepare(signet_signer *s, struct pending *p, const signet_keymap_entry **e)
{
    const signet_sign_req *r = &p->it->req;
    *e = r->key_name ? signet_keystore_find(s->ks, r->key_name) : NULL;
    if (!*e)
        return signet_fail(SIGNET_E_NOTFOUND,
                           "no key named '%s' in the key store %s; see `signet keys list`",
                           r->key_name ? r->key_name : "(none)", signet_keystore_dir(s->ks));
    signet_rc rc = signer_pick_command(*e, r->mech, &p->cmd);
    if (rc != SIGNET_OK)
        return rc;
    if (p->it->sig_cap < sig_need(*e))
        return signet_fail(SIGNET_E_ARG, "a signature by '%s' needs %zu bytes, the buffer has %zu",
                           (*e)->name, sig_need(*e), p->it->sig_cap);
    /* One hash, before anything happens, serves the intent, the record and the cache:
     * they cannot disagree, and a failure here leaves nothing behind. */
    rc = signet_sha256(r->data, r->len, p->data_sha256);
    return rc ? signet_wrap(rc, "hashing the bytes to sign (nothing was signed)") : SIGNET_OK;
}

signet_rc signet_sign_batch(signet_signer *s, signet_batch_item *items, size_t n)
{
    struct pending *p = calloc(n ? n : 1, sizeof *p);
    const signet_keymap_entry **keys = calloc(n ? n : 1, sizeof *keys);
    signet_record *recs = calloc(SIGNET_BATCH_GROUP, sizeof *recs);
    signet_record **ptrs = calloc(SIGNET_BATCH_GROUP, sizeof *ptrs);
    uint64_t offsets[SIGNET_BATCH_GROUP];
    signet_rc rc = SIGNET_OK;
    if (!p || !keys || !recs || !ptrs)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory for a batch of %zu signatures", n);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        p[i].it = &items[i];
        items[i].rc = SIGNET_OK;
        items[i].err[0] = 0;
        items[i].sig_len = 0;
        items[i].reused = false;
        signet_rc irc = prepare(s, &p[i], &keys[i]);
        if (irc != SIGNET_OK)
            item_fail(&p[i], irc);
    }
    if (rc == SIGNET_OK && (rc = signer_lock(s)) == SIGNET_OK) {
        for (size_t i = 0; i < n;) {
            if (!live(&p[i])) {
                i++;
                continue;
            }
            /* A group: the next live items of this key, up to the group size, so the
             * device log (62 entries) never fills between two drains. */
            size_t j = i, k = 0;
            struct pending grp[SIGNET_BATCH_GROUP];
            size_t from[SIGNET_BATCH_GROUP];
            while (j < n && k < SIGNET_BATCH_GROUP && (!live(&p[j]) || keys[j] == keys[i])) {
                if (live(&p[j])) {
                    from[k] = j;
                    grp[k++] = p[j];
                }
                j++;
            }
            sign_group(s, keys[i], grp, k, recs, ptrs, offsets);
            retry_lost(s, keys[i], grp, k, recs, ptrs, offsets);
            for (size_t g = 0; g < k; g++)
                p[from[g]] = grp[g];
            smem_wipe(grp, sizeof grp);
            i = j;
        }
        if (signer_checkpoint_due(s))
            (void)signer_checkpoint_locked(s); /* retried at the next signature or at close */
        signer_unlock(s);
    }
    if (rc == SIGNET_OK)
        for (size_t i = 0; i < n; i++)
            if (items[i].rc != SIGNET_OK) {
                rc = signet_fail(items[i].rc, "%s", items[i].err);
                break;
            }
    free(p);
    free(keys);
    free(recs);
    free(ptrs);
    return rc;
}

signet_rc signet_batch_order(signet_signer *s, const char *const *keys, size_t n, size_t *order)
{
    /* Distinct keys in order of first appearance, residents first. */
    size_t *first = calloc(n ? n : 1, sizeof *first);
    bool *resident = calloc(n ? n : 1, sizeof *resident);
    if (!first || !resident) {
        free(first);
        free(resident);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    size_t nk = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < nk && strcmp(keys[first[k]], keys[i]) != 0)
            k++;
        if (k < nk)
            continue;
        first[nk] = i;
        const signet_keymap_entry *e = signet_keystore_find(s->ks, keys[i]);
        signet_keyloc loc = SIGNET_KEYLOC_MISSING;
        /* A token without on-demand loading: every key counts as not resident. */
        if (e && s->sess && signet_keystore_locate(s->ks, s->sess, e, &loc) != SIGNET_OK)
            signet_err_clear(); /* unknown: treat as not resident */
        resident[nk++] = loc == SIGNET_KEYLOC_RESIDENT;
    }
    size_t out = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < nk; k++) {
            if (resident[k] != (pass == 0))
                continue;
            for (size_t i = first[k]; i < n; i++)
                if (strcmp(keys[i], keys[first[k]]) == 0)
                    order[out++] = i;
        }
    free(first);
    free(resident);
    return SIGNET_OK;
}

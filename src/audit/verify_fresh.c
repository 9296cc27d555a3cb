/* Verifying freshness: a checkpoint known from elsewhere (published, or kept from
 * the last run) and the live device log tell a stale or replayed copy. */
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

signet_rc vcheck_known(vstate *v, const signet_vkey *k, const char *path, bool tree_ok)
{
    char *data;
    size_t len;
    signet_checkpoint c;
    signet_rc frc = file_read_all(path, &data, &len);
    if (frc == SIGNET_E_NOMEM)
        return frc;
    if (frc) {
        report_add(v->rep, SIGNET_FIND_STALE, path, 0, "cannot read the known checkpoint: %s",
                   signet_errmsg());
        return SIGNET_OK;
    }
    /* Verified like the trail's own checkpoints: with the log key in force at its size
     * (log.vkey's, or a validly signed change of log key's). */
    trail_logkeys *keys = k ? malloc(sizeof *keys) : NULL;
    if (k && !keys) {
        free(data);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    if (keys)
        vlogkeys_fill(v, k, keys, false);
    signet_rc rc = keys ? trail_checkpoint_open(keys, data, len, &c, NULL) : SIGNET_E_VERIFY;
    free(keys);
    free(data);
    if (rc) {
        report_add(v->rep, SIGNET_FIND_SIGNATURE, path, 0, "the known checkpoint does not verify%s%s",
                   k ? ": " : "", k ? signet_errmsg() : "");
        signet_err_clear();
        return SIGNET_OK;
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
    return SIGNET_OK;
}

void vcheck_live(vstate *v, const hsm_log *live, uint32_t serial)
{
    vdev *d = vdev_of(v, serial);
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

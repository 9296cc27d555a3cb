/* The log keys of a trail over time (docs/audit.md, "Change of log key").  A trail
 * starts with the key of log.vkey; a migration that cannot move the log key (its
 * wrapped copy lacks the seed) makes a new one and appends a signed service record,
 * event log-key, whose note is the new key's vkey line.  A checkpoint of s leaves is
 * signed by the key in force at s: the newest change recorded at a leaf below s, or
 * log.vkey's key before the first change.  log.vkey itself never changes (a trail
 * is append-only, `audit verify --git` holds it to that). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

signet_rc trail_logkeys_add(trail_logkeys *ks, uint64_t index, const char *note)
{
    if (ks->n == TRAIL_LOGKEYS_MAX)
        return signet_fail(SIGNET_E_ARG, "more than %d changes of log key in one trail",
                           TRAIL_LOGKEYS_MAX - 1);
    signet_vkey k;
    signet_rc rc = signet_vkey_parse(note, strlen(note), &k);
    if (rc)
        return signet_wrap(rc, "the change of log key at leaf %llu", (unsigned long long)index);
    if (strcmp(k.name, ks->k[0].name) != 0)
        return signet_fail(SIGNET_E_VERIFY, "the change of log key at leaf %llu names the log '%s', "
                                            "not '%s'", (unsigned long long)index, k.name,
                           ks->k[0].name);
    ks->k[ks->n] = k;
    ks->from[ks->n++] = index;
    return SIGNET_OK;
}

signet_rc trail_logkeys_load(const char *dir, const signet_vkey *base, trail_logkeys *out)
{
    memset(out, 0, sizeof *out);
    out->k[0] = *base;
    out->n = 1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, RECORDS_FILE);
    line_reader lr;
    signet_rc rc = lr_open(&lr, path);
    if (rc == SIGNET_E_NOTFOUND) {
        signet_err_clear();
        return SIGNET_OK;
    }
    if (rc)
        return rc;
    signet_record *r = malloc(sizeof *r);
    if (!r) {
        lr_close(&lr);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    const char *line;
    size_t len;
    int kind;
    while ((rc = lr_next(&lr, &line, &len, &kind)) == SIGNET_OK && kind == 1) {
        /* Cheap filter first: most lines are sign records. */
        if (!memmem(line, len, "event=log-key", 13) || signet_record_parse(line, len, r) != SIGNET_OK ||
            r->type != SIGNET_REC_SERVICE || strcmp(r->event, "log-key") != 0)
            continue;
        if ((rc = trail_logkeys_add(out, r->index, r->note)))
            break;
    }
    if (rc == SIGNET_OK)
        signet_err_clear();
    free(r);
    lr_close(&lr);
    return rc;
}

const signet_vkey *trail_logkey_for(const trail_logkeys *ks, uint64_t size)
{
    size_t i = ks->n - 1;
    while (i > 0 && ks->from[i] >= size)
        i--;
    return &ks->k[i];
}

signet_rc trail_checkpoint_open(const trail_logkeys *ks, const char *note, size_t len,
                                signet_checkpoint *out, const signet_vkey **by)
{
    for (size_t i = ks->n; i-- > 0;) {
        if (signet_checkpoint_open(note, len, &ks->k[i], out) != SIGNET_OK)
            continue;
        const signet_vkey *want = trail_logkey_for(ks, out->size);
        if (by)
            *by = &ks->k[i];
        if (want == &ks->k[i] || memcmp(want, &ks->k[i], sizeof *want) == 0) {
            signet_err_clear();
            return SIGNET_OK;
        }
        return signet_fail(SIGNET_E_VERIFY, "the checkpoint of %llu leaves is signed by log key "
                                            "%08x, but the key in force at that size is %08x (a "
                                            "change of log key is recorded in between)",
                           (unsigned long long)out->size, ks->k[i].key_id, want->key_id);
    }
    if (ks->n == 1)
        return signet_checkpoint_open(note, len, &ks->k[0], out);
    return signet_fail(SIGNET_E_VERIFY, "the checkpoint is signed by none of the trail's %zu log "
                                        "keys (log.vkey and its recorded changes)", ks->n);
}

signet_rc signet_trail_log_key(const char *dir, signet_vkey *out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, VKEY_FILE);
    signet_vkey base;
    signet_rc rc = signet_vkey_load(path, &base);
    trail_logkeys *ks = rc ? NULL : malloc(sizeof *ks);
    if (rc == SIGNET_OK && !ks)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK && (rc = trail_logkeys_load(dir, &base, ks)) == SIGNET_OK)
        *out = ks->k[ks->n - 1];
    free(ks);
    return rc;
}

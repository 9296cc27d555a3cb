/* The signing path's records in the trail: intents before the device is asked,
 * sign records after, reuse records for cache hits, key and binding records, and
 * the periodic checkpoint.  Every record is made by the trail's builders
 * (audit.h) and appended durably before the caller hears of success. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sign_internal.h"

void signer_warn(signet_signer *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (s->report)
        s->report(s->report_ctx, line);
    else
        fprintf(stderr, "signet: warning: %s\n", line);
}

signet_rc signer_lock(signet_signer *s)
{
    pthread_mutex_lock(&s->lock);
    signet_rc rc = s->trail ? signet_trail_lock(s->trail) : SIGNET_OK;
    if (rc != SIGNET_OK)
        pthread_mutex_unlock(&s->lock);
    return rc;
}

void signer_unlock(signet_signer *s)
{
    if (s->trail)
        signet_trail_unlock(s->trail);
    pthread_mutex_unlock(&s->lock);
}

signet_rc signer_drain(signet_signer *s, signet_drain_result *d)
{
    if (!signet_device_has_log(s->dev)) {
        /* Nothing to read: sign records of this device stand alone (seq 0). */
        if (d)
            memset(d, 0, sizeof *d);
        return SIGNET_OK;
    }
    s->stats.drains++;
    return s->dev->ops->drain(s->dev, s->trail, d);
}

void signer_rec_sig(const signet_keymap_entry *e, uint8_t cmd, const signet_sign_req *r,
                    const uint8_t data_sha256[32], const uint8_t *sig, size_t sig_len,
                    signet_rec_sig *out)
{
    memset(out, 0, sizeof *out);
    out->key_name = e->name;
    out->key_id = e->id;
    out->command = cmd;
    out->data_sha256 = data_sha256;
    out->sig = sig;
    out->sig_len = sig_len;
    out->artifact = r ? r->artifact_path : NULL;
    out->artifact_sha256 = r ? r->artifact_sha256 : NULL;
    out->caller = r ? r->caller : NULL;
}

signet_rc signer_append(signet_signer *s, signet_record *const *recs, size_t n, uint64_t *offsets)
{
    signet_rc rc = signet_trail_append_records(s->trail, recs, n, offsets);
    if (rc != SIGNET_OK)
        return rc;
    s->stats.syncs++;
    for (size_t i = 0; i < n; i++)
        if (recs[i]->type != SIGNET_REC_INTENT)
            s->since_checkpoint++;
    return SIGNET_OK;
}

bool signer_checkpoint_due(const signet_signer *s)
{
    if (s->cfg.checkpoint_every && s->since_checkpoint >= s->cfg.checkpoint_every)
        return true;
    return s->cfg.checkpoint_seconds && s->since_checkpoint &&
           time(NULL) - s->last_checkpoint >= (time_t)s->cfg.checkpoint_seconds;
}

signet_rc signer_checkpoint_locked(signet_signer *s)
{
    if (!s->trail || s->since_checkpoint == 0)
        return SIGNET_OK;
    signet_rc rc = s->dev->ops->checkpoint(s->dev, s->trail, s->cfg.log_name);
    if (rc == SIGNET_OK) {
        s->since_checkpoint = 0;
        s->last_checkpoint = time(NULL);
    }
    return rc;
}

signet_rc signet_signer_checkpoint(signet_signer *s)
{
    if (!s->trail)
        return SIGNET_OK;
    signet_rc rc = signer_lock(s);
    if (rc == SIGNET_OK) {
        rc = signer_checkpoint_locked(s);
        signer_unlock(s);
    }
    return rc;
}

signet_rc signet_signer_record_key(signet_signer *s, const signet_keymap_entry *e,
                                   const char *event, const char *note)
{
    if (!s->trail)
        return SIGNET_OK;
    signet_record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = signer_lock(s);
    if (rc == SIGNET_OK) {
        /* Drain first so the record follows the device entries of the key's making. */
        rc = signer_drain(s, NULL);
        if (rc == SIGNET_OK)
            rc = signet_record_key(rec, s->serial, s->dev->auth_id, 0, event,
                                   e->name, e->id, note);
        if (rc == SIGNET_OK)
            rc = signer_append(s, &rec, 1, NULL);
        signer_unlock(s);
    }
    free(rec);
    return rc;
}

signet_rc signet_signer_bind(signet_signer *s, const char *input, const uint8_t in_sha256[32],
                             const char *output, const uint8_t out_sha256[32],
                             const uint64_t *covers, size_t n_covers)
{
    return signet_signer_bind_leaf(s, input, in_sha256, output, out_sha256, covers, n_covers,
                                   NULL);
}

signet_rc signet_signer_bind_leaf(signet_signer *s, const char *input, const uint8_t in_sha256[32],
                                  const char *output, const uint8_t out_sha256[32],
                                  const uint64_t *covers, size_t n_covers, uint64_t *leaf)
{
    if (leaf)
        *leaf = 0;
    if (!s->trail)
        return SIGNET_OK;
    if (n_covers == 0)
        return signet_fail(SIGNET_E_ARG, "a binding of %s needs the records of its signatures",
                           output);
    signet_record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = signet_record_bind(rec, s->serial, s->dev->auth_id, input,
                                      in_sha256, output, out_sha256, covers, n_covers, NULL);
    if (rc == SIGNET_OK && (rc = signer_lock(s)) == SIGNET_OK) {
        rc = signer_append(s, &rec, 1, NULL);
        signer_unlock(s);
    }
    if (rc == SIGNET_OK && leaf)
        *leaf = rec->index;
    free(rec);
    return rc ? signet_wrap(rc, "binding %s to its signatures", output) : SIGNET_OK;
}

signet_rc signet_signer_bind_group(signet_signer *s, const signet_bind_item *v, size_t n)
{
    if (!s->trail || n == 0)
        return SIGNET_OK;
    signet_record **recs = calloc(n, sizeof *recs);
    signet_rc rc = recs ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        if (v[i].n_covers == 0)
            rc = signet_fail(SIGNET_E_ARG, "a binding of %s needs the records of its signatures",
                             v[i].output);
        else if (!(recs[i] = calloc(1, sizeof *recs[i])))
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        else
            rc = signet_record_bind(recs[i], s->serial, s->dev->auth_id, v[i].input,
                                    v[i].in_sha256, v[i].output, v[i].out_sha256, v[i].covers,
                                    v[i].n_covers, NULL);
    }
    if (rc == SIGNET_OK && (rc = signer_lock(s)) == SIGNET_OK) {
        rc = signer_append(s, recs, n, NULL);
        signer_unlock(s);
    }
    for (size_t i = 0; recs && i < n; i++)
        free(recs[i]);
    free(recs);
    return rc ? signet_wrap(rc, "binding %zu outputs to their signatures", n) : SIGNET_OK;
}

/* The sign and reuse records naming in_sha256 that no binding of that input covers
 * yet (those after the newest bind whose input it is), from records.log. */
static signet_rc uncovered_records(signet_signer *s, const uint8_t in_sha256[32], uint64_t *covers,
                                   size_t *n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/records.log", signet_trail_dir(s->trail));
    FILE *f = fopen(path, "r");
    if (!f)
        return signet_fail(SIGNET_E_NOTFOUND, "the trail %s has no records.log",
                           signet_trail_dir(s->trail));
    signet_record *rec = calloc(1, sizeof *rec);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    *n = 0;
    signet_rc rc = rec ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
    while (rc == SIGNET_OK && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] != '\n')
            break; /* a torn tail is nobody's signature */
        if (signet_record_parse(line, (size_t)len - 1, rec) != SIGNET_OK) {
            signet_err_clear();
            continue; /* audit verify reports malformed lines */
        }
        bool names = rec->has_artifact_sha256 && memcmp(rec->artifact_sha256, in_sha256, 32) == 0;
        if (rec->type == SIGNET_REC_BIND && names)
            *n = 0; /* covered by that binding */
        else if ((rec->type == SIGNET_REC_SIGN || rec->type == SIGNET_REC_REUSE) && names) {
            if (*n == SIGNET_BIND_MAX)
                rc = signet_fail(SIGNET_E_STATE, "more than %d signatures of one input to bind",
                                 SIGNET_BIND_MAX);
            else
                covers[(*n)++] = rec->index;
        }
    }
    free(line);
    free(rec);
    fclose(f);
    return rc;
}

signet_rc signet_signer_bind_input(signet_signer *s, const char *input, const uint8_t in_sha256[32],
                                   const char *output, const uint8_t out_sha256[32], size_t *n_bound)
{
    *n_bound = 0;
    if (!s->trail)
        return signet_fail(SIGNET_E_STATE, "no audit trail: set audit in signet.conf");
    uint64_t *covers = calloc(SIGNET_BIND_MAX, sizeof *covers);
    if (!covers)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    size_t n = 0;
    signet_rc rc = signer_lock(s);
    if (rc == SIGNET_OK) {
        rc = uncovered_records(s, in_sha256, covers, &n);
        signer_unlock(s);
    }
    if (rc == SIGNET_OK && n == 0)
        rc = signet_fail(SIGNET_E_NOTFOUND,
                         "no signature of %s (by its SHA-256) waits for a binding in the trail: "
                         "was it signed with SIGNET_ARTIFACT=%s?",
                         input, input);
    if (rc == SIGNET_OK)
        rc = signet_signer_bind(s, input, in_sha256, output, out_sha256, covers, n);
    if (rc == SIGNET_OK)
        *n_bound = n;
    free(covers);
    return rc;
}

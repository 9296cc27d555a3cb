/* Record builders: every record of a kind is made by its one builder here, so the
 * signing path, the cache, the ceremony and the CLI cannot drift apart in what a
 * record holds (docs/audit.md, "Records"). */
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"

/* Copies a string into a record field; too long is an error, never a cut. */
static signet_rc put(char *dst, size_t cap, const char *src, const char *what)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        return signet_fail(SIGNET_E_ARG, "the %s of a record is %zu bytes long; at most %zu fit", what,
                           n, cap - 1);
    memcpy(dst, src ? src : "", n + 1);
    return SIGNET_OK;
}

static void start(signet_record *r, signet_record_type type, uint32_t serial, uint16_t auth_id)
{
    memset(r, 0, sizeof *r);
    r->type = type;
    r->serial = serial;
    r->auth_id = auth_id;
}

/* The fields sign, intent and reuse records share. */
static signet_rc put_sig(signet_record *r, const signet_rec_sig *s, bool with_sig)
{
    signet_rc rc;
    if (!s->data_sha256)
        return signet_fail(SIGNET_E_ARG, "a signature record needs the SHA-256 of the signed bytes");
    if ((rc = put(r->key_name, sizeof r->key_name, s->key_name, "key name")) ||
        (rc = put(r->artifact, sizeof r->artifact, s->artifact, "artifact path")) ||
        (rc = put(r->caller, sizeof r->caller, s->caller, "caller")))
        return rc;
    r->key_id = s->key_id;
    r->command = s->command;
    memcpy(r->data_sha256, s->data_sha256, SIGNET_HASH_LEN);
    if (s->artifact_sha256) {
        memcpy(r->artifact_sha256, s->artifact_sha256, SIGNET_HASH_LEN);
        r->has_artifact_sha256 = true;
    }
    if (with_sig) {
        if (!s->sig || s->sig_len == 0 || s->sig_len > sizeof r->sig)
            return signet_fail(SIGNET_E_ARG, "a signature of %zu bytes cannot be recorded (1 to %zu)",
                               s->sig ? s->sig_len : 0, sizeof r->sig);
        memcpy(r->sig, s->sig, s->sig_len);
        r->sig_len = s->sig_len;
    }
    return SIGNET_OK;
}

/* Every builder ends by checking what it built as the formatter would. */
static signet_rc finish(signet_record *r, signet_rc rc)
{
    sb_wr w;
    if (rc)
        return rc;
    sbw_init(&w, SIGNET_LINE_MAX + 2);
    rc = signet_record_format(r, &w);
    sbw_free(&w);
    return rc;
}

signet_rc signet_record_sign(signet_record *r, uint32_t serial, uint16_t auth_id, uint64_t seq,
                             const signet_rec_sig *s)
{
    start(r, SIGNET_REC_SIGN, serial, auth_id);
    r->seq = seq;
    return finish(r, put_sig(r, s, true));
}

signet_rc signet_record_sign_nolog(signet_record *r, uint32_t serial, uint16_t auth_id,
                                   const signet_rec_sig *s)
{
    start(r, SIGNET_REC_SIGN, serial, auth_id);
    r->no_log = true;
    return finish(r, put_sig(r, s, true));
}

signet_rc signet_record_intent(signet_record *r, uint32_t serial, uint16_t auth_id,
                               const signet_rec_sig *s)
{
    start(r, SIGNET_REC_INTENT, serial, auth_id);
    signet_rc rc = put_sig(r, s, false);
    /* An intent names only key, mechanism and data: what is asked, not for what. */
    r->artifact[0] = r->caller[0] = 0;
    r->has_artifact_sha256 = false;
    return finish(r, rc);
}

signet_rc signet_record_reuse(signet_record *r, uint32_t serial, uint16_t auth_id,
                              const signet_rec_sig *s, uint64_t original)
{
    start(r, SIGNET_REC_REUSE, serial, auth_id);
    r->original = original;
    return finish(r, put_sig(r, s, true));
}

signet_rc signet_record_bind(signet_record *r, uint32_t serial, uint16_t auth_id, const char *input,
                             const uint8_t input_sha256[SIGNET_HASH_LEN], const char *output,
                             const uint8_t output_sha256[SIGNET_HASH_LEN], const uint64_t *covers,
                             size_t n_covers, const char *caller)
{
    start(r, SIGNET_REC_BIND, serial, auth_id);
    signet_rc rc;
    if (!input_sha256 || !output_sha256)
        return signet_fail(SIGNET_E_ARG, "a binding record needs the SHA-256 of input and output");
    if ((rc = put(r->artifact, sizeof r->artifact, input, "input path")) ||
        (rc = put(r->output, sizeof r->output, output, "output path")) ||
        (rc = put(r->caller, sizeof r->caller, caller, "caller")))
        return rc;
    memcpy(r->artifact_sha256, input_sha256, SIGNET_HASH_LEN);
    r->has_artifact_sha256 = true;
    memcpy(r->output_sha256, output_sha256, SIGNET_HASH_LEN);
    if (n_covers == 0 || n_covers > SIGNET_BIND_MAX)
        return signet_fail(SIGNET_E_ARG, "a binding record covers 1 to %d records, not %zu: bind "
                           "larger outputs to the bindings of their parts", SIGNET_BIND_MAX, n_covers);
    /* Sorted (insertion: n is small) so that the line is canonical. */
    for (size_t i = 0; i < n_covers; i++) {
        size_t j = i;
        while (j > 0 && r->covers[j - 1] > covers[i]) {
            r->covers[j] = r->covers[j - 1];
            j--;
        }
        if (j > 0 && r->covers[j - 1] == covers[i])
            return signet_fail(SIGNET_E_ARG, "a binding record names leaf %llu twice",
                               (unsigned long long)covers[i]);
        r->covers[j] = covers[i];
    }
    r->n_covers = n_covers;
    return finish(r, SIGNET_OK);
}

signet_rc signet_record_key(signet_record *r, uint32_t serial, uint16_t auth_id, uint64_t seq,
                            const char *event, const char *key_name, uint16_t key_id, const char *note)
{
    start(r, SIGNET_REC_KEY, serial, auth_id);
    r->seq = seq;
    r->key_id = key_id;
    signet_rc rc;
    if ((rc = put(r->event, sizeof r->event, event, "event")) ||
        (rc = put(r->key_name, sizeof r->key_name, key_name, "key name")) ||
        (rc = put(r->note, sizeof r->note, note, "note")))
        return rc;
    return finish(r, SIGNET_OK);
}

signet_rc signet_record_checkpoint(signet_record *r, uint32_t serial, uint16_t auth_id, uint64_t seq,
                                   uint16_t log_key_id, uint64_t tree_size,
                                   const uint8_t root[SIGNET_HASH_LEN])
{
    start(r, SIGNET_REC_CHECKPOINT, serial, auth_id);
    r->seq = seq;
    r->key_id = log_key_id;
    r->tree_size = tree_size;
    memcpy(r->root, root, SIGNET_HASH_LEN);
    return finish(r, SIGNET_OK);
}

signet_rc signet_record_service(signet_record *r, uint32_t serial, uint16_t auth_id, uint64_t seq,
                                const char *event, const char *note)
{
    start(r, SIGNET_REC_SERVICE, serial, auth_id);
    r->seq = seq;
    signet_rc rc;
    if ((rc = put(r->event, sizeof r->event, event, "event")) ||
        (rc = put(r->note, sizeof r->note, note, "note")))
        return rc;
    return finish(r, SIGNET_OK);
}

signet_rc signet_record_ack(signet_record *r, const char *finding_hash, const char *reason)
{
    start(r, SIGNET_REC_ACK, 0, 0);
    signet_rc rc;
    if ((rc = put(r->finding, sizeof r->finding, finding_hash, "finding hash")) ||
        (rc = put(r->note, sizeof r->note, reason, "reason")))
        return rc;
    return finish(r, SIGNET_OK);
}

/* The audit trail's conversations with the device: draining its log (Get Log
 * Entries, then Set Log Index) and checkpoints signed by the log key on it.  Kept
 * apart from the pure trail code so that verifiers link without the client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

signet_rc signet_audit_drain(signet_trail *t, hsm_session *s, uint32_t serial, signet_drain_result *out)
{
    signet_rc rc = trail_require_lock(t);
    if (rc)
        return rc;
    hsm_log log;
    memset(&log, 0, sizeof log);
    if ((rc = hsm_get_log_entries(s, &log)))
        return signet_wrap(rc, "reading the device audit log");
    signet_drain_result res;
    if ((rc = signet_trail_ingest(t, serial, &log, &res)))
        return rc;
    if (log.n) {
        /* Only now that the entries are durable may the device forget them. */
        rc = hsm_set_log_index(s, log.entries[log.n - 1].number);
        if (rc)
            rc = signet_wrap(rc, "the device log was saved in the trail, but Set Log Index failed "
                             "(the audit credential needs get-log-entries)");
        res.index_set = rc == SIGNET_OK;
    }
    if (out)
        *out = res;
    return rc;
}

struct hsm_signer {
    hsm_session *s;
    uint16_t id;
};

static signet_rc hsm_sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    struct hsm_signer *h = ctx;
    size_t n = 64;
    signet_rc rc = hsm_sign_eddsa(h->s, h->id, msg, len, sig, &n);
    if (rc)
        return signet_wrap(rc, "signing the checkpoint with the log key 0x%04x", h->id);
    if (n != 64)
        return signet_fail(SIGNET_E_DEVICE, "the log key 0x%04x gave a %zu-byte signature: it is not "
                           "an Ed25519 key", h->id, n);
    return SIGNET_OK;
}

signet_rc signet_audit_checkpoint(signet_trail *t, hsm_session *s, uint32_t serial, uint16_t log_key_id,
                                  const char *origin, signet_checkpoint *out)
{
    signet_rc rc = signet_audit_drain(t, s, serial, NULL);
    cp_prepared p;
    sb_wr note;
    sbw_init(&note, 4096);
    memset(&p, 0, sizeof p);
    if (rc == SIGNET_OK) {
        /* The intent first, as for every signature (audit.h, SIGNET_REC_INTENT).  The
         * checkpoint text is not known yet, so its data hash stays zero. */
        static const uint8_t unknown[SIGNET_HASH_LEN];
        signet_rec_sig what = {.key_name = "log-key", .key_id = log_key_id,
                               .command = YH_CMD_SIGN_EDDSA, .data_sha256 = unknown};
        signet_record *in = calloc(1, sizeof *in);
        if (!in)
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        if (rc == SIGNET_OK)
            rc = signet_record_intent(in, serial, hsm_session_auth_id(s), &what);
        if (rc == SIGNET_OK)
            rc = signet_trail_append_record(t, in);
        free(in);
    }
    if (rc == SIGNET_OK)
        rc = checkpoint_prepare(t, origin, &p);
    struct hsm_signer h = {s, log_key_id};
    if (rc == SIGNET_OK)
        rc = checkpoint_sign_check(&p, hsm_sign_cb, &h, &note);
    signet_drain_result d;
    if (rc == SIGNET_OK)
        rc = signet_audit_drain(t, s, serial, &d);
    if (rc == SIGNET_OK) {
        /* The record pairs the device's signing entry with this checkpoint; it is
         * written before the note so that a crash never leaves an unexplained
         * signature. */
        const signet_dev_entry *e =
            signet_drain_find(&d, YH_CMD_SIGN_EDDSA, log_key_id, hsm_session_auth_id(s));
        signet_record *r = calloc(1, sizeof *r);
        if (!r)
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        else if (e) {
            /* No entry means the device does not audit sign-eddsa: then there is
             * nothing to pair, and the note alone is the checkpoint. */
            rc = signet_record_checkpoint(r, serial, hsm_session_auth_id(s), e->seq, log_key_id,
                                          p.cp.size, p.cp.root);
            if (rc == SIGNET_OK)
                rc = signet_trail_append_record(t, r);
        }
        free(r);
    }
    if (rc == SIGNET_OK)
        rc = file_append_durable(t->dir, CHECKPOINTS_FILE, note.p, note.len);
    if (rc == SIGNET_OK && out)
        *out = p.cp;
    sbw_free(&note);
    sbw_free(&p.text);
    return rc;
}

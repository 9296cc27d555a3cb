/* Verifying signed records.  Service records (ceremony, restore, reset) are signed
 * by a record key of the trust anchors; only valid ones explain a reset
 * (verify_device.c).  An ack record names one finding by its hash and is
 * signed by a record key of the trust anchors.  A valid one closes an incident of
 * that hash; tampering (altered leaves, forks, forged records) is never closed; an
 * ack that does not verify is itself a finding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "verify_internal.h"

static bool ed25519_ok(const uint8_t pub[32], const char *msg, size_t len, const uint8_t sig[64])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = pk && c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, pk) == 1 &&
              EVP_DigestVerify(c, sig, 64, (const uint8_t *)msg, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(pk);
    return ok;
}

signet_rc vsigned_record(vstate *v, const char *line, const signet_record *r, uint64_t lineno)
{
    const signet_rkey *k = r->has_rsig ? signet_rkeys_find(&v->rkeys, r->signer) : NULL;
    bool ok = k && ed25519_ok(k->pub, line, r->signed_len, r->rsig);
    const char *why = !r->has_rsig ? "not signed"
                      : !k         ? "signed by a key the trust anchors' record keys do not name"
                                   : "signed, but its signature does not verify";
    if (r->type == SIGNET_REC_SERVICE) {
        if (ok)
            v->recs[v->n_recs - 1].rsig_ok = true; /* record_line kept it last */
        if (ok && strcmp(r->event, "log-key") == 0) {
            struct vlogkey *nk = realloc(v->logkeys, (v->n_logkeys + 1) * sizeof *nk);
            if (!nk)
                return signet_fail(SIGNET_E_NOMEM, "out of memory reading changes of log key");
            v->logkeys = nk;
            nk[v->n_logkeys].index = r->index;
            nk[v->n_logkeys].line = lineno;
            snprintf(nk[v->n_logkeys++].vkey, sizeof nk->vkey, "%s", r->note);
        }
        if (!ok)
            report_add(v->rep, SIGNET_FIND_SERVICE, RECORDS_FILE, lineno,
                       "the service record (event=%s, device %u) is %s: a forged service record "
                       "(service records are signed by a record key of anchors/record-keys)",
                       r->event, r->serial, why);
        return SIGNET_OK;
    }
    if (!ok) {
        report_add(v->rep, SIGNET_FIND_ACK, RECORDS_FILE, lineno,
                   "the acknowledgement of finding %s is %s: a forged acknowledgement", r->finding, why);
        return SIGNET_OK;
    }
    struct vack *na = realloc(v->acks, (v->n_acks + 1) * sizeof *na);
    if (!na)
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading acknowledgements");
    v->acks = na;
    struct vack *a = &v->acks[v->n_acks++];
    snprintf(a->hash, sizeof a->hash, "%s", r->finding);
    snprintf(a->ack, sizeof a->ack, "by %s %s (records.log line %llu): %.120s", k->role, k->holder,
             (unsigned long long)lineno, r->note);
    return SIGNET_OK;
}

void vapply_acks(vstate *v)
{
    for (size_t i = 0; i < v->rep->n; i++) {
        signet_finding *f = &v->rep->f[i];
        if (f->severity != SIGNET_SEV_INCIDENT)
            continue;
        for (size_t j = 0; j < v->n_acks; j++)
            if (strcmp(v->acks[j].hash, f->hash) == 0) {
                f->acknowledged = true;
                snprintf(f->ack, sizeof f->ack, "%s", v->acks[j].ack);
                break;
            }
    }
}

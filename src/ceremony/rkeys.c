/* The ceremony's record keys: an Ed25519 key for the admin and one for the auditor,
 * used to sign acknowledgements and service records (docs/audit.md, "Record keys").
 * Not their P-256 authentication keys: those do ECDH with the device and should do
 * nothing else.  Sealed to their holders like the credentials; the public halves
 * become the trail's anchors/record-keys, a trust anchor written once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony_internal.h"

static const signet_role ROLES[CER_RKEY_ROLES] = {SIGNET_ROLE_ADMIN, SIGNET_ROLE_AUDITOR};

signet_rc cer_rkeys_generate(cer_rkeys *rk)
{
    memset(rk, 0, sizeof *rk);
    signet_rc rc = SIGNET_OK;
    for (int i = 0; rc == SIGNET_OK && i < CER_RKEY_ROLES; i++) {
        rk->key[i] = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
        rc = rk->key[i] ? signet_rkey_id_of(rk->key[i], rk->id[i])
                        : signet_fail(SIGNET_E_CRYPTO, "cannot generate the %s's record key",
                                      signet_role_get(ROLES[i])->name);
    }
    if (rc)
        cer_rkeys_free(rk);
    return rc;
}

void cer_rkeys_free(cer_rkeys *rk)
{
    for (int i = 0; i < CER_RKEY_ROLES; i++)
        EVP_PKEY_free(rk->key[i]);
    memset(rk, 0, sizeof *rk);
}

EVP_PKEY *cer_rkeys_signer(const cer_rkeys *rk) { return rk->key[0]; }

static void rkey_file(signet_role r, const char *holder, char *out, size_t cap)
{
    snprintf(out, cap, "credentials/%s-record-key-%s.age", signet_role_get(r)->name, holder);
}

signet_rc cer_rkeys_write(const cer_rkeys *rk, const signet_plan *pl, const char *out_dir,
                          const char *trail_dir, char (*paths)[CER_REL_MAX], size_t *n, size_t max,
                          cer_run *run)
{
    signet_rkeys *anchors = calloc(1, sizeof *anchors);
    if (!anchors)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    sb_wr text, sealed;
    sbw_init_secure(&text, 8192);
    sbw_init(&sealed, 16 * 1024);
    signet_rc rc = SIGNET_OK;
    for (int i = 0; rc == SIGNET_OK && i < CER_RKEY_ROLES; i++) {
        const char *role = signet_role_get(ROLES[i])->name;
        const signet_plan_person *h = &pl->holders[ROLES[i]];
        char rel[CER_REL_MAX], what[64];
        rkey_file(ROLES[i], h->name, rel, sizeof rel);
        snprintf(what, sizeof what, "%s's record key", role);
        sbw_reset(&text);
        sbw_reset(&sealed);
        if ((rc = cer_pem_private(rk->key[i], what, &text)) ||
            (rc = cer_seal(h->recipient, text.p, text.len, &sealed)) ||
            (rc = cer_write_file(out_dir, rel, sealed.p, sealed.len, 0600)))
            break;
        if (*n < max)
            snprintf(paths[(*n)++], CER_REL_MAX, "%s", rel);
        signet_rkey *a = &anchors->k[anchors->n++];
        size_t pl_len = sizeof a->pub;
        snprintf(a->role, sizeof a->role, "%s", role);
        snprintf(a->holder, sizeof a->holder, "%s", h->name);
        if (EVP_PKEY_get_raw_public_key(rk->key[i], a->pub, &pl_len) != 1)
            rc = signet_fail(SIGNET_E_CRYPTO, "cannot read the %s", what);
        else
            cer_say(run, "%s record key %s for %s: %s", role, rk->id[i], h->name, rel);
    }
    sbw_free(&text);
    sbw_free(&sealed);
    if (rc == SIGNET_OK && (rc = signet_rkeys_create(trail_dir, anchors)) == SIGNET_OK)
        cer_say(run, "record keys named in %s/%s", trail_dir, SIGNET_RKEYS_FILE);
    free(anchors);
    return rc;
}

signet_rc cer_rkeys_manifest(const cer_rkeys *rk, const signet_plan *pl, sb_wr *m)
{
    signet_rc rc = SIGNET_OK;
    for (int i = 0; rc == SIGNET_OK && i < CER_RKEY_ROLES; i++) {
        char rel[CER_REL_MAX];
        const char *holder = pl->holders[ROLES[i]].name;
        rkey_file(ROLES[i], holder, rel, sizeof rel);
        rc = sbw_printf(m, "record-key %s %s ed25519 %s %s\n", signet_role_get(ROLES[i])->name, holder,
                        rk->id[i], rel);
    }
    return rc;
}

/* Restore, step 2: the shares, from the custodians' identity files or typed in,
 * combined and checked against the manifest before the device is touched. */
#include <stdlib.h>
#include <string.h>

#include "restore_internal.h"
#include "signet/secmem.h"

static signet_rc add_share_text(rest *p, const char *text, size_t len, sss_share *shares, size_t *k,
                                const char *what)
{
    while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    while (len && (*text == ' ' || *text == '\t')) {
        text++;
        len--;
    }
    if (*k == SSS_MAX_SHARES)
        return signet_fail(SIGNET_E_ARG, "more than %d shares given", SSS_MAX_SHARES);
    signet_rc rc = sss_share_parse(text, len, &shares[*k]);
    if (rc)
        return signet_wrap(rc, "%s", what);
    for (size_t i = 0; i < *k; i++)
        if (shares[i].index == shares[*k].index) {
            smem_wipe(&shares[*k], sizeof shares[*k]);
            return signet_fail(SIGNET_E_ARG, "%s: share %u was given already", what,
                               shares[i].index);
        }
    size_t n = strlen(p->used);
    snprintf(p->used + n, sizeof p->used - n, "%s%u", n ? "," : "", shares[*k].index);
    (*k)++;
    return SIGNET_OK;
}

static signet_rc shares_typed(rest *p, sss_share *shares, size_t *k)
{
    for (unsigned number = 1; number <= SSS_MAX_SHARES; number++) {
        char *line = NULL;
        signet_rc rc = p->o->read_share(p->o->read_share_ctx, number, p->man->threshold, &line);
        if (rc)
            return rc;
        if (!line)
            break;
        char what[32];
        snprintf(what, sizeof what, "typed share %u", number);
        rc = add_share_text(p, line, strlen(line), shares, k, what);
        smem_free(line);
        if (rc)
            return rc;
    }
    return SIGNET_OK;
}

static signet_rc shares_from_identities(rest *p, sss_share *shares, size_t *k)
{
    age_identities *ids = NULL;
    signet_rc rc = age_identities_new(&ids);
    for (size_t i = 0; rc == SIGNET_OK && i < p->o->n_identities; i++)
        if ((rc = age_identities_add_file(ids, p->o->identities[i])))
            rc = signet_wrap(rc, "identity file %s", p->o->identities[i]);
    sb_wr file, plain;
    sbw_init(&file, 64 * 1024);
    sbw_init_secure(&plain, 4096);
    for (size_t i = 0; rc == SIGNET_OK && i < p->man->n_listed_shares; i++) {
        const cer_manifest_share *s = &p->man->shares[i];
        sbw_reset(&file);
        sbw_reset(&plain);
        rc = rst_read_listed(p, s->file, 64 * 1024, &file);
        if (rc == SIGNET_E_NOTFOUND) {
            /* A custodian who is not here may keep the only copy. */
            cer_say(&p->run, "share %u (%s): %s is not there", s->index, s->name, s->file);
            signet_err_clear();
            rc = SIGNET_OK;
            continue;
        }
        if (rc)
            break;
        rc = age_decrypt_mem(ids, file.p, file.len, &plain);
        if (rc == SIGNET_E_AUTH) {
            /* Not one of the identities given: this custodian is not here. */
            cer_say(&p->run, "share %u (%s): no identity for it", s->index, s->name);
            signet_err_clear();
            rc = SIGNET_OK;
            continue;
        }
        if (rc) {
            rc = signet_wrap(rc, "decrypting the share of %s (%s)", s->name, s->file);
            break;
        }
        char what[96];
        snprintf(what, sizeof what, "the share of %s (%s)", s->name, s->file);
        if ((rc = add_share_text(p, (const char *)plain.p, plain.len, shares, k, what)))
            break;
        if (shares[*k - 1].index != s->index)
            rc = signet_fail(SIGNET_E_VERIFY, "%s holds share %u instead of %u", what,
                             shares[*k - 1].index, s->index);
        else
            cer_say(&p->run, "share %u (%s): decrypted", s->index, s->name);
    }
    sbw_free(&file);
    sbw_free(&plain);
    age_identities_free(ids);
    return rc;
}

/* "2 (bob)": a share's index and its custodian in the manifest. */
static void share_name(const rest *p, unsigned index, char *out, size_t cap)
{
    const char *who = "no custodian of this ceremony";
    for (size_t i = 0; i < p->man->n_listed_shares; i++)
        if (p->man->shares[i].index == index)
            who = p->man->shares[i].name;
    snprintf(out, cap, "%u (%s)", index, who);
}

/* The shares of a mask as "1,3,5" or "2 (bob), 4 (dana)". */
static void share_list(const rest *p, const sss_share *shares, unsigned mask, bool names,
                       char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned i = 0; i < SSS_MAX_SHARES && n < cap; i++) {
        if (!(mask & (1u << i)))
            continue;
        char one[64];
        if (names)
            share_name(p, shares[i].index, one, sizeof one);
        else
            snprintf(one, sizeof one, "%u", shares[i].index);
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? (names ? ", " : ",") : "", one);
    }
}

static signet_rc quorum_failed(rest *p, const sss_share *shares, size_t k, const cer_quorum *q)
{
    const cer_manifest *m = p->man;
    char all[64], foreign[256];
    share_list(p, shares, (1u << k) - 1, false, all, sizeof all);
    share_list(p, shares, q->foreign, true, foreign, sizeof foreign);
    if (q->foreign && k - (size_t)cer_popcount(q->foreign) < m->threshold)
        return signet_fail(SIGNET_E_VERIFY, "share %s is wrong: it is not a share of this "
                                            "ceremony's %u-of-%u split (its threshold digit or "
                                            "length differs); fewer than %u shares are left; "
                                            "nothing was done to the device",
                           foreign, m->threshold, m->n_shares, m->threshold);
    if (q->tried == 1)
        return signet_fail(SIGNET_E_VERIFY, "a share is wrong (mistyped, or from another "
                                            "ceremony): the shares %s give another wrap key than "
                                            "the manifest records (%s); bring one more custodian "
                                            "to find out which, or have each check their share; "
                                            "nothing was done to the device",
                           all, q->meta_only ? "the check value matches, but the key's id, domains "
                                               "or capabilities differ"
                                             : "check value mismatch");
    return signet_fail(SIGNET_E_VERIFY, "no %u of the shares %s give the wrap key the manifest "
                                        "records (check value mismatch): at least two of them are "
                                        "wrong%s%s; have each custodian check their share; nothing "
                                        "was done to the device",
                       m->threshold, all, q->foreign ? ", among them " : "", foreign);
}

signet_rc rst_step_shares(rest *p)
{
    const cer_manifest *m = p->man;
    sss_share *shares = sss_shares_alloc(SSS_MAX_SHARES);
    p->wk = smem_alloc(sizeof *p->wk);
    if (!shares || !p->wk) {
        sss_shares_free(shares, SSS_MAX_SHARES);
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    }
    size_t k = 0;
    signet_rc rc = p->o->read_share ? shares_typed(p, shares, &k) : shares_from_identities(p, shares, &k);
    if (rc == SIGNET_OK && k < m->threshold)
        rc = signet_fail(SIGNET_E_ARG, "%zu share%s (%s) of the %u needed: bring more custodians "
                                       "(their identity files, or their shares typed in)",
                         k, k == 1 ? "" : "s", k ? p->used : "none", m->threshold);
    cer_wrap_expect e = {.threshold = m->threshold, .id = m->wrap_id, .domains = m->wrap_domains,
                         .capabilities = m->wrap_caps, .delegated = m->wrap_delegated};
    memcpy(e.check, m->check, sizeof e.check);
    cer_quorum q;
    if (rc == SIGNET_OK && (rc = cer_find_quorum(shares, k, &e, p->wk, &q)) == SIGNET_E_VERIFY)
        rc = quorum_failed(p, shares, k, &q);
    if (rc == SIGNET_OK) {
        share_list(p, shares, q.used, false, p->used, sizeof p->used);
        share_list(p, shares, q.wrong | q.foreign, true, p->wrong, sizeof p->wrong);
        p->n_used = m->threshold;
    }
    sss_shares_free(shares, SSS_MAX_SHARES);
    if (rc)
        return rc;
    if (p->wrong[0])
        cer_say(&p->run, "WRONG share%s %s: %s not fit the shares %s, which give the wrap key "
                         "the manifest records (check value match); left out: %s custodian "
                         "should check their copy (mistyped?)",
                cer_popcount(q.wrong | q.foreign) > 1 ? "s" : "", p->wrong,
                cer_popcount(q.wrong | q.foreign) > 1 ? "they do" : "it does", p->used,
                cer_popcount(q.wrong | q.foreign) > 1 ? "each" : "its");
    cer_say(&p->run, "shares %s give wrap key 0x%04x; its check value, id, domains and "
                     "capabilities match the manifest",
            p->used, p->wk->id);
    return SIGNET_OK;
}

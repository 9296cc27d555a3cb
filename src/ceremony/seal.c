/* Shares and sealed files: encrypting to one holder with age, splitting the wrap
 * key and proving every quorum restores it, and combining shares with the check
 * value (and the manifest's attributes of the key) as the only judge of whether
 * they were right. */
#include <string.h>

#include <openssl/crypto.h>

#include "ceremony_internal.h"
#include "signet/secmem.h"

signet_rc cer_seal(const char *recipient, const uint8_t *p, size_t n, sb_wr *out)
{
    age_recipients *r = NULL;
    signet_rc rc = age_recipients_new(&r);
    if (rc == SIGNET_OK)
        rc = age_recipients_add(r, recipient, strlen(recipient));
    if (rc == SIGNET_OK)
        rc = age_encrypt_mem(r, true, p, n, out);
    age_recipients_free(r);
    return rc;
}

void cer_share_file(unsigned index, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "shares/%u-%s.age", index, name);
}

void cer_cred_file(signet_role r, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "credentials/%s-%s.age", signet_role_get(r)->name, name);
}

unsigned cer_popcount(unsigned v)
{
    unsigned n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

signet_rc cer_split_checked(const sss_wrapkey *wk, unsigned t, unsigned n, sss_share *shares)
{
    sb_wr blob, got;
    sbw_init_secure(&blob, SSS_WRAPKEY_BLOB_LEN);
    sbw_init_secure(&got, SSS_MAX_SECRET);
    sss_share *subset = sss_shares_alloc(SSS_MAX_SHARES);
    signet_rc rc = subset ? sss_wrapkey_encode(wk, &blob)
                          : signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    if (rc == SIGNET_OK)
        rc = sss_split(blob.p, blob.len, t, n, shares);
    /* Every subset of at least t shares (n <= 9: fewer than 512 subsets). */
    unsigned checked = 0;
    for (unsigned mask = 1; rc == SIGNET_OK && mask < (1u << n); mask++) {
        if (cer_popcount(mask) < t)
            continue;
        size_t k = 0;
        for (unsigned i = 0; i < n; i++)
            if (mask & (1u << i))
                subset[k++] = shares[i];
        sbw_reset(&got);
        rc = sss_combine(subset, k, &got);
        if (rc == SIGNET_OK && (got.len != blob.len || CRYPTO_memcmp(got.p, blob.p, blob.len) != 0))
            rc = signet_fail(SIGNET_E_VERIFY, "a set of %zu shares did not give the wrap key back: "
                                              "the split is broken; nothing was handed out",
                             k);
        checked++;
    }
    if (rc == SIGNET_OK && checked == 0)
        rc = signet_fail(SIGNET_E_STATE, "no share combination was checked");
    sss_shares_free(subset, SSS_MAX_SHARES);
    sbw_free(&blob);
    sbw_free(&got);
    return rc;
}

/* Combines exactly the shares of mask and compares the result with what the
 * manifest records: SIGNET_OK (wk filled), SIGNET_E_VERIFY (another key; *meta set
 * when only the id, domains or capabilities differ), or another error. */
static signet_rc try_quorum(const sss_share *shares, unsigned mask, const cer_wrap_expect *e,
                            sss_share *sub, sb_wr *secret, sss_wrapkey *wk, bool *meta)
{
    size_t n = 0;
    for (unsigned i = 0; i < SSS_MAX_SHARES; i++)
        if (mask & (1u << i))
            sub[n++] = shares[i];
    sbw_reset(secret);
    signet_rc rc = sss_combine(sub, n, secret);
    if (rc == SIGNET_OK)
        rc = sss_wrapkey_decode(secret->p, secret->len, wk);
    if (rc == SIGNET_OK) {
        /* A wrong share of the right length decodes to garbage: the check value
         * covers the key bytes, the manifest's attributes the rest of the blob. */
        rc = sss_wrapkey_verify(wk, e->check);
        if (rc == SIGNET_OK && (wk->id != e->id || wk->domains != e->domains ||
                                wk->capabilities != e->capabilities ||
                                wk->delegated != e->delegated)) {
            *meta = true;
            rc = signet_fail(SIGNET_E_VERIFY, "the key's id, domains or capabilities differ from "
                                              "the manifest's");
        }
    }
    if (rc)
        smem_wipe(wk, sizeof *wk);
    return rc;
}

signet_rc cer_find_quorum(const sss_share *shares, size_t k, const cer_wrap_expect *e,
                          sss_wrapkey *wk, cer_quorum *q)
{
    memset(q, 0, sizeof *q);
    if (k > SSS_MAX_SHARES)
        return signet_fail(SIGNET_E_ARG, "more than %d shares given", SSS_MAX_SHARES);
    unsigned usable = 0;
    for (unsigned i = 0; i < k; i++) {
        if (shares[i].threshold == e->threshold && shares[i].len == SSS_WRAPKEY_BLOB_LEN)
            usable |= 1u << i;
        else
            q->foreign |= 1u << i;
    }
    sb_wr secret;
    sbw_init_secure(&secret, SSS_MAX_SECRET);
    sss_share *sub = sss_shares_alloc(SSS_MAX_SHARES);
    signet_rc rc = sub ? SIGNET_E_VERIFY : signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    /* The check value decides: the first quorum that gives the recorded key. */
    for (unsigned mask = 1; rc == SIGNET_E_VERIFY && mask < (1u << k); mask++) {
        if ((mask & ~usable) || cer_popcount(mask) != e->threshold)
            continue;
        q->tried++;
        if ((rc = try_quorum(shares, mask, e, sub, &secret, wk, &q->meta_only)) == SIGNET_OK)
            q->used = mask;
    }
    if (rc == SIGNET_E_VERIFY && q->tried)
        signet_err_clear();
    /* Every other share is tried in place of one share of the quorum. */
    unsigned swap_out = q->used & (0u - q->used); /* the lowest share of the quorum */
    for (unsigned i = 0; rc == SIGNET_OK && i < k; i++) {
        unsigned bit = 1u << i;
        if (!(usable & bit) || (q->used & bit))
            continue;
        bool meta = false;
        signet_rc r2 = try_quorum(shares, (q->used & ~swap_out) | bit, e, sub, &secret, wk, &meta);
        if (r2 == SIGNET_E_VERIFY) {
            signet_err_clear();
            q->wrong |= bit;
        } else if (r2) {
            rc = r2;
        }
    }
    if (rc == SIGNET_OK) {
        bool meta = false;
        rc = try_quorum(shares, q->used, e, sub, &secret, wk, &meta);
    }
    if (rc == SIGNET_E_VERIFY)
        rc = signet_fail(SIGNET_E_VERIFY, "no %u of the shares give the wrap key the manifest "
                                          "records",
                         e->threshold);
    sss_shares_free(sub, SSS_MAX_SHARES);
    sbw_free(&secret);
    if (rc)
        smem_wipe(wk, sizeof *wk);
    return rc;
}

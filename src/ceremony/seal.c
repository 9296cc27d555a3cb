/* Shares and sealed files: encrypting to one holder with age, splitting the wrap
 * key and proving every quorum restores it, and combining shares with the check
 * value as the only judge of whether they were right. */
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

static unsigned popcount(unsigned v)
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
        if (popcount(mask) < t)
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

signet_rc cer_combine_checked(const sss_share *shares, size_t k,
                              const uint8_t check[SSS_WRAPKEY_CHECK_LEN], sss_wrapkey *wk)
{
    sb_wr secret;
    sbw_init_secure(&secret, SSS_MAX_SECRET);
    signet_rc rc = sss_combine(shares, k, &secret);
    if (rc == SIGNET_OK) {
        rc = sss_wrapkey_decode(secret.p, secret.len, wk);
        /* A wrong share of the right length decodes to garbage: only the check
         * value can tell. */
        if (rc == SIGNET_OK)
            rc = sss_wrapkey_verify(wk, check);
    }
    sbw_free(&secret);
    if (rc)
        smem_wipe(wk, sizeof *wk);
    return rc;
}

/* Assembling the signed APK (entries, signing block, central directory, end
 * record) and the v4 .idsig once the device's signatures are in.  With v3.1 the
 * .idsig's signing infos are v3's signer's, then a block (id 0x1b93ad61, length-
 * prefixed signing info) for v3.1's (apksig V4Signature.SigningInfos). */
#include <stdlib.h>
#include <string.h>

#include "apk_job.h"

#define V4_VERSION 2
#define V4_HASH_SHA256 1
#define V4_LOG2_BLOCK 12

static signet_rc put_lp(sb_wr *w, const void *p, size_t n)
{
    signet_rc rc = sbw_u32_le(w, (uint32_t)n);
    return rc ? rc : sbw_put(w, p, n);
}

static uint32_t block_id(int scheme)
{
    return scheme == 2 ? SIGNET_APK_V2_BLOCK_ID
           : scheme == 31 ? SIGNET_APK_V31_BLOCK_ID : SIGNET_APK_V3_BLOCK_ID;
}

/* The v4 signed data of one signer (the base one, or v3.1's: scheme 41). */
static signet_rc v4_request(signet_apk_job *j, int scheme)
{
    bool old = apk_old_signs(j, scheme);
    const struct apk_key *k = &j->old;
    sbw_reset(&j->data[j->nreq]);
    signet_rc rc = apk_v4_signing_data(j->out.len, j->root, old ? k->digest : j->digest,
                                       old ? k->digest_len : j->digest_len,
                                       old ? k->cert_der : j->cert_der,
                                       old ? k->cert_len : j->cert_len, &j->data[j->nreq]);
    return rc ? rc : apk_add_request(j, scheme);
}

signet_rc apk_assemble(signet_apk_job *j)
{
    apk_pair pairs[3];
    sb_wr val[3], block;
    size_t n = 0;
    signet_rc rc = SIGNET_OK;
    sbw_init(&block, 1u << 24);
    for (size_t i = 0; i < j->nreq && i < 3; i++) { /* v2, v3.1, v3 as requested */
        sbw_init(&val[i], 1u << 24);
        n++;
        int scheme = j->req[i].scheme;
        const apk_signer_info *si = apk_old_signs(j, scheme) ? &j->old.si : &j->si;
        rc = rc ? rc : apk_scheme_block(si, scheme, j->data[i].p, j->data[i].len, j->sig[i].p,
                                        j->sig[i].len, &val[i]);
        pairs[i] = (apk_pair){block_id(scheme), val[i].p, val[i].len};
    }
    rc = rc ? rc : apk_block_encode(pairs, n, &block);
    /* The entries are copied from the input once, now that the signatures are in:
     * one allocation of the final size. */
    size_t entries_len = j->l.entries_len;
    uint8_t *all;
    if (rc == SIGNET_OK && (rc = sbw_reserve(&j->out, entries_len + block.len + j->l.cd.len +
                                                          j->eocd.len, &all)) == SIGNET_OK)
        j->out.len = 0;
    rc = rc ? rc : apk_layout_put_entries(&j->l, &j->out);
    rc = rc ? rc : sbw_put(&j->out, block.p, block.len);
    rc = rc ? rc : sbw_put(&j->out, j->l.cd.p, j->l.cd.len);
    size_t eocd_at = j->out.len;
    rc = rc ? rc : sbw_put(&j->out, j->eocd.p, j->eocd.len);
    if (rc == SIGNET_OK)
        put_le32(j->out.p + eocd_at + 16, (uint32_t)(entries_len + block.len));
    for (size_t i = 0; i < n; i++)
        sbw_free(&val[i]);
    sbw_free(&block);
    if (rc)
        return rc;
    if (!j->o.v4) {
        j->round = 2;
        return SIGNET_OK;
    }
    j->round = 1;
    j->nreq = 0;
    rc = apk_verity_tree(j->out.p, j->out.len, &j->tree, j->root);
    /* v4 names v3's signer (apksig V4SchemeSigner); with v3.1 a second signing
     * info for v3.1's signer follows (Android 13's v4.1) */
    rc = rc ? rc : v4_request(j, 4);
    return rc || !j->v31 ? rc : v4_request(j, 41);
}

/* One v4 signing info: digest, certificate, no additional data, key, algorithm,
 * signature. */
static signet_rc put_signing_info(signet_apk_job *j, size_t i, sb_wr *w)
{
    bool old = apk_old_signs(j, j->req[i].scheme);
    const struct apk_key *k = &j->old;
    signet_rc rc = put_lp(w, old ? k->digest : j->digest, old ? k->digest_len : j->digest_len);
    rc = rc ? rc : put_lp(w, old ? k->cert_der : j->cert_der, old ? k->cert_len : j->cert_len);
    rc = rc ? rc : put_lp(w, NULL, 0);
    rc = rc ? rc : put_lp(w, old ? k->spki : j->spki, (size_t)(old ? k->spki_len : j->spki_len));
    rc = rc ? rc : sbw_u32_le(w, (old ? k->algo : j->algo)->id);
    return rc ? rc : put_lp(w, j->sig[i].p, j->sig[i].len);
}

signet_rc apk_v4_assemble(signet_apk_job *j)
{
    sb_wr *w = &j->idsig;
    size_t m_hash, m_sign;
    sbw_reset(w);
    signet_rc rc = sbw_u32_le(w, V4_VERSION);
    rc = rc ? rc : apk_lp_begin(w, &m_hash);
    rc = rc ? rc : sbw_u32_le(w, V4_HASH_SHA256);
    rc = rc ? rc : sbw_u8(w, V4_LOG2_BLOCK);
    rc = rc ? rc : put_lp(w, NULL, 0);
    rc = rc ? rc : put_lp(w, j->root, 32);
    if (rc == SIGNET_OK)
        apk_lp_end(w, m_hash);
    rc = rc ? rc : apk_lp_begin(w, &m_sign);
    rc = rc ? rc : put_signing_info(j, 0, w);
    if (rc == SIGNET_OK && j->nreq > 1) { /* the v3.1 signer's block: id, signing info */
        size_t m_info;
        rc = sbw_u32_le(w, SIGNET_APK_V31_BLOCK_ID);
        rc = rc ? rc : apk_lp_begin(w, &m_info);
        rc = rc ? rc : put_signing_info(j, 1, w);
        if (rc == SIGNET_OK)
            apk_lp_end(w, m_info);
    }
    if (rc == SIGNET_OK)
        apk_lp_end(w, m_sign);
    rc = rc ? rc : put_lp(w, j->tree.p, j->tree.len);
    if (rc == SIGNET_OK)
        j->round = 2;
    return rc;
}

signet_rc signet_apk_sign_finish(signet_apk_job *j, sb_wr *apk_out, sb_wr *idsig_out)
{
    if (j->round != 2)
        return signet_fail(SIGNET_E_STATE, "the APK still needs %zu signatures", j->nreq);
    signet_rc rc = SIGNET_OK;
    if (apk_out->len == 0 && !apk_out->fixed && !apk_out->secure && apk_out->max >= j->out.len) {
        /* hand the buffer over instead of copying a large APK once more */
        size_t max = apk_out->max;
        sbw_free(apk_out);
        *apk_out = j->out;
        apk_out->max = max;
        sbw_init(&j->out, 0);
    } else {
        rc = sbw_put(apk_out, j->out.p, j->out.len);
    }
    if (rc == SIGNET_OK && j->o.v4 && idsig_out)
        rc = sbw_put(idsig_out, j->idsig.p, j->idsig.len);
    return rc;
}

void signet_apk_sign_free(signet_apk_job *j)
{
    if (!j)
        return;
    signet_zip_free(&j->z);
    apk_v1_free(&j->v1);
    apk_layout_free(&j->l);
    X509_free(j->cert);
    OPENSSL_free(j->spki);
    X509_free(j->old.cert);
    OPENSSL_free(j->old.spki);
    sbw_free(&j->lineage);
    sbw_free(&j->eocd);
    sbw_free(&j->out);
    sbw_free(&j->idsig);
    sbw_free(&j->tree);
    for (int i = 0; i < SIGNET_APK_MAX_SIGS; i++) {
        sbw_free(&j->data[i]);
        sbw_free(&j->sig[i]);
    }
    free(j);
}

/* Assembling the signed APK (entries, signing block, central directory, end
 * record) and the v4 .idsig once the device's signatures are in.  With v3.1 the
 * .idsig's signing infos are v3's signer's, then a block (id 0x1b93ad61, length-
 * prefixed signing info) for v3.1's (apksig V4Signature.SigningInfos). */
#include <stdint.h>
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

/* The output as a list of pieces: the layout's entries, then the tail. */
static signet_rc make_pieces(signet_apk_job *j)
{
    free(j->iov);
    j->iov = calloc(j->l.nseg + 1, sizeof *j->iov);
    if (!j->iov)
        return signet_fail(SIGNET_E_NOMEM, "out of memory assembling the APK");
    j->niov = 0;
    for (size_t i = 0; i < j->l.nseg; i++)
        j->iov[j->niov++] = (struct iovec){(void *)(uintptr_t)j->l.seg[i].p, j->l.seg[i].len};
    j->iov[j->niov++] = (struct iovec){j->tail.p, j->tail.len};
    j->out_len = j->l.entries_len + j->tail.len;
    return SIGNET_OK;
}

/* Copies the pieces into j->out (one allocation of the final size), which then
 * becomes the only piece. */
static signet_rc assemble_out(signet_apk_job *j)
{
    uint8_t *p;
    sbw_reset(&j->out);
    signet_rc rc = sbw_reserve(&j->out, j->out_len, &p);
    if (rc)
        return rc;
    for (size_t i = 0; i < j->niov; i++) {
        memcpy(p, j->iov[i].iov_base, j->iov[i].iov_len);
        p += j->iov[i].iov_len;
    }
    j->iov[0] = (struct iovec){j->out.p, j->out.len};
    j->niov = 1;
    return SIGNET_OK;
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
    /* The output is the entries section (pieces of the input and of the layout)
     * followed by the tail: signing block, central directory, end record.  The
     * entries are not copied here: the caller writes the pieces out
     * (signet_apk_sign_pieces) or has them assembled (signet_apk_sign_finish). */
    sbw_reset(&j->tail);
    rc = rc ? rc : sbw_put(&j->tail, block.p, block.len);
    rc = rc ? rc : sbw_put(&j->tail, j->l.cd.p, j->l.cd.len);
    size_t eocd_at = j->tail.len;
    rc = rc ? rc : sbw_put(&j->tail, j->eocd.p, j->eocd.len);
    if (rc == SIGNET_OK)
        put_le32(j->tail.p + eocd_at + 16, (uint32_t)(j->l.entries_len + block.len));
    for (size_t i = 0; i < n; i++)
        sbw_free(&val[i]);
    sbw_free(&block);
    rc = rc ? rc : make_pieces(j);
    if (rc)
        return rc;
    if (!j->o.v4) {
        j->round = 2;
        return SIGNET_OK;
    }
    /* v4 hashes the finished file in 4 KiB blocks: assemble it once */
    rc = assemble_out(j);
    if (rc)
        return rc;
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

signet_rc signet_apk_sign_pieces(signet_apk_job *j, const struct iovec **v, size_t *n,
                                 uint64_t *len)
{
    if (j->round != 2)
        return signet_fail(SIGNET_E_STATE, "the APK still needs %zu signatures", j->nreq);
    *v = j->iov;
    *n = j->niov;
    if (len)
        *len = j->out_len;
    return SIGNET_OK;
}

signet_rc signet_apk_sign_finish(signet_apk_job *j, sb_wr *apk_out, sb_wr *idsig_out)
{
    if (j->round != 2)
        return signet_fail(SIGNET_E_STATE, "the APK still needs %zu signatures", j->nreq);
    signet_rc rc = SIGNET_OK;
    bool hand_over = apk_out && apk_out->len == 0 && !apk_out->fixed && !apk_out->secure &&
                     apk_out->max >= j->out_len;
    if (hand_over) {
        /* assemble into our buffer (unless v4 did), then hand it over instead of
         * copying a large APK once more */
        if (j->out.len == 0)
            rc = assemble_out(j);
        if (rc == SIGNET_OK) {
            size_t max = apk_out->max;
            sbw_free(apk_out);
            *apk_out = j->out;
            apk_out->max = max;
            sbw_init(&j->out, 0);
            rc = make_pieces(j); /* the pieces pointed into the buffer given away */
        }
    } else if (apk_out) {
        for (size_t i = 0; rc == SIGNET_OK && i < j->niov; i++)
            rc = sbw_put(apk_out, j->iov[i].iov_base, j->iov[i].iov_len);
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
    sbw_free(&j->tail);
    free(j->iov);
    sbw_free(&j->idsig);
    sbw_free(&j->tree);
    for (int i = 0; i < SIGNET_APK_MAX_SIGS; i++) {
        sbw_free(&j->data[i]);
        sbw_free(&j->sig[i]);
    }
    free(j);
}

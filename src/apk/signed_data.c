/* Encoders of the v2/v3/v3.1 signer blocks (apksig V2SchemeSigner, V3SchemeSigner;
 * v3.1 is v3's encoding under its own block id).
 * Every sequence element is prefixed by its u32 little-endian length. */
#include "apk_signed.h"
#include "signet/apk_lineage.h"

#define TRY(x)                        \
    do {                              \
        if ((rc = (x)) != SIGNET_OK)  \
            return rc;                \
    } while (0)

static signet_rc put_lp(sb_wr *w, const void *p, size_t n)
{
    signet_rc rc = sbw_u32_le(w, (uint32_t)n);
    return rc ? rc : sbw_put(w, p, n);
}

signet_rc apk_signed_data(const apk_signer_info *s, int scheme, sb_wr *out)
{
    signet_rc rc;
    size_t m_digests, m_digest, m_d, m_certs, m_cert, m_attrs, m_attr;
    TRY(apk_lp_begin(out, &m_digests));
    TRY(apk_lp_begin(out, &m_digest));
    TRY(sbw_u32_le(out, s->algo->id));
    TRY(apk_lp_begin(out, &m_d));
    TRY(sbw_put(out, s->content_digest, s->content_digest_len));
    apk_lp_end(out, m_d);
    apk_lp_end(out, m_digest);
    apk_lp_end(out, m_digests);
    TRY(apk_lp_begin(out, &m_certs));
    TRY(apk_lp_begin(out, &m_cert));
    TRY(sbw_put(out, s->cert, s->cert_len));
    apk_lp_end(out, m_cert);
    apk_lp_end(out, m_certs);
    if (scheme != 2) {
        TRY(sbw_u32_le(out, s->v3_min_sdk));
        TRY(sbw_u32_le(out, s->v3_max_sdk));
    }
    TRY(apk_lp_begin(out, &m_attrs));
    if (scheme == 2 && s->v3_too) {
        /* Stripping protection: this APK also carries a v3 signature. */
        TRY(apk_lp_begin(out, &m_attr));
        TRY(sbw_u32_le(out, SIGNET_APK_STRIPPING_PROTECTION_ATTR));
        TRY(sbw_u32_le(out, 3));
        apk_lp_end(out, m_attr);
    }
    if (scheme != 2 && s->lineage) {
        TRY(apk_lp_begin(out, &m_attr));
        TRY(sbw_u32_le(out, SIGNET_APK_PROOF_OF_ROTATION_ATTR));
        TRY(sbw_put(out, s->lineage, s->lineage_len));
        apk_lp_end(out, m_attr);
    }
    if (scheme == 3 && s->v31_min_sdk) {
        /* v3.1 stripping protection: v3 names the v3.1 signer's first SDK, after
         * the lineage as apksig orders them */
        TRY(apk_lp_begin(out, &m_attr));
        TRY(sbw_u32_le(out, SIGNET_APK_ROTATION_MIN_SDK_ATTR));
        TRY(sbw_u32_le(out, s->v31_min_sdk));
        apk_lp_end(out, m_attr);
    }
    apk_lp_end(out, m_attrs);
    if (scheme == 2)
        TRY(sbw_u32_le(out, 0)); /* apksig appends one empty element */
    return SIGNET_OK;
}

signet_rc apk_scheme_block(const apk_signer_info *s, int scheme, const uint8_t *signed_data,
                           size_t sd_len, const uint8_t *sig, size_t sig_len, sb_wr *out)
{
    signet_rc rc;
    size_t m_signers, m_signer, m_sigs, m_sig;
    TRY(apk_lp_begin(out, &m_signers));
    TRY(apk_lp_begin(out, &m_signer));
    TRY(put_lp(out, signed_data, sd_len));
    if (scheme != 2) {
        TRY(sbw_u32_le(out, s->v3_min_sdk));
        TRY(sbw_u32_le(out, s->v3_max_sdk));
    }
    TRY(apk_lp_begin(out, &m_sigs));
    TRY(apk_lp_begin(out, &m_sig));
    TRY(sbw_u32_le(out, s->algo->id));
    TRY(put_lp(out, sig, sig_len));
    apk_lp_end(out, m_sig);
    apk_lp_end(out, m_sigs);
    TRY(put_lp(out, s->spki, s->spki_len));
    apk_lp_end(out, m_signer);
    apk_lp_end(out, m_signers);
    return SIGNET_OK;
}

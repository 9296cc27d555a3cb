/* Re-signing a footed image's vbmeta for another key, laid out as avbtool's
 * add_hashtree_footer writes it (no partition size): see include/signet/avb.h. */
#include <string.h>

#include <openssl/evp.h>

#include "signet/avb.h"

static uint64_t round_up(uint64_t v, uint64_t m)
{
    return (v + m - 1) / m * m;
}

void signet_avb_resign_free(signet_avb_resign *r)
{
    sbw_free(&r->signed_part);
    memset(r, 0, sizeof *r);
}

signet_rc signet_avb_resign_begin(const uint8_t *image, size_t len, const uint8_t *pubkey,
                                  size_t pubkey_len, const char *algorithm,
                                  signet_avb_resign *r)
{
    memset(r, 0, sizeof *r);
    sbw_init(&r->signed_part, SIGNET_AVB_MAX_VBMETA);
    signet_avb_vbmeta v;
    signet_avb_hashtree h;
    signet_rc rc = signet_avb_footer_parse(image, len, &r->footer);
    if (rc == SIGNET_OK)
        rc = signet_avb_vbmeta_parse(image + r->footer.vbmeta_offset,
                                     (size_t)r->footer.vbmeta_size, &v);
    if (rc == SIGNET_OK)
        rc = signet_avb_find_hashtree(&v, &h);
    if (rc == SIGNET_OK && (h.fec_size || h.fec_num_roots))
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the image carries FEC data; releasetools "
                                               "re-signs without it and so does signet");
    if (rc == SIGNET_OK && r->footer.vbmeta_offset % SIGNET_AVB_BLOCK)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "vbmeta at %llu is not on a %d-byte block",
                         (unsigned long long)r->footer.vbmeta_offset, SIGNET_AVB_BLOCK);
    r->alg = signet_avb_alg_by_name(algorithm);
    if (rc == SIGNET_OK && (!r->alg || r->alg->type == SIGNET_AVB_NONE))
        rc = signet_fail(SIGNET_E_ARG, "'%s' is not an AVB signing algorithm (SHA256_RSA4096, "
                                       "...)",
                         algorithm);
    if (rc == SIGNET_OK && (pubkey_len < 8 || pubkey_len != 8 + 2 * r->alg->sig_len))
        rc = signet_fail(SIGNET_E_ARG, "%s needs a %zu-byte AVB public key, not %zu bytes",
                         algorithm, 8 + 2 * r->alg->sig_len, pubkey_len);
    if (rc != SIGNET_OK) {
        signet_avb_resign_free(r);
        return rc;
    }
    uint64_t desc = v.desc_size;
    uint64_t aux = round_up(desc + pubkey_len, 64);
    uint64_t auth = round_up(r->alg->hash_len + r->alg->sig_len, 64);
    uint8_t hdr[SIGNET_AVB_HEADER_SIZE];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, "AVB0", 4);
    put_be32(hdr + 4, v.required_major);
    put_be32(hdr + 8, v.required_minor);
    put_be64(hdr + 12, auth);
    put_be64(hdr + 20, aux);
    put_be32(hdr + 28, (uint32_t)r->alg->type);
    put_be64(hdr + 32, 0);                      /* hash first in the auth block */
    put_be64(hdr + 40, r->alg->hash_len);
    put_be64(hdr + 48, r->alg->hash_len);       /* then the signature */
    put_be64(hdr + 56, r->alg->sig_len);
    put_be64(hdr + 64, desc);                   /* descriptors, then key, then metadata */
    put_be64(hdr + 72, pubkey_len);
    put_be64(hdr + 80, desc + pubkey_len);
    put_be64(hdr + 88, 0);
    put_be64(hdr + 96, 0);
    put_be64(hdr + 104, desc);
    put_be64(hdr + 112, v.rollback_index);
    put_be32(hdr + 120, v.flags);
    put_be32(hdr + 124, v.rollback_index_location);
    memcpy(hdr + 128, v.release_string, sizeof v.release_string);
    if ((rc = sbw_put(&r->signed_part, hdr, sizeof hdr)) == SIGNET_OK &&
        (rc = sbw_put(&r->signed_part, v.descriptors, (size_t)desc)) == SIGNET_OK &&
        (rc = sbw_put(&r->signed_part, pubkey, pubkey_len)) == SIGNET_OK)
        rc = sbw_zero(&r->signed_part, (size_t)(aux - desc - pubkey_len));
    const EVP_MD *md = r->alg->md_nid == NID_sha256 ? EVP_sha256() : EVP_sha512();
    unsigned dl = 0;
    if (rc == SIGNET_OK &&
        EVP_Digest(r->signed_part.p, r->signed_part.len, r->digest, &dl, md, NULL) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "vbmeta hash failed");
    r->digest_len = dl;
    if (rc != SIGNET_OK)
        signet_avb_resign_free(r);
    return rc;
}

signet_rc signet_avb_resign_finish(signet_avb_resign *r, const uint8_t *image, size_t len,
                                   const uint8_t *sig, size_t sig_len, sb_wr *out)
{
    if (!r->alg || sig_len != r->alg->sig_len)
        return signet_fail(SIGNET_E_ARG, "a %s signature is %zu bytes, not %zu",
                           r->alg ? r->alg->name : "?", r->alg ? r->alg->sig_len : 0, sig_len);
    size_t off = (size_t)r->footer.vbmeta_offset;
    if (off > len)
        return signet_fail(SIGNET_E_ARG, "image changed between the two re-signing steps");
    uint64_t auth = round_up(r->alg->hash_len + r->alg->sig_len, 64);
    size_t blob = r->signed_part.len + (size_t)auth;
    size_t padded = (size_t)round_up(blob, SIGNET_AVB_BLOCK);
    signet_avb_footer f = r->footer;
    f.vbmeta_offset = off;
    f.vbmeta_size = blob;
    uint8_t foot[SIGNET_AVB_FOOTER_SIZE];
    signet_avb_footer_encode(&f, foot);
    signet_rc rc;
    if ((rc = sbw_put(out, image, off)) ||
        (rc = sbw_put(out, r->signed_part.p, SIGNET_AVB_HEADER_SIZE)) ||
        (rc = sbw_put(out, r->digest, r->digest_len)) || (rc = sbw_put(out, sig, sig_len)) ||
        (rc = sbw_zero(out, (size_t)auth - r->digest_len - sig_len)) ||
        (rc = sbw_put(out, r->signed_part.p + SIGNET_AVB_HEADER_SIZE,
                      r->signed_part.len - SIGNET_AVB_HEADER_SIZE)) ||
        (rc = sbw_zero(out, padded - blob)) ||
        (rc = sbw_zero(out, SIGNET_AVB_BLOCK - SIGNET_AVB_FOOTER_SIZE)))
        return rc;
    return sbw_put(out, foot, sizeof foot);
}

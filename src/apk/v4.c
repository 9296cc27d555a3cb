/* APK Signature Scheme v4 (.idsig, version 2): the signed data and verification.
 * Layout (apksig V4Signature): u32 version, length-prefixed hashing info (u32
 * hash algorithm 1 = SHA-256, u8 log2 block size 12, salt, root hash),
 * length-prefixed signing info (APK digest, certificate, additional data, public
 * key, u32 algorithm, signature), then the length-prefixed hash tree. */
#include <string.h>

#include "apk_internal.h"

#define V4_VERSION 2

static signet_rc put_lp(sb_wr *w, const void *p, size_t n)
{
    signet_rc rc = sbw_u32_le(w, (uint32_t)n);
    return rc ? rc : sbw_put(w, p, n);
}

signet_rc apk_v4_signing_data(uint64_t file_size, const uint8_t root[32], const uint8_t *digest,
                              size_t digest_len, const uint8_t *cert, size_t cert_len, sb_wr *w)
{
    size_t mark = w->len;
    signet_rc rc = sbw_u32_le(w, 0);
    rc = rc ? rc : sbw_u64_le(w, file_size);
    rc = rc ? rc : sbw_u32_le(w, 1);
    rc = rc ? rc : sbw_u8(w, 12);
    rc = rc ? rc : put_lp(w, NULL, 0);
    rc = rc ? rc : put_lp(w, root, 32);
    rc = rc ? rc : put_lp(w, digest, digest_len);
    rc = rc ? rc : put_lp(w, cert, cert_len);
    rc = rc ? rc : put_lp(w, NULL, 0);
    if (rc == SIGNET_OK)
        put_le32(w->p + mark, (uint32_t)(w->len - mark));
    return rc;
}

static signet_rc v4fail(const char *what)
{
    return signet_fail(SIGNET_E_VERIFY, "APK Signature Scheme v4 (.idsig): %s", what);
}

/* One signing info (the base one or a block's): the APK digest and certificate
 * must be the scheme's signer's, and its signature over the v4 signed data. */
static signet_rc check_info(sb_rd s, uint64_t file_size, const uint8_t *root, X509 *cert,
                            const uint8_t *digest, size_t digest_len, const char *whose)
{
    sb_rd dg, crt, add, pk, sig;
    uint32_t salg;
    if (apk_lp(&s, &dg) || apk_lp(&s, &crt) || apk_lp(&s, &add) || apk_lp(&s, &pk) ||
        sbr_u32_le(&s, &salg) || apk_lp(&s, &sig) || sbr_left(&s))
        return signet_fail(SIGNET_E_VERIFY, "APK Signature Scheme v4 (.idsig): %s signing info "
                                            "is malformed", whose);
    uint8_t *cder = NULL;
    int clen = i2d_X509(cert, &cder);
    const apk_algo *a = apk_algo_find(salg);
    signet_rc rc = SIGNET_OK;
    if (sbr_left(&dg) != digest_len || memcmp(sbr_cur(&dg), digest, digest_len))
        rc = signet_fail(SIGNET_E_VERIFY, "APK Signature Scheme v4 (.idsig): %s APK digest is not "
                                          "the APK's content digest", whose);
    else if (clen <= 0 || (size_t)clen != sbr_left(&crt) ||
             memcmp(cder, sbr_cur(&crt), (size_t)clen))
        rc = signet_fail(SIGNET_E_VERIFY, "APK Signature Scheme v4 (.idsig): %s certificate is "
                                          "not the APK's signer", whose);
    else if (!a)
        rc = v4fail("unknown signature algorithm");
    else if (sbr_left(&add))
        rc = v4fail("additional data is not supported");
    sb_wr data;
    sbw_init(&data, 1u << 20);
    rc = rc ? rc : apk_v4_signing_data(file_size, root, sbr_cur(&dg), sbr_left(&dg),
                                       sbr_cur(&crt), sbr_left(&crt), &data);
    if (rc == SIGNET_OK) {
        rc = apk_verify_sig(X509_get0_pubkey(cert), a, data.p, data.len, sbr_cur(&sig),
                            sbr_left(&sig));
        if (rc)
            rc = signet_wrap(rc, "v4 (%s signing info)", whose);
    }
    OPENSSL_free(cder);
    sbw_free(&data);
    return rc;
}

signet_rc apk_v4_verify(const uint8_t *apk, size_t len, const uint8_t *idsig, size_t idsig_len,
                        const apk_v4_signer *v3, const apk_v4_signer *v31)
{
    sb_rd r, h, s, salt, root;
    uint32_t version, halg;
    uint8_t log2;
    sbr_init(&r, idsig, idsig_len);
    if (sbr_u32_le(&r, &version) || version != V4_VERSION)
        return v4fail("not a version 2 .idsig file");
    if (apk_lp(&r, &h) || sbr_u32_le(&h, &halg) || sbr_u8(&h, &log2) || apk_lp(&h, &salt) ||
        apk_lp(&h, &root) || halg != 1 || log2 != 12 || sbr_left(&salt) || sbr_left(&root) != 32)
        return v4fail("hashing info is malformed or not SHA-256 over 4 KiB blocks");
    if (apk_lp(&r, &s))
        return v4fail("signing info is malformed");
    /* the base signing info has no length of its own: its six fields, then
     * (id, length-prefixed signing info) blocks */
    const uint8_t *b0 = sbr_cur(&s);
    for (int f = 0; f < 6; f++) {
        sb_rd skip;
        uint32_t alg;
        if (f == 4 ? sbr_u32_le(&s, &alg) != SIGNET_OK : apk_lp(&s, &skip) != SIGNET_OK)
            return v4fail("signing info is malformed");
    }
    sb_rd base;
    sbr_init(&base, b0, (size_t)(sbr_cur(&s) - b0));
    sb_rd b31 = {0};
    bool have31 = false;
    while (sbr_left(&s)) {
        uint32_t id;
        sb_rd blk;
        if (sbr_u32_le(&s, &id) || apk_lp(&s, &blk))
            return v4fail("a signing info block is malformed");
        if (id == SIGNET_APK_V31_BLOCK_ID) {
            if (have31)
                return v4fail("two v3.1 signing infos");
            b31 = blk;
            have31 = true;
        }
    }
    if (have31 && !v31)
        return v4fail("it has a v3.1 signing info but the APK has no v3.1 signer");
    if (!have31 && v31)
        return v4fail("it has no signing info for the APK's v3.1 signer (Android 13 and later "
                      "check v4 against v3.1)");
    sb_wr tree;
    sbw_init(&tree, 0xfff00000u);
    uint8_t want_root[32];
    signet_rc rc = apk_verity_tree(apk, len, &tree, want_root);
    sbw_free(&tree);
    if (rc == SIGNET_OK && memcmp(want_root, sbr_cur(&root), 32) != 0)
        rc = v4fail("the hash tree root does not match the APK's contents");
    rc = rc ? rc : check_info(base, len, sbr_cur(&root), v3->cert, v3->digest, v3->digest_len,
                              "the v3/v2 signer's");
    if (rc == SIGNET_OK && v31)
        rc = check_info(b31, len, sbr_cur(&root), v31->cert, v31->digest, v31->digest_len,
                        "the v3.1 signer's");
    return rc;
}

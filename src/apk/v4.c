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

signet_rc apk_v4_verify(const uint8_t *apk, size_t len, const uint8_t *idsig, size_t idsig_len,
                        X509 *cert, const uint8_t *digest, size_t digest_len)
{
    sb_rd r, h, s, salt, root, dg, crt, add, pk, sig;
    uint32_t version, halg, salg;
    uint8_t log2;
    sbr_init(&r, idsig, idsig_len);
    if (sbr_u32_le(&r, &version) || version != V4_VERSION)
        return v4fail("not a version 2 .idsig file");
    if (apk_lp(&r, &h) || sbr_u32_le(&h, &halg) || sbr_u8(&h, &log2) || apk_lp(&h, &salt) ||
        apk_lp(&h, &root) || halg != 1 || log2 != 12 || sbr_left(&salt) || sbr_left(&root) != 32)
        return v4fail("hashing info is malformed or not SHA-256 over 4 KiB blocks");
    if (apk_lp(&r, &s) || apk_lp(&s, &dg) || apk_lp(&s, &crt) || apk_lp(&s, &add) ||
        apk_lp(&s, &pk) || sbr_u32_le(&s, &salg) || apk_lp(&s, &sig))
        return v4fail("signing info is malformed");
    sb_wr tree, data;
    sbw_init(&tree, 0xfff00000u);
    sbw_init(&data, 1u << 20);
    uint8_t want_root[32];
    uint8_t *cder = NULL;
    int clen = i2d_X509(cert, &cder);
    const apk_algo *a = apk_algo_find(salg);
    signet_rc rc = apk_verity_tree(apk, len, &tree, want_root);
    if (rc == SIGNET_OK && memcmp(want_root, sbr_cur(&root), 32) != 0)
        rc = v4fail("the hash tree root does not match the APK's contents");
    if (rc == SIGNET_OK && (sbr_left(&dg) != digest_len || memcmp(sbr_cur(&dg), digest, digest_len)))
        rc = v4fail("the APK digest is not the APK's v3/v2 content digest");
    if (rc == SIGNET_OK && (clen <= 0 || (size_t)clen != sbr_left(&crt) ||
                            memcmp(cder, sbr_cur(&crt), (size_t)clen)))
        rc = v4fail("signed by another certificate than the APK");
    if (rc == SIGNET_OK && !a)
        rc = v4fail("unknown signature algorithm");
    rc = rc ? rc : apk_v4_signing_data(len, sbr_cur(&root), sbr_cur(&dg), sbr_left(&dg),
                                       sbr_cur(&crt), sbr_left(&crt), &data);
    if (rc == SIGNET_OK) {
        /* the trailing data must be exactly that of the signer's signed data */
        if (sbr_left(&add)) {
            rc = v4fail("additional data is not supported");
        } else {
            rc = apk_verify_sig(X509_get0_pubkey(cert), a, data.p, data.len, sbr_cur(&sig),
                                sbr_left(&sig));
            if (rc)
                rc = signet_wrap(rc, "v4");
        }
    }
    OPENSSL_free(cder);
    sbw_free(&tree);
    sbw_free(&data);
    return rc;
}

/* Verification of APK Signature Scheme v2 / v3 / v3.1 blocks (source.android.com
 * "APK Signature Scheme v2", "v3"; v3.1 as apksig writes it): each signer's
 * signature over its signed data, the signed data's content digest over the whole
 * file, the certificate's key, the SDK ranges, the stripping protections (v2's
 * claim of v3, v3's claim of a v3.1 signer from SDK N) and one signing history
 * across schemes (v2 and v3 may name older keys of the newer blocks' lineage). */
#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

#include "apk_internal.h"
#include "signet/apk_lineage.h"

typedef struct {
    const uint8_t *apk;
    const signet_zip *z;
    uint8_t d256[32], d512[64];
    bool have256, have512;
} content;

typedef struct {
    uint8_t cert_sha256[32];
    X509 *cert;
    bool claims_v3;                /* v2's stripping-protection attribute */
    uint32_t min_sdk, max_sdk;     /* v3, v3.1 */
    uint32_t v31_min_sdk;          /* v3: the v3.1 signer it names (0: none) */
    uint8_t digest[64];
    size_t digest_len;
    /* v3: the proof-of-rotation lineage's certificates (SHA-256), oldest first */
    uint8_t lineage[SIGNET_APK_LINEAGE_MAX][32];
    size_t lineage_n;
} signer_out;

static signet_rc vfail(int scheme, const char *what)
{
    return signet_fail(SIGNET_E_VERIFY, "APK Signature Scheme v%s: %s",
                       scheme == 31 ? "3.1" : scheme == 3 ? "3" : "2", what);
}

/* v3's proof-of-rotation attribute: a lineage (every signature checked) that
 * ends with this signer's certificate. */
static signet_rc check_rotation(sb_rd a, int scheme, signer_out *out)
{
    signet_apk_lineage l;
    if (out->lineage_n)
        return vfail(scheme, "two proof-of-rotation attributes");
    signet_rc rc = signet_apk_lineage_parse(sbr_cur(&a), sbr_left(&a), &l);
    if (rc)
        return signet_fail(SIGNET_E_VERIFY, "APK Signature Scheme v%s: %s",
                           scheme == 31 ? "3.1" : "3", signet_errmsg());
    for (size_t i = 0; i < l.n; i++)
        SHA256(l.v[i].cert, l.v[i].cert_len, out->lineage[i]);
    out->lineage_n = l.n;
    signet_apk_lineage_free(&l);
    if (memcmp(out->lineage[out->lineage_n - 1], out->cert_sha256, 32) != 0)
        return vfail(scheme, "the signer's certificate is not the newest of its lineage");
    return SIGNET_OK;
}

static signet_rc content_digest(content *c, int md_nid, const uint8_t **out, size_t *len)
{
    bool sha512 = md_nid == NID_sha512;
    uint8_t *d = sha512 ? c->d512 : c->d256;
    bool *have = sha512 ? &c->have512 : &c->have256;
    if (!*have) {
        uint8_t eocd[SIGNET_ZIP_EOCD_LEN + 0xffff];
        size_t elen = c->z->len - c->z->eocd_offset;
        memcpy(eocd, c->apk + c->z->eocd_offset, elen);
        put_le32(eocd + 16, c->z->entries_end); /* as if no signing block were there */
        const uint8_t *sec[3] = {c->apk, c->apk + c->z->cd_offset, eocd};
        size_t lens[3] = {c->z->entries_end, c->z->cd_size, elen};
        size_t dl;
        signet_rc rc = apk_content_digest(sec, lens, EVP_get_digestbynid(md_nid), 0, d, &dl);
        if (rc)
            return rc;
        *have = true;
    }
    *out = d;
    *len = sha512 ? 64 : 32;
    return SIGNET_OK;
}

static bool spki_equal(EVP_PKEY *a, const uint8_t *der, size_t len)
{
    uint8_t *p = NULL;
    int n = i2d_PUBKEY(a, &p);
    bool eq = n > 0 && (size_t)n == len && memcmp(p, der, len) == 0;
    OPENSSL_free(p);
    return eq;
}

/* Parses the signed data; fills out and checks it against the signer's fields. */
static signet_rc check_signed_data(sb_rd sd, int scheme, uint32_t algo, const uint8_t *pk,
                                   size_t pk_len, uint32_t min_sdk, uint32_t max_sdk, content *c,
                                   signer_out *out)
{
    sb_rd digests, certs, d, attrs;
    const uint8_t *want = NULL;
    size_t want_len = 0;
    if (apk_lp(&sd, &digests) || apk_lp(&sd, &certs))
        return vfail(scheme, "signed data is malformed");
    while (sbr_left(&digests)) {
        uint32_t id;
        sb_rd dg;
        if (apk_lp(&digests, &d) || sbr_u32_le(&d, &id) || apk_lp(&d, &dg))
            return vfail(scheme, "digest list is malformed");
        if (id == algo) {
            want = sbr_cur(&dg);
            want_len = sbr_left(&dg);
        }
    }
    if (!want)
        return vfail(scheme, "the signed data has no digest for the signature's algorithm");
    sb_rd cert;
    if (apk_lp(&certs, &cert) || sbr_left(&cert) == 0)
        return vfail(scheme, "the signer has no certificate");
    const uint8_t *cp = sbr_cur(&cert);
    out->cert = d2i_X509(NULL, &cp, (long)sbr_left(&cert));
    if (!out->cert || cp != sbr_cur(&cert) + sbr_left(&cert))
        return vfail(scheme, "the signer's certificate does not parse");
    SHA256(sbr_cur(&cert), sbr_left(&cert), out->cert_sha256);
    if (!spki_equal(X509_get0_pubkey(out->cert), pk, pk_len))
        return vfail(scheme, "the certificate's public key is not the signer's public key");
    if (scheme != 2) {
        uint32_t smin, smax;
        if (sbr_u32_le(&sd, &smin) || sbr_u32_le(&sd, &smax))
            return vfail(scheme, "signed data lacks its SDK range");
        if (smin != min_sdk || smax != max_sdk || smin > smax)
            return vfail(scheme, "the SDK range of the signed data and the signer differ");
    }
    if (apk_lp(&sd, &attrs))
        return vfail(scheme, "additional attributes are malformed");
    while (sbr_left(&attrs)) {
        sb_rd a;
        uint32_t id, v;
        if (apk_lp(&attrs, &a) || sbr_u32_le(&a, &id))
            return vfail(scheme, "an additional attribute is malformed");
        if (scheme == 2 && id == SIGNET_APK_STRIPPING_PROTECTION_ATTR &&
            sbr_u32_le(&a, &v) == SIGNET_OK && v == 3)
            out->claims_v3 = true;
        signet_rc rr;
        if (scheme != 2 && id == SIGNET_APK_PROOF_OF_ROTATION_ATTR &&
            (rr = check_rotation(a, scheme, out)) != SIGNET_OK)
            return rr;
        if (scheme == 3 && id == SIGNET_APK_ROTATION_MIN_SDK_ATTR &&
            (sbr_u32_le(&a, &v) || sbr_left(&a) || v == 0 || out->v31_min_sdk))
            return vfail(scheme, "the v3.1 stripping-protection attribute is malformed");
        if (scheme == 3 && id == SIGNET_APK_ROTATION_MIN_SDK_ATTR)
            out->v31_min_sdk = v;
    }
    const apk_algo *al = apk_algo_find(algo);
    const uint8_t *got;
    size_t got_len;
    signet_rc rc = content_digest(c, al->md_nid, &got, &got_len);
    if (rc)
        return rc;
    if (got_len != want_len || memcmp(got, want, got_len) != 0)
        return vfail(scheme, "the APK's contents do not match the signed digest (an entry, the "
                             "central directory or the end record was changed)");
    memcpy(out->digest, got, got_len);
    out->digest_len = got_len;
    return SIGNET_OK;
}

static signet_rc verify_scheme(sb_rd value, int scheme, content *c, signer_out *out)
{
    sb_rd signers, signer, sd, sigs, pk;
    uint32_t min_sdk = 0, max_sdk = 0;
    if (apk_lp(&value, &signers) || apk_lp(&signers, &signer))
        return vfail(scheme, "the block has no signer");
    if (sbr_left(&signers))
        return vfail(scheme, "more than one signer (signet verifies single-signer APKs)");
    if (apk_lp(&signer, &sd))
        return vfail(scheme, "the signer is malformed");
    if (scheme != 2 && (sbr_u32_le(&signer, &min_sdk) || sbr_u32_le(&signer, &max_sdk)))
        return vfail(scheme, "the signer lacks its SDK range");
    if (apk_lp(&signer, &sigs) || apk_lp(&signer, &pk))
        return vfail(scheme, "the signer is malformed");
    const uint8_t *pkp = sbr_cur(&pk);
    EVP_PKEY *pub = d2i_PUBKEY(NULL, &pkp, (long)sbr_left(&pk));
    if (!pub)
        return vfail(scheme, "the signer's public key does not parse");
    /* The strongest signature of an algorithm signet knows. */
    const apk_algo *best = NULL;
    sb_rd best_sig = {0};
    while (sbr_left(&sigs)) {
        sb_rd s, sig;
        uint32_t id;
        if (apk_lp(&sigs, &s) || sbr_u32_le(&s, &id) || apk_lp(&s, &sig)) {
            EVP_PKEY_free(pub);
            return vfail(scheme, "the signature list is malformed");
        }
        const apk_algo *a = apk_algo_find(id);
        if (a && (!best || a->md_nid == NID_sha512)) {
            best = a;
            best_sig = sig;
        }
    }
    signet_rc rc;
    if (!best)
        rc = vfail(scheme, "no signature with an algorithm signet supports");
    else
        rc = apk_verify_sig(pub, best, sbr_cur(&sd), sbr_left(&sd), sbr_cur(&best_sig),
                            sbr_left(&best_sig));
    if (rc == SIGNET_OK)
        rc = check_signed_data(sd, scheme, best->id, sbr_cur(&pk), sbr_left(&pk), min_sdk,
                               max_sdk, c, out);
    out->min_sdk = min_sdk;
    out->max_sdk = max_sdk;
    EVP_PKEY_free(pub);
    return rc;
}

static bool in_lineage(const signer_out *s, const uint8_t cert_sha256[32])
{
    for (size_t i = 0; i < s->lineage_n; i++)
        if (memcmp(s->lineage[i], cert_sha256, 32) == 0)
            return true;
    return false;
}

/* v3.1 against v3 (apksig ApkVerifier): v3's attribute names the SDK from which
 * the v3.1 signer takes over; that signer must be there, start there, and
 * descend from v3's (v3 is in its lineage). */
static signet_rc check_v31(const bool present[3], const signer_out so[3])
{
    if (present[2] && !present[1])
        return signet_fail(SIGNET_E_VERIFY, "the APK has a v3.1 block but no v3 block: Android "
                                            "9 to 12 would not find its v3 signer");
    if (present[1] && so[1].v31_min_sdk && !present[2])
        return signet_fail(SIGNET_E_VERIFY, "the v3 signer says a v3.1 signer takes over from "
                                            "SDK %u, but there is no v3.1 block: it was stripped",
                           so[1].v31_min_sdk);
    if (!present[2])
        return SIGNET_OK;
    if (so[1].v31_min_sdk && so[2].min_sdk != so[1].v31_min_sdk)
        return signet_fail(SIGNET_E_VERIFY, "the v3 signer says the v3.1 signer takes over from "
                                            "SDK %u, but it starts at SDK %u",
                           so[1].v31_min_sdk, so[2].min_sdk);
    if (memcmp(so[1].cert_sha256, so[2].cert_sha256, 32) != 0 &&
        !in_lineage(&so[2], so[1].cert_sha256))
        return signet_fail(SIGNET_E_VERIFY, "the v3.1 signer's lineage does not contain the v3 "
                                            "signer: devices before and after Android 13 would "
                                            "see unrelated keys");
    return SIGNET_OK;
}

static signet_rc verify_all(const uint8_t *apk, const signet_zip *z, const uint8_t *idsig,
                            size_t idsig_len, signet_apk_verify_result *res)
{
    static const struct { uint32_t id; int scheme; } schemes[] = {
        {SIGNET_APK_V2_BLOCK_ID, 2}, {SIGNET_APK_V3_BLOCK_ID, 3}, {SIGNET_APK_V31_BLOCK_ID, 31}};
    content c = {.apk = apk, .z = z};
    signer_out so[3] = {0};
    bool present[3] = {false};
    signet_rc rc = SIGNET_OK;
    if (!z->has_signing_block)
        return signet_fail(SIGNET_E_VERIFY, "the APK has no APK Signing Block: it is not signed "
                                            "with v2 or v3");
    for (int i = 0; i < 3 && rc == SIGNET_OK; i++) {
        sb_rd v;
        signet_rc f = apk_block_find(z, schemes[i].id, &v);
        if (f == SIGNET_E_NOTFOUND)
            continue;
        if (f)
            rc = f;
        else
            rc = verify_scheme(v, schemes[i].scheme, &c, &so[i]);
        present[i] = rc == SIGNET_OK;
    }
    if (rc == SIGNET_OK && !present[0] && !present[1] && !present[2])
        rc = signet_fail(SIGNET_E_VERIFY, "the APK Signing Block has no v2 or v3 signature");
    if (rc == SIGNET_OK && present[0] && so[0].claims_v3 && !present[1])
        rc = signet_fail(SIGNET_E_VERIFY, "the v2 signature says the APK was also signed with v3, "
                                          "but there is no v3 block: it was stripped");
    rc = rc ? rc : check_v31(present, so);
    /* The signer is the newest block's (v3.1, else v3, else v2); v2 must name the
     * same one as v3, or a key of v3's or v3.1's lineage (before the rotation). */
    int first = present[2] ? 2 : present[1] ? 1 : 0;
    if (rc == SIGNET_OK && present[0] && present[1] &&
        memcmp(so[0].cert_sha256, so[1].cert_sha256, 32) != 0 &&
        !in_lineage(&so[1], so[0].cert_sha256) && !in_lineage(&so[2], so[0].cert_sha256))
        rc = signet_fail(SIGNET_E_VERIFY, "v2 and v3 name different signers and no lineage "
                                          "contains v2's");
    if (rc == SIGNET_OK) {
        res->v2 = present[0];
        res->v3 = present[1];
        res->v31 = present[2];
        res->lineage_signers = so[first].lineage_n;
        res->rotation_min_sdk = present[2] ? (int)so[2].min_sdk : 0;
        memcpy(res->cert_sha256, so[first].cert_sha256, 32);
        X509_NAME_oneline(X509_get_subject_name(so[first].cert), res->cert_subject,
                          sizeof res->cert_subject);
        if (idsig) {
            /* v4 names v3's signer (v2's without v3), and v3.1's when there is one */
            const signer_out *b = present[1] ? &so[1] : &so[0];
            apk_v4_signer v3 = {b->cert, b->digest, b->digest_len};
            apk_v4_signer v31 = {so[2].cert, so[2].digest, so[2].digest_len};
            rc = apk_v4_verify(apk, z->len, idsig, idsig_len, &v3, present[2] ? &v31 : NULL);
            res->v4 = rc == SIGNET_OK;
        }
    }
    for (int i = 0; i < 3; i++)
        X509_free(so[i].cert);
    return rc;
}

signet_rc signet_apk_verify(const uint8_t *apk, size_t len, const uint8_t *idsig,
                            size_t idsig_len, int min_sdk, signet_apk_verify_result *res)
{
    memset(res, 0, sizeof *res);
    signet_zip z;
    signet_rc rc = signet_zip_parse(apk, len, &z);
    if (rc)
        return rc;
    for (size_t i = 0; i < z.n; i++) {
        const signet_zip_entry *e = &z.e[i];
        if (e->name_len > 12 && memcmp(e->name, "META-INF/", 9) == 0 &&
            memcmp(e->name + e->name_len - 3, ".SF", 3) == 0)
            res->v1_present = true;
    }
    res->min_sdk = min_sdk;
    if (min_sdk <= 0 && signet_apk_min_sdk(apk, len, &res->min_sdk) != SIGNET_OK)
        res->min_sdk = 0; /* unknown: reported, not fatal */
    rc = verify_all(apk, &z, idsig, idsig_len, res);
    signet_zip_free(&z);
    return rc;
}

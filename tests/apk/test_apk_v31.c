/* Key rotation aimed at Android 13 (APK Signature Scheme v3.1) in the APK engine,
 * with software keys (the device path is test_apk_cli): the signing block is
 * taken apart and checked against the published format as apksig writes it (v2,
 * v3.1, v3, padding; v2 and v3 by the lineage's oldest key, v3 for SDK 24..N-1
 * naming N in attribute 0x559f8b02; v3.1 by the newest key from SDK N with the
 * lineage), Debian's apksigner 31.0.2 (which knows no v3.1) accepts the APK and
 * its .idsig, signet apk verify refuses a stripped v3.1 block or .idsig part;
 * rotation in v3 (below 33) with v4 is byte-identical with apksigner; apps with
 * android:sharedUserId cannot rotate from Android 9. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "apk/apk_internal.h"
#include "apk_fixture.h"
#include "common/hsmd_fixture.h"
#include "signet/apk.h"
#include "signet/apk_lineage.h"

static char dir[64];
static signet_apk_lineage lin;       /* a -> b, made by apksigner rotate */
static sb_wr lin_attr;                /* its v3 attribute encoding */

static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "cd %s && ", dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, out);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/signet-apkv31-XXXXXX");
    if (!mkdtemp(dir) || apkfix_key(dir, "a", "rsa2048") || apkfix_key(dir, "b", "rsa2048") ||
        apkfix_key(dir, "e", "ec"))
        return -1;
    if (sh(NULL, "apksigner rotate --out lin.bin --old-signer --key a.pk8 --cert a.x509.pem "
                 "--new-signer --key b.pk8 --cert b.x509.pem && apksigner rotate --out line.bin "
                 "--old-signer --key a.pk8 --cert a.x509.pem --new-signer --key e.pk8 --cert "
                 "e.x509.pem"))
        return -1;
    char p[128], *f;
    size_t len;
    snprintf(p, sizeof p, "%s/lin.bin", dir);
    if (test_read_file(p, &f, &len))
        return -1;
    signet_rc rc = signet_apk_lineage_read((uint8_t *)f, len, &lin);
    free(f);
    sbw_init(&lin_attr, 1u << 20);
    return rc == SIGNET_OK && signet_apk_lineage_encode(&lin, &lin_attr) == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    signet_apk_lineage_free(&lin);
    sbw_free(&lin_attr);
    if (getenv("SIGNET_TEST_KEEP"))
        return 0;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return run_cmd(cmd, NULL) == 0 ? 0 : -1;
}

static EVP_PKEY *load_key(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s.pem", dir, name);
    FILE *f = fopen(p, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return k;
}

/* The DER certificate of key `name`. */
static void cert_der(const char *name, sb_wr *out)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s.x509.pem", dir, name);
    FILE *f = fopen(p, "r");
    X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    assert_non_null(c);
    uint8_t *der = NULL;
    int n = i2d_X509(c, &der);
    assert_true(n > 0);
    sbw_init(out, 1u << 16);
    assert_int_equal(sbw_put(out, der, (size_t)n), SIGNET_OK);
    OPENSSL_free(der);
    X509_free(c);
}

/* Signs apk with the engine: requests of signer 1 (the lineage's oldest) by
 * old, the others by new.  Returns the engine's result; *asked counts requests
 * per scheme (index: the scheme number). */
static signet_rc sign_rot(const char *apk, const char *old, const char *new_key,
                          const signet_apk_opts *o, sb_wr *out, sb_wr *idsig, int asked[64])
{
    char p[128], *in;
    size_t len;
    snprintf(p, sizeof p, "%s/%s", dir, apk);
    assert_int_equal(test_read_file(p, &in, &len), 0);
    EVP_PKEY *k[2] = {load_key(new_key), load_key(old)};
    assert_non_null(k[0]);
    assert_non_null(k[1]);
    sb_wr cert;
    cert_der(new_key, &cert);
    signet_apk_job *j = NULL;
    signet_rc rc = signet_apk_sign_begin((uint8_t *)in, len, o, cert.p, cert.len, &j);
    const signet_apk_sigreq *r;
    size_t m;
    while (rc == SIGNET_OK && (m = signet_apk_sign_pending(j, &r)) > 0) {
        for (size_t i = 0; i < m && rc == SIGNET_OK; i++) {
            EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k[r[i].signer], NULL);
            uint8_t sig[1024];
            size_t sl = sizeof sig;
            assert_true(pc && EVP_PKEY_sign_init(pc) == 1 &&
                        (!r[i].rsa || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1) &&
                        EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbynid(r[i].md_nid)) == 1 &&
                        EVP_PKEY_sign(pc, sig, &sl, r[i].digest, r[i].digest_len) == 1);
            EVP_PKEY_CTX_free(pc);
            if (asked && r[i].scheme > 0 && r[i].scheme < 64)
                asked[r[i].scheme]++;
            rc = signet_apk_sign_set(j, i, sig, sl);
        }
    }
    rc = rc ? rc : signet_apk_sign_finish(j, out, idsig);
    signet_apk_sign_free(j);
    EVP_PKEY_free(k[0]);
    EVP_PKEY_free(k[1]);
    sbw_free(&cert);
    free(in);
    return rc;
}

static void save(const char *name, const sb_wr *w)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_int_equal(test_write_file(p, w->p, w->len), 0);
}

/* ---- the published format, read back -------------------------------------- */
typedef struct {
    const uint8_t *cert;
    size_t cert_len;
    uint32_t min_sdk, max_sdk;     /* of the signed data; the signer's must agree */
    uint32_t sig_alg;              /* the (one) signature's algorithm */
    uint32_t attr_id[4];
    sb_rd attr[4];
    size_t nattr;
} signer_view;

static sb_rd lp(sb_rd *r)
{
    sb_rd sub;
    assert_int_equal(apk_lp(r, &sub), SIGNET_OK);
    return sub;
}

static uint32_t u32(sb_rd *r)
{
    uint32_t v;
    assert_int_equal(sbr_u32_le(r, &v), SIGNET_OK);
    return v;
}

/* One signer (the only one) of a v2/v3/v3.1 block value. */
static void read_signer(sb_rd v, bool v3, signer_view *s)
{
    memset(s, 0, sizeof *s);
    sb_rd signers = lp(&v), signer = lp(&signers), sd = lp(&signer);
    assert_int_equal(sbr_left(&signers), 0);
    uint32_t smin = v3 ? u32(&signer) : 0, smax = v3 ? u32(&signer) : 0;
    sb_rd sigs = lp(&signer), sig = lp(&sigs);
    s->sig_alg = u32(&sig);
    assert_int_equal(sbr_left(&sigs), 0);
    sb_rd digests = lp(&sd), certs = lp(&sd), cert = lp(&certs);
    assert_int_equal(sbr_left(&certs), 0);
    assert_true(sbr_left(&digests) > 0);
    s->cert = sbr_cur(&cert);
    s->cert_len = sbr_left(&cert);
    if (v3) {
        s->min_sdk = u32(&sd);
        s->max_sdk = u32(&sd);
        assert_int_equal(smin, s->min_sdk);
        assert_int_equal(smax, s->max_sdk);
    }
    sb_rd attrs = lp(&sd);
    while (sbr_left(&attrs)) {
        assert_true(s->nattr < 4);
        sb_rd a = lp(&attrs);
        s->attr_id[s->nattr] = u32(&a);
        s->attr[s->nattr++] = a;
    }
}

static void assert_cert(const signer_view *s, const char *key)
{
    sb_wr c;
    cert_der(key, &c);
    assert_int_equal(s->cert_len, c.len);
    assert_memory_equal(s->cert, c.p, c.len);
    sbw_free(&c);
}

/* The ids of the signing block's pairs, in order. */
static size_t block_ids(const sb_wr *apk, uint32_t *ids, size_t max)
{
    signet_zip z;
    assert_int_equal(signet_zip_parse(apk->p, apk->len, &z), SIGNET_OK);
    assert_true(z.has_signing_block);
    sb_rd r;
    sbr_init(&r, z.data + z.entries_end + 8, z.cd_offset - z.entries_end - 8 - 24);
    size_t n = 0;
    while (sbr_left(&r)) {
        uint64_t len;
        assert_int_equal(sbr_u64_le(&r, &len), SIGNET_OK);
        assert_true(n < max && len >= 4 && len <= sbr_left(&r));
        ids[n++] = u32(&r);
        sbr_skip(&r, (size_t)len - 4);
    }
    signet_zip_free(&z);
    return n;
}

static void signer_of(const sb_wr *apk, uint32_t id, signer_view *s)
{
    signet_zip z;
    assert_int_equal(signet_zip_parse(apk->p, apk->len, &z), SIGNET_OK);
    sb_rd v;
    assert_int_equal(apk_block_find(&z, id, &v), SIGNET_OK);
    read_signer(v, id != SIGNET_APK_V2_BLOCK_ID, s);
    signet_zip_free(&z);
}

static signet_apk_opts rot_opts(int rotation_min_sdk)
{
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    o.lib_page_align = SIGNET_APK_DEBIAN_PAGE;
    o.lineage = &lin;
    o.rotation_min_sdk = rotation_min_sdk;
    return o;
}

static void assert_sha256_of(const uint8_t h[32], const char *key)
{
    sb_wr c;
    cert_der(key, &c);
    uint8_t want[32];
    SHA256(c.p, c.len, want);
    assert_memory_equal(h, want, 32);
    sbw_free(&c);
}

/* The default: the rotation targets SDK 33 through a v3.1 block. */
static void test_v31_block_as_published(void **state)
{
    (void)state;
    assert_int_equal(apkfix_build(dir, "r.apk", "sdk:24 dex:9000 so:5000 res:3000"), 0);
    signet_apk_opts o = rot_opts(0);
    o.v4 = true;
    sb_wr out, idsig;
    sbw_init(&out, 1u << 26);
    sbw_init(&idsig, 1u << 26);
    int asked[64] = {0};
    assert_int_equal(sign_rot("r.apk", "a", "b", &o, &out, &idsig, asked), SIGNET_OK);
    /* one signature per block, and two for v4 (v3's signer, then v3.1's) */
    assert_int_equal(asked[2] + asked[3] + asked[31] + asked[4] + asked[41], 5);
    assert_int_equal(asked[31], 1);
    assert_int_equal(asked[41], 1);
    save("signet-r.apk", &out);
    save("signet-r.apk.idsig", &idsig);

    uint32_t ids[8];
    size_t n = block_ids(&out, ids, 8);
    assert_int_equal(n, 4); /* apksig's order */
    assert_int_equal(ids[0], SIGNET_APK_V2_BLOCK_ID);
    assert_int_equal(ids[1], SIGNET_APK_V31_BLOCK_ID);
    assert_int_equal(ids[2], SIGNET_APK_V3_BLOCK_ID);
    assert_int_equal(ids[3], SIGNET_APK_VERITY_PADDING_ID);

    signer_view v2, v3, v31;
    signer_of(&out, SIGNET_APK_V2_BLOCK_ID, &v2);
    assert_cert(&v2, "a");
    assert_int_equal(v2.nattr, 1);
    assert_int_equal(v2.attr_id[0], SIGNET_APK_STRIPPING_PROTECTION_ATTR);
    assert_int_equal(u32(&v2.attr[0]), 3);

    signer_of(&out, SIGNET_APK_V3_BLOCK_ID, &v3);
    assert_cert(&v3, "a"); /* the original key for Android 9-12 */
    assert_int_equal(v3.min_sdk, 24);
    assert_int_equal(v3.max_sdk, 32);
    assert_int_equal(v3.nattr, 1); /* no lineage: only the v3.1 stripping protection */
    assert_int_equal(v3.attr_id[0], SIGNET_APK_ROTATION_MIN_SDK_ATTR);
    assert_int_equal(u32(&v3.attr[0]), 33);
    assert_int_equal(sbr_left(&v3.attr[0]), 0);

    signer_of(&out, SIGNET_APK_V31_BLOCK_ID, &v31);
    assert_cert(&v31, "b");
    assert_int_equal(v31.min_sdk, 33);
    assert_int_equal(v31.max_sdk, 0x7fffffffu);
    assert_int_equal(v31.nattr, 1);
    assert_int_equal(v31.attr_id[0], SIGNET_APK_PROOF_OF_ROTATION_ATTR);
    assert_int_equal(sbr_left(&v31.attr[0]), lin_attr.len); /* the lineage, as rotate wrote it */
    assert_memory_equal(sbr_cur(&v31.attr[0]), lin_attr.p, lin_attr.len);

    signet_apk_verify_result res;
    assert_int_equal(signet_apk_verify(out.p, out.len, idsig.p, idsig.len, 0, &res), SIGNET_OK);
    assert_true(res.v2 && res.v3 && res.v31 && res.v4);
    assert_int_equal(res.rotation_min_sdk, 33);
    assert_int_equal(res.lineage_signers, 2);
    assert_sha256_of(res.cert_sha256, "b");

    /* apksigner 31.0.2 knows no v3.1: it sees v2 + v3 by the original key, which
     * is what Android 7-12 check; its v4 check reads the first signing info */
    char *txt = NULL;
    assert_int_equal(sh(&txt, "apksigner verify -v --print-certs --max-sdk-version 32 "
                              "--v4-signature-file %s/signet-r.apk.idsig signet-r.apk", dir), 0);
    assert_non_null(strstr(txt, "Verified using v2 scheme (APK Signature Scheme v2): true"));
    assert_non_null(strstr(txt, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    assert_non_null(strstr(txt, "Verified using v4 scheme (APK Signature Scheme v4): true"));
    assert_non_null(strstr(txt, "Signer #1 certificate DN: CN=signet-test-a"));
    free(txt);
    /* without --max-sdk-version it still accepts the APK (v2; v3 is not taken
     * as covering SDKs past 32) and warns of v3's unknown attribute */
    assert_int_equal(sh(&txt, "apksigner verify -v signet-r.apk 2>&1"), 0);
    assert_non_null(strstr(txt, "Verifies"));
    assert_non_null(strstr(txt, "Unknown additional attribute: ID 0x559f8b02"));
    free(txt);
    sbw_free(&out);
    sbw_free(&idsig);
}

static void test_rotation_sdk_choices(void **state)
{
    (void)state;
    assert_int_equal(apkfix_build(dir, "r34.apk", "sdk:26 dex:2000"), 0);
    signet_apk_opts o = rot_opts(34);
    sb_wr out;
    sbw_init(&out, 1u << 26);
    assert_int_equal(sign_rot("r34.apk", "a", "b", &o, &out, NULL, NULL), SIGNET_OK);
    signer_view v3, v31;
    signer_of(&out, SIGNET_APK_V3_BLOCK_ID, &v3);
    signer_of(&out, SIGNET_APK_V31_BLOCK_ID, &v31);
    assert_int_equal(v3.max_sdk, 33);
    assert_int_equal(u32(&v3.attr[0]), 34);
    assert_int_equal(v31.min_sdk, 34);
    signet_apk_verify_result res;
    assert_int_equal(signet_apk_verify(out.p, out.len, NULL, 0, 0, &res), SIGNET_OK);
    assert_int_equal(res.rotation_min_sdk, 34);

    /* an app whose min SDK is past the rotation needs no v3.1: v3 alone carries
     * the rotation from the app's first SDK on (apksig: the signer's target) */
    assert_int_equal(apkfix_build(dir, "r33.apk", "sdk:33 dex:2000"), 0);
    o = rot_opts(0);
    sbw_reset(&out);
    assert_int_equal(sign_rot("r33.apk", "a", "b", &o, &out, NULL, NULL), SIGNET_OK);
    uint32_t ids[8];
    assert_int_equal(block_ids(&out, ids, 8), 3);
    assert_int_equal(ids[1], SIGNET_APK_V3_BLOCK_ID);
    signer_of(&out, SIGNET_APK_V3_BLOCK_ID, &v3);
    assert_cert(&v3, "b");
    assert_int_equal(v3.min_sdk, 33);
    assert_int_equal(v3.max_sdk, 0x7fffffffu);
    assert_int_equal(v3.attr_id[0], SIGNET_APK_PROOF_OF_ROTATION_ATTR);
    assert_int_equal(signet_apk_verify(out.p, out.len, NULL, 0, 0, &res), SIGNET_OK);
    assert_false(res.v31);
    assert_int_equal(res.lineage_signers, 2);
    save("signet-r33.apk", &out);
    assert_int_equal(sh(NULL, "apksigner verify signet-r33.apk"), 0);

    /* an EC key rotated in: its own algorithm in v3.1, RSA's in v2 and v3 */
    signet_apk_lineage le;
    char p[128], *f;
    size_t len;
    snprintf(p, sizeof p, "%s/line.bin", dir);
    assert_int_equal(test_read_file(p, &f, &len), 0);
    assert_int_equal(signet_apk_lineage_read((uint8_t *)f, len, &le), SIGNET_OK);
    free(f);
    o = rot_opts(0);
    o.lineage = &le;
    sbw_reset(&out);
    assert_int_equal(sign_rot("r34.apk", "a", "e", &o, &out, NULL, NULL), SIGNET_OK);
    signet_apk_lineage_free(&le);
    signer_of(&out, SIGNET_APK_V3_BLOCK_ID, &v3);
    signer_of(&out, SIGNET_APK_V31_BLOCK_ID, &v31);
    assert_int_equal(v3.sig_alg, SIGNET_APK_RSA_PKCS1_SHA256);
    assert_int_equal(v31.sig_alg, SIGNET_APK_ECDSA_SHA256);
    assert_cert(&v31, "e");
    assert_int_equal(signet_apk_verify(out.p, out.len, NULL, 0, 0, &res), SIGNET_OK);
    assert_sha256_of(res.cert_sha256, "e");
    sbw_free(&out);
}

/* Below 33 the rotation is in v3 from Android 9, as apksigner 31.0.2 writes it:
 * byte for byte, the APK and now also its v4 .idsig (signed by the new key). */
static void test_v3_rotation_with_v4_identical(void **state)
{
    (void)state;
    assert_int_equal(apkfix_build(dir, "r28.apk", "sdk:24 dex:7000 so:3000"), 0);
    signet_apk_opts o = rot_opts(28);
    o.v4 = true;
    sb_wr out, idsig;
    sbw_init(&out, 1u << 26);
    sbw_init(&idsig, 1u << 26);
    assert_int_equal(sign_rot("r28.apk", "a", "b", &o, &out, &idsig, NULL), SIGNET_OK);
    save("signet-r28.apk", &out);
    save("signet-r28.apk.idsig", &idsig);
    assert_int_equal(sh(NULL, "apksigner sign --key a.pk8 --cert a.x509.pem --next-signer --key "
                              "b.pk8 --cert b.x509.pem --lineage lin.bin --v1-signing-enabled "
                              "false --v4-signing-enabled true --in r28.apk --out ref-r28.apk && "
                              "cmp signet-r28.apk ref-r28.apk && cmp signet-r28.apk.idsig "
                              "ref-r28.apk.idsig"), 0);
    signet_apk_verify_result res;
    assert_int_equal(signet_apk_verify(out.p, out.len, idsig.p, idsig.len, 0, &res), SIGNET_OK);
    assert_true(res.v4 && !res.v31);
    sbw_free(&out);
    sbw_free(&idsig);
}

/* Stripping: the v3.1 pair renamed (v2 and v3 still verify on their own), or
 * the .idsig without its v3.1 signing info. */
static void test_stripping_refused(void **state)
{
    (void)state;
    char p[128], *f, *s;
    size_t len, slen;
    snprintf(p, sizeof p, "%s/signet-r.apk", dir);
    assert_int_equal(test_read_file(p, &f, &len), 0);
    snprintf(p, sizeof p, "%s/signet-r.apk.idsig", dir);
    assert_int_equal(test_read_file(p, &s, &slen), 0);
    signet_apk_verify_result res;
    assert_int_equal(signet_apk_verify((uint8_t *)f, len, (uint8_t *)s, slen, 0, &res), SIGNET_OK);

    /* the .idsig: keep the base signing info, drop the block after it */
    sb_rd r, h, si;
    sbr_init(&r, s, slen);
    assert_int_equal(u32(&r), 2);
    h = lp(&r);
    si = lp(&r);
    sb_rd q = si;
    for (int i = 0; i < 6; i++)
        if (i == 4)
            u32(&q);
        else
            lp(&q);
    size_t base = (size_t)(sbr_cur(&q) - sbr_cur(&si));
    assert_int_equal(u32(&q), SIGNET_APK_V31_BLOCK_ID);
    sb_wr cut;
    sbw_init(&cut, 1u << 26);
    sbw_u32_le(&cut, 2);
    sbw_u32_le(&cut, (uint32_t)sbr_left(&h));
    sbw_put(&cut, sbr_cur(&h), sbr_left(&h));
    sbw_u32_le(&cut, (uint32_t)base);
    sbw_put(&cut, sbr_cur(&si), base);
    sbw_put(&cut, sbr_cur(&r), sbr_left(&r)); /* the tree */
    assert_int_equal(signet_apk_verify((uint8_t *)f, len, cut.p, cut.len, 0, &res),
                     SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "v3.1"));
    sbw_free(&cut);

    /* the APK: the v3.1 pair's id changed in place */
    uint8_t id[4] = {0x61, 0xad, 0x93, 0x1b};
    uint8_t *at = memmem(f, len, id, 4);
    assert_non_null(at);
    at[0] ^= 1;
    assert_int_equal(signet_apk_verify((uint8_t *)f, len, NULL, 0, 0, &res), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "no v3.1 block: it was stripped"));
    free(f);
    free(s);
}

/* Hostile .idsig signing infos: every truncation, a second v3.1 block, bytes
 * after the blocks, the v3.1 block under another id; an unknown block is
 * skipped.  Hostile manifests for the sharedUserId reader: every truncation. */
static void test_hostile_idsig_and_manifest(void **state)
{
    (void)state;
    char p[128], *f, *s;
    size_t len, slen;
    snprintf(p, sizeof p, "%s/signet-r.apk", dir);
    assert_int_equal(test_read_file(p, &f, &len), 0);
    snprintf(p, sizeof p, "%s/signet-r.apk.idsig", dir);
    assert_int_equal(test_read_file(p, &s, &slen), 0);
    signet_apk_verify_result res;
    sb_rd r, h, si;
    sbr_init(&r, s, slen);
    u32(&r);
    h = lp(&r);
    si = lp(&r);
    size_t tree_at = (size_t)(sbr_cur(&r) - (const uint8_t *)s);
    for (size_t cut = 0; cut < tree_at; cut += 5)
        assert_int_equal(signet_apk_verify((uint8_t *)f, len, (uint8_t *)s, cut, 0, &res),
                         SIGNET_E_VERIFY);
    /* rebuilds the .idsig with the signing infos followed by `extra` */
    struct {
        const char *what;
        const uint8_t *extra;
        size_t n;
        bool dup31;       /* append a copy of the v3.1 block */
        uint32_t new_id;  /* != 0: the v3.1 block's id becomes this */
        signet_rc want;
        const char *msg;
    } cases[] = {
        {"second v3.1 block", NULL, 0, true, 0, SIGNET_E_VERIFY, "two v3.1 signing infos"},
        {"trailing bytes", (const uint8_t *)"\1\2\3", 3, false, 0, SIGNET_E_VERIFY,
         "block is malformed"},
        {"v3.1 block renamed", NULL, 0, false, 0x1b93ad62u, SIGNET_E_VERIFY,
         "no signing info for the APK's v3.1 signer"},
        {"unknown block after", (const uint8_t *)"\x78\x56\x34\x12\0\0\0\0", 8, false, 0,
         SIGNET_OK, NULL},
    };
    /* where the v3.1 block starts inside the signing infos */
    sb_rd q = si;
    for (int i = 0; i < 6; i++)
        if (i == 4)
            u32(&q);
        else
            lp(&q);
    size_t blk = (size_t)(sbr_cur(&q) - sbr_cur(&si));
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        print_message("idsig: %s\n", cases[c].what);
        sb_wr w;
        sbw_init(&w, 1u << 26);
        sbw_u32_le(&w, 2);
        sbw_u32_le(&w, (uint32_t)sbr_left(&h));
        sbw_put(&w, sbr_cur(&h), sbr_left(&h));
        size_t extra = cases[c].n + (cases[c].dup31 ? sbr_left(&si) - blk : 0);
        sbw_u32_le(&w, (uint32_t)(sbr_left(&si) + extra));
        size_t at = w.len;
        sbw_put(&w, sbr_cur(&si), sbr_left(&si));
        if (cases[c].new_id)
            put_le32(w.p + at + blk, cases[c].new_id);
        if (cases[c].dup31)
            sbw_put(&w, sbr_cur(&si) + blk, sbr_left(&si) - blk);
        sbw_put(&w, cases[c].extra, cases[c].n);
        sbw_put(&w, sbr_cur(&r), sbr_left(&r));
        assert_int_equal(signet_apk_verify((uint8_t *)f, len, w.p, w.len, 0, &res), cases[c].want);
        if (cases[c].msg)
            assert_non_null(strstr(signet_errmsg(), cases[c].msg));
        sbw_free(&w);
    }
    free(f);
    free(s);

    sb_wr m;
    sbw_init(&m, 1u << 16);
    apkfix_manifest_ex(24, true, &m);
    bool shared = false;
    assert_int_equal(signet_apk_manifest_shared_uid(m.p, m.len, &shared), SIGNET_OK);
    assert_true(shared);
    for (size_t cut = 0; cut < m.len; cut++) {
        signet_rc rc = signet_apk_manifest_shared_uid(m.p, cut, &shared);
        assert_true(rc == SIGNET_OK || rc == SIGNET_E_PARSE);
    }
    /* the attribute count says more attributes than the chunk holds */
    uint8_t *e = memmem(m.p, m.len, "\x02\x01\x10\x00", 4); /* <manifest> start element */
    assert_non_null(e);
    put_le16(e + 16 + 12, 40);
    assert_int_equal(signet_apk_manifest_shared_uid(m.p, m.len, &shared), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "attributes of <manifest> run past"));
    sbw_free(&m);
}

/* Android 9-12 refuse a rotated update of a shared-UID app; from Android 13
 * (v3.1) it is allowed. */
static void test_shared_uid(void **state)
{
    (void)state;
    assert_int_equal(apkfix_build(dir, "su.apk", "sdk:24 shareduid dex:1000"), 0);
    char p[128], *f;
    size_t len;
    snprintf(p, sizeof p, "%s/su.apk", dir);
    assert_int_equal(test_read_file(p, &f, &len), 0);
    bool shared = false;
    assert_int_equal(signet_apk_shared_uid((uint8_t *)f, len, &shared), SIGNET_OK);
    assert_true(shared);
    int min_sdk = 0;
    assert_int_equal(signet_apk_min_sdk((uint8_t *)f, len, &min_sdk), SIGNET_OK);
    assert_int_equal(min_sdk, 24);
    free(f);

    signet_apk_opts o = rot_opts(28);
    sb_wr out;
    sbw_init(&out, 1u << 26);
    assert_int_equal(sign_rot("su.apk", "a", "b", &o, &out, NULL, NULL), SIGNET_E_UNSUPPORTED);
    assert_non_null(strstr(signet_errmsg(), "android:sharedUserId"));
    assert_non_null(strstr(signet_errmsg(), "--rotation-min-sdk-version 33"));
    assert_int_equal(out.len, 0);
    o = rot_opts(0);
    assert_int_equal(sign_rot("su.apk", "a", "b", &o, &out, NULL, NULL), SIGNET_OK);
    signet_apk_verify_result res;
    assert_int_equal(signet_apk_verify(out.p, out.len, NULL, 0, 0, &res), SIGNET_OK);
    assert_true(res.v31);
    sbw_free(&out);

    assert_int_equal(apkfix_build(dir, "plain.apk", "sdk:24 dex:100"), 0);
    snprintf(p, sizeof p, "%s/plain.apk", dir);
    assert_int_equal(test_read_file(p, &f, &len), 0);
    assert_int_equal(signet_apk_shared_uid((uint8_t *)f, len, &shared), SIGNET_OK);
    assert_false(shared);
    free(f);
}

/* An APEX's payload key is an AVB key: no lineage rotates it. */
static void test_apex_refused(void **state)
{
    (void)state;
    assert_int_equal(apkfix_build(dir, "x.apex", "sdk:29 dex:100"), 0);
    assert_int_equal(sh(NULL, "mkdir -p apexsrc && head -c 8192 /dev/zero > apexsrc/"
                              "apex_payload.img && cd apexsrc && zip -q -0 ../x.apex "
                              "apex_payload.img"), 0);
    signet_apk_opts o = rot_opts(0);
    sb_wr out;
    sbw_init(&out, 1u << 26);
    assert_int_equal(sign_rot("x.apex", "a", "b", &o, &out, NULL, NULL), SIGNET_E_UNSUPPORTED);
    assert_non_null(strstr(signet_errmsg(), "APEX"));
    assert_int_equal(out.len, 0);
    sbw_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v31_block_as_published),
        cmocka_unit_test(test_rotation_sdk_choices),
        cmocka_unit_test(test_v3_rotation_with_v4_identical),
        cmocka_unit_test(test_stripping_refused),
        cmocka_unit_test(test_hostile_idsig_and_manifest),
        cmocka_unit_test(test_shared_uid),
        cmocka_unit_test(test_apex_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

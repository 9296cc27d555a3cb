/* The APK engine against Debian's apksigner 31.0.2 on the same key (a software
 * key answers the engine's requests; the device path is test_apk_cli): byte for
 * byte for min SDK 24/28/33 read from the manifest, stored, deflated and native
 * library entries, directory entries, a re-signed v1 APK (entries move and are
 * realigned), a manifest-only APK, RSA-4096, v4 on and off; apksigner verify on
 * the outputs; EC keys; and the tamper matrix of signet's verifier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apk/apk_internal.h"
#include "apk_fixture.h"
#include "common/hsmd_fixture.h"
#include "signet/apk.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/signet-apk-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return apkfix_key(dir, "k", "rsa2048") || apkfix_key(dir, "k4", "rsa4096") ||
           apkfix_key(dir, "ec", "ec") || apkfix_key(dir, "other", "rsa2048");
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return run_cmd(cmd, NULL) == 0 ? 0 : -1;
}

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

static void readf(const char *name, char **data, size_t *len)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_int_equal(test_read_file(p, data, len), 0);
}

static void sign_soft(const char *key, const char *apk, const signet_apk_opts *o, sb_wr *out,
                      sb_wr *idsig)
{
    char kp[256], cp[256];
    snprintf(kp, sizeof kp, "%s/%s.pem", dir, key);
    snprintf(cp, sizeof cp, "%s/%s.x509.pem", dir, key);
    char *in;
    size_t len;
    readf(apk, &in, &len);
    assert_int_equal(apkfix_sign_soft(kp, cp, (uint8_t *)in, len, o, out, idsig), 0);
    free(in);
}

static void assert_same_file(const char *name, const uint8_t *p, size_t len)
{
    char *ref;
    size_t rlen;
    readf(name, &ref, &rlen);
    if (rlen != len || memcmp(ref, p, len) != 0) {
        size_t i = 0;
        while (i < len && i < rlen && (uint8_t)ref[i] == p[i])
            i++;
        fail_msg("%s: signet's output differs from apksigner's (%zu vs %zu bytes, first "
                 "difference at %zu)", name, len, rlen, i);
    }
    free(ref);
}

static void write_out(const char *name, const sb_wr *w)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    assert_int_equal(test_write_file(p, w->p, w->len), 0);
}

/* apksigner verify --verbose reports v3, v2 below min SDK 28 (from 28 on it
 * checks v3 alone) and v4 with an .idsig. */
static void apksigner_accepts(const char *apk, int min_sdk, bool v4)
{
    char *out = NULL;
    char extra[300] = "";
    if (v4)
        snprintf(extra, sizeof extra, "--v4-signature-file %s/%s.idsig", dir, apk); /* absolute: the
                                                                               apksigner script changes directory */
    int rc = sh(&out, "apksigner verify --verbose %s %s/%s", extra, dir, apk);
    if (rc != 0 || !strstr(out, "(APK Signature Scheme v3): true"))
        print_message("apksigner verify %s:\n%s\n", apk, out ? out : "");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, min_sdk < 28
                                    ? "Verified using v2 scheme (APK Signature Scheme v2): true"
                                    : "Verified using v2 scheme (APK Signature Scheme v2): false"));
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    if (v4)
        assert_non_null(strstr(out, "Verified using v4 scheme (APK Signature Scheme v4): true"));
    free(out);
}

static const struct identity_case {
    const char *name;
    const char *recipe;
    const char *key;
    int sdk;
    bool v4;
    bool resign_v1;  /* sign with apksigner's v1 first, then re-sign that */
} cases[] = {
    /* min SDK 24/28/33, deflated, directories, v4 and 50 MB: test_apk_cli, on the device */
    {"multi-chunk.apk", "sdk:33 store:2500000 so:5000 dex:1500000 dirs", "k", 33, false, false},
    {"manifest-only.apk", "sdk:24", "k", 24, false, false},
    {"resigned.apk", "sdk:24 res:30000 so:12000 store:777 dirs", "k", 24, false, true},
    {"rsa4096.apk", "sdk:28 dex:300000 so:4000", "k4", 28, true, false},
};

static void test_identical_to_apksigner(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct identity_case *c = &cases[i];
        print_message("case %s\n", c->name);
        assert_int_equal(apkfix_build(dir, c->name, c->recipe), 0);
        char in[128];
        snprintf(in, sizeof in, "%s", c->name);
        if (c->resign_v1) {
            assert_int_equal(sh(NULL, "apksigner sign --key %s.pk8 --cert %s.x509.pem --in %s "
                                      "--out v1-%s", c->key, c->key, c->name, c->name), 0);
            snprintf(in, sizeof in, "v1-%s", c->name);
        }
        /* apksigner reads the min SDK from the manifest too: no --min-sdk-version */
        assert_int_equal(sh(NULL, "apksigner sign --key %s.pk8 --cert %s.x509.pem "
                                  "--v1-signing-enabled false --v4-signing-enabled %s --in %s "
                                  "--out ref-%s", c->key, c->key, c->v4 ? "true" : "false", in,
                            c->name), 0);
        signet_apk_opts o;
        signet_apk_opts_default(&o);
        o.lib_page_align = SIGNET_APK_DEBIAN_PAGE;
        o.v4 = c->v4;
        sb_wr out, idsig;
        sbw_init(&out, 1u << 30);
        sbw_init(&idsig, 1u << 30);
        sign_soft(c->key, in, &o, &out, &idsig);
        char ref[160];
        snprintf(ref, sizeof ref, "ref-%s", c->name);
        assert_same_file(ref, out.p, out.len);
        char mine[160];
        snprintf(mine, sizeof mine, "signet-%s", c->name);
        write_out(mine, &out);
        if (c->v4) {
            char ref_id[200], mine_id[200];
            snprintf(ref_id, sizeof ref_id, "ref-%s.idsig", c->name);
            assert_same_file(ref_id, idsig.p, idsig.len);
            snprintf(mine_id, sizeof mine_id, "%s.idsig", mine);
            write_out(mine_id, &idsig);
        }
        if (c->resign_v1) /* the others are apksigner's own bytes */
            apksigner_accepts(mine, c->sdk, c->v4);
        signet_apk_verify_result res;
        assert_int_equal(signet_apk_verify(out.p, out.len, c->v4 ? idsig.p : NULL, idsig.len, 0,
                                           &res), SIGNET_OK);
        assert_true(res.v2 && res.v3);
        assert_int_equal(res.v4, c->v4);
        sbw_free(&out);
        sbw_free(&idsig);
    }
}

/* ECDSA is randomised: the same structure, accepted by apksigner. */
static void test_ec_key(void **state)
{
    assert_int_equal(apkfix_build(dir, "ec.apk", "sdk:26 dex:40000 so:3000"), 0);
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    o.v4 = true;
    sb_wr out, idsig;
    sbw_init(&out, 1u << 30);
    sbw_init(&idsig, 1u << 30);
    sign_soft("ec", "ec.apk", &o, &out, &idsig);
    write_out("signet-ec.apk", &out);
    write_out("signet-ec.apk.idsig", &idsig);
    apksigner_accepts("signet-ec.apk", 26, true);
    sbw_free(&out);
    sbw_free(&idsig);
}

/* ---- the tamper matrix ---------------------------------------------------- */
static sb_wr good;

static void sign_good(void)
{
    if (good.len)
        return;
    assert_int_equal(apkfix_build(dir, "t.apk", "sdk:24 dex:20000 so:5000"), 0);
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    sbw_init(&good, 1u << 30);
    sign_soft("k", "t.apk", &o, &good, NULL);
}

static void flip_entry(sb_wr *w)
{
    signet_zip z;
    assert_int_equal(signet_zip_parse(w->p, w->len, &z), SIGNET_OK);
    w->p[z.e[0].data_offset] ^= 1;
    signet_zip_free(&z);
}

static void flip_cd(sb_wr *w)
{
    signet_zip z;
    assert_int_equal(signet_zip_parse(w->p, w->len, &z), SIGNET_OK);
    w->p[z.cd_offset + 12] ^= 1; /* the first record's modification time */
    signet_zip_free(&z);
}

/* Keeps only the v2 block: v2's stripping protection must notice. */
static void strip_v3(sb_wr *w)
{
    signet_zip z;
    assert_int_equal(signet_zip_parse(w->p, w->len, &z), SIGNET_OK);
    sb_rd v2;
    assert_int_equal(apk_block_find(&z, SIGNET_APK_V2_BLOCK_ID, &v2), SIGNET_OK);
    apk_pair p = {SIGNET_APK_V2_BLOCK_ID, sbr_cur(&v2), sbr_left(&v2)};
    sb_wr out;
    sbw_init(&out, 1u << 30);
    assert_int_equal(sbw_put(&out, w->p, z.entries_end), SIGNET_OK);
    assert_int_equal(apk_block_encode(&p, 1, &out), SIGNET_OK);
    uint32_t cd = (uint32_t)out.len;
    assert_int_equal(sbw_put(&out, w->p + z.cd_offset, w->len - z.cd_offset), SIGNET_OK);
    put_le32(out.p + out.len - (w->len - z.eocd_offset) + 16, cd);
    signet_zip_free(&z);
    sbw_free(w);
    *w = out;
}

/* Puts another key of the same size where the signer's public key is. */
static void wrong_key(sb_wr *w)
{
    char *other;
    size_t olen;
    assert_int_equal(sh(NULL, "openssl pkey -in other.pem -pubout -outform DER -out other.spki"),
                     0);
    readf("other.spki", &other, &olen);
    signet_zip z;
    assert_int_equal(signet_zip_parse(w->p, w->len, &z), SIGNET_OK);
    char *mine;
    size_t mlen;
    assert_int_equal(sh(NULL, "openssl pkey -in k.pem -pubout -outform DER -out k.spki"), 0);
    readf("k.spki", &mine, &mlen);
    assert_int_equal(mlen, olen);
    uint8_t *at = memmem(w->p + z.entries_end, z.cd_offset - z.entries_end, mine, mlen);
    assert_non_null(at);
    memcpy(at, other, olen); /* the v2 signer's key */
    signet_zip_free(&z);
    free(other);
    free(mine);
}

static void truncate_tail(sb_wr *w) { w->len -= 10; }

static const struct tamper {
    const char *name;
    void (*mutate)(sb_wr *w);
    signet_rc rc;
    const char *message;
} tampers[] = {
    {"changed entry", flip_entry, SIGNET_E_VERIFY, "contents do not match"},
    {"changed central directory", flip_cd, SIGNET_E_VERIFY, "contents do not match"},
    {"stripped v3 block while v2 claims v3", strip_v3, SIGNET_E_VERIFY, "stripped"},
    {"wrong key", wrong_key, SIGNET_E_VERIFY, "does not verify"},
    {"truncated", truncate_tail, SIGNET_E_PARSE, "end of central directory"},
};

static void test_tamper_matrix(void **state)
{
    sign_good();
    signet_apk_verify_result res;
    assert_int_equal(signet_apk_verify(good.p, good.len, NULL, 0, 0, &res), SIGNET_OK);
    for (size_t i = 0; i < sizeof tampers / sizeof tampers[0]; i++) {
        const struct tamper *t = &tampers[i];
        sb_wr w;
        sbw_init(&w, 1u << 30);
        assert_int_equal(sbw_put(&w, good.p, good.len), SIGNET_OK);
        t->mutate(&w);
        signet_rc rc = signet_apk_verify(w.p, w.len, NULL, 0, 0, &res);
        if (rc != t->rc || !strstr(signet_errmsg(), t->message))
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", t->name, signet_rc_name(rc),
                     signet_errmsg(), signet_rc_name(t->rc), t->message);
        sbw_free(&w);
    }
}

/* The engine refuses a signature that its certificate's key did not make. */
static void test_engine_refuses_foreign_signature(void **state)
{
    assert_int_equal(apkfix_build(dir, "f.apk", "sdk:24 dex:100"), 0);
    char *apk, *cert_pem;
    size_t len, clen;
    readf("f.apk", &apk, &len);
    readf("k.x509.pem", &cert_pem, &clen);
    char other_key[256], kcert[256];
    snprintf(other_key, sizeof other_key, "%s/other.pem", dir);
    snprintf(kcert, sizeof kcert, "%s/k.x509.pem", dir);
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    sb_wr out;
    sbw_init(&out, 1u << 30);
    assert_int_equal(apkfix_sign_soft(other_key, kcert, (uint8_t *)apk, len, &o, &out, NULL), -1);
    assert_non_null(strstr(signet_errmsg(), "does not verify"));
    sbw_free(&out);
    free(apk);
    free(cert_pem);
}

static void test_min_sdk_rules(void **state)
{
    static const struct { int sdk; int want; } rows[] = {{24, 24}, {28, 28}, {33, 33}, {0, 1}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sb_wr m;
        sbw_init(&m, 1 << 16);
        apkfix_manifest(rows[i].sdk, &m);
        int got = -1;
        assert_int_equal(signet_apk_manifest_min_sdk(m.p, m.len, &got), SIGNET_OK);
        assert_int_equal(got, rows[i].want);
        /* every truncation fails cleanly or parses without reading past the end */
        for (size_t n = 0; n < m.len; n++)
            (void)signet_apk_manifest_min_sdk(m.p, n, &got);
        sbw_free(&m);
    }
    /* Below Android 7 v1 is needed: made without asking (test_apk_v1 compares it). */
    assert_int_equal(apkfix_build(dir, "old.apk", "sdk:21 dex:100"), 0);
    char kp[256], cp[256];
    snprintf(kp, sizeof kp, "%s/k.pem", dir);
    snprintf(cp, sizeof cp, "%s/k.x509.pem", dir);
    char *apk;
    size_t len;
    readf("old.apk", &apk, &len);
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    sb_wr out;
    sbw_init(&out, 1u << 30);
    assert_int_equal(apkfix_sign_soft(kp, cp, (uint8_t *)apk, len, &o, &out, NULL), 0);
    assert_non_null(memmem(out.p, out.len, "META-INF/CERT.SF", 16));
    sbw_reset(&out);
    o.min_sdk = 24; /* the override wins, as apksigner's --min-sdk-version */
    assert_int_equal(apkfix_sign_soft(kp, cp, (uint8_t *)apk, len, &o, &out, NULL), 0);
    assert_null(memmem(out.p, out.len, "META-INF/CERT.SF", 16));
    sbw_free(&out);
    free(apk);
}

/* signapk -w's whole-file signature, checked as the recovery does. */
static void test_ota_whole_file_signature(void **state)
{
    assert_int_equal(sh(NULL, "rm -rf ota && mkdir -p ota/META-INF/com/google/android && "
                              "echo ui_print > ota/META-INF/com/google/android/updater-script && "
                              "head -c 20000 /dev/urandom > ota/payload.bin && "
                              "(cd ota && zip -q -0 -r ../ota.zip .) && "
                              "java -jar /usr/share/signapk/signapk.jar -w k.x509.pem k.pk8 ota.zip "
                              "ota-signed.zip"), 0);
    char *pkg, *pem;
    size_t len, plen;
    readf("ota-signed.zip", &pkg, &len);
    assert_int_equal(sh(NULL, "openssl x509 -in k.x509.pem -outform DER -out k.der && "
                              "openssl x509 -in other.x509.pem -outform DER -out other.der"), 0);
    readf("k.der", &pem, &plen);
    uint8_t sha[32];
    assert_int_equal(signet_ota_verify((uint8_t *)pkg, len, (uint8_t *)pem, plen, sha), SIGNET_OK);
    assert_int_equal(signet_ota_verify((uint8_t *)pkg, len, NULL, 0, sha), SIGNET_OK);
    char *other;
    size_t olen;
    readf("other.der", &other, &olen);
    assert_int_equal(signet_ota_verify((uint8_t *)pkg, len, (uint8_t *)other, olen, sha),
                     SIGNET_E_VERIFY);
    pkg[100] ^= 1; /* an entry's bytes */
    assert_int_equal(signet_ota_verify((uint8_t *)pkg, len, (uint8_t *)pem, plen, sha),
                     SIGNET_E_VERIFY);
    pkg[100] ^= 1;
    pkg[len - 3] ^= 0x10; /* the footer: no longer 0xffff */
    assert_int_equal(signet_ota_verify((uint8_t *)pkg, len, NULL, 0, sha), SIGNET_E_VERIFY);
    for (size_t n = 0; n < 64; n++) /* truncations never read out of bounds */
        (void)signet_ota_verify((uint8_t *)pkg, len - n, NULL, 0, sha);
    free(pkg);
    free(pem);
    free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_to_apksigner),
        cmocka_unit_test(test_ec_key),
        cmocka_unit_test(test_tamper_matrix),
        cmocka_unit_test(test_engine_refuses_foreign_signature),
        cmocka_unit_test(test_min_sdk_rules),
        cmocka_unit_test(test_ota_whole_file_signature),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    sbw_free(&good);
    return rc;
}

/* v1 (JAR) signing in the APK engine against Debian's apksigner 31.0.2 on the
 * same key (a software key answers the engine's requests; the device path is
 * test_signapk_cli): byte for byte with apksigner's default (v1 + v2 + v3) for
 * min SDK 24 (v1 asked for), 18 (v1 needed: SHA-256) and 16 (SHA-1), stored,
 * deflated and native library entries, directory entries, an input that has its
 * own MANIFEST.MF main section and an entry name longer than a manifest line;
 * apksigner verify reports v1; EC keys below min SDK 18 are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apk_fixture.h"
#include "common/hsmd_fixture.h"
#include "signet/apk.h"

static char dir[64];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/signet-apkv1-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return apkfix_key(dir, "k", "rsa2048") || apkfix_key(dir, "ec", "ec");
}

static int teardown(void **state)
{
    if (getenv("SIGNET_TEST_KEEP")) /* to look at a failing case's files */
        return 0;
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

static signet_rc sign_soft(const char *key, const char *apk, const signet_apk_opts *o, sb_wr *out)
{
    char kp[256], cp[256], ap[256];
    snprintf(kp, sizeof kp, "%s/%s.pem", dir, key);
    snprintf(cp, sizeof cp, "%s/%s.x509.pem", dir, key);
    snprintf(ap, sizeof ap, "%s/%s", dir, apk);
    char *in;
    size_t len;
    assert_int_equal(test_read_file(ap, &in, &len), 0);
    int rc = apkfix_sign_soft(kp, cp, (uint8_t *)in, len, o, out, NULL);
    free(in);
    return rc;
}

/* An input with its own MANIFEST.MF (main attributes in no order, one wrapped
 * over two lines, a section for an entry) and a 130-byte entry name. */
static void add_manifest_and_long_name(const char *apk)
{
    assert_int_equal(sh(NULL, "rm -rf extra && mkdir -p extra/META-INF extra/assets && cd extra && "
                              "printf 'Manifest-Version: 1.0\\r\\nX-Tool: a\\r\\nCreated-By: 11.0 "
                              "(Debian)\\r\\nBuilt-By: a-builder-with-a-rather-long-name-that-"
                              "needs-two-lines-in-the-manif\\r\\n est\\r\\n\\r\\nName: classes."
                              "dex\\r\\nX-Extra: 1\\r\\n\\r\\n' > META-INF/MANIFEST.MF && "
                              "printf 'long' > assets/%0130d && zip -q -D ../%s META-INF/MANIFEST.MF "
                              "assets/*", 7, apk), 0);
}

static const struct v1_case {
    const char *name, *recipe;
    bool ask_v1;          /* --v1-signing-enabled true (min SDK 24 needs no v1) */
    bool own_manifest;
    const char *digest;   /* the manifest's digest attribute */
    int verify_sdk;       /* apksigner verify checks v1 below 24 only */
} cases[] = {
    {"v1-24.apk", "sdk:24 dex:3000 res:20000 so:5000 store:777 dirs", true, false,
     "SHA-256-Digest: ", 23},
    {"v1-18.apk", "sdk:18 dex:1000 res:500 so:100", false, true, "SHA-256-Digest: ", 18},
    {"v1-16.apk", "sdk:16 res:9000 store:10", false, false, "SHA1-Digest: ", 16},
};

static void test_identical_to_apksigner(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct v1_case *c = &cases[i];
        print_message("case %s\n", c->name);
        assert_int_equal(apkfix_build(dir, c->name, c->recipe), 0);
        if (c->own_manifest)
            add_manifest_and_long_name(c->name);
        /* apksigner signs v1 by default, whatever the min SDK */
        assert_int_equal(sh(NULL, "apksigner sign --key k.pk8 --cert k.x509.pem --in %s "
                                  "--out ref-%s", c->name, c->name), 0);
        signet_apk_opts o;
        signet_apk_opts_default(&o);
        o.lib_page_align = SIGNET_APK_DEBIAN_PAGE;
        o.v1 = c->ask_v1;
        o.v1_signer_name = "k";
        sb_wr out;
        sbw_init(&out, 1u << 26);
        assert_int_equal(sign_soft("k", c->name, &o, &out), 0);
        char p[256], *ref;
        size_t rlen;
        snprintf(p, sizeof p, "%s/ref-%s", dir, c->name);
        assert_int_equal(test_read_file(p, &ref, &rlen), 0);
        size_t at = 0;
        while (at < out.len && at < rlen && (uint8_t)ref[at] == out.p[at])
            at++;
        if (out.len != rlen || at != rlen) {
            snprintf(p, sizeof p, "%s/signet-%s", dir, c->name);
            test_write_file(p, out.p, out.len);
            fail_msg("%s differs from apksigner's (%zu vs %zu bytes, first difference at %zu)",
                     c->name, out.len, rlen, at);
        }
        free(ref);
        sbw_free(&out);
        char *mf = NULL;
        assert_int_equal(sh(&mf, "unzip -p ref-%s META-INF/MANIFEST.MF", c->name), 0);
        assert_non_null(strstr(mf, c->digest));
        free(mf);
        char *v = NULL;
        assert_int_equal(sh(&v, "apksigner verify --verbose --min-sdk-version %d ref-%s",
                            c->verify_sdk, c->name), 0);
        assert_non_null(strstr(v, "Verified using v1 scheme (JAR signing): true"));
        free(v);
    }
}

/* Without asking, min SDK 24 gets no v1 (the rule; apksigner's default
 * differs) and its output is apksigner's with --v1-signing-enabled false. */
static void test_v1_only_when_needed(void **state)
{
    assert_int_equal(apkfix_build(dir, "n.apk", "sdk:24 dex:100"), 0);
    assert_int_equal(sh(NULL, "apksigner sign --key k.pk8 --cert k.x509.pem --v1-signing-enabled "
                              "false --in n.apk --out ref-n.apk"), 0);
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    o.lib_page_align = SIGNET_APK_DEBIAN_PAGE;
    sb_wr out;
    sbw_init(&out, 1u << 26);
    assert_int_equal(sign_soft("k", "n.apk", &o, &out), 0);
    char p[256], *ref;
    size_t rlen;
    snprintf(p, sizeof p, "%s/ref-n.apk", dir);
    assert_int_equal(test_read_file(p, &ref, &rlen), 0);
    assert_int_equal(rlen, out.len);
    assert_memory_equal(ref, out.p, rlen);
    free(ref);
    sbw_free(&out);
    /* min SDK 18 with v1 turned off explicitly: signed without it */
    assert_int_equal(apkfix_build(dir, "o.apk", "sdk:18 dex:100"), 0);
    o.v1_off = true;
    sbw_init(&out, 1u << 26);
    assert_int_equal(sign_soft("k", "o.apk", &o, &out), 0);
    assert_null(memmem(out.p, out.len, "META-INF/MANIFEST.MF", 20));
    sbw_free(&out);
}

static void test_ec(void **state)
{
    assert_int_equal(apkfix_build(dir, "e.apk", "sdk:18 res:3000 so:100"), 0);
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    o.lib_page_align = SIGNET_APK_DEBIAN_PAGE;
    sb_wr out;
    sbw_init(&out, 1u << 26);
    assert_int_equal(sign_soft("ec", "e.apk", &o, &out), 0);
    char p[256];
    snprintf(p, sizeof p, "%s/signet-e.apk", dir);
    assert_int_equal(test_write_file(p, out.p, out.len), 0);
    sbw_free(&out);
    char *v = NULL;
    assert_int_equal(sh(&v, "apksigner verify --verbose signet-e.apk && unzip -l signet-e.apk"), 0);
    assert_non_null(strstr(v, "Verified using v2 scheme (APK Signature Scheme v2): true"));
    assert_non_null(strstr(v, "Verified using v1 scheme (JAR signing): true"));
    assert_non_null(strstr(v, "META-INF/CERT.EC"));
    free(v);
    /* Android verifies ECDSA JAR signatures from API 18 only */
    assert_int_equal(apkfix_build(dir, "e17.apk", "sdk:17 res:300"), 0);
    sbw_init(&out, 1u << 26);
    assert_int_not_equal(sign_soft("ec", "e17.apk", &o, &out), 0);
    sbw_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_to_apksigner),
        cmocka_unit_test(test_v1_only_when_needed),
        cmocka_unit_test(test_ec),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

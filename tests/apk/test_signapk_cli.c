/* signet signapk -w and signet apk sign with v1 end to end on signet-hsm, with a
 * key brought in by `signet keys import --aosp` (the same key given to Debian's
 * signapk and apksigner as rel.pk8 + rel.x509.pem): byte for byte with
 * `java -jar signapk.jar -w` for OTA packages with stored entries (directories,
 * old signature files and an old otacert dropped, executable permissions kept)
 * and with deflated ones (both use the system zlib), the key found by its
 * certificate or named with --key; signet ota verify accepts the output; one
 * sign record naming the input and a bind record naming the output; v1 through
 * the device byte for byte with apksigner's default; usage errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apk_fixture.h"
#include "common/hsmd_fixture.h"

#define SIGNAPK "java -jar /usr/share/signapk/signapk.jar"

static struct hsmd h;
static char env[2048];

static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", h.dir, env);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, out);
}

static int setup(void **state)
{
    if (hsmd_start(&h, NULL) != 0)
        return -1;
    snprintf(env, sizeof env,
             "export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password SIGNET_CONF=%s/signet.conf "
             "PATH=%s:$PATH;",
             h.url, h.dir, getenv("SIGNET_BIN_DIR"));
    char conf[1024], path[512];
    snprintf(conf, sizeof conf, "connector = %s\nkeystore = %s/keys\naudit = %s/audit\n", h.url,
             h.dir, h.dir);
    snprintf(path, sizeof path, "%s/signet.conf", h.dir);
    if (test_write_file(path, conf, strlen(conf)) != 0 || apkfix_key(h.dir, "rel", "rsa2048"))
        return -1;
    return sh(NULL, "printf '%%064d' 7 > wrap.hex && "
                    "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
                    "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
                    "signet hsm set-option command-audit sign-pkcs1=on >/dev/null && "
                    "signet -q audit init >/dev/null && "
                    "signet -q keys import rel --aosp rel >/dev/null") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    hsmd_cleanup(&h);
    return 0;
}

/* Records of a type naming a file. */
static int records(const char *type, const char *file)
{
    char *out = NULL;
    sh(&out, "grep ' type=%s ' audit/records.log | grep -c -F '%s'", type, file);
    int n = out ? atoi(out) : -1;
    free(out);
    return n;
}

static void assert_same(const char *a, const char *b)
{
    char *out = NULL;
    int rc = sh(&out, "cmp %s %s", a, b);
    if (rc != 0)
        print_message("%s and %s differ: %s\n", a, b, out ? out : "");
    free(out);
    assert_int_equal(rc, 0);
}

/* An OTA tree: stored or deflated entries, directory entries, an executable
 * script, signature files and an otacert of an earlier signing (dropped). */
static void make_ota(const char *name, const char *zipflags)
{
    assert_int_equal(sh(NULL, "rm -rf t && mkdir -p t/META-INF/com/google/android "
                              "t/META-INF/com/android t/system/lib t/empty && cd t && "
                              "echo 'ui_print(\"hi\");' > META-INF/com/google/android/updater-script "
                              "&& head -c 70000 /dev/urandom > META-INF/com/google/android/"
                              "update-binary && chmod 755 META-INF/com/google/android/update-binary "
                              "&& seq 1 30000 > system/build.prop && head -c 5000 /dev/urandom > "
                              "system/lib/libfoo.so && echo old > META-INF/CERT.SF && echo old > "
                              "META-INF/CERT.RSA && echo old > META-INF/MANIFEST.MF && echo old > "
                              "META-INF/com/android/otacert && printf x > payload.bin && "
                              "zip -q %s -r ../%s . && cd .. && rm -rf t", zipflags, name), 0);
}

static void test_whole_file_identical(void **state)
{
    static const struct { const char *name, *zipflags; } rows[] = {
        {"stored.zip", "-0"}, {"deflated.zip", "-6"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *n = rows[i].name;
        print_message("case %s\n", n);
        make_ota(n, rows[i].zipflags);
        assert_int_equal(sh(NULL, SIGNAPK " -w rel.x509.pem rel.pk8 %s ref-%s", n, n), 0);
        /* as releasetools calls it: certificate and key file; the .pk8 is not read */
        assert_int_equal(sh(NULL, "signet -q signapk -w rel.x509.pem nosuch.pk8 %s s-%s", n, n), 0);
        char ref_name[64], out_name[64];
        snprintf(ref_name, sizeof ref_name, "ref-%s", n);
        snprintf(out_name, sizeof out_name, "s-%s", n);
        assert_same(ref_name, out_name);
        /* the recovery's check, with the key store's certificate */
        assert_int_equal(sh(NULL, "signet ota verify --cert rel.x509.pem s-%s >/dev/null", n), 0);
        assert_int_equal(records("sign", n), 1);
        assert_int_equal(records("bind", out_name), 1);
    }
    /* --key names the key; the certificate file's bytes then come from the store */
    assert_int_equal(sh(NULL, "signet -q signapk -w --key rel stored.zip k-stored.zip && "
                              "signet ota verify k-stored.zip >/dev/null"), 0);
    assert_int_equal(sh(NULL, "signet audit verify >/dev/null"), 0);
}

/* v1 through the device: apksigner's default (v1 + v2 + v3) byte for byte. */
static void test_apk_v1_through_the_device(void **state)
{
    assert_int_equal(apkfix_build(h.dir, "a.apk", "sdk:24 dex:3000 res:9000 so:3000"), 0);
    assert_int_equal(sh(NULL, "apksigner sign --key rel.pk8 --cert rel.x509.pem --in a.apk "
                              "--out ref-a.apk"), 0);
    assert_int_equal(sh(NULL, "signet -q apk sign --key rel --v1-signing-enabled true "
                              "--lib-page-alignment 4096 --in a.apk --out s-a.apk"), 0);
    assert_same("ref-a.apk", "s-a.apk");
    assert_int_equal(records("sign", "a.apk"), 3);
    char *out = NULL;
    assert_int_equal(sh(&out, "apksigner verify --verbose --min-sdk-version 23 s-a.apk"), 0);
    assert_non_null(strstr(out, "Verified using v1 scheme (JAR signing): true"));
    free(out);
}

static void test_usage(void **state)
{
    make_ota("u.zip", "-0");
    assert_int_equal(sh(NULL, "signet signapk --help >/dev/null"), 0);
    assert_int_equal(sh(NULL, "signet signapk -w u.zip 2>/dev/null"), 2);
    assert_int_equal(sh(NULL, "signet signapk -w u.zip o.zip 2>/dev/null"), 2);
    /* without -w the input is an APK: this one has no AndroidManifest.xml */
    assert_int_equal(sh(NULL, "signet signapk rel.x509.pem rel.pk8 u.zip o.zip 2>/dev/null"), 6);
    assert_int_equal(sh(NULL, "signet signapk -w --key nosuch u.zip o.zip 2>/dev/null"), 6);
    assert_int_equal(sh(NULL, "openssl req -new -x509 -key rel.pem -subj /CN=other -out o.pem && "
                              "signet signapk -w o.pem rel.pk8 u.zip o.zip 2>/dev/null"), 6);
    assert_int_equal(sh(NULL, "test ! -e o.zip"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_file_identical),
        cmocka_unit_test(test_apk_v1_through_the_device),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

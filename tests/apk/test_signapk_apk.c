/* signet signapk without -w (APKs) end to end on signet-hsm, with a key brought
 * in by `signet keys import --aosp` (the same key given to Debian's signapk.jar
 * as rel.pk8 + rel.x509.pem):
 *   - byte for byte with `java -jar signapk.jar` for an APK with stored entries
 *     (.so and others, names outside ASCII and beyond the BMP, which Java sorts
 *     and counts in UTF-16 units), deflated entries (re-deflated at level 9 by
 *     both, through the same system zlib: the test checks that premise), an input
 *     manifest's main section, old signature files and directory entries, for the
 *     default (-a 4, min SDK 21 from the manifest) and for --disable-v2 -a 4096
 *     --min-sdk-version 16 (v1 with SHA-1, no v2);
 *   - apksigner verify accepts every output with the schemes signapk makes;
 *   - three sign records naming the input (two with --disable-v2), one bind
 *     record naming the output;
 *   - an EC key: verified, and the same MANIFEST.MF and CERT.SF as signapk.jar
 *     (ECDSA signatures themselves are randomised);
 *   - hostile or unsupported inputs refused with their exit code, nothing written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apk_fixture.h"
#include "common/store_fixture.h"

#define SIGNAPK "java -jar /usr/share/signapk/signapk.jar"
#define sh(...) store_sh_out(&st, __VA_ARGS__)

static struct store st;

static int setup(void **state)
{
    if (store_start(&st, NULL) != 0 || store_init_keystore(&st, STORE_SIGN_AUDIT) != 0 ||
        apkfix_key(st.h.dir, "rel", "rsa2048") || apkfix_key(st.h.dir, "ec", "ec"))
        return -1;
    return sh(NULL, "signet -q keys import rel --aosp rel >/dev/null && "
                    "signet -q keys import ec --aosp ec >/dev/null") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    store_cleanup(&st);
    return 0;
}

/* Records of a type naming a file. */
static long records(const char *type, const char *file)
{
    return store_num(&st, "grep ' type=%s ' audit/records.log | grep -c -F '%s'", type, file);
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

/* The APK: the fixture's (min SDK 21, a deflated text resource, a stored .so and
 * blob, directory entries), plus stored entries named outside ASCII (U+FF21 sorts
 * after U+1F600 in Java, before it in UTF-8 bytes; the é counts as one unit and
 * two bytes), a .so whose name is not ASCII, an entry deflated at level 1 (signapk
 * deflates it again), an input manifest with a main section and the signature
 * files of an earlier signer (dropped). */
static void make_apk(const char *name)
{
    assert_int_equal(apkfix_build(st.h.dir, name, "sdk:21 dex:3000 res:60000 so:7000 store:1000 "
                                               "dirs"), 0);
    assert_int_equal(sh(NULL, "rm -rf x && mkdir -p x/assets x/lib/x86 x/META-INF && cd x && "
                              "head -c 333 /dev/urandom > assets/$(printf '\\357\\274\\241').bin && "
                              "head -c 100 /dev/urandom > assets/$(printf '\\360\\237\\230\\200').bin && "
                              "head -c 5000 /dev/urandom > lib/x86/lib$(printf '\\303\\251').so && "
                              "seq 1 9000 > assets/level1.txt && "
                              "printf 'Manifest-Version: 1.0\\r\\nBuilt-By: signet test\\r\\n\\r\\n' "
                              "> META-INF/MANIFEST.MF && echo old > META-INF/OLD.SF && "
                              "echo old > META-INF/OLD.RSA && "
                              "zip -q -0 ../%s assets/*.bin lib/x86/*.so && "
                              "zip -q -1 ../%s assets/level1.txt && "
                              "zip -q ../%s META-INF/* && cd .. && rm -rf x", name, name, name), 0);
}

/* java.util.zip deflates with the system zlib, as signet does: the premise of
 * byte identity for deflated entries. */
static void test_same_zlib(void **state)
{
    char *jz = NULL, *sz = NULL;
    assert_int_equal(sh(&jz, "ldd $(dirname $(readlink -f $(command -v java)))/../lib/libzip.so "
                             "| grep -o 'libz.so.1 => [^ ]*'"), 0);
    assert_int_equal(sh(&sz, "ldd $(command -v signet) | grep -o 'libz.so.1 => [^ ]*'"), 0);
    assert_string_equal(jz, sz);
    free(jz);
    free(sz);
}

static void test_apk_identical(void **state)
{
    static const struct { const char *name, *args; bool v2; } rows[] = {
        {"d.apk", "", true},
        {"n.apk", "--disable-v2 -a 4096 --min-sdk-version 16", false}};
    make_apk("base.apk");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *n = rows[i].name, *args = rows[i].args;
        print_message("case %s: %s\n", n, args);
        assert_int_equal(sh(NULL, "cp base.apk %s", n), 0);
        assert_int_equal(sh(NULL, SIGNAPK " %s rel.x509.pem rel.pk8 %s ref-%s", args, n, n), 0);
        assert_int_equal(sh(NULL, "signet -q signapk %s rel.x509.pem nosuch.pk8 %s out-%s", args,
                            n, n), 0);
        char ref[64], out[64];
        snprintf(ref, sizeof ref, "ref-%s", n);
        snprintf(out, sizeof out, "out-%s", n);
        assert_same(ref, out);
        char *v = NULL;
        assert_int_equal(sh(&v, "apksigner verify --verbose %s", out), 0);
        assert_non_null(strstr(v, "Verified using v1 scheme (JAR signing): true"));
        assert_non_null(strstr(v, rows[i].v2 ? "Verified using v2 scheme (APK Signature Scheme "
                                               "v2): true"
                                             : "Verified using v2 scheme (APK Signature Scheme "
                                               "v2): false"));
        assert_non_null(strstr(v, "Verified using v3 scheme (APK Signature Scheme v3): true"));
        free(v);
        assert_int_equal(records("sign", n), rows[i].v2 ? 3 : 2);
        assert_int_equal(records("bind", out), 1);
    }
    /* the input's main section stays, the old signer's files go, the entry
     * deflated at level 1 was deflated again (at level 9) */
    char *o = NULL;
    assert_int_equal(sh(&o, "unzip -p out-d.apk META-INF/MANIFEST.MF | head -2"), 0);
    assert_non_null(strstr(o, "Built-By: signet test"));
    free(o);
    assert_int_equal(sh(NULL, "! unzip -Z1 out-d.apk | grep -q OLD"), 0);
    assert_int_equal(sh(NULL, "csize() { unzip -Zv $1 assets/level1.txt | awk '/^  compressed "
                              "size/ {print $3}'; }; test $(csize out-d.apk) -ne $(csize "
                              "base.apk)"), 0);
    assert_int_equal(sh(NULL, "signet audit verify >/dev/null"), 0);
}

/* ECDSA: the signatures are randomised; what signapk writes around them is not. */
static void test_apk_ec(void **state)
{
    assert_int_equal(apkfix_build(st.h.dir, "e.apk", "sdk:24 dex:2000 res:5000 so:3000"), 0);
    assert_int_equal(sh(NULL, SIGNAPK " ec.x509.pem ec.pk8 e.apk ref-e.apk"), 0);
    assert_int_equal(sh(NULL, "signet -q signapk --key ec e.apk out-e.apk"), 0);
    assert_int_equal(sh(NULL, "apksigner verify out-e.apk"), 0);
    assert_int_equal(sh(NULL, "for f in META-INF/MANIFEST.MF META-INF/CERT.SF; do "
                              "unzip -p ref-e.apk $f > a && unzip -p out-e.apk $f > b && cmp a b "
                              "|| exit 1; done && unzip -Z1 out-e.apk | grep -qx META-INF/CERT.EC"),
                     0);
    /* Android verifies ECDSA JAR signatures from API 18 only (apksig refuses too) */
    assert_int_equal(sh(NULL, "signet signapk --min-sdk-version 17 --key ec e.apk x.apk "
                              "2>/dev/null"), 8);
    assert_int_equal(sh(NULL, "test ! -e x.apk"), 0);
}

static void test_apk_refused(void **state)
{
    assert_int_equal(apkfix_build(st.h.dir, "r.apk", "sdk:24 res:100"), 0);
    /* a name that is not UTF-8: Java's ZipFile refuses the archive ("invalid CEN
     * header (bad entry name)"), so does signet */
    assert_int_equal(sh(NULL, "cp r.apk bad.apk && mkdir -p y && cd y && "
                              "echo x > \"$(printf 'a\\377.bin')\" && zip -q ../bad.apk * && cd .. "
                              "&& rm -rf y"), 0);
    assert_int_equal(sh(NULL, "signet signapk --key rel bad.apk x.apk 2>/dev/null"), 8);
    /* pin hints: signapk would add a pin list; refused rather than signed differently */
    assert_int_equal(sh(NULL, "cp r.apk pin.apk && mkdir -p y/assets && cd y && "
                              "echo 'classes.dex' > assets/com.android.hints.pins.txt && "
                              "zip -q ../pin.apk assets/* && cd .. && rm -rf y"), 0);
    assert_int_equal(sh(NULL, "signet signapk --key rel pin.apk x.apk 2>/dev/null"), 8);
    /* no AndroidManifest.xml and no --min-sdk-version */
    assert_int_equal(sh(NULL, "rm -rf y && mkdir y && echo x > y/a.txt && (cd y && zip -q "
                              "../noman.apk a.txt) && rm -rf y"), 0);
    char *o = NULL;
    assert_int_equal(sh(&o, "signet signapk --key rel noman.apk x.apk 2>&1"), 6);
    assert_non_null(strstr(o, "--min-sdk-version"));
    free(o);
    /* not a ZIP, a truncated one, an alignment no extra field can pad */
    assert_int_equal(sh(NULL, "head -c 300 r.apk > cut.apk && echo junk > junk.apk"), 0);
    assert_int_equal(sh(NULL, "signet signapk --key rel cut.apk x.apk 2>/dev/null"), 8);
    assert_int_equal(sh(NULL, "signet signapk --key rel junk.apk x.apk 2>/dev/null"), 8);
    assert_int_equal(sh(NULL, "signet signapk -a 40000 --key rel r.apk x.apk 2>/dev/null"), 2);
    assert_int_equal(sh(NULL, "test ! -e x.apk"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_zlib),
        cmocka_unit_test(test_apk_identical),
        cmocka_unit_test(test_apk_ec),
        cmocka_unit_test(test_apk_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

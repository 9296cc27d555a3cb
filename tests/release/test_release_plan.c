/* The release plan engine on memory: META parsers (good lines and a table of
 * malformed ones, each with the message it must give), key mapping (AOSP defaults,
 * explicit, per-APEX, per-device, fail closed), long key names, the plan file round
 * trip and its strict parser, and the diff between two plans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "signet/release.h"

#define DEV "build/make/target/product/security"

static const char APKCERTS[] =
    "name=\"Settings.apk\" certificate=\"" DEV "/platform.x509.pem\" private_key=\"" DEV
    "/platform.pk8\" partition=\"system_ext\"\n"
    "name=\"Browser.apk\" certificate=\"" DEV "/testkey.x509.pem\" private_key=\"" DEV
    "/testkey.pk8\" compressed=\"gz\" partition=\"product\"\n"
    "name=\"Vendor.apk\" certificate=\"PRESIGNED\" private_key=\"\" partition=\"vendor\"\n"
    "name=\"Ext.apk\" certificate=\"EXTERNAL\" private_key=\"\"\n"
    "name=\"NotInstalled.apk\" certificate=\"vendor/x/odd.x509.pem\" private_key=\"vendor/x/odd.pk8\"\n";

static const char APEXKEYS[] =
    "name=\"com.android.tzdata.apex\" public_key=\"system/apex/com.android.tzdata.avbpubkey\" "
    "private_key=\"system/apex/com.android.tzdata.pem\" "
    "container_certificate=\"system/apex/com.android.tzdata.x509.pem\" "
    "container_private_key=\"system/apex/com.android.tzdata.pk8\" partition=\"system\"\n"
    "name=\"com.android.ondevicepersonalization.apex\" public_key=\"a/o.avbpubkey\" "
    "private_key=\"a/o.pem\" container_certificate=\"a/o.x509.pem\" "
    "container_private_key=\"a/o.pk8\" partition=\"system\"\n"
    "name=\"com.google.pre.apex\" public_key=\"PRESIGNED\" private_key=\"PRESIGNED\" "
    "container_certificate=\"PRESIGNED\" container_private_key=\"PRESIGNED\" partition=\"system\"\n";

static const char MISC[] = "# comment\n"
                           "default_system_dev_certificate=" DEV "/testkey\n"
                           "avb_enable=true\n"
                           "avb_vbmeta_key_path=external/avb/test/data/testkey_rsa4096.pem\n"
                           "avb_vbmeta_algorithm=SHA256_RSA4096\n"
                           "avb_vbmeta_args=--padding_size 4096\n";

static const char *const MEMBERS[] = {
    "SYSTEM_EXT/priv-app/Settings/Settings.apk",
    "PRODUCT/app/Browser/Browser.apk.gz",
    "VENDOR/app/Vendor/Vendor.apk",
    "SYSTEM/app/Ext/Ext.apk",
    "SYSTEM/apex/com.android.tzdata.apex",
    "SYSTEM/apex/com.android.ondevicepersonalization.capex",
    "SYSTEM/apex/com.google.pre.apex",
    "SYSTEM/build.prop",
    "IMAGES/system.img",
    "META/apkcerts.txt",
};
#define N_MEMBERS (sizeof MEMBERS / sizeof MEMBERS[0])

static void load_meta(signet_tf_meta *m)
{
    signet_tf_meta_init(m);
    assert_int_equal(signet_apkcerts_parse(APKCERTS, strlen(APKCERTS), m), SIGNET_OK);
    assert_int_equal(signet_apexkeys_parse(APEXKEYS, strlen(APEXKEYS), m), SIGNET_OK);
    assert_int_equal(signet_misc_info_parse(MISC, strlen(MISC), m), SIGNET_OK);
}

static void meta_parses(void **state)
{
    signet_tf_meta m;
    load_meta(&m);
    assert_int_equal(m.n_apks, 5);
    const signet_apkcert *b = signet_apkcert_find(&m, "Browser.apk");
    assert_non_null(b);
    assert_string_equal(b->key, DEV "/testkey");
    assert_string_equal(b->compressed, "gz");
    assert_string_equal(b->partition, "product");
    assert_string_equal(signet_apkcert_find(&m, "Vendor.apk")->key, "PRESIGNED");
    assert_string_equal(signet_apkcert_find(&m, "Ext.apk")->key, "EXTERNAL");
    const signet_apexkey *a = signet_apexkey_find(&m, "com.android.tzdata.apex");
    assert_string_equal(a->container_key, "system/apex/com.android.tzdata");
    assert_string_equal(a->payload_key, "system/apex/com.android.tzdata.pem");
    assert_string_equal(signet_misc_get(&m, "avb_vbmeta_args"), "--padding_size 4096");
    signet_tf_meta_free(&m);
}

/* One malformed input per row: which file, the text, a fragment of the message. */
static const struct {
    int file; /* 0 apkcerts, 1 apexkeys, 2 misc_info */
    const char *text, *msg;
} BAD[] = {
    {0, "name=\"A.apk\" certificate=\"k.x509.pem\"\n", "'private_key' is missing"},
    {0, "name=\"A.apk\" certificate=\"k.x509.pem\" private_key=\"j.pk8\"\n", "do not name one key"},
    {0, "name=\"A.apk\" certificate=\"k.x509.pem\" private_key=\"k.pk8\" color=\"red\"\n",
     "unknown attribute 'color'"},
    {0, "name=\"A.apk\" name=\"B.apk\" certificate=\"PRESIGNED\" private_key=\"\"\n", "given twice"},
    {0, "name=\"A.apk\" certificate=\"PRESIGNED\" private_key=\"x.pk8\"\n", "PRESIGNED with private"},
    {0, "name=\"A.apk certificate=\"PRESIGNED\"\n", "no blank after"},
    {0, "name=\"A.apk\" certificate=\"PRESIGNED\" private_key=\"\n", "unterminated"},
    {0, "name=\"A\x01.apk\" certificate=\"PRESIGNED\" private_key=\"\"\n", "control character"},
    {0, "name=\"d/A.apk\" certificate=\"PRESIGNED\" private_key=\"\"\n", "not a file name"},
    {0, "name=\"A.apk\" certificate=\"PRESIGNED\" private_key=\"\"\n"
        "name=\"A.apk\" certificate=\"EXTERNAL\" private_key=\"\"\n", "line 2: 'A.apk' is listed twice"},
    {0, "garbage\n", "expected key=\"value\""},
    {1, "name=\"x.apex\" public_key=\"PRESIGNED\" private_key=\"k.pem\" container_certificate=\"c.x509.pem\" "
        "container_private_key=\"c.pk8\"\n", "both be PRESIGNED"},
    {1, "name=\"x.apk\" public_key=\"k.avbpubkey\" private_key=\"k.pem\" container_certificate=\"c.x509.pem\" "
        "container_private_key=\"c.pk8\"\n", "does not end in .apex"},
    {1, "name=\"x.apex\" public_key=\"k.avbpubkey\" private_key=\"k.pem\" container_certificate=\"EXTERNAL\" "
        "container_private_key=\"\"\n", "EXTERNAL is not a container key"},
    {1, "name=\"x.apex\" public_key=\"k.avbpubkey\" private_key=\"k.pem\"\n", "'container_certificate' is missing"},
    {2, "novalue\n", "expected key=value"},
    {2, "a=1\na=2\n", "line 2: 'a' is set twice"},
    {2, "bad key=1\n", "expected key=value"},
};

static void meta_refuses(void **state)
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        signet_tf_meta m;
        signet_tf_meta_init(&m);
        size_t n = strlen(BAD[i].text);
        signet_rc rc = BAD[i].file == 0   ? signet_apkcerts_parse(BAD[i].text, n, &m)
                       : BAD[i].file == 1 ? signet_apexkeys_parse(BAD[i].text, n, &m)
                                          : signet_misc_info_parse(BAD[i].text, n, &m);
        if (rc != SIGNET_E_PARSE || !strstr(signet_errmsg(), BAD[i].msg))
            fail_msg("row %zu: rc %d, message '%s', wanted '%s'", i, rc, signet_errmsg(),
                     BAD[i].msg);
        signet_tf_meta_free(&m);
    }
}

static void build(const signet_tf_meta *m, signet_release_mapping *map, signet_rplan *p,
                  const char *const *members, size_t n, signet_rc want, const char *err_fragment)
{
    sb_wr errors;
    sbw_init(&errors, 1 << 20);
    signet_rplan_init(p);
    signet_rc rc = signet_rplan_build(m, members, n, map, NULL, p, &errors);
    sbw_u8(&errors, 0);
    if (rc != want || (err_fragment && !strstr((char *)errors.p, err_fragment)))
        fail_msg("plan: rc %d (%s), errors:\n%s\nwanted '%s'", rc, signet_errmsg(),
                 (char *)errors.p, err_fragment ? err_fragment : "");
    sbw_free(&errors);
}

static void plan_maps_keys(void **state)
{
    signet_tf_meta m;
    load_meta(&m);
    signet_release_mapping map;
    signet_release_mapping_init(&map);
    map.device = strdup("sargo");
    signet_rplan p;
    build(&m, &map, &p, MEMBERS, N_MEMBERS, SIGNET_OK, NULL);

    const signet_rplan_item *it = signet_rplan_find(&p, SIGNET_RPLAN_APK, MEMBERS[0]);
    assert_non_null(it);
    assert_string_equal(it->key, "platform");
    it = signet_rplan_find(&p, SIGNET_RPLAN_APK, "PRODUCT/app/Browser/Browser.apk.gz");
    assert_string_equal(it->key, "releasekey");
    assert_true(it->gz);
    assert_int_equal(signet_rplan_find(&p, SIGNET_RPLAN_APK, MEMBERS[2])->action,
                     SIGNET_RPLAN_PRESIGNED);
    assert_int_equal(signet_rplan_find(&p, SIGNET_RPLAN_APK, MEMBERS[3])->action,
                     SIGNET_RPLAN_EXTERNAL);
    it = signet_rplan_find(&p, SIGNET_RPLAN_APEX, "SYSTEM/apex/com.android.tzdata.apex");
    assert_string_equal(it->key, "com.android.tzdata.container");
    assert_string_equal(it->payload, "com.android.tzdata.payload");
    it = signet_rplan_find(&p, SIGNET_RPLAN_AVB, "vbmeta");
    assert_string_equal(it->key, "avb_sargo");
    assert_string_equal(it->algorithm, "SHA256_RSA4096");
    assert_int_equal(signet_rplan_find(&p, SIGNET_RPLAN_APEX, MEMBERS[6])->action,
                     SIGNET_RPLAN_PRESIGNED);
    /* IMAGES/ is rebuilt later, never planned; apkcerts lines of apps not installed
     * are ignored. */
    assert_null(signet_rplan_find(&p, SIGNET_RPLAN_APK, "IMAGES/system.img"));
    assert_int_equal(p.n_items, 8);

    /* A name longer than the HSM's 40-byte label gets a 40-character store name
     * that keeps its last component. */
    const signet_rplan_key *k = signet_rplan_key_find(&p, "com.android.ondevicepersonalization.container");
    assert_non_null(k);
    assert_int_equal(strlen(k->store), 40);
    assert_true(strstr(k->store, ".container") == k->store + 30);
    assert_memory_equal(k->store, "com.android.ondevicep-", 22);
    assert_string_equal(signet_rplan_key_find(&p, "platform")->store, "platform");
    assert_string_equal(signet_rplan_key_find(&p, "avb_sargo")->role, "avb");
    assert_string_equal(signet_rplan_key_find(&p, "releasekey")->role, "apk");

    /* The plan file round trip is exact. */
    memset(p.target_sha256, 'a', 64);
    p.target_name = strdup("tf.zip");
    sb_wr a, b;
    sbw_init(&a, 1 << 20);
    sbw_init(&b, 1 << 20);
    assert_int_equal(signet_rplan_format(&p, &a), SIGNET_OK);
    signet_rplan q;
    if (signet_rplan_parse((char *)a.p, a.len, &q) != SIGNET_OK) fail_msg("%s\n%.*s", signet_errmsg(), (int)a.len, (char *)a.p);
    assert_int_equal(signet_rplan_format(&q, &b), SIGNET_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);

    /* No change: an empty diff. */
    size_t exp = 9, unexp = 9;
    sb_wr d;
    sbw_init(&d, 1 << 20);
    assert_int_equal(signet_rplan_diff(&q, &p, &d, &exp, &unexp), SIGNET_OK);
    assert_int_equal(exp + unexp, 0);
    signet_rplan_free(&q);

    /* Next month: an app moves from platform to its own key, a new app appears. */
    assert_int_equal(signet_release_mapping_add(&map, "platform=platform2"), SIGNET_OK);
    const char *more[N_MEMBERS + 1];
    memcpy(more, MEMBERS, sizeof MEMBERS);
    more[N_MEMBERS] = "SYSTEM/app/Ext2/Ext.apk";
    /* The same file name twice in different directories maps by name (as AOSP). */
    signet_rplan r;
    build(&m, &map, &r, more, N_MEMBERS + 1, SIGNET_OK, NULL);
    sbw_reset(&d);
    assert_int_equal(signet_rplan_diff(&p, &r, &d, &exp, &unexp), SIGNET_OK);
    sbw_u8(&d, 0);
    assert_non_null(strstr((char *)d.p, "! key platform2: new release key"));
    assert_non_null(strstr((char *)d.p, "! apk SYSTEM_EXT/priv-app/Settings/Settings.apk: platform -> platform2"));
    assert_non_null(strstr((char *)d.p, "+ apk SYSTEM/app/Ext2/Ext.apk external"));
    assert_non_null(strstr((char *)d.p, "- key platform: no longer used"));
    assert_int_equal(unexp, 2);
    assert_int_equal(exp, 2);
    signet_rplan_free(&r);
    sbw_free(&a), sbw_free(&b), sbw_free(&d);
    signet_rplan_free(&p);
    signet_release_mapping_free(&map);
    signet_tf_meta_free(&m);
}

static void plan_fails_closed(void **state)
{
    signet_tf_meta m;
    load_meta(&m);
    signet_release_mapping map;
    signet_release_mapping_init(&map);
    signet_rplan p;
    /* No device: the AVB key has no release key. */
    build(&m, &map, &p, MEMBERS, N_MEMBERS, SIGNET_E_STATE,
          "AVB key of vbmeta 'external/avb/test/data/testkey_rsa4096' has no release key");
    signet_rplan_free(&p);
    map.device = strdup("sargo");

    /* An app whose development key is outside AOSP's set. */
    static const char *const odd[] = {"SYSTEM/app/Odd/NotInstalled.apk"};
    build(&m, &map, &p, odd, 1, SIGNET_E_STATE,
          "development key 'vendor/x/odd' has no release key: add --key-mapping odd=RELEASE_KEY");
    signet_rplan_free(&p);
    assert_int_equal(signet_release_mapping_add(&map, "vendor/x/odd=oddrelease"), SIGNET_OK);
    build(&m, &map, &p, odd, 1, SIGNET_OK, NULL);
    assert_string_equal(p.items[0].key, "oddrelease");
    signet_rplan_free(&p);

    /* Members without an entry, unsupported members, duplicates: each named. */
    static const struct { const char *member, *msg; } rows[] = {
        {"SYSTEM/app/Unknown/Unknown.apk", "'Unknown.apk' is not in META/apkcerts.txt"},
        {"SYSTEM/apex/com.x.apex", "'com.x.apex' is not in META/apexkeys.txt"},
        {"PREBUILT_IMAGES/pvmfw.img", "PREBUILT_IMAGES/pvmfw.img: unsupported: pvmfw"},
        {"BOOT/RAMDISK/force_debuggable", "debuggable boot image"},
        {"SYSTEM/boot_otas/boot_ota_4k.zip", "boot OTA packages"},
        {"SYSTEM/etc/avf/microdroid/microdroid_vendor.img", "microdroid images"},
        {"PRODUCT/etc/security/avb/system_other.avbpubkey", "system_other's AVB key"},
        {"SYSTEM/app/Ext/Ext.apk.gz", "does not say compressed=\"gz\""},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        build(&m, &map, &p, &rows[i].member, 1, SIGNET_E_STATE, rows[i].msg);
        signet_rplan_free(&p);
    }
    static const char *const twice[] = {"SYSTEM/app/Ext/Ext.apk", "SYSTEM/app/Ext/Ext.apk"};
    build(&m, &map, &p, twice, 2, SIGNET_E_STATE, "holds this member twice");
    signet_rplan_free(&p);

    /* A sign_tool APEX is refused, and so is half a PRESIGNED APEX. */
    signet_tf_meta m2;
    signet_tf_meta_init(&m2);
    static const char k2[] =
        "name=\"a.apex\" public_key=\"k.avbpubkey\" private_key=\"k.pem\" "
        "container_certificate=\"c.x509.pem\" container_private_key=\"c.pk8\" sign_tool=\"sign_virt_apex\"\n"
        "name=\"b.apex\" public_key=\"k.avbpubkey\" private_key=\"k.pem\" "
        "container_certificate=\"PRESIGNED\" container_private_key=\"PRESIGNED\"\n";
    assert_int_equal(signet_apexkeys_parse(k2, strlen(k2), &m2), SIGNET_OK);
    static const char *const ab[] = {"SYSTEM/apex/a.apex", "SYSTEM/apex/b.apex"};
    build(&m2, &map, &p, ab, 1, SIGNET_E_STATE, "sign_tool 'sign_virt_apex'");
    signet_rplan_free(&p);
    build(&m2, &map, &p, ab + 1, 1, SIGNET_E_STATE, "only one of its payload and container");
    signet_rplan_free(&p);
    signet_tf_meta_free(&m2);
    signet_release_mapping_free(&map);
    signet_tf_meta_free(&m);
}

static void mapping_inputs(void **state)
{
    signet_release_mapping map;
    signet_release_mapping_init(&map);
    static const char file[] = "# release mapping\n"
                               "vendor/x/odd = oddrelease\n"
                               "\n"
                               "bluetooth=bt_release\n";
    assert_int_equal(signet_release_mapping_parse(&map, file, strlen(file), "map.txt"), SIGNET_OK);
    assert_int_equal(map.n, 2);
    assert_string_equal(map.v[1].to, "bt_release");
    assert_int_equal(signet_release_mapping_add(&map, "bluetooth=other"), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "mapped twice"));
    assert_int_equal(signet_release_mapping_add(&map, "x=bad name"), SIGNET_E_ARG);
    assert_int_equal(signet_release_mapping_add(&map, "noequals"), SIGNET_E_ARG);
    assert_int_equal(signet_release_mapping_add(&map, "x=.hidden"), SIGNET_E_ARG);
    static const char bad[] = "a = b\njunk line\n";
    assert_int_equal(signet_release_mapping_parse(&map, bad, strlen(bad), "m2"), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "m2 line 2"));
    signet_release_mapping_free(&map);

    char s[41];
    assert_int_equal(signet_release_store_name("releasekey", s), SIGNET_OK);
    assert_string_equal(s, "releasekey");
    char s2[41];
    assert_int_equal(signet_release_store_name("com.android.ondevicepersonalization.payload", s), SIGNET_OK);
    assert_int_equal(signet_release_store_name("com.android.ondevicepersonalization.payloaX", s2), SIGNET_OK);
    assert_int_equal(strlen(s), 40);
    assert_string_not_equal(s, s2);
}

/* Plan files that must be refused, each with its message. */
static void planfile_refuses(void **state)
{
    static const char head[] = "signet-release-plan 1\ntarget "
                               "0000000000000000000000000000000000000000000000000000000000000000"
                               " tf.zip\ndevice -\nota releasekey\nkey releasekey releasekey ota\n";
    static const struct { const char *tail, *msg; } rows[] = {
        {"apk A.apk sign - nokey\n", "key 'nokey' has no key line"},
        {"apk A.apk sign - -\n", "signed without a release key"},
        {"apk A.apk sign - releasekey xz\n", "malformed apk record"},
        {"apk A.apk fly - releasekey\n", "malformed apk record"},
        {"apk A.apk sign - releasekey\napk A.apk sign - releasekey\n", "planned twice"},
        {"apex A.apex external - - - -\n", "cannot be external"},
        {"apk A.apk sign -  releasekey\n", "field 5 is empty"},
        {"bogus x\n", "unknown record"},
        {"\napk A.apk sign - releasekey\n", "canonical"},
        {"apk A.apk sign - releasekey", "canonical"},
        {"key longkeyname1234567890123456789012345678901 x apk\n", "is stored as"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[2048];
        snprintf(text, sizeof text, "%s%s", head, rows[i].tail);
        signet_rplan p;
        signet_rc rc = signet_rplan_parse(text, strlen(text), &p);
        if (rc != SIGNET_E_PARSE || !strstr(signet_errmsg(), rows[i].msg))
            fail_msg("row %zu: rc %d '%s', wanted '%s'", i, rc, signet_errmsg(), rows[i].msg);
    }
    signet_rplan p;
    assert_int_equal(signet_rplan_parse(head, strlen(head), &p), SIGNET_OK);
    signet_rplan_free(&p);
    assert_int_equal(signet_rplan_parse("signet-release-plan 2\n", 22, &p), SIGNET_E_PARSE);
}

/* AOSP's public development certificates (tests/release/aosp-*.x509.pem, as
 * build/make/target/product/security ships them: an app key, a key added later and
 * an APEX container key) are named by their fingerprints; another certificate is not. */
static void aosp_test_keys(void **state)
{
    (void)state;
    static const char *const certs[][2] = {
        {"aosp-platform.x509.pem", "platform"},
        {"aosp-nfc.x509.pem", "nfc"},
        {"aosp-com.android.conscrypt.x509.pem", "com.android.conscrypt"},
    };
    for (size_t i = 0; i < sizeof certs / sizeof certs[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/release/%s", getenv("SIGNET_SOURCE_DIR"),
                 certs[i][0]);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
        assert_non_null(x);
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);
        assert_true(n > 0);
        uint8_t sha[32];
        EVP_Digest(der, (size_t)n, sha, NULL, EVP_sha256(), NULL);
        assert_string_equal(signet_release_aosp_test_key(sha), certs[i][1]);
        sha[31] ^= 1;
        assert_null(signet_release_aosp_test_key(sha));
        OPENSSL_free(der);
        X509_free(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aosp_test_keys),
        cmocka_unit_test(meta_parses),    cmocka_unit_test(meta_refuses),
        cmocka_unit_test(plan_maps_keys), cmocka_unit_test(plan_fails_closed),
        cmocka_unit_test(mapping_inputs), cmocka_unit_test(planfile_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* signet apk sign / verify end to end on signet-hsm, with keys imported into the
 * emulator (the same RSA key given to Debian's apksigner as k.pk8 + k.x509.pem):
 * byte for byte with apksigner 31.0.2 (--lib-page-alignment 4096) for min SDK
 * 24/28/33, stored, deflated and native-library entries, v4 on, a 50 MB APK; one
 * audit record per device signature naming the input; apksigner verify on the
 * outputs; EC; signet apk verify refusing tampered files; a batch with a broken
 * APK in the middle (the others signed, nothing half-written). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "apk_fixture.h"
#include "common/hsmd_fixture.h"
#include "signet/client.h"
#include "signet/keystore.h"
#include "signet/proto.h"

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

/* Puts the PEM key dir/<name>.pem on the HSM as key `name` and publishes it in
 * the key store as key generation would (wrapped copy, public key, the given
 * certificate).  `signet keys import` does this for users. */
static int import_key(const char *name, uint16_t id, uint8_t algo)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pem", h.dir, name);
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    sb_wr blob;
    sbw_init(&blob, 1 << 16);
    int ret = -1;
    hsm_object_attrs a = {.id = id, .label = name, .domains = 1,
                          .capabilities = signet_keygen_capabilities(algo), .algorithm = algo};
    uint16_t got;
    if (k && hsm_conn_open(h.url, &c) == SIGNET_OK &&
        hsm_session_open(c, 1, "password", &s) == SIGNET_OK &&
        hsm_put_asymmetric(s, &a, k, &got) == SIGNET_OK &&
        hsm_export_wrapped(s, 0xff, YH_TYPE_ASYMMETRIC_KEY, id, &blob) == SIGNET_OK) {
        char p[600];
        snprintf(p, sizeof p, "%s/keys/%s.wrapped", h.dir, name);
        ret = test_write_file(p, blob.p, blob.len);
    }
    if (ret)
        fprintf(stderr, "import_key %s: %s\n", name, signet_errmsg());
    sbw_free(&blob);
    hsm_session_close(s);
    hsm_conn_close(c);
    EVP_PKEY_free(k);
    if (ret)
        return ret;
    return sh(NULL, "openssl pkey -in %s.pem -pubout -out keys/%s.pub.pem && "
                    "cp %s.x509.pem keys/%s.x509.pem", name, name, name, name);
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
    const char keymap[] = "# name id algorithm domains role\n"
                          "rel 0x0201 rsa2048 1 apk\n"
                          "ecrel 0x0202 ecp256 1 apk\n"
                          "rel2 0x0203 rsa2048 1 apk\n"
                          "boot 0x0204 rsa2048 1 avb\n"; /* never on the device */
    if (test_write_file(path, conf, strlen(conf)) != 0 ||
        sh(NULL, "mkdir -m 700 keys && printf '%%064d' 7 > wrap.hex && "
                 "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
                 "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
                 "signet hsm set-option command-audit sign-pkcs1=on,sign-ecdsa=on && "
                 "signet -q audit init >/dev/null") != 0)
        return -1;
    snprintf(path, sizeof path, "%s/keys/keymap.txt", h.dir);
    if (test_write_file(path, keymap, strlen(keymap)) != 0 || apkfix_key(h.dir, "rel", "rsa2048") ||
        apkfix_key(h.dir, "ecrel", "ec") || apkfix_key(h.dir, "rel2", "rsa2048") ||
        import_key("rel2", 0x0203, YH_ALGO_RSA_2048) || import_key("rel", 0x0201, YH_ALGO_RSA_2048) ||
        import_key("ecrel", 0x0202, YH_ALGO_EC_P256))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    hsmd_cleanup(&h);
    return 0;
}

static int sign_records(const char *in)
{
    char *out = NULL;
    sh(&out, "grep ' type=sign ' audit/records.log | grep -c -F '%s' || true", in);
    int n = out ? atoi(out) : -1;
    free(out);
    return n;
}

static int count(const char *words, const char *in);

static const struct {
    const char *name, *recipe, *flags;
    int sdk, records;
    bool v4;
} cases[] = {
    {"a24.apk", "sdk:24 dex:30000 res:50000 so:9000", "", 24, 2, false},
    {"a28.apk", "sdk:28 dex:3000 so:70000 dirs", "--v4-signing-enabled true", 28, 3, true},
    {"a33.apk", "sdk:33 store:1000 so:5000 dex:500000", "", 33, 2, false},
    {"big.apk", "sdk:24 store:50000000 dex:200000", "", 24, 2, false},
};

static void test_identical_through_the_device(void **state)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        print_message("case %s\n", cases[i].name);
        const char *n = cases[i].name;
        assert_int_equal(apkfix_build(h.dir, n, cases[i].recipe), 0);
        assert_int_equal(sh(NULL, "signet -q apk sign --key rel --lib-page-alignment 4096 %s "
                                  "--in %s --out signet-%s", cases[i].flags, n, n), 0);
        assert_int_equal(sh(NULL, "apksigner sign --key rel.pk8 --cert rel.x509.pem "
                                  "--v1-signing-enabled false %s --in %s --out ref-%s",
                            cases[i].flags, n, n), 0);
        assert_int_equal(sh(NULL, "cmp signet-%s ref-%s", n, n), 0);
        if (cases[i].v4)
            assert_int_equal(sh(NULL, "cmp signet-%s.idsig ref-%s.idsig", n, n), 0);
        assert_int_equal(sign_records(n), cases[i].records);
        char *out = NULL;
        assert_int_equal(sh(&out, "signet apk verify %s%s%s signet-%s", cases[i].v4 ? "--v4-signature-file signet-" : "",
                            cases[i].v4 ? n : "", cases[i].v4 ? ".idsig" : "", n), 0);
        assert_non_null(strstr(out, "v2 (APK Signature Scheme v2): verified"));
        assert_non_null(strstr(out, "v3 (APK Signature Scheme v3): verified"));
        free(out);
    }
    /* apksigner itself accepts signet's output (the same bytes as its own) */
    char *out = NULL;
    assert_int_equal(sh(&out, "apksigner verify --verbose signet-a24.apk"), 0);
    assert_non_null(strstr(out, "Verified using v2 scheme (APK Signature Scheme v2): true"));
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    free(out);
}

static void test_ec_and_v3_only(void **state)
{
    assert_int_equal(apkfix_build(h.dir, "e.apk", "sdk:28 dex:3000 so:7000"), 0);
    assert_int_equal(sh(NULL, "signet -q apk sign --key ecrel --in e.apk --out signet-e.apk"), 0);
    char *out = NULL;
    assert_int_equal(sh(&out, "apksigner verify --verbose signet-e.apk"), 0);
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    free(out);
    /* min SDK 28: v3 alone, one device signature */
    assert_int_equal(sh(NULL, "signet -q apk sign --key rel --v2-signing-enabled false --in e.apk "
                              "--out v3only.apk"), 0);
    assert_int_equal(sign_records("e.apk"), 2 + 1); /* ecrel v2+v3, then rel v3 alone */
    assert_int_equal(sh(&out, "signet apk verify v3only.apk"), 0);
    assert_non_null(strstr(out, "v2 (APK Signature Scheme v2): absent"));
    free(out);
    /* below 28, v3 alone is refused */
    assert_int_equal(apkfix_build(h.dir, "e24.apk", "sdk:24 dex:300"), 0);
    assert_int_equal(sh(NULL, "signet -q apk sign --key rel --v2-signing-enabled false --in e24.apk "
                              "--out x.apk"), 2);
}

static void test_verify_refuses_tampering(void **state)
{
    /* signet-a24.apk from the first test */
    assert_int_equal(sh(NULL, "cp signet-a24.apk t1.apk && printf 'X' | dd of=t1.apk bs=1 seek=100 "
                              "conv=notrunc 2>/dev/null"), 0);
    char *err = NULL;
    assert_int_equal(sh(&err, "signet apk verify t1.apk 2>&1"), 1);
    assert_non_null(strstr(err, "do not match"));
    free(err);
    assert_int_equal(sh(NULL, "signet apk verify a24.apk 2>/dev/null"), 1); /* unsigned */
}

static void test_batch_with_a_broken_apk(void **state)
{
    assert_int_equal(apkfix_build(h.dir, "b1.apk", "sdk:24 dex:4000"), 0);
    assert_int_equal(apkfix_build(h.dir, "b3.apk", "sdk:26 dex:4000 so:3000"), 0);
    assert_int_equal(apkfix_build(h.dir, "b4.apk", "sdk:28 dex:2000"), 0);
    assert_int_equal(sh(NULL, "head -c 5000 /dev/urandom > b2.apk && mkdir -p out && "
                              "printf 'b1.apk out/b1.apk rel\\n# a comment\\nb2.apk out/b2.apk rel\\n"
                              "b3.apk out/b3.apk ecrel\\nb4.apk out/b4.apk rel\\n' > list"), 0);
    char *err = NULL;
    int rc = sh(&err, "signet apk sign --batch list 2>&1");
    print_message("%s", err ? err : "");
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "b2.apk"));
    /* Group commit: the rel APKs (b1, b4) are one signet_sign_batch of 4 signatures
     * (intents + sign records: 2 syncs), ecrel's b3 another (2), and the binding
     * records of each group's outputs one append (2): 6 trail syncs, where one
     * signature at a time would need 2 per signature (12) plus 3 bindings. */
    assert_non_null(strstr(err, "signed 3 of 4 APKs (6 device operations, 0 cache hits, "
                                "6 trail syncs"));
    free(err);
    assert_int_equal(sh(NULL, "signet apk verify out/b1.apk >/dev/null && "
                              "signet apk verify out/b3.apk >/dev/null && "
                              "signet apk verify out/b4.apk >/dev/null"), 0);
    /* nothing half-written: no output and no temporary file for the broken one */
    assert_int_equal(sh(NULL, "test $(ls out | wc -l) = 3 && ! test -e out/b2.apk"), 0);
    assert_int_equal(sign_records("b1.apk"), 2);
    assert_int_equal(sign_records("b4.apk"), 2);
    assert_int_equal(sign_records("b2.apk"), 0);
    /* each output bound once to its records; none for the broken one */
    assert_int_equal(count(" type=bind ", "output=out/b1.apk"), 1);
    assert_int_equal(count(" type=bind ", "output=out/b3.apk"), 1);
    assert_int_equal(count(" type=bind ", "output=out/b4.apk"), 1);
    assert_int_equal(count(" type=bind ", "out/b2.apk"), 0);
    assert_int_equal(sh(NULL, "signet -q audit prove out/b4.apk --dir audit --out b4.proof"), 0);
    /* the same bytes as signing b4 alone */
    assert_int_equal(sh(NULL, "signet -q apk sign --no-cache --key rel --in b4.apk --out b4.apk.one"
                              " && cmp b4.apk.one out/b4.apk"), 0);
}

static int count(const char *words, const char *in)
{
    char *out = NULL;
    sh(&out, "grep '%s' audit/records.log | grep -c -F '%s' || true", words, in);
    int n = out ? atoi(out) : -1;
    free(out);
    return n;
}

/* The output APK gets a binding record once it is durable, so a receipt proves
 * the file that ships; signing the same APK again reuses the cached signatures
 * (no device operation, reuse records) and writes the same bytes. */
static void test_bind_receipt_and_cache(void **state)
{
    assert_int_equal(apkfix_build(h.dir, "c.apk", "sdk:24 dex:7000 so:3000"), 0);
    char *out = NULL;
    assert_int_equal(sh(&out, "signet apk sign --key rel --in c.apk --out c1.apk 2>&1"), 0);
    free(out);
    assert_int_equal(count(" type=sign ", "c.apk"), 2);
    assert_int_equal(count(" type=bind ", "c1.apk"), 1);
    assert_int_equal(sh(&out, "signet audit verify audit --vkey audit/log.vkey"), 0);
    assert_non_null(strstr(out, "result: OK"));
    free(out);
    assert_int_equal(sh(NULL, "signet -q audit prove c1.apk --dir audit --out c1.proof && "
                              "signet audit verify-receipt c1.proof --vkey audit/log.vkey c1.apk "
                              "| grep -q 'OK: leaf'"), 0);
    /* the receipt is for the output, not for another file */
    assert_int_equal(sh(NULL, "signet audit verify-receipt c1.proof --vkey audit/log.vkey c.apk "
                              ">/dev/null 2>&1"), 1);

    /* again: both signatures from the cache, 0 device operations, same bytes */
    assert_int_equal(sh(NULL, "mkdir -p o2 && printf 'c.apk o2/c2.apk rel\\n' > list2"), 0);
    assert_int_equal(sh(&out, "signet apk sign --batch list2 2>&1"), 0);
    print_message("%s", out ? out : "");
    assert_non_null(strstr(out, "(0 device operations, 2 cache hits"));
    free(out);
    assert_int_equal(sh(NULL, "cmp c1.apk o2/c2.apk"), 0);
    assert_int_equal(count(" type=sign ", "c.apk"), 2);
    assert_int_equal(count(" type=reuse ", "c.apk"), 2);
    assert_int_equal(count(" type=bind ", "o2/c2.apk"), 1);
    /* --no-cache: the device signs again */
    assert_int_equal(sh(NULL, "signet -q apk sign --no-cache --key rel --in c.apk --out c3.apk"), 0);
    assert_int_equal(count(" type=sign ", "c.apk"), 4);
    assert_int_equal(sh(NULL, "cmp c1.apk c3.apk"), 0); /* RSA PKCS#1 v1.5 is deterministic */
    assert_int_equal(sh(&out, "signet audit verify audit --vkey audit/log.vkey"), 0);
    assert_non_null(strstr(out, "result: OK"));
    free(out);
}

/* Key rotation: the lineage rel -> rel2 made through the signing path is the file
 * `apksigner rotate` writes for the same keys; an APK signed with rel2 and the
 * lineage is byte for byte apksigner's `sign --key rel --next-signer --key rel2
 * --lineage`, apksigner verify accepts it (signer rel2, v2 by rel), and both
 * lineage readers read it.  A broken lineage and the wrong key are refused. */
static void test_key_rotation(void **state)
{
    char *out = NULL;
    assert_int_equal(sh(NULL, "signet -q apk lineage --old-key rel --new-key rel2 --out lin.bin"), 0);
    assert_int_equal(sh(&out, "grep ' type=sign ' audit/records.log | grep -c -F lin.bin"), 0);
    assert_int_equal(atoi(out), 1); /* the old key's one signature, recorded */
    free(out);
    assert_int_equal(sh(NULL, "apksigner rotate --out ref-lin.bin --old-signer --key rel.pk8 "
                              "--cert rel.x509.pem --new-signer --key rel2.pk8 --cert rel2.x509.pem "
                              "&& cmp lin.bin ref-lin.bin"), 0);
    assert_int_equal(sh(&out, "signet apk lineage --in lin.bin --print-certs"), 0);
    assert_non_null(strstr(out, "Signer #2 in lineage certificate DN"));
    assert_non_null(strstr(out, "Has rollback capability      : false"));
    free(out);

    assert_int_equal(apkfix_build(h.dir, "r.apk", "sdk:24 dex:9000 so:4000"), 0);
    /* rotation in v3 from Android 9: what apksigner 31.0.2 writes */
    assert_int_equal(sh(NULL, "signet -q apk sign --key rel2 --lineage lin.bin "
                              "--rotation-min-sdk-version 28 --lib-page-alignment 4096 "
                              "--in r.apk --out signet-r.apk"), 0);
    assert_int_equal(sh(NULL, "apksigner sign --key rel.pk8 --cert rel.x509.pem --next-signer "
                              "--key rel2.pk8 --cert rel2.x509.pem --lineage ref-lin.bin "
                              "--v1-signing-enabled false --in r.apk --out ref-r.apk && "
                              "cmp signet-r.apk ref-r.apk"), 0);
    assert_int_equal(sign_records("r.apk"), 2); /* v2 by rel, v3 by rel2 */
    char *hex = NULL;
    assert_int_equal(sh(&hex, "openssl x509 -in rel2.x509.pem -outform DER | sha256sum | "
                              "cut -c1-64"), 0);
    assert_non_null(hex);
    hex[64] = '\0';
    char want[160];
    snprintf(want, sizeof want, "Signer #1 certificate SHA-256 digest: %s\n", hex);
    free(hex);
    assert_int_equal(sh(&out, "apksigner verify --verbose --print-certs signet-r.apk && "
                              "apksigner lineage --in signet-r.apk --print-certs"), 0);
    assert_non_null(strstr(out, "Verified using v2 scheme (APK Signature Scheme v2): true"));
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    assert_non_null(strstr(out, want)); /* the signer is the new key */
    assert_non_null(strstr(out, "Signer #2 in lineage certificate DN"));
    free(out);
    assert_int_equal(sh(&out, "signet apk verify signet-r.apk"), 0);
    assert_non_null(strstr(out, "Key rotation: v3 carries a lineage of 2 signers"));
    free(out);

    /* the default: rotation from Android 13 in a v3.1 block by rel2, v3 and v2 by
     * rel (the v2 signature is the one above, from the cache) */
    assert_int_equal(sh(NULL, "cp r.apk r31.apk && signet -q apk sign --key rel2 --lineage "
                              "lin.bin --in r31.apk --out signet-r31.apk"), 0);
    assert_int_equal(sign_records("r31.apk"), 2); /* v3 by rel, v3.1 by rel2 */
    assert_int_equal(sh(&out, "grep ' type=reuse ' audit/records.log | grep -c -F r31.apk"), 0);
    assert_int_equal(atoi(out), 1); /* v2 */
    free(out);
    assert_int_equal(sh(&out, "signet apk verify --print-certs signet-r31.apk"), 0);
    assert_non_null(strstr(out, "v3.1 (APK Signature Scheme v3.1): verified"));
    assert_non_null(strstr(out, "Key rotation: v3.1 carries a lineage of 2 signers, used from "
                                "SDK 33"));
    assert_non_null(strstr(out, want)); /* the signer for Android 13+: rel2 */
    free(out);
    assert_int_equal(sh(&out, "apksigner verify --verbose --max-sdk-version 32 signet-r31.apk"), 0);
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    free(out);
    /* v4 of it through the device: v3's signer (rel), then v3.1's (rel2) */
    assert_int_equal(sh(NULL, "cp r.apk r41.apk && signet -q apk sign --key rel2 --lineage "
                              "lin.bin --v4-signing-enabled true --in r41.apk --out "
                              "signet-r41.apk"), 0);
    assert_int_equal(sh(&out, "signet apk verify --v4-signature-file signet-r41.apk.idsig "
                              "signet-r41.apk && apksigner verify -v --max-sdk-version 32 "
                              "--v4-signature-file %s/signet-r41.apk.idsig signet-r41.apk",
                        h.dir), 0);
    assert_non_null(strstr(out, "v4 (APK Signature Scheme v4): verified"));
    assert_non_null(strstr(out, "Verified using v4 scheme (APK Signature Scheme v4): true"));
    free(out);
    /* keys whose formats have no lineage are refused */
    assert_int_equal(sh(&out, "signet -q apk lineage --old-key boot --new-key rel2 --out b.bin "
                              "2>&1"), 8);
    assert_non_null(strstr(out, "role avb"));
    free(out);
    assert_int_equal(sh(NULL, "test ! -e b.bin"), 0);

    /* the old key cannot sign with the lineage; a changed signature is refused */
    assert_int_not_equal(sh(NULL, "signet -q apk sign --key rel --lineage lin.bin --in r.apk "
                                  "--out x.apk 2>/dev/null"), 0);
    assert_int_equal(sh(NULL, "test ! -e x.apk"), 0);
    assert_int_equal(sh(NULL, "cp lin.bin bad.bin && printf 'X' | dd of=bad.bin bs=1 seek=1800 "
                              "conv=notrunc 2>/dev/null"), 0);
    assert_int_equal(sh(&out, "signet apk lineage --in bad.bin --print-certs 2>&1"), 1);
    assert_non_null(strstr(out, "does not verify"));
    free(out);
    /* rotating again must start from the newest signer */
    assert_int_not_equal(sh(NULL, "signet -q apk lineage --in lin.bin --old-key rel --new-key ecrel "
                                  "--out l3.bin 2>/dev/null"), 0);
    assert_int_equal(sh(&out, "signet -q apk lineage --in lin.bin --old-key rel2 --new-key ecrel "
                              "--out l3.bin && apksigner lineage --in l3.bin --print-certs"), 0);
    assert_non_null(strstr(out, "Signer #3 in lineage certificate DN"));
    free(out);
}

static void test_usage(void **state)
{
    assert_int_equal(sh(NULL, "signet apk sign --help >/dev/null"), 0);
    assert_int_equal(sh(NULL, "signet apk sign --key rel --in a24.apk 2>/dev/null"), 2);
    assert_int_equal(sh(NULL, "signet apk sign --key rel --v1-signing-enabled maybe --in a24.apk "
                              "--out v1.apk 2>/dev/null"), 2);
    assert_int_equal(sh(NULL, "signet apk sign --key nosuch --in a24.apk --out x.apk 2>/dev/null"), 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_through_the_device),
        cmocka_unit_test(test_ec_and_v3_only),
        cmocka_unit_test(test_verify_refuses_tampering),
        cmocka_unit_test(test_batch_with_a_broken_apk),
        cmocka_unit_test(test_bind_receipt_and_cache),
        cmocka_unit_test(test_key_rotation),
        cmocka_unit_test(test_usage),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The key store directory without an HSM: opening, paths, durable writes,
 * fingerprints, and the LRU stamps file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keystore/ks_lru.h"
#include "signet/keystore.h"
#include "signet/proto.h"

struct tmp {
    char dir[64];
};

static void mkstore(struct tmp *t, const char *keymap)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/signet-store-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    if (keymap) {
        char p[128];
        snprintf(p, sizeof p, "%s/keymap.txt", t->dir);
        FILE *f = fopen(p, "w");
        fputs(keymap, f);
        fclose(f);
    }
}

static void rmstore(struct tmp *t)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

static const char MAP[] = "releasekey 0x100 rsa2048 1 apk\n"
                          "platform 0x101 rsa2048 1 apk\n"
                          "media 0x102 ecp256 1 apk\n";

static void open_cases(void **state)
{
    signet_keystore *ks = NULL;
    assert_int_equal(signet_keystore_open("/nonexistent/signet/store", &ks), SIGNET_E_NOTFOUND);
    assert_non_null(strstr(signet_errmsg(), "signet keys init"));
    assert_null(ks);

    struct tmp t;
    mkstore(&t, NULL);
    assert_int_equal(signet_keystore_open(t.dir, &ks), SIGNET_OK);
    assert_int_equal(signet_keystore_count(ks), 0);
    signet_keystore_close(ks);
    rmstore(&t);

    mkstore(&t, "a 0x100 rsa2048 1 apk\nb 0x100 rsa2048 1 apk\n");
    assert_int_equal(signet_keystore_open(t.dir, &ks), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "line 2"));
    assert_non_null(strstr(signet_errmsg(), "keymap.txt"));
    rmstore(&t);

    mkstore(&t, MAP);
    char withslash[80];
    snprintf(withslash, sizeof withslash, "%s//", t.dir);
    assert_int_equal(signet_keystore_open(withslash, &ks), SIGNET_OK);
    assert_string_equal(signet_keystore_dir(ks), t.dir);
    assert_int_equal(signet_keystore_count(ks), 3);
    assert_string_equal(signet_keystore_entry(ks, 1)->name, "platform");
    assert_null(signet_keystore_entry(ks, 3));
    assert_int_equal(signet_keystore_find(ks, "media")->id, 0x102);
    assert_string_equal(signet_keystore_find_id(ks, 0x100)->name, "releasekey");
    assert_null(signet_keystore_find(ks, "nfc"));
    signet_keystore_close(ks);
    rmstore(&t);
}

static void paths_stay_inside(void **state)
{
    struct tmp t;
    mkstore(&t, MAP);
    signet_keystore *ks;
    assert_int_equal(signet_keystore_open(t.dir, &ks), SIGNET_OK);
    char p[256];
    assert_int_equal(signet_keystore_path(ks, "platform", ".x509.pem", p, sizeof p), SIGNET_OK);
    char want[256];
    snprintf(want, sizeof want, "%s/platform.x509.pem", t.dir);
    assert_string_equal(p, want);
    assert_int_equal(signet_keystore_path(ks, "../etc/passwd", "", p, sizeof p), SIGNET_E_ARG);
    assert_int_equal(signet_keystore_path(ks, "..", ".wrapped", p, sizeof p), SIGNET_E_ARG);
    assert_int_equal(signet_keystore_path(ks, "a/b", ".wrapped", p, sizeof p), SIGNET_E_ARG);
    assert_int_equal(signet_keystore_path(ks, "platform", ".x509.pem", p, 10), SIGNET_E_ARG);
    assert_int_equal(signet_keystore_write(ks, "../x", ".pub.pem", "x", 1), SIGNET_E_ARG);
    signet_keystore_close(ks);
    rmstore(&t);
}

static void files_and_fingerprints(void **state)
{
    struct tmp t;
    mkstore(&t, MAP);
    signet_keystore *ks;
    assert_int_equal(signet_keystore_open(t.dir, &ks), SIGNET_OK);
    EVP_PKEY *pk = NULL;
    assert_int_equal(signet_keystore_public_key(ks, "media", &pk), SIGNET_E_NOTFOUND);
    assert_non_null(strstr(signet_errmsg(), "signet keys generate"));
    sb_wr w;
    assert_int_equal(signet_keystore_wrapped(ks, "media", &w), SIGNET_E_NOTFOUND);
    assert_int_equal(signet_keystore_cert_der(ks, "media", &w), SIGNET_E_NOTFOUND);
    assert_false(signet_keystore_has_key(ks, "media"));

    /* Public key: written durably, read back, fingerprinted over its SPKI DER. */
    EVP_PKEY *k = EVP_EC_gen("P-256");
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(b, k);
    char *pem;
    long n = BIO_get_mem_data(b, &pem);
    assert_int_equal(signet_keystore_write(ks, "media", ".pub.pem", pem, (size_t)n), SIGNET_OK);
    BIO_free(b);
    assert_true(signet_keystore_has_file(ks, "media", ".pub.pem"));
    assert_int_equal(signet_keystore_public_key(ks, "media", &pk), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(pk, k), 1);
    EVP_PKEY_free(pk);
    uint8_t fp[32], want[32];
    unsigned char *der = NULL;
    int dl = i2d_PUBKEY(k, &der);
    unsigned wl = 32;
    EVP_Digest(der, (size_t)dl, want, &wl, EVP_sha256(), NULL);
    OPENSSL_free(der);
    assert_int_equal(signet_keystore_pub_fingerprint(ks, "media", fp), SIGNET_OK);
    assert_memory_equal(fp, want, 32);
    assert_int_equal(signet_keystore_cert_fingerprint(ks, "media", fp), SIGNET_E_NOTFOUND);

    /* Garbage where a PEM key should be. */
    assert_int_equal(signet_keystore_write(ks, "platform", ".pub.pem", "junk\n", 5), SIGNET_OK);
    assert_int_equal(signet_keystore_public_key(ks, "platform", &pk), SIGNET_E_PARSE);

    /* Wrapped blobs: private mode, a minimum size. */
    assert_int_equal(signet_keystore_write(ks, "platform", ".wrapped", "short", 5), SIGNET_OK);
    assert_true(signet_keystore_has_key(ks, "platform"));
    assert_int_equal(signet_keystore_wrapped(ks, "platform", &w), SIGNET_E_PARSE);
    uint8_t blob[200] = {1, 2, 3};
    assert_int_equal(signet_keystore_write(ks, "platform", ".wrapped", blob, sizeof blob),
                     SIGNET_OK);
    assert_int_equal(signet_keystore_wrapped(ks, "platform", &w), SIGNET_OK);
    assert_int_equal(w.len, sizeof blob);
    assert_memory_equal(w.p, blob, sizeof blob);
    sbw_free(&w);
    char p[256];
    signet_keystore_path(ks, "platform", ".wrapped", p, sizeof p);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    signet_keystore_path(ks, "media", ".pub.pem", p, sizeof p);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    /* No temporary files are left behind. */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c tmp", t.dir);
    FILE *f = popen(cmd, "r");
    char cnt[16] = {0};
    assert_non_null(fgets(cnt, sizeof cnt, f));
    pclose(f);
    assert_string_equal(cnt, "0\n");

    EVP_PKEY_free(k);
    signet_keystore_close(ks);
    rmstore(&t);
}

static uint64_t stamp_of(signet_keystore *ks, const char *name)
{
    ks_lru l;
    ks_lru_load(ks, &l);
    uint64_t s = ks_lru_stamp(&l, name);
    ks_lru_free(&l);
    return s;
}

static void lru_order_and_damage(void **state)
{
    struct tmp t;
    mkstore(&t, MAP);
    signet_keystore *ks;
    assert_int_equal(signet_keystore_open(t.dir, &ks), SIGNET_OK);
    assert_int_equal(stamp_of(ks, "platform"), 0); /* no file: never used */
    assert_int_equal(signet_keystore_touch(ks, "platform"), SIGNET_OK);
    assert_int_equal(signet_keystore_touch(ks, "media"), SIGNET_OK);
    assert_int_equal(signet_keystore_touch(ks, "releasekey"), SIGNET_OK);
    /* Stamps strictly follow the order of use, even within one millisecond. */
    assert_true(stamp_of(ks, "platform") < stamp_of(ks, "media"));
    assert_true(stamp_of(ks, "media") < stamp_of(ks, "releasekey"));
    assert_int_equal(signet_keystore_touch(ks, "platform"), SIGNET_OK);
    assert_true(stamp_of(ks, "releasekey") < stamp_of(ks, "platform"));
    assert_int_equal(signet_keystore_touch(ks, "nfc"), SIGNET_E_NOTFOUND);

    /* A stamp far in the future (clock stepped back) still orders correctly. */
    char p[128];
    snprintf(p, sizeof p, "%s/.lru", t.dir);
    FILE *f = fopen(p, "w");
    fputs("media 99999999999999\n", f);
    fclose(f);
    assert_int_equal(signet_keystore_touch(ks, "platform"), SIGNET_OK);
    assert_int_equal(stamp_of(ks, "platform"), 100000000000000ull);

    /* A damaged file: bad lines are skipped, good ones kept, touch still works. */
    f = fopen(p, "w");
    fputs("garbage\n\x01\x02\nmedia 12\n../x 5\nplatform 1x\nreleasekey 7\n"
          "nfc 3\nmedia_long_number 123456789012345678901234\n",
          f);
    fclose(f);
    assert_int_equal(stamp_of(ks, "media"), 12);
    assert_int_equal(stamp_of(ks, "releasekey"), 7);
    assert_int_equal(stamp_of(ks, "platform"), 0);
    assert_int_equal(signet_keystore_touch(ks, "platform"), SIGNET_OK);
    assert_true(stamp_of(ks, "platform") > 12);
    /* Names not in the key map are dropped on rewrite. */
    char *text = NULL;
    size_t len = 0;
    f = fopen(p, "r");
    assert_true(getdelim(&text, &len, 0, f) > 0);
    fclose(f);
    assert_null(strstr(text, "nfc"));
    assert_non_null(strstr(text, "media 12\n"));
    free(text);
    signet_keystore_close(ks);
    rmstore(&t);
}

static void lru_parse_is_total(void **state)
{
    /* Arbitrary bytes never crash and never produce invalid names. */
    uint8_t junk[512];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    ks_lru l;
    ks_lru_parse((const char *)junk, sizeof junk, &l);
    for (size_t i = 0; i < l.n; i++)
        assert_true(signet_key_name_valid(l.v[i].name));
    ks_lru_free(&l);
    ks_lru_parse("a 1\na 2\n", 8, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(ks_lru_stamp(&l, "a"), 2);
    ks_lru_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_cases),
        cmocka_unit_test(paths_stay_inside),
        cmocka_unit_test(files_and_fingerprints),
        cmocka_unit_test(lru_order_and_damage),
        cmocka_unit_test(lru_parse_is_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

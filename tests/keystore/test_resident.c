/* Loading keys on demand and evicting the least recently used ones, against the
 * emulator core in process.  Eviction must only ever touch keys of this store
 * that have a wrapped copy on disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ks_rig.h"
#include "signet/proto.h"

static const char MAP3[] = "a 0x0100 rsa2048 1 apk\n"
                           "b 0x0101 rsa2048 1 apk\n"
                           "c 0x0102 rsa2048 1 apk\n";

static const signet_keymap_entry *key(struct ks_rig *r, const char *name)
{
    const signet_keymap_entry *e = signet_keystore_find(r->ks, name);
    assert_non_null(e);
    return e;
}

/* Three keys in the store, none resident. */
static void setup3(struct ks_rig *r)
{
    ks_rig_open(r, MAP3);
    ks_rig_generate_all(r);
    const char *n[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(signet_keystore_evict(r->ks, r->s, key(r, n[i])), SIGNET_OK);
        assert_false(ks_rig_resident(r, n[i]));
    }
}

static unsigned free_records(struct ks_rig *r)
{
    hsm_storage st;
    assert_int_equal(hsm_storage_info(r->s, &st), SIGNET_OK);
    return st.free_records;
}

static void resident_key_is_left_alone(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, MAP3);
    ks_rig_generate_all(&r);
    unsigned before = free_records(&r);
    signet_evict_policy p = {.min_free_objects = 256, .min_free_pages = 1024};
    /* Resident already: no import, no eviction even with impossible thresholds. */
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"), &p),
                     SIGNET_OK);
    assert_int_equal(free_records(&r), before);
    assert_true(ks_rig_resident(&r, "b"));
    assert_true(ks_rig_resident(&r, "c"));
    ks_rig_close(&r);
}

static void wrapped_key_is_loaded_and_usable(void **state)
{
    struct ks_rig r;
    setup3(&r);
    signet_evict_policy p = {0};
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "b"), &p),
                     SIGNET_OK);
    assert_true(ks_rig_resident(&r, "b"));
    assert_false(ks_rig_resident(&r, "a"));
    ks_rig_sign_and_verify(&r, "b");
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(r.s, 0x0101, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_true(oi.origin & YH_ORIGIN_IMPORTED_WRAPPED);
    /* Loading marks use. */
    char p_lru[256];
    snprintf(p_lru, sizeof p_lru, "%s/.lru", r.dir);
    assert_int_equal(access(p_lru, F_OK), 0);
    ks_rig_close(&r);
}

static void thresholds_evict_least_recently_used(void **state)
{
    struct ks_rig r;
    setup3(&r);
    /* Room for two of the three keys above the threshold. */
    unsigned r0 = free_records(&r);
    signet_evict_policy p = {.min_free_objects = r0 - 1};
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"), &p),
                     SIGNET_OK);
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "b"), &p),
                     SIGNET_OK);
    assert_true(ks_rig_resident(&r, "a"));
    assert_true(ks_rig_resident(&r, "b"));
    /* c needs room: a was used longest ago and goes. */
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "c"), &p),
                     SIGNET_OK);
    assert_false(ks_rig_resident(&r, "a"));
    assert_true(ks_rig_resident(&r, "b"));
    assert_true(ks_rig_resident(&r, "c"));
    ks_rig_sign_and_verify(&r, "c");
    assert_true(signet_keystore_has_key(r.ks, "a")); /* its wrapped copy stays */

    /* Using b makes c the least recently used: loading a evicts c. */
    assert_int_equal(signet_keystore_touch(r.ks, "b"), SIGNET_OK);
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"), &p),
                     SIGNET_OK);
    assert_true(ks_rig_resident(&r, "a"));
    assert_true(ks_rig_resident(&r, "b"));
    assert_false(ks_rig_resident(&r, "c"));
    ks_rig_sign_and_verify(&r, "a");

    /* Page threshold: the same, counted in pages. */
    hsm_storage st;
    assert_int_equal(hsm_storage_info(r.s, &st), SIGNET_OK);
    signet_evict_policy pages = {.min_free_pages = st.free_pages + 1};
    assert_int_equal(signet_keystore_touch(r.ks, "a"), SIGNET_OK); /* b is now the oldest */
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "c"), &pages),
                     SIGNET_OK);
    assert_false(ks_rig_resident(&r, "b"));
    /* Thresholds that cannot be met evict every other key of the store, then load. */
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "b"),
                                                     &(signet_evict_policy){.min_free_objects = 256}),
                     SIGNET_OK);
    assert_true(ks_rig_resident(&r, "b"));
    assert_false(ks_rig_resident(&r, "a"));
    assert_false(ks_rig_resident(&r, "c"));
    ks_rig_close(&r);
}

static void never_evicts_foreign_objects(void **state)
{
    struct ks_rig r;
    setup3(&r);
    /* A key that is not in the key map, and one whose id is in the map but holds
     * another object (different label). */
    uint16_t got;
    hsm_object_attrs foreign = {.id = 0x0200, .label = "foreign", .domains = 1,
                                .capabilities = YH_CAP(YH_CAP_SIGN_ECDSA),
                                .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(hsm_generate_asymmetric(r.s, &foreign, &got), SIGNET_OK);
    hsm_object_attrs squatter = foreign;
    squatter.id = 0x0102; /* c's id */
    squatter.label = "not c";
    assert_int_equal(hsm_generate_asymmetric(r.s, &squatter, &got), SIGNET_OK);
    /* b resident but without a wrapped copy on disk: not restorable, so kept. */
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "b"),
                                                     &(signet_evict_policy){0}),
                     SIGNET_OK);
    char p[256];
    ks_rig_path(&r, "b", ".wrapped", p, sizeof p);
    char saved[256];
    snprintf(saved, sizeof saved, "%s/b.saved", r.dir);
    assert_int_equal(rename(p, saved), 0);

    signet_evict_policy all = {.min_free_objects = 256, .min_free_pages = 1024};
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"), &all),
                     SIGNET_OK);
    assert_true(ks_rig_resident(&r, "a"));
    assert_true(ks_rig_resident(&r, "b"));
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(r.s, 0x0200, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_int_equal(hsm_get_object_info(r.s, 0x0102, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_string_equal(oi.label, "not c");

    /* c's id is taken by another object: loading c is refused, the object kept. */
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "c"), &all),
                     SIGNET_E_STATE);
    assert_non_null(strstr(signet_errmsg(), "is 'not c'"));
    assert_int_equal(hsm_get_object_info(r.s, 0x0102, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_int_equal(signet_keystore_evict(r.ks, r.s, key(&r, "c")), SIGNET_E_STATE);
    ks_rig_close(&r);
}

/* Fills the device with opaque objects until it refuses more. */
static void fill_device(struct ks_rig *r)
{
    static uint8_t data[1800];
    uint16_t id = 0x1000, got;
    size_t sizes[] = {sizeof data, 100};
    for (int s = 0; s < 2; s++) {
        for (;;) {
            hsm_object_attrs a = {.id = id++, .label = "filler", .domains = 1,
                                  .algorithm = YH_ALGO_OPAQUE_DATA};
            signet_rc rc = hsm_put_opaque(r->s, &a, data, sizes[s], &got);
            if (rc != SIGNET_OK) {
                assert_int_equal(signet_err_device(), YH_ERR_STORAGE_FAILED);
                break;
            }
        }
    }
}

static void full_device_evicts_on_import_failure(void **state)
{
    struct ks_rig r;
    setup3(&r);
    signet_evict_policy none = {0};
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"), &none),
                     SIGNET_OK);
    fill_device(&r);
    /* The thresholds say nothing; the import fails for lack of storage, a goes. */
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "b"), &none),
                     SIGNET_OK);
    assert_false(ks_rig_resident(&r, "a"));
    assert_true(ks_rig_resident(&r, "b"));
    ks_rig_sign_and_verify(&r, "b");

    /* With b's wrapped copy gone, nothing of the store can make room: a clear error. */
    char p[256];
    ks_rig_path(&r, "b", ".wrapped", p, sizeof p);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "c"), &none),
                     SIGNET_E_BUSY);
    assert_non_null(strstr(signet_errmsg(), "the HSM is full"));
    assert_true(ks_rig_resident(&r, "b"));
    assert_false(ks_rig_resident(&r, "c"));
    ks_rig_close(&r);
}

static void wrong_files_are_caught(void **state)
{
    struct ks_rig r;
    setup3(&r);
    signet_evict_policy none = {0};
    char pa[256], pb[256];
    /* a's file replaced by b's wrapped copy: it imports as b, refused. */
    ks_rig_path(&r, "a", ".wrapped", pa, sizeof pa);
    ks_rig_path(&r, "b", ".wrapped", pb, sizeof pb);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.orig' && cp '%s' '%s'", pa, pa, pb, pa);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"), &none),
                     SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "not key 'a'"));
    snprintf(cmd, sizeof cmd, "mv '%s.orig' '%s'", pa, pa);
    assert_int_equal(system(cmd), 0);
    hsm_delete_object(r.s, 0x0101, YH_TYPE_ASYMMETRIC_KEY);

    /* A recorded public key that is not the wrapped key's: loaded, found out,
     * removed again. */
    ks_rig_path(&r, "a", ".pub.pem", pa, sizeof pa);
    ks_rig_path(&r, "b", ".pub.pem", pb, sizeof pb);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", pb, pa);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"), &none),
                     SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "does not hold the recorded public key"));
    assert_false(ks_rig_resident(&r, "a"));

    /* A corrupted blob: the device refuses it (bad tag). */
    ks_rig_path(&r, "c", ".wrapped", pa, sizeof pa);
    FILE *f = fopen(pa, "r+b");
    fseek(f, 40, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 40, SEEK_SET);
    fputc(ch ^ 0x01, f);
    fclose(f);
    assert_int_not_equal(
        signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "c"), &none), SIGNET_OK);
    assert_non_null(strstr(signet_errmsg(), "c.wrapped does not unwrap under wrap key"));
    assert_non_null(strstr(signet_errmsg(), "restore it from the backup copy"));
    assert_false(ks_rig_resident(&r, "c"));

    /* Not in the store at all. */
    signet_keymap_entry ghost = {.name = "ghost", .id = 0x0999, .algorithm = YH_ALGO_RSA_2048,
                                 .domains = 1, .role = "apk"};
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, &ghost, &none),
                     SIGNET_E_ARG);
    ks_rig_close(&r);
}

static void missing_wrapped_copy(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, MAP3);
    assert_int_equal(signet_keystore_ensure_resident(r.ks, r.s, RIG_WRAP_ID, key(&r, "a"),
                                                     &(signet_evict_policy){0}),
                     SIGNET_E_NOTFOUND);
    assert_non_null(strstr(signet_errmsg(), "signet keys generate"));
    ks_rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resident_key_is_left_alone),
        cmocka_unit_test(wrapped_key_is_loaded_and_usable),
        cmocka_unit_test(thresholds_evict_least_recently_used),
        cmocka_unit_test(never_evicts_foreign_objects),
        cmocka_unit_test(full_device_evicts_on_import_failure),
        cmocka_unit_test(wrong_files_are_caught),
        cmocka_unit_test(missing_wrapped_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

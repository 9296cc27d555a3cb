/* Firmware 2.4 behaviours that Yubico's own clients rely on: capabilities 54
 * and 55 (the factory key's 0x00ffffffffffffff), auditing Set Log Index and
 * recovering a full forced log with it, Ed25519 signing after a legacy
 * (seedless) wrapped import, the sequence number after Import Wrapped, Change
 * Authentication Key on another key's id, and the FIPS options of a non-FIPS
 * device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/evp.h>

#include "dev_client.h"

#define CAP(x) YH_CAP(YH_CAP_##x)
#define WRAP_ID 0x00ff

static const uint8_t wrap_key[16] = "0123456789abcdef";

static int set_option(tc_session *s, uint8_t opt, const uint8_t *v, size_t n)
{
    uint8_t buf[256];
    buf[0] = opt;
    put_be16(buf + 1, (uint16_t)n);
    memcpy(buf + 3, v, n);
    return tc_cmd(s, YH_CMD_SET_OPTION, buf, 3 + n, NULL);
}

static int put_wrap(tc_session *s, uint64_t deleg)
{
    sb_wr w;
    sbw_init(&w, 256);
    tc_attrs a = {.id = WRAP_ID, .label = "wrap", .domains = 0xffff,
                  .caps = CAP(EXPORT_WRAPPED) | CAP(IMPORT_WRAPPED),
                  .algorithm = YH_ALGO_AES128_CCM_WRAP};
    tc_put_hdr(&w, &a);
    sbw_u64(&w, deleg);
    sbw_put(&w, wrap_key, sizeof wrap_key);
    int rc = tc_cmd(s, YH_CMD_PUT_WRAP_KEY, w.p, w.len, NULL);
    sbw_free(&w);
    return rc;
}

/* Export (legacy format: no format byte), delete, import. */
static void export_delete_import(tc_session *s, uint8_t type, uint16_t id)
{
    uint8_t req[5];
    put_be16(req, WRAP_ID);
    req[2] = type;
    put_be16(req + 3, id);
    sb_wr blob, w, r;
    sbw_init(&blob, 4096);
    sbw_init(&w, 4096);
    sbw_init(&r, 16);
    assert_int_equal(tc_cmd(s, YH_CMD_EXPORT_WRAPPED, req, sizeof req, &blob), 0);
    assert_int_equal(tc_delete(s, id, type), 0);
    sbw_u16(&w, WRAP_ID);
    sbw_put(&w, blob.p, blob.len);
    assert_int_equal(tc_cmd(s, YH_CMD_IMPORT_WRAPPED, w.p, w.len, &r), 0);
    assert_int_equal(r.len, 3);
    assert_int_equal(r.p[0], type);
    assert_int_equal(be16(r.p + 1), id);
    sbw_free(&blob);
    sbw_free(&w);
    sbw_free(&r);
}

static void capabilities_54_55(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 1, YH_TYPE_AUTHENTICATION_KEY, &oi), 0);
    assert_true(oi.capabilities == UINT64_C(0x00ffffffffffffff));
    assert_true(oi.delegated_capabilities == UINT64_C(0x00ffffffffffffff));
    assert_string_equal(yh_cap_name(0x36), "put-public-wrap-key");
    assert_string_equal(yh_cap_name(0x37), "delete-public-wrap-key");

    /* "all capabilities", as Yubico's tools offer it, is a valid set */
    tc_attrs a = {.id = 0x0002, .label = "all", .domains = 0xffff,
                  .caps = UINT64_C(0x00ffffffffffffff),
                  .algorithm = YH_ALGO_AES128_YUBICO_AUTHENTICATION};
    assert_int_equal(tc_put_auth_key(&s, &a, UINT64_C(0x00ffffffffffffff), "pw2"), 0);
    tc_session s2;
    assert_int_equal(tc_open(dev, 2, "pw2", &s2), 0);
    assert_int_equal(tc_get_info(&s2, 2, YH_TYPE_AUTHENTICATION_KEY, &oi), 0);
    assert_true(oi.capabilities == UINT64_C(0x00ffffffffffffff));
    /* a bit beyond firmware 2.4's capabilities is beyond every delegated set */
    a.id = 0x0003;
    a.caps = YH_CAP(0x38);
    assert_int_equal(tc_put_auth_key(&s, &a, 0, "pw3"), YH_ERR_INSUFFICIENT_PERMISSIONS);
    tc_close(&s2);
    tc_close(&s);
    hsm_device_free(dev);
}

static void set_log_index_audited(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    /* Yubico's forced-log test: audit Set Log Index and Get Pseudo Random */
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT,
                                (const uint8_t *)"\x67\x01\x51\x01", 4), 0);
    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPTION, (const uint8_t *)"\x03", 1, &r), 0);
    bool seen = false;
    for (size_t i = 0; i + 1 < r.len; i += 2)
        if (r.p[i] == YH_CMD_SET_LOG_INDEX) {
            seen = true;
            assert_int_equal(r.p[i + 1], YH_OPT_ON);
        }
    assert_true(seen);
    assert_int_equal(set_option(&s, YH_OPTION_FORCE_AUDIT, (const uint8_t *)"\x01", 1), 0);
    /* 2 factory entries + 60 audited random calls fill the forced log */
    for (int i = 0; i < 60; i++)
        assert_int_equal(tc_cmd(&s, YH_CMD_GET_PSEUDO_RANDOM, (const uint8_t *)"\x00\x04", 2,
                                NULL), 0);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_PSEUDO_RANDOM, (const uint8_t *)"\x00\x04", 2, NULL),
                     YH_ERR_LOG_FULL);
    /* the recovery: read, then Set Log Index (itself audited) on the full log */
    sbw_reset(&r);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_LOG_ENTRIES, NULL, 0, &r), 0);
    assert_int_equal(r.p[4], 62);
    uint8_t idx[2];
    put_be16(idx, 62);
    assert_int_equal(tc_cmd(&s, YH_CMD_SET_LOG_INDEX, idx, 2, NULL), 0);
    sbw_reset(&r);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_LOG_ENTRIES, NULL, 0, &r), 0);
    assert_int_equal(r.p[4], 1); /* the Set Log Index entry, in the room it freed */
    yh_log_entry e;
    yh_log_entry_decode(r.p + 5, &e);
    assert_int_equal(e.command, YH_CMD_SET_LOG_INDEX);
    assert_int_equal(e.number, 63);
    assert_int_equal(e.result, YH_RESPONSE(YH_CMD_SET_LOG_INDEX));
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_PSEUDO_RANDOM, (const uint8_t *)"\x00\x04", 2, NULL),
                     0);
    sbw_free(&r);
    tc_close(&s);
    hsm_device_free(dev);
}

/* Sign EdDSA after a legacy import gives exactly OpenSSL's signature from the
 * seed (Ed25519 is deterministic). */
static void ed25519_signs_without_seed(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    assert_int_equal(put_wrap(&s, CAP(SIGN_EDDSA) | CAP(EXPORTABLE_UNDER_WRAP)), 0);
    for (int k = 0; k < 4; k++) {
        uint8_t seed[32];
        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)(k * 61 + i * 7 + 1);
        EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
        assert_non_null(pk);
        sb_wr w;
        sbw_init(&w, 2048);
        tc_attrs a = {.id = 0x0300, .label = "ed", .domains = 1,
                      .caps = CAP(SIGN_EDDSA) | CAP(EXPORTABLE_UNDER_WRAP),
                      .algorithm = YH_ALGO_EC_ED25519};
        tc_put_hdr(&w, &a);
        sbw_put(&w, seed, 32);
        assert_int_equal(tc_cmd(&s, YH_CMD_PUT_ASYMMETRIC_KEY, w.p, w.len, NULL), 0);
        export_delete_import(&s, YH_TYPE_ASYMMETRIC_KEY, 0x0300);
        /* messages of 0, 1, 64 and 1000 bytes */
        static const size_t lens[] = {0, 1, 64, 1000};
        uint8_t msg[1000];
        for (size_t i = 0; i < sizeof msg; i++)
            msg[i] = (uint8_t)(i * 13 + k);
        sbw_reset(&w);
        sbw_u16(&w, 0x0300);
        sbw_put(&w, msg, lens[k]);
        sb_wr sig;
        sbw_init(&sig, 128);
        assert_int_equal(tc_cmd(&s, YH_CMD_SIGN_EDDSA, w.p, w.len, &sig), 0);
        assert_int_equal(sig.len, 64);
        uint8_t ref[64];
        size_t rl = sizeof ref;
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, pk, NULL), 1);
        assert_int_equal(EVP_DigestSign(m, ref, &rl, msg, lens[k]), 1);
        assert_memory_equal(sig.p, ref, 64);
        EVP_MD_CTX_free(m);
        EVP_PKEY_free(pk);
        assert_int_equal(tc_delete(&s, 0x0300, YH_TYPE_ASYMMETRIC_KEY), 0);
        sbw_free(&w);
        sbw_free(&sig);
    }
    tc_close(&s);
    hsm_device_free(dev);
}

static void import_increments_sequence(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    assert_int_equal(put_wrap(&s, CAP(SIGN_ECDSA) | CAP(EXPORTABLE_UNDER_WRAP)), 0);
    tc_attrs a = {.id = 0x0400, .label = "ec", .domains = 1,
                  .caps = CAP(SIGN_ECDSA) | CAP(EXPORTABLE_UNDER_WRAP),
                  .algorithm = YH_ALGO_EC_P256};
    uint16_t id;
    assert_int_equal(tc_generate(&s, &a, &id), 0);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 0x0400, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
    assert_int_equal(oi.sequence, 0);
    export_delete_import(&s, YH_TYPE_ASYMMETRIC_KEY, 0x0400);
    assert_int_equal(tc_get_info(&s, 0x0400, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
    assert_int_equal(oi.sequence, 1);
    assert_int_equal(oi.origin, YH_ORIGIN_GENERATED | YH_ORIGIN_IMPORTED_WRAPPED);
    export_delete_import(&s, YH_TYPE_ASYMMETRIC_KEY, 0x0400);
    assert_int_equal(tc_get_info(&s, 0x0400, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
    assert_int_equal(oi.sequence, 2);
    tc_close(&s);
    hsm_device_free(dev);
}

static void change_other_key_is_invalid_id(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    tc_attrs a = {.id = 0x0005, .label = "op", .domains = 1,
                  .caps = CAP(CHANGE_AUTHENTICATION_KEY),
                  .algorithm = YH_ALGO_AES128_YUBICO_AUTHENTICATION};
    assert_int_equal(tc_put_auth_key(&s, &a, 0, "pw5"), 0);
    yh_static_keys k;
    assert_int_equal(yh_derive_password_keys("newpw", 5, &k), SIGNET_OK);
    uint8_t req[3 + 32];
    put_be16(req, 0x0005);
    req[2] = YH_ALGO_AES128_YUBICO_AUTHENTICATION;
    memcpy(req + 3, k.enc, 16);
    memcpy(req + 19, k.mac, 16);
    /* session of key 1 changing key 5 */
    assert_int_equal(tc_cmd(&s, YH_CMD_CHANGE_AUTHENTICATION_KEY, req, sizeof req, NULL),
                     YH_ERR_INVALID_ID);
    /* key 5 still opens with its old password; its own session may change it */
    tc_session s5;
    assert_int_equal(tc_open(dev, 5, "pw5", &s5), 0);
    assert_int_equal(tc_cmd(&s5, YH_CMD_CHANGE_AUTHENTICATION_KEY, req, sizeof req, NULL), 0);
    tc_close(&s5);
    assert_int_equal(tc_open(dev, 5, "newpw", &s5), 0);
    tc_close(&s5);
    tc_close(&s);
    hsm_device_free(dev);
}

static void fips_options_on_a_non_fips_device(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    sb_wr r;
    sbw_init(&r, 64);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPTION, (const uint8_t *)"\x05", 1, &r),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPTION, (const uint8_t *)"\x04", 1, &r),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(set_option(&s, YH_OPTION_FIPS_MODE, (const uint8_t *)"\x01", 1),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(set_option(&s, YH_OPTION_ALGORITHM_TOGGLE, (const uint8_t *)"\x09\x00", 2),
                     YH_ERR_INVALID_DATA);
    /* the options a non-FIPS device has still answer */
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPTION, (const uint8_t *)"\x01", 1, &r), 0);
    assert_int_equal(r.len, 1);
    sbw_free(&r);
    tc_close(&s);
    hsm_device_free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(capabilities_54_55),
        cmocka_unit_test(set_log_index_audited),
        cmocka_unit_test(ed25519_signs_without_seed),
        cmocka_unit_test(import_increments_sequence),
        cmocka_unit_test(change_other_key_is_invalid_id),
        cmocka_unit_test(fips_options_on_a_non_fips_device),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Every typed call of client.h against the emulator core in-process, checked
 * from the outside (signatures verified with OpenSSL against public keys, objects
 * read back), and the device's refusals surfacing as the right errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "rig.h"

static int setup(void **state)
{
    static struct rig r;
    rig_open(&r);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    rig_close(*state);
    return 0;
}

#define SIGN_CAPS                                                                                  \
    (YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS) | YH_CAP(YH_CAP_SIGN_ECDSA) |             \
     YH_CAP(YH_CAP_SIGN_EDDSA))

static void sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned len = 32;
    assert_int_equal(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
}

/* Verifies sig over msg with pk: RSA PKCS#1 or PSS (SHA-256), ECDSA (SHA-256), Ed25519. */
static bool verify(EVP_PKEY *pk, const char *mech, const uint8_t *msg, size_t mlen,
                   const uint8_t *sig, size_t slen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ed = strcmp(mech, "eddsa") == 0;
    int ok = EVP_DigestVerifyInit(ctx, &pctx, ed ? NULL : EVP_sha256(), NULL, pk) == 1;
    if (ok && strcmp(mech, "pss") == 0)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1;
    ok = ok && EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

static void sign_and_verify(hsm_session *s, uint16_t id, EVP_PKEY *pk, const char *mech)
{
    static const uint8_t msg[] = "signet test message";
    uint8_t d[32], sig[1024];
    size_t slen = sizeof sig;
    sha256(msg, sizeof msg, d);
    signet_rc rc;
    if (strcmp(mech, "pkcs1") == 0)
        rc = hsm_sign_pkcs1(s, id, d, sizeof d, sig, &slen);
    else if (strcmp(mech, "pss") == 0)
        rc = hsm_sign_pss(s, id, YH_ALGO_MGF1_SHA256, 32, d, sizeof d, sig, &slen);
    else if (strcmp(mech, "ecdsa") == 0)
        rc = hsm_sign_ecdsa(s, id, d, sizeof d, sig, &slen);
    else
        rc = hsm_sign_eddsa(s, id, msg, sizeof msg, sig, &slen);
    if (rc != SIGNET_OK)
        fail_msg("%s with 0x%04x: %s", mech, id, signet_errmsg());
    assert_true(verify(pk, mech, msg, sizeof msg, sig, slen));
    /* A different message does not verify: the check above means something. */
    assert_false(verify(pk, mech, msg, sizeof msg - 1, sig, slen));
}

static void generate_sign_verify(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    struct {
        uint8_t algo;
        const char *mechs[2];
    } cases[] = {
        {YH_ALGO_RSA_2048, {"pkcs1", "pss"}},
        {YH_ALGO_EC_P256, {"ecdsa", NULL}},
        {YH_ALGO_EC_ED25519, {"eddsa", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hsm_object_attrs a = {.label = "gen", .domains = 1, .capabilities = SIGN_CAPS,
                              .algorithm = cases[i].algo};
        uint16_t id = 0;
        assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_OK);
        assert_true(id != 0);
        EVP_PKEY *pk = NULL;
        uint8_t algo = 0;
        assert_int_equal(hsm_get_public_key(s, id, &pk, &algo), SIGNET_OK);
        assert_int_equal(algo, cases[i].algo);
        for (int m = 0; m < 2 && cases[i].mechs[m]; m++)
            sign_and_verify(s, id, pk, cases[i].mechs[m]);
        EVP_PKEY_free(pk);
        yh_object_info oi;
        assert_int_equal(hsm_get_object_info(s, id, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
        assert_int_equal(oi.origin, YH_ORIGIN_GENERATED);
        assert_int_equal(oi.algorithm, cases[i].algo);
    }
    /* A chosen id. */
    hsm_object_attrs a = {.id = 0x0123, .label = "chosen", .domains = 1,
                          .capabilities = SIGN_CAPS, .algorithm = YH_ALGO_EC_P384};
    uint16_t id = 0;
    assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_OK);
    assert_int_equal(id, 0x0123);
    /* Not an asymmetric algorithm: refused locally. */
    a.algorithm = YH_ALGO_AES256_CCM_WRAP;
    assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_E_ARG);
    hsm_session_close(s);
}

static void put_asymmetric_matches_local_keys(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    struct {
        EVP_PKEY *k;
        uint8_t algo;
        const char *mech;
    } cases[] = {
        {EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), YH_ALGO_RSA_2048, "pkcs1"},
        {EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), YH_ALGO_EC_P384, "ecdsa"},
        {EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"), YH_ALGO_EC_ED25519, "eddsa"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_non_null(cases[i].k);
        hsm_object_attrs a = {.label = "imported", .domains = 1, .capabilities = SIGN_CAPS,
                              .algorithm = cases[i].algo};
        uint16_t id = 0;
        assert_int_equal(hsm_put_asymmetric(s, &a, cases[i].k, &id), SIGNET_OK);
        EVP_PKEY *pk = NULL;
        assert_int_equal(hsm_get_public_key(s, id, &pk, NULL), SIGNET_OK);
        assert_int_equal(EVP_PKEY_eq(pk, cases[i].k), 1);
        sign_and_verify(s, id, cases[i].k, cases[i].mech);
        EVP_PKEY_free(pk);
        yh_object_info oi;
        assert_int_equal(hsm_get_object_info(s, id, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
        assert_int_equal(oi.origin, YH_ORIGIN_IMPORTED);
    }
    /* A key that does not match the algorithm is refused before sending. */
    hsm_object_attrs a = {.label = "x", .domains = 1, .capabilities = SIGN_CAPS,
                          .algorithm = YH_ALGO_EC_P256};
    uint16_t id;
    unsigned before = r->transfers;
    assert_int_equal(hsm_put_asymmetric(s, &a, cases[1].k, &id), SIGNET_E_ARG);
    a.algorithm = YH_ALGO_RSA_3072;
    assert_int_equal(hsm_put_asymmetric(s, &a, cases[0].k, &id), SIGNET_E_ARG);
    assert_int_equal(r->transfers, before);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        EVP_PKEY_free(cases[i].k);
    hsm_session_close(s);
}

static void list_filters_and_object_info(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    uint16_t a_id, b_id, o_id;
    hsm_object_attrs a = {.id = 0x10, .label = "alpha", .domains = 0x0001,
                          .capabilities = YH_CAP(YH_CAP_SIGN_ECDSA), .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(hsm_generate_asymmetric(s, &a, &a_id), SIGNET_OK);
    hsm_object_attrs b = {.id = 0x11, .label = "beta", .domains = 0x0002,
                          .capabilities = YH_CAP(YH_CAP_SIGN_EDDSA),
                          .algorithm = YH_ALGO_EC_ED25519};
    assert_int_equal(hsm_generate_asymmetric(s, &b, &b_id), SIGNET_OK);
    hsm_object_attrs o = {.id = 0x10, .label = "alpha", .domains = 0x0001,
                          .capabilities = YH_CAP(YH_CAP_GET_OPAQUE)};
    assert_int_equal(hsm_put_opaque(s, &o, (const uint8_t *)"data", 4, &o_id), SIGNET_OK);

    hsm_object_ref refs[YH_MAX_OBJECTS];
    size_t n = 0;
    assert_int_equal(hsm_list_objects(s, NULL, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    assert_int_equal(n, 4); /* the factory key too */
    hsm_filter f = {.type = YH_TYPE_ASYMMETRIC_KEY};
    assert_int_equal(hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    assert_int_equal(n, 2);
    f = (hsm_filter){.label = "alpha"};
    assert_int_equal(hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    assert_int_equal(n, 2);
    f = (hsm_filter){.label = "alpha", .type = YH_TYPE_OPAQUE};
    assert_int_equal(hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    assert_int_equal(n, 1);
    assert_int_equal(refs[0].id, 0x10);
    assert_int_equal(refs[0].type, YH_TYPE_OPAQUE);
    f = (hsm_filter){.algorithm = YH_ALGO_EC_ED25519};
    assert_int_equal(hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    assert_int_equal(n, 1);
    assert_int_equal(refs[0].id, 0x11);
    f = (hsm_filter){.domains = 0x0002, .type = YH_TYPE_ASYMMETRIC_KEY};
    assert_int_equal(hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    assert_int_equal(n, 1);
    assert_int_equal(refs[0].id, 0x11);
    f = (hsm_filter){.capabilities = YH_CAP(YH_CAP_SIGN_ECDSA)};
    assert_int_equal(hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= refs[i].id == 0x10 && refs[i].type == YH_TYPE_ASYMMETRIC_KEY;
    assert_true(found);
    f = (hsm_filter){.id = 0x11};
    assert_int_equal(hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n), SIGNET_OK);
    assert_int_equal(n, 1);
    /* A too small array: n still says how many there are. */
    assert_int_equal(hsm_list_objects(s, NULL, refs, 1, &n), SIGNET_OK);
    assert_int_equal(n, 4);

    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, 0x11, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_string_equal(oi.label, "beta");
    assert_int_equal(oi.domains, 0x0002);
    assert_int_equal(oi.capabilities, YH_CAP(YH_CAP_SIGN_EDDSA));
    assert_int_equal(oi.type, YH_TYPE_ASYMMETRIC_KEY);
    assert_int_equal(oi.id, 0x11);
    assert_int_equal(hsm_get_object_info(s, 0x99, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_E_NOTFOUND);
    assert_int_equal(signet_err_device(), YH_ERR_OBJECT_NOT_FOUND);
    hsm_session_close(s);
}

static void opaque_storage_delete(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    hsm_storage before, after;
    assert_int_equal(hsm_storage_info(s, &before), SIGNET_OK);
    assert_int_equal(before.total_records, YH_MAX_OBJECTS);
    assert_int_equal(before.page_size, YH_PAGE_SIZE);
    uint8_t data[500];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    hsm_object_attrs a = {.label = "cert", .domains = 1, .capabilities = YH_CAP(YH_CAP_GET_OPAQUE),
                          .algorithm = YH_ALGO_OPAQUE_X509_CERTIFICATE};
    uint16_t id = 0;
    assert_int_equal(hsm_put_opaque(s, &a, data, sizeof data, &id), SIGNET_OK);
    assert_int_equal(hsm_storage_info(s, &after), SIGNET_OK);
    assert_int_equal(after.free_records, before.free_records - 1);
    assert_true(after.free_pages < before.free_pages);
    sb_wr out;
    sbw_init(&out, 4096);
    assert_int_equal(hsm_get_opaque(s, id, &out), SIGNET_OK);
    assert_int_equal(out.len, sizeof data);
    assert_memory_equal(out.p, data, sizeof data);
    sbw_free(&out);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, id, YH_TYPE_OPAQUE, &oi), SIGNET_OK);
    assert_int_equal(oi.algorithm, YH_ALGO_OPAQUE_X509_CERTIFICATE);
    assert_int_equal(hsm_delete_object(s, id, YH_TYPE_OPAQUE), SIGNET_OK);
    sbw_init(&out, 4096);
    assert_int_equal(hsm_get_opaque(s, id, &out), SIGNET_E_NOTFOUND);
    sbw_free(&out);
    assert_int_equal(hsm_delete_object(s, id, YH_TYPE_OPAQUE), SIGNET_E_NOTFOUND);
    hsm_session_close(s);
}

#define EXPORTABLE (SIGN_CAPS | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP))
#define WRAP_CAPS (YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED))

static void wrap_export_import_roundtrip(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xa0 + i);
    hsm_object_attrs w = {.id = 0x00ff, .label = "wrap", .domains = 1, .capabilities = WRAP_CAPS,
                          .delegated = EXPORTABLE, .algorithm = YH_ALGO_AES256_CCM_WRAP};
    uint16_t wid = 0;
    assert_int_equal(hsm_put_wrap_key(s, &w, key, 16, &wid), SIGNET_E_ARG); /* wrong length */
    assert_int_equal(hsm_put_wrap_key(s, &w, key, sizeof key, &wid), SIGNET_OK);
    assert_int_equal(wid, 0x00ff);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, wid, YH_TYPE_WRAP_KEY, &oi), SIGNET_OK);
    assert_int_equal(oi.delegated_capabilities, EXPORTABLE);
    assert_int_equal(oi.algorithm, YH_ALGO_AES256_CCM_WRAP);

    hsm_object_attrs a = {.id = 0x0200, .label = "release", .domains = 1,
                          .capabilities = EXPORTABLE, .algorithm = YH_ALGO_RSA_2048};
    uint16_t id;
    assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_OK);
    EVP_PKEY *pk1 = NULL, *pk2 = NULL;
    assert_int_equal(hsm_get_public_key(s, id, &pk1, NULL), SIGNET_OK);
    sb_wr blob;
    sbw_init(&blob, 4096);
    assert_int_equal(hsm_export_wrapped(s, wid, YH_TYPE_ASYMMETRIC_KEY, id, &blob), SIGNET_OK);
    assert_true(blob.len > YH_WRAP_NONCE_LEN + YH_WRAP_HEADER_LEN + YH_WRAP_TAG_LEN + 256);
    assert_int_equal(hsm_delete_object(s, id, YH_TYPE_ASYMMETRIC_KEY), SIGNET_OK);
    uint8_t type = 0;
    uint16_t back = 0;
    assert_int_equal(hsm_import_wrapped(s, wid, blob.p, blob.len, &type, &back), SIGNET_OK);
    assert_int_equal(type, YH_TYPE_ASYMMETRIC_KEY);
    assert_int_equal(back, id);
    assert_int_equal(hsm_get_public_key(s, id, &pk2, NULL), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(pk1, pk2), 1);
    sign_and_verify(s, id, pk1, "pkcs1");
    assert_int_equal(hsm_get_object_info(s, id, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_true(oi.origin & YH_ORIGIN_IMPORTED_WRAPPED);
    /* A tampered blob is refused by the device. */
    blob.p[blob.len - 1] ^= 1;
    assert_int_equal(hsm_delete_object(s, id, YH_TYPE_ASYMMETRIC_KEY), SIGNET_OK);
    assert_int_not_equal(hsm_import_wrapped(s, wid, blob.p, blob.len, &type, &back), SIGNET_OK);
    assert_int_equal(hsm_import_wrapped(s, wid, blob.p, 10, &type, &back), SIGNET_E_ARG);
    sbw_free(&blob);
    EVP_PKEY_free(pk1);
    EVP_PKEY_free(pk2);

    /* A generated wrap key. */
    hsm_object_attrs g = {.label = "gen wrap", .domains = 1, .capabilities = WRAP_CAPS,
                          .delegated = EXPORTABLE, .algorithm = YH_ALGO_AES128_CCM_WRAP};
    uint16_t gid = 0;
    assert_int_equal(hsm_generate_wrap_key(s, &g, &gid), SIGNET_OK);
    assert_int_equal(hsm_get_object_info(s, gid, YH_TYPE_WRAP_KEY, &oi), SIGNET_OK);
    assert_int_equal(oi.origin, YH_ORIGIN_GENERATED);
    g.algorithm = YH_ALGO_RSA_2048;
    assert_int_equal(hsm_generate_wrap_key(s, &g, &gid), SIGNET_E_ARG);
    hsm_session_close(s);
}

static void refusals(void **state)
{
    struct rig *r = *state;
    hsm_session *admin = rig_login(r);
    /* An operator in domain 1 that may sign and export, but not generate. */
    rig_add_auth(admin, 2, "operator",
                 SIGN_CAPS | YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_GET_OPAQUE),
                 EXPORTABLE, 0x0001);
    hsm_object_attrs k1 = {.id = 0x20, .label = "d1", .domains = 0x0001, .capabilities = SIGN_CAPS,
                           .algorithm = YH_ALGO_EC_P256};
    hsm_object_attrs k2 = {.id = 0x21, .label = "d2", .domains = 0x0002,
                           .capabilities = EXPORTABLE, .algorithm = YH_ALGO_EC_P256};
    hsm_object_attrs k3 = {.id = 0x22, .label = "wide", .domains = 0x0001,
                           .capabilities = EXPORTABLE | YH_CAP(YH_CAP_DERIVE_ECDH),
                           .algorithm = YH_ALGO_EC_P256};
    uint16_t id;
    assert_int_equal(hsm_generate_asymmetric(admin, &k1, &id), SIGNET_OK);
    assert_int_equal(hsm_generate_asymmetric(admin, &k2, &id), SIGNET_OK);
    assert_int_equal(hsm_generate_asymmetric(admin, &k3, &id), SIGNET_OK);
    uint8_t key[16] = {1, 2, 3};
    hsm_object_attrs w = {.id = 0x30, .label = "wrap", .domains = 0x0003, .capabilities = WRAP_CAPS,
                          .delegated = EXPORTABLE, .algorithm = YH_ALGO_AES128_CCM_WRAP};
    assert_int_equal(hsm_put_wrap_key(admin, &w, key, sizeof key, &id), SIGNET_OK);

    hsm_session *op = NULL;
    assert_int_equal(hsm_session_open(r->conn, 2, "operator", &op), SIGNET_OK);
    /* missing capability on the session's key */
    hsm_object_attrs g = {.label = "x", .domains = 1, .capabilities = SIGN_CAPS,
                          .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(hsm_generate_asymmetric(op, &g, &id), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    assert_non_null(strstr(signet_errmsg(), "capability"));
    /* foreign domain: invisible */
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(op, 0x21, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_E_NOTFOUND);
    uint8_t d[32] = {0}, sig[256];
    size_t slen = sizeof sig;
    assert_int_equal(hsm_sign_ecdsa(op, 0x21, d, sizeof d, sig, &slen), SIGNET_E_NOTFOUND);
    /* not exportable */
    sb_wr blob;
    sbw_init(&blob, 4096);
    assert_int_equal(hsm_export_wrapped(op, 0x30, YH_TYPE_ASYMMETRIC_KEY, 0x20, &blob),
                     SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* the wrap key's delegated capabilities do not cover derive-ecdh */
    assert_int_equal(hsm_export_wrapped(admin, 0x30, YH_TYPE_ASYMMETRIC_KEY, 0x22, &blob),
                     SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    assert_int_equal(blob.len, 0);
    sbw_free(&blob);
    /* an object of that type and id exists already */
    assert_int_equal(hsm_generate_asymmetric(admin, &k1, &id), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_OBJECT_EXISTS);
    hsm_session_close(op);
    hsm_session_close(admin);
}

static void storage_full(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    static uint8_t data[2000];
    hsm_object_attrs a = {.label = "filler", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_GET_OPAQUE)};
    signet_rc rc = SIGNET_OK;
    int stored = 0;
    uint16_t id;
    while (stored < 300 && (rc = hsm_put_opaque(s, &a, data, sizeof data, &id)) == SIGNET_OK)
        stored++;
    assert_int_equal(rc, SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_STORAGE_FAILED);
    assert_non_null(strstr(signet_errmsg(), "storage"));
    assert_true(stored > 10 && stored < 256);
    hsm_storage st;
    assert_int_equal(hsm_storage_info(s, &st), SIGNET_OK);
    assert_true(st.free_pages < 2000 / YH_PAGE_SIZE + 1);
    hsm_session_close(s);
}

static void auth_keys(void **state)
{
    struct rig *r = *state;
    hsm_session *admin = rig_login(r);
    rig_add_auth(admin, 5, "five", YH_CAP(YH_CAP_GET_PSEUDO_RANDOM), 0, 0x0001);
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open(r->conn, 5, "five", &s), SIGNET_OK);
    assert_int_equal(hsm_session_auth_id(s), 5);
    uint8_t buf[4];
    assert_int_equal(hsm_get_pseudo_random(s, 4, buf), SIGNET_OK);
    /* This key may not change itself. */
    assert_int_equal(hsm_change_auth_key(s, "other"), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session_close(s);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(admin, 5, YH_TYPE_AUTHENTICATION_KEY, &oi), SIGNET_OK);
    assert_int_equal(oi.algorithm, YH_ALGO_AES128_YUBICO_AUTHENTICATION);
    assert_int_equal(oi.capabilities, YH_CAP(YH_CAP_GET_PSEUDO_RANDOM));
    /* Empty passwords and points off the curve are refused locally. */
    hsm_object_attrs a = {.id = 6, .label = "x", .domains = 1};
    uint16_t id;
    assert_int_equal(hsm_put_auth_key(admin, &a, "", &id), SIGNET_E_ARG);
    uint8_t bad[YH_EC_P256_PUB_LEN] = {0x04, 1, 2, 3};
    assert_int_equal(hsm_put_auth_key_asym(admin, &a, bad, &id), SIGNET_E_ARG);
    hsm_session_close(admin);
}

static void log_full_under_force_audit_and_recovery(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    hsm_log log;
    assert_int_equal(hsm_get_log_entries(s, &log), SIGNET_OK);
    assert_true(log.n >= 2);
    for (size_t i = 1; i < log.n; i++)
        assert_true(yh_log_entry_verify(&log.entries[i], log.entries[i - 1].digest));
    /* Refused locally: auditing these can lock the device. */
    uint8_t lock[] = {YH_CMD_GET_LOG_ENTRIES, YH_OPT_ON};
    assert_int_equal(hsm_set_option(s, YH_OPTION_COMMAND_AUDIT, lock, sizeof lock), SIGNET_E_ARG);
    uint8_t audit[] = {YH_CMD_GET_PSEUDO_RANDOM, YH_OPT_ON};
    assert_int_equal(hsm_set_option(s, YH_OPTION_COMMAND_AUDIT, audit, sizeof audit), SIGNET_OK);
    uint8_t on = YH_OPT_ON;
    assert_int_equal(hsm_set_option(s, YH_OPTION_FORCE_AUDIT, &on, 1), SIGNET_OK);
    sb_wr v;
    sbw_init(&v, 1024);
    assert_int_equal(hsm_get_option(s, YH_OPTION_FORCE_AUDIT, &v), SIGNET_OK);
    assert_int_equal(v.len, 1);
    assert_int_equal(v.p[0], YH_OPT_ON);
    sbw_reset(&v);
    assert_int_equal(hsm_get_option(s, YH_OPTION_COMMAND_AUDIT, &v), SIGNET_OK);
    bool found = false;
    for (size_t i = 0; i + 1 < v.len; i += 2)
        found |= v.p[i] == YH_CMD_GET_PSEUDO_RANDOM && v.p[i + 1] == YH_OPT_ON;
    assert_true(found);
    sbw_free(&v);

    uint8_t buf[8];
    signet_rc rc = SIGNET_OK;
    int done = 0;
    while (done < 100 && (rc = hsm_get_pseudo_random(s, sizeof buf, buf)) == SIGNET_OK)
        done++;
    assert_int_equal(rc, SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_LOG_FULL);
    assert_non_null(strstr(signet_errmsg(), "signet audit drain"));
    assert_true(done > 0 && done <= YH_LOG_CAPACITY);
    /* Draining: read, verify, mark read.  Then logged commands work again. */
    assert_int_equal(hsm_get_log_entries(s, &log), SIGNET_OK);
    assert_int_equal(log.n, YH_LOG_CAPACITY);
    for (size_t i = 1; i < log.n; i++) {
        assert_int_equal(log.entries[i].number, (uint16_t)(log.entries[i - 1].number + 1));
        assert_true(yh_log_entry_verify(&log.entries[i], log.entries[i - 1].digest));
    }
    assert_int_equal(log.entries[log.n - 1].command, YH_CMD_GET_PSEUDO_RANDOM);
    assert_int_equal(hsm_set_log_index(s, log.entries[log.n - 1].number), SIGNET_OK);
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    hsm_log after;
    assert_int_equal(hsm_get_log_entries(s, &after), SIGNET_OK);
    assert_int_equal(after.n, 1);
    assert_int_equal(after.entries[0].number, (uint16_t)(log.entries[log.n - 1].number + 1));
    assert_true(yh_log_entry_verify(&after.entries[0], log.entries[log.n - 1].digest));
    hsm_session_close(s);
}

static void reset_wipes_and_ends_the_session(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    hsm_object_attrs a = {.id = 0x42, .label = "gone", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_GET_OPAQUE)};
    uint16_t id;
    assert_int_equal(hsm_put_opaque(s, &a, (const uint8_t *)"x", 1, &id), SIGNET_OK);
    assert_int_equal(hsm_reset_device(s), SIGNET_OK);
    unsigned before = r->transfers;
    uint8_t buf[4];
    assert_int_equal(hsm_get_pseudo_random(s, 4, buf), SIGNET_E_STATE);
    assert_int_equal(r->transfers, before);
    hsm_session_close(s);
    s = rig_login(r);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, 0x42, YH_TYPE_OPAQUE, &oi), SIGNET_E_NOTFOUND);
    hsm_log log;
    assert_int_equal(hsm_get_log_entries(s, &log), SIGNET_OK);
    assert_int_equal(log.entries[0].number, 1);
    hsm_session_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(generate_sign_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(put_asymmetric_matches_local_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(list_filters_and_object_info, setup, teardown),
        cmocka_unit_test_setup_teardown(opaque_storage_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(wrap_export_import_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(storage_full, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(log_full_under_force_audit_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(reset_wipes_and_ends_the_session, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

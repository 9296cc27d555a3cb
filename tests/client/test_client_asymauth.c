/* Asymmetric authentication end to end: the client (session_asym.c) against the
 * emulator core, in-process.  Covers putting, using, changing and deleting an
 * EC P-256 authentication key (algorithm 49), the refusals (wrong private key,
 * a receipt altered on the way, a key of the other kind, missing capabilities),
 * re-opening after an idle expiry, and that the device's static key survives a
 * restart and a reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "rig.h"

#define ASYM_ID 0x0031

static EVP_PKEY *new_p256(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(k);
    return k;
}

static void point_of(EVP_PKEY *k, uint8_t pt[YH_EC_P256_PUB_LEN])
{
    size_t n = 0;
    assert_int_equal(EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt,
                                                     YH_EC_P256_PUB_LEN, &n), 1);
    assert_int_equal(n, YH_EC_P256_PUB_LEN);
}

/* Puts an asymmetric authentication key for priv's public half. */
static void put_asym(hsm_session *admin, uint16_t id, EVP_PKEY *priv, uint64_t caps,
                     uint16_t domains)
{
    uint8_t pt[YH_EC_P256_PUB_LEN];
    point_of(priv, pt);
    hsm_object_attrs a = {.id = id, .label = "auditor", .domains = domains, .capabilities = caps,
                          .delegated = caps};
    uint16_t got = 0;
    if (hsm_put_auth_key_asym(admin, &a, pt, &got) != SIGNET_OK)
        fail_msg("put asymmetric auth key: %s", signet_errmsg());
    assert_int_equal(got, id);
}

static void login_and_use(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *admin = rig_login(&r);
    EVP_PKEY *priv = new_p256();
    put_asym(admin, ASYM_ID, priv,
             YH_CAP(YH_CAP_GET_PSEUDO_RANDOM) | YH_CAP(YH_CAP_GET_LOG_ENTRIES), 0x0001);

    /* The object is an authentication key of algorithm 49. */
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(admin, ASYM_ID, YH_TYPE_AUTHENTICATION_KEY, &oi),
                     SIGNET_OK);
    assert_int_equal(oi.algorithm, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION);
    assert_int_equal(oi.len, 8 + 64);
    assert_string_equal(oi.label, "auditor");

    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, priv, &s), SIGNET_OK);
    assert_int_equal(hsm_session_auth_id(s), ASYM_ID);
    uint8_t rnd[32] = {0}, zero[32] = {0};
    assert_int_equal(hsm_get_pseudo_random(s, sizeof rnd, rnd), SIGNET_OK);
    assert_memory_not_equal(rnd, zero, sizeof rnd);
    hsm_log log;
    assert_int_equal(hsm_get_log_entries(s, &log), SIGNET_OK);
    assert_true(log.n >= 2);
    /* Capabilities of the asymmetric key are enforced like any other key's. */
    hsm_storage st;
    assert_int_equal(hsm_storage_info(s, &st), SIGNET_OK); /* needs none */
    hsm_object_attrs a = {.label = "x", .domains = 1, .algorithm = YH_ALGO_EC_P256};
    uint16_t id;
    assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* The session still works after the refusal (the MAC chain held). */
    assert_int_equal(hsm_get_pseudo_random(s, 8, rnd), SIGNET_OK);

    /* An idle expiry is ridden out transparently with the kept private key. */
    unsigned creates = r.creates;
    r.now_ms += 31000;
    assert_int_equal(hsm_get_pseudo_random(s, 8, rnd), SIGNET_OK);
    assert_int_equal(r.creates, creates + 1);

    hsm_session_close(s);
    EVP_PKEY_free(priv);
    hsm_session_close(admin);
    rig_close(&r);
}

static void wrong_private_key(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *admin = rig_login(&r);
    EVP_PKEY *priv = new_p256(), *other = new_p256();
    put_asym(admin, ASYM_ID, priv, YH_CAP(YH_CAP_GET_PSEUDO_RANDOM), 0xffff);

    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, other, &s), SIGNET_E_AUTH);
    assert_null(s);
    assert_non_null(strstr(signet_errmsg(), "receipt"));
    /* An unknown key id is "not found"; a symmetric key with an asymmetric
     * request is invalid data (the device refuses the mix). */
    assert_int_equal(hsm_session_open_asym(r.conn, 0x0777, priv, &s), SIGNET_E_NOTFOUND);
    assert_int_equal(hsm_session_open_asym(r.conn, 1, priv, &s), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    /* and the other way round: a password against the asymmetric key */
    assert_int_not_equal(hsm_session_open(r.conn, ASYM_ID, "password", &s), SIGNET_OK);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    /* Not a P-256 key at all: refused before anything is sent. */
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    unsigned before = r.transfers;
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, ed, &s), SIGNET_E_ARG);
    assert_true(r.transfers - before <= 1); /* at most Device Info */
    EVP_PKEY_free(ed);
    /* The right key still works. */
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, priv, &s), SIGNET_OK);
    hsm_session_close(s);

    EVP_PKEY_free(priv);
    EVP_PKEY_free(other);
    hsm_session_close(admin);
    rig_close(&r);
}

/* A connector in the middle that alters the device's receipt. */
struct proxy {
    hsm_device *dev;
    bool tamper_receipt;
    bool tamper_eph;
};

static signet_rc proxy_transport(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                                 size_t *resp_len)
{
    struct proxy *p = ctx;
    signet_rc rc = hsm_device_transact(p->dev, req, len, resp, resp_len);
    if (rc == SIGNET_OK && *resp_len == 3 + 1 + 65 + 16 && resp[0] == 0x83) {
        if (p->tamper_receipt)
            resp[*resp_len - 1] ^= 0x80;
        if (p->tamper_eph)
            resp[3 + 1 + 10] ^= 0x01; /* no longer the device's ephemeral key */
    }
    return rc;
}

static void tampered_receipt(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *admin = rig_login(&r);
    EVP_PKEY *priv = new_p256();
    put_asym(admin, ASYM_ID, priv, YH_CAP(YH_CAP_GET_PSEUDO_RANDOM), 0xffff);

    struct proxy px = {.dev = r.dev, .tamper_receipt = true};
    hsm_conn *c = NULL;
    assert_int_equal(hsm_conn_open_transport(proxy_transport, &px, &c), SIGNET_OK);
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open_asym(c, ASYM_ID, priv, &s), SIGNET_E_AUTH);
    assert_null(s);
    /* An altered ephemeral key: not on the curve (parse error) or a different
     * point (the receipt no longer verifies); never a session. */
    px.tamper_receipt = false;
    px.tamper_eph = true;
    assert_int_not_equal(hsm_session_open_asym(c, ASYM_ID, priv, &s), SIGNET_OK);
    assert_null(s);
    px.tamper_eph = false;
    assert_int_equal(hsm_session_open_asym(c, ASYM_ID, priv, &s), SIGNET_OK);
    uint8_t rnd[8];
    assert_int_equal(hsm_get_pseudo_random(s, sizeof rnd, rnd), SIGNET_OK);
    hsm_session_close(s);
    hsm_conn_close(c);

    EVP_PKEY_free(priv);
    hsm_session_close(admin);
    rig_close(&r);
}

static void change_and_delete(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *admin = rig_login(&r);
    EVP_PKEY *priv = new_p256(), *next = new_p256();
    put_asym(admin, ASYM_ID, priv,
             YH_CAP(YH_CAP_GET_PSEUDO_RANDOM) | YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY), 0xffff);

    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, priv, &s), SIGNET_OK);
    /* An asymmetric key cannot become a password key (the kind stays). */
    assert_int_equal(hsm_change_auth_key(s, "a new password"), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    uint8_t pt[YH_EC_P256_PUB_LEN];
    point_of(next, pt);
    assert_int_equal(hsm_change_auth_key_asym(s, pt), SIGNET_OK);
    hsm_session_close(s);

    /* The old private key no longer opens a session; the new one does. */
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, priv, &s), SIGNET_E_AUTH);
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, next, &s), SIGNET_OK);
    hsm_session_close(s);

    /* Not a point on the curve: refused by the client, and by the device. */
    uint8_t bad[YH_EC_P256_PUB_LEN];
    memcpy(bad, pt, sizeof bad);
    bad[64] ^= 0x01;
    hsm_object_attrs a = {.id = ASYM_ID + 1, .label = "bad", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_GET_PSEUDO_RANDOM)};
    uint16_t id;
    assert_int_equal(hsm_put_auth_key_asym(admin, &a, bad, &id), SIGNET_E_ARG);
    uint8_t raw[2 + 40 + 2 + 8 + 1 + 8 + 64];
    sb_wr w;
    sbw_init_fixed(&w, raw, sizeof raw);
    uint8_t label[YH_LABEL_LEN];
    yh_label_encode("bad", label);
    sbw_u16(&w, ASYM_ID + 1);
    sbw_put(&w, label, sizeof label);
    sbw_u16(&w, 1);
    sbw_u64(&w, 0);
    sbw_u8(&w, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION);
    sbw_u64(&w, 0);
    sbw_put(&w, bad + 1, 64);
    uint8_t rbuf[16];
    sb_wr resp;
    sbw_init_fixed(&resp, rbuf, sizeof rbuf);
    assert_int_equal(hsm_xfer(admin, YH_CMD_PUT_AUTHENTICATION_KEY, w.p, w.len, &resp),
                     SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);

    /* Deleted: the key is gone for good. */
    assert_int_equal(hsm_delete_object(admin, ASYM_ID, YH_TYPE_AUTHENTICATION_KEY), SIGNET_OK);
    assert_int_equal(hsm_session_open_asym(r.conn, ASYM_ID, next, &s), SIGNET_E_NOTFOUND);

    EVP_PKEY_free(priv);
    EVP_PKEY_free(next);
    hsm_session_close(admin);
    rig_close(&r);
}

static hsm_device *open_on(const char *path)
{
    hsm_device_opts o = {.state_path = path};
    hsm_device *dev = NULL;
    if (hsm_device_open(&o, &dev) != SIGNET_OK)
        fail_msg("open %s: %s", path, signet_errmsg());
    return dev;
}

static signet_rc dev_transport(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                               size_t *resp_len)
{
    return hsm_device_transact(ctx, req, len, resp, resp_len);
}

static void device_key_persists(void **state)
{
    char dir[] = "/tmp/signet-asymauth-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/state", dir);

    hsm_device *dev = open_on(path);
    hsm_conn *c;
    assert_int_equal(hsm_conn_open_transport(dev_transport, dev, &c), SIGNET_OK);
    EVP_PKEY *dpk1 = NULL, *dpk2 = NULL, *dpk3 = NULL;
    assert_int_equal(hsm_get_device_public_key(c, &dpk1), SIGNET_OK);
    hsm_session *admin;
    assert_int_equal(hsm_session_open(c, 1, "password", &admin), SIGNET_OK);
    EVP_PKEY *priv = new_p256();
    put_asym(admin, ASYM_ID, priv, YH_CAP(YH_CAP_RESET_DEVICE), 0xffff);
    hsm_session_close(admin);
    hsm_conn_close(c);
    hsm_device_free(dev);

    /* A restart (power cycle): same device key, the credential still logs in. */
    dev = open_on(path);
    assert_int_equal(hsm_conn_open_transport(dev_transport, dev, &c), SIGNET_OK);
    assert_int_equal(hsm_get_device_public_key(c, &dpk2), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(dpk1, dpk2), 1);
    hsm_session *s;
    assert_int_equal(hsm_session_open_asym(c, ASYM_ID, priv, &s), SIGNET_OK);
    /* A reset wipes the objects but not the device's own key. */
    assert_int_equal(hsm_reset_device(s), SIGNET_OK);
    hsm_session_close(s);
    assert_int_equal(hsm_get_device_public_key(c, &dpk3), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(dpk1, dpk3), 1);
    assert_int_equal(hsm_session_open_asym(c, ASYM_ID, priv, &s), SIGNET_E_NOTFOUND);
    hsm_conn_close(c);
    hsm_device_free(dev);

    EVP_PKEY_free(dpk1);
    EVP_PKEY_free(dpk2);
    EVP_PKEY_free(dpk3);
    EVP_PKEY_free(priv);
    char ca[300];
    snprintf(ca, sizeof ca, "%s.ca.pem", path);
    unlink(ca);
    snprintf(ca, sizeof ca, "%s.journal", path);
    unlink(ca);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(login_and_use),
        cmocka_unit_test(wrong_private_key),
        cmocka_unit_test(tampered_receipt),
        cmocka_unit_test(change_and_delete),
        cmocka_unit_test(device_key_persists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The rest of the device, end to end (client and emulator core in-process),
 * each result checked against OpenSSL computing the same thing locally:
 * HMAC keys, RSA decryption (PKCS#1 v1.5, OAEP), ECDH, wrap/unwrap data,
 * symmetric AES keys (ECB, CBC), the Ed25519 wrap format, and the small
 * device queries (part number, FIPS mode, blink, algorithms).  Refusals:
 * missing capabilities (session or key), foreign domains, wrong key types,
 * malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "rig.h"

static hsm_object_attrs attrs(uint16_t id, uint8_t algo, uint16_t domains, uint64_t caps)
{
    return (hsm_object_attrs){.id = id, .label = "test", .domains = domains,
                              .capabilities = caps, .algorithm = algo};
}

/* A login with exactly these capabilities in these domains. */
static hsm_session *login_with(struct rig *r, hsm_session *admin, uint16_t id, uint64_t caps,
                               uint16_t domains)
{
    rig_add_auth(admin, id, "limited", caps, 0, domains);
    hsm_session *s = NULL;
    if (hsm_session_open(r->conn, id, "limited", &s) != SIGNET_OK)
        fail_msg("login %u: %s", id, signet_errmsg());
    return s;
}

/* ---- HMAC ------------------------------------------------------------------------- */

static void hmac_keys(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    static const struct {
        uint8_t algo;
        const char *md;
        size_t len;
    } kinds[] = {{YH_ALGO_HMAC_SHA1, "SHA1", 20},
                 {YH_ALGO_HMAC_SHA256, "SHA256", 32},
                 {YH_ALGO_HMAC_SHA384, "SHA384", 48},
                 {YH_ALGO_HMAC_SHA512, "SHA512", 64}};
    const uint64_t caps = YH_CAP(YH_CAP_SIGN_HMAC) | YH_CAP(YH_CAP_VERIFY_HMAC);
    const uint8_t msg[] = "release 2026.11 manifest";
    for (size_t i = 0; i < 4; i++) {
        uint8_t key[40];
        RAND_bytes(key, sizeof key);
        hsm_object_attrs a = attrs(0, kinds[i].algo, 1, caps);
        uint16_t id;
        assert_int_equal(hsm_put_hmac_key(s, &a, key, sizeof key, &id), SIGNET_OK);
        uint8_t mac[64], want[64];
        size_t n = 0, wn = 0;
        assert_int_equal(hsm_sign_hmac(s, id, msg, sizeof msg, mac, &n), SIGNET_OK);
        assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, kinds[i].md, NULL, key, sizeof key, msg,
                                  sizeof msg, want, sizeof want, &wn));
        assert_int_equal(n, kinds[i].len);
        assert_int_equal(wn, n);
        assert_memory_equal(mac, want, n);
        bool ok = false;
        assert_int_equal(hsm_verify_hmac(s, id, mac, n, msg, sizeof msg, &ok), SIGNET_OK);
        assert_true(ok);
        mac[3] ^= 1;
        assert_int_equal(hsm_verify_hmac(s, id, mac, n, msg, sizeof msg, &ok), SIGNET_OK);
        assert_false(ok);
        /* a MAC of another length is refused by the device */
        uint8_t raw[2 + 64 + 4];
        put_be16(raw, id);
        memset(raw + 2, 0, sizeof raw - 2);
        if (n != 20) {
            uint8_t b[8];
            sb_wr w;
            sbw_init_fixed(&w, b, sizeof b);
            assert_int_equal(hsm_xfer(s, YH_CMD_VERIFY_HMAC, raw, 2 + n - 1, &w), SIGNET_E_DEVICE);
            assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
        }
    }
    /* Generated keys MAC consistently; longer-than-block keys are refused. */
    hsm_object_attrs a = attrs(0x0050, YH_ALGO_HMAC_SHA256, 1,
                               caps | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP));
    uint16_t id;
    assert_int_equal(hsm_generate_hmac_key(s, &a, &id), SIGNET_OK);
    uint8_t m1[64], m2[64];
    size_t n1, n2;
    assert_int_equal(hsm_sign_hmac(s, id, msg, 5, m1, &n1), SIGNET_OK);
    assert_int_equal(hsm_sign_hmac(s, id, msg, 5, m2, &n2), SIGNET_OK);
    assert_memory_equal(m1, m2, 32);
    uint8_t big[65] = {0};
    a.id = 0;
    assert_int_equal(hsm_put_hmac_key(s, &a, big, sizeof big, &id), SIGNET_E_ARG);
    a.algorithm = YH_ALGO_AES128;
    assert_int_equal(hsm_generate_hmac_key(s, &a, &id), SIGNET_E_ARG);

    /* Under wrap and back: the same MACs. */
    hsm_object_attrs wa = attrs(0x0060, YH_ALGO_AES256_CCM_WRAP, 1,
                                YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED));
    wa.delegated = YH_CAPS_ALL;
    uint16_t wid;
    assert_int_equal(hsm_generate_wrap_key(s, &wa, &wid), SIGNET_OK);
    sb_wr blob;
    sbw_init(&blob, 4096);
    assert_int_equal(hsm_export_wrapped(s, wid, YH_TYPE_HMAC_KEY, 0x0050, &blob), SIGNET_OK);
    assert_int_equal(hsm_delete_object(s, 0x0050, YH_TYPE_HMAC_KEY), SIGNET_OK);
    assert_int_equal(hsm_sign_hmac(s, 0x0050, msg, 5, m2, &n2), SIGNET_E_NOTFOUND);
    uint8_t type;
    assert_int_equal(hsm_import_wrapped(s, wid, blob.p, blob.len, &type, &id), SIGNET_OK);
    assert_int_equal(type, YH_TYPE_HMAC_KEY);
    assert_int_equal(id, 0x0050);
    assert_int_equal(hsm_sign_hmac(s, id, msg, 5, m2, &n2), SIGNET_OK);
    assert_memory_equal(m1, m2, 32);
    sbw_free(&blob);

    /* Refusals: the key lacks sign-hmac; the login lacks it; foreign domain. */
    a = attrs(0x0070, YH_ALGO_HMAC_SHA256, 2, YH_CAP(YH_CAP_VERIFY_HMAC));
    assert_int_equal(hsm_generate_hmac_key(s, &a, &id), SIGNET_OK);
    assert_int_equal(hsm_sign_hmac(s, 0x0070, msg, 5, m1, &n1), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session *v = login_with(&r, s, 0x0020, YH_CAP(YH_CAP_VERIFY_HMAC), 1);
    assert_int_equal(hsm_sign_hmac(v, 0x0050, msg, 5, m1, &n1), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    bool ok;
    assert_int_equal(hsm_verify_hmac(v, 0x0050, m2, 32, msg, 5, &ok), SIGNET_OK);
    assert_true(ok);
    assert_int_equal(hsm_verify_hmac(v, 0x0070, m2, 32, msg, 5, &ok), SIGNET_E_NOTFOUND);
    hsm_session_close(v);

    hsm_session_close(s);
    rig_close(&r);
}

/* ---- RSA decryption ----------------------------------------------------------------- */

static size_t rsa_encrypt(EVP_PKEY *k, int pad, const EVP_MD *md, const EVP_MD *mgf,
                          const char *label, const uint8_t *m, size_t n, uint8_t *out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    size_t len = 512;
    assert_int_equal(EVP_PKEY_encrypt_init(ctx), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, pad), 1);
    if (pad == RSA_PKCS1_OAEP_PADDING) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf), 1);
        if (label) {
            void *l = OPENSSL_memdup(label, strlen(label));
            assert_int_equal(EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)strlen(label)), 1);
        }
    }
    assert_int_equal(EVP_PKEY_encrypt(ctx, out, &len, m, n), 1);
    EVP_PKEY_CTX_free(ctx);
    return len;
}

static void rsa_decrypt(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    hsm_object_attrs a = attrs(0x0100, YH_ALGO_RSA_2048, 1,
                               YH_CAP(YH_CAP_DECRYPT_PKCS) | YH_CAP(YH_CAP_DECRYPT_OAEP));
    uint16_t id;
    assert_int_equal(hsm_put_asymmetric(s, &a, k, &id), SIGNET_OK);
    const uint8_t m[] = "a 32-byte data key for the build";
    uint8_t ct[512];
    sb_wr pt;
    sbw_init_secure(&pt, 1024);

    size_t n = rsa_encrypt(k, RSA_PKCS1_PADDING, NULL, NULL, NULL, m, sizeof m, ct);
    assert_int_equal(n, 256);
    assert_int_equal(hsm_decrypt_pkcs1(s, id, ct, n, &pt), SIGNET_OK);
    assert_int_equal(pt.len, sizeof m);
    assert_memory_equal(pt.p, m, sizeof m);

    static const struct {
        const char *md, *mgf;
        uint8_t mgf_algo;
        const char *label;
    } oaep[] = {{"SHA1", "SHA1", YH_ALGO_MGF1_SHA1, NULL},
                {"SHA256", "SHA256", YH_ALGO_MGF1_SHA256, "lbl"},
                {"SHA256", "SHA1", YH_ALGO_MGF1_SHA1, NULL},
                {"SHA512", "SHA384", YH_ALGO_MGF1_SHA384, "a longer label"}};
    for (size_t i = 0; i < 4; i++) {
        const EVP_MD *md = EVP_get_digestbyname(oaep[i].md), *mgf = EVP_get_digestbyname(oaep[i].mgf);
        n = rsa_encrypt(k, RSA_PKCS1_OAEP_PADDING, md, mgf, oaep[i].label, m, sizeof m, ct);
        const char *l = oaep[i].label;
        sbw_reset(&pt);
        assert_int_equal(hsm_decrypt_oaep(s, id, oaep[i].mgf_algo, md, (const uint8_t *)l,
                                          l ? strlen(l) : 0, ct, n, &pt),
                         SIGNET_OK);
        assert_int_equal(pt.len, sizeof m);
        assert_memory_equal(pt.p, m, sizeof m);
        /* a wrong label, a wrong MGF1 hash: one answer, invalid data */
        assert_int_equal(hsm_decrypt_oaep(s, id, oaep[i].mgf_algo, md, (const uint8_t *)"x", 1,
                                          ct, n, &pt),
                         SIGNET_E_DEVICE);
        assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
        uint8_t other = oaep[i].mgf_algo == YH_ALGO_MGF1_SHA512 ? YH_ALGO_MGF1_SHA1
                                                                 : YH_ALGO_MGF1_SHA512;
        assert_int_equal(hsm_decrypt_oaep(s, id, other, md, (const uint8_t *)l, l ? strlen(l) : 0,
                                          ct, n, &pt),
                         SIGNET_E_DEVICE);
        assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    }
    /* An OAEP ciphertext is no PKCS#1 v1.5 one; a short ciphertext is refused. */
    assert_int_equal(hsm_decrypt_pkcs1(s, id, ct, n, &pt), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    assert_int_equal(hsm_decrypt_pkcs1(s, id, ct, 255, &pt), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);

    /* Refusals: key without decrypt-oaep; EC key; login without decrypt-pkcs. */
    hsm_object_attrs b = attrs(0x0101, YH_ALGO_RSA_2048, 1, YH_CAP(YH_CAP_DECRYPT_PKCS));
    assert_int_equal(hsm_put_asymmetric(s, &b, k, &id), SIGNET_OK);
    n = rsa_encrypt(k, RSA_PKCS1_OAEP_PADDING, EVP_sha1(), EVP_sha1(), NULL, m, sizeof m, ct);
    assert_int_equal(hsm_decrypt_oaep(s, 0x0101, YH_ALGO_MGF1_SHA1, EVP_sha1(), NULL, 0, ct, n, &pt),
                     SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_object_attrs e = attrs(0x0102, YH_ALGO_EC_P256, 1, YH_CAP(YH_CAP_DECRYPT_PKCS));
    assert_int_equal(hsm_generate_asymmetric(s, &e, &id), SIGNET_OK);
    assert_int_equal(hsm_decrypt_pkcs1(s, 0x0102, ct, 256, &pt), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    hsm_session *v = login_with(&r, s, 0x0021, YH_CAP(YH_CAP_DECRYPT_OAEP), 1);
    n = rsa_encrypt(k, RSA_PKCS1_PADDING, NULL, NULL, NULL, m, sizeof m, ct);
    assert_int_equal(hsm_decrypt_pkcs1(v, 0x0100, ct, n, &pt), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session_close(v);

    sbw_free(&pt);
    EVP_PKEY_free(k);
    hsm_session_close(s);
    rig_close(&r);
}

/* ---- ECDH ----------------------------------------------------------------------------- */

static void ecdh(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    static const struct {
        uint8_t algo;
        const char *curve;
        size_t len;
    } curves[] = {{YH_ALGO_EC_P256, "P-256", 32}, {YH_ALGO_EC_P384, "P-384", 48}};
    for (size_t i = 0; i < 2; i++) {
        hsm_object_attrs a = attrs(0, curves[i].algo, 1, YH_CAP(YH_CAP_DERIVE_ECDH));
        uint16_t id;
        assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_OK);
        EVP_PKEY *dev_pub = NULL;
        assert_int_equal(hsm_get_public_key(s, id, &dev_pub, NULL), SIGNET_OK);
        EVP_PKEY *peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curves[i].curve);
        sb_wr secret;
        sbw_init_secure(&secret, 128);
        assert_int_equal(hsm_derive_ecdh(s, id, peer, &secret), SIGNET_OK);
        assert_int_equal(secret.len, curves[i].len);
        uint8_t want[66];
        size_t wn = sizeof want;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
        assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
        assert_int_equal(EVP_PKEY_derive_set_peer(ctx, dev_pub), 1);
        assert_int_equal(EVP_PKEY_derive(ctx, want, &wn), 1);
        EVP_PKEY_CTX_free(ctx);
        assert_int_equal(wn, secret.len);
        assert_memory_equal(secret.p, want, wn);
        sbw_free(&secret);
        EVP_PKEY_free(peer);
        EVP_PKEY_free(dev_pub);
    }
    /* A P-384 point to a P-256 key, a point off the curve: invalid data. */
    hsm_object_attrs a = attrs(0x0200, YH_ALGO_EC_P256, 1, YH_CAP(YH_CAP_DERIVE_ECDH));
    uint16_t id;
    assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_OK);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    sb_wr out;
    sbw_init_secure(&out, 128);
    assert_int_equal(hsm_derive_ecdh(s, id, p384, &out), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    EVP_PKEY_free(p384);
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    uint8_t req[2 + 65];
    size_t pn = 0;
    put_be16(req, id);
    assert_int_equal(EVP_PKEY_get_octet_string_param(p256, OSSL_PKEY_PARAM_PUB_KEY, req + 2, 65,
                                                     &pn), 1);
    req[2 + 64] ^= 0x01;
    assert_int_equal(hsm_xfer(s, YH_CMD_DERIVE_ECDH, req, sizeof req, &out), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    /* Refusals: an Ed25519 key; a key without derive-ecdh; a login without it. */
    hsm_object_attrs ed = attrs(0x0201, YH_ALGO_EC_ED25519, 1, YH_CAP(YH_CAP_DERIVE_ECDH));
    assert_int_equal(hsm_generate_asymmetric(s, &ed, &id), SIGNET_OK);
    assert_int_equal(hsm_derive_ecdh(s, 0x0201, p256, &out), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    hsm_object_attrs nc = attrs(0x0202, YH_ALGO_EC_P256, 1, YH_CAP(YH_CAP_SIGN_ECDSA));
    assert_int_equal(hsm_generate_asymmetric(s, &nc, &id), SIGNET_OK);
    assert_int_equal(hsm_derive_ecdh(s, 0x0202, p256, &out), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session *v = login_with(&r, s, 0x0022, YH_CAP(YH_CAP_SIGN_ECDSA), 1);
    assert_int_equal(hsm_derive_ecdh(v, 0x0200, p256, &out), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session_close(v);
    assert_int_equal(out.len, 0);
    sbw_free(&out);
    EVP_PKEY_free(p256);
    hsm_session_close(s);
    rig_close(&r);
}

/* ---- wrap data ---------------------------------------------------------------------- */

static void wrap_data(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    uint8_t key[32];
    RAND_bytes(key, sizeof key);
    hsm_object_attrs a = attrs(0x0300, YH_ALGO_AES256_CCM_WRAP, 1,
                               YH_CAP(YH_CAP_WRAP_DATA) | YH_CAP(YH_CAP_UNWRAP_DATA));
    uint16_t id;
    assert_int_equal(hsm_put_wrap_key(s, &a, key, sizeof key, &id), SIGNET_OK);
    static const size_t sizes[] = {1, 16, 1000, 1980};
    for (size_t i = 0; i < 4; i++) {
        uint8_t data[2000];
        RAND_bytes(data, (int)sizes[i]);
        sb_wr blob, back, local;
        sbw_init(&blob, 4096);
        sbw_init_secure(&back, 4096);
        sbw_init_secure(&local, 4096);
        assert_int_equal(hsm_wrap_data(s, id, data, sizes[i], &blob), SIGNET_OK);
        assert_int_equal(blob.len, 13 + sizes[i] + 16);
        /* the blob layout is that of Export Wrapped: the key opens it locally */
        assert_int_equal(yh_ccm_open(key, sizeof key, blob.p, blob.len, &local), SIGNET_OK);
        assert_int_equal(local.len, sizes[i]);
        assert_memory_equal(local.p, data, sizes[i]);
        assert_int_equal(hsm_unwrap_data(s, id, blob.p, blob.len, &back), SIGNET_OK);
        assert_int_equal(back.len, sizes[i]);
        assert_memory_equal(back.p, data, sizes[i]);
        /* one flipped bit: invalid data, nothing returned */
        blob.p[blob.len / 2] ^= 0x10;
        sbw_reset(&back);
        assert_int_equal(hsm_unwrap_data(s, id, blob.p, blob.len, &back), SIGNET_E_DEVICE);
        assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
        assert_int_equal(back.len, 0);
        sbw_free(&blob);
        sbw_free(&back);
        sbw_free(&local);
    }
    /* Keys for one direction only: the other answers invalid data (as the device). */
    hsm_object_attrs wo = attrs(0x0301, YH_ALGO_AES128_CCM_WRAP, 1, YH_CAP(YH_CAP_WRAP_DATA));
    hsm_object_attrs uo = attrs(0x0302, YH_ALGO_AES128_CCM_WRAP, 1, YH_CAP(YH_CAP_UNWRAP_DATA));
    assert_int_equal(hsm_put_wrap_key(s, &wo, key, 16, &id), SIGNET_OK);
    assert_int_equal(hsm_put_wrap_key(s, &uo, key, 16, &id), SIGNET_OK);
    sb_wr blob, back;
    sbw_init(&blob, 4096);
    sbw_init_secure(&back, 4096);
    assert_int_equal(hsm_wrap_data(s, 0x0301, (const uint8_t *)"abc", 3, &blob), SIGNET_OK);
    assert_int_equal(hsm_unwrap_data(s, 0x0302, blob.p, blob.len, &back), SIGNET_OK);
    assert_memory_equal(back.p, "abc", 3);
    assert_int_equal(hsm_unwrap_data(s, 0x0301, blob.p, blob.len, &back), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    assert_int_equal(hsm_wrap_data(s, 0x0302, (const uint8_t *)"abc", 3, &blob), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    /* another key opens nothing; a login without unwrap-data is refused */
    assert_int_equal(hsm_unwrap_data(s, 0x0300, blob.p, blob.len, &back), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    hsm_session *v = login_with(&r, s, 0x0023, YH_CAP(YH_CAP_WRAP_DATA), 0xffff);
    assert_int_equal(hsm_unwrap_data(v, 0x0302, blob.p, blob.len, &back), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session_close(v);
    v = login_with(&r, s, 0x0024, YH_CAP(YH_CAP_UNWRAP_DATA), 0x0002);
    assert_int_equal(hsm_unwrap_data(v, 0x0302, blob.p, blob.len, &back), SIGNET_E_NOTFOUND);
    hsm_session_close(v);
    sbw_free(&blob);
    sbw_free(&back);
    hsm_session_close(s);
    rig_close(&r);
}

/* ---- symmetric keys ------------------------------------------------------------------- */

static void local_aes(const char *name, const uint8_t *key, const uint8_t *iv, const uint8_t *in,
                      size_t n, uint8_t *out)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int l1, l2;
    assert_int_equal(EVP_EncryptInit_ex2(ctx, c, key, iv, NULL), 1);
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    assert_int_equal(EVP_EncryptUpdate(ctx, out, &l1, in, (int)n), 1);
    assert_int_equal(EVP_EncryptFinal_ex(ctx, out + l1, &l2), 1);
    assert_int_equal((size_t)(l1 + l2), n);
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
}

static void symmetric_keys(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    static const struct {
        uint8_t algo;
        size_t len;
        const char *ecb, *cbc;
    } kinds[] = {{YH_ALGO_AES128, 16, "AES-128-ECB", "AES-128-CBC"},
                 {YH_ALGO_AES192, 24, "AES-192-ECB", "AES-192-CBC"},
                 {YH_ALGO_AES256, 32, "AES-256-ECB", "AES-256-CBC"}};
    const uint64_t caps = YH_CAP(YH_CAP_ENCRYPT_ECB) | YH_CAP(YH_CAP_DECRYPT_ECB) |
                          YH_CAP(YH_CAP_ENCRYPT_CBC) | YH_CAP(YH_CAP_DECRYPT_CBC) |
                          YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP);
    /* 5000 bytes: more than one command carries, so the client chains chunks */
    static uint8_t data[5008], want[5008];
    RAND_bytes(data, sizeof data);
    uint8_t iv[16];
    RAND_bytes(iv, sizeof iv);
    for (size_t i = 0; i < 3; i++) {
        uint8_t key[32];
        RAND_bytes(key, sizeof key);
        hsm_object_attrs a = attrs(0, kinds[i].algo, 1, caps);
        uint16_t id;
        assert_int_equal(hsm_put_symmetric_key(s, &a, key, kinds[i].len, &id), SIGNET_OK);
        yh_object_info oi;
        assert_int_equal(hsm_get_object_info(s, id, YH_TYPE_SYMMETRIC_KEY, &oi), SIGNET_OK);
        assert_int_equal(oi.algorithm, kinds[i].algo);
        sb_wr ct, pt;
        sbw_init(&ct, 8192);
        sbw_init_secure(&pt, 8192);
        for (int mode = 0; mode < 2; mode++) {
            size_t n = mode ? sizeof data : 64;
            sbw_reset(&ct);
            sbw_reset(&pt);
            if (mode) {
                assert_int_equal(hsm_encrypt_cbc(s, id, iv, data, n, &ct), SIGNET_OK);
                local_aes(kinds[i].cbc, key, iv, data, n, want);
            } else {
                assert_int_equal(hsm_encrypt_ecb(s, id, data, n, &ct), SIGNET_OK);
                local_aes(kinds[i].ecb, key, NULL, data, n, want);
            }
            assert_int_equal(ct.len, n);
            assert_memory_equal(ct.p, want, n);
            if (mode)
                assert_int_equal(hsm_decrypt_cbc(s, id, iv, ct.p, ct.len, &pt), SIGNET_OK);
            else
                assert_int_equal(hsm_decrypt_ecb(s, id, ct.p, ct.len, &pt), SIGNET_OK);
            assert_int_equal(pt.len, n);
            assert_memory_equal(pt.p, data, n);
        }
        sbw_free(&ct);
        sbw_free(&pt);
    }
    /* A generated key survives export and import under wrap. */
    hsm_object_attrs g = attrs(0x0400, YH_ALGO_AES256, 1, caps);
    uint16_t id;
    assert_int_equal(hsm_generate_symmetric_key(s, &g, &id), SIGNET_OK);
    sb_wr c1, c2, blob;
    sbw_init(&c1, 256);
    sbw_init(&c2, 256);
    sbw_init(&blob, 4096);
    assert_int_equal(hsm_encrypt_ecb(s, id, data, 32, &c1), SIGNET_OK);
    hsm_object_attrs wa = attrs(0x0401, YH_ALGO_AES128_CCM_WRAP, 1,
                                YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED));
    wa.delegated = caps;
    uint16_t wid;
    assert_int_equal(hsm_generate_wrap_key(s, &wa, &wid), SIGNET_OK);
    assert_int_equal(hsm_export_wrapped(s, wid, YH_TYPE_SYMMETRIC_KEY, id, &blob), SIGNET_OK);
    assert_int_equal(hsm_delete_object(s, id, YH_TYPE_SYMMETRIC_KEY), SIGNET_OK);
    uint8_t type;
    assert_int_equal(hsm_import_wrapped(s, wid, blob.p, blob.len, &type, &id), SIGNET_OK);
    assert_int_equal(type, YH_TYPE_SYMMETRIC_KEY);
    assert_int_equal(hsm_encrypt_ecb(s, id, data, 32, &c2), SIGNET_OK);
    assert_memory_equal(c1.p, c2.p, 32);

    /* Refusals: partial blocks (client, and the device itself), wrong key size,
     * a key without the capability, a login without it, another type's id. */
    assert_int_equal(hsm_encrypt_ecb(s, id, data, 20, &c2), SIGNET_E_ARG);
    uint8_t raw[2 + 20];
    put_be16(raw, id);
    memcpy(raw + 2, data, 20);
    assert_int_equal(hsm_xfer(s, YH_CMD_ENCRYPT_ECB, raw, sizeof raw, &c2), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    hsm_object_attrs bad = attrs(0, YH_ALGO_AES192, 1, caps);
    assert_int_equal(hsm_put_symmetric_key(s, &bad, data, 16, &id), SIGNET_E_ARG);
    hsm_object_attrs eo = attrs(0x0402, YH_ALGO_AES128, 1, YH_CAP(YH_CAP_ENCRYPT_ECB));
    assert_int_equal(hsm_put_symmetric_key(s, &eo, data, 16, &id), SIGNET_OK);
    assert_int_equal(hsm_decrypt_ecb(s, 0x0402, c1.p, 16, &c2), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    assert_int_equal(hsm_encrypt_cbc(s, 0x0402, iv, data, 16, &c2), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session *v = login_with(&r, s, 0x0025, YH_CAP(YH_CAP_DECRYPT_ECB), 1);
    assert_int_equal(hsm_encrypt_ecb(v, 0x0402, data, 16, &c2), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS);
    hsm_session_close(v);
    assert_int_equal(hsm_encrypt_ecb(s, wid, data, 16, &c2), SIGNET_E_NOTFOUND);
    v = login_with(&r, s, 0x0026, YH_CAP(YH_CAP_PUT_SYMMETRIC_KEY), 1);
    assert_int_equal(hsm_put_symmetric_key(v, &eo, data, 16, &id), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INSUFFICIENT_PERMISSIONS); /* not delegated */
    hsm_session_close(v);

    sbw_free(&c1);
    sbw_free(&c2);
    sbw_free(&blob);
    hsm_session_close(s);
    rig_close(&r);
}

/* ---- Ed25519 wrap format ------------------------------------------------------------------ */

static void ed25519_wrap_format(void **state)
{
    struct rig r;
    rig_open(&r);
    hsm_session *s = rig_login(&r);
    uint8_t wkey[32];
    RAND_bytes(wkey, sizeof wkey);
    hsm_object_attrs wa = attrs(0x0500, YH_ALGO_AES256_CCM_WRAP, 1,
                                YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED));
    wa.delegated = YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP);
    uint16_t wid, id;
    assert_int_equal(hsm_put_wrap_key(s, &wa, wkey, sizeof wkey, &wid), SIGNET_OK);
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    uint8_t seed[32], pub[32];
    size_t n = 32;
    assert_int_equal(EVP_PKEY_get_raw_private_key(ed, seed, &n), 1);
    n = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(ed, pub, &n), 1);
    hsm_object_attrs a = attrs(0x0501, YH_ALGO_EC_ED25519, 1,
                               YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP));
    a.label = "audit log key";
    assert_int_equal(hsm_put_asymmetric(s, &a, ed, &id), SIGNET_OK);

    sb_wr legacy, seeded, pt;
    sbw_init(&legacy, 4096);
    sbw_init(&seeded, 4096);
    sbw_init_secure(&pt, 4096);
    assert_int_equal(hsm_export_wrapped_ex(s, wid, YH_TYPE_ASYMMETRIC_KEY, id,
                                           HSM_WRAP_FORMAT_LEGACY, &legacy),
                     SIGNET_OK);
    assert_int_equal(hsm_export_wrapped_ex(s, wid, YH_TYPE_ASYMMETRIC_KEY, id,
                                           HSM_WRAP_FORMAT_ED25519_SEED, &seeded),
                     SIGNET_OK);
    assert_int_equal(seeded.len, legacy.len + 32);
    /* The layout: header(59) | scalar | prefix | public (legacy) [| seed]. */
    assert_int_equal(yh_ccm_open(wkey, sizeof wkey, seeded.p, seeded.len, &pt), SIGNET_OK);
    assert_int_equal(pt.len, 59 + 96 + 32);
    assert_int_equal(be16(pt.p + 11), 96 + 32); /* the header's length field */
    assert_memory_equal(pt.p + 59 + 64, pub, 32);
    assert_memory_equal(pt.p + 59 + 96, seed, 32);
    sbw_reset(&pt);
    assert_int_equal(yh_ccm_open(wkey, sizeof wkey, legacy.p, legacy.len, &pt), SIGNET_OK);
    assert_int_equal(pt.len, 59 + 96);
    assert_int_equal(be16(pt.p + 11), 96);

    const uint8_t msg[] = "checkpoint";
    uint8_t sig[64];
    size_t sl = sizeof sig;
    /* Imported from the legacy blob (no seed), the key still signs: the
     * same signature as from the seed (Ed25519 is deterministic). */
    uint8_t type;
    assert_int_equal(hsm_delete_object(s, id, YH_TYPE_ASYMMETRIC_KEY), SIGNET_OK);
    assert_int_equal(hsm_import_wrapped(s, wid, legacy.p, legacy.len, &type, &id), SIGNET_OK);
    EVP_PKEY *got = NULL;
    assert_int_equal(hsm_get_public_key(s, id, &got, NULL), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(got, ed), 1);
    EVP_PKEY_free(got);
    assert_int_equal(hsm_sign_eddsa(s, id, msg, sizeof msg, sig, &sl), SIGNET_OK);
    assert_int_equal(sl, 64);
    {
        uint8_t ref[64];
        size_t rl = sizeof ref;
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestSignInit_ex(m, NULL, NULL, NULL, NULL, ed, NULL), 1);
        assert_int_equal(EVP_DigestSign(m, ref, &rl, msg, sizeof msg), 1);
        assert_memory_equal(sig, ref, 64);
        EVP_MD_CTX_free(m);
    }
    /* ... and a seedless key cannot be exported with format 1 */
    sb_wr again;
    sbw_init(&again, 4096);
    assert_int_equal(hsm_export_wrapped_ex(s, wid, YH_TYPE_ASYMMETRIC_KEY, id,
                                           HSM_WRAP_FORMAT_ED25519_SEED, &again),
                     SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    /* Imported from the format-1 blob, it signs, and the signature verifies. */
    assert_int_equal(hsm_delete_object(s, id, YH_TYPE_ASYMMETRIC_KEY), SIGNET_OK);
    assert_int_equal(hsm_import_wrapped(s, wid, seeded.p, seeded.len, &type, &id), SIGNET_OK);
    sl = sizeof sig;
    assert_int_equal(hsm_sign_eddsa(s, id, msg, sizeof msg, sig, &sl), SIGNET_OK);
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, ed, NULL), 1);
    assert_int_equal(EVP_DigestVerify(m, sig, sl, msg, sizeof msg), 1);
    EVP_MD_CTX_free(m);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, id, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_string_equal(oi.label, "audit log key");
    assert_int_equal(oi.origin, YH_ORIGIN_IMPORTED | YH_ORIGIN_IMPORTED_WRAPPED);
    /* Format 1 leaves other objects as they are; unknown formats are refused. */
    hsm_object_attrs ec = attrs(0x0502, YH_ALGO_EC_P256, 1, YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP));
    assert_int_equal(hsm_generate_asymmetric(s, &ec, &id), SIGNET_OK);
    sb_wr e0, e1;
    sbw_init(&e0, 4096);
    sbw_init(&e1, 4096);
    assert_int_equal(hsm_export_wrapped_ex(s, wid, YH_TYPE_ASYMMETRIC_KEY, id, 0, &e0), SIGNET_OK);
    assert_int_equal(hsm_export_wrapped_ex(s, wid, YH_TYPE_ASYMMETRIC_KEY, id, 1, &e1), SIGNET_OK);
    assert_int_equal(e0.len, e1.len);
    assert_int_equal(hsm_export_wrapped_ex(s, wid, YH_TYPE_ASYMMETRIC_KEY, id, 2, &e1),
                     SIGNET_E_ARG);
    uint8_t raw[6];
    put_be16(raw, wid);
    raw[2] = YH_TYPE_ASYMMETRIC_KEY;
    put_be16(raw + 3, id);
    raw[5] = 2;
    assert_int_equal(hsm_xfer(s, YH_CMD_EXPORT_WRAPPED, raw, sizeof raw, &e1), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);

    sbw_free(&e0);
    sbw_free(&e1);
    sbw_free(&again);
    sbw_free(&legacy);
    sbw_free(&seeded);
    sbw_free(&pt);
    EVP_PKEY_free(ed);
    hsm_session_close(s);
    rig_close(&r);
}

/* ---- device queries -------------------------------------------------------------------- */

static void device_queries(void **state)
{
    struct rig r;
    rig_open(&r);
    char part[64];
    assert_int_equal(hsm_device_part_number(r.conn, part, sizeof part), SIGNET_OK);
    assert_true(strlen(part) >= 12);
    assert_int_equal(hsm_device_part_number(r.conn, part, 8), SIGNET_E_PARSE);
    hsm_devinfo di;
    assert_int_equal(hsm_device_info(r.conn, &di), SIGNET_OK);
    static const uint8_t want[] = {YH_ALGO_HMAC_SHA256, YH_ALGO_EC_ECDH, YH_ALGO_RSA_OAEP_SHA256,
                                   YH_ALGO_EC_P256_YUBICO_AUTHENTICATION, YH_ALGO_AES256,
                                   YH_ALGO_AES_CBC};
    for (size_t i = 0; i < sizeof want; i++)
        assert_non_null(memchr(di.algorithms, want[i], di.n_algorithms));

    hsm_session *s = rig_login(&r);
    sb_wr v;
    sbw_init(&v, 64);
    /* A non-FIPS device: the FIPS-mode option does not exist (invalid data). */
    assert_int_equal(hsm_get_option(s, YH_OPTION_FIPS_MODE, &v), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    const uint8_t on = 1;
    assert_int_equal(hsm_set_option(s, YH_OPTION_FIPS_MODE, &on, 1), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_DATA);
    assert_int_equal(hsm_blink(s, 3), SIGNET_OK);
    /* Out of scope, answered cleanly: OTP AEAD keys, SSH, RSA-wrapped export. */
    const uint8_t junk[4] = {0, 1, 2, 3};
    static const uint8_t cmds[] = {YH_CMD_PUT_OTP_AEAD_KEY, YH_CMD_DECRYPT_OTP,
                                   YH_CMD_PUT_TEMPLATE, YH_CMD_SIGN_SSH_CERTIFICATE, 0x74};
    for (size_t i = 0; i < sizeof cmds; i++) {
        sbw_reset(&v);
        assert_int_equal(hsm_xfer(s, cmds[i], junk, sizeof junk, &v), SIGNET_E_DEVICE);
        assert_int_equal(signet_err_device(), YH_ERR_INVALID_COMMAND);
    }
    /* and the session is still fine */
    uint8_t rnd[4];
    assert_int_equal(hsm_get_pseudo_random(s, sizeof rnd, rnd), SIGNET_OK);
    sbw_free(&v);
    hsm_session_close(s);
    rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hmac_keys),
        cmocka_unit_test(rsa_decrypt),
        cmocka_unit_test(ecdh),
        cmocka_unit_test(wrap_data),
        cmocka_unit_test(symmetric_keys),
        cmocka_unit_test(ed25519_wrap_format),
        cmocka_unit_test(device_queries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

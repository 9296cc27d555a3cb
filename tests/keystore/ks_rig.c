/* The in-process rig of the key store tests (ks_rig.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "ks_rig.h"
#include "signet/proto.h"

static signet_rc transport(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                           size_t *resp_len)
{
    return hsm_device_transact(ctx, req, len, resp, resp_len);
}

void ks_rig_open(struct ks_rig *r, const char *keymap)
{
    memset(r, 0, sizeof *r);
    hsm_device_opts o = {0};
    if (hsm_device_open(&o, &r->dev) != SIGNET_OK)
        fail_msg("hsm_device_open: %s", signet_errmsg());
    if (hsm_conn_open_transport(transport, r->dev, &r->conn) != SIGNET_OK)
        fail_msg("transport: %s", signet_errmsg());
    hsm_devinfo di;
    if (hsm_device_info(r->conn, &di) != SIGNET_OK)
        fail_msg("device info: %s", signet_errmsg());
    if (hsm_session_open(r->conn, 1, "password", &r->s) != SIGNET_OK)
        fail_msg("login: %s", signet_errmsg());
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0xa0 + i);
    hsm_object_attrs wa = {
        .id = RIG_WRAP_ID,
        .label = "wrap",
        .domains = 0xffff,
        .capabilities = YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED),
        .delegated = YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS) |
                     YH_CAP(YH_CAP_SIGN_ECDSA) | YH_CAP(YH_CAP_SIGN_EDDSA) |
                     YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP),
        .algorithm = YH_ALGO_AES256_CCM_WRAP};
    uint16_t got = 0;
    if (hsm_put_wrap_key(r->s, &wa, key, sizeof key, &got) != SIGNET_OK)
        fail_msg("put wrap key: %s", signet_errmsg());
    snprintf(r->dir, sizeof r->dir, "/tmp/signet-kstest-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    if (keymap) {
        char p[128];
        snprintf(p, sizeof p, "%s/keymap.txt", r->dir);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fputs(keymap, f);
        fclose(f);
    }
    if (signet_keystore_open(r->dir, &r->ks) != SIGNET_OK)
        fail_msg("keystore open: %s", signet_errmsg());
}

void ks_rig_reopen_store(struct ks_rig *r)
{
    signet_keystore_close(r->ks);
    r->ks = NULL;
    if (signet_keystore_open(r->dir, &r->ks) != SIGNET_OK)
        fail_msg("keystore open: %s", signet_errmsg());
}

void ks_rig_close(struct ks_rig *r)
{
    signet_keystore_close(r->ks);
    hsm_session_close(r->s);
    hsm_conn_close(r->conn);
    hsm_device_free(r->dev);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", r->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", r->dir);
    memset(r, 0, sizeof *r);
}

void ks_rig_generate_all(struct ks_rig *r)
{
    signet_keygen_opts o = {.wrap_id = RIG_WRAP_ID};
    for (size_t i = 0; i < signet_keystore_count(r->ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(r->ks, i);
        if (signet_keystore_generate(r->ks, r->s, e, &o) != SIGNET_OK)
            fail_msg("generate %s: %s", e->name, signet_errmsg());
    }
}

bool ks_rig_resident(struct ks_rig *r, const char *name)
{
    const signet_keymap_entry *e = signet_keystore_find(r->ks, name);
    assert_non_null(e);
    yh_object_info oi;
    signet_rc rc = hsm_get_object_info(r->s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc != SIGNET_OK && rc != SIGNET_E_NOTFOUND)
        fail_msg("object info: %s", signet_errmsg());
    return rc == SIGNET_OK;
}

void ks_rig_sign_and_verify(struct ks_rig *r, const char *name)
{
    const signet_keymap_entry *e = signet_keystore_find(r->ks, name);
    assert_non_null(e);
    EVP_PKEY *pub = NULL;
    assert_int_equal(signet_keystore_public_key(r->ks, name, &pub), SIGNET_OK);
    static const uint8_t msg[] = "signet key store test message";
    uint8_t digest[32], sig[1024];
    unsigned dl = sizeof digest;
    size_t sl = sizeof sig;
    EVP_Digest(msg, sizeof msg, digest, &dl, EVP_sha256(), NULL);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    if (e->algorithm != YH_ALGO_EC_ED25519) /* Ed25519 verifies whole messages only */
        assert_int_equal(EVP_PKEY_verify_init(c), 1);
    if (yh_algo_is_rsa(e->algorithm)) {
        assert_int_equal(hsm_sign_pkcs1(r->s, e->id, digest, dl, sig, &sl), SIGNET_OK);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
        assert_int_equal(EVP_PKEY_verify(c, sig, sl, digest, dl), 1);
    } else if (yh_algo_is_ec(e->algorithm)) {
        assert_int_equal(hsm_sign_ecdsa(r->s, e->id, digest, dl, sig, &sl), SIGNET_OK);
        assert_int_equal(EVP_PKEY_verify(c, sig, sl, digest, dl), 1);
    } else {
        if (hsm_sign_eddsa(r->s, e->id, msg, sizeof msg, sig, &sl) != SIGNET_OK)
            fail_msg("sign-eddsa with %s: %s", name, signet_errmsg());
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        assert_int_equal(EVP_DigestVerifyInit(m, NULL, NULL, NULL, pub), 1);
        assert_int_equal(EVP_DigestVerify(m, sig, sl, msg, sizeof msg), 1);
        EVP_MD_CTX_free(m);
    }
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pub);
}

void ks_rig_path(struct ks_rig *r, const char *name, const char *suffix, char *out, size_t n)
{
    assert_int_equal(signet_keystore_path(r->ks, name, suffix, out, n), SIGNET_OK);
}

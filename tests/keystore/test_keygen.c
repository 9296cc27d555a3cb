/* Key generation against the emulator core, in process: generate, certify,
 * export, prove, publish; and what must be refused or cleaned up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ks_rig.h"
#include "signet/proto.h"

struct lines {
    char text[8192];
};

static void collect(void *ctx, const char *line)
{
    struct lines *l = ctx;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s\n", line);
}

static X509 *read_pem_cert(struct ks_rig *r, const char *name, const char *suffix)
{
    char p[256];
    ks_rig_path(r, name, suffix, p, sizeof p);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(x);
    return x;
}

static X509 *read_cert(struct ks_rig *r, const char *name)
{
    return read_pem_cert(r, name, ".x509.pem");
}

static void rsa_key_end_to_end(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, "platform 0x0101 rsa2048 1 apk\n");
    const signet_keymap_entry *e = signet_keystore_find(r.ks, "platform");
    struct lines l = {{0}};
    signet_keygen_opts o = {.wrap_id = RIG_WRAP_ID, .progress = collect, .progress_ctx = &l};
    assert_int_equal(signet_keystore_generate(r.ks, r.s, e, &o), SIGNET_OK);

    /* Progress names every step. */
    assert_non_null(strstr(l.text, "platform: generated on the HSM (id 0x0101, rsa2048)"));
    assert_non_null(strstr(l.text, "platform: certificate signed on the HSM and verified"));
    assert_non_null(strstr(l.text, "platform: attested by the HSM"));
    assert_non_null(strstr(l.text, "platform: wrapped copy proven"));
    assert_non_null(strstr(l.text, "platform: published in"));

    assert_true(signet_keystore_has_key(r.ks, "platform"));
    assert_true(signet_keystore_has_file(r.ks, "platform", ".pub.pem"));
    assert_true(signet_keystore_has_file(r.ks, "platform", ".avbpubkey"));
    assert_true(signet_keystore_has_file(r.ks, "platform", ".attest.pem"));

    /* The stored public key is the key on the HSM; the certificate is signed by it. */
    EVP_PKEY *pub = NULL, *dev = NULL;
    uint8_t algo = 0;
    assert_int_equal(signet_keystore_public_key(r.ks, "platform", &pub), SIGNET_OK);
    assert_int_equal(hsm_get_public_key(r.s, 0x0101, &dev, &algo), SIGNET_OK);
    assert_int_equal(algo, YH_ALGO_RSA_2048);
    assert_int_equal(EVP_PKEY_eq(pub, dev), 1);
    X509 *x = read_cert(&r, "platform");
    assert_int_equal(X509_verify(x, pub), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), pub), 1);
    char cn[64];
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    assert_string_equal(cn, "platform");
    X509_free(x);

    /* The attestation certificate certifies this key and is signed by the
     * device's attestation CA. */
    X509 *att = read_pem_cert(&r, "platform", ".attest.pem");
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(att), pub), 1);
    sb_wr ca_der;
    sbw_init(&ca_der, 8192);
    assert_int_equal(hsm_device_ca_der(r.dev, &ca_der), SIGNET_OK);
    const unsigned char *cp = ca_der.p;
    X509 *ca = d2i_X509(NULL, &cp, (long)ca_der.len);
    assert_non_null(ca);
    assert_int_equal(X509_verify(att, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(att), X509_get_subject_name(ca)), 0);
    X509_free(ca);
    X509_free(att);
    sbw_free(&ca_der);

    /* The AVB key file is the encoding of that public key. */
    sb_wr avb, file;
    assert_int_equal(signet_avb_pubkey(pub, &avb), SIGNET_OK);
    char p[256];
    ks_rig_path(&r, "platform", ".avbpubkey", p, sizeof p);
    FILE *f = fopen(p, "rb");
    uint8_t buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, avb.len);
    assert_memory_equal(buf, avb.p, n);
    sbw_free(&avb);

    /* What is resident now is the re-imported wrapped copy, with the key map's
     * attributes and the generation capabilities. */
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(r.s, 0x0101, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_string_equal(oi.label, "platform");
    assert_int_equal(oi.domains, 1);
    assert_int_equal(oi.capabilities, signet_keygen_capabilities(YH_ALGO_RSA_2048));
    assert_true(oi.origin & YH_ORIGIN_IMPORTED_WRAPPED);
    assert_true(oi.origin & YH_ORIGIN_GENERATED);
    ks_rig_sign_and_verify(&r, "platform");

    /* The stored blob imports under the wrap key: it is a real backup. */
    assert_int_equal(hsm_delete_object(r.s, 0x0101, YH_TYPE_ASYMMETRIC_KEY), SIGNET_OK);
    assert_int_equal(signet_keystore_wrapped(r.ks, "platform", &file), SIGNET_OK);
    uint8_t type;
    uint16_t id;
    assert_int_equal(hsm_import_wrapped(r.s, RIG_WRAP_ID, file.p, file.len, &type, &id),
                     SIGNET_OK);
    assert_int_equal(id, 0x0101);
    sbw_free(&file);
    ks_rig_sign_and_verify(&r, "platform");

    /* A second generation is refused. */
    assert_int_equal(signet_keystore_generate(r.ks, r.s, e, &o), SIGNET_E_STATE);
    assert_non_null(strstr(signet_errmsg(), "already in the store"));
    EVP_PKEY_free(pub);
    EVP_PKEY_free(dev);
    ks_rig_close(&r);
}

static void ec_and_ed25519_keys(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, "ec 0x0200 ecp256 1 apk\ned 0x0201 ed25519 2 ota\n");
    ks_rig_generate_all(&r);
    const char *names[] = {"ec", "ed"};
    for (int i = 0; i < 2; i++) {
        EVP_PKEY *pub = NULL;
        assert_int_equal(signet_keystore_public_key(r.ks, names[i], &pub), SIGNET_OK);
        X509 *x = read_cert(&r, names[i]);
        assert_int_equal(X509_verify(x, pub), 1);
        assert_int_equal(X509_get_signature_nid(x),
                         i == 0 ? NID_ecdsa_with_SHA256 : NID_ED25519);
        X509_free(x);
        EVP_PKEY_free(pub);
        assert_false(signet_keystore_has_file(r.ks, names[i], ".avbpubkey"));
    }
    /* The resident copies are the re-imported wrapped ones.  signet-hsm cannot sign
     * with an Ed25519 key imported without its seed (src/device/keys.c), so only
     * the EC key signs here; the Ed25519 key signed its certificate before export. */
    ks_rig_sign_and_verify(&r, "ec");
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(r.s, 0x0201, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_int_equal(oi.domains, 2);
    assert_int_equal(oi.capabilities,
                     YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP));
    ks_rig_close(&r);
}

static void refuses_taken_id(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, "media 0x0300 rsa2048 1 apk\n");
    hsm_object_attrs a = {.id = 0x0300, .label = "someone else", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_SIGN_ECDSA), .algorithm = YH_ALGO_EC_P256};
    uint16_t got;
    assert_int_equal(hsm_generate_asymmetric(r.s, &a, &got), SIGNET_OK);
    signet_keygen_opts o = {.wrap_id = RIG_WRAP_ID};
    assert_int_equal(signet_keystore_generate(r.ks, r.s, signet_keystore_find(r.ks, "media"), &o),
                     SIGNET_E_STATE);
    assert_non_null(strstr(signet_errmsg(), "already holds asymmetric key 0x0300"));
    assert_non_null(strstr(signet_errmsg(), "someone else"));
    /* The other key is untouched and nothing was published. */
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(r.s, 0x0300, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_string_equal(oi.label, "someone else");
    assert_false(signet_keystore_has_file(r.ks, "media", ".pub.pem"));
    signet_keyloc loc;
    assert_int_equal(signet_keystore_locate(r.ks, r.s, signet_keystore_find(r.ks, "media"), &loc),
                     SIGNET_OK);
    assert_int_equal(loc, SIGNET_KEYLOC_CONFLICT);
    ks_rig_close(&r);
}

static void failure_leaves_nothing(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, "nfc 0x0400 rsa2048 1 apk\n");
    const signet_keymap_entry *e = signet_keystore_find(r.ks, "nfc");
    /* No such wrap key: the export fails after generation and certification. */
    signet_keygen_opts o = {.wrap_id = 0x0abc};
    signet_rc rc = signet_keystore_generate(r.ks, r.s, e, &o);
    assert_int_not_equal(rc, SIGNET_OK);
    assert_non_null(strstr(signet_errmsg(), "exporting 'nfc' under wrap key 0x0abc"));
    assert_non_null(strstr(signet_errmsg(), "the new key was deleted from the HSM"));
    assert_false(ks_rig_resident(&r, "nfc"));
    assert_false(signet_keystore_has_file(r.ks, "nfc", ".wrapped"));
    assert_false(signet_keystore_has_file(r.ks, "nfc", ".pub.pem"));
    assert_false(signet_keystore_has_file(r.ks, "nfc", ".x509.pem"));
    /* A wrap key that may not carry the key's capabilities: refused by the device. */
    uint8_t k2[16] = {1};
    hsm_object_attrs wa = {.id = 0x00fe, .label = "narrow", .domains = 1,
                           .capabilities = YH_CAP(YH_CAP_EXPORT_WRAPPED) |
                                           YH_CAP(YH_CAP_IMPORT_WRAPPED),
                           .delegated = YH_CAP(YH_CAP_SIGN_ECDSA),
                           .algorithm = YH_ALGO_AES128_CCM_WRAP};
    uint16_t got;
    assert_int_equal(hsm_put_wrap_key(r.s, &wa, k2, sizeof k2, &got), SIGNET_OK);
    o.wrap_id = 0x00fe;
    assert_int_not_equal(signet_keystore_generate(r.ks, r.s, e, &o), SIGNET_OK);
    assert_false(ks_rig_resident(&r, "nfc"));
    /* And then it works with the right wrap key. */
    o.wrap_id = RIG_WRAP_ID;
    assert_int_equal(signet_keystore_generate(r.ks, r.s, e, &o), SIGNET_OK);
    ks_rig_close(&r);
}

static void bad_subject_is_refused_before_use(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, "shared 0x0500 ecp256 1 apk\n");
    signet_keygen_opts o = {.wrap_id = RIG_WRAP_ID, .cert = {.subject = "/C=United States"}};
    assert_int_equal(signet_keystore_generate(r.ks, r.s, signet_keystore_find(r.ks, "shared"), &o),
                     SIGNET_E_ARG);
    assert_false(ks_rig_resident(&r, "shared"));
    o.cert.subject = "/O=Example Corp/OU=Release";
    o.cert.days = 365;
    assert_int_equal(signet_keystore_generate(r.ks, r.s, signet_keystore_find(r.ks, "shared"), &o),
                     SIGNET_OK);
    X509 *x = read_cert(&r, "shared");
    char *s = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
    assert_string_equal(s, "/O=Example Corp/OU=Release/CN=shared");
    OPENSSL_free(s);
    X509_free(x);
    ks_rig_close(&r);
}

/* A login without sign-attestation-certificate (a signing operator's role): the
 * key is generated all the same, without attestation, and the line says why. */
static void attestation_unavailable_is_not_fatal(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, "bluetooth 0x0105 ecp256 1 apk\n");
    uint64_t sign_caps = YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS) |
                         YH_CAP(YH_CAP_SIGN_ECDSA) | YH_CAP(YH_CAP_SIGN_EDDSA) |
                         YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP);
    hsm_object_attrs op = {.id = 2, .label = "operator", .domains = 0xffff,
                           .capabilities = sign_caps | YH_CAP(YH_CAP_GENERATE_ASYMMETRIC_KEY) |
                                           YH_CAP(YH_CAP_EXPORT_WRAPPED) |
                                           YH_CAP(YH_CAP_IMPORT_WRAPPED) |
                                           YH_CAP(YH_CAP_DELETE_ASYMMETRIC_KEY),
                           .delegated = sign_caps};
    uint16_t got;
    assert_int_equal(hsm_put_auth_key(r.s, &op, "operator password", &got), SIGNET_OK);
    hsm_session *s2 = NULL;
    assert_int_equal(hsm_session_open(r.conn, 2, "operator password", &s2), SIGNET_OK);
    struct lines l = {{0}};
    signet_keygen_opts o = {.wrap_id = RIG_WRAP_ID, .progress = collect, .progress_ctx = &l};
    assert_int_equal(
        signet_keystore_generate(r.ks, s2, signet_keystore_find(r.ks, "bluetooth"), &o), SIGNET_OK);
    assert_non_null(strstr(l.text, "bluetooth: attestation unavailable on this device ("));
    assert_null(strstr(l.text, "attested by the HSM"));
    assert_true(signet_keystore_has_key(r.ks, "bluetooth"));
    assert_false(signet_keystore_has_file(r.ks, "bluetooth", ".attest.pem"));
    hsm_session_close(s2);
    ks_rig_close(&r);
}

static void locations(void **state)
{
    struct ks_rig r;
    ks_rig_open(&r, "a 0x0100 ecp256 1 apk\nb 0x0101 ecp256 1 apk\nc 0x0102 ecp256 1 apk\n");
    const signet_keymap_entry *a = signet_keystore_find(r.ks, "a");
    const signet_keymap_entry *b = signet_keystore_find(r.ks, "b");
    const signet_keymap_entry *c = signet_keystore_find(r.ks, "c");
    signet_keygen_opts o = {.wrap_id = RIG_WRAP_ID};
    assert_int_equal(signet_keystore_generate(r.ks, r.s, a, &o), SIGNET_OK);
    assert_int_equal(signet_keystore_generate(r.ks, r.s, b, &o), SIGNET_OK);
    signet_keyloc loc;
    assert_int_equal(signet_keystore_locate(r.ks, r.s, a, &loc), SIGNET_OK);
    assert_int_equal(loc, SIGNET_KEYLOC_RESIDENT);
    assert_int_equal(signet_keystore_locate(r.ks, r.s, c, &loc), SIGNET_OK);
    assert_int_equal(loc, SIGNET_KEYLOC_MISSING);
    assert_int_equal(signet_keystore_evict(r.ks, r.s, a), SIGNET_OK);
    assert_int_equal(signet_keystore_locate(r.ks, r.s, a, &loc), SIGNET_OK);
    assert_int_equal(loc, SIGNET_KEYLOC_WRAPPED);
    assert_int_equal(signet_keystore_evict(r.ks, r.s, a), SIGNET_OK); /* not resident: fine */
    /* Offline: only the disk. */
    assert_int_equal(signet_keystore_locate(r.ks, NULL, b, &loc), SIGNET_OK);
    assert_int_equal(loc, SIGNET_KEYLOC_WRAPPED);
    assert_int_equal(signet_keystore_locate(r.ks, NULL, c, &loc), SIGNET_OK);
    assert_int_equal(loc, SIGNET_KEYLOC_MISSING);
    /* Without its wrapped file, b on the HSM has no backup: shown, and never evicted. */
    char p[256];
    ks_rig_path(&r, "b", ".wrapped", p, sizeof p);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(signet_keystore_locate(r.ks, r.s, b, &loc), SIGNET_OK);
    assert_int_equal(loc, SIGNET_KEYLOC_UNBACKED);
    assert_int_equal(signet_keystore_evict(r.ks, r.s, b), SIGNET_E_STATE);
    assert_non_null(strstr(signet_errmsg(), "would lose it"));
    assert_true(ks_rig_resident(&r, "b"));
    assert_string_equal(signet_keyloc_name(SIGNET_KEYLOC_UNBACKED), "resident-no-backup");
    assert_string_equal(signet_keyloc_name(SIGNET_KEYLOC_WRAPPED), "wrapped-only");
    ks_rig_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa_key_end_to_end),
        cmocka_unit_test(ec_and_ed25519_keys),
        cmocka_unit_test(refuses_taken_id),
        cmocka_unit_test(failure_leaves_nothing),
        cmocka_unit_test(bad_subject_is_refused_before_use),
        cmocka_unit_test(attestation_unavailable_is_not_fatal),
        cmocka_unit_test(locations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

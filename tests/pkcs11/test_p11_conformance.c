/* The conformance harness (p11_conformance.c) against signet's module and
 * SoftHSM2, with the counts of both printed; signet must pass every check
 * SoftHSM2 passes.  Then what the harness cannot see in a module-neutral way:
 * CKF_USER_PIN_COUNT_LOW after a wrong PIN, C_GenerateRandom through the
 * device, keys added to the key store by another writer appearing without a
 * restart, and decryption refused for signing keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p11_conformance.h"
#include "p11_env.h"
#include "signet/client.h"
#include "signet/keystore.h"

#define KEYS "platform rsa2048,ec ecp256"
#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

static struct p11_env env;
#define F (env.f)

static struct p11c_result signet_res, softhsm_res;

static void init(void)
{
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK};
    assert_int_equal(F->C_Initialize(&a), CKR_OK);
}

/* ---- SoftHSM2: a fresh token with the same two key pairs ------------------------------ */
static void softhsm_keys(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s)
{
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048;
    uint8_t e[] = {1, 0, 1}, id_rsa[] = {1, 1}, id_ec[] = {1, 2};
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, 1}, {CKA_VERIFY, &yes, 1}, {CKA_ENCRYPT, &yes, 1},
                          {CKA_MODULUS_BITS, &bits, sizeof bits},
                          {CKA_PUBLIC_EXPONENT, e, 3}, {CKA_ID, id_rsa, 2},
                          {CKA_LABEL, "platform", 8}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, 1}, {CKA_PRIVATE, &yes, 1}, {CKA_SIGN, &yes, 1},
                           {CKA_DECRYPT, &yes, 1}, {CKA_SENSITIVE, &yes, 1},
                           {CKA_ID, id_rsa, 2}, {CKA_LABEL, "platform", 8}};
    CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hp, hk;
    assert_int_equal(f->C_GenerateKeyPair(s, &m, pub, 7, priv, 7, &hp, &hk), CKR_OK);
    static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_ATTRIBUTE epub[] = {{CKA_TOKEN, &yes, 1}, {CKA_VERIFY, &yes, 1},
                           {CKA_EC_PARAMS, (void *)p256, sizeof p256}, {CKA_ID, id_ec, 2},
                           {CKA_LABEL, "ec", 2}};
    CK_ATTRIBUTE epriv[] = {{CKA_TOKEN, &yes, 1}, {CKA_PRIVATE, &yes, 1}, {CKA_SIGN, &yes, 1},
                            {CKA_SENSITIVE, &yes, 1}, {CKA_ID, id_ec, 2}, {CKA_LABEL, "ec", 2}};
    CK_MECHANISM em = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    assert_int_equal(f->C_GenerateKeyPair(s, &em, epub, 5, epriv, 6, &hp, &hk), CKR_OK);
}

static void run_softhsm(void)
{
    char dir[] = "/tmp/signet-softhsm-XXXXXX", conf[300], tokens[300];
    assert_non_null(mkdtemp(dir));
    snprintf(tokens, sizeof tokens, "%s/tokens", dir);
    assert_int_equal(mkdir(tokens, 0700), 0);
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
    FILE *fp = fopen(conf, "w");
    assert_non_null(fp);
    fprintf(fp, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens);
    fclose(fp);
    setenv("SOFTHSM2_CONF", conf, 1);
    void *dl = dlopen(SOFTHSM, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(dl);
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST *f;
    assert_int_equal(gfl(&f), CKR_OK);
    assert_int_equal(f->C_Initialize(NULL), CKR_OK);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    assert_int_equal(f->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
    CK_UTF8CHAR label[32];
    memset(label, ' ', sizeof label);
    memcpy(label, "conformance", 11);
    assert_int_equal(f->C_InitToken(slots[0], (CK_UTF8CHAR_PTR)"so-pin", 6, label), CKR_OK);
    /* SoftHSM gives the initialised token a new slot id: find it by label. */
    n = 8;
    assert_int_equal(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    CK_SLOT_ID slot = (CK_SLOT_ID)-1;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_TOKEN_INFO ti;
        if (f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && memcmp(ti.label, label, 32) == 0)
            slot = slots[i];
    }
    assert_true(slot != (CK_SLOT_ID)-1);
    CK_SESSION_HANDLE s;
    assert_int_equal(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
                     CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)"so-pin", 6), CKR_OK);
    assert_int_equal(f->C_InitPIN(s, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)), CKR_OK);
    assert_int_equal(f->C_Logout(s), CKR_OK);
    assert_int_equal(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    softhsm_keys(f, s);
    assert_int_equal(f->C_CloseSession(s), CKR_OK);
    p11c_run(f, slot, P11_TEST_PIN, "softhsm2", &softhsm_res);
    f->C_Finalize(NULL);
    dlclose(dl);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void conformance(void **state)
{
    init();
    p11c_run(F, 0, P11_TEST_PIN, "signet", &signet_res);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    run_softhsm();
    assert_int_equal(signet_res.n, softhsm_res.n);
    printf("conformance: signet %zu/%zu, SoftHSM2 %zu/%zu\n", signet_res.passed, signet_res.n,
           softhsm_res.passed, softhsm_res.n);
    /* signet passes every check SoftHSM2 passes */
    for (size_t i = 0; i < signet_res.n; i++)
        if (softhsm_res.ok[i] && !signet_res.ok[i])
            fail_msg("signet fails '%s', which SoftHSM2 passes", signet_res.name[i]);
    assert_int_equal(signet_res.passed, signet_res.n);
}

/* ---- what only signet's module shows ------------------------------------------------- */
static CK_SESSION_HANDLE open_session(void)
{
    CK_SESSION_HANDLE s;
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    return s;
}

static void pin_count_low_and_random(void **state)
{
    init();
    CK_SESSION_HANDLE s = open_session();
    CK_TOKEN_INFO ti;
    uint8_t r[3000];
    /* before login: the device's RNG needs a session */
    assert_int_equal(F->C_GenerateRandom(s, r, 8), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(F->C_GenerateRandom(s + 1000, r, 8), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_SeedRandom(s, r, 8), CKR_RANDOM_SEED_NOT_SUPPORTED);
    const char *wrong = "0001wrong";
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)wrong, strlen(wrong)),
                     CKR_PIN_INCORRECT);
    assert_int_equal(F->C_GetTokenInfo(0, &ti), CKR_OK);
    assert_true(ti.flags & CKF_USER_PIN_COUNT_LOW);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    assert_int_equal(F->C_GetTokenInfo(0, &ti), CKR_OK);
    assert_false(ti.flags & CKF_USER_PIN_COUNT_LOW);
    /* more than one device answer's worth, filled to the end */
    memset(r, 0, sizeof r);
    assert_int_equal(F->C_GenerateRandom(s, r, sizeof r), CKR_OK);
    size_t zeros = 0;
    for (size_t i = sizeof r - 64; i < sizeof r; i++)
        zeros += r[i] == 0;
    assert_true(zeros < 16);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void signing_keys_do_not_decrypt(void **state)
{
    init();
    CK_SESSION_HANDLE s = open_session();
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "platform", 8}};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    assert_int_equal(F->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(F->C_FindObjects(s, &h, 1, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);
    CK_BBOOL dec = CK_TRUE;
    CK_ATTRIBUTE a = {CKA_DECRYPT, &dec, 1};
    assert_int_equal(F->C_GetAttributeValue(s, h, &a, 1), CKR_OK);
    assert_false(dec);
    CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
    assert_int_equal(F->C_DecryptInit(s, &m, h), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* A key generated by another writer of the key store appears at the next search. */
static void new_keys_appear_without_restart(void **state)
{
    init();
    CK_SESSION_HANDLE s = open_session();
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "later", 5}};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 9;
    assert_int_equal(F->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(F->C_FindObjects(s, &h, 1, &n), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);

    /* signet keys generate's path: key map line, generated, wrapped copy proven */
    char path[400];
    snprintf(path, sizeof path, "%s/%s", env.keystore, SIGNET_KEYMAP_FILE);
    signet_keymap m;
    signet_keymap_init(&m);
    assert_int_equal(signet_keymap_load(path, &m), SIGNET_OK);
    signet_keymap_entry e = {.id = 0x0140, .domains = 1, .algorithm = YH_ALGO_EC_P256};
    snprintf(e.name, sizeof e.name, "later");
    snprintf(e.role, sizeof e.role, "test");
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_OK);
    assert_int_equal(signet_keymap_save(path, &m), SIGNET_OK);
    signet_keymap_free(&m);
    hsm_conn *c = NULL;
    hsm_session *hs = NULL;
    signet_keystore *ks = NULL;
    assert_int_equal(hsm_conn_open(env.h.url, &c), SIGNET_OK);
    assert_int_equal(hsm_session_open(c, 1, "password", &hs), SIGNET_OK);
    assert_int_equal(signet_keystore_open(env.keystore, &ks), SIGNET_OK);
    signet_keygen_opts o = {.wrap_id = P11_TEST_WRAP_ID};
    const signet_keymap_entry *ne = NULL;
    for (size_t i = 0; i < signet_keystore_count(ks); i++)
        if (strcmp(signet_keystore_entry(ks, i)->name, "later") == 0)
            ne = signet_keystore_entry(ks, i);
    assert_non_null(ne);
    assert_int_equal(signet_keystore_generate(ks, hs, ne, &o), SIGNET_OK);
    signet_keystore_close(ks);
    hsm_session_close(hs);
    hsm_conn_close(c);

    n = 0;
    assert_int_equal(F->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(F->C_FindObjects(s, &h, 1, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);
    /* and it signs at once */
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    cls = CKO_PRIVATE_KEY;
    assert_int_equal(F->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(F->C_FindObjects(s, &h, 1, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);
    CK_MECHANISM mech = {CKM_ECDSA_SHA256, NULL, 0};
    uint8_t sig[128];
    CK_ULONG sl = sizeof sig;
    assert_int_equal(F->C_SignInit(s, &mech, h), CKR_OK);
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)"later", 5, sig, &sl), CKR_OK);
    assert_int_equal(sl, 64);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* C_GenerateKeyPair goes through signet keys generate's path. */
static void generate_key_pair_through_the_key_store(void **state)
{
    init();
    int records = p11_env_count_records(&env);
    CK_SESSION_HANDLE ro = open_session(), s;
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
                     CKR_OK);
    CK_ULONG bits = 2048;
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE pub[] = {{CKA_MODULUS_BITS, &bits, sizeof bits}, {CKA_LABEL, "p11rsa", 6}};
    CK_ATTRIBUTE priv[] = {{CKA_SIGN, &yes, 1}};
    CK_ATTRIBUTE extractable[] = {{CKA_EXTRACTABLE, &yes, 1}};
    CK_MECHANISM m = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hp, hk;
    assert_int_equal(F->C_GenerateKeyPair(s, &m, pub, 2, priv, 1, &hp, &hk),
                     CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    assert_int_equal(F->C_GenerateKeyPair(ro, &m, pub, 2, priv, 1, &hp, &hk), CKR_SESSION_READ_ONLY);
    assert_int_equal(F->C_GenerateKeyPair(s, &m, pub, 2, extractable, 1, &hp, &hk),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_int_equal(F->C_GenerateKeyPair(s, &m, pub + 1, 1, priv, 1, &hp, &hk),
                     CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(F->C_GenerateKeyPair(s, &m, pub, 2, priv, 1, &hp, &hk), CKR_OK);
    /* the same label again names an existing key */
    assert_int_equal(F->C_GenerateKeyPair(s, &m, pub, 2, priv, 1, &hp, &hk),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    CK_MECHANISM ed = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE ep, ek;
    assert_int_equal(F->C_GenerateKeyPair(s, &ed, NULL, 0, NULL, 0, &ep, &ek), CKR_OK);
    /* signs at once, and the signature verifies with OpenSSL and the stored key */
    CK_MECHANISM sm = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t sig[512];
    CK_ULONG sl = sizeof sig;
    assert_int_equal(F->C_SignInit(s, &sm, hk), CKR_OK);
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)"abc", 3, sig, &sl), CKR_OK);
    signet_keystore *ks;
    assert_int_equal(signet_keystore_open(env.keystore, &ks), SIGNET_OK);
    EVP_PKEY *pk = NULL;
    assert_int_equal(signet_keystore_public_key(ks, "p11rsa", &pk), SIGNET_OK);
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(mc, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestVerify(mc, sig, sl, (const uint8_t *)"abc", 3), 1);
    EVP_MD_CTX_free(mc);
    EVP_PKEY_free(pk);
    /* a key-map line with role pkcs11, and a wrapped copy on disk */
    bool found = false;
    for (size_t i = 0; i < signet_keystore_count(ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        if (strcmp(e->name, "p11rsa") == 0) {
            found = true;
            assert_string_equal(e->role, "pkcs11");
            assert_int_equal(e->algorithm, YH_ALGO_RSA_2048);
            sb_wr blob;
            sbw_init(&blob, 4096);
            assert_int_equal(signet_keystore_wrapped(ks, e->name, &blob), SIGNET_OK);
            assert_true(blob.len > 100);
            sbw_free(&blob);
        }
    }
    assert_true(found);
    signet_keystore_close(ks);
    /* the certificates were signed through the signing path: records in the trail */
    assert_true(p11_env_count_records(&env) >= records + 3);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* A key whose key-map role is "decrypt", put on the HSM with decryption
 * capabilities: C_Encrypt in the module, C_Decrypt on the device, both paddings. */
static void decrypt_role_key_decrypts(void **state)
{
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(rsa);
    hsm_conn *c = NULL;
    hsm_session *hs = NULL;
    assert_int_equal(hsm_conn_open(env.h.url, &c), SIGNET_OK);
    assert_int_equal(hsm_session_open(c, 1, "password", &hs), SIGNET_OK);
    hsm_object_attrs a = {.id = 0x0150, .label = "inbox", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_DECRYPT_PKCS) |
                                          YH_CAP(YH_CAP_DECRYPT_OAEP),
                          .algorithm = YH_ALGO_RSA_2048};
    uint16_t id;
    assert_int_equal(hsm_put_asymmetric(hs, &a, rsa, &id), SIGNET_OK);
    hsm_session_close(hs);
    hsm_conn_close(c);
    /* its key-map line (role decrypt) and public key */
    char path[400];
    snprintf(path, sizeof path, "%s/%s", env.keystore, SIGNET_KEYMAP_FILE);
    signet_keymap m;
    signet_keymap_init(&m);
    assert_int_equal(signet_keymap_load(path, &m), SIGNET_OK);
    signet_keymap_entry e = {.id = 0x0150, .domains = 1, .algorithm = YH_ALGO_RSA_2048};
    snprintf(e.name, sizeof e.name, "inbox");
    snprintf(e.role, sizeof e.role, "decrypt");
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_OK);
    assert_int_equal(signet_keymap_save(path, &m), SIGNET_OK);
    signet_keymap_free(&m);
    unsigned char *der = NULL;
    int dl = i2d_PUBKEY(rsa, &der);
    assert_true(dl > 0);
    char pem[2048];
    snprintf(pem, sizeof pem, "%s/inbox.pub.pem", env.keystore);
    FILE *fp = fopen(pem, "w");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PUBKEY(fp, rsa), 1);
    fclose(fp);
    OPENSSL_free(der);

    init();
    CK_SESSION_HANDLE s = open_session();
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, "inbox", 5}};
    CK_OBJECT_HANDLE priv, pub;
    CK_ULONG n = 0;
    assert_int_equal(F->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(F->C_FindObjects(s, &priv, 1, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);
    cls = CKO_PUBLIC_KEY;
    assert_int_equal(F->C_FindObjectsInit(s, t, 2), CKR_OK);
    assert_int_equal(F->C_FindObjects(s, &pub, 1, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);
    /* a decryption key never signs */
    CK_MECHANISM sm = {CKM_SHA256_RSA_PKCS, NULL, 0};
    assert_int_equal(F->C_SignInit(s, &sm, priv), CKR_KEY_FUNCTION_NOT_PERMITTED);
    CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, "lbl", 3};
    CK_MECHANISM ms[] = {{CKM_RSA_PKCS, NULL, 0}, {CKM_RSA_PKCS_OAEP, &op, sizeof op}};
    for (size_t i = 0; i < 2; i++) {
        uint8_t ct[256], pt[256];
        CK_ULONG cl = sizeof ct, pl = sizeof pt;
        assert_int_equal(F->C_EncryptInit(s, &ms[i], pub), CKR_OK);
        assert_int_equal(F->C_Encrypt(s, (CK_BYTE_PTR)"a session key!", 14, ct, &cl), CKR_OK);
        assert_int_equal(cl, 256);
        assert_int_equal(F->C_DecryptInit(s, &ms[i], priv), CKR_OK);
        assert_int_equal(F->C_Decrypt(s, ct, cl, pt, &pl), CKR_OK);
        assert_int_equal(pl, 14);
        assert_memory_equal(pt, "a session key!", 14);
        /* a damaged ciphertext: one answer */
        ct[100] ^= 1;
        pl = sizeof pt;
        assert_int_equal(F->C_DecryptInit(s, &ms[i], priv), CKR_OK);
        assert_int_equal(F->C_Decrypt(s, ct, cl, pt, &pl), CKR_ENCRYPTED_DATA_INVALID);
        pl = sizeof pt;
        assert_int_equal(F->C_DecryptInit(s, &ms[i], priv), CKR_OK);
        assert_int_equal(F->C_Decrypt(s, ct, cl - 1, pt, &pl), CKR_ENCRYPTED_DATA_LEN_RANGE);
    }
    EVP_PKEY_free(rsa);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static int finalize(void **state)
{
    F->C_Finalize(NULL);
    return 0;
}

static int setup(void **state)
{
    if (p11_env_start(&env, KEYS, true, NULL) != 0 || p11_env_load(&env) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    p11_env_stop(&env);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(conformance, finalize),
        cmocka_unit_test_teardown(pin_count_low_and_random, finalize),
        cmocka_unit_test_teardown(signing_keys_do_not_decrypt, finalize),
        cmocka_unit_test_teardown(new_keys_appear_without_restart, finalize),
        cmocka_unit_test_teardown(generate_key_pair_through_the_key_store, finalize),
        cmocka_unit_test_teardown(decrypt_role_key_decrypts, finalize),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

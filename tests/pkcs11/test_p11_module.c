/* libsignet-pkcs11.so called through dlopen, against signet-hsm: life cycle,
 * token, objects and attribute semantics, login, every signing mechanism (checked
 * with OpenSSL), size queries that must not sign, multi-part == single-part,
 * audit records, threads, fork safety and the release of device sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "p11_env.h"
#include "signet/client.h"
#include "signet/keystore.h"

#define KEYS "platform rsa2048,ec ecp256,ed ed25519"

static struct p11_env env;
#define F (env.f)

static const char MSG[] = "signet: the bytes of a release, signed through PKCS#11";

/* ---- helpers ---------------------------------------------------------------------- */
static void init(void)
{
    CK_C_INITIALIZE_ARGS a = {.flags = CKF_OS_LOCKING_OK};
    assert_int_equal(F->C_Initialize(&a), CKR_OK);
}

static CK_SESSION_HANDLE open_session(void)
{
    CK_SESSION_HANDLE s;
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
                     CKR_OK);
    return s;
}

static CK_SESSION_HANDLE login_session(void)
{
    CK_SESSION_HANDLE s = open_session();
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    return s;
}

static CK_ULONG find(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *out,
                     CK_ULONG max)
{
    CK_ULONG got = 0, total = 0;
    assert_int_equal(F->C_FindObjectsInit(s, t, n), CKR_OK);
    /* One at a time: exercises the cursor. */
    while (total < max) {
        assert_int_equal(F->C_FindObjects(s, out + total, 1, &got), CKR_OK);
        if (got == 0)
            break;
        total += got;
    }
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);
    return total;
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE h[4];
    assert_int_equal(find(s, t, 2, h, 4), 1);
    return h[0];
}

static size_t count_all(CK_SESSION_HANDLE s)
{
    CK_OBJECT_HANDLE h[64];
    return find(s, NULL, 0, h, 64);
}

/* The public key as the module shows it (CKA_PUBLIC_KEY_INFO of the public key). */
static EVP_PKEY *public_key(CK_SESSION_HANDLE s, const char *label)
{
    CK_OBJECT_HANDLE h = find_one(s, CKO_PUBLIC_KEY, label);
    uint8_t der[1024];
    CK_ATTRIBUTE a = {CKA_PUBLIC_KEY_INFO, der, sizeof der};
    assert_int_equal(F->C_GetAttributeValue(s, h, &a, 1), CKR_OK);
    const uint8_t *p = der;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)a.ulValueLen);
    assert_non_null(pk);
    return pk;
}

static CK_RV sign(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key, const void *data,
                  size_t len, uint8_t *sig, CK_ULONG *sig_len)
{
    CK_RV rv = F->C_SignInit(s, m, key);
    if (rv)
        return rv;
    return F->C_Sign(s, (CK_BYTE_PTR)data, len, sig, sig_len);
}

static CK_RV sign_parts(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key,
                        const void *data, size_t len, uint8_t *sig, CK_ULONG *sig_len)
{
    CK_RV rv = F->C_SignInit(s, m, key);
    const uint8_t *p = data;
    /* Uneven parts, including an empty one. */
    size_t cuts[] = {0, 1, 0, 7, len - 8};
    for (size_t i = 0; rv == CKR_OK && i < 5; i++) {
        rv = F->C_SignUpdate(s, (CK_BYTE_PTR)p, cuts[i]);
        p += cuts[i];
    }
    if (rv)
        return rv;
    return F->C_SignFinal(s, sig, sig_len);
}

static void digest(const char *md, const void *data, size_t len, uint8_t *out, unsigned *out_len)
{
    assert_true(EVP_Digest(data, len, out, out_len, EVP_get_digestbyname(md), NULL));
}

static int verify(EVP_PKEY *pk, const char *md, int padding, int salt, const uint8_t *sig,
                  size_t sig_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = EVP_DigestVerifyInit(ctx, &pctx, md ? EVP_get_digestbyname(md) : NULL, NULL, pk) == 1;
    if (ok && padding) {
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, padding) == 1;
        if (ok && padding == RSA_PKCS1_PSS_PADDING)
            ok = EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt) == 1;
    }
    ok = ok && EVP_DigestVerify(ctx, sig, sig_len, (const uint8_t *)MSG, strlen(MSG)) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* PKCS#11's raw r|s to DER for OpenSSL. */
static int verify_ecdsa_raw(EVP_PKEY *pk, const char *md, const uint8_t *sig, size_t len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, BN_bin2bn(sig, (int)len / 2, NULL), BN_bin2bn(sig + len / 2, (int)len / 2, NULL));
    uint8_t *der = NULL;
    int n = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    int ok = n > 0 && verify(pk, md, 0, 0, der, (size_t)n);
    OPENSSL_free(der);
    return ok;
}

/* ---- life cycle and token -------------------------------------------------------------- */
static CK_RV fake_create(CK_VOID_PTR_PTR m) { (void)m; return CKR_OK; }
static CK_RV fake_mutex(CK_VOID_PTR m) { (void)m; return CKR_OK; }

static void initialize_rules(void **state)
{
    CK_SESSION_HANDLE s;
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s),
                     CKR_CRYPTOKI_NOT_INITIALIZED);
    CK_C_INITIALIZE_ARGS partial = {.CreateMutex = fake_create};
    assert_int_equal(F->C_Initialize(&partial), CKR_ARGUMENTS_BAD);
    CK_C_INITIALIZE_ARGS app_locks = {fake_create, fake_mutex, fake_mutex, fake_mutex, 0, NULL};
    assert_int_equal(F->C_Initialize(&app_locks), CKR_CANT_LOCK);
    app_locks.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(F->C_Initialize(&app_locks), CKR_OK);
    assert_int_equal(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(F->C_Finalize((void *)1), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
}

static void a_missing_configuration_fails_initialize(void **state)
{
    setenv("SIGNET_CONF", "/nonexistent/signet.conf", 1);
    assert_int_not_equal(F->C_Initialize(NULL), CKR_OK);
    setenv("SIGNET_CONF", env.conf, 1);
    init();
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void token_and_slot(void **state)
{
    init();
    CK_INFO info;
    assert_int_equal(F->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 2);
    assert_int_equal(info.cryptokiVersion.minor, 40);

    CK_SLOT_ID slots[2];
    CK_ULONG n = 0;
    assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 1);
    n = 0;
    assert_int_equal(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 1);
    n = 2;
    assert_int_equal(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
    assert_int_equal(n, 1);

    CK_SLOT_INFO si;
    assert_int_equal(F->C_GetSlotInfo(slots[0], &si), CKR_OK);
    assert_true(si.flags & CKF_TOKEN_PRESENT);
    assert_int_equal(F->C_GetSlotInfo(slots[0] + 1, &si), CKR_SLOT_ID_INVALID);

    CK_TOKEN_INFO ti;
    assert_int_equal(F->C_GetTokenInfo(slots[0], &ti), CKR_OK);
    assert_memory_equal(ti.label, "signet                          ", 32);
    /* The fixture's daemon runs with --serial 4242. */
    assert_memory_equal(ti.serialNumber, "4242            ", 16);
    assert_true(ti.flags & CKF_LOGIN_REQUIRED);
    assert_true(ti.flags & CKF_TOKEN_INITIALIZED);
    assert_true(ti.flags & CKF_RNG); /* C_GenerateRandom asks the device */
    assert_false(ti.flags & CKF_USER_PIN_COUNT_LOW);

    CK_MECHANISM_TYPE mechs[64];
    n = 0;
    assert_int_equal(F->C_GetMechanismList(slots[0], NULL, &n), CKR_OK);
    assert_true(n >= 16 && n <= 64);
    CK_ULONG small = 3;
    assert_int_equal(F->C_GetMechanismList(slots[0], mechs, &small), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(small, n);
    assert_int_equal(F->C_GetMechanismList(slots[0], mechs, &n), CKR_OK);
    CK_MECHANISM_TYPE want[] = {CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS, CKM_SHA512_RSA_PKCS_PSS,
                                CKM_RSA_PKCS_PSS, CKM_ECDSA, CKM_ECDSA_SHA384, CKM_EDDSA};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        bool found = false;
        for (CK_ULONG j = 0; j < n; j++)
            found |= mechs[j] == want[i];
        assert_true(found);
    }
    CK_MECHANISM_INFO mi;
    assert_int_equal(F->C_GetMechanismInfo(slots[0], CKM_SHA256_RSA_PKCS, &mi), CKR_OK);
    assert_int_equal(mi.ulMinKeySize, 2048);
    assert_int_equal(mi.ulMaxKeySize, 4096);
    assert_true(mi.flags & CKF_SIGN);
    assert_int_equal(F->C_GetMechanismInfo(slots[0], CKM_AES_CBC, &mi), CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* ---- objects and attributes -------------------------------------------------------------- */
static void private_keys_appear_after_login(void **state)
{
    init();
    CK_SESSION_HANDLE s = open_session();
    /* Public keys and certificates of three keys. */
    assert_int_equal(count_all(s), 6);
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t = {CKA_CLASS, &priv, sizeof priv};
    CK_OBJECT_HANDLE h[8];
    assert_int_equal(find(s, &t, 1, h, 8), 0);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    assert_int_equal(count_all(s), 9);
    assert_int_equal(find(s, &t, 1, h, 8), 3);
    /* Login is token-wide: a session opened later sees them too. */
    CK_SESSION_HANDLE s2 = open_session();
    assert_int_equal(count_all(s2), 9);
    assert_int_equal(F->C_Logout(s2), CKR_OK);
    assert_int_equal(count_all(s), 6);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void attribute_semantics(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "platform");

    /* NULL pValue: the size. */
    CK_ATTRIBUTE a = {CKA_MODULUS, NULL, 0};
    assert_int_equal(F->C_GetAttributeValue(s, key, &a, 1), CKR_OK);
    assert_int_equal(a.ulValueLen, 256);
    /* Too small: CKR_BUFFER_TOO_SMALL and CK_UNAVAILABLE_INFORMATION (PKCS#11 2.40 5.7). */
    uint8_t small[10];
    a.pValue = small;
    a.ulValueLen = sizeof small;
    assert_int_equal(F->C_GetAttributeValue(s, key, &a, 1), CKR_BUFFER_TOO_SMALL);
    assert_true(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
    uint8_t modulus[256];
    a.pValue = modulus;
    a.ulValueLen = sizeof modulus;
    assert_int_equal(F->C_GetAttributeValue(s, key, &a, 1), CKR_OK);
    assert_int_equal(a.ulValueLen, 256);

    /* The same modulus as the key store's public key file. */
    signet_keystore *ks;
    EVP_PKEY *file_pk = NULL;
    assert_int_equal(signet_keystore_open(env.keystore, &ks), SIGNET_OK);
    assert_int_equal(signet_keystore_public_key(ks, "platform", &file_pk), SIGNET_OK);
    BIGNUM *n = NULL;
    assert_true(EVP_PKEY_get_bn_param(file_pk, "n", &n));
    uint8_t nbin[256];
    assert_int_equal(BN_bn2binpad(n, nbin, sizeof nbin), 256);
    assert_memory_equal(nbin, modulus, 256);
    BN_free(n);
    EVP_PKEY_free(file_pk);

    /* One call, several failures: every entry is still processed. */
    char label[32];
    uint8_t id[8], exp[512];
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE many[] = {
        {CKA_LABEL, label, sizeof label},
        {CKA_PRIVATE_EXPONENT, exp, sizeof exp},
        {CKA_ID, id, sizeof id},
        {CKA_VENDOR_DEFINED | 0x1234, exp, sizeof exp},
        {CKA_KEY_TYPE, &kt, sizeof kt},
    };
    CK_RV rv = F->C_GetAttributeValue(s, key, many, 5);
    assert_true(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(many[0].ulValueLen, 8);
    assert_memory_equal(label, "platform", 8);
    assert_true(many[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(many[2].ulValueLen, 2);
    assert_memory_equal(id, "\x01\x01", 2);
    assert_true(many[3].ulValueLen == CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(kt, CKK_RSA);
    /* Alone, each failure has its own code. */
    assert_int_equal(F->C_GetAttributeValue(s, key, &many[1], 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(F->C_GetAttributeValue(s, key, &many[3], 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE prime = {CKA_PRIME_1, NULL, 0};
    assert_int_equal(F->C_GetAttributeValue(s, key, &prime, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_true(prime.ulValueLen == CK_UNAVAILABLE_INFORMATION);

    /* The flags that say the key never leaves the HSM. */
    CK_BBOOL sens = 0, extr = 1, asens = 0, nextr = 0, sgn = 0, tok = 0, priv = 0;
    CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sens, 1},       {CKA_EXTRACTABLE, &extr, 1},
                            {CKA_ALWAYS_SENSITIVE, &asens, 1}, {CKA_NEVER_EXTRACTABLE, &nextr, 1},
                            {CKA_SIGN, &sgn, 1},             {CKA_TOKEN, &tok, 1},
                            {CKA_PRIVATE, &priv, 1}};
    assert_int_equal(F->C_GetAttributeValue(s, key, flags, 7), CKR_OK);
    assert_true(sens && !extr && asens && nextr && sgn && tok && priv);

    /* The certificate: same CKA_ID and label, the DER of the .x509.pem file. */
    CK_OBJECT_HANDLE cert = find_one(s, CKO_CERTIFICATE, "platform");
    sb_wr der;
    sbw_init(&der, 1 << 16);
    assert_int_equal(signet_keystore_cert_der(ks, "platform", &der), SIGNET_OK);
    uint8_t value[4096], cid[8], subject[1024];
    CK_CERTIFICATE_TYPE ct = 99;
    CK_ATTRIBUTE ca[] = {{CKA_VALUE, value, sizeof value},
                         {CKA_ID, cid, sizeof cid},
                         {CKA_CERTIFICATE_TYPE, &ct, sizeof ct},
                         {CKA_SUBJECT, subject, sizeof subject}};
    assert_int_equal(F->C_GetAttributeValue(s, cert, ca, 4), CKR_OK);
    assert_int_equal(ca[0].ulValueLen, der.len);
    assert_memory_equal(value, der.p, der.len);
    assert_int_equal(ca[1].ulValueLen, 2);
    assert_memory_equal(cid, "\x01\x01", 2);
    assert_int_equal(ct, CKC_X_509);
    const uint8_t *p = der.p;
    X509 *x = d2i_X509(NULL, &p, (long)der.len);
    assert_non_null(x);
    uint8_t *sub = NULL;
    int sublen = i2d_X509_NAME(X509_get_subject_name(x), &sub);
    assert_int_equal(ca[3].ulValueLen, sublen);
    assert_memory_equal(subject, sub, (size_t)sublen);
    OPENSSL_free(sub);
    X509_free(x);
    sbw_free(&der);
    signet_keystore_close(ks);

    /* EC: the named curve and the point as a DER OCTET STRING. */
    CK_OBJECT_HANDLE ecpub = find_one(s, CKO_PUBLIC_KEY, "ec");
    uint8_t params[32], point[80];
    CK_ATTRIBUTE ea[] = {{CKA_EC_PARAMS, params, sizeof params}, {CKA_EC_POINT, point, sizeof point}};
    assert_int_equal(F->C_GetAttributeValue(s, ecpub, ea, 2), CKR_OK);
    static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    assert_int_equal(ea[0].ulValueLen, sizeof p256);
    assert_memory_equal(params, p256, sizeof p256);
    assert_int_equal(ea[1].ulValueLen, 67);
    assert_memory_equal(point, "\x04\x41\x04", 3);
    CK_OBJECT_HANDLE edpub = find_one(s, CKO_PUBLIC_KEY, "ed");
    assert_int_equal(F->C_GetAttributeValue(s, edpub, ea, 2), CKR_OK);
    assert_int_equal(ea[0].ulValueLen, 5);
    assert_memory_equal(params, "\x06\x03\x2b\x65\x70", 5);
    assert_int_equal(ea[1].ulValueLen, 34);
    assert_memory_equal(point, "\x04\x20", 2);

    /* A private key is invisible without the login. */
    assert_int_equal(F->C_Logout(s), CKR_OK);
    CK_ATTRIBUTE lbl = {CKA_LABEL, NULL, 0};
    assert_int_equal(F->C_GetAttributeValue(s, key, &lbl, 1), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void find_templates(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE h[16];
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY, cert = CKO_CERTIFICATE;
    uint8_t id_ec[] = {0x01, 0x02};
    CK_ATTRIBUTE by_id[] = {{CKA_CLASS, &priv, sizeof priv}, {CKA_ID, id_ec, 2}};
    assert_int_equal(find(s, by_id, 2, h, 16), 1);
    char lbl[8];
    CK_ATTRIBUTE l = {CKA_LABEL, lbl, sizeof lbl};
    assert_int_equal(F->C_GetAttributeValue(s, h[0], &l, 1), CKR_OK);
    assert_int_equal(l.ulValueLen, 2);
    assert_memory_equal(lbl, "ec", 2);

    CK_KEY_TYPE ed = CKK_EC_EDWARDS;
    CK_ATTRIBUTE by_type[] = {{CKA_KEY_TYPE, &ed, sizeof ed}, {CKA_LABEL, "ed", 2}};
    assert_int_equal(find(s, by_type, 2, h, 16), 2); /* private and public key */
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE signers[] = {{CKA_SIGN, &yes, 1}, {CKA_TOKEN, &yes, 1}};
    assert_int_equal(find(s, signers, 2, h, 16), 3);
    CK_ATTRIBUTE certs[] = {{CKA_CLASS, &cert, sizeof cert}};
    assert_int_equal(find(s, certs, 1, h, 16), 3);
    /* Sensitive values never match, even the right length; nor do wrong lengths. */
    uint8_t junk[256] = {0};
    CK_ATTRIBUTE secret = {CKA_PRIVATE_EXPONENT, junk, sizeof junk};
    assert_int_equal(find(s, &secret, 1, h, 16), 0);
    CK_ATTRIBUTE short_label = {CKA_LABEL, "platfor", 7};
    assert_int_equal(find(s, &short_label, 1, h, 16), 0);
    /* The find cursor is per session and must be initialised. */
    CK_ULONG got;
    assert_int_equal(F->C_FindObjects(s, h, 1, &got), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_FindObjectsInit(s, NULL, 0), CKR_OK);
    assert_int_equal(F->C_FindObjectsInit(s, NULL, 0), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_FindObjectsFinal(s), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* ---- login ----------------------------------------------------------------------------- */
static void login_rules(void **state)
{
    init();
    CK_SESSION_HANDLE s = open_session();
    CK_SESSION_INFO si;
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RW_PUBLIC_SESSION);
    const char *wrong = "0001wrongpassword", *bad_id = "00zzpassword", *zero = "0000password";
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)wrong, strlen(wrong)),
                     CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)bad_id, strlen(bad_id)),
                     CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)zero, strlen(zero)),
                     CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)"0001", 4), CKR_PIN_INCORRECT);
    /* Another authentication key id that does not exist. */
    const char *other = "0007password";
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)other, strlen(other)),
                     CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(s, CKU_SO, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_USER_TYPE_INVALID);
    assert_int_equal(F->C_Logout(s), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_OK);
    assert_int_equal(F->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)P11_TEST_PIN, strlen(P11_TEST_PIN)),
                     CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RW_USER_FUNCTIONS);
    /* Closing the last session logs out. */
    assert_int_equal(F->C_CloseSession(s), CKR_OK);
    s = open_session();
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RW_PUBLIC_SESSION);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    assert_int_equal(F->C_SignInit(s, &m, 1), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* ---- signing ------------------------------------------------------------------------------ */
static void rsa_pkcs1(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "platform");
    EVP_PKEY *pk = public_key(s, "platform");
    uint8_t sig[512], sig2[512], sig3[512];
    CK_ULONG len = sizeof sig, len2 = sizeof sig2, len3 = sizeof sig3;

    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
    assert_int_equal(len, 256);
    assert_true(verify(pk, "SHA256", RSA_PKCS1_PADDING, 0, sig, len));
    /* PKCS#1 v1.5 is deterministic: multi-part gives the very same signature. */
    assert_int_equal(sign_parts(s, &m, key, MSG, strlen(MSG), sig2, &len2), CKR_OK);
    assert_int_equal(len2, 256);
    assert_memory_equal(sig, sig2, 256);
    /* CKM_RSA_PKCS over the DigestInfo: the same signature again. */
    static const uint8_t di[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    uint8_t block[sizeof di + 32];
    unsigned dl;
    memcpy(block, di, sizeof di);
    digest("SHA256", MSG, strlen(MSG), block + sizeof di, &dl);
    CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
    assert_int_equal(sign(s, &raw, key, block, sizeof block, sig3, &len3), CKR_OK);
    assert_memory_equal(sig, sig3, 256);
    /* ... also in parts. */
    len3 = sizeof sig3;
    assert_int_equal(sign_parts(s, &raw, key, block, sizeof block, sig3, &len3), CKR_OK);
    assert_memory_equal(sig, sig3, 256);
    /* A bare digest is not a DigestInfo: refused rather than silently wrapped. */
    len3 = sizeof sig3;
    assert_int_equal(sign(s, &raw, key, block + sizeof di, 32, sig3, &len3), CKR_DATA_INVALID);
    /* The operation ended with the error. */
    assert_int_equal(F->C_Sign(s, block, sizeof block, sig3, &len3), CKR_OPERATION_NOT_INITIALIZED);

    const char *mds[] = {"SHA1", "SHA384", "SHA512"};
    CK_MECHANISM_TYPE mts[] = {CKM_SHA1_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS};
    for (int i = 0; i < 3; i++) {
        CK_MECHANISM mm = {mts[i], NULL, 0};
        len = sizeof sig;
        assert_int_equal(sign(s, &mm, key, MSG, strlen(MSG), sig, &len), CKR_OK);
        assert_true(verify(pk, mds[i], RSA_PKCS1_PADDING, 0, sig, len));
    }
    EVP_PKEY_free(pk);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void size_queries_do_not_sign(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "platform");
    EVP_PKEY *pk = public_key(s, "platform");
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    int before = p11_env_count_records(&env);
    uint8_t sig[512];
    CK_ULONG len = 0;

    assert_int_equal(F->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)MSG, strlen(MSG), NULL, &len), CKR_OK);
    assert_int_equal(len, 256);
    len = 100;
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)MSG, strlen(MSG), sig, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 256);
    assert_int_equal(p11_env_count_records(&env), before); /* nothing signed yet */
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)MSG, strlen(MSG), sig, &len), CKR_OK);
    assert_true(verify(pk, "SHA256", RSA_PKCS1_PADDING, 0, sig, len));
    assert_int_equal(p11_env_count_records(&env), before + 1);

    /* The same for C_SignFinal. */
    assert_int_equal(F->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(F->C_SignUpdate(s, (CK_BYTE_PTR)MSG, strlen(MSG)), CKR_OK);
    len = 0;
    assert_int_equal(F->C_SignFinal(s, NULL, &len), CKR_OK);
    assert_int_equal(len, 256);
    len = 255;
    assert_int_equal(F->C_SignFinal(s, sig, &len), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(p11_env_count_records(&env), before + 1);
    len = sizeof sig;
    assert_int_equal(F->C_SignFinal(s, sig, &len), CKR_OK);
    assert_true(verify(pk, "SHA256", RSA_PKCS1_PADDING, 0, sig, len));
    assert_int_equal(p11_env_count_records(&env), before + 2);
    EVP_PKEY_free(pk);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void operation_rules(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "platform");
    CK_OBJECT_HANDLE pub = find_one(s, CKO_PUBLIC_KEY, "platform");
    CK_OBJECT_HANDLE cert = find_one(s, CKO_CERTIFICATE, "platform");
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0}, ec = {CKM_ECDSA, NULL, 0};
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)MSG, 3, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_SignInit(s, &ec, key), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(F->C_SignInit(s, &m, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(F->C_SignInit(s, &m, cert), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(F->C_SignInit(s, &m, 0xdead), CKR_KEY_HANDLE_INVALID);
    CK_MECHANISM aes = {CKM_AES_CBC, NULL, 0};
    assert_int_equal(F->C_SignInit(s, &aes, key), CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(F->C_SignInit(s, &m, key), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_SignUpdate(s, (CK_BYTE_PTR)MSG, 3), CKR_OK);
    /* A multi-part operation is finished by C_SignFinal, not C_Sign. */
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)MSG, 3, sig, &len), CKR_OPERATION_ACTIVE);
    /* A NULL mechanism cancels (PKCS#11 3.0 behaviour). */
    assert_int_equal(F->C_SignInit(s, NULL, key), CKR_OK);
    assert_int_equal(F->C_SignFinal(s, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
    /* Operations are per session. */
    CK_SESSION_HANDLE s2 = open_session();
    assert_int_equal(F->C_SignInit(s, &m, key), CKR_OK);
    assert_int_equal(F->C_SignInit(s2, &m, key), CKR_OK);
    assert_int_equal(F->C_CloseSession(s2), CKR_OK);
    assert_int_equal(F->C_Sign(s, (CK_BYTE_PTR)MSG, 3, sig, &len), CKR_OK);
    assert_int_equal(F->C_Sign(999, (CK_BYTE_PTR)MSG, 3, sig, &len), CKR_SESSION_HANDLE_INVALID);
    /* A signing mechanism is no digest; functions the token does not offer. */
    assert_int_equal(F->C_DigestInit(s, &m), CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_DestroyObject(s, key), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void rsa_pss(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "platform");
    EVP_PKEY *pk = public_key(s, "platform");
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;
    CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof pp};
    assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
    assert_int_equal(len, 256);
    assert_true(verify(pk, "SHA256", RSA_PKCS1_PSS_PADDING, 32, sig, len));
    len = sizeof sig;
    assert_int_equal(sign_parts(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
    assert_true(verify(pk, "SHA256", RSA_PKCS1_PSS_PADDING, 32, sig, len));

    /* Raw PSS takes the digest. */
    uint8_t d[64];
    unsigned dl;
    digest("SHA512", MSG, strlen(MSG), d, &dl);
    CK_RSA_PKCS_PSS_PARAMS p512 = {CKM_SHA512, CKG_MGF1_SHA512, 64};
    CK_MECHANISM raw = {CKM_RSA_PKCS_PSS, &p512, sizeof p512};
    len = sizeof sig;
    assert_int_equal(sign(s, &raw, key, d, dl, sig, &len), CKR_OK);
    assert_true(verify(pk, "SHA512", RSA_PKCS1_PSS_PADDING, 64, sig, len));
    len = sizeof sig;
    assert_int_equal(sign(s, &raw, key, d, 32, sig, &len), CKR_DATA_LEN_RANGE);

    /* Parameters that cannot be honoured. */
    CK_RSA_PKCS_PSS_PARAMS other_hash = {CKM_SHA384, CKG_MGF1_SHA256, 32};
    CK_MECHANISM bad = {CKM_SHA256_RSA_PKCS_PSS, &other_hash, sizeof other_hash};
    assert_int_equal(F->C_SignInit(s, &bad, key), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_PSS_PARAMS huge_salt = {CKM_SHA256, CKG_MGF1_SHA256, 300};
    bad.pParameter = &huge_salt;
    assert_int_equal(F->C_SignInit(s, &bad, key), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_PSS_PARAMS mgf224 = {CKM_SHA256, CKG_MGF1_SHA224, 32};
    bad.pParameter = &mgf224;
    assert_int_equal(F->C_SignInit(s, &bad, key), CKR_MECHANISM_PARAM_INVALID);
    CK_MECHANISM none = {CKM_SHA256_RSA_PKCS_PSS, NULL, 0};
    assert_int_equal(F->C_SignInit(s, &none, key), CKR_MECHANISM_PARAM_INVALID);
    EVP_PKEY_free(pk);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void ecdsa(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "ec");
    EVP_PKEY *pk = public_key(s, "ec");
    uint8_t sig[512], d[64];
    unsigned dl;
    CK_ULONG len = sizeof sig;
    digest("SHA256", MSG, strlen(MSG), d, &dl);
    CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};
    assert_int_equal(sign(s, &raw, key, d, dl, sig, &len), CKR_OK);
    assert_int_equal(len, 64); /* raw r|s, not DER */
    assert_true(verify_ecdsa_raw(pk, "SHA256", sig, len));
    CK_MECHANISM_TYPE mts[] = {CKM_ECDSA_SHA1, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384, CKM_ECDSA_SHA512};
    const char *mds[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
    for (int i = 0; i < 4; i++) {
        CK_MECHANISM m = {mts[i], NULL, 0};
        len = sizeof sig;
        assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
        assert_int_equal(len, 64);
        assert_true(verify_ecdsa_raw(pk, mds[i], sig, len));
        len = sizeof sig;
        assert_int_equal(sign_parts(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
        assert_true(verify_ecdsa_raw(pk, mds[i], sig, len));
    }
    EVP_PKEY_free(pk);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void eddsa(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "ed");
    EVP_PKEY *pk = public_key(s, "ed");
    uint8_t sig[128], sig2[128];
    CK_ULONG len = sizeof sig, len2 = sizeof sig2;
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
    assert_int_equal(len, 64);
    assert_true(verify(pk, NULL, 0, 0, sig, len));
    /* Ed25519 is deterministic. */
    assert_int_equal(sign_parts(s, &m, key, MSG, strlen(MSG), sig2, &len2), CKR_OK);
    assert_memory_equal(sig, sig2, 64);
    EVP_PKEY_free(pk);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* ---- the audit record of a signature ------------------------------------------------------ */
static void records_name_the_artifact(void **state)
{
    char path[400];
    snprintf(path, sizeof path, "%s/release.apk", env.h.dir);
    assert_int_equal(test_write_file(path, "not really an apk", 17), 0);
    uint8_t sha[32];
    digest("SHA256", "not really an apk", 17, sha, NULL);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", sha[i]);

    setenv("SIGNET_ARTIFACT", path, 1);
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "platform");
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;
    assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
    char *rec = p11_env_last_record(&env);
    assert_non_null(rec);
    assert_non_null(strstr(rec, "release.apk"));
    assert_non_null(strstr(rec, hex));
    assert_non_null(strstr(rec, "platform"));
    assert_non_null(strstr(rec, "test_p11_module")); /* the caller: this program */
    free(rec);

    /* A SIGNET_ARTIFACT that cannot be read fails the signature: no misleading record. */
    setenv("SIGNET_ARTIFACT", "/nonexistent/release.apk", 1);
    int before = p11_env_count_records(&env);
    len = sizeof sig;
    assert_int_not_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
    assert_int_equal(p11_env_count_records(&env), before);
    unsetenv("SIGNET_ARTIFACT");
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* ---- threads, fork, device sessions --------------------------------------------------------- */
struct worker {
    CK_OBJECT_HANDLE key;
    EVP_PKEY *pk;
    int ok;
};

static void *sign_worker(void *arg)
{
    struct worker *w = arg;
    CK_SESSION_HANDLE s;
    if (F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return NULL;
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    for (int i = 0; i < 5; i++) {
        uint8_t sig[512];
        CK_ULONG len = sizeof sig;
        if (F->C_SignInit(s, &m, w->key) == CKR_OK &&
            F->C_Sign(s, (CK_BYTE_PTR)MSG, strlen(MSG), sig, &len) == CKR_OK &&
            verify(w->pk, "SHA256", RSA_PKCS1_PADDING, 0, sig, len))
            w->ok++;
    }
    return NULL;
}

static void threads(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){find_one(s, CKO_PRIVATE_KEY, "platform"), public_key(s, "platform"), 0};
        assert_int_equal(pthread_create(&t[i], NULL, sign_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 5);
        EVP_PKEY_free(w[i].pk);
    }
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

static void fork_child_uses_its_own_device_session(void **state)
{
    init();
    CK_SESSION_HANDLE s = login_session();
    CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "platform");
    EVP_PKEY *pk = public_key(s, "platform");
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t sig[512];
    CK_ULONG len = sizeof sig;
    assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The child keeps the login and the session handles, not the device session. */
        close(fds[0]);
        uint8_t csig[512];
        CK_ULONG clen = sizeof csig;
        int code = 1;
        if (F->C_SignInit(s, &m, key) == CKR_OK &&
            F->C_Sign(s, (CK_BYTE_PTR)MSG, strlen(MSG), csig, &clen) == CKR_OK &&
            write(fds[1], csig, clen) == (ssize_t)clen)
            code = 0;
        if (F->C_Finalize(NULL) != CKR_OK)
            code = 2;
        _exit(code);
    }
    close(fds[1]);
    uint8_t csig[512];
    ssize_t n = read(fds[0], csig, sizeof csig);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(n, 256);
    assert_memory_equal(csig, sig, 256);
    /* The parent's device session survived the child's C_Finalize. */
    len = sizeof sig;
    assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
    assert_true(verify(pk, "SHA256", RSA_PKCS1_PADDING, 0, sig, len));
    EVP_PKEY_free(pk);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    assert_int_equal(p11_env_all_sessions_free(&env), 0);
}

/* 40 log-in-sign-finalize cycles on a device of 16 sessions that time out after 30 s:
 * passes only if every cycle gives its device session back. */
static void finalize_releases_the_device_session(void **state)
{
    for (int i = 0; i < 40; i++) {
        init();
        CK_SESSION_HANDLE s = login_session();
        CK_OBJECT_HANDLE key = find_one(s, CKO_PRIVATE_KEY, "ec");
        CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
        uint8_t sig[128];
        CK_ULONG len = sizeof sig;
        assert_int_equal(sign(s, &m, key, MSG, strlen(MSG), sig, &len), CKR_OK);
        assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    }
    assert_int_equal(p11_env_all_sessions_free(&env), 0);
}

/* Processes that never call C_Finalize (as apksigner) still give their device
 * session back when they exit. */
static void exit_releases_the_device_session(void **state)
{
    for (int i = 0; i < 24; i++) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "ASAN_OPTIONS=detect_leaks=0 %s/p11_sign_once %s platform",
                 getenv("SIGNET_BIN_DIR"), env.module);
        assert_int_equal(run_cmd(cmd, NULL), 0);
    }
    assert_int_equal(p11_env_all_sessions_free(&env), 0);
}

/* A test that failed half-way leaves the module initialised: start the next clean. */
static int finalize(void **state)
{
    F->C_Finalize(NULL);
    return 0;
}

static int setup(void **state)
{
    if (p11_env_start(&env, KEYS, true, "--serial 4242") != 0 || p11_env_load(&env) != 0)
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
        cmocka_unit_test_teardown(initialize_rules, finalize),
        cmocka_unit_test_teardown(a_missing_configuration_fails_initialize, finalize),
        cmocka_unit_test_teardown(token_and_slot, finalize),
        cmocka_unit_test_teardown(private_keys_appear_after_login, finalize),
        cmocka_unit_test_teardown(attribute_semantics, finalize),
        cmocka_unit_test_teardown(find_templates, finalize),
        cmocka_unit_test_teardown(login_rules, finalize),
        cmocka_unit_test_teardown(rsa_pkcs1, finalize),
        cmocka_unit_test_teardown(size_queries_do_not_sign, finalize),
        cmocka_unit_test_teardown(operation_rules, finalize),
        cmocka_unit_test_teardown(rsa_pss, finalize),
        cmocka_unit_test_teardown(ecdsa, finalize),
        cmocka_unit_test_teardown(eddsa, finalize),
        cmocka_unit_test_teardown(records_name_the_artifact, finalize),
        cmocka_unit_test_teardown(threads, finalize),
        cmocka_unit_test_teardown(fork_child_uses_its_own_device_session, finalize),
        cmocka_unit_test_teardown(finalize_releases_the_device_session, finalize),
        cmocka_unit_test_teardown(exit_releases_the_device_session, finalize),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

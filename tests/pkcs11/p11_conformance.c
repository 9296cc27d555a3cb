/* The conformance checks (p11_conformance.h).  Each check is one function that
 * answers a reason when it fails; they run in table order, each in a session of
 * its own, so one failure does not hide the next.  Where the spec allows more
 * than one answer, every allowed answer passes. */
#include "p11_conformance.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct ctx {
    CK_FUNCTION_LIST *f;
    CK_SLOT_ID slot;
    const char *pin;
    CK_SESSION_HANDLE s;               /* a logged-in session */
    CK_OBJECT_HANDLE rsa_priv, rsa_pub, ec_priv, ec_pub;
};

typedef const char *(*check_fn)(struct ctx *c);

/* "what (CKR 0x..)": the answer a failure got. */
static const char *why_rv(const char *what, CK_RV rv)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s (0x%lx)", what, (unsigned long)rv);
    return buf;
}
#define FAIL(why) return (why)
#define EXPECT(cond, why) do { if (!(cond)) return (why); } while (0)

static const uint8_t MSG[] = "conformance: the same bytes for every module";

static CK_OBJECT_HANDLE find_key(struct ctx *c, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    if (c->f->C_FindObjectsInit(c->s, t, 2) != CKR_OK)
        return CK_INVALID_HANDLE;
    if (c->f->C_FindObjects(c->s, &h, 1, &n) != CKR_OK || n != 1)
        h = CK_INVALID_HANDLE;
    c->f->C_FindObjectsFinal(c->s);
    return h;
}

/* ---- library, slot, token ---------------------------------------------------------- */
static const char *info(struct ctx *c)
{
    CK_INFO i;
    EXPECT(c->f->C_GetInfo(&i) == CKR_OK, "C_GetInfo failed");
    EXPECT(i.cryptokiVersion.major == 2 || i.cryptokiVersion.major == 3, "cryptoki version");
    return NULL;
}

static const char *slot_list(struct ctx *c)
{
    CK_ULONG n = 0;
    EXPECT(c->f->C_GetSlotList(CK_TRUE, NULL, &n) == CKR_OK && n >= 1, "no slot with a token");
    return NULL;
}

static const char *token_rng(struct ctx *c)
{
    CK_TOKEN_INFO ti;
    EXPECT(c->f->C_GetTokenInfo(c->slot, &ti) == CKR_OK, "C_GetTokenInfo failed");
    EXPECT(ti.flags & CKF_RNG, "no CKF_RNG");
    EXPECT(ti.flags & CKF_TOKEN_INITIALIZED, "no CKF_TOKEN_INITIALIZED");
    return NULL;
}

static bool has_mech(struct ctx *c, CK_MECHANISM_TYPE m, CK_FLAGS need)
{
    CK_MECHANISM_INFO mi;
    return c->f->C_GetMechanismInfo(c->slot, m, &mi) == CKR_OK && (mi.flags & need) == need;
}

static const char *mechanisms(struct ctx *c)
{
    EXPECT(has_mech(c, CKM_SHA256, CKF_DIGEST), "CKM_SHA256 without CKF_DIGEST");
    EXPECT(has_mech(c, CKM_SHA256_RSA_PKCS, CKF_SIGN | CKF_VERIFY), "CKM_SHA256_RSA_PKCS sign/verify");
    EXPECT(has_mech(c, CKM_RSA_PKCS, CKF_ENCRYPT), "CKM_RSA_PKCS without CKF_ENCRYPT");
    EXPECT(has_mech(c, CKM_RSA_PKCS_OAEP, CKF_ENCRYPT), "CKM_RSA_PKCS_OAEP without CKF_ENCRYPT");
    EXPECT(has_mech(c, CKM_ECDSA, CKF_SIGN | CKF_VERIFY), "CKM_ECDSA sign/verify");
    CK_MECHANISM_INFO mi;
    EXPECT(c->f->C_GetMechanismInfo(c->slot, 0x7ffffff0, &mi) == CKR_MECHANISM_INVALID,
           "an unknown mechanism is not CKR_MECHANISM_INVALID");
    return NULL;
}

/* ---- sessions and login ------------------------------------------------------------- */
static const char *session_states(struct ctx *c)
{
    CK_SESSION_HANDLE s;
    CK_SESSION_INFO si;
    EXPECT(c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK, "open");
    EXPECT(c->f->C_GetSessionInfo(s, &si) == CKR_OK, "C_GetSessionInfo");
    EXPECT(si.state == CKS_RO_USER_FUNCTIONS, "a new session does not share the login");
    c->f->C_CloseSession(s);
    EXPECT(c->f->C_OpenSession(c->slot, 0, NULL, NULL, &s) == CKR_SESSION_PARALLEL_NOT_SUPPORTED,
           "no CKF_SERIAL_SESSION is not refused");
    return NULL;
}

static const char *handle_priority(struct ctx *c)
{
    uint8_t b[8];
    CK_SESSION_HANDLE bad = 0x7ffffff0;
    EXPECT(c->f->C_GenerateRandom(bad, b, sizeof b) == CKR_SESSION_HANDLE_INVALID,
           "C_GenerateRandom on a bad handle");
    EXPECT(c->f->C_SeedRandom(bad, b, sizeof b) == CKR_SESSION_HANDLE_INVALID,
           "C_SeedRandom on a bad handle");
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    EXPECT(c->f->C_DigestInit(bad, &m) == CKR_SESSION_HANDLE_INVALID, "C_DigestInit bad handle");
    EXPECT(c->f->C_VerifyInit(bad, &m, c->rsa_pub) == CKR_SESSION_HANDLE_INVALID,
           "C_VerifyInit bad handle");
    return NULL;
}

static const char *already_logged_in(struct ctx *c)
{
    CK_RV rv = c->f->C_Login(c->s, CKU_USER, (CK_UTF8CHAR_PTR)c->pin, strlen(c->pin));
    EXPECT(rv == CKR_USER_ALREADY_LOGGED_IN, "a second login is not CKR_USER_ALREADY_LOGGED_IN");
    return NULL;
}

/* ---- random ----------------------------------------------------------------------------- */
static const char *random_bytes(struct ctx *c)
{
    uint8_t a[64] = {0}, b[64] = {0}, zero[64] = {0};
    EXPECT(c->f->C_GenerateRandom(c->s, a, sizeof a) == CKR_OK, "C_GenerateRandom");
    EXPECT(c->f->C_GenerateRandom(c->s, b, sizeof b) == CKR_OK, "C_GenerateRandom again");
    EXPECT(memcmp(a, zero, sizeof a) != 0 && memcmp(a, b, sizeof a) != 0, "not random");
    EXPECT(c->f->C_GenerateRandom(c->s, a, 0) == CKR_OK, "zero bytes");
    return NULL;
}

static const char *seed_random(struct ctx *c)
{
    uint8_t seed[16] = {1};
    CK_RV rv = c->f->C_SeedRandom(c->s, seed, sizeof seed);
    EXPECT(rv == CKR_OK || rv == CKR_RANDOM_SEED_NOT_SUPPORTED, "C_SeedRandom answer");
    return NULL;
}

/* ---- digests ------------------------------------------------------------------------------ */
static const char *digest_sha256(struct ctx *c)
{
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    uint8_t out[64], ref[32];
    CK_ULONG n = 0;
    unsigned rl = 0;
    EVP_Digest(MSG, sizeof MSG, ref, &rl, EVP_sha256(), NULL);
    EXPECT(c->f->C_DigestInit(c->s, &m) == CKR_OK, "C_DigestInit");
    EXPECT(c->f->C_Digest(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, NULL, &n) == CKR_OK && n == 32,
           "size query");
    n = 8;
    EXPECT(c->f->C_Digest(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, out, &n) == CKR_BUFFER_TOO_SMALL &&
           n == 32, "short buffer");
    n = sizeof out;
    EXPECT(c->f->C_Digest(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, out, &n) == CKR_OK && n == 32 &&
           memcmp(out, ref, 32) == 0, "wrong digest");
    EXPECT(c->f->C_DigestUpdate(c->s, (CK_BYTE_PTR)MSG, 1) == CKR_OPERATION_NOT_INITIALIZED,
           "the operation did not end");
    return NULL;
}

static const char *digest_parts(struct ctx *c)
{
    static const CK_MECHANISM_TYPE mt[] = {CKM_SHA_1, CKM_SHA384, CKM_SHA512};
    static const char *names[] = {"SHA1", "SHA384", "SHA512"};
    for (size_t i = 0; i < 3; i++) {
        CK_MECHANISM m = {mt[i], NULL, 0};
        uint8_t out[64], ref[64];
        unsigned rl = 0;
        CK_ULONG n = sizeof out;
        EVP_Digest(MSG, sizeof MSG, ref, &rl, EVP_get_digestbyname(names[i]), NULL);
        EXPECT(c->f->C_DigestInit(c->s, &m) == CKR_OK, "C_DigestInit");
        EXPECT(c->f->C_DigestInit(c->s, &m) == CKR_OPERATION_ACTIVE, "second init");
        EXPECT(c->f->C_DigestUpdate(c->s, (CK_BYTE_PTR)MSG, 5) == CKR_OK &&
               c->f->C_DigestUpdate(c->s, (CK_BYTE_PTR)MSG + 5, sizeof MSG - 5) == CKR_OK,
               "C_DigestUpdate");
        EXPECT(c->f->C_DigestFinal(c->s, out, &n) == CKR_OK && n == rl &&
               memcmp(out, ref, rl) == 0, "multi-part digest differs");
    }
    return NULL;
}

static const char *digest_not_initialized(struct ctx *c)
{
    uint8_t out[64];
    CK_ULONG n = sizeof out;
    EXPECT(c->f->C_DigestFinal(c->s, out, &n) == CKR_OPERATION_NOT_INITIALIZED, "DigestFinal");
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    EXPECT(c->f->C_DigestInit(c->s, &m) == CKR_MECHANISM_INVALID, "a signing mechanism digests");
    return NULL;
}

/* ---- objects ---------------------------------------------------------------------------- */
static const char *keys_found(struct ctx *c)
{
    EXPECT(c->rsa_priv && c->rsa_pub && c->ec_priv && c->ec_pub, "RSA and EC key pairs not found");
    return NULL;
}

static const char *find_by_id(struct ctx *c)
{
    uint8_t id[64];
    CK_ATTRIBUTE a = {CKA_ID, id, sizeof id};
    EXPECT(c->f->C_GetAttributeValue(c->s, c->rsa_priv, &a, 1) == CKR_OK, "CKA_ID");
    CK_OBJECT_HANDLE h[8];
    CK_ULONG n = 0;
    CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
    CK_ATTRIBUTE t[] = {{CKA_ID, id, a.ulValueLen}, {CKA_CLASS, &pub, sizeof pub}};
    EXPECT(c->f->C_FindObjectsInit(c->s, t, 2) == CKR_OK, "C_FindObjectsInit");
    EXPECT(c->f->C_FindObjects(c->s, h, 8, &n) == CKR_OK, "C_FindObjects");
    c->f->C_FindObjectsFinal(c->s);
    EXPECT(n == 1 && h[0] == c->rsa_pub, "the public key of the same CKA_ID");
    return NULL;
}

/* Every boolean and ulong attribute of a key, alone as a template, finds it. */
static const char *find_every_attribute(struct ctx *c)
{
    static const CK_ATTRIBUTE_TYPE types[] = {
        CKA_CLASS, CKA_TOKEN, CKA_PRIVATE, CKA_KEY_TYPE, CKA_SIGN, CKA_VERIFY, CKA_ENCRYPT,
        CKA_DECRYPT, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_MODULUS_BITS, CKA_MODULUS,
        CKA_PUBLIC_EXPONENT, CKA_ID, CKA_LABEL, CKA_LOCAL, CKA_DERIVE, CKA_MODIFIABLE};
    CK_OBJECT_HANDLE keys[] = {c->rsa_priv, c->rsa_pub};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            uint8_t v[1024];
            CK_ATTRIBUTE a = {types[i], v, sizeof v};
            if (c->f->C_GetAttributeValue(c->s, keys[k], &a, 1) != CKR_OK)
                continue; /* not an attribute of this object (or sensitive) */
            CK_OBJECT_HANDLE h[64];
            CK_ULONG n = 0;
            bool seen = false;
            EXPECT(c->f->C_FindObjectsInit(c->s, &a, 1) == CKR_OK, "C_FindObjectsInit");
            EXPECT(c->f->C_FindObjects(c->s, h, 64, &n) == CKR_OK, "C_FindObjects");
            c->f->C_FindObjectsFinal(c->s);
            for (CK_ULONG j = 0; j < n; j++)
                seen |= h[j] == keys[k];
            if (!seen) {
                static char why[96];
                snprintf(why, sizeof why, "attribute 0x%lx does not find its own object",
                         (unsigned long)types[i]);
                return why;
            }
        }
    return NULL;
}

static const char *token_objects_only(struct ctx *c)
{
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE t = {CKA_TOKEN, &no, 1};
    CK_OBJECT_HANDLE h[4];
    CK_ULONG n = 9;
    EXPECT(c->f->C_FindObjectsInit(c->s, &t, 1) == CKR_OK, "C_FindObjectsInit");
    EXPECT(c->f->C_FindObjects(c->s, h, 4, &n) == CKR_OK && n == 0, "session objects found");
    c->f->C_FindObjectsFinal(c->s);
    return NULL;
}

static const char *sensitive_attributes(struct ctx *c)
{
    uint8_t v[1024];
    CK_ATTRIBUTE a = {CKA_PRIVATE_EXPONENT, v, sizeof v};
    EXPECT(c->f->C_GetAttributeValue(c->s, c->rsa_priv, &a, 1) == CKR_ATTRIBUTE_SENSITIVE &&
           a.ulValueLen == CK_UNAVAILABLE_INFORMATION, "CKA_PRIVATE_EXPONENT revealed");
    uint8_t m1[1024], m2[1024];
    CK_ATTRIBUTE x = {CKA_MODULUS, m1, sizeof m1}, y = {CKA_MODULUS, m2, sizeof m2};
    EXPECT(c->f->C_GetAttributeValue(c->s, c->rsa_priv, &x, 1) == CKR_OK &&
           c->f->C_GetAttributeValue(c->s, c->rsa_pub, &y, 1) == CKR_OK &&
           x.ulValueLen == y.ulValueLen && memcmp(m1, m2, x.ulValueLen) == 0,
           "private and public modulus differ");
    return NULL;
}

/* ---- sign and verify ------------------------------------------------------------------- */
static const char *sign_verify(struct ctx *c, CK_MECHANISM *m, CK_OBJECT_HANDLE priv,
                               CK_OBJECT_HANDLE pub)
{
    uint8_t sig[1024];
    CK_ULONG n = sizeof sig;
    EXPECT(c->f->C_SignInit(c->s, m, priv) == CKR_OK, "C_SignInit");
    EXPECT(c->f->C_Sign(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, sig, &n) == CKR_OK, "C_Sign");
    EXPECT(c->f->C_VerifyInit(c->s, m, pub) == CKR_OK, "C_VerifyInit");
    EXPECT(c->f->C_Verify(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, sig, n) == CKR_OK, "C_Verify");
    /* multi-part */
    EXPECT(c->f->C_VerifyInit(c->s, m, pub) == CKR_OK, "C_VerifyInit");
    EXPECT(c->f->C_VerifyUpdate(c->s, (CK_BYTE_PTR)MSG, 3) == CKR_OK &&
           c->f->C_VerifyUpdate(c->s, (CK_BYTE_PTR)MSG + 3, sizeof MSG - 3) == CKR_OK,
           "C_VerifyUpdate");
    EXPECT(c->f->C_VerifyFinal(c->s, sig, n) == CKR_OK, "C_VerifyFinal");
    /* altered data, altered signature, wrong length */
    EXPECT(c->f->C_VerifyInit(c->s, m, pub) == CKR_OK, "C_VerifyInit");
    EXPECT(c->f->C_Verify(c->s, (CK_BYTE_PTR)MSG, sizeof MSG - 1, sig, n) ==
           CKR_SIGNATURE_INVALID, "altered data verifies");
    sig[n / 2] ^= 1;
    EXPECT(c->f->C_VerifyInit(c->s, m, pub) == CKR_OK, "C_VerifyInit");
    EXPECT(c->f->C_Verify(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, sig, n) == CKR_SIGNATURE_INVALID,
           "an altered signature verifies");
    EXPECT(c->f->C_VerifyInit(c->s, m, pub) == CKR_OK, "C_VerifyInit");
    EXPECT(c->f->C_Verify(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, sig, n - 1) ==
           CKR_SIGNATURE_LEN_RANGE, "a short signature is not CKR_SIGNATURE_LEN_RANGE");
    return NULL;
}

static const char *verify_rsa_pkcs(struct ctx *c)
{
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    return sign_verify(c, &m, c->rsa_priv, c->rsa_pub);
}

static const char *verify_rsa_pss(struct ctx *c)
{
    CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS_PSS, &pp, sizeof pp};
    return sign_verify(c, &m, c->rsa_priv, c->rsa_pub);
}

/* Raw CKM_ECDSA over a SHA-256 digest (every module has it; SoftHSM2 2.6 has no
 * CKM_ECDSA_SHA256). */
static const char *verify_ecdsa(struct ctx *c)
{
    CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
    uint8_t d[32], sig[256];
    unsigned dl = 0;
    CK_ULONG n = sizeof sig;
    EVP_Digest(MSG, sizeof MSG, d, &dl, EVP_sha256(), NULL);
    EXPECT(c->f->C_SignInit(c->s, &m, c->ec_priv) == CKR_OK, "C_SignInit");
    EXPECT(c->f->C_Sign(c->s, d, 32, sig, &n) == CKR_OK && n == 64, "C_Sign");
    EXPECT(c->f->C_VerifyInit(c->s, &m, c->ec_pub) == CKR_OK, "C_VerifyInit");
    EXPECT(c->f->C_Verify(c->s, d, 32, sig, n) == CKR_OK, "C_Verify");
    d[0] ^= 1;
    EXPECT(c->f->C_VerifyInit(c->s, &m, c->ec_pub) == CKR_OK, "C_VerifyInit");
    EXPECT(c->f->C_Verify(c->s, d, 32, sig, n) == CKR_SIGNATURE_INVALID, "altered digest verifies");
    EXPECT(c->f->C_VerifyInit(c->s, &m, c->ec_pub) == CKR_OK, "C_VerifyInit");
    CK_RV rv = c->f->C_Verify(c->s, d, 32, sig, n - 1);
    if (rv != CKR_SIGNATURE_LEN_RANGE)
        return why_rv("a short signature is not CKR_SIGNATURE_LEN_RANGE", rv);
    return NULL;
}

static const char *verify_with_private_key(struct ctx *c)
{
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_RV rv = c->f->C_VerifyInit(c->s, &m, c->ec_pub);
    if (rv != CKR_KEY_TYPE_INCONSISTENT)
        return why_rv("an RSA mechanism with an EC key", rv);
    return NULL;
}

/* ---- encryption ---------------------------------------------------------------------- */
static const char *encrypt_rsa(struct ctx *c)
{
    CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM ms[] = {{CKM_RSA_PKCS, NULL, 0}, {CKM_RSA_PKCS_OAEP, &op, sizeof op}};
    for (size_t i = 0; i < 2; i++) {
        uint8_t a[1024], b[1024];
        CK_ULONG na = 0, nb = sizeof b;
        CK_RV rv = c->f->C_EncryptInit(c->s, &ms[i], c->rsa_pub);
        if (rv)
            return why_rv("C_EncryptInit", rv);
        EXPECT(c->f->C_Encrypt(c->s, (CK_BYTE_PTR)MSG, 16, NULL, &na) == CKR_OK && na >= 256,
               "size query");
        na = sizeof a;
        EXPECT(c->f->C_Encrypt(c->s, (CK_BYTE_PTR)MSG, 16, a, &na) == CKR_OK, "C_Encrypt");
        EXPECT(c->f->C_EncryptInit(c->s, &ms[i], c->rsa_pub) == CKR_OK, "C_EncryptInit");
        EXPECT(c->f->C_Encrypt(c->s, (CK_BYTE_PTR)MSG, 16, b, &nb) == CKR_OK, "C_Encrypt");
        EXPECT(na == nb && memcmp(a, b, na) != 0, "two encryptions are equal (no random padding)");
    }
    return NULL;
}

static const char *encrypt_too_long(struct ctx *c)
{
    CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
    uint8_t big[1024] = {0}, out[1024];
    CK_ULONG n = sizeof out;
    EXPECT(c->f->C_EncryptInit(c->s, &m, c->rsa_pub) == CKR_OK, "C_EncryptInit");
    EXPECT(c->f->C_Encrypt(c->s, big, 250, out, &n) == CKR_DATA_LEN_RANGE,
           "more than k - 11 bytes is not CKR_DATA_LEN_RANGE");
    return NULL;
}

/* ---- logout -------------------------------------------------------------------------- */
static const char *logout_ends_private_use(struct ctx *c)
{
    CK_SESSION_HANDLE s;
    EXPECT(c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK, "open");
    EXPECT(c->f->C_Logout(s) == CKR_OK, "C_Logout");
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_RV rv = c->f->C_SignInit(s, &m, c->rsa_priv);
    if (rv == CKR_OK)
        return why_rv("signs after logout", rv);
    /* public operations continue */
    EXPECT(c->f->C_VerifyInit(s, &m, c->rsa_pub) == CKR_OK, "verify needs no login");
    uint8_t junk[256] = {0};
    EXPECT(c->f->C_Verify(s, junk, 4, junk, sizeof junk) == CKR_SIGNATURE_INVALID,
           "a junk signature verifies");
    CK_MECHANISM d = {CKM_SHA256, NULL, 0};
    EXPECT(c->f->C_DigestInit(s, &d) == CKR_OK, "digest needs no login");
    EXPECT(c->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)c->pin, strlen(c->pin)) == CKR_OK,
           "login again");
    c->f->C_CloseSession(s);
    return NULL;
}

static const char *initialize_twice(struct ctx *c)
{
    CK_RV rv = c->f->C_Initialize(NULL);
    if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return why_rv("a second C_Initialize", rv);
    return NULL;
}

static bool blank_padded(const CK_UTF8CHAR *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == 0)
            return false;
    return true;
}

/* Text fields are blank-padded, never NUL-terminated (PKCS#11 2.40 3.2). */
static const char *text_fields(struct ctx *c)
{
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_INFO i;
    EXPECT(c->f->C_GetInfo(&i) == CKR_OK && blank_padded(i.manufacturerID, 32) &&
           blank_padded(i.libraryDescription, 32), "CK_INFO text fields");
    EXPECT(c->f->C_GetSlotInfo(c->slot, &si) == CKR_OK, "C_GetSlotInfo");
    EXPECT(si.flags & CKF_TOKEN_PRESENT, "no CKF_TOKEN_PRESENT");
    EXPECT(blank_padded(si.slotDescription, 64) && blank_padded(si.manufacturerID, 32),
           "slot text fields");
    EXPECT(c->f->C_GetTokenInfo(c->slot, &ti) == CKR_OK, "C_GetTokenInfo");
    EXPECT(blank_padded(ti.label, 32) && blank_padded(ti.manufacturerID, 32) &&
           blank_padded(ti.model, 16) && blank_padded(ti.serialNumber, 16),
           "token text fields");
    EXPECT(ti.ulMinPinLen <= ti.ulMaxPinLen, "ulMinPinLen above ulMaxPinLen");
    EXPECT(ti.flags & CKF_USER_PIN_INITIALIZED, "no CKF_USER_PIN_INITIALIZED");
    CK_RV rv = c->f->C_GetSlotInfo(0x7ffffff0, &si);
    if (rv != CKR_SLOT_ID_INVALID)
        return why_rv("C_GetSlotInfo of an unknown slot", rv);
    rv = c->f->C_GetTokenInfo(0x7ffffff0, &ti);
    if (rv != CKR_SLOT_ID_INVALID)
        return why_rv("C_GetTokenInfo of an unknown slot", rv);
    return NULL;
}

/* C_Sign: a size query and a short buffer leave the operation active (5.2);
 * operations belong to their session; a second C_SignInit is refused. */
static const char *sign_buffer_rules(struct ctx *c)
{
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    uint8_t a[512], b[512];
    CK_ULONG need = 0, n = 8;
    CK_RV rv;
    EXPECT(c->f->C_SignInit(c->s, &m, c->rsa_priv) == CKR_OK, "C_SignInit");
    if ((rv = c->f->C_SignInit(c->s, &m, c->rsa_priv)) != CKR_OPERATION_ACTIVE)
        return why_rv("a second C_SignInit", rv);
    CK_SESSION_HANDLE other;
    EXPECT(c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION, NULL, NULL, &other) == CKR_OK,
           "open");
    rv = c->f->C_Sign(other, (CK_BYTE_PTR)MSG, sizeof MSG, a, &n);
    c->f->C_CloseSession(other);
    if (rv != CKR_OPERATION_NOT_INITIALIZED)
        return why_rv("C_Sign in a session without the operation", rv);
    EXPECT(c->f->C_Sign(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, NULL, &need) == CKR_OK && need >= 256,
           "size query");
    n = 8;
    if ((rv = c->f->C_Sign(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, a, &n)) != CKR_BUFFER_TOO_SMALL)
        return why_rv("an 8-byte signature buffer", rv);
    EXPECT(n == need, "a short buffer does not get the length");
    n = sizeof a;
    EXPECT(c->f->C_Sign(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, a, &n) == CKR_OK && n == need,
           "the operation did not survive the short buffer");
    if ((rv = c->f->C_Sign(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, a, &n)) !=
        CKR_OPERATION_NOT_INITIALIZED)
        return why_rv("C_Sign after the signature was made", rv);
    EXPECT(c->f->C_SignInit(c->s, &m, c->rsa_priv) == CKR_OK, "C_SignInit");
    CK_ULONG nb = sizeof b;
    EXPECT(c->f->C_Sign(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, b, &nb) == CKR_OK && nb == n &&
           memcmp(a, b, n) == 0, "PKCS#1 v1.5 signatures of the same data differ");
    return NULL;
}

/* ---- handles, attributes, login states (what a general consumer relies on) ------------- */
static const char *handle_edges(struct ctx *c)
{
    CK_SESSION_HANDLE s;
    CK_SESSION_INFO si;
    CK_RV rv;
    EXPECT(c->f->C_OpenSession(0x7ffffff0, CKF_SERIAL_SESSION, NULL, NULL, &s) ==
           CKR_SLOT_ID_INVALID, "C_OpenSession on an unknown slot");
    EXPECT(c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION, NULL, NULL, &s) == CKR_OK, "open");
    EXPECT(c->f->C_CloseSession(s) == CKR_OK, "close");
    if ((rv = c->f->C_CloseSession(s)) != CKR_SESSION_HANDLE_INVALID)
        return why_rv("closing a closed session", rv);
    EXPECT(c->f->C_GetSessionInfo(s, &si) == CKR_SESSION_HANDLE_INVALID,
           "C_GetSessionInfo on a closed session");
    uint8_t v[64];
    CK_ATTRIBUTE a = {CKA_LABEL, v, sizeof v};
    if ((rv = c->f->C_GetAttributeValue(c->s, 0x7ffffff0, &a, 1)) != CKR_OBJECT_HANDLE_INVALID)
        return why_rv("C_GetAttributeValue of an unknown object", rv);
    a.ulValueLen = sizeof v;
    if ((rv = c->f->C_GetAttributeValue(c->s, CK_INVALID_HANDLE, &a, 1)) !=
        CKR_OBJECT_HANDLE_INVALID)
        return why_rv("C_GetAttributeValue of CK_INVALID_HANDLE", rv);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    if ((rv = c->f->C_SignInit(c->s, &m, 0x7ffffff0)) != CKR_KEY_HANDLE_INVALID)
        return why_rv("C_SignInit with an unknown key", rv);
    if ((rv = c->f->C_VerifyInit(c->s, &m, CK_INVALID_HANDLE)) != CKR_KEY_HANDLE_INVALID)
        return why_rv("C_VerifyInit with CK_INVALID_HANDLE", rv);
    return NULL;
}

static const char *find_operation_rules(struct ctx *c)
{
    CK_OBJECT_HANDLE h[4];
    CK_ULONG n = 0;
    CK_RV rv;
    if ((rv = c->f->C_FindObjects(c->s, h, 4, &n)) != CKR_OPERATION_NOT_INITIALIZED)
        return why_rv("C_FindObjects without C_FindObjectsInit", rv);
    if ((rv = c->f->C_FindObjectsFinal(c->s)) != CKR_OPERATION_NOT_INITIALIZED)
        return why_rv("C_FindObjectsFinal without C_FindObjectsInit", rv);
    EXPECT(c->f->C_FindObjectsInit(c->s, NULL, 0) == CKR_OK, "C_FindObjectsInit");
    if ((rv = c->f->C_FindObjectsInit(c->s, NULL, 0)) != CKR_OPERATION_ACTIVE)
        return why_rv("a second C_FindObjectsInit", rv);
    /* one at a time, to the end, then nothing more */
    CK_ULONG total = 0;
    for (int i = 0; i < 1000; i++) {
        EXPECT(c->f->C_FindObjects(c->s, h, 1, &n) == CKR_OK, "C_FindObjects");
        if (n == 0)
            break;
        total += n;
    }
    EXPECT(total >= 4, "fewer than four objects (two key pairs) found one by one");
    EXPECT(c->f->C_FindObjects(c->s, h, 4, &n) == CKR_OK && n == 0, "objects after the end");
    EXPECT(c->f->C_FindObjectsFinal(c->s) == CKR_OK, "C_FindObjectsFinal");
    return NULL;
}

/* PKCS#11 2.40 5.7 C_GetAttributeValue: every attribute of the template is
 * processed; a short buffer gets CK_UNAVAILABLE_INFORMATION and
 * CKR_BUFFER_TOO_SMALL, a sensitive one CKR_ATTRIBUTE_SENSITIVE, an unknown
 * type CKR_ATTRIBUTE_TYPE_INVALID, and the others are still filled in. */
static const char *attribute_buffers(struct ctx *c)
{
    uint8_t mod[1024], small[1], exp[1024];
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE q = {CKA_MODULUS, NULL, 0};
    EXPECT(c->f->C_GetAttributeValue(c->s, c->rsa_pub, &q, 1) == CKR_OK && q.ulValueLen >= 256,
           "size query of CKA_MODULUS");
    CK_ULONG need = q.ulValueLen;
    CK_ATTRIBUTE t[] = {{CKA_MODULUS, small, sizeof small}, {CKA_KEY_TYPE, &kt, sizeof kt}};
    CK_RV rv = c->f->C_GetAttributeValue(c->s, c->rsa_pub, t, 2);
    if (rv != CKR_BUFFER_TOO_SMALL)
        return why_rv("a 1-byte buffer for CKA_MODULUS", rv);
    EXPECT(t[0].ulValueLen == CK_UNAVAILABLE_INFORMATION,
           "short buffer: ulValueLen is not CK_UNAVAILABLE_INFORMATION");
    EXPECT(kt == CKK_RSA && t[1].ulValueLen == sizeof kt,
           "the attribute after a short buffer is not filled in");
    CK_ATTRIBUTE e[] = {{CKA_PRIVATE_EXPONENT, exp, sizeof exp}, {CKA_MODULUS, mod, sizeof mod}};
    rv = c->f->C_GetAttributeValue(c->s, c->rsa_priv, e, 2);
    if (rv != CKR_ATTRIBUTE_SENSITIVE)
        return why_rv("CKA_PRIVATE_EXPONENT of a sensitive key", rv);
    EXPECT(e[0].ulValueLen == CK_UNAVAILABLE_INFORMATION, "sensitive: ulValueLen");
    EXPECT(e[1].ulValueLen == need, "the modulus next to a sensitive attribute");
    CK_ATTRIBUTE u[] = {{CKA_VALUE_BITS, exp, sizeof exp}, {CKA_KEY_TYPE, &kt, sizeof kt}};
    kt = 0;
    rv = c->f->C_GetAttributeValue(c->s, c->ec_pub, u, 2);
    if (rv != CKR_ATTRIBUTE_TYPE_INVALID)
        return why_rv("CKA_VALUE_BITS of an EC public key", rv);
    EXPECT(u[0].ulValueLen == CK_UNAVAILABLE_INFORMATION && kt == CKK_EC,
           "type invalid: ulValueLen, or the next attribute");
    return NULL;
}

static const char *mechanism_ranges(struct ctx *c)
{
    CK_MECHANISM_INFO mi;
    CK_ULONG n = 0;
    EXPECT(c->f->C_GetMechanismList(c->slot, NULL, &n) == CKR_OK && n >= 4, "size query");
    CK_MECHANISM_TYPE list[256];
    CK_ULONG few = 1;
    CK_RV rv = c->f->C_GetMechanismList(c->slot, list, &few);
    if (rv != CKR_BUFFER_TOO_SMALL)
        return why_rv("a one-entry buffer for the mechanism list", rv);
    EXPECT(few == n, "a short buffer does not get the count");
    EXPECT(n <= 256 && c->f->C_GetMechanismList(c->slot, list, &n) == CKR_OK, "the list");
    for (CK_ULONG i = 0; i < n; i++) {
        EXPECT(c->f->C_GetMechanismInfo(c->slot, list[i], &mi) == CKR_OK,
               "a listed mechanism has no info");
        EXPECT(mi.ulMinKeySize <= mi.ulMaxKeySize, "min key size above max");
    }
    EXPECT(c->f->C_GetMechanismInfo(c->slot, CKM_SHA256_RSA_PKCS, &mi) == CKR_OK &&
           mi.ulMinKeySize <= 2048 && mi.ulMaxKeySize >= 2048,
           "CKM_SHA256_RSA_PKCS does not cover 2048-bit keys (sizes in bits)");
    EXPECT(c->f->C_GetMechanismInfo(c->slot, CKM_ECDSA, &mi) == CKR_OK &&
           mi.ulMinKeySize <= 256 && mi.ulMaxKeySize >= 256,
           "CKM_ECDSA does not cover P-256 (sizes in bits)");
    rv = c->f->C_GetMechanismInfo(0x7ffffff0, CKM_ECDSA, &mi);
    if (rv != CKR_SLOT_ID_INVALID)
        return why_rv("C_GetMechanismInfo on an unknown slot", rv);
    return NULL;
}

/* Multi-part signing gives the same deterministic signature as single-part, for
 * each hashing mechanism; multi-part verification accepts it. */
static const char *multipart_mechanisms(struct ctx *c)
{
    CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA384, CKG_MGF1_SHA384, 48};
    CK_MECHANISM ms[] = {{CKM_SHA256_RSA_PKCS, NULL, 0}, {CKM_SHA384_RSA_PKCS, NULL, 0},
                         {CKM_SHA512_RSA_PKCS, NULL, 0}, {CKM_SHA1_RSA_PKCS, NULL, 0},
                         {CKM_SHA384_RSA_PKCS_PSS, &pp, sizeof pp}};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        uint8_t one[512], parts[512];
        CK_ULONG n1 = sizeof one, n2 = sizeof parts;
        CK_RV rv = c->f->C_SignInit(c->s, &ms[i], c->rsa_priv);
        if (rv)
            return why_rv("C_SignInit", rv);
        EXPECT(c->f->C_Sign(c->s, (CK_BYTE_PTR)MSG, sizeof MSG, one, &n1) == CKR_OK, "C_Sign");
        EXPECT(c->f->C_SignInit(c->s, &ms[i], c->rsa_priv) == CKR_OK, "C_SignInit");
        for (size_t off = 0; off < sizeof MSG; off += 7) {
            size_t len = sizeof MSG - off < 7 ? sizeof MSG - off : 7;
            EXPECT(c->f->C_SignUpdate(c->s, (CK_BYTE_PTR)MSG + off, len) == CKR_OK,
                   "C_SignUpdate");
        }
        CK_ULONG q = 0;
        EXPECT(c->f->C_SignFinal(c->s, NULL, &q) == CKR_OK && q == n1, "C_SignFinal size query");
        EXPECT(c->f->C_SignFinal(c->s, parts, &n2) == CKR_OK && n2 == n1, "C_SignFinal");
        /* PKCS#1 v1.5 is deterministic; PSS is salted, so it is checked by verifying. */
        EXPECT(ms[i].mechanism == CKM_SHA384_RSA_PKCS_PSS || memcmp(one, parts, n1) == 0,
               "multi-part and single-part signatures differ");
        EXPECT(c->f->C_VerifyInit(c->s, &ms[i], c->rsa_pub) == CKR_OK, "C_VerifyInit");
        EXPECT(c->f->C_VerifyUpdate(c->s, (CK_BYTE_PTR)MSG, 5) == CKR_OK &&
               c->f->C_VerifyUpdate(c->s, (CK_BYTE_PTR)MSG + 5, sizeof MSG - 5) == CKR_OK &&
               c->f->C_VerifyFinal(c->s, parts, n2) == CKR_OK,
               "the multi-part signature does not verify");
        EXPECT(c->f->C_SignFinal(c->s, parts, &n2) == CKR_OPERATION_NOT_INITIALIZED,
               "C_SignFinal after the operation ended");
    }
    return NULL;
}

/* Login states without an SO: a wrong PIN, logging out twice, the session state
 * following the login, a PIN given again after logging out. */
static const char *login_states(struct ctx *c)
{
    CK_SESSION_INFO si;
    CK_RV rv;
    EXPECT(c->f->C_Logout(c->s) == CKR_OK, "C_Logout");
    if ((rv = c->f->C_Logout(c->s)) != CKR_USER_NOT_LOGGED_IN)
        return why_rv("a second C_Logout", rv);
    EXPECT(c->f->C_GetSessionInfo(c->s, &si) == CKR_OK && si.state == CKS_RO_PUBLIC_SESSION,
           "logged out, the session is not CKS_RO_PUBLIC_SESSION");
    char wrong[64];
    snprintf(wrong, sizeof wrong, "%s-not", c->pin);
    rv = c->f->C_Login(c->s, CKU_USER, (CK_UTF8CHAR_PTR)wrong, strlen(wrong));
    if (rv != CKR_PIN_INCORRECT)
        return why_rv("a wrong PIN is not CKR_PIN_INCORRECT", rv);
    EXPECT(c->f->C_GetSessionInfo(c->s, &si) == CKR_OK && si.state == CKS_RO_PUBLIC_SESSION,
           "a wrong PIN changed the session state");
    EXPECT(c->f->C_Login(c->s, CKU_USER, (CK_UTF8CHAR_PTR)c->pin, strlen(c->pin)) == CKR_OK,
           "login after a wrong PIN");
    EXPECT(c->f->C_GetSessionInfo(c->s, &si) == CKR_OK && si.state == CKS_RO_USER_FUNCTIONS,
           "logged in, the session is not CKS_RO_USER_FUNCTIONS");
    return NULL;
}

/* C_CloseAllSessions closes every session of the slot and so ends the login;
 * the check logs in again for what follows. */
static const char *close_all_sessions(struct ctx *c)
{
    CK_SESSION_HANDLE a, b;
    CK_SESSION_INFO si;
    EXPECT(c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION, NULL, NULL, &a) == CKR_OK &&
           c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &b) ==
           CKR_OK, "open two sessions");
    EXPECT(c->f->C_CloseAllSessions(c->slot) == CKR_OK, "C_CloseAllSessions");
    EXPECT(c->f->C_GetSessionInfo(a, &si) == CKR_SESSION_HANDLE_INVALID &&
           c->f->C_GetSessionInfo(b, &si) == CKR_SESSION_HANDLE_INVALID &&
           c->f->C_GetSessionInfo(c->s, &si) == CKR_SESSION_HANDLE_INVALID,
           "a session survived C_CloseAllSessions");
    EXPECT(c->f->C_CloseAllSessions(0x7ffffff0) == CKR_SLOT_ID_INVALID, "an unknown slot");
    EXPECT(c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION, NULL, NULL, &c->s) == CKR_OK, "open");
    EXPECT(c->f->C_GetSessionInfo(c->s, &si) == CKR_OK && si.state == CKS_RO_PUBLIC_SESSION,
           "still logged in after C_CloseAllSessions");
    EXPECT(c->f->C_Login(c->s, CKU_USER, (CK_UTF8CHAR_PTR)c->pin, strlen(c->pin)) == CKR_OK,
           "login again");
    return NULL;
}

/* ---- key generation ------------------------------------------------------------------ */
static const char *generate_key_pair(struct ctx *c)
{
    CK_SESSION_HANDLE s;
    EXPECT(c->f->C_OpenSession(c->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) ==
           CKR_OK, "open a read/write session");
    static const uint8_t p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_BBOOL yes = CK_TRUE;
    uint8_t id[] = {0x01, 0x77};
    CK_ATTRIBUTE pub[] = {{CKA_TOKEN, &yes, 1}, {CKA_VERIFY, &yes, 1},
                          {CKA_EC_PARAMS, (void *)p256, sizeof p256}, {CKA_ID, id, 2},
                          {CKA_LABEL, "generated", 9}};
    CK_ATTRIBUTE priv[] = {{CKA_TOKEN, &yes, 1}, {CKA_PRIVATE, &yes, 1}, {CKA_SIGN, &yes, 1},
                           {CKA_SENSITIVE, &yes, 1}, {CKA_ID, id, 2}, {CKA_LABEL, "generated", 9}};
    CK_MECHANISM m = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hp = 0, hk = 0;
    CK_RV rv = c->f->C_GenerateKeyPair(s, &m, pub, 5, priv, 6, &hp, &hk);
    if (rv)
        return why_rv("C_GenerateKeyPair", rv);
    /* usable at once */
    CK_MECHANISM em = {CKM_ECDSA, NULL, 0};
    uint8_t d[32] = {1, 2, 3}, sig[128];
    CK_ULONG n = sizeof sig;
    EXPECT(c->f->C_SignInit(s, &em, hk) == CKR_OK && c->f->C_Sign(s, d, 32, sig, &n) == CKR_OK,
           "the new key does not sign");
    EXPECT(c->f->C_VerifyInit(s, &em, hp) == CKR_OK && c->f->C_Verify(s, d, 32, sig, n) == CKR_OK,
           "its signature does not verify with its public key");
    c->f->C_CloseSession(s);
    return NULL;
}

static const struct {
    const char *name;
    check_fn fn;
} CHECKS[] = {
    {"C_GetInfo", info},
    {"C_GetSlotList", slot_list},
    {"token flags (CKF_RNG)", token_rng},
    {"mechanism list and info", mechanisms},
    {"session states and serial sessions", session_states},
    {"invalid session handle wins", handle_priority},
    {"login twice", already_logged_in},
    {"C_GenerateRandom", random_bytes},
    {"C_SeedRandom", seed_random},
    {"C_Digest SHA-256 (size query, short buffer)", digest_sha256},
    {"C_DigestUpdate/Final SHA-1/384/512", digest_parts},
    {"digest operation rules", digest_not_initialized},
    {"RSA and EC key pairs present", keys_found},
    {"find by CKA_ID and class", find_by_id},
    {"find by every attribute", find_every_attribute},
    {"find CKA_TOKEN false", token_objects_only},
    {"sensitive attributes and shared modulus", sensitive_attributes},
    {"sign + verify CKM_SHA256_RSA_PKCS", verify_rsa_pkcs},
    {"sign + verify CKM_SHA256_RSA_PKCS_PSS", verify_rsa_pss},
    {"sign + verify CKM_ECDSA (SHA-256 digest)", verify_ecdsa},
    {"verify key type", verify_with_private_key},
    {"C_Encrypt RSA PKCS#1 v1.5 and OAEP", encrypt_rsa},
    {"C_Encrypt data length", encrypt_too_long},
    {"C_Initialize twice", initialize_twice},
    {"blank-padded text fields, slot and token info", text_fields},
    {"C_Sign size query, short buffer, one operation per session", sign_buffer_rules},
    {"session and object handle edge cases", handle_edges},
    {"find operation rules", find_operation_rules},
    {"C_GetAttributeValue short buffer, sensitive, unknown type", attribute_buffers},
    {"mechanism list and key size ranges", mechanism_ranges},
    {"multi-part sign/verify across RSA mechanisms", multipart_mechanisms},
    /* From here on the user logs out and in again: some modules (SoftHSM2)
     * drop the handles of private objects at logout, so no later check uses
     * the handles found at the start. */
    {"logout", logout_ends_private_use},
    {"C_GenerateKeyPair EC P-256, signs at once", generate_key_pair},
    {"login states", login_states},
    /* last: it closes every session and logs in again */
    {"C_CloseAllSessions", close_all_sessions},
};

void p11c_run(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, const char *pin, const char *tag,
              struct p11c_result *out)
{
    memset(out, 0, sizeof *out);
    struct ctx c = {.f = f, .slot = slot, .pin = pin};
    f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &c.s);
    f->C_Login(c.s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    c.rsa_priv = find_key(&c, CKO_PRIVATE_KEY, CKK_RSA);
    c.rsa_pub = find_key(&c, CKO_PUBLIC_KEY, CKK_RSA);
    c.ec_priv = find_key(&c, CKO_PRIVATE_KEY, CKK_EC);
    c.ec_pub = find_key(&c, CKO_PUBLIC_KEY, CKK_EC);
    CK_SESSION_HANDLE first = c.s;
    for (size_t i = 0; i < sizeof CHECKS / sizeof CHECKS[0] && i < P11C_MAX_CHECKS; i++) {
        /* A session per check: an operation a failed check left active (some
         * modules run one operation per session) cannot fail the next one. */
        f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &c.s);
        const char *why = CHECKS[i].fn(&c);
        f->C_CloseSession(c.s);
        out->name[i] = CHECKS[i].name;
        out->ok[i] = why == NULL;
        out->n++;
        out->passed += why == NULL;
        if (why)
            printf("%s FAIL %s: %s\n", tag, CHECKS[i].name, why);
        else
            printf("%s PASS %s\n", tag, CHECKS[i].name);
    }
    f->C_CloseSession(first);
}

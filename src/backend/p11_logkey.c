/* The audit log key on a PKCS#11 token (backend.h): the pkcs11 backend signs
 * checkpoints with an Ed25519 key labelled log_key_label.  A migration either moves
 * the YubiHSM's log key there (only possible when its wrapped copy carries the
 * seed: PKCS#11 takes an Ed25519 private key as its seed, never as the expanded
 * scalar the YubiHSM's legacy wrap format holds), or makes a new one on the token.
 * Either way the token's key is proven by a signature the expected public key
 * verifies, before the caller is told. */
#include <string.h>

#include <openssl/evp.h>

#include "signet/secmem.h"
#include "p11_internal.h"

/* DER of the curve name: PrintableString "edwards25519" (PKCS#11 3.0, 2.3.10). */
static const uint8_t ED25519_PARAMS[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's',
                                         '2', '5', '5', '1', '9'};

static signet_rc p11_dev_of(signet_device *d, p11_dev **out)
{
    if (strcmp(d->ops->kind, "pkcs11") != 0)
        return signet_fail(SIGNET_E_ARG, "the log key moves onto a PKCS#11 token (backend = pkcs11)");
    *out = d->impl;
    return SIGNET_OK;
}

/* The token's log key signs a fixed message; pub must verify it. */
static signet_rc prove(p11_dev *p, CK_OBJECT_HANDLE h, const uint8_t pub[32])
{
    static const char msg[] = "signet: the token's log key is the expected one";
    uint8_t sig[64];
    size_t n = sizeof sig;
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    signet_rc rc = p11_sign_raw(p, h, &m, (const uint8_t *)msg, sizeof msg - 1, sig, &n);
    if (rc)
        return signet_wrap(rc, "the log key '%s' on token '%s' did not sign", p->log_key_label,
                           p->token);
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = k && c && n == 64 && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
              EVP_DigestVerify(c, sig, n, (const uint8_t *)msg, sizeof msg - 1) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    if (!ok)
        return signet_fail(SIGNET_E_VERIFY, "the key labelled '%s' on token '%s' is not the "
                                            "expected log key (its signature does not verify)",
                           p->log_key_label, p->token);
    return SIGNET_OK;
}

/* The Ed25519 public key object beside the log key (CKA_EC_POINT: DER OCTET STRING). */
static signet_rc put_public(p11_dev *p, const uint8_t pub[32])
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = CKK_EC_EDWARDS;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    uint8_t point[34] = {0x04, 0x20};
    memcpy(point + 2, pub, 32);
    CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &f, 1}, {CKA_VERIFY, &t, 1},
                        {CKA_LABEL, p->log_key_label, strlen(p->log_key_label)},
                        {CKA_EC_PARAMS, (void *)ED25519_PARAMS, sizeof ED25519_PARAMS},
                        {CKA_EC_POINT, point, sizeof point}};
    CK_OBJECT_HANDLE h;
    CK_RV rv = p->f->C_CreateObject(p->sess, a, sizeof a / sizeof a[0], &h);
    return rv == CKR_OK ? SIGNET_OK : p11_fail(rv, "creating the log key's public key object");
}

signet_rc signet_pkcs11_put_log_key(signet_device *d, const uint8_t seed[32],
                                    const uint8_t pub[32], bool *existed)
{
    p11_dev *p = NULL;
    signet_rc rc = p11_dev_of(d, &p);
    *existed = false;
    if (rc)
        return rc;
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    rc = p11_find(p, CKO_PRIVATE_KEY, p->log_key_label, &h);
    if (rc == SIGNET_OK) {
        rc = prove(p, h, pub);
        *existed = rc == SIGNET_OK;
        return rc ? signet_wrap(rc, "token '%s' already holds another '%s'", p->token,
                                p->log_key_label)
                  : SIGNET_OK;
    }
    if (rc != SIGNET_E_NOTFOUND)
        return rc;
    signet_err_clear();
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    uint8_t derived[32];
    size_t dl = sizeof derived;
    if (!pk || EVP_PKEY_get_raw_public_key(pk, derived, &dl) != 1 || dl != 32 ||
        memcmp(derived, pub, 32) != 0) {
        EVP_PKEY_free(pk);
        return signet_fail(SIGNET_E_VERIFY, "the log key's seed does not give the log key's "
                                            "public key (log.vkey): a damaged wrapped copy");
    }
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = CKK_EC_EDWARDS;
    CK_BBOOL t = CK_TRUE;
    CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &t, 1}, {CKA_SENSITIVE, &t, 1},
                        {CKA_SIGN, &t, 1}, {CKA_EXTRACTABLE, &t, 1},
                        {CKA_WRAP_WITH_TRUSTED, &t, 1},
                        {CKA_LABEL, p->log_key_label, strlen(p->log_key_label)}};
    rc = p11_unwrap_private(p, pk, a, sizeof a / sizeof a[0], &h);
    EVP_PKEY_free(pk);
    if (rc == SIGNET_E_DEVICE) {
        /* SoftHSM2 2.6.1, for one, unwraps RSA, DSA, DH and EC keys but not Ed25519
         * (CKR_FUNCTION_FAILED).  Plaintext object creation is no way out (FIPS-mode
         * tokens refuse it, and it hands the seed over in the clear): the caller
         * makes a new log key instead. */
        char why[256];
        snprintf(why, sizeof why, "%s", signet_errmsg());
        return signet_fail(SIGNET_E_UNSUPPORTED, "token '%s' does not take an Ed25519 key by "
                                                 "C_UnwrapKey (%s)", p->token, why);
    }
    if (rc == SIGNET_OK)
        rc = put_public(p, pub);
    if (rc == SIGNET_OK && (rc = prove(p, h, pub)) != SIGNET_OK)
        (void)p->f->C_DestroyObject(p->sess, h); /* never leave a wrong key under the name */
    return rc ? signet_wrap(rc, "moving the log key onto token '%s'", p->token) : SIGNET_OK;
}

signet_rc signet_pkcs11_new_log_key(signet_device *d, uint8_t pub[32])
{
    p11_dev *p = NULL;
    signet_rc rc = p11_dev_of(d, &p);
    if (rc)
        return rc;
    CK_OBJECT_HANDLE h;
    if ((rc = p11_find(p, CKO_PRIVATE_KEY, p->log_key_label, &h)) == SIGNET_OK)
        return signet_fail(SIGNET_E_STATE, "token '%s' already holds a key labelled '%s': a new "
                                           "log key is made only where none is", p->token,
                           p->log_key_label);
    if (rc != SIGNET_E_NOTFOUND)
        return rc;
    signet_err_clear();
    rc = SIGNET_OK;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE pubt[] = {{CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &f, 1}, {CKA_VERIFY, &t, 1},
                           {CKA_LABEL, p->log_key_label, strlen(p->log_key_label)},
                           {CKA_EC_PARAMS, (void *)ED25519_PARAMS, sizeof ED25519_PARAMS}};
    CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &t, 1}, {CKA_SENSITIVE, &t, 1},
                            {CKA_SIGN, &t, 1}, {CKA_EXTRACTABLE, &t, 1},
                            {CKA_WRAP_WITH_TRUSTED, &t, 1},
                            {CKA_LABEL, p->log_key_label, strlen(p->log_key_label)}};
    CK_MECHANISM gen = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
    CK_OBJECT_HANDLE hpub;
    CK_RV rv = p->f->C_GenerateKeyPair(p->sess, &gen, pubt, sizeof pubt / sizeof pubt[0], privt,
                                       sizeof privt / sizeof privt[0], &hpub, &h);
    if (rv != CKR_OK)
        return p11_fail(rv, "generating an Ed25519 log key on the token");
    uint8_t point[64];
    CK_ATTRIBUTE a = {CKA_EC_POINT, point, sizeof point};
    rv = p->f->C_GetAttributeValue(p->sess, hpub, &a, 1);
    if (rv != CKR_OK)
        rc = p11_fail(rv, "reading the new log key's public key");
    else if (a.ulValueLen == 34 && point[0] == 0x04 && point[1] == 0x20)
        memcpy(pub, point + 2, 32);
    else if (a.ulValueLen == 32)
        memcpy(pub, point, 32);
    else
        rc = signet_fail(SIGNET_E_DEVICE, "the token gives the new log key's public key in a form "
                                          "signet does not know (%lu bytes)",
                         (unsigned long)a.ulValueLen);
    if (rc == SIGNET_OK)
        rc = prove(p, h, pub);
    if (rc) {
        (void)p->f->C_DestroyObject(p->sess, h);
        (void)p->f->C_DestroyObject(p->sess, hpub);
    }
    return rc;
}

signet_rc signet_pkcs11_check_log_key(signet_device *d, const uint8_t pub[32])
{
    p11_dev *p = NULL;
    CK_OBJECT_HANDLE h;
    signet_rc rc = p11_dev_of(d, &p);
    if (rc == SIGNET_OK && (rc = p11_find(p, CKO_PRIVATE_KEY, p->log_key_label, &h)) == SIGNET_OK)
        rc = prove(p, h, pub);
    return rc;
}

/* Key generation on a PKCS#11 token (backend.h, docs/migration.md).  The key pair
 * is made by C_GenerateKeyPair, sensitive, and extractable only under a trusted
 * wrapping key (CKA_WRAP_WITH_TRUSTED): its backup is a copy wrapped by
 * C_WrapKey under the token's AES wrap key (CKA_TRUSTED, set by the security
 * officer) with AES key wrap with padding, proven before anyone relies on it (the
 * copy is unwrapped again as a session object, which must sign under the new
 * public key).  A token that offers no such mechanism, or holds no trusted wrap
 * key, gets a resident key that never leaves it, and the caller is told why. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "p11_internal.h"
#include "signet/proto.h"

#define WRAP_MECH_NAME "CKM_AES_KEY_WRAP_PAD"

static CK_RV bool_attr(p11_dev *p, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, CK_BBOOL *v)
{
    CK_ATTRIBUTE a = {type, v, sizeof *v};
    *v = CK_FALSE;
    return p->f->C_GetAttributeValue(p->sess, h, &a, 1);
}

/* The trusted wrap key when the token can wrap with it; else *why says what is
 * missing, for people. */
static bool wrap_key_usable(p11_dev *p, CK_OBJECT_HANDLE *wk, char *why, size_t why_len)
{
    CK_MECHANISM_INFO mi;
    if (p->f->C_GetMechanismInfo(p->slot, CKM_AES_KEY_WRAP_PAD, &mi) != CKR_OK ||
        !(mi.flags & CKF_WRAP) || !(mi.flags & CKF_UNWRAP)) {
        snprintf(why, why_len, "token '%s' offers no AES key wrap with padding (%s) to wrap "
                 "and unwrap keys", p->token, WRAP_MECH_NAME);
        return false;
    }
    if (p11_find(p, CKO_SECRET_KEY, p->wrap_key_label, wk) != SIGNET_OK) {
        signet_err_clear();
        snprintf(why, why_len, "token '%s' holds no wrap key labelled '%s' (make it with `signet "
                 "keys token-wrap-key`)", p->token, p->wrap_key_label);
        return false;
    }
    CK_BBOOL trusted, wrap, unwrap;
    if (bool_attr(p, *wk, CKA_TRUSTED, &trusted) != CKR_OK || !trusted ||
        bool_attr(p, *wk, CKA_WRAP, &wrap) != CKR_OK || !wrap ||
        bool_attr(p, *wk, CKA_UNWRAP, &unwrap) != CKR_OK || !unwrap) {
        snprintf(why, why_len, "the wrap key '%s' on token '%s' is not a trusted key that may "
                 "wrap and unwrap (CKA_TRUSTED is set by the security officer: `signet keys "
                 "token-wrap-key`)", p->wrap_key_label, p->token);
        return false;
    }
    return true;
}

static CK_KEY_TYPE key_type(uint8_t algorithm)
{
    return yh_algo_is_rsa(algorithm) ? CKK_RSA
           : algorithm == YH_ALGO_EC_ED25519 ? CKK_EC_EDWARDS
                                             : CKK_EC;
}

static signet_rc generate_pair(p11_dev *p, const signet_keymap_entry *e, bool extractable,
                               CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    CK_BBOOL t = CK_TRUE, f = CK_FALSE, x = extractable ? CK_TRUE : CK_FALSE;
    CK_ULONG bits = (CK_ULONG)yh_algo_key_bytes(e->algorithm) * 8;
    CK_BYTE exp[] = {1, 0, 1};
    uint8_t id[2] = {(uint8_t)(e->id >> 8), (uint8_t)e->id};
    CK_KEY_TYPE kt = key_type(e->algorithm);
    sb_wr params;
    sbw_init(&params, 16);
    signet_rc rc = kt == CKK_RSA ? SIGNET_OK : p11_ec_params(e->algorithm, &params);
    if (rc)
        return rc;
    /* Signing keys only: no encryption, decryption, wrapping or derivation. */
    CK_ATTRIBUTE pubt[] = {{CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &f, 1}, {CKA_VERIFY, &t, 1},
                           {CKA_ENCRYPT, &f, 1}, {CKA_WRAP, &f, 1},
                           {CKA_LABEL, (void *)e->name, strlen(e->name)}, {CKA_ID, id, 2},
                           {CKA_MODULUS_BITS, &bits, sizeof bits},
                           {CKA_PUBLIC_EXPONENT, exp, sizeof exp}};
    if (kt != CKK_RSA)
        pubt[7] = (CK_ATTRIBUTE){CKA_EC_PARAMS, params.p, params.len};
    CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &t, 1}, {CKA_SENSITIVE, &t, 1},
                            {CKA_SIGN, &t, 1}, {CKA_EXTRACTABLE, &x, 1},
                            {CKA_WRAP_WITH_TRUSTED, &t, 1},
                            {CKA_LABEL, (void *)e->name, strlen(e->name)}, {CKA_ID, id, 2},
                            {CKA_DECRYPT, &f, 1}, {CKA_UNWRAP, &f, 1}, {CKA_DERIVE, &f, 1}};
    CK_MECHANISM m = {kt == CKK_RSA ? CKM_RSA_PKCS_KEY_PAIR_GEN
                      : kt == CKK_EC ? CKM_EC_KEY_PAIR_GEN
                                     : CKM_EC_EDWARDS_KEY_PAIR_GEN,
                      NULL, 0};
    CK_RV rv = p->f->C_GenerateKeyPair(p->sess, &m, pubt, kt == CKK_RSA ? 9 : 8, privt,
                                       sizeof privt / sizeof privt[0], pub, priv);
    sbw_free(&params);
    return rv == CKR_OK ? SIGNET_OK : p11_fail(rv, "generating the key pair on the token");
}

/* A signature by the token's key h over a fixed message, checked with pub. */
static signet_rc signs_as(p11_dev *p, const signet_keymap_entry *e, CK_OBJECT_HANDLE h,
                          EVP_PKEY *pub)
{
    static const uint8_t msg[] = "signet: proof that a wrapped copy signs as its key";
    uint8_t digest[32], raw[SIGNET_SIG_MAX], sig[SIGNET_SIG_MAX];
    size_t raw_len = sizeof raw, sig_len = sizeof sig;
    CK_KEY_TYPE kt = key_type(e->algorithm);
    CK_MECHANISM m = {kt == CKK_RSA ? CKM_SHA256_RSA_PKCS : kt == CKK_EC ? CKM_ECDSA : CKM_EDDSA,
                      NULL, 0};
    unsigned dl = 0;
    signet_rc rc = SIGNET_OK;
    if (kt == CKK_EC && EVP_Digest(msg, sizeof msg, digest, &dl, EVP_sha256(), NULL) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot hash");
    if (rc == SIGNET_OK)
        rc = kt == CKK_EC ? p11_sign_raw(p, h, &m, digest, dl, raw, &raw_len)
                          : p11_sign_raw(p, h, &m, msg, sizeof msg, sig, &sig_len);
    if (rc == SIGNET_OK && kt == CKK_EC)
        rc = p11_ecdsa_der(raw, raw_len, sig, &sig_len);
    if (rc)
        return rc;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    bool ok = c && EVP_DigestVerifyInit(c, NULL, kt == CKK_EC_EDWARDS ? NULL : EVP_sha256(), NULL,
                                        pub) == 1 &&
              EVP_DigestVerify(c, sig, sig_len, msg, sizeof msg) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return signet_fail(SIGNET_E_VERIFY, "a signature by the token's '%s' does not verify "
                                            "under its public key", e->name);
    signet_err_clear();
    return SIGNET_OK;
}

/* The wrapped copy, unwrapped again as a session object, signs as the key. */
static signet_rc prove_copy(p11_dev *p, const signet_keymap_entry *e, CK_OBJECT_HANDLE wk,
                            const sb_wr *blob, EVP_PKEY *pub)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = key_type(e->algorithm);
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_TOKEN, &f, 1}, {CKA_PRIVATE, &t, 1}, {CKA_SENSITIVE, &t, 1},
                        {CKA_EXTRACTABLE, &f, 1}, {CKA_SIGN, &t, 1},
                        {CKA_WRAP_WITH_TRUSTED, &t, 1}};
    CK_MECHANISM m = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    CK_OBJECT_HANDLE h;
    CK_RV rv = p->f->C_UnwrapKey(p->sess, &m, wk, blob->p, blob->len, a, 8, &h);
    if (rv != CKR_OK)
        return p11_fail(rv, "unwrapping the new wrapped copy again");
    signet_rc rc = signs_as(p, e, h, pub);
    rv = p->f->C_DestroyObject(p->sess, h);
    if (rc == SIGNET_OK && rv != CKR_OK)
        rc = p11_fail(rv, "destroying the proof's session copy");
    return rc ? signet_wrap(rc, "the wrapped copy of '%s' was not proven", e->name) : SIGNET_OK;
}

static signet_rc delete_label(p11_dev *p, const signet_keymap_entry *e);

signet_rc p11_restore(p11_dev *p, signet_keystore *ks, const signet_keymap_entry *e,
                      CK_OBJECT_HANDLE *h)
{
    sb_wr blob;
    signet_rc rc = signet_keystore_token_wrapped(ks, e->name, &blob);
    if (rc)
        return rc;
    CK_OBJECT_HANDLE wk, pub;
    char why[320];
    if (!wrap_key_usable(p, &wk, why, sizeof why)) {
        sbw_free(&blob);
        return signet_fail(SIGNET_E_STATE, "key '%s' is not on the token and its wrapped copy "
                                           "cannot be restored: %s", e->name, why);
    }
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = key_type(e->algorithm);
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    uint8_t id[2] = {(uint8_t)(e->id >> 8), (uint8_t)e->id};
    CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &t, 1}, {CKA_SENSITIVE, &t, 1},
                        {CKA_SIGN, &t, 1}, {CKA_EXTRACTABLE, &t, 1},
                        {CKA_WRAP_WITH_TRUSTED, &t, 1},
                        {CKA_LABEL, (void *)e->name, strlen(e->name)}, {CKA_ID, id, 2},
                        {CKA_DECRYPT, &f, 1}, {CKA_UNWRAP, &f, 1}, {CKA_DERIVE, &f, 1}};
    CK_MECHANISM m = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    CK_RV rv = p->f->C_UnwrapKey(p->sess, &m, wk, blob.p, blob.len, a, sizeof a / sizeof a[0], h);
    sbw_free(&blob);
    if (rv != CKR_OK)
        return p11_fail(rv, "restoring the wrapped copy of the key onto the token");
    EVP_PKEY *pk = NULL;
    if (p11_find(p, CKO_PUBLIC_KEY, e->name, &pub) != SIGNET_OK) {
        signet_err_clear();
        rc = signet_keystore_public_key(ks, e->name, &pk);
        if (rc == SIGNET_OK)
            rc = p11_put_public(p, e, pk);
        EVP_PKEY_free(pk);
    }
    if (rc)
        (void)delete_label(p, e);
    return rc;
}

static signet_rc wrap_copy(p11_dev *p, CK_OBJECT_HANDLE wk, CK_OBJECT_HANDLE priv, sb_wr *out)
{
    CK_MECHANISM m = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
    CK_ULONG n = 0;
    CK_RV rv = p->f->C_WrapKey(p->sess, &m, wk, priv, NULL, &n);
    uint8_t *dst = NULL;
    if (rv == CKR_OK && (n == 0 || n > 16384))
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK && sbw_reserve(out, n, &dst) != SIGNET_OK)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    CK_ULONG got = n;
    if (rv == CKR_OK)
        rv = p->f->C_WrapKey(p->sess, &m, wk, priv, dst, &got);
    if (rv != CKR_OK) {
        out->len = 0;
        return p11_fail(rv, "wrapping the new key under the trusted wrap key");
    }
    out->len -= n - got;
    return SIGNET_OK;
}

static signet_rc delete_label(p11_dev *p, const signet_keymap_entry *e)
{
    CK_OBJECT_HANDLE h;
    signet_rc rc = SIGNET_OK;
    static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
    for (size_t i = 0; i < 2 && rc == SIGNET_OK; i++)
        while (rc == SIGNET_OK && p11_find(p, classes[i], e->name, &h) == SIGNET_OK) {
            CK_RV rv = p->f->C_DestroyObject(p->sess, h);
            if (rv != CKR_OK)
                rc = p11_fail(rv, "deleting a key from the token");
        }
    signet_err_clear();
    for (size_t i = 0; i < p->n_known; i++)
        if (p->known[i].id == e->id)
            p->known[i] = p->known[--p->n_known];
    return rc;
}

signet_rc signet_pkcs11_delete(signet_device *d, const signet_keymap_entry *e)
{
    return delete_label(d->impl, e);
}

void signet_token_key_free(signet_token_key *k)
{
    EVP_PKEY_free(k->pub);
    k->pub = NULL;
    sbw_free(&k->wrapped);
}

signet_rc signet_pkcs11_generate(signet_device *d, const signet_keymap_entry *e,
                                 signet_token_key *out)
{
    memset(out, 0, sizeof *out);
    sbw_init(&out->wrapped, 4096);
    if (strcmp(d->ops->kind, "pkcs11") != 0)
        return signet_fail(SIGNET_E_ARG, "not a PKCS#11 token");
    if (!signet_key_algorithm_valid(e->algorithm))
        return signet_fail(SIGNET_E_ARG, "'%s' is not a signing key algorithm",
                           yh_algo_name(e->algorithm));
    p11_dev *p = d->impl;
    CK_OBJECT_HANDLE h, wk = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    if (p11_find(p, CKO_PRIVATE_KEY, e->name, &h) == SIGNET_OK ||
        p11_find(p, CKO_PUBLIC_KEY, e->name, &h) == SIGNET_OK)
        return signet_fail(SIGNET_E_STATE,
                           "token '%s' already holds a key labelled '%s' that the key store does "
                           "not know: find out what it is (pkcs11-tool --module M -l -O); if it may "
                           "go (an interrupted generation leaves one), delete it (pkcs11-tool "
                           "--delete-object --type privkey --label %s, and --type pubkey) and run "
                           "again", p->token, e->name, e->name);
    signet_err_clear();
    char why[320] = "";
    bool wrap = wrap_key_usable(p, &wk, why, sizeof why);
    signet_rc rc = generate_pair(p, e, wrap, &pub, &priv);
    if (rc == SIGNET_OK)
        rc = p11_public_key(p, e, priv, &out->pub);
    if (rc == SIGNET_OK && wrap && (rc = wrap_copy(p, wk, priv, &out->wrapped)) != SIGNET_OK) {
        /* The token said it could and then would not: the key stays, resident only,
         * and is made non-extractable (a change the standard allows one way only). */
        snprintf(why, sizeof why, "token '%s' refused to wrap it (%s)", p->token, signet_errmsg());
        signet_err_clear();
        CK_BBOOL f = CK_FALSE;
        CK_ATTRIBUTE a = {CKA_EXTRACTABLE, &f, 1};
        CK_RV rv = p->f->C_SetAttributeValue(p->sess, priv, &a, 1);
        if (rv != CKR_OK)
            snprintf(why + strlen(why), sizeof why - strlen(why),
                     "; it stays extractable under trusted wrap keys only");
        wrap = false;
        rc = SIGNET_OK;
    }
    if (rc == SIGNET_OK && wrap)
        rc = prove_copy(p, e, wk, &out->wrapped, out->pub);
    if (rc == SIGNET_OK && wrap)
        snprintf(out->how, sizeof out->how, "wrapped copy under the trusted key '%s' of token "
                 "'%s' (%s), proven", p->wrap_key_label, p->token, WRAP_MECH_NAME);
    else if (rc == SIGNET_OK)
        snprintf(out->how, sizeof out->how, "RESIDENT ONLY, no backup: %s; the key never leaves "
                 "the token, and is lost with it", why);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", signet_errmsg());
        bool made = priv != CK_INVALID_HANDLE || pub != CK_INVALID_HANDLE;
        if (made)
            (void)signet_pkcs11_delete(d, e);
        signet_token_key_free(out);
        return signet_fail(rc, "%s%s", msg, made ? " (the new key was deleted from the token)" : "");
    }
    return SIGNET_OK;
}

signet_rc signet_pkcs11_make_wrap_key(signet_device *d)
{
    if (strcmp(d->ops->kind, "pkcs11") != 0)
        return signet_fail(SIGNET_E_ARG, "not a PKCS#11 token");
    p11_dev *p = d->impl;
    CK_OBJECT_HANDLE h;
    if (p11_find(p, CKO_SECRET_KEY, p->wrap_key_label, &h) == SIGNET_OK)
        return signet_fail(SIGNET_E_STATE, "token '%s' already holds a key labelled '%s'",
                           p->token, p->wrap_key_label);
    signet_err_clear();
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ULONG len = 32;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    /* Whatever is unwrapped under this key stays sensitive and wraps again only
     * under trusted keys, on tokens that enforce CKA_UNWRAP_TEMPLATE. */
    CK_ATTRIBUTE unwrap_tmpl[] = {{CKA_SENSITIVE, &t, 1}, {CKA_WRAP_WITH_TRUSTED, &t, 1}};
    CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_VALUE_LEN, &len, sizeof len}, {CKA_TOKEN, &t, 1},
                        {CKA_PRIVATE, &f, 1}, {CKA_SENSITIVE, &t, 1}, {CKA_EXTRACTABLE, &f, 1},
                        {CKA_WRAP, &t, 1}, {CKA_UNWRAP, &t, 1}, {CKA_ENCRYPT, &f, 1},
                        {CKA_DECRYPT, &f, 1}, {CKA_SIGN, &f, 1}, {CKA_VERIFY, &f, 1},
                        {CKA_DERIVE, &f, 1}, {CKA_TRUSTED, &t, 1},
                        {CKA_LABEL, p->wrap_key_label, strlen(p->wrap_key_label)},
                        {CKA_UNWRAP_TEMPLATE, unwrap_tmpl, sizeof unwrap_tmpl}};
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    CK_RV rv = p->f->C_GenerateKey(p->sess, &m, a, sizeof a / sizeof a[0], &h);
    return rv == CKR_OK ? SIGNET_OK : p11_fail(rv, "generating the trusted wrap key on the token");
}

/* C_VerifyInit / C_Verify / C_VerifyUpdate / C_VerifyFinal in software: a
 * signature check needs only the public key, which the module has from the key
 * store (CKA_PUBLIC_KEY_INFO), so it never reaches the device and makes no
 * audit record.  Mechanisms and their inputs are those of signing
 * (docs/pkcs11.md); signatures are in PKCS#11 form (ECDSA r | s). */
#include <string.h>

#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "p11.h"

EVP_PKEY *p11_object_public_key(const struct p11_object *obj)
{
    const struct p11_attr *a = p11_object_attr(obj, CKA_PUBLIC_KEY_INFO);
    if (!a || !a->val)
        return NULL;
    const unsigned char *p = a->val;
    return d2i_PUBKEY(NULL, &p, (long)a->len);
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    struct p11_object *obj;
    rv = p11_op_init_check(hSession, P11_OP_VERIFY, pMechanism, hKey, false, CKO_PUBLIC_KEY,
                           &op, &obj);
    if (rv == CKR_OK && op) {
        const struct p11_mech_desc *d = p11_mech_lookup(pMechanism->mechanism);
        const struct p11_key *k = &p11.objects.keys[obj->key];
        if (k->decrypt)
            rv = CKR_KEY_FUNCTION_NOT_PERMITTED; /* CKA_VERIFY: public keys of signing keys */
        else if (!d)
            rv = CKR_MECHANISM_INVALID;
        else if (d->key_type != k->key_type)
            rv = CKR_KEY_TYPE_INCONSISTENT;
        else if ((rv = p11_op_sign_params(pMechanism, d, k->bits, op)) == CKR_OK &&
                 !(op->pub = p11_object_public_key(obj)))
            rv = CKR_GENERAL_ERROR;
        if (rv == CKR_OK)
            rv = p11_op_start(op, d, obj->key);
        else
            p11_op_clear(op);
    }
    p11_leave();
    return rv;
}

/* r | s (each half of sig) to an ECDSA-Sig-Value DER. */
static int ecdsa_raw_to_der(const uint8_t *sig, size_t len, unsigned char **der)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL), *sv = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
    int n = -1;
    if (es && r && sv && ECDSA_SIG_set0(es, r, sv) == 1) {
        r = sv = NULL;
        *der = NULL;
        n = i2d_ECDSA_SIG(es, der);
    }
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(es);
    return n;
}

/* The check itself: CKR_OK, CKR_SIGNATURE_INVALID or CKR_SIGNATURE_LEN_RANGE. */
static CK_RV check(struct p11_op *op, size_t key_sig_len, const uint8_t *sig, size_t sig_len)
{
    const struct p11_mech_desc *d = op->mech;
    if (sig_len != key_sig_len)
        return CKR_SIGNATURE_LEN_RANGE;
    if (d->type == CKM_EDDSA) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        int ok = m && EVP_DigestVerifyInit_ex(m, NULL, NULL, NULL, NULL, op->pub, NULL) == 1 &&
                 EVP_DigestVerify(m, sig, sig_len, op->raw.p ? op->raw.p : (const uint8_t *)"",
                                  op->raw.len) == 1;
        EVP_MD_CTX_free(m);
        return ok ? CKR_OK : CKR_SIGNATURE_INVALID;
    }
    uint8_t digest[EVP_MAX_MD_SIZE];
    const uint8_t *tbs = op->raw.p;
    size_t tbs_len = op->raw.len;
    const EVP_MD *md = NULL;
    if (op->md) {
        unsigned n = 0;
        md = EVP_MD_CTX_get0_md(op->md);
        if (!EVP_DigestFinal_ex(op->md, digest, &n))
            return CKR_FUNCTION_FAILED;
        tbs = digest;
        tbs_len = n;
    } else if (d->pss) {
        if (tbs_len != op->pss_hash_len)
            return CKR_DATA_LEN_RANGE;
        md = p11_md_by_len(tbs_len);
    } else if (d->type == CKM_ECDSA && (tbs_len < 1 || tbs_len > 64)) {
        return CKR_DATA_LEN_RANGE;
    }
    unsigned char *der = NULL;
    const uint8_t *s = sig;
    size_t s_len = sig_len;
    if (d->key_type == CKK_EC) {
        int n = ecdsa_raw_to_der(sig, sig_len, &der);
        if (n <= 0)
            return CKR_SIGNATURE_INVALID;
        s = der;
        s_len = (size_t)n;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(op->pub, NULL);
    int ok = ctx && EVP_PKEY_verify_init(ctx) == 1;
    if (ok && d->key_type == CKK_RSA) {
        ok = EVP_PKEY_CTX_set_rsa_padding(ctx, d->pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1 &&
             (!md || EVP_PKEY_CTX_set_signature_md(ctx, md) == 1);
        if (ok && d->pss)
            ok = EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11_md_of_mgf1(op->pss_mgf1)) == 1 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, op->pss_salt_len) == 1;
    }
    ok = ok && EVP_PKEY_verify(ctx, s, s_len, tbs ? tbs : (const uint8_t *)"", tbs_len) == 1;
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_free(der);
    return ok ? CKR_OK : CKR_SIGNATURE_INVALID;
}

static CK_RV verify_final(struct p11_op *op, const uint8_t *sig, size_t sig_len)
{
    size_t key_sig_len = 0;
    /* The key's signature length: RSA modulus bytes, EC 2 x field bytes, Ed25519 64. */
    int bits = EVP_PKEY_get_bits(op->pub);
    size_t field = (size_t)(bits + 7) / 8;
    key_sig_len = op->mech->key_type == CKK_RSA ? field
                  : op->mech->key_type == CKK_EC ? 2 * field : 64;
    CK_RV rv = check(op, key_sig_len, sig, sig_len);
    p11_op_clear(op);
    return rv;
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_VERIFY, &op)) != CKR_OK) {
        /* no operation to end */
    } else if (op->multipart) {
        rv = CKR_OPERATION_ACTIVE;
    } else if ((!pData && ulDataLen) || !pSignature) {
        p11_op_clear(op);
        rv = CKR_ARGUMENTS_BAD;
    } else {
        rv = p11_op_add(op, pData, ulDataLen);
        if (rv == CKR_OK)
            rv = verify_final(op, pSignature, ulSignatureLen);
        else
            p11_op_clear(op);
    }
    p11_leave();
    return rv;
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return p11_op_update(hSession, P11_OP_VERIFY, pPart, ulPartLen);
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_VERIFY, &op)) != CKR_OK) {
        /* no operation to end */
    } else if (!pSignature) {
        p11_op_clear(op);
        rv = CKR_ARGUMENTS_BAD;
    } else {
        rv = verify_final(op, pSignature, ulSignatureLen);
    }
    p11_leave();
    return rv;
}

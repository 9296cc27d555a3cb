/* C_Encrypt* and C_Decrypt* with RSA keys, PKCS#1 v1.5 (CKM_RSA_PKCS) and OAEP
 * (CKM_RSA_PKCS_OAEP, SHA-1/256/384/512 with MGF1 of the same four).
 *
 * Encryption needs only the public key: it runs in the module, with any RSA
 * public key of the key store.  Decryption runs on the device (Decrypt PKCS#1 /
 * Decrypt OAEP), and only with keys whose key-map role is "decrypt": a signing
 * key that also decrypted PKCS#1 v1.5 would be a signing oracle outside the
 * audit trail.  Single-part only (C_EncryptUpdate / C_DecryptUpdate answer
 * CKR_FUNCTION_NOT_SUPPORTED: RSA has no multi-part form). */
#include <stdlib.h>
#include <string.h>

#include <openssl/rsa.h>

#include "p11.h"
#include "signet/client.h"
#include "signet/proto.h"
#include "signet/secmem.h"

static CK_RV crypt_init(struct p11_op *op, const CK_MECHANISM *m, const struct p11_object *obj,
                        bool encrypt)
{
    const struct p11_mech_desc *d = p11_mech_find(m->mechanism);
    const struct p11_key *k = &p11.objects.keys[obj->key];
    if (!d || !(d->flags & CKF_ENCRYPT))
        return CKR_MECHANISM_INVALID;
    if (k->key_type != CKK_RSA)
        return CKR_KEY_TYPE_INCONSISTENT;
    op->mech = d;
    op->key = obj->key;
    if (d->type == CKM_RSA_PKCS_OAEP) {
        uint8_t mgf1;
        const uint8_t *label;
        size_t label_len;
        CK_RV rv = p11_oaep_params(m, &op->oaep_md, &mgf1, &label, &label_len);
        if (rv)
            return rv;
        op->oaep_mgf1 = p11_md_of_mgf1(mgf1);
        if (label_len) {
            if (!(op->label = malloc(label_len)))
                return CKR_HOST_MEMORY;
            memcpy(op->label, label, label_len);
            op->label_len = label_len;
        }
    } else if (m->pParameter || m->ulParameterLen) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (encrypt && !(op->pub = p11_object_public_key(obj)))
        return CKR_GENERAL_ERROR;
    op->active = true;
    return CKR_OK;
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    struct p11_object *obj;
    /* CKA_ENCRYPT is on the public key */
    rv = p11_op_init_check(hSession, P11_OP_ENCRYPT, pMechanism, hKey, false, CKO_PUBLIC_KEY,
                           &op, &obj);
    if (rv == CKR_OK && op && (rv = crypt_init(op, pMechanism, obj, true)))
        p11_op_clear(op);
    p11_leave();
    return rv;
}

static size_t modulus_bytes(const struct p11_op *op)
{
    return (p11.objects.keys[op->key].bits + 7) / 8;
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_ENCRYPT, &op)) != CKR_OK) {
        /* no operation to end */
    } else if (!pulEncryptedDataLen || (!pData && ulDataLen)) {
        p11_op_clear(op);
        rv = CKR_ARGUMENTS_BAD;
    } else {
        size_t k = modulus_bytes(op);
        size_t hlen = op->oaep_md ? (size_t)EVP_MD_get_size(op->oaep_md) : 0;
        size_t max_in = op->mech->type == CKM_RSA_PKCS ? k - 11 : k - 2 * hlen - 2;
        if (p11_op_answer_size(pEncryptedData, pulEncryptedDataLen, k, &rv)) {
            /* size query or short buffer: the operation stays active */
        } else if (ulDataLen > max_in) {
            rv = CKR_DATA_LEN_RANGE;
            p11_op_clear(op);
        } else {
            EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(op->pub, NULL);
            size_t out_len = k;
            uint8_t *label = NULL;
            int ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1;
            if (ok && op->mech->type == CKM_RSA_PKCS) {
                ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1;
            } else if (ok) {
                ok = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
                     EVP_PKEY_CTX_set_rsa_oaep_md(ctx, op->oaep_md) == 1 &&
                     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, op->oaep_mgf1) == 1;
                if (ok && op->label_len) {
                    /* OpenSSL takes ownership of the label. */
                    ok = (label = OPENSSL_memdup(op->label, op->label_len)) != NULL &&
                         EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, (int)op->label_len) == 1;
                    if (!ok)
                        OPENSSL_free(label);
                }
            }
            ok = ok && EVP_PKEY_encrypt(ctx, pEncryptedData, &out_len,
                                        pData ? pData : (const uint8_t *)"", ulDataLen) == 1;
            EVP_PKEY_CTX_free(ctx);
            rv = ok ? CKR_OK : CKR_FUNCTION_FAILED;
            if (ok)
                *pulEncryptedDataLen = out_len;
            p11_op_clear(op);
        }
    }
    p11_leave();
    return rv;
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                      CK_ULONG_PTR e)
{
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c)
{
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    struct p11_object *obj;
    rv = p11_op_init_check(hSession, P11_OP_DECRYPT, pMechanism, hKey, true, CKO_PRIVATE_KEY,
                           &op, &obj);
    if (rv == CKR_OK && op) {
        if (!p11.objects.keys[obj->key].decrypt)
            rv = CKR_KEY_FUNCTION_NOT_PERMITTED; /* only role "decrypt" keys (CKA_DECRYPT) */
        else
            rv = crypt_init(op, pMechanism, obj, false);
        if (rv)
            p11_op_clear(op);
    }
    p11_leave();
    return rv;
}

/* Loads the key if it is only wrapped on disk, then decrypts on the device. */
static CK_RV device_decrypt(struct p11_op *op, const uint8_t *ct, size_t len, sb_wr *pt)
{
    const struct p11_key *k = &p11.objects.keys[op->key];
    signet_signer *signer;
    signet_rc rc = p11_device_signer_for(k->name, &signer);
    if (rc)
        return p11_rv_from(rc, "cannot reach the HSM");
    hsm_session *hs = signet_signer_session(signer);
    if (!hs) /* backend = pkcs11: decrypt with that token directly */
        return p11_rv_from(signet_fail(SIGNET_E_ARG, "decryption runs on a YubiHSM only"),
                           "decrypting");
    signet_evict_policy pol = {0, 0};
    rc = signet_keystore_ensure_resident(signet_signer_keystore(signer), hs, p11.cfg.wrap_key_id,
                                         &k->entry, &pol);
    if (!rc && op->mech->type == CKM_RSA_PKCS) {
        rc = hsm_decrypt_pkcs1(hs, k->id, ct, len, pt);
    } else if (!rc) {
        uint8_t mgf1 = EVP_MD_get_type(op->oaep_mgf1) == NID_sha1     ? YH_ALGO_MGF1_SHA1
                       : EVP_MD_get_type(op->oaep_mgf1) == NID_sha256 ? YH_ALGO_MGF1_SHA256
                       : EVP_MD_get_type(op->oaep_mgf1) == NID_sha384 ? YH_ALGO_MGF1_SHA384
                                                                      : YH_ALGO_MGF1_SHA512;
        rc = hsm_decrypt_oaep(hs, k->id, mgf1, op->oaep_md, op->label, op->label_len, ct, len, pt);
    }
    if (rc == SIGNET_E_DEVICE && signet_err_device() == YH_ERR_INVALID_DATA)
        return CKR_ENCRYPTED_DATA_INVALID; /* one answer for every padding failure */
    if (rc) {
        char what[128];
        snprintf(what, sizeof what, "decrypting with key '%s'", k->name);
        return p11_rv_from(rc, what);
    }
    return CKR_OK;
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_DECRYPT, &op)) != CKR_OK) {
        /* no operation to end */
    } else if (!pulDataLen || !pEncryptedData) {
        p11_op_clear(op);
        rv = CKR_ARGUMENTS_BAD;
    } else {
        size_t k = modulus_bytes(op);
        if (ulEncryptedDataLen != k) {
            rv = CKR_ENCRYPTED_DATA_LEN_RANGE;
            p11_op_clear(op);
        } else if (!pData) {
            *pulDataLen = k; /* size query without decrypting: an upper bound */
        } else {
            sb_wr pt;
            sbw_init_secure(&pt, k);
            rv = device_decrypt(op, pEncryptedData, ulEncryptedDataLen, &pt);
            if (rv == CKR_OK && *pulDataLen < pt.len) {
                /* The spec keeps the operation for a retry with a larger buffer. */
                *pulDataLen = pt.len;
                rv = CKR_BUFFER_TOO_SMALL;
            } else {
                if (rv == CKR_OK) {
                    memcpy(pData, pt.p, pt.len);
                    *pulDataLen = pt.len;
                }
                p11_op_clear(op);
            }
            sbw_free(&pt);
        }
    }
    p11_leave();
    return rv;
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                      CK_ULONG_PTR e)
{
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c)
{
    return CKR_FUNCTION_NOT_SUPPORTED;
}

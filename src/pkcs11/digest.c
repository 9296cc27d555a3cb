/* C_Digest*: SHA-1/224/256/384/512 in software (OpenSSL).  Hashing needs no
 * secret, so it never reaches the device.  C_DigestKey: the module's keys are
 * sensitive, so it answers CKR_KEY_INDIGESTIBLE. */
#include <string.h>

#include "p11.h"

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    const struct p11_mech_desc *d = pMechanism ? p11_mech_find(pMechanism->mechanism) : NULL;
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!pMechanism) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (s->digest.active) {
        rv = CKR_OPERATION_ACTIVE;
    } else if (!d || !(d->flags & CKF_DIGEST)) {
        rv = CKR_MECHANISM_INVALID;
    } else if (pMechanism->pParameter || pMechanism->ulParameterLen) {
        rv = CKR_MECHANISM_PARAM_INVALID;
    } else {
        rv = p11_op_start(&s->digest, d, 0);
    }
    p11_leave();
    return rv;
}

/* Size query / short buffer (the operation stays active), else the digest. */
static CK_RV finish(struct p11_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    CK_RV rv;
    if (p11_op_answer_size(out, out_len, (CK_ULONG)EVP_MD_CTX_get_size(op->md), &rv))
        return rv;
    unsigned n = 0;
    rv = EVP_DigestFinal_ex(op->md, out, &n) ? CKR_OK : CKR_FUNCTION_FAILED;
    *out_len = n;
    p11_op_clear(op);
    return rv;
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_DIGEST, &op)) == CKR_OK) {
        if (!pulDigestLen || (!pData && ulDataLen)) {
            p11_op_clear(op);
            rv = CKR_ARGUMENTS_BAD;
        } else if (pDigest && *pulDigestLen >= (CK_ULONG)EVP_MD_CTX_get_size(op->md) &&
                   (rv = p11_op_add(op, pData, ulDataLen)) != CKR_OK) {
            p11_op_clear(op);
        } else {
            rv = finish(op, pDigest, pulDigestLen);
        }
    }
    p11_leave();
    return rv;
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return p11_op_update(hSession, P11_OP_DIGEST, pPart, ulPartLen);
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_DIGEST, &op)) == CKR_OK) {
        const struct p11_object *obj = p11_object_find(&p11.objects, hKey);
        rv = obj && p11_object_visible(obj) && obj->cls != CKO_CERTIFICATE
                 ? CKR_KEY_INDIGESTIBLE
                 : CKR_KEY_HANDLE_INVALID;
    }
    p11_leave();
    return rv;
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_DIGEST, &op)) == CKR_OK) {
        if (!pulDigestLen) {
            p11_op_clear(op);
            rv = CKR_ARGUMENTS_BAD;
        } else {
            rv = finish(op, pDigest, pulDigestLen);
        }
    }
    p11_leave();
    return rv;
}

/* C_Digest*: SHA-1/224/256/384/512 in software (OpenSSL).  Hashing needs no
 * secret, so it never reaches the device.  C_DigestKey: the module's keys are
 * sensitive, so it answers CKR_KEY_INDIGESTIBLE. */
#include <string.h>

#include "p11.h"

void p11_digest_op_clear(struct p11_digest_op *op)
{
    EVP_MD_CTX_free(op->md);
    memset(op, 0, sizeof *op);
}

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
        s->digest.md = EVP_MD_CTX_new();
        if (!s->digest.md || !EVP_DigestInit_ex(s->digest.md, p11_digest_md(d->digest), NULL)) {
            p11_digest_op_clear(&s->digest);
            rv = CKR_HOST_MEMORY;
        } else {
            s->digest.active = true;
        }
    }
    p11_leave();
    return rv;
}

/* The session with an active digest, or the error. */
static CK_RV active(CK_SESSION_HANDLE h, struct p11_session **out)
{
    *out = p11_session_get(h);
    if (!*out)
        return CKR_SESSION_HANDLE_INVALID;
    return (*out)->digest.active ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

/* Size query / short buffer (the operation stays active), else the digest. */
static CK_RV finish(struct p11_digest_op *op, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    CK_ULONG need = (CK_ULONG)EVP_MD_CTX_get_size(op->md);
    if (!out) {
        *out_len = need;
        return CKR_OK;
    }
    if (*out_len < need) {
        *out_len = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    unsigned n = 0;
    CK_RV rv = EVP_DigestFinal_ex(op->md, out, &n) ? CKR_OK : CKR_FUNCTION_FAILED;
    *out_len = n;
    p11_digest_op_clear(op);
    return rv;
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s;
    if ((rv = active(hSession, &s)) == CKR_OK) {
        if (!pulDigestLen || (!pData && ulDataLen)) {
            p11_digest_op_clear(&s->digest);
            rv = CKR_ARGUMENTS_BAD;
        } else if (pDigest && *pulDigestLen >= (CK_ULONG)EVP_MD_CTX_get_size(s->digest.md) &&
                   !EVP_DigestUpdate(s->digest.md, pData, ulDataLen)) {
            p11_digest_op_clear(&s->digest);
            rv = CKR_FUNCTION_FAILED;
        } else {
            rv = finish(&s->digest, pDigest, pulDigestLen);
        }
    }
    p11_leave();
    return rv;
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s;
    if ((rv = active(hSession, &s)) == CKR_OK) {
        if (!pPart && ulPartLen)
            rv = CKR_ARGUMENTS_BAD;
        else if (!EVP_DigestUpdate(s->digest.md, pPart, ulPartLen))
            rv = CKR_FUNCTION_FAILED;
        if (rv)
            p11_digest_op_clear(&s->digest);
    }
    p11_leave();
    return rv;
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s;
    if ((rv = active(hSession, &s)) == CKR_OK) {
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
    struct p11_session *s;
    if ((rv = active(hSession, &s)) == CKR_OK) {
        if (!pulDigestLen) {
            p11_digest_op_clear(&s->digest);
            rv = CKR_ARGUMENTS_BAD;
        } else {
            rv = finish(&s->digest, pDigest, pulDigestLen);
        }
    }
    p11_leave();
    return rv;
}

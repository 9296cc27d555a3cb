/* The operation of a session (struct p11_op) and the steps that signing,
 * verification, digesting, encryption and decryption share: the checks of an
 * Init, taking input in parts, the active-operation lookup and the output
 * buffer size rules.  Each C_* function in sign.c, verify.c, digest.c and
 * crypt.c keeps only what is its own. */
#include <stdlib.h>
#include <string.h>

#include "p11.h"

/* CK_EDDSA_PARAMS of PKCS#11 3.0 (not in the 2.40 header). */
struct eddsa_params {
    CK_BBOOL phFlag;
    CK_ULONG ulContextDataLen;
    CK_BYTE_PTR pContextData;
};

void p11_op_clear(struct p11_op *op)
{
    EVP_MD_CTX_free(op->md);
    EVP_PKEY_free(op->pub);
    sbw_free(&op->raw);
    free(op->label);
    memset(op, 0, sizeof *op);
}

struct p11_op *p11_session_op(struct p11_session *s, enum p11_op_kind kind)
{
    switch (kind) {
    case P11_OP_SIGN: return &s->sign;
    case P11_OP_VERIFY: return &s->verify;
    case P11_OP_DIGEST: return &s->digest;
    case P11_OP_ENCRYPT: return &s->encrypt;
    default: return &s->decrypt;
    }
}

CK_RV p11_op_init_check(CK_SESSION_HANDLE h, enum p11_op_kind kind, const CK_MECHANISM *m,
                        CK_OBJECT_HANDLE hKey, bool need_login, CK_OBJECT_CLASS cls,
                        struct p11_op **op, struct p11_object **obj)
{
    *op = NULL;
    struct p11_session *s = p11_session_get(h);
    if (!s)
        return CKR_SESSION_HANDLE_INVALID;
    struct p11_op *o = p11_session_op(s, kind);
    if (!m) {
        p11_op_clear(o); /* as in PKCS#11 3.0: a NULL mechanism cancels */
        return CKR_OK;
    }
    if (o->active)
        return CKR_OPERATION_ACTIVE;
    if (need_login && !p11.logged_in)
        return CKR_USER_NOT_LOGGED_IN;
    *obj = p11_object_find(&p11.objects, hKey);
    if (!*obj || !p11_object_visible(*obj) || (*obj)->cls == CKO_CERTIFICATE)
        return CKR_KEY_HANDLE_INVALID;
    if ((*obj)->cls != cls)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    *op = o;
    return CKR_OK;
}

CK_RV p11_op_sign_params(const CK_MECHANISM *m, const struct p11_mech_desc *d, unsigned bits,
                         struct p11_op *op)
{
    if (d->pss) {
        CK_RV rv = p11_pss_params(m, d, &op->pss_hash_len, &op->pss_mgf1, &op->pss_salt_len);
        if (rv)
            return rv;
        /* RFC 8017 9.1.1: emLen >= hLen + sLen + 2, emLen = ceil((modBits - 1) / 8). */
        size_t em_len = (bits - 1 + 7) / 8;
        return em_len < op->pss_hash_len + op->pss_salt_len + 2 ? CKR_MECHANISM_PARAM_INVALID
                                                                 : CKR_OK;
    }
    if (d->type == CKM_EDDSA && m->pParameter) {
        /* Only pure Ed25519: no pre-hash, no context. */
        struct eddsa_params ep;
        if (m->ulParameterLen != sizeof ep)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(&ep, m->pParameter, sizeof ep);
        return ep.phFlag || ep.ulContextDataLen ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
    }
    return CKR_OK;
}

CK_RV p11_op_start(struct p11_op *op, const struct p11_mech_desc *d, size_t key)
{
    CK_RV rv = CKR_OK;
    if (d->digest) {
        const EVP_MD *md = p11_digest_md(d->digest);
        if (!md)
            rv = CKR_MECHANISM_INVALID; /* a table entry without a known hash: never guess */
        else if (!(op->md = EVP_MD_CTX_new()))
            rv = CKR_HOST_MEMORY;
        else if (!EVP_DigestInit_ex(op->md, md, NULL))
            rv = CKR_FUNCTION_FAILED;
    } else {
        sbw_init(&op->raw, P11_RAW_INPUT_MAX);
    }
    if (rv) {
        p11_op_clear(op);
        return rv;
    }
    op->mech = d;
    op->key = key;
    op->active = true;
    return CKR_OK;
}

CK_RV p11_op_add(struct p11_op *op, const uint8_t *p, size_t n)
{
    if (op->md)
        return EVP_DigestUpdate(op->md, p, n) ? CKR_OK : CKR_FUNCTION_FAILED;
    return sbw_put(&op->raw, p, n) == SIGNET_OK ? CKR_OK : CKR_DATA_LEN_RANGE;
}

CK_RV p11_op_active(CK_SESSION_HANDLE h, enum p11_op_kind kind, struct p11_op **op)
{
    struct p11_session *s = p11_session_get(h);
    if (!s)
        return CKR_SESSION_HANDLE_INVALID;
    *op = p11_session_op(s, kind);
    return (*op)->active ? CKR_OK : CKR_OPERATION_NOT_INITIALIZED;
}

CK_RV p11_op_update(CK_SESSION_HANDLE h, enum p11_op_kind kind, CK_BYTE_PTR part, CK_ULONG len)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(h, kind, &op)) == CKR_OK) {
        if (!part && len) {
            rv = CKR_ARGUMENTS_BAD;
        } else {
            op->multipart = true;
            rv = p11_op_add(op, part, len);
        }
        if (rv)
            p11_op_clear(op); /* an error ends the operation (PKCS#11 2.40 5.2) */
    }
    p11_leave();
    return rv;
}

bool p11_op_answer_size(CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_ULONG need, CK_RV *rv)
{
    if (out && *out_len >= need)
        return false;
    *rv = out ? CKR_BUFFER_TOO_SMALL : CKR_OK;
    *out_len = need;
    return true;
}

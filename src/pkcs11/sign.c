/* C_SignInit / C_Sign / C_SignUpdate / C_SignFinal over the one signing path.
 *
 * Hashing mechanisms (CKM_SHA256_RSA_PKCS, CKM_ECDSA_SHA256, ...) hash in the module,
 * incrementally; the device only ever sees the digest (RSA: as a DigestInfo).
 * Raw mechanisms (CKM_RSA_PKCS, CKM_RSA_PKCS_PSS, CKM_ECDSA, CKM_EDDSA) buffer their
 * input up to P11_RAW_INPUT_MAX, so that callers may also feed them in parts.
 *
 * A size query (pSignature NULL) or a too small buffer is answered from the key's
 * size without signing: the signature is made exactly once, by the call that can
 * take it. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "p11.h"

/* CK_EDDSA_PARAMS of PKCS#11 3.0 (not in the 2.40 header). */
struct eddsa_params {
    CK_BBOOL phFlag;
    CK_ULONG ulContextDataLen;
    CK_BYTE_PTR pContextData;
};

void p11_sign_op_clear(struct p11_sign_op *op)
{
    EVP_MD_CTX_free(op->md);
    sbw_free(&op->raw);
    memset(op, 0, sizeof *op);
}

static CK_RV check_mechanism(const CK_MECHANISM *m, const struct p11_mech_desc *d,
                             const struct p11_key *k, struct p11_sign_op *op)
{
    if (d->pss) {
        CK_RV rv = p11_pss_params(m, d, &op->pss_hash_len, &op->pss_mgf1, &op->pss_salt_len);
        if (rv)
            return rv;
        /* RFC 8017 9.1.1: emLen >= hLen + sLen + 2, emLen = ceil((modBits - 1) / 8). */
        size_t em_len = (k->bits - 1 + 7) / 8;
        if (em_len < op->pss_hash_len + op->pss_salt_len + 2)
            return CKR_MECHANISM_PARAM_INVALID;
    } else if (d->type == CKM_EDDSA && m->pParameter) {
        /* Only pure Ed25519: no pre-hash, no context. */
        struct eddsa_params ep;
        if (m->ulParameterLen != sizeof ep)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(&ep, m->pParameter, sizeof ep);
        if (ep.phFlag || ep.ulContextDataLen)
            return CKR_MECHANISM_PARAM_INVALID;
    }
    return CKR_OK;
}

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    struct p11_object *obj = p11_object_find(&p11.objects, hKey);
    const struct p11_mech_desc *d = pMechanism ? p11_mech_lookup(pMechanism->mechanism) : NULL;
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!pMechanism) {
        p11_sign_op_clear(&s->sign); /* as in PKCS#11 3.0: a NULL mechanism cancels */
    } else if (s->sign.active) {
        rv = CKR_OPERATION_ACTIVE;
    } else if (!p11.logged_in) {
        rv = CKR_USER_NOT_LOGGED_IN;
    } else if (!obj || !p11_object_visible(obj) || obj->cls == CKO_CERTIFICATE) {
        rv = CKR_KEY_HANDLE_INVALID;
    } else if (obj->cls != CKO_PRIVATE_KEY || p11.objects.keys[obj->key].decrypt) {
        rv = CKR_KEY_FUNCTION_NOT_PERMITTED; /* role "decrypt" keys never sign */
    } else if (!d) {
        rv = CKR_MECHANISM_INVALID;
    } else if (d->key_type != p11.objects.keys[obj->key].key_type) {
        rv = CKR_KEY_TYPE_INCONSISTENT;
    } else {
        struct p11_sign_op *op = &s->sign;
        memset(op, 0, sizeof *op);
        rv = check_mechanism(pMechanism, d, &p11.objects.keys[obj->key], op);
        const EVP_MD *md = d->digest ? p11_digest_md(d->digest) : NULL;
        if (rv == CKR_OK && d->digest && !md) {
            rv = CKR_MECHANISM_INVALID; /* a table entry without a known hash: never guess */
        } else if (rv == CKR_OK && d->digest) {
            op->md = EVP_MD_CTX_new();
            if (!op->md)
                rv = CKR_HOST_MEMORY;
            else if (!EVP_DigestInit_ex(op->md, md, NULL))
                rv = CKR_FUNCTION_FAILED;
        } else if (rv == CKR_OK) {
            sbw_init(&op->raw, P11_RAW_INPUT_MAX);
        }
        if (rv == CKR_OK) {
            op->mech = d;
            op->key = obj->key;
            op->active = true;
        } else {
            p11_sign_op_clear(op);
        }
    }
    p11_leave();
    return rv;
}

static CK_RV add_input(struct p11_sign_op *op, const uint8_t *p, size_t n)
{
    if (op->md)
        return EVP_DigestUpdate(op->md, p, n) ? CKR_OK : CKR_FUNCTION_FAILED;
    if (sbw_put(&op->raw, p, n) != SIGNET_OK)
        return CKR_DATA_LEN_RANGE;
    return CKR_OK;
}

/* The bytes the device signs, in the form the signing path takes. */
static CK_RV device_input(struct p11_sign_op *op, uint8_t *buf, size_t cap, const uint8_t **in, size_t *in_len)
{
    const struct p11_mech_desc *d = op->mech;
    if (op->md) {
        uint8_t digest[EVP_MAX_MD_SIZE];
        unsigned int dlen = 0;
        if (!EVP_DigestFinal_ex(op->md, digest, &dlen))
            return CKR_FUNCTION_FAILED;
        size_t plen = 0;
        const uint8_t *prefix = NULL;
        /* RSA PKCS#1 v1.5: the full DigestInfo, so the device signs it as given. */
        if (d->key_type == CKK_RSA && !d->pss)
            prefix = p11_digestinfo_prefix(d->digest, &plen);
        if (plen + dlen > cap)
            return CKR_FUNCTION_FAILED;
        if (prefix)
            memcpy(buf, prefix, plen);
        memcpy(buf + plen, digest, dlen);
        *in = buf;
        *in_len = plen + dlen;
        return CKR_OK;
    }
    *in = op->raw.p;
    *in_len = op->raw.len;
    switch (d->type) {
    case CKM_RSA_PKCS:
        /* The device has no raw RSA: it pads and signs a DigestInfo (a bare 20/32/48/64
         * bytes would be taken as a digest and wrapped, which is not CKM_RSA_PKCS). */
        if (!p11_is_digestinfo(*in, *in_len)) {
            p11_warn("CKM_RSA_PKCS signs a DigestInfo (SHA-1/224/256/384/512); the %zu bytes "
                     "given are not one: hash first or use CKM_SHA256_RSA_PKCS",
                     *in_len);
            return CKR_DATA_INVALID;
        }
        return CKR_OK;
    case CKM_RSA_PKCS_PSS:
        return *in_len == op->pss_hash_len ? CKR_OK : CKR_DATA_LEN_RANGE;
    case CKM_ECDSA:
        return *in_len >= 1 && *in_len <= 64 ? CKR_OK : CKR_DATA_LEN_RANGE;
    default: /* CKM_EDDSA: the message itself */
        return CKR_OK;
    }
}

static signet_mech signet_mech_of(const struct p11_mech_desc *d)
{
    if (d->key_type == CKK_RSA)
        return d->pss ? SIGNET_MECH_RSA_PSS : SIGNET_MECH_RSA_PKCS1;
    return d->key_type == CKK_EC ? SIGNET_MECH_ECDSA : SIGNET_MECH_EDDSA;
}

/* Signs through the signing path and converts the device's answer to PKCS#11 form
 * (out holds k->sig_len bytes). */
static CK_RV finish(struct p11_sign_op *op, uint8_t *out)
{
    const struct p11_key *k = &p11.objects.keys[op->key];
    uint8_t buf[128];
    const uint8_t *in;
    size_t in_len;
    CK_RV rv = device_input(op, buf, sizeof buf, &in, &in_len);
    if (rv)
        return rv;
    struct p11_artifact art;
    signet_rc rc = p11_artifact_get(&art);
    if (rc)
        return p11_rv_from(rc, "cannot record the artifact being signed");
    signet_signer *signer;
    if ((rc = p11_device_signer_for(k->name, &signer)))
        return p11_rv_from(rc, "cannot reach the HSM");
    signet_sign_req req = {
        .key_name = k->name,
        .mech = signet_mech_of(op->mech),
        .data = in,
        .len = in_len,
        .pss_mgf1 = op->pss_mgf1,
        .pss_salt_len = op->pss_salt_len,
        .artifact_path = art.path,
        .artifact_sha256 = art.path ? art.sha256 : NULL,
        .caller = p11_caller(),
    };
    uint8_t sig[P11_MAX_SIG + 16];
    size_t sig_len = sizeof sig;
    rc = signet_sign(signer, &req, sig, &sig_len);
    if (rc) {
        char what[128];
        snprintf(what, sizeof what, "signing with key '%s'", k->name);
        return p11_rv_from(rc, what);
    }
    if (k->key_type == CKK_EC) {
        rc = p11_ecdsa_der_to_raw(sig, sig_len, k->sig_len / 2, out);
        if (rc)
            return p11_rv_from(rc, "signing");
    } else if (sig_len != k->sig_len) {
        p11_warn("the HSM returned a %zu-byte signature for key '%s', expected %zu", sig_len,
                 k->name, k->sig_len);
        return CKR_DEVICE_ERROR;
    } else {
        memcpy(out, sig, sig_len);
    }
    return CKR_OK;
}

/* Size query and buffer check shared by C_Sign and C_SignFinal.  Returns true when
 * the call ends here (the operation stays active). */
static bool answered_by_size(const struct p11_sign_op *op, CK_BYTE_PTR pSignature,
                             CK_ULONG_PTR pulSignatureLen, CK_RV *rv)
{
    CK_ULONG need = p11.objects.keys[op->key].sig_len;
    if (!pSignature) {
        *pulSignatureLen = need;
        *rv = CKR_OK;
        return true;
    }
    if (*pulSignatureLen < need) {
        *pulSignatureLen = need;
        *rv = CKR_BUFFER_TOO_SMALL;
        return true;
    }
    return false;
}

static CK_RV sign_final(struct p11_sign_op *op, CK_BYTE_PTR pSignature,
                        CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = finish(op, pSignature);
    if (rv == CKR_OK)
        *pulSignatureLen = p11.objects.keys[op->key].sig_len;
    p11_sign_op_clear(op);
    return rv;
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!s->sign.active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else if (s->sign.multipart) {
        rv = CKR_OPERATION_ACTIVE; /* a multi-part operation ends with C_SignFinal */
    } else if (!pulSignatureLen || (!pData && ulDataLen)) {
        p11_sign_op_clear(&s->sign);
        rv = CKR_ARGUMENTS_BAD;
    } else if (!answered_by_size(&s->sign, pSignature, pulSignatureLen, &rv)) {
        rv = add_input(&s->sign, pData, ulDataLen);
        if (rv == CKR_OK)
            rv = sign_final(&s->sign, pSignature, pulSignatureLen);
        else
            p11_sign_op_clear(&s->sign);
    }
    p11_leave();
    return rv;
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!s->sign.active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else if (!pPart && ulPartLen) {
        p11_sign_op_clear(&s->sign);
        rv = CKR_ARGUMENTS_BAD;
    } else {
        s->sign.multipart = true;
        rv = add_input(&s->sign, pPart, ulPartLen);
        if (rv)
            p11_sign_op_clear(&s->sign);
    }
    p11_leave();
    return rv;
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!s->sign.active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else if (!pulSignatureLen) {
        p11_sign_op_clear(&s->sign);
        rv = CKR_ARGUMENTS_BAD;
    } else if (!answered_by_size(&s->sign, pSignature, pulSignatureLen, &rv)) {
        rv = sign_final(&s->sign, pSignature, pulSignatureLen);
    }
    p11_leave();
    return rv;
}

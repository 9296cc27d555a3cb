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

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    struct p11_object *obj;
    rv = p11_op_init_check(hSession, P11_OP_SIGN, pMechanism, hKey, true, CKO_PRIVATE_KEY, &op,
                           &obj);
    if (rv == CKR_OK && op) {
        const struct p11_mech_desc *d = p11_mech_lookup(pMechanism->mechanism);
        const struct p11_key *k = &p11.objects.keys[obj->key];
        if (k->decrypt)
            rv = CKR_KEY_FUNCTION_NOT_PERMITTED; /* role "decrypt" keys never sign */
        else if (!d)
            rv = CKR_MECHANISM_INVALID;
        else if (d->key_type != k->key_type)
            rv = CKR_KEY_TYPE_INCONSISTENT;
        else if ((rv = p11_op_sign_params(pMechanism, d, k->bits, op)) == CKR_OK)
            rv = p11_op_start(op, d, obj->key);
        else
            p11_op_clear(op);
    }
    p11_leave();
    return rv;
}

/* The bytes the device signs, in the form the signing path takes. */
static CK_RV device_input(struct p11_op *op, uint8_t *buf, size_t cap, const uint8_t **in, size_t *in_len)
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
static CK_RV finish(struct p11_op *op, uint8_t *out)
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

static CK_RV sign_final(struct p11_op *op, CK_BYTE_PTR pSignature,
                        CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = finish(op, pSignature);
    if (rv == CKR_OK)
        *pulSignatureLen = p11.objects.keys[op->key].sig_len;
    p11_op_clear(op);
    return rv;
}

/* The signature length of the operation's key. */
static CK_ULONG sig_len(const struct p11_op *op) { return p11.objects.keys[op->key].sig_len; }

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_SIGN, &op)) != CKR_OK) {
        /* no operation to end */
    } else if (op->multipart) {
        rv = CKR_OPERATION_ACTIVE; /* a multi-part operation ends with C_SignFinal */
    } else if (!pulSignatureLen || (!pData && ulDataLen)) {
        p11_op_clear(op);
        rv = CKR_ARGUMENTS_BAD;
    } else if (!p11_op_answer_size(pSignature, pulSignatureLen, sig_len(op), &rv)) {
        rv = p11_op_add(op, pData, ulDataLen);
        if (rv == CKR_OK)
            rv = sign_final(op, pSignature, pulSignatureLen);
        else
            p11_op_clear(op);
    }
    p11_leave();
    return rv;
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    return p11_op_update(hSession, P11_OP_SIGN, pPart, ulPartLen);
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_op *op;
    if ((rv = p11_op_active(hSession, P11_OP_SIGN, &op)) != CKR_OK) {
        /* no operation to end */
    } else if (!pulSignatureLen) {
        p11_op_clear(op);
        rv = CKR_ARGUMENTS_BAD;
    } else if (!p11_op_answer_size(pSignature, pulSignatureLen, sig_len(op), &rv)) {
        rv = sign_final(op, pSignature, pulSignatureLen);
    }
    p11_leave();
    return rv;
}

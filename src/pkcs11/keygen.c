/* C_GenerateKeyPair through `signet keys generate`'s path: a new key-map line
 * (role "pkcs11"), the key generated inside the HSM, certified, exported under
 * the wrap key and the wrapped copy proven (signet_keystore_generate), a key
 * record in the audit trail, and the key store read again so that the new key
 * is usable at once.  Only token objects that stay sensitive and never
 * extractable, and only signing keys: a template asking otherwise is
 * CKR_TEMPLATE_INCONSISTENT. */
#include <stdio.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "p11.h"
#include "signet/proto.h"

#define P11_KEYGEN_ROLE "pkcs11"

static const CK_ATTRIBUTE *attr(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; t && i < n; i++)
        if (t[i].type == type)
            return &t[i];
    return NULL;
}

/* A CK_BBOOL attribute that must have this value when given. */
static bool bool_ok(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type, bool want)
{
    const CK_ATTRIBUTE *a = attr(t, n, type);
    if (!a)
        return true;
    return a->pValue && a->ulValueLen == sizeof(CK_BBOOL) &&
           (*(CK_BBOOL *)a->pValue != CK_FALSE) == want;
}

static CK_RV check_template(const CK_ATTRIBUTE *pub, CK_ULONG npub, const CK_ATTRIBUTE *priv,
                            CK_ULONG npriv)
{
    if (!bool_ok(pub, npub, CKA_TOKEN, true) || !bool_ok(priv, npriv, CKA_TOKEN, true) ||
        !bool_ok(priv, npriv, CKA_PRIVATE, true) || !bool_ok(priv, npriv, CKA_SENSITIVE, true) ||
        !bool_ok(priv, npriv, CKA_EXTRACTABLE, false) || !bool_ok(priv, npriv, CKA_DECRYPT, false) ||
        !bool_ok(priv, npriv, CKA_UNWRAP, false) || !bool_ok(priv, npriv, CKA_DERIVE, false) ||
        !bool_ok(pub, npub, CKA_WRAP, false) || !bool_ok(pub, npub, CKA_DERIVE, false))
        return CKR_TEMPLATE_INCONSISTENT;
    return CKR_OK;
}

static CK_RV rsa_algorithm(const CK_ATTRIBUTE *pub, CK_ULONG n, uint8_t *algo)
{
    const CK_ATTRIBUTE *bits = attr(pub, n, CKA_MODULUS_BITS);
    if (!bits)
        return CKR_TEMPLATE_INCOMPLETE;
    if (!bits->pValue || bits->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    switch (*(CK_ULONG *)bits->pValue) {
    case 2048: *algo = YH_ALGO_RSA_2048; break;
    case 3072: *algo = YH_ALGO_RSA_3072; break;
    case 4096: *algo = YH_ALGO_RSA_4096; break;
    default: return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    /* The device makes e = 65537 only. */
    const CK_ATTRIBUTE *e = attr(pub, n, CKA_PUBLIC_EXPONENT);
    if (e) {
        const uint8_t *p = e->pValue;
        size_t len = e->ulValueLen;
        while (p && len && *p == 0) {
            p++;
            len--;
        }
        if (!p || len != 3 || memcmp(p, "\x01\x00\x01", 3) != 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_OK;
}

static CK_RV ec_algorithm(const CK_ATTRIBUTE *pub, CK_ULONG n, uint8_t *algo)
{
    const CK_ATTRIBUTE *a = attr(pub, n, CKA_EC_PARAMS);
    if (!a)
        return CKR_TEMPLATE_INCOMPLETE;
    const unsigned char *p = a->pValue;
    ASN1_OBJECT *oid = p ? d2i_ASN1_OBJECT(NULL, &p, (long)a->ulValueLen) : NULL;
    int nid = oid && p == (const unsigned char *)a->pValue + a->ulValueLen ? OBJ_obj2nid(oid)
                                                                          : NID_undef;
    ASN1_OBJECT_free(oid);
    static const uint8_t algos[] = {YH_ALGO_EC_P224, YH_ALGO_EC_P256, YH_ALGO_EC_P384,
                                    YH_ALGO_EC_P521, YH_ALGO_EC_K256, YH_ALGO_EC_BP256,
                                    YH_ALGO_EC_BP384, YH_ALGO_EC_BP512};
    for (size_t i = 0; nid != NID_undef && i < sizeof algos; i++)
        if (yh_algo_curve_nid(algos[i]) == nid) {
            *algo = algos[i];
            return CKR_OK;
        }
    return CKR_ATTRIBUTE_VALUE_INVALID;
}

/* The key name: CKA_LABEL (the same in both templates when both give one), else
 * "pkcs11-<id>". */
static CK_RV key_name(const CK_ATTRIBUTE *pub, CK_ULONG npub, const CK_ATTRIBUTE *priv,
                      CK_ULONG npriv, uint16_t id, char out[SIGNET_KEY_NAME_MAX])
{
    const CK_ATTRIBUTE *a = attr(priv, npriv, CKA_LABEL), *b = attr(pub, npub, CKA_LABEL);
    if (a && b && (a->ulValueLen != b->ulValueLen ||
                   (a->ulValueLen && memcmp(a->pValue, b->pValue, a->ulValueLen) != 0)))
        return CKR_TEMPLATE_INCONSISTENT;
    if (!a)
        a = b;
    if (!a) {
        snprintf(out, SIGNET_KEY_NAME_MAX, "pkcs11-%04x", id);
        return CKR_OK;
    }
    if (!a->pValue || a->ulValueLen == 0 || a->ulValueLen >= SIGNET_KEY_NAME_MAX)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out, a->pValue, a->ulValueLen);
    out[a->ulValueLen] = 0;
    return signet_key_name_valid(out) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
}

/* The id: CKA_ID of 2 bytes when given (and free), else the key map's next. */
static CK_RV key_id(const CK_ATTRIBUTE *pub, CK_ULONG npub, const CK_ATTRIBUTE *priv,
                    CK_ULONG npriv, const signet_keymap *m, uint16_t *id)
{
    const CK_ATTRIBUTE *a = attr(priv, npriv, CKA_ID);
    if (!a)
        a = attr(pub, npub, CKA_ID);
    if (!a) {
        *id = signet_keymap_next_id(m);
        return *id ? CKR_OK : CKR_DEVICE_MEMORY;
    }
    if (!a->pValue || a->ulValueLen != 2)
        return CKR_ATTRIBUTE_VALUE_INVALID; /* CKA_ID is the 2-byte object id */
    *id = (uint16_t)(((const uint8_t *)a->pValue)[0] << 8 | ((const uint8_t *)a->pValue)[1]);
    if (*id == 0 || signet_keymap_find_id(m, *id))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_OK;
}

/* Adds the key-map line, generates, records; the caller holds the module lock. */
static CK_RV generate(signet_keymap_entry *e)
{
    char path[sizeof p11.cfg.keystore + 32];
    snprintf(path, sizeof path, "%s/%s", p11.cfg.keystore, SIGNET_KEYMAP_FILE);
    signet_keymap m;
    signet_keymap_init(&m);
    signet_rc rc = signet_keymap_load(path, &m);
    if (rc == SIGNET_OK && signet_keymap_find(&m, e->name))
        rc = signet_fail(SIGNET_E_STATE, "the key store already has a key '%s'", e->name);
    if (rc == SIGNET_OK)
        rc = signet_keymap_add(&m, e);
    if (rc == SIGNET_OK)
        rc = signet_keymap_save(path, &m);
    signet_keymap_free(&m);
    if (rc)
        return p11_rv_from(rc, "adding the key to the key map");
    /* A fresh signer reads the key store with the new line. */
    if (p11.signer) {
        signet_signer_close(p11.signer);
        p11.signer = NULL;
    }
    signet_signer *signer;
    if ((rc = p11_device_signer(&signer)))
        return p11_rv_from(rc, "cannot reach the HSM");
    signet_keystore *ks = signet_signer_keystore(signer);
    const signet_keymap_entry *ke = NULL;
    for (size_t i = 0; i < signet_keystore_count(ks); i++)
        if (strcmp(signet_keystore_entry(ks, i)->name, e->name) == 0)
            ke = signet_keystore_entry(ks, i);
    if (!ke)
        return p11_rv_from(signet_fail(SIGNET_E_STATE, "the new key '%s' is not in the key map "
                                       "read back", e->name), "generating");
    if (!signet_signer_session(signer)) /* backend = pkcs11 */
        return p11_rv_from(signet_fail(SIGNET_E_ARG, "keys are generated through signet's module "
                                       "on a YubiHSM only"), "generating");
    signet_keygen_opts o = {.wrap_id = p11.cfg.wrap_key_id};
    if (p11.cfg.audit[0]) {
        /* The certificate is signed through the signing path, with its record. */
        o.cert_signer = signet_sign_certificate;
        o.cert_signer_ctx = signer;
    }
    rc = signet_keystore_generate(ks, signet_signer_session(signer), ke, &o);
    if (rc == SIGNET_OK && p11.cfg.audit[0])
        rc = signet_signer_record_key(signer, ke, "generated", "through PKCS#11");
    if (rc) {
        char what[128];
        snprintf(what, sizeof what, "generating key '%s' (its key-map line stays; run `signet "
                 "keys generate` to finish it)", e->name);
        return p11_rv_from(rc, what);
    }
    return CKR_OK;
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                        CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                        CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    if (!pMechanism || !phPublicKey || !phPrivateKey ||
        (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
        (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount))
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    const CK_ATTRIBUTE *pub = pPublicKeyTemplate, *priv = pPrivateKeyTemplate;
    CK_ULONG npub = ulPublicKeyAttributeCount, npriv = ulPrivateKeyAttributeCount;
    signet_keymap_entry e = {.domains = 1};
    snprintf(e.role, sizeof e.role, "%s", P11_KEYGEN_ROLE);
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!(s->flags & CKF_RW_SESSION)) {
        rv = CKR_SESSION_READ_ONLY;
    } else if (!p11.logged_in) {
        rv = CKR_USER_NOT_LOGGED_IN;
    } else if (!p11.cfg.keystore[0]) {
        p11_warn("no key store is configured (keystore = in signet.conf)");
        rv = CKR_FUNCTION_FAILED;
    } else if (pMechanism->mechanism == CKM_RSA_PKCS_KEY_PAIR_GEN) {
        rv = rsa_algorithm(pub, npub, &e.algorithm);
    } else if (pMechanism->mechanism == CKM_EC_KEY_PAIR_GEN) {
        rv = ec_algorithm(pub, npub, &e.algorithm);
    } else if (pMechanism->mechanism == CKM_EC_EDWARDS_KEY_PAIR_GEN) {
        e.algorithm = YH_ALGO_EC_ED25519;
    } else {
        rv = CKR_MECHANISM_INVALID;
    }
    if (rv == CKR_OK)
        rv = check_template(pub, npub, priv, npriv);
    if (rv == CKR_OK) {
        char path[sizeof p11.cfg.keystore + 32];
        snprintf(path, sizeof path, "%s/%s", p11.cfg.keystore, SIGNET_KEYMAP_FILE);
        signet_keymap m;
        signet_keymap_init(&m);
        signet_rc lrc = signet_keymap_load(path, &m);
        if (lrc != SIGNET_OK) {
            rv = p11_rv_from(lrc, "reading the key map");
        } else {
            /* New keys share the domains of the store's first key. */
            if (m.n)
                e.domains = m.v[0].domains;
            rv = key_id(pub, npub, priv, npriv, &m, &e.id);
            if (rv == CKR_OK)
                rv = key_name(pub, npub, priv, npriv, e.id, e.name);
            if (rv == CKR_OK && signet_keymap_find(&m, e.name))
                rv = CKR_ATTRIBUTE_VALUE_INVALID; /* the label names an existing key */
        }
        signet_keymap_free(&m);
    }
    if (rv == CKR_OK)
        rv = generate(&e);
    if (rv == CKR_OK) {
        p11_objects_refresh();
        rv = CKR_FUNCTION_FAILED;
        for (size_t i = 0; i < p11.objects.n_objs; i++) {
            const struct p11_object *o = &p11.objects.objs[i];
            if (strcmp(p11.objects.keys[o->key].name, e.name) != 0)
                continue;
            if (o->cls == CKO_PRIVATE_KEY)
                *phPrivateKey = o->handle;
            else if (o->cls == CKO_PUBLIC_KEY)
                *phPublicKey = o->handle;
            rv = CKR_OK;
        }
        if (rv)
            p11_warn("key '%s' was generated but cannot be shown before no operation is "
                     "active; search for it again", e.name);
    }
    p11_leave();
    return rv;
}

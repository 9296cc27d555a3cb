/* The token's objects, read from the key store on disk: every key appears as a
 * private key, a public key and (when its certificate exists) a certificate, all
 * with the same CKA_ID (the 2-byte object id, big-endian) and CKA_LABEL (the key
 * name), whether the key is resident on the HSM or only wrapped on disk.
 *
 * Attribute values are computed once here, so that C_GetAttributeValue and
 * C_FindObjects are plain comparisons over one table per object. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "p11.h"
#include "signet/proto.h"

/* ---- attribute list builder -------------------------------------------------------- */
void p11_attrs_add(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t, const void *val, size_t len)
{
    if (l->oom)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct p11_attr *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    struct p11_attr *a = &l->v[l->n];
    memset(a, 0, sizeof *a);
    a->type = t;
    a->len = len;
    if (len) {
        a->val = malloc(len);
        if (!a->val) {
            l->oom = true;
            return;
        }
        memcpy(a->val, val, len);
    }
    l->n++;
}

void p11_attrs_add_bool(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t, bool v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
    p11_attrs_add(l, t, &b, sizeof b);
}

void p11_attrs_add_ulong(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
    p11_attrs_add(l, t, &v, sizeof v);
}

void p11_attrs_add_sensitive(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t)
{
    p11_attrs_add(l, t, NULL, 0);
    if (!l->oom)
        l->v[l->n - 1].sensitive = true;
}

void p11_attrs_free(struct p11_attr *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].val);
    free(v);
}

/* ---- public material of one key ----------------------------------------------------- */
struct key_material {
    sb_wr modulus, exponent;        /* RSA */
    sb_wr ec_params, ec_point;      /* EC and Ed25519 (DER OID, DER OCTET STRING) */
    sb_wr spki;                     /* SubjectPublicKeyInfo DER */
    sb_wr cert, subject, issuer, serial; /* certificate DER and its parts */
    uint8_t cert_check[3];
    bool has_cert;
};

static void material_init(struct key_material *m)
{
    memset(m, 0, sizeof *m);
    sb_wr *all[] = {&m->modulus, &m->exponent, &m->ec_params, &m->ec_point, &m->spki,
                    &m->cert, &m->subject, &m->issuer, &m->serial};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sbw_init(all[i], 1 << 20);
}

static void material_free(struct key_material *m)
{
    sb_wr *all[] = {&m->modulus, &m->exponent, &m->ec_params, &m->ec_point, &m->spki,
                    &m->cert, &m->subject, &m->issuer, &m->serial};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sbw_free(all[i]);
}

static signet_rc put_bn(EVP_PKEY *pk, const char *param, sb_wr *out)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pk, param, &bn))
        return signet_fail(SIGNET_E_CRYPTO, "cannot read the RSA public key's %s", param);
    uint8_t *p;
    signet_rc rc = sbw_reserve(out, (size_t)BN_num_bytes(bn), &p);
    if (rc == SIGNET_OK)
        BN_bn2bin(bn, p);
    BN_free(bn);
    return rc;
}

/* DER OCTET STRING around p (CKA_EC_POINT's form). */
static signet_rc put_octet_string(sb_wr *out, const uint8_t *p, size_t n)
{
    signet_rc rc = sbw_u8(out, 0x04);
    if (rc == SIGNET_OK && n >= 0x100)
        rc = sbw_u8(out, 0x82);
    else if (rc == SIGNET_OK && n >= 0x80)
        rc = sbw_u8(out, 0x81);
    if (rc == SIGNET_OK)
        rc = n >= 0x100 ? sbw_u16(out, (uint16_t)n) : sbw_u8(out, (uint8_t)n);
    if (rc == SIGNET_OK)
        rc = sbw_put(out, p, n);
    return rc;
}

/* Takes the output of an i2d_*(obj, &der) call that allocated der. */
static signet_rc take_der(sb_wr *out, int n, unsigned char *der)
{
    signet_rc rc = n > 0 ? sbw_put(out, der, (size_t)n)
                         : signet_fail(SIGNET_E_CRYPTO, "DER encoding failed");
    OPENSSL_free(der);
    return rc;
}

static signet_rc ec_material(EVP_PKEY *pk, struct key_material *m)
{
    char group[80];
    if (!EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL))
        return signet_fail(SIGNET_E_CRYPTO, "cannot read the EC key's curve");
    int nid = OBJ_txt2nid(group);
    ASN1_OBJECT *oid = nid != NID_undef ? OBJ_nid2obj(nid) : NULL;
    unsigned char *der = NULL;
    int n = oid ? i2d_ASN1_OBJECT(oid, &der) : 0;
    if (take_der(&m->ec_params, n, der) != SIGNET_OK)
        return signet_fail(SIGNET_E_CRYPTO, "cannot encode the curve %s", group);
    uint8_t point[160];
    size_t plen = 0;
    if (!EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &plen))
        return signet_fail(SIGNET_E_CRYPTO, "cannot read the EC public point");
    return put_octet_string(&m->ec_point, point, plen);
}

static signet_rc ed25519_material(EVP_PKEY *pk, struct key_material *m)
{
    /* id-Ed25519 (RFC 8410), the form PKCS#11 3.0 prefers for CKA_EC_PARAMS. */
    static const uint8_t oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
    uint8_t pub[32];
    size_t len = sizeof pub;
    if (!EVP_PKEY_get_raw_public_key(pk, pub, &len) || len != sizeof pub)
        return signet_fail(SIGNET_E_CRYPTO, "cannot read the Ed25519 public key");
    signet_rc rc = sbw_put(&m->ec_params, oid, sizeof oid);
    if (rc == SIGNET_OK)
        rc = put_octet_string(&m->ec_point, pub, len);
    return rc;
}

static signet_rc cert_material(X509 *x, struct key_material *m)
{
    unsigned char *der = NULL;
    int n = i2d_X509_NAME(X509_get_subject_name(x), &der);
    signet_rc rc = take_der(&m->subject, n, der);
    if (rc == SIGNET_OK) {
        der = NULL;
        n = i2d_X509_NAME(X509_get_issuer_name(x), &der);
        rc = take_der(&m->issuer, n, der);
    }
    if (rc == SIGNET_OK) {
        der = NULL;
        n = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
        rc = take_der(&m->serial, n, der);
    }
    if (rc)
        return signet_fail(SIGNET_E_CRYPTO, "cannot encode the certificate's names");
    /* CKA_CHECK_VALUE of a certificate: the first 3 bytes of SHA-1 of its value. */
    uint8_t sha1[20];
    unsigned int len = 0;
    if (!EVP_Digest(m->cert.p, m->cert.len, sha1, &len, EVP_sha1(), NULL))
        return signet_fail(SIGNET_E_CRYPTO, "cannot hash the certificate");
    memcpy(m->cert_check, sha1, sizeof m->cert_check);
    m->has_cert = true;
    return SIGNET_OK;
}

/* ---- one key's three objects ---------------------------------------------------------- */
static void add_common(struct p11_attr_list *l, CK_OBJECT_CLASS cls, bool priv,
                       const struct p11_key *k)
{
    uint8_t id[2];
    put_be16(id, k->id);
    p11_attrs_add_ulong(l, CKA_CLASS, cls);
    p11_attrs_add_bool(l, CKA_TOKEN, true);
    p11_attrs_add_bool(l, CKA_PRIVATE, priv);
    p11_attrs_add_bool(l, CKA_MODIFIABLE, false);
    p11_attrs_add_bool(l, CKA_COPYABLE, false);
    p11_attrs_add_bool(l, CKA_DESTROYABLE, false);
    p11_attrs_add(l, CKA_LABEL, k->name, strlen(k->name));
    p11_attrs_add(l, CKA_ID, id, sizeof id);
}

static void add_key_common(struct p11_attr_list *l, const struct p11_key *k,
                           const struct key_material *m)
{
    CK_MECHANISM_TYPE allowed[32];
    size_t n = p11_mechs_for_key(k->key_type, allowed, 32);
    p11_attrs_add_ulong(l, CKA_KEY_TYPE, k->key_type);
    p11_attrs_add(l, CKA_START_DATE, NULL, 0);
    p11_attrs_add(l, CKA_END_DATE, NULL, 0);
    p11_attrs_add_bool(l, CKA_DERIVE, false);
    /* signet keys are generated inside an HSM (docs/keys.md). */
    p11_attrs_add_bool(l, CKA_LOCAL, true);
    p11_attrs_add_ulong(l, CKA_KEY_GEN_MECHANISM,
                        k->key_type == CKK_RSA  ? CKM_RSA_PKCS_KEY_PAIR_GEN
                        : k->key_type == CKK_EC ? CKM_EC_KEY_PAIR_GEN
                                                : CKM_EC_EDWARDS_KEY_PAIR_GEN);
    p11_attrs_add(l, CKA_ALLOWED_MECHANISMS, allowed, n * sizeof allowed[0]);
    p11_attrs_add(l, CKA_SUBJECT, m->subject.p, m->subject.len);
    p11_attrs_add(l, CKA_PUBLIC_KEY_INFO, m->spki.p, m->spki.len);
    if (k->key_type == CKK_RSA) {
        p11_attrs_add(l, CKA_MODULUS, m->modulus.p, m->modulus.len);
        p11_attrs_add(l, CKA_PUBLIC_EXPONENT, m->exponent.p, m->exponent.len);
    } else {
        p11_attrs_add(l, CKA_EC_PARAMS, m->ec_params.p, m->ec_params.len);
        /* Also on the private key: libp11 and pkcs11-tool look for it there first. */
        p11_attrs_add(l, CKA_EC_POINT, m->ec_point.p, m->ec_point.len);
    }
}

static void build_private(struct p11_attr_list *l, const struct p11_key *k,
                          const struct key_material *m)
{
    add_common(l, CKO_PRIVATE_KEY, true, k);
    add_key_common(l, k, m);
    p11_attrs_add_bool(l, CKA_SENSITIVE, true);
    p11_attrs_add_bool(l, CKA_ALWAYS_SENSITIVE, true);
    p11_attrs_add_bool(l, CKA_EXTRACTABLE, false);
    p11_attrs_add_bool(l, CKA_NEVER_EXTRACTABLE, true);
    /* A key-map role "decrypt" key decrypts and never signs; every other key signs. */
    p11_attrs_add_bool(l, CKA_SIGN, !k->decrypt);
    p11_attrs_add_bool(l, CKA_SIGN_RECOVER, false);
    p11_attrs_add_bool(l, CKA_DECRYPT, k->decrypt);
    p11_attrs_add_bool(l, CKA_UNWRAP, false);
    p11_attrs_add_bool(l, CKA_WRAP_WITH_TRUSTED, false);
    p11_attrs_add_bool(l, CKA_ALWAYS_AUTHENTICATE, false);
    if (k->key_type == CKK_RSA) {
        p11_attrs_add_ulong(l, CKA_MODULUS_BITS, k->bits);
        static const CK_ATTRIBUTE_TYPE secret[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1, CKA_PRIME_2,
                                                   CKA_EXPONENT_1, CKA_EXPONENT_2,
                                                   CKA_COEFFICIENT};
        for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
            p11_attrs_add_sensitive(l, secret[i]);
    } else {
        p11_attrs_add_sensitive(l, CKA_VALUE);
    }
}

static void build_public(struct p11_attr_list *l, const struct p11_key *k,
                         const struct key_material *m)
{
    add_common(l, CKO_PUBLIC_KEY, false, k);
    add_key_common(l, k, m);
    p11_attrs_add_bool(l, CKA_VERIFY, !k->decrypt);
    p11_attrs_add_bool(l, CKA_VERIFY_RECOVER, false);
    /* Encryption needs only the public key (C_Encrypt runs in the module). */
    p11_attrs_add_bool(l, CKA_ENCRYPT, k->key_type == CKK_RSA);
    p11_attrs_add_bool(l, CKA_WRAP, false);
    p11_attrs_add_bool(l, CKA_TRUSTED, false);
    if (k->key_type == CKK_RSA)
        p11_attrs_add_ulong(l, CKA_MODULUS_BITS, k->bits);
}

static void build_cert(struct p11_attr_list *l, const struct p11_key *k,
                       const struct key_material *m)
{
    add_common(l, CKO_CERTIFICATE, false, k);
    p11_attrs_add_ulong(l, CKA_CERTIFICATE_TYPE, CKC_X_509);
    p11_attrs_add_bool(l, CKA_TRUSTED, false);
    p11_attrs_add_ulong(l, CKA_CERTIFICATE_CATEGORY, 0); /* unspecified */
    p11_attrs_add(l, CKA_CHECK_VALUE, m->cert_check, sizeof m->cert_check);
    p11_attrs_add(l, CKA_START_DATE, NULL, 0);
    p11_attrs_add(l, CKA_END_DATE, NULL, 0);
    p11_attrs_add(l, CKA_SUBJECT, m->subject.p, m->subject.len);
    p11_attrs_add(l, CKA_ISSUER, m->issuer.p, m->issuer.len);
    p11_attrs_add(l, CKA_SERIAL_NUMBER, m->serial.p, m->serial.len);
    p11_attrs_add(l, CKA_VALUE, m->cert.p, m->cert.len);
    p11_attrs_add(l, CKA_URL, NULL, 0);
    p11_attrs_add(l, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0);
    p11_attrs_add(l, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0);
    p11_attrs_add_ulong(l, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);
    p11_attrs_add(l, CKA_PUBLIC_KEY_INFO, m->spki.p, m->spki.len);
}

static signet_rc add_object(struct p11_objects *o, CK_OBJECT_CLASS cls, size_t key,
                            CK_OBJECT_HANDLE h, struct p11_attr_list *l)
{
    if (l->oom) {
        p11_attrs_free(l->v, l->n);
        return signet_fail(SIGNET_E_NOMEM, "out of memory building the token's objects");
    }
    struct p11_object *v = realloc(o->objs, (o->n_objs + 1) * sizeof *v);
    if (!v) {
        p11_attrs_free(l->v, l->n);
        return signet_fail(SIGNET_E_NOMEM, "out of memory building the token's objects");
    }
    o->objs = v;
    struct p11_object *obj = &v[o->n_objs++];
    obj->handle = h;
    obj->cls = cls;
    obj->key = key;
    obj->is_private = cls == CKO_PRIVATE_KEY;
    obj->attrs = l->v;
    obj->n_attrs = l->n;
    return SIGNET_OK;
}

/* The key type PKCS#11 shows, checked against what the key map promises. */
static signet_rc key_type_of(EVP_PKEY *pk, const signet_keymap_entry *e, CK_KEY_TYPE *kt)
{
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
        *kt = CKK_RSA;
        if (yh_algo_is_rsa(e->algorithm))
            return SIGNET_OK;
        break;
    case EVP_PKEY_EC:
        *kt = CKK_EC;
        if (yh_algo_is_ec(e->algorithm))
            return SIGNET_OK;
        break;
    case EVP_PKEY_ED25519:
        *kt = CKK_EC_EDWARDS;
        if (e->algorithm == YH_ALGO_EC_ED25519)
            return SIGNET_OK;
        break;
    default:
        return signet_fail(SIGNET_E_UNSUPPORTED, "its public key is of a type signet cannot use");
    }
    return signet_fail(SIGNET_E_STATE, "its public key does not match the key map's algorithm %s",
                       yh_algo_name(e->algorithm));
}

/* Public key from <name>.pub.pem, else from the certificate; the certificate only
 * when it certifies that same key (SunPKCS11 pairs them by CKA_ID alone). */
static signet_rc load_key(const signet_keystore *ks, const signet_keymap_entry *e,
                          struct p11_key *k, struct key_material *m)
{
    EVP_PKEY *pk = NULL;
    X509 *x = NULL;
    signet_rc rc = signet_keystore_public_key(ks, e->name, &pk);
    if (rc && rc != SIGNET_E_NOTFOUND)
        return rc;
    rc = signet_keystore_cert_der(ks, e->name, &m->cert);
    if (rc && rc != SIGNET_E_NOTFOUND)
        goto out;
    if (rc == SIGNET_OK) {
        const uint8_t *p = m->cert.p;
        x = d2i_X509(NULL, &p, (long)m->cert.len);
        if (!x || p != m->cert.p + m->cert.len) {
            rc = signet_fail(SIGNET_E_PARSE, "its certificate is not one DER X.509 certificate");
            goto out;
        }
        if (!pk) {
            pk = X509_get_pubkey(x);
        } else if (EVP_PKEY_eq(pk, X509_get0_pubkey(x)) != 1) {
            p11_warn("key '%s': its certificate is for another public key; the certificate is "
                     "left out (re-create it with `signet keys`)", e->name);
            X509_free(x);
            x = NULL;
            sbw_reset(&m->cert);
        }
    }
    if (!pk) {
        rc = signet_fail(SIGNET_E_NOTFOUND, "neither its public key nor its certificate is in "
                                            "the key store");
        goto out;
    }
    memset(k, 0, sizeof *k);
    snprintf(k->name, sizeof k->name, "%s", e->name);
    k->id = e->id;
    k->algorithm = e->algorithm;
    k->entry = *e;
    k->decrypt = strcmp(e->role, P11_ROLE_DECRYPT) == 0;
    if ((rc = key_type_of(pk, e, &k->key_type)))
        goto out;
    k->bits = (unsigned)EVP_PKEY_get_bits(pk);
    size_t field = (k->bits + 7) / 8;
    k->sig_len = k->key_type == CKK_RSA ? field : k->key_type == CKK_EC ? 2 * field : 64;
    if (k->sig_len > P11_MAX_SIG) {
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "its %u-bit key is larger than signet supports",
                         k->bits);
        goto out;
    }
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    rc = take_der(&m->spki, n, der);
    if (rc == SIGNET_OK && k->key_type == CKK_RSA) {
        rc = put_bn(pk, OSSL_PKEY_PARAM_RSA_N, &m->modulus);
        if (rc == SIGNET_OK)
            rc = put_bn(pk, OSSL_PKEY_PARAM_RSA_E, &m->exponent);
    } else if (rc == SIGNET_OK && k->key_type == CKK_EC)
        rc = ec_material(pk, m);
    else if (rc == SIGNET_OK)
        rc = ed25519_material(pk, m);
    if (rc == SIGNET_OK && x)
        rc = cert_material(x, m);
out:
    X509_free(x);
    EVP_PKEY_free(pk);
    return rc;
}

signet_rc p11_objects_load(const char *keystore_dir, struct p11_objects *out)
{
    memset(out, 0, sizeof *out);
    if (!keystore_dir || !*keystore_dir)
        return SIGNET_OK; /* no key store configured: an empty token */
    signet_keystore *ks = NULL;
    signet_rc rc = signet_keystore_open(keystore_dir, &ks);
    if (rc)
        return signet_wrap(rc, "opening the key store %s", keystore_dir);
    size_t n = signet_keystore_count(ks);
    out->keys = calloc(n ? n : 1, sizeof *out->keys);
    if (!out->keys) {
        signet_keystore_close(ks);
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading the key store");
    }
    for (size_t i = 0; i < n && rc == SIGNET_OK; i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        struct key_material m;
        material_init(&m);
        struct p11_key k;
        signet_rc krc = load_key(ks, e, &k, &m);
        if (krc == SIGNET_E_NOMEM) {
            rc = krc;
        } else if (krc == SIGNET_E_NOTFOUND) {
            /* In the key map but not generated yet: nothing to show. */
        } else if (krc) {
            p11_warn("key '%s' is left out: %s", e->name, signet_errmsg());
        } else {
            size_t ki = out->n_keys++;
            out->keys[ki] = k;
            /* Handles are stable for a given key store: 3 per key map entry. */
            CK_OBJECT_HANDLE base = (CK_OBJECT_HANDLE)(3 * i + 1);
            struct p11_attr_list l = {0};
            build_private(&l, &k, &m);
            rc = add_object(out, CKO_PRIVATE_KEY, ki, base, &l);
            if (rc == SIGNET_OK) {
                memset(&l, 0, sizeof l);
                build_public(&l, &k, &m);
                rc = add_object(out, CKO_PUBLIC_KEY, ki, base + 1, &l);
            }
            if (rc == SIGNET_OK && m.has_cert) {
                memset(&l, 0, sizeof l);
                build_cert(&l, &k, &m);
                rc = add_object(out, CKO_CERTIFICATE, ki, base + 2, &l);
            }
        }
        material_free(&m);
    }
    signet_keystore_close(ks);
    if (rc)
        p11_objects_free(out);
    return rc;
}

void p11_objects_free(struct p11_objects *o)
{
    for (size_t i = 0; i < o->n_objs; i++)
        p11_attrs_free(o->objs[i].attrs, o->objs[i].n_attrs);
    free(o->objs);
    free(o->keys);
    memset(o, 0, sizeof *o);
}

struct p11_object *p11_object_find(struct p11_objects *o, CK_OBJECT_HANDLE h)
{
    for (size_t i = 0; i < o->n_objs; i++)
        if (o->objs[i].handle == h)
            return &o->objs[i];
    return NULL;
}

const struct p11_attr *p11_object_attr(const struct p11_object *obj, CK_ATTRIBUTE_TYPE type)
{
    for (size_t i = 0; i < obj->n_attrs; i++)
        if (obj->attrs[i].type == type)
            return &obj->attrs[i];
    return NULL;
}


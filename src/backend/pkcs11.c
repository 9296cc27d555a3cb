/* The PKCS#11 backend (backend.h): any PKCS#11 module, loaded with dlopen().  Keys
 * are resident on the token, found by label (the key map's name) and checked once
 * against the key store's public key; signatures by C_Sign.  A token keeps no log
 * the trail could pair records with: the backend has no drain, and checkpoints are
 * signed by an Ed25519 key on the token through the trail's callback. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/objects.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "signet/digestinfo.h"
#include "signet/hash.h"
#include "signet/secmem.h"
#include "p11_internal.h"

static const char *ck_name(CK_RV rv)
{
    switch (rv) {
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_REMOVED: return "CKR_DEVICE_REMOVED";
    case CKR_SESSION_HANDLE_INVALID: return "CKR_SESSION_HANDLE_INVALID";
    case CKR_OBJECT_HANDLE_INVALID: return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_KEY_HANDLE_INVALID: return "CKR_KEY_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID: return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID: return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_DATA_LEN_RANGE: return "CKR_DATA_LEN_RANGE";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_WRAPPED_KEY_INVALID: return "CKR_WRAPPED_KEY_INVALID";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_KEY_NOT_WRAPPABLE: return "CKR_KEY_NOT_WRAPPABLE";
    case CKR_KEY_UNEXTRACTABLE: return "CKR_KEY_UNEXTRACTABLE";
    case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY";
    default: return "a PKCS#11 error";
    }
}

signet_rc p11_fail(CK_RV rv, const char *what)
{
    signet_rc rc = rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED ? SIGNET_E_AUTH
                   : rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID
                       ? SIGNET_E_NOTFOUND
                       : SIGNET_E_DEVICE;
    return signet_fail(rc, "%s: the PKCS#11 module answered %s (0x%lx)", what, ck_name(rv),
                       (unsigned long)rv);
}

/* A fixed-width, space-padded PKCS#11 string equal to s. */
static bool label_eq(const CK_UTF8CHAR *field, size_t width, const char *s)
{
    size_t n = strlen(s);
    if (n > width || memcmp(field, s, n) != 0)
        return false;
    for (size_t i = n; i < width; i++)
        if (field[i] != ' ')
            return false;
    return true;
}

static signet_rc open_token(p11_dev *p, const signet_pkcs11_opts *o)
{
    CK_ULONG n = 0;
    CK_RV rv = p->f->C_GetSlotList(CK_TRUE, NULL, &n);
    if (rv != CKR_OK)
        return p11_fail(rv, "listing the slots");
    CK_SLOT_ID *slots = calloc(n ? n : 1, sizeof *slots);
    if (!slots)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
    CK_TOKEN_INFO ti;
    bool found = false;
    for (CK_ULONG i = 0; rv == CKR_OK && i < n && !found; i++)
        if (p->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
            label_eq(ti.label, sizeof ti.label, o->token)) {
            p->slot = slots[i];
            found = true;
        }
    free(slots);
    if (rv != CKR_OK)
        return p11_fail(rv, "listing the slots");
    if (!found)
        return signet_fail(SIGNET_E_NOTFOUND,
                           "no token labelled '%s' in the PKCS#11 module %s: check pkcs11_token "
                           "in signet.conf (pkcs11-tool --module %s -L lists the tokens)",
                           o->token, o->module, o->module);
    /* The device's name in records: 4 bytes of SHA-256(label | serial number). */
    uint8_t h[32], id[sizeof ti.label + sizeof ti.serialNumber];
    memcpy(id, ti.label, sizeof ti.label);
    memcpy(id + sizeof ti.label, ti.serialNumber, sizeof ti.serialNumber);
    signet_rc rc = signet_sha256(id, sizeof id, h);
    if (rc)
        return rc;
    p->serial = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p->sess);
    if (rv != CKR_OK)
        return p11_fail(rv, "opening a session on the token");
    p->have_sess = true;
    char *pin = NULL;
    if (o->pin && !(pin = smem_strdup(o->pin)))
        rc = signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    else if (!o->pin && o->so)
        rc = signet_read_password(o->pin_file, "SIGNET_PKCS11_SO_PIN",
                                  "security officer's PIN of the PKCS#11 token: ", &pin);
    else if (!o->pin)
        rc = signet_read_password(o->pin_file, "SIGNET_PKCS11_PIN", "PIN of the PKCS#11 token: ",
                                  &pin);
    if (rc)
        return signet_wrap(rc, o->so ? "the security officer's PIN (--so-pin-file, or "
                                       "$SIGNET_PKCS11_SO_PIN)"
                                     : "the token's PIN (pkcs11_pin_file in signet.conf, or "
                                       "$SIGNET_PKCS11_PIN)");
    rv = p->f->C_Login(p->sess, o->so ? CKU_SO : CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
    smem_free(pin);
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        return p11_fail(rv, "logging in to the token");
    return SIGNET_OK;
}

signet_rc p11_find(p11_dev *p, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *h)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_LABEL, (void *)label, strlen(label)}};
    CK_ULONG n = 0;
    CK_RV rv = p->f->C_FindObjectsInit(p->sess, t, 2);
    if (rv != CKR_OK)
        return p11_fail(rv, "searching the token");
    rv = p->f->C_FindObjects(p->sess, h, 1, &n);
    p->f->C_FindObjectsFinal(p->sess);
    if (rv != CKR_OK)
        return p11_fail(rv, "searching the token");
    if (n == 0)
        return signet_fail(SIGNET_E_NOTFOUND, "the token holds no %s key labelled '%s'",
                           cls == CKO_PRIVATE_KEY  ? "private"
                           : cls == CKO_SECRET_KEY ? "secret"
                                                   : "public",
                           label);
    return SIGNET_OK;
}

signet_rc p11_get_attr(p11_dev *p, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, uint8_t **out,
                          size_t *len)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    CK_RV rv = p->f->C_GetAttributeValue(p->sess, h, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 8192)
        return p11_fail(rv != CKR_OK ? rv : CKR_ATTRIBUTE_VALUE_INVALID, "reading a key attribute");
    if (!(a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1)))
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    if ((rv = p->f->C_GetAttributeValue(p->sess, h, &a, 1)) != CKR_OK) {
        free(a.pValue);
        return p11_fail(rv, "reading a key attribute");
    }
    *out = a.pValue;
    *len = a.ulValueLen;
    return SIGNET_OK;
}

/* The public key of the token's RSA private key h (its modulus and exponent). */
static signet_rc rsa_public(p11_dev *p, CK_OBJECT_HANDLE h, EVP_PKEY **out)
{
    uint8_t *n = NULL, *e = NULL;
    size_t nl = 0, el = 0;
    *out = NULL;
    signet_rc rc = p11_get_attr(p, h, CKA_MODULUS, &n, &nl);
    if (rc == SIGNET_OK)
        rc = p11_get_attr(p, h, CKA_PUBLIC_EXPONENT, &e, &el);
    if (rc == SIGNET_OK && (rc = p11_rsa_public(n, nl, e, el, out)) != SIGNET_OK)
        rc = signet_wrap(rc, "cannot read the token's RSA public key");
    free(n);
    free(e);
    return rc;
}

/* The public key the token holds for key e: RSA from the private object, EC and
 * Ed25519 from the public object of the same label (CKA_EC_PARAMS, CKA_EC_POINT). */
signet_rc p11_public_key(p11_dev *p, const signet_keymap_entry *e, CK_OBJECT_HANDLE priv,
                         EVP_PKEY **out)
{
    *out = NULL;
    if (yh_algo_is_rsa(e->algorithm))
        return rsa_public(p, priv, out);
    CK_OBJECT_HANDLE pub;
    uint8_t *params = NULL, *point = NULL;
    size_t plen = 0, qlen = 0;
    signet_rc rc = p11_find(p, CKO_PUBLIC_KEY, e->name, &pub);
    if (rc == SIGNET_OK)
        rc = p11_get_attr(p, pub, CKA_EC_PARAMS, &params, &plen);
    if (rc == SIGNET_OK)
        rc = p11_get_attr(p, pub, CKA_EC_POINT, &point, &qlen);
    if (rc == SIGNET_OK)
        rc = p11_ec_public(e->algorithm, params, plen, point, qlen, out);
    free(params);
    free(point);
    return rc ? signet_wrap(rc, "the token's public key of '%s'", e->name) : SIGNET_OK;
}

static signet_rc p11_resolve(signet_device *d, signet_keystore *ks, const signet_keymap_entry *e)
{
    p11_dev *p = d->impl;
    for (size_t i = 0; i < p->n_known; i++)
        if (p->known[i].id == e->id)
            return SIGNET_OK;
    CK_OBJECT_HANDLE h;
    signet_rc rc = p11_find(p, CKO_PRIVATE_KEY, e->name, &h);
    /* A key made on a token comes back from its wrapped copy, as a YubiHSM loads
     * keys on demand; the public key comparison below then proves it. */
    if (rc == SIGNET_E_NOTFOUND && signet_keystore_has_file(ks, e->name, ".p11wrap")) {
        signet_err_clear();
        rc = p11_restore(p, ks, e, &h);
        if (rc)
            return rc;
    }
    if (rc)
        return signet_wrap(rc, "key '%s' is not on token '%s': move it there with `signet keys "
                               "migrate` (docs/migration.md)", e->name, p->token);
    EVP_PKEY *tok = NULL, *want = NULL;
    rc = p11_public_key(p, e, h, &tok);
    if (rc == SIGNET_OK)
        rc = signet_keystore_public_key(ks, e->name, &want);
    if (rc == SIGNET_OK && EVP_PKEY_eq(tok, want) != 1)
        rc = signet_fail(SIGNET_E_VERIFY,
                         "the key labelled '%s' on token '%s' is not the key store's %s.pub.pem: "
                         "refusing to sign with it", e->name, p->token, e->name);
    EVP_PKEY_free(tok);
    EVP_PKEY_free(want);
    if (rc)
        return rc;
    if (p->n_known == sizeof p->known / sizeof p->known[0])
        p->n_known = 0; /* forget the oldest at once: finding again is cheap */
    p->known[p->n_known].id = e->id;
    p->known[p->n_known++].h = h;
    return SIGNET_OK;
}

static CK_OBJECT_HANDLE known_handle(const p11_dev *p, uint16_t id)
{
    for (size_t i = 0; i < p->n_known; i++)
        if (p->known[i].id == id)
            return p->known[i].h;
    return CK_INVALID_HANDLE;
}

static void forget(p11_dev *p, uint16_t id)
{
    for (size_t i = 0; i < p->n_known; i++)
        if (p->known[i].id == id)
            p->known[i] = p->known[--p->n_known];
}

/* PSS parameters of the YubiHSM's Sign PSS: the digest's length names the hash. */
static signet_rc pss_params(const signet_dev_sign *r, CK_RSA_PKCS_PSS_PARAMS *pp)
{
    switch (r->len) {
    case 20: pp->hashAlg = CKM_SHA_1; break;
    case 32: pp->hashAlg = CKM_SHA256; break;
    case 48: pp->hashAlg = CKM_SHA384; break;
    case 64: pp->hashAlg = CKM_SHA512; break;
    default:
        return signet_fail(SIGNET_E_ARG, "a PSS signature needs a SHA-1 or SHA-2 digest, not %zu "
                                         "bytes", r->len);
    }
    switch (r->pss_mgf1) {
    case YH_ALGO_MGF1_SHA1: pp->mgf = CKG_MGF1_SHA1; break;
    case YH_ALGO_MGF1_SHA256: pp->mgf = CKG_MGF1_SHA256; break;
    case YH_ALGO_MGF1_SHA384: pp->mgf = CKG_MGF1_SHA384; break;
    case YH_ALGO_MGF1_SHA512: pp->mgf = CKG_MGF1_SHA512; break;
    default: return signet_fail(SIGNET_E_ARG, "unknown MGF1 hash 0x%02x", r->pss_mgf1);
    }
    pp->sLen = r->pss_salt_len;
    return SIGNET_OK;
}

/* r | s (each half) as a DER ECDSA-Sig-Value, the form the YubiHSM returns. */
signet_rc p11_ecdsa_der(const uint8_t *raw, size_t len, uint8_t *sig, size_t *sig_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL), *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
    signet_rc rc = SIGNET_OK;
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the ECDSA signature");
    } else {
        int n = i2d_ECDSA_SIG(es, NULL);
        unsigned char *q = sig;
        if (n <= 0 || (size_t)n > *sig_len || i2d_ECDSA_SIG(es, &q) != n)
            rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the ECDSA signature");
        else
            *sig_len = (size_t)n;
    }
    ECDSA_SIG_free(es);
    return rc;
}

signet_rc p11_sign_raw(p11_dev *p, CK_OBJECT_HANDLE h, CK_MECHANISM *m, const uint8_t *data,
                       size_t len, uint8_t *sig, size_t *sig_len)
{
    CK_RV rv = p->f->C_SignInit(p->sess, m, h);
    CK_ULONG n = *sig_len;
    if (rv == CKR_OK)
        rv = p->f->C_Sign(p->sess, (CK_BYTE_PTR)data, len, sig, &n);
    if (rv != CKR_OK)
        return p11_fail(rv, "signing on the token");
    *sig_len = n;
    return SIGNET_OK;
}

static signet_rc p11_sign(signet_device *d, const signet_keymap_entry *e, const signet_dev_sign *r,
                          uint8_t *sig, size_t *sig_len)
{
    p11_dev *p = d->impl;
    CK_OBJECT_HANDLE h = known_handle(p, e->id);
    if (h == CK_INVALID_HANDLE)
        return signet_fail(SIGNET_E_NOTFOUND, "key '%s' was not resolved on the token", e->name);
    CK_MECHANISM m = {CKM_RSA_PKCS, NULL, 0};
    CK_RSA_PKCS_PSS_PARAMS pp;
    sb_wr di;
    sbw_init(&di, 128);
    const uint8_t *data = r->data;
    size_t len = r->len;
    signet_rc rc = SIGNET_OK;
    uint8_t raw[SIGNET_SIG_MAX];
    size_t raw_len = sizeof raw;
    switch (r->cmd) {
    case YH_CMD_SIGN_PKCS1:
        /* The YubiHSM's Sign PKCS#1 takes a bare digest and adds its DigestInfo: the
         * token's raw CKM_RSA_PKCS needs it spelled out. */
        if (len == 20 || len == 32 || len == 48 || len == 64) {
            int nid = len == 20 ? NID_sha1 : len == 32 ? NID_sha256 : len == 48 ? NID_sha384
                                                                               : NID_sha512;
            rc = signet_digestinfo_encode(nid, data, len, &di);
            data = di.p;
            len = di.len;
        }
        break;
    case YH_CMD_SIGN_PSS:
        m.mechanism = CKM_RSA_PKCS_PSS;
        m.pParameter = &pp;
        m.ulParameterLen = sizeof pp;
        rc = pss_params(r, &pp);
        break;
    case YH_CMD_SIGN_ECDSA: m.mechanism = CKM_ECDSA; break;
    default: m.mechanism = CKM_EDDSA; break;
    }
    if (rc == SIGNET_OK) {
        rc = p11_sign_raw(p, h, &m, data, len, r->cmd == YH_CMD_SIGN_ECDSA ? raw : sig,
                          r->cmd == YH_CMD_SIGN_ECDSA ? &raw_len : sig_len);
        if (rc == SIGNET_E_NOTFOUND)
            forget(p, e->id);
    }
    if (rc == SIGNET_OK && r->cmd == YH_CMD_SIGN_ECDSA)
        rc = p11_ecdsa_der(raw, raw_len, sig, sig_len);
    sbw_free(&di);
    return rc;
}

static signet_rc log_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    p11_dev *p = ctx;
    CK_OBJECT_HANDLE h;
    signet_rc rc = p11_find(p, CKO_PRIVATE_KEY, p->log_key_label, &h);
    if (rc)
        return signet_wrap(rc, "the checkpoint key (log_key_label in signet.conf)");
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    size_t n = 64;
    rc = p11_sign_raw(p, h, &m, msg, len, sig, &n);
    if (rc == SIGNET_OK && n != 64)
        rc = signet_fail(SIGNET_E_DEVICE, "the token's Ed25519 signature has %zu bytes", n);
    return rc;
}

static signet_rc p11_checkpoint(signet_device *d, signet_trail *t, const char *origin)
{
    return signet_trail_checkpoint(t, origin, log_sign, d->impl, NULL);
}

/* Open tokens, for the exit handler.  A module is never unloaded: a library's own
 * exit-time destructors (C++ statics: SoftHSM2's) are registered when it is
 * loaded and run in reverse order of registration, so a handler registered after
 * the first load runs before them and can still log out and finalize, which a
 * process that exits without C_Finalize (openssl with libp11's engine, around
 * signet's own module) would otherwise do later, into a destroyed module. */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static p11_dev *open_devs;
static bool exiting;

static void finish(p11_dev *p)
{
    if (p->have_sess) {
        p->f->C_Logout(p->sess);
        p->f->C_CloseSession(p->sess);
        p->have_sess = false;
    }
    if (p->initialized)
        p->f->C_Finalize(NULL);
    p->initialized = false;
}

static void finish_all_at_exit(void)
{
    pthread_mutex_lock(&open_lock);
    exiting = true;
    for (p11_dev *p = open_devs; p; p = p->next)
        finish(p);
    pthread_mutex_unlock(&open_lock);
}

static void register_exit(void)
{
    atexit(finish_all_at_exit);
}

static void p11_close(signet_device *d)
{
    p11_dev *p = d->impl;
    if (p) {
        pthread_mutex_lock(&open_lock);
        for (p11_dev **q = &open_devs; *q; q = &(*q)->next)
            if (*q == p) {
                *q = p->next;
                break;
            }
        if (!exiting && p->f)
            finish(p);
        pthread_mutex_unlock(&open_lock);
        free(p);
    }
    free(d);
}

static const signet_device_ops pkcs11_ops = {
    .kind = "pkcs11",
    .resolve = p11_resolve,
    .sign = p11_sign,
    .drain = NULL, /* a token keeps no log the trail could pair with */
    .checkpoint = p11_checkpoint,
    .close = p11_close,
};

signet_rc signet_device_pkcs11(const signet_pkcs11_opts *o, signet_device **out)
{
    *out = NULL;
    if (!o->module || !o->module[0] || !o->token || !o->token[0])
        return signet_fail(SIGNET_E_ARG, "backend = pkcs11 needs pkcs11_module and pkcs11_token "
                                         "in signet.conf");
    signet_device *d = calloc(1, sizeof *d);
    p11_dev *p = calloc(1, sizeof *p);
    if (!d || !p) {
        free(d);
        free(p);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    d->ops = &pkcs11_ops;
    d->impl = p;
    snprintf(p->token, sizeof p->token, "%s", o->token);
    snprintf(p->log_key_label, sizeof p->log_key_label, "%s",
             o->log_key_label && o->log_key_label[0] ? o->log_key_label : "signet-log");
    snprintf(p->wrap_key_label, sizeof p->wrap_key_label, "%s",
             o->wrap_key_label && o->wrap_key_label[0] ? o->wrap_key_label : "signet-wrap");
    signet_rc rc = SIGNET_OK;
    CK_C_GetFunctionList get = NULL;
    if (!(p->lib = dlopen(o->module, RTLD_NOW | RTLD_LOCAL)))
        rc = signet_fail(SIGNET_E_NOTFOUND, "cannot load the PKCS#11 module %s: %s (pkcs11_module "
                                            "in signet.conf)", o->module, dlerror());
    else if (!(*(void **)&get = dlsym(p->lib, "C_GetFunctionList")) || get(&p->f) != CKR_OK)
        rc = signet_fail(SIGNET_E_ARG, "%s is not a PKCS#11 module (no C_GetFunctionList)",
                         o->module);
    if (rc == SIGNET_OK) {
        pthread_once(&exit_once, register_exit); /* after the module's own (see above) */
        pthread_mutex_lock(&open_lock);
        p->next = open_devs;
        open_devs = p;
        pthread_mutex_unlock(&open_lock);
    }
    if (rc == SIGNET_OK) {
        CK_C_INITIALIZE_ARGS ia = {.flags = CKF_OS_LOCKING_OK};
        CK_RV rv = p->f->C_Initialize(&ia);
        if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
            rc = p11_fail(rv, "initialising the PKCS#11 module");
        p->initialized = rv == CKR_OK;
    }
    if (rc == SIGNET_OK)
        rc = open_token(p, o);
    if (rc) {
        p11_close(d);
        return rc;
    }
    d->serial = p->serial;
    *out = d;
    return SIGNET_OK;
}

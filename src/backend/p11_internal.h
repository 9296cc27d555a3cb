/* Pieces shared by the PKCS#11 backend's files (not a public API):
 *   pkcs11.c     loading the module, the token session, keys, signatures
 *   p11_import.c moving a private key onto the token (C_UnwrapKey)
 *   p11_keygen.c generating a key on the token, its wrapped copy
 *   p11_ec.c     EC / Ed25519 public keys in PKCS#11 form
 *   p11_logkey.c the audit log key (Ed25519) onto the token, or a new one made there */
#ifndef SIGNET_P11_INTERNAL_H
#define SIGNET_P11_INTERNAL_H

#include <p11-kit/pkcs11.h>

#include "signet/backend.h"

typedef struct p11_dev {
    void *lib;
    CK_FUNCTION_LIST *f;
    bool initialized, have_sess;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE sess;
    uint32_t serial;
    char token[33];
    char log_key_label[64];
    char wrap_key_label[64];      /* the trusted AES wrap key of generated keys */
    struct {
        uint16_t id;
        CK_OBJECT_HANDLE h;
    } known[64];                  /* keys found and checked, by key id */
    size_t n_known;
    struct p11_dev *next;         /* the open tokens (pkcs11.c) */
} p11_dev;

/* A failed PKCS#11 call as a signet error (what: what was being done). */
signet_rc p11_fail(CK_RV rv, const char *what);
/* The first object of class cls labelled `label`; SIGNET_E_NOTFOUND when none. */
signet_rc p11_find(p11_dev *p, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *h);
/* The public key the token holds for key e (priv: its private key object). */
signet_rc p11_public_key(p11_dev *p, const signet_keymap_entry *e, CK_OBJECT_HANDLE priv,
                         EVP_PKEY **out);
/* Attribute `type` of object h into *out (malloc'd; at most 8 KiB). */
signet_rc p11_get_attr(p11_dev *p, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, uint8_t **out,
                       size_t *len);
/* r | s (each half of len) as a DER ECDSA-Sig-Value; sig_len: in capacity, out length. */
signet_rc p11_ecdsa_der(const uint8_t *raw, size_t len, uint8_t *sig, size_t *sig_len);
/* Puts the private key pk onto the token by C_UnwrapKey only: a fresh AES key goes
 * to a transport RSA key pair generated on the token (OAEP), pk's PKCS#8 follows
 * under it (AES key wrap with padding) with the attributes tmpl; the transport
 * keys are destroyed again.  *out: the new private key object. */
signet_rc p11_unwrap_private(p11_dev *p, EVP_PKEY *pk, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                             CK_OBJECT_HANDLE *out);
/* The public key object of e (label, CKA_ID, key type) holding pk's public key. */
signet_rc p11_put_public(p11_dev *p, const signet_keymap_entry *e, EVP_PKEY *pk);
/* Key e is not on the token but the store has its NAME.p11wrap: unwraps it under
 * the trusted wrap key as a token object again (and its public key object from
 * NAME.pub.pem when that is gone too).  SIGNET_E_NOTFOUND when there is no copy;
 * *h: the private key object.  The caller compares public keys. */
signet_rc p11_restore(p11_dev *p, signet_keystore *ks, const signet_keymap_entry *e,
                      CK_OBJECT_HANDLE *h);
signet_rc p11_sign_raw(p11_dev *p, CK_OBJECT_HANDLE h, CK_MECHANISM *m, const uint8_t *data,
                       size_t len, uint8_t *sig, size_t *sig_len);


/* p11_ec.c.  A public key from its SubjectPublicKeyInfo parts: the algorithm
 * identifier's contents (DER) and the key bits. */
signet_rc p11_spki(const uint8_t *alg, size_t alg_len, const uint8_t *key, size_t key_len,
                   EVP_PKEY **out);
/* An RSA public key from its modulus and exponent (big-endian, from the token). */
signet_rc p11_rsa_public(const uint8_t *n, size_t n_len, const uint8_t *e, size_t e_len,
                         EVP_PKEY **out);
/* The curve of an EC / Ed25519 algorithm as CKA_EC_PARAMS (OID, DER). */
signet_rc p11_ec_params(uint8_t algorithm, sb_wr *out);
/* The public point of pk as CKA_EC_POINT (DER OCTET STRING). */
signet_rc p11_ec_point(EVP_PKEY *pk, sb_wr *out);
/* The public key from a token's CKA_EC_PARAMS and CKA_EC_POINT (bytes from the
 * token: checked; the curve must be the algorithm's). */
signet_rc p11_ec_public(uint8_t algorithm, const uint8_t *params, size_t params_len,
                        const uint8_t *point, size_t point_len, EVP_PKEY **out);

#endif

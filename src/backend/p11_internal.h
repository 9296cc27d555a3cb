/* Pieces shared by the PKCS#11 backend's files (not a public API):
 *   pkcs11.c     loading the module, the token session, keys, signatures
 *   p11_import.c moving a key store's wrapped key onto the token
 *   p11_logkey.c the audit log key (Ed25519) onto the token, or a new one made there */
#ifndef SIGNET_P11_INTERNAL_H
#define SIGNET_P11_INTERNAL_H

#include <p11-kit/pkcs11.h>

#include "signet/backend.h"

typedef struct {
    void *lib;
    CK_FUNCTION_LIST *f;
    bool initialized, have_sess;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE sess;
    uint32_t serial;
    char token[33];
    char log_key_label[64];
    struct {
        uint16_t id;
        CK_OBJECT_HANDLE h;
    } known[64];                  /* keys found and checked, by key id */
    size_t n_known;
} p11_dev;

/* A failed PKCS#11 call as a signet error (what: what was being done). */
signet_rc p11_fail(CK_RV rv, const char *what);
/* The first object of class cls labelled `label`; SIGNET_E_NOTFOUND when none. */
signet_rc p11_find(p11_dev *p, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *h);
/* The public key the token holds for key e (priv: its private key object). */
signet_rc p11_public_key(p11_dev *p, const signet_keymap_entry *e, CK_OBJECT_HANDLE priv,
                         EVP_PKEY **out);
/* Puts the private key pk onto the token by C_UnwrapKey only: a fresh AES key goes
 * to a transport RSA key pair generated on the token (OAEP), pk's PKCS#8 follows
 * under it (AES key wrap with padding) with the attributes tmpl; the transport
 * keys are destroyed again.  *out: the new private key object. */
signet_rc p11_unwrap_private(p11_dev *p, EVP_PKEY *pk, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                             CK_OBJECT_HANDLE *out);
signet_rc p11_sign_raw(p11_dev *p, CK_OBJECT_HANDLE h, CK_MECHANISM *m, const uint8_t *data,
                       size_t len, uint8_t *sig, size_t *sig_len);

#endif

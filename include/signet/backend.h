/* The device seam under the signing path: the signer (src/sign) talks to "a
 * device" through these few operations, and each kind of device is one
 * implementation in src/backend:
 *
 *   yubihsm   the YubiHSM 2 protocol over the connector (a YubiHSM 2 or signet-hsm):
 *             keys loaded on demand from their wrapped copies, a device audit log
 *             drained into the trail, checkpoints signed by the log key on the device
 *   pkcs11    any PKCS#11 module (dlopen): keys resident on the token, found by
 *             label (the key map's name), signatures by C_Sign; no device log, so
 *             sign records stand alone (seq 0) and `audit verify` says so
 *
 * The trail, the cache, intents and bindings stay in the signer: there is one
 * signing path whatever the device (DESIGN.md). */
#ifndef SIGNET_BACKEND_H
#define SIGNET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/audit.h"
#include "signet/client.h"
#include "signet/err.h"
#include "signet/keystore.h"

typedef struct signet_device signet_device;

/* What one signature asks of the device. */
typedef struct {
    uint8_t cmd;                /* YH_CMD_SIGN_PKCS1 / _PSS / _ECDSA / _EDDSA */
    const uint8_t *data;        /* PKCS1: digest or DigestInfo; PSS, ECDSA: digest; EdDSA: message */
    size_t len;
    uint8_t pss_mgf1;           /* YH_ALGO_MGF1_* */
    uint16_t pss_salt_len;
} signet_dev_sign;

typedef struct {
    const char *kind;           /* "yubihsm" | "pkcs11" */
    /* Makes key e usable (loads it, or finds it and checks its public key against
     * the key store's).  SIGNET_E_NOTFOUND: the device does not hold it. */
    signet_rc (*resolve)(signet_device *d, signet_keystore *ks, const signet_keymap_entry *e);
    /* One signature (ECDSA: DER).  SIGNET_E_NOTFOUND: the key went away meanwhile
     * (the caller resolves again). */
    signet_rc (*sign)(signet_device *d, const signet_keymap_entry *e, const signet_dev_sign *r,
                      uint8_t *sig, size_t *sig_len);
    /* Reads the device log into the trail; NULL when the device keeps no log. */
    signet_rc (*drain)(signet_device *d, signet_trail *t, signet_drain_result *out);
    /* Signs a checkpoint of the trail with the log key (origin: the log's name). */
    signet_rc (*checkpoint)(signet_device *d, signet_trail *t, const char *origin);
    void (*close)(signet_device *d);
} signet_device_ops;

struct signet_device {
    const signet_device_ops *ops;
    uint32_t serial;            /* names the device in records */
    uint16_t auth_id;           /* the session's authentication key (0 for pkcs11) */
    hsm_conn *conn;             /* yubihsm only (NULL otherwise) */
    hsm_session *sess;          /* yubihsm only (NULL otherwise) */
    void *impl;
};

static inline bool signet_device_has_log(const signet_device *d) { return d->ops->drain != NULL; }

/* ---- yubihsm ---------------------------------------------------------------------- */
typedef struct {
    uint16_t wrap_key_id;
    unsigned min_free_objects, min_free_pages;
    uint16_t log_key_id;
} signet_yubihsm_opts;
/* Takes ownership of conn and sess (closed on failure too). */
signet_rc signet_device_yubihsm(hsm_conn *conn, hsm_session *sess, const signet_yubihsm_opts *o,
                                signet_device **out);

/* ---- pkcs11 ----------------------------------------------------------------------- */
typedef struct {
    const char *module;         /* path of the PKCS#11 module (.so) */
    const char *token;          /* the token's label */
    const char *pin;            /* the user PIN (e.g. from a C_Login above); NULL: pin_file */
    const char *pin_file;       /* first line is the user PIN; NULL: $SIGNET_PKCS11_PIN */
    const char *log_key_label;  /* the Ed25519 checkpoint key on the token */
    const char *wrap_key_label; /* the trusted AES wrap key (NULL: "signet-wrap") */
    bool so;                    /* log in as the security officer (PIN: pin, pin_file,
                                   else $SIGNET_PKCS11_SO_PIN); for token-wrap-key only */
} signet_pkcs11_opts;
signet_rc signet_device_pkcs11(const signet_pkcs11_opts *o, signet_device **out);

/* Closes a device of any kind (NULL is fine). */
void signet_device_close(signet_device *d);

/* ---- migration onto a PKCS#11 token (src/backend/p11_import.c) ---------------------
 * Opens key `name`'s wrapped copy (AES-CCM under the YubiHSM wrap key wrap_key,
 * wrap_len 16/24/32 bytes, in locked memory) and moves it into the token by
 * C_UnwrapKey: an RSA transport key pair generated on the token for this import
 * unwraps a fresh AES key (RSA-OAEP), which unwraps the private key (PKCS#8, AES key
 * wrap with padding).  The token's copy is labelled `name`, CKA_ID the key id,
 * sensitive, extractable only under a trusted wrapping key; its public key is
 * compared with the key store's before the function returns.  Every plaintext is
 * wiped.  *existed: the token already held this key (same public key): nothing done. */
signet_rc signet_pkcs11_import_wrapped(signet_device *d, signet_keystore *ks,
                                       const signet_keymap_entry *e, const uint8_t *wrap_key,
                                       size_t wrap_len, bool *existed);

/* Moves the private key `key` (RSA, EC on the YubiHSM's curves, Ed25519) onto the
 * token the same way: labelled `label`, CKA_ID id, a public key object beside it,
 * the token's public key compared with key's.  SIGNET_E_STATE when the token
 * already holds a private key with that label. */
signet_rc signet_pkcs11_import_key(signet_device *d, const char *label, uint16_t id,
                                   EVP_PKEY *key);

/* ---- key generation on a PKCS#11 token (src/backend/p11_keygen.c) ------------------
 * C_GenerateKeyPair makes key e (label e->name, CKA_ID e->id) sensitive and, when
 * the token can wrap it, extractable only under a trusted wrapping key; then its
 * copy is wrapped by C_WrapKey under the token's trusted AES wrap key (label
 * wrap_key_label, CKM_AES_KEY_WRAP_PAD) and proven: unwrapped again as a session
 * object, it must sign under the new public key.  A token without that mechanism
 * or without a trusted wrap key gets a resident key, never extractable; `how` says
 * which, for people.  Refuses (SIGNET_E_STATE) a label the token already holds.  On
 * failure the new key is deleted from the token. */
typedef struct {
    EVP_PKEY *pub;     /* the new key's public key (read from the token) */
    sb_wr wrapped;     /* C_WrapKey's output; empty: resident only */
    char how[512];
} signet_token_key;
signet_rc signet_pkcs11_generate(signet_device *d, const signet_keymap_entry *e,
                                 signet_token_key *out);
void signet_token_key_free(signet_token_key *k);
/* On a device opened as the security officer (opts.so): makes the token's trusted
 * AES-256 wrap key (label wrap_key_label), generated on the token, never
 * extractable, wrap and unwrap only, CKA_TRUSTED, with an unwrap template that
 * asks every key unwrapped under it to be sensitive.  SO sessions make public
 * objects only (PKCS#11), so the key is usable without a user login: that is why
 * the template matters (docs/migration.md).  SIGNET_E_STATE when it exists. */
signet_rc signet_pkcs11_make_wrap_key(signet_device *d);
/* Deletes the private and public key objects labelled e->name from the token. */
signet_rc signet_pkcs11_delete(signet_device *d, const signet_keymap_entry *e);

/* ---- the audit log key on a PKCS#11 token (src/backend/p11_logkey.c) --------------
 * The token's checkpoint key is the Ed25519 key labelled log_key_label.  put: the
 * YubiHSM's log key moved there from its seed (the wrapped copy of a ceremony
 * carries it) by C_UnwrapKey like a migrated key; pub is log.vkey's key, and the
 * token's key must sign what pub verifies.  *existed: the token already held it.
 * SIGNET_E_UNSUPPORTED: the token refuses to unwrap an Ed25519 key (then make a new
 * one: plaintext creation is never tried).
 * new: a new Ed25519 key generated on the token (refused when the label is taken);
 * pub receives its public key, proven the same way. */
signet_rc signet_pkcs11_put_log_key(signet_device *d, const uint8_t seed[32],
                                    const uint8_t pub[32], bool *existed);
signet_rc signet_pkcs11_new_log_key(signet_device *d, uint8_t pub[32]);
/* The token's log key signs what pub verifies (SIGNET_E_NOTFOUND: no log key). */
signet_rc signet_pkcs11_check_log_key(signet_device *d, const uint8_t pub[32]);

#endif

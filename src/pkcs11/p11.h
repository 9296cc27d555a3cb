/* Internal interfaces of the signet PKCS#11 module (docs/pkcs11.md).
 *
 * The module is a thin adapter: objects come from the key store on disk
 * (keystore.h), every signature goes through the one signing path (sign.h).
 * One slot, one token, one device session per process shared by all PKCS#11
 * sessions.
 *
 * Locking: one module-wide mutex is held for the whole of every C_* call that
 * touches state.  The device executes one command at a time anyway, so finer
 * locks would buy nothing but races; holding it across a signature also keeps a
 * C_CloseSession in another thread from freeing an operation in use. */
#ifndef SIGNET_P11_H
#define SIGNET_P11_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "signet/buf.h"
#include "signet/err.h"
#include "signet/keystore.h"
#include "signet/sign.h"

#include <p11-kit/pkcs11.h>

#define P11_SLOT_ID 0
#define P11_TOKEN_LABEL "signet"
#define P11_MANUFACTURER "signet"
#define P11_MODEL "YubiHSM 2"
#define P11_LIB_DESCRIPTION "signet PKCS#11 module"
/* "0001" + password: the yubihsm_pkcs11 PIN form. */
#define P11_PIN_ID_DIGITS 4
#define P11_PIN_MIN (P11_PIN_ID_DIGITS + 1)
#define P11_PIN_MAX (P11_PIN_ID_DIGITS + 256)
/* Raw (non-hashing) mechanisms buffer their input; no raw input is longer. */
#define P11_RAW_INPUT_MAX 8192
#define P11_MAX_SESSIONS 4096
#define P11_MAX_SIG 1024 /* RSA-4096 is 512 bytes; P-521 raw is 132 */

/* ---- objects ----------------------------------------------------------------- */
struct p11_attr {
    CK_ATTRIBUTE_TYPE type;
    uint8_t *val;        /* NULL for an empty value and for sensitive attributes */
    CK_ULONG len;
    bool sensitive;      /* exists, but is never revealed */
};

struct p11_key {
    char name[SIGNET_KEY_NAME_MAX];
    uint16_t id;
    uint8_t algorithm;       /* YH_ALGO_* from the key map */
    CK_KEY_TYPE key_type;    /* CKK_RSA, CKK_EC, CKK_EC_EDWARDS */
    unsigned bits;           /* RSA modulus / EC field bits */
    size_t sig_len;          /* signature length in PKCS#11 form */
    bool decrypt;            /* key-map role "decrypt": C_Decrypt, never C_Sign */
    signet_keymap_entry entry; /* the key map line (decryption loads the key) */
};
/* The key-map role of decryption keys. */
#define P11_ROLE_DECRYPT "decrypt"

struct p11_object {
    CK_OBJECT_HANDLE handle;
    CK_OBJECT_CLASS cls;
    size_t key;              /* index into the module's keys */
    bool is_private;         /* CKA_PRIVATE: visible only after login */
    struct p11_attr *attrs;
    size_t n_attrs;
};

struct p11_objects {
    struct p11_key *keys;
    size_t n_keys;
    struct p11_object *objs;
    size_t n_objs;
};

/* Reads every key of the key store (public key and certificate files) into
 * objects.  Keys whose files are missing or inconsistent are left out with a
 * warning on stderr; only an unreadable key store fails. */
signet_rc p11_objects_load(const char *keystore_dir, struct p11_objects *out);
void p11_objects_free(struct p11_objects *o);
struct p11_object *p11_object_find(struct p11_objects *o, CK_OBJECT_HANDLE h);
const struct p11_attr *p11_object_attr(const struct p11_object *obj, CK_ATTRIBUTE_TYPE type);

/* Attribute semantics of C_GetAttributeValue (PKCS#11 2.40 section 5.7): fills
 * every entry it can and returns the error of the last entry that failed. */
CK_RV p11_get_attributes(const struct p11_object *obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);
/* True when obj has every attribute of tmpl with exactly that value (sensitive
 * attributes never match). */
bool p11_object_matches(const struct p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* ---- attribute list builder (objects.c) ---------------------------------------- */
struct p11_attr_list {
    struct p11_attr *v;
    size_t n, cap;
    bool oom;
};
void p11_attrs_add(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t, const void *val, size_t len);
void p11_attrs_add_bool(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t, bool v);
void p11_attrs_add_ulong(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t, CK_ULONG v);
void p11_attrs_add_sensitive(struct p11_attr_list *l, CK_ATTRIBUTE_TYPE t);
void p11_attrs_free(struct p11_attr *v, size_t n);

/* ---- mechanisms (mech.c) --------------------------------------------------------- */
struct p11_mech_desc {
    CK_MECHANISM_TYPE type;
    CK_KEY_TYPE key_type;    /* P11_NO_KEY for digests */
    const char *digest;      /* OpenSSL digest name when the module hashes; NULL = raw */
    bool pss;
    CK_FLAGS flags;          /* CKF_SIGN | CKF_VERIFY, CKF_ENCRYPT | CKF_DECRYPT, CKF_DIGEST */
};
#define P11_NO_KEY ((CK_KEY_TYPE)-1)
/* A signing mechanism (CKF_SIGN), NULL otherwise. */
const struct p11_mech_desc *p11_mech_lookup(CK_MECHANISM_TYPE type);
/* Any mechanism the module offers, NULL when none. */
const struct p11_mech_desc *p11_mech_find(CK_MECHANISM_TYPE type);
/* The OpenSSL digest of a hash length (20/32/48/64); NULL when unknown. */
const EVP_MD *p11_md_by_len(size_t len);
/* The digest of a device MGF1 algorithm number (YH_ALGO_MGF1_*), NULL when unknown. */
const EVP_MD *p11_md_of_mgf1(uint8_t mgf1);
/* Every mechanism the module offers, in table order. */
size_t p11_mech_count(void);
const struct p11_mech_desc *p11_mech_at(size_t i);
void p11_mech_info(const struct p11_mech_desc *m, CK_MECHANISM_INFO *info);
/* CKA_ALLOWED_MECHANISMS of a key type: writes up to max types, returns the count. */
size_t p11_mechs_for_key(CK_KEY_TYPE kt, CK_MECHANISM_TYPE *out, size_t max);

/* DigestInfo prefix of a digest name ("SHA256"); NULL when unknown. */
const uint8_t *p11_digestinfo_prefix(const char *digest, size_t *len);
/* The OpenSSL digest of a hash name of the mechanism table ("SHA256"); NULL for
 * any name it does not know. */
const EVP_MD *p11_digest_md(const char *digest);
/* True when data is exactly a DigestInfo of SHA-1/224/256/384/512. */
bool p11_is_digestinfo(const uint8_t *data, size_t len);
/* ECDSA-Sig-Value DER (SEQUENCE { INTEGER r, INTEGER s }) to r|s, each left-padded
 * to field_bytes: the form PKCS#11 requires. */
signet_rc p11_ecdsa_der_to_raw(const uint8_t *der, size_t len, size_t field_bytes, uint8_t *out);
/* PSS parameters to the device's: hash length, MGF1 algorithm number. */
CK_RV p11_pss_params(const CK_MECHANISM *m, const struct p11_mech_desc *d, size_t *hash_len,
                     uint8_t *mgf1, uint16_t *salt_len);

/* OAEP parameters: the hash, the device's MGF1 algorithm number and the label
 * (SHA-1/256/384/512 only, the device's; CKR_MECHANISM_PARAM_INVALID otherwise). */
CK_RV p11_oaep_params(const CK_MECHANISM *m, const EVP_MD **md, uint8_t *mgf1,
                      const uint8_t **label, size_t *label_len);

/* ---- PIN (pin.c) ------------------------------------------------------------------ */
/* "0001password": 4 hex digits of the authentication key id, then the password.
 * password_out is smem-allocated (free with smem_free).  SIGNET_E_ARG when the PIN
 * is not in that form; the message never contains the PIN. */
signet_rc p11_pin_parse(const uint8_t *pin, size_t len, uint16_t *auth_id, char **password_out);

/* ---- sessions and operations ---------------------------------------------------- */
/* One operation of a session: signing, verification, digesting, encryption or
 * decryption (op.c).  Signing and decryption run on the device; the others in
 * the module (OpenSSL).  Hashing mechanisms hash the input as it comes (md);
 * raw mechanisms buffer it (raw, up to P11_RAW_INPUT_MAX). */
struct p11_op {
    bool active;
    bool multipart;                  /* an Update was called */
    const struct p11_mech_desc *mech;
    size_t key;                      /* index in p11.objects.keys */
    EVP_PKEY *pub;                   /* verification and encryption */
    EVP_MD_CTX *md;                  /* hashing mechanisms and digests */
    sb_wr raw;                       /* raw mechanisms: the buffered input */
    size_t pss_hash_len;
    uint8_t pss_mgf1;
    uint16_t pss_salt_len;
    const EVP_MD *oaep_md, *oaep_mgf1;
    uint8_t *label;                  /* OAEP label */
    size_t label_len;
};

enum p11_op_kind { P11_OP_SIGN, P11_OP_VERIFY, P11_OP_DIGEST, P11_OP_ENCRYPT, P11_OP_DECRYPT };

struct p11_find {
    bool active;
    CK_OBJECT_HANDLE *hits;
    size_t n, pos;
};

struct p11_session {
    CK_SESSION_HANDLE handle;
    CK_FLAGS flags;
    struct p11_find find;
    struct p11_op sign, verify, digest, encrypt, decrypt;
};

/* Frees what the operation holds and makes it inactive. */
void p11_op_clear(struct p11_op *op);
struct p11_op *p11_session_op(struct p11_session *s, enum p11_op_kind kind);
/* The checks every C_*Init with a key makes, in this order: the session, a NULL
 * mechanism (cancels the operation: CKR_OK with *op NULL), an active operation,
 * the login (need_login), the key handle (certificates are not keys), the key's
 * class.  On CKR_OK with *op set, the caller checks the key's role and starts. */
CK_RV p11_op_init_check(CK_SESSION_HANDLE h, enum p11_op_kind kind, const CK_MECHANISM *m,
                        CK_OBJECT_HANDLE hKey, bool need_login, CK_OBJECT_CLASS cls,
                        struct p11_op **op, struct p11_object **obj);
/* Mechanism parameters of signing and verification: PSS parameters within the
 * key's size (RFC 8017 9.1.1), pure Ed25519 only. */
CK_RV p11_op_sign_params(const CK_MECHANISM *m, const struct p11_mech_desc *d, unsigned bits,
                         struct p11_op *op);
/* Starts taking input: a hash context for hashing mechanisms (d->digest), an
 * input buffer for raw ones; sets mech and key and makes the operation active.
 * On failure the operation is cleared. */
CK_RV p11_op_start(struct p11_op *op, const struct p11_mech_desc *d, size_t key);
/* Adds input (hashed or buffered). */
CK_RV p11_op_add(struct p11_op *op, const uint8_t *p, size_t n);
/* The session's active operation of kind: CKR_SESSION_HANDLE_INVALID or
 * CKR_OPERATION_NOT_INITIALIZED otherwise.  Called inside p11_enter(). */
CK_RV p11_op_active(CK_SESSION_HANDLE h, enum p11_op_kind kind, struct p11_op **op);
/* C_SignUpdate, C_VerifyUpdate, C_DigestUpdate: one body (enters the module). */
CK_RV p11_op_update(CK_SESSION_HANDLE h, enum p11_op_kind kind, CK_BYTE_PTR part, CK_ULONG len);
/* The size rules of an output buffer (PKCS#11 2.40 5.2): no buffer = a size
 * query, a short one = CKR_BUFFER_TOO_SMALL; both give the length needed and
 * keep the operation.  True when the call ends here (*rv set). */
bool p11_op_answer_size(CK_BYTE_PTR out, CK_ULONG_PTR out_len, CK_ULONG need, CK_RV *rv);
/* The public key of an object (from CKA_PUBLIC_KEY_INFO); NULL when it has none. */
EVP_PKEY *p11_object_public_key(const struct p11_object *obj);
/* Re-reads the key store when its key map changed since it was read and no
 * operation is using a key (keys generated by another process appear). */
void p11_objects_refresh(void);
/* stat() of the key store's key map (zeroed when there is none). */
void p11_keymap_stat(const char *keystore_dir, struct stat *st);
void p11_find_clear(struct p11_find *f);

/* ---- the module ------------------------------------------------------------------- */
struct p11_module {
    pthread_mutex_t lock;
    bool initialized;
    pid_t pid;                       /* the process that owns the device session */
    signet_config cfg;
    struct p11_objects objects;
    struct p11_session **sessions;
    size_t n_sessions, cap_sessions;
    CK_SESSION_HANDLE next_handle;
    /* Login is token-wide: every session of the application shares it. */
    bool logged_in;
    uint16_t auth_id;
    char *password;                  /* smem; kept to re-open after fork or expiry */
    signet_signer *signer;           /* the one device session, NULL until needed */
    char serial[17];                 /* token serial, space padded when printed */
    bool serial_known;
    char *caller;                    /* redacted command line, computed once */
    bool pin_failed;                 /* CKF_USER_PIN_COUNT_LOW until a good login */
    struct stat keymap_stat;         /* of the key map the objects were read from */
};

extern struct p11_module p11;

/* Entry check of every C_* function but C_Initialize / C_GetFunctionList: takes
 * the lock, notices a fork.  Returns CKR_CRYPTOKI_NOT_INITIALIZED unlocked. */
CK_RV p11_enter(void);
void p11_leave(void);

struct p11_session *p11_session_get(CK_SESSION_HANDLE h);
/* Closes every session and forgets the login (the last session closed). */
void p11_sessions_close_all(void);
bool p11_object_visible(const struct p11_object *obj);

/* ---- the device session (device.c) ----------------------------------------------- */
/* Opens the signer with the stored credentials when there is none (lazily after a
 * fork or a C_Login whose session was dropped). */
signet_rc p11_device_signer(signet_signer **out);
/* The same, re-opened when its key store does not know key_name yet (a key that
 * appeared after the signer was opened). */
signet_rc p11_device_signer_for(const char *key_name, signet_signer **out);
/* Opens the signer for a login; the credentials are kept on success. */
signet_rc p11_device_login(uint16_t auth_id, char *password_smem);
/* Closes the signer and wipes the credentials. */
void p11_device_logout(void);
/* In a forked child: forget the parent's signer without touching the device
 * session (it belongs to the parent). */
void p11_device_forget(void);
/* The token serial: the device's, asked from the connector once. */
void p11_device_serial(char out[17]);

/* ---- the audit context of a signature (caller.c) ---------------------------------- */
struct p11_artifact {
    const char *path;                /* $SIGNET_ARTIFACT, NULL when unset */
    uint8_t sha256[32];
};
/* Reads $SIGNET_ARTIFACT and hashes the file (cached while it is unchanged). */
signet_rc p11_artifact_get(struct p11_artifact *a);
/* The redacted command line of this process. */
const char *p11_caller(void);
void p11_caller_reset(void);

/* ---- errors ----------------------------------------------------------------------- */
/* Maps a failure of the signing path to a PKCS#11 return value and prints the
 * message on stderr (the only channel PKCS#11 leaves for "what to do next"). */
CK_RV p11_rv_from(signet_rc rc, const char *what);
void p11_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Space-padded copy into a fixed PKCS#11 text field. */
void p11_pad(unsigned char *dst, size_t len, const char *src);

#endif

/* The signing path (DESIGN.md): the one function that signs on the device.
 *
 *   resolve key (load the wrapped copy if not resident, evict LRU on-demand keys
 *   when the device runs low) -> drain the device audit log into the trail ->
 *   sign on the device -> drain again and append a durable (fsynced) record that
 *   pairs with the device's log entry -> release the signature.
 *
 * The CLI, the PKCS#11 module and the avb/payload helpers are thin adapters over
 * signet_sign().  Processes signing at once are serialised on the trail's lock. */
#ifndef SIGNET_SIGN_H
#define SIGNET_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "signet/client.h"
#include "signet/err.h"
#include "signet/keystore.h"

typedef struct signet_signer signet_signer;

/* Configuration shared by every adapter, read from one file (SIGNET_CONF or
 * /etc/signet/signet.conf), "key = value" lines:
 *   connector = http://127.0.0.1:12345
 *   keystore = /path/to/keys       (the key store directory, with keymap.txt)
 *   audit = /path/to/audit         (the audit trail directory; empty = no trail)
 *   wrap_key_id = 0x00ff
 *   min_free_objects = 8           (evict below this many free object slots)
 *   min_free_pages = 64            (evict below this many free storage pages)
 *   checkpoint_every = 100         (records between automatic checkpoints; 0 = off)
 *   checkpoint_seconds = 300
 *   log_key_id = 0x0010            (the Ed25519 audit log key, for checkpoints)
 *   log_name = signet.example/audit (the checkpoint origin line)
 *   auth_key = 3                   (the authentication key to log in with)
 *   password_file = /path/to/pw    (its password, first line; or:)
 *   auth_key_file = /path/to/k.pem (its EC P-256 private key, asymmetric login)
 * The command line (--auth-key, --password-file, --auth-key-file) and
 * $SIGNET_AUTH_KEY override the credential settings. */
typedef struct {
    char connector[256];
    char keystore[1024];
    char audit[1024];
    uint16_t wrap_key_id;
    unsigned min_free_objects;
    unsigned min_free_pages;
    unsigned checkpoint_every;
    unsigned checkpoint_seconds;
    uint16_t log_key_id;
    char log_name[256];
    uint16_t auth_key;          /* 0: not set (the commands then use 1) */
    char password_file[1024];   /* empty: not set */
    char auth_key_file[1024];   /* empty: not set */
} signet_config;

void signet_config_defaults(signet_config *cfg);
/* path NULL: $SIGNET_CONF, else /etc/signet/signet.conf.  Unknown keys are errors. */
signet_rc signet_config_load(const char *path, signet_config *cfg);

/* Opens the connector, authenticates (auth_id + password), opens the key store and
 * the trail.  The password is copied into locked memory. */
signet_rc signet_signer_open(const signet_config *cfg, uint16_t auth_id, const char *password,
                             signet_signer **out);
/* The same over a session the caller already opened (any credential, e.g. the
 * CLI's asymmetric one).  The signer takes ownership of conn and sess. */
signet_rc signet_signer_open_session(const signet_config *cfg, hsm_conn *conn, hsm_session *sess,
                                     signet_signer **out);
/* Writes a checkpoint when records were added, closes the device session. */
void signet_signer_close(signet_signer *s);

typedef enum {
    SIGNET_MECH_RSA_PKCS1, /* data: a bare digest or a complete DigestInfo */
    SIGNET_MECH_RSA_PSS,   /* data: the digest; pss_mgf1 + pss_salt_len */
    SIGNET_MECH_ECDSA,     /* data: the digest; signature DER */
    SIGNET_MECH_EDDSA,     /* data: the message; signature 64 bytes */
} signet_mech;

typedef struct {
    const char *key_name;       /* a key of the key store */
    signet_mech mech;
    const uint8_t *data;
    size_t len;
    uint8_t pss_mgf1;           /* YH_ALGO_MGF1_* */
    uint16_t pss_salt_len;
    /* What is being signed, for the audit record (all optional). */
    const char *artifact_path;
    const uint8_t *artifact_sha256; /* 32 bytes */
    const char *caller;         /* who asked (redacted command line) */
} signet_sign_req;

/* sig_len: in capacity, out length.  On success the record is durable. */
signet_rc signet_sign(signet_signer *s, const signet_sign_req *req, uint8_t *sig, size_t *sig_len);

/* Writes a signed checkpoint now when records were added since the last one
 * (also done automatically per checkpoint_every / checkpoint_seconds and at close). */
signet_rc signet_signer_checkpoint(signet_signer *s);

/* A signet_cert_signer (keystore.h) for key generation: ctx is the signer.  The
 * record names "certificate of NAME" and the SHA-256 of the TBSCertificate. */
signet_rc signet_sign_certificate(void *ctx, const signet_keymap_entry *e, const uint8_t *tbs,
                                  size_t len, int md_nid, uint8_t *sig, size_t *sig_len);
/* Appends a key record (event: generated, imported, rotated, revoked, deleted). */
signet_rc signet_signer_record_key(signet_signer *s, const signet_keymap_entry *e,
                                   const char *event, const char *note);
hsm_session *signet_signer_session(signet_signer *s);

/* The signer's key store and device serial, for adapters that list keys. */
signet_keystore *signet_signer_keystore(signet_signer *s);
uint32_t signet_signer_serial(const signet_signer *s);

#endif

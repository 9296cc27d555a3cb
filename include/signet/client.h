/* The HSM client: connector transport (libcurl) and authenticated, encrypted
 * sessions with typed calls for every YubiHSM 2 command signet uses.  Works the
 * same against a real YubiHSM 2 behind yubihsm-connector and against signet-hsm.
 *
 * Every response is R-MAC-verified; a response that fails it is refused with
 * SIGNET_E_VERIFY and the session is closed.  Device errors come back as
 * SIGNET_E_DEVICE/AUTH/NOTFOUND/BUSY with signet_err_device() giving the code.
 * A session that expired while idle is re-opened transparently (the credential is
 * kept in locked memory for that) and the command is retried once: a command
 * answered "invalid session" was never executed.  signet sends no keep-alive
 * traffic: re-opening on demand costs one round trip more after an idle pause and
 * holds no device session (of 16) while nothing is being done.
 *
 * Threads: an hsm_conn is used by one thread at a time.  An hsm_session carries
 * a mutex, so one session (and the connection under it) may be shared by several
 * threads, as the PKCS#11 module does; commands on it are serialised. */
#ifndef SIGNET_CLIENT_H
#define SIGNET_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "signet/buf.h"
#include "signet/err.h"
#include "signet/proto.h"

#define SIGNET_DEFAULT_CONNECTOR "http://127.0.0.1:12345"

/* ---- connector --------------------------------------------------------------- */
typedef struct hsm_conn hsm_conn;

signet_rc hsm_conn_open(const char *url, hsm_conn **out);  /* NULL url = default */
/* An in-process transport instead of HTTP (tests, fuzzing, embedding the emulator
 * core): fn gets each raw request frame and writes the raw response frame (resp
 * holds YH_MAX_FRAME bytes); a one-line wrapper around hsm_device_transact() fits. */
typedef signet_rc (*hsm_transport_fn)(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                                      size_t *resp_len);
signet_rc hsm_conn_open_transport(hsm_transport_fn fn, void *ctx, hsm_conn **out);
void hsm_conn_close(hsm_conn *c);
/* GET /connector/status must say status=OK. */
signet_rc hsm_conn_status(hsm_conn *c, char *serial, size_t serial_len, char *version,
                          size_t version_len);
/* One raw frame exchange (POST /connector/api).  resp holds YH_MAX_FRAME bytes. */
signet_rc hsm_conn_transfer(hsm_conn *c, const uint8_t *req, size_t len, uint8_t *resp,
                            size_t *resp_len);
/* A plain (unauthenticated) command: frame, transfer, check for error frames. */
signet_rc hsm_conn_command(hsm_conn *c, uint8_t cmd, const uint8_t *data, size_t len,
                           sb_wr *resp_data);

typedef struct {
    uint8_t major, minor, patch;
    uint32_t serial;
    uint8_t log_total, log_used;
    uint8_t algorithms[64];
    size_t n_algorithms;
} hsm_devinfo;
signet_rc hsm_device_info(hsm_conn *c, hsm_devinfo *out);
/* Device Info page 2 (firmware 2.4+): the part number (chip designator) text.
 * SIGNET_E_UNSUPPORTED on older firmware. */
signet_rc hsm_device_part_number(hsm_conn *c, char *out, size_t out_len);
/* Get Device Public Key (firmware 2.3+, plain command): the device's static EC
 * P-256 key that asymmetric authentication runs against (caller frees). */
signet_rc hsm_get_device_public_key(hsm_conn *c, EVP_PKEY **out);

/* ---- sessions ---------------------------------------------------------------- */
typedef struct hsm_session hsm_session;

/* Symmetric credential: password (derived with PBKDF2) for auth key auth_id. */
signet_rc hsm_session_open(hsm_conn *c, uint16_t auth_id, const char *password,
                           hsm_session **out);
signet_rc hsm_session_open_keys(hsm_conn *c, uint16_t auth_id, const yh_static_keys *keys,
                                hsm_session **out);
/* Asymmetric credential (firmware 2.3+): the client's EC P-256 private key; the
 * key is up-referenced and kept for re-opening.  The device's static public key
 * is taken from the device (Get Device Public Key) and not pinned.  A receipt
 * that does not verify (wrong private key, or not the device) fails with
 * SIGNET_E_AUTH. */
signet_rc hsm_session_open_asym(hsm_conn *c, uint16_t auth_id, EVP_PKEY *priv,
                                hsm_session **out);
/* Sends Close Session (best effort) and wipes the keys. NULL is fine.  Close
 * sessions before their connection.  A failing close does not replace the
 * thread's last error message, so callers may close before reporting. */
void hsm_session_close(hsm_session *s);
hsm_conn *hsm_session_conn(hsm_session *s);
uint16_t hsm_session_auth_id(const hsm_session *s);
uint8_t hsm_session_id(const hsm_session *s);

/* The log hook: keeps a device with force-audit from filling its audit log in the
 * middle of ordinary work.  The session counts the commands it sent since the log
 * was last consumed (Set Log Index on this session resets the count; a session
 * re-opened adds two); before any command once the count reaches `every`, and at
 * close when anything was sent, it calls fn (which drains the log: Get Log Entries
 * and Set Log Index, both exempt from the hook).  A failing hook fails the command
 * that was about to be sent: nothing is sent that could fill the log unrecorded;
 * SIGNET_E_BUSY from fn means "cannot drain now" and the next command asks again.
 * `already`: entries in the log before this session's commands (Device Info's
 * log_used).  fn NULL disarms.  release(ctx) runs when the hook is replaced or the
 * session is freed. */
typedef signet_rc (*hsm_log_hook)(void *ctx, hsm_session *s);
void hsm_session_set_log_hook(hsm_session *s, hsm_log_hook fn, void *ctx, void (*release)(void *ctx),
                              unsigned every, unsigned already);

/* Secure command: inner cmd|data, answer data (without cmd/len) appended to resp.
 * Commands too large for the device's message size (3136 bytes from firmware
 * 2.4, else 2048) are refused with SIGNET_E_ARG before anything is sent.  After a
 * transport failure nothing is resent (the device may have executed it); the next
 * command re-opens the session first. */
signet_rc hsm_xfer(hsm_session *s, uint8_t cmd, const uint8_t *data, size_t len, sb_wr *resp);

/* ---- typed calls --------------------------------------------------------------- */
signet_rc hsm_echo(hsm_session *s, const uint8_t *data, size_t len, sb_wr *out);

typedef struct {
    uint16_t total_records, free_records, total_pages, free_pages, page_size;
} hsm_storage;
signet_rc hsm_storage_info(hsm_session *s, hsm_storage *out);

typedef struct {
    uint16_t id;       /* 0 = any */
    uint8_t type;      /* 0 = any */
    uint16_t domains;  /* 0 = any */
    uint64_t capabilities; /* 0 = any */
    uint8_t algorithm; /* 0 = any */
    const char *label; /* NULL = any */
} hsm_filter;
typedef struct {
    uint16_t id;
    uint8_t type;
    uint8_t sequence;
} hsm_object_ref;
/* Fills up to max refs; *n = how many the device returned. */
signet_rc hsm_list_objects(hsm_session *s, const hsm_filter *f, hsm_object_ref *out, size_t max,
                           size_t *n);
signet_rc hsm_get_object_info(hsm_session *s, uint16_t id, uint8_t type, yh_object_info *out);
/* Public key of an asymmetric key as an OpenSSL key (caller frees). */
signet_rc hsm_get_public_key(hsm_session *s, uint16_t id, EVP_PKEY **out, uint8_t *algorithm);

/* Attributes common to put/generate.  id 0 = the device chooses; the id used is
 * returned in *out_id. */
typedef struct {
    uint16_t id;
    const char *label;
    uint16_t domains;
    uint64_t capabilities;
    uint64_t delegated; /* authentication and wrap keys only */
    uint8_t algorithm;
} hsm_object_attrs;

signet_rc hsm_generate_asymmetric(hsm_session *s, const hsm_object_attrs *a, uint16_t *out_id);
/* key: an RSA / EC / Ed25519 private key; its algorithm must match a->algorithm. */
signet_rc hsm_put_asymmetric(hsm_session *s, const hsm_object_attrs *a, EVP_PKEY *key,
                             uint16_t *out_id);

/* Signing.  PKCS#1: data is a 20/32/48/64-byte digest or a full DigestInfo.
 * PSS: mgf1 is YH_ALGO_MGF1_*, data is the digest.  ECDSA: digest; answer DER.
 * EdDSA: the message; answer 64 bytes.  sig_len in: capacity, out: length. */
signet_rc hsm_sign_pkcs1(hsm_session *s, uint16_t id, const uint8_t *data, size_t len,
                         uint8_t *sig, size_t *sig_len);
signet_rc hsm_sign_pss(hsm_session *s, uint16_t id, uint8_t mgf1, uint16_t salt_len,
                       const uint8_t *digest, size_t len, uint8_t *sig, size_t *sig_len);
signet_rc hsm_sign_ecdsa(hsm_session *s, uint16_t id, const uint8_t *digest, size_t len,
                         uint8_t *sig, size_t *sig_len);
signet_rc hsm_sign_eddsa(hsm_session *s, uint16_t id, const uint8_t *msg, size_t len,
                         uint8_t *sig, size_t *sig_len);

signet_rc hsm_put_opaque(hsm_session *s, const hsm_object_attrs *a, const uint8_t *data,
                         size_t len, uint16_t *out_id);
signet_rc hsm_get_opaque(hsm_session *s, uint16_t id, sb_wr *out);
signet_rc hsm_delete_object(hsm_session *s, uint16_t id, uint8_t type);

/* key: 16/24/32 bytes matching a->algorithm (YH_ALGO_AES*_CCM_WRAP). */
signet_rc hsm_put_wrap_key(hsm_session *s, const hsm_object_attrs *a, const uint8_t *key,
                           size_t key_len, uint16_t *out_id);
signet_rc hsm_generate_wrap_key(hsm_session *s, const hsm_object_attrs *a, uint16_t *out_id);
/* Blob = nonce | ciphertext | tag, exactly as the device returns it.  The
 * legacy layout (format 0): an Ed25519 key travels without its seed, and a key
 * imported from such a blob cannot sign on signet-hsm. */
signet_rc hsm_export_wrapped(hsm_session *s, uint16_t wrap_id, uint8_t type, uint16_t id,
                             sb_wr *blob);
/* Export Wrapped with the format byte of firmware 2.4 (yubihsm-shell's
 * yh_util_export_wrapped_ex): HSM_WRAP_FORMAT_LEGACY (0) as above, or
 * HSM_WRAP_FORMAT_ED25519_SEED (1), which adds the 32-byte Ed25519 seed to an
 * Ed25519 key's body (other objects are unchanged).  Export Ed25519 keys with
 * format 1 whenever the blob is to be imported and used for signing again. */
enum { HSM_WRAP_FORMAT_LEGACY = 0, HSM_WRAP_FORMAT_ED25519_SEED = 1 };
signet_rc hsm_export_wrapped_ex(hsm_session *s, uint16_t wrap_id, uint8_t type, uint16_t id,
                                uint8_t format, sb_wr *blob);
signet_rc hsm_import_wrapped(hsm_session *s, uint16_t wrap_id, const uint8_t *blob, size_t len,
                             uint8_t *out_type, uint16_t *out_id);

/* Authentication keys.  Symmetric: from a password.  Asymmetric (algorithm 49):
 * pub is the 65-byte uncompressed P-256 point of the holder's key. */
signet_rc hsm_put_auth_key(hsm_session *s, const hsm_object_attrs *a, const char *password,
                           uint16_t *out_id);
signet_rc hsm_put_auth_key_asym(hsm_session *s, const hsm_object_attrs *a,
                                const uint8_t pub[YH_EC_P256_PUB_LEN], uint16_t *out_id);
/* Changes the key of the session's own authentication key. */
signet_rc hsm_change_auth_key(hsm_session *s, const char *new_password);
signet_rc hsm_change_auth_key_asym(hsm_session *s, const uint8_t pub[YH_EC_P256_PUB_LEN]);

signet_rc hsm_get_pseudo_random(hsm_session *s, size_t len, uint8_t *out);

typedef struct {
    uint16_t unlogged_boots;
    uint16_t unlogged_auths;
    size_t n;
    yh_log_entry entries[YH_LOG_CAPACITY];
} hsm_log;
signet_rc hsm_get_log_entries(hsm_session *s, hsm_log *out);
signet_rc hsm_set_log_index(hsm_session *s, uint16_t index);

/* Options: raw value bytes (force-audit: 1 byte; command-audit: cmd,value pairs). */
signet_rc hsm_set_option(hsm_session *s, uint8_t option, const uint8_t *value, size_t len);
signet_rc hsm_get_option(hsm_session *s, uint8_t option, sb_wr *value);

/* Reset: the device answers, then wipes itself; the session is gone afterwards. */
signet_rc hsm_reset_device(hsm_session *s);

/* ---- attestation ----------------------------------------------------------------- */
/* Sign Attestation Certificate: an X.509 certificate (DER, appended to der) for
 * asymmetric key key_id, signed by attestation key attest_id: 0 is the device's
 * own (its certificate reads as opaque object 0), any other id an asymmetric key
 * with sign-attestation-certificate and an opaque X.509 certificate of the same
 * id.  The answer is checked to be exactly one DER certificate; whether it
 * certifies the expected public key and chains to a trusted CA is the caller's
 * to check (signet_keystore_attest does). */
signet_rc hsm_sign_attestation_certificate(hsm_session *s, uint16_t key_id, uint16_t attest_id,
                                           sb_wr *der);

/* ---- HMAC keys (algorithms hmac-sha1/256/384/512) -------------------------------- */
/* key: 1 .. block size bytes (64 for SHA-1/256, 128 for SHA-384/512). */
signet_rc hsm_put_hmac_key(hsm_session *s, const hsm_object_attrs *a, const uint8_t *key,
                           size_t len, uint16_t *out_id);
signet_rc hsm_generate_hmac_key(hsm_session *s, const hsm_object_attrs *a, uint16_t *out_id);
/* mac holds EVP_MAX_MD_SIZE (64) bytes; *mac_len gets the hash length. */
signet_rc hsm_sign_hmac(hsm_session *s, uint16_t id, const uint8_t *data, size_t len,
                        uint8_t *mac, size_t *mac_len);
/* *match: whether mac (the hash's length) is the HMAC of data.  A mismatch is not
 * an error. */
signet_rc hsm_verify_hmac(hsm_session *s, uint16_t id, const uint8_t *mac, size_t mac_len,
                          const uint8_t *data, size_t len, bool *match);

/* ---- RSA decryption and ECDH -------------------------------------------------------- */
/* ct is the modulus length.  The message is appended to out (use a secure writer). */
signet_rc hsm_decrypt_pkcs1(hsm_session *s, uint16_t id, const uint8_t *ct, size_t len,
                            sb_wr *out);
/* OAEP: mgf1 is YH_ALGO_MGF1_*; md the OAEP hash; label (may be NULL/0) is hashed
 * here, as the device takes the label's hash. */
signet_rc hsm_decrypt_oaep(hsm_session *s, uint16_t id, uint8_t mgf1, const EVP_MD *md,
                           const uint8_t *label, size_t label_len, const uint8_t *ct, size_t len,
                           sb_wr *out);
/* ECDH with an EC key: peer is the other side's public key (same curve); the
 * shared secret (the X coordinate, field length) is appended to out. */
signet_rc hsm_derive_ecdh(hsm_session *s, uint16_t id, EVP_PKEY *peer, sb_wr *out);

/* ---- wrap data -------------------------------------------------------------------- */
/* Seals data with a wrap key that has wrap-data: nonce | ciphertext | tag. */
signet_rc hsm_wrap_data(hsm_session *s, uint16_t wrap_id, const uint8_t *data, size_t len,
                        sb_wr *blob);
/* Opens a blob with a wrap key that has unwrap-data (use a secure writer). */
signet_rc hsm_unwrap_data(hsm_session *s, uint16_t wrap_id, const uint8_t *blob, size_t len,
                          sb_wr *out);

/* ---- symmetric keys (aes128, aes192, aes256) ---------------------------------------- */
signet_rc hsm_put_symmetric_key(hsm_session *s, const hsm_object_attrs *a, const uint8_t *key,
                                size_t len, uint16_t *out_id);
signet_rc hsm_generate_symmetric_key(hsm_session *s, const hsm_object_attrs *a,
                                     uint16_t *out_id);
/* Whole 16-byte blocks, no padding; long inputs are sent in chunks (CBC chains
 * the IV across them).  The result is appended to out. */
signet_rc hsm_encrypt_ecb(hsm_session *s, uint16_t id, const uint8_t *in, size_t len, sb_wr *out);
signet_rc hsm_decrypt_ecb(hsm_session *s, uint16_t id, const uint8_t *in, size_t len, sb_wr *out);
signet_rc hsm_encrypt_cbc(hsm_session *s, uint16_t id, const uint8_t iv[16], const uint8_t *in,
                          size_t len, sb_wr *out);
signet_rc hsm_decrypt_cbc(hsm_session *s, uint16_t id, const uint8_t iv[16], const uint8_t *in,
                          size_t len, sb_wr *out);

/* Blink Device: the LED blinks for seconds (a no-op on signet-hsm). */
signet_rc hsm_blink(hsm_session *s, uint8_t seconds);

#endif

/* The one protocol module (DESIGN.md): YubiHSM 2 command codes, error codes,
 * capability / algorithm / object-type tables, frame encoding and the secure
 * channel crypto.  The client (src/client) and the emulator (src/device) both use
 * it; nothing else defines these numbers.  Facts: shared/docs/yubihsm2.md. */
#ifndef SIGNET_PROTO_H
#define SIGNET_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

/* ---- sizes ---------------------------------------------------------------- */
#define YH_MAX_MSG 3136        /* firmware >= 2.4.0 */
#define YH_MAX_MSG_LEGACY 2048 /* older firmware */
#define YH_MAX_FRAME (YH_MAX_MSG + 3)
#define YH_MAX_DATA (YH_MAX_MSG - 3)
/* Largest inner `cmd|len|data` one session message can carry: the padded
 * ciphertext, sid and MAC must fit YH_MAX_DATA. */
#define YH_MAX_SESSION_INNER ((YH_MAX_DATA - 1 - YH_MAC_LEN) / 16 * 16 - 1)
#define YH_LABEL_LEN 40
#define YH_CHALLENGE_LEN 8
#define YH_KEY_LEN 16          /* AES-128 session and static keys */
#define YH_MAC_LEN 8           /* truncated MAC on the wire */
#define YH_CONTEXT_LEN 16
#define YH_EC_P256_PUB_LEN 65  /* uncompressed point */
#define YH_LOG_ENTRY_LEN 32
#define YH_LOG_DIGEST_LEN 16
#define YH_LOG_CAPACITY 62
#define YH_OBJECT_INFO_LEN 66
#define YH_MAX_SESSIONS 16
#define YH_MAX_OBJECTS 256
#define YH_STORAGE_PAGES 1024
#define YH_PAGE_SIZE 126
#define YH_WRAP_NONCE_LEN 13
#define YH_WRAP_TAG_LEN 16
#define YH_WRAP_HEADER_LEN 59

/* ---- command codes (yubihsm-shell's yh_cmd) ------------------------------- */
enum yh_cmd {
    YH_CMD_ECHO = 0x01,
    YH_CMD_CREATE_SESSION = 0x03,
    YH_CMD_AUTHENTICATE_SESSION = 0x04,
    YH_CMD_SESSION_MESSAGE = 0x05,
    YH_CMD_DEVICE_INFO = 0x06,
    YH_CMD_RESET_DEVICE = 0x08,
    YH_CMD_GET_DEVICE_PUBKEY = 0x0a,
    YH_CMD_CLOSE_SESSION = 0x40,
    YH_CMD_GET_STORAGE_INFO = 0x41,
    YH_CMD_PUT_OPAQUE = 0x42,
    YH_CMD_GET_OPAQUE = 0x43,
    YH_CMD_PUT_AUTHENTICATION_KEY = 0x44,
    YH_CMD_PUT_ASYMMETRIC_KEY = 0x45,
    YH_CMD_GENERATE_ASYMMETRIC_KEY = 0x46,
    YH_CMD_SIGN_PKCS1 = 0x47,
    YH_CMD_LIST_OBJECTS = 0x48,
    YH_CMD_DECRYPT_PKCS1 = 0x49,
    YH_CMD_EXPORT_WRAPPED = 0x4a,
    YH_CMD_IMPORT_WRAPPED = 0x4b,
    YH_CMD_PUT_WRAP_KEY = 0x4c,
    YH_CMD_GET_LOG_ENTRIES = 0x4d,
    YH_CMD_GET_OBJECT_INFO = 0x4e,
    YH_CMD_SET_OPTION = 0x4f,
    YH_CMD_GET_OPTION = 0x50,
    YH_CMD_GET_PSEUDO_RANDOM = 0x51,
    YH_CMD_PUT_HMAC_KEY = 0x52,
    YH_CMD_SIGN_HMAC = 0x53,
    YH_CMD_GET_PUBLIC_KEY = 0x54,
    YH_CMD_SIGN_PSS = 0x55,
    YH_CMD_SIGN_ECDSA = 0x56,
    YH_CMD_DERIVE_ECDH = 0x57,
    YH_CMD_DELETE_OBJECT = 0x58,
    YH_CMD_DECRYPT_OAEP = 0x59,
    YH_CMD_GENERATE_HMAC_KEY = 0x5a,
    YH_CMD_GENERATE_WRAP_KEY = 0x5b,
    YH_CMD_VERIFY_HMAC = 0x5c,
    YH_CMD_SIGN_SSH_CERTIFICATE = 0x5d,
    YH_CMD_PUT_TEMPLATE = 0x5e,
    YH_CMD_GET_TEMPLATE = 0x5f,
    YH_CMD_DECRYPT_OTP = 0x60,
    YH_CMD_CREATE_OTP_AEAD = 0x61,
    YH_CMD_RANDOMIZE_OTP_AEAD = 0x62,
    YH_CMD_REWRAP_OTP_AEAD = 0x63,
    YH_CMD_SIGN_ATTESTATION_CERTIFICATE = 0x64,
    YH_CMD_PUT_OTP_AEAD_KEY = 0x65,
    YH_CMD_GENERATE_OTP_AEAD_KEY = 0x66,
    YH_CMD_SET_LOG_INDEX = 0x67,
    YH_CMD_WRAP_DATA = 0x68,
    YH_CMD_UNWRAP_DATA = 0x69,
    YH_CMD_SIGN_EDDSA = 0x6a,
    YH_CMD_BLINK_DEVICE = 0x6b,
    YH_CMD_CHANGE_AUTHENTICATION_KEY = 0x6c,
    YH_CMD_PUT_SYMMETRIC_KEY = 0x6d,
    YH_CMD_GENERATE_SYMMETRIC_KEY = 0x6e,
    YH_CMD_DECRYPT_ECB = 0x6f,
    YH_CMD_ENCRYPT_ECB = 0x70,
    YH_CMD_DECRYPT_CBC = 0x71,
    YH_CMD_ENCRYPT_CBC = 0x72,
    YH_CMD_ERROR = 0x7f,
};
#define YH_RESPONSE(cmd) ((uint8_t)((cmd) | 0x80))

/* ---- error codes ---------------------------------------------------------- */
enum yh_err {
    YH_ERR_OK = 0x00,
    YH_ERR_INVALID_COMMAND = 0x01,
    YH_ERR_INVALID_DATA = 0x02,
    YH_ERR_INVALID_SESSION = 0x03,
    YH_ERR_AUTHENTICATION_FAILED = 0x04,
    YH_ERR_SESSIONS_FULL = 0x05,
    YH_ERR_SESSION_FAILED = 0x06,
    YH_ERR_STORAGE_FAILED = 0x07,
    YH_ERR_WRONG_LENGTH = 0x08,
    YH_ERR_INSUFFICIENT_PERMISSIONS = 0x09,
    YH_ERR_LOG_FULL = 0x0a,
    YH_ERR_OBJECT_NOT_FOUND = 0x0b,
    YH_ERR_INVALID_ID = 0x0c,
    YH_ERR_SSH_CA_CONSTRAINT_VIOLATION = 0x0e,
    YH_ERR_INVALID_OTP = 0x0f,
    YH_ERR_DEMO_MODE = 0x10,
    YH_ERR_OBJECT_EXISTS = 0x11,
    YH_ERR_ALGORITHM_DISABLED = 0x12,
    YH_ERR_COMMAND_UNEXECUTED = 0xff,
};
const char *yh_err_name(uint8_t code);   /* "log full"; "unknown error" otherwise */
const char *yh_err_advice(uint8_t code); /* what a person should do next; "" if nothing */

/* ---- object types, algorithms, origins ------------------------------------ */
enum yh_type {
    YH_TYPE_OPAQUE = 1,
    YH_TYPE_AUTHENTICATION_KEY = 2,
    YH_TYPE_ASYMMETRIC_KEY = 3,
    YH_TYPE_WRAP_KEY = 4,
    YH_TYPE_HMAC_KEY = 5,
    YH_TYPE_TEMPLATE = 6,
    YH_TYPE_OTP_AEAD_KEY = 7,
    YH_TYPE_SYMMETRIC_KEY = 8,
    YH_TYPE_PUBLIC_WRAP_KEY = 9,
};

enum yh_algo {
    YH_ALGO_RSA_PKCS1_SHA1 = 1,
    YH_ALGO_RSA_PKCS1_SHA256 = 2,
    YH_ALGO_RSA_PKCS1_SHA384 = 3,
    YH_ALGO_RSA_PKCS1_SHA512 = 4,
    YH_ALGO_RSA_PSS_SHA1 = 5,
    YH_ALGO_RSA_PSS_SHA256 = 6,
    YH_ALGO_RSA_PSS_SHA384 = 7,
    YH_ALGO_RSA_PSS_SHA512 = 8,
    YH_ALGO_RSA_2048 = 9,
    YH_ALGO_RSA_3072 = 10,
    YH_ALGO_RSA_4096 = 11,
    YH_ALGO_EC_P256 = 12,
    YH_ALGO_EC_P384 = 13,
    YH_ALGO_EC_P521 = 14,
    YH_ALGO_EC_K256 = 15,
    YH_ALGO_EC_BP256 = 16,
    YH_ALGO_EC_BP384 = 17,
    YH_ALGO_EC_BP512 = 18,
    YH_ALGO_HMAC_SHA1 = 19,
    YH_ALGO_HMAC_SHA256 = 20,
    YH_ALGO_HMAC_SHA384 = 21,
    YH_ALGO_HMAC_SHA512 = 22,
    YH_ALGO_EC_ECDSA_SHA1 = 23,
    YH_ALGO_EC_ECDH = 24,
    YH_ALGO_RSA_OAEP_SHA1 = 25,
    YH_ALGO_RSA_OAEP_SHA256 = 26,
    YH_ALGO_RSA_OAEP_SHA384 = 27,
    YH_ALGO_RSA_OAEP_SHA512 = 28,
    YH_ALGO_AES128_CCM_WRAP = 29,
    YH_ALGO_OPAQUE_DATA = 30,
    YH_ALGO_OPAQUE_X509_CERTIFICATE = 31,
    YH_ALGO_MGF1_SHA1 = 32,
    YH_ALGO_MGF1_SHA256 = 33,
    YH_ALGO_MGF1_SHA384 = 34,
    YH_ALGO_MGF1_SHA512 = 35,
    YH_ALGO_TEMPLATE_SSH = 36,
    YH_ALGO_AES128_YUBICO_OTP = 37,
    YH_ALGO_AES128_YUBICO_AUTHENTICATION = 38,
    YH_ALGO_AES192_YUBICO_OTP = 39,
    YH_ALGO_AES256_YUBICO_OTP = 40,
    YH_ALGO_AES192_CCM_WRAP = 41,
    YH_ALGO_AES256_CCM_WRAP = 42,
    YH_ALGO_EC_ECDSA_SHA256 = 43,
    YH_ALGO_EC_ECDSA_SHA384 = 44,
    YH_ALGO_EC_ECDSA_SHA512 = 45,
    YH_ALGO_EC_ED25519 = 46,
    YH_ALGO_EC_P224 = 47,
    YH_ALGO_RSA_PKCS1_DECRYPT = 48,
    YH_ALGO_EC_P256_YUBICO_AUTHENTICATION = 49,
    YH_ALGO_AES128 = 50,
    YH_ALGO_AES192 = 51,
    YH_ALGO_AES256 = 52,
    YH_ALGO_AES_ECB = 53,
    YH_ALGO_AES_CBC = 54,
    YH_ALGO_AES_KWP = 55,
};

enum yh_origin {
    YH_ORIGIN_GENERATED = 0x01,
    YH_ORIGIN_IMPORTED = 0x02,
    YH_ORIGIN_IMPORTED_WRAPPED = 0x10,
};

/* Names as yubihsm-shell spells them ("rsa2048", "ecp256", "ed25519",
 * "aes256-ccm-wrap", "asymmetric-key", ...).  Parsers return 0 / -1. */
const char *yh_algo_name(uint8_t algo);   /* "unknown" if not in the table */
int yh_algo_parse(const char *name, uint8_t *algo);
const char *yh_type_name(uint8_t type);
int yh_type_parse(const char *name, uint8_t *type);
const char *yh_cmd_name(uint8_t cmd);     /* "sign-pkcs1", "unknown" */
int yh_cmd_parse(const char *name, uint8_t *cmd);

/* Properties of asymmetric algorithms. */
bool yh_algo_is_rsa(uint8_t algo);
bool yh_algo_is_ec(uint8_t algo);          /* ECDSA curves, not Ed25519 */
bool yh_algo_is_wrap(uint8_t algo);        /* AES CCM wrap algorithms */
int yh_algo_key_bytes(uint8_t algo);       /* RSA modulus / EC field / AES key bytes; 0 if none */
int yh_algo_curve_nid(uint8_t algo);       /* OpenSSL NID of an EC algorithm, 0 if none */

/* ---- capabilities ---------------------------------------------------------- */
enum yh_cap_bit {
    YH_CAP_GET_OPAQUE = 0x00,
    YH_CAP_PUT_OPAQUE = 0x01,
    YH_CAP_PUT_AUTHENTICATION_KEY = 0x02,
    YH_CAP_PUT_ASYMMETRIC_KEY = 0x03,
    YH_CAP_GENERATE_ASYMMETRIC_KEY = 0x04,
    YH_CAP_SIGN_PKCS = 0x05,
    YH_CAP_SIGN_PSS = 0x06,
    YH_CAP_SIGN_ECDSA = 0x07,
    YH_CAP_SIGN_EDDSA = 0x08,
    YH_CAP_DECRYPT_PKCS = 0x09,
    YH_CAP_DECRYPT_OAEP = 0x0a,
    YH_CAP_DERIVE_ECDH = 0x0b,
    YH_CAP_EXPORT_WRAPPED = 0x0c,
    YH_CAP_IMPORT_WRAPPED = 0x0d,
    YH_CAP_PUT_WRAP_KEY = 0x0e,
    YH_CAP_GENERATE_WRAP_KEY = 0x0f,
    YH_CAP_EXPORTABLE_UNDER_WRAP = 0x10,
    YH_CAP_SET_OPTION = 0x11,
    YH_CAP_GET_OPTION = 0x12,
    YH_CAP_GET_PSEUDO_RANDOM = 0x13,
    YH_CAP_PUT_MAC_KEY = 0x14,
    YH_CAP_GENERATE_HMAC_KEY = 0x15,
    YH_CAP_SIGN_HMAC = 0x16,
    YH_CAP_VERIFY_HMAC = 0x17,
    YH_CAP_GET_LOG_ENTRIES = 0x18,
    YH_CAP_SIGN_SSH_CERTIFICATE = 0x19,
    YH_CAP_GET_TEMPLATE = 0x1a,
    YH_CAP_PUT_TEMPLATE = 0x1b,
    YH_CAP_RESET_DEVICE = 0x1c,
    YH_CAP_DECRYPT_OTP = 0x1d,
    YH_CAP_CREATE_OTP_AEAD = 0x1e,
    YH_CAP_RANDOMIZE_OTP_AEAD = 0x1f,
    YH_CAP_REWRAP_FROM_OTP_AEAD_KEY = 0x20,
    YH_CAP_REWRAP_TO_OTP_AEAD_KEY = 0x21,
    YH_CAP_SIGN_ATTESTATION_CERTIFICATE = 0x22,
    YH_CAP_PUT_OTP_AEAD_KEY = 0x23,
    YH_CAP_GENERATE_OTP_AEAD_KEY = 0x24,
    YH_CAP_WRAP_DATA = 0x25,
    YH_CAP_UNWRAP_DATA = 0x26,
    YH_CAP_DELETE_OPAQUE = 0x27,
    YH_CAP_DELETE_AUTHENTICATION_KEY = 0x28,
    YH_CAP_DELETE_ASYMMETRIC_KEY = 0x29,
    YH_CAP_DELETE_WRAP_KEY = 0x2a,
    YH_CAP_DELETE_HMAC_KEY = 0x2b,
    YH_CAP_DELETE_TEMPLATE = 0x2c,
    YH_CAP_DELETE_OTP_AEAD_KEY = 0x2d,
    YH_CAP_CHANGE_AUTHENTICATION_KEY = 0x2e,
    YH_CAP_PUT_SYMMETRIC_KEY = 0x2f,
    YH_CAP_GENERATE_SYMMETRIC_KEY = 0x30,
    YH_CAP_DELETE_SYMMETRIC_KEY = 0x31,
    YH_CAP_DECRYPT_ECB = 0x32,
    YH_CAP_ENCRYPT_ECB = 0x33,
    YH_CAP_DECRYPT_CBC = 0x34,
    YH_CAP_ENCRYPT_CBC = 0x35,
    /* Firmware 2.4: RSA public wrap keys (object type 9).  The emulator does not
     * offer those objects, but knows the capabilities so that "all" (and the
     * factory key's 0x00ffffffffffffff) are valid sets. */
    YH_CAP_PUT_PUBLIC_WRAP_KEY = 0x36,
    YH_CAP_DELETE_PUBLIC_WRAP_KEY = 0x37,
    YH_CAP__COUNT = 0x38,
};
#define YH_CAP(bit) (UINT64_C(1) << (bit))
#define YH_CAPS_ALL (YH_CAP(YH_CAP__COUNT) - 1)

const char *yh_cap_name(unsigned bit); /* NULL when unknown */
/* "sign-pkcs,export-wrapped" (comma or colon separated), "all", "none", or
 * "0x..." hex.  Unknown names fail with a message naming them. */
signet_rc yh_caps_parse(const char *s, uint64_t *caps);
/* Comma-separated names in bit order; "none" for 0. */
signet_rc yh_caps_format(uint64_t caps, sb_wr *out);
/* "1,2,16" or "all" -> 16-bit mask; domain n is bit n-1. */
signet_rc yh_domains_parse(const char *s, uint16_t *domains);
signet_rc yh_domains_format(uint16_t domains, sb_wr *out);

/* ---- options --------------------------------------------------------------- */
enum yh_option {
    YH_OPTION_FORCE_AUDIT = 0x01,
    YH_OPTION_COMMAND_AUDIT = 0x03,
    YH_OPTION_ALGORITHM_TOGGLE = 0x04,
    YH_OPTION_FIPS_MODE = 0x05,
};
enum yh_option_value { YH_OPT_OFF = 0, YH_OPT_ON = 1, YH_OPT_FIXED = 2 };
/* Commands whose auditing can lock the device until a physical reset
 * (echo, session message, device info, get log entries).  Set Log Index is
 * not one: the device accepts auditing it and runs it on a full forced log. */
bool yh_cmd_audit_would_lock(uint8_t cmd);

/* ---- frames ---------------------------------------------------------------- */
/* cmd | len(2, BE) | data. */
signet_rc yh_frame_encode(sb_wr *out, uint8_t cmd, const uint8_t *data, size_t len);
/* Checks that the length field matches exactly and the frame fits YH_MAX_FRAME. */
signet_rc yh_frame_decode(const uint8_t *frame, size_t len, uint8_t *cmd, const uint8_t **data,
                          size_t *dlen);
/* 7f 00 01 code */
signet_rc yh_frame_error(sb_wr *out, uint8_t code);

/* ---- structures on the wire ------------------------------------------------ */
typedef struct {
    uint64_t capabilities;
    uint16_t id;
    uint16_t len;
    uint16_t domains;
    uint8_t type;
    uint8_t algorithm;
    uint8_t sequence;
    uint8_t origin;
    char label[YH_LABEL_LEN + 1]; /* NUL-terminated copy */
    uint64_t delegated_capabilities;
} yh_object_info;
signet_rc yh_object_info_encode(const yh_object_info *oi, sb_wr *out);  /* 66 bytes */
signet_rc yh_object_info_decode(sb_rd *r, yh_object_info *oi);

typedef struct {
    uint16_t number;
    uint8_t command;
    uint16_t length;
    uint16_t session_key;
    uint16_t target_key;
    uint16_t second_key;
    uint8_t result;
    uint32_t systick;
    uint8_t digest[YH_LOG_DIGEST_LEN];
} yh_log_entry;
void yh_log_entry_encode(const yh_log_entry *e, uint8_t out[YH_LOG_ENTRY_LEN]);
void yh_log_entry_decode(const uint8_t in[YH_LOG_ENTRY_LEN], yh_log_entry *e);
/* digest_n = SHA-256(entry_n bytes 0..15 | digest_{n-1})[0:16] */
void yh_log_digest(const yh_log_entry *e, const uint8_t prev[YH_LOG_DIGEST_LEN],
                   uint8_t out[YH_LOG_DIGEST_LEN]);
bool yh_log_entry_verify(const yh_log_entry *e, const uint8_t prev[YH_LOG_DIGEST_LEN]);

/* Labels: 40 bytes zero padded on the wire. */
void yh_label_encode(const char *label, uint8_t out[YH_LABEL_LEN]);
void yh_label_decode(const uint8_t in[YH_LABEL_LEN], char out[YH_LABEL_LEN + 1]);

/* ---- the secure channel (SCP03 style) -------------------------------------- */
typedef struct {
    uint8_t enc[YH_KEY_LEN]; /* K-ENC */
    uint8_t mac[YH_KEY_LEN]; /* K-MAC */
} yh_static_keys;

typedef struct {
    uint8_t s_enc[YH_KEY_LEN];
    uint8_t s_mac[YH_KEY_LEN];
    uint8_t s_rmac[YH_KEY_LEN];
    uint8_t chain[16];    /* MAC chaining value */
    uint8_t counter[16];  /* 128-bit big-endian message counter, starts at 1 */
    uint8_t session_id;
} yh_channel;

/* AES-CMAC over the concatenation of up to n parts (OpenSSL EVP_MAC). */
signet_rc yh_cmac(const uint8_t key[YH_KEY_LEN], const uint8_t *const *parts, const size_t *lens,
                  size_t nparts, uint8_t out[16]);

/* PBKDF2-HMAC-SHA256(password, "Yubico", 10000) -> K-ENC | K-MAC. */
signet_rc yh_derive_password_keys(const char *password, size_t len, yh_static_keys *out);

/* Session keys from static keys and both challenges; chain zeroed, counter = 1. */
signet_rc yh_channel_derive(const yh_static_keys *k, const uint8_t host_ch[8],
                            const uint8_t card_ch[8], uint8_t session_id, yh_channel *out);
/* kind 0 = card cryptogram, 1 = host cryptogram; keyed with S-MAC. */
signet_rc yh_cryptogram(const yh_channel *ch, int kind, const uint8_t host_ch[8],
                        const uint8_t card_ch[8], uint8_t out[8]);

/* Authenticate Session frame: 04 | len | sid | host cryptogram | C-MAC; updates chain.
 * The device side verifies with yh_channel_check_auth. */
signet_rc yh_channel_auth_frame(yh_channel *ch, const uint8_t host_crypto[8], sb_wr *out);
signet_rc yh_channel_check_auth(yh_channel *ch, const uint8_t *frame, size_t len,
                                const uint8_t host_ch[8], const uint8_t card_ch[8]);

/* Host side: wrap an inner `cmd|len|data` into a 0x05 session-message frame
 * (encrypt, C-MAC, update chain). */
signet_rc yh_channel_wrap_command(yh_channel *ch, const uint8_t *inner, size_t len, sb_wr *out);
/* Host side: verify the R-MAC of a 0x85 frame, decrypt it with the command's IV,
 * strip the padding, step the counter.  A bad R-MAC fails with SIGNET_E_VERIFY and
 * leaves nothing in out. */
signet_rc yh_channel_unwrap_response(yh_channel *ch, const uint8_t *frame, size_t len, sb_wr *out);
/* Device side: verify the C-MAC (SIGNET_E_VERIFY on mismatch), update the chain,
 * decrypt into out. frame is the whole 05 frame. */
signet_rc yh_channel_unwrap_command(yh_channel *ch, const uint8_t *frame, size_t len, sb_wr *out);
/* Device side: encrypt the inner response, append R-MAC, step the counter. */
signet_rc yh_channel_wrap_response(yh_channel *ch, const uint8_t *inner, size_t len, sb_wr *out);

/* Asymmetric authentication (firmware 2.3+): X9.63-KDF-SHA256 over shsee | shsss with
 * shared info 3c 88 10 -> receipt key | S-ENC | S-MAC | S-RMAC (16 bytes each).
 * Session keys go into out (counter = 1), receipt key into receipt_key. */
signet_rc yh_asym_derive(const uint8_t shsee[32], const uint8_t shsss[32], uint8_t session_id,
                         uint8_t receipt_key[YH_KEY_LEN], yh_channel *out);
/* receipt = CMAC(receipt key, device ephemeral | client ephemeral); it becomes the chain. */
signet_rc yh_asym_receipt(const uint8_t receipt_key[YH_KEY_LEN],
                          const uint8_t dev_eph[YH_EC_P256_PUB_LEN],
                          const uint8_t cli_eph[YH_EC_P256_PUB_LEN], uint8_t out[16]);

/* Wrap blobs: nonce(13) | AES-CCM(plaintext) | tag(16), no AAD. key_len 16/24/32. */
signet_rc yh_ccm_seal(const uint8_t *key, size_t key_len, const uint8_t nonce[13],
                      const uint8_t *pt, size_t pt_len, sb_wr *out);
signet_rc yh_ccm_open(const uint8_t *key, size_t key_len, const uint8_t *blob, size_t blob_len,
                      sb_wr *out_secure); /* SIGNET_E_VERIFY on a bad tag */

/* What an opened wrap blob holds: the object's header, then its body (body points
 * into the plaintext given to yh_wrapped_parse). */
typedef struct {
    uint8_t wrap_algorithm;
    uint64_t capabilities;
    uint16_t id, domains;
    uint8_t type, algorithm, sequence, origin;
    uint8_t label[YH_LABEL_LEN];
    const uint8_t *body;
    uint16_t body_len;
} yh_wrapped;
/* SIGNET_E_PARSE when the header is short or its body length is not what follows. */
signet_rc yh_wrapped_parse(const uint8_t *pt, size_t len, yh_wrapped *out);

#endif

/* Name tables for commands, algorithms and object types, spelled as yubihsm-shell
 * spells them, so that signet's output and arguments read like the tools people
 * already know.  Also the algorithm properties the client and the emulator share. */
#include <string.h>
#include <strings.h>

#include <openssl/obj_mac.h>

#include "signet/proto.h"

struct name_entry {
    uint8_t value;
    const char *name;
};

static const struct name_entry ALGOS[] = {
    {YH_ALGO_RSA_PKCS1_SHA1, "rsa-pkcs1-sha1"},
    {YH_ALGO_RSA_PKCS1_SHA256, "rsa-pkcs1-sha256"},
    {YH_ALGO_RSA_PKCS1_SHA384, "rsa-pkcs1-sha384"},
    {YH_ALGO_RSA_PKCS1_SHA512, "rsa-pkcs1-sha512"},
    {YH_ALGO_RSA_PSS_SHA1, "rsa-pss-sha1"},
    {YH_ALGO_RSA_PSS_SHA256, "rsa-pss-sha256"},
    {YH_ALGO_RSA_PSS_SHA384, "rsa-pss-sha384"},
    {YH_ALGO_RSA_PSS_SHA512, "rsa-pss-sha512"},
    {YH_ALGO_RSA_2048, "rsa2048"},
    {YH_ALGO_RSA_3072, "rsa3072"},
    {YH_ALGO_RSA_4096, "rsa4096"},
    {YH_ALGO_EC_P256, "ecp256"},
    {YH_ALGO_EC_P384, "ecp384"},
    {YH_ALGO_EC_P521, "ecp521"},
    {YH_ALGO_EC_K256, "eck256"},
    {YH_ALGO_EC_BP256, "ecbp256"},
    {YH_ALGO_EC_BP384, "ecbp384"},
    {YH_ALGO_EC_BP512, "ecbp512"},
    {YH_ALGO_HMAC_SHA1, "hmac-sha1"},
    {YH_ALGO_HMAC_SHA256, "hmac-sha256"},
    {YH_ALGO_HMAC_SHA384, "hmac-sha384"},
    {YH_ALGO_HMAC_SHA512, "hmac-sha512"},
    {YH_ALGO_EC_ECDSA_SHA1, "ecdsa-sha1"},
    {YH_ALGO_EC_ECDH, "ecdh"},
    {YH_ALGO_RSA_OAEP_SHA1, "rsa-oaep-sha1"},
    {YH_ALGO_RSA_OAEP_SHA256, "rsa-oaep-sha256"},
    {YH_ALGO_RSA_OAEP_SHA384, "rsa-oaep-sha384"},
    {YH_ALGO_RSA_OAEP_SHA512, "rsa-oaep-sha512"},
    {YH_ALGO_AES128_CCM_WRAP, "aes128-ccm-wrap"},
    {YH_ALGO_OPAQUE_DATA, "opaque-data"},
    {YH_ALGO_OPAQUE_X509_CERTIFICATE, "opaque-x509-certificate"},
    {YH_ALGO_MGF1_SHA1, "mgf1-sha1"},
    {YH_ALGO_MGF1_SHA256, "mgf1-sha256"},
    {YH_ALGO_MGF1_SHA384, "mgf1-sha384"},
    {YH_ALGO_MGF1_SHA512, "mgf1-sha512"},
    {YH_ALGO_TEMPLATE_SSH, "template-ssh"},
    {YH_ALGO_AES128_YUBICO_OTP, "aes128-yubico-otp"},
    {YH_ALGO_AES128_YUBICO_AUTHENTICATION, "aes128-yubico-authentication"},
    {YH_ALGO_AES192_YUBICO_OTP, "aes192-yubico-otp"},
    {YH_ALGO_AES256_YUBICO_OTP, "aes256-yubico-otp"},
    {YH_ALGO_AES192_CCM_WRAP, "aes192-ccm-wrap"},
    {YH_ALGO_AES256_CCM_WRAP, "aes256-ccm-wrap"},
    {YH_ALGO_EC_ECDSA_SHA256, "ecdsa-sha256"},
    {YH_ALGO_EC_ECDSA_SHA384, "ecdsa-sha384"},
    {YH_ALGO_EC_ECDSA_SHA512, "ecdsa-sha512"},
    {YH_ALGO_EC_ED25519, "ed25519"},
    {YH_ALGO_EC_P224, "ecp224"},
    {YH_ALGO_RSA_PKCS1_DECRYPT, "rsa-pkcs1-decrypt"},
    {YH_ALGO_EC_P256_YUBICO_AUTHENTICATION, "ecp256-yubico-authentication"},
    {YH_ALGO_AES128, "aes128"},
    {YH_ALGO_AES192, "aes192"},
    {YH_ALGO_AES256, "aes256"},
    {YH_ALGO_AES_ECB, "aes-ecb"},
    {YH_ALGO_AES_CBC, "aes-cbc"},
    {YH_ALGO_AES_KWP, "aes-kwp"},
};

static const struct name_entry TYPES[] = {
    {YH_TYPE_OPAQUE, "opaque"},
    {YH_TYPE_AUTHENTICATION_KEY, "authentication-key"},
    {YH_TYPE_ASYMMETRIC_KEY, "asymmetric-key"},
    {YH_TYPE_WRAP_KEY, "wrap-key"},
    {YH_TYPE_HMAC_KEY, "hmac-key"},
    {YH_TYPE_TEMPLATE, "template"},
    {YH_TYPE_OTP_AEAD_KEY, "otp-aead-key"},
    {YH_TYPE_SYMMETRIC_KEY, "symmetric-key"},
    {YH_TYPE_PUBLIC_WRAP_KEY, "public-wrap-key"},
};

static const struct name_entry CMDS[] = {
    {YH_CMD_ECHO, "echo"},
    {YH_CMD_CREATE_SESSION, "create-session"},
    {YH_CMD_AUTHENTICATE_SESSION, "authenticate-session"},
    {YH_CMD_SESSION_MESSAGE, "session-message"},
    {YH_CMD_DEVICE_INFO, "device-info"},
    {YH_CMD_RESET_DEVICE, "reset-device"},
    {YH_CMD_GET_DEVICE_PUBKEY, "get-device-public-key"},
    {YH_CMD_CLOSE_SESSION, "close-session"},
    {YH_CMD_GET_STORAGE_INFO, "get-storage-info"},
    {YH_CMD_PUT_OPAQUE, "put-opaque"},
    {YH_CMD_GET_OPAQUE, "get-opaque"},
    {YH_CMD_PUT_AUTHENTICATION_KEY, "put-authentication-key"},
    {YH_CMD_PUT_ASYMMETRIC_KEY, "put-asymmetric-key"},
    {YH_CMD_GENERATE_ASYMMETRIC_KEY, "generate-asymmetric-key"},
    {YH_CMD_SIGN_PKCS1, "sign-pkcs1"},
    {YH_CMD_LIST_OBJECTS, "list-objects"},
    {YH_CMD_DECRYPT_PKCS1, "decrypt-pkcs1"},
    {YH_CMD_EXPORT_WRAPPED, "export-wrapped"},
    {YH_CMD_IMPORT_WRAPPED, "import-wrapped"},
    {YH_CMD_PUT_WRAP_KEY, "put-wrap-key"},
    {YH_CMD_GET_LOG_ENTRIES, "get-log-entries"},
    {YH_CMD_GET_OBJECT_INFO, "get-object-info"},
    {YH_CMD_SET_OPTION, "set-option"},
    {YH_CMD_GET_OPTION, "get-option"},
    {YH_CMD_GET_PSEUDO_RANDOM, "get-pseudo-random"},
    {YH_CMD_PUT_HMAC_KEY, "put-hmac-key"},
    {YH_CMD_SIGN_HMAC, "sign-hmac"},
    {YH_CMD_GET_PUBLIC_KEY, "get-public-key"},
    {YH_CMD_SIGN_PSS, "sign-pss"},
    {YH_CMD_SIGN_ECDSA, "sign-ecdsa"},
    {YH_CMD_DERIVE_ECDH, "derive-ecdh"},
    {YH_CMD_DELETE_OBJECT, "delete-object"},
    {YH_CMD_DECRYPT_OAEP, "decrypt-oaep"},
    {YH_CMD_GENERATE_HMAC_KEY, "generate-hmac-key"},
    {YH_CMD_GENERATE_WRAP_KEY, "generate-wrap-key"},
    {YH_CMD_VERIFY_HMAC, "verify-hmac"},
    {YH_CMD_SIGN_SSH_CERTIFICATE, "sign-ssh-certificate"},
    {YH_CMD_PUT_TEMPLATE, "put-template"},
    {YH_CMD_GET_TEMPLATE, "get-template"},
    {YH_CMD_DECRYPT_OTP, "decrypt-otp"},
    {YH_CMD_CREATE_OTP_AEAD, "create-otp-aead"},
    {YH_CMD_RANDOMIZE_OTP_AEAD, "randomize-otp-aead"},
    {YH_CMD_REWRAP_OTP_AEAD, "rewrap-otp-aead"},
    {YH_CMD_SIGN_ATTESTATION_CERTIFICATE, "sign-attestation-certificate"},
    {YH_CMD_PUT_OTP_AEAD_KEY, "put-otp-aead-key"},
    {YH_CMD_GENERATE_OTP_AEAD_KEY, "generate-otp-aead-key"},
    {YH_CMD_SET_LOG_INDEX, "set-log-index"},
    {YH_CMD_WRAP_DATA, "wrap-data"},
    {YH_CMD_UNWRAP_DATA, "unwrap-data"},
    {YH_CMD_SIGN_EDDSA, "sign-eddsa"},
    {YH_CMD_BLINK_DEVICE, "blink-device"},
    {YH_CMD_CHANGE_AUTHENTICATION_KEY, "change-authentication-key"},
    {YH_CMD_PUT_SYMMETRIC_KEY, "put-symmetric-key"},
    {YH_CMD_GENERATE_SYMMETRIC_KEY, "generate-symmetric-key"},
    {YH_CMD_DECRYPT_ECB, "decrypt-ecb"},
    {YH_CMD_ENCRYPT_ECB, "encrypt-ecb"},
    {YH_CMD_DECRYPT_CBC, "decrypt-cbc"},
    {YH_CMD_ENCRYPT_CBC, "encrypt-cbc"},
    {YH_CMD_ERROR, "error"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup_name(const struct name_entry *t, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].value == v)
            return t[i].name;
    return "unknown";
}

/* Names are matched case-insensitively, as yubihsm-shell does. */
static int lookup_value(const struct name_entry *t, size_t n, const char *name, uint8_t *v)
{
    if (!name)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(t[i].name, name) == 0) {
            *v = t[i].value;
            return 0;
        }
    return -1;
}

const char *yh_algo_name(uint8_t algo) { return lookup_name(ALGOS, COUNT(ALGOS), algo); }
int yh_algo_parse(const char *name, uint8_t *algo)
{
    return lookup_value(ALGOS, COUNT(ALGOS), name, algo);
}
const char *yh_type_name(uint8_t type) { return lookup_name(TYPES, COUNT(TYPES), type); }
int yh_type_parse(const char *name, uint8_t *type)
{
    return lookup_value(TYPES, COUNT(TYPES), name, type);
}

/* A response code (cmd | 0x80) is named after its command. */
const char *yh_cmd_name(uint8_t cmd)
{
    const char *n = lookup_name(CMDS, COUNT(CMDS), cmd);
    if (strcmp(n, "unknown") == 0 && (cmd & 0x80) && (cmd & 0x7f) != YH_CMD_ERROR)
        n = lookup_name(CMDS, COUNT(CMDS), (uint8_t)(cmd & 0x7f));
    return n;
}
int yh_cmd_parse(const char *name, uint8_t *cmd) { return lookup_value(CMDS, COUNT(CMDS), name, cmd); }

bool yh_algo_is_rsa(uint8_t algo)
{
    return algo == YH_ALGO_RSA_2048 || algo == YH_ALGO_RSA_3072 || algo == YH_ALGO_RSA_4096;
}

bool yh_algo_is_ec(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_EC_P224:
    case YH_ALGO_EC_P256:
    case YH_ALGO_EC_P384:
    case YH_ALGO_EC_P521:
    case YH_ALGO_EC_K256:
    case YH_ALGO_EC_BP256:
    case YH_ALGO_EC_BP384:
    case YH_ALGO_EC_BP512:
        return true;
    default:
        return false;
    }
}

bool yh_algo_is_wrap(uint8_t algo)
{
    return algo == YH_ALGO_AES128_CCM_WRAP || algo == YH_ALGO_AES192_CCM_WRAP ||
           algo == YH_ALGO_AES256_CCM_WRAP;
}

int yh_algo_key_bytes(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_RSA_2048: return 256;
    case YH_ALGO_RSA_3072: return 384;
    case YH_ALGO_RSA_4096: return 512;
    case YH_ALGO_EC_P224: return 28;
    case YH_ALGO_EC_P256:
    case YH_ALGO_EC_K256:
    case YH_ALGO_EC_BP256:
    case YH_ALGO_EC_P256_YUBICO_AUTHENTICATION: return 32;
    case YH_ALGO_EC_P384:
    case YH_ALGO_EC_BP384: return 48;
    case YH_ALGO_EC_P521: return 66;
    case YH_ALGO_EC_BP512: return 64;
    case YH_ALGO_EC_ED25519: return 32;
    case YH_ALGO_AES128_CCM_WRAP:
    case YH_ALGO_AES128:
    case YH_ALGO_AES128_YUBICO_OTP:
    case YH_ALGO_AES128_YUBICO_AUTHENTICATION: return 16;
    case YH_ALGO_AES192_CCM_WRAP:
    case YH_ALGO_AES192:
    case YH_ALGO_AES192_YUBICO_OTP: return 24;
    case YH_ALGO_AES256_CCM_WRAP:
    case YH_ALGO_AES256:
    case YH_ALGO_AES256_YUBICO_OTP: return 32;
    default: return 0;
    }
}

int yh_algo_curve_nid(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_EC_P224: return NID_secp224r1;
    case YH_ALGO_EC_P256:
    case YH_ALGO_EC_P256_YUBICO_AUTHENTICATION: return NID_X9_62_prime256v1;
    case YH_ALGO_EC_P384: return NID_secp384r1;
    case YH_ALGO_EC_P521: return NID_secp521r1;
    case YH_ALGO_EC_K256: return NID_secp256k1;
    case YH_ALGO_EC_BP256: return NID_brainpoolP256r1;
    case YH_ALGO_EC_BP384: return NID_brainpoolP384r1;
    case YH_ALGO_EC_BP512: return NID_brainpoolP512r1;
    default: return 0;
    }
}

/* Auditing any of these can lock the device until a physical reset: under
 * force-audit with a full log, the commands needed to drain the log (or to
 * reach them: echo, session message, device info) would themselves fail.
 * Set Log Index is absent: the device runs it even on a full forced log (it
 * frees the room its own entry takes), and Yubico's device tests audit it. */
bool yh_cmd_audit_would_lock(uint8_t cmd)
{
    switch (cmd) {
    case YH_CMD_ECHO:
    case YH_CMD_SESSION_MESSAGE:
    case YH_CMD_DEVICE_INFO:
    case YH_CMD_GET_LOG_ENTRIES:
        return true;
    default:
        return false;
    }
}

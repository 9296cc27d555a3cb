/* Strictness for every command the emulator implements, table-driven: each
 * request layout (python-yubihsm objects.py/core.py, yubihsm.rs filter.rs)
 * is accepted exactly, and each malformed variant (a length off by one, a
 * missing or stray field, an algorithm of another kind, an unknown tag or
 * option) gets one fixed device error.  Four tables:
 *   BODIES   put/generate bodies per algorithm (header | [delegated] | key)
 *   ROWS     the other commands' layouts, including the commands that are not
 *            emulated (OTP, SSH, RSA wrap) answering invalid command
 *   NOCAP    a session key without capabilities: every command that needs one
 *            is refused, the ones that need none still answer
 *   OBJCAP / DOMAIN   the capability on the object, and objects of a domain
 *            the session key does not share
 * Rows with want 0 are the positive controls: they prove the builder makes
 * the layout the device accepts, so the refusals next to them are about the
 * one field that changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "dev_client.h"

#define CAP(x) YH_CAP(YH_CAP_##x)
#define LEN_HDR 53 /* id 2, label 40, domains 2, capabilities 8, algorithm 1 */

/* Objects made by setup (domain 1 unless said otherwise). */
enum {
    /* K_EC, K_ED, K_RSA carry every sign/decrypt/ECDH capability (see fixtures) */
    K_EC = 0x0010,      /* P-256, also exportable and attest */
    K_EC_NOCAP = 0x0011,/* P-256, no capabilities (opaque certificate 0x0011 too) */
    K_ED = 0x0012,      /* Ed25519, also attest (opaque certificate 0x0012) */
    K_RSA = 0x0013,     /* RSA-2048 */
    K_HMAC = 0x0030, K_HMAC_NOCAP = 0x0031,
    K_WRAP = 0x0040, K_WRAP_NOCAP = 0x0041,
    K_AES = 0x0050, K_AES_NOCAP = 0x0051,
    K_OPAQUE = 0x0020,
    /* domain 2 only */
    D2_EC = 0x0060, D2_HMAC = 0x0061, D2_WRAP = 0x0062, D2_AES = 0x0063, D2_OPAQUE = 0x0064,
};

/* ---- BODIES ------------------------------------------------------------------ */
struct body {
    const char *what;
    uint8_t cmd;
    uint8_t algo;
    uint16_t domains;  /* 0 means 1 (the zero-domain row says DOM0) */
    bool delegated;    /* 8-byte delegated capabilities after the header */
    int cut;           /* bytes dropped from the end of the header (short header) */
    size_t key;        /* bytes of key material (0x5a) after header and delegated */
    int want;
};
#define DOM0 0x8000 /* marker: send domains 0 */

static const struct body BODIES[] = {
    /* Put Asymmetric Key: RSA p|q, EC d, Ed25519 seed */
    {"put asym p256", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 0, 32, 0},
    {"put asym p256 d short", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 0, 31, YH_ERR_INVALID_DATA},
    {"put asym p256 d long", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 0, 33, YH_ERR_INVALID_DATA},
    {"put asym p256 no key", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 0, 0, YH_ERR_INVALID_DATA},
    {"put asym p384 d short", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P384, 0, false, 0, 47, YH_ERR_INVALID_DATA},
    {"put asym p521 d short", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P521, 0, false, 0, 65, YH_ERR_INVALID_DATA},
    {"put asym ed25519", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_ED25519, 0, false, 0, 32, 0},
    {"put asym ed25519 short", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_ED25519, 0, false, 0, 31, YH_ERR_INVALID_DATA},
    {"put asym ed25519 long", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_ED25519, 0, false, 0, 33, YH_ERR_INVALID_DATA},
    {"put asym ed25519 expanded", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_ED25519, 0, false, 0, 96, YH_ERR_INVALID_DATA},
    {"put asym rsa2048 short", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_RSA_2048, 0, false, 0, 255, YH_ERR_INVALID_DATA},
    {"put asym rsa2048 long", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_RSA_2048, 0, false, 0, 257, YH_ERR_INVALID_DATA},
    {"put asym rsa2048 not primes", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_RSA_2048, 0, false, 0, 256, YH_ERR_INVALID_DATA},
    {"put asym rsa3072 short", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_RSA_3072, 0, false, 0, 383, YH_ERR_INVALID_DATA},
    {"put asym signing algorithm", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_RSA_PKCS1_SHA256, 0, false, 0, 32, YH_ERR_INVALID_DATA},
    {"put asym aes algorithm", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_AES128, 0, false, 0, 16, YH_ERR_INVALID_DATA},
    {"put asym algorithm 0", YH_CMD_PUT_ASYMMETRIC_KEY, 0, 0, false, 0, 32, YH_ERR_INVALID_DATA},
    {"put asym domains 0", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P256, DOM0, false, 0, 32, YH_ERR_INVALID_DATA},
    {"put asym header short", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 1, 0, YH_ERR_WRONG_LENGTH},
    /* Generate Asymmetric Key: header only */
    {"gen asym p256", YH_CMD_GENERATE_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 0, 0, 0},
    {"gen asym trailing", YH_CMD_GENERATE_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 0, 1, YH_ERR_WRONG_LENGTH},
    {"gen asym header short", YH_CMD_GENERATE_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 0, false, 1, 0, YH_ERR_WRONG_LENGTH},
    {"gen asym hmac algorithm", YH_CMD_GENERATE_ASYMMETRIC_KEY, YH_ALGO_HMAC_SHA256, 0, false, 0, 0, YH_ERR_INVALID_DATA},
    {"gen asym wrap algorithm", YH_CMD_GENERATE_ASYMMETRIC_KEY, YH_ALGO_AES128_CCM_WRAP, 0, false, 0, 0, YH_ERR_INVALID_DATA},
    {"gen asym domains 0", YH_CMD_GENERATE_ASYMMETRIC_KEY, YH_ALGO_EC_P256, DOM0, false, 0, 0, YH_ERR_INVALID_DATA},
    /* Put Opaque: header | data (1 or more bytes) */
    {"put opaque", YH_CMD_PUT_OPAQUE, YH_ALGO_OPAQUE_DATA, 0, false, 0, 1, 0},
    {"put opaque certificate", YH_CMD_PUT_OPAQUE, YH_ALGO_OPAQUE_X509_CERTIFICATE, 0, false, 0, 9, 0},
    {"put opaque empty", YH_CMD_PUT_OPAQUE, YH_ALGO_OPAQUE_DATA, 0, false, 0, 0, YH_ERR_INVALID_DATA},
    {"put opaque key algorithm", YH_CMD_PUT_OPAQUE, YH_ALGO_EC_P256, 0, false, 0, 32, YH_ERR_INVALID_DATA},
    {"put opaque header short", YH_CMD_PUT_OPAQUE, YH_ALGO_OPAQUE_DATA, 0, false, 1, 0, YH_ERR_WRONG_LENGTH},
    /* Put Authentication Key: header | delegated | K-ENC K-MAC (38) or X Y (49) */
    {"put auth key", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_AES128_YUBICO_AUTHENTICATION, 0, true, 0, 32, 0},
    {"put auth key short", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_AES128_YUBICO_AUTHENTICATION, 0, true, 0, 31, YH_ERR_WRONG_LENGTH},
    {"put auth key long", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_AES128_YUBICO_AUTHENTICATION, 0, true, 0, 33, YH_ERR_WRONG_LENGTH},
    {"put auth key no delegated", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_AES128_YUBICO_AUTHENTICATION, 0, false, 0, 0, YH_ERR_WRONG_LENGTH},
    {"put auth key p256 short", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION, 0, true, 0, 63, YH_ERR_WRONG_LENGTH},
    {"put auth key p256 off curve", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION, 0, true, 0, 64, YH_ERR_INVALID_DATA},
    {"put auth key other algorithm", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_EC_P256, 0, true, 0, 32, YH_ERR_INVALID_DATA},
    {"put auth key domains 0", YH_CMD_PUT_AUTHENTICATION_KEY, YH_ALGO_AES128_YUBICO_AUTHENTICATION, DOM0, true, 0, 32, YH_ERR_INVALID_DATA},
    /* Put Wrap Key: header | delegated | key (16/24/32) */
    {"put wrap key", YH_CMD_PUT_WRAP_KEY, YH_ALGO_AES128_CCM_WRAP, 0, true, 0, 16, 0},
    {"put wrap key short", YH_CMD_PUT_WRAP_KEY, YH_ALGO_AES128_CCM_WRAP, 0, true, 0, 15, YH_ERR_INVALID_DATA},
    {"put wrap key long", YH_CMD_PUT_WRAP_KEY, YH_ALGO_AES128_CCM_WRAP, 0, true, 0, 17, YH_ERR_INVALID_DATA},
    {"put wrap key 192 short", YH_CMD_PUT_WRAP_KEY, YH_ALGO_AES192_CCM_WRAP, 0, true, 0, 23, YH_ERR_INVALID_DATA},
    {"put wrap key 256 long", YH_CMD_PUT_WRAP_KEY, YH_ALGO_AES256_CCM_WRAP, 0, true, 0, 33, YH_ERR_INVALID_DATA},
    {"put wrap key no delegated", YH_CMD_PUT_WRAP_KEY, YH_ALGO_AES128_CCM_WRAP, 0, false, 0, 0, YH_ERR_WRONG_LENGTH},
    {"put wrap key aes algorithm", YH_CMD_PUT_WRAP_KEY, YH_ALGO_AES128, 0, true, 0, 16, YH_ERR_INVALID_DATA},
    {"put wrap key rsa (not emulated)", YH_CMD_PUT_WRAP_KEY, YH_ALGO_RSA_2048, 0, true, 0, 256, YH_ERR_INVALID_DATA},
    /* Generate Wrap Key: header | delegated */
    {"gen wrap key", YH_CMD_GENERATE_WRAP_KEY, YH_ALGO_AES256_CCM_WRAP, 0, true, 0, 0, 0},
    {"gen wrap key trailing", YH_CMD_GENERATE_WRAP_KEY, YH_ALGO_AES256_CCM_WRAP, 0, true, 0, 1, YH_ERR_WRONG_LENGTH},
    {"gen wrap key no delegated", YH_CMD_GENERATE_WRAP_KEY, YH_ALGO_AES256_CCM_WRAP, 0, false, 0, 0, YH_ERR_WRONG_LENGTH},
    {"gen wrap key hmac algorithm", YH_CMD_GENERATE_WRAP_KEY, YH_ALGO_HMAC_SHA1, 0, true, 0, 0, YH_ERR_INVALID_DATA},
    /* Put HMAC Key: header | key (1 .. block size: 64 for SHA-1/256, 128 for SHA-384/512) */
    {"put hmac sha256 1", YH_CMD_PUT_HMAC_KEY, YH_ALGO_HMAC_SHA256, 0, false, 0, 1, 0},
    {"put hmac sha256 64", YH_CMD_PUT_HMAC_KEY, YH_ALGO_HMAC_SHA256, 0, false, 0, 64, 0},
    {"put hmac sha256 65", YH_CMD_PUT_HMAC_KEY, YH_ALGO_HMAC_SHA256, 0, false, 0, 65, YH_ERR_INVALID_DATA},
    {"put hmac sha1 65", YH_CMD_PUT_HMAC_KEY, YH_ALGO_HMAC_SHA1, 0, false, 0, 65, YH_ERR_INVALID_DATA},
    {"put hmac sha512 128", YH_CMD_PUT_HMAC_KEY, YH_ALGO_HMAC_SHA512, 0, false, 0, 128, 0},
    {"put hmac sha384 129", YH_CMD_PUT_HMAC_KEY, YH_ALGO_HMAC_SHA384, 0, false, 0, 129, YH_ERR_INVALID_DATA},
    {"put hmac empty", YH_CMD_PUT_HMAC_KEY, YH_ALGO_HMAC_SHA256, 0, false, 0, 0, YH_ERR_INVALID_DATA},
    {"put hmac aes algorithm", YH_CMD_PUT_HMAC_KEY, YH_ALGO_AES128, 0, false, 0, 16, YH_ERR_INVALID_DATA},
    /* Generate HMAC Key: header */
    {"gen hmac", YH_CMD_GENERATE_HMAC_KEY, YH_ALGO_HMAC_SHA1, 0, false, 0, 0, 0},
    {"gen hmac trailing", YH_CMD_GENERATE_HMAC_KEY, YH_ALGO_HMAC_SHA1, 0, false, 0, 1, YH_ERR_WRONG_LENGTH},
    {"gen hmac ec algorithm", YH_CMD_GENERATE_HMAC_KEY, YH_ALGO_EC_P256, 0, false, 0, 0, YH_ERR_INVALID_DATA},
    /* Put Symmetric Key: header | key (16/24/32) */
    {"put aes128", YH_CMD_PUT_SYMMETRIC_KEY, YH_ALGO_AES128, 0, false, 0, 16, 0},
    {"put aes128 short", YH_CMD_PUT_SYMMETRIC_KEY, YH_ALGO_AES128, 0, false, 0, 15, YH_ERR_INVALID_DATA},
    {"put aes128 long", YH_CMD_PUT_SYMMETRIC_KEY, YH_ALGO_AES128, 0, false, 0, 17, YH_ERR_INVALID_DATA},
    {"put aes192", YH_CMD_PUT_SYMMETRIC_KEY, YH_ALGO_AES192, 0, false, 0, 24, 0},
    {"put aes192 with 128 key", YH_CMD_PUT_SYMMETRIC_KEY, YH_ALGO_AES192, 0, false, 0, 16, YH_ERR_INVALID_DATA},
    {"put aes256 long", YH_CMD_PUT_SYMMETRIC_KEY, YH_ALGO_AES256, 0, false, 0, 33, YH_ERR_INVALID_DATA},
    {"put aes wrap algorithm", YH_CMD_PUT_SYMMETRIC_KEY, YH_ALGO_AES128_CCM_WRAP, 0, false, 0, 16, YH_ERR_INVALID_DATA},
    /* Generate Symmetric Key: header */
    {"gen aes256", YH_CMD_GENERATE_SYMMETRIC_KEY, YH_ALGO_AES256, 0, false, 0, 0, 0},
    {"gen aes trailing", YH_CMD_GENERATE_SYMMETRIC_KEY, YH_ALGO_AES256, 0, false, 0, 1, YH_ERR_WRONG_LENGTH},
    {"gen aes hmac algorithm", YH_CMD_GENERATE_SYMMETRIC_KEY, YH_ALGO_HMAC_SHA256, 0, false, 0, 0, YH_ERR_INVALID_DATA},
};

static size_t build_body(const struct body *b, uint16_t id, uint64_t caps, uint8_t *buf,
                         size_t cap)
{
    sb_wr w;
    sbw_init_fixed(&w, buf, cap);
    tc_attrs a = {.id = id, .label = "strict", .caps = caps, .algorithm = b->algo,
                  .domains = b->domains == DOM0 ? 0 : b->domains ? b->domains : 1};
    tc_put_hdr(&w, &a);
    w.len -= (size_t)b->cut;
    if (b->delegated)
        sbw_u64(&w, 0);
    for (size_t i = 0; i < b->key; i++)
        sbw_u8(&w, 0x5a);
    return w.len;
}

static int run_bodies(tc_session *s, uint64_t caps, bool expect_nocap)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof BODIES / sizeof BODIES[0]; i++) {
        const struct body *b = &BODIES[i];
        uint8_t buf[LEN_HDR + 8 + 512];
        size_t n = build_body(b, 0, caps, buf, sizeof buf);
        int want = expect_nocap ? YH_ERR_INSUFFICIENT_PERMISSIONS : b->want;
        if (expect_nocap && b->want != 0)
            continue; /* only well-formed requests are asked without capabilities */
        int got = tc_cmd(s, b->cmd, buf, n, NULL);
        if (got != want) {
            print_error("%s: got 0x%x, want 0x%x\n", b->what, got, want);
            bad++;
        }
    }
    return bad;
}

/* ---- fixed-byte rows ------------------------------------------------------------- */
struct row {
    const char *what;
    uint8_t cmd;
    uint8_t req[72];
    size_t len;       /* bytes of req */
    size_t fill;      /* then this many 0x5a bytes */
    int want;
};

#define ID(x) (uint8_t)((x) >> 8), (uint8_t)(x)
#define CAPS8(x) 0, 0, 0, 0, 0, 0, 0, (x)

static const struct row ROWS[] = {
    /* List Objects: TLV filters id 01 (2), type 02 (1), domains 03 (2),
     * capabilities 04 (8), algorithm 05 (1), label 06 (40) */
    {"list all", YH_CMD_LIST_OBJECTS, {0}, 0, 0, 0},
    {"list id", YH_CMD_LIST_OBJECTS, {0x01, ID(K_EC)}, 3, 0, 0},
    {"list id short", YH_CMD_LIST_OBJECTS, {0x01, 0x00}, 2, 0, YH_ERR_WRONG_LENGTH},
    {"list type", YH_CMD_LIST_OBJECTS, {0x02, YH_TYPE_ASYMMETRIC_KEY}, 2, 0, 0},
    {"list type missing", YH_CMD_LIST_OBJECTS, {0x02}, 1, 0, YH_ERR_WRONG_LENGTH},
    {"list domains", YH_CMD_LIST_OBJECTS, {0x03, 0x00, 0x01}, 3, 0, 0},
    {"list domains short", YH_CMD_LIST_OBJECTS, {0x03, 0x00}, 2, 0, YH_ERR_WRONG_LENGTH},
    {"list capabilities", YH_CMD_LIST_OBJECTS, {0x04, CAPS8(0x80)}, 9, 0, 0},
    {"list capabilities short", YH_CMD_LIST_OBJECTS, {0x04, 0, 0, 0, 0, 0, 0, 0}, 8, 0, YH_ERR_WRONG_LENGTH},
    {"list algorithm", YH_CMD_LIST_OBJECTS, {0x05, YH_ALGO_EC_P256}, 2, 0, 0},
    {"list algorithm missing", YH_CMD_LIST_OBJECTS, {0x05}, 1, 0, YH_ERR_WRONG_LENGTH},
    {"list label", YH_CMD_LIST_OBJECTS, {0x06}, 1, 40, 0},
    {"list label short", YH_CMD_LIST_OBJECTS, {0x06}, 1, 39, YH_ERR_WRONG_LENGTH},
    {"list all filters", YH_CMD_LIST_OBJECTS, {0x01, ID(K_EC), 0x02, 3, 0x03, 0, 1, 0x04, CAPS8(0x80), 0x05, 12}, 19, 0, 0},
    {"list unknown tag", YH_CMD_LIST_OBJECTS, {0x07, 0x00}, 2, 0, YH_ERR_INVALID_DATA},
    {"list tag 0", YH_CMD_LIST_OBJECTS, {0x00, 0x00}, 2, 0, YH_ERR_INVALID_DATA},
    {"list trailing half filter", YH_CMD_LIST_OBJECTS, {0x02, 3, 0x01, 0x00}, 4, 0, YH_ERR_WRONG_LENGTH},
    /* Echo, Device Info, Blink, Storage Info inside a session */
    {"echo", YH_CMD_ECHO, {0x42}, 1, 0, 0},
    {"echo empty", YH_CMD_ECHO, {0}, 0, 0, YH_ERR_INVALID_DATA},
    {"device info", YH_CMD_DEVICE_INFO, {0}, 0, 0, 0},
    {"device info part number", YH_CMD_DEVICE_INFO, {0x01}, 1, 0, 0},
    {"device info unknown argument", YH_CMD_DEVICE_INFO, {0x02}, 1, 0, YH_ERR_INVALID_DATA},
    {"device info trailing", YH_CMD_DEVICE_INFO, {0x01, 0x00}, 2, 0, YH_ERR_INVALID_DATA},
    {"blink", YH_CMD_BLINK_DEVICE, {0x01}, 1, 0, 0},
    {"blink no seconds", YH_CMD_BLINK_DEVICE, {0}, 0, 0, YH_ERR_WRONG_LENGTH},
    {"blink trailing", YH_CMD_BLINK_DEVICE, {0x01, 0x00}, 2, 0, YH_ERR_WRONG_LENGTH},
    {"storage info", YH_CMD_GET_STORAGE_INFO, {0}, 0, 0, 0},
    {"pseudo random 0", YH_CMD_GET_PSEUDO_RANDOM, {0x00, 0x00}, 2, 0, 0},
    /* Get Public Key: id, optionally the type (asymmetric key) */
    {"public key", YH_CMD_GET_PUBLIC_KEY, {ID(K_EC)}, 2, 0, 0},
    {"public key with type", YH_CMD_GET_PUBLIC_KEY, {ID(K_EC), YH_TYPE_ASYMMETRIC_KEY}, 3, 0, 0},
    {"public key of wrap type", YH_CMD_GET_PUBLIC_KEY, {ID(K_WRAP), YH_TYPE_WRAP_KEY}, 3, 0, YH_ERR_INVALID_DATA},
    {"public key of hmac id", YH_CMD_GET_PUBLIC_KEY, {ID(K_HMAC)}, 2, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"opaque 0 is the attestation certificate", YH_CMD_GET_OPAQUE, {0x00, 0x00}, 2, 0, 0},
    /* Sign Attestation Certificate: key id | attestation key id */
    {"attest", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(K_EC), 0x00, 0x00}, 4, 0, 0},
    {"attest short", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(K_EC), 0x00}, 3, 0, YH_ERR_WRONG_LENGTH},
    {"attest trailing", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(K_EC), 0x00, 0x00, 0x00}, 5, 0, YH_ERR_WRONG_LENGTH},
    {"attest missing key", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {0x0f, 0x0f, 0x00, 0x00}, 4, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"attest by key without certificate", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(K_EC), ID(K_RSA)}, 4, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"attest by ed25519", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(K_EC), ID(K_ED)}, 4, 0, YH_ERR_INVALID_DATA},
    /* Signing: id | digest (PKCS#1, ECDSA), id | mgf1 | salt(2) | digest (PSS), id | message (EdDSA) */
    {"pkcs1", YH_CMD_SIGN_PKCS1, {ID(K_RSA)}, 2, 32, 0},
    {"pkcs1 empty", YH_CMD_SIGN_PKCS1, {ID(K_RSA)}, 2, 0, YH_ERR_INVALID_DATA},
    {"pkcs1 beyond k-11", YH_CMD_SIGN_PKCS1, {ID(K_RSA)}, 2, 246, YH_ERR_INVALID_DATA},
    {"pkcs1 ec key", YH_CMD_SIGN_PKCS1, {ID(K_EC)}, 2, 32, YH_ERR_INVALID_DATA},
    {"pss ec key", YH_CMD_SIGN_PSS, {ID(K_EC), YH_ALGO_MGF1_SHA256, 0x00, 0x20}, 5, 32, YH_ERR_INVALID_DATA},
    {"pss", YH_CMD_SIGN_PSS, {ID(K_RSA), YH_ALGO_MGF1_SHA256, 0x00, 0x20}, 5, 32, 0},
    {"pss mgf not mgf1", YH_CMD_SIGN_PSS, {ID(K_RSA), YH_ALGO_RSA_PSS_SHA256, 0x00, 0x20}, 5, 32, YH_ERR_INVALID_DATA},
    {"pss digest 31", YH_CMD_SIGN_PSS, {ID(K_RSA), YH_ALGO_MGF1_SHA256, 0x00, 0x20}, 5, 31, YH_ERR_INVALID_DATA},
    {"pss no digest", YH_CMD_SIGN_PSS, {ID(K_RSA), YH_ALGO_MGF1_SHA256, 0x00, 0x20}, 5, 0, YH_ERR_INVALID_DATA},
    {"pss salt too long", YH_CMD_SIGN_PSS, {ID(K_RSA), YH_ALGO_MGF1_SHA256, 0x00, 0xdf}, 5, 32, YH_ERR_INVALID_DATA},
    {"ecdsa", YH_CMD_SIGN_ECDSA, {ID(K_EC)}, 2, 32, 0},
    {"ecdsa empty", YH_CMD_SIGN_ECDSA, {ID(K_EC)}, 2, 0, YH_ERR_INVALID_DATA},
    {"ecdsa beyond 64", YH_CMD_SIGN_ECDSA, {ID(K_EC)}, 2, 65, YH_ERR_INVALID_DATA},
    {"ecdsa rsa key", YH_CMD_SIGN_ECDSA, {ID(K_RSA)}, 2, 32, YH_ERR_INVALID_DATA},
    {"eddsa", YH_CMD_SIGN_EDDSA, {ID(K_ED)}, 2, 3, 0},
    {"eddsa ec key", YH_CMD_SIGN_EDDSA, {ID(K_EC)}, 2, 3, YH_ERR_INVALID_DATA},
    /* Decryption: id | ciphertext (PKCS#1), id | mgf1 | ciphertext | label hash (OAEP) */
    {"decrypt pkcs1 short", YH_CMD_DECRYPT_PKCS1, {ID(K_RSA)}, 2, 255, YH_ERR_INVALID_DATA},
    {"decrypt pkcs1 long", YH_CMD_DECRYPT_PKCS1, {ID(K_RSA)}, 2, 257, YH_ERR_INVALID_DATA},
    {"decrypt pkcs1 empty", YH_CMD_DECRYPT_PKCS1, {ID(K_RSA)}, 2, 0, YH_ERR_INVALID_DATA},
    {"decrypt pkcs1 ec key", YH_CMD_DECRYPT_PKCS1, {ID(K_EC)}, 2, 32, YH_ERR_INVALID_DATA},
    {"decrypt oaep bad mgf", YH_CMD_DECRYPT_OAEP, {ID(K_RSA), YH_ALGO_RSA_OAEP_SHA256}, 3, 256 + 32, YH_ERR_INVALID_DATA},
    {"decrypt oaep hash 31", YH_CMD_DECRYPT_OAEP, {ID(K_RSA), YH_ALGO_MGF1_SHA256}, 3, 256 + 31, YH_ERR_INVALID_DATA},
    {"decrypt oaep no hash", YH_CMD_DECRYPT_OAEP, {ID(K_RSA), YH_ALGO_MGF1_SHA256}, 3, 256, YH_ERR_INVALID_DATA},
    {"decrypt oaep short", YH_CMD_DECRYPT_OAEP, {ID(K_RSA), YH_ALGO_MGF1_SHA256}, 3, 100, YH_ERR_INVALID_DATA},
    /* Derive ECDH: id | 04 | X | Y on the key's curve */
    {"ecdh no 04", YH_CMD_DERIVE_ECDH, {ID(K_EC)}, 2, 64, YH_ERR_INVALID_DATA},
    {"ecdh off curve", YH_CMD_DERIVE_ECDH, {ID(K_EC), 0x04}, 3, 64, YH_ERR_INVALID_DATA},
    {"ecdh compressed", YH_CMD_DERIVE_ECDH, {ID(K_EC), 0x02}, 3, 32, YH_ERR_INVALID_DATA},
    {"ecdh trailing", YH_CMD_DERIVE_ECDH, {ID(K_EC), 0x04}, 3, 65, YH_ERR_INVALID_DATA},
    {"ecdh empty", YH_CMD_DERIVE_ECDH, {ID(K_EC)}, 2, 0, YH_ERR_INVALID_DATA},
    {"ecdh ed25519 key", YH_CMD_DERIVE_ECDH, {ID(K_ED), 0x04}, 3, 64, YH_ERR_INVALID_DATA},
    {"ecdh rsa key", YH_CMD_DERIVE_ECDH, {ID(K_RSA), 0x04}, 3, 64, YH_ERR_INVALID_DATA},
    /* HMAC: id | data (sign), id | MAC | data (verify) */
    {"hmac sign", YH_CMD_SIGN_HMAC, {ID(K_HMAC)}, 2, 1, 0},
    {"hmac sign no data", YH_CMD_SIGN_HMAC, {ID(K_HMAC)}, 2, 0, YH_ERR_INVALID_DATA},
    {"hmac sign ec id", YH_CMD_SIGN_HMAC, {ID(K_EC)}, 2, 1, YH_ERR_OBJECT_NOT_FOUND},
    {"hmac verify (mismatch answers 00)", YH_CMD_VERIFY_HMAC, {ID(K_HMAC)}, 2, 33, 0},
    {"hmac verify mac only", YH_CMD_VERIFY_HMAC, {ID(K_HMAC)}, 2, 32, YH_ERR_INVALID_DATA},
    {"hmac verify short mac", YH_CMD_VERIFY_HMAC, {ID(K_HMAC)}, 2, 31, YH_ERR_INVALID_DATA},
    {"hmac verify no id", YH_CMD_VERIFY_HMAC, {0x00}, 1, 0, YH_ERR_WRONG_LENGTH},
    /* Wrap/Unwrap Data: id | data, id | nonce(13) | ciphertext | tag(16) */
    {"wrap data", YH_CMD_WRAP_DATA, {ID(K_WRAP)}, 2, 1, 0},
    {"wrap data empty", YH_CMD_WRAP_DATA, {ID(K_WRAP)}, 2, 0, YH_ERR_INVALID_DATA},
    {"wrap data no id", YH_CMD_WRAP_DATA, {0x00}, 1, 0, YH_ERR_WRONG_LENGTH},
    {"wrap data aes id", YH_CMD_WRAP_DATA, {ID(K_AES)}, 2, 1, YH_ERR_OBJECT_NOT_FOUND},
    {"unwrap data nonce and tag only", YH_CMD_UNWRAP_DATA, {ID(K_WRAP)}, 2, 29, YH_ERR_INVALID_DATA},
    {"unwrap data damaged", YH_CMD_UNWRAP_DATA, {ID(K_WRAP)}, 2, 40, YH_ERR_INVALID_DATA},
    {"unwrap data no id", YH_CMD_UNWRAP_DATA, {0x00}, 1, 0, YH_ERR_WRONG_LENGTH},
    /* AES: id | blocks (ECB), id | IV(16) | blocks (CBC) */
    {"ecb encrypt", YH_CMD_ENCRYPT_ECB, {ID(K_AES)}, 2, 16, 0},
    {"ecb decrypt", YH_CMD_DECRYPT_ECB, {ID(K_AES)}, 2, 32, 0},
    {"ecb empty", YH_CMD_ENCRYPT_ECB, {ID(K_AES)}, 2, 0, YH_ERR_INVALID_DATA},
    {"ecb partial block", YH_CMD_ENCRYPT_ECB, {ID(K_AES)}, 2, 15, YH_ERR_INVALID_DATA},
    {"ecb block and a byte", YH_CMD_DECRYPT_ECB, {ID(K_AES)}, 2, 17, YH_ERR_INVALID_DATA},
    {"ecb no id", YH_CMD_ENCRYPT_ECB, {0x00}, 1, 0, YH_ERR_WRONG_LENGTH},
    {"ecb hmac id", YH_CMD_ENCRYPT_ECB, {ID(K_HMAC)}, 2, 16, YH_ERR_OBJECT_NOT_FOUND},
    {"cbc encrypt", YH_CMD_ENCRYPT_CBC, {ID(K_AES)}, 2, 32, 0},
    {"cbc decrypt", YH_CMD_DECRYPT_CBC, {ID(K_AES)}, 2, 48, 0},
    {"cbc iv only", YH_CMD_ENCRYPT_CBC, {ID(K_AES)}, 2, 16, YH_ERR_INVALID_DATA},
    {"cbc short iv", YH_CMD_DECRYPT_CBC, {ID(K_AES)}, 2, 15, YH_ERR_INVALID_DATA},
    {"cbc partial block", YH_CMD_ENCRYPT_CBC, {ID(K_AES)}, 2, 33, YH_ERR_INVALID_DATA},
    /* Export Wrapped: wrap id | type | id [| format] */
    {"export", YH_CMD_EXPORT_WRAPPED, {ID(K_WRAP), YH_TYPE_ASYMMETRIC_KEY, ID(K_EC)}, 5, 0, 0},
    {"export format 1", YH_CMD_EXPORT_WRAPPED, {ID(K_WRAP), YH_TYPE_ASYMMETRIC_KEY, ID(K_EC), 1}, 6, 0, 0},
    {"export format 2", YH_CMD_EXPORT_WRAPPED, {ID(K_WRAP), YH_TYPE_ASYMMETRIC_KEY, ID(K_EC), 2}, 6, 0, YH_ERR_INVALID_DATA},
    {"export unknown type", YH_CMD_EXPORT_WRAPPED, {ID(K_WRAP), 0x0a, ID(K_EC)}, 5, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"import damaged", YH_CMD_IMPORT_WRAPPED, {ID(K_WRAP)}, 2, 13 + 59 + 16 + 32, YH_ERR_INVALID_DATA},
    /* Delete Object: id | type */
    {"delete type 0", YH_CMD_DELETE_OBJECT, {ID(K_OPAQUE), 0x00}, 3, 0, YH_ERR_INVALID_DATA},
    {"delete type 10", YH_CMD_DELETE_OBJECT, {ID(K_OPAQUE), 0x0a}, 3, 0, YH_ERR_INVALID_DATA},
    {"delete template (none)", YH_CMD_DELETE_OBJECT, {ID(K_OPAQUE), YH_TYPE_TEMPLATE}, 3, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"delete public wrap key (none)", YH_CMD_DELETE_OBJECT, {ID(K_OPAQUE), YH_TYPE_PUBLIC_WRAP_KEY}, 3, 0, YH_ERR_OBJECT_NOT_FOUND},
    /* Options: force-audit 01 (1 byte), command-audit 03 (pairs); 04/05 FIPS only */
    {"get option 02", YH_CMD_GET_OPTION, {0x02}, 1, 0, YH_ERR_INVALID_DATA},
    {"get option algorithm toggle", YH_CMD_GET_OPTION, {0x04}, 1, 0, YH_ERR_INVALID_DATA},
    {"get option fips mode", YH_CMD_GET_OPTION, {0x05}, 1, 0, YH_ERR_INVALID_DATA},
    {"set force audit two bytes", YH_CMD_SET_OPTION, {0x01, 0x00, 0x02, 0x00, 0x00}, 5, 0, YH_ERR_INVALID_DATA},
    {"set force audit 3", YH_CMD_SET_OPTION, {0x01, 0x00, 0x01, 0x03}, 4, 0, YH_ERR_INVALID_DATA},
    {"set force audit empty", YH_CMD_SET_OPTION, {0x01, 0x00, 0x00}, 3, 0, YH_ERR_INVALID_DATA},
    {"set command audit odd", YH_CMD_SET_OPTION, {0x03, 0x00, 0x03, 0x47, 0x01, 0x48}, 6, 0, YH_ERR_INVALID_DATA},
    {"set command audit echo", YH_CMD_SET_OPTION, {0x03, 0x00, 0x02, 0x01, 0x01}, 5, 0, YH_ERR_INVALID_DATA},
    {"set command audit unknown command", YH_CMD_SET_OPTION, {0x03, 0x00, 0x02, 0x02, 0x01}, 5, 0, YH_ERR_INVALID_DATA},
    {"set command audit value 3", YH_CMD_SET_OPTION, {0x03, 0x00, 0x02, 0x47, 0x03}, 5, 0, YH_ERR_INVALID_DATA},
    {"set fips mode", YH_CMD_SET_OPTION, {0x05, 0x00, 0x01, 0x01}, 4, 0, YH_ERR_INVALID_DATA},
    /* Change Authentication Key: id | algorithm | key */
    {"change auth key other kind", YH_CMD_CHANGE_AUTHENTICATION_KEY, {0x00, 0x01, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION}, 3, 64, YH_ERR_INVALID_DATA},
    {"change auth key short", YH_CMD_CHANGE_AUTHENTICATION_KEY, {0x00, 0x01, YH_ALGO_AES128_YUBICO_AUTHENTICATION}, 3, 31, YH_ERR_WRONG_LENGTH},
    {"change auth key long", YH_CMD_CHANGE_AUTHENTICATION_KEY, {0x00, 0x01, YH_ALGO_AES128_YUBICO_AUTHENTICATION}, 3, 33, YH_ERR_WRONG_LENGTH},
    /* Not emulated: OTP AEAD, SSH certificates and templates, RSA-wrapped
     * export/import; session opening commands inside a session; unassigned */
    {"decrypt otp", YH_CMD_DECRYPT_OTP, {ID(1)}, 2, 32, YH_ERR_INVALID_COMMAND},
    {"create otp aead", YH_CMD_CREATE_OTP_AEAD, {ID(1)}, 2, 22, YH_ERR_INVALID_COMMAND},
    {"randomize otp aead", YH_CMD_RANDOMIZE_OTP_AEAD, {ID(1)}, 2, 0, YH_ERR_INVALID_COMMAND},
    {"rewrap otp aead", YH_CMD_REWRAP_OTP_AEAD, {ID(1), ID(2)}, 4, 36, YH_ERR_INVALID_COMMAND},
    {"put otp aead key", YH_CMD_PUT_OTP_AEAD_KEY, {0}, 0, LEN_HDR + 4 + 16, YH_ERR_INVALID_COMMAND},
    {"generate otp aead key", YH_CMD_GENERATE_OTP_AEAD_KEY, {0}, 0, LEN_HDR + 4, YH_ERR_INVALID_COMMAND},
    {"sign ssh certificate", YH_CMD_SIGN_SSH_CERTIFICATE, {ID(1), ID(2), 1}, 5, 10, YH_ERR_INVALID_COMMAND},
    {"put template", YH_CMD_PUT_TEMPLATE, {0}, 0, LEN_HDR + 4, YH_ERR_INVALID_COMMAND},
    {"get template", YH_CMD_GET_TEMPLATE, {ID(1)}, 2, 0, YH_ERR_INVALID_COMMAND},
    {"export wrapped rsa", 0x73, {0}, 0, 8, YH_ERR_INVALID_COMMAND},
    {"import wrapped rsa", 0x74, {0}, 0, 8, YH_ERR_INVALID_COMMAND},
    {"put public wrap key", 0x75, {0}, 0, LEN_HDR + 8, YH_ERR_INVALID_COMMAND},
    {"wrap key rsa", 0x76, {0}, 0, 8, YH_ERR_INVALID_COMMAND},
    {"unwrap key rsa", 0x77, {0}, 0, 8, YH_ERR_INVALID_COMMAND},
    {"create session inside", YH_CMD_CREATE_SESSION, {0x00, 0x01}, 2, 8, YH_ERR_INVALID_COMMAND},
    {"authenticate session inside", YH_CMD_AUTHENTICATE_SESSION, {0}, 0, 17, YH_ERR_INVALID_COMMAND},
    {"session message inside", YH_CMD_SESSION_MESSAGE, {0}, 0, 17, YH_ERR_INVALID_COMMAND},
    {"unassigned 02", 0x02, {0}, 0, 0, YH_ERR_INVALID_COMMAND},
    {"unassigned 78", 0x78, {0}, 0, 0, YH_ERR_INVALID_COMMAND},
};

/* Well-formed requests from a session key without capabilities (domain 1). */
static const struct row NOCAP[] = {
    {"sign pkcs1", YH_CMD_SIGN_PKCS1, {ID(K_RSA)}, 2, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"sign pss", YH_CMD_SIGN_PSS, {ID(K_RSA), YH_ALGO_MGF1_SHA256, 0x00, 0x20}, 5, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"sign eddsa", YH_CMD_SIGN_EDDSA, {ID(K_ED)}, 2, 3, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"decrypt pkcs1", YH_CMD_DECRYPT_PKCS1, {ID(K_RSA)}, 2, 256, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"decrypt oaep", YH_CMD_DECRYPT_OAEP, {ID(K_RSA), YH_ALGO_MGF1_SHA256}, 3, 256 + 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"derive ecdh", YH_CMD_DERIVE_ECDH, {ID(K_EC), 0x04}, 3, 64, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"sign hmac", YH_CMD_SIGN_HMAC, {ID(K_HMAC)}, 2, 1, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"verify hmac", YH_CMD_VERIFY_HMAC, {ID(K_HMAC)}, 2, 33, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"wrap data", YH_CMD_WRAP_DATA, {ID(K_WRAP)}, 2, 1, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"unwrap data", YH_CMD_UNWRAP_DATA, {ID(K_WRAP)}, 2, 40, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"encrypt ecb", YH_CMD_ENCRYPT_ECB, {ID(K_AES)}, 2, 16, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"decrypt ecb", YH_CMD_DECRYPT_ECB, {ID(K_AES)}, 2, 16, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"encrypt cbc", YH_CMD_ENCRYPT_CBC, {ID(K_AES)}, 2, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"decrypt cbc", YH_CMD_DECRYPT_CBC, {ID(K_AES)}, 2, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"import wrapped", YH_CMD_IMPORT_WRAPPED, {ID(K_WRAP)}, 2, 13 + 59 + 16 + 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"sign attestation", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(K_EC), 0x00, 0x00}, 4, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"change own auth key", YH_CMD_CHANGE_AUTHENTICATION_KEY, {0x00, 0x02, YH_ALGO_AES128_YUBICO_AUTHENTICATION}, 3, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete auth key", YH_CMD_DELETE_OBJECT, {0x00, 0x01, YH_TYPE_AUTHENTICATION_KEY}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete asym", YH_CMD_DELETE_OBJECT, {ID(K_EC), YH_TYPE_ASYMMETRIC_KEY}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete wrap", YH_CMD_DELETE_OBJECT, {ID(K_WRAP), YH_TYPE_WRAP_KEY}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete hmac", YH_CMD_DELETE_OBJECT, {ID(K_HMAC), YH_TYPE_HMAC_KEY}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete symmetric", YH_CMD_DELETE_OBJECT, {ID(K_AES), YH_TYPE_SYMMETRIC_KEY}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete template", YH_CMD_DELETE_OBJECT, {ID(K_AES), YH_TYPE_TEMPLATE}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete otp aead key", YH_CMD_DELETE_OBJECT, {ID(K_AES), YH_TYPE_OTP_AEAD_KEY}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete public wrap key", YH_CMD_DELETE_OBJECT, {ID(K_AES), YH_TYPE_PUBLIC_WRAP_KEY}, 3, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    /* commands that need no capability keep answering */
    {"list objects", YH_CMD_LIST_OBJECTS, {0}, 0, 0, 0},
    {"get public key", YH_CMD_GET_PUBLIC_KEY, {ID(K_EC)}, 2, 0, 0},
    {"storage info", YH_CMD_GET_STORAGE_INFO, {0}, 0, 0, 0},
    {"device info", YH_CMD_DEVICE_INFO, {0}, 0, 0, 0},
    {"echo", YH_CMD_ECHO, {0x42}, 1, 0, 0},
    {"blink", YH_CMD_BLINK_DEVICE, {0x01}, 1, 0, 0},
};

/* The session key has every capability; the object lacks the one used. */
static const struct row OBJCAP[] = {
    {"ecdsa", YH_CMD_SIGN_ECDSA, {ID(K_EC_NOCAP)}, 2, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"pkcs1 (checked before the algorithm)", YH_CMD_SIGN_PKCS1, {ID(K_EC_NOCAP)}, 2, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"eddsa", YH_CMD_SIGN_EDDSA, {ID(K_EC_NOCAP)}, 2, 3, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"ecdh", YH_CMD_DERIVE_ECDH, {ID(K_EC_NOCAP), 0x04}, 3, 64, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"decrypt pkcs1", YH_CMD_DECRYPT_PKCS1, {ID(K_EC_NOCAP)}, 2, 256, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"hmac sign", YH_CMD_SIGN_HMAC, {ID(K_HMAC_NOCAP)}, 2, 1, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"hmac verify", YH_CMD_VERIFY_HMAC, {ID(K_HMAC_NOCAP)}, 2, 33, YH_ERR_INSUFFICIENT_PERMISSIONS},
    /* python-yubihsm's test_wrap_data_many: the device answers invalid data */
    {"wrap data", YH_CMD_WRAP_DATA, {ID(K_WRAP_NOCAP)}, 2, 1, YH_ERR_INVALID_DATA},
    {"unwrap data", YH_CMD_UNWRAP_DATA, {ID(K_WRAP_NOCAP)}, 2, 40, YH_ERR_INVALID_DATA},
    {"export under wrap key", YH_CMD_EXPORT_WRAPPED, {ID(K_WRAP_NOCAP), YH_TYPE_ASYMMETRIC_KEY, ID(K_EC)}, 5, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"export not exportable", YH_CMD_EXPORT_WRAPPED, {ID(K_WRAP), YH_TYPE_ASYMMETRIC_KEY, ID(K_EC_NOCAP)}, 5, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"import under wrap key", YH_CMD_IMPORT_WRAPPED, {ID(K_WRAP_NOCAP)}, 2, 13 + 59 + 16 + 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"ecb", YH_CMD_ENCRYPT_ECB, {ID(K_AES_NOCAP)}, 2, 16, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"cbc", YH_CMD_DECRYPT_CBC, {ID(K_AES_NOCAP)}, 2, 32, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"attest by key without the capability", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(K_EC), ID(K_EC_NOCAP)}, 4, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
};

/* A session key with every capability but only domain 1; the objects are in domain 2. */
static const struct row DOMAIN[] = {
    {"ecdsa", YH_CMD_SIGN_ECDSA, {ID(D2_EC)}, 2, 32, YH_ERR_OBJECT_NOT_FOUND},
    {"public key", YH_CMD_GET_PUBLIC_KEY, {ID(D2_EC)}, 2, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"object info", YH_CMD_GET_OBJECT_INFO, {ID(D2_EC), YH_TYPE_ASYMMETRIC_KEY}, 3, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"delete", YH_CMD_DELETE_OBJECT, {ID(D2_EC), YH_TYPE_ASYMMETRIC_KEY}, 3, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"attest", YH_CMD_SIGN_ATTESTATION_CERTIFICATE, {ID(D2_EC), 0x00, 0x00}, 4, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"hmac", YH_CMD_SIGN_HMAC, {ID(D2_HMAC)}, 2, 1, YH_ERR_OBJECT_NOT_FOUND},
    {"wrap data", YH_CMD_WRAP_DATA, {ID(D2_WRAP)}, 2, 1, YH_ERR_OBJECT_NOT_FOUND},
    {"export under invisible wrap key", YH_CMD_EXPORT_WRAPPED, {ID(D2_WRAP), YH_TYPE_ASYMMETRIC_KEY, ID(K_EC)}, 5, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"export invisible object", YH_CMD_EXPORT_WRAPPED, {ID(K_WRAP), YH_TYPE_ASYMMETRIC_KEY, ID(D2_EC)}, 5, 0, YH_ERR_OBJECT_NOT_FOUND},
    {"ecb", YH_CMD_ENCRYPT_ECB, {ID(D2_AES)}, 2, 16, YH_ERR_OBJECT_NOT_FOUND},
    {"opaque", YH_CMD_GET_OPAQUE, {ID(D2_OPAQUE)}, 2, 0, YH_ERR_OBJECT_NOT_FOUND},
    /* visible objects still work from this key */
    {"ecdsa domain 1", YH_CMD_SIGN_ECDSA, {ID(K_EC)}, 2, 32, 0},
};

static int run_rows(tc_session *s, const char *table, const struct row *rows, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t buf[sizeof rows[i].req + 512];
        assert_true(rows[i].len + rows[i].fill <= sizeof buf);
        memcpy(buf, rows[i].req, rows[i].len);
        memset(buf + rows[i].len, 0x5a, rows[i].fill);
        int got = tc_cmd(s, rows[i].cmd, buf, rows[i].len + rows[i].fill, NULL);
        if (got != rows[i].want) {
            print_error("%s: %s: got 0x%x, want 0x%x\n", table, rows[i].what, got, rows[i].want);
            bad++;
        }
    }
    return bad;
}

/* ---- setup ---------------------------------------------------------------------- */
static void make(tc_session *s, uint8_t cmd, uint16_t id, uint16_t domains, uint64_t caps,
                 uint8_t algo, bool delegated, const uint8_t *key, size_t key_len)
{
    uint8_t buf[LEN_HDR + 8 + 64];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    tc_attrs a = {.id = id, .label = "fixture", .domains = domains, .caps = caps,
                  .algorithm = algo};
    tc_put_hdr(&w, &a);
    if (delegated)
        sbw_u64(&w, YH_CAPS_ALL);
    sbw_put(&w, key, key_len);
    assert_int_equal(tc_cmd(s, cmd, w.p, w.len, NULL), 0);
}

static void fixtures(tc_session *s)
{
    static const uint8_t junk_cert[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    /* Capabilities of other algorithms too, so that the algorithm check is reached. */
    uint64_t sign_all = CAP(SIGN_PKCS) | CAP(SIGN_PSS) | CAP(SIGN_ECDSA) | CAP(SIGN_EDDSA) |
                        CAP(DECRYPT_PKCS) | CAP(DECRYPT_OAEP) | CAP(DERIVE_ECDH);
    uint64_t asym = sign_all | CAP(EXPORTABLE_UNDER_WRAP) | CAP(SIGN_ATTESTATION_CERTIFICATE);
    uint8_t g = YH_CMD_GENERATE_ASYMMETRIC_KEY;
    make(s, g, K_EC, 1, asym, YH_ALGO_EC_P256, false, NULL, 0);
    make(s, g, K_EC_NOCAP, 1, 0, YH_ALGO_EC_P256, false, NULL, 0);
    make(s, g, K_ED, 1, sign_all | CAP(SIGN_ATTESTATION_CERTIFICATE), YH_ALGO_EC_ED25519, false,
         NULL, 0);
    make(s, g, K_RSA, 1, sign_all, YH_ALGO_RSA_2048, false, NULL, 0);
    make(s, g, D2_EC, 2, CAP(SIGN_ECDSA) | CAP(EXPORTABLE_UNDER_WRAP), YH_ALGO_EC_P256, false,
         NULL, 0);
    uint8_t op = YH_CMD_PUT_OPAQUE;
    make(s, op, K_OPAQUE, 1, 0, YH_ALGO_OPAQUE_DATA, false, (const uint8_t *)"x", 1);
    make(s, op, K_ED, 1, 0, YH_ALGO_OPAQUE_X509_CERTIFICATE, false, junk_cert, sizeof junk_cert);
    make(s, op, K_EC_NOCAP, 1, 0, YH_ALGO_OPAQUE_X509_CERTIFICATE, false, junk_cert,
         sizeof junk_cert);
    make(s, op, D2_OPAQUE, 2, 0, YH_ALGO_OPAQUE_DATA, false, (const uint8_t *)"x", 1);
    uint8_t h = YH_CMD_GENERATE_HMAC_KEY;
    make(s, h, K_HMAC, 1, CAP(SIGN_HMAC) | CAP(VERIFY_HMAC), YH_ALGO_HMAC_SHA256, false, NULL, 0);
    make(s, h, K_HMAC_NOCAP, 1, 0, YH_ALGO_HMAC_SHA256, false, NULL, 0);
    make(s, h, D2_HMAC, 2, CAP(SIGN_HMAC), YH_ALGO_HMAC_SHA256, false, NULL, 0);
    uint8_t wk = YH_CMD_GENERATE_WRAP_KEY;
    uint64_t wcaps = CAP(WRAP_DATA) | CAP(UNWRAP_DATA) | CAP(EXPORT_WRAPPED) | CAP(IMPORT_WRAPPED);
    make(s, wk, K_WRAP, 1, wcaps, YH_ALGO_AES128_CCM_WRAP, true, NULL, 0);
    make(s, wk, K_WRAP_NOCAP, 1, 0, YH_ALGO_AES128_CCM_WRAP, true, NULL, 0);
    make(s, wk, D2_WRAP, 2, wcaps, YH_ALGO_AES128_CCM_WRAP, true, NULL, 0);
    uint8_t sk = YH_CMD_GENERATE_SYMMETRIC_KEY;
    uint64_t aes = CAP(ENCRYPT_ECB) | CAP(DECRYPT_ECB) | CAP(ENCRYPT_CBC) | CAP(DECRYPT_CBC);
    make(s, sk, K_AES, 1, aes, YH_ALGO_AES128, false, NULL, 0);
    make(s, sk, K_AES_NOCAP, 1, 0, YH_ALGO_AES128, false, NULL, 0);
    make(s, sk, D2_AES, 2, aes, YH_ALGO_AES128, false, NULL, 0);
}

static void every_command(void **state)
{
    (void)state;
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    fixtures(&s);
    int bad = run_rows(&s, "rows", ROWS, sizeof ROWS / sizeof ROWS[0]);
    bad += run_bodies(&s, 0, false);
    bad += run_rows(&s, "objcap", OBJCAP, sizeof OBJCAP / sizeof OBJCAP[0]);

    tc_attrs none = {.id = 2, .label = "none", .domains = 1, .caps = 0};
    assert_int_equal(tc_put_auth_key(&s, &none, 0, "pw"), 0);
    tc_attrs dom1 = {.id = 3, .label = "dom1", .domains = 1, .caps = YH_CAPS_ALL};
    assert_int_equal(tc_put_auth_key(&s, &dom1, CAP(SIGN_ECDSA), "pw"), 0);

    tc_session n;
    assert_int_equal(tc_open(dev, 2, "pw", &n), 0);
    bad += run_rows(&n, "nocap", NOCAP, sizeof NOCAP / sizeof NOCAP[0]);
    bad += run_bodies(&n, 0, true);
    tc_close(&n);

    /* Public wrap keys (firmware 2.4) have a delete capability of their own. */
    tc_attrs delw = {.id = 4, .label = "delete-wrap", .domains = 1, .caps = CAP(DELETE_WRAP_KEY)};
    assert_int_equal(tc_put_auth_key(&s, &delw, 0, "pw"), 0);
    tc_session w;
    assert_int_equal(tc_open(dev, 4, "pw", &w), 0);
    assert_int_equal(tc_delete(&w, 0x0777, YH_TYPE_WRAP_KEY), YH_ERR_OBJECT_NOT_FOUND);
    assert_int_equal(tc_delete(&w, 0x0777, YH_TYPE_PUBLIC_WRAP_KEY),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    tc_close(&w);

    tc_session d;
    assert_int_equal(tc_open(dev, 3, "pw", &d), 0);
    bad += run_rows(&d, "domain", DOMAIN, sizeof DOMAIN / sizeof DOMAIN[0]);
    /* Listing shows nothing of domain 2; new objects stay within the key's
     * domains and delegated capabilities. */
    uint8_t f[] = {0x01, ID(D2_EC)};
    sb_wr r;
    sbw_init(&r, 256);
    assert_int_equal(tc_cmd(&d, YH_CMD_LIST_OBJECTS, f, sizeof f, &r), 0);
    assert_int_equal(r.len, 0);
    sbw_free(&r);
    struct body put = {"put p256", YH_CMD_PUT_ASYMMETRIC_KEY, YH_ALGO_EC_P256, 2, false, 0, 32, 0};
    uint8_t buf[LEN_HDR + 32];
    size_t len = build_body(&put, 0, CAP(SIGN_ECDSA), buf, sizeof buf);
    assert_int_equal(tc_cmd(&d, put.cmd, buf, len, NULL), YH_ERR_INSUFFICIENT_PERMISSIONS);
    put.domains = 1;
    len = build_body(&put, 0, CAP(SIGN_ECDSA) | CAP(SIGN_PKCS), buf, sizeof buf);
    assert_int_equal(tc_cmd(&d, put.cmd, buf, len, NULL), YH_ERR_INSUFFICIENT_PERMISSIONS);
    len = build_body(&put, 0, CAP(SIGN_ECDSA), buf, sizeof buf);
    assert_int_equal(tc_cmd(&d, put.cmd, buf, len, NULL), 0);
    tc_close(&d);

    tc_close(&s);
    hsm_device_free(dev);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

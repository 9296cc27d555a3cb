/* Capability and domain sets as people type them ("sign-pkcs,exportable-under-wrap",
 * "1,2,16", "all", "0x..."), in yubihsm-shell's spelling. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "signet/proto.h"

static const char *const CAP_NAMES[YH_CAP__COUNT] = {
    [YH_CAP_GET_OPAQUE] = "get-opaque",
    [YH_CAP_PUT_OPAQUE] = "put-opaque",
    [YH_CAP_PUT_AUTHENTICATION_KEY] = "put-authentication-key",
    [YH_CAP_PUT_ASYMMETRIC_KEY] = "put-asymmetric-key",
    [YH_CAP_GENERATE_ASYMMETRIC_KEY] = "generate-asymmetric-key",
    [YH_CAP_SIGN_PKCS] = "sign-pkcs",
    [YH_CAP_SIGN_PSS] = "sign-pss",
    [YH_CAP_SIGN_ECDSA] = "sign-ecdsa",
    [YH_CAP_SIGN_EDDSA] = "sign-eddsa",
    [YH_CAP_DECRYPT_PKCS] = "decrypt-pkcs",
    [YH_CAP_DECRYPT_OAEP] = "decrypt-oaep",
    [YH_CAP_DERIVE_ECDH] = "derive-ecdh",
    [YH_CAP_EXPORT_WRAPPED] = "export-wrapped",
    [YH_CAP_IMPORT_WRAPPED] = "import-wrapped",
    [YH_CAP_PUT_WRAP_KEY] = "put-wrap-key",
    [YH_CAP_GENERATE_WRAP_KEY] = "generate-wrap-key",
    [YH_CAP_EXPORTABLE_UNDER_WRAP] = "exportable-under-wrap",
    [YH_CAP_SET_OPTION] = "set-option",
    [YH_CAP_GET_OPTION] = "get-option",
    [YH_CAP_GET_PSEUDO_RANDOM] = "get-pseudo-random",
    [YH_CAP_PUT_MAC_KEY] = "put-mac-key",
    [YH_CAP_GENERATE_HMAC_KEY] = "generate-hmac-key",
    [YH_CAP_SIGN_HMAC] = "sign-hmac",
    [YH_CAP_VERIFY_HMAC] = "verify-hmac",
    [YH_CAP_GET_LOG_ENTRIES] = "get-log-entries",
    [YH_CAP_SIGN_SSH_CERTIFICATE] = "sign-ssh-certificate",
    [YH_CAP_GET_TEMPLATE] = "get-template",
    [YH_CAP_PUT_TEMPLATE] = "put-template",
    [YH_CAP_RESET_DEVICE] = "reset-device",
    [YH_CAP_DECRYPT_OTP] = "decrypt-otp",
    [YH_CAP_CREATE_OTP_AEAD] = "create-otp-aead",
    [YH_CAP_RANDOMIZE_OTP_AEAD] = "randomize-otp-aead",
    [YH_CAP_REWRAP_FROM_OTP_AEAD_KEY] = "rewrap-from-otp-aead-key",
    [YH_CAP_REWRAP_TO_OTP_AEAD_KEY] = "rewrap-to-otp-aead-key",
    [YH_CAP_SIGN_ATTESTATION_CERTIFICATE] = "sign-attestation-certificate",
    [YH_CAP_PUT_OTP_AEAD_KEY] = "put-otp-aead-key",
    [YH_CAP_GENERATE_OTP_AEAD_KEY] = "generate-otp-aead-key",
    [YH_CAP_WRAP_DATA] = "wrap-data",
    [YH_CAP_UNWRAP_DATA] = "unwrap-data",
    [YH_CAP_DELETE_OPAQUE] = "delete-opaque",
    [YH_CAP_DELETE_AUTHENTICATION_KEY] = "delete-authentication-key",
    [YH_CAP_DELETE_ASYMMETRIC_KEY] = "delete-asymmetric-key",
    [YH_CAP_DELETE_WRAP_KEY] = "delete-wrap-key",
    [YH_CAP_DELETE_HMAC_KEY] = "delete-hmac-key",
    [YH_CAP_DELETE_TEMPLATE] = "delete-template",
    [YH_CAP_DELETE_OTP_AEAD_KEY] = "delete-otp-aead-key",
    [YH_CAP_CHANGE_AUTHENTICATION_KEY] = "change-authentication-key",
    [YH_CAP_PUT_SYMMETRIC_KEY] = "put-symmetric-key",
    [YH_CAP_GENERATE_SYMMETRIC_KEY] = "generate-symmetric-key",
    [YH_CAP_DELETE_SYMMETRIC_KEY] = "delete-symmetric-key",
    [YH_CAP_DECRYPT_ECB] = "decrypt-ecb",
    [YH_CAP_ENCRYPT_ECB] = "encrypt-ecb",
    [YH_CAP_DECRYPT_CBC] = "decrypt-cbc",
    [YH_CAP_ENCRYPT_CBC] = "encrypt-cbc",
    [YH_CAP_PUT_PUBLIC_WRAP_KEY] = "put-public-wrap-key",
    [YH_CAP_DELETE_PUBLIC_WRAP_KEY] = "delete-public-wrap-key",
};

const char *yh_cap_name(unsigned bit) { return bit < YH_CAP__COUNT ? CAP_NAMES[bit] : NULL; }

/* Longest word worth quoting back in an error message. */
#define WORD_MAX 64

/* Splits s at ',' and ':' and calls fn on each word with surrounding blanks
 * removed.  An empty word (",," or a trailing comma) is an error: it is almost
 * always a typo, and silently ignoring it hides what the user meant. */
static signet_rc for_each_word(const char *s, const char *what,
                               signet_rc (*fn)(const char *w, size_t n, void *ctx), void *ctx)
{
    const char *p = s;
    for (;;) {
        size_t n = strcspn(p, ",:");
        const char *w = p;
        size_t wn = n;
        while (wn && isspace((unsigned char)*w))
            w++, wn--;
        while (wn && isspace((unsigned char)w[wn - 1]))
            wn--;
        if (wn == 0)
            return signet_fail(SIGNET_E_ARG,
                               "empty %s name in \"%.*s\": separate names with single commas",
                               what, WORD_MAX, s);
        signet_rc rc = fn(w, wn, ctx);
        if (rc != SIGNET_OK)
            return rc;
        if (p[n] == '\0')
            return SIGNET_OK;
        p += n + 1;
    }
}

static bool word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && strncasecmp(w, lit, n) == 0;
}

/* "0x" followed by 1..maxdigits hex digits, nothing else. */
static int parse_hex(const char *s, unsigned maxdigits, uint64_t *out)
{
    if (!(s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
        return 0;
    const char *d = s + 2;
    size_t n = strlen(d);
    if (n == 0 || n > maxdigits)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)d[i], x;
        if (c >= '0' && c <= '9') x = c - '0';
        else if (c >= 'a' && c <= 'f') x = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') x = c - 'A' + 10;
        else return -1;
        v = v << 4 | (uint64_t)x;
    }
    *out = v;
    return 1;
}

static signet_rc cap_word(const char *w, size_t n, void *ctx)
{
    uint64_t *caps = ctx;
    if (word_is(w, n, "all")) {
        *caps |= YH_CAPS_ALL;
        return SIGNET_OK;
    }
    if (word_is(w, n, "none"))
        return SIGNET_OK;
    for (unsigned b = 0; b < YH_CAP__COUNT; b++)
        if (word_is(w, n, CAP_NAMES[b])) {
            *caps |= YH_CAP(b);
            return SIGNET_OK;
        }
    return signet_fail(SIGNET_E_ARG,
                       "unknown capability \"%.*s\": use yubihsm-shell names such as "
                       "sign-pkcs,exportable-under-wrap, or all, none, or 0x<hex>",
                       n > WORD_MAX ? WORD_MAX : (int)n, w);
}

signet_rc yh_caps_parse(const char *s, uint64_t *caps)
{
    if (!s || !*s)
        return signet_fail(SIGNET_E_ARG, "no capabilities given: name them, or say none or all");
    uint64_t v = 0;
    int hex = parse_hex(s, 16, &v);
    if (hex < 0)
        return signet_fail(SIGNET_E_ARG,
                           "bad capability mask \"%.*s\": write 0x and 1 to 16 hex digits",
                           WORD_MAX, s);
    if (hex == 0) {
        signet_rc rc = for_each_word(s, "capability", cap_word, &v);
        if (rc != SIGNET_OK)
            return rc;
    }
    *caps = v;
    return SIGNET_OK;
}

signet_rc yh_caps_format(uint64_t caps, sb_wr *out)
{
    if (caps == 0)
        return sbw_str(out, "none");
    /* Bits signet has no name for (newer firmware) cannot be written as names;
     * the whole mask in hex still parses back to the same value. */
    if (caps & ~YH_CAPS_ALL)
        return sbw_printf(out, "0x%016llx", (unsigned long long)caps);
    bool first = true;
    for (unsigned b = 0; b < YH_CAP__COUNT; b++) {
        if (!(caps & YH_CAP(b)))
            continue;
        signet_rc rc = sbw_printf(out, "%s%s", first ? "" : ",", CAP_NAMES[b]);
        if (rc != SIGNET_OK)
            return rc;
        first = false;
    }
    return SIGNET_OK;
}

static signet_rc domain_word(const char *w, size_t n, void *ctx)
{
    uint16_t *d = ctx;
    if (word_is(w, n, "all")) {
        *d = 0xffff;
        return SIGNET_OK;
    }
    unsigned v = 0;
    bool ok = n > 0 && n <= 2;
    for (size_t i = 0; ok && i < n; i++) {
        if (!isdigit((unsigned char)w[i]))
            ok = false;
        else
            v = v * 10 + (unsigned)(w[i] - '0');
    }
    if (!ok || v < 1 || v > 16)
        return signet_fail(SIGNET_E_ARG,
                           "bad domain \"%.*s\": domains are numbers 1 to 16, e.g. 1,2,16, "
                           "or all, or 0x<hex mask>",
                           n > WORD_MAX ? WORD_MAX : (int)n, w);
    *d |= (uint16_t)(1u << (v - 1));
    return SIGNET_OK;
}

signet_rc yh_domains_parse(const char *s, uint16_t *domains)
{
    if (!s || !*s)
        return signet_fail(SIGNET_E_ARG, "no domains given: list them (1,2,16) or say all");
    uint64_t v = 0;
    int hex = parse_hex(s, 4, &v);
    if (hex < 0)
        return signet_fail(SIGNET_E_ARG,
                           "bad domain mask \"%.*s\": write 0x and 1 to 4 hex digits",
                           WORD_MAX, s);
    if (hex == 0) {
        uint16_t d = 0;
        signet_rc rc = for_each_word(s, "domain", domain_word, &d);
        if (rc != SIGNET_OK)
            return rc;
        v = d;
    }
    /* An object in no domain could never be used by any session. */
    if (v == 0)
        return signet_fail(SIGNET_E_ARG, "domain mask is empty: give at least one domain (1-16)");
    *domains = (uint16_t)v;
    return SIGNET_OK;
}

signet_rc yh_domains_format(uint16_t domains, sb_wr *out)
{
    if (domains == 0xffff)
        return sbw_str(out, "all");
    if (domains == 0)
        return sbw_str(out, "none");
    bool first = true;
    for (unsigned i = 0; i < 16; i++) {
        if (!(domains & (1u << i)))
            continue;
        signet_rc rc = sbw_printf(out, "%s%u", first ? "" : ",", i + 1);
        if (rc != SIGNET_OK)
            return rc;
        first = false;
    }
    return SIGNET_OK;
}

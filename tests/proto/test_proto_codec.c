/* The protocol module's tables and codecs: names, capability and domain sets,
 * frames, object info, log entries and their digest chain, labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/obj_mac.h>

#include "signet/proto.h"

static void algorithm_names(void **state)
{
    static const struct { uint8_t v; const char *n; } want[] = {
        {1, "rsa-pkcs1-sha1"},  {2, "rsa-pkcs1-sha256"}, {6, "rsa-pss-sha256"},
        {9, "rsa2048"},         {11, "rsa4096"},         {12, "ecp256"},
        {15, "eck256"},         {16, "ecbp256"},         {29, "aes128-ccm-wrap"},
        {30, "opaque-data"},    {31, "opaque-x509-certificate"},
        {33, "mgf1-sha256"},    {38, "aes128-yubico-authentication"},
        {42, "aes256-ccm-wrap"}, {43, "ecdsa-sha256"},   {46, "ed25519"},
        {47, "ecp224"},         {49, "ecp256-yubico-authentication"},
        {52, "aes256"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_string_equal(yh_algo_name(want[i].v), want[i].n);
        uint8_t a = 0;
        assert_int_equal(yh_algo_parse(want[i].n, &a), 0);
        assert_int_equal(a, want[i].v);
    }
    /* Every named algorithm parses back to itself. */
    for (unsigned v = 0; v < 256; v++) {
        const char *n = yh_algo_name((uint8_t)v);
        if (strcmp(n, "unknown") == 0)
            continue;
        uint8_t a;
        assert_int_equal(yh_algo_parse(n, &a), 0);
        assert_int_equal(a, v);
    }
    uint8_t a;
    assert_int_equal(yh_algo_parse("RSA2048", &a), 0);
    assert_int_equal(a, YH_ALGO_RSA_2048);
    assert_int_equal(yh_algo_parse("rsa1024", &a), -1);
    assert_int_equal(yh_algo_parse("", &a), -1);
    assert_string_equal(yh_algo_name(0), "unknown");
    assert_string_equal(yh_algo_name(200), "unknown");
}

static void type_and_command_names(void **state)
{
    static const char *types[] = {NULL, "opaque", "authentication-key", "asymmetric-key",
                                  "wrap-key", "hmac-key", "template", "otp-aead-key",
                                  "symmetric-key", "public-wrap-key"};
    for (uint8_t t = 1; t <= 9; t++) {
        assert_string_equal(yh_type_name(t), types[t]);
        uint8_t v;
        assert_int_equal(yh_type_parse(types[t], &v), 0);
        assert_int_equal(v, t);
    }
    uint8_t v;
    assert_int_equal(yh_type_parse("key", &v), -1);
    assert_string_equal(yh_type_name(0), "unknown");

    static const struct { uint8_t c; const char *n; } cmds[] = {
        {0x01, "echo"},          {0x03, "create-session"},  {0x47, "sign-pkcs1"},
        {0x55, "sign-pss"},      {0x56, "sign-ecdsa"},      {0x6a, "sign-eddsa"},
        {0x4d, "get-log-entries"}, {0x67, "set-log-index"}, {0x4a, "export-wrapped"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        assert_string_equal(yh_cmd_name(cmds[i].c), cmds[i].n);
        assert_int_equal(yh_cmd_parse(cmds[i].n, &v), 0);
        assert_int_equal(v, cmds[i].c);
    }
    /* A response code is named after its command. */
    assert_string_equal(yh_cmd_name(YH_RESPONSE(YH_CMD_SIGN_PKCS1)), "sign-pkcs1");
    assert_string_equal(yh_cmd_name(0x7f), "error");
    assert_string_equal(yh_cmd_name(0x02), "unknown");
    assert_string_equal(yh_cmd_name(0xff), "unknown");
    assert_int_equal(yh_cmd_parse("sign", &v), -1);
}

static void algorithm_properties(void **state)
{
    assert_true(yh_algo_is_rsa(YH_ALGO_RSA_3072));
    assert_false(yh_algo_is_rsa(YH_ALGO_RSA_PKCS1_SHA256));
    assert_true(yh_algo_is_ec(YH_ALGO_EC_P256));
    assert_true(yh_algo_is_ec(YH_ALGO_EC_BP512));
    assert_false(yh_algo_is_ec(YH_ALGO_EC_ED25519));
    assert_true(yh_algo_is_wrap(YH_ALGO_AES192_CCM_WRAP));
    assert_false(yh_algo_is_wrap(YH_ALGO_AES256));
    assert_int_equal(yh_algo_key_bytes(YH_ALGO_RSA_2048), 256);
    assert_int_equal(yh_algo_key_bytes(YH_ALGO_RSA_4096), 512);
    assert_int_equal(yh_algo_key_bytes(YH_ALGO_EC_P521), 66);
    assert_int_equal(yh_algo_key_bytes(YH_ALGO_EC_P224), 28);
    assert_int_equal(yh_algo_key_bytes(YH_ALGO_AES192_CCM_WRAP), 24);
    assert_int_equal(yh_algo_key_bytes(YH_ALGO_OPAQUE_DATA), 0);
    assert_int_equal(yh_algo_curve_nid(YH_ALGO_EC_P256), NID_X9_62_prime256v1);
    assert_int_equal(yh_algo_curve_nid(YH_ALGO_EC_K256), NID_secp256k1);
    assert_int_equal(yh_algo_curve_nid(YH_ALGO_EC_BP384), NID_brainpoolP384r1);
    assert_int_equal(yh_algo_curve_nid(YH_ALGO_RSA_2048), 0);

    assert_true(yh_cmd_audit_would_lock(YH_CMD_ECHO));
    assert_true(yh_cmd_audit_would_lock(YH_CMD_SESSION_MESSAGE));
    assert_true(yh_cmd_audit_would_lock(YH_CMD_DEVICE_INFO));
    assert_true(yh_cmd_audit_would_lock(YH_CMD_GET_LOG_ENTRIES));
    assert_false(yh_cmd_audit_would_lock(YH_CMD_SET_LOG_INDEX));
    assert_false(yh_cmd_audit_would_lock(YH_CMD_SIGN_PKCS1));
    assert_false(yh_cmd_audit_would_lock(YH_CMD_CREATE_SESSION));
}

/* Formats caps into a NUL-terminated string (static buffer). */
static const char *fmt_caps(uint64_t caps)
{
    static char s[2048];
    sb_wr w;
    sbw_init_fixed(&w, s, sizeof s - 1);
    assert_int_equal(yh_caps_format(caps, &w), SIGNET_OK);
    s[w.len] = '\0';
    return s;
}

static void capabilities(void **state)
{
    uint64_t c = 0;
    assert_int_equal(yh_caps_parse("sign-pkcs,export-wrapped", &c), SIGNET_OK);
    assert_true(c == (YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_EXPORT_WRAPPED)));
    assert_string_equal(fmt_caps(c), "sign-pkcs,export-wrapped");

    assert_int_equal(yh_caps_parse("exportable-under-wrap:sign-pss : sign-ecdsa", &c), SIGNET_OK);
    assert_true(c == (YH_CAP(0x10) | YH_CAP(0x06) | YH_CAP(0x07)));
    /* Bit order, not input order. */
    assert_string_equal(fmt_caps(c), "sign-pss,sign-ecdsa,exportable-under-wrap");

    assert_int_equal(yh_caps_parse("all", &c), SIGNET_OK);
    assert_true(c == YH_CAPS_ALL);
    assert_true(c == UINT64_C(0x00ffffffffffffff)); /* firmware 2.4: 56 capabilities */
    assert_int_equal(yh_caps_parse("none", &c), SIGNET_OK);
    assert_true(c == 0);
    assert_string_equal(fmt_caps(0), "none");
    assert_int_equal(yh_caps_parse("0x0000000000000021", &c), SIGNET_OK);
    assert_true(c == (YH_CAP(0) | YH_CAP(5)));
    assert_int_equal(yh_caps_parse("0xFF", &c), SIGNET_OK);
    assert_true(c == 0xff);

    /* Every single capability round-trips by name. */
    for (unsigned b = 0; b < YH_CAP__COUNT; b++) {
        const char *n = yh_cap_name(b);
        assert_non_null(n);
        assert_int_equal(yh_caps_parse(n, &c), SIGNET_OK);
        assert_true(c == YH_CAP(b));
        assert_string_equal(fmt_caps(c), n);
    }
    assert_null(yh_cap_name(YH_CAP__COUNT));
    assert_string_equal(yh_cap_name(0x2e), "change-authentication-key");
    assert_string_equal(yh_cap_name(0x14), "put-mac-key");

    /* all -> names -> the same mask. */
    uint64_t back = 0;
    assert_int_equal(yh_caps_parse(fmt_caps(YH_CAPS_ALL), &back), SIGNET_OK);
    assert_true(back == YH_CAPS_ALL);
    /* Bits without a name come out in hex, which parses back. */
    uint64_t odd = YH_CAP(63) | YH_CAP(1);
    assert_string_equal(fmt_caps(odd), "0x8000000000000002");
    assert_int_equal(yh_caps_parse(fmt_caps(odd), &back), SIGNET_OK);
    assert_true(back == odd);

    /* Errors name the bad word and leave the output alone. */
    c = 42;
    assert_int_equal(yh_caps_parse("sign-pkcs,sing-pss", &c), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "\"sing-pss\""));
    assert_true(c == 42);
    assert_int_equal(yh_caps_parse("sign-pkcs,,sign-pss", &c), SIGNET_E_ARG);
    assert_int_equal(yh_caps_parse("sign-pkcs,", &c), SIGNET_E_ARG);
    assert_int_equal(yh_caps_parse("", &c), SIGNET_E_ARG);
    assert_int_equal(yh_caps_parse("0x", &c), SIGNET_E_ARG);
    assert_int_equal(yh_caps_parse("0x12345678123456781", &c), SIGNET_E_ARG);
    assert_int_equal(yh_caps_parse("0xzz", &c), SIGNET_E_ARG);
    assert_int_equal(yh_caps_parse(NULL, &c), SIGNET_E_ARG);
    assert_true(c == 42);
}

static const char *fmt_domains(uint16_t d)
{
    static char s[128];
    sb_wr w;
    sbw_init_fixed(&w, s, sizeof s - 1);
    assert_int_equal(yh_domains_format(d, &w), SIGNET_OK);
    s[w.len] = '\0';
    return s;
}

static void domains(void **state)
{
    uint16_t d = 0;
    assert_int_equal(yh_domains_parse("1,2,16", &d), SIGNET_OK);
    assert_int_equal(d, 0x8003);
    assert_string_equal(fmt_domains(d), "1,2,16");
    assert_int_equal(yh_domains_parse("5", &d), SIGNET_OK);
    assert_int_equal(d, 0x0010);
    assert_int_equal(yh_domains_parse("3:1", &d), SIGNET_OK);
    assert_int_equal(d, 0x0005);
    assert_int_equal(yh_domains_parse("all", &d), SIGNET_OK);
    assert_int_equal(d, 0xffff);
    assert_string_equal(fmt_domains(0xffff), "all");
    assert_int_equal(yh_domains_parse("0x00ff", &d), SIGNET_OK);
    assert_int_equal(d, 0x00ff);
    assert_string_equal(fmt_domains(0x00ff), "1,2,3,4,5,6,7,8");
    for (unsigned i = 1; i <= 16; i++) {
        char s[4];
        snprintf(s, sizeof s, "%u", i);
        assert_int_equal(yh_domains_parse(s, &d), SIGNET_OK);
        assert_int_equal(d, 1u << (i - 1));
        assert_string_equal(fmt_domains(d), s);
    }
    d = 7;
    assert_int_equal(yh_domains_parse("0", &d), SIGNET_E_ARG);
    assert_int_equal(yh_domains_parse("17", &d), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "\"17\""));
    assert_int_equal(yh_domains_parse("1,x", &d), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "\"x\""));
    assert_int_equal(yh_domains_parse("-1", &d), SIGNET_E_ARG);
    assert_int_equal(yh_domains_parse("", &d), SIGNET_E_ARG);
    assert_int_equal(yh_domains_parse("0x0", &d), SIGNET_E_ARG);
    assert_int_equal(yh_domains_parse("0x10000", &d), SIGNET_E_ARG);
    assert_int_equal(d, 7);
}

static void frames(void **state)
{
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    assert_int_equal(yh_frame_encode(&w, YH_CMD_ECHO, (const uint8_t *)"abc", 3), SIGNET_OK);
    assert_int_equal(w.len, 6);
    assert_memory_equal(w.p, "\x01\x00\x03" "abc", 6);

    uint8_t cmd;
    const uint8_t *data;
    size_t dlen;
    assert_int_equal(yh_frame_decode(w.p, w.len, &cmd, &data, &dlen), SIGNET_OK);
    assert_int_equal(cmd, 1);
    assert_int_equal(dlen, 3);
    assert_memory_equal(data, "abc", 3);
    /* Truncated, padded, short. */
    assert_int_equal(yh_frame_decode(w.p, 5, &cmd, &data, &dlen), SIGNET_E_PARSE);
    assert_int_equal(yh_frame_decode((const uint8_t *)"\x01\x00\x03" "abcd", 7, &cmd, &data,
                                     &dlen),
                     SIGNET_E_PARSE);
    assert_int_equal(yh_frame_decode(w.p, 2, &cmd, &data, &dlen), SIGNET_E_PARSE);
    assert_int_equal(yh_frame_decode(w.p, 0, &cmd, &data, &dlen), SIGNET_E_PARSE);
    assert_int_equal(yh_frame_decode(NULL, 3, &cmd, &data, &dlen), SIGNET_E_PARSE);

    /* Empty data. */
    sbw_reset(&w);
    assert_int_equal(yh_frame_encode(&w, YH_CMD_DEVICE_INFO, NULL, 0), SIGNET_OK);
    assert_int_equal(yh_frame_decode(w.p, w.len, &cmd, &data, &dlen), SIGNET_OK);
    assert_int_equal(dlen, 0);
    assert_int_equal(cmd, YH_CMD_DEVICE_INFO);

    /* Error frame. */
    sbw_reset(&w);
    assert_int_equal(yh_frame_error(&w, YH_ERR_LOG_FULL), SIGNET_OK);
    assert_int_equal(w.len, 4);
    assert_memory_equal(w.p, "\x7f\x00\x01\x0a", 4);

    /* Size limits. */
    static uint8_t big[YH_MAX_FRAME + 8];
    sbw_reset(&w);
    assert_int_equal(yh_frame_encode(&w, YH_CMD_ECHO, big, YH_MAX_DATA), SIGNET_OK);
    assert_int_equal(w.len, YH_MAX_MSG);
    assert_int_equal(yh_frame_decode(w.p, w.len, &cmd, &data, &dlen), SIGNET_OK);
    assert_int_equal(dlen, YH_MAX_DATA);
    sbw_reset(&w);
    assert_int_equal(yh_frame_encode(&w, YH_CMD_ECHO, big, YH_MAX_DATA + 1), SIGNET_E_ARG);
    assert_int_equal(w.len, 0);
    /* A frame longer than the maximum is refused whatever its length field says. */
    big[0] = 1;
    big[1] = (uint8_t)((YH_MAX_FRAME - 2) >> 8);
    big[2] = (uint8_t)(YH_MAX_FRAME - 2);
    assert_int_equal(yh_frame_decode(big, YH_MAX_FRAME + 1, &cmd, &data, &dlen), SIGNET_E_PARSE);
    sbw_free(&w);
}

static void object_info(void **state)
{
    yh_object_info oi = {
        .capabilities = YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP),
        .id = 0x1234,
        .len = 896,
        .domains = 0x0003,
        .type = YH_TYPE_ASYMMETRIC_KEY,
        .algorithm = YH_ALGO_RSA_2048,
        .sequence = 7,
        .origin = YH_ORIGIN_IMPORTED | YH_ORIGIN_IMPORTED_WRAPPED,
        .label = "platform",
        .delegated_capabilities = 0,
    };
    sb_wr w;
    sbw_init(&w, 256);
    assert_int_equal(yh_object_info_encode(&oi, &w), SIGNET_OK);
    assert_int_equal(w.len, YH_OBJECT_INFO_LEN);
    /* Field positions as the device sends them. */
    assert_memory_equal(w.p, "\x00\x00\x00\x00\x00\x01\x00\x20", 8);
    assert_memory_equal(w.p + 8, "\x12\x34\x03\x80\x00\x03\x03\x09\x07\x12", 10);
    assert_memory_equal(w.p + 18, "platform\0", 9);
    for (int i = 26; i < 58; i++)
        assert_int_equal(w.p[i], 0);

    sb_rd r;
    sbr_init(&r, w.p, w.len);
    yh_object_info back;
    assert_int_equal(yh_object_info_decode(&r, &back), SIGNET_OK);
    assert_int_equal(sbr_left(&r), 0);
    assert_true(back.capabilities == oi.capabilities);
    assert_int_equal(back.id, oi.id);
    assert_int_equal(back.len, oi.len);
    assert_int_equal(back.domains, oi.domains);
    assert_int_equal(back.type, oi.type);
    assert_int_equal(back.algorithm, oi.algorithm);
    assert_int_equal(back.sequence, oi.sequence);
    assert_int_equal(back.origin, oi.origin);
    assert_string_equal(back.label, "platform");
    assert_true(back.delegated_capabilities == 0);

    /* A full 40-byte label and a 65-byte truncated input. */
    memset(oi.label, 'L', YH_LABEL_LEN);
    oi.label[YH_LABEL_LEN] = '\0';
    oi.delegated_capabilities = YH_CAPS_ALL;
    sbw_reset(&w);
    assert_int_equal(yh_object_info_encode(&oi, &w), SIGNET_OK);
    sbr_init(&r, w.p, w.len);
    assert_int_equal(yh_object_info_decode(&r, &back), SIGNET_OK);
    assert_int_equal(strlen(back.label), YH_LABEL_LEN);
    assert_true(back.delegated_capabilities == YH_CAPS_ALL);
    sbr_init(&r, w.p, YH_OBJECT_INFO_LEN - 1);
    assert_int_equal(yh_object_info_decode(&r, &back), SIGNET_E_PARSE);
    assert_int_equal(r.pos, 0);
    sbw_free(&w);
}

static void labels(void **state)
{
    uint8_t raw[YH_LABEL_LEN];
    char s[YH_LABEL_LEN + 1];
    yh_label_encode("abc", raw);
    assert_memory_equal(raw, "abc\0\0\0", 6);
    assert_int_equal(raw[39], 0);
    yh_label_decode(raw, s);
    assert_string_equal(s, "abc");
    yh_label_encode("0123456789012345678901234567890123456789EXTRA", raw);
    assert_memory_equal(raw, "0123456789012345678901234567890123456789", 40);
    yh_label_decode(raw, s);
    assert_int_equal(strlen(s), 40);
    yh_label_encode(NULL, raw);
    for (int i = 0; i < YH_LABEL_LEN; i++)
        assert_int_equal(raw[i], 0);
}

static void log_entries(void **state)
{
    yh_log_entry e = {
        .number = 0x0102, .command = 0x47, .length = 0x0304, .session_key = 0x0506,
        .target_key = 0x0708, .second_key = 0x090a, .result = 0xc7, .systick = 0x0b0c0d0e,
    };
    memcpy(e.digest, "\xf0\xf1\xf2\xf3\xf4\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff", 16);
    uint8_t raw[YH_LOG_ENTRY_LEN];
    yh_log_entry_encode(&e, raw);
    assert_memory_equal(raw, "\x01\x02\x47\x03\x04\x05\x06\x07\x08\x09\x0a\xc7\x0b\x0c\x0d\x0e", 16);
    assert_memory_equal(raw + 16, e.digest, 16);
    yh_log_entry back;
    yh_log_entry_decode(raw, &back);
    assert_memory_equal(&back.digest, &e.digest, 16);
    assert_int_equal(back.number, e.number);
    assert_int_equal(back.command, e.command);
    assert_int_equal(back.length, e.length);
    assert_int_equal(back.session_key, e.session_key);
    assert_int_equal(back.target_key, e.target_key);
    assert_int_equal(back.second_key, e.second_key);
    assert_int_equal(back.result, e.result);
    assert_int_equal(back.systick, e.systick);
}

static void log_chain(void **state)
{
    /* Entry 1 after reset is all 0xff and starts the chain. */
    yh_log_entry chain[4];
    uint8_t raw[YH_LOG_ENTRY_LEN];
    memset(raw, 0xff, sizeof raw);
    raw[0] = 0, raw[1] = 1;
    yh_log_entry_decode(raw, &chain[0]);
    for (int i = 1; i < 4; i++) {
        yh_log_entry *e = &chain[i];
        memset(e, 0, sizeof *e);
        e->number = (uint16_t)(i + 1);
        e->command = i == 1 ? 0 : YH_RESPONSE(YH_CMD_SIGN_PKCS1);
        e->length = (uint16_t)(10 * i);
        e->session_key = 1;
        e->target_key = (uint16_t)(0x100 + i);
        e->result = i == 1 ? 0 : YH_RESPONSE(YH_CMD_SIGN_PKCS1);
        e->systick = (uint32_t)(1000 * i);
        yh_log_digest(e, chain[i - 1].digest, e->digest);
    }
    /* The digest is SHA-256(body | previous)[0:16]: check entry 2 by hand. */
    uint8_t buf[32], md[32];
    unsigned int mdlen;
    yh_log_entry_encode(&chain[1], raw);
    memcpy(buf, raw, 16);
    memcpy(buf + 16, chain[0].digest, 16);
    assert_int_equal(EVP_Digest(buf, sizeof buf, md, &mdlen, EVP_sha256(), NULL), 1);
    assert_memory_equal(md, chain[1].digest, 16);
    for (int i = 1; i < 4; i++)
        assert_true(yh_log_entry_verify(&chain[i], chain[i - 1].digest));
    /* Digests differ from one another (the chain moves). */
    assert_memory_not_equal(chain[1].digest, chain[2].digest, 16);

    /* Flip one bit anywhere in an entry's body: its own check fails. */
    yh_log_entry bad = chain[2];
    bad.systick ^= 1;
    assert_false(yh_log_entry_verify(&bad, chain[1].digest));
    bad = chain[2];
    bad.target_key ^= 0x8000;
    assert_false(yh_log_entry_verify(&bad, chain[1].digest));
    /* Flip a bit of a digest: that entry and the next one fail. */
    bad = chain[2];
    bad.digest[5] ^= 0x10;
    assert_false(yh_log_entry_verify(&bad, chain[1].digest));
    assert_false(yh_log_entry_verify(&chain[3], bad.digest));
    /* Dropping an entry breaks the chain. */
    assert_false(yh_log_entry_verify(&chain[3], chain[1].digest));
}

/* The plaintext of an opened wrap blob: header fields in order, the body after it,
 * and every truncation or body-length mismatch refused. */
static void wrapped_plaintext(void **state)
{
    (void)state;
    uint8_t pt[59 + 3];
    size_t n = 0;
    pt[n++] = YH_ALGO_AES256_CCM_WRAP;
    for (int i = 0; i < 8; i++)
        pt[n++] = (uint8_t)(i == 7 ? 0x80 : 0); /* capabilities */
    pt[n++] = 0x01, pt[n++] = 0x02;             /* id */
    pt[n++] = 0x00, pt[n++] = 0x03;             /* body length */
    pt[n++] = 0x00, pt[n++] = 0x05;             /* domains */
    pt[n++] = YH_TYPE_ASYMMETRIC_KEY;
    pt[n++] = YH_ALGO_EC_ED25519;
    pt[n++] = 7;                                /* sequence */
    pt[n++] = 1;                                /* origin */
    memset(pt + n, 'k', YH_LABEL_LEN);
    n += YH_LABEL_LEN;
    pt[n++] = 0xaa, pt[n++] = 0xbb, pt[n++] = 0xcc;
    assert_int_equal(n, sizeof pt);
    yh_wrapped w;
    assert_int_equal(yh_wrapped_parse(pt, n, &w), SIGNET_OK);
    assert_int_equal(w.capabilities, 0x80);
    assert_int_equal(w.id, 0x0102);
    assert_int_equal(w.domains, 5);
    assert_int_equal(w.type, YH_TYPE_ASYMMETRIC_KEY);
    assert_int_equal(w.algorithm, YH_ALGO_EC_ED25519);
    assert_int_equal(w.sequence, 7);
    assert_int_equal(w.body_len, 3);
    assert_memory_equal(w.body, pt + n - 3, 3);
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(yh_wrapped_parse(pt, cut, &w), SIGNET_E_PARSE);
    pt[12] = 0x04; /* the header claims more body than follows */
    assert_int_equal(yh_wrapped_parse(pt, n, &w), SIGNET_E_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(algorithm_names),  cmocka_unit_test(type_and_command_names),
        cmocka_unit_test(algorithm_properties), cmocka_unit_test(capabilities),
        cmocka_unit_test(domains),          cmocka_unit_test(frames),
        cmocka_unit_test(object_info),      cmocka_unit_test(labels),
        cmocka_unit_test(log_entries),      cmocka_unit_test(log_chain),
        cmocka_unit_test(wrapped_plaintext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

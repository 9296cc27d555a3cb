/* The device core's plain commands and sessions: device info, echo, create and
 * authenticate, wrong password, 17th session, idle expiry, tampered MAC,
 * close, unknown commands, malformed frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "dev_client.h"

static void device_info(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    assert_non_null(dev);
    sb_wr r;
    sbw_init(&r, 512);
    assert_int_equal(tc_plain(dev, YH_CMD_DEVICE_INFO, NULL, 0, &r), 0);
    assert_true(r.len > 9);
    assert_memory_equal(r.p, "\x02\x04\x00", 3);
    assert_int_equal(be32(r.p + 3), 7654321);
    assert_int_equal(r.p[7], 62);
    assert_int_equal(r.p[8], 2); /* factory log: the 0xff entry and the boot */
    assert_non_null(memchr(r.p + 9, YH_ALGO_RSA_2048, r.len - 9));
    assert_non_null(memchr(r.p + 9, YH_ALGO_EC_ED25519, r.len - 9));
    assert_non_null(memchr(r.p + 9, YH_ALGO_AES256_CCM_WRAP, r.len - 9));
    assert_int_equal(hsm_device_serial(dev), 7654321);
    assert_string_equal(hsm_device_version(dev), "2.4.0");

    /* From 2.4: argument 01 asks for the part number, a text. */
    sbw_reset(&r);
    uint8_t one = 1, two = 2;
    assert_int_equal(tc_plain(dev, YH_CMD_DEVICE_INFO, &one, 1, &r), 0);
    /* yubihsm-shell's yh_util_get_partnumber refuses fewer than 12 bytes */
    assert_true(r.len >= 12);
    for (size_t i = 0; i < r.len; i++)
        assert_true(r.p[i] >= 0x20 && r.p[i] < 0x7f);
    assert_int_equal(tc_plain(dev, YH_CMD_DEVICE_INFO, &two, 1, &r), YH_ERR_INVALID_DATA);
    sbw_free(&r);
    hsm_device_free(dev);
}

static void plain_commands(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(tc_plain(dev, YH_CMD_ECHO, (const uint8_t *)"hello", 5, &r), 0);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.p, "hello", 5);
    /* Commands that need a session, and unknown ones: invalid command. */
    assert_int_equal(tc_plain(dev, YH_CMD_GET_STORAGE_INFO, NULL, 0, NULL),
                     YH_ERR_INVALID_COMMAND);
    assert_int_equal(tc_plain(dev, 0x99, NULL, 0, NULL), YH_ERR_INVALID_COMMAND);

    /* Malformed frames get an error frame, never a crash. */
    uint8_t out[YH_MAX_FRAME];
    size_t n;
    const uint8_t short_frame[] = {0x01, 0x00};
    tc_raw(dev, short_frame, sizeof short_frame, out, &n);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], YH_CMD_ERROR);
    const uint8_t bad_len[] = {0x01, 0x00, 0x05, 'a'};
    tc_raw(dev, bad_len, sizeof bad_len, out, &n);
    assert_int_equal(n, 4);
    assert_int_equal(out[3], YH_ERR_WRONG_LENGTH);
    /* A session message for a session that does not exist. */
    uint8_t msg[3 + 1 + 16 + 8] = {0x05, 0x00, 25, 3};
    tc_raw(dev, msg, sizeof msg, out, &n);
    assert_int_equal(n, 4);
    assert_int_equal(out[3], YH_ERR_INVALID_SESSION);
    sbw_free(&r);
    hsm_device_free(dev);
}

static void factory_session(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(tc_cmd(&s, YH_CMD_ECHO, (const uint8_t *)"abc", 3, &r), 0);
    assert_memory_equal(r.p, "abc", 3);
    sbw_reset(&r);
    /* Device info works inside a session as well. */
    assert_int_equal(tc_cmd(&s, YH_CMD_DEVICE_INFO, NULL, 0, &r), 0);
    assert_memory_equal(r.p, "\x02\x04\x00", 3);
    /* Not emulated (OTP, SSH, RSA-wrapped export): a clean "invalid command"
     * inside the session. */
    assert_int_equal(tc_cmd(&s, YH_CMD_DECRYPT_OTP, (const uint8_t *)"\x00\x01x", 3, NULL),
                     YH_ERR_INVALID_COMMAND);
    assert_int_equal(tc_cmd(&s, YH_CMD_SIGN_SSH_CERTIFICATE, (const uint8_t *)"\x00\x01x", 3,
                            NULL),
                     YH_ERR_INVALID_COMMAND);
    assert_int_equal(tc_cmd(&s, 0x75, (const uint8_t *)"\x00\x01x", 3, NULL),
                     YH_ERR_INVALID_COMMAND);
    assert_int_equal(tc_cmd(&s, 0x7e, NULL, 0, NULL), YH_ERR_INVALID_COMMAND);
    /* The session still works after errors. */
    sbw_reset(&r);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_STORAGE_INFO, NULL, 0, &r), 0);
    assert_int_equal(r.len, 10);
    assert_int_equal(be16(r.p), 256);
    assert_int_equal(be16(r.p + 2), 255);
    assert_int_equal(be16(r.p + 4), 1024);
    assert_int_equal(be16(r.p + 6), 1023);
    assert_int_equal(be16(r.p + 8), 126);

    /* The factory key: id 1, all capabilities and domains. */
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 1, YH_TYPE_AUTHENTICATION_KEY, &oi), 0);
    assert_int_equal(oi.capabilities, YH_CAPS_ALL);
    assert_int_equal(oi.delegated_capabilities, YH_CAPS_ALL);
    assert_int_equal(oi.domains, 0xffff);
    assert_int_equal(oi.algorithm, YH_ALGO_AES128_YUBICO_AUTHENTICATION);
    assert_int_equal(oi.len, 40);
    assert_string_equal(oi.label, "DEFAULT AUTHKEY CHANGE THIS ASAP");

    /* Close: the session is gone. */
    assert_int_equal(tc_cmd(&s, YH_CMD_CLOSE_SESSION, NULL, 0, NULL), 0);
    assert_int_equal(tc_cmd(&s, YH_CMD_ECHO, (const uint8_t *)"x", 1, NULL),
                     TC_OUTER | YH_ERR_INVALID_SESSION);
    sbw_free(&r);
    hsm_device_free(dev);
}

static void wrong_password_and_unknown_key(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "Password", &s), TC_OUTER | YH_ERR_AUTHENTICATION_FAILED);
    assert_int_equal(tc_open(dev, 2, "password", &s), TC_OUTER | YH_ERR_OBJECT_NOT_FOUND);
    /* Failed attempts give their slot back: 16 good sessions still fit. */
    tc_session all[16];
    for (int i = 0; i < 16; i++)
        assert_int_equal(tc_open(dev, 1, "password", &all[i]), 0);
    hsm_device_free(dev);
}

static void sessions_full_and_expiry(void **state)
{
    tc_clock clock = {.ms = 1000};
    hsm_device *dev = tc_device(NULL, &clock);
    tc_session s[17];
    for (int i = 0; i < 16; i++) {
        assert_int_equal(tc_open(dev, 1, "password", &s[i]), 0);
        assert_int_equal(s[i].ch.session_id, i);
    }
    assert_int_equal(tc_open(dev, 1, "password", &s[16]), TC_OUTER | YH_ERR_SESSIONS_FULL);

    /* 29 s idle: still alive.  Session 0 is used at 29 s, the rest not. */
    clock.ms += 29000;
    assert_int_equal(tc_cmd(&s[0], YH_CMD_ECHO, (const uint8_t *)"k", 1, NULL), 0);
    assert_int_equal(tc_open(dev, 1, "password", &s[16]), TC_OUTER | YH_ERR_SESSIONS_FULL);
    /* 30 s after their last command the others expire; session 0 does not. */
    clock.ms += 1000;
    assert_int_equal(tc_cmd(&s[1], YH_CMD_ECHO, (const uint8_t *)"k", 1, NULL),
                     TC_OUTER | YH_ERR_INVALID_SESSION);
    assert_int_equal(tc_cmd(&s[0], YH_CMD_ECHO, (const uint8_t *)"k", 1, NULL), 0);
    assert_int_equal(tc_open(dev, 1, "password", &s[16]), 0);
    assert_int_equal(s[16].ch.session_id, 1);
    hsm_device_free(dev);
}

static void tampered_mac(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    uint8_t inner[] = {YH_CMD_ECHO, 0x00, 0x01, 'z'};
    uint8_t f[128], out[YH_MAX_FRAME];
    sb_wr w;
    sbw_init_fixed(&w, f, sizeof f);
    assert_int_equal(yh_channel_wrap_command(&s.ch, inner, sizeof inner, &w), SIGNET_OK);
    f[w.len - 1] ^= 1; /* flip a bit of the C-MAC */
    size_t n;
    tc_raw(dev, f, w.len, out, &n);
    assert_int_equal(n, 4);
    assert_int_equal(out[0], YH_CMD_ERROR);
    assert_int_equal(out[3], YH_ERR_SESSION_FAILED);
    /* The session was destroyed: even a correct message is refused now. */
    tc_session again = s;
    assert_int_equal(tc_cmd(&again, YH_CMD_ECHO, (const uint8_t *)"k", 1, NULL),
                     TC_OUTER | YH_ERR_INVALID_SESSION);

    /* A tampered ciphertext is caught by the same MAC. */
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    sbw_init_fixed(&w, f, sizeof f);
    assert_int_equal(yh_channel_wrap_command(&s.ch, inner, sizeof inner, &w), SIGNET_OK);
    f[5] ^= 0x80;
    tc_raw(dev, f, w.len, out, &n);
    assert_int_equal(out[3], YH_ERR_SESSION_FAILED);

    /* A replayed authenticate on an authenticated session is refused. */
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    uint8_t auth[3 + 17] = {0x04, 0x00, 17, s.ch.session_id};
    tc_raw(dev, auth, sizeof auth, out, &n);
    assert_int_equal(out[3], YH_ERR_INVALID_SESSION);
    hsm_device_free(dev);
}

static void open_options(void **state)
{
    hsm_device *dev = NULL;
    hsm_device_opts o = {.latency_profile = "fast-please"};
    assert_int_equal(hsm_device_open(&o, &dev), SIGNET_E_ARG);
    assert_null(dev);
    assert_non_null(strstr(signet_errmsg(), "yubihsm2"));
    o.latency_profile = "none";
    assert_int_equal(hsm_device_open(&o, &dev), SIGNET_OK);
    assert_int_equal(hsm_device_serial(dev), 1234567); /* the default serial */
    hsm_device_free(dev);
    /* a state file in a directory that does not exist: a clear refusal */
    o.state_path = "/nonexistent-signet-dir/state";
    assert_int_not_equal(hsm_device_open(&o, &dev), SIGNET_OK);
    assert_null(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_info),
        cmocka_unit_test(plain_commands),
        cmocka_unit_test(factory_session),
        cmocka_unit_test(wrong_password_and_unknown_key),
        cmocka_unit_test(sessions_full_and_expiry),
        cmocka_unit_test(tampered_mac),
        cmocka_unit_test(open_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

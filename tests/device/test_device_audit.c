/* The device audit log, options, reset and persistence: factory log, command
 * audit, force-audit with a full log (refusal, drain, recovery, unlogged
 * counters), fixed options, reset, restart from the state file, corrupt file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev_client.h"

#define CAP(x) YH_CAP(YH_CAP_##x)

typedef struct {
    uint16_t boots, auths;
    size_t n;
    yh_log_entry e[YH_LOG_CAPACITY];
} log_view;

static void get_log(tc_session *s, log_view *v)
{
    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(tc_cmd(s, YH_CMD_GET_LOG_ENTRIES, NULL, 0, &r), 0);
    assert_true(r.len >= 5);
    v->boots = be16(r.p);
    v->auths = be16(r.p + 2);
    v->n = r.p[4];
    assert_int_equal(r.len, 5 + 32 * v->n);
    for (size_t i = 0; i < v->n; i++)
        yh_log_entry_decode(r.p + 5 + 32 * i, &v->e[i]);
    /* every entry chains to the one before */
    for (size_t i = 1; i < v->n; i++) {
        assert_int_equal(v->e[i].number, (uint16_t)(v->e[i - 1].number + 1));
        assert_true(yh_log_entry_verify(&v->e[i], v->e[i - 1].digest));
    }
    sbw_free(&r);
}

static int set_option(tc_session *s, uint8_t opt, const uint8_t *v, size_t n)
{
    uint8_t buf[256];
    buf[0] = opt;
    put_be16(buf + 1, (uint16_t)n);
    memcpy(buf + 3, v, n);
    return tc_cmd(s, YH_CMD_SET_OPTION, buf, 3 + n, NULL);
}

static int set_log_index(tc_session *s, uint16_t idx)
{
    uint8_t b[2];
    put_be16(b, idx);
    return tc_cmd(s, YH_CMD_SET_LOG_INDEX, b, 2, NULL);
}

static int rnd(tc_session *s)
{
    return tc_cmd(s, YH_CMD_GET_PSEUDO_RANDOM, (const uint8_t *)"\x00\x08", 2, NULL);
}

static void check_factory_log(tc_session *s)
{
    log_view v;
    get_log(s, &v);
    assert_int_equal(v.boots, 0);
    assert_int_equal(v.auths, 0);
    assert_int_equal(v.n, 2);
    assert_int_equal(v.e[0].number, 1);
    assert_int_equal(v.e[0].command, 0xff);
    assert_int_equal(v.e[0].length, 0xffff);
    assert_int_equal(v.e[0].session_key, 0xffff);
    assert_int_equal(v.e[0].target_key, 0xffff);
    assert_int_equal(v.e[0].second_key, 0xffff);
    assert_int_equal(v.e[0].result, 0xff);
    assert_int_equal(v.e[0].systick, 0xffffffffu);
    assert_int_equal(v.e[1].number, 2);
    assert_int_equal(v.e[1].command, 0);
    assert_int_equal(v.e[1].length, 0);
    assert_int_equal(v.e[1].session_key, 0xffff);
    assert_int_equal(v.e[1].target_key, 0);
    assert_int_equal(v.e[1].second_key, 0);
    assert_int_equal(v.e[1].result, 0);
    assert_int_equal(v.e[1].systick, 0);
}

static void factory_log_and_command_audit(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    /* firmware 2.3.1+: nothing audited by default, session opening included */
    check_factory_log(&s);

    /* audit delete-object; refuse the commands that could lock the device */
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x58\x01", 2), 0);
    static const uint8_t lockers[] = {0x01, 0x05, 0x06, 0x4d};
    for (size_t i = 0; i < sizeof lockers; i++) {
        uint8_t pair[2] = {lockers[i], 1};
        assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, pair, 2), YH_ERR_INVALID_DATA);
    }
    /* a refused pair leaves the others unchanged (all or nothing) */
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT,
                                (const uint8_t *)"\x47\x01\x4d\x01", 4), YH_ERR_INVALID_DATA);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x58\x03", 2),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x58", 1),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(set_option(&s, 0x09, (const uint8_t *)"\x00", 1), YH_ERR_INVALID_DATA);

    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPTION, (const uint8_t *)"\x03", 1, &r), 0);
    assert_int_equal(r.len % 2, 0);
    bool seen58 = false, seen47 = false;
    for (size_t i = 0; i < r.len; i += 2) {
        if (r.p[i] == 0x58) { seen58 = true; assert_int_equal(r.p[i + 1], 1); }
        if (r.p[i] == 0x47) { seen47 = true; assert_int_equal(r.p[i + 1], 0); }
    }
    assert_true(seen58 && seen47);
    sbw_reset(&r);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPTION, (const uint8_t *)"\x01", 1, &r), 0);
    assert_int_equal(r.len, 1);
    assert_int_equal(r.p[0], 0);

    tc_attrs a = {.id = 0x0042, .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"x", 1, &id), 0); /* not audited */
    assert_int_equal(tc_delete(&s, 0x0042, YH_TYPE_OPAQUE), 0);
    assert_int_equal(tc_delete(&s, 0x0042, YH_TYPE_OPAQUE), YH_ERR_OBJECT_NOT_FOUND);
    log_view v;
    get_log(&s, &v);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.e[2].command, YH_CMD_DELETE_OBJECT);
    assert_int_equal(v.e[2].length, 3);
    assert_int_equal(v.e[2].session_key, 1);
    assert_int_equal(v.e[2].target_key, 0x0042);
    assert_int_equal(v.e[2].second_key, 0xffff);
    assert_int_equal(v.e[2].result, 0xd8);
    assert_int_equal(v.e[3].result, YH_CMD_ERROR); /* the failed second delete */
    assert_true(yh_log_entry_verify(&v.e[1], v.e[0].digest));

    /* auditing session creation logs the next session */
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x03\x01\x04\x01",
                                4), 0);
    tc_session s2;
    assert_int_equal(tc_open(dev, 1, "password", &s2), 0);
    get_log(&s, &v);
    assert_int_equal(v.n, 6);
    assert_int_equal(v.e[4].command, YH_CMD_CREATE_SESSION);
    assert_int_equal(v.e[4].length, 10);
    assert_int_equal(v.e[4].session_key, 0xffff);
    assert_int_equal(v.e[4].target_key, 1);
    assert_int_equal(v.e[4].result, 0x83);
    assert_int_equal(v.e[5].command, YH_CMD_AUTHENTICATE_SESSION);
    assert_int_equal(v.e[5].length, 17);
    assert_int_equal(v.e[5].result, 0x84);
    sbw_free(&r);
    hsm_device_free(dev);
}

static void force_audit_full_drain_recover(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT,
                                (const uint8_t *)"\x51\x01\x03\x01\x04\x01", 6), 0);
    assert_int_equal(set_option(&s, YH_OPTION_FORCE_AUDIT, (const uint8_t *)"\x01", 1), 0);
    /* 2 factory entries + 60 audited random calls = 62: full */
    for (int i = 0; i < 60; i++)
        assert_int_equal(rnd(&s), 0);
    assert_int_equal(rnd(&s), YH_ERR_LOG_FULL);
    /* unaudited commands still work; the drain commands work */
    assert_int_equal(tc_cmd(&s, YH_CMD_ECHO, (const uint8_t *)"e", 1, NULL), 0);
    log_view v;
    get_log(&s, &v);
    assert_int_equal(v.n, 62);
    assert_int_equal(v.e[61].number, 62);
    assert_int_equal(v.e[61].command, YH_CMD_GET_PSEUDO_RANDOM);
    /* opening sessions still works and is counted instead of logged */
    tc_session s2;
    assert_int_equal(tc_open(dev, 1, "password", &s2), 0);
    get_log(&s, &v);
    assert_int_equal(v.auths, 2);
    assert_int_equal(v.n, 62);
    /* an index beyond the newest entry is refused */
    assert_int_equal(set_log_index(&s, 70), YH_ERR_INVALID_DATA);
    /* consume up to 30: 32 remain, space for 30 more */
    assert_int_equal(set_log_index(&s, 30), 0);
    get_log(&s, &v);
    assert_int_equal(v.n, 32);
    assert_int_equal(v.e[0].number, 31);
    assert_int_equal(v.auths, 0);
    assert_int_equal(rnd(&s), 0);
    get_log(&s, &v);
    assert_int_equal(v.e[v.n - 1].number, 63);
    /* consume everything; an index already consumed is harmless */
    assert_int_equal(set_log_index(&s, 63), 0);
    assert_int_equal(set_log_index(&s, 20), 0);
    get_log(&s, &v);
    assert_int_equal(v.n, 0);
    assert_int_equal(rnd(&s), 0);
    get_log(&s, &v);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.e[0].number, 64);

    /* without force-audit the log is a ring: never full */
    assert_int_equal(set_option(&s, YH_OPTION_FORCE_AUDIT, (const uint8_t *)"\x00", 1), 0);
    for (int i = 0; i < 70; i++)
        assert_int_equal(rnd(&s), 0);
    get_log(&s, &v);
    assert_int_equal(v.n, 62);
    assert_int_equal(v.e[61].number, 64 + 70);
    hsm_device_free(dev);
}

static void fixed_options_and_reset(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    assert_int_equal(set_option(&s, YH_OPTION_FORCE_AUDIT, (const uint8_t *)"\x02", 1), 0);
    assert_int_equal(set_option(&s, YH_OPTION_FORCE_AUDIT, (const uint8_t *)"\x00", 1),
                     YH_ERR_INVALID_DATA);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x47\x02", 2), 0);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x47\x01", 2),
                     YH_ERR_INVALID_DATA);
    tc_attrs a = {.id = 0x0100, .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"x", 1, &id), 0);
    tc_attrs k = {.id = 0x0002, .domains = 1, .caps = CAP(GET_LOG_ENTRIES)};
    assert_int_equal(tc_put_auth_key(&s, &k, 0, "auditor"), 0);
    tc_session aud;
    assert_int_equal(tc_open(dev, 2, "auditor", &aud), 0);
    /* reset needs its capability */
    assert_int_equal(tc_cmd(&aud, YH_CMD_RESET_DEVICE, NULL, 0, NULL),
                     YH_ERR_INSUFFICIENT_PERMISSIONS);
    /* the device answers, then wipes itself: every session is gone */
    assert_int_equal(tc_cmd(&s, YH_CMD_RESET_DEVICE, NULL, 0, NULL), 0);
    assert_int_equal(tc_cmd(&s, YH_CMD_ECHO, (const uint8_t *)"e", 1, NULL),
                     TC_OUTER | YH_ERR_INVALID_SESSION);
    assert_int_equal(tc_cmd(&aud, YH_CMD_ECHO, (const uint8_t *)"e", 1, NULL),
                     TC_OUTER | YH_ERR_INVALID_SESSION);
    assert_int_equal(tc_open(dev, 2, "auditor", &aud), TC_OUTER | YH_ERR_OBJECT_NOT_FOUND);
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    check_factory_log(&s);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 0x0100, YH_TYPE_OPAQUE, &oi), YH_ERR_OBJECT_NOT_FOUND);
    sb_wr r;
    sbw_init(&r, 16);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPTION, (const uint8_t *)"\x01", 1, &r), 0);
    assert_int_equal(r.p[0], 0);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x47\x00", 2), 0);
    sbw_free(&r);
    hsm_device_free(dev);
}

static void persistence(void **state)
{
    char dir[] = "/tmp/signet-device-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/hsm.state", dir);

    hsm_device *dev = tc_device(path, NULL);
    assert_non_null(dev);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    tc_attrs a = {.id = 0x0007, .label = "keep", .domains = 3, .caps = CAP(SIGN_EDDSA),
                  .algorithm = YH_ALGO_EC_ED25519};
    uint16_t id;
    assert_int_equal(tc_generate(&s, &a, &id), 0);
    assert_int_equal(tc_delete(&s, 0x0007, YH_TYPE_ASYMMETRIC_KEY), 0);
    assert_int_equal(tc_generate(&s, &a, &id), 0);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x6a\x01", 2), 0);
    sb_wr pub, pub2;
    sbw_init(&pub, 256);
    sbw_init(&pub2, 256);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_PUBLIC_KEY, (const uint8_t *)"\x00\x07", 2, &pub), 0);
    assert_int_equal(tc_cmd(&s, YH_CMD_SIGN_EDDSA, (const uint8_t *)"\x00\x07m", 3, NULL), 0);
    log_view before;
    get_log(&s, &before);
    hsm_device_free(dev); /* power off */

    dev = tc_device(path, NULL);
    assert_non_null(dev);
    /* the old session did not survive */
    s.dev = dev;
    assert_int_equal(tc_cmd(&s, YH_CMD_ECHO, (const uint8_t *)"e", 1, NULL),
                     TC_OUTER | YH_ERR_INVALID_SESSION);
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_PUBLIC_KEY, (const uint8_t *)"\x00\x07", 2, &pub2), 0);
    assert_int_equal(pub.len, pub2.len);
    assert_memory_equal(pub.p, pub2.p, pub.len);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 0x0007, YH_TYPE_ASYMMETRIC_KEY, &oi), 0);
    assert_int_equal(oi.sequence, 1);
    assert_string_equal(oi.label, "keep");
    assert_int_equal(oi.domains, 3);
    /* the log came back, plus the boot of this power-up */
    log_view after;
    get_log(&s, &after);
    assert_int_equal(after.n, before.n + 1);
    assert_int_equal(after.e[before.n - 1].number, before.e[before.n - 1].number);
    assert_memory_equal(after.e[before.n - 1].digest, before.e[before.n - 1].digest, 16);
    assert_int_equal(after.e[after.n - 1].command, 0);
    assert_int_equal(after.e[after.n - 1].session_key, 0xffff);
    assert_int_equal(after.e[before.n - 1].command, YH_CMD_SIGN_EDDSA);
    /* the option survived too */
    assert_int_equal(tc_cmd(&s, YH_CMD_SIGN_EDDSA, (const uint8_t *)"\x00\x07m", 3, NULL), 0);
    get_log(&s, &after);
    assert_int_equal(after.e[after.n - 1].command, YH_CMD_SIGN_EDDSA);
    hsm_device_free(dev);

    /* a damaged file is refused and left as it was */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 40, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 40, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
    struct stat sb2;
    assert_int_equal(stat(path, &sb), 0);
    hsm_device_opts o = {.state_path = path};
    hsm_device *bad = NULL;
    assert_int_equal(hsm_device_open(&o, &bad), SIGNET_E_PARSE);
    assert_null(bad);
    assert_non_null(strstr(signet_errmsg(), "corrupt"));
    assert_int_equal(stat(path, &sb2), 0);
    assert_int_equal(sb.st_size, sb2.st_size);
    assert_int_equal(sb.st_mtime, sb2.st_mtime);
    /* as is a file that is not a state at all */
    f = fopen(path, "wb");
    fputs("not a state", f);
    fclose(f);
    assert_int_equal(hsm_device_open(&o, &bad), SIGNET_E_PARSE);

    char side[300];
    snprintf(side, sizeof side, "%s.ca.pem", path);
    unlink(side);
    snprintf(side, sizeof side, "%s.journal", path);
    unlink(side);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
    sbw_free(&pub);
    sbw_free(&pub2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(factory_log_and_command_audit),
        cmocka_unit_test(force_audit_full_drain_recover),
        cmocka_unit_test(fixed_options_and_reset),
        cmocka_unit_test(persistence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Routine use keeps the trail green: with force-audit on and every auditable
 * command audited (as after a ceremony), 200 ordinary commands, among them one that
 * sends hundreds of device commands, never fill the device log, and `audit verify`
 * stays OK without a single explicit drain.  `audit verify --device` only reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/store_fixture.h"
#include "signet/client.h"

static struct store st;

#define sh_out(out, ...) store_sh_out(&st, (out), __VA_ARGS__)
#define sh(...) store_sh(&st, __VA_ARGS__)

/* Objects enough that `hsm list` (one Get Object Info each) sends more commands
 * than the log holds. */
#define N_OPAQUE 150

/* As the ceremony leaves a device: every command audited that can be without
 * locking the device, force-audit on.  Also fills it with opaque objects. */
static int audit_everything(void)
{
    hsm_conn *c;
    hsm_session *s;
    if (hsm_conn_open(st.h.url, &c) || hsm_session_open(c, 1, "password", &s))
        return -1;
    signet_rc rc = SIGNET_OK;
    for (int i = 0; rc == SIGNET_OK && i < N_OPAQUE; i++) {
        hsm_object_attrs a = {.id = (uint16_t)(0x0400 + i), .label = "filler", .domains = 1,
                              .capabilities = 0, .algorithm = YH_ALGO_OPAQUE_DATA};
        uint8_t data[8] = {(uint8_t)i};
        uint16_t id;
        rc = hsm_put_opaque(s, &a, data, sizeof data, &id);
    }
    uint8_t cur[512], want[512];
    sb_wr w, v;
    sbw_init_fixed(&w, cur, sizeof cur);
    sbw_init_fixed(&v, want, sizeof want);
    if (rc == SIGNET_OK)
        rc = hsm_get_option(s, YH_OPTION_COMMAND_AUDIT, &w);
    for (size_t i = 0; rc == SIGNET_OK && i + 1 < w.len; i += 2)
        if (!yh_cmd_audit_would_lock(cur[i]) && (rc = sbw_u8(&v, cur[i])) == SIGNET_OK)
            rc = sbw_u8(&v, YH_OPT_ON);
    if (rc == SIGNET_OK)
        rc = hsm_set_option(s, YH_OPTION_COMMAND_AUDIT, v.p, v.len);
    uint8_t on = YH_OPT_ON;
    if (rc == SIGNET_OK)
        rc = hsm_set_option(s, YH_OPTION_FORCE_AUDIT, &on, 1);
    if (rc)
        fprintf(stderr, "audit_everything: %s\n", signet_errmsg());
    hsm_session_close(s);
    hsm_conn_close(c);
    return rc ? -1 : 0;
}

static int setup(void **state)
{
    (void)state;
    /* Hundreds of fsyncs (device journal, trail) make nothing here more true on a
     * disk than in memory: keep the test's files in memory when the host allows. */
    if (access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    /* The device audits everything before the key store exists, as after a ceremony. */
    if (store_start(&st, NULL) != 0 || audit_everything() != 0 ||
        store_init_keystore(&st, NULL) != 0)
        return -1;
    return sh("signet keys init --device t --algorithm rsa2048 >/dev/null && "
              "signet -q keys generate >/dev/null && echo release > rel.txt") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_cleanup(&st);
    return 0;
}

/* Entries the device holds now (Device Info: no login, nothing logged). */
static unsigned log_used(void)
{
    hsm_conn *c;
    hsm_devinfo di;
    assert_int_equal(hsm_conn_open(st.h.url, &c), SIGNET_OK);
    assert_int_equal(hsm_device_info(c, &di), SIGNET_OK);
    hsm_conn_close(c);
    return di.log_used;
}

static void two_hundred_commands_keep_the_trail_green(void **state)
{
    (void)state;
    /* 20 rounds of 10 ordinary commands; each `hsm list` alone sends about 160. */
    int n = 0;
    unsigned most = 0;
    for (int round = 0; round < 20; round++) {
        static const char *const ROUND[] = {
            "signet keys list", "signet hsm get-info 0x0400 opaque", "signet keys list", "signet hsm storage",
            "signet sign --key platform -in rel.txt -out rel.sig", "signet hsm info",
            "signet keys list", "signet hsm get-option force-audit", "LONG",
            "signet hsm random 16",
        };
        for (size_t i = 0; i < sizeof ROUND / sizeof ROUND[0]; i++, n++) {
            /* The long command every fifth round (it is slow on a loaded host). */
            const char *cmd = strcmp(ROUND[i], "LONG") != 0 ? ROUND[i]
                              : round % 5 == 0             ? "signet hsm list"
                                                           : "signet hsm get-info 0x0401 opaque";
            int rc = sh("%s >/dev/null", cmd);
            if (rc != 0)
                fail_msg("command %d (%s) failed with %d", n + 1, cmd, rc);
        }
        unsigned used = log_used();
        most = used > most ? used : most;
    }
    assert_int_equal(n, 200);
    /* Each command drained what it left before it ended: only its Close Session. */
    assert_true(most <= 2);
    char *out = NULL;
    int rc = sh_out(&out, "signet audit verify");
    if (rc != 0)
        fprintf(stderr, "%s", out ? out : "");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "result: OK"));
    assert_null(strstr(out, "FINDING"));
    free(out);

    /* verify --device reads the log and leaves it as it was. */
    assert_int_equal(sh("signet hsm random 8 >/dev/null"), 0);
    unsigned before = log_used();
    assert_int_equal(sh("signet audit verify --device %s >/dev/null", st.h.url), 0);
    /* Its own session adds its entries (create, authenticate, get log, close) but
     * consumes none. */
    assert_true(log_used() > before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_hundred_commands_keep_the_trail_green),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

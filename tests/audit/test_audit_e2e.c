/* The trail against signet-hsm with force-audit on: 120 signatures (far more than
 * the 62 entries the device holds) with drains around each never hit "log full";
 * checkpoints signed by the Ed25519 log key on the device pair with their entries;
 * the trail verifies, is fresh against the live device, and the `signet audit`
 * commands verify it, prove an artifact and check the receipt offline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "common/hsmd_fixture.h"
#include "signet/audit.h"
#include "signet/client.h"

#define LOG_KEY 0x0010
#define ORIGIN "signet.test/audit"

static void ok(signet_rc rc)
{
    if (rc)
        fprintf(stderr, "signet: %s\n", signet_errmsg());
    assert_int_equal(rc, SIGNET_OK);
}

static void drain_under_force_audit(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    hsm_conn *c;
    hsm_session *s;
    ok(hsm_conn_open(h.url, &c));
    ok(hsm_session_open(c, 1, "password", &s));
    hsm_devinfo di;
    ok(hsm_device_info(c, &di));
    uint8_t on = YH_OPT_ON;
    ok(hsm_set_option(s, YH_OPTION_FORCE_AUDIT, &on, 1));
    /* force-audit makes a full log refuse; command-audit chooses what is logged. */
    const uint8_t audit[] = {YH_CMD_SIGN_EDDSA, 1, YH_CMD_SIGN_PKCS1, 1, YH_CMD_GENERATE_ASYMMETRIC_KEY, 1,
                             YH_CMD_CREATE_SESSION, 1, YH_CMD_GET_PUBLIC_KEY, 1};
    ok(hsm_set_option(s, YH_OPTION_COMMAND_AUDIT, audit, sizeof audit));

    char dir[300];
    snprintf(dir, sizeof dir, "%s/trail", h.dir);
    ok(signet_trail_init(dir));
    signet_trail *t;
    ok(signet_trail_open(dir, &t));
    ok(signet_trail_lock(t));
    hsm_log log;
    ok(hsm_get_log_entries(s, &log));
    ok(signet_trail_add_anchor(t, di.serial, &log));
    ok(hsm_set_log_index(s, log.entries[log.n - 1].number));

    /* The log key, generated on the device, and its verifier key. */
    hsm_object_attrs a = {.id = LOG_KEY, .label = "audit log", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_SIGN_EDDSA), .algorithm = YH_ALGO_EC_ED25519};
    uint16_t id;
    ok(hsm_generate_asymmetric(s, &a, &id));
    EVP_PKEY *pk;
    uint8_t alg, pub[32];
    size_t pl = 32;
    ok(hsm_get_public_key(s, LOG_KEY, &pk, &alg));
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, pub, &pl), 1);
    EVP_PKEY_free(pk);
    signet_vkey vk;
    ok(signet_vkey_make(ORIGIN, pub, &vk));
    sb_wr w;
    sbw_init(&w, 512);
    ok(signet_vkey_format(&vk, &w));
    ok(sbw_u8(&w, '\n'));
    char p[400];
    snprintf(p, sizeof p, "%s/log.vkey", dir);
    assert_int_equal(test_write_file(p, w.p, w.len), 0);
    sbw_free(&w);
    /* A signing key for the releases (Ed25519 keeps the test fast). */
    hsm_object_attrs k = {.id = 0x0020, .label = "platform", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_SIGN_EDDSA), .algorithm = YH_ALGO_EC_ED25519};
    ok(hsm_generate_asymmetric(s, &k, &id));
    ok(signet_audit_drain(t, s, di.serial, NULL));

    char art[400];
    snprintf(art, sizeof art, "%s/app.apk", h.dir);
    for (int i = 0; i < 120; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof msg, "artifact %d", i);
        if (i == 77)
            assert_int_equal(test_write_file(art, msg, (size_t)n), 0);
        signet_drain_result d;
        ok(signet_audit_drain(t, s, di.serial, NULL));
        uint8_t sig[64];
        size_t sl = sizeof sig;
        signet_rc rc = hsm_sign_eddsa(s, 0x0020, (uint8_t *)msg, (size_t)n, sig, &sl);
        assert_int_not_equal(signet_err_device(), YH_ERR_LOG_FULL);
        ok(rc);
        ok(signet_audit_drain(t, s, di.serial, &d));
        const signet_dev_entry *e = signet_drain_find(&d, YH_CMD_SIGN_EDDSA, 0x0020, 1);
        assert_non_null(e);
        signet_record *r = calloc(1, sizeof *r);
        r->type = SIGNET_REC_SIGN;
        r->auth_id = 1;
        r->serial = di.serial;
        r->seq = e->seq;
        snprintf(r->key_name, sizeof r->key_name, "platform");
        r->key_id = 0x0020;
        r->command = YH_CMD_SIGN_EDDSA;
        SHA256((uint8_t *)msg, (size_t)n, r->data_sha256);
        memcpy(r->sig, sig, 64);
        r->sig_len = 64;
        snprintf(r->artifact, sizeof r->artifact, "artifact-%d", i);
        SHA256((uint8_t *)msg, (size_t)n, r->artifact_sha256);
        r->has_artifact_sha256 = true;
        ok(signet_trail_append_record(t, r));
        free(r);
        if (i % 40 == 39) {
            signet_checkpoint cp;
            ok(signet_audit_checkpoint(t, s, di.serial, LOG_KEY, ORIGIN, &cp));
        }
    }
    signet_trail_unlock(t);

    signet_report *rep;
    ok(hsm_get_log_entries(s, &log));
    signet_verify_opts o = {.live = &log, .live_serial = di.serial};
    signet_rc rc = signet_trail_verify(dir, &o, &rep);
    if (rc)
        signet_report_print(rep, stderr);
    assert_int_equal(rc, SIGNET_OK);
    assert_int_equal(signet_report_usage_count(rep), 1);
    assert_int_equal(signet_report_usage(rep, 0)->count, 120);
    signet_report_free(rep);

    /* The command line, as an auditor would use it. */
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "'%s' audit verify '%s' --vkey '%s/log.vkey'", test_bin("signet"), dir, dir);
    char *out = NULL;
    assert_int_equal(run_cmd(cmd, &out), 0);
    assert_non_null(strstr(out, "result: OK"));
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' -q audit prove '%s' --dir '%s' --out '%s/app.proof'", test_bin("signet"),
             art, dir, h.dir);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "'%s' audit verify-receipt '%s/app.proof' --vkey '%s/log.vkey' '%s'",
             test_bin("signet"), h.dir, dir, art);
    assert_int_equal(run_cmd(cmd, &out), 0);
    assert_non_null(strstr(out, "OK: leaf"));
    free(out);
    /* The receipt does not vouch for another file. */
    snprintf(cmd, sizeof cmd, "'%s' audit verify-receipt '%s/app.proof' --vkey '%s/log.vkey' '%s/log.vkey'",
             test_bin("signet"), h.dir, dir, dir);
    assert_int_equal(run_cmd(cmd, NULL), 1);

    signet_trail_close(t);
    hsm_session_close(s);
    hsm_conn_close(c);
    hsmd_cleanup(&h);
}

/* The operator's commands: init (log key generated on the device, anchor, vkey),
 * drain, checkpoint, verify with freshness against the live device. */
static void cli_flow(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    hsm_conn *c;
    hsm_session *s;
    ok(hsm_conn_open(h.url, &c));
    ok(hsm_session_open(c, 1, "password", &s));
    uint8_t on = YH_OPT_ON;
    ok(hsm_set_option(s, YH_OPTION_FORCE_AUDIT, &on, 1));
    const uint8_t audit[] = {YH_CMD_SIGN_EDDSA, 1, YH_CMD_GENERATE_ASYMMETRIC_KEY, 1};
    ok(hsm_set_option(s, YH_OPTION_COMMAND_AUDIT, audit, sizeof audit));
    hsm_session_close(s);
    hsm_conn_close(c);

    char cmd[2000], dir[300], env[600];
    snprintf(dir, sizeof dir, "%s/trail", h.dir);
    snprintf(env, sizeof env, "SIGNET_PASSWORD=password SIGNET_CONF= '%s' -q --connector %s",
             test_bin("signet"), h.url);
    snprintf(cmd, sizeof cmd, "%s audit init '%s' --log-key-id 0x0030 --origin %s", env, dir, ORIGIN);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s audit drain '%s'", env, dir);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s audit checkpoint '%s' --log-key-id 0x0030 --origin %s", env, dir, ORIGIN);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s audit checkpoint '%s' --log-key-id 0x0030 --origin %s", env, dir, ORIGIN);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "%s audit verify '%s' --device %s", env, dir, h.url);
    int ex = run_cmd(cmd, &out);
    if (ex)
        fprintf(stderr, "%s", out);
    assert_int_equal(ex, 0);
    assert_non_null(strstr(out, "checkpoints:  2 valid of 2"));
    free(out);
    /* init again: the same key, nothing changes. */
    snprintf(cmd, sizeof cmd, "%s audit init '%s' --log-key-id 0x0030 --origin %s", env, dir, ORIGIN);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    /* A tampered trail fails with exit code 1. */
    snprintf(cmd, sizeof cmd, "sed -i '1s/host=/host=x/' '%s/records.log'", dir);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s audit verify '%s'", env, dir);
    assert_int_equal(run_cmd(cmd, &out), 1);
    assert_non_null(strstr(out, "FINDING"));
    free(out);
    hsmd_cleanup(&h);
}

/* `hsm reset --record-key` on an anchored device: the reset record is signed and bound
 * before the reset, so verify explains the restart; a reset without it warns and is
 * reported as a device-reset incident. */
static void cli_reset_recorded(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    char cmd[3000], dir[300], env[1000], conf[320], pem[320], *out = NULL;
    snprintf(dir, sizeof dir, "%s/trail", h.dir);
    snprintf(conf, sizeof conf, "%s/signet.conf", h.dir);
    snprintf(pem, sizeof pem, "%s/admin-record-key.pem", h.dir);
    char text[700];
    snprintf(text, sizeof text, "connector = %s\naudit = %s\n", h.url, dir);
    assert_int_equal(test_write_file(conf, text, strlen(text)), 0);
    snprintf(env, sizeof env, "SIGNET_PASSWORD=password SIGNET_CONF='%s' '%s' -q", conf, test_bin("signet"));
    snprintf(cmd, sizeof cmd, "%s hsm set-option command-audit sign-eddsa=on,generate-asymmetric-key=on,"
             "create-session=on && %s audit init '%s' --log-key-id 0x0030 --origin %s", env, env, dir, ORIGIN);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    /* The admin's record key, named in the trail's anchors. */
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    signet_rkeys keys = {.n = 1};
    snprintf(keys.k[0].role, sizeof keys.k[0].role, "admin");
    snprintf(keys.k[0].holder, sizeof keys.k[0].holder, "frank");
    size_t pl = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(k, keys.k[0].pub, &pl), 1);
    ok(signet_rkeys_create(dir, &keys));
    FILE *f = fopen(pem, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    EVP_PKEY_free(k);

    snprintf(cmd, sizeof cmd, "%s hsm reset --yes --record-key '%s' 2>&1 && %s audit drain '%s' && "
             "%s audit verify '%s'", env, pem, env, dir, env, dir);
    int ex = run_cmd(cmd, &out);
    if (ex)
        fprintf(stderr, "%s", out);
    assert_int_equal(ex, 0);
    assert_null(strstr(out, "warning"));
    free(out);
    char *recs = NULL;
    size_t n;
    snprintf(cmd, sizeof cmd, "%s/records.log", dir);
    assert_int_equal(test_read_file(cmd, &recs, &n), 0);
    assert_non_null(strstr(recs, "event=reset note=signet%20hsm%20reset signer="));
    free(recs);

    /* Unrecorded: a warning, then an incident. */
    snprintf(cmd, sizeof cmd, "%s hsm reset --yes 2>&1 && %s audit drain '%s'", env, env, dir);
    assert_int_equal(run_cmd(cmd, &out), 0);
    assert_non_null(strstr(out, "reset is not recorded"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s audit verify '%s'", env, dir);
    assert_int_equal(run_cmd(cmd, &out), 1);
    assert_non_null(strstr(out, "FINDING device-reset [incident"));
    /* The second restart: the first reset record is spent. */
    assert_non_null(strstr(out, "with no service record of event=reset"));
    free(out);
    /* --record-key with no trail anchoring the device is refused before anything. */
    snprintf(cmd, sizeof cmd, "SIGNET_PASSWORD=password SIGNET_CONF= '%s' -q --connector %s hsm reset "
             "--yes --record-key '%s'", test_bin("signet"), h.url, pem);
    assert_int_equal(run_cmd(cmd, NULL), 2);
    hsmd_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(drain_under_force_audit), cmocka_unit_test(cli_flow),
                                       cmocka_unit_test(cli_reset_recorded)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

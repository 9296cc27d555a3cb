/* The `signet hsm` commands run as a program against a signet-hsm daemon:
 * exit codes and the output scripts rely on.  Commands run under `setsid` so
 * that no prompt can reach a terminal; passwords come from SIGNET_PASSWORD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hsmd_fixture.h"

static struct hsmd H;

static int setup(void **state)
{
    return hsmd_start(&H, "--serial 777") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    hsmd_cleanup(&H);
    return 0;
}

/* Runs `signet <args>` with the daemon's URL and a password; returns the exit code
 * and the output (free it). */
static int signet(char **out, const char *password, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int signet(char **out, const char *password, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && SIGNET_CONNECTOR='%s' SIGNET_PASSWORD='%s' setsid -w '%s' %s", H.dir,
             H.url, password, test_bin("signet"), args);
    char *o = NULL;
    int rc = run_cmd_full(cmd, NULL, 0, &o, NULL, NULL, 120);
    if (out)
        *out = o ? o : strdup("");
    else
        free(o);
    return rc;
}

static void info_and_help(void **state)
{
    char *out;
    assert_int_equal(signet(&out, "unused", "hsm info"), 0);
    assert_non_null(strstr(out, "firmware: 2.4.0\n"));
    assert_non_null(strstr(out, "serial: 777\n"));
    assert_non_null(strstr(out, "rsa2048"));
    free(out);
    static const char *const cmds[] = {
        "info", "list", "get-info", "get-public-key", "generate", "sign", "delete",
        "put-wrap-key", "generate-wrap-key", "export-wrapped", "import-wrapped", "put-auth-key",
        "change-password", "log", "set-option", "get-option", "storage", "random", "echo",
        "reset"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        assert_int_equal(signet(&out, "x", "hsm %s --help", cmds[i]), 0);
        assert_non_null(strstr(out, "usage: signet hsm"));
        free(out);
    }
    assert_int_equal(signet(NULL, "x", "hsm no-such-command"), 2);
    assert_int_equal(signet(NULL, "x", "hsm list --bogus"), 2);
}

static void generate_sign_verify_with_openssl(void **state)
{
    char *out, *id;
    assert_int_equal(signet(&id, "password", "hsm generate --algorithm ecp256 --domains 1 "
                                            "--capabilities sign-ecdsa --label cli-key "
                                            "--public-out pub.pem"),
                     0);
    id[strcspn(id, "\n")] = 0;
    assert_int_equal(strncmp(id, "0x", 2), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/data.txt", H.dir);
    assert_int_equal(test_write_file(path, "release artifact\n", 17), 0);
    assert_int_equal(signet(NULL, "password", "hsm sign --id %s --mech ecdsa -in data.txt -out sig",
                            id),
                     0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl dgst -sha256 -verify pub.pem -signature sig data.txt", H.dir);
    assert_int_equal(run_cmd(cmd, &out), 0);
    assert_non_null(strstr(out, "Verified OK"));
    free(out);

    assert_int_equal(signet(&out, "password", "hsm list --type asymmetric-key"), 0);
    assert_non_null(strstr(out, "label=\"cli-key\""));
    assert_non_null(strstr(out, "algorithm=ecp256"));
    free(out);
    assert_int_equal(signet(&out, "password", "hsm get-info %s asymmetric-key", id), 0);
    assert_non_null(strstr(out, "algorithm: ecp256\n"));
    assert_non_null(strstr(out, "capabilities: sign-ecdsa\n"));
    assert_non_null(strstr(out, "origin: generated\n"));
    free(out);
    /* wrong mechanism for the key: a device error, exit 3 */
    assert_int_equal(signet(NULL, "password", "hsm sign --id %s --mech pkcs1 -in data.txt -out s2",
                            id),
                     3);
    free(id);
}

static void exit_codes(void **state)
{
    assert_int_equal(signet(NULL, "wrong password", "hsm list"), 5);
    assert_int_equal(signet(NULL, "password", "hsm delete 0x7777 asymmetric-key"), 6);
    assert_int_equal(signet(NULL, "password", "hsm get-info 1 no-such-type"), 2);
    /* refused before anything is sent */
    assert_int_equal(signet(NULL, "password", "hsm set-option command-audit echo=on"), 2);
    /* nothing listens there */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "SIGNET_PASSWORD=x '%s' --connector http://127.0.0.1:1 hsm info",
             test_bin("signet"));
    assert_int_equal(run_cmd(cmd, NULL), 4);
    /* reset needs a confirmation, which cannot be given without a terminal */
    assert_int_equal(signet(NULL, "password", "hsm reset"), 2);
}

static void wrap_export_import(void **state)
{
    char path[512];
    snprintf(path, sizeof path, "%s/wrap.hex", H.dir);
    const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    assert_int_equal(test_write_file(path, hex, strlen(hex)), 0);
    char *out;
    assert_int_equal(signet(&out, "password", "hsm put-wrap-key --id 0x00ff --label backup "
                                             "--domains 1 --capabilities "
                                             "export-wrapped,import-wrapped --delegated "
                                             "sign-eddsa,exportable-under-wrap "
                                             "--key-file wrap.hex"),
                     0);
    assert_string_equal(out, "0x00ff\n");
    free(out);
    assert_int_equal(signet(&out, "password", "hsm get-info 0xff wrap-key"), 0);
    assert_non_null(strstr(out, "algorithm: aes256-ccm-wrap\n"));
    free(out);
    assert_int_equal(signet(NULL, "password", "hsm generate --id 0x0500 --algorithm ed25519 "
                                             "--domains 1 --capabilities "
                                             "sign-eddsa,exportable-under-wrap"),
                     0);
    assert_int_equal(signet(NULL, "password", "hsm get-public-key 0x500 -out before.pem"), 0);
    assert_int_equal(signet(NULL, "password", "hsm export-wrapped --wrap-id 0xff --type "
                                             "asymmetric-key --id 0x500 -out key.wrapped"),
                     0);
    assert_int_equal(signet(NULL, "password", "hsm delete 0x500 asymmetric-key"), 0);
    assert_int_equal(
        signet(&out, "password", "hsm import-wrapped --wrap-id 0xff -in key.wrapped"), 0);
    assert_string_equal(out, "asymmetric-key 0x0500\n");
    free(out);
    assert_int_equal(signet(NULL, "password", "hsm get-public-key 0x500 -out after.pem"), 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && cmp before.pem after.pem", H.dir);
    assert_int_equal(run_cmd(cmd, NULL), 0);
}

static void log_options_random_reset(void **state)
{
    char *out;
    assert_int_equal(signet(&out, "password", "hsm random 16"), 0);
    assert_int_equal(strlen(out), 33);
    free(out);
    assert_int_equal(signet(NULL, "password", "hsm set-option command-audit get-pseudo-random=on"),
                     0);
    assert_int_equal(signet(NULL, "password", "hsm set-option force-audit on"), 0);
    assert_int_equal(signet(&out, "password", "hsm get-option"), 0);
    assert_non_null(strstr(out, "force-audit: on\n"));
    assert_non_null(strstr(out, "command-audit: get-pseudo-random=on\n"));
    free(out);
    assert_int_equal(signet(NULL, "password", "hsm random 4"), 0);
    assert_int_equal(signet(&out, "password", "hsm log"), 0);
    assert_non_null(strstr(out, "command=get-pseudo-random(0x51)"));
    assert_non_null(strstr(out, "chain: ok"));
    free(out);
    char path[512];
    snprintf(path, sizeof path, "%s/log1.txt", H.dir);
    assert_int_equal(signet(&out, "password", "hsm log --consume"), 0);
    assert_int_equal(test_write_file(path, out, strlen(out)), 0);
    free(out);
    /* continues from the saved output */
    assert_int_equal(signet(NULL, "password", "hsm random 4"), 0);
    assert_int_equal(signet(&out, "password", "hsm log --verify-from log1.txt"), 0);
    assert_non_null(strstr(out, "chain: ok"));
    free(out);
    /* a wrong anchor is a finding */
    assert_int_equal(signet(&out, "password",
                            "hsm log --anchor 2:00000000000000000000000000000000"),
                     1);
    assert_non_null(strstr(out, "finding"));
    free(out);

    assert_int_equal(signet(NULL, "password", "hsm reset --yes"), 0);
    assert_int_equal(signet(&out, "password", "hsm list"), 0);
    assert_non_null(strstr(out, "id=0x0001 type=authentication-key"));
    assert_null(strstr(out, "asymmetric-key"));
    free(out);
    assert_int_equal(signet(&out, "password", "hsm get-option force-audit"), 0);
    assert_non_null(strstr(out, "force-audit: off\n"));
    free(out);
}

/* keygen-auth makes a credential; put-auth-key --public-key registers it; the
 * holder logs in with --auth-key-file; another key is refused (exit 5). */
static void asymmetric_credential(void **state)
{
    char *out, path[512], cmd[1024];
    assert_int_equal(signet(&out, "unused", "keygen-auth --help"), 0);
    assert_non_null(strstr(out, "usage: signet keygen-auth"));
    free(out);
    assert_int_equal(signet(NULL, "unused", "keygen-auth"), 2);
    assert_int_equal(signet(&out, "unused", "keygen-auth --out auditor.pem --pub-out auditor.pub"),
                     0);
    assert_int_equal(strlen(out), 131); /* 65 bytes in hex and a newline */
    assert_int_equal(strncmp(out, "04", 2), 0);
    /* the private key file is the holder's only: mode 0600 */
    snprintf(cmd, sizeof cmd, "stat -c %%a '%s/auditor.pem'", H.dir);
    char *mode;
    assert_int_equal(run_cmd(cmd, &mode), 0);
    assert_string_equal(mode, "600\n");
    free(mode);
    /* the PEM public key is the printed point */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl pkey -pubin -in auditor.pub -noout -text | tr -d ' :\\n'",
             H.dir);
    char *text;
    assert_int_equal(run_cmd(cmd, &text), 0);
    out[130] = 0;
    assert_non_null(strstr(text, out));
    free(text);
    free(out);
    /* never overwritten */
    snprintf(path, sizeof path, "%s/auditor.pem", H.dir);
    char *before, *after;
    size_t bl, al;
    assert_int_equal(test_read_file(path, &before, &bl), 0);
    assert_int_not_equal(signet(NULL, "unused", "keygen-auth --out auditor.pem"), 0);
    assert_int_equal(test_read_file(path, &after, &al), 0);
    assert_int_equal(bl, al);
    assert_memory_equal(before, after, bl);
    free(before);
    free(after);

    assert_int_equal(signet(&out, "password", "hsm put-auth-key --id 0x0040 --label auditor "
                                             "--domains 1 --capabilities "
                                             "get-log-entries,get-pseudo-random --delegated none "
                                             "--public-key auditor.pub"),
                     0);
    assert_string_equal(out, "0x0040\n");
    free(out);
    assert_int_equal(signet(&out, "password", "hsm get-info 0x40 authentication-key"), 0);
    assert_non_null(strstr(out, "ecp256-yubico-authentication"));
    free(out);
    assert_int_equal(
        signet(&out, "unused", "--auth-key 0x40 --auth-key-file auditor.pem hsm random 8"), 0);
    assert_int_equal(strlen(out), 17);
    free(out);
    assert_int_equal(signet(&out, "unused", "--auth-key 0x40 --auth-key-file auditor.pem hsm log"),
                     0);
    assert_non_null(strstr(out, "chain: ok"));
    free(out);
    assert_int_equal(signet(NULL, "unused", "keygen-auth --out other.pem"), 0);
    assert_int_equal(signet(NULL, "unused", "--auth-key 0x40 --auth-key-file other.pem hsm random 8"),
                     5);
    /* the key's capabilities hold */
    assert_int_equal(signet(NULL, "unused", "--auth-key 0x40 --auth-key-file auditor.pem hsm "
                                           "generate --algorithm ecp256 --domains 1 "
                                           "--capabilities sign-ecdsa"),
                     3);
}

/* The emulator's attestation CA: printed by --print-ca, kept next to the state. */
static void print_ca(void **state)
{
    char cmd[1024], path[512];
    snprintf(cmd, sizeof cmd, "'%s' --state '%s/other.state' --print-ca", test_bin("signet-hsm"),
             H.dir);
    char *pem, *file;
    size_t len;
    assert_int_equal(run_cmd(cmd, &pem), 0);
    assert_int_equal(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28), 0);
    snprintf(path, sizeof path, "%s/other.state.ca.pem", H.dir);
    assert_int_equal(test_read_file(path, &file, &len), 0);
    assert_string_equal(pem, file);
    free(file);
    /* the same CA on the next start (the key is in the state) */
    char *again;
    assert_int_equal(run_cmd(cmd, &again), 0);
    assert_string_equal(pem, again);
    free(again);
    free(pem);
    /* and the running daemon's */
    snprintf(cmd, sizeof cmd, "openssl x509 -in '%s.ca.pem' -noout -subject", H.state);
    char *subj;
    assert_int_equal(run_cmd(cmd, &subj), 0);
    assert_non_null(strstr(subj, "Attestation"));
    free(subj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(info_and_help),
        cmocka_unit_test(generate_sign_verify_with_openssl),
        cmocka_unit_test(exit_codes),
        cmocka_unit_test(wrap_export_import),
        cmocka_unit_test(asymmetric_credential),
        cmocka_unit_test(print_ca),
        cmocka_unit_test(log_options_random_reset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

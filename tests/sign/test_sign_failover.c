/* Two emulators serving one key store (`failover` in signet.conf): the device a
 * batch runs on is killed mid-batch, the batch finishes on the other, every
 * signature verifies and is recorded exactly once, and the trail verifies.  The
 * killed device's signatures that were never recorded are explained by their
 * intents once its log is read again, never released.  The same through the CLI's
 * own session path (`signet apk sign --batch`). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hsmd_fixture.h"

#define N 40

static struct hsmd a, b;
static char env[2048];

static int sh_out(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh_out(char **out, const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", a.dir, env);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, out);
}
#define sh(...) sh_out(NULL, __VA_ARGS__)

static long count(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long count(const char *fmt, ...)
{
    char cmd[2048], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    long n = -1;
    if (sh_out(&out, "%s", cmd) >= 0 && out)
        n = strtol(out, NULL, 10);
    free(out);
    return n;
}

static int write_conf(void)
{
    return sh("printf 'connector = %s\\nfailover = %s\\nkeystore = %s/keys\\naudit = %s/audit\\n"
              "checkpoint_every = 0\\n' > signet.conf", a.url, b.url, a.dir, a.dir);
}

/* One device ready to serve the store: the wrap key, command audit, anchored. */
static int prepare(const struct hsmd *h)
{
    return sh("export SIGNET_CONNECTOR=%s; "
              "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
              "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
              "signet hsm set-option command-audit sign-pkcs1=on,sign-pss=on,sign-ecdsa=on,"
              "sign-eddsa=on", h->url);
}

static int setup(void **state)
{
    (void)state;
    if (hsmd_start(&a, "--serial 1001") != 0 || hsmd_start(&b, "--serial 1002") != 0)
        return -1;
    snprintf(env, sizeof env,
             "export SIGNET_PASSWORD=password SIGNET_CONF=%s/signet.conf PATH=%s:$PATH;", a.dir,
             getenv("SIGNET_BIN_DIR"));
    if (write_conf() != 0 || sh("printf '%%064d' 7 > wrap.hex") != 0 || prepare(&a) != 0 ||
        prepare(&b) != 0)
        return -1;
    if (sh("export SIGNET_CONNECTOR=%s; signet -q audit init >/dev/null && "
           "signet keys init --device t --algorithm rsa2048 >/dev/null && "
           "signet -q keys generate --only platform >/dev/null", a.url) != 0)
        return -1;
    if (sh("SIGNET_CONNECTOR=%s signet -q audit anchor audit >/dev/null", b.url) != 0)
        return -1;
    /* As slow as a YubiHSM 2, so that the kill lands inside the batch. */
    if (hsmd_restart(&a, "--latency yubihsm2") != 0)
        return -1;
    return write_conf();
}

static int teardown(void **state)
{
    (void)state;
    hsmd_cleanup(&b);
    hsmd_cleanup(&a);
    return 0;
}

#define SIGNS(dev) "grep 'type=sign ' audit/records.log | grep -c 'dev=" dev " .*caller=batch_signer'"

static void killed_mid_batch(void **state)
{
    (void)state;
    assert_int_equal(sh("mkdir out && (batch_signer batch %d out platform > bs.out 2> bs.err; "
                        "echo $? > bs.rc) >/dev/null 2>&1 &", N), 0);
    /* Some signatures on the first device, then it dies without warning. */
    int waited = 0;
    while (count(SIGNS("1001")) < 4 && waited++ < 600)
        usleep(100 * 1000);
    assert_true(count(SIGNS("1001")) >= 4);
    assert_true(count(SIGNS("1001")) < N);
    assert_int_equal(kill(a.pid, SIGKILL), 0);
    waited = 0;
    while (sh("test -s bs.rc") != 0 && waited++ < 1200)
        usleep(100 * 1000);
    char *out = NULL;
    assert_int_equal(sh_out(&out, "cat bs.rc bs.out; cat bs.err >&2"), 0);
    assert_non_null(strstr(out, "failed=0 failovers=1"));
    assert_int_equal(strtol(out, NULL, 10), 0);
    free(out);
    /* Every signature verifies, and each was recorded exactly once. */
    assert_int_equal(sh("for i in $(seq 0 %d); do openssl dgst -sha256 -verify "
                        "keys/platform.pub.pem -signature out/$i.sig out/$i.msg >/dev/null || "
                        "exit 1; done", N - 1), 0);
    assert_int_equal(count(SIGNS("100[12]")), N);
    assert_true(count(SIGNS("1002")) > 0);
    assert_int_equal(count("grep 'type=sign .*caller=batch_signer' audit/records.log | "
                           "grep -o ' artifact=[^ ]*' | sort | uniq -d | wc -l"), 0);
    assert_int_equal(count("grep 'type=sign .*caller=batch_signer' audit/records.log | "
                           "grep -o ' sig=[^ ]*' | sort -u | wc -l"), N);
    /* The trail verifies: intents the killed device never answered are notices. */
    assert_int_equal(sh_out(&out, "signet audit verify audit 2>&1"), 0);
    free(out);
    /* Its log read again: what it signed unrecorded is explained as interrupted,
     * nothing is unrecorded, forged or claimed twice. */
    hsmd_stop(&a);
    assert_int_equal(hsmd_restart(&a, NULL), 0);
    assert_int_equal(sh("SIGNET_CONNECTOR=%s signet -q audit drain audit >/dev/null", a.url), 0);
    sh_out(&out, "signet audit verify audit 2>&1");
    assert_non_null(out);
    assert_null(strstr(out, "unrecorded"));
    assert_null(strstr(out, "forged"));
    assert_null(strstr(out, "claimed by a second record"));
    free(out);
}

#define CLI_SIGNS(dev) "grep 'type=sign ' audit/records.log | grep -c 'dev=" dev " .*artifact=app[0-9]*.apk'"
#define CLI_N 16

/* The CLI's own session path (the signer over a session the CLI opened, credential
 * from $SIGNET_PASSWORD): `signet apk sign --batch` fails over the same way. */
static void cli_killed_mid_batch(void **state)
{
    (void)state;
    /* The first device slow again (on a new port), the second as it was. */
    assert_int_equal(hsmd_restart(&a, "--latency yubihsm2"), 0);
    assert_int_equal(write_conf(), 0);
    assert_int_equal(sh("for i in $(seq 1 %d); do head -c 3000 /dev/urandom > p$i && "
                        "zip -q app$i.apk p$i && echo \"app$i.apk signed$i.apk platform\"; "
                        "done > list", CLI_N), 0);
    assert_int_equal(sh("(signet -q apk sign --batch list --min-sdk-version 28 --no-cache "
                        "> cli.out 2> cli.err; echo $? > cli.rc) >/dev/null 2>&1 &"), 0);
    int waited = 0;
    while (count(CLI_SIGNS("1001")) < 2 && waited++ < 600)
        usleep(100 * 1000);
    assert_true(count(CLI_SIGNS("1001")) >= 2);
    assert_int_equal(kill(a.pid, SIGKILL), 0);
    waited = 0;
    while (sh("test -s cli.rc") != 0 && waited++ < 1200)
        usleep(100 * 1000);
    char *out = NULL;
    assert_int_equal(sh_out(&out, "cat cli.rc; cat cli.err >&2"), 0);
    assert_int_equal(strtol(out, NULL, 10), 0);
    free(out);
    assert_int_equal(sh("grep -q 'continuing on device 1002' cli.err"), 0);
    /* Every APK verifies; some were signed on each device; no APK's signature of a
     * scheme was recorded twice. */
    assert_int_equal(sh("for i in $(seq 1 %d); do signet -q apk verify signed$i.apk >/dev/null || "
                        "exit 1; done", CLI_N), 0);
    assert_true(count(CLI_SIGNS("1002")) > 0);
    assert_int_equal(count("grep 'type=sign .*artifact=app[0-9]*.apk' audit/records.log | "
                           "grep -o ' data=[^ ]*' | sort | uniq -d | wc -l"), 0);
    /* The trail holds the first test's interrupted signatures (incidents); nothing
     * of this run is unrecorded, forged or claimed twice. */
    sh_out(&out, "signet audit verify audit 2>&1");
    assert_non_null(out);
    assert_null(strstr(out, "unrecorded"));
    assert_null(strstr(out, "forged"));
    assert_null(strstr(out, "claimed by a second record"));
    assert_non_null(strstr(out, "summary:"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(killed_mid_batch),
        cmocka_unit_test(cli_killed_mid_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

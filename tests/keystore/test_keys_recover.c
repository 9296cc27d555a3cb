/* `signet keys` after things went wrong, each ending in a message that leads to
 * the fix or in the fix itself, on a signet-hsm with the YubiHSM 2 latency profile
 * (an RSA-2048 generation takes 3 s, so a kill lands inside it):
 *   - SIGTERM during `keys generate`: the rerun replaces its own unpublished key;
 *     a foreign key at the id is still refused and left alone;
 *   - progress: one line per key as it starts, with elapsed time and an estimate;
 *   - `keys list` on a directory without a key map is an error (not found);
 *   - a damaged .wrapped file says to restore it from the backup copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hsmd_fixture.h"

static struct hsmd h;
static char env[2048];

/* Runs a shell command in the daemon's directory with signet on PATH; stdout and
 * stderr together in *out (may be NULL). */
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s (", h.dir, env);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    snprintf(cmd + n, sizeof cmd - (size_t)n, ") 2>&1");
    char *o = NULL;
    int rc = run_cmd(cmd, &o);
    fprintf(stderr, "%s", o ? o : "");
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

static int setup(void **state)
{
    if (hsmd_start(&h, "--latency yubihsm2") != 0)
        return -1;
    snprintf(env, sizeof env,
             "export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password SIGNET_CONF= PATH=%s:$PATH;",
             h.url, getenv("SIGNET_BIN_DIR"));
    return sh(NULL, "printf '%%064d' 7 > wrap.hex && "
                    "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
                    "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
                    "mkdir -m 700 keys && printf '%%s\\n' "
                    "'rsa_k 0x0110 rsa2048 1 apk' 'ec_a 0x0111 ecp256 1 apk' "
                    "'ec_b 0x0112 ecp256 1 apk' 'other 0x0113 ecp256 1 apk' > keys/keymap.txt") == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    hsmd_cleanup(&h);
    return 0;
}

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB), 0);
    bool m = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

static void sigterm_mid_generation_then_rerun(void **state)
{
    /* The kill comes while the device is generating (3 s): the device finishes,
     * the key stays on the HSM, nothing is published. */
    assert_int_equal(sh(NULL, "signet keys generate --keystore keys --only rsa_k 2> gen.err & p=$!; "
                              "for i in $(seq 1000); do grep -q 'generating RSA-2048' gen.err && "
                              "break; sleep 0.01; done; sleep 1; kill -TERM $p; wait $p; "
                              "echo killed: $?"),
                     0);
    assert_int_equal(sh(NULL, "test ! -e keys/rsa_k.wrapped"), 0);
    char *out = NULL;
    /* Wait for the device to finish the generation the dead process asked for. */
    assert_int_equal(sh(&out, "for i in $(seq 100); do signet hsm list | grep -q 0x0110 && exit 0; "
                              "sleep 0.2; done; exit 1"),
                     0);
    free(out);
    /* The rerun recognises its own unpublished key and replaces it. */
    assert_int_equal(sh(&out, "signet keys generate --keystore keys --only rsa_k"), 0);
    assert_non_null(strstr(out, "rsa_k: replacing the unpublished key"));
    assert_non_null(strstr(out, "generated rsa_k 0x0110"));
    free(out);
    assert_int_equal(sh(NULL, "test -e keys/rsa_k.wrapped && "
                              "signet keys list --keystore keys | grep -q '^rsa_k .* resident'"),
                     0);
}

static void foreign_key_at_the_id_is_refused(void **state)
{
    /* A key someone else made at "other"'s id (another label): never deleted. */
    char *out = NULL;
    assert_int_equal(sh(NULL, "signet hsm generate --id 0x0113 --label someone-else "
                              "--domains 1 --capabilities sign-ecdsa --algorithm ecp256 "
                              ">/dev/null"),
                     0);
    int rc = sh(&out, "signet keys generate --keystore keys --only other");
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "is not an unpublished 'other'"));
    assert_non_null(strstr(out, "signet hsm delete 0x0113 asymmetric-key"));
    free(out);
    assert_int_equal(sh(&out, "signet hsm list"), 0);
    assert_non_null(strstr(out, "0x0113"));
    free(out);
}

static void progress_per_key(void **state)
{
    char *out = NULL;
    assert_int_equal(sh(&out, "signet keys generate --keystore keys --only ec_a --only ec_b "
                              ">/dev/null"),
                     0);
    assert_true(matches(out, "^1/2 ec_a: generating EC P-256 on the HSM \\([0-9]+ s\\)$"));
    assert_true(matches(out, "^2/2 ec_b: generating EC P-256 on the HSM \\([0-9]+ s, ~[0-9]+ s "
                             "left\\)$"));
    free(out);
    /* -q: no progress at all. */
    assert_int_equal(sh(&out, "signet -q keys generate --keystore keys --only ec_a"), 0);
    assert_null(strstr(out, "generating"));
    free(out);
}

static void list_without_key_map(void **state)
{
    char *out = NULL;
    /* Exit 6: not found (docs/signet.1.md). */
    assert_int_equal(sh(&out, "mkdir -p empty && signet keys list --keystore empty --offline"), 6);
    assert_non_null(strstr(out, "has no key map"));
    assert_non_null(strstr(out, "signet keys init --keystore empty"));
    free(out);
}

static void damaged_wrapped_copy(void **state)
{
    char *out = NULL;
    /* Flip one byte in the middle of ec_b's wrapped copy, make it non-resident,
     * and load it. */
    assert_int_equal(sh(NULL, "signet keys evict --keystore keys ec_b >/dev/null && "
                              "python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,\"rb\").read()); "
                              "b[len(b)//2]^=1; open(p,\"wb\").write(b)' keys/ec_b.wrapped"),
                     0);
    int rc = sh(&out, "signet keys load --keystore keys ec_b");
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "ec_b.wrapped does not unwrap"));
    assert_non_null(strstr(out, "restore it from the backup copy"));
    free(out);
    /* Cut short: the same advice. */
    assert_int_equal(sh(NULL, "head -c 10 keys/ec_a.wrapped > t && mv t keys/ec_a.wrapped && "
                              "signet keys evict --keystore keys ec_a >/dev/null; true"),
                     0);
    rc = sh(&out, "signet keys load --keystore keys ec_a");
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, "restore it from the backup copy"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigterm_mid_generation_then_rerun),
        cmocka_unit_test(foreign_key_at_the_id_is_refused),
        cmocka_unit_test(progress_per_key),
        cmocka_unit_test(list_without_key_map),
        cmocka_unit_test(damaged_wrapped_copy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

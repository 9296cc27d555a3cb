/* The signing cache through the PKCS#11 module under Debian's apksigner: re-signing
 * an unchanged APK makes no device operation (counted in the device's own audit log,
 * drained into the trail), writes the same bytes, and leaves reuse records that
 * `signet audit verify` accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11_env.h"

static struct p11_env env;
static char work[400], apk[500], p11cfg[500];

static int apksign(const char *in, const char *out)
{
    return p11_sh(NULL,
              "PIN=%s %s apksigner -J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED "
              "sign --ks NONE --ks-type PKCS11 --ks-pass env:PIN --provider-class "
              "sun.security.pkcs11.SunPKCS11 --provider-arg %s --ks-key-alias platform "
              "--min-sdk-version 24 --v1-signing-enabled false --v2-signing-enabled true "
              "--v3-signing-enabled true --out %s %s",
              P11_TEST_PIN, p11_peer_env(), p11cfg, out, in);
}

/* Successful sign-pkcs1 entries (command 0x47) of the device so far: the trail's
 * copy of the device log after a drain. */
static long device_signs(void)
{
    char *out = NULL;
    long n = -1;
    if (p11_sh(&out, "SIGNET_PASSWORD=password %s/signet -q --config %s audit drain %s >/dev/null "
                     "&& (cat %s/device-*.log | grep -c ' cmd=0x47 .*result=0xc7 ' || true)",
               getenv("SIGNET_BIN_DIR"), env.conf, env.audit, env.audit) == 0 && out)
        n = strtol(out, NULL, 10);
    free(out);
    return n;
}

static void resign_unchanged_apk_makes_no_device_operation(void **state)
{
    char a1[600], a2[600];
    snprintf(a1, sizeof a1, "%s/first.apk", work);
    snprintf(a2, sizeof a2, "%s/again.apk", work);
    long d0 = device_signs();
    assert_int_equal(apksign(apk, a1), 0);
    long d1 = device_signs();
    assert_true(d1 >= d0 + 2); /* v2 and v3: two signatures at least */
    int r1 = p11_env_count_records(&env);

    assert_int_equal(apksign(apk, a2), 0);
    assert_int_equal(device_signs(), d1);        /* no device signature */
    assert_int_equal(p11_sh(NULL, "cmp %s %s", a1, a2), 0);
    assert_int_equal(p11_sh(NULL, "apksigner verify --min-sdk-version 24 %s", a2), 0);
    /* Every signature apksigner got has its record: reuse records this time. */
    assert_int_equal(p11_env_count_records(&env), r1 + (int)(d1 - d0));
    char *out = NULL;
    assert_int_equal(p11_sh(&out, "grep -c ' type=reuse ' %s/records.log", env.audit), 0);
    assert_int_equal(strtol(out, NULL, 10), d1 - d0);
    free(out);
    /* The verifier pairs each reuse with its sign record; this trail has no log key,
     * so its one expected finding is the missing verifier key. */
    assert_int_equal(p11_sh(&out, "SIGNET_PASSWORD=password %s/signet --config %s audit verify %s "
                                  "2>&1 | grep -v '^FINDING verifier-key' | grep -c '^FINDING' "
                                  "|| true", getenv("SIGNET_BIN_DIR"), env.conf, env.audit), 0);
    assert_int_equal(strtol(out, NULL, 10), 0);
    free(out);

    /* apksigner with SIGNET_ARTIFACT names the input; `signet audit bind` then binds the
     * finished output to those signatures (here cache hits: reuse records). */
    char a3[600];
    snprintf(a3, sizeof a3, "%s/bound.apk", work);
    setenv("SIGNET_ARTIFACT", apk, 1);
    assert_int_equal(apksign(apk, a3), 0);
    unsetenv("SIGNET_ARTIFACT");
    assert_int_equal(device_signs(), d1);
    char *bound = NULL;
    assert_int_equal(p11_sh(&bound, "SIGNET_PASSWORD=password %s/signet --config %s audit bind %s %s",
                            getenv("SIGNET_BIN_DIR"), env.conf, apk, a3), 0);
    char want[64];
    snprintf(want, sizeof want, "to %ld signatures of", d1 - d0);
    assert_non_null(strstr(bound, want));
    free(bound);
    assert_int_equal(p11_sh(NULL, "grep ' type=bind ' %s/records.log | grep -q "
                                  "\"output_sha256=$(sha256sum %s | cut -c1-64)\"",
                            env.audit, a3), 0);
    /* Everything of that input is bound now: a second bind finds nothing (exit 6). */
    assert_int_equal(p11_sh(NULL, "SIGNET_PASSWORD=password %s/signet --config %s audit bind %s %s "
                                  "2>/dev/null; test $? = 6",
                            getenv("SIGNET_BIN_DIR"), env.conf, apk, a3), 0);
    assert_int_equal(p11_sh(&out, "SIGNET_PASSWORD=password %s/signet --config %s audit verify %s "
                                  "2>&1 | grep -v '^FINDING verifier-key' | grep -c '^FINDING' "
                                  "|| true", getenv("SIGNET_BIN_DIR"), env.conf, env.audit), 0);
    assert_int_equal(strtol(out, NULL, 10), 0);
    free(out);

    /* SIGNET_CACHE=off: the device signs again. */
    assert_int_equal(p11_sh(NULL, "SIGNET_CACHE=off PIN=%s %s apksigner "
                                  "-J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED "
                                  "sign --ks NONE --ks-type PKCS11 --ks-pass env:PIN "
                                  "--provider-class sun.security.pkcs11.SunPKCS11 --provider-arg %s "
                                  "--ks-key-alias platform --min-sdk-version 24 "
                                  "--v1-signing-enabled false --out %s/off.apk %s",
                            P11_TEST_PIN, p11_peer_env(), p11cfg, work, apk), 0);
    assert_int_equal(device_signs(), d1 + (d1 - d0));
}

static int setup(void **state)
{
    if (p11_env_start(&env, "platform rsa2048", true, NULL) != 0)
        return -1;
    snprintf(work, sizeof work, "%s/work", env.h.dir);
    snprintf(apk, sizeof apk, "%s/app.apk", work);
    snprintf(p11cfg, sizeof p11cfg, "%s/p11.cfg", work);
    char text[1000];
    snprintf(text, sizeof text, "name = signet\nlibrary = %s\nslotListIndex = 0\n", env.module);
    if (p11_sh(NULL, "mkdir -p %s/apk && cd %s/apk && "
                     "printf '\\003\\000\\010\\000manifest' > AndroidManifest.xml && "
                     "printf 'dex\\n035\\000' > classes.dex && head -c 4096 /dev/urandom > res.bin "
                     "&& zip -q -X ../unaligned.apk AndroidManifest.xml classes.dex res.bin && "
                     "zipalign -f 4 ../unaligned.apk %s", work, work, apk) != 0)
        return -1;
    return test_write_file(p11cfg, text, strlen(text));
}

static int teardown(void **state)
{
    p11_env_stop(&env);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(resign_unchanged_apk_makes_no_device_operation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Redaction of caller command lines: secrets never reach a record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "signet/audit.h"

static void check(const char *in, const char *want)
{
    sb_wr w;
    sbw_init(&w, 8192);
    assert_int_equal(signet_redact_cmdline(in, &w), SIGNET_OK);
    assert_int_equal(sbw_u8(&w, 0), SIGNET_OK);
    assert_string_equal((char *)w.p, want);
    sbw_free(&w);
}

static void redaction(void **state)
{
    check("apksigner sign --ks-pass pass:hunter2 --ks NONE app.apk",
          "apksigner sign --ks-pass pass:<redacted> --ks NONE app.apk");
    check("apksigner sign --ks-pass env:SIGNET_PIN --key-pass file:/run/pin a.apk",
          "apksigner sign --ks-pass env:SIGNET_PIN --key-pass file:/run/pin a.apk");
    check("pkcs11-tool --pin 123456 --login -s", "pkcs11-tool --pin <redacted> --login -s");
    check("pkcs11-tool --pin=123456 -s", "pkcs11-tool --pin=<redacted> -s");
    check("openssl pkeyutl -passin pass:s3cret -in x", "openssl pkeyutl -passin pass:<redacted> -in x");
    check("tool SIGNET_PASSWORD=abc user_pin=1234 api_token=zz mode=fast",
          "tool SIGNET_PASSWORD=<redacted> user_pin=<redacted> api_token=<redacted> mode=fast");
    check("curl https://alice:pw123@example.org/x", "curl https://alice:<redacted>@example.org/x");
    check("keytool -storepass changeit -list", "keytool -storepass <redacted> -list");
    check("sign --password", "sign --password");
    check("avbtool add_hash_footer --image boot.img", "avbtool add_hash_footer --image boot.img");
}

static void argv_form(void **state)
{
    char *argv[] = {"apksigner", "--ks-pass", "pass:with space", NULL};
    sb_wr w;
    sbw_init(&w, 1024);
    assert_int_equal(signet_redact_argv(3, argv, &w), SIGNET_OK);
    assert_int_equal(sbw_u8(&w, 0), SIGNET_OK);
    assert_string_equal((char *)w.p, "apksigner --ks-pass pass:<redacted>");
    assert_null(strstr((char *)w.p, "space"));
    sbw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(redaction), cmocka_unit_test(argv_form)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The PKCS#11 backend on SoftHSM2, end to end: the key store of signet-hsm moved
 * onto a token by `signet keys migrate` (no re-keying), the same APK signed through
 * both backends byte for byte identical (RSA PKCS#1 v1.5 is deterministic), the
 * signing helpers over the token checked with openssl, and `audit verify` saying
 * plainly that the token's sign records stand alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apk/apk_fixture.h"
#include "common/hsmd_fixture.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

static struct hsmd h;
static char env[2048]; /* shell prefix: environment and the signet binary */

static int sh_out(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh_out(char **out, const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", h.dir, env);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, out);
}
#define sh(...) sh_out(NULL, __VA_ARGS__)

static int setup(void **state)
{
    (void)state;
    if (hsmd_start(&h, NULL) != 0)
        return -1;
    snprintf(env, sizeof env,
             "export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password SIGNET_CONF=%s/signet.conf "
             "SOFTHSM2_CONF=%s/softhsm2.conf PATH=%s:$PATH;",
             h.url, h.dir, h.dir, getenv("SIGNET_BIN_DIR"));
    /* The YubiHSM side (signet.conf) and the token side (p11.conf) share the key
     * store and the trail. */
    int rc = sh("printf 'connector = %s\\nkeystore = %s/keys\\naudit = %s/audit\\n' > signet.conf && "
                "printf 'backend = pkcs11\\npkcs11_module = " SOFTHSM "\\npkcs11_token = signet\\n"
                "pkcs11_pin_file = %s/pin\\nkeystore = %s/keys\\naudit = %s/audit\\n' > p11.conf && "
                "mkdir tokens && printf 'directories.tokendir = %s/tokens\\n"
                "objectstore.backend = file\\nlog.level = ERROR\\n' > softhsm2.conf && "
                "softhsm2-util --init-token --free --label signet --pin 123456 --so-pin 654321 "
                "  >/dev/null && echo 123456 > pin",
                h.url, h.dir, h.dir, h.dir, h.dir, h.dir, h.dir);
    if (rc == 0)
        rc = sh("printf '%%064d' 7 > wrap.hex && "
                "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
                "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
                "signet hsm set-option command-audit sign-pkcs1=on,sign-pss=on,sign-ecdsa=on,"
                "sign-eddsa=on && signet -q audit init >/dev/null && "
                "signet keys init --device t --algorithm rsa2048 >/dev/null && "
                "printf 'ecp 0x0200 ecp256 1 apk\\nedk 0x0201 ed25519 1 apk\\n' >> keys/keymap.txt && "
                "signet -q keys generate --only platform --only avb_t --only releasekey --only ecp "
                "  --only edk >/dev/null");
    /* An APK without a manifest: the min SDK comes from the command line. */
    if (rc == 0)
        rc = sh("head -c 30000 /dev/urandom > payload.bin && zip -q in.apk payload.bin pin");
    return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hsmd_cleanup(&h);
    return 0;
}

#define P11 "SIGNET_CONF=$PWD/p11.conf "

static void migrate_and_sign_identical(void **state)
{
    (void)state;
    /* A wrong wrap key opens nothing and moves nothing. */
    assert_int_equal(sh("printf '%%064d' 8 > bad.hex && " P11 "signet keys migrate "
                        "--wrap-key-file bad.hex platform 2>err; grep -q 'does not open under "
                        "this wrap key' err"), 0);
    assert_int_equal(sh("! pkcs11-tool --module " SOFTHSM " -l --pin 123456 -O 2>/dev/null | "
                        "grep -q platform"), 0);
    /* Signing with a key the token lacks says how to move it. */
    assert_int_equal(sh(P11 "signet -q apk sign --key platform --min-sdk-version 28 --in in.apk "
                        "--out x.apk 2>err; grep -q 'signet keys migrate' err"), 0);
    char *out = NULL;
#define MOVED "platform avb_t releasekey ecp"
    assert_int_equal(sh_out(&out, P11 "signet -q keys migrate --wrap-key-file wrap.hex " MOVED), 0);
    assert_non_null(strstr(out, "4 keys moved, 0 already on the token"));
    free(out);
    /* Again: nothing to do, the token's keys are the store's. */
    assert_int_equal(sh_out(&out, P11 "signet -q keys migrate --wrap-key-file wrap.hex " MOVED), 0);
    assert_non_null(strstr(out, "0 keys moved, 4 already on the token"));
    free(out);
    /* SoftHSM2 2.6 unwraps no Ed25519 key: refused plainly, nothing left behind. */
    assert_int_not_equal(sh_out(&out, P11 "signet -q keys migrate --wrap-key-file wrap.hex edk "
                                "2>&1"), 0);
    assert_non_null(strstr(out, "does not unwrap Ed25519 keys"));
    free(out);
    assert_int_equal(sh("! pkcs11-tool --module " SOFTHSM " -l --pin 123456 -O 2>/dev/null | "
                        "grep -q 'label: *edk$'"), 0);
    /* The token holds the private key as sensitive: it never comes out in plaintext. */
    assert_int_equal(sh("pkcs11-tool --module " SOFTHSM " -l --pin 123456 -O 2>/dev/null | "
                        "grep -A8 'Private Key' | grep -q 'sensitive'"), 0);

    /* EC P-256 moved too: ECDSA through the signing path, checked with openssl. */
    assert_int_equal(sh("head -c 4000 /dev/urandom > m.bin && " P11 "signet sign --key ecp "
                        "--in m.bin --out m.sig && openssl dgst -sha256 -verify keys/ecp.pub.pem "
                        "-signature m.sig m.bin >/dev/null"), 0);

    /* One APK through both backends: the same bytes. */
    assert_int_equal(sh("signet -q apk sign --key platform --min-sdk-version 28 --in in.apk "
                        "--out yh.apk"), 0);
    assert_int_equal(sh(P11 "signet -q apk sign --key platform --min-sdk-version 28 --no-cache "
                        "--in in.apk --out p11.apk"), 0);
    assert_int_equal(sh("cmp yh.apk p11.apk"), 0);
    assert_int_equal(sh("grep -c 'log=none key=platform' audit/records.log | grep -qx 2"), 0);
}

static void helpers_on_token(void **state)
{
    (void)state;
    /* signet sign and the avbtool helper over the token, checked with openssl. */
    assert_int_equal(sh("head -c 5000 /dev/urandom > art.bin && " P11 "signet sign --key avb_t "
                        "--in art.bin --out art.sig && openssl dgst -sha256 -verify "
                        "keys/avb_t.pub.pem -signature art.sig art.bin >/dev/null"), 0);
    assert_int_equal(sh("python3 -c 'import hashlib,sys; "
                        "d=hashlib.sha256(open(\"art.bin\",\"rb\").read()).digest(); "
                        "di=bytes.fromhex(\"3031300d060960864801650304020105000420\")+d; "
                        "sys.stdout.buffer.write(b\"\\x00\\x01\"+b\"\\xff\"*(256-3-len(di))+"
                        "b\"\\x00\"+di)' > block && " P11 "signet avb-sign SHA256_RSA2048 avb_t "
                        "< block > block.sig && cmp block.sig art.sig"), 0);
    /* The payload signer's digest-in, signature-out form. */
    assert_int_equal(sh("openssl dgst -sha256 -binary art.bin > art.dgst && " P11
                        "signet-payload-sign --key avb_t --in art.dgst --out pay.sig && "
                        "cmp pay.sig art.sig"), 0);
}

/* Re-keying an APK instead: the old key (on the token) signs the rotation to the new
 * one (on the token too), and apksigner accepts the rotated APK. */
static void rotation_on_token(void **state)
{
    (void)state;
    assert_int_equal(apkfix_build(h.dir, "app.apk", "dex:3000 res:500 sdk:28"), 0);
    assert_int_equal(sh(P11 "signet -q apk lineage --old-key platform --new-key releasekey "
                        "--out rot.lineage"), 0);
    /* Rotation from Android 9 in the v3 block, which apksigner 31.0.2 verifies (the
     * default aims at Android 13 with a v3.1 block it does not know). */
    assert_int_equal(sh(P11 "signet -q apk sign --key releasekey --lineage rot.lineage "
                        "--rotation-min-sdk-version 28 --in app.apk --out rot.apk"), 0);
    char *out = NULL;
    assert_int_equal(sh_out(&out, "apksigner verify -v --print-certs rot.apk 2>&1"), 0);
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    free(out);
    /* The lineage names the two keys of the store, oldest first. */
    assert_int_equal(sh("apksigner lineage --in rot.lineage --print-certs 2>&1 | "
                        "grep -c 'in lineage certificate DN' | grep -qx 2"), 0);
}

static void trail_verifies_honestly(void **state)
{
    (void)state;
    char *out = NULL;
    /* Notices only: exit 0, and the token's records are said to stand alone. */
    assert_int_equal(sh_out(&out, "signet audit verify audit 2>&1"), 0);
    assert_non_null(strstr(out, "keeps no log (a PKCS#11 token)"));
    assert_non_null(strstr(out, "stand alone"));
    free(out);
    /* A YubiHSM record rewritten to claim "no log" is a forgery, not a notice. */
    assert_int_equal(sh("cp -r audit forged && sed -i '0,/type=sign .*dev=[0-9]* seq=[0-9]* /"
                        "s/ seq=[0-9]* / log=none /' forged/records.log && "
                        "grep -q 'log=none key=avb_t\\|log=none key=platform' forged/records.log"),
                     0);
    assert_int_not_equal(sh_out(&out, "signet audit verify forged 2>&1"), 0);
    assert_non_null(strstr(out, "forged"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrate_and_sign_identical),
        cmocka_unit_test(helpers_on_token),
        cmocka_unit_test(rotation_on_token),
        cmocka_unit_test(trail_verifies_honestly),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

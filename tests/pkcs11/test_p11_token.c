/* libsignet-pkcs11.so over the PKCS#11 backend: signet.conf names a SoftHSM2 token
 * (backend = pkcs11), the keys were made on that token by `signet keys generate`,
 * and real programs sign through signet's module, whose signatures the token
 * makes: pkcs11-tool (OpenSC), openssl with libengine-pkcs11-openssl (libp11) and
 * apksigner (SunPKCS11).  Every signature is checked by openssl or apksigner with
 * the key store's public key or certificate, not through the module.  The module's
 * PIN keeps the yubihsm_pkcs11 form: 4 hex digits, then the token's user PIN. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p11_env.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
#define MODULE_PIN "0001123456"

static char dir[256], module[600], pre[1500];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/signet-p11token-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    const char *bin = getenv("SIGNET_BIN_DIR");
    snprintf(module, sizeof module, "%s/../lib/libsignet-pkcs11.so", bin);
    snprintf(pre, sizeof pre,
             "cd %s && export SIGNET_CONF=%s/p11.conf SOFTHSM2_CONF=%s/softhsm2.conf "
             "PATH=%s:$PATH SIGNET_CACHE=off;", dir, dir, dir, bin);
    return p11_sh(NULL,
                  "%s printf 'backend = pkcs11\\npkcs11_module = " SOFTHSM "\\npkcs11_token = "
                  "signet\\npkcs11_pin_file = %s/pin\\nkeystore = %s/keys\\n' > p11.conf && "
                  "mkdir tokens && printf 'directories.tokendir = %s/tokens\\n"
                  "objectstore.backend = file\\nlog.level = ERROR\\n' > softhsm2.conf && "
                  "softhsm2-util --init-token --free --label signet --pin 123456 --so-pin 654321 "
                  ">/dev/null && echo 123456 > pin && echo 654321 > so.pin && "
                  "signet -q keys token-wrap-key --so-pin-file so.pin >/dev/null && "
                  "signet keys init --device t --algorithm rsa2048 >/dev/null && "
                  "printf 'ecp 0x0200 ecp256 1 apk\\n' >> keys/keymap.txt && "
                  "signet -q keys generate --only releasekey --only ecp >/dev/null && "
                  "head -c 3000 /dev/urandom > art.bin",
                  pre, dir, dir, dir) == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    return p11_sh(NULL, "rm -rf %s", dir) == 0 ? 0 : -1;
}

static void pkcs11_tool_signs(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(p11_sh(&out, "%s %s pkcs11-tool --module %s --list-objects", pre,
                            p11_peer_env(), module), 0);
    assert_non_null(strstr(out, "label:      releasekey"));
    assert_non_null(strstr(out, "label:      ecp"));
    free(out);
    char tool[2500];
    snprintf(tool, sizeof tool, "%s P11PIN=" MODULE_PIN " %s pkcs11-tool --module %s --login "
             "--pin env:P11PIN", pre, p11_peer_env(), module);
    assert_int_equal(p11_sh(NULL, "%s --sign -m SHA256-RSA-PKCS --id 0100 -i art.bin -o r.sig && "
                            "openssl dgst -sha256 -verify keys/releasekey.pub.pem -signature r.sig "
                            "art.bin", tool), 0);
    assert_int_equal(p11_sh(NULL, "%s --sign -m SHA256-RSA-PKCS-PSS --id 0100 -i art.bin -o p.sig "
                            "&& openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt "
                            "rsa_pss_saltlen:32 -verify keys/releasekey.pub.pem -signature p.sig "
                            "art.bin", tool), 0);
    assert_int_equal(p11_sh(NULL, "%s --sign -m ECDSA-SHA256 --id 0200 --signature-format openssl "
                            "-i art.bin -o e.sig && openssl dgst -sha256 -verify keys/ecp.pub.pem "
                            "-signature e.sig art.bin", tool), 0);
    /* A wrong token PIN behind the module's PIN form is refused. */
    assert_int_not_equal(p11_sh(NULL, "%s P11PIN=0001999999 %s pkcs11-tool --module %s --login "
                                "--pin env:P11PIN --sign -m SHA256-RSA-PKCS --id 0100 -i art.bin "
                                "-o x.sig 2>/dev/null", pre, p11_peer_env(), module), 0);
}

static void openssl_engine_signs(void **state)
{
    (void)state;
    /* The PIN goes in the engine's configuration, not on the command line. */
    assert_int_equal(p11_sh(NULL, "%s printf 'openssl_conf = init\\n[init]\\nengines = engines\\n"
                            "[engines]\\npkcs11 = pkcs11\\n[pkcs11]\\nengine_id = pkcs11\\n"
                            "MODULE_PATH = %s\\nPIN = " MODULE_PIN "\\ninit = 0\\n' > engine.cnf",
                            pre, module), 0);
    char eng[2500];
    snprintf(eng, sizeof eng, "%s OPENSSL_CONF=%s/engine.cnf %s openssl", pre, dir, p11_peer_env());
    assert_int_equal(p11_sh(NULL, "%s dgst -sha256 -engine pkcs11 -keyform engine -sign "
                            "'pkcs11:object=releasekey;type=private' -out o.sig art.bin && "
                            "openssl dgst -sha256 -verify keys/releasekey.pub.pem -signature o.sig "
                            "art.bin", eng), 0);
    assert_int_equal(p11_sh(NULL, "%s dgst -sha256 -engine pkcs11 -keyform engine -sign "
                            "'pkcs11:object=ecp;type=private' -out oe.sig art.bin && "
                            "openssl dgst -sha256 -verify keys/ecp.pub.pem -signature oe.sig "
                            "art.bin", eng), 0);
}

static void apksigner_signs(void **state)
{
    (void)state;
    assert_int_equal(p11_sh(NULL, "%s mkdir apk && cd apk && printf '\\003\\000\\010\\000manifest' "
                            "> AndroidManifest.xml && printf 'dex\\n035\\000' > classes.dex && "
                            "head -c 4096 /dev/urandom > res.bin && zip -q -X ../unaligned.apk "
                            "AndroidManifest.xml classes.dex res.bin && cd .. && zipalign -f 4 "
                            "unaligned.apk app.apk && printf 'name = signet\\nlibrary = %s\\n"
                            "slotListIndex = 0\\n' > sun.cfg", pre, module), 0);
    assert_int_equal(p11_sh(NULL, "%s PIN=" MODULE_PIN " %s apksigner "
                            "-J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED "
                            "sign --ks NONE --ks-type PKCS11 --ks-pass env:PIN --provider-class "
                            "sun.security.pkcs11.SunPKCS11 --provider-arg sun.cfg --ks-key-alias "
                            "releasekey --min-sdk-version 28 --v1-signing-enabled false "
                            "--out signed.apk app.apk", pre, p11_peer_env()), 0);
    char *out = NULL, *fp = NULL;
    assert_int_equal(p11_sh(&out, "%s apksigner verify -v --print-certs --min-sdk-version 28 "
                            "signed.apk", pre), 0);
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    /* Signed by the key the token made: its certificate's SHA-256 digest. */
    assert_int_equal(p11_sh(&fp, "%s openssl x509 -in keys/releasekey.x509.pem -outform DER | "
                            "openssl dgst -sha256 -r | cut -c1-64", pre), 0);
    fp[64] = 0;
    assert_non_null(strstr(out, fp));
    free(fp);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pkcs11_tool_signs),
        cmocka_unit_test(openssl_engine_signs),
        cmocka_unit_test(apksigner_signs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

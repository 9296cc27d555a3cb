/* libsignet-pkcs11.so driven by the real programs a release build uses, against
 * signet-hsm: pkcs11-tool (OpenSC), openssl with libengine-pkcs11-openssl (libp11)
 * and apksigner (SunPKCS11).  Every signature is checked by a program that does
 * not go through the module (openssl with the key store's public key, apksigner
 * verify). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p11_env.h"

static struct p11_env env;
static char work[400];   /* files of this test */

/* Runs a shell command built with printf; returns its exit code, stdout in *out. */
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *o = NULL;
    int rc = run_cmd(cmd, &o);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n%s", rc, cmd, o ? o : "");
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

/* Programs built with sanitizers load the module only with the runtime preloaded;
 * the sanitizer also must not judge a JVM's or a tool's own leaks. */
static const char *peer_env(void)
{
    static char buf[600];
    const char *pre = getenv("SIGNET_P11_PRELOAD");
    snprintf(buf, sizeof buf, "%s%s%s", pre ? "LD_PRELOAD='" : "", pre ? pre : "",
             pre ? "' ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1 " : "");
    return buf;
}

#define TOOL "%s pkcs11-tool --module %s"

/* ---- pkcs11-tool ----------------------------------------------------------------------- */
static void pkcs11_tool_lists_objects(void **state)
{
    char *out = NULL;
    assert_int_equal(sh(&out, TOOL " --list-token-slots", peer_env(), env.module), 0);
    assert_non_null(strstr(out, "token label        : signet"));
    free(out);
    assert_int_equal(sh(&out, TOOL " --list-objects", peer_env(), env.module), 0);
    assert_non_null(strstr(out, "Public Key Object; RSA 2048 bits"));
    assert_non_null(strstr(out, "Certificate Object; type = X.509 cert"));
    assert_non_null(strstr(out, "label:      platform"));
    assert_non_null(strstr(out, "ID:         0101"));
    assert_null(strstr(out, "Private Key Object")); /* not before login */
    free(out);
    assert_int_equal(sh(&out, "P11PIN=%s " TOOL " --login --pin env:P11PIN --list-objects",
                        P11_TEST_PIN, peer_env(), env.module), 0);
    assert_non_null(strstr(out, "Private Key Object; RSA"));
    assert_non_null(strstr(out, "Private Key Object; EC"));
    free(out);
    assert_int_equal(sh(&out, TOOL " --list-mechanisms", peer_env(), env.module), 0);
    assert_non_null(strstr(out, "SHA256-RSA-PKCS"));
    assert_non_null(strstr(out, "ECDSA"));
    free(out);
}

static void pkcs11_tool_signs(void **state)
{
    char data[500], hash[500], di[500], sig[500];
    snprintf(data, sizeof data, "%s/data", work);
    snprintf(hash, sizeof hash, "%s/data.sha256", work);
    snprintf(di, sizeof di, "%s/data.digestinfo", work);
    snprintf(sig, sizeof sig, "%s/data.sig", work);
    assert_int_equal(test_write_file(data, "release bytes\n", 14), 0);
    assert_int_equal(sh(NULL, "openssl dgst -sha256 -binary -out %s %s", hash, data), 0);
    /* The DigestInfo of SHA-256 around the hash: what CKM_RSA_PKCS signs. */
    assert_int_equal(sh(NULL, "(printf '\\060\\061\\060\\015\\006\\011\\140\\206\\110\\001\\145\\003"
                              "\\004\\002\\001\\005\\000\\004\\040'; cat %s) > %s", hash, di), 0);
    char pre[1200];
    snprintf(pre, sizeof pre, "P11PIN=" P11_TEST_PIN " %s pkcs11-tool --module %s --login --pin env:P11PIN",
             peer_env(), env.module);

    assert_int_equal(sh(NULL, "%s --sign -m SHA256-RSA-PKCS --id 0101 -i %s -o %s", pre,
                        data, sig), 0);
    assert_int_equal(sh(NULL, "openssl dgst -sha256 -verify %s/platform.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    assert_int_equal(sh(NULL, "%s --sign -m RSA-PKCS --id 0101 -i %s -o %s", pre, di, sig), 0);
    assert_int_equal(sh(NULL, "openssl dgst -sha256 -verify %s/platform.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    assert_int_equal(sh(NULL, "%s --sign -m SHA256-RSA-PKCS-PSS --id 0101 -i %s -o %s", pre,
                        data, sig), 0);
    assert_int_equal(sh(NULL, "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt "
                              "rsa_pss_saltlen:32 -verify %s/platform.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    assert_int_equal(sh(NULL, "%s --sign -m ECDSA --id 0102 --signature-format openssl -i %s -o %s",
                        pre, hash, sig), 0);
    assert_int_equal(sh(NULL, "openssl dgst -sha256 -verify %s/ec.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);
    assert_int_equal(sh(NULL, "%s --sign -m ECDSA-SHA256 --id 0102 --signature-format openssl "
                              "-i %s -o %s", pre, data, sig), 0);
    assert_int_equal(sh(NULL, "openssl dgst -sha256 -verify %s/ec.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    /* A wrong PIN is refused. */
    assert_int_not_equal(sh(NULL, "P11PIN=0001wrong %s pkcs11-tool --module %s --login --pin "
                                  "env:P11PIN --sign -m SHA256-RSA-PKCS --id 0101 -i %s -o %s",
                            peer_env(), env.module, data, sig), 0);
}

static void pkcs11_tool_self_test(void **state)
{
    char *out = NULL;
    int rc = sh(&out, "P11PIN=%s " TOOL " --login --pin env:P11PIN --test 2>&1", P11_TEST_PIN,
                peer_env(), env.module);
    fprintf(stderr, "%s", out ? out : "");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "No errors"));
    free(out);
}

/* ---- openssl with libp11's engine ------------------------------------------------------------- */
static void openssl_engine(void **state)
{
    /* The PIN goes in the engine's configuration, not on the command line. */
    char cnf[500], text[1500];
    snprintf(cnf, sizeof cnf, "%s/openssl.cnf", work);
    snprintf(text, sizeof text,
             "openssl_conf = init\n[init]\nengines = engines\n[engines]\npkcs11 = pkcs11\n"
             "[pkcs11]\nengine_id = pkcs11\nMODULE_PATH = %s\nPIN = %s\ninit = 0\n"
             "[req]\ndistinguished_name = dn\n[dn]\n",
             env.module, P11_TEST_PIN);
    assert_int_equal(test_write_file(cnf, text, strlen(text)), 0);
    char pre[1000];
    snprintf(pre, sizeof pre, "OPENSSL_CONF=%s %s", cnf, peer_env());

    /* A certificate made by the HSM key, checked against the key store's public key. */
    assert_int_equal(sh(NULL, "%s openssl req -new -x509 -engine pkcs11 -keyform engine -key "
                              "'pkcs11:object=platform;type=private' -sha256 -days 2 "
                              "-subj /CN=signet-test -out %s/req.pem",
                        pre, work), 0);
    char *a = NULL, *b = NULL;
    assert_int_equal(sh(&a, "openssl x509 -in %s/req.pem -noout -pubkey", work), 0);
    assert_int_equal(sh(&b, "openssl pkey -pubin -in %s/platform.pub.pem", env.keystore), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(sh(NULL, "openssl verify -CAfile %s/req.pem %s/req.pem", work, work), 0);

    /* Detached signatures, RSA and EC. */
    char data[500];
    snprintf(data, sizeof data, "%s/engine.data", work);
    assert_int_equal(test_write_file(data, "an OTA payload hash", 19), 0);
    const char *keys[] = {"platform", "ec"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sh(NULL, "%s openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "
                                  "'pkcs11:object=%s;type=private' -out %s.%s.sig %s",
                            pre, keys[i], data, keys[i], data), 0);
        char *v = NULL;
        assert_int_equal(sh(&v, "openssl dgst -sha256 -verify %s/%s.pub.pem -signature %s.%s.sig %s",
                            env.keystore, keys[i], data, keys[i], data), 0);
        assert_non_null(strstr(v, "Verified OK"));
        free(v);
    }
}

/* ---- apksigner -------------------------------------------------------------------------------- */
static char apk[500], p11cfg[500];

/* A minimal APK: a zip with AndroidManifest.xml bytes and a classes.dex, zipaligned.
 * --min-sdk-version spares apksigner from parsing the manifest. */
static void make_apk(void)
{
    char d[500];
    snprintf(d, sizeof d, "%s/apk", work);
    snprintf(apk, sizeof apk, "%s/app.apk", work);
    assert_int_equal(sh(NULL, "mkdir -p %s && cd %s && printf '\\003\\000\\010\\000manifest' > "
                              "AndroidManifest.xml && printf 'dex\\n035\\000' > classes.dex && "
                              "head -c 4096 /dev/urandom > res.bin && "
                              "zip -q -X ../unaligned.apk AndroidManifest.xml classes.dex res.bin && "
                              "zipalign -f 4 ../unaligned.apk %s", d, d, apk), 0);
    snprintf(p11cfg, sizeof p11cfg, "%s/p11.cfg", work);
    char text[1000];
    snprintf(text, sizeof text, "name = signet\nlibrary = %s\nslotListIndex = 0\n", env.module);
    assert_int_equal(test_write_file(p11cfg, text, strlen(text)), 0);
}

/* The sign command as docs/pkcs11.md gives it; the PIN comes from $PIN. */
static int apksign(const char *in, const char *out)
{
    return sh(NULL,
              "PIN=%s %s apksigner -J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED "
              "sign --ks NONE --ks-type PKCS11 --ks-pass env:PIN --provider-class "
              "sun.security.pkcs11.SunPKCS11 --provider-arg %s --ks-key-alias platform "
              "--min-sdk-version 28 --v1-signing-enabled false --v2-signing-enabled true "
              "--v3-signing-enabled true --out %s %s",
              P11_TEST_PIN, peer_env(), p11cfg, out, in);
}

static void apksigner_signs_and_verifies(void **state)
{
    make_apk();
    char signed_apk[600];
    snprintf(signed_apk, sizeof signed_apk, "%s/signed.apk", work);
    assert_int_equal(apksign(apk, signed_apk), 0);
    char *out = NULL;
    assert_int_equal(sh(&out, "apksigner verify -v --print-certs --min-sdk-version 28 %s",
                        signed_apk), 0);
    /* With --min-sdk-version 28 the v3 block is what Android checks (and what apksigner
     * verify reports); v1 was not asked for. */
    assert_non_null(strstr(out, "Verifies"));
    assert_non_null(strstr(out, "Verified using v3 scheme (APK Signature Scheme v3): true"));
    assert_non_null(strstr(out, "Verified using v1 scheme (JAR signing): false"));
    /* Signed by the platform key: its certificate's SHA-256 digest. */
    char *fp = NULL;
    assert_int_equal(sh(&fp, "openssl x509 -in %s/platform.x509.pem -outform DER | "
                             "openssl dgst -sha256 -r | cut -c1-64", env.keystore), 0);
    fp[64] = 0;
    assert_non_null(strstr(out, fp));
    free(fp);
    free(out);
}

/* apksigner never closes its sessions nor calls C_Finalize.  100 runs in a row on a
 * device with 16 sessions that expire only after 30 s idle: any leaked device session
 * would exhaust it long before the end. */
static void apksigner_100_runs_do_not_exhaust_sessions(void **state)
{
    char out[600];
    for (int i = 0; i < 100; i++) {
        snprintf(out, sizeof out, "%s/seq-%d.apk", work, i % 2);
        assert_int_equal(apksign(apk, out), 0);
    }
    assert_int_equal(sh(NULL, "apksigner verify --min-sdk-version 28 %s", out), 0);
}

static void apksigner_8_concurrent_runs(void **state)
{
    pid_t pids[8];
    for (int i = 0; i < 8; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            char out[600];
            snprintf(out, sizeof out, "%s/par-%d.apk", work, i);
            _exit(apksign(apk, out) == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < 8; i++) {
        int st;
        assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(sh(NULL, "apksigner verify --min-sdk-version 28 %s/par-%d.apk", work, i), 0);
}

static int setup(void **state)
{
    if (p11_env_start(&env, "platform rsa2048,ec ecp256", false, NULL) != 0)
        return -1;
    snprintf(work, sizeof work, "%s/work", env.h.dir);
    return sh(NULL, "mkdir -p %s", work);
}

static int teardown(void **state)
{
    p11_env_stop(&env);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pkcs11_tool_lists_objects),
        cmocka_unit_test(pkcs11_tool_signs),
        cmocka_unit_test(pkcs11_tool_self_test),
        cmocka_unit_test(openssl_engine),
        cmocka_unit_test(apksigner_signs_and_verifies),
        cmocka_unit_test(apksigner_100_runs_do_not_exhaust_sessions),
        cmocka_unit_test(apksigner_8_concurrent_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

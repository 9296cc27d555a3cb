/* libsignet-pkcs11.so driven by real programs, against signet-hsm: pkcs11-tool
 * (OpenSC) and openssl with libengine-pkcs11-openssl (libp11).  Every signature is
 * checked by openssl with the key store's public key, not through the module.
 * apksigner (SunPKCS11) has its own test, test_p11_apksigner. */
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

#define TOOL "%s pkcs11-tool --module %s"

/* ---- pkcs11-tool ----------------------------------------------------------------------- */
static void pkcs11_tool_lists_objects(void **state)
{
    char *out = NULL;
    assert_int_equal(p11_sh(&out, TOOL " --list-token-slots", p11_peer_env(), env.module), 0);
    assert_non_null(strstr(out, "token label        : signet"));
    free(out);
    assert_int_equal(p11_sh(&out, TOOL " --list-objects", p11_peer_env(), env.module), 0);
    assert_non_null(strstr(out, "Public Key Object; RSA 2048 bits"));
    assert_non_null(strstr(out, "Certificate Object; type = X.509 cert"));
    assert_non_null(strstr(out, "label:      platform"));
    assert_non_null(strstr(out, "ID:         0101"));
    assert_null(strstr(out, "Private Key Object")); /* not before login */
    free(out);
    assert_int_equal(p11_sh(&out, "P11PIN=%s " TOOL " --login --pin env:P11PIN --list-objects",
                        P11_TEST_PIN, p11_peer_env(), env.module), 0);
    assert_non_null(strstr(out, "Private Key Object; RSA"));
    assert_non_null(strstr(out, "Private Key Object; EC"));
    free(out);
    assert_int_equal(p11_sh(&out, TOOL " --list-mechanisms", p11_peer_env(), env.module), 0);
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
    assert_int_equal(p11_sh(NULL, "openssl dgst -sha256 -binary -out %s %s", hash, data), 0);
    /* The DigestInfo of SHA-256 around the hash: what CKM_RSA_PKCS signs. */
    assert_int_equal(p11_sh(NULL, "(printf '\\060\\061\\060\\015\\006\\011\\140\\206\\110\\001\\145\\003"
                              "\\004\\002\\001\\005\\000\\004\\040'; cat %s) > %s", hash, di), 0);
    char pre[1200];
    snprintf(pre, sizeof pre, "P11PIN=" P11_TEST_PIN " %s pkcs11-tool --module %s --login --pin env:P11PIN",
             p11_peer_env(), env.module);

    assert_int_equal(p11_sh(NULL, "%s --sign -m SHA256-RSA-PKCS --id 0101 -i %s -o %s", pre,
                        data, sig), 0);
    assert_int_equal(p11_sh(NULL, "openssl dgst -sha256 -verify %s/platform.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    assert_int_equal(p11_sh(NULL, "%s --sign -m RSA-PKCS --id 0101 -i %s -o %s", pre, di, sig), 0);
    assert_int_equal(p11_sh(NULL, "openssl dgst -sha256 -verify %s/platform.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    assert_int_equal(p11_sh(NULL, "%s --sign -m SHA256-RSA-PKCS-PSS --id 0101 -i %s -o %s", pre,
                        data, sig), 0);
    assert_int_equal(p11_sh(NULL, "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt "
                              "rsa_pss_saltlen:32 -verify %s/platform.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    assert_int_equal(p11_sh(NULL, "%s --sign -m ECDSA --id 0102 --signature-format openssl -i %s -o %s",
                        pre, hash, sig), 0);
    assert_int_equal(p11_sh(NULL, "openssl dgst -sha256 -verify %s/ec.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);
    assert_int_equal(p11_sh(NULL, "%s --sign -m ECDSA-SHA256 --id 0102 --signature-format openssl "
                              "-i %s -o %s", pre, data, sig), 0);
    assert_int_equal(p11_sh(NULL, "openssl dgst -sha256 -verify %s/ec.pub.pem -signature %s %s",
                        env.keystore, sig, data), 0);

    /* A wrong PIN is refused. */
    assert_int_not_equal(p11_sh(NULL, "P11PIN=0001wrong %s pkcs11-tool --module %s --login --pin "
                                  "env:P11PIN --sign -m SHA256-RSA-PKCS --id 0101 -i %s -o %s",
                            p11_peer_env(), env.module, data, sig), 0);
}

static void pkcs11_tool_self_test(void **state)
{
    char *out = NULL;
    int rc = p11_sh(&out, "P11PIN=%s " TOOL " --login --pin env:P11PIN --test 2>&1", P11_TEST_PIN,
                p11_peer_env(), env.module);
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
    snprintf(pre, sizeof pre, "OPENSSL_CONF=%s %s", cnf, p11_peer_env());

    /* A certificate made by the HSM key, checked against the key store's public key. */
    assert_int_equal(p11_sh(NULL, "%s openssl req -new -x509 -engine pkcs11 -keyform engine -key "
                              "'pkcs11:object=platform;type=private' -sha256 -days 2 "
                              "-subj /CN=signet-test -out %s/req.pem",
                        pre, work), 0);
    char *a = NULL, *b = NULL;
    assert_int_equal(p11_sh(&a, "openssl x509 -in %s/req.pem -noout -pubkey", work), 0);
    assert_int_equal(p11_sh(&b, "openssl pkey -pubin -in %s/platform.pub.pem", env.keystore), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(p11_sh(NULL, "openssl verify -CAfile %s/req.pem %s/req.pem", work, work), 0);

    /* Detached signatures, RSA and EC. */
    char data[500];
    snprintf(data, sizeof data, "%s/engine.data", work);
    assert_int_equal(test_write_file(data, "an OTA payload hash", 19), 0);
    const char *keys[] = {"platform", "ec"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(p11_sh(NULL, "%s openssl dgst -sha256 -engine pkcs11 -keyform engine -sign "
                                  "'pkcs11:object=%s;type=private' -out %s.%s.sig %s",
                            pre, keys[i], data, keys[i], data), 0);
        char *v = NULL;
        assert_int_equal(p11_sh(&v, "openssl dgst -sha256 -verify %s/%s.pub.pem -signature %s.%s.sig %s",
                            env.keystore, keys[i], data, keys[i], data), 0);
        assert_non_null(strstr(v, "Verified OK"));
        free(v);
    }
}

static int setup(void **state)
{
    if (p11_env_start(&env, "platform rsa2048,ec ecp256", false, NULL) != 0)
        return -1;
    snprintf(work, sizeof work, "%s/work", env.h.dir);
    return p11_sh(NULL, "mkdir -p %s", work);
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* `signet keys import` end to end against signet-hsm with an audit trail: keys
 * made by the openssl tool (PEM PKCS#8, encrypted PKCS#8, an AOSP .pk8 +
 * .x509.pem pair) go into the store, sign through the signing path, and the
 * signatures verify with the original key; refusals leave nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/store_fixture.h"

static struct store st;

#define sh(...) store_sh(&st, __VA_ARGS__)

/* Key K (RSA-2048) and a self-signed certificate K.crt, made by openssl. */
static const char MAKE_KEY[] =
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s.key 2>/dev/null && "
    "openssl req -new -x509 -key %s.key -subj /CN=%s -days 30 -out %s.crt 2>/dev/null";

static int setup(void **state)
{
    if (store_start(&st, NULL) != 0)
        return -1;
    return store_init_keystore(&st, STORE_SIGN_AUDIT);
}

static int teardown(void **state)
{
    store_cleanup(&st);
    return 0;
}

/* Key NAME signs through `signet sign`; the signature verifies with PUB (a PEM
 * public key file made from the original key). */
static int signs_as(const char *name, const char *pub)
{
    return sh("echo %s > %s.msg && signet sign --key %s -in %s.msg -out %s.sig && "
              "openssl dgst -sha256 -verify %s -signature %s.sig %s.msg >/dev/null",
              name, name, name, name, name, pub, name, name);
}

static void round_trip_pem_with_cert(void **state)
{
    assert_int_equal(sh(MAKE_KEY, "rt", "rt", "rt", "rt"), 0);
    assert_int_equal(sh("openssl pkey -in rt.key -pubout -out rt.pub"), 0);
    assert_int_equal(sh("signet keys import rt --key rt.key --cert rt.crt > out.txt 2> err.txt && "
                        "grep -q '^imported rt 0x0100 rsa2048' out.txt && "
                        "grep -q 'keeping the certificate given' err.txt"), 0);
    /* The store holds the certificate given and the key's public key, never the key. */
    assert_int_equal(sh("openssl x509 -in rt.crt -outform DER > a.der && "
                        "openssl x509 -in keys/rt.x509.pem -outform DER > b.der && cmp a.der b.der"),
                     0);
    assert_int_equal(sh("cmp rt.pub keys/rt.pub.pem"), 0);
    assert_int_equal(sh("! grep -rl 'PRIVATE KEY' keys"), 0);
    assert_int_equal(sh("grep -q '^imported ' keys/rt.origin && grep -q '^certificate given' "
                        "keys/rt.origin"), 0);
    /* The key map gained it, keys list names its origin, the trail has its record. */
    assert_int_equal(sh("grep -q '^rt  *0x0100 *rsa2048 *1 *apk' keys/keymap.txt"), 0);
    assert_int_equal(sh("signet keys list > list.txt; grep -q '^rt .* resident .* imported$' "
                        "list.txt"), 0);
    assert_int_equal(sh("grep -q 'type=key .*event=imported' audit/records.log && "
                        "grep 'type=key .*event=imported' audit/records.log | grep -q 'key=rt '"),
                     0);
    assert_int_equal(signs_as("rt", "rt.pub"), 0);
    /* Evicted and loaded again from the wrapped copy, it still signs as the original. */
    assert_int_equal(sh("signet keys evict rt > /dev/null && signet keys load rt > /dev/null"), 0);
    assert_int_equal(signs_as("rt", "rt.pub"), 0);
    /* Importing the same name again is refused. */
    assert_int_equal(sh("signet keys import rt --key rt.key 2> err.txt; test $? = 8 && "
                        "grep -q 'already in the store' err.txt"), 0);
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

static void encrypted_pkcs8_without_cert(void **state)
{
    assert_int_equal(sh(MAKE_KEY, "enc", "enc", "enc", "enc"), 0);
    assert_int_equal(sh("openssl pkcs8 -topk8 -v2 aes-256-cbc -in enc.key -passout pass:s3cret "
                        "-out enc.p8 && openssl pkey -in enc.key -pubout -out enc.pub && "
                        "printf 's3cret\\n' > enc.pass"), 0);
    assert_int_equal(sh("head -1 enc.p8 | grep -q 'ENCRYPTED PRIVATE KEY'"), 0);
    assert_int_equal(sh("signet keys import enc --key enc.p8 --key-pass-file enc.pass "
                        "--role platform > out.txt 2> err.txt && grep -q '^imported enc' out.txt "
                        "&& grep -q 'self-signed one was signed on the HSM' err.txt"), 0);
    /* The certificate made on the HSM certifies the imported key and verifies. */
    assert_int_equal(sh("openssl x509 -in keys/enc.x509.pem -pubkey -noout | cmp - enc.pub && "
                        "openssl verify -CAfile keys/enc.x509.pem keys/enc.x509.pem >/dev/null"),
                     0);
    assert_int_equal(sh("grep -q '^enc .* platform$' keys/keymap.txt && "
                        "grep -q 'artifact=certificate%%20of%%20enc' audit/records.log"), 0);
    assert_int_equal(signs_as("enc", "enc.pub"), 0);
    /* The password from the environment works too, and the variable is named, not given. */
    assert_int_equal(sh("KP=s3cret signet keys import enc2 --key enc.p8 --key-pass-env KP "
                        "--cert enc.crt > out.txt && grep -q '^imported enc2' out.txt"), 0);
    assert_int_equal(signs_as("enc2", "enc.pub"), 0);
}

static void wrong_password_leaves_nothing(void **state)
{
    assert_int_equal(sh("printf 'wrong\\n' > bad.pass && cp keys/keymap.txt map.before"), 0);
    assert_int_equal(sh("signet keys import wp --key enc.p8 --key-pass-file bad.pass 2> err.txt; "
                        "test $? = 5 && grep -q 'wrong password' err.txt"), 0);
    assert_int_equal(sh("test ! -e keys/wp.wrapped && test ! -e keys/wp.pub.pem && "
                        "cmp keys/keymap.txt map.before"), 0);
    /* No password source and no terminal: a clear refusal naming the options. */
    assert_int_equal(sh("setsid -w signet keys import wp --key enc.p8 < /dev/null 2> err.txt; "
                        "test $? = 2 && grep -q 'key-pass-file' err.txt"), 0);
    /* The password is never taken from the command line. */
    assert_int_equal(sh("signet keys import wp --key enc.p8 --key-pass s3cret 2>/dev/null; "
                        "test $? = 2"), 0);
}

static void aosp_pk8_pair(void **state)
{
    assert_int_equal(sh(MAKE_KEY, "platform", "platform", "platform", "platform"), 0);
    assert_int_equal(sh("openssl pkcs8 -topk8 -nocrypt -in platform.key -outform DER "
                        "-out platform.pk8 && cp platform.crt platform.x509.pem && "
                        "openssl pkey -in platform.key -pubout -out platform.pub"), 0);
    assert_int_equal(sh("signet keys import platform --aosp platform > out.txt && "
                        "grep -q '^imported platform' out.txt"), 0);
    assert_int_equal(sh("openssl x509 -in platform.x509.pem -outform DER > a.der && "
                        "openssl x509 -in keys/platform.x509.pem -outform DER > b.der && "
                        "cmp a.der b.der"), 0);
    assert_int_equal(signs_as("platform", "platform.pub"), 0);
}

static void mismatched_cert_refused(void **state)
{
    assert_int_equal(sh(MAKE_KEY, "mm", "mm", "mm", "mm"), 0);
    assert_int_equal(sh("cp keys/keymap.txt map.before && "
                        "signet keys import mm --key mm.key --cert rt.crt 2> err.txt; "
                        "test $? = 1 && grep -q 'for another key' err.txt"), 0);
    assert_int_equal(sh("test ! -e keys/mm.wrapped && cmp keys/keymap.txt map.before"), 0);
    /* A key the map names with another algorithm is refused before the HSM is asked. */
    assert_int_equal(sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
                        "-out ec.key 2>/dev/null && "
                        "signet keys import rt --key ec.key 2> err.txt; test $? = 2 && "
                        "grep -q 'the key map says' err.txt"), 0);
    /* Garbage is a parse error, not a crash. */
    assert_int_equal(sh("head -c 300 /dev/urandom > junk.pk8 && "
                        "signet keys import junk --key junk.pk8 2> err.txt; test $? = 8 && "
                        "grep -q 'does not parse' err.txt"), 0);
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_pem_with_cert),
        cmocka_unit_test(encrypted_pkcs8_without_cert),
        cmocka_unit_test(wrong_password_leaves_nothing),
        cmocka_unit_test(aosp_pk8_pair),
        cmocka_unit_test(mismatched_cert_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The signing cache end to end on signet-hsm: a second signature over the same
 * bytes makes no device operation (counted in the device's own log) and leaves a
 * reuse record pointing at the original sign record; other bytes miss; poisoned
 * entries (a changed signature, an entry naming a record that is not its own) are
 * refused, reported and replaced by a device signature; SIGNET_CACHE=off and
 * `cache = off` bypass it; the trail verifies throughout. */
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

#define num(...) store_num(&st, __VA_ARGS__)

/* Device signatures so far, from the device's own log as drained into the trail
 * (sign-pkcs1 is command 0x47), after a drain that brings the trail up to date. */
static long device_signs(void)
{
    return num("signet -q audit drain audit >/dev/null && cat audit/device-*.log | "
               "grep -c ' cmd=0x47 .*result=0xc7 ' || true");
}

static long records(const char *type)
{
    return num("grep -c ' type=%s ' audit/records.log || true", type);
}

static int setup(void **state)
{
    if (store_start(&st, NULL) != 0)
        return -1;
    if (store_init_keystore(&st, STORE_SIGN_AUDIT) != 0)
        return -1;
    return sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.key "
              "2>/dev/null && openssl req -new -x509 -key k.key -subj /CN=k -out k.crt && "
              "signet -q keys import platform --key k.key --cert k.crt >/dev/null && "
              "openssl pkey -in k.key -pubout -out k.pub") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    store_cleanup(&st);
    return 0;
}

static void hit_makes_no_device_operation(void **state)
{
    assert_int_equal(sh("echo release-1 > a.txt && signet sign --key platform -in a.txt "
                        "-out a1.sig"), 0);
    long dev = device_signs(), signs = records("sign");
    assert_true(dev >= 1);
    assert_int_equal(records("reuse"), 0);
    /* The cache sits beside the trail and holds one entry now. */
    assert_int_equal(num("find audit.cache -type f | wc -l"), 1);

    assert_int_equal(sh("signet sign --key platform -in a.txt -out a2.sig && cmp a1.sig a2.sig && "
                        "openssl dgst -sha256 -verify k.pub -signature a2.sig a.txt >/dev/null"),
                     0);
    assert_int_equal(device_signs(), dev);          /* the device was not asked */
    assert_int_equal(records("sign"), signs);
    assert_int_equal(records("reuse"), 1);
    /* The reuse names the original sign record by its leaf index and the artifact. */
    assert_int_equal(sh("orig=$(grep ' type=sign ' audit/records.log | grep \"data=\" | tail -1 | "
                        "sed 's/^i=\\([0-9]*\\) .*/\\1/') && "
                        "grep ' type=reuse ' audit/records.log | grep -q \" orig=$orig \" && "
                        "grep ' type=reuse ' audit/records.log | "
                        "grep -q \"artifact_sha256=$(sha256sum a.txt | cut -c1-64)\""), 0);
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

static void other_bytes_miss(void **state)
{
    long dev = device_signs();
    assert_int_equal(sh("echo release-2 > b.txt && signet sign --key platform -in b.txt "
                        "-out b.sig"), 0);
    assert_int_equal(device_signs(), dev + 1);
    assert_int_equal(num("find audit.cache -type f | wc -l"), 2);
}

static void poisoned_signature_refused(void **state)
{
    /* a.txt's entry is the older of the two (b.txt's came after). */
    assert_int_equal(sh("ls -t audit.cache/*/* | tail -1 > entry.path && "
                        "python3 -c 'import sys; p=open(\"entry.path\").read().strip(); "
                        "b=bytearray(open(p,\"rb\").read()); b[120]^=1; open(p,\"wb\").write(b)'"),
                     0);
    long dev = device_signs();
    assert_int_equal(sh("signet sign --key platform -in a.txt -out a3.sig 2> err.txt && "
                        "openssl dgst -sha256 -verify k.pub -signature a3.sig a.txt >/dev/null"),
                     0);
    assert_int_equal(sh("grep -q 'signing cache: entry .* refused' err.txt && "
                        "grep -q 'does not verify' err.txt"), 0);
    assert_int_equal(device_signs(), dev + 1); /* the device signed instead */
    /* The entry was replaced by a good one: the next signature is a hit again. */
    long reuse = records("reuse");
    assert_int_equal(sh("signet sign --key platform -in a.txt -out a4.sig 2> err.txt && "
                        "! grep -q refused err.txt"), 0);
    assert_int_equal(records("reuse"), reuse + 1);
    assert_int_equal(device_signs(), dev + 1);
}

static void entry_without_its_record_refused(void **state)
{
    /* Point a.txt's entry at the first record of the trail (not its sign record):
     * bytes 82..89 hold the offset of the original record in records.log. */
    assert_int_equal(sh("ls -t audit.cache/*/* | head -1 > entry.path && "
                        "python3 -c 'p=open(\"entry.path\").read().strip(); "
                        "b=bytearray(open(p,\"rb\").read()); b[82:90]=bytes(8); "
                        "open(p,\"wb\").write(b)'"), 0);
    long dev = device_signs();
    assert_int_equal(sh("signet sign --key platform -in a.txt -out a5.sig 2> err.txt"), 0);
    assert_int_equal(sh("grep -q 'refused' err.txt && grep -q 'sign record' err.txt"), 0);
    assert_int_equal(device_signs(), dev + 1);
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

static void cache_off(void **state)
{
    long dev = device_signs(), reuse = records("reuse");
    assert_int_equal(sh("SIGNET_CACHE=off signet sign --key platform -in a.txt -out a6.sig"), 0);
    assert_int_equal(device_signs(), dev + 1);
    assert_int_equal(sh("cp signet.conf conf.save && echo 'cache = off' >> signet.conf && "
                        "signet sign --key platform -in a.txt -out a7.sig; r=$?; "
                        "cp conf.save signet.conf; exit $r"), 0);
    assert_int_equal(device_signs(), dev + 2);
    assert_int_equal(records("reuse"), reuse);
    /* Dropping the cache directory at any time only costs device signatures. */
    assert_int_equal(sh("rm -rf audit.cache && signet sign --key platform -in a.txt -out a8.sig"),
                     0);
    assert_int_equal(device_signs(), dev + 3);
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hit_makes_no_device_operation),
        cmocka_unit_test(other_bytes_miss),
        cmocka_unit_test(poisoned_signature_refused),
        cmocka_unit_test(entry_without_its_record_refused),
        cmocka_unit_test(cache_off),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* The signing commands end to end on signet-hsm: avb-sign (both avbtool helper
 * protocols), payload-sign and sign, each verified with openssl; the audit record
 * before the signature; a wrapped-only key loaded on demand with LRU eviction. */
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

/* A PKCS#1 v1.5 type-1 block of n bytes around the DigestInfo of SHA-256(file). */
static const char MAKE_BLOCK[] =
    "python3 -c 'import hashlib,sys; n=int(sys.argv[1]); "
    "d=hashlib.sha256(open(sys.argv[2],\"rb\").read()).digest(); "
    "di=bytes.fromhex(\"3031300d060960864801650304020105000420\")+d; "
    "sys.stdout.buffer.write(b\"\\x00\\x01\"+b\"\\xff\"*(n-3-len(di))+b\"\\x00\"+di)' ";

static int setup(void **state)
{
    /* Killed signers leave their device sessions behind: let them expire fast. */
    if (store_start(&st, "--session-timeout 2") != 0)
        return -1;
    if (store_init_keystore(&st, STORE_SIGN_AUDIT) != 0)
        return -1;
    return sh("signet keys init --device t --algorithm rsa2048 >/dev/null && "
              "signet -q keys generate >/dev/null") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    store_cleanup(&st);
    return 0;
}

static void avb_helper(void **state)
{
    assert_int_equal(sh("head -c 5000 /dev/urandom > vbmeta.img && %s 256 vbmeta.img > block",
                        MAKE_BLOCK), 0);
    /* --signing_helper: block on stdin, signature on stdout. */
    assert_int_equal(sh("signet avb-sign SHA256_RSA2048 keys/avb_t.pem < block > block.sig"), 0);
    assert_int_equal(sh("openssl pkeyutl -verifyrecover -pubin -inkey keys/avb_t.pub.pem "
                        "-pkeyopt rsa_padding_mode:none -in block.sig | cmp - block"), 0);
    /* --signing_helper_with_files: the file is overwritten by the signature. */
    assert_int_equal(sh("cp block f && signet avb-sign SHA256_RSA2048 avb_t f && cmp f block.sig"),
                     0);
    /* Refusals: wrong hash for the algorithm, wrong length, not a type-1 block. */
    assert_int_equal(sh("signet avb-sign SHA512_RSA2048 avb_t < block > x 2>/dev/null"), 2);
    assert_int_equal(sh("signet avb-sign SHA256_RSA4096 avb_t < block > x 2>/dev/null"), 2);
    assert_int_equal(sh("head -c 256 /dev/urandom | signet avb-sign SHA256_RSA2048 avb_t "
                        "> x 2>/dev/null"), 2);
    assert_int_equal(sh("signet avb-sign SHA256_RSA2048 no_such_key < block > x 2>/dev/null"), 6);
}

/* avbtool's way of running the helper (avbtool.py, raw_sign): one program path;
 * --signing_helper_with_files writes the block to a NamedTemporaryFile it keeps
 * open, runs `helper ALGORITHM KEY FILE`, then seeks to 0 and reads the signature
 * through the same handle; --signing_helper pipes the block in and reads stdout. */
static const char AVBTOOL_LIKE[] =
    "python3 -c 'import subprocess,sys,tempfile\n"
    "helper, mode, block = sys.argv[1], sys.argv[2], open(sys.argv[3], \"rb\").read()\n"
    "if mode == \"files\":\n"
    "    f = tempfile.NamedTemporaryFile()\n"
    "    f.write(block); f.flush()\n"
    "    assert subprocess.call([helper, \"SHA256_RSA2048\", \"keys/avb_t.pem\", f.name]) == 0\n"
    "    f.seek(0); sig = f.read()\n"
    "else:\n"
    "    p = subprocess.run([helper, \"SHA256_RSA2048\", \"keys/avb_t.pem\"], input=block,\n"
    "                       stdout=subprocess.PIPE, check=True); sig = p.stdout\n"
    "open(sys.argv[4], \"wb\").write(sig)' ";

static void avb_helper_as_avbtool_runs_it(void **state)
{
    (void)state;
    assert_int_equal(sh("head -c 7000 /dev/urandom > vb2.img && %s 256 vb2.img > block2", MAKE_BLOCK),
                     0);
    static const char *const modes[] = {"files", "stdin"};
    for (int i = 0; i < 2; i++) {
        /* The installed link, named as avbtool's --signing_helper takes it. */
        assert_int_equal(sh("rm -f sig2 && %s \"$SIGNET_BIN_DIR/signet-avb-sign\" %s block2 sig2 && "
                            "test $(wc -c < sig2) -eq 256 && "
                            "openssl pkeyutl -verifyrecover -pubin -inkey keys/avb_t.pub.pem "
                            "-pkeyopt rsa_padding_mode:none -in sig2 | cmp - block2",
                            AVBTOOL_LIKE, modes[i]),
                         0);
    }
}

/* The OTA tools' way: --payload_signer names a program, --payload_signer_args adds
 * its arguments, then `-in HASH -out SIG`; the credential comes from signet.conf. */
static void payload_signer_as_ota_tools_run_it(void **state)
{
    (void)state;
    assert_int_equal(sh("printf 'password\\n' > pw && chmod 600 pw && "
                        "cp signet.conf conf2 && printf 'auth_key = 1\\npassword_file = pw\\n' >> conf2 && "
                        "head -c 3000 /dev/urandom | openssl dgst -sha256 -binary > h2 && "
                        "env -u SIGNET_PASSWORD SIGNET_CONF=conf2 \"$SIGNET_BIN_DIR/signet-payload-sign\" "
                        "--key avb_t -in h2 -out s2 && "
                        "openssl pkeyutl -verify -pubin -inkey keys/avb_t.pub.pem "
                        "-pkeyopt digest:sha256 -in h2 -sigfile s2"),
                     0);
    /* Both credentials in signet.conf is refused; so is a wrong auth key id (5). */
    assert_int_equal(sh("cp conf2 conf3 && printf 'auth_key_file = k.pem\\n' >> conf3 && "
                        "env -u SIGNET_PASSWORD SIGNET_CONF=conf3 signet payload-sign --key avb_t "
                        "-in h2 -out s3 2>/dev/null"),
                     2);
    assert_int_equal(sh("env -u SIGNET_PASSWORD SIGNET_CONF=conf2 SIGNET_AUTH_KEY=0x0777 "
                        "signet payload-sign --key avb_t -in h2 -out s3 2>/dev/null"),
                     5);
}

static void payload_signer(void **state)
{
    assert_int_equal(sh("head -c 10000 /dev/urandom > payload.bin && "
                        "openssl dgst -sha256 -binary payload.bin > payload.hash && "
                        "signet payload-sign --key avb_t -in payload.hash -out payload.sig"), 0);
    assert_int_equal(sh("openssl pkeyutl -verify -pubin -inkey keys/avb_t.pub.pem "
                        "-pkeyopt digest:sha256 -in payload.hash -sigfile payload.sig"), 0);
    /* A file that is not a SHA-256 digest is refused. */
    assert_int_equal(sh("signet payload-sign --key avb_t -in payload.bin -out x 2>/dev/null"), 2);
}

static void sign_is_recorded(void **state)
{
    assert_int_equal(sh("echo release > rel.txt && signet sign --key platform -in rel.txt -out "
                        "rel.sig && openssl x509 -in keys/platform.x509.pem -pubkey -noout > p.pem "
                        "&& openssl dgst -sha256 -verify p.pem -signature rel.sig rel.txt"), 0);
    /* The record names the artifact and its SHA-256. */
    assert_int_equal(sh("grep -q \"artifact_sha256=$(sha256sum rel.txt | cut -c1-64)\" "
                        "audit/records.log"), 0);
    assert_int_equal(sh("signet audit verify audit > verify.out"), 0);
}

static void no_record_no_signature(void **state)
{
    /* The trail cannot take the record: the signature must not come out. */
    assert_int_equal(sh("mv audit/records.log records.save && mkdir audit/records.log"), 0);
    assert_int_not_equal(sh("signet sign --key shared -in rel.txt -out lost.sig 2>/dev/null"), 0);
    assert_int_not_equal(sh("test -e lost.sig"), 0);
    assert_int_equal(sh("rmdir audit/records.log && mv records.save audit/records.log"), 0);
}

static void wrapped_key_loaded_and_lru_evicted(void **state)
{
    /* Make the device short of room: every load must evict least recently used keys. */
    assert_int_equal(sh("echo 'min_free_objects = 250' >> signet.conf && "
                        "signet keys evict nfc >/dev/null && "
                        "signet keys list | grep -q '^nfc .*wrapped-only'"), 0);
    assert_int_equal(sh("echo x > n.txt && signet sign --key nfc -in n.txt -out n.sig && "
                        "openssl x509 -in keys/nfc.x509.pem -pubkey -noout > n.pem && "
                        "openssl dgst -sha256 -verify n.pem -signature n.sig n.txt"), 0);
    assert_int_equal(sh("signet keys list > where.txt; grep -q '^nfc .* resident' where.txt && "
                        "grep -q '^releasekey .*wrapped-only' where.txt"), 0);
}

/* Findings of `signet audit verify` by kind: incomplete ones and all others.
 * *report (may be NULL) gets the verifier's output, to print when a check fails. */
static void count_findings(int *incomplete, int *other, char **report)
{
    char *out = NULL;
    int rc = store_sh_out(&st, &out, "signet audit verify audit 2>&1");
    assert_true(rc == 0 || rc == 1);
    *incomplete = *other = 0;
    for (char *l = out; l && *l;) {
        char *nl = strchr(l, '\n');
        if (strncmp(l, "FINDING ", 8) == 0) {
            if (strncmp(l + 8, "incomplete-tail", 15) == 0)
                ++*incomplete;
            else {
                ++*other;
                fprintf(stderr, "unexpected: %.*s\n", nl ? (int)(nl - l) : (int)strlen(l), l);
            }
        }
        l = nl ? nl + 1 : NULL;
    }
    assert_int_equal(rc == 0, *incomplete + *other == 0);
    if (report)
        *report = out;
    else
        free(out);
}

/* kill -9 a signer at random moments: after each crash the trail verifies, or
 * shows exactly one more incomplete record, and no signature that came out of a
 * signer lacks its record.
 *
 * A signer killed after the device signed but before it drained the device log
 * leaves its device entry on the device only: the trail shows the interruption
 * when the next process drains.  The test drains after each crash (as the next
 * signer would first thing), so that each crash is judged by what it left. */
static void crash_safety(void **state)
{
    int inc0, other;
    char *before = NULL, *after = NULL;
    count_findings(&inc0, &other, &before);
    assert_int_equal(other, 0);
    srand(4242);
    int released = 0;
    for (int i = 0; i < 30; i++) {
        int delay_ms = rand() % 400;
        assert_int_equal(sh("echo crash %d > c%d.txt; (signet sign --key media -in c%d.txt "
                            "-out c%d.sig 2>/dev/null & p=$!; sleep 0.%03d; kill -9 $p; wait $p) "
                            ">/dev/null 2>&1; true", i, i, i, i, delay_ms), 0);
        assert_int_equal(sh("signet -q audit drain audit >/dev/null"), 0);
        int inc, oth;
        count_findings(&inc, &oth, &after);
        if (oth != 0 || (inc != inc0 && inc != inc0 + 1)) {
            fprintf(stderr, "crash %d (after %d ms): %d incomplete findings before, %d after, %d "
                            "others\n--- before:\n%s--- after:\n%s", i, delay_ms, inc0, inc, oth,
                    before, after);
            fail_msg("crash %d left more than one new finding", i);
        }
        if (inc > inc0)
            fprintf(stderr, "crash %d (after %d ms): one incomplete record\n", i, delay_ms);
        inc0 = inc;
        free(before);
        before = after;
        after = NULL;
        released += sh("test -e c%d.sig", i) == 0;
        /* A released signature has its record (the record holds the signature). */
        assert_int_equal(sh("test ! -e c%d.sig || grep -q \"sig=$(base64 -w0 c%d.sig)\" "
                            "audit/records.log", i, i), 0);
    }
    free(before);
    fprintf(stderr, "%d of 30 signers finished before the kill\n", released);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(avb_helper),
        cmocka_unit_test(payload_signer),
        cmocka_unit_test(avb_helper_as_avbtool_runs_it),
        cmocka_unit_test(payload_signer_as_ota_tools_run_it),
        cmocka_unit_test(sign_is_recorded),
        cmocka_unit_test(no_record_no_signature),
        cmocka_unit_test(wrapped_key_loaded_and_lru_evicted),
        cmocka_unit_test(crash_safety),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

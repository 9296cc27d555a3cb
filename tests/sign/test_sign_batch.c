/* signet_sign_batch() end to end on signet-hsm (through tests/sign/batch_signer):
 * every signature verifies with openssl; a batch costs two drains and two fsyncs
 * per group of one key instead of two each per signature; a failing request in the
 * middle fails alone; cache hits in a batch make no device operation; and SIGKILL in
 * the middle of batches leaves only explained, never-released signatures (at most
 * one incomplete finding per intent of the interrupted group), never a released
 * signature without its record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/store_fixture.h"

static struct store st;

#define sh_out(out, ...) store_sh_out(&st, (out), __VA_ARGS__)
#define sh(...) store_sh(&st, __VA_ARGS__)

static const char MAKE_KEY[] =
    "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s.key 2>/dev/null && "
    "openssl req -new -x509 -key %s.key -subj /CN=%s -out %s.crt && "
    "openssl pkey -in %s.key -pubout -out %s.pub && "
    "signet -q keys import %s --key %s.key --cert %s.crt >/dev/null";

static int setup(void **state)
{
    if (store_start(&st, "--session-timeout 2") != 0)
        return -1;
    if (store_init_keystore(&st, STORE_SIGN_AUDIT) != 0)
        return -1;
    return sh(MAKE_KEY, "k1", "k1", "k1", "k1", "k1", "k1", "k1", "k1", "k1") == 0 &&
                   sh(MAKE_KEY, "k2", "k2", "k2", "k2", "k2", "k2", "k2", "k2", "k2") == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    store_cleanup(&st);
    return 0;
}

/* Counters printed by batch_signer: "device=D hits=H refused=R drains=N syncs=S failed=F". */
struct counts {
    long device, hits, refused, drains, syncs, failed;
};

static struct counts run(const char *mode, int n, const char *dir, const char *extra)
{
    char *out = NULL;
    struct counts c = {-1, -1, -1, -1, -1, -1};
    sh_out(&out, "mkdir -p %s && %s batch_signer %s %d %s k1 k2", dir, extra ? extra : "", mode,
           n, dir);
    const char *l = out ? strstr(out, "device=") : NULL;
    if (l)
        sscanf(l, "device=%ld hits=%ld refused=%ld drains=%ld syncs=%ld failed=%ld", &c.device,
               &c.hits, &c.refused, &c.drains, &c.syncs, &c.failed);
    if (out && strstr(out, "failed "))
        fprintf(stderr, "%s", out);
    free(out);
    return c;
}

/* Every OUT/i.sig verifies over OUT/i.msg with the key it was made by (i odd: k2). */
static int all_verify(const char *dir, int n)
{
    return sh("cd %s && ok=0; for i in $(seq 0 %d); do [ -e $i.sig ] || continue; "
              "k=k$((i %% 2 + 1)); openssl dgst -sha256 -verify ../$k.pub -signature $i.sig $i.msg "
              ">/dev/null || exit 1; ok=$((ok+1)); done; test $ok -gt 0",
              dir, n - 1);
}

static void batch_groups_drains_and_fsyncs(void **state)
{
    /* 40 requests over two keys: two groups of 20, each with 2 drains and 2 fsyncs. */
    struct counts b = run("batch", 40, "b1", NULL);
    assert_int_equal(b.failed, 0);
    assert_int_equal(b.device, 40);
    assert_int_equal(b.drains, 4);
    assert_int_equal(b.syncs, 4);
    assert_int_equal(all_verify("b1", 40), 0);
    assert_int_equal(sh("test $(ls b1/*.sig | wc -l) = 40"), 0);
    /* One at a time: two drains and two fsyncs per signature. */
    struct counts s = run("single", 6, "s1", NULL);
    assert_int_equal(s.failed, 0);
    assert_int_equal(s.drains, 12);
    assert_int_equal(s.syncs, 12);
    assert_int_equal(all_verify("s1", 6), 0);
    /* 60 requests of one key's share: groups never exceed 24 signatures. */
    struct counts g = run("batch", 60, "b2", NULL);
    assert_int_equal(g.device, 60);
    assert_int_equal(g.drains, 2 * 4); /* 30 per key: groups of 24 and 6 */
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

static void failing_request_fails_alone(void **state)
{
    struct counts c = run("batch", 10, "f1", "BAD=5");
    assert_int_equal(c.failed, 1);
    assert_int_equal(c.device, 9);
    assert_int_equal(sh("test ! -e f1/5.sig && test $(ls f1/*.sig | wc -l) = 9"), 0);
    assert_int_equal(all_verify("f1", 10), 0);
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

/* Findings of `signet audit verify` by kind: incomplete ones and all others.  The
 * device log is drained first: a killed signer's device signatures that it never
 * drained would otherwise be counted one crash later. */
static void count_findings(int *incomplete, int *other)
{
    char *out = NULL;
    assert_int_equal(sh("signet -q audit drain audit >/dev/null"), 0);
    int rc = sh_out(&out, "signet audit verify audit 2>&1");
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
    free(out);
}

/* kill -9 batch signers at random moments. */
static void batch_crash_safety(void **state)
{
    int inc0, other;
    count_findings(&inc0, &other);
    assert_int_equal(other, 0);
    srand(777);
    int finished = 0;
    for (int i = 0; i < 8; i++) {
        int delay_ms = 50 + rand() % 700;
        assert_int_equal(sh("mkdir -p c%d && (batch_signer batch 48 c%d k1 k2 >/dev/null 2>&1 & "
                            "p=$!; sleep 0.%03d; kill -9 $p; wait $p) >/dev/null 2>&1; true",
                            i, i, delay_ms), 0);
        int inc, oth;
        count_findings(&inc, &oth);
        assert_int_equal(oth, 0);
        assert_true(inc >= inc0 && inc <= inc0 + 24);
        fprintf(stderr, "crash %d (after %d ms): %d incomplete\n", i, delay_ms, inc - inc0);
        inc0 = inc;
        finished += sh("test $(ls c%d/*.sig 2>/dev/null | wc -l) = 48", i) == 0;
        /* Every signature that came out has its record (the record holds it). */
        assert_int_equal(sh("for f in c%d/*.sig; do [ -e \"$f\" ] || continue; "
                            "grep -q \"sig=$(base64 -w0 $f)\" audit/records.log || exit 1; done",
                            i), 0);
    }
    fprintf(stderr, "%d of 8 batch signers finished before the kill\n", finished);
}

static void cache_hits_in_a_batch(void **state)
{
    /* The same 12 messages signed twice: the second batch is all cache hits. */
    struct counts a = run("batch", 12, "h1", "FIXED=1");
    struct counts b = run("batch", 12, "h2", "FIXED=1");
    assert_int_equal(a.failed, 0);
    assert_int_equal(b.failed, 0);
    assert_int_equal(b.device, 0);
    assert_int_equal(b.hits, 12);
    assert_int_equal(sh("for i in $(seq 0 11); do cmp h1/$i.sig h2/$i.sig || exit 1; done"), 0);
    assert_int_equal(sh("signet audit verify audit > verify.txt"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batch_groups_drains_and_fsyncs),
        cmocka_unit_test(failing_request_fails_alone),
        cmocka_unit_test(cache_hits_in_a_batch),
        cmocka_unit_test(batch_crash_safety),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

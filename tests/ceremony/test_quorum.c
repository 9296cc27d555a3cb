/* Finding the quorum among the shares given to a restore: the check value (and
 * the manifest's attributes of the key) decide among the combinations, so that a
 * mistyped share is named wherever it sits among the shares, never a correct one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "ceremony/ceremony_internal.h"
#include "signet/secmem.h"

static sss_wrapkey *key;
static sss_share *shares, *given;
static sss_wrapkey *got;
static cer_wrap_expect expect;

static int setup(void **state)
{
    (void)state;
    key = smem_alloc(sizeof *key);
    got = smem_alloc(sizeof *got);
    shares = sss_shares_alloc(SSS_MAX_SHARES);
    given = sss_shares_alloc(SSS_MAX_SHARES);
    if (!key || !got || !shares || !given)
        return -1;
    *key = (sss_wrapkey){.id = 0x00ff, .domains = 1, .capabilities = 0x3000,
                         .delegated = 0x20000000a0ull};
    for (int i = 0; i < SSS_WRAPKEY_KEY_LEN; i++)
        key->key[i] = (uint8_t)(7 * i + 1);
    if (cer_split_checked(key, 3, 5, shares) != SIGNET_OK)
        return -1;
    expect = (cer_wrap_expect){.threshold = 3, .id = key->id, .domains = key->domains,
                               .capabilities = key->capabilities, .delegated = key->delegated};
    return sss_wrapkey_check(key, expect.check) == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    smem_free(key);
    smem_free(got);
    sss_shares_free(shares, SSS_MAX_SHARES);
    sss_shares_free(given, SSS_MAX_SHARES);
    return 0;
}

/* given[] = shares of the listed indexes (1-based), in that order. */
static size_t give(const unsigned *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        given[i] = shares[idx[i] - 1];
    return n;
}

static void right_shares(void **state)
{
    (void)state;
    static const unsigned idx[] = {5, 1, 3, 2};
    cer_quorum q;
    assert_int_equal(cer_find_quorum(given, give(idx, 4), &expect, got, &q), SIGNET_OK);
    assert_memory_equal(got->key, key->key, SSS_WRAPKEY_KEY_LEN);
    assert_int_equal(q.used, 0x7); /* the first three */
    assert_int_equal(q.wrong, 0);
    assert_int_equal(q.tried, 1);
}

/* One mistyped share among four, in each position and in each part of the blob
 * (the attributes, which the check value does not cover, and the key bytes). */
static void one_wrong_share_is_named_wherever_it_is(void **state)
{
    (void)state;
    static const unsigned idx[] = {1, 2, 4, 5};
    static const size_t bytes[] = {3, 15, 30, 51};
    for (size_t b = 0; b < sizeof bytes / sizeof bytes[0]; b++)
        for (unsigned bad = 0; bad < 4; bad++) {
            size_t n = give(idx, 4);
            given[bad].y[bytes[b]] ^= 0x40;
            cer_quorum q;
            assert_int_equal(cer_find_quorum(given, n, &expect, got, &q), SIGNET_OK);
            assert_memory_equal(got->key, key->key, SSS_WRAPKEY_KEY_LEN);
            assert_int_equal(got->id, key->id);
            assert_int_equal(q.wrong, 1u << bad);
            assert_int_equal(q.used, 0xfu & ~(1u << bad));
        }
}

static void three_shares_one_wrong(void **state)
{
    (void)state;
    static const unsigned idx[] = {2, 3, 5};
    cer_quorum q;
    size_t n = give(idx, 3);
    given[1].y[40] ^= 1; /* key bytes: the check value differs */
    assert_int_equal(cer_find_quorum(given, n, &expect, got, &q), SIGNET_E_VERIFY);
    assert_false(q.meta_only);
    assert_int_equal(q.tried, 1);
    n = give(idx, 3);
    given[2].y[2] ^= 1; /* the domains: the check value matches, the attributes do not */
    assert_int_equal(cer_find_quorum(given, n, &expect, got, &q), SIGNET_E_VERIFY);
    assert_true(q.meta_only);
}

static void two_wrong_of_four(void **state)
{
    (void)state;
    static const unsigned idx[] = {1, 2, 3, 4};
    cer_quorum q;
    size_t n = give(idx, 4);
    given[0].y[33] ^= 1;
    given[3].y[34] ^= 1;
    assert_int_equal(cer_find_quorum(given, n, &expect, got, &q), SIGNET_E_VERIFY);
    assert_int_equal(q.tried, 4);
    assert_int_equal(q.used, 0);
}

/* Two wrong shares among five still leave one right quorum: both are named. */
static void two_wrong_of_five(void **state)
{
    (void)state;
    static const unsigned idx[] = {1, 2, 3, 4, 5};
    cer_quorum q;
    size_t n = give(idx, 5);
    given[1].y[20] ^= 1;
    given[3].y[0] ^= 1;
    assert_int_equal(cer_find_quorum(given, n, &expect, got, &q), SIGNET_OK);
    assert_int_equal(q.used, 0x15);
    assert_int_equal(q.wrong, 0x0a);
}

/* A share of another split (threshold digit) is foreign, not combined. */
static void foreign_threshold(void **state)
{
    (void)state;
    static const unsigned idx[] = {1, 2, 3, 4};
    cer_quorum q;
    size_t n = give(idx, 4);
    given[0].threshold = 4;
    assert_int_equal(cer_find_quorum(given, n, &expect, got, &q), SIGNET_OK);
    assert_int_equal(q.foreign, 0x1);
    assert_int_equal(q.used, 0xe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(right_shares),
        cmocka_unit_test(one_wrong_share_is_named_wherever_it_is),
        cmocka_unit_test(three_shares_one_wrong),
        cmocka_unit_test(two_wrong_of_four),
        cmocka_unit_test(two_wrong_of_five),
        cmocka_unit_test(foreign_threshold),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

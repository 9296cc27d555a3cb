/* Shamir secret sharing: field arithmetic, reconstruction from every subset,
 * perfect secrecy (exhaustively, on one-byte secrets), the yubihsm-setup share
 * text, every rejection, and the wrap-key blob. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "signet/secmem.h"
#include "signet/sss.h"
#include "sss/sss_internal.h"

/* Reference multiplication: carry-less product, then reduction by 0x11D. */
static uint8_t ref_mul(uint8_t a, uint8_t b)
{
    uint16_t p = 0;
    for (int i = 0; i < 8; i++)
        if (b & (1 << i))
            p ^= (uint16_t)(a << i);
    for (int i = 15; i >= 8; i--)
        if (p & (1 << i))
            p ^= (uint16_t)(0x11D << (i - 8));
    return (uint8_t)p;
}

static void field_arithmetic(void **state)
{
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++)
            assert_int_equal(gf256_mul((uint8_t)a, (uint8_t)b), ref_mul((uint8_t)a, (uint8_t)b));
        if (a)
            assert_int_equal(gf256_mul((uint8_t)a, gf256_inv((uint8_t)a)), 1);
    }
    assert_int_equal(gf256_inv(0), 0);
    /* The polynomial is 0x11D (rusty_secrets), not AES's 0x11B. */
    assert_int_equal(gf256_mul(0x80, 0x02), 0x1D);
}

/* From the rusty_secrets documentation (the library yubihsm-setup uses). */
static void known_vector(void **state)
{
    const char *lines[] = {"2-1-1YAYwmOHqZ69jA", "2-4-F7rAjX3UOa53KA"};
    sss_share *sh = sss_shares_alloc(2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sss_share_parse(lines[i], strlen(lines[i]), &sh[i]), SIGNET_OK);
    sb_wr out;
    sbw_init_secure(&out, 64);
    assert_int_equal(sss_combine(sh, 2, &out), SIGNET_OK);
    assert_int_equal(out.len, 10);
    assert_memory_equal(out.p, "My secret\n", 10);
    sbw_free(&out);
    sss_shares_free(sh, 2);
}

/* Every subset of the n shares with at least t members, in index order and in
 * reverse, gives the secret back (surplus shares are checked, and agree). */
static void check_all_subsets(const uint8_t *secret, size_t len, unsigned t, unsigned n)
{
    sss_share *all = sss_shares_alloc(n), *pick = sss_shares_alloc(n);
    assert_int_equal(sss_split(secret, len, t, n, all), SIGNET_OK);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(all[i].index, i + 1);
        assert_int_equal(all[i].threshold, t);
        assert_int_equal(all[i].len, len);
    }
    for (unsigned mask = 1; mask < (1u << n); mask++) {
        size_t k = (size_t)__builtin_popcount(mask);
        for (int reverse = 0; reverse < 2; reverse++) {
            size_t j = 0;
            for (unsigned i = 0; i < n; i++)
                if (mask & (1u << i))
                    pick[reverse ? k - 1 - j++ : j++] = all[i];
            sb_wr out;
            sbw_init_secure(&out, SSS_MAX_SECRET);
            signet_rc rc = sss_combine(pick, k, &out);
            if (k >= t) {
                assert_int_equal(rc, SIGNET_OK);
                assert_int_equal(out.len, len);
                assert_memory_equal(out.p, secret, len);
            } else {
                assert_int_equal(rc, SIGNET_E_ARG);
                assert_non_null(strstr(signet_errmsg(), "shares needed were given"));
            }
            sbw_free(&out);
        }
    }
    sss_shares_free(all, n);
    sss_shares_free(pick, n);
}

static void every_subset_reconstructs(void **state)
{
    uint8_t secret[SSS_WRAPKEY_BLOB_LEN];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(i * 37 + 11);
    check_all_subsets(secret, sizeof secret, 3, 5);
    for (unsigned n = 2; n <= SSS_MAX_SHARES; n++)
        for (unsigned t = 2; t <= n; t++)
            check_all_subsets(secret, 7, t, n);
    const uint8_t edge[] = {0x00, 0xff};
    check_all_subsets(edge, 2, 2, 9);
    check_all_subsets(edge, 1, 9, 9);
}

/* t - 1 shares say nothing: for fixed values of t - 1 shares of a one-byte
 * secret, enumerate every coefficient vector and every candidate secret, and
 * count how many (secret, coefficients) produce exactly those share values.
 * Every candidate secret must be consistent with the same number of polynomials.
 * The enumeration evaluates with sss_poly_eval, the function sss_split_coeffs
 * uses for every byte (checked first). */
static void count_consistent(unsigned t, const unsigned *xs, size_t nobs, uint32_t counts[256])
{
    /* The observed shares come from a real split of an arbitrary secret. */
    const uint8_t real_secret = 0xA7, real_coeffs[2] = {0x3C, 0xD1};
    sss_share obs[SSS_MAX_SHARES];
    assert_int_equal(sss_split_coeffs(&real_secret, 1, t, SSS_MAX_SHARES, real_coeffs, obs),
                     SIGNET_OK);
    for (unsigned x = 1; x <= SSS_MAX_SHARES; x++)
        assert_int_equal(obs[x - 1].y[0], sss_poly_eval(real_secret, real_coeffs, t - 1, (uint8_t)x));
    memset(counts, 0, 256 * sizeof counts[0]);
    uint32_t space = 1u << (8 * (t - 1));
    for (unsigned s = 0; s < 256; s++) {
        for (uint32_t c = 0; c < space; c++) {
            const uint8_t coeffs[2] = {(uint8_t)c, (uint8_t)(c >> 8)};
            bool same = true;
            for (size_t o = 0; o < nobs && same; o++)
                same = sss_poly_eval((uint8_t)s, coeffs, t - 1, (uint8_t)xs[o]) ==
                       obs[xs[o] - 1].y[0];
            counts[s] += same;
        }
    }
}

static void perfect_secrecy_exhaustive(void **state)
{
    uint32_t counts[256];
    /* t = 2, one share seen (for each possible index): exactly one slope per secret. */
    for (unsigned x = 1; x <= SSS_MAX_SHARES; x++) {
        unsigned xs[1] = {x};
        count_consistent(2, xs, 1, counts);
        for (int s = 0; s < 256; s++)
            assert_int_equal(counts[s], 1);
    }
    /* t = 3, two shares seen: exactly one of the 65536 coefficient pairs per secret. */
    unsigned pairs[][2] = {{1, 2}, {4, 9}};
    for (size_t p = 0; p < 2; p++) {
        count_consistent(3, pairs[p], 2, counts);
        for (int s = 0; s < 256; s++)
            assert_int_equal(counts[s], 1);
    }
    /* t = 3, one share seen: 256 pairs per secret. */
    unsigned one[1] = {5};
    count_consistent(3, one, 1, counts);
    for (int s = 0; s < 256; s++)
        assert_int_equal(counts[s], 256);
}

static void split_uses_fresh_randomness(void **state)
{
    uint8_t secret[SSS_WRAPKEY_BLOB_LEN] = {0};
    sss_share *a = sss_shares_alloc(5), *b = sss_shares_alloc(5);
    assert_int_equal(sss_split(secret, sizeof secret, 3, 5, a), SIGNET_OK);
    assert_int_equal(sss_split(secret, sizeof secret, 3, 5, b), SIGNET_OK);
    /* Equal by chance with probability 2^-416. */
    assert_memory_not_equal(a[0].y, b[0].y, sizeof secret);
    /* A zero secret does not give zero shares: the coefficients are used. */
    assert_memory_not_equal(a[0].y, secret, sizeof secret);
    sss_shares_free(a, 5);
    sss_shares_free(b, 5);
}

static void split_rejects_bad_parameters(void **state)
{
    uint8_t secret[SSS_MAX_SECRET + 1] = {1};
    sss_share *sh = sss_shares_alloc(SSS_MAX_SHARES + 1);
    assert_int_equal(sss_split(secret, 16, 1, 5, sh), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "threshold 1"));
    assert_int_equal(sss_split(secret, 16, 6, 5, sh), SIGNET_E_ARG);
    assert_int_equal(sss_split(secret, 16, 2, 10, sh), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "10 shares"));
    assert_int_equal(sss_split(secret, 16, 2, 1, sh), SIGNET_E_ARG);
    assert_int_equal(sss_split(secret, 0, 2, 3, sh), SIGNET_E_ARG);
    assert_int_equal(sss_split(secret, SSS_MAX_SECRET + 1, 2, 3, sh), SIGNET_E_ARG);
    assert_int_equal(sss_split(secret, SSS_MAX_SECRET, 9, 9, sh), SIGNET_OK);
    sss_shares_free(sh, SSS_MAX_SHARES + 1);
}

static void format_parse_round_trip(void **state)
{
    uint8_t secret[SSS_WRAPKEY_BLOB_LEN];
    for (size_t i = 0; i < sizeof secret; i++)
        secret[i] = (uint8_t)(255 - i);
    sss_share *sh = sss_shares_alloc(9), *back = sss_shares_alloc(1);
    assert_int_equal(sss_split(secret, sizeof secret, 4, 9, sh), SIGNET_OK);
    for (int i = 0; i < 9; i++) {
        sb_wr w;
        sbw_init_secure(&w, 256);
        assert_int_equal(sss_share_format(&sh[i], &w), SIGNET_OK);
        /* T-X- then 70 characters of unpadded base64 for the 52-byte blob. */
        assert_int_equal(w.len, 4 + 70);
        assert_int_equal(w.p[0], '4');
        assert_int_equal(w.p[2], '1' + i);
        assert_null(memchr(w.p, '=', w.len));
        assert_int_equal(sss_share_parse((const char *)w.p, w.len, back), SIGNET_OK);
        assert_memory_equal(back, &sh[i], sizeof *back);
        sbw_free(&w);
    }
    sss_shares_free(sh, 9);
    sss_shares_free(back, 1);
}

static void parse_expect(const char *text, const char *msg_part)
{
    sss_share s;
    assert_int_equal(sss_share_parse(text, strlen(text), &s), SIGNET_E_PARSE);
    if (!strstr(signet_errmsg(), msg_part))
        fail_msg("parsing '%s': message '%s' lacks '%s'", text, signet_errmsg(), msg_part);
}

static void parse_rejects_malformed(void **state)
{
    parse_expect("1-1-1YAYwmOHqZ69jA", "threshold 1");
    parse_expect("0-1-1YAYwmOHqZ69jA", "threshold 0");
    parse_expect("x-1-1YAYwmOHqZ69jA", "threshold");
    parse_expect("12-1-1YAYwmOHqZ69jA", "threshold");
    parse_expect("2-0-1YAYwmOHqZ69jA", "index 0");
    parse_expect("2-x-1YAYwmOHqZ69jA", "index");
    parse_expect("2-10-1YAYwmOHqZ69jA", "index");
    parse_expect("2:1-1YAYwmOHqZ69jA", "threshold");
    parse_expect("2-1", "too short");
    parse_expect("2-1-", "too short");
    parse_expect("2-1-1YAYwmOHq!69jA", "malformed data");      /* bad character */
    parse_expect("2-1-1YAYwmOHqZ69jB", "malformed data");      /* non-canonical last char */
    parse_expect("2-1-1YAYwmOHqZ69jA==", "malformed data");    /* padding */
    parse_expect("2-1-1YAYw", "malformed data");               /* impossible length */
    parse_expect("2-1- 1YAYwmOHqZ69jA", "malformed data");     /* embedded space */
    char longer[4 + 400];
    memcpy(longer, "2-1-", 4);
    memset(longer + 4, 'A', sizeof longer - 5);
    longer[sizeof longer - 1] = 0;
    parse_expect(longer, "longer than");
}

static void combine_rejects_bad_sets(void **state)
{
    uint8_t secret[16] = {1, 2, 3};
    sss_share *a = sss_shares_alloc(5), *b = sss_shares_alloc(5), *set = sss_shares_alloc(5);
    sb_wr out;
    sbw_init_secure(&out, 64);
    assert_int_equal(sss_split(secret, sizeof secret, 3, 5, a), SIGNET_OK);

    /* Duplicate index. */
    set[0] = a[0]; set[1] = a[1]; set[2] = a[1];
    assert_int_equal(sss_combine(set, 3, &out), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "both have index 2"));
    /* Mixed thresholds. */
    assert_int_equal(sss_split(secret, sizeof secret, 2, 5, b), SIGNET_OK);
    set[0] = a[0]; set[1] = a[1]; set[2] = b[2];
    assert_int_equal(sss_combine(set, 3, &out), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "different splits"));
    /* Mixed lengths. */
    assert_int_equal(sss_split(secret, 8, 3, 5, b), SIGNET_OK);
    set[0] = a[0]; set[1] = a[1]; set[2] = b[2];
    assert_int_equal(sss_combine(set, 3, &out), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "holds 8 bytes"));
    /* Too few, and none. */
    assert_int_equal(sss_combine(a, 2, &out), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "collect 1 more"));
    assert_int_equal(sss_combine(a, 0, &out), SIGNET_E_ARG);
    /* A surplus share that does not fit: a typo in the fourth share is caught. */
    memcpy(set, a, 4 * sizeof *set);
    set[3].y[5] ^= 0x01;
    assert_int_equal(sss_combine(set, 4, &out), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "does not agree"));
    /* ... a share of another split of the same secret too. */
    assert_int_equal(sss_split(secret, sizeof secret, 3, 5, b), SIGNET_OK);
    memcpy(set, a, 3 * sizeof *set);
    set[3] = b[3];
    assert_int_equal(sss_combine(set, 4, &out), SIGNET_E_VERIFY);
    assert_int_equal(out.len, 0); /* nothing written on failure */
    sbw_free(&out);
    sss_shares_free(a, 5);
    sss_shares_free(b, 5);
    sss_shares_free(set, 5);
}

static void wrapkey_blob_and_check(void **state)
{
    sss_wrapkey wk = {.id = 0x00ff, .domains = 0x8001,
                      .capabilities = 0x0000000000003000ULL, .delegated = 0x0123456789abcdefULL};
    for (int i = 0; i < 32; i++)
        wk.key[i] = (uint8_t)i;
    sb_wr w;
    sbw_init_secure(&w, 128);
    assert_int_equal(sss_wrapkey_encode(&wk, &w), SIGNET_OK);
    assert_int_equal(w.len, SSS_WRAPKEY_BLOB_LEN);
    assert_memory_equal(w.p, "\x00\xff\x80\x01\x00\x00\x00\x00\x00\x00\x30\x00"
                             "\x01\x23\x45\x67\x89\xab\xcd\xef", 20);
    assert_memory_equal(w.p + 20, wk.key, 32);

    /* The blob survives a 3-of-5 split and decodes to the same fields. */
    sss_share *sh = sss_shares_alloc(5);
    assert_int_equal(sss_split(w.p, w.len, 3, 5, sh), SIGNET_OK);
    sb_wr back;
    sbw_init_secure(&back, 128);
    assert_int_equal(sss_combine(sh + 2, 3, &back), SIGNET_OK);
    sss_wrapkey dec;
    assert_int_equal(sss_wrapkey_decode(back.p, back.len, &dec), SIGNET_OK);
    assert_memory_equal(&dec, &wk, sizeof wk);
    sss_wrapkey short_one;
    assert_int_equal(sss_wrapkey_decode(back.p, back.len - 1, &short_one), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "51 bytes"));

    /* Check value: HMAC-SHA256(key 00..1f, "signet wrap-key check v1")[0:16],
     * computed independently (Python hmac). */
    static const uint8_t want[16] = {0xc8, 0xe3, 0x22, 0x65, 0x30, 0x6c, 0x03, 0xa1,
                                     0xac, 0x5b, 0x6e, 0x0d, 0xa6, 0xda, 0xd7, 0xb4};
    uint8_t check[16];
    assert_int_equal(sss_wrapkey_check(&wk, check), SIGNET_OK);
    assert_memory_equal(check, want, 16);
    assert_int_equal(sss_wrapkey_verify(&dec, want), SIGNET_OK);
    dec.key[31] ^= 1;
    assert_int_equal(sss_wrapkey_verify(&dec, want), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "do not import"));
    sbw_free(&w);
    sbw_free(&back);
    sss_shares_free(sh, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_arithmetic),
        cmocka_unit_test(known_vector),
        cmocka_unit_test(every_subset_reconstructs),
        cmocka_unit_test(perfect_secrecy_exhaustive),
        cmocka_unit_test(split_uses_fresh_randomness),
        cmocka_unit_test(split_rejects_bad_parameters),
        cmocka_unit_test(format_parse_round_trip),
        cmocka_unit_test(parse_rejects_malformed),
        cmocka_unit_test(combine_rejects_bad_sets),
        cmocka_unit_test(wrapkey_blob_and_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

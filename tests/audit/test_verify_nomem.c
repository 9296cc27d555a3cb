/* The verifier under injected allocation failures: every allocation, one at a time,
 * is made to fail; verification must then stop with SIGNET_E_NOMEM or, when the
 * failing allocation was never reached, report exactly the findings of a run with
 * all the memory it wants.  It may never report fewer findings (fail open).
 * malloc, calloc and realloc are wrapped at link time (-Wl,--wrap); OpenSSL keeps
 * the real allocator, as its failures are handled elsewhere. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "trail_fixture.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);

static long countdown = -1; /* allocations until the one that fails; -1 = never */

static bool fail_now(void)
{
    if (countdown < 0)
        return false;
    return countdown-- == 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { return fail_now() ? NULL : __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

static void *ossl_malloc(size_t n, const char *f, int l) { (void)f; (void)l; return __real_malloc(n); }
static void *ossl_realloc(void *p, size_t n, const char *f, int l) { (void)f; (void)l; return __real_realloc(p, n); }
static void ossl_free(void *p, const char *f, int l) { (void)f; (void)l; free(p); }

static void every_allocation_failure_stops_or_changes_nothing(void **state)
{
    (void)state;
    struct tfx f;
    tfx_init(&f);
    tfx_sign(&f, "platform", 0x0010, "a1");
    tfx_checkpoint(&f);
    tfx_sign(&f, "releasekey", 0x0011, "a2");
    /* A finding to keep: a signature without a record. */
    yh_log_entry e = tfx_entry(&f, YH_CMD_SIGN_PKCS1, 0x0011, 0xc7);
    tfx_ingest(&f, &e, 1, NULL);
    tfx_checkpoint(&f);
    signet_trail_unlock(f.t);

    signet_report *r = NULL;
    signet_verify_opts o = {.expect_path = NULL};
    signet_rc want = signet_trail_verify(f.dir, &o, &r);
    assert_int_equal(want, SIGNET_E_VERIFY);
    size_t n_want = signet_report_count(r);
    assert_true(n_want >= 1);
    signet_report_free(r);

    size_t stopped = 0;
    for (long k = 0;; k++) {
        countdown = k;
        r = NULL;
        signet_rc rc = signet_trail_verify(f.dir, &o, &r);
        bool reached = countdown < 0;
        countdown = -1;
        if (!reached) {
            /* The failure was never injected: the run was a complete one. */
            assert_int_equal(rc, want);
            assert_int_equal(signet_report_count(r), n_want);
            signet_report_free(r);
            break;
        }
        if (rc != SIGNET_E_NOMEM) {
            /* Reached, yet not stopped: only allowed when nothing was lost. */
            if ((rc != want || !r || signet_report_count(r) != n_want) && r)
                signet_report_print(r, stderr);
            if (rc != want || !r || signet_report_count(r) != n_want)
                fail_msg("allocation %ld failed and verification went on with %zu findings (rc %d), "
                         "not %zu (rc %d)", k, r ? signet_report_count(r) : 0, rc, n_want, want);
        } else {
            stopped++;
        }
        signet_report_free(r);
    }
    assert_true(stopped > 10);
    tfx_cleanup(&f);
}

int main(void)
{
    CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_allocation_failure_stops_or_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

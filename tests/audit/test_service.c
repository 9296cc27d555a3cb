/* Signed service records: a reset is explained only by a reset record signed by a
 * record key of the trust anchors and bound to the device entry just before the
 * restart; unsigned, mis-signed or unbound service records are findings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "trail_fixture.h"

static const signet_finding *find(const signet_report *r, signet_finding_kind kind, const char *msg)
{
    for (size_t i = 0; i < signet_report_count(r); i++) {
        const signet_finding *x = signet_report_finding(r, i);
        if (x->kind == kind && (!msg || strstr(x->msg, msg)))
            return x;
    }
    return NULL;
}

/* Verifies and expects exactly `rc`; with kind, a finding of that kind and message. */
static void expect(const struct tfx *f, signet_rc rc, signet_finding_kind kind, const char *msg)
{
    signet_report *r;
    signet_rc got = tfx_verify(f, NULL, &r);
    const signet_finding *x = kind ? find(r, kind, msg) : NULL;
    if (got != rc || (kind && !x))
        signet_report_print(r, stderr);
    assert_int_equal(got, rc);
    if (kind)
        assert_non_null(x);
    signet_report_free(r);
}

/* A service record built and signed by hand (append_service would refuse). */
static void append_service_by(struct tfx *f, uint64_t seq, const char *event, EVP_PKEY *k)
{
    signet_record *r = calloc(1, sizeof *r);
    assert_int_equal(signet_record_service(r, f->serial, TFX_AUTH, seq, event, NULL), SIGNET_OK);
    assert_int_equal(k ? signet_trail_append_signed(f->t, r, k) : signet_trail_append_record(f->t, r),
                     SIGNET_OK);
    free(r);
}

/* The trail's newest entry of the fixture's device, by ingesting one more. */
static uint64_t drain_one(struct tfx *f)
{
    yh_log_entry e = tfx_entry(f, YH_CMD_CREATE_SESSION, 0xffff, YH_RESPONSE(YH_CMD_CREATE_SESSION));
    signet_drain_result d;
    tfx_ingest(f, &e, 1, &d);
    return d.entries[0].seq;
}

static void signed_reset_explains_the_restart(void **state)
{
    (void)state;
    struct tfx f;
    tfx_init(&f);
    EVP_PKEY *admin = tfx_record_keys(&f);
    tfx_sign(&f, "platform", 0x0010, "a1");
    assert_int_equal(signet_trail_append_service(f.t, f.serial, TFX_AUTH, "in", "in service", admin),
                     SIGNET_OK);
    drain_one(&f);
    /* Signed before the reset, bound to the last entry before it. */
    assert_int_equal(signet_trail_append_service(f.t, f.serial, TFX_AUTH, "reset", "restore", admin),
                     SIGNET_OK);
    tfx_device_reset(&f);
    tfx_sign(&f, "platform", 0x0010, "a2");
    tfx_checkpoint(&f);
    expect(&f, SIGNET_OK, 0, NULL);
    /* The record line names its position and signer. */
    char *recs = tfx_read(&f, "records.log", NULL);
    assert_non_null(strstr(recs, "type=service"));
    assert_non_null(strstr(recs, "event=reset"));
    assert_non_null(strstr(recs, " rsig="));
    free(recs);

    /* One record explains one reset: a second restart needs its own. */
    tfx_device_reset(&f);
    expect(&f, SIGNET_E_VERIFY, SIGNET_FIND_RESTART, "with no service record");
    EVP_PKEY_free(admin);
    tfx_cleanup(&f);
}

static void reset_record_must_be_bound_to_the_entry_before_the_restart(void **state)
{
    (void)state;
    struct tfx f;
    tfx_init(&f);
    EVP_PKEY *admin = tfx_record_keys(&f);
    drain_one(&f);
    assert_int_equal(signet_trail_append_service(f.t, f.serial, TFX_AUTH, "reset", NULL, admin), SIGNET_OK);
    drain_one(&f); /* the device went on after the record: it was not reset then */
    tfx_device_reset(&f);
    expect(&f, SIGNET_E_VERIFY, SIGNET_FIND_RESTART, "is bound to entry seq");
    EVP_PKEY_free(admin);
    tfx_cleanup(&f);
}

static void stranger_and_unsigned_records_are_findings(void **state)
{
    (void)state;
    struct tfx f;
    tfx_init(&f);
    EVP_PKEY *admin = tfx_record_keys(&f), *stranger = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(stranger);
    uint64_t seq = drain_one(&f);
    /* The writer refuses a key the anchors do not name... */
    assert_int_equal(signet_trail_append_service(f.t, f.serial, TFX_AUTH, "reset", NULL, stranger),
                     SIGNET_E_AUTH);
    /* ...and a device the trail does not know. */
    assert_int_equal(signet_trail_append_service(f.t, 42, TFX_AUTH, "in", NULL, admin), SIGNET_E_STATE);
    /* Written anyway: a finding, and the reset stays unexplained. */
    append_service_by(&f, seq, "reset", stranger);
    tfx_device_reset(&f);
    expect(&f, SIGNET_E_VERIFY, SIGNET_FIND_RESTART, "is not validly signed");
    expect(&f, SIGNET_E_VERIFY, SIGNET_FIND_SERVICE, "record keys do not name");
    EVP_PKEY_free(admin);
    EVP_PKEY_free(stranger);
    tfx_cleanup(&f);

    tfx_init(&f);
    admin = tfx_record_keys(&f);
    append_service_by(&f, drain_one(&f), "in", NULL);
    expect(&f, SIGNET_E_VERIFY, SIGNET_FIND_SERVICE, "is not signed: a forged service record");
    EVP_PKEY_free(admin);
    tfx_cleanup(&f);
}

static void service_record_bound_to_no_entry(void **state)
{
    (void)state;
    struct tfx f;
    tfx_init(&f);
    EVP_PKEY *admin = tfx_record_keys(&f);
    drain_one(&f);
    append_service_by(&f, 999, "out", admin);
    expect(&f, SIGNET_E_VERIFY, SIGNET_FIND_SERVICE, "entry seq 999, which the trail does not hold");
    EVP_PKEY_free(admin);
    tfx_cleanup(&f);

    tfx_init(&f);
    admin = tfx_record_keys(&f);
    append_service_by(&f, 0, "out", admin);
    expect(&f, SIGNET_E_VERIFY, SIGNET_FIND_SERVICE, "bound to no device log position");
    EVP_PKEY_free(admin);
    tfx_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signed_reset_explains_the_restart),
        cmocka_unit_test(reset_record_must_be_bound_to_the_entry_before_the_restart),
        cmocka_unit_test(stranger_and_unsigned_records_are_findings),
        cmocka_unit_test(service_record_bound_to_no_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

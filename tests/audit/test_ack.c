/* Acknowledgements: an incident a person looked into is closed by a record signed
 * with a record key the trust anchors name; verify then lists it as acknowledged
 * and passes.  Unknown keys, forged acknowledgements and tampering are not closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "trail_fixture.h"

static EVP_PKEY *ed25519(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(k);
    return k;
}

static const signet_finding *find(const signet_report *r, signet_finding_kind kind)
{
    for (size_t i = 0; i < signet_report_count(r); i++)
        if (signet_report_finding(r, i)->kind == kind)
            return signet_report_finding(r, i);
    return NULL;
}

static void acknowledged_incident_passes(void **state)
{
    (void)state;
    struct tfx f;
    tfx_init(&f);
    tfx_sign(&f, "platform", 0x0010, "a1");
    yh_log_entry e = tfx_entry(&f, YH_CMD_SIGN_PKCS1, 0x0011, 0xc7); /* signed outside signet */
    tfx_ingest(&f, &e, 1, NULL);
    tfx_checkpoint(&f);
    signet_trail_unlock(f.t);

    EVP_PKEY *admin = ed25519(), *stranger = ed25519();
    signet_rkeys keys = {.n = 1};
    snprintf(keys.k[0].role, sizeof keys.k[0].role, "admin");
    snprintf(keys.k[0].holder, sizeof keys.k[0].holder, "frank");
    size_t pl = 32;
    assert_int_equal(EVP_PKEY_get_raw_public_key(admin, keys.k[0].pub, &pl), 1);
    assert_int_equal(signet_rkeys_create(f.dir, &keys), SIGNET_OK);
    assert_int_equal(signet_rkeys_create(f.dir, &keys), SIGNET_E_STATE); /* anchors never change */

    signet_report *r;
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_E_VERIFY);
    const signet_finding *x = find(r, SIGNET_FIND_UNRECORDED);
    assert_non_null(x);
    assert_int_equal(x->severity, SIGNET_SEV_INCIDENT);
    char hash[17];
    snprintf(hash, sizeof hash, "%s", x->hash);
    signet_report_free(r);

    /* Only a record key of the anchors, only an existing finding. */
    assert_int_equal(signet_trail_acknowledge(f.dir, NULL, hash, "checked", stranger), SIGNET_E_AUTH);
    assert_int_equal(signet_trail_acknowledge(f.dir, NULL, "0123456789abcdef", "x", admin), SIGNET_E_NOTFOUND);
    assert_int_equal(signet_trail_acknowledge(f.dir, NULL, hash, "test signature made with yubihsm-shell "
                                              "during the device check, ticket 42", admin), SIGNET_OK);
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_OK);
    x = find(r, SIGNET_FIND_UNRECORDED);
    assert_non_null(x);
    assert_true(x->acknowledged);
    assert_non_null(strstr(x->ack, "admin frank"));
    assert_non_null(strstr(x->ack, "ticket 42"));
    signet_report_free(r);
    assert_int_equal(signet_trail_acknowledge(f.dir, NULL, hash, "again", admin), SIGNET_E_STATE);

    /* A forged acknowledgement (a key the anchors do not name) is itself a finding. */
    assert_int_equal(signet_trail_lock(f.t), SIGNET_OK);
    signet_record *rec = calloc(1, sizeof *rec);
    assert_int_equal(signet_record_ack(rec, hash, "forged"), SIGNET_OK);
    assert_int_equal(signet_trail_append_signed(f.t, rec, stranger), SIGNET_OK);
    free(rec);
    signet_trail_unlock(f.t);
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_E_VERIFY);
    x = find(r, SIGNET_FIND_ACK);
    assert_non_null(x);
    assert_non_null(strstr(x->msg, "do not name"));
    signet_report_free(r);

    /* Tampering is never acknowledged: flip a byte the checkpoint covers. */
    size_t n;
    char *recs = tfx_read(&f, "records.log", &n);
    char *h = strstr(recs, "host=");
    h[5] = h[5] == 'x' ? 'y' : 'x';
    tfx_write(&f, "records.log", recs, n);
    free(recs);
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_E_VERIFY);
    x = find(r, SIGNET_FIND_ALTERED);
    assert_non_null(x);
    snprintf(hash, sizeof hash, "%s", x->hash);
    signet_report_free(r);
    assert_int_equal(signet_trail_acknowledge(f.dir, NULL, hash, "please", admin), SIGNET_E_STATE);

    EVP_PKEY_free(admin);
    EVP_PKEY_free(stranger);
    tfx_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(acknowledged_incident_passes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

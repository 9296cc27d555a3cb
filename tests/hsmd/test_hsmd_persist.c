/* signet-hsm keeps its device state across restarts: objects created over HTTP are
 * there after the daemon restarts, deletions stay deleted, the serial number is the
 * one the state was created with, and a damaged state file is refused rather than
 * replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/hsmd_fixture.h"
#include "signet/client.h"

#define OPAQUE_ID 0x1234
#define KEY_ID 0x0200

static const uint8_t opaque_data[] = "release manifest v1\n\x00\x01\x02\xff";

static hsm_session *login(const struct hsmd *h, hsm_conn **conn)
{
    hsm_session *s = NULL;
    assert_int_equal(hsm_conn_open(h->url, conn), SIGNET_OK);
    signet_rc rc = hsm_session_open(*conn, 1, "password", &s);
    if (rc != SIGNET_OK)
        fail_msg("session: %s", signet_errmsg());
    return s;
}

static void logout(hsm_conn *c, hsm_session *s)
{
    hsm_session_close(s);
    hsm_conn_close(c);
}

static void sign_and_verify(hsm_session *s, EVP_PKEY *pub)
{
    uint8_t digest[32], sig[160];
    size_t sig_len = sizeof sig;
    memset(digest, 0xa5, sizeof digest);
    assert_int_equal(hsm_sign_ecdsa(s, KEY_ID, digest, sizeof digest, sig, &sig_len), SIGNET_OK);
    EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new(pub, NULL);
    assert_non_null(vc);
    assert_int_equal(EVP_PKEY_verify_init(vc), 1);
    assert_int_equal(EVP_PKEY_verify(vc, sig, sig_len, digest, sizeof digest), 1);
    EVP_PKEY_CTX_free(vc);
}

static void objects_survive_restart(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, "--serial 777"), 0);

    hsm_conn *c;
    hsm_session *s = login(&h, &c);
    hsm_object_attrs oa = {.id = OPAQUE_ID, .label = "persist-me", .domains = 0x0001,
                           .capabilities = YH_CAP(YH_CAP_GET_OPAQUE),
                           .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id = 0;
    assert_int_equal(hsm_put_opaque(s, &oa, opaque_data, sizeof opaque_data, &id), SIGNET_OK);
    assert_int_equal(id, OPAQUE_ID);
    hsm_object_attrs ka = {.id = KEY_ID, .label = "persist-key", .domains = 0x0001,
                           .capabilities = YH_CAP(YH_CAP_SIGN_ECDSA),
                           .algorithm = YH_ALGO_EC_P256};
    assert_int_equal(hsm_generate_asymmetric(s, &ka, &id), SIGNET_OK);
    EVP_PKEY *pub_before = NULL;
    uint8_t algo = 0;
    assert_int_equal(hsm_get_public_key(s, KEY_ID, &pub_before, &algo), SIGNET_OK);
    assert_int_equal(algo, YH_ALGO_EC_P256);
    logout(c, s);

    assert_int_equal(hsmd_restart(&h, NULL), 0); /* no --serial: it comes from the state */

    s = login(&h, &c);
    char serial[32], version[32];
    assert_int_equal(hsm_conn_status(c, serial, sizeof serial, version, sizeof version), SIGNET_OK);
    assert_string_equal(serial, "777");
    sb_wr got;
    sbw_init(&got, 4096);
    assert_int_equal(hsm_get_opaque(s, OPAQUE_ID, &got), SIGNET_OK);
    assert_int_equal(got.len, sizeof opaque_data);
    assert_memory_equal(got.p, opaque_data, sizeof opaque_data);
    sbw_free(&got);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, OPAQUE_ID, YH_TYPE_OPAQUE, &oi), SIGNET_OK);
    assert_string_equal(oi.label, "persist-me");
    /* The key is the same key: same public half, and it still signs. */
    EVP_PKEY *pub_after = NULL;
    assert_int_equal(hsm_get_public_key(s, KEY_ID, &pub_after, &algo), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(pub_before, pub_after), 1);
    sign_and_verify(s, pub_before);
    /* A deletion is as durable as a creation. */
    assert_int_equal(hsm_delete_object(s, OPAQUE_ID, YH_TYPE_OPAQUE), SIGNET_OK);
    logout(c, s);

    assert_int_equal(hsmd_restart(&h, NULL), 0);
    s = login(&h, &c);
    sbw_init(&got, 4096);
    assert_int_equal(hsm_get_opaque(s, OPAQUE_ID, &got), SIGNET_E_NOTFOUND);
    sbw_free(&got);
    sign_and_verify(s, pub_before);
    logout(c, s);

    EVP_PKEY_free(pub_before);
    EVP_PKEY_free(pub_after);
    hsmd_stop(&h);
    assert_int_equal(h.exit_status, 0);
    hsmd_cleanup(&h);
}

/* A state file that does not parse stops the daemon with a message; the file is
 * left as it was, for a person to inspect. */
static void damaged_state_refused(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    hsmd_stop(&h);
    assert_int_equal(h.exit_status, 0);
    static const char junk[] = "this is not a signet-hsm state file\n";
    assert_int_equal(test_write_file(h.state, junk, sizeof junk - 1), 0);

    assert_int_not_equal(hsmd_restart(&h, NULL), 0);
    assert_int_equal(h.pid, 0);
    assert_int_not_equal(h.exit_status, 0);
    char *text = NULL;
    size_t len;
    assert_int_equal(test_read_file(h.state, &text, &len), 0);
    assert_int_equal(len, sizeof junk - 1);
    assert_memory_equal(text, junk, len);
    free(text);
    assert_int_equal(test_read_file(h.log, &text, &len), 0);
    assert_non_null(strstr(text, h.state)); /* the message names the file */
    free(text);
    hsmd_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(objects_survive_restart),
        cmocka_unit_test(damaged_state_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The HSM client's sessions against the emulator core in-process: opening,
 * wrong passwords, R-MAC tampering, idle expiry and transparent re-opening,
 * "sessions full" backoff, message size limits, sharing across threads, and
 * hostile answers on the plain (unauthenticated) path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "rig.h"
#include "signet/secmem.h"

static int setup(void **state)
{
    static struct rig r;
    rig_open(&r);
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    rig_close(*state);
    return 0;
}

static void device_info_sets_limits(void **state)
{
    struct rig *r = *state;
    hsm_devinfo di;
    assert_int_equal(hsm_device_info(r->conn, &di), SIGNET_OK);
    assert_int_equal(di.major, 2);
    assert_int_equal(di.minor, 4);
    assert_true(di.serial != 0);
    assert_int_equal(di.log_total, YH_LOG_CAPACITY);
    bool has_rsa = false;
    for (size_t i = 0; i < di.n_algorithms; i++)
        has_rsa |= di.algorithms[i] == YH_ALGO_RSA_2048;
    assert_true(has_rsa);
    char serial[32], version[32];
    assert_int_equal(hsm_conn_status(r->conn, serial, sizeof serial, version, sizeof version),
                     SIGNET_OK);
    char want[32];
    snprintf(want, sizeof want, "%u", di.serial);
    assert_string_equal(serial, want);
}

static void open_echo_close(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    assert_int_equal(hsm_session_auth_id(s), 1);
    assert_ptr_equal(hsm_session_conn(s), r->conn);
    sb_wr out;
    sbw_init(&out, 4096);
    assert_int_equal(hsm_echo(s, (const uint8_t *)"hello", 5, &out), SIGNET_OK);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.p, "hello", 5);
    sbw_free(&out);
    /* Random bytes come in chunks: more than one message's worth. */
    uint8_t rnd[2500], zero[2500] = {0};
    assert_int_equal(hsm_get_pseudo_random(s, sizeof rnd, rnd), SIGNET_OK);
    assert_memory_not_equal(rnd, zero, sizeof rnd);
    hsm_session_close(s);
}

static void wrong_password_is_auth_and_frees_the_slot(void **state)
{
    struct rig *r = *state;
    hsm_session *s = NULL;
    /* More wrong attempts than there are slots: each must give its slot back. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(hsm_session_open(r->conn, 1, "not the password", &s), SIGNET_E_AUTH);
        assert_null(s);
    }
    assert_int_equal(signet_err_device(), YH_ERR_AUTHENTICATION_FAILED);
    assert_non_null(strstr(signet_errmsg(), "authentication"));
    hsm_session *ok[YH_MAX_SESSIONS];
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        ok[i] = rig_login(r);
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        hsm_session_close(ok[i]);
    /* A key that does not exist. */
    assert_int_equal(hsm_session_open(r->conn, 77, "password", &s), SIGNET_E_NOTFOUND);
}

static void tampered_rmac_closes_the_session(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    uint8_t buf[32];
    r->tamper_rmac = true;
    assert_int_equal(hsm_get_pseudo_random(s, 16, buf), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "not trustworthy"));
    /* The session is unusable now, and stays so: no silent re-open. */
    unsigned before = r->transfers;
    assert_int_equal(hsm_get_pseudo_random(s, 16, buf), SIGNET_E_STATE);
    assert_int_equal(r->transfers, before);
    hsm_session_close(s);
    /* A new session works. */
    s = rig_login(r);
    assert_int_equal(hsm_get_pseudo_random(s, 16, buf), SIGNET_OK);
    hsm_session_close(s);
}

static void idle_expiry_reopens_transparently(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    uint8_t buf[16];
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    unsigned creates = r->creates;
    r->now_ms += 31000; /* the device drops the session */
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    assert_int_equal(r->creates, creates + 1);
    /* and keeps working on the new session without further re-opens */
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    assert_int_equal(r->creates, creates + 1);
    hsm_session_close(s);
}

static void transport_failure_reopens_on_the_next_command(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    uint8_t buf[8];
    unsigned creates = r->creates;
    r->fail_next = 1;
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_E_NET);
    /* The channel state is unknown now: the next command re-opens first. */
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    assert_int_equal(r->creates, creates + 1);
    /* A failing re-open leaves the session waiting for the connector to return. */
    r->fail_next = 3;
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_E_NET);
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_E_NET);
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_E_NET);
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    hsm_session_close(s);
}

static void reopen_uses_the_changed_password(void **state)
{
    struct rig *r = *state;
    hsm_session *admin = rig_login(r);
    rig_add_auth(admin, 2, "first", YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY) |
                                        YH_CAP(YH_CAP_GET_PSEUDO_RANDOM),
                 YH_CAP(YH_CAP_CHANGE_AUTHENTICATION_KEY) | YH_CAP(YH_CAP_GET_PSEUDO_RANDOM), 1);
    hsm_session_close(admin);
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open(r->conn, 2, "first", &s), SIGNET_OK);
    assert_int_equal(hsm_change_auth_key(s, "second"), SIGNET_OK);
    r->now_ms += 31000;
    uint8_t buf[8];
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    hsm_session_close(s);
    assert_int_equal(hsm_session_open(r->conn, 2, "first", &s), SIGNET_E_AUTH);
    assert_int_equal(hsm_session_open(r->conn, 2, "second", &s), SIGNET_OK);
    hsm_session_close(s);
}

static void sessions_full_backs_off_then_fails(void **state)
{
    struct rig *r = *state;
    hsm_session *held[YH_MAX_SESSIONS];
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        held[i] = rig_login(r);
    unsigned creates = r->creates;
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open(r->conn, 1, "password", &s), SIGNET_E_BUSY);
    assert_null(s);
    assert_int_equal(signet_err_device(), YH_ERR_SESSIONS_FULL);
    assert_non_null(strstr(signet_errmsg(), "16"));
    /* It asked again several times before giving up. */
    assert_true(r->creates - creates >= 5);
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        hsm_session_close(held[i]);
}

static void sessions_full_backoff_rides_out_expiry(void **state)
{
    struct rig *r = *state;
    hsm_session *held[YH_MAX_SESSIONS];
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        held[i] = rig_login(r);
    /* The held sessions expire while the client is backing off. */
    r->expire_at_create = r->creates + 3;
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open(r->conn, 1, "password", &s), SIGNET_OK);
    uint8_t buf[8];
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    hsm_session_close(s);
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        hsm_session_close(held[i]);
}

static void too_large_is_refused_before_sending(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    static uint8_t big[3200];
    hsm_object_attrs a = {.label = "big", .domains = 1, .capabilities = YH_CAP(YH_CAP_GET_OPAQUE)};
    unsigned before = r->transfers;
    uint16_t id;
    assert_int_equal(hsm_put_opaque(s, &a, big, sizeof big, &id), SIGNET_E_ARG);
    assert_int_equal(r->transfers, before);
    /* The largest opaque object that fits one message is accepted. */
    assert_int_equal(hsm_put_opaque(s, &a, big, 3000, &id), SIGNET_OK);
    hsm_session_close(s);
}

struct thread_arg {
    hsm_session *s;
    int failures;
};

static void *echo_worker(void *p)
{
    struct thread_arg *t = p;
    for (int i = 0; i < 40; i++) {
        uint8_t msg[16], buf[64];
        memset(msg, i, sizeof msg);
        sb_wr out;
        sbw_init_fixed(&out, buf, sizeof buf);
        if (hsm_echo(t->s, msg, sizeof msg, &out) != SIGNET_OK)
            t->failures++;
    }
    return NULL;
}

static void one_session_shared_by_threads(void **state)
{
    struct rig *r = *state;
    hsm_session *s = rig_login(r);
    pthread_t th[4];
    struct thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct thread_arg){.s = s};
        assert_int_equal(pthread_create(&th[i], NULL, echo_worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    hsm_session_close(s);
}

/* ---- hostile answers on the plain path ----------------------------------- */

struct canned {
    uint8_t frame[64];
    size_t len;
};

static signet_rc canned_transport(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                                  size_t *resp_len)
{
    struct canned *c = ctx;
    memcpy(resp, c->frame, c->len);
    *resp_len = c->len;
    return SIGNET_OK;
}

static void hostile_plain_answers_are_refused(void **state)
{
    struct canned c;
    hsm_conn *conn;
    assert_int_equal(hsm_conn_open_transport(canned_transport, &c, &conn), SIGNET_OK);
    hsm_devinfo di;
    /* Truncated frame, length field lying, wrong response code, short device info. */
    const struct canned cases[] = {
        {{0x86}, 1},
        {{0x86, 0x00, 0x20, 2, 4, 0}, 6},
        {{0x83, 0x00, 0x01, 0x00}, 4},
        {{0x86, 0x00, 0x03, 2, 4, 0}, 6},
        {{0x7f, 0x00, 0x02, 0x01, 0x02}, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        c = cases[i];
        signet_rc rc = hsm_device_info(conn, &di);
        assert_int_not_equal(rc, SIGNET_OK);
        assert_int_not_equal(rc, SIGNET_E_DEVICE);
    }
    /* A device error is reported as one. */
    c = (struct canned){{0x7f, 0x00, 0x01, YH_ERR_INVALID_COMMAND}, 4};
    assert_int_equal(hsm_device_info(conn, &di), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_COMMAND);
    /* A Create Session answer of the wrong length. */
    hsm_session *s = NULL;
    hsm_conn_close(conn);
    struct canned seq = {{0x86, 0x00, 0x09, 2, 4, 0, 0, 0, 0, 1, 62, 2}, 12};
    assert_int_equal(hsm_conn_open_transport(canned_transport, &seq, &conn), SIGNET_OK);
    assert_int_equal(hsm_device_info(conn, &di), SIGNET_OK);
    seq = (struct canned){{0x83, 0x00, 0x05, 0, 1, 2, 3, 4}, 8};
    assert_int_equal(hsm_session_open(conn, 1, "password", &s), SIGNET_E_PARSE);
    assert_null(s);
    hsm_conn_close(conn);
}

static void connector_urls(void **state)
{
    hsm_conn *c = NULL;
    assert_int_equal(hsm_conn_open("ftp://example", &c), SIGNET_E_ARG);
    assert_null(c);
    /* Nothing listens on port 1: a clear network error. */
    assert_int_equal(hsm_conn_open("http://127.0.0.1:1/", &c), SIGNET_OK);
    hsm_devinfo di;
    assert_int_equal(hsm_device_info(c, &di), SIGNET_E_NET);
    assert_non_null(strstr(signet_errmsg(), "http://127.0.0.1:1"));
    hsm_conn_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(device_info_sets_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(open_echo_close, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_password_is_auth_and_frees_the_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(tampered_rmac_closes_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(idle_expiry_reopens_transparently, setup, teardown),
        cmocka_unit_test_setup_teardown(transport_failure_reopens_on_the_next_command, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reopen_uses_the_changed_password, setup, teardown),
        cmocka_unit_test_setup_teardown(sessions_full_backs_off_then_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(sessions_full_backoff_rides_out_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(too_large_is_refused_before_sending, setup, teardown),
        cmocka_unit_test_setup_teardown(one_session_shared_by_threads, setup, teardown),
        cmocka_unit_test(hostile_plain_answers_are_refused),
        cmocka_unit_test(connector_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

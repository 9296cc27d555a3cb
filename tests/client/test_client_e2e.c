/* The HSM client over real HTTP against a signet-hsm daemon: connector status,
 * sessions, typed calls, the 17th session, idle expiry with a short session
 * timeout, persistence across a daemon restart, and a wrong password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/hsmd_fixture.h"
#include "signet/client.h"

static hsm_session *login(hsm_conn *c)
{
    hsm_session *s = NULL;
    if (hsm_session_open(c, 1, "password", &s) != SIGNET_OK)
        fail_msg("login: %s", signet_errmsg());
    return s;
}

static void status_info_and_signing(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, "--serial 4242"), 0);
    hsm_conn *c;
    assert_int_equal(hsm_conn_open(h.url, &c), SIGNET_OK);
    char serial[32], version[32];
    assert_int_equal(hsm_conn_status(c, serial, sizeof serial, version, sizeof version), SIGNET_OK);
    assert_string_equal(serial, "4242");
    hsm_devinfo di;
    assert_int_equal(hsm_device_info(c, &di), SIGNET_OK);
    assert_int_equal(di.serial, 4242);
    assert_int_equal(di.major, 2);

    hsm_session *s = login(c);
    hsm_object_attrs a = {.label = "e2e", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_SIGN_PKCS),
                          .algorithm = YH_ALGO_RSA_2048};
    uint16_t id = 0;
    assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_OK);
    EVP_PKEY *pk = NULL;
    assert_int_equal(hsm_get_public_key(s, id, &pk, NULL), SIGNET_OK);
    static const uint8_t msg[] = "over http";
    uint8_t d[32], sig[512];
    unsigned dl = 32;
    EVP_Digest(msg, sizeof msg, d, &dl, EVP_sha256(), NULL);
    size_t slen = sizeof sig;
    assert_int_equal(hsm_sign_pkcs1(s, id, d, sizeof d, sig, &slen), SIGNET_OK);
    assert_int_equal(slen, 256);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestVerify(ctx, sig, slen, msg, sizeof msg), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    /* A frame near the size limit crosses HTTP intact. */
    static uint8_t big[3000];
    memset(big, 0x5a, sizeof big);
    sb_wr out;
    sbw_init(&out, YH_MAX_FRAME);
    assert_int_equal(hsm_echo(s, big, sizeof big, &out), SIGNET_OK);
    sbw_free(&out);
    hsm_session_close(s);

    /* wrong password */
    s = NULL;
    assert_int_equal(hsm_session_open(c, 1, "wrong", &s), SIGNET_E_AUTH);
    assert_null(s);
    hsm_conn_close(c);
    hsmd_cleanup(&h);
}

static void seventeenth_session(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    hsm_conn *c;
    assert_int_equal(hsm_conn_open(h.url, &c), SIGNET_OK);
    hsm_session *held[YH_MAX_SESSIONS];
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        held[i] = login(c);
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open(c, 1, "password", &s), SIGNET_E_BUSY);
    assert_int_equal(signet_err_device(), YH_ERR_SESSIONS_FULL);
    assert_non_null(strstr(signet_errmsg(), "sessions"));
    /* Closing one frees a slot at once. */
    hsm_session_close(held[0]);
    s = login(c);
    hsm_session_close(s);
    for (int i = 1; i < YH_MAX_SESSIONS; i++)
        hsm_session_close(held[i]);
    hsm_conn_close(c);
    hsmd_cleanup(&h);
}

static void idle_timeout_reopens(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, "--session-timeout 1"), 0);
    hsm_conn *c;
    assert_int_equal(hsm_conn_open(h.url, &c), SIGNET_OK);
    hsm_session *s = login(c);
    uint8_t buf[8];
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    sleep(3); /* past the daemon's 1 s session timeout */
    assert_int_equal(hsm_get_pseudo_random(s, sizeof buf, buf), SIGNET_OK);
    hsm_session_close(s);
    hsm_conn_close(c);
    hsmd_cleanup(&h);
}

static void state_survives_restart(void **state)
{
    struct hsmd h;
    assert_int_equal(hsmd_start(&h, NULL), 0);
    hsm_conn *c;
    assert_int_equal(hsm_conn_open(h.url, &c), SIGNET_OK);
    hsm_session *s = login(c);
    hsm_object_attrs a = {.id = 0x0444, .label = "persistent", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_SIGN_EDDSA),
                          .algorithm = YH_ALGO_EC_ED25519};
    uint16_t id;
    assert_int_equal(hsm_generate_asymmetric(s, &a, &id), SIGNET_OK);
    EVP_PKEY *before = NULL, *after = NULL;
    assert_int_equal(hsm_get_public_key(s, id, &before, NULL), SIGNET_OK);
    hsm_session_close(s);
    hsm_conn_close(c);

    assert_int_equal(hsmd_restart(&h, NULL), 0);
    assert_int_equal(hsm_conn_open(h.url, &c), SIGNET_OK);
    s = login(c);
    assert_int_equal(hsm_get_public_key(s, 0x0444, &after, NULL), SIGNET_OK);
    assert_int_equal(EVP_PKEY_eq(before, after), 1);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, 0x0444, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_string_equal(oi.label, "persistent");
    EVP_PKEY_free(before);
    EVP_PKEY_free(after);
    hsm_session_close(s);
    hsm_conn_close(c);
    hsmd_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(status_info_and_signing),
        cmocka_unit_test(seventeenth_session),
        cmocka_unit_test(idle_timeout_reopens),
        cmocka_unit_test(state_survives_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

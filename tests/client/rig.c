/* The in-process test rig: see rig.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "rig.h"

static uint64_t rig_now(void *ctx)
{
    return ((struct rig *)ctx)->now_ms;
}

static signet_rc rig_transport(void *ctx, const uint8_t *req, size_t len, uint8_t *resp,
                               size_t *resp_len)
{
    struct rig *r = ctx;
    if (r->fail_next) {
        r->fail_next--;
        return signet_fail(SIGNET_E_NET, "connector unreachable (test)");
    }
    r->transfers++;
    if (len >= 1 && req[0] == YH_CMD_CREATE_SESSION) {
        r->creates++;
        if (r->expire_at_create && r->creates == r->expire_at_create)
            r->now_ms += 31000;
    }
    if (len >= 1 && req[0] == YH_CMD_SESSION_MESSAGE)
        r->session_msgs++;
    signet_rc rc = hsm_device_transact(r->dev, req, len, resp, resp_len);
    if (rc == SIGNET_OK && r->tamper_rmac && *resp_len > 8 && resp[0] == 0x85) {
        resp[*resp_len - 1] ^= 0x01;
        r->tamper_rmac = false;
    }
    return rc;
}

void rig_open(struct rig *r)
{
    memset(r, 0, sizeof *r);
    r->now_ms = 1000000;
    hsm_device_opts o = {.now_ms = rig_now, .now_ctx = r};
    if (hsm_device_open(&o, &r->dev) != SIGNET_OK)
        fail_msg("hsm_device_open: %s", signet_errmsg());
    if (hsm_conn_open_transport(rig_transport, r, &r->conn) != SIGNET_OK)
        fail_msg("hsm_conn_open_transport: %s", signet_errmsg());
}

void rig_close(struct rig *r)
{
    hsm_conn_close(r->conn);
    hsm_device_free(r->dev);
    memset(r, 0, sizeof *r);
}

hsm_session *rig_login(struct rig *r)
{
    hsm_session *s = NULL;
    if (hsm_session_open(r->conn, 1, "password", &s) != SIGNET_OK)
        fail_msg("login with the factory key: %s", signet_errmsg());
    return s;
}

void rig_add_auth(hsm_session *admin, uint16_t id, const char *password, uint64_t caps,
                  uint64_t delegated, uint16_t domains)
{
    hsm_object_attrs a = {.id = id, .label = "test auth key", .domains = domains,
                          .capabilities = caps, .delegated = delegated};
    uint16_t got = 0;
    if (hsm_put_auth_key(admin, &a, password, &got) != SIGNET_OK)
        fail_msg("put auth key %u: %s", id, signet_errmsg());
    assert_int_equal(got, id);
}

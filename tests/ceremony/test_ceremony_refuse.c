/* Provision refuses unsuitable devices before changing anything: firmware older
 * than 2.4.0, and the same device named twice.  The devices are emulator cores
 * in-process; a transport shim makes one report older firmware. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony/cer_rig.h"
#include "common/hsmd_fixture.h"
#include "signet/ceremony.h"
#include "signet/device.h"
#include "signet/proto.h"

#define AGE1 "age1ww3jxdnd6puve3g5fs0jc64q5uttyv5yydvf2z5xx3vl4p5kfqds38u6u3"
/* Custodians need distinct recipients (one person, one share). */
#define AGE2 "age183l2gyr8s49trnnrlp4kly6x98dmqvzykswqgy4kasz2pz4s4v4sw3wk7h"
#define AGE3 "age1y99g76mfllexej3txlaqhrqvm9wtvdwcgul9ump8v58dy929wynsshv0t6"

struct shim {
    hsm_device *dev;
    int old_firmware; /* report 2.3.1 in Device Info */
};

static signet_rc transact(void *ctx, const uint8_t *req, size_t len, uint8_t *resp, size_t *rlen)
{
    struct shim *s = ctx;
    signet_rc rc = hsm_device_transact(s->dev, req, len, resp, rlen);
    /* Plain Device Info (no argument): major minor patch follow the header. */
    if (rc == SIGNET_OK && s->old_firmware && len == 3 && req[0] == YH_CMD_DEVICE_INFO &&
        *rlen >= 6 && resp[0] == YH_RESPONSE(YH_CMD_DEVICE_INFO)) {
        resp[3] = 2;
        resp[4] = 3;
        resp[5] = 1;
    }
    return rc;
}

struct fx {
    char dir[256];
    char plan[300];
    char out[300];
    struct shim shim[2];
    hsm_conn *conn[2];
};

static hsm_device *new_device(uint32_t serial)
{
    hsm_device_opts o = {.serial = serial};
    hsm_device *d = NULL;
    assert_int_equal(hsm_device_open(&o, &d), SIGNET_OK);
    return d;
}

/* Puts a marker object with the factory key: it survives only if nothing reset the
 * device. */
static void mark(hsm_conn *c)
{
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open(c, 1, "password", &s), SIGNET_OK);
    hsm_object_attrs a = {.id = 0x0042, .label = "marker", .domains = 1,
                          .capabilities = YH_CAP(YH_CAP_GET_OPAQUE),
                          .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    assert_int_equal(hsm_put_opaque(s, &a, (const uint8_t *)"x", 1, &id), SIGNET_OK);
    hsm_session_close(s);
}

static void assert_marked(hsm_conn *c)
{
    hsm_session *s = NULL;
    assert_int_equal(hsm_session_open(c, 1, "password", &s), SIGNET_OK);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, 0x0042, YH_TYPE_OPAQUE, &oi), SIGNET_OK);
    hsm_session_close(s);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "%s/signet-refuse-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->plan, sizeof f->plan, "%s/plan.txt", f->dir);
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    const char *text = "primary http://127.0.0.1:1\nbackup http://127.0.0.1:2\n"
                       "custodian a " AGE1 "\ncustodian b " AGE2 "\ncustodian c " AGE3 "\n"
                       "admin x " AGE1 "\noperator y " AGE1 "\nauditor z " AGE1 "\n";
    if (test_write_file(f->plan, text, strlen(text)) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        f->shim[i].dev = new_device(700 + (uint32_t)i);
        if (hsm_conn_open_transport(transact, &f->shim[i], &f->conn[i]) != SIGNET_OK)
            return -1;
        mark(f->conn[i]);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 2; i++) {
        hsm_conn_close(f->conn[i]);
        hsm_device_free(f->shim[i].dev);
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    run_cmd(cmd, NULL);
    free(f);
    return 0;
}

static void old_firmware_refused(void **state)
{
    struct fx *f = *state;
    f->shim[1].old_firmware = 1;
    signet_provision_opts o = {.plan_path = f->plan, .out_dir = f->out, .primary = f->conn[0],
                               .backup = f->conn[1]};
    signet_rc rc = signet_ceremony_provision(&o);
    f->shim[1].old_firmware = 0;
    assert_int_equal(rc, SIGNET_E_UNSUPPORTED);
    assert_non_null(strstr(signet_errmsg(), "firmware 2.3.1"));
    assert_non_null(strstr(signet_errmsg(), "2.4.0 or later"));
    assert_non_null(strstr(signet_errmsg(), "step 2 of 14 (connect)"));
    /* Neither device was reset: the primary passed its check but nothing ran. */
    assert_marked(f->conn[0]);
    assert_marked(f->conn[1]);
    char state_path[400];
    snprintf(state_path, sizeof state_path, "%s/ceremony.state", f->out);
    assert_true(rig_file_contains(state_path, "FAILED"));
    assert_true(rig_file_contains(state_path, "No device was changed"));
}

static void same_device_refused(void **state)
{
    struct fx *f = *state;
    char out[400];
    snprintf(out, sizeof out, "%s/out-same", f->dir);
    signet_provision_opts o = {.plan_path = f->plan, .out_dir = out, .primary = f->conn[0],
                               .backup = f->conn[0]};
    assert_int_equal(signet_ceremony_provision(&o), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "same device (serial 700)"));
    assert_marked(f->conn[0]);
}

static void completed_output_never_overwritten(void **state)
{
    struct fx *f = *state;
    char out[400], path[500];
    snprintf(out, sizeof out, "%s/out-done", f->dir);
    snprintf(path, sizeof path, "%s/manifest.txt", out);
    assert_int_equal(run_cmd("true", NULL), 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && echo keep > '%s'", out, path);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    signet_provision_opts o = {.plan_path = f->plan, .out_dir = out, .primary = f->conn[0],
                               .backup = f->conn[1]};
    assert_int_equal(signet_ceremony_provision(&o), SIGNET_E_STATE);
    assert_non_null(strstr(signet_errmsg(), "completed ceremony"));
    assert_true(rig_file_contains(path, "keep"));
    assert_marked(f->conn[0]);
    assert_marked(f->conn[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(old_firmware_refused),
        cmocka_unit_test(same_device_refused),
        cmocka_unit_test(completed_output_never_overwritten),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

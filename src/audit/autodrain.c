/* Draining as a side effect of ordinary work: a session armed with
 * signet_audit_arm() moves the device log into the trail whenever its commands
 * could have filled half of it, and once more before it closes, so that no
 * sequence of ordinary commands fills a force-audit device's log (docs/audit.md,
 * "Drains"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "audit_internal.h"

/* Commands between drains: half the log, so that a second busy process (or the
 * entries a crashed one left) still fits before the log is full. */
#define DRAIN_EVERY (YH_LOG_CAPACITY / 2)

struct autodrain {
    signet_trail *t;
    uint32_t serial;
};

static signet_rc drain_hook(void *ctx, hsm_session *s)
{
    struct autodrain *a = ctx;
    /* A writer of this process holds a trail lock (a signer between drain and
     * record): it drains around its own device work, and waiting for its lock here
     * would wait for ourselves.  The next command asks again. */
    if (trail_locks_held() > 0)
        return signet_fail(SIGNET_E_BUSY, "the trail is locked by this process");
    signet_rc rc = signet_trail_lock(a->t);
    if (rc == SIGNET_OK) {
        rc = signet_audit_drain(a->t, s, a->serial, NULL);
        signet_trail_unlock(a->t);
    }
    return rc;
}

static void release(void *ctx)
{
    struct autodrain *a = ctx;
    signet_trail_close(a->t);
    free(a);
}

signet_rc signet_audit_arm(hsm_session *s, const char *dir, bool *armed)
{
    *armed = false;
    hsm_devinfo di;
    signet_rc rc = hsm_device_info(hsm_session_conn(s), &di);
    if (rc)
        return rc;
    /* Only a device this trail has anchored can be drained into it. */
    char name[64], path[PATH_MAX];
    device_log_name(di.serial, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (access(path, F_OK) != 0)
        return SIGNET_OK;
    struct autodrain *a = calloc(1, sizeof *a);
    if (!a)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rc = signet_trail_open(dir, &a->t);
    if (rc) {
        free(a);
        return rc;
    }
    a->serial = di.serial;
    hsm_session_set_log_hook(s, drain_hook, a, release, DRAIN_EVERY, di.log_used);
    *armed = true;
    return SIGNET_OK;
}

/* Thread-local error messages: see include/signet/err.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "signet/err.h"
#include "signet/proto.h"

#define MSG_MAX 512

static _Thread_local char tl_msg[MSG_MAX];
static _Thread_local signet_rc tl_code;
static _Thread_local uint8_t tl_device;

__attribute__((format(printf, 1, 0))) static void vset(const char *fmt, va_list ap)
{
    vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
}

signet_rc signet_fail(signet_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(fmt, ap);
    va_end(ap);
    tl_code = rc;
    tl_device = 0;
    return rc;
}

signet_rc signet_fail_device(uint8_t code, const char *fmt, ...)
{
    char ctx[MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    const char *advice = yh_err_advice(code);
    snprintf(tl_msg, sizeof tl_msg, "%s: the HSM answered \"%s\" (0x%02x)%s%s", ctx,
             yh_err_name(code), code, advice[0] ? ": " : "", advice);
    tl_device = code;
    tl_code = code == YH_ERR_AUTHENTICATION_FAILED ? SIGNET_E_AUTH
              : code == YH_ERR_OBJECT_NOT_FOUND   ? SIGNET_E_NOTFOUND
              : code == YH_ERR_SESSIONS_FULL      ? SIGNET_E_BUSY
                                                  : SIGNET_E_DEVICE;
    return tl_code;
}

signet_rc signet_wrap(signet_rc rc, const char *fmt, ...)
{
    char prefix[MSG_MAX / 2], old[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tl_msg, sizeof old);
    snprintf(tl_msg, sizeof tl_msg, "%s: %s", prefix, old[0] ? old : signet_rc_name(rc));
    tl_code = rc;
    return rc;
}

const char *signet_errmsg(void)
{
    return tl_msg[0] ? tl_msg : signet_rc_name(tl_code);
}

signet_rc signet_errcode(void) { return tl_code; }
uint8_t signet_err_device(void) { return tl_device; }

void signet_err_clear(void)
{
    tl_msg[0] = 0;
    tl_code = SIGNET_OK;
    tl_device = 0;
}

const char *signet_rc_name(signet_rc rc)
{
    static const char *const names[SIGNET_E__COUNT] = {
        [SIGNET_OK] = "ok",
        [SIGNET_E_ARG] = "invalid argument",
        [SIGNET_E_NOMEM] = "out of memory",
        [SIGNET_E_IO] = "input/output error",
        [SIGNET_E_PARSE] = "malformed input",
        [SIGNET_E_CRYPTO] = "cryptographic failure",
        [SIGNET_E_NET] = "connector unreachable",
        [SIGNET_E_DEVICE] = "HSM error",
        [SIGNET_E_AUTH] = "authentication failed",
        [SIGNET_E_NOTFOUND] = "not found",
        [SIGNET_E_VERIFY] = "verification failed",
        [SIGNET_E_STATE] = "invalid state",
        [SIGNET_E_UNSUPPORTED] = "unsupported",
        [SIGNET_E_BUSY] = "resource busy",
    };
    return (unsigned)rc < SIGNET_E__COUNT ? names[rc] : "unknown error";
}

int signet_exit_code(signet_rc rc)
{
    switch (rc) {
    case SIGNET_OK: return 0;
    case SIGNET_E_VERIFY: return 1;
    case SIGNET_E_ARG: return 2;
    case SIGNET_E_DEVICE: case SIGNET_E_BUSY: return 3;
    case SIGNET_E_NET: return 4;
    case SIGNET_E_AUTH: return 5;
    case SIGNET_E_NOTFOUND: return 6;
    case SIGNET_E_IO: return 7;
    default: return 8;
    }
}

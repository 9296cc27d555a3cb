/* The one error model of signet: every fallible function returns a signet_rc and,
 * on failure, leaves a message a person can act on in a thread-local slot.
 *
 *   if (len < 3)
 *       return signet_fail(SIGNET_E_PARSE, "frame of %zu bytes is shorter than its header", len);
 *   ...
 *   if (rc != SIGNET_OK) fprintf(stderr, "signet: %s\n", signet_errmsg());
 *
 * Codes are coarse (what kind of failure, and so which exit code a script sees);
 * the message says what happened and what to do next.  Messages never contain
 * secrets. */
#ifndef SIGNET_ERR_H
#define SIGNET_ERR_H

#include <stdint.h>

typedef enum {
    SIGNET_OK = 0,
    SIGNET_E_ARG,        /* the caller (or the user) asked for something invalid */
    SIGNET_E_NOMEM,      /* allocation or memory locking failed */
    SIGNET_E_IO,         /* file system or process error */
    SIGNET_E_PARSE,      /* untrusted bytes were malformed, truncated or oversized */
    SIGNET_E_CRYPTO,     /* a cryptographic primitive failed */
    SIGNET_E_NET,        /* the connector could not be reached or answered badly */
    SIGNET_E_DEVICE,     /* the HSM answered with an error code: see signet_err_device() */
    SIGNET_E_AUTH,       /* authentication failed (wrong password or key) */
    SIGNET_E_NOTFOUND,   /* a key, object or file does not exist */
    SIGNET_E_VERIFY,     /* a MAC, signature, check value or proof did not verify */
    SIGNET_E_STATE,      /* the operation is not valid in the current state */
    SIGNET_E_UNSUPPORTED,/* a feature or algorithm signet does not implement */
    SIGNET_E_BUSY,       /* a resource is temporarily exhausted; retrying may work */
    SIGNET_E__COUNT
} signet_rc;

/* Records a formatted message for the calling thread and returns rc, so that
 * `return signet_fail(...)` reads naturally. */
signet_rc signet_fail(signet_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like signet_fail, but for an error code returned by the HSM (see proto.h for
 * the codes).  The message combines the context, the device's error name and
 * advice on what to do ("the HSM audit log is full: run `signet audit drain`"). */
signet_rc signet_fail_device(uint8_t device_code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes the current message with more context: "loading key 'platform': <old>".
 * Returns rc unchanged. */
signet_rc signet_wrap(signet_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *signet_errmsg(void);      /* the last message of this thread, never NULL */
signet_rc signet_errcode(void);        /* the last code recorded by this thread */
uint8_t signet_err_device(void);      /* last device error code, 0 when none */
void signet_err_clear(void);
const char *signet_rc_name(signet_rc rc);

/* Exit status for command-line tools, stable for scripts (documented in docs/signet.1.md):
 * 0 ok, 1 verification failed / findings, 2 usage error, 3 device error,
 * 4 connector unreachable, 5 authentication failed, 6 not found, 7 I/O, 8 other. */
int signet_exit_code(signet_rc rc);

#endif

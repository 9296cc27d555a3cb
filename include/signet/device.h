/* The emulated YubiHSM 2 device core: pure logic over a state, no sockets
 * (DESIGN.md).  The signet-hsm daemon (src/hsmd) is a thin HTTP front over it;
 * tests and fuzzers drive it in-process.  Thread-safe: one internal lock
 * serialises commands, as the real device does. */
#ifndef SIGNET_DEVICE_H
#define SIGNET_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

typedef struct hsm_device hsm_device;

typedef struct {
    const char *state_path;      /* NULL: volatile (tests, fuzzing); else persisted, mode 0600 */
    uint32_t serial;             /* used when creating a new state; 0 = default 1234567 */
    unsigned session_timeout_s;  /* 0 = 30 */
    const char *latency_profile; /* NULL/"none", or "yubihsm2": sleep like the device */
    /* Clock for session timeouts and systick, in milliseconds; NULL = CLOCK_MONOTONIC.
     * Tests inject one to expire sessions without waiting. */
    uint64_t (*now_ms)(void *ctx);
    void *now_ctx;
} hsm_device_opts;

/* Loads the state file (creating it in factory state when missing).  A state file
 * that fails to parse is refused with a message, never silently replaced. */
signet_rc hsm_device_open(const hsm_device_opts *opts, hsm_device **out);
void hsm_device_free(hsm_device *dev);

/* One connector request: a raw frame in, a raw response frame out (resp must hold
 * YH_MAX_FRAME bytes).  Never fails for bad input: malformed requests get a device
 * error frame.  Returns non-OK only for internal failures (e.g. the state could not
 * be persisted, in which case an error frame is still written).  With the
 * "yubihsm2" latency profile the calling thread sleeps after the device lock is
 * released, so concurrent callers are served meanwhile.  Behaviour, choices and
 * durability: docs/emulator.md. */
signet_rc hsm_device_transact(hsm_device *dev, const uint8_t *req, size_t req_len, uint8_t *resp,
                              size_t *resp_len);

/* The device's attestation certificate (attestation key 0), made at first start
 * and kept across resets: the emulator's attestation CA, self-signed.  Verifiers
 * of attestation certificates from signet-hsm trust it explicitly.  A device on a
 * state file also writes it to <state>.ca.pem at every start. */
signet_rc hsm_device_ca_pem(hsm_device *dev, sb_wr *pem);
signet_rc hsm_device_ca_der(hsm_device *dev, sb_wr *der);

uint32_t hsm_device_serial(const hsm_device *dev);
/* "2.4.0" */
const char *hsm_device_version(const hsm_device *dev);

#endif

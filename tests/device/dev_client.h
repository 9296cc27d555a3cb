/* A tiny in-test host for the emulated device: plain frames and authenticated
 * sessions built on proto.h's channel functions, driving hsm_device_transact()
 * directly (no HTTP). */
#ifndef SIGNET_TEST_DEV_CLIENT_H
#define SIGNET_TEST_DEV_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/device.h"
#include "signet/proto.h"

/* Results of the helpers: 0 ok, a device error code (1..0xff) when the device
 * answered 7f inside the session, or TC_OUTER | code for a plain (session-level)
 * error frame.  TC_BROKEN: the response did not verify or parse. */
#define TC_OUTER 0x100
#define TC_BROKEN 0x1000

typedef struct {
    hsm_device *dev;
    yh_channel ch;
    uint16_t auth_id;
} tc_session;

/* A manual clock for idle-timeout tests. */
typedef struct {
    uint64_t ms;
} tc_clock;
uint64_t tc_clock_now(void *ctx);

/* Opens a volatile device (state_path NULL) or one on a file, with a manual clock. */
hsm_device *tc_device(const char *state_path, tc_clock *clock);

/* Sends a plain command; resp gets the response data (without cmd|len). */
int tc_plain(hsm_device *dev, uint8_t cmd, const uint8_t *data, size_t len, sb_wr *resp);
/* A raw frame exchange. */
void tc_raw(hsm_device *dev, const uint8_t *req, size_t len, uint8_t *resp, size_t *resp_len);

int tc_open(hsm_device *dev, uint16_t auth_id, const char *password, tc_session *s);
int tc_open_keys(hsm_device *dev, uint16_t auth_id, const yh_static_keys *k, tc_session *s);
/* A command in the session; resp (may be NULL) gets the answer data. */
int tc_cmd(tc_session *s, uint8_t cmd, const uint8_t *data, size_t len, sb_wr *resp);
void tc_close(tc_session *s);

/* Common builders. */
typedef struct {
    uint16_t id;
    const char *label;
    uint16_t domains;
    uint64_t caps;
    uint8_t algorithm;
} tc_attrs;
void tc_put_hdr(sb_wr *w, const tc_attrs *a);
/* Puts an authentication key with a password; returns the device code. */
int tc_put_auth_key(tc_session *s, const tc_attrs *a, uint64_t delegated, const char *password);
int tc_put_opaque(tc_session *s, const tc_attrs *a, const uint8_t *data, size_t len,
                  uint16_t *id);
int tc_generate(tc_session *s, const tc_attrs *a, uint16_t *id);
int tc_get_info(tc_session *s, uint16_t id, uint8_t type, yh_object_info *oi);
int tc_delete(tc_session *s, uint16_t id, uint8_t type);

#endif

/* Fuzzes the emulated device core through hsm_device_transact().
 *
 * Input: a mode byte, then chunks of len(2, big-endian) | bytes.
 *   mode even: every chunk is a raw request frame (session-level parsing).
 *   mode odd:  a session is opened with the factory key first, and every chunk
 *              is an inner command, encrypted and MACed as a real host would, so
 *              that the fuzzer reaches every command handler.  The device's
 *              answer must then always verify and decrypt.
 * Each input runs on a fresh volatile device, so runs are independent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "signet/device.h"
#include "signet/proto.h"

static yh_static_keys factory;

static uint64_t fixed_clock(void *ctx)
{
    (void)ctx;
    return 1000; /* sessions never expire within one input */
}

static int open_session(hsm_device *dev, yh_channel *ch)
{
    uint8_t req[3 + 10] = {YH_CMD_CREATE_SESSION, 0, 10, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t resp[YH_MAX_FRAME];
    size_t n;
    hsm_device_transact(dev, req, sizeof req, resp, &n);
    if (n != 3 + 17 || resp[0] != YH_RESPONSE(YH_CMD_CREATE_SESSION))
        return -1;
    uint8_t host_crypto[8];
    if (yh_channel_derive(&factory, req + 5, resp + 4, resp[3], ch) ||
        yh_cryptogram(ch, 1, req + 5, resp + 4, host_crypto))
        return -1;
    uint8_t f[64];
    sb_wr w;
    sbw_init_fixed(&w, f, sizeof f);
    if (yh_channel_auth_frame(ch, host_crypto, &w))
        return -1;
    hsm_device_transact(dev, w.p, w.len, resp, &n);
    return n == 3 && resp[0] == YH_RESPONSE(YH_CMD_AUTHENTICATE_SESSION) ? 0 : -1;
}

/* Generating RSA keys takes seconds: not what fuzzing is for. */
static int slow(const uint8_t *inner, size_t len)
{
    return len >= 3 + 53 && inner[0] == YH_CMD_GENERATE_ASYMMETRIC_KEY &&
           yh_algo_is_rsa(inner[3 + 52]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        if (yh_derive_password_keys("password", 8, &factory) != SIGNET_OK)
            abort();
        init = 1;
    }
    if (size < 1)
        return 0;
    hsm_device_opts o = {.now_ms = fixed_clock};
    hsm_device *dev = NULL;
    if (hsm_device_open(&o, &dev) != SIGNET_OK)
        abort();
    int in_session = data[0] & 1;
    yh_channel ch;
    if (in_session && open_session(dev, &ch) != 0)
        abort(); /* the factory key must always work on a fresh device */

    sb_rd r;
    sbr_init(&r, data + 1, size - 1);
    uint16_t n;
    const uint8_t *chunk;
    uint8_t resp[YH_MAX_FRAME], f[YH_MAX_FRAME + 64];
    size_t rlen;
    while (sbr_u16(&r, &n) == SIGNET_OK) {
        if (n > sbr_left(&r))
            n = (uint16_t)sbr_left(&r);
        sbr_ptr(&r, &chunk, n);
        if (!in_session) {
            hsm_device_transact(dev, chunk, n, resp, &rlen);
            if (rlen < 3 || rlen > YH_MAX_FRAME)
                abort();
            continue;
        }
        if (slow(chunk, n))
            continue;
        sb_wr w;
        sbw_init_fixed(&w, f, sizeof f);
        if (yh_channel_wrap_command(&ch, chunk, n, &w) != SIGNET_OK)
            continue; /* too long for one session message */
        hsm_device_transact(dev, w.p, w.len, resp, &rlen);
        if (rlen == 4 && resp[0] == YH_CMD_ERROR) {
            /* the session ended (close, reset): start another */
            if (open_session(dev, &ch) != 0)
                break; /* e.g. the factory key was deleted or changed */
            continue;
        }
        sb_wr plain;
        sbw_init_secure(&plain, YH_MAX_FRAME);
        if (yh_channel_unwrap_response(&ch, resp, rlen, &plain) != SIGNET_OK)
            abort(); /* the device answered something a host cannot verify */
        uint8_t cmd;
        if (yh_frame_decode(plain.p, plain.len, &cmd, NULL, NULL) != SIGNET_OK)
            abort();
        sbw_free(&plain);
    }
    hsm_device_free(dev);
    return 0;
}

/* The one frame format of the YubiHSM 2: cmd(1) | len(2, big-endian) | data. */
#include "signet/proto.h"

signet_rc yh_frame_encode(sb_wr *out, uint8_t cmd, const uint8_t *data, size_t len)
{
    if (len > YH_MAX_DATA)
        return signet_fail(SIGNET_E_ARG,
                           "message of %zu bytes exceeds the HSM's limit of %d bytes of data: "
                           "split the request",
                           len, YH_MAX_DATA);
    signet_rc rc = sbw_u8(out, cmd);
    if (rc == SIGNET_OK)
        rc = sbw_u16(out, (uint16_t)len);
    if (rc == SIGNET_OK)
        rc = sbw_put(out, data, len);
    return rc;
}

signet_rc yh_frame_decode(const uint8_t *frame, size_t len, uint8_t *cmd, const uint8_t **data,
                          size_t *dlen)
{
    if (!frame || len < 3)
        return signet_fail(SIGNET_E_PARSE,
                           "frame of %zu bytes is shorter than its 3-byte header", len);
    if (len > YH_MAX_FRAME)
        return signet_fail(SIGNET_E_PARSE, "frame of %zu bytes exceeds the maximum of %d bytes",
                           len, YH_MAX_FRAME);
    sb_rd r;
    sbr_init(&r, frame, len);
    uint8_t c;
    uint16_t n;
    const uint8_t *p;
    signet_rc rc = sbr_u8(&r, &c);
    if (rc == SIGNET_OK)
        rc = sbr_u16(&r, &n);
    if (rc != SIGNET_OK)
        return rc;
    if (n != sbr_left(&r))
        return signet_fail(SIGNET_E_PARSE,
                           "frame length field says %u bytes but %zu follow: the message was "
                           "truncated or corrupted in transit",
                           n, sbr_left(&r));
    rc = sbr_ptr(&r, &p, n);
    if (rc != SIGNET_OK)
        return rc;
    if (cmd)
        *cmd = c;
    if (data)
        *data = p;
    if (dlen)
        *dlen = n;
    return SIGNET_OK;
}

signet_rc yh_frame_error(sb_wr *out, uint8_t code)
{
    return yh_frame_encode(out, YH_CMD_ERROR, &code, 1);
}

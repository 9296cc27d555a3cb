/* Device-wide typed calls beyond Device Info: the part number (Device Info
 * page 2, firmware 2.4+) and Blink. */
#include <string.h>

#include "internal.h"

signet_rc hsm_device_part_number(hsm_conn *c, char *out, size_t out_len)
{
    if (out_len)
        out[0] = 0;
    signet_rc rc = conn_ensure_info(c);
    if (rc)
        return rc;
    if (c->info.major < 2 || (c->info.major == 2 && c->info.minor < 4))
        return signet_fail(SIGNET_E_UNSUPPORTED, "firmware %u.%u.%u does not report a part "
                                                 "number (2.4 or later does)",
                           c->info.major, c->info.minor, c->info.patch);
    uint8_t page = 1, buf[128];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    rc = hsm_conn_command(c, YH_CMD_DEVICE_INFO, &page, 1, &w);
    if (rc)
        return signet_wrap(rc, "device info page 2");
    if (w.len == 0 || w.len >= out_len)
        return signet_fail(SIGNET_E_PARSE, "device info page 2: a part number of %zu bytes",
                           w.len);
    for (size_t i = 0; i < w.len; i++)
        if (w.p[i] < 0x20 || w.p[i] > 0x7e)
            return signet_fail(SIGNET_E_PARSE, "device info page 2: the part number is not "
                                               "printable text");
    memcpy(out, w.p, w.len);
    out[w.len] = 0;
    return SIGNET_OK;
}

signet_rc hsm_blink(hsm_session *s, uint8_t seconds)
{
    uint8_t buf[8];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_xfer(s, YH_CMD_BLINK_DEVICE, &seconds, 1, &w);
    return rc ? rc : expect_empty(&w, "blink");
}

/* The share text "T-X-BASE64" of rusty_secrets 0.0.2 / yubihsm-setup: see
 * include/signet/sss.h.  Parsing is strict and its messages never quote the
 * share, which is secret. */
#include <string.h>

#include "signet/secmem.h"
#include "signet/sss.h"

signet_rc sss_share_format(const sss_share *share, sb_wr *out)
{
    if (share->threshold < SSS_MIN_THRESHOLD || share->threshold > SSS_MAX_SHARES ||
        share->index < 1 || share->index > SSS_MAX_SHARES || share->len == 0 ||
        share->len > SSS_MAX_SECRET)
        return signet_fail(SIGNET_E_ARG, "cannot format an invalid share");
    signet_rc rc = sbw_printf(out, "%u-%u-", share->threshold, share->index);
    return rc ? rc : b64_encode(out, share->y, share->len, false);
}

signet_rc sss_share_parse(const char *text, size_t len, sss_share *out)
{
    memset(out, 0, sizeof *out);
    if (len < 5)
        return signet_fail(SIGNET_E_PARSE, "a share is too short: it looks like T-X-BASE64 "
                                           "(threshold, index, share data)");
    if (text[0] < '0' || text[0] > '9' || text[1] != '-')
        return signet_fail(SIGNET_E_PARSE, "a share must start with its threshold, one digit "
                                           "then '-' (like 3-1-...)");
    if (text[0] < '0' + SSS_MIN_THRESHOLD)
        return signet_fail(SIGNET_E_PARSE,
                           "a share has threshold %c: signet accepts thresholds %d to %d",
                           text[0], SSS_MIN_THRESHOLD, SSS_MAX_SHARES);
    if (text[2] < '0' || text[2] > '9' || text[3] != '-')
        return signet_fail(SIGNET_E_PARSE, "a share's second field must be its index, one "
                                           "digit then '-' (like 3-1-...)");
    if (text[2] == '0')
        return signet_fail(SIGNET_E_PARSE, "a share has index 0: indexes run from 1 to %d, "
                                           "check the share for typing errors",
                           SSS_MAX_SHARES);

    /* Decode into locked memory, then copy: the share bytes are secret. */
    const char *b64 = text + 4;
    size_t b64len = len - 4;
    if (b64len > (SSS_MAX_SECRET * 4 + 2) / 3)
        return signet_fail(SIGNET_E_PARSE, "a share's data is longer than the %d bytes signet "
                                           "supports",
                           SSS_MAX_SECRET);
    uint8_t mem[SSS_MAX_SECRET + 3];
    sb_wr w;
    sbw_init_fixed(&w, mem, sizeof mem);
    signet_rc rc = b64_decode(&w, b64, b64len, false);
    if (rc != SIGNET_OK) {
        smem_wipe(mem, sizeof mem);
        return signet_wrap(SIGNET_E_PARSE, "share %c-%c has malformed data (check for typing "
                                           "errors; the data is unpadded standard base64)",
                           text[0], text[2]);
    }
    if (w.len == 0 || w.len > SSS_MAX_SECRET) {
        smem_wipe(mem, sizeof mem);
        return signet_fail(SIGNET_E_PARSE, "share %c-%c holds %zu bytes: a share holds 1 to %d",
                           text[0], text[2], w.len, SSS_MAX_SECRET);
    }
    out->threshold = (uint8_t)(text[0] - '0');
    out->index = (uint8_t)(text[2] - '0');
    out->len = (uint16_t)w.len;
    memcpy(out->y, mem, w.len);
    smem_wipe(mem, sizeof mem);
    return SIGNET_OK;
}

/* Device options: force-audit (01) and command-audit (03).  Values 00 off,
 * 01 on, 02 fixed (only a reset clears it).  The emulator is a non-FIPS
 * device: getting or setting fips-mode (05) or the FIPS models' algorithm
 * toggle (04) is invalid data.  Auditing a command that could
 * lock the device (echo, session message, device info, get log entries) is
 * refused, so the log can always be drained. */
#include <string.h>

#include "dev.h"

static uint8_t set_force_audit(dev_state *st, const uint8_t *v, size_t n)
{
    if (n != 1 || v[0] > YH_OPT_FIXED)
        return YH_ERR_INVALID_DATA;
    if (st->force_audit == YH_OPT_FIXED && v[0] != YH_OPT_FIXED)
        return YH_ERR_INVALID_DATA;
    st->force_audit = v[0];
    return YH_ERR_OK;
}

static uint8_t set_command_audit(dev_state *st, const uint8_t *v, size_t n)
{
    if (n == 0 || n % 2)
        return YH_ERR_INVALID_DATA;
    /* All or nothing: check every pair before changing any. */
    for (size_t i = 0; i < n; i += 2) {
        uint8_t cmd = v[i], val = v[i + 1];
        if (!dev_is_audit_cmd(cmd) || val > YH_OPT_FIXED)
            return YH_ERR_INVALID_DATA;
        if (val != YH_OPT_OFF && yh_cmd_audit_would_lock(cmd))
            return YH_ERR_INVALID_DATA;
        if (st->cmd_audit[cmd] == YH_OPT_FIXED && val != YH_OPT_FIXED)
            return YH_ERR_INVALID_DATA;
    }
    for (size_t i = 0; i < n; i += 2)
        st->cmd_audit[v[i]] = v[i + 1];
    return YH_ERR_OK;
}

uint8_t cmd_set_option(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_SET_OPTION))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (rq->len < 3 || be16(rq->data + 1) != rq->len - 3)
        return YH_ERR_WRONG_LENGTH;
    const uint8_t *v = rq->data + 3;
    size_t n = rq->len - 3;
    uint8_t code;
    switch (rq->data[0]) {
    case YH_OPTION_FORCE_AUDIT: code = set_force_audit(rq->dev->st, v, n); break;
    case YH_OPTION_COMMAND_AUDIT: code = set_command_audit(rq->dev->st, v, n); break;
    default: code = YH_ERR_INVALID_DATA; break;
    }
    if (!code)
        rq->changed = true;
    return code;
}

uint8_t cmd_get_option(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_GET_OPTION))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (rq->len != 1)
        return YH_ERR_WRONG_LENGTH;
    dev_state *st = rq->dev->st;
    switch (rq->data[0]) {
    case YH_OPTION_FORCE_AUDIT:
        return sbw_u8(rq->out, st->force_audit) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
    case YH_OPTION_COMMAND_AUDIT:
        for (size_t i = 0; i < dev_n_audit_cmds; i++)
            if (sbw_u8(rq->out, dev_audit_cmds[i]) ||
                sbw_u8(rq->out, st->cmd_audit[dev_audit_cmds[i]]))
                return YH_ERR_WRONG_LENGTH;
        return YH_ERR_OK;
    default:
        /* fips-mode (05) and the algorithm toggle (04) exist only on FIPS
         * models: a non-FIPS device answers invalid data, which is how
         * python-yubihsm tells the two apart. */
        return YH_ERR_INVALID_DATA;
    }
}

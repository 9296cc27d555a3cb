/* Typed calls for the device's audit log, its options, and reset. */
#include <string.h>

#include "internal.h"

signet_rc hsm_get_log_entries(hsm_session *s, hsm_log *out)
{
    memset(out, 0, sizeof *out);
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    signet_rc rc = hsm_xfer(s, YH_CMD_GET_LOG_ENTRIES, NULL, 0, &w);
    if (rc) {
        sbw_free(&w);
        return rc;
    }
    sb_rd r;
    sbr_init(&r, w.p, w.len);
    uint8_t count = 0;
    if ((rc = sbr_u16(&r, &out->unlogged_boots)) || (rc = sbr_u16(&r, &out->unlogged_auths)) ||
        (rc = sbr_u8(&r, &count)))
        rc = signet_wrap(rc, "log entries answer");
    else if (count > YH_LOG_CAPACITY)
        rc = signet_fail(SIGNET_E_PARSE, "the device returned %u log entries (at most %d)", count,
                         YH_LOG_CAPACITY);
    else if (sbr_left(&r) != (size_t)count * YH_LOG_ENTRY_LEN)
        rc = signet_fail(SIGNET_E_PARSE, "log entries answer: %zu bytes for %u entries of %d",
                         sbr_left(&r), count, YH_LOG_ENTRY_LEN);
    for (uint8_t i = 0; rc == SIGNET_OK && i < count; i++) {
        const uint8_t *e;
        sbr_ptr(&r, &e, YH_LOG_ENTRY_LEN);
        yh_log_entry_decode(e, &out->entries[i]);
    }
    if (rc == SIGNET_OK)
        out->n = count;
    sbw_free(&w);
    return rc;
}

signet_rc hsm_set_log_index(hsm_session *s, uint16_t index)
{
    uint8_t req[2];
    put_be16(req, index);
    uint8_t buf[8];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_xfer(s, YH_CMD_SET_LOG_INDEX, req, sizeof req, &w);
    if (rc)
        return signet_wrap(rc, "setting the log index to %u", index);
    return expect_empty(&w, "set log index");
}

/* Refuses settings that can lock the device until a physical reset. */
static signet_rc check_option(uint8_t option, const uint8_t *value, size_t len)
{
    if (option == YH_OPTION_FORCE_AUDIT) {
        if (len != 1 || value[0] > YH_OPT_FIXED)
            return signet_fail(SIGNET_E_ARG, "force-audit takes one value: off, on or fixed");
        return SIGNET_OK;
    }
    if (option == YH_OPTION_COMMAND_AUDIT) {
        if (len == 0 || len % 2 != 0)
            return signet_fail(SIGNET_E_ARG, "command-audit takes (command, value) pairs");
        for (size_t i = 0; i < len; i += 2) {
            if (value[i + 1] > YH_OPT_FIXED)
                return signet_fail(SIGNET_E_ARG, "command-audit value %u for %s is not off, on "
                                                 "or fixed",
                                   value[i + 1], yh_cmd_name(value[i]));
            if (value[i + 1] != YH_OPT_OFF && yh_cmd_audit_would_lock(value[i]))
                return signet_fail(SIGNET_E_ARG,
                                   "auditing %s can lock the device until a physical reset once "
                                   "the log fills; signet refuses to set it",
                                   yh_cmd_name(value[i]));
        }
    }
    return SIGNET_OK;
}

signet_rc hsm_set_option(hsm_session *s, uint8_t option, const uint8_t *value, size_t len)
{
    signet_rc rc = check_option(option, value, len);
    if (rc)
        return rc;
    sb_wr w;
    sbw_init(&w, CLIENT_REQ_MAX);
    if ((rc = sbw_u8(&w, option)) == SIGNET_OK && (rc = sbw_u16(&w, (uint16_t)len)) == SIGNET_OK)
        rc = sbw_put(&w, value, len);
    uint8_t buf[8];
    sb_wr resp;
    sbw_init_fixed(&resp, buf, sizeof buf);
    if (rc == SIGNET_OK)
        rc = hsm_xfer(s, YH_CMD_SET_OPTION, w.p, w.len, &resp);
    sbw_free(&w);
    if (rc)
        return signet_wrap(rc, "setting option %u", option);
    return expect_empty(&resp, "set option");
}

signet_rc hsm_get_option(hsm_session *s, uint8_t option, sb_wr *value)
{
    signet_rc rc = hsm_xfer(s, YH_CMD_GET_OPTION, &option, 1, value);
    return rc ? signet_wrap(rc, "reading option %u", option) : SIGNET_OK;
}

signet_rc hsm_reset_device(hsm_session *s)
{
    uint8_t buf[8];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_xfer(s, YH_CMD_RESET_DEVICE, NULL, 0, &w);
    if (rc)
        return signet_wrap(rc, "resetting the device");
    /* The device wipes itself after answering: this session and its credential are gone. */
    session_mark_dead(s);
    session_forget_credential(s);
    return expect_empty(&w, "reset device");
}

/* Audit log commands: Get Log Entries and Set Log Index.  Get Log Entries
 * cannot be audited; Set Log Index can, and runs even on a full forced log
 * (session.c), so the log can always be drained. */
#include "dev.h"

uint8_t cmd_get_log_entries(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_GET_LOG_ENTRIES))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (rq->len != 0)
        return YH_ERR_WRONG_LENGTH;
    const dev_log *log = &rq->dev->st->log;
    signet_rc rc = sbw_u16(rq->out, log->unlogged_boots);
    if (!rc) rc = sbw_u16(rq->out, log->unlogged_auths);
    if (!rc) rc = sbw_u8(rq->out, (uint8_t)log->n);
    for (size_t i = 0; i < log->n && !rc; i++) {
        uint8_t *dst;
        rc = sbw_reserve(rq->out, YH_LOG_ENTRY_LEN, &dst);
        if (!rc)
            yh_log_entry_encode(&log->e[i], dst);
    }
    return rc ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_set_log_index(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_GET_LOG_ENTRIES))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (rq->len != 2)
        return YH_ERR_WRONG_LENGTH;
    /* a change to the log alone: journaled, not a full state write */
    return dev_log_set_index(rq->dev, be16(rq->data));
}

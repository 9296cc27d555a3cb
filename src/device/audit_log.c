/* The device audit log: 62 entries chained by digest, a ring unless force-audit
 * is on, in which case a full log refuses logged commands until it is drained
 * (Get Log Entries, then Set Log Index).  Boots and session authentications
 * that could not be logged are counted instead.
 *
 * Each change on the device is noted for the journal (journal.c), which makes
 * it durable with one small record instead of a rewrite of the whole state; the
 * bare-log functions (dev_log_push, _count_unlogged, _consume) are what replay
 * applies, so that a replayed record changes the log exactly as the command did. */
#include <string.h>

#include <openssl/rand.h>

#include "dev.h"

bool dev_log_full(const dev_state *st)
{
    return st->force_audit != YH_OPT_OFF && st->log.n >= YH_LOG_CAPACITY;
}

bool dev_cmd_audited(const dev_state *st, uint8_t cmd)
{
    return st->cmd_audit[cmd] != YH_OPT_OFF;
}

void dev_log_push(dev_log *log, yh_log_entry *e)
{
    yh_log_digest(e, log->last_digest, e->digest);
    memcpy(log->last_digest, e->digest, YH_LOG_DIGEST_LEN);
    if (log->n == YH_LOG_CAPACITY) {
        /* ring: the oldest entry is overwritten */
        memmove(&log->e[0], &log->e[1], (YH_LOG_CAPACITY - 1) * sizeof log->e[0]);
        log->n--;
    }
    log->e[log->n++] = *e;
    log->next_number++;
}

void dev_log_factory(dev_log *log)
{
    memset(log, 0, sizeof *log);
    /* Entry 1: every field 0xff except the number; its digest is a per-device
     * start value (not derivable from anything the host knows). */
    yh_log_entry first;
    memset(&first, 0xff, sizeof first);
    first.number = 1;
    if (RAND_bytes(first.digest, sizeof first.digest) != 1)
        memset(first.digest, 0xff, sizeof first.digest);
    log->e[0] = first;
    log->n = 1;
    log->next_number = 2;
    memcpy(log->last_digest, first.digest, YH_LOG_DIGEST_LEN);
    /* Entry 2: the boot after the reset. */
    yh_log_entry boot = {.number = log->next_number, .session_key = DEV_NO_KEY};
    dev_log_push(log, &boot);
}

void dev_log_append(hsm_device *dev, uint8_t cmd, uint16_t length, uint16_t session_key,
                    uint16_t target, uint16_t second, uint8_t result)
{
    dev_log *log = &dev->st->log;
    yh_log_entry e = {
        .number = log->next_number,
        .command = cmd,
        .length = length,
        .session_key = session_key,
        .target_key = target,
        .second_key = second,
        .result = result,
        .systick = dev_systick(dev),
    };
    dev_log_push(log, &e);
    dev_journal_note(dev, DEV_JR_ENTRY, &e, 0);
}

void dev_log_count_unlogged(uint16_t *counter)
{
    if (*counter < UINT16_MAX)
        (*counter)++;
}

void dev_log_boot(hsm_device *dev)
{
    dev_state *st = dev->st;
    if (dev_log_full(st)) {
        dev_log_count_unlogged(&st->log.unlogged_boots);
        dev_journal_note(dev, DEV_JR_UNLOGGED_BOOT, NULL, 0);
        return;
    }
    yh_log_entry boot = {.number = st->log.next_number, .session_key = DEV_NO_KEY};
    dev_log_push(&st->log, &boot);
    dev_journal_note(dev, DEV_JR_ENTRY, &boot, 0);
}

void dev_log_count_auth(hsm_device *dev)
{
    dev_log_count_unlogged(&dev->st->log.unlogged_auths);
    dev_journal_note(dev, DEV_JR_UNLOGGED_AUTH, NULL, 0);
}

uint8_t dev_log_set_index(hsm_device *dev, uint16_t index)
{
    uint8_t code = dev_log_consume(&dev->st->log, index);
    if (!code)
        dev_journal_note(dev, DEV_JR_SET_INDEX, NULL, index);
    return code;
}

uint8_t dev_log_consume(dev_log *log, uint16_t index)
{
    if (log->n == 0) {
        /* Nothing held: only the last number handed out (or earlier) is valid. */
        uint16_t behind = (uint16_t)(log->next_number - 1 - index);
        return behind < 0x8000 ? YH_ERR_OK : YH_ERR_INVALID_DATA;
    }
    uint16_t oldest = log->e[0].number;
    uint16_t ahead = (uint16_t)(index - oldest);
    if (ahead < log->n) {
        size_t drop = (size_t)ahead + 1;
        memmove(&log->e[0], &log->e[drop], (log->n - drop) * sizeof log->e[0]);
        log->n -= drop;
    } else if ((uint16_t)(oldest - index) > 0x8000) {
        /* beyond the newest entry: nothing to consume there */
        return YH_ERR_INVALID_DATA;
    }
    /* The host has read what was lost too: the counters restart. */
    log->unlogged_boots = 0;
    log->unlogged_auths = 0;
    return YH_ERR_OK;
}

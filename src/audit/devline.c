/* Device log lines: one HSM audit log entry per line, every field spelled out so
 * that anyone can recompute the device's hash chain (docs/audit.md). */
#include <string.h>
#include <time.h>

#include "audit_internal.h"

bool entry_is_start(const yh_log_entry *e)
{
    /* Its digest is a per-device start value, not derived from anything. */
    return e->number == 1 && e->command == 0xff && e->length == 0xffff && e->session_key == 0xffff &&
           e->target_key == 0xffff && e->second_key == 0xffff && e->result == 0xff &&
           e->systick == 0xffffffffu;
}

static signet_rc entry_fields_format(const yh_log_entry *e, sb_wr *out)
{
    signet_rc rc;
    if ((rc = kv_put_u64(out, "n", e->number)) || (rc = kv_put_hex8(out, "cmd", e->command)) ||
        (rc = kv_put_u64(out, "len", e->length)) || (rc = kv_put_hex16(out, "sess", e->session_key)) ||
        (rc = kv_put_hex16(out, "target", e->target_key)) ||
        (rc = kv_put_hex16(out, "second", e->second_key)) ||
        (rc = kv_put_hex8(out, "result", e->result)) || (rc = kv_put_u64(out, "tick", e->systick)))
        return rc;
    return kv_put_hexbytes(out, "digest", e->digest, YH_LOG_DIGEST_LEN);
}

static signet_rc entry_fields_parse(kv_line *l, yh_log_entry *e)
{
    uint64_t n, len, tick;
    signet_rc rc;
    memset(e, 0, sizeof *e);
    if ((rc = kv_get_u64(l, "n", true, &n)) || (rc = kv_get_hex8(l, "cmd", true, &e->command)) ||
        (rc = kv_get_u64(l, "len", true, &len)) ||
        (rc = kv_get_hex16(l, "sess", true, &e->session_key)) ||
        (rc = kv_get_hex16(l, "target", true, &e->target_key)) ||
        (rc = kv_get_hex16(l, "second", true, &e->second_key)) ||
        (rc = kv_get_hex8(l, "result", true, &e->result)) || (rc = kv_get_u64(l, "tick", true, &tick)) ||
        (rc = kv_get_hexbytes(l, "digest", true, e->digest, YH_LOG_DIGEST_LEN)))
        return rc;
    if (n > 0xffff || len > 0xffff || tick > 0xffffffffu)
        return signet_fail(SIGNET_E_PARSE, "entry field out of range (n, len are 16-bit, tick 32-bit)");
    e->number = (uint16_t)n;
    e->length = (uint16_t)len;
    e->systick = (uint32_t)tick;
    return SIGNET_OK;
}

signet_rc devline_format(const devline *d, sb_wr *out)
{
    signet_rc rc;
    if ((rc = kv_put_u64(out, "i", d->index)))
        return rc;
    if (d->type == DEVLINE_UNLOGGED) {
        if ((rc = kv_put_str(out, "type", "unlogged")) || (rc = kv_put_u64(out, "dev", d->serial)) ||
            (rc = kv_put_u64(out, "boots", d->boots)))
            return rc;
        return kv_put_u64(out, "auths", d->auths);
    }
    if ((rc = kv_put_str(out, "type", "entry")) || (rc = kv_put_u64(out, "dev", d->serial)) ||
        (rc = kv_put_u64(out, "seq", d->seq)))
        return rc;
    return entry_fields_format(&d->e, out);
}

signet_rc devline_parse(const char *line, size_t len, devline *out)
{
    kv_line l;
    char type[16];
    signet_rc rc = kv_parse(line, len, &l);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    if (l.n < 2 || l.f[0].klen != 1 || l.f[0].key[0] != 'i')
        return signet_fail(SIGNET_E_PARSE, "a trail line starts with i=<leaf index>");
    if ((rc = kv_get_u64(&l, "i", true, &out->index)) ||
        (rc = kv_get_str(&l, "type", true, type, sizeof type)) ||
        (rc = kv_get_u32(&l, "dev", true, &out->serial)))
        return rc;
    if (strcmp(type, "unlogged") == 0) {
        uint64_t b, a;
        out->type = DEVLINE_UNLOGGED;
        if ((rc = kv_get_u64(&l, "boots", true, &b)) || (rc = kv_get_u64(&l, "auths", true, &a)))
            return rc;
        if (b > 0xffff || a > 0xffff)
            return signet_fail(SIGNET_E_PARSE, "unlogged counters are 16-bit");
        out->boots = (uint16_t)b;
        out->auths = (uint16_t)a;
    } else if (strcmp(type, "entry") == 0) {
        out->type = DEVLINE_ENTRY;
        if ((rc = kv_get_u64(&l, "seq", true, &out->seq)) || (rc = entry_fields_parse(&l, &out->e)))
            return rc;
        if (out->seq == 0)
            return signet_fail(SIGNET_E_PARSE, "seq= counts from 1");
    } else {
        return signet_fail(SIGNET_E_PARSE, "a device log line has type=entry or type=unlogged, not '%s'", type);
    }
    return kv_check_used(&l);
}

signet_rc anchor_line_format(const yh_log_entry *e, sb_wr *out) { return entry_fields_format(e, out); }

signet_rc anchor_line_parse(const char *line, size_t len, yh_log_entry *out)
{
    kv_line l;
    signet_rc rc = kv_parse(line, len, &l);
    if (rc == SIGNET_OK)
        rc = entry_fields_parse(&l, out);
    return rc ? rc : kv_check_used(&l);
}

signet_rc time_format(int64_t t, char out[32])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return signet_fail(SIGNET_E_ARG, "time %lld cannot be written as a date", (long long)t);
    return SIGNET_OK;
}

signet_rc time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strlen(s) == 20 ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;
    /* Trail times are after 1970: earlier years would not format back the same. */
    if (!end || *end || tm.tm_year < 70)
        return signet_fail(SIGNET_E_PARSE, "'%s' is not a time like 2024-01-31T12:00:00Z", s);
    *out = (int64_t)timegm(&tm);
    return SIGNET_OK;
}

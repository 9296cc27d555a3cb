/* A buffered reader over an age_read_fn, with peek and line reading, so the
 * header, the armor and the payload can be parsed from a stream of any length
 * in bounded memory. */
#include <stdlib.h>
#include <string.h>

#include "age_internal.h"
#include "signet/secmem.h"

signet_rc age_bufrd_init(age_bufrd *r, age_read_fn fn, void *ctx, size_t cap)
{
    memset(r, 0, sizeof *r);
    r->fn = fn;
    r->ctx = ctx;
    r->cap = cap;
    r->buf = malloc(cap);
    return r->buf ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory for a read buffer");
}

void age_bufrd_free(age_bufrd *r)
{
    free(r->buf);
    r->buf = NULL;
}

/* Moves unread bytes to the front and reads more, once. */
static signet_rc fill(age_bufrd *r)
{
    if (r->pos) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->eof || r->len == r->cap)
        return SIGNET_OK;
    size_t got = 0;
    signet_rc rc = r->fn(r->ctx, r->buf + r->len, r->cap - r->len, &got);
    if (rc)
        return rc;
    if (got > r->cap - r->len)
        return signet_fail(SIGNET_E_IO, "a reader returned more bytes than asked for");
    if (got == 0)
        r->eof = true;
    r->len += got;
    return SIGNET_OK;
}

signet_rc age_bufrd_peek(age_bufrd *r, size_t n, const uint8_t **p, size_t *avail)
{
    if (n > r->cap)
        n = r->cap;
    while (r->len - r->pos < n && !r->eof) {
        signet_rc rc = fill(r);
        if (rc)
            return rc;
    }
    *p = r->buf + r->pos;
    *avail = r->len - r->pos;
    return SIGNET_OK;
}

static signet_rc read_line(age_bufrd *r, size_t max, sb_wr *line, bool eof_ends)
{
    size_t taken = 0;
    for (;;) {
        size_t have = r->len - r->pos;
        const uint8_t *nl = memchr(r->buf + r->pos, '\n', have);
        size_t n = nl ? (size_t)(nl - (r->buf + r->pos)) + 1 : have;
        if (taken + n > max)
            return signet_fail(SIGNET_E_PARSE, "a line is longer than %zu bytes", max);
        signet_rc rc = sbw_put(line, r->buf + r->pos, n);
        if (rc)
            return rc;
        r->pos += n;
        taken += n;
        if (nl)
            return SIGNET_OK;
        if (r->eof && eof_ends && taken)
            return SIGNET_OK;
        if (r->eof)
            return signet_fail(SIGNET_E_PARSE, "the input ends in the middle of a line: it is "
                                               "truncated");
        if ((rc = fill(r)) != SIGNET_OK)
            return rc;
    }
}

signet_rc age_bufrd_line(age_bufrd *r, size_t max, sb_wr *line)
{
    return read_line(r, max, line, false);
}

signet_rc age_bufrd_line_or_eof(age_bufrd *r, size_t max, sb_wr *line)
{
    return read_line(r, max, line, true);
}

signet_rc age_bufrd_read(age_bufrd *r, uint8_t *out, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        if (r->pos == r->len) {
            if (r->eof)
                break;
            signet_rc rc = fill(r);
            if (rc)
                return rc;
            continue;
        }
        size_t k = r->len - r->pos < n - *got ? r->len - r->pos : n - *got;
        memcpy(out + *got, r->buf + r->pos, k);
        r->pos += k;
        *got += k;
    }
    return SIGNET_OK;
}

signet_rc age_bufrd_source(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    age_bufrd *r = ctx;
    if (r->pos == r->len && !r->eof) {
        signet_rc rc = fill(r);
        if (rc)
            return rc;
    }
    size_t k = r->len - r->pos < cap ? r->len - r->pos : cap;
    memcpy(buf, r->buf + r->pos, k);
    r->pos += k;
    *got = k;
    return SIGNET_OK;
}

/* ASCII armor: strict PEM (RFC 7468 section 3) with label "AGE ENCRYPTED FILE",
 * padded base64 in 64-column lines (C2SP age, "ASCII armor").
 *
 * Reading accepts what the age tool accepts and nothing else: whitespace before
 * the BEGIN line and after the END line, LF or CRLF line endings; every line but
 * the last exactly 64 columns, the last 1 to 64; canonical base64 with padding
 * only at the very end.  Anything else is an error, because armor that tolerates
 * junk is malleable.
 *
 * Writing (age_out) emits the binary file as is, or armored. */
#include <string.h>

#include "age_internal.h"
#include "signet/secmem.h"

const char AGE_ARMOR_BEGIN[] = "-----BEGIN AGE ENCRYPTED FILE-----";
const char AGE_ARMOR_END[] = "-----END AGE ENCRYPTED FILE-----";

static bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Skips whitespace, reading as much as needed. */
static signet_rc skip_ws(age_bufrd *raw)
{
    for (;;) {
        const uint8_t *p;
        size_t avail;
        signet_rc rc = age_bufrd_peek(raw, 1, &p, &avail);
        if (rc || avail == 0)
            return rc;
        size_t k = 0;
        while (k < avail && is_ws(p[k]))
            k++;
        raw->pos += k;
        if (k < avail)
            return SIGNET_OK;
    }
}

/* A binary age file starts with its version line; anything else is read as
 * armor (so junk before the BEGIN line is an armor failure, as in age).  Input
 * that ends within the version line's start (an empty file included) is a
 * truncated binary file: a header failure (the CCTV vector "empty"). */
signet_rc age_armor_detect(age_bufrd *raw, bool *armored)
{
    static const char intro[] = "age-encryption.org/";
    const uint8_t *p;
    size_t avail, n = strlen(intro);
    *armored = false;
    signet_rc rc = age_bufrd_peek(raw, n, &p, &avail);
    if (rc)
        return rc;
    *armored = memcmp(p, intro, avail < n ? avail : n) != 0;
    return SIGNET_OK;
}

void age_armor_rd_init(age_armor_rd *a, age_bufrd *raw)
{
    memset(a, 0, sizeof *a);
    a->raw = raw;
}

/* One armor line without its LF or CRLF, into buf (NUL-terminated).  The last
 * line of the input may lack its newline (age accepts an END line without one). */
static signet_rc armor_line(age_armor_rd *a, char *buf, size_t cap, size_t *n)
{
    uint8_t mem[AGE_COLUMNS + 8];
    sb_wr w;
    sbw_init_fixed(&w, mem, sizeof mem);
    signet_rc rc = age_bufrd_line_or_eof(a->raw, AGE_COLUMNS + 2, &w);
    if (rc) {
        if (a->raw->eof && a->raw->pos == a->raw->len && w.len == 0)
            return signet_fail(SIGNET_E_PARSE, "the armored file ends without its END line: it "
                                               "is truncated");
        return signet_wrap(SIGNET_E_PARSE, "bad armor line");
    }
    size_t len = mem[w.len - 1] == '\n' ? w.len - 1 : w.len;
    if (len && mem[len - 1] == '\r')
        len--;
    if (len >= cap)
        return signet_fail(SIGNET_E_PARSE, "an armor line is longer than %d columns", AGE_COLUMNS);
    memcpy(buf, mem, len);
    buf[len] = 0;
    *n = len;
    return SIGNET_OK;
}

static signet_rc expect_end(age_armor_rd *a)
{
    char line[AGE_COLUMNS + 8];
    size_t n;
    signet_rc rc = armor_line(a, line, sizeof line, &n);
    if (rc)
        return rc;
    if (strcmp(line, AGE_ARMOR_END) != 0)
        return signet_fail(SIGNET_E_PARSE, "armor: a line shorter than 64 columns must be the "
                                           "last one, followed by the END line");
    return SIGNET_OK;
}

/* After the END line only whitespace may follow. */
static signet_rc check_trailer(age_armor_rd *a)
{
    signet_rc rc = skip_ws(a->raw);
    if (rc)
        return rc;
    const uint8_t *p;
    size_t avail;
    if ((rc = age_bufrd_peek(a->raw, 1, &p, &avail)) != SIGNET_OK)
        return rc;
    if (avail)
        return signet_fail(SIGNET_E_PARSE, "data follows the armor's END line: the file was "
                                           "modified or two files were joined");
    a->done = true;
    return SIGNET_OK;
}

/* Decodes the next line into a->dec, or finishes at the END line. */
static signet_rc next_armor_line(age_armor_rd *a)
{
    char line[AGE_COLUMNS + 8];
    size_t n;
    signet_rc rc;
    if (!a->started) {
        if ((rc = skip_ws(a->raw)) || (rc = armor_line(a, line, sizeof line, &n)))
            return rc;
        if (strcmp(line, AGE_ARMOR_BEGIN) != 0)
            return signet_fail(SIGNET_E_PARSE, "not an age file: it starts neither with "
                                               "\"age-encryption.org/\" nor with the armor line "
                                               "\"%s\"",
                               AGE_ARMOR_BEGIN);
        a->started = true;
    }
    if ((rc = armor_line(a, line, sizeof line, &n)) != SIGNET_OK)
        return rc;
    if (strcmp(line, AGE_ARMOR_END) == 0)
        return check_trailer(a);
    if (n == 0 || n > AGE_COLUMNS || n % 4)
        return signet_fail(SIGNET_E_PARSE, "armor: a line has %zu columns; lines hold 64 "
                                           "(the last one 4 to 64, a multiple of 4)",
                           n);
    sb_wr w;
    sbw_init_fixed(&w, a->dec, sizeof a->dec);
    if ((rc = b64_decode(&w, line, n, true)) != SIGNET_OK)
        return signet_wrap(SIGNET_E_PARSE, "armor: bad base64");
    a->dpos = 0;
    a->dlen = w.len;
    if (w.len < AGE_LINE_BYTES) {
        /* A short line (or one with padding) is the last: END must follow. */
        if ((rc = expect_end(a)) || (rc = check_trailer(a)))
            return rc;
    }
    return SIGNET_OK;
}

signet_rc age_armor_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    age_armor_rd *a = ctx;
    *got = 0;
    while (a->dpos == a->dlen && !a->done) {
        signet_rc rc = next_armor_line(a);
        if (rc) {
            a->failed = rc != SIGNET_E_IO && rc != SIGNET_E_NOMEM;
            return rc;
        }
    }
    size_t k = a->dlen - a->dpos < cap ? a->dlen - a->dpos : cap;
    memcpy(buf, a->dec + a->dpos, k);
    a->dpos += k;
    *got = k;
    return SIGNET_OK;
}

/* ------------------------------------------------------------------ output */

void age_out_init(age_out *o, bool armor, age_write_fn fn, void *ctx)
{
    memset(o, 0, sizeof *o);
    o->fn = fn;
    o->ctx = ctx;
    o->armor = armor;
}

static signet_rc emit_line(age_out *o, const uint8_t *p, size_t n)
{
    char mem[AGE_COLUMNS + 2];
    sb_wr w;
    sbw_init_fixed(&w, mem, sizeof mem);
    signet_rc rc = b64_encode(&w, p, n, true);
    if (!rc)
        rc = sbw_u8(&w, '\n');
    return rc ? rc : o->fn(o->ctx, (const uint8_t *)mem, w.len);
}

static signet_rc begin(age_out *o)
{
    signet_rc rc = SIGNET_OK;
    if (!o->started) {
        o->started = true;
        if (!(rc = o->fn(o->ctx, (const uint8_t *)AGE_ARMOR_BEGIN, strlen(AGE_ARMOR_BEGIN))))
            rc = o->fn(o->ctx, (const uint8_t *)"\n", 1);
    }
    return rc;
}

signet_rc age_out_write(age_out *o, const uint8_t *p, size_t n)
{
    if (!o->armor)
        return n ? o->fn(o->ctx, p, n) : SIGNET_OK;
    signet_rc rc = begin(o);
    while (n && !rc) {
        size_t k = AGE_LINE_BYTES - o->npend < n ? AGE_LINE_BYTES - o->npend : n;
        memcpy(o->pend + o->npend, p, k);
        o->npend += k;
        p += k;
        n -= k;
        if (o->npend == AGE_LINE_BYTES) {
            rc = emit_line(o, o->pend, o->npend);
            o->npend = 0;
        }
    }
    return rc;
}

signet_rc age_out_finish(age_out *o)
{
    if (!o->armor)
        return SIGNET_OK;
    signet_rc rc = begin(o);
    if (!rc && o->npend)
        rc = emit_line(o, o->pend, o->npend);
    o->npend = 0;
    if (!rc)
        rc = o->fn(o->ctx, (const uint8_t *)AGE_ARMOR_END, strlen(AGE_ARMOR_END));
    return rc ? rc : o->fn(o->ctx, (const uint8_t *)"\n", 1);
}

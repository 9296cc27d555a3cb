/* The age header: version line, recipient stanzas, MAC line (C2SP age, "File
 * header" ABNF).  The parser reads a complete header through sb_rd and follows
 * the grammar exactly; messages name line numbers but never quote the input. */
#include <stdlib.h>
#include <string.h>

#include "age_internal.h"
#include "signet/secmem.h"

const char AGE_INTRO[] = "age-encryption.org/v1\n";

void age_stanza_arg(const age_stanza *st, size_t i, const char **p, size_t *len)
{
    const char *s = st->args, *end = st->args + st->args_len;
    for (; i > 0; i--)
        s = (const char *)memchr(s, ' ', (size_t)(end - s)) + 1;
    const char *e = memchr(s, ' ', (size_t)(end - s));
    *p = s;
    *len = (size_t)((e ? e : end) - s);
}

bool age_stanza_arg_is(const age_stanza *st, size_t i, const char *s)
{
    const char *p;
    size_t n;
    if (i >= st->nargs)
        return false;
    age_stanza_arg(st, i, &p, &n);
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

const uint8_t *age_stanza_body(const age_header *h, const age_stanza *st)
{
    return h->bodies.p ? h->bodies.p + st->body_off : (const uint8_t *)"";
}

void age_header_free(age_header *h)
{
    free(h->st);
    sbw_free(&h->bodies);
    memset(h, 0, sizeof *h);
}

/* The next line without its '\n'; fails when there is no newline. */
static signet_rc next_line(sb_rd *r, const char **line, size_t *n, size_t lineno)
{
    const uint8_t *nl = memchr(sbr_cur(r), '\n', sbr_left(r));
    if (!nl)
        return signet_fail(SIGNET_E_PARSE, "age header line %zu is not terminated: the file is "
                                           "truncated",
                           lineno);
    *line = (const char *)sbr_cur(r);
    *n = (size_t)(nl - sbr_cur(r));
    return sbr_skip(r, *n + 1);
}

static bool starts(const char *line, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(line, prefix, k) == 0;
}

/* "-> " then one or more arguments of VCHARs separated by single spaces. */
static signet_rc parse_args(const char *s, size_t n, size_t lineno, size_t *nargs)
{
    *nargs = 1;
    if (n == 0)
        return signet_fail(SIGNET_E_PARSE, "age header line %zu: a stanza has no type", lineno);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') {
            if (i == 0 || i + 1 == n || s[i + 1] == ' ')
                return signet_fail(SIGNET_E_PARSE, "age header line %zu: a stanza has an empty "
                                                   "argument",
                                   lineno);
            (*nargs)++;
        } else if (c < 33 || c > 126) {
            return signet_fail(SIGNET_E_PARSE, "age header line %zu: a stanza argument has an "
                                               "invalid character",
                               lineno);
        }
    }
    return SIGNET_OK;
}

static signet_rc parse_body(sb_rd *r, age_header *h, age_stanza *st, size_t *lineno)
{
    st->body_off = h->bodies.len;
    for (;;) {
        const char *line;
        size_t n;
        signet_rc rc = next_line(r, &line, &n, ++*lineno);
        if (rc)
            return rc;
        if (starts(line, n, "->") || starts(line, n, "---"))
            return signet_fail(SIGNET_E_PARSE, "age header line %zu: the stanza before it has "
                                               "no final body line (every body ends with a line "
                                               "shorter than 64 columns, possibly empty)",
                               *lineno);
        if (n > AGE_COLUMNS)
            return signet_fail(SIGNET_E_PARSE, "age header line %zu: a stanza body line is "
                                               "longer than %d columns",
                               *lineno, AGE_COLUMNS);
        if ((rc = b64_decode(&h->bodies, line, n, false)) != SIGNET_OK)
            return signet_wrap(SIGNET_E_PARSE, "age header line %zu: bad stanza body", *lineno);
        if (n < AGE_COLUMNS)
            break;
    }
    st->body_len = h->bodies.len - st->body_off;
    return SIGNET_OK;
}

static signet_rc parse_mac(const char *line, size_t n, size_t lineno, age_header *h)
{
    uint8_t mem[AGE_KEY_LEN + 3];
    sb_wr w;
    sbw_init_fixed(&w, mem, sizeof mem);
    if (!starts(line, n, "--- ") || n != 4 + 43 || b64_decode(&w, line + 4, 43, false) ||
        w.len != AGE_KEY_LEN)
        return signet_fail(SIGNET_E_PARSE, "age header line %zu: the MAC line is malformed",
                           lineno);
    memcpy(h->mac, mem, AGE_KEY_LEN);
    return SIGNET_OK;
}

static signet_rc parse_lines(sb_rd *r, age_header *h)
{
    const char *line;
    size_t n, lineno = 1, cap = 0;
    signet_rc rc = next_line(r, &line, &n, lineno);
    if (rc)
        return rc;
    if (!starts(line, n, "age-encryption.org/"))
        return signet_fail(SIGNET_E_PARSE, "not an age file (it does not start with "
                                           "\"age-encryption.org/\")");
    if (n == strlen(AGE_INTRO) && memcmp(line, AGE_INTRO, n - 1) == 0 && line[n - 1] == '\r')
        return signet_fail(SIGNET_E_PARSE, "the age file's line endings were converted to CRLF "
                                           "(by a text editor or a transfer in text mode): "
                                           "use the original binary file");
    if (n + 1 != strlen(AGE_INTRO) || memcmp(line, AGE_INTRO, n) != 0)
        return signet_fail(SIGNET_E_UNSUPPORTED, "the age file has version \"%.*s\": signet "
                                                 "reads v1",
                           (int)(n - 19 > 20 ? 20 : n - 19), line + 19);
    for (;;) {
        size_t off = r->pos;
        if ((rc = next_line(r, &line, &n, ++lineno)) != SIGNET_OK)
            return rc;
        if (starts(line, n, "---")) {
            if (h->n == 0)
                return signet_fail(SIGNET_E_PARSE, "the age header has no recipient stanzas");
            h->mac_input_len = off + 3;
            if ((rc = parse_mac(line, n, lineno, h)) != SIGNET_OK)
                return rc;
            return sbr_end(r);
        }
        if (!starts(line, n, "-> "))
            return signet_fail(SIGNET_E_PARSE, "age header line %zu is neither a stanza (\"-> "
                                               "\") nor the MAC line (\"--- \")",
                               lineno);
        if (h->n == AGE_MAX_STANZAS)
            return signet_fail(SIGNET_E_PARSE, "the age header has more than %d stanzas",
                               AGE_MAX_STANZAS);
        if (h->n == cap) {
            cap = cap ? cap * 2 : 4;
            age_stanza *nst = realloc(h->st, cap * sizeof *nst);
            if (!nst)
                return signet_fail(SIGNET_E_NOMEM, "out of memory reading the age header");
            h->st = nst;
        }
        age_stanza *st = &h->st[h->n];
        memset(st, 0, sizeof *st);
        st->args = line + 3;
        st->args_len = n - 3;
        if ((rc = parse_args(st->args, st->args_len, lineno, &st->nargs)) ||
            (rc = parse_body(r, h, st, &lineno)))
            return rc;
        h->n++;
    }
}

signet_rc age_header_parse(const uint8_t *p, size_t len, age_header *h)
{
    memset(h, 0, sizeof *h);
    sbw_init(&h->bodies, AGE_MAX_HEADER);
    sb_rd r;
    sbr_init(&r, p, len);
    signet_rc rc = parse_lines(&r, h);
    if (rc)
        age_header_free(h);
    return rc;
}

signet_rc age_stanza_write(sb_wr *hdr, const char *const *args, size_t nargs,
                           const uint8_t *body, size_t body_len)
{
    signet_rc rc = sbw_str(hdr, "->");
    for (size_t i = 0; i < nargs && !rc; i++)
        if (!(rc = sbw_u8(hdr, ' ')))
            rc = sbw_str(hdr, args[i]);
    if (!rc)
        rc = sbw_u8(hdr, '\n');
    /* Encode 48 bytes (one 64-column line) at a time; the last line is shorter,
     * and empty when the body fills whole lines. */
    size_t done = 0;
    while (!rc) {
        size_t n = body_len - done < AGE_LINE_BYTES ? body_len - done : AGE_LINE_BYTES;
        if ((rc = b64_encode(hdr, body + done, n, false)) || (rc = sbw_u8(hdr, '\n')))
            break;
        done += n;
        if (n < AGE_LINE_BYTES)
            break;
    }
    return rc;
}

signet_rc age_header_mac(const uint8_t fk[AGE_FILE_KEY_LEN], const uint8_t *p, size_t n,
                         uint8_t mac[AGE_KEY_LEN])
{
    uint8_t key[AGE_KEY_LEN];
    signet_rc rc = age_hkdf(fk, AGE_FILE_KEY_LEN, NULL, 0, "header", key);
    if (!rc)
        rc = age_hmac(key, p, n, mac);
    smem_wipe(key, sizeof key);
    return rc;
}

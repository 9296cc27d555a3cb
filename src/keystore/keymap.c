/* The key map (keymap.txt): one key per line, `name id algorithm domains role`,
 * '#' starts a comment.  The parser is strict because the map is the permanent
 * record of which id belongs to which key: anything it does not understand is an
 * error naming the line, never a guess. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_internal.h"
#include "signet/proto.h"

#define LINE_MAX_LEN 1024
#define NFIELDS 5

void signet_keymap_init(signet_keymap *m)
{
    memset(m, 0, sizeof *m);
}

void signet_keymap_free(signet_keymap *m)
{
    free(m->v);
    signet_keymap_init(m);
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

static bool word_valid(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(s[i]))
            return false;
    return true;
}

bool signet_key_name_valid(const char *name)
{
    /* The name is a file name in the store and the label on the HSM (40 bytes);
     * a leading '.' would hide it (and "." or ".." would escape the directory), a
     * leading '-' would read as an option to the tools that get the path. */
    return word_valid(name, YH_LABEL_LEN) && name[0] != '.' && name[0] != '-';
}

bool signet_key_role_valid(const char *role)
{
    return word_valid(role, sizeof ((signet_keymap_entry *)0)->role - 1);
}

bool signet_key_algorithm_valid(uint8_t algorithm)
{
    return yh_algo_is_rsa(algorithm) || yh_algo_is_ec(algorithm) ||
           algorithm == YH_ALGO_EC_ED25519;
}

const signet_keymap_entry *signet_keymap_find(const signet_keymap *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].name, name) == 0)
            return &m->v[i];
    return NULL;
}

const signet_keymap_entry *signet_keymap_find_id(const signet_keymap *m, uint16_t id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].id == id)
            return &m->v[i];
    return NULL;
}

uint16_t signet_keymap_next_id(const signet_keymap *m)
{
    unsigned next = SIGNET_KEYMAP_FIRST_ID;
    for (size_t i = 0; i < m->n; i++)
        if ((unsigned)m->v[i].id + 1 > next)
            next = (unsigned)m->v[i].id + 1;
    return next > 0xffff ? 0 : (uint16_t)next;
}

/* Checks everything about e except uniqueness. */
static signet_rc entry_check(const signet_keymap_entry *e)
{
    if (!memchr(e->name, 0, sizeof e->name) || !signet_key_name_valid(e->name))
        return signet_fail(SIGNET_E_PARSE,
                           "key name '%.*s' is not valid: use 1-%d characters of A-Z a-z 0-9 _ . -, "
                           "not starting with '.' or '-'",
                           40, e->name, YH_LABEL_LEN);
    if (!memchr(e->role, 0, sizeof e->role) || !signet_key_role_valid(e->role))
        return signet_fail(SIGNET_E_PARSE,
                           "role '%.*s' of key '%s' is not valid: one word of up to %zu characters "
                           "(A-Z a-z 0-9 _ . -)",
                           31, e->role, e->name, sizeof e->role - 1);
    if (e->id == 0)
        return signet_fail(SIGNET_E_PARSE,
                           "key '%s' has id 0, which asks the HSM to choose: give it a fixed id "
                           "(0x0001-0xffff)",
                           e->name);
    if (!signet_key_algorithm_valid(e->algorithm))
        return signet_fail(SIGNET_E_PARSE,
                           "key '%s': algorithm '%s' is not a signing key algorithm (use rsa2048, "
                           "rsa3072, rsa4096, ecp256, ecp384, ecp521, eck256, ecbp256, ecbp384, "
                           "ecbp512, ecp224 or ed25519)",
                           e->name, yh_algo_name(e->algorithm));
    if (e->domains == 0)
        return signet_fail(SIGNET_E_PARSE, "key '%s' is in no domain: give at least one (1-16)",
                           e->name);
    return SIGNET_OK;
}

static signet_rc grow(signet_keymap *m)
{
    if (m->n < m->cap)
        return SIGNET_OK;
    size_t cap = m->cap ? m->cap * 2 : 16;
    signet_keymap_entry *v = realloc(m->v, cap * sizeof *v);
    if (!v)
        return signet_fail(SIGNET_E_NOMEM, "out of memory for the key map");
    m->v = v;
    m->cap = cap;
    return SIGNET_OK;
}

signet_rc signet_keymap_add(signet_keymap *m, const signet_keymap_entry *e)
{
    signet_rc rc = entry_check(e);
    if (rc != SIGNET_OK)
        return rc;
    const signet_keymap_entry *dup = signet_keymap_find(m, e->name);
    if (dup)
        return signet_fail(SIGNET_E_PARSE, "key '%s' is already in the key map (id 0x%04x)",
                           e->name, dup->id);
    dup = signet_keymap_find_id(m, e->id);
    if (dup)
        return signet_fail(SIGNET_E_PARSE,
                           "id 0x%04x of key '%s' is already used by key '%s': ids are unique",
                           e->id, e->name, dup->name);
    if ((rc = grow(m)) != SIGNET_OK)
        return rc;
    m->v[m->n++] = *e;
    return SIGNET_OK;
}

/* ---- parsing ----------------------------------------------------------------- */

/* Decimal without leading zeros, or 0x with 1-4 hex digits. */
static signet_rc parse_id(const char *s, unsigned ln, uint16_t *out)
{
    unsigned long v = 0;
    bool ok;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        size_t n = strlen(s + 2);
        ok = n >= 1 && n <= 4 && strspn(s + 2, "0123456789abcdefABCDEF") == n;
        if (ok)
            v = strtoul(s + 2, NULL, 16);
    } else {
        size_t n = strlen(s);
        ok = n >= 1 && n <= 5 && strspn(s, "0123456789") == n && !(n > 1 && s[0] == '0');
        if (ok)
            v = strtoul(s, NULL, 10);
    }
    if (!ok || v > 0xffff)
        return signet_fail(SIGNET_E_PARSE,
                           "line %u: id '%.16s' is not a 16-bit number: write 0x0100 or 256", ln, s);
    if (v == 0)
        return signet_fail(SIGNET_E_PARSE,
                           "line %u: id 0 asks the HSM to choose: give the key a fixed id", ln);
    *out = (uint16_t)v;
    return SIGNET_OK;
}

static signet_rc parse_fields(char **f, unsigned ln, signet_keymap_entry *e)
{
    memset(e, 0, sizeof *e);
    if (!signet_key_name_valid(f[0]))
        return signet_fail(SIGNET_E_PARSE,
                           "line %u: key name '%.48s' is not valid: use 1-%d characters of "
                           "A-Z a-z 0-9 _ . -, not starting with '.' or '-'",
                           ln, f[0], YH_LABEL_LEN);
    snprintf(e->name, sizeof e->name, "%s", f[0]);
    signet_rc rc = parse_id(f[1], ln, &e->id);
    if (rc != SIGNET_OK)
        return rc;
    if (yh_algo_parse(f[2], &e->algorithm) != 0 || !signet_key_algorithm_valid(e->algorithm))
        return signet_fail(SIGNET_E_PARSE,
                           "line %u: '%.32s' is not a signing key algorithm (use rsa2048, rsa3072, "
                           "rsa4096, ecp256, ecp384, ecp521, eck256, ecbp256, ecbp384, ecbp512, "
                           "ecp224 or ed25519)",
                           ln, f[2]);
    if ((rc = yh_domains_parse(f[3], &e->domains)) != SIGNET_OK)
        return signet_wrap(SIGNET_E_PARSE, "line %u", ln);
    if (!signet_key_role_valid(f[4]))
        return signet_fail(SIGNET_E_PARSE,
                           "line %u: role '%.40s' is not valid: one word of up to %zu characters "
                           "(A-Z a-z 0-9 _ . -)",
                           ln, f[4], sizeof e->role - 1);
    snprintf(e->role, sizeof e->role, "%s", f[4]);
    return SIGNET_OK;
}

/* Splits a comment-free line into whitespace-separated fields (in place). */
static size_t split(char *s, char **f, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n < max)
            f[n] = t;
        n++;
    }
    return n;
}

static signet_rc check_bytes(const char *p, size_t n, unsigned ln)
{
    bool in_comment = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '#')
            in_comment = true;
        if (c == 0)
            return signet_fail(SIGNET_E_PARSE, "line %u: contains a NUL byte: is this a key map?",
                               ln);
        if (c == '\r')
            return signet_fail(SIGNET_E_PARSE,
                               "line %u: carriage return: convert the file to Unix line endings", ln);
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return signet_fail(SIGNET_E_PARSE, "line %u: control character 0x%02x", ln, c);
        /* Text outside comments is plain ASCII; comments may hold UTF-8 (names). */
        if (c >= 0x80 && !in_comment)
            return signet_fail(SIGNET_E_PARSE,
                               "line %u: non-ASCII byte 0x%02x outside a comment", ln, c);
    }
    return SIGNET_OK;
}

static signet_rc parse_line(const char *p, size_t n, unsigned ln, signet_keymap *m,
                            unsigned **lines)
{
    if (n > LINE_MAX_LEN)
        return signet_fail(SIGNET_E_PARSE, "line %u is longer than %d characters", ln, LINE_MAX_LEN);
    signet_rc rc = check_bytes(p, n, ln);
    if (rc != SIGNET_OK)
        return rc;
    char buf[LINE_MAX_LEN + 1];
    memcpy(buf, p, n);
    buf[n] = 0;
    char *hash = strchr(buf, '#');
    if (hash)
        *hash = 0;
    char *f[NFIELDS];
    size_t nf = split(buf, f, NFIELDS);
    if (nf == 0)
        return SIGNET_OK;
    if (nf != NFIELDS)
        return signet_fail(SIGNET_E_PARSE,
                           "line %u: %zu field%s, expected 5: name id algorithm domains role", ln,
                           nf, nf == 1 ? "" : "s");
    signet_keymap_entry e;
    if ((rc = parse_fields(f, ln, &e)) != SIGNET_OK)
        return rc;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].name, e.name) == 0)
            return signet_fail(SIGNET_E_PARSE, "line %u: key '%s' is already defined on line %u",
                               ln, e.name, (*lines)[i]);
        if (m->v[i].id == e.id)
            return signet_fail(SIGNET_E_PARSE,
                               "line %u: id 0x%04x of key '%s' is already used by key '%s' on "
                               "line %u: ids are unique",
                               ln, e.id, e.name, m->v[i].name, (*lines)[i]);
    }
    if ((rc = signet_keymap_add(m, &e)) != SIGNET_OK)
        return signet_wrap(rc, "line %u", ln);
    unsigned *nl = realloc(*lines, m->cap * sizeof *nl);
    if (!nl)
        return signet_fail(SIGNET_E_NOMEM, "out of memory for the key map");
    *lines = nl;
    nl[m->n - 1] = ln;
    return SIGNET_OK;
}

signet_rc signet_keymap_parse(const char *text, size_t len, signet_keymap *m)
{
    signet_keymap_init(m);
    if (len > SIGNET_KEYMAP_MAX_BYTES)
        return signet_fail(SIGNET_E_PARSE, "key map of %zu bytes is larger than the limit of %u",
                           len, SIGNET_KEYMAP_MAX_BYTES);
    unsigned *lines = NULL; /* line number of each entry, for duplicate messages */
    signet_rc rc = SIGNET_OK;
    unsigned ln = 0;
    size_t pos = 0;
    while (rc == SIGNET_OK && pos < len) {
        ln++;
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        rc = parse_line(start, n, ln, m, &lines);
        pos += n + (nl ? 1 : 0);
    }
    free(lines);
    if (rc != SIGNET_OK)
        signet_keymap_free(m);
    return rc;
}

/* ---- writing ----------------------------------------------------------------- */

signet_rc signet_keymap_format(const signet_keymap *m, sb_wr *out)
{
    int w = 4;
    for (size_t i = 0; i < m->n; i++)
        if ((int)strlen(m->v[i].name) > w)
            w = (int)strlen(m->v[i].name);
    signet_rc rc = sbw_str(out, "# signet key map: name id algorithm domains role\n"
                                "# An id, once given, is permanent: never change or reuse one "
                                "(docs/keys.md).\n");
    for (size_t i = 0; rc == SIGNET_OK && i < m->n; i++) {
        const signet_keymap_entry *e = &m->v[i];
        char dom[64];
        sb_wr d;
        sbw_init_fixed(&d, dom, sizeof dom - 1);
        if ((rc = yh_domains_format(e->domains, &d)) != SIGNET_OK)
            break;
        dom[d.len] = 0;
        rc = sbw_printf(out, "%-*s 0x%04x %-8s %-7s %s\n", w, e->name, e->id,
                        yh_algo_name(e->algorithm), dom, e->role);
    }
    return rc;
}

signet_rc signet_keymap_load(const char *path, signet_keymap *m)
{
    signet_keymap_init(m);
    sb_wr buf;
    signet_rc rc = ks_read_file(path, SIGNET_KEYMAP_MAX_BYTES, &buf);
    if (rc != SIGNET_OK)
        return rc;
    rc = signet_keymap_parse((const char *)buf.p, buf.len, m);
    sbw_free(&buf);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "key map %s", path);
    return SIGNET_OK;
}

signet_rc signet_keymap_save(const char *path, const signet_keymap *m)
{
    sb_wr out;
    sbw_init(&out, SIGNET_KEYMAP_MAX_BYTES);
    signet_rc rc = signet_keymap_format(m, &out);
    if (rc == SIGNET_OK)
        rc = ks_write_atomic(path, out.p, out.len, 0644);
    sbw_free(&out);
    return rc;
}

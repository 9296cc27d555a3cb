/* The line tokenizer shared by the plan and the manifest: "key value..." lines,
 * blank lines and '#' comments skipped.  Input is untrusted: every byte is checked
 * and nothing is read past len. */
#include <errno.h>
#include <string.h>

#include "ceremony_internal.h"

void cer_lines_init(cer_lines *l, const char *what, const char *p, size_t len)
{
    l->p = p;
    l->len = len;
    l->pos = 0;
    l->lineno = 0;
    l->what = what;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, size_t *n)
{
    while (*n && is_blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && (is_blank((*s)[*n - 1]) || (*s)[*n - 1] == '\r'))
        (*n)--;
}

void cer_split_word(const char *s, size_t len, const char **w, size_t *wlen, const char **rest,
                    size_t *rlen)
{
    trim(&s, &len);
    size_t i = 0;
    while (i < len && !is_blank(s[i]))
        i++;
    *w = s;
    *wlen = i;
    *rest = s + i;
    *rlen = len - i;
    trim(rest, rlen);
}

signet_rc cer_lines_next(cer_lines *l, cer_kv *kv, bool *got)
{
    *got = false;
    while (l->pos < l->len) {
        const char *line = l->p + l->pos;
        const char *nl = memchr(line, '\n', l->len - l->pos);
        size_t n = nl ? (size_t)(nl - line) : l->len - l->pos;
        l->pos += n + (nl ? 1 : 0);
        l->lineno++;
        if (n > CER_LINE_MAX)
            return signet_fail(SIGNET_E_PARSE, "%s line %u is longer than %d bytes", l->what,
                               l->lineno, CER_LINE_MAX);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)line[i];
            if ((c < 0x20 && c != '\t' && !(c == '\r' && i == n - 1)) || c == 0x7f)
                return signet_fail(SIGNET_E_PARSE,
                                   "%s line %u holds a control character (byte 0x%02x at column "
                                   "%zu): is this a text file?",
                                   l->what, l->lineno, c, i + 1);
        }
        const char *s = line;
        trim(&s, &n);
        if (n == 0 || s[0] == '#')
            continue;
        cer_split_word(s, n, &kv->key, &kv->key_len, &kv->val, &kv->val_len);
        kv->lineno = l->lineno;
        *got = true;
        return SIGNET_OK;
    }
    return SIGNET_OK;
}

bool cer_kv_is(const cer_kv *kv, const char *key)
{
    return kv->key_len == strlen(key) && memcmp(kv->key, key, kv->key_len) == 0;
}

signet_rc cer_copy(char *dst, size_t cap, const char *s, size_t len, const cer_lines *l,
                   const char *what)
{
    if (len >= cap)
        return signet_fail(SIGNET_E_PARSE, "%s line %u: the %s is longer than %zu characters",
                           l->what, l->lineno, what, cap - 1);
    memcpy(dst, s, len);
    dst[len] = 0;
    return SIGNET_OK;
}

signet_rc cer_parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
    if (len == 0 || len > 10)
        return signet_fail(SIGNET_E_PARSE, "not a number");
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return signet_fail(SIGNET_E_PARSE, "'%.*s' is not a decimal number", (int)len, s);
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > max)
        return signet_fail(SIGNET_E_PARSE, "%lu is larger than %lu", v, max);
    *out = v;
    return SIGNET_OK;
}

signet_rc cer_parse_id(const char *s, size_t len, uint16_t *out)
{
    unsigned long v = 0;
    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        if (len > 6)
            return signet_fail(SIGNET_E_PARSE, "'%.*s' is not a 16-bit id", (int)len, s);
        for (size_t i = 2; i < len; i++) {
            char c = s[i];
            int d = c >= '0' && c <= '9' ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return signet_fail(SIGNET_E_PARSE, "'%.*s' is not a hex id", (int)len, s);
            v = v * 16 + (unsigned long)d;
        }
    } else if (cer_parse_uint(s, len, 0xffff, &v) != SIGNET_OK) {
        return signet_fail(SIGNET_E_PARSE, "'%.*s' is not an object id (decimal or 0x hex)",
                           (int)(len > 32 ? 32 : len), s);
    }
    if (v == 0 || v > 0xffff)
        return signet_fail(SIGNET_E_PARSE, "object id %lu is outside 1..0xffff", v);
    *out = (uint16_t)v;
    return SIGNET_OK;
}

bool cer_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > SIGNET_PLAN_NAME_MAX || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

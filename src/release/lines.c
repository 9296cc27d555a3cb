/* Line and attribute scanning shared by the META parsers and the plan file: text
 * is split into lines, each trimmed of spaces, tabs and a trailing CR; control
 * characters anywhere are errors.  Attribute lines are key="value" pairs separated
 * by blanks, checked against a table of known keys. */
#include <stdlib.h>
#include <string.h>

#include "release_internal.h"

signet_rc rl_next_line(rl_lines *l, const char **line, size_t *len)
{
    while (l->pos < l->len) {
        const char *s = l->text + l->pos;
        const char *nl = memchr(s, '\n', l->len - l->pos);
        size_t n = nl ? (size_t)(nl - s) : l->len - l->pos;
        l->pos += n + (nl ? 1 : 0);
        l->lineno++;
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
            n--;
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return signet_fail(SIGNET_E_PARSE, "%s line %u: control character 0x%02x",
                                   l->fname, l->lineno, c);
        }
        if (n == 0 || (l->comments && s[0] == '#'))
            continue;
        *line = s;
        *len = n;
        return SIGNET_OK;
    }
    *line = NULL;
    *len = 0;
    return SIGNET_OK;
}

char *rl_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

void rl_attrs_free(rl_attr *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].value), v[i].value = NULL;
}

signet_rc rl_attrs_parse(const rl_lines *l, const char *s, size_t n, rl_attr *attrs,
                         size_t n_attrs)
{
    size_t i = 0;
    while (i < n) {
        size_t k = i;
        while (k < n && s[k] != '=' && s[k] != ' ' && s[k] != '\t')
            k++;
        if (k == i || k + 1 >= n || s[k] != '=' || s[k + 1] != '"')
            return signet_fail(SIGNET_E_PARSE,
                               "%s line %u: expected key=\"value\" at column %zu", l->fname,
                               l->lineno, i + 1);
        rl_attr *a = NULL;
        for (size_t j = 0; j < n_attrs; j++)
            if (strlen(attrs[j].key) == k - i && memcmp(attrs[j].key, s + i, k - i) == 0)
                a = &attrs[j];
        if (!a)
            return signet_fail(SIGNET_E_PARSE, "%s line %u: unknown attribute '%.*s'",
                               l->fname, l->lineno, (int)(k - i > 40 ? 40 : k - i), s + i);
        if (a->value)
            return signet_fail(SIGNET_E_PARSE, "%s line %u: attribute '%s' given twice",
                               l->fname, l->lineno, a->key);
        size_t v = k + 2;
        const char *q = memchr(s + v, '"', n - v);
        if (!q)
            return signet_fail(SIGNET_E_PARSE, "%s line %u: unterminated value of '%s'",
                               l->fname, l->lineno, a->key);
        size_t vlen = (size_t)(q - (s + v));
        if (!(a->value = rl_strndup(s + v, vlen)))
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        i = v + vlen + 1;
        if (i < n && s[i] != ' ' && s[i] != '\t')
            return signet_fail(SIGNET_E_PARSE, "%s line %u: no blank after the value of '%s'",
                               l->fname, l->lineno, a->key);
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
    }
    for (size_t j = 0; j < n_attrs; j++)
        if (attrs[j].required && !attrs[j].value)
            return signet_fail(SIGNET_E_PARSE, "%s line %u: attribute '%s' is missing",
                               l->fname, l->lineno, attrs[j].key);
    return SIGNET_OK;
}

bool rl_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool rl_token_ok(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

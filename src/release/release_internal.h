/* Internal helpers of src/release. */
#ifndef SIGNET_RELEASE_INTERNAL_H
#define SIGNET_RELEASE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "signet/release.h"

typedef struct {
    const char *text;
    size_t len, pos;
    unsigned lineno;
    const char *fname;   /* for messages */
    bool comments;       /* skip lines starting with '#' */
} rl_lines;

/* The next non-empty line, trimmed (NULL at the end).  Control characters fail. */
signet_rc rl_next_line(rl_lines *l, const char **line, size_t *len);

typedef struct {
    const char *key;
    bool required;
    char *value;         /* filled by rl_attrs_parse (malloc'd), NULL when absent */
} rl_attr;

/* Parses key="value" pairs of one line into attrs (unknown, duplicate, missing
 * required: errors).  The caller frees the values with rl_attrs_free. */
signet_rc rl_attrs_parse(const rl_lines *l, const char *s, size_t n, rl_attr *attrs,
                         size_t n_attrs);
void rl_attrs_free(rl_attr *v, size_t n);

char *rl_strndup(const char *s, size_t n);
bool rl_ends_with(const char *s, const char *suffix);
/* Printable ASCII without blanks, non-empty: what a plan token may hold. */
bool rl_token_ok(const char *s);

#endif

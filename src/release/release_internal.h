/* Internal helpers of src/release. */
#ifndef SIGNET_RELEASE_INTERNAL_H
#define SIGNET_RELEASE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "signet/release.h"
#include "signet/zip.h"

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

/* Zip output: entries and central directory built side by side. */
typedef struct {
    sb_wr data, cd;
    uint16_t count;
} rl_zw;
void rl_zw_init(rl_zw *w);
void rl_zw_free(rl_zw *w);
signet_rc rl_zw_copy(rl_zw *w, const signet_zip *z, const signet_zip_entry *e);
signet_rc rl_zw_stored(rl_zw *w, const char *name, const uint8_t *p, size_t n);
signet_rc rl_zw_finish(rl_zw *w, sb_wr *out);
/* e copied with its stored data aligned to `align` (apksigner's extra field). */
signet_rc rl_zw_copy_aligned(rl_zw *w, const signet_zip *z, const signet_zip_entry *e,
                             unsigned align);
/* A new entry, deflated at level 9 (stored when that does not make it smaller). */
signet_rc rl_zw_deflated(rl_zw *w, const char *name, const uint8_t *p, size_t n);
#define SIGNET_APEX_ALIGN 4096u
signet_rc rl_gunzip(const uint8_t *p, size_t n, size_t max, sb_wr *out);
signet_rc rl_gzip(const uint8_t *p, size_t n, sb_wr *out);

/* Rewriters of configuration files (certs.c). */
signet_rc rl_rewrite_props(const char *in, size_t n, sb_wr *out);
/* Replaces every signature="HEX" certificate: pairs[2i] -> pairs[2i+1] (lower-case
 * hex); a certificate that is neither a development one being replaced nor one of
 * `allowed` fails. */
signet_rc rl_rewrite_mac_permissions(const char *member, const char *in, size_t n,
                                     char *const *pairs, size_t n_pairs, char *const *allowed,
                                     size_t n_allowed, sb_wr *out);
bool rl_is_build_prop(const char *member);

#endif

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

/* The signing engine's pieces shared by tfsign.c (writing a package) and
 * artifacts.c (signing the APKs and APEXes of a run). */
struct rl_art;
struct rl_apex;
/* A signed member of a package, in zip order: what artifacts.c made of it. */
struct rl_signed {
    char *member;
    bool gz;             /* an .apk.gz: written gzipped */
    sb_wr out;           /* the member as written */
    struct rl_art *art;  /* during the run: the APK, or */
    struct rl_apex *apex;/* the APEX */
};
signet_rc rl_signed_add(signet_release_job *j, const char *member, bool gz);
/* The key of the APK at `path` inside MEMBER's APEX payload, as releasetools'
 * ApexApkSigner finds it (apkcerts.txt by file name, then the mapping): where =
 * "MEMBER!/PATH"; *key (malloc'd) NULL when apkcerts.txt keeps it as it is
 * (PRESIGNED, EXTERNAL), else store = its store name. */
signet_rc rl_inner_key(const signet_tf_meta *meta, const signet_release_mapping *map,
                       const char *member, const char *path, char *where, size_t where_cap,
                       char **key, char store[41]);
/* Members dropped from the signed package (rebuilt from it later: IMAGES/ ...). */
bool rl_dropped_member(const char *member);
/* The store name of the plan's key `key`. */
signet_rc rl_store_name(const signet_rplan *p, const char *key, char out[41]);
/* A binding to append once the package is durable (signet_release_bind). */
signet_rc rl_add_member(signet_release_job *j, const char *name, const uint8_t in_sha[32],
                        const uint8_t *out, size_t out_len, const uint64_t *covers, size_t n,
                        bool after_prev);
/* Every stored entry's data on a 4 KiB boundary (signapk -a 4096 for APEX containers). */
signet_rc rl_align_stored(const uint8_t *zip, size_t len, sb_wr *out);

#endif

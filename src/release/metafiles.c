/* The target-files META files as AOSP's build writes them (releasetools common.py
 * ReadApkCerts, sign_target_files_apks.py ReadApexKeysInfo, LoadDictionaryFromLines),
 * parsed strictly: where AOSP skips a line it cannot match, signet stops and names it,
 * because a skipped line is an app that would stay development-signed. */
#include <stdlib.h>
#include <string.h>

#include "release_internal.h"

#define MAX_ENTRIES 100000

static const char *const SPECIAL[] = {"PRESIGNED", "EXTERNAL"};

void signet_tf_meta_init(signet_tf_meta *m)
{
    memset(m, 0, sizeof *m);
}

void signet_tf_meta_free(signet_tf_meta *m)
{
    for (size_t i = 0; i < m->n_apks; i++) {
        signet_apkcert *a = &m->apks[i];
        free(a->name), free(a->key), free(a->compressed), free(a->partition);
    }
    for (size_t i = 0; i < m->n_apexes; i++) {
        signet_apexkey *a = &m->apexes[i];
        free(a->name), free(a->payload_key), free(a->payload_pub), free(a->container_key);
        free(a->partition), free(a->sign_tool);
    }
    for (size_t i = 0; i < m->n_misc; i++)
        free(m->misc[i].key), free(m->misc[i].value);
    free(m->apks), free(m->apexes), free(m->misc);
    signet_tf_meta_init(m);
}

static signet_rc grow(void **v, size_t n, size_t elem, const char *what)
{
    if (n >= MAX_ENTRIES)
        return signet_fail(SIGNET_E_PARSE, "%s has more than %d entries", what, MAX_ENTRIES);
    if ((n & (n - 1)) == 0) { /* capacity doubles at powers of two */
        void *p = realloc(*v, (n ? 2 * n : 1) * elem);
        if (!p)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        *v = p;
    }
    return SIGNET_OK;
}

/* A file name as it appears in the package: no directory, no blanks. */
static signet_rc check_name(const rl_lines *l, const char *name)
{
    if (!rl_token_ok(name) || strchr(name, '/'))
        return signet_fail(SIGNET_E_PARSE, "%s line %u: name '%.80s' is not a file name",
                           l->fname, l->lineno, name);
    return SIGNET_OK;
}

/* certificate + private key -> the key path without suffixes (AOSP's rule: both
 * name the same stem), or the special string with an empty private key. */
static signet_rc key_stem(const rl_lines *l, const char *cert, const char *priv,
                          const char *cert_sfx, const char *priv_sfx, char **out)
{
    for (size_t i = 0; i < 2; i++)
        if (strcmp(cert, SPECIAL[i]) == 0) {
            if (*priv && strcmp(priv, SPECIAL[i]) != 0)
                return signet_fail(SIGNET_E_PARSE,
                                   "%s line %u: certificate %s with private key '%.80s'",
                                   l->fname, l->lineno, cert, priv);
            *out = strdup(cert);
            return *out ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
        }
    size_t cl = strlen(cert), pl = strlen(priv), cs = strlen(cert_sfx), ps = strlen(priv_sfx);
    if (!rl_ends_with(cert, cert_sfx) || !rl_ends_with(priv, priv_sfx) || cl - cs != pl - ps ||
        cl == cs || memcmp(cert, priv, cl - cs) != 0 || !rl_token_ok(cert))
        return signet_fail(SIGNET_E_PARSE,
                           "%s line %u: certificate '%.80s' and private key '%.80s' do not "
                           "name one key (expected K%s and K%s)",
                           l->fname, l->lineno, cert, priv, cert_sfx, priv_sfx);
    *out = rl_strndup(cert, cl - cs);
    return *out ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
}

static signet_rc apkcert_line(const rl_lines *l, const char *s, size_t n, signet_tf_meta *m)
{
    rl_attr at[] = {{"name", true, NULL},       {"certificate", true, NULL},
                    {"private_key", true, NULL}, {"compressed", false, NULL},
                    {"partition", false, NULL}};
    size_t na = sizeof at / sizeof at[0];
    signet_rc rc = rl_attrs_parse(l, s, n, at, na);
    if (rc == SIGNET_OK)
        rc = check_name(l, at[0].value);
    if (rc == SIGNET_OK && signet_apkcert_find(m, at[0].value))
        rc = signet_fail(SIGNET_E_PARSE, "%s line %u: '%.80s' is listed twice", l->fname,
                         l->lineno, at[0].value);
    if (rc == SIGNET_OK && at[3].value && !rl_token_ok(at[3].value))
        rc = signet_fail(SIGNET_E_PARSE, "%s line %u: compressed=\"%.20s\" is not an extension",
                         l->fname, l->lineno, at[3].value);
    if (rc == SIGNET_OK && at[4].value && !rl_token_ok(at[4].value))
        rc = signet_fail(SIGNET_E_PARSE, "%s line %u: partition=\"%.20s\" is not a name",
                         l->fname, l->lineno, at[4].value);
    char *key = NULL;
    if (rc == SIGNET_OK)
        rc = key_stem(l, at[1].value, at[2].value, ".x509.pem", ".pk8", &key);
    if (rc == SIGNET_OK)
        rc = grow((void **)&m->apks, m->n_apks, sizeof *m->apks, "apkcerts.txt");
    if (rc != SIGNET_OK) {
        free(key);
        rl_attrs_free(at, na);
        return rc;
    }
    signet_apkcert *a = &m->apks[m->n_apks++];
    a->name = at[0].value;
    a->key = key;
    a->compressed = at[3].value;
    a->partition = at[4].value;
    a->line = l->lineno;
    free(at[1].value), free(at[2].value);
    return SIGNET_OK;
}

static signet_rc apexkey_line(const rl_lines *l, const char *s, size_t n, signet_tf_meta *m)
{
    rl_attr at[] = {{"name", true, NULL},
                    {"public_key", true, NULL},
                    {"private_key", true, NULL},
                    {"container_certificate", true, NULL},
                    {"container_private_key", true, NULL},
                    {"partition", false, NULL},
                    {"sign_tool", false, NULL}};
    size_t na = sizeof at / sizeof at[0];
    signet_rc rc = rl_attrs_parse(l, s, n, at, na);
    if (rc == SIGNET_OK)
        rc = check_name(l, at[0].value);
    if (rc == SIGNET_OK && !rl_ends_with(at[0].value, ".apex"))
        rc = signet_fail(SIGNET_E_PARSE, "%s line %u: APEX name '%.80s' does not end in .apex",
                         l->fname, l->lineno, at[0].value);
    if (rc == SIGNET_OK && signet_apexkey_find(m, at[0].value))
        rc = signet_fail(SIGNET_E_PARSE, "%s line %u: '%.80s' is listed twice", l->fname,
                         l->lineno, at[0].value);
    /* The payload key: both PRESIGNED, or a public and a private key file. */
    bool pay_pre = rc == SIGNET_OK && strcmp(at[2].value, "PRESIGNED") == 0;
    if (rc == SIGNET_OK && pay_pre != (strcmp(at[1].value, "PRESIGNED") == 0))
        rc = signet_fail(SIGNET_E_PARSE,
                         "%s line %u: payload public and private key must both be PRESIGNED "
                         "or both name files",
                         l->fname, l->lineno);
    if (rc == SIGNET_OK && !pay_pre && (!rl_token_ok(at[1].value) || !rl_token_ok(at[2].value)))
        rc = signet_fail(SIGNET_E_PARSE, "%s line %u: payload key paths must be non-empty and "
                         "without blanks", l->fname, l->lineno);
    for (size_t i = 5; rc == SIGNET_OK && i < 7; i++)
        if (at[i].value && !rl_token_ok(at[i].value))
            rc = signet_fail(SIGNET_E_PARSE, "%s line %u: %s=\"%.40s\" is not a single word",
                             l->fname, l->lineno, at[i].key, at[i].value);
    char *container = NULL;
    if (rc == SIGNET_OK)
        rc = key_stem(l, at[3].value, at[4].value, ".x509.pem", ".pk8", &container);
    if (rc == SIGNET_OK && strcmp(container, "EXTERNAL") == 0)
        rc = signet_fail(SIGNET_E_PARSE, "%s line %u: EXTERNAL is not a container key",
                         l->fname, l->lineno);
    if (rc == SIGNET_OK)
        rc = grow((void **)&m->apexes, m->n_apexes, sizeof *m->apexes, "apexkeys.txt");
    if (rc != SIGNET_OK) {
        free(container);
        rl_attrs_free(at, na);
        return rc;
    }
    signet_apexkey *a = &m->apexes[m->n_apexes++];
    a->name = at[0].value;
    a->payload_pub = at[1].value;
    a->payload_key = at[2].value;
    a->container_key = container;
    a->partition = at[5].value;
    a->sign_tool = at[6].value;
    a->line = l->lineno;
    free(at[3].value), free(at[4].value);
    return SIGNET_OK;
}

typedef signet_rc (*line_fn)(const rl_lines *, const char *, size_t, signet_tf_meta *);

static signet_rc parse_lines(const char *text, size_t len, const char *fname, bool comments,
                             line_fn fn, signet_tf_meta *m)
{
    if (len > SIGNET_META_MAX_BYTES)
        return signet_fail(SIGNET_E_PARSE, "%s is %zu bytes, more than the %u accepted", fname,
                           len, SIGNET_META_MAX_BYTES);
    rl_lines l = {.text = text, .len = len, .fname = fname, .comments = comments};
    for (;;) {
        const char *s;
        size_t n;
        signet_rc rc = rl_next_line(&l, &s, &n);
        if (rc != SIGNET_OK || !s)
            return rc;
        if ((rc = fn(&l, s, n, m)) != SIGNET_OK)
            return rc;
    }
}

signet_rc signet_apkcerts_parse(const char *text, size_t len, signet_tf_meta *m)
{
    return parse_lines(text, len, "META/apkcerts.txt", false, apkcert_line, m);
}

signet_rc signet_apexkeys_parse(const char *text, size_t len, signet_tf_meta *m)
{
    return parse_lines(text, len, "META/apexkeys.txt", false, apexkey_line, m);
}

static signet_rc misc_line(const rl_lines *l, const char *s, size_t n, signet_tf_meta *m)
{
    const char *eq = memchr(s, '=', n);
    size_t kl = eq ? (size_t)(eq - s) : 0;
    if (!eq || kl == 0 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                       "0123456789_.-") != kl)
        return signet_fail(SIGNET_E_PARSE, "%s line %u: expected key=value", l->fname,
                           l->lineno);
    char *key = rl_strndup(s, kl);
    if (!key)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (signet_misc_get(m, key)) {
        signet_rc rc = signet_fail(SIGNET_E_PARSE, "%s line %u: '%.60s' is set twice", l->fname,
                                   l->lineno, key);
        free(key);
        return rc;
    }
    char *value = rl_strndup(eq + 1, n - kl - 1);
    signet_rc rc = value ? grow((void **)&m->misc, m->n_misc, sizeof *m->misc, "misc_info.txt")
                         : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc != SIGNET_OK) {
        free(key), free(value);
        return rc;
    }
    m->misc[m->n_misc].key = key;
    m->misc[m->n_misc++].value = value;
    return SIGNET_OK;
}

signet_rc signet_misc_info_parse(const char *text, size_t len, signet_tf_meta *m)
{
    return parse_lines(text, len, "META/misc_info.txt", true, misc_line, m);
}

const char *signet_misc_get(const signet_tf_meta *m, const char *key)
{
    for (size_t i = 0; i < m->n_misc; i++)
        if (strcmp(m->misc[i].key, key) == 0)
            return m->misc[i].value;
    return NULL;
}

const signet_apkcert *signet_apkcert_find(const signet_tf_meta *m, const char *name)
{
    for (size_t i = 0; i < m->n_apks; i++)
        if (strcmp(m->apks[i].name, name) == 0)
            return &m->apks[i];
    return NULL;
}

const signet_apexkey *signet_apexkey_find(const signet_tf_meta *m, const char *name)
{
    for (size_t i = 0; i < m->n_apexes; i++)
        if (strcmp(m->apexes[i].name, name) == 0)
            return &m->apexes[i];
    return NULL;
}

/* Development key -> release key (the rules are in include/signet/release.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "release_internal.h"
#include "signet/keystore.h"

#define MAX_MAPPINGS 10000

void signet_release_mapping_init(signet_release_mapping *m)
{
    memset(m, 0, sizeof *m);
}

void signet_release_mapping_free(signet_release_mapping *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].from), free(m->v[i].to);
    free(m->v);
    free(m->devkey_dir);
    free(m->device);
    signet_release_mapping_init(m);
}

/* A release key name: the key store's characters, any length up to the key map's
 * name limit (longer ones get a store name, see signet_release_store_name). */
static bool release_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < SIGNET_KEY_NAME_MAX && s[0] != '.' && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static signet_rc add_pair(signet_release_mapping *m, const char *from, size_t fl, const char *to,
                          size_t tl, const char *where)
{
    char *f = rl_strndup(from, fl), *t = rl_strndup(to, tl);
    signet_rc rc = SIGNET_OK;
    if (!f || !t)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    else if (!rl_token_ok(f))
        rc = signet_fail(SIGNET_E_ARG, "%s: '%.80s' is not a development key name or path",
                         where, f);
    else if (!release_name_ok(t))
        rc = signet_fail(SIGNET_E_ARG,
                         "%s: '%.80s' is not a release key name (1-%d characters of "
                         "A-Z a-z 0-9 _ . -, not starting with . or -)",
                         where, t, SIGNET_KEY_NAME_MAX - 1);
    for (size_t i = 0; rc == SIGNET_OK && i < m->n; i++)
        if (strcmp(m->v[i].from, f) == 0 && strcmp(m->v[i].to, t) != 0)
            rc = signet_fail(SIGNET_E_ARG, "%s: '%.80s' is mapped twice (to %s and %s)", where,
                             f, m->v[i].to, t);
    if (rc == SIGNET_OK && m->n >= MAX_MAPPINGS)
        rc = signet_fail(SIGNET_E_ARG, "more than %d key mappings", MAX_MAPPINGS);
    if (rc == SIGNET_OK && (m->n & (m->n - 1)) == 0) {
        void *p = realloc(m->v, (m->n ? 2 * m->n : 1) * sizeof *m->v);
        if (!p)
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        else
            m->v = p;
    }
    if (rc != SIGNET_OK) {
        free(f), free(t);
        return rc;
    }
    m->v[m->n].from = f;
    m->v[m->n++].to = t;
    return SIGNET_OK;
}

signet_rc signet_release_mapping_add(signet_release_mapping *m, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec || !eq[1])
        return signet_fail(SIGNET_E_ARG, "--key-mapping '%.80s': expected DEV=RELEASE", spec);
    return add_pair(m, spec, (size_t)(eq - spec), eq + 1, strlen(eq + 1), "--key-mapping");
}

signet_rc signet_release_mapping_parse(signet_release_mapping *m, const char *text, size_t len,
                                       const char *fname)
{
    if (len > SIGNET_META_MAX_BYTES)
        return signet_fail(SIGNET_E_PARSE, "%s is too large (%zu bytes)", fname, len);
    rl_lines l = {.text = text, .len = len, .fname = fname, .comments = true};
    for (;;) {
        const char *s;
        size_t n;
        signet_rc rc = rl_next_line(&l, &s, &n);
        if (rc != SIGNET_OK || !s)
            return rc;
        const char *eq = memchr(s, '=', n);
        if (!eq)
            return signet_fail(SIGNET_E_PARSE, "%s line %u: expected DEV = RELEASE", fname,
                               l.lineno);
        size_t fl = (size_t)(eq - s);
        while (fl > 0 && (s[fl - 1] == ' ' || s[fl - 1] == '\t'))
            fl--;
        const char *t = eq + 1;
        while (t < s + n && (*t == ' ' || *t == '\t'))
            t++;
        char where[300];
        snprintf(where, sizeof where, "%s line %u", fname, l.lineno);
        if ((rc = add_pair(m, s, fl, t, (size_t)(s + n - t), where)) != SIGNET_OK)
            return rc;
    }
}

signet_rc signet_release_store_name(const char *name, char out[41])
{
    size_t n = strlen(name);
    if (!release_name_ok(name))
        return signet_fail(SIGNET_E_ARG, "'%.80s' is not a release key name", name);
    if (n <= 40) {
        memcpy(out, name, n + 1);
        return SIGNET_OK;
    }
    uint8_t h[32];
    unsigned hl = 0;
    if (EVP_Digest(name, n, h, &hl, EVP_sha256(), NULL) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed");
    /* Keep the last component (".container", ".payload") when it is short. */
    const char *dot = strrchr(name, '.');
    size_t tail = dot && dot != name && strlen(dot) <= 12 ? strlen(dot) : 0;
    size_t head = 40 - 9 - tail;
    snprintf(out, 41, "%.*s-%02x%02x%02x%02x%s", (int)head, name, h[0], h[1], h[2], h[3],
             tail ? dot : "");
    return SIGNET_OK;
}

/* The trail as one Merkle tree (every line of every leaf file, by its i=) and the
 * checkpoints file split into notes. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

typedef struct {
    uint8_t *hashes;   /* 32 bytes per index */
    uint8_t *seen;
    uint64_t cap;
    uint64_t max_plus1;
} leafset;

static signet_rc leafset_put(leafset *s, uint64_t index, const uint8_t h[SIGNET_HASH_LEN])
{
    if (index >= (UINT64_C(1) << 40))
        return signet_fail(SIGNET_E_VERIFY, "leaf index %llu is implausibly large",
                           (unsigned long long)index);
    if (index >= s->cap) {
        uint64_t ncap = s->cap ? s->cap : 1024;
        while (ncap <= index)
            ncap *= 2;
        uint8_t *nh = realloc(s->hashes, ncap * SIGNET_HASH_LEN);
        if (nh)
            s->hashes = nh;
        uint8_t *ns = realloc(s->seen, ncap);
        if (ns)
            s->seen = ns;
        if (!nh || !ns)
            return signet_fail(SIGNET_E_NOMEM, "out of memory reading the trail");
        memset(s->seen + s->cap, 0, ncap - s->cap);
        s->cap = ncap;
    }
    if (s->seen[index])
        return signet_fail(SIGNET_E_VERIFY, "leaf %llu appears twice in the trail (run `signet audit verify`)",
                           (unsigned long long)index);
    s->seen[index] = 1;
    memcpy(s->hashes + index * SIGNET_HASH_LEN, h, SIGNET_HASH_LEN);
    if (index + 1 > s->max_plus1)
        s->max_plus1 = index + 1;
    return SIGNET_OK;
}

/* Leaf index of a line: the leading i=N. */
static signet_rc line_index(const char *line, size_t len, uint64_t *out)
{
    kv_line l;
    signet_rc rc = kv_parse(line, len, &l);
    if (rc == SIGNET_OK && (l.f[0].klen != 1 || l.f[0].key[0] != 'i'))
        rc = signet_fail(SIGNET_E_PARSE, "line does not start with i=");
    return rc ? rc : kv_get_u64(&l, "i", true, out);
}

static signet_rc add_file(const char *dir, const char *name, leafset *s)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    line_reader r;
    signet_rc rc = lr_open(&r, path);
    if (rc == SIGNET_E_NOTFOUND)
        return SIGNET_OK;
    const char *line;
    size_t len;
    int kind;
    while (rc == SIGNET_OK && (rc = lr_next(&r, &line, &len, &kind)) == SIGNET_OK && kind == 1) {
        uint64_t idx;
        uint8_t h[SIGNET_HASH_LEN];
        if ((rc = line_index(line, len, &idx)))
            break;
        merkle_leaf_hash((const uint8_t *)line, len, h);
        rc = leafset_put(s, idx, h);
    }
    if (rc)
        rc = signet_wrap(rc, "%s line %llu", name, (unsigned long long)r.lineno);
    lr_close(&r);
    return rc;
}

signet_rc trail_tree(const char *dir, merkle_tree **out)
{
    leafset s = {0};
    uint32_t *serials = NULL;
    size_t n = 0;
    merkle_tree *t = NULL;
    signet_rc rc = add_file(dir, RECORDS_FILE, &s);
    if (rc == SIGNET_OK)
        rc = list_device_logs(dir, &serials, &n);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        char name[64];
        device_log_name(serials[i], name);
        rc = add_file(dir, name, &s);
    }
    for (uint64_t i = 0; rc == SIGNET_OK && i < s.max_plus1; i++)
        if (!s.seen[i])
            rc = signet_fail(SIGNET_E_VERIFY, "leaf %llu is missing from the trail (run `signet audit "
                             "verify`)", (unsigned long long)i);
    if (rc == SIGNET_OK)
        rc = merkle_tree_new(&t);
    for (uint64_t i = 0; rc == SIGNET_OK && i < s.max_plus1; i++)
        rc = merkle_tree_append(t, s.hashes + i * SIGNET_HASH_LEN);
    free(serials);
    free(s.hashes);
    free(s.seen);
    if (rc) {
        merkle_tree_free(t);
        return rc;
    }
    *out = t;
    return SIGNET_OK;
}

int notes_next(const char *data, size_t len, size_t *pos, const char **note, size_t *nlen,
               uint64_t *first_line)
{
    static const char EM[] = "\xe2\x80\x94 ";
    size_t p = *pos;
    if (p >= len)
        return 0;
    /* *first_line: in, the line number at *pos; out, the same for the next note. */
    size_t start = p;
    bool in_sigs = false;
    while (p < len) {
        const char *eol = memchr(data + p, '\n', len - p);
        size_t l = eol ? (size_t)(eol - (data + p)) : len - p;
        bool is_sig = l >= 4 && memcmp(data + p, EM, 4) == 0;
        if (in_sigs && !is_sig)
            break;
        if (l == 0)
            in_sigs = true;
        p += l + (eol ? 1 : 0);
    }
    *note = data + start;
    *nlen = p - start;
    *pos = p;
    if (first_line)
        for (size_t i = start; i < p; i++)
            *first_line += data[i] == '\n';
    return 1;
}

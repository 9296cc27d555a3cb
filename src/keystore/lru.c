/* Last-use stamps of on-demand keys, in DIR/.lru: one "name stamp" line per key.
 * It only steers which key is evicted first, so a missing or damaged file is
 * read as empty (bad lines are skipped) and it is replaced without fsync.
 * Stamps are milliseconds of the wall clock, but always one more than the
 * largest stamp in the file, so the order of use is exact even when the clock
 * is coarse or steps back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ks_internal.h"
#include "ks_lru.h"

#define LRU_MAX_BYTES (256 * 1024)

void ks_lru_free(ks_lru *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool parse_stamp(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

static signet_rc put(ks_lru *l, const char *name, uint64_t stamp)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) {
            l->v[i].stamp = stamp;
            return SIGNET_OK;
        }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        ks_lru_item *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    snprintf(l->v[l->n].name, sizeof l->v[l->n].name, "%s", name);
    l->v[l->n++].stamp = stamp;
    return SIGNET_OK;
}

void ks_lru_parse(const char *text, size_t len, ks_lru *l)
{
    memset(l, 0, sizeof *l);
    size_t pos = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        const char *sp = memchr(line, ' ', n);
        if (!sp || (size_t)(sp - line) > YH_LABEL_LEN)
            continue;
        char name[YH_LABEL_LEN + 1];
        memcpy(name, line, (size_t)(sp - line));
        name[sp - line] = 0;
        uint64_t stamp;
        if (!signet_key_name_valid(name) ||
            !parse_stamp(sp + 1, n - (size_t)(sp - line) - 1, &stamp))
            continue;
        if (put(l, name, stamp) != SIGNET_OK)
            return; /* out of memory: what was read so far will do */
    }
}

static void lru_path(const signet_keystore *ks, char *out, size_t n)
{
    snprintf(out, n, "%s/.lru", signet_keystore_dir(ks));
}

void ks_lru_load(const signet_keystore *ks, ks_lru *l)
{
    char path[4096];
    lru_path(ks, path, sizeof path);
    sb_wr buf;
    memset(l, 0, sizeof *l);
    if (ks_read_file(path, LRU_MAX_BYTES, &buf) != SIGNET_OK) {
        signet_err_clear();
        return;
    }
    ks_lru_parse((const char *)buf.p, buf.len, l);
    sbw_free(&buf);
}

uint64_t ks_lru_stamp(const ks_lru *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0)
            return l->v[i].stamp;
    return 0; /* never used: first to go */
}

signet_rc signet_keystore_touch(signet_keystore *ks, const char *name)
{
    if (!signet_keystore_find(ks, name))
        return signet_fail(SIGNET_E_NOTFOUND, "key '%.64s' is not in the key map of %s", name,
                           signet_keystore_dir(ks));
    ks_lru l;
    ks_lru_load(ks, &l);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (size_t i = 0; i < l.n; i++)
        if (l.v[i].stamp >= now)
            now = l.v[i].stamp + 1;
    signet_rc rc = put(&l, name, now);
    sb_wr out;
    sbw_init(&out, LRU_MAX_BYTES);
    /* Keys that left the key map are dropped from the file. */
    for (size_t i = 0; rc == SIGNET_OK && i < l.n; i++)
        if (signet_keystore_find(ks, l.v[i].name))
            rc = sbw_printf(&out, "%s %llu\n", l.v[i].name, (unsigned long long)l.v[i].stamp);
    if (rc == SIGNET_OK) {
        char path[4096];
        lru_path(ks, path, sizeof path);
        rc = ks_write_replace(path, out.p, out.len, 0644);
    }
    sbw_free(&out);
    ks_lru_free(&l);
    return rc;
}

/* The plan file (docs/release.md): a header line, then one record per line, tokens
 * separated by one space.  Written by signet_rplan_format, read back strictly by
 * signet_rplan_parse (every token checked, nothing left over), compared by
 * signet_rplan_diff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "release_internal.h"

#define PLAN_MAGIC "signet-release-plan 1"
#define MAX_TOKENS 8

static const char *const KIND[] = {"apk", "apex", "avb"};
static const char *const ACTION[] = {"sign", "presigned", "external"};

const char *signet_rplan_kind_name(signet_rplan_kind k)
{
    return (unsigned)k < 3 ? KIND[k] : "?";
}

void signet_rplan_init(signet_rplan *p)
{
    memset(p, 0, sizeof *p);
}

void signet_rplan_free(signet_rplan *p)
{
    for (size_t i = 0; i < p->n_items; i++) {
        signet_rplan_item *it = &p->items[i];
        free(it->member), free(it->dev_key), free(it->key), free(it->dev_payload);
        free(it->payload), free(it->algorithm);
    }
    for (size_t i = 0; i < p->n_keys; i++)
        free(p->keys[i].name);
    free(p->items), free(p->keys), free(p->target_name), free(p->device), free(p->ota_key);
    signet_rplan_init(p);
}

const signet_rplan_item *signet_rplan_find(const signet_rplan *p, signet_rplan_kind kind,
                                         const char *member)
{
    for (size_t i = 0; i < p->n_items; i++)
        if (p->items[i].kind == kind && strcmp(p->items[i].member, member) == 0)
            return &p->items[i];
    return NULL;
}

const signet_rplan_key *signet_rplan_key_find(const signet_rplan *p, const char *name)
{
    for (size_t i = 0; i < p->n_keys; i++)
        if (strcmp(p->keys[i].name, name) == 0)
            return &p->keys[i];
    return NULL;
}

static const char *tok(const char *s)
{
    return s && *s ? s : "-";
}

signet_rc signet_rplan_format(const signet_rplan *p, sb_wr *out)
{
    signet_rc rc = sbw_printf(out, "%s\ntarget %s %s\ndevice %s\nota %s\n", PLAN_MAGIC,
                              tok(p->target_sha256), tok(p->target_name), tok(p->device),
                              tok(p->ota_key));
    for (size_t i = 0; rc == SIGNET_OK && i < p->n_keys; i++)
        rc = sbw_printf(out, "key %s %s %s\n", p->keys[i].name, p->keys[i].store,
                        p->keys[i].role);
    for (size_t i = 0; rc == SIGNET_OK && i < p->n_items; i++) {
        const signet_rplan_item *it = &p->items[i];
        switch (it->kind) {
        case SIGNET_RPLAN_APK:
            rc = sbw_printf(out, "apk %s %s %s %s%s\n", it->member, ACTION[it->action],
                            tok(it->dev_key), tok(it->key), it->gz ? " gz" : "");
            break;
        case SIGNET_RPLAN_APEX:
            rc = sbw_printf(out, "apex %s %s %s %s %s %s\n", it->member, ACTION[it->action],
                            tok(it->dev_key), tok(it->key), tok(it->dev_payload),
                            tok(it->payload));
            break;
        case SIGNET_RPLAN_AVB:
            rc = sbw_printf(out, "avb %s %s %s %s %s\n", it->member, ACTION[it->action],
                            tok(it->dev_key), tok(it->key), tok(it->algorithm));
            break;
        }
    }
    return rc;
}

/* Splits a line into at most MAX_TOKENS tokens on single spaces. */
static signet_rc split(const rl_lines *l, const char *s, size_t n, char *buf, size_t buf_len,
                       char **tv, size_t *tc)
{
    if (n >= buf_len)
        return signet_fail(SIGNET_E_PARSE, "plan line %u is too long", l->lineno);
    memcpy(buf, s, n);
    buf[n] = 0;
    *tc = 0;
    char *p = buf;
    for (;;) {
        if (*tc == MAX_TOKENS)
            return signet_fail(SIGNET_E_PARSE, "plan line %u has too many fields", l->lineno);
        tv[(*tc)++] = p;
        char *sp = strchr(p, ' ');
        if (!sp)
            break;
        *sp = 0;
        p = sp + 1;
    }
    for (size_t i = 0; i < *tc; i++)
        if (!rl_token_ok(tv[i]))
            return signet_fail(SIGNET_E_PARSE, "plan line %u: field %zu is empty or not printable",
                               l->lineno, i + 1);
    return SIGNET_OK;
}

static signet_rc dup_into(char **dst, const char *s)
{
    free(*dst);
    *dst = strcmp(s, "-") == 0 ? NULL : strdup(s);
    return (*dst || strcmp(s, "-") == 0) ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
}

static signet_rc parse_item(const rl_lines *l, char **tv, size_t tc, signet_rplan *p)
{
    int kind = -1, action = -1;
    for (int i = 0; i < 3; i++) {
        if (strcmp(tv[0], KIND[i]) == 0)
            kind = i;
        if (tc > 2 && strcmp(tv[2], ACTION[i]) == 0)
            action = i;
    }
    static const size_t want[] = {5, 7, 6};
    if (tc < 3 || action < 0 ||
        !(tc == want[kind] || (kind == SIGNET_RPLAN_APK && tc == 6 && strcmp(tv[5], "gz") == 0)))
        return signet_fail(SIGNET_E_PARSE, "plan line %u: malformed %s record", l->lineno,
                           tv[0]);
    if (kind == SIGNET_RPLAN_APEX && action == SIGNET_RPLAN_EXTERNAL)
        return signet_fail(SIGNET_E_PARSE, "plan line %u: an APEX cannot be external",
                           l->lineno);
    if (action == SIGNET_RPLAN_SIGN && strcmp(tv[4], "-") == 0)
        return signet_fail(SIGNET_E_PARSE, "plan line %u: signed without a release key",
                           l->lineno);
    if (signet_rplan_find(p, (signet_rplan_kind)kind, tv[1]))
        return signet_fail(SIGNET_E_PARSE, "plan line %u: %s is planned twice", l->lineno, tv[1]);
    void *v = realloc(p->items, (p->n_items + 1) * sizeof *p->items);
    if (!v)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    p->items = v;
    signet_rplan_item *it = &p->items[p->n_items++];
    memset(it, 0, sizeof *it);
    it->kind = (signet_rplan_kind)kind;
    it->action = (signet_rplan_action)action;
    it->gz = kind == SIGNET_RPLAN_APK && tc == 6;
    signet_rc rc = dup_into(&it->member, tv[1]);
    if (rc == SIGNET_OK && !it->member)
        rc = signet_fail(SIGNET_E_PARSE, "plan line %u: no member", l->lineno);
    if (rc == SIGNET_OK)
        rc = dup_into(&it->dev_key, tv[3]);
    if (rc == SIGNET_OK)
        rc = dup_into(&it->key, tv[4]);
    if (rc == SIGNET_OK && kind == SIGNET_RPLAN_APEX) {
        rc = dup_into(&it->dev_payload, tv[5]);
        if (rc == SIGNET_OK)
            rc = dup_into(&it->payload, tv[6]);
        if (rc == SIGNET_OK && action == SIGNET_RPLAN_SIGN && !it->payload)
            rc = signet_fail(SIGNET_E_PARSE, "plan line %u: APEX without a payload key",
                             l->lineno);
    }
    if (rc == SIGNET_OK && kind == SIGNET_RPLAN_AVB)
        rc = dup_into(&it->algorithm, tv[5]);
    /* Every release key an item uses must be declared by a key line before it. */
    if (rc == SIGNET_OK && it->key && !signet_rplan_key_find(p, it->key))
        rc = signet_fail(SIGNET_E_PARSE, "plan line %u: key '%s' has no key line", l->lineno,
                         it->key);
    if (rc == SIGNET_OK && it->payload && !signet_rplan_key_find(p, it->payload))
        rc = signet_fail(SIGNET_E_PARSE, "plan line %u: key '%s' has no key line", l->lineno,
                         it->payload);
    return rc;
}

static signet_rc parse_key(const rl_lines *l, char **tv, size_t tc, signet_rplan *p)
{
    char store[41];
    if (tc != 4 || strlen(tv[3]) >= sizeof p->keys[0].role)
        return signet_fail(SIGNET_E_PARSE, "plan line %u: malformed key record", l->lineno);
    signet_rc rc = signet_release_store_name(tv[1], store);
    if (rc != SIGNET_OK)
        return signet_wrap(SIGNET_E_PARSE, "plan line %u", l->lineno);
    if (strcmp(store, tv[2]) != 0)
        return signet_fail(SIGNET_E_PARSE, "plan line %u: key '%s' is stored as '%s', not '%s'",
                           l->lineno, tv[1], store, tv[2]);
    if (signet_rplan_key_find(p, tv[1]))
        return signet_fail(SIGNET_E_PARSE, "plan line %u: key '%s' twice", l->lineno, tv[1]);
    void *v = realloc(p->keys, (p->n_keys + 1) * sizeof *p->keys);
    if (!v)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    p->keys = v;
    signet_rplan_key *k = &p->keys[p->n_keys];
    memset(k, 0, sizeof *k);
    if (!(k->name = strdup(tv[1])))
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    p->n_keys++;
    memcpy(k->store, store, sizeof store);
    snprintf(k->role, sizeof k->role, "%s", tv[3]);
    return SIGNET_OK;
}

static signet_rc parse_header(const rl_lines *l, char **tv, size_t tc, signet_rplan *p)
{
    static const char *const names[] = {"target", "device", "ota"};
    static const size_t counts[] = {3, 2, 2};
    unsigned want = l->lineno - 2; /* lines 2, 3, 4 in this order */
    if (want >= 3 || strcmp(tv[0], names[want]) != 0 || tc != counts[want])
        return signet_fail(SIGNET_E_PARSE, "plan line %u: expected the %s line", l->lineno,
                           want < 3 ? names[want] : "next");
    if (want == 0) {
        if (strlen(tv[1]) != 64 || strspn(tv[1], "0123456789abcdef") != 64)
            return signet_fail(SIGNET_E_PARSE, "plan line %u: not a SHA-256", l->lineno);
        memcpy(p->target_sha256, tv[1], 65);
        return dup_into(&p->target_name, tv[2]);
    }
    return dup_into(want == 1 ? &p->device : &p->ota_key, tv[1]);
}

signet_rc signet_rplan_parse(const char *text, size_t len, signet_rplan *out)
{
    signet_rplan_init(out);
    if (len > SIGNET_META_MAX_BYTES)
        return signet_fail(SIGNET_E_PARSE, "plan of %zu bytes is too large", len);
    rl_lines l = {.text = text, .len = len, .fname = "plan"};
    char buf[4096];
    signet_rc rc = SIGNET_OK;
    unsigned records = 0;
    for (;;) {
        const char *s;
        size_t n;
        if ((rc = rl_next_line(&l, &s, &n)) != SIGNET_OK || !s)
            break;
        /* Lines are exact: no blank lines, no padding (the file is written by signet). */
        if (++records != l.lineno || l.pos - (size_t)(s - text) != n + 1 || s[n] != '\n' ||
            (s != text && s[-1] != '\n')) {
            rc = signet_fail(SIGNET_E_PARSE, "plan line %u: not in the canonical form", l.lineno);
            break;
        }
        if (l.lineno == 1) {
            if (n != strlen(PLAN_MAGIC) || memcmp(s, PLAN_MAGIC, n) != 0) {
                rc = signet_fail(SIGNET_E_PARSE, "not a signet release plan (expected '%s')",
                                 PLAN_MAGIC);
                break;
            }
            continue;
        }
        char *tv[MAX_TOKENS];
        size_t tc = 0;
        if ((rc = split(&l, s, n, buf, sizeof buf, tv, &tc)) != SIGNET_OK)
            break;
        if (l.lineno <= 4)
            rc = parse_header(&l, tv, tc, out);
        else if (strcmp(tv[0], "key") == 0)
            rc = out->n_items ? signet_fail(SIGNET_E_PARSE, "plan line %u: key after items",
                                            l.lineno)
                              : parse_key(&l, tv, tc, out);
        else if (strcmp(tv[0], "apk") == 0 || strcmp(tv[0], "apex") == 0 ||
                 strcmp(tv[0], "avb") == 0)
            rc = parse_item(&l, tv, tc, out);
        else
            rc = signet_fail(SIGNET_E_PARSE, "plan line %u: unknown record '%.20s'", l.lineno,
                             tv[0]);
        if (rc != SIGNET_OK)
            break;
    }
    if (rc == SIGNET_OK && (records < 4 || records != l.lineno))
        rc = signet_fail(SIGNET_E_PARSE, "plan is truncated or not in the canonical form (%u "
                                         "records)", records);
    if (rc == SIGNET_OK && (len == 0 || text[len - 1] != '\n'))
        rc = signet_fail(SIGNET_E_PARSE, "plan does not end with a newline");
    if (rc != SIGNET_OK)
        signet_rplan_free(out);
    return rc;
}

/* ---- diff ---------------------------------------------------------------------- */

static bool same(const char *a, const char *b)
{
    return strcmp(a ? a : "-", b ? b : "-") == 0;
}

signet_rc signet_rplan_diff(const signet_rplan *old, const signet_rplan *cur, sb_wr *out,
                           size_t *expected, size_t *unexpected)
{
    *expected = *unexpected = 0;
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < cur->n_keys; i++)
        if (!signet_rplan_key_find(old, cur->keys[i].name)) {
            rc = sbw_printf(out, "! key %s: new release key (%s)\n", cur->keys[i].name,
                            cur->keys[i].role);
            (*unexpected)++;
        }
    for (size_t i = 0; rc == SIGNET_OK && i < old->n_keys; i++)
        if (!signet_rplan_key_find(cur, old->keys[i].name)) {
            rc = sbw_printf(out, "- key %s: no longer used\n", old->keys[i].name);
            (*expected)++;
        }
    if (rc == SIGNET_OK && !same(old->ota_key, cur->ota_key)) {
        rc = sbw_printf(out, "! ota: %s -> %s\n", tok(old->ota_key), tok(cur->ota_key));
        (*unexpected)++;
    }
    for (size_t i = 0; rc == SIGNET_OK && i < cur->n_items; i++) {
        const signet_rplan_item *c = &cur->items[i];
        const signet_rplan_item *o = signet_rplan_find(old, c->kind, c->member);
        const char *kn = KIND[c->kind];
        if (!o) {
            rc = sbw_printf(out, "+ %s %s %s %s\n", kn, c->member, ACTION[c->action], tok(c->key));
            (*expected)++;
        } else if (o->action != c->action) {
            rc = sbw_printf(out, "! %s %s: %s -> %s\n", kn, c->member, ACTION[o->action],
                            ACTION[c->action]);
            (*unexpected)++;
        } else if (!same(o->key, c->key) || !same(o->payload, c->payload) ||
                   !same(o->algorithm, c->algorithm)) {
            rc = sbw_printf(out, "! %s %s: %s%s%s -> %s%s%s\n", kn, c->member, tok(o->key),
                            o->payload ? "+" : "", o->payload ? o->payload : "", tok(c->key),
                            c->payload ? "+" : "", c->payload ? c->payload : "");
            (*unexpected)++;
        } else if (!same(o->dev_key, c->dev_key) || !same(o->dev_payload, c->dev_payload)) {
            rc = sbw_printf(out, "~ %s %s: development key %s -> %s\n", kn, c->member,
                            tok(o->dev_key), tok(c->dev_key));
            (*expected)++;
        }
    }
    for (size_t i = 0; rc == SIGNET_OK && i < old->n_items; i++) {
        const signet_rplan_item *o = &old->items[i];
        if (!signet_rplan_find(cur, o->kind, o->member)) {
            rc = sbw_printf(out, "- %s %s\n", KIND[o->kind], o->member);
            (*expected)++;
        }
    }
    return rc;
}

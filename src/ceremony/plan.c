/* The ceremony plan parser (format: include/signet/ceremony.h, docs/ceremony.md).
 * The plan decides who receives the keys to everything, so the parser is strict:
 * unknown settings, repeated settings, missing roles and malformed recipients are
 * all errors naming the line, found before any device is touched. */
#include <string.h>
#include <strings.h>

#include "ceremony_internal.h"
#include "signet/age.h"
#include "signet/buf.h"
#include "signet/proto.h"

signet_rc cer_recipient_check(const char *text)
{
    age_recipients *r = NULL;
    signet_rc rc = age_recipients_new(&r);
    if (rc == SIGNET_OK)
        rc = age_recipients_add(r, text, strlen(text));
    age_recipients_free(r);
    return rc;
}

/* The key part of a recipient: "age1..." compared without case (Bech32 is
 * case-insensitive), "ssh-ed25519 AAAA..." by type and key, without the comment. */
static bool same_recipient(const char *a, const char *b)
{
    const char *wa, *ra, *wb, *rb;
    size_t la, lra, lb, lrb;
    cer_split_word(a, strlen(a), &wa, &la, &ra, &lra);
    cer_split_word(b, strlen(b), &wb, &lb, &rb, &lrb);
    if (la != lb)
        return false;
    if (la > 4 && memcmp(wa, "ssh-", 4) == 0) {
        const char *ka, *kb, *ca, *cb;
        size_t lka, lkb, lca, lcb;
        cer_split_word(ra, lra, &ka, &lka, &ca, &lca);
        cer_split_word(rb, lrb, &kb, &lkb, &cb, &lcb);
        return memcmp(wa, wb, la) == 0 && lka == lkb && memcmp(ka, kb, lka) == 0;
    }
    return strncasecmp(wa, wb, la) == 0;
}

/* Line numbers of the settings seen, to refuse repeats. */
enum { K_PROJECT, K_PRIMARY, K_BACKUP, K_THRESHOLD, K_DOMAINS, K_WRAP_ID, K_LOG_ID, K_LOG_NAME,
       K__COUNT };
static const char *const KEYS[K__COUNT] = {"project", "primary", "backup", "threshold",
                                           "domains", "wrap-key-id", "log-key-id", "log-name"};

static signet_rc parse_url(const char *v, size_t n, char *dst, size_t cap, const cer_lines *l)
{
    if (!((n > 7 && memcmp(v, "http://", 7) == 0) || (n > 8 && memcmp(v, "https://", 8) == 0)))
        return signet_fail(SIGNET_E_PARSE,
                           "plan line %u: a connector URL starts with http:// or https://, e.g. "
                           "http://127.0.0.1:12345",
                           l->lineno);
    for (size_t i = 0; i < n; i++)
        if (v[i] == ' ' || v[i] == '\t')
            return signet_fail(SIGNET_E_PARSE, "plan line %u: the URL contains a space", l->lineno);
    return cer_copy(dst, cap, v, n, l, "URL");
}

static signet_rc parse_person(const cer_kv *kv, const cer_lines *l, signet_plan_person *p)
{
    const char *name, *rec;
    size_t nlen, rlen;
    cer_split_word(kv->val, kv->val_len, &name, &nlen, &rec, &rlen);
    if (!cer_name_valid(name, nlen))
        return signet_fail(SIGNET_E_PARSE,
                           "plan line %u: '%.*s' needs a name (1-%d of A-Z a-z 0-9 _ . -) and "
                           "then the person's age or ssh-ed25519 recipient",
                           l->lineno, (int)kv->key_len, kv->key, SIGNET_PLAN_NAME_MAX);
    if (rlen == 0)
        return signet_fail(SIGNET_E_PARSE,
                           "plan line %u: %.*s %.*s has no recipient: add their age1... or "
                           "ssh-ed25519 public key",
                           l->lineno, (int)kv->key_len, kv->key, (int)nlen, name);
    signet_rc rc;
    if ((rc = cer_copy(p->name, sizeof p->name, name, nlen, l, "name")) ||
        (rc = cer_copy(p->recipient, sizeof p->recipient, rec, rlen, l, "recipient")))
        return rc;
    /* Whatever the age module thought of it, here it is a mistake in the plan. */
    if ((rc = cer_recipient_check(p->recipient)))
        return signet_wrap(SIGNET_E_PARSE, "plan line %u (%.*s %s)", l->lineno, (int)kv->key_len, kv->key,
                           p->name);
    return SIGNET_OK;
}

static signet_rc parse_setting(signet_plan *p, int k, const cer_kv *kv, const cer_lines *l)
{
    char buf[256];
    const char *v = kv->val;
    size_t n = kv->val_len;
    if (n == 0)
        return signet_fail(SIGNET_E_PARSE, "plan line %u: '%s' needs a value", l->lineno, KEYS[k]);
    signet_rc rc = SIGNET_OK;
    unsigned long t;
    switch (k) {
    case K_PROJECT: return cer_copy(p->project, sizeof p->project, v, n, l, "project name");
    case K_PRIMARY: return parse_url(v, n, p->primary_url, sizeof p->primary_url, l);
    case K_BACKUP: return parse_url(v, n, p->backup_url, sizeof p->backup_url, l);
    case K_THRESHOLD:
        if (cer_parse_uint(v, n, SSS_MAX_SHARES, &t) || t < SSS_MIN_THRESHOLD)
            return signet_fail(SIGNET_E_PARSE, "plan line %u: threshold must be a number from %d to %d",
                               l->lineno, SSS_MIN_THRESHOLD, SSS_MAX_SHARES);
        p->threshold = (unsigned)t;
        return SIGNET_OK;
    case K_DOMAINS:
        if ((rc = cer_copy(buf, sizeof buf, v, n, l, "domain list")))
            return rc;
        if ((rc = yh_domains_parse(buf, &p->domains)) || p->domains == 0)
            return signet_fail(SIGNET_E_PARSE,
                               "plan line %u: domains is a list like 1 or 1,2,3 (1..16) or all",
                               l->lineno);
        return SIGNET_OK;
    case K_WRAP_ID:
        if ((rc = cer_parse_id(v, n, &p->wrap_key_id)))
            return signet_wrap(rc, "plan line %u: wrap-key-id", l->lineno);
        return SIGNET_OK;
    case K_LOG_ID:
        if ((rc = cer_parse_id(v, n, &p->log_key_id)))
            return signet_wrap(rc, "plan line %u: log-key-id", l->lineno);
        return SIGNET_OK;
    case K_LOG_NAME:
        /* A signed-note key name: no spaces and no '+' (c2sp.org/signed-note). */
        for (size_t i = 0; i < n; i++)
            if (v[i] == ' ' || v[i] == '\t' || v[i] == '+')
                return signet_fail(SIGNET_E_PARSE,
                                   "plan line %u: log-name may not contain spaces or '+', e.g. "
                                   "example.org/signet-audit",
                                   l->lineno);
        return cer_copy(p->log_name, sizeof p->log_name, v, n, l, "log name");
    }
    return SIGNET_OK;
}

static signet_rc check_complete(const signet_plan *p, const unsigned *role_line)
{
    if (!p->primary_url[0] || !p->backup_url[0])
        return signet_fail(SIGNET_E_PARSE, "the plan names no %s device: add a line '%s "
                                            "http://HOST:PORT' with its connector URL",
                           p->primary_url[0] ? "backup" : "primary",
                           p->primary_url[0] ? "backup" : "primary");
    if (strcmp(p->primary_url, p->backup_url) == 0)
        return signet_fail(SIGNET_E_PARSE, "the primary and the backup have the same URL %s: the "
                                            "ceremony needs two devices",
                           p->primary_url);
    if (p->n_custodians < SSS_MIN_THRESHOLD)
        return signet_fail(SIGNET_E_PARSE, "the plan names %zu custodian%s: a split needs at "
                                            "least %d (one 'custodian NAME RECIPIENT' line each)",
                           p->n_custodians, p->n_custodians == 1 ? "" : "s", SSS_MIN_THRESHOLD);
    if (p->threshold > p->n_custodians)
        return signet_fail(SIGNET_E_PARSE, "threshold %u is more than the %zu custodians: the wrap "
                                            "key could never be restored",
                           p->threshold, p->n_custodians);
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++)
        if (!role_line[r])
            return signet_fail(SIGNET_E_PARSE, "the plan names no %s: add a line '%s NAME "
                                                "RECIPIENT'",
                               signet_role_get((signet_role)r)->name,
                               signet_role_get((signet_role)r)->name);
    return SIGNET_OK;
}

signet_rc signet_plan_parse(const char *text, size_t len, signet_plan *p)
{
    memset(p, 0, sizeof *p);
    p->threshold = 3;
    p->domains = 1;
    p->wrap_key_id = 0x00ff;
    p->log_key_id = 0x0010;
    snprintf(p->log_name, sizeof p->log_name, "signet.example/audit");
    if (len > SIGNET_PLAN_MAX_BYTES)
        return signet_fail(SIGNET_E_PARSE, "the plan is %zu bytes, more than %d", len,
                           SIGNET_PLAN_MAX_BYTES);
    unsigned seen[K__COUNT] = {0}, role_line[SIGNET_ROLE__COUNT] = {0};
    cer_lines l;
    cer_lines_init(&l, "plan", text, len);
    cer_kv kv;
    bool got;
    signet_rc rc;
    while ((rc = cer_lines_next(&l, &kv, &got)) == SIGNET_OK && got) {
        int k = -1;
        for (int i = 0; i < K__COUNT; i++)
            if (cer_kv_is(&kv, KEYS[i]))
                k = i;
        if (k >= 0) {
            if (seen[k])
                return signet_fail(SIGNET_E_PARSE, "plan line %u: '%s' was set already on line %u",
                                   kv.lineno, KEYS[k], seen[k]);
            seen[k] = kv.lineno;
            if ((rc = parse_setting(p, k, &kv, &l)))
                return rc;
            continue;
        }
        if (cer_kv_is(&kv, "custodian")) {
            if (p->n_custodians == SSS_MAX_SHARES)
                return signet_fail(SIGNET_E_PARSE, "plan line %u: more than %d custodians (the "
                                                    "share format has one digit for the index)",
                                   kv.lineno, SSS_MAX_SHARES);
            signet_plan_person *c = &p->custodians[p->n_custodians];
            if ((rc = parse_person(&kv, &l, c)))
                return rc;
            for (size_t i = 0; i < p->n_custodians; i++)
                if (strcmp(p->custodians[i].name, c->name) == 0)
                    return signet_fail(SIGNET_E_PARSE, "plan line %u: custodian %s is named twice: "
                                                        "each custodian holds one share",
                                       kv.lineno, c->name);
            for (size_t i = 0; i < p->n_custodians; i++)
                if (same_recipient(p->custodians[i].recipient, c->recipient))
                    return signet_fail(SIGNET_E_PARSE, "plan line %u: custodians %s and %s have "
                                                        "the same recipient, so one person would "
                                                        "hold two shares: give each custodian "
                                                        "their own age or ssh-ed25519 key",
                                       kv.lineno, p->custodians[i].name, c->name);
            p->n_custodians++;
            continue;
        }
        int r = -1;
        for (int i = 0; i < SIGNET_ROLE__COUNT; i++)
            if (cer_kv_is(&kv, signet_role_get((signet_role)i)->name))
                r = i;
        if (r < 0)
            return signet_fail(SIGNET_E_PARSE,
                               "plan line %u: unknown setting '%.*s' (known: project primary "
                               "backup threshold domains wrap-key-id log-key-id log-name "
                               "custodian admin operator auditor)",
                               kv.lineno, (int)(kv.key_len > 40 ? 40 : kv.key_len), kv.key);
        if (role_line[r])
            return signet_fail(SIGNET_E_PARSE, "plan line %u: the %s was named already on line %u: "
                                                "each role has one holder",
                               kv.lineno, signet_role_get((signet_role)r)->name, role_line[r]);
        role_line[r] = kv.lineno;
        if ((rc = parse_person(&kv, &l, &p->holders[r])))
            return rc;
    }
    if (rc)
        return rc;
    return check_complete(p, role_line);
}

signet_rc signet_plan_load(const char *path, signet_plan *out, sb_wr *raw)
{
    sb_wr w;
    sbw_init(&w, SIGNET_PLAN_MAX_BYTES);
    signet_rc rc = cer_read_file(path, SIGNET_PLAN_MAX_BYTES, &w);
    if (rc == SIGNET_OK) {
        rc = signet_plan_parse((const char *)w.p, w.len, out);
        if (rc)
            rc = signet_wrap(rc, "%s", path);
    }
    if (rc == SIGNET_OK && raw)
        rc = sbw_put(raw, w.p, w.len);
    sbw_free(&w);
    return rc;
}

/* Verification reports: findings, key usage and the summary a person reads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

#define MAX_FINDINGS 1000

signet_report *report_new(void) { return calloc(1, sizeof(signet_report)); }

void signet_report_free(signet_report *r)
{
    if (!r)
        return;
    free(r->f);
    free(r->u);
    free(r->devs);
    free(r);
}

void report_add(signet_report *r, signet_finding_kind kind, const char *file, uint64_t line,
                const char *fmt, ...)
{
    if (r->n >= MAX_FINDINGS) {
        r->omitted++;
        return;
    }
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        signet_finding *nf = realloc(r->f, ncap * sizeof *nf);
        if (!nf) {
            r->omitted++;
            return;
        }
        r->f = nf;
        r->cap = ncap;
    }
    signet_finding *f = &r->f[r->n++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    snprintf(f->file, sizeof f->file, "%s", file ? file : "");
    f->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

int report_usage_slot(signet_report *r, const char *name, uint16_t key_id)
{
    for (size_t i = 0; i < r->nu; i++)
        if (r->u[i].key_id == key_id && strcmp(r->u[i].key_name, name) == 0)
            return (int)i;
    if (r->nu == r->capu) {
        size_t ncap = r->capu ? r->capu * 2 : 16;
        signet_key_usage *nu = realloc(r->u, ncap * sizeof *nu);
        if (!nu)
            return -1;
        r->u = nu;
        r->capu = ncap;
    }
    signet_key_usage *u = &r->u[r->nu];
    memset(u, 0, sizeof *u);
    snprintf(u->key_name, sizeof u->key_name, "%s", name);
    u->key_id = key_id;
    return (int)r->nu++;
}

size_t signet_report_count(const signet_report *r) { return r->n; }
const signet_finding *signet_report_finding(const signet_report *r, size_t i)
{
    return i < r->n ? &r->f[i] : NULL;
}

bool signet_report_has(const signet_report *r, signet_finding_kind kind)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].kind == kind)
            return true;
    return false;
}

size_t signet_report_usage_count(const signet_report *r) { return r->nu; }
const signet_key_usage *signet_report_usage(const signet_report *r, size_t i)
{
    return i < r->nu ? &r->u[i] : NULL;
}

static const char *kind_name(signet_finding_kind k)
{
    static const char *const names[] = {
        [SIGNET_FIND_PARSE] = "malformed",       [SIGNET_FIND_TORN_TAIL] = "incomplete-tail",
        [SIGNET_FIND_LEAF_MISSING] = "deleted",  [SIGNET_FIND_LEAF_ORDER] = "reordered",
        [SIGNET_FIND_LEAF_DUP] = "duplicated",   [SIGNET_FIND_CHAIN] = "chain-broken",
        [SIGNET_FIND_GAP] = "entries-lost",      [SIGNET_FIND_ANCHOR] = "anchor",
        [SIGNET_FIND_UNLOGGED] = "unlogged",     [SIGNET_FIND_RESTART] = "device-reset",
        [SIGNET_FIND_FORGED] = "forged-record",  [SIGNET_FIND_UNRECORDED] = "unrecorded-signature",
        [SIGNET_FIND_REUSED] = "reused-entry",   [SIGNET_FIND_SIGNATURE] = "bad-signature",
        [SIGNET_FIND_ALTERED] = "altered",       [SIGNET_FIND_FORK] = "fork",
        [SIGNET_FIND_TRUNCATED] = "truncated",   [SIGNET_FIND_STALE] = "stale",
        [SIGNET_FIND_EXPECT] = "unexpected-usage", [SIGNET_FIND_VKEY] = "verifier-key",
        [SIGNET_FIND_HISTORY] = "history-rewritten", [SIGNET_FIND_BINDING] = "bad-binding",
        [SIGNET_FIND_REUSE] = "bad-reuse",
    };
    return (unsigned)k < sizeof names / sizeof names[0] && names[k] ? names[k] : "finding";
}

void signet_report_print(const signet_report *r, FILE *f)
{
    for (size_t i = 0; i < r->n; i++) {
        const signet_finding *x = &r->f[i];
        fprintf(f, "FINDING %s: ", kind_name(x->kind));
        if (x->file[0] && x->line)
            fprintf(f, "%s:%llu: ", x->file, (unsigned long long)x->line);
        else if (x->file[0])
            fprintf(f, "%s: ", x->file);
        fprintf(f, "%s\n", x->msg);
    }
    if (r->omitted)
        fprintf(f, "FINDING ...: %zu more findings were not listed\n", r->omitted);
    fprintf(f, "\nsummary:\n");
    fprintf(f, "  leaves:       %llu (records %llu, device entries %llu)\n",
            (unsigned long long)r->leaves, (unsigned long long)r->records,
            (unsigned long long)r->entries);
    for (size_t i = 0; i < r->ndevs; i++)
        fprintf(f, "  device %u:  entries seq %llu..%llu, %llu signatures, %llu failed signing attempts\n",
                r->devs[i].serial, (unsigned long long)r->devs[i].first_seq,
                (unsigned long long)r->devs[i].last_seq, (unsigned long long)r->devs[i].signatures,
                (unsigned long long)r->devs[i].failed);
    fprintf(f, "  checkpoints:  %llu valid of %llu, the newest covers %llu leaves\n",
            (unsigned long long)r->checkpoints_valid, (unsigned long long)r->checkpoints,
            (unsigned long long)r->newest_checkpoint);
    if (r->set_aside)
        fprintf(f, "  incomplete lines set aside after crashes: %llu (see incomplete.log)\n",
                (unsigned long long)r->set_aside);
    if (r->nu) {
        fprintf(f, "  key usage (signatures made on the device, reused from the cache):\n");
        for (size_t i = 0; i < r->nu; i++)
            fprintf(f, "    %-24s 0x%04x  %llu signed, %llu reused\n", r->u[i].key_name, r->u[i].key_id,
                    (unsigned long long)r->u[i].count, (unsigned long long)r->u[i].reuses);
    }
    fprintf(f, "%s\n", r->n || r->omitted ? "result: FAILED" : "result: OK");
}

/* Verification reports: findings, key usage and the summary a person reads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "report_internal.h"

#define MAX_FINDINGS 1000

signet_report *report_new(void) { return calloc(1, sizeof(signet_report)); }

static const char *kind_name(signet_finding_kind k);

signet_severity signet_finding_severity(signet_finding_kind k)
{
    switch (k) {
    case SIGNET_FIND_NEVER_SIGNED:
    case SIGNET_FIND_NO_DEVICE_LOG:
        return SIGNET_SEV_NOTICE;
    /* Events a person looks into: the trail itself is intact, something happened to
     * the device or a signer. */
    case SIGNET_FIND_TORN_TAIL:
    case SIGNET_FIND_GAP:
    case SIGNET_FIND_UNLOGGED:
    case SIGNET_FIND_RESTART:
    case SIGNET_FIND_UNRECORDED:
        return SIGNET_SEV_INCIDENT;
    /* What a given copy or a given expectation says: fixed by draining, fetching
     * the newer copy or correcting the expectation. */
    case SIGNET_FIND_STALE:
    case SIGNET_FIND_EXPECT:
        return SIGNET_SEV_ATTENTION;
    default:
        return SIGNET_SEV_TAMPER;
    }
}

/* A finding's name that stays the same from run to run: the kind and where it is
 * (lines of an append-only trail do not move); the message only when it is about
 * no line.  Meant for acknowledgement records (docs/audit.md). */
static void finding_hash(signet_finding *f)
{
    uint8_t h[32];
    char buf[512];
    int n = snprintf(buf, sizeof buf, "signet-finding\n%s\n%s\n%llu\n%s", kind_name(f->kind), f->file,
                     (unsigned long long)f->line, f->line ? "" : f->msg);
    if (n < 0 || (size_t)n >= sizeof buf)
        n = (int)strlen(buf);
    if (EVP_Digest(buf, (size_t)n, h, NULL, EVP_sha256(), NULL) != 1) {
        memset(f->hash, '0', 16);
        f->hash[16] = 0;
        return;
    }
    for (int i = 0; i < 8; i++)
        snprintf(f->hash + 2 * i, 3, "%02x", h[i]);
}

bool report_failed(const signet_report *r)
{
    if (r->omitted)
        return true;
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i].severity != SIGNET_SEV_NOTICE && !r->f[i].acknowledged)
            return true;
    return false;
}

const char *signet_severity_name(signet_severity s)
{
    switch (s) {
    case SIGNET_SEV_NOTICE: return "notice";
    case SIGNET_SEV_INCIDENT: return "incident";
    case SIGNET_SEV_ATTENTION: return "attention";
    default: return "tamper";
    }
}

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
            r->nomem = true; /* the verifier stops with SIGNET_E_NOMEM */
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
    f->severity = signet_finding_severity(kind);
    finding_hash(f);
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
        [SIGNET_FIND_REUSE] = "bad-reuse",       [SIGNET_FIND_NEVER_SIGNED] = "never-signed",
        [SIGNET_FIND_ACK] = "bad-acknowledgement", [SIGNET_FIND_SERVICE] = "bad-service-record",
        [SIGNET_FIND_NO_DEVICE_LOG] = "no-device-log",
    };
    return (unsigned)k < sizeof names / sizeof names[0] && names[k] ? names[k] : "finding";
}

void signet_report_print(const signet_report *r, FILE *f)
{
    for (size_t i = 0; i < r->n; i++) {
        const signet_finding *x = &r->f[i];
        const char *label = x->acknowledged                    ? "ACKNOWLEDGED"
                            : x->severity == SIGNET_SEV_NOTICE ? "NOTE"
                                                               : "FINDING";
        fprintf(f, "%s %s [%s %s]: ", label, kind_name(x->kind), signet_severity_name(x->severity), x->hash);
        if (x->file[0] && x->line)
            fprintf(f, "%s:%llu: ", x->file, (unsigned long long)x->line);
        else if (x->file[0])
            fprintf(f, "%s: ", x->file);
        fprintf(f, "%s\n", x->msg);
        if (x->acknowledged)
            fprintf(f, "    acknowledged %s\n", x->ack);
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
    fprintf(f, "%s\n", report_failed(r) ? "result: FAILED" : "result: OK");
}

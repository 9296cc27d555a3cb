/* Verifying expectations: the key usage a release should show (`--expect`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify_internal.h"

typedef struct {
    char name[64];
    uint64_t count;
    bool seen;
} expect_row;

signet_rc vcheck_expect(vstate *v, const char *path)
{
    char *data;
    size_t len;
    signet_rc frc = file_read_all(path, &data, &len);
    if (frc == SIGNET_E_NOMEM)
        return frc;
    if (frc) {
        report_add(v->rep, SIGNET_FIND_EXPECT, path, 0, "cannot read the expectations: %s", signet_errmsg());
        return SIGNET_OK;
    }
    expect_row *rows = NULL;
    size_t n = 0;
    uint64_t from = 0, lineno = 0;
    char *save = NULL;
    for (char *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char name[64];
        unsigned long long c;
        char extra;
        while (*l == ' ' || *l == '\t')
            l++;
        if (*l == '#' || *l == 0)
            continue;
        if (sscanf(l, "from %llu %c", &c, &extra) == 1) {
            from = c;
            continue;
        }
        if (sscanf(l, "%63s %llu %c", name, &c, &extra) != 2) {
            report_add(v->rep, SIGNET_FIND_EXPECT, path, lineno,
                       "expected '<key name> <count>' or 'from <leaf index>'");
            continue;
        }
        expect_row *nr = realloc(rows, (n + 1) * sizeof *nr);
        if (!nr) {
            free(rows);
            free(data);
            return signet_fail(SIGNET_E_NOMEM, "out of memory reading the expectations");
        }
        rows = nr;
        memset(&rows[n], 0, sizeof rows[n]);
        snprintf(rows[n].name, sizeof rows[n].name, "%s", name);
        rows[n++].count = c;
    }
    free(data);
    /* Counts per key name among sign records from leaf `from` on. */
    uint64_t *got = calloc(v->rep->nu ? v->rep->nu : 1, sizeof *got);
    if (!got) {
        free(rows);
        return signet_fail(SIGNET_E_NOMEM, "out of memory counting key usage");
    }
    for (size_t i = 0; i < v->n_recs; i++)
        if (v->recs[i].type == SIGNET_REC_SIGN && v->recs[i].index >= from && v->recs[i].slot >= 0)
            got[v->recs[i].slot]++;
    for (size_t i = 0; i < n; i++) {
        uint64_t total = 0;
        for (size_t u = 0; u < v->rep->nu; u++)
            if (strcmp(v->rep->u[u].key_name, rows[i].name) == 0)
                total += got[u];
        if (total != rows[i].count)
            report_add(v->rep, SIGNET_FIND_EXPECT, NULL, 0,
                       "key %s: expected %llu signatures, the trail records %llu", rows[i].name,
                       (unsigned long long)rows[i].count, (unsigned long long)total);
    }
    for (size_t u = 0; u < v->rep->nu; u++) {
        bool listed = false;
        for (size_t i = 0; i < n; i++)
            listed |= strcmp(rows[i].name, v->rep->u[u].key_name) == 0;
        if (!listed && got[u])
            report_add(v->rep, SIGNET_FIND_EXPECT, NULL, 0,
                       "key %s (0x%04x) signed %llu times but the expectations do not list it",
                       v->rep->u[u].key_name, v->rep->u[u].key_id, (unsigned long long)got[u]);
    }
    free(got);
    free(rows);
    return SIGNET_OK;
}

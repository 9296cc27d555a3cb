/* The ceremony plan and the ceremony manifest are text a person (or an attacker
 * with access to the ceremony files) wrote.  Neither parser may crash or read out
 * of bounds, and what they accept must satisfy what the ceremony relies on: valid
 * names, a threshold the shares can meet, every role present, and manifest paths
 * that stay inside the ceremony directory. */
#include <stdlib.h>
#include <string.h>

#include "ceremony/ceremony_internal.h"
#include "signet/ceremony.h"

static void check_plan(const signet_plan *p)
{
    if (p->n_custodians < SSS_MIN_THRESHOLD || p->n_custodians > SSS_MAX_SHARES ||
        p->threshold < SSS_MIN_THRESHOLD || p->threshold > p->n_custodians)
        abort();
    if (!p->primary_url[0] || !p->backup_url[0] || strcmp(p->primary_url, p->backup_url) == 0 ||
        p->domains == 0 || p->wrap_key_id == 0 || p->log_key_id == 0)
        abort();
    for (size_t i = 0; i < p->n_custodians; i++) {
        if (!cer_name_valid(p->custodians[i].name, strlen(p->custodians[i].name)) ||
            !p->custodians[i].recipient[0])
            abort();
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->custodians[i].name, p->custodians[j].name) == 0)
                abort();
    }
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++)
        if (!cer_name_valid(p->holders[r].name, strlen(p->holders[r].name)))
            abort();
}

static void check_manifest(const cer_manifest *m)
{
    if (m->threshold > m->n_shares || m->n_listed_shares != m->n_shares ||
        !cer_rel_path_valid(m->log_wrapped, strlen(m->log_wrapped)))
        abort();
    for (size_t i = 0; i < m->n_listed_shares; i++)
        if (m->shares[i].index == 0 || m->shares[i].index > m->n_shares ||
            !cer_rel_path_valid(m->shares[i].file, strlen(m->shares[i].file)))
            abort();
    for (size_t i = 0; i < m->n_files; i++)
        if (!cer_rel_path_valid(m->files[i].path, strlen(m->files[i].path)))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static signet_plan plan;
    static cer_manifest man;
    if (signet_plan_parse((const char *)data, size, &plan) == SIGNET_OK)
        check_plan(&plan);
    if (cer_manifest_parse((const char *)data, size, &man) == SIGNET_OK)
        check_manifest(&man);
    return 0;
}

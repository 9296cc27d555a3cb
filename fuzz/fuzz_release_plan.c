/* A release plan is read back from disk (`release sign --plan`, `--diff`): the
 * parser may not crash, and what it accepts must write back to the same bytes
 * (one canonical form, so a plan cannot say two things). */
#include <stdlib.h>
#include <string.h>

#include "signet/release.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    signet_rplan p;
    if (signet_rplan_parse((const char *)data, size, &p) != SIGNET_OK)
        return 0;
    sb_wr w;
    sbw_init(&w, 1u << 26);
    if (signet_rplan_format(&p, &w) != SIGNET_OK || w.len != size || memcmp(w.p, data, size) != 0)
        abort();
    for (size_t i = 0; i < p.n_items; i++)
        if (p.items[i].action == SIGNET_RPLAN_SIGN && !signet_rplan_key_find(&p, p.items[i].key))
            abort();
    sbw_free(&w);
    signet_rplan_free(&p);
    return 0;
}

/* Fuzzes the parsers of trail lines: records, device lines and receipts, all of
 * which verifiers read from files anyone could have edited. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_internal.h"
#include "signet/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > SIGNET_LINE_MAX)
        return 0;
    signet_record *r = malloc(sizeof *r);
    if (!r)
        return 0;
    if (signet_record_parse((const char *)data, size, r) == SIGNET_OK) {
        /* What parses must format back to a line that parses the same. */
        sb_wr w;
        sbw_init(&w, SIGNET_LINE_MAX + 1);
        if (signet_record_format(r, &w) == SIGNET_OK) {
            signet_record *r2 = malloc(sizeof *r2);
            if (r2 && signet_record_parse((const char *)w.p, w.len, r2) != SIGNET_OK)
                abort();
            if (r2 && (r2->index != r->index || r2->sig_len != r->sig_len ||
                       memcmp(r2->sig, r->sig, r->sig_len) != 0 || strcmp(r2->caller, r->caller) != 0 ||
                       r2->original != r->original || r2->n_covers != r->n_covers ||
                       memcmp(r2->covers, r->covers, r->n_covers * sizeof r->covers[0]) != 0 ||
                       strcmp(r2->output, r->output) != 0))
                abort();
            free(r2);
        }
        sbw_free(&w);
    }
    free(r);
    devline d;
    (void)devline_parse((const char *)data, size, &d);
    signet_receipt rc;
    if (signet_receipt_parse((const char *)data, size, &rc) == SIGNET_OK)
        signet_receipt_free(&rc);
    return 0;
}

/* Fuzzes the share text parser and combine: every line is parsed; parsed shares
 * must format back to the same text, and any set of them must combine or fail
 * cleanly. */
#include <stdlib.h>
#include <string.h>

#include "signet/sss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sss_share shares[SSS_MAX_SHARES];
    size_t k = 0;
    for (size_t pos = 0; pos < size && k < SSS_MAX_SHARES;) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (data + pos)) : size - pos;
        const char *line = (const char *)data + pos;
        pos += n + (nl ? 1 : 0);
        if (sss_share_parse(line, n, &shares[k]) != SIGNET_OK)
            continue;
        /* Round trip: the canonical text is the text that was parsed. */
        char mem[512];
        sb_wr w;
        sbw_init_fixed(&w, mem, sizeof mem);
        if (sss_share_format(&shares[k], &w) != SIGNET_OK || w.len != n || memcmp(mem, line, n))
            abort();
        k++;
    }
    uint8_t out[SSS_MAX_SECRET];
    sb_wr secret;
    sbw_init_fixed(&secret, out, sizeof out);
    if (sss_combine(shares, k, &secret) == SIGNET_OK) {
        sss_wrapkey wk;
        if (sss_wrapkey_decode(secret.p, secret.len, &wk) == SIGNET_OK) {
            sb_wr again;
            uint8_t blob[SSS_WRAPKEY_BLOB_LEN];
            sbw_init_fixed(&again, blob, sizeof blob);
            if (sss_wrapkey_encode(&wk, &again) != SIGNET_OK || memcmp(blob, out, sizeof blob))
                abort();
        }
    }
    return 0;
}

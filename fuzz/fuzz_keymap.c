/* The key map parser and the LRU stamps reader take text from the key store
 * directory.  Neither may crash or read out of bounds; whatever the key map
 * parser accepts must format back into text that parses to the same entries,
 * and every name either accepts is a valid key name. */
#include <stdlib.h>
#include <string.h>

#include "keystore/ks_lru.h"
#include "signet/keystore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    signet_keymap m;
    if (signet_keymap_parse((const char *)data, size, &m) == SIGNET_OK) {
        for (size_t i = 0; i < m.n; i++)
            if (!signet_key_name_valid(m.v[i].name) || m.v[i].id == 0)
                abort();
        sb_wr w;
        sbw_init(&w, 4u << 20);
        signet_keymap back;
        if (signet_keymap_format(&m, &w) != SIGNET_OK ||
            signet_keymap_parse((const char *)w.p, w.len, &back) != SIGNET_OK)
            abort();
        if (back.n != m.n || (m.n && memcmp(back.v, m.v, m.n * sizeof m.v[0]) != 0))
            abort();
        signet_keymap_free(&back);
        sbw_free(&w);
        signet_keymap_free(&m);
    }
    ks_lru l;
    ks_lru_parse((const char *)data, size, &l);
    for (size_t i = 0; i < l.n; i++)
        if (!signet_key_name_valid(l.v[i].name))
            abort();
    ks_lru_free(&l);
    return 0;
}

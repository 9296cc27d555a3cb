/* The target-files META files and the key mapping file are outside input: the
 * parsers may not crash or read out of bounds, and what they accept must be what
 * the plan relies on (file names without directories, keys as stems or the special
 * strings, release key names valid); the build.prop and mac_permissions.xml
 * rewriters likewise.  The first byte picks the parser. */
#include <stdlib.h>
#include <string.h>

#include "release/release_internal.h"
#include "signet/release.h"

static void check(const signet_tf_meta *m)
{
    for (size_t i = 0; i < m->n_apks; i++)
        if (!m->apks[i].name[0] || strchr(m->apks[i].name, '/') || !m->apks[i].key[0])
            abort();
    for (size_t i = 0; i < m->n_apexes; i++) {
        size_t n = strlen(m->apexes[i].name);
        if (n < 5 || strcmp(m->apexes[i].name + n - 5, ".apex") != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    signet_tf_meta m;
    signet_tf_meta_init(&m);
    switch (data[0] % 6) {
    case 0: if (signet_apkcerts_parse(text, len, &m) == SIGNET_OK) check(&m); break;
    case 1: if (signet_apexkeys_parse(text, len, &m) == SIGNET_OK) check(&m); break;
    case 2: (void)signet_misc_info_parse(text, len, &m); break;
    case 3: {
        signet_release_mapping map;
        signet_release_mapping_init(&map);
        if (signet_release_mapping_parse(&map, text, len, "fuzz") == SIGNET_OK)
            for (size_t i = 0; i < map.n; i++) {
                char store[41];
                if (signet_release_store_name(map.v[i].to, store) != SIGNET_OK ||
                    strlen(store) > 40)
                    abort();
            }
        signet_release_mapping_free(&map);
        break;
    }
    case 4: { /* build properties: test-keys -> release-keys */
        sb_wr w;
        sbw_init(&w, 1u << 24);
        if (rl_rewrite_props(text, len, &w) == SIGNET_OK && (w.len == 0 || w.p[w.len - 1] != '\n'))
            abort();
        sbw_free(&w);
        break;
    }
    case 5: { /* mac_permissions.xml with one certificate pair */
        char *pairs[] = {"ab", "cd"}, *allowed[] = {"ef"};
        sb_wr w;
        sbw_init(&w, 1u << 24);
        (void)rl_rewrite_mac_permissions("fuzz.xml", text, len, pairs, 1, allowed, 1, &w);
        sbw_free(&w);
        break;
    }
    }
    signet_tf_meta_free(&m);
    return 0;
}

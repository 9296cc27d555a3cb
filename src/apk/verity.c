/* The v4 hash tree: SHA-256 over 4 KiB blocks, no salt, levels built bottom up
 * and stored top level first, each padded with zeros to whole blocks (as
 * fs-verity and apksig's VerityTreeBuilder do). */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "apk_internal.h"

#define MAX_LEVELS 16

static size_t blocks(size_t n) { return (n + APK_PAGE - 1) / APK_PAGE; }

/* Digests of each 4 KiB block of src (the last one zero-padded) into dst. */
static void hash_level(const uint8_t *src, size_t len, uint8_t *dst)
{
    uint8_t last[APK_PAGE];
    for (size_t b = 0, n = blocks(len); b < n; b++) {
        size_t off = b * APK_PAGE, take = len - off < APK_PAGE ? len - off : APK_PAGE;
        const uint8_t *p = src + off;
        if (take < APK_PAGE) {
            memset(last, 0, sizeof last);
            memcpy(last, p, take);
            p = last;
        }
        SHA256(p, APK_PAGE, dst + b * SHA256_DIGEST_LENGTH);
    }
}

signet_rc apk_verity_tree(const uint8_t *data, size_t len, sb_wr *tree, uint8_t root[32])
{
    /* Level sizes (in bytes, padded to whole blocks), bottom first. */
    size_t size[MAX_LEVELS], nlev = 0, in = len ? len : 1, total = 0;
    do {
        if (nlev == MAX_LEVELS)
            return signet_fail(SIGNET_E_ARG, "file too large for a v4 hash tree");
        size_t digests = blocks(in) * SHA256_DIGEST_LENGTH;
        size[nlev] = blocks(digests) * APK_PAGE;
        total += size[nlev];
        in = digests;
        nlev++;
    } while (in > APK_PAGE);
    uint8_t *buf = calloc(1, total);
    if (!buf)
        return signet_fail(SIGNET_E_NOMEM, "out of memory for a %zu-byte v4 hash tree", total);
    /* Top level first in the output: level k starts after all levels above it. */
    size_t off[MAX_LEVELS], at = 0;
    for (size_t k = nlev; k-- > 0;) {
        off[k] = at;
        at += size[k];
    }
    hash_level(data, len, buf + off[0]);
    for (size_t k = 1; k < nlev; k++)
        hash_level(buf + off[k - 1], size[k - 1], buf + off[k]);
    SHA256(buf + off[nlev - 1], APK_PAGE, root);
    signet_rc rc = sbw_put(tree, buf, total);
    free(buf);
    return rc;
}

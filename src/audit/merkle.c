/* RFC 6962 / RFC 9162 Merkle trees: hashing, prefix roots, inclusion and
 * consistency proofs, and their verification.
 *
 * The tree keeps every level: level k holds the hashes of the complete, aligned
 * subtrees of 2^k leaves.  Every subtree the RFC's recursive definitions touch is
 * aligned to its own largest power of two, so its hash is a few lookups away and a
 * proof costs O(log^2 n) however large the trail is. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "signet/audit.h"

#define MAX_LEVELS 64

struct merkle_tree {
    uint8_t *level[MAX_LEVELS]; /* level[k]: count[k] hashes of 32 bytes */
    uint64_t count[MAX_LEVELS];
    uint64_t cap[MAX_LEVELS];
};

static void sha256_parts(const void *a, size_t alen, const void *b, size_t blen, const void *c,
                         size_t clen, uint8_t out[SIGNET_HASH_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    /* A failure here means OpenSSL cannot allocate or lost SHA-256: nothing the
     * caller could recover from, and a zero hash would never verify. */
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) || !EVP_DigestUpdate(ctx, a, alen) ||
        !EVP_DigestUpdate(ctx, b, blen) || !EVP_DigestUpdate(ctx, c, clen) ||
        !EVP_DigestFinal_ex(ctx, out, &n))
        abort();
    EVP_MD_CTX_free(ctx);
}

void merkle_leaf_hash(const uint8_t *data, size_t len, uint8_t out[SIGNET_HASH_LEN])
{
    static const uint8_t zero = 0x00;
    sha256_parts(&zero, 1, data, len, "", 0, out);
}

void merkle_node_hash(const uint8_t l[SIGNET_HASH_LEN], const uint8_t r[SIGNET_HASH_LEN],
                      uint8_t out[SIGNET_HASH_LEN])
{
    static const uint8_t one = 0x01;
    sha256_parts(&one, 1, l, SIGNET_HASH_LEN, r, SIGNET_HASH_LEN, out);
}

void merkle_empty_root(uint8_t out[SIGNET_HASH_LEN]) { sha256_parts("", 0, "", 0, "", 0, out); }

signet_rc merkle_tree_new(merkle_tree **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return signet_fail(SIGNET_E_NOMEM, "out of memory allocating a Merkle tree");
    return SIGNET_OK;
}

void merkle_tree_free(merkle_tree *t)
{
    if (!t)
        return;
    for (int k = 0; k < MAX_LEVELS; k++)
        free(t->level[k]);
    free(t);
}

static signet_rc level_push(merkle_tree *t, int k, const uint8_t h[SIGNET_HASH_LEN])
{
    if (t->count[k] == t->cap[k]) {
        uint64_t ncap = t->cap[k] ? t->cap[k] * 2 : 64;
        uint8_t *np = realloc(t->level[k], ncap * SIGNET_HASH_LEN);
        if (!np)
            return signet_fail(SIGNET_E_NOMEM, "out of memory growing a Merkle tree to %llu leaves",
                               (unsigned long long)ncap);
        t->level[k] = np;
        t->cap[k] = ncap;
    }
    memcpy(t->level[k] + t->count[k] * SIGNET_HASH_LEN, h, SIGNET_HASH_LEN);
    t->count[k]++;
    return SIGNET_OK;
}

signet_rc merkle_tree_append(merkle_tree *t, const uint8_t leaf_hash[SIGNET_HASH_LEN])
{
    signet_rc rc = level_push(t, 0, leaf_hash);
    /* Each time a level gets an even count, a new complete subtree above is done. */
    for (int k = 0; rc == SIGNET_OK && k + 1 < MAX_LEVELS && t->count[k] % 2 == 0; k++) {
        uint8_t h[SIGNET_HASH_LEN];
        const uint8_t *pair = t->level[k] + (t->count[k] - 2) * SIGNET_HASH_LEN;
        merkle_node_hash(pair, pair + SIGNET_HASH_LEN, h);
        rc = level_push(t, k + 1, h);
    }
    return rc;
}

uint64_t merkle_tree_size(const merkle_tree *t) { return t->count[0]; }

const uint8_t *merkle_tree_leaf(const merkle_tree *t, uint64_t i)
{
    return i < t->count[0] ? t->level[0] + i * SIGNET_HASH_LEN : NULL;
}

/* Largest power of two strictly smaller than n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

static int log2_exact(uint64_t n)
{
    int k = 0;
    while ((UINT64_C(1) << k) < n)
        k++;
    return k;
}

/* MTH(D[start : start+n]); the range is aligned as described at the top. */
static void subtree_hash(const merkle_tree *t, uint64_t start, uint64_t n, uint8_t out[SIGNET_HASH_LEN])
{
    if ((n & (n - 1)) == 0 && start % n == 0) {
        int k = log2_exact(n);
        memcpy(out, t->level[k] + (start >> k) * SIGNET_HASH_LEN, SIGNET_HASH_LEN);
        return;
    }
    uint64_t k = split_point(n);
    uint8_t l[SIGNET_HASH_LEN], r[SIGNET_HASH_LEN];
    subtree_hash(t, start, k, l);
    subtree_hash(t, start + k, n - k, r);
    merkle_node_hash(l, r, out);
}

signet_rc merkle_tree_root(const merkle_tree *t, uint64_t size, uint8_t out[SIGNET_HASH_LEN])
{
    if (size > t->count[0])
        return signet_fail(SIGNET_E_ARG, "tree of %llu leaves has no root at size %llu",
                           (unsigned long long)t->count[0], (unsigned long long)size);
    if (size == 0)
        merkle_empty_root(out);
    else
        subtree_hash(t, 0, size, out);
    return SIGNET_OK;
}

/* RFC 6962 PATH(m, D[start : start+n]), leaf sibling first. */
static signet_rc path(const merkle_tree *t, uint64_t m, uint64_t start, uint64_t n, sb_wr *proof)
{
    if (n <= 1)
        return SIGNET_OK;
    uint64_t k = split_point(n);
    uint8_t h[SIGNET_HASH_LEN];
    signet_rc rc;
    if (m < k) {
        rc = path(t, m, start, k, proof);
        subtree_hash(t, start + k, n - k, h);
    } else {
        rc = path(t, m - k, start + k, n - k, proof);
        subtree_hash(t, start, k, h);
    }
    return rc ? rc : sbw_put(proof, h, sizeof h);
}

signet_rc merkle_tree_inclusion(const merkle_tree *t, uint64_t index, uint64_t size, sb_wr *proof)
{
    if (size > t->count[0] || index >= size)
        return signet_fail(SIGNET_E_ARG, "no inclusion proof for leaf %llu in a tree of %llu",
                           (unsigned long long)index, (unsigned long long)size);
    return path(t, index, 0, size, proof);
}

/* RFC 6962 SUBPROOF(m, D[start : start+n], b). */
static signet_rc subproof(const merkle_tree *t, uint64_t m, uint64_t start, uint64_t n, bool b,
                          sb_wr *proof)
{
    uint8_t h[SIGNET_HASH_LEN];
    if (m == n) {
        if (b)
            return SIGNET_OK;
        subtree_hash(t, start, n, h);
        return sbw_put(proof, h, sizeof h);
    }
    uint64_t k = split_point(n);
    signet_rc rc;
    if (m <= k) {
        rc = subproof(t, m, start, k, b, proof);
        subtree_hash(t, start + k, n - k, h);
    } else {
        rc = subproof(t, m - k, start + k, n - k, false, proof);
        subtree_hash(t, start, k, h);
    }
    return rc ? rc : sbw_put(proof, h, sizeof h);
}

signet_rc merkle_tree_consistency(const merkle_tree *t, uint64_t size1, uint64_t size2, sb_wr *proof)
{
    if (size2 > t->count[0] || size1 > size2)
        return signet_fail(SIGNET_E_ARG, "no consistency proof from size %llu to %llu in a tree of %llu",
                           (unsigned long long)size1, (unsigned long long)size2,
                           (unsigned long long)t->count[0]);
    if (size1 == 0 || size1 == size2)
        return SIGNET_OK;
    return subproof(t, size1, 0, size2, true, proof);
}

static signet_rc bad_proof(const char *what)
{
    return signet_fail(SIGNET_E_VERIFY, "%s proof does not verify", what);
}

/* RFC 9162 section 2.1.3.2. */
signet_rc merkle_verify_inclusion(uint64_t index, uint64_t size,
                                  const uint8_t leaf_hash[SIGNET_HASH_LEN], const uint8_t *proof,
                                  size_t n_hashes, const uint8_t root[SIGNET_HASH_LEN])
{
    if (index >= size)
        return signet_fail(SIGNET_E_VERIFY, "leaf %llu is outside a tree of %llu leaves",
                           (unsigned long long)index, (unsigned long long)size);
    uint64_t fn = index, sn = size - 1;
    uint8_t r[SIGNET_HASH_LEN];
    memcpy(r, leaf_hash, sizeof r);
    for (size_t i = 0; i < n_hashes; i++) {
        const uint8_t *p = proof + i * SIGNET_HASH_LEN;
        if (sn == 0)
            return bad_proof("inclusion (too long)");
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(p, r, r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(r, p, r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(r, root, sizeof r) != 0)
        return bad_proof("inclusion");
    return SIGNET_OK;
}

/* RFC 9162 section 2.1.4.2. */
signet_rc merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t *proof,
                                    size_t n_hashes, const uint8_t root1[SIGNET_HASH_LEN],
                                    const uint8_t root2[SIGNET_HASH_LEN])
{
    if (size1 > size2)
        return signet_fail(SIGNET_E_VERIFY, "a tree of %llu leaves cannot follow one of %llu",
                           (unsigned long long)size2, (unsigned long long)size1);
    if (size1 == size2) {
        if (n_hashes != 0 || memcmp(root1, root2, SIGNET_HASH_LEN) != 0)
            return bad_proof("consistency (same size, different roots)");
        return SIGNET_OK;
    }
    if (size1 == 0)
        return n_hashes == 0 ? SIGNET_OK : bad_proof("consistency (from the empty tree)");
    if (n_hashes == 0)
        return bad_proof("consistency (empty)");

    size_t i = 0;
    uint8_t fr[SIGNET_HASH_LEN], sr[SIGNET_HASH_LEN];
    /* When size1 is a power of two the old root is itself the first node. */
    if ((size1 & (size1 - 1)) == 0) {
        memcpy(fr, root1, sizeof fr);
    } else {
        memcpy(fr, proof, sizeof fr);
        i = 1;
    }
    memcpy(sr, fr, sizeof sr);
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < n_hashes; i++) {
        const uint8_t *c = proof + i * SIGNET_HASH_LEN;
        if (sn == 0)
            return bad_proof("consistency (too long)");
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(c, fr, fr);
            merkle_node_hash(c, sr, sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            merkle_node_hash(sr, c, sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || memcmp(fr, root1, sizeof fr) != 0 || memcmp(sr, root2, sizeof sr) != 0)
        return bad_proof("consistency");
    return SIGNET_OK;
}

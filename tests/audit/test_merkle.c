/* RFC 6962 Merkle trees against the public vectors of transparency-dev/merkle
 * (proof/verify_test.go): roots of 1..8 leaves, inclusion and consistency proofs,
 * both generated here and verified, and the corruptions that must not verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "signet/audit.h"

static const char *const LEAVES[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f"};
static const char *const ROOTS[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct vec {
    uint64_t a, b; /* inclusion: leaf (1-based), size; consistency: size1, size2 */
    const char *proof[3];
    size_t n;
};

static const struct vec INCLUSION[] = {
    {1, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}, 3},
    {6, 8, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}, 3},
    {3, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}, 1},
    {2, 5, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}, 3},
};

static const struct vec CONSISTENCY[] = {
    {1, 8, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}, 3},
    {6, 8, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}, 3},
    {2, 5, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}, 2},
    {6, 7, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}, 3},
};

static void unhex(const char *s, uint8_t *out, size_t n)
{
    sb_wr w;
    sbw_init_fixed(&w, out, n);
    assert_int_equal(hex_decode(&w, s, strlen(s)), SIGNET_OK);
    assert_int_equal(w.len, n);
}

static merkle_tree *vector_tree(void)
{
    merkle_tree *t;
    assert_int_equal(merkle_tree_new(&t), SIGNET_OK);
    for (size_t i = 0; i < 8; i++) {
        uint8_t data[16], h[32];
        size_t n = strlen(LEAVES[i]) / 2;
        if (n)
            unhex(LEAVES[i], data, n);
        merkle_leaf_hash(data, n, h);
        assert_int_equal(merkle_tree_append(t, h), SIGNET_OK);
    }
    return t;
}

static void roots(void **state)
{
    merkle_tree *t = vector_tree();
    for (uint64_t size = 1; size <= 8; size++) {
        uint8_t want[32], got[32];
        unhex(ROOTS[size - 1], want, 32);
        assert_int_equal(merkle_tree_root(t, size, got), SIGNET_OK);
        assert_memory_equal(got, want, 32);
    }
    uint8_t empty[32], want[32];
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want, 32);
    assert_int_equal(merkle_tree_root(t, 0, empty), SIGNET_OK);
    assert_memory_equal(empty, want, 32);
    assert_int_equal(merkle_tree_root(t, 9, empty), SIGNET_E_ARG);
    merkle_tree_free(t);
}

static void inclusion(void **state)
{
    merkle_tree *t = vector_tree();
    for (size_t v = 0; v < sizeof INCLUSION / sizeof INCLUSION[0]; v++) {
        const struct vec *x = &INCLUSION[v];
        uint8_t proof[3 * 32], root[32];
        for (size_t i = 0; i < x->n; i++)
            unhex(x->proof[i], proof + 32 * i, 32);
        unhex(ROOTS[x->b - 1], root, 32);
        /* Generation gives the published proof. */
        sb_wr w;
        sbw_init(&w, 4096);
        assert_int_equal(merkle_tree_inclusion(t, x->a - 1, x->b, &w), SIGNET_OK);
        assert_int_equal(w.len, 32 * x->n);
        assert_memory_equal(w.p, proof, w.len);
        sbw_free(&w);
        const uint8_t *leaf = merkle_tree_leaf(t, x->a - 1);
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b, leaf, proof, x->n, root), SIGNET_OK);
        /* The corruptions of verify_test.go's corruptInclusionProof. */
        assert_int_equal(merkle_verify_inclusion(x->a, x->b, leaf, proof, x->n, root), SIGNET_E_VERIFY);
        if (x->a >= 2)
            assert_int_equal(merkle_verify_inclusion(x->a - 2, x->b, leaf, proof, x->n, root), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_inclusion((x->a - 1) ^ 2, x->b, leaf, proof, x->n, root), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b * 2, leaf, proof, x->n, root), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b / 2, leaf, proof, x->n, root), SIGNET_E_VERIFY);
        uint8_t wrong[32];
        memcpy(wrong, leaf, 32);
        wrong[5] ^= 1;
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b, wrong, proof, x->n, root), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b, leaf, proof, x->n, wrong), SIGNET_E_VERIFY);
        uint8_t longer[4 * 32];
        memcpy(longer, proof, 32 * x->n);
        memcpy(longer + 32 * x->n, root, 32);
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b, leaf, longer, x->n + 1, root), SIGNET_E_VERIFY);
        memcpy(longer, root, 32);
        memcpy(longer + 32, proof, 32 * x->n);
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b, leaf, longer, x->n + 1, root), SIGNET_E_VERIFY);
        for (size_t i = 0; i < x->n; i++) {
            proof[32 * i] ^= 8;
            assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b, leaf, proof, x->n, root), SIGNET_E_VERIFY);
            proof[32 * i] ^= 8;
        }
        assert_int_equal(merkle_verify_inclusion(x->a - 1, x->b, leaf, proof, x->n - 1, root), SIGNET_E_VERIFY);
    }
    merkle_tree_free(t);
}

static void consistency(void **state)
{
    merkle_tree *t = vector_tree();
    for (size_t v = 0; v < sizeof CONSISTENCY / sizeof CONSISTENCY[0]; v++) {
        const struct vec *x = &CONSISTENCY[v];
        uint8_t proof[4 * 32], r1[32], r2[32];
        for (size_t i = 0; i < x->n; i++)
            unhex(x->proof[i], proof + 32 * i, 32);
        unhex(ROOTS[x->a - 1], r1, 32);
        unhex(ROOTS[x->b - 1], r2, 32);
        sb_wr w;
        sbw_init(&w, 4096);
        assert_int_equal(merkle_tree_consistency(t, x->a, x->b, &w), SIGNET_OK);
        assert_int_equal(w.len, 32 * x->n);
        assert_memory_equal(w.p, proof, w.len);
        sbw_free(&w);
        assert_int_equal(merkle_verify_consistency(x->a, x->b, proof, x->n, r1, r2), SIGNET_OK);
        /* corruptConsistencyProof */
        assert_int_equal(merkle_verify_consistency(x->a - 1, x->b, proof, x->n, r1, r2), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_consistency(x->a + 1, x->b, proof, x->n, r1, r2), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_consistency(x->a ^ 2, x->b, proof, x->n, r1, r2), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_consistency(x->a, x->b * 2, proof, x->n, r1, r2), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_consistency(x->a, x->b / 2, proof, x->n, r1, r2), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_consistency(x->a, x->b, proof, x->n, r2, r1), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_consistency(x->a, x->b, proof, 0, r1, r2), SIGNET_E_VERIFY);
        assert_int_equal(merkle_verify_consistency(x->a, x->b, proof, x->n - 1, r1, r2), SIGNET_E_VERIFY);
        memcpy(proof + 32 * x->n, r2, 32);
        assert_int_equal(merkle_verify_consistency(x->a, x->b, proof, x->n + 1, r1, r2), SIGNET_E_VERIFY);
        for (size_t i = 0; i < x->n; i++) {
            proof[32 * i] ^= 16;
            assert_int_equal(merkle_verify_consistency(x->a, x->b, proof, x->n, r1, r2), SIGNET_E_VERIFY);
            proof[32 * i] ^= 16;
        }
    }
    /* Trivial cases of TestVerifyConsistency. */
    uint8_t a[32] = {1}, b[32] = {2};
    assert_int_equal(merkle_verify_consistency(0, 0, NULL, 0, a, a), SIGNET_OK);
    assert_int_equal(merkle_verify_consistency(0, 1, NULL, 0, a, b), SIGNET_OK);
    assert_int_equal(merkle_verify_consistency(1, 1, NULL, 0, b, b), SIGNET_OK);
    assert_int_equal(merkle_verify_consistency(0, 0, NULL, 0, a, b), SIGNET_E_VERIFY);
    assert_int_equal(merkle_verify_consistency(1, 0, NULL, 0, a, b), SIGNET_E_VERIFY);
    assert_int_equal(merkle_verify_consistency(1, 2, NULL, 0, a, b), SIGNET_E_VERIFY);
    assert_int_equal(merkle_verify_consistency(1, 1, a, 1, a, a), SIGNET_E_VERIFY);
    merkle_tree_free(t);
}

/* Every proof of a larger tree generated here verifies (the generator and the
 * verifier agree beyond the published sizes). */
static void generated_proofs(void **state)
{
    merkle_tree *t;
    assert_int_equal(merkle_tree_new(&t), SIGNET_OK);
    for (uint32_t i = 0; i < 70; i++) {
        uint8_t h[32];
        merkle_leaf_hash((const uint8_t *)&i, sizeof i, h);
        assert_int_equal(merkle_tree_append(t, h), SIGNET_OK);
    }
    for (uint64_t size = 1; size <= 70; size++) {
        uint8_t root[32];
        assert_int_equal(merkle_tree_root(t, size, root), SIGNET_OK);
        for (uint64_t i = 0; i < size; i++) {
            sb_wr w;
            sbw_init(&w, 4096);
            assert_int_equal(merkle_tree_inclusion(t, i, size, &w), SIGNET_OK);
            assert_int_equal(merkle_verify_inclusion(i, size, merkle_tree_leaf(t, i), w.p, w.len / 32, root),
                             SIGNET_OK);
            sbw_free(&w);
        }
        for (uint64_t s1 = 1; s1 <= size; s1++) {
            uint8_t r1[32];
            assert_int_equal(merkle_tree_root(t, s1, r1), SIGNET_OK);
            sb_wr w;
            sbw_init(&w, 4096);
            assert_int_equal(merkle_tree_consistency(t, s1, size, &w), SIGNET_OK);
            assert_int_equal(merkle_verify_consistency(s1, size, w.p, w.len / 32, r1, root), SIGNET_OK);
            sbw_free(&w);
        }
    }
    merkle_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roots),
        cmocka_unit_test(inclusion),
        cmocka_unit_test(consistency),
        cmocka_unit_test(generated_proofs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

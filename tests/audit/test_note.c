/* Signed notes against the golang.org/x/mod/sumdb/note example key "PeterNeumann"
 * (a known answer: Ed25519 is deterministic), checkpoints and proof receipts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "signet/audit.h"

static const char VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char SKEY_B64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"; /* 0x01 | seed */
static const char TEXT[] = "If you think cryptography is the answer to your problem,\n"
                           "then you don't know what your problem is.\n";
static const char NOTE[] = "If you think cryptography is the answer to your problem,\n"
                           "then you don't know what your problem is.\n"
                           "\n"
                           "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static signet_rc sign_seed(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, ctx, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t n = 64;
    int ok = k && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(c, sig, &n, msg, len) == 1 && n == 64;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "test signing failed");
}

static void seed(uint8_t out[32])
{
    uint8_t b[33];
    sb_wr w;
    sbw_init_fixed(&w, b, sizeof b);
    assert_int_equal(b64_decode(&w, SKEY_B64, strlen(SKEY_B64), true), SIGNET_OK);
    assert_int_equal(b[0], 1);
    memcpy(out, b + 1, 32);
}

static void vkey_known_answer(void **state)
{
    signet_vkey k;
    assert_int_equal(signet_vkey_parse(VKEY, strlen(VKEY), &k), SIGNET_OK);
    assert_string_equal(k.name, "PeterNeumann");
    assert_int_equal(k.key_id, 0xc74f20a3);
    sb_wr w;
    sbw_init(&w, 256);
    assert_int_equal(signet_vkey_format(&k, &w), SIGNET_OK);
    assert_int_equal(w.len, strlen(VKEY));
    assert_memory_equal(w.p, VKEY, w.len);
    sbw_free(&w);
    /* A wrong id is refused: the key line was altered. */
    char bad[sizeof VKEY];
    memcpy(bad, VKEY, sizeof VKEY);
    bad[13] = bad[13] == '0' ? '1' : '0';
    assert_int_equal(signet_vkey_parse(bad, strlen(bad), &k), SIGNET_E_VERIFY);
    assert_int_equal(signet_vkey_parse("PeterNeumann", 12, &k), SIGNET_E_PARSE);
}

static void note_known_answer(void **state)
{
    uint8_t s[32];
    seed(s);
    signet_vkey k;
    assert_int_equal(signet_vkey_parse(VKEY, strlen(VKEY), &k), SIGNET_OK);
    sb_wr w;
    sbw_init(&w, 4096);
    assert_int_equal(signet_note_sign(TEXT, strlen(TEXT), k.name, k.key_id, sign_seed, s, &w), SIGNET_OK);
    assert_int_equal(w.len, strlen(NOTE));
    assert_memory_equal(w.p, NOTE, w.len);
    sbw_free(&w);
    size_t tlen = 0;
    assert_int_equal(signet_note_open(NOTE, strlen(NOTE), &k, &tlen), SIGNET_OK);
    assert_int_equal(tlen, strlen(TEXT));
}

static void note_rejections(void **state)
{
    signet_vkey k;
    assert_int_equal(signet_vkey_parse(VKEY, strlen(VKEY), &k), SIGNET_OK);
    char buf[1024];
    /* Altered text. */
    snprintf(buf, sizeof buf, "%s", NOTE);
    buf[3] = 'Y';
    assert_int_equal(signet_note_open(buf, strlen(buf), &k, NULL), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "does not verify"));
    /* A foreign signature next to ours is ignored; alone it is not enough. */
    snprintf(buf, sizeof buf, "%s\xe2\x80\x94 EnochRoot AAAAAAAA\n", NOTE);
    assert_int_equal(signet_note_open(buf, strlen(buf), &k, NULL), SIGNET_OK);
    snprintf(buf, sizeof buf, "%s\n\xe2\x80\x94 EnochRoot AAAAAAAA\n", TEXT);
    assert_int_equal(signet_note_open(buf, strlen(buf), &k, NULL), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "no signature by the key PeterNeumann"));
    /* Malformed notes. */
    assert_int_equal(signet_note_open(TEXT, strlen(TEXT), &k, NULL), SIGNET_E_PARSE);
    snprintf(buf, sizeof buf, "%s\n- PeterNeumann AAAA\n", TEXT);
    assert_int_equal(signet_note_open(buf, strlen(buf), &k, NULL), SIGNET_E_PARSE);
    snprintf(buf, sizeof buf, "a\tb\n\n\xe2\x80\x94 PeterNeumann AAAA\n");
    assert_int_equal(signet_note_open(buf, strlen(buf), &k, NULL), SIGNET_E_PARSE);
    snprintf(buf, sizeof buf, "a\xff\n\n\xe2\x80\x94 PeterNeumann AAAA\n");
    assert_int_equal(signet_note_open(buf, strlen(buf), &k, NULL), SIGNET_E_PARSE);
}

static void checkpoint_text(void **state)
{
    signet_checkpoint c = {.origin = "example.com/log", .size = 20852163};
    memset(c.root, 0x42, 32);
    sb_wr w;
    sbw_init(&w, 1024);
    assert_int_equal(signet_checkpoint_format(&c, &w), SIGNET_OK);
    signet_checkpoint p;
    assert_int_equal(signet_checkpoint_parse((char *)w.p, w.len, &p), SIGNET_OK);
    assert_string_equal(p.origin, c.origin);
    assert_int_equal(p.size, c.size);
    assert_memory_equal(p.root, c.root, 32);
    sbw_free(&w);
    const char *bad[] = {
        "o\n012\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n",       /* leading zero */
        "o\n12\nQkJC\n",                                                  /* short root */
        "o\n12\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\next\n",   /* extension line */
        "\n12\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n",         /* no origin */
        "o\n99999999999999999999\nQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n", /* > 2^64 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(signet_checkpoint_parse(bad[i], strlen(bad[i]), &p), SIGNET_E_PARSE);
}

static void receipts(void **state)
{
    uint8_t s[32];
    seed(s);
    signet_vkey k;
    assert_int_equal(signet_vkey_parse(VKEY, strlen(VKEY), &k), SIGNET_OK);
    const char *leaves[] = {"i=0 a", "i=1 b", "i=2 the record", "i=3 c", "i=4 d"};
    merkle_tree *t;
    assert_int_equal(merkle_tree_new(&t), SIGNET_OK);
    for (size_t i = 0; i < 5; i++) {
        uint8_t h[32];
        merkle_leaf_hash((const uint8_t *)leaves[i], strlen(leaves[i]), h);
        assert_int_equal(merkle_tree_append(t, h), SIGNET_OK);
    }
    signet_checkpoint c = {.origin = "PeterNeumann", .size = 5};
    assert_int_equal(merkle_tree_root(t, 5, c.root), SIGNET_OK);
    sb_wr text, note, proof, out;
    sbw_init(&text, 1024);
    sbw_init(&note, 4096);
    sbw_init(&proof, 4096);
    sbw_init(&out, 8192);
    assert_int_equal(signet_checkpoint_format(&c, &text), SIGNET_OK);
    assert_int_equal(signet_note_sign((char *)text.p, text.len, k.name, k.key_id, sign_seed, s, &note), SIGNET_OK);
    assert_int_equal(merkle_tree_inclusion(t, 2, 5, &proof), SIGNET_OK);
    signet_receipt r = {(uint8_t *)leaves[2], strlen(leaves[2]), 2, proof.p, proof.len / 32,
                        (char *)note.p, note.len};
    assert_int_equal(signet_receipt_format(&r, &out), SIGNET_OK);
    assert_non_null(strstr((char *)out.p, "c2sp.org/tlog-proof@v1\nextra "));

    signet_receipt p;
    signet_checkpoint got;
    assert_int_equal(signet_receipt_parse((char *)out.p, out.len, &p), SIGNET_OK);
    assert_int_equal(p.index, 2);
    assert_int_equal(p.extra_len, strlen(leaves[2]));
    assert_int_equal(signet_receipt_verify(&p, &k, &got), SIGNET_OK);
    assert_int_equal(got.size, 5);
    /* Another index or leaf does not verify. */
    p.index = 3;
    assert_int_equal(signet_receipt_verify(&p, &k, NULL), SIGNET_E_VERIFY);
    p.index = 2;
    p.extra[0] ^= 1;
    assert_int_equal(signet_receipt_verify(&p, &k, NULL), SIGNET_E_VERIFY);
    signet_receipt_free(&p);
    /* Malformed receipts. */
    assert_int_equal(signet_receipt_parse("c2sp.org/tlog-proof@v2\nindex 1\n\nx\n", 34, &p), SIGNET_E_PARSE);
    const char *noblank = "c2sp.org/tlog-proof@v1\nindex 1\n";
    assert_int_equal(signet_receipt_parse(noblank, strlen(noblank), &p), SIGNET_E_PARSE);
    const char *badhash = "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx\n";
    assert_int_equal(signet_receipt_parse(badhash, strlen(badhash), &p), SIGNET_E_PARSE);
    sbw_free(&text);
    sbw_free(&note);
    sbw_free(&proof);
    sbw_free(&out);
    merkle_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vkey_known_answer), cmocka_unit_test(note_known_answer),
        cmocka_unit_test(note_rejections),   cmocka_unit_test(checkpoint_text),
        cmocka_unit_test(receipts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

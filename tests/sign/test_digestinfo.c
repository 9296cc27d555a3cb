/* DigestInfo encoding and the PKCS#1 v1.5 block check that the avb helper relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/objects.h>

#include "signet/digestinfo.h"

static void block(uint8_t *b, size_t n, const uint8_t *di, size_t di_len)
{
    b[0] = 0;
    b[1] = 1;
    memset(b + 2, 0xff, n - 3 - di_len);
    b[n - 1 - di_len] = 0;
    memcpy(b + n - di_len, di, di_len);
}

static void round_trip(void **state)
{
    uint8_t digest[64];
    memset(digest, 0xab, sizeof digest);
    const int nids[] = {NID_sha1, NID_sha256, NID_sha384, NID_sha512};
    const size_t lens[] = {20, 32, 48, 64};
    for (int i = 0; i < 4; i++) {
        sb_wr w;
        sbw_init(&w, 128);
        assert_int_equal(signet_digestinfo_encode(nids[i], digest, lens[i], &w), SIGNET_OK);
        int nid;
        const uint8_t *d;
        size_t dl;
        assert_int_equal(signet_digestinfo_parse(w.p, w.len, &nid, &d, &dl), SIGNET_OK);
        assert_int_equal(nid, nids[i]);
        assert_int_equal(dl, lens[i]);
        assert_memory_equal(d, digest, dl);
        /* One byte short or long is not a DigestInfo. */
        assert_int_equal(signet_digestinfo_parse(w.p, w.len - 1, &nid, &d, &dl), SIGNET_E_PARSE);
        sbw_free(&w);
    }
    sb_wr w;
    sbw_init(&w, 128);
    assert_int_equal(signet_digestinfo_encode(NID_sha256, digest, 31, &w), SIGNET_E_ARG);
    assert_int_equal(signet_digestinfo_encode(NID_md5, digest, 16, &w), SIGNET_E_UNSUPPORTED);
    sbw_free(&w);
}

static void pkcs1_blocks(void **state)
{
    uint8_t digest[32] = {1, 2, 3};
    sb_wr di;
    sbw_init(&di, 128);
    assert_int_equal(signet_digestinfo_encode(NID_sha256, digest, 32, &di), SIGNET_OK);
    uint8_t b[256];
    block(b, sizeof b, di.p, di.len);
    const uint8_t *got;
    size_t got_len;
    int nid;
    assert_int_equal(signet_pkcs1_block_parse(b, sizeof b, &got, &got_len, &nid), SIGNET_OK);
    assert_int_equal(nid, NID_sha256);
    assert_int_equal(got_len, di.len);
    assert_memory_equal(got, di.p, di.len);

    uint8_t bad[256];
    memcpy(bad, b, sizeof b);
    bad[1] = 2; /* type 2 (encryption) padding */
    assert_int_equal(signet_pkcs1_block_parse(bad, sizeof bad, &got, &got_len, &nid), SIGNET_E_PARSE);
    memcpy(bad, b, sizeof b);
    bad[10] = 0xfe; /* a hole in the FF run */
    assert_int_equal(signet_pkcs1_block_parse(bad, sizeof bad, &got, &got_len, &nid), SIGNET_E_PARSE);
    memcpy(bad, b, sizeof b);
    bad[sizeof bad - 40] ^= 1; /* damaged DigestInfo prefix */
    assert_int_equal(signet_pkcs1_block_parse(bad, sizeof bad, &got, &got_len, &nid), SIGNET_E_PARSE);
    /* Fewer than 8 bytes of FF padding. */
    uint8_t shortpad[2 + 7 + 1 + 51];
    block(shortpad, sizeof shortpad, di.p, di.len);
    assert_int_equal(signet_pkcs1_block_parse(shortpad, sizeof shortpad, &got, &got_len, &nid),
                     SIGNET_E_PARSE);
    assert_int_equal(signet_pkcs1_block_parse(b, 5, &got, &got_len, &nid), SIGNET_E_PARSE);
    sbw_free(&di);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(pkcs1_blocks)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The ZIP reader on hostile archives: a table of mutations of a small valid
 * archive, each with the error it must produce (never a crash or an overread:
 * run under ASan), plus every truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "signet/zip.h"

static sb_wr base;     /* two stored entries "a" and "bb" */
static size_t cd_off, eocd_off;

static void build(void)
{
    sb_wr cd;
    sbw_init(&base, 1 << 20);
    sbw_init(&cd, 1 << 20);
    assert_int_equal(signet_zip_put_stored("a", (const uint8_t *)"hello", 5, 0, 0x3a21, 0, &base,
                                           &cd), SIGNET_OK);
    uint32_t second = (uint32_t)base.len;
    assert_int_equal(signet_zip_put_stored("bb", (const uint8_t *)"world!", 6, 0, 0x3a21, second,
                                           &base, &cd), SIGNET_OK);
    cd_off = base.len;
    sbw_put(&base, cd.p, cd.len);
    eocd_off = base.len;
    sbw_u32_le(&base, SIGNET_ZIP_EOCD_SIG);
    sbw_zero(&base, 4);
    sbw_u16_le(&base, 2);
    sbw_u16_le(&base, 2);
    sbw_u32_le(&base, (uint32_t)cd.len);
    sbw_u32_le(&base, (uint32_t)cd_off);
    sbw_u16_le(&base, 0);
    sbw_free(&cd);
}

struct mutation {
    const char *name;
    size_t (*where)(void); /* offset to patch */
    uint8_t xor_mask;
    signet_rc rc;
    const char *message;
};

static size_t at_eocd_cd_offset(void) { return eocd_off + 18; }
static size_t at_eocd_count(void) { return eocd_off + 10; }
static size_t at_cd_lfh_offset(void) { return cd_off + 42; }
static size_t at_cd_sig(void) { return cd_off; }
static size_t at_lfh_sig(void) { return 0; }
static size_t at_lfh_name(void) { return 30; }
static size_t at_cd_size(void) { return cd_off + 20; }
static size_t at_cd_method(void) { return cd_off + 10; }
static size_t at_cd_flags(void) { return cd_off + 8; }
static size_t at_cd_name_len(void) { return cd_off + 28; }
static size_t at_eocd_disk(void) { return eocd_off + 4; }

static const struct mutation rows[] = {
    {"directory offset past the end", at_eocd_cd_offset, 0x01, SIGNET_E_PARSE, "runs past"},
    {"more records than the directory holds", at_eocd_count, 0x07, SIGNET_E_PARSE, "central directory record"},
    {"local header offset points nowhere", at_cd_lfh_offset, 0x03, SIGNET_E_PARSE, "entry 'a'"},
    {"bad central directory signature", at_cd_sig, 0xff, SIGNET_E_PARSE, "record 1 of 2"},
    {"bad local header signature", at_lfh_sig, 0xff, SIGNET_E_PARSE, "no local file header"},
    {"local name differs", at_lfh_name, 0x01, SIGNET_E_PARSE, "names another entry"},
    {"sizes disagree", at_cd_size, 0x01, SIGNET_E_PARSE, "disagree"},
    {"unknown compression", at_cd_method, 0x03, SIGNET_E_PARSE, "neither stored nor deflated"},
    {"descriptor flag only in the directory", at_cd_flags, 0x08, SIGNET_E_PARSE, "data descriptor"},
    {"name runs past the directory", at_cd_name_len, 0x80, SIGNET_E_PARSE, "runs past"},
    {"multi-disk", at_eocd_disk, 0x01, SIGNET_E_PARSE, "multi-disk"},
};

static void test_valid(void **state)
{
    signet_zip z;
    assert_int_equal(signet_zip_parse(base.p, base.len, &z), SIGNET_OK);
    assert_int_equal(z.n, 2);
    assert_false(z.has_signing_block);
    const signet_zip_entry *e = signet_zip_find(&z, "bb");
    assert_non_null(e);
    sb_wr out;
    sbw_init(&out, 100);
    assert_int_equal(signet_zip_extract(&z, e, 100, &out), SIGNET_OK);
    assert_memory_equal(out.p, "world!", 6);
    sbw_free(&out);
    signet_zip_free(&z);
}

static void test_mutations(void **state)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t *copy = malloc(base.len);
        memcpy(copy, base.p, base.len);
        copy[rows[i].where()] ^= rows[i].xor_mask;
        signet_zip z;
        signet_rc rc = signet_zip_parse(copy, base.len, &z);
        if (rc != rows[i].rc || !strstr(signet_errmsg(), rows[i].message))
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", rows[i].name, signet_rc_name(rc),
                     signet_errmsg(), signet_rc_name(rows[i].rc), rows[i].message);
        free(copy);
    }
}

static void test_zip64_refused(void **state)
{
    sb_wr w;
    sbw_init(&w, 1 << 20);
    sbw_put(&w, base.p, eocd_off);
    sbw_u32_le(&w, 0x07064b50); /* a ZIP64 locator before the end record */
    sbw_zero(&w, 16);
    sbw_put(&w, base.p + eocd_off, base.len - eocd_off);
    put_le32(w.p + w.len - 6, (uint32_t)cd_off);
    signet_zip z;
    assert_int_equal(signet_zip_parse(w.p, w.len, &z), SIGNET_E_UNSUPPORTED);
    sbw_free(&w);
}

static void test_truncations(void **state)
{
    for (size_t n = 0; n < base.len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, base.p, n);
        signet_zip z;
        assert_int_not_equal(signet_zip_parse(copy, n, &z), SIGNET_OK);
        free(copy);
    }
}

static void test_alignment_extra(void **state)
{
    /* another field survives, old padding and an old alignment field go, and the
     * data lands on the boundary */
    static const uint8_t extra[] = {0x55, 0x54, 2, 0, 0xaa, 0xbb, 0, 0, 0, 0, 0x35, 0xd9, 2, 0, 4, 0};
    for (unsigned align = 4; align <= 16384; align *= 4) {
        for (uint64_t start = 30; start < 70; start += 7) {
            sb_wr w;
            sbw_init(&w, 1 << 16);
            assert_int_equal(signet_zip_align_extra(extra, sizeof extra, start, align, false, &w),
                             SIGNET_OK);
            assert_memory_equal(w.p, extra, 6);
            assert_int_equal((start + w.len) % align, 0);
            assert_int_equal(signet_zip_extra_alignment(w.p, w.len), (int)align);
            sbw_free(&w);
        }
    }
    assert_int_equal(signet_zip_extra_alignment(extra, 6), -1);
}

int main(void)
{
    build();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_zip64_refused),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_alignment_extra),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sbw_free(&base);
    return rc;
}

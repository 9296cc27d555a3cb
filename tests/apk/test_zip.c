/* The ZIP reader on hostile archives: a table of mutations of a small valid
 * archive, each with the error it must produce (never a crash or an overread:
 * run under ASan), plus every truncation; a ZIP64 archive from Info-ZIP and its
 * hostile variants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
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
    {"more records than the directory holds", at_eocd_count, 0x07, SIGNET_E_PARSE, "more than a"},
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

/* A locator that points at no ZIP64 end record. */
static void test_zip64_bad_locator(void **state)
{
    sb_wr w;
    sbw_init(&w, 1 << 20);
    sbw_put(&w, base.p, eocd_off);
    sbw_u32_le(&w, 0x07064b50); /* a ZIP64 locator before the end record */
    sbw_zero(&w, 16);
    sbw_put(&w, base.p + eocd_off, base.len - eocd_off);
    put_le32(w.p + w.len - 6, (uint32_t)cd_off);
    signet_zip z;
    assert_int_equal(signet_zip_parse(w.p, w.len, &z), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "does not point at a ZIP64 end record"));
    sbw_free(&w);
}

/* An archive Info-ZIP wrote with ZIP64 forced (`zip -fz`: ZIP64 end record and
 * locator, directory offset 0xffffffff in the end record, sizes in ZIP64 extra
 * fields of the local headers and the directory) reads like any other; then its
 * hostile variants. */
static sb_wr z64;

static int make_zip64(void)
{
    char dir[] = "/tmp/signet-zip64-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cd %s && printf 'hello zip64' > a.txt && head -c 3000 /dev/zero "
                              "> b.bin && zip -q -0 -fz -X z.zip a.txt b.bin", dir);
    int rc = system(cmd);
    snprintf(cmd, sizeof cmd, "%s/z.zip", dir);
    FILE *f = rc == 0 ? fopen(cmd, "rb") : NULL;
    sbw_init(&z64, 1 << 20);
    uint8_t buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
        sbw_put(&z64, buf, n);
    if (f)
        fclose(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0 || !f)
        return -1;
    return 0;
}

static signet_rc parse_copy(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees an over-read */
    memcpy(copy, p, n);
    signet_zip z;
    signet_rc rc = signet_zip_parse(copy, n, &z);
    if (rc == SIGNET_OK)
        signet_zip_free(&z);
    free(copy);
    return rc;
}

static signet_rc parse_mutated(size_t at, const void *bytes, size_t n)
{
    uint8_t *copy = malloc(z64.len);
    memcpy(copy, z64.p, z64.len);
    memcpy(copy + at, bytes, n);
    signet_zip z;
    signet_rc rc = signet_zip_parse(copy, z64.len, &z);
    if (rc == SIGNET_OK)
        signet_zip_free(&z);
    free(copy);
    return rc;
}

static void test_zip64_read(void **state)
{
    assert_int_equal(make_zip64(), 0);
    signet_zip z;
    assert_int_equal(signet_zip_parse(z64.p, z64.len, &z), SIGNET_OK);
    assert_true(z.zip64);
    assert_int_equal(z.n, 2);
    const signet_zip_entry *b = signet_zip_find(&z, "b.bin");
    assert_non_null(b);
    assert_true(b->zip64);
    assert_int_equal(b->usize, 3000);
    assert_int_equal(b->csize, 3000);
    sb_wr out;
    sbw_init(&out, 1 << 16);
    assert_int_equal(signet_zip_extract(&z, signet_zip_find(&z, "a.txt"), 1 << 16, &out),
                     SIGNET_OK);
    assert_int_equal(out.len, 11);
    assert_memory_equal(out.p, "hello zip64", 11);
    /* writing refuses ZIP64 entries instead of copying fields it would break */
    sbw_reset(&out);
    assert_int_equal(signet_zip_put_cd(b, 0, &out), SIGNET_E_UNSUPPORTED);
    sbw_free(&out);
    size_t eocd = z.eocd_offset, loc = eocd - 20, e64 = z.eocd64_offset, cd = z.cd_offset;
    signet_zip_free(&z);

    for (size_t n = 0; n < z64.len; n++)
        assert_int_not_equal(parse_copy(z64.p, n), SIGNET_OK);
    /* the locator one byte off, the end records disagreeing on the count, a ZIP64
     * end record claiming another disk, a directory beyond 4 GiB */
    uint8_t off[8];
    put_le64(off, e64 + 1);
    assert_int_equal(parse_mutated(loc + 8, off, 8), SIGNET_E_PARSE);
    assert_int_equal(parse_mutated(eocd + 10, "\x01\x00", 2), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "disagree"));
    assert_int_equal(parse_mutated(e64 + 16, "\x01", 1), SIGNET_E_PARSE);
    assert_int_equal(parse_mutated(e64 + 48 + 4, "\x01", 1), SIGNET_E_UNSUPPORTED);
    /* the first directory record's ZIP64 extra: its id changed, its value >= 4 GiB */
    size_t x = cd + SIGNET_ZIP_CDH_LEN + le16(z64.p + cd + 28);
    while (le16(z64.p + x) != 0x0001)
        x += 4 + le16(z64.p + x + 2);
    assert_int_equal(parse_mutated(x, "\x02\x00", 2), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "no ZIP64 extra field"));
    assert_int_equal(parse_mutated(x + 4 + 4, "\x01", 1), SIGNET_E_UNSUPPORTED);
    sbw_free(&z64);
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
        cmocka_unit_test(test_zip64_bad_locator),
        cmocka_unit_test(test_zip64_read),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_alignment_extra),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sbw_free(&base);
    return rc;
}

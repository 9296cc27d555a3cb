/* The trail built through the API: a valid trail verifies with a usage summary,
 * receipts prove artifacts offline, drains keep gaps honest and refuse entries
 * that do not chain, and a torn tail is exactly one incomplete record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "trail_fixture.h"

static void build(struct tfx *f)
{
    tfx_init(f);
    tfx_sign(f, "platform", 0x0010, "platform artifact");
    tfx_sign(f, "releasekey", 0x0011, "release artifact 1");
    tfx_checkpoint(f);
    tfx_sign(f, "releasekey", 0x0011, "release artifact 2");
    tfx_sign(f, "media", 0x0012, "media artifact");
    tfx_checkpoint(f);
}

static void valid_trail(void **state)
{
    struct tfx f;
    build(&f);
    signet_report *r;
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_OK);
    assert_int_equal(signet_report_count(r), 0);
    assert_int_equal(signet_report_usage_count(r), 3);
    for (size_t i = 0; i < 3; i++) {
        const signet_key_usage *u = signet_report_usage(r, i);
        uint64_t want = strcmp(u->key_name, "releasekey") == 0 ? 2 : 1;
        assert_int_equal(u->count, want);
    }
    signet_report_free(r);
    /* 2 anchor entries + 4 x (2 entries + 1 record). */
    assert_int_equal(signet_trail_size(f.t), 14);
    tfx_cleanup(&f);
}

static void reopen_continues(void **state)
{
    struct tfx f;
    build(&f);
    /* Another process: fresh handle, lock, append; leaf indexes continue. */
    signet_trail_close(f.t);
    assert_int_equal(signet_trail_open(f.dir, &f.t), SIGNET_OK);
    assert_int_equal(signet_trail_lock(f.t), SIGNET_OK);
    assert_int_equal(signet_trail_size(f.t), 14);
    tfx_sign(&f, "platform", 0x0010, "again");
    tfx_checkpoint(&f);
    signet_report *r;
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_OK);
    signet_report_free(r);
    tfx_cleanup(&f);
}

static void expectations(void **state)
{
    struct tfx f;
    build(&f);
    char *p = tfx_path(&f, "expect.txt");
    FILE *e = fopen(p, "w");
    fprintf(e, "# release 1\nplatform 1\nreleasekey 2\nmedia 1\n");
    fclose(e);
    signet_verify_opts o = {.expect_path = p};
    signet_report *r;
    assert_int_equal(tfx_verify(&f, &o, &r), SIGNET_OK);
    signet_report_free(r);
    e = fopen(p, "w");
    fprintf(e, "platform 2\nreleasekey 2\n");
    fclose(e);
    assert_int_equal(tfx_verify(&f, &o, &r), SIGNET_E_VERIFY);
    assert_int_equal(tfx_count(r, SIGNET_FIND_EXPECT), 2); /* platform 1 != 2; media unlisted */
    signet_report_free(r);
    free(p);
    tfx_cleanup(&f);
}

static void receipt_for_artifact(void **state)
{
    struct tfx f;
    build(&f);
    uint8_t sha[32];
    const char *art = "release artifact 2";
    SHA256((const uint8_t *)art, strlen(art), sha);
    sb_wr w;
    sbw_init(&w, 1 << 20);
    assert_int_equal(signet_trail_prove(f.dir, sha, &w), SIGNET_OK);
    signet_receipt rc;
    assert_int_equal(signet_receipt_parse((char *)w.p, w.len, &rc), SIGNET_OK);
    signet_checkpoint cp;
    assert_int_equal(signet_receipt_verify(&rc, &f.vk, &cp), SIGNET_OK);
    assert_int_equal(cp.size, 14);
    signet_record rec;
    assert_int_equal(signet_record_parse((char *)rc.extra, rc.extra_len, &rec), SIGNET_OK);
    assert_true(rec.has_artifact_sha256);
    assert_memory_equal(rec.artifact_sha256, sha, 32);
    assert_string_equal(rec.key_name, "releasekey");
    signet_receipt_free(&rc);
    /* A foreign key does not verify it. */
    signet_vkey other = f.vk;
    other.pub[0] ^= 1;
    assert_int_equal(signet_receipt_parse((char *)w.p, w.len, &rc), SIGNET_OK);
    assert_int_equal(signet_receipt_verify(&rc, &other, NULL), SIGNET_E_VERIFY);
    signet_receipt_free(&rc);
    sbw_free(&w);
    /* An artifact never signed has no receipt. */
    sha[0] ^= 1;
    sbw_init(&w, 1 << 20);
    assert_int_equal(signet_trail_prove(f.dir, sha, &w), SIGNET_E_NOTFOUND);
    sbw_free(&w);
    tfx_cleanup(&f);
}

static void torn_tail(void **state)
{
    struct tfx f;
    build(&f);
    size_t len;
    char *d = tfx_read(&f, "records.log", &len);
    /* A crash in the middle of appending a record. */
    const char torn[] = "i=14 type=sign t=2024-01-01T00:00:00Z host=bu";
    char *nd = malloc(len + sizeof torn);
    memcpy(nd, d, len);
    memcpy(nd + len, torn, sizeof torn - 1);
    tfx_write(&f, "records.log", nd, len + sizeof torn - 1);
    signet_report *r;
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_E_VERIFY);
    assert_int_equal(signet_report_count(r), 1);
    assert_int_equal(tfx_count(r, SIGNET_FIND_TORN_TAIL), 1);
    assert_non_null(strstr(signet_report_finding(r, 0)->msg, "1 incomplete tail record"));
    signet_report_free(r);
    /* The next writer sets it aside and the trail verifies again. */
    signet_trail_unlock(f.t);
    assert_int_equal(signet_trail_lock(f.t), SIGNET_OK);
    assert_int_equal(signet_trail_size(f.t), 14);
    char *after = tfx_read(&f, "records.log", NULL);
    assert_string_equal(after, d);
    char *inc = tfx_read(&f, "incomplete.log", NULL);
    assert_non_null(strstr(inc, "file=records.log"));
    tfx_sign(&f, "platform", 0x0010, "after the crash");
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_OK);
    signet_report_free(r);
    free(d);
    free(nd);
    free(after);
    free(inc);
    tfx_cleanup(&f);
}

static void drain_gap_and_refusal(void **state)
{
    struct tfx f;
    tfx_init(&f);
    /* The ring overwrote 3 entries before this drain: kept, counted, reported. */
    tfx_entry(&f, YH_CMD_ECHO, 0xffff, 0x81);
    tfx_entry(&f, YH_CMD_ECHO, 0xffff, 0x81);
    tfx_entry(&f, YH_CMD_ECHO, 0xffff, 0x81);
    yh_log_entry e = tfx_entry(&f, YH_CMD_ECHO, 0xffff, 0x81);
    signet_drain_result d;
    tfx_ingest(&f, &e, 1, &d);
    assert_int_equal(d.lost, 3);
    assert_int_equal(d.n_new, 1);
    assert_int_equal(d.entries[0].seq, 6);
    /* Entries already drained come back (not consumed): nothing new. */
    tfx_ingest(&f, &e, 1, &d);
    assert_int_equal(d.n_new, 0);
    /* An entry that does not chain is refused and nothing is appended. */
    yh_log_entry bad = tfx_entry(&f, YH_CMD_ECHO, 0xffff, 0x81);
    bad.digest[0] ^= 1;
    hsm_log log = {.n = 1};
    log.entries[0] = bad;
    uint64_t before = signet_trail_size(f.t);
    assert_int_equal(signet_trail_ingest(f.t, f.serial, &log, &d), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "does not chain"));
    assert_int_equal(signet_trail_size(f.t), before);
    /* Unlogged events are kept and reported. */
    log.n = 0;
    log.unlogged_auths = 2;
    assert_int_equal(signet_trail_ingest(f.t, f.serial, &log, &d), SIGNET_OK);
    signet_report *r;
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_E_VERIFY);
    assert_int_equal(tfx_count(r, SIGNET_FIND_GAP), 1);
    assert_int_equal(tfx_count(r, SIGNET_FIND_UNLOGGED), 1);
    signet_report_free(r);
    /* Without an anchor a device cannot be drained. */
    log.unlogged_auths = 0;
    assert_int_equal(signet_trail_ingest(f.t, 999, &log, &d), SIGNET_E_STATE);
    tfx_cleanup(&f);
}

/* Anchored, but nobody set the log index: the next drain sees entries 1 and 2
 * again before the new ones.  That is the same history, not a reset. */
static void reread_after_anchor(void **state)
{
    struct tfx f;
    tfx_init(&f);
    hsm_log log;
    memset(&log, 0, sizeof log);
    memset(&log.entries[0], 0xff, sizeof log.entries[0]);
    log.entries[0].number = 1;
    yh_log_entry boot = {.number = 2, .session_key = 0xffff};
    yh_log_digest(&boot, log.entries[0].digest, boot.digest);
    log.entries[1] = boot;
    log.entries[2] = tfx_entry(&f, YH_CMD_SIGN_PKCS1, 0x0101, YH_RESPONSE(YH_CMD_SIGN_PKCS1));
    log.n = 3;
    signet_drain_result d;
    assert_int_equal(signet_trail_ingest(f.t, f.serial, &log, &d), SIGNET_OK);
    assert_false(d.restarted);
    assert_int_equal(d.n_new, 1);
    assert_int_equal(d.entries[0].seq, 3);
    tfx_cleanup(&f);
}

static void locking_required(void **state)
{
    struct tfx f;
    tfx_init(&f);
    signet_trail_unlock(f.t);
    signet_record r = {.type = SIGNET_REC_SERVICE, .event = "out", .seq = 1};
    assert_int_equal(signet_trail_append_record(f.t, &r), SIGNET_E_STATE);
    assert_int_equal(signet_trail_lock(f.t), SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f.t, &r), SIGNET_OK);
    tfx_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_trail),          cmocka_unit_test(reopen_continues),
        cmocka_unit_test(expectations),         cmocka_unit_test(receipt_for_artifact),
        cmocka_unit_test(torn_tail),            cmocka_unit_test(drain_gap_and_refusal),
        cmocka_unit_test(reread_after_anchor),
        cmocka_unit_test(locking_required),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Records that point at other records: reuses (signing-cache hits) and bindings
 * (an output file bound to the signatures it carries).  A good trail verifies and
 * proves the output; each bad pointer is one row of a table with its own finding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "trail_fixture.h"

struct base {
    struct tfx f;
    uint64_t s1, s2;          /* sign records of "a1" (platform) and "a2" (releasekey) */
    signet_record *orig;      /* the record at s1 */
};

static void base_init(struct base *b)
{
    tfx_init(&b->f);
    b->s1 = tfx_sign(&b->f, "platform", 0x0010, "a1");
    b->s2 = tfx_sign(&b->f, "releasekey", 0x0011, "a2");
    b->orig = calloc(1, sizeof *b->orig);
    assert_non_null(b->orig);
    tfx_record_at(&b->f, b->s1, b->orig);
}

static void base_free(struct base *b)
{
    free(b->orig);
    tfx_cleanup(&b->f);
}

/* The reuse a signing cache writes for the signature at s1. */
static signet_rec_sig reuse_of(const signet_record *o)
{
    return (signet_rec_sig){.key_name = o->key_name, .key_id = o->key_id, .command = o->command,
                            .data_sha256 = o->data_sha256, .sig = o->sig, .sig_len = o->sig_len,
                            .artifact = o->artifact, .artifact_sha256 = o->artifact_sha256,
                            .caller = "signet apk sign --batch list"};
}

static uint64_t append(struct base *b, signet_record *r)
{
    signet_rc rc = signet_trail_append_record(b->f.t, r);
    if (rc)
        fprintf(stderr, "append: %s\n", signet_errmsg());
    assert_int_equal(rc, SIGNET_OK);
    return r->index;
}

static const uint8_t OUT_SHA[32] = {0x5a, 0x5a, 0x01};

static uint64_t append_bind(struct base *b, const uint64_t *covers, size_t n)
{
    signet_record *r = calloc(1, sizeof *r);
    assert_int_equal(signet_record_bind(r, b->f.serial, TFX_AUTH, b->orig->artifact, b->orig->artifact_sha256,
                                        "signed/platform.apk", OUT_SHA, covers, n, "signet apk sign"),
                     SIGNET_OK);
    uint64_t i = append(b, r);
    free(r);
    return i;
}

static void good_trail_verifies_and_proves_the_output(void **state)
{
    (void)state;
    struct base b;
    base_init(&b);
    signet_record *r = calloc(1, sizeof *r);
    signet_rec_sig w = reuse_of(b.orig);
    assert_int_equal(signet_record_reuse(r, b.f.serial, TFX_AUTH, &w, b.s1), SIGNET_OK);
    uint64_t reuse = append(&b, r);
    uint64_t covers[] = {reuse, b.s1}; /* any order: the builder sorts */
    uint64_t bind = append_bind(&b, covers, 2);
    tfx_checkpoint(&b.f);

    signet_report *rep;
    assert_int_equal(tfx_verify(&b.f, NULL, &rep), SIGNET_OK);
    bool seen = false;
    for (size_t i = 0; i < signet_report_usage_count(rep); i++) {
        const signet_key_usage *u = signet_report_usage(rep, i);
        if (strcmp(u->key_name, "platform") == 0) {
            assert_int_equal(u->count, 1);
            assert_int_equal(u->reuses, 1);
            seen = true;
        }
    }
    assert_true(seen);
    signet_report_free(rep);

    /* The receipt for the output file proves the binding record. */
    sb_wr w2;
    sbw_init(&w2, 1 << 20);
    assert_int_equal(signet_trail_prove(b.f.dir, OUT_SHA, &w2), SIGNET_OK);
    signet_receipt rc;
    signet_checkpoint cp;
    assert_int_equal(signet_receipt_parse((char *)w2.p, w2.len, &rc), SIGNET_OK);
    assert_int_equal(signet_receipt_verify(&rc, &b.f.vk, &cp), SIGNET_OK);
    assert_int_equal(rc.index, bind);
    assert_int_equal(signet_record_parse((char *)rc.extra, rc.extra_len, r), SIGNET_OK);
    assert_int_equal(r->type, SIGNET_REC_BIND);
    assert_true(signet_record_names(r, OUT_SHA));
    assert_false(signet_record_names(r, b.orig->artifact_sha256));
    assert_int_equal(r->n_covers, 2);
    assert_true(r->covers[0] == b.s1 && r->covers[1] == reuse);
    signet_receipt_free(&rc);
    sbw_free(&w2);
    free(r);
    base_free(&b);
}

/* ---- the table of bad pointers -------------------------------------------------- */

typedef void (*mutate_fn)(struct base *b);

static void reuse_with(struct base *b, void (*edit)(signet_rec_sig *w, uint8_t *scratch), uint64_t original)
{
    signet_record *r = calloc(1, sizeof *r);
    signet_rec_sig w = reuse_of(b->orig);
    uint8_t scratch[512];
    if (edit)
        edit(&w, scratch);
    assert_int_equal(signet_record_reuse(r, b->f.serial, TFX_AUTH, &w, original), SIGNET_OK);
    append(b, r);
    free(r);
}

static void other_key(signet_rec_sig *w, uint8_t *s) { (void)s; w->key_id = 0x0011; }
static void other_mech(signet_rec_sig *w, uint8_t *s) { (void)s; w->command = YH_CMD_SIGN_PSS; }
static void other_data(signet_rec_sig *w, uint8_t *s)
{
    memcpy(s, w->data_sha256, 32);
    s[0] ^= 1;
    w->data_sha256 = s;
}
static void other_sig(signet_rec_sig *w, uint8_t *s)
{
    memcpy(s, w->sig, w->sig_len);
    s[7] ^= 0x80;
    w->sig = s;
}

static void reuse_device_entry(struct base *b) { reuse_with(b, NULL, 0); }
static void reuse_other_key(struct base *b) { reuse_with(b, other_key, b->s1); }
static void reuse_other_mech(struct base *b) { reuse_with(b, other_mech, b->s1); }
static void reuse_other_data(struct base *b) { reuse_with(b, other_data, b->s1); }
static void reuse_other_sig(struct base *b) { reuse_with(b, other_sig, b->s1); }
static void reuse_of_reuse(struct base *b)
{
    reuse_with(b, NULL, b->s1);
    reuse_with(b, NULL, signet_trail_size(b->f.t) - 1);
}
static void reuse_of_key_record(struct base *b)
{
    signet_record *r = calloc(1, sizeof *r);
    assert_int_equal(signet_record_key(r, b->f.serial, TFX_AUTH, 0, "generated", "platform", 0x0010, NULL),
                     SIGNET_OK);
    uint64_t k = append(b, r);
    free(r);
    reuse_with(b, NULL, k);
}

static void bind_device_entry(struct base *b)
{
    uint64_t c[] = {b->s1, 1};
    append_bind(b, c, 2);
}
static void bind_other_artifact(struct base *b)
{
    uint64_t c[] = {b->s1, b->s2};
    append_bind(b, c, 2);
}
static void bind_key_record(struct base *b)
{
    signet_record *r = calloc(1, sizeof *r);
    assert_int_equal(signet_record_key(r, b->f.serial, TFX_AUTH, 0, "imported", "platform", 0x0010, NULL),
                     SIGNET_OK);
    uint64_t c[] = {b->s1, append(b, r)};
    free(r);
    append_bind(b, c, 2);
}
static void bind_missing_leaf(struct base *b)
{
    /* A line the binding names, deleted afterwards (its own finding too). */
    uint64_t victim = tfx_sign(&b->f, "platform", 0x0010, "a1");
    uint64_t c[] = {b->s1, victim};
    append_bind(b, c, 2);
    char *recs = tfx_read(&b->f, "records.log", NULL);
    char needle[32];
    snprintf(needle, sizeof needle, "i=%llu ", (unsigned long long)victim);
    char *line = strstr(recs, needle);
    assert_non_null(line);
    char *nl = strchr(line, '\n');
    memmove(line, nl + 1, strlen(nl + 1) + 1);
    tfx_write(&b->f, "records.log", recs, strlen(recs));
    free(recs);
}

static const struct {
    const char *name;
    mutate_fn mutate;
    signet_finding_kind kind;
    const char *msg;
} ROWS[] = {
    {"reuse names a device entry", reuse_device_entry, SIGNET_FIND_REUSE, "a device log entry"},
    {"reuse by another key", reuse_other_key, SIGNET_FIND_REUSE, "by another key"},
    {"reuse with another mechanism", reuse_other_mech, SIGNET_FIND_REUSE, "another mechanism"},
    {"reuse over other data", reuse_other_data, SIGNET_FIND_REUSE, "over other data"},
    {"reuse with another signature", reuse_other_sig, SIGNET_FIND_REUSE, "a different signature"},
    {"reuse of a reuse", reuse_of_reuse, SIGNET_FIND_REUSE, "another reuse"},
    {"reuse of a key record", reuse_of_key_record, SIGNET_FIND_REUSE, "not a sign record"},
    {"binding names a device entry", bind_device_entry, SIGNET_FIND_BINDING, "a device log entry"},
    {"binding names another artifact's signature", bind_other_artifact, SIGNET_FIND_BINDING,
     "another artifact"},
    {"binding names a key record", bind_key_record, SIGNET_FIND_BINDING, "a key record, not a signature"},
    {"binding names a deleted line", bind_missing_leaf, SIGNET_FIND_BINDING, "missing from the trail"},
};

static void bad_pointers_are_findings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++) {
        struct base b;
        base_init(&b);
        ROWS[i].mutate(&b);
        signet_report *r;
        assert_int_equal(tfx_verify(&b.f, NULL, &r), SIGNET_E_VERIFY);
        bool found = false;
        for (size_t k = 0; k < signet_report_count(r); k++) {
            const signet_finding *x = signet_report_finding(r, k);
            found |= x->kind == ROWS[i].kind && strstr(x->msg, ROWS[i].msg) != NULL;
        }
        if (!found) {
            fprintf(stderr, "row '%s': expected a finding with '%s'\n", ROWS[i].name, ROWS[i].msg);
            signet_report_print(r, stderr);
        }
        assert_true(found);
        signet_report_free(r);
        base_free(&b);
    }
}

/* ---- lines ------------------------------------------------------------------------ */

static void lines_round_trip_and_bad_lists_are_refused(void **state)
{
    (void)state;
    signet_record *r = calloc(1, sizeof *r), *p = calloc(1, sizeof *p);
    uint8_t in[32] = {1}, out[32] = {2};
    uint64_t covers[] = {17, 5, 9};
    assert_int_equal(signet_record_bind(r, 7, 2, "in.apk", in, "out dir/out.apk", out, covers, 3, NULL),
                     SIGNET_OK);
    r->index = 40;
    r->time = 1700000000;
    snprintf(r->host, sizeof r->host, "h");
    sb_wr w;
    sbw_init(&w, SIGNET_LINE_MAX + 2);
    assert_int_equal(signet_record_format(r, &w), SIGNET_OK);
    assert_non_null(strstr((char *)w.p, " covers=5,9,17"));
    assert_non_null(strstr((char *)w.p, " output=out%20dir/out.apk "));
    assert_int_equal(signet_record_parse((char *)w.p, w.len, p), SIGNET_OK);
    assert_int_equal(p->type, SIGNET_REC_BIND);
    assert_int_equal(p->n_covers, 3);
    assert_memory_equal(p->output_sha256, out, 32);
    assert_string_equal(p->output, "out dir/out.apk");

    /* Builders refuse what the format cannot hold. */
    uint64_t twice[] = {5, 5};
    assert_int_equal(signet_record_bind(r, 7, 2, "in", in, "out", out, twice, 2, NULL), SIGNET_E_ARG);
    assert_int_equal(signet_record_bind(r, 7, 2, "in", in, "out", out, covers, 0, NULL), SIGNET_E_ARG);
    char longname[2000];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(signet_record_bind(r, 7, 2, longname, in, "out", out, covers, 3, NULL), SIGNET_E_ARG);

    /* Lines a verifier must refuse. */
    char good[SIGNET_LINE_MAX];
    snprintf(good, sizeof good, "%.*s", (int)w.len, (char *)w.p);
    static const struct {
        const char *from, *to;
    } BAD[] = {
        {"covers=5,9,17", "covers=9,5,17"}, {"covers=5,9,17", "covers=5,5,17"},
        {"covers=5,9,17", "covers=05,9,17"}, {"covers=5,9,17", "covers=5,,17"},
        {"covers=5,9,17", "covers=5,9,"},   {"covers=5,9,17", "covers="},
        {"covers=5,9,17", "covers=5,9,40"}, {"covers=5,9,17", "covers=5,x,17"},
        {" output=out%20dir/out.apk", ""},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char line[SIGNET_LINE_MAX];
        char *at = strstr(good, BAD[i].from);
        assert_non_null(at);
        snprintf(line, sizeof line, "%.*s%s%s", (int)(at - good), good, BAD[i].to, at + strlen(BAD[i].from));
        if (signet_record_parse(line, strlen(line), p) != SIGNET_E_PARSE)
            fail_msg("accepted: %s", line);
    }
    sbw_free(&w);

    /* A reuse line round-trips and must name an earlier original. */
    uint8_t data[32] = {3}, sig[64] = {4};
    signet_rec_sig s = {.key_name = "k", .key_id = 0x10, .command = YH_CMD_SIGN_EDDSA, .data_sha256 = data,
                        .sig = sig, .sig_len = 64};
    assert_int_equal(signet_record_reuse(r, 7, 2, &s, 12), SIGNET_OK);
    r->index = 12;
    r->time = 1700000000;
    sbw_init(&w, SIGNET_LINE_MAX + 2);
    assert_int_equal(signet_record_format(r, &w), SIGNET_E_ARG);
    r->index = 13;
    sbw_free(&w);
    sbw_init(&w, SIGNET_LINE_MAX + 2);
    assert_int_equal(signet_record_format(r, &w), SIGNET_OK);
    assert_non_null(strstr((char *)w.p, " orig=12"));
    assert_int_equal(signet_record_parse((char *)w.p, w.len, p), SIGNET_OK);
    assert_int_equal(p->type, SIGNET_REC_REUSE);
    assert_int_equal(p->original, 12);
    assert_int_equal(p->seq, 0);
    sbw_free(&w);

    /* A group of records formatted into one buffer (a batch's group commit): the
     * line limit is per record, not for the group. */
    sbw_init(&w, 64 * (SIGNET_LINE_MAX + 2));
    for (int i = 0; i < 40; i++) {
        assert_int_equal(signet_record_bind(r, 7, 2, longname + 1000, in, "out.apk", out, covers, 1,
                                            NULL), SIGNET_OK);
        r->index = 100 + (uint64_t)i;
        r->time = 1700000000;
        assert_int_equal(signet_record_format(r, &w), SIGNET_OK);
        assert_int_equal(sbw_u8(&w, '\n'), SIGNET_OK);
    }
    assert_true(w.len > 2 * SIGNET_LINE_MAX);
    sbw_free(&w);
    free(r);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_trail_verifies_and_proves_the_output),
        cmocka_unit_test(bad_pointers_are_findings),
        cmocka_unit_test(lines_round_trip_and_bad_lists_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

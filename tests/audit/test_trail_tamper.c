/* The tamper matrix: every way of changing a trail after the fact is detected,
 * each with its own finding.  The simple ones are rows of one table (name,
 * mutation, expected finding, message fragment); a replayed older copy, a fork and
 * a rewritten git history need more than one step and have their own tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "trail_fixture.h"

#define MAXL 256

struct lines {
    char *buf;
    char *l[MAXL];
    size_t n;
};

static void lines_read(const struct tfx *f, const char *name, struct lines *ls)
{
    ls->buf = tfx_read(f, name, NULL);
    ls->n = 0;
    for (char *p = ls->buf; *p && ls->n < MAXL;) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = 0;
        ls->l[ls->n++] = p;
        p = nl + 1;
    }
}

static void lines_write(const struct tfx *f, const char *name, const struct lines *ls)
{
    sb_wr w;
    sbw_init(&w, 1 << 22);
    for (size_t i = 0; i < ls->n; i++)
        if (ls->l[i]) {
            assert_int_equal(sbw_str(&w, ls->l[i]), SIGNET_OK);
            assert_int_equal(sbw_u8(&w, '\n'), SIGNET_OK);
        }
    tfx_write(f, name, (char *)w.p, w.len);
    sbw_free(&w);
    free(ls->buf);
}

static void build(struct tfx *f)
{
    tfx_init(f);
    tfx_sign(f, "platform", 0x0010, "a1");
    tfx_sign(f, "releasekey", 0x0011, "a2");
    tfx_checkpoint(f);
    tfx_sign(f, "releasekey", 0x0011, "a3");
    tfx_sign(f, "media", 0x0012, "a4");
    tfx_checkpoint(f);
}

static char *devlog(const struct tfx *f)
{
    static char name[64];
    snprintf(name, sizeof name, "device-%u.log", f->serial);
    return name;
}

/* Verifies, expects failure with finding kind k (and message fragment msg). */
static void expect_finding(const struct tfx *f, const signet_verify_opts *o, signet_finding_kind k,
                           const char *msg)
{
    signet_report *r;
    assert_int_equal(tfx_verify(f, o, &r), SIGNET_E_VERIFY);
    bool found = false;
    for (size_t i = 0; i < signet_report_count(r); i++) {
        const signet_finding *x = signet_report_finding(r, i);
        if (x->kind == k && (!msg || strstr(x->msg, msg)))
            found = true;
    }
    if (!found)
        signet_report_print(r, stderr);
    assert_true(found);
    signet_report_free(r);
}

/* ---- the matrix: one row per way of tampering ---------------------------------- */

static void m_flipped_byte(struct tfx *f)
{
    struct lines ls;
    lines_read(f, "records.log", &ls);
    char *sig = strstr(ls.l[1], " sig=");
    assert_non_null(sig);
    sig[10] = sig[10] == 'A' ? 'B' : 'A'; /* still base64: the line parses */
    lines_write(f, "records.log", &ls);
}

static void m_chain_broken(struct tfx *f)
{
    struct lines ls;
    lines_read(f, devlog(f), &ls);
    char *t = strstr(ls.l[4], " tick=");
    assert_non_null(t);
    t[6] = t[6] == '9' ? '8' : '9';
    lines_write(f, devlog(f), &ls);
}

static void m_deleted_line(struct tfx *f)
{
    struct lines ls;
    lines_read(f, "records.log", &ls);
    ls.l[1] = NULL;
    lines_write(f, "records.log", &ls);
}

static void m_reordered_entries(struct tfx *f)
{
    struct lines ls;
    lines_read(f, devlog(f), &ls);
    char *tmp = ls.l[3];
    ls.l[3] = ls.l[4];
    ls.l[4] = tmp;
    lines_write(f, devlog(f), &ls);
}

static void m_truncated(struct tfx *f)
{
    struct lines ls;
    lines_read(f, "records.log", &ls);
    ls.l[ls.n - 1] = NULL; /* the newest record, covered by the last checkpoint */
    lines_write(f, "records.log", &ls);
}

static void append_forged_sign(struct tfx *f, uint64_t seq)
{
    signet_record *r = calloc(1, sizeof *r);
    uint8_t data[32] = {1}, sig[256];
    assert_int_equal(RAND_bytes(sig, sizeof sig), 1);
    signet_rec_sig w = {.key_name = "platform", .key_id = 0x0010, .command = YH_CMD_SIGN_PKCS1,
                        .data_sha256 = data, .sig = sig, .sig_len = sizeof sig};
    assert_int_equal(signet_record_sign(r, f->serial, TFX_AUTH, seq, &w), SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    free(r);
}

static void m_forged_record_wrong_entry(struct tfx *f) { append_forged_sign(f, 3); /* a create-session */ }
static void m_forged_record_no_entry(struct tfx *f) { append_forged_sign(f, 999); }

static void m_unrecorded_signature(struct tfx *f)
{
    yh_log_entry e = tfx_entry(f, YH_CMD_SIGN_PKCS1, 0x0011, 0xc7);
    tfx_ingest(f, &e, 1, NULL);
}

/* Point 3 of the routine-use review: records an insider could forge. */
static void m_forged_key_record(struct tfx *f)
{
    signet_record *r = calloc(1, sizeof *r);
    assert_int_equal(signet_record_key(r, f->serial, TFX_AUTH, 4242, "generated", "platform", 0x0010, NULL),
                     SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    free(r);
}

static void m_key_record_on_a_signature(struct tfx *f)
{
    /* A key record that claims the device entry of a signature (seq 4). */
    signet_record *r = calloc(1, sizeof *r);
    assert_int_equal(signet_record_key(r, f->serial, TFX_AUTH, 4, "deleted", "platform", 0x0010, NULL),
                     SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    free(r);
}

static void m_deleted_final_checkpoint_record(struct tfx *f)
{
    /* A checkpoint as the device path makes it: intent, device signature, record,
     * then the note; only the record line is then deleted. */
    signet_record *r = calloc(1, sizeof *r);
    static const uint8_t zero[32];
    signet_rec_sig w = {.key_name = "log-key", .key_id = 0x0030, .command = YH_CMD_SIGN_EDDSA,
                        .data_sha256 = zero};
    assert_int_equal(signet_record_intent(r, f->serial, TFX_AUTH, &w), SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    tfx_checkpoint(f); /* the note covers every leaf up to the intent */
    yh_log_entry e = tfx_entry(f, YH_CMD_SIGN_EDDSA, 0x0030, YH_RESPONSE(YH_CMD_SIGN_EDDSA));
    signet_drain_result d;
    tfx_ingest(f, &e, 1, &d);
    uint8_t root[32] = {0};
    assert_int_equal(signet_record_checkpoint(r, f->serial, TFX_AUTH, d.entries[0].seq, 0x0030,
                                              signet_trail_size(f->t) - 1, root), SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    free(r);
    struct lines ls;
    lines_read(f, "records.log", &ls);
    ls.l[ls.n - 1] = NULL;
    lines_write(f, "records.log", &ls);
}

/* A reset record nobody signed, bound to the entry before a real reset (the log
 * restarting at entry 1): it must not explain the reset. */
static void m_forged_reset(struct tfx *f)
{
    yh_log_entry e = tfx_entry(f, YH_CMD_CREATE_SESSION, 0xffff, YH_RESPONSE(YH_CMD_CREATE_SESSION));
    signet_drain_result d;
    tfx_ingest(f, &e, 1, &d);
    signet_record *r = calloc(1, sizeof *r);
    assert_int_equal(signet_record_service(r, f->serial, TFX_AUTH, d.entries[0].seq, "reset",
                                           "planned reset"), SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    free(r);
    tfx_device_reset(f);
}

static void m_forged_intent(struct tfx *f)
{
    signet_record *r = calloc(1, sizeof *r);
    uint8_t data[32] = {9};
    signet_rec_sig w = {.key_name = "platform", .key_id = 0x0010, .command = YH_CMD_SIGN_PKCS1,
                        .data_sha256 = data};
    assert_int_equal(signet_record_intent(r, f->serial, TFX_AUTH, &w), SIGNET_OK);
    assert_int_equal(signet_trail_append_record(f->t, r), SIGNET_OK);
    free(r);
}

/* rc: what verify returns (a notice alone passes). */
static const struct {
    const char *name;
    void (*mutate)(struct tfx *f);
    signet_finding_kind kind;
    const char *msg;
    signet_rc rc;
} MATRIX[] = {
    {"flipped byte", m_flipped_byte, SIGNET_FIND_ALTERED, "altered after signing", SIGNET_E_VERIFY},
    {"broken device chain", m_chain_broken, SIGNET_FIND_CHAIN, "does not chain", SIGNET_E_VERIFY},
    {"deleted line", m_deleted_line, SIGNET_FIND_LEAF_MISSING, "was deleted", SIGNET_E_VERIFY},
    {"reordered entries", m_reordered_entries, SIGNET_FIND_LEAF_ORDER, "reordered", SIGNET_E_VERIFY},
    {"truncated", m_truncated, SIGNET_FIND_TRUNCATED, "removed from the end", SIGNET_E_VERIFY},
    {"forged record on another entry", m_forged_record_wrong_entry, SIGNET_FIND_FORGED, "does not match",
     SIGNET_E_VERIFY},
    {"forged record on no entry", m_forged_record_no_entry, SIGNET_FIND_FORGED, "never logged", SIGNET_E_VERIFY},
    {"signature without record", m_unrecorded_signature, SIGNET_FIND_UNRECORDED, "has no record",
     SIGNET_E_VERIFY},
    /* Point 3 of the routine-use review: the four forgeries an insider could try. */
    {"forged reset record", m_forged_reset, SIGNET_FIND_RESTART, "is not validly signed by a record key",
     SIGNET_E_VERIFY},
    {"key record naming a non-existent device entry", m_forged_key_record, SIGNET_FIND_FORGED,
     "key record names device", SIGNET_E_VERIFY},
    {"forged intent", m_forged_intent, SIGNET_FIND_NEVER_SIGNED, "never signed: an intent", SIGNET_OK},
    {"deleted final checkpoint record", m_deleted_final_checkpoint_record, SIGNET_FIND_LEAF_MISSING,
     "checkpoint record after this intent", SIGNET_E_VERIFY},
    {"key record on a signature's entry", m_key_record_on_a_signature, SIGNET_FIND_FORGED,
     "key record does not match", SIGNET_E_VERIFY},
};

static void tamper_matrix(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof MATRIX / sizeof MATRIX[0]; i++) {
        struct tfx f;
        build(&f);
        MATRIX[i].mutate(&f);
        signet_report *r;
        signet_rc want = MATRIX[i].rc, got = tfx_verify(&f, NULL, &r);
        if (got != want)
            fprintf(stderr, "row '%s': verify returned %d, not %d\n", MATRIX[i].name, got, want);
        assert_int_equal(got, want);
        bool found = false;
        for (size_t k = 0; k < signet_report_count(r); k++) {
            const signet_finding *x = signet_report_finding(r, k);
            found |= x->kind == MATRIX[i].kind && strstr(x->msg, MATRIX[i].msg) != NULL;
        }
        if (!found) {
            fprintf(stderr, "row '%s': no finding with '%s'\n", MATRIX[i].name, MATRIX[i].msg);
            signet_report_print(r, stderr);
        }
        assert_true(found);
        signet_report_free(r);
        tfx_cleanup(&f);
    }
}

/* A forged intent is reported (never signed) but, signing nothing, fails nothing. */
static void forged_intent_is_never_signed(void **state)
{
    (void)state;
    struct tfx f;
    build(&f);
    m_forged_intent(&f);
    signet_report *rep;
    assert_int_equal(tfx_verify(&f, NULL, &rep), SIGNET_OK);
    assert_int_equal(tfx_count(rep, SIGNET_FIND_NEVER_SIGNED), 1);
    const signet_finding *x = signet_report_finding(rep, 0);
    assert_non_null(strstr(x->msg, "never signed"));
    assert_int_equal(x->severity, SIGNET_SEV_NOTICE);
    assert_int_equal(strlen(x->hash), 16);
    signet_report_free(rep);
    tfx_cleanup(&f);
}

static void replayed_older_copy(void **state)
{
    struct tfx f;
    build(&f);
    /* Keep a copy of the trail as it is now... */
    char old[300], cmd[700];
    snprintf(old, sizeof old, "%s-old", f.dir);
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", f.dir, old);
    assert_int_equal(system(cmd), 0);
    /* ...then the real trail goes on. */
    tfx_sign(&f, "platform", 0x0010, "a5");
    tfx_checkpoint(&f);
    size_t n;
    char *cps = tfx_read(&f, "checkpoints", &n);
    /* The newest checkpoint alone, as a verifier would have seen it published. */
    char *last = cps;
    for (char *p = strstr(cps, "signet.test/audit\n"); p; p = strstr(p + 1, "signet.test/audit\n"))
        last = p;
    char *known = tfx_path(&f, "known-checkpoint");
    FILE *k = fopen(known, "w");
    fputs(last, k);
    fclose(k);

    struct tfx g = f;
    snprintf(g.dir, sizeof g.dir, "%s", old);
    /* On its own the old copy is self-consistent... */
    signet_report *r;
    assert_int_equal(tfx_verify(&g, NULL, &r), SIGNET_OK);
    signet_report_free(r);
    /* ...but not against a newer checkpoint known from elsewhere... */
    signet_verify_opts o = {.known_checkpoint = known};
    expect_finding(&g, &o, SIGNET_FIND_STALE, "stale or rolled-back");
    /* ...nor against the live device, which has moved on and consumed entries. */
    hsm_log live;
    memset(&live, 0, sizeof live);
    live.entries[0] = tfx_entry(&f, YH_CMD_CREATE_SESSION, 0xffff, 0x83);
    live.n = 1;
    signet_verify_opts o2 = {.live = &live, .live_serial = f.serial};
    expect_finding(&g, &o2, SIGNET_FIND_STALE, "stale or replayed copy");
    /* The current trail is fresh against both. */
    signet_trail_unlock(f.t);
    assert_int_equal(tfx_verify(&f, &o, &r), SIGNET_OK);
    signet_report_free(r);
    assert_int_equal(tfx_verify(&f, &o2, &r), SIGNET_OK);
    signet_report_free(r);
    /* An undrained device signature is reported as not fresh. */
    live.entries[1] = tfx_entry(&f, YH_CMD_SIGN_PKCS1, 0x0010, 0xc7);
    live.n = 2;
    expect_finding(&f, &o2, SIGNET_FIND_STALE, "not yet drained");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", old);
    assert_int_equal(system(cmd), 0);
    free(known);
    free(cps);
    tfx_cleanup(&f);
}

static void forked_checkpoints(void **state)
{
    struct tfx f;
    build(&f);
    /* Rewrite an early record, then sign a checkpoint over the rewritten trail
     * with the log key (as a compromised or careless signer would). */
    struct lines ls;
    lines_read(&f, "records.log", &ls);
    char *h = strstr(ls.l[0], "host=");
    assert_non_null(h);
    h[5] = h[5] == 'x' ? 'y' : 'x';
    lines_write(&f, "records.log", &ls);
    /* The honest writer refuses to sign such a trail. */
    signet_checkpoint c;
    assert_int_equal(signet_trail_checkpoint(f.t, TFX_ORIGIN, tfx_sign_cb, f.seed, &c), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "refusing to sign"));
    merkle_tree *t = NULL;
    /* Build the forged checkpoint by hand. */
    signet_report *r;
    assert_int_equal(tfx_verify(&f, NULL, &r), SIGNET_E_VERIFY);
    signet_report_free(r);
    {
        /* The root of the rewritten trail: the verifier's own computation via a
         * receipt-free path: rebuild the tree from the files. */
        size_t n;
        char *recs = tfx_read(&f, "records.log", &n);
        char *dev = tfx_read(&f, devlog(&f), NULL);
        uint8_t hashes[64][32];
        size_t count = 0;
        char *all[2] = {recs, dev};
        for (int k = 0; k < 2; k++)
            for (char *p = all[k]; *p;) {
                char *nl = strchr(p, '\n');
                unsigned long long idx = strtoull(p + 2, NULL, 10);
                merkle_leaf_hash((uint8_t *)p, (size_t)(nl - p), hashes[idx]);
                count++;
                p = nl + 1;
            }
        assert_int_equal(merkle_tree_new(&t), SIGNET_OK);
        for (size_t i = 0; i < count; i++)
            assert_int_equal(merkle_tree_append(t, hashes[i]), SIGNET_OK);
        free(recs);
        free(dev);
    }
    signet_checkpoint forged = {.origin = TFX_ORIGIN, .size = merkle_tree_size(t)};
    assert_int_equal(merkle_tree_root(t, forged.size, forged.root), SIGNET_OK);
    merkle_tree_free(t);
    sb_wr text, note;
    sbw_init(&text, 1024);
    sbw_init(&note, 4096);
    assert_int_equal(signet_checkpoint_format(&forged, &text), SIGNET_OK);
    assert_int_equal(signet_note_sign((char *)text.p, text.len, f.vk.name, f.vk.key_id, tfx_sign_cb, f.seed,
                                      &note), SIGNET_OK);
    size_t n;
    char *cps = tfx_read(&f, "checkpoints", &n);
    char *both = malloc(n + note.len);
    memcpy(both, cps, n);
    memcpy(both + n, note.p, note.len);
    tfx_write(&f, "checkpoints", both, n + note.len);
    expect_finding(&f, NULL, SIGNET_FIND_FORK, "two different histories");
    free(both);
    free(cps);
    sbw_free(&text);
    sbw_free(&note);
    tfx_cleanup(&f);
}

/* A failed signing attempt needs no record. */
static void failed_attempt_needs_no_record(void **state)
{
    (void)state;
    struct tfx g;
    build(&g);
    yh_log_entry e = tfx_entry(&g, YH_CMD_SIGN_PKCS1, 0x0011, 0x7f);
    tfx_ingest(&g, &e, 1, NULL);
    signet_report *r;
    assert_int_equal(tfx_verify(&g, NULL, &r), SIGNET_OK);
    signet_report_free(r);
    tfx_cleanup(&g);
}

static int sh(const char *dir, const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof full,
             "cd '%s' && GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t "
             "GIT_COMMITTER_EMAIL=t@example.org %s >/dev/null 2>&1", dir, cmd);
    return system(full);
}

static void rewritten_git_history(void **state)
{
    struct tfx f;
    build(&f);
    assert_int_equal(sh(f.dir, "git init -q . && git add -A && git commit -qm one"), 0);
    tfx_sign(&f, "platform", 0x0010, "a5");
    tfx_checkpoint(&f);
    assert_int_equal(sh(f.dir, "git add -A && git commit -qm two"), 0);
    signet_report *r;
    assert_int_equal(signet_git_verify(f.dir, NULL, NULL, &r), SIGNET_OK);
    signet_report_free(r);
    char *head = NULL;
    {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "git -C '%s' rev-parse HEAD", f.dir);
        FILE *p = popen(cmd, "r");
        char buf[64] = {0};
        assert_non_null(fgets(buf, sizeof buf, p));
        pclose(p);
        buf[strcspn(buf, "\n")] = 0;
        head = strdup(buf);
    }
    /* A commit that edits a line instead of appending. */
    struct lines ls;
    lines_read(&f, "records.log", &ls);
    char *h = strstr(ls.l[0], "host=");
    h[5] = h[5] == 'x' ? 'y' : 'x';
    lines_write(&f, "records.log", &ls);
    assert_int_equal(sh(f.dir, "git commit -qam three"), 0);
    assert_int_equal(signet_git_verify(f.dir, NULL, NULL, &r), SIGNET_E_VERIFY);
    assert_true(signet_report_has(r, SIGNET_FIND_HISTORY));
    assert_non_null(strstr(signet_report_finding(r, 0)->msg, "other than by appending"));
    signet_report_free(r);
    /* Rewriting history to hide it: the old commits vanish, the new history is
     * internally clean, but a commit verified before is no longer an ancestor. */
    assert_int_equal(sh(f.dir, "git reset -q --hard HEAD~2 && git commit -q --amend -m one-rewritten"), 0);
    assert_int_equal(signet_git_verify(f.dir, NULL, NULL, &r), SIGNET_OK);
    signet_report_free(r);
    assert_int_equal(signet_git_verify(f.dir, head, NULL, &r), SIGNET_E_VERIFY);
    assert_true(signet_report_has(r, SIGNET_FIND_HISTORY));
    assert_non_null(strstr(signet_report_finding(r, 0)->msg, "history was rewritten"));
    signet_report_free(r);
    free(head);
    tfx_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tamper_matrix),
        cmocka_unit_test(forged_intent_is_never_signed),
        cmocka_unit_test(failed_attempt_needs_no_record),
        cmocka_unit_test(replayed_older_copy),
        cmocka_unit_test(forked_checkpoints),
        cmocka_unit_test(rewritten_git_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

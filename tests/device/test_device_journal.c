/* The audit log's journal (<state>.journal, docs/emulator.md "Persistence"):
 * audited commands append one record instead of rewriting the state, and what
 * is on disk when the answer leaves is enough to restart with the log intact;
 * torn final records are dropped, corrupt or reordered ones refused; full
 * writes (object changes, reset) and the bound empty the journal; records a
 * full write already holds are not applied twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dev_client.h"

#define CAP(x) YH_CAP(YH_CAP_##x)
#define REC 80            /* journal record size */
#define BOUND 256         /* records before the device folds the journal */

/* ---- files -------------------------------------------------------------------------- */

typedef struct {
    char dir[64];
    char state[128];
    char journal[160];
} paths;

static void make_paths(paths *p)
{
    snprintf(p->dir, sizeof p->dir, "/tmp/signet-journal-XXXXXX");
    assert_non_null(mkdtemp(p->dir));
    snprintf(p->state, sizeof p->state, "%s/hsm.state", p->dir);
    snprintf(p->journal, sizeof p->journal, "%s.journal", p->state);
}

static void remove_paths(const paths *p)
{
    char ca[200];
    snprintf(ca, sizeof ca, "%s.ca.pem", p->state);
    unlink(ca);
    unlink(p->journal);
    unlink(p->state);
    assert_int_equal(rmdir(p->dir), 0);
}

static long fsize(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static ino_t inode(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_ino;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void spill(const char *path, const uint8_t *p, size_t len, const char *mode)
{
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    uint8_t *b = slurp(from, &n);
    spill(to, b, n, "wb");
    free(b);
}

/* What a crash would leave: the files as they are now, while the device runs. */
static void snapshot(const paths *live, paths *copy)
{
    make_paths(copy);
    copy_file(live->state, copy->state);
    copy_file(live->journal, copy->journal);
}

/* A record's checksum after editing it: SHA-256 of its first 64 bytes, 16 bytes. */
static void reseal(uint8_t *rec)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n;
    assert_int_equal(EVP_Digest(rec, 64, md, &n, EVP_sha256(), NULL), 1);
    memcpy(rec + 64, md, 16);
}

/* ---- device ----------------------------------------------------------------------- */

typedef struct {
    uint16_t boots, auths;
    size_t n;
    yh_log_entry e[YH_LOG_CAPACITY];
} log_view;

static void get_log(tc_session *s, log_view *v)
{
    sb_wr r;
    sbw_init(&r, 4096);
    assert_int_equal(tc_cmd(s, YH_CMD_GET_LOG_ENTRIES, NULL, 0, &r), 0);
    assert_true(r.len >= 5);
    v->boots = be16(r.p);
    v->auths = be16(r.p + 2);
    v->n = r.p[4];
    assert_int_equal(r.len, 5 + 32 * v->n);
    for (size_t i = 0; i < v->n; i++)
        yh_log_entry_decode(r.p + 5 + 32 * i, &v->e[i]);
    /* every entry chains to the one before */
    for (size_t i = 1; i < v->n; i++) {
        assert_int_equal(v->e[i].number, (uint16_t)(v->e[i - 1].number + 1));
        assert_true(yh_log_entry_verify(&v->e[i], v->e[i - 1].digest));
    }
    sbw_free(&r);
}

static void assert_same_entry(const yh_log_entry *a, const yh_log_entry *b)
{
    assert_int_equal(a->number, b->number);
    assert_int_equal(a->command, b->command);
    assert_int_equal(a->target_key, b->target_key);
    assert_int_equal(a->systick, b->systick);
    assert_memory_equal(a->digest, b->digest, YH_LOG_DIGEST_LEN);
}

/* The log after a restart: the first n entries of before, then the boot. */
static void assert_log_then_boot(const log_view *after, const log_view *before, size_t n)
{
    assert_int_equal(after->n, n + 1);
    for (size_t i = 0; i < n; i++)
        assert_same_entry(&after->e[i], &before->e[i]);
    const yh_log_entry *boot = &after->e[n];
    assert_int_equal(boot->command, 0);
    assert_int_equal(boot->session_key, 0xffff);
    assert_int_equal(boot->number, (uint16_t)(before->e[n - 1].number + 1));
}

static int set_option(tc_session *s, uint8_t opt, const uint8_t *v, size_t n)
{
    uint8_t buf[64];
    buf[0] = opt;
    put_be16(buf + 1, (uint16_t)n);
    memcpy(buf + 3, v, n);
    return tc_cmd(s, YH_CMD_SET_OPTION, buf, 3 + n, NULL);
}

static int set_log_index(tc_session *s, uint16_t idx)
{
    uint8_t b[2];
    put_be16(b, idx);
    return tc_cmd(s, YH_CMD_SET_LOG_INDEX, b, 2, NULL);
}

static int rnd(tc_session *s)
{
    return tc_cmd(s, YH_CMD_GET_PSEUDO_RANDOM, (const uint8_t *)"\x00\x08", 2, NULL);
}

/* A device on p with Get Pseudo Random audited, and a session on it. */
static hsm_device *audited_device(const paths *p, tc_session *s)
{
    hsm_device *dev = tc_device(p->state, NULL);
    assert_non_null(dev);
    assert_int_equal(tc_open(dev, 1, "password", s), 0);
    assert_int_equal(set_option(s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x51\x01", 2), 0);
    return dev;
}

static hsm_device *reopen(const paths *p, tc_session *s)
{
    hsm_device *dev = tc_device(p->state, NULL);
    assert_non_null(dev);
    assert_int_equal(tc_open(dev, 1, "password", s), 0);
    return dev;
}

/* ---- tests ------------------------------------------------------------------------- */

static void audited_signatures_survive_a_crash(void **state)
{
    paths p, crash;
    make_paths(&p);
    hsm_device *dev = tc_device(p.state, NULL);
    assert_non_null(dev);
    struct stat sb;
    assert_int_equal(stat(p.journal, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    tc_attrs a = {.id = 0x0020, .label = "release", .domains = 1, .caps = CAP(SIGN_PKCS),
                  .algorithm = YH_ALGO_RSA_2048};
    uint16_t id;
    assert_int_equal(tc_generate(&s, &a, &id), 0);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x47\x01", 2), 0);
    assert_int_equal(fsize(p.journal), 0);
    ino_t before_ino = inode(p.state);

    uint8_t req[2 + 32];
    put_be16(req, 0x0020);
    for (int i = 0; i < 8; i++) {
        memset(req + 2, i, 32);
        assert_int_equal(tc_cmd(&s, YH_CMD_SIGN_PKCS1, req, sizeof req, NULL), 0);
        /* one record per signature, and the state file is not rewritten */
        assert_int_equal(fsize(p.journal), (i + 1) * REC);
        assert_true(inode(p.state) == before_ino);
    }
    /* a failed audited command is logged (and journaled) as well */
    put_be16(req, 0x0021);
    assert_int_equal(tc_cmd(&s, YH_CMD_SIGN_PKCS1, req, sizeof req, NULL),
                     YH_ERR_OBJECT_NOT_FOUND);
    assert_int_equal(fsize(p.journal), 9 * REC);
    log_view before, after;
    get_log(&s, &before);
    assert_int_equal(before.n, 2 + 9);
    for (size_t i = 2; i < 10; i++) {
        assert_int_equal(before.e[i].command, YH_CMD_SIGN_PKCS1);
        assert_int_equal(before.e[i].target_key, 0x0020);
        assert_int_equal(before.e[i].session_key, 1);
        assert_int_equal(before.e[i].result, YH_RESPONSE(YH_CMD_SIGN_PKCS1));
    }
    assert_int_equal(before.e[10].result, YH_CMD_ERROR);

    /* The files as the device left them after its last answer are enough. */
    snapshot(&p, &crash);
    hsm_device_free(dev);
    tc_session cs;
    hsm_device *cdev = reopen(&crash, &cs);
    get_log(&cs, &after);
    assert_log_then_boot(&after, &before, before.n);
    /* opening folded the journal into the state */
    assert_int_equal(fsize(crash.journal), 0);
    hsm_device_free(cdev);
    /* and that state alone holds the log now */
    cdev = reopen(&crash, &cs);
    log_view again;
    get_log(&cs, &again);
    assert_int_equal(again.n, after.n + 1);
    assert_same_entry(&again.e[after.n - 1], &after.e[after.n - 1]);
    hsm_device_free(cdev);
    remove_paths(&crash);

    /* A journal left without its state file extends nothing: factory device. */
    dev = reopen(&p, &s);
    for (int i = 0; i < 3; i++) {
        put_be16(req, 0x0020);
        assert_int_equal(tc_cmd(&s, YH_CMD_SIGN_PKCS1, req, sizeof req, NULL), 0);
    }
    hsm_device_free(dev);
    assert_int_equal(fsize(p.journal), 3 * REC);
    unlink(p.state);
    dev = reopen(&p, &s);
    get_log(&s, &after);
    assert_int_equal(after.n, 2);
    assert_int_equal(after.e[1].number, 2);
    assert_int_equal(fsize(p.journal), 0);
    hsm_device_free(dev);
    remove_paths(&p);
}

static void torn_final_record_is_dropped(void **state)
{
    paths p;
    make_paths(&p);
    tc_session s;
    hsm_device *dev = audited_device(&p, &s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rnd(&s), 0);
    log_view before, after;
    get_log(&s, &before);
    hsm_device_free(dev);
    assert_int_equal(fsize(p.journal), 5 * REC);

    /* a crash half-way through a sixth append: part of a record */
    static const uint8_t part[37] = "SGJ1 half a record that never ended";
    spill(p.journal, part, sizeof part, "ab");
    dev = reopen(&p, &s);
    get_log(&s, &after);
    assert_log_then_boot(&after, &before, before.n);
    assert_int_equal(fsize(p.journal), 0);

    /* a final record of full length that does not check: dropped too */
    for (int i = 0; i < 3; i++)
        assert_int_equal(rnd(&s), 0);
    get_log(&s, &before);
    hsm_device_free(dev);
    size_t len;
    uint8_t *j = slurp(p.journal, &len);
    assert_int_equal(len, 3 * REC);
    j[2 * REC + 45] ^= 0x01;
    spill(p.journal, j, len, "wb");
    free(j);
    dev = reopen(&p, &s);
    get_log(&s, &after);
    /* the last random call is gone; its number goes to this boot */
    assert_int_equal(before.e[before.n - 1].command, YH_CMD_GET_PSEUDO_RANDOM);
    assert_log_then_boot(&after, &before, before.n - 1);
    hsm_device_free(dev);
    remove_paths(&p);
}

/* Opening p fails as corrupt, and leaves both files as they were. */
static void assert_refused(const paths *p, const char *why)
{
    size_t jlen0, slen0, jlen1, slen1;
    uint8_t *j0 = slurp(p->journal, &jlen0), *s0 = slurp(p->state, &slen0);
    hsm_device_opts o = {.state_path = p->state};
    hsm_device *bad = NULL;
    assert_int_equal(hsm_device_open(&o, &bad), SIGNET_E_PARSE);
    assert_null(bad);
    assert_non_null(strstr(signet_errmsg(), "journal"));
    assert_non_null(strstr(signet_errmsg(), "corrupt"));
    assert_non_null(strstr(signet_errmsg(), why));
    uint8_t *j1 = slurp(p->journal, &jlen1), *s1 = slurp(p->state, &slen1);
    assert_int_equal(jlen0, jlen1);
    assert_memory_equal(j0, j1, jlen0);
    assert_int_equal(slen0, slen1);
    assert_memory_equal(s0, s1, slen0);
    free(j0);
    free(j1);
    free(s0);
    free(s1);
}

static void corrupt_middle_record_is_refused(void **state)
{
    paths p;
    make_paths(&p);
    tc_session s;
    hsm_device *dev = audited_device(&p, &s);
    for (int i = 0; i < 5; i++)
        assert_int_equal(rnd(&s), 0);
    log_view before, after;
    get_log(&s, &before);
    hsm_device_free(dev);
    size_t len;
    uint8_t *good = slurp(p.journal, &len);
    assert_int_equal(len, 5 * REC);
    uint8_t *j = malloc(len);
    assert_non_null(j);

    /* one flipped bit in the second record */
    memcpy(j, good, len);
    j[REC + 40] ^= 0x04;
    spill(p.journal, j, len, "wb");
    assert_refused(&p, "record 2 of 5: checksum mismatch");

    /* a whole record that does not check, then a partial one: not one torn write */
    memcpy(j, good, len);
    j[4 * REC + 3] ^= 0x01;
    spill(p.journal, j, len, "wb");
    spill(p.journal, good, 10, "ab");
    assert_refused(&p, "record 5 of 5");

    /* records 3 and 4 swapped: each checks, the order does not */
    memcpy(j, good, len);
    memcpy(j + 2 * REC, good + 3 * REC, REC);
    memcpy(j + 3 * REC, good + 2 * REC, REC);
    spill(p.journal, j, len, "wb");
    assert_refused(&p, "record 3 of 5: out of sequence");

    /* an entry altered and resealed: the checksum is right, the chain is not */
    memcpy(j, good, len);
    j[3 * REC + 32 + 14] ^= 0x10; /* the entry's systick */
    reseal(j + 3 * REC);
    spill(p.journal, j, len, "wb");
    assert_refused(&p, "record 4 of 5: an entry that does not chain");

    /* bookkeeping altered and resealed: the log after it does not match */
    memcpy(j, good, len);
    j[4 * REC + 20] ^= 0x01; /* unlogged boots */
    reseal(j + 4 * REC);
    spill(p.journal, j, len, "wb");
    assert_refused(&p, "record 5 of 5: the log after it differs");

    /* longer than the device ever lets it grow */
    uint8_t *big = calloc(BOUND + 2, REC);
    assert_non_null(big);
    memcpy(big, good, len);
    spill(p.journal, big, (size_t)(BOUND + 2) * REC, "wb");
    free(big);
    assert_refused(&p, "longer than the device lets it grow");

    /* the journal as written opens, with every entry */
    spill(p.journal, good, len, "wb");
    dev = reopen(&p, &s);
    get_log(&s, &after);
    assert_log_then_boot(&after, &before, before.n);
    hsm_device_free(dev);
    free(j);
    free(good);
    remove_paths(&p);
}

static void full_writes_empty_the_journal(void **state)
{
    paths p;
    make_paths(&p);
    tc_session s;
    hsm_device *dev = audited_device(&p, &s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rnd(&s), 0);
    assert_int_equal(fsize(p.journal), 4 * REC);
    ino_t ino = inode(p.state);

    /* an object change writes the whole state and empties the journal */
    tc_attrs a = {.id = 0x0030, .label = "note", .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"kept", 4, &id), 0);
    assert_int_equal(fsize(p.journal), 0);
    assert_true(inode(p.state) != ino);
    for (int i = 0; i < 2; i++)
        assert_int_equal(rnd(&s), 0);
    assert_int_equal(fsize(p.journal), 2 * REC);
    log_view before, after;
    get_log(&s, &before);
    hsm_device_free(dev);

    dev = reopen(&p, &s);
    get_log(&s, &after);
    assert_log_then_boot(&after, &before, before.n);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 0x0030, YH_TYPE_OPAQUE, &oi), 0);
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT, (const uint8_t *)"\x51\x01", 2), 0);
    assert_int_equal(rnd(&s), 0);
    assert_int_equal(fsize(p.journal), REC);

    /* a reset too: afterwards the journal holds nothing of the old log */
    assert_int_equal(tc_cmd(&s, YH_CMD_RESET_DEVICE, NULL, 0, NULL), 0);
    assert_int_equal(fsize(p.journal), 0);
    hsm_device_free(dev);
    dev = reopen(&p, &s);
    get_log(&s, &after);
    assert_int_equal(after.n, 3); /* factory entries 1, 2 and this boot */
    assert_int_equal(after.e[2].number, 3);
    assert_int_equal(tc_get_info(&s, 0x0030, YH_TYPE_OPAQUE, &oi), YH_ERR_OBJECT_NOT_FOUND);
    hsm_device_free(dev);
    remove_paths(&p);
}

static void journal_folds_at_its_bound(void **state)
{
    paths p;
    make_paths(&p);
    tc_session s;
    hsm_device *dev = audited_device(&p, &s);
    ino_t ino = inode(p.state);
    for (int i = 0; i < BOUND; i++)
        assert_int_equal(rnd(&s), 0);
    assert_int_equal(fsize(p.journal), BOUND * REC);
    assert_true(inode(p.state) == ino);
    /* the next log change is a full write, which empties the journal */
    assert_int_equal(rnd(&s), 0);
    assert_int_equal(fsize(p.journal), 0);
    assert_true(inode(p.state) != ino);
    assert_int_equal(rnd(&s), 0);
    assert_int_equal(fsize(p.journal), REC);
    log_view before, after;
    get_log(&s, &before);
    assert_int_equal(before.n, YH_LOG_CAPACITY); /* a ring without force-audit */
    assert_int_equal(before.e[YH_LOG_CAPACITY - 1].number, 2 + BOUND + 2);
    hsm_device_free(dev);

    dev = reopen(&p, &s);
    get_log(&s, &after);
    /* the ring dropped the oldest entry for the boot */
    assert_int_equal(after.n, YH_LOG_CAPACITY);
    for (size_t i = 0; i + 1 < YH_LOG_CAPACITY; i++)
        assert_same_entry(&after.e[i], &before.e[i + 1]);
    assert_int_equal(after.e[YH_LOG_CAPACITY - 1].command, 0);
    hsm_device_free(dev);
    remove_paths(&p);
}

static void counters_and_log_index_are_journaled(void **state)
{
    paths p, full, drained;
    make_paths(&p);
    tc_session s;
    hsm_device *dev = audited_device(&p, &s);
    /* audit session opening too, and make a full log refuse */
    assert_int_equal(set_option(&s, YH_OPTION_COMMAND_AUDIT,
                                (const uint8_t *)"\x03\x01\x04\x01", 4), 0);
    assert_int_equal(set_option(&s, YH_OPTION_FORCE_AUDIT, (const uint8_t *)"\x01", 1), 0);
    ino_t ino = inode(p.state);
    int n = 0;
    while (rnd(&s) == 0)
        n++;
    assert_int_equal(n, YH_LOG_CAPACITY - 2);
    assert_int_equal(rnd(&s), YH_ERR_LOG_FULL);
    long jl = fsize(p.journal);
    assert_int_equal(jl, n * REC);
    /* a session opened on the full log: create and authenticate are counted */
    tc_session s2;
    assert_int_equal(tc_open(s.dev, 1, "password", &s2), 0);
    assert_int_equal(fsize(p.journal), jl + 2 * REC);
    log_view v, w;
    get_log(&s, &v);
    assert_int_equal(v.auths, 2);
    snapshot(&p, &full);

    /* drain to entry 40: one more record; the counters restart */
    assert_int_equal(set_log_index(&s, 40), 0);
    assert_int_equal(fsize(p.journal), jl + 3 * REC);
    assert_true(inode(p.state) == ino);
    log_view d;
    get_log(&s, &d);
    assert_int_equal(d.n, YH_LOG_CAPACITY - 40);
    assert_int_equal(d.auths, 0);
    snapshot(&p, &drained);
    hsm_device_free(dev);

    /* Restart on the full log: it still refuses, the counters came back, and
     * the boot is counted rather than logged. */
    dev = tc_device(full.state, NULL);
    assert_non_null(dev);
    tc_session fs;
    assert_int_equal(tc_open(dev, 1, "password", &fs), 0);
    get_log(&fs, &w);
    assert_int_equal(w.n, YH_LOG_CAPACITY);
    assert_int_equal(w.boots, 1);
    assert_int_equal(w.auths, 2 + 2);
    for (size_t i = 0; i < w.n; i++)
        assert_same_entry(&w.e[i], &v.e[i]);
    assert_int_equal(rnd(&fs), YH_ERR_LOG_FULL);
    hsm_device_free(dev);

    /* Restart after the drain: entries 41.. and the boot. */
    dev = tc_device(drained.state, NULL);
    assert_non_null(dev);
    assert_int_equal(tc_open(dev, 1, "password", &fs), 0);
    get_log(&fs, &w);
    assert_int_equal(w.auths, 0);
    assert_int_equal(w.boots, 0);
    /* entries 41..62, the boot, this session's create and authenticate: logged,
     * there was room */
    assert_int_equal(w.n, d.n + 3);
    assert_int_equal(w.e[0].number, 41);
    for (size_t i = 0; i < d.n; i++)
        assert_same_entry(&w.e[i], &d.e[i]);
    assert_int_equal(w.e[d.n].command, 0);
    assert_int_equal(w.e[d.n + 1].command, YH_CMD_CREATE_SESSION);
    assert_int_equal(w.e[d.n + 2].command, YH_CMD_AUTHENTICATE_SESSION);
    hsm_device_free(dev);
    remove_paths(&full);
    remove_paths(&drained);
    remove_paths(&p);
}

static void records_already_in_the_state_are_skipped(void **state)
{
    paths p;
    make_paths(&p);
    tc_session s;
    hsm_device *dev = audited_device(&p, &s);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rnd(&s), 0);
    size_t len;
    uint8_t *old = slurp(p.journal, &len);
    assert_int_equal(len, 3 * REC);
    /* a full write holds those three entries */
    tc_attrs a = {.id = 0x0031, .label = "x", .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"x", 1, &id), 0);
    log_view before, after;
    get_log(&s, &before);
    hsm_device_free(dev);
    /* a crash after the state was replaced but before the journal was emptied */
    spill(p.journal, old, len, "wb");
    free(old);
    dev = reopen(&p, &s);
    get_log(&s, &after);
    /* no entry applied twice */
    assert_log_then_boot(&after, &before, before.n);
    hsm_device_free(dev);
    remove_paths(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(audited_signatures_survive_a_crash),
        cmocka_unit_test(torn_final_record_is_dropped),
        cmocka_unit_test(corrupt_middle_record_is_refused),
        cmocka_unit_test(full_writes_empty_the_journal),
        cmocka_unit_test(journal_folds_at_its_bound),
        cmocka_unit_test(counters_and_log_index_are_journaled),
        cmocka_unit_test(records_already_in_the_state_are_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The audit log's journal, <state>.journal (mode 0600): a command whose only
 * lasting change is to the audit log (an audited command's entry, an unlogged
 * counter, Set Log Index) is made durable by appending one small record and
 * fdatasyncing it, instead of rewriting the whole state file (state.c).
 *
 * Record, 80 bytes, big-endian, one per log change:
 *   "SGJ1" | seq u32 (1, 2, ... since the journal was last emptied)
 *   | base[8]: the first 8 bytes of the SHA-256 trailer of the state file the
 *     records extend
 *   | kind u8 | n u8 | next_number u16 | unlogged_boots u16 | unlogged_auths u16
 *   | oldest u16 (number of the oldest entry held, 0 when none) | index u16
 *   | zero[4] | entry[32] (kind "entry"; zero otherwise)
 *   | SHA-256(the 64 bytes before)[0:16]
 * n .. oldest are the log's bookkeeping after the change; replay checks that
 * applying the change to the log reproduces them, and that every entry chains
 * (digest and number) from the one before.
 *
 * Order of writes (docs/emulator.md, "what is durable when"):
 *   log change    append one record, fdatasync, then answer
 *   other change  write the whole state (temp, fsync, rename, fsync of the
 *                 directory), then empty the journal (ftruncate, fsync) if it
 *                 held records
 * A crash between the two steps of a full write leaves records whose base
 * names the previous state: the new state already holds their changes, so
 * replay skips them.  A crash during an append leaves a torn final record,
 * whose command was never answered: replay drops it with a note. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "dev.h"

#define JR_MAGIC "SGJ1"
#define JR_LEN 80
#define JR_BODY_LEN 64  /* the checksummed part */
#define JR_CHECK_LEN 16
/* The device folds at DEV_JOURNAL_MAX_RECORDS, so a longer file was not
 * written by it. */
#define JR_FILE_MAX ((DEV_JOURNAL_MAX_RECORDS + 1u) * JR_LEN)

typedef struct {
    uint32_t seq;
    uint8_t base[DEV_JOURNAL_BASE_LEN];
    uint8_t kind;
    uint8_t n;
    uint16_t next_number, unlogged_boots, unlogged_auths, oldest, index;
    uint8_t entry[YH_LOG_ENTRY_LEN];
} jrec;

/* ---- records --------------------------------------------------------------------- */

static bool checksum(const uint8_t body[JR_BODY_LEN], uint8_t out[JR_CHECK_LEN])
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_Digest(body, JR_BODY_LEN, md, &n, EVP_sha256(), NULL) != 1 || n < JR_CHECK_LEN)
        return false;
    memcpy(out, md, JR_CHECK_LEN);
    return true;
}

static void bookkeeping(jrec *r, const dev_log *log)
{
    r->n = (uint8_t)log->n;
    r->next_number = log->next_number;
    r->unlogged_boots = log->unlogged_boots;
    r->unlogged_auths = log->unlogged_auths;
    r->oldest = log->n ? log->e[0].number : 0;
}

static signet_rc rec_encode(const jrec *r, uint8_t out[JR_LEN])
{
    sb_wr w;
    sbw_init_fixed(&w, out, JR_LEN);
    signet_rc rc = sbw_put(&w, JR_MAGIC, 4);
    if (!rc) rc = sbw_u32(&w, r->seq);
    if (!rc) rc = sbw_put(&w, r->base, DEV_JOURNAL_BASE_LEN);
    if (!rc) rc = sbw_u8(&w, r->kind);
    if (!rc) rc = sbw_u8(&w, r->n);
    if (!rc) rc = sbw_u16(&w, r->next_number);
    if (!rc) rc = sbw_u16(&w, r->unlogged_boots);
    if (!rc) rc = sbw_u16(&w, r->unlogged_auths);
    if (!rc) rc = sbw_u16(&w, r->oldest);
    if (!rc) rc = sbw_u16(&w, r->index);
    if (!rc) rc = sbw_zero(&w, 4);
    if (!rc) rc = sbw_put(&w, r->entry, YH_LOG_ENTRY_LEN);
    uint8_t *check;
    if (!rc) rc = sbw_reserve(&w, JR_CHECK_LEN, &check);
    if (!rc && !checksum(out, check))
        rc = signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed: check the OpenSSL 3 installation");
    return rc;
}

typedef enum { REC_OK, REC_TORN, REC_BAD } rec_status;

/* A record whose checksum fails may be torn (a crash during its write); one that
 * checks but does not parse was written whole by something else. */
static rec_status rec_decode(const uint8_t p[JR_LEN], jrec *r)
{
    uint8_t want[JR_CHECK_LEN];
    if (!checksum(p, want) || memcmp(want, p + JR_BODY_LEN, JR_CHECK_LEN) != 0)
        return REC_TORN;
    sb_rd rd;
    sbr_init(&rd, p, JR_BODY_LEN);
    const uint8_t *magic, *zero;
    if (sbr_ptr(&rd, &magic, 4) || memcmp(magic, JR_MAGIC, 4) != 0 || sbr_u32(&rd, &r->seq) ||
        sbr_copy(&rd, r->base, DEV_JOURNAL_BASE_LEN) || sbr_u8(&rd, &r->kind) ||
        sbr_u8(&rd, &r->n) || sbr_u16(&rd, &r->next_number) ||
        sbr_u16(&rd, &r->unlogged_boots) || sbr_u16(&rd, &r->unlogged_auths) ||
        sbr_u16(&rd, &r->oldest) || sbr_u16(&rd, &r->index) || sbr_ptr(&rd, &zero, 4) ||
        sbr_copy(&rd, r->entry, YH_LOG_ENTRY_LEN) || sbr_end(&rd))
        return REC_BAD;
    static const uint8_t zeros[4];
    return memcmp(zero, zeros, 4) == 0 ? REC_OK : REC_BAD;
}

/* Applies one record to the log as the device did; NULL, or what is wrong. */
static const char *rec_apply(dev_state *st, const jrec *r)
{
    dev_log *log = &st->log;
    yh_log_entry e;
    switch (r->kind) {
    case DEV_JR_ENTRY:
        yh_log_entry_decode(r->entry, &e);
        if (dev_log_full(st))
            return "an entry that the full log could not have taken";
        if (e.number != log->next_number || !yh_log_entry_verify(&e, log->last_digest))
            return "an entry that does not chain from the one before";
        dev_log_push(log, &e);
        break;
    case DEV_JR_UNLOGGED_AUTH:
    case DEV_JR_UNLOGGED_BOOT:
        if (!dev_log_full(st))
            return "an unlogged event while the log had room";
        dev_log_count_unlogged(r->kind == DEV_JR_UNLOGGED_AUTH ? &log->unlogged_auths
                                                               : &log->unlogged_boots);
        break;
    case DEV_JR_SET_INDEX:
        if (dev_log_consume(log, r->index) != YH_ERR_OK)
            return "a log index that the log could not have taken";
        break;
    default:
        return "a change of unknown kind";
    }
    jrec after;
    bookkeeping(&after, log);
    if (after.n != r->n || after.next_number != r->next_number ||
        after.unlogged_boots != r->unlogged_boots || after.unlogged_auths != r->unlogged_auths ||
        after.oldest != r->oldest)
        return "the log after it differs from the one recorded";
    return NULL;
}

/* ---- the open device ------------------------------------------------------------- */

signet_rc dev_journal_init(dev_journal *j, const char *state_path)
{
    memset(j, 0, sizeof *j);
    j->fd = -1;
    if (!state_path)
        return SIGNET_OK;
    size_t n = strlen(state_path) + sizeof ".journal";
    j->path = malloc(n);
    if (!j->path)
        return signet_fail(SIGNET_E_NOMEM, "out of memory creating the device");
    snprintf(j->path, n, "%s.journal", state_path);
    return SIGNET_OK;
}

void dev_journal_close(dev_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    memset(j, 0, sizeof *j);
    j->fd = -1;
}

void dev_journal_note(hsm_device *dev, uint8_t kind, const yh_log_entry *e, uint16_t index)
{
    dev_journal *j = &dev->journal;
    if (!j->path)
        return;
    j->n_pending++;
    j->kind = kind;
    j->index = index;
    if (e)
        j->entry = *e;
    else
        memset(&j->entry, 0, sizeof j->entry);
}

signet_rc dev_journal_append(hsm_device *dev)
{
    dev_journal *j = &dev->journal;
    jrec r = {.seq = j->records + 1, .kind = j->kind, .index = j->index};
    memcpy(r.base, j->base, DEV_JOURNAL_BASE_LEN);
    if (j->kind == DEV_JR_ENTRY)
        yh_log_entry_encode(&j->entry, r.entry);
    bookkeeping(&r, &dev->st->log);
    uint8_t buf[JR_LEN];
    signet_rc rc = rec_encode(&r, buf);
    if (rc)
        return rc;
    size_t off = 0;
    while (off < sizeof buf) {
        ssize_t w = write(j->fd, buf + off, sizeof buf - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return signet_fail(SIGNET_E_IO, "cannot append to the audit journal %s: %s (check "
                               "the disk, then restart signet-hsm)", j->path,
                               w < 0 ? strerror(errno) : "nothing written");
        off += (size_t)w;
    }
    if (fdatasync(j->fd) != 0)
        return signet_fail(SIGNET_E_IO, "cannot sync the audit journal %s: %s (check the disk, "
                           "then restart signet-hsm)", j->path, strerror(errno));
    j->records++;
    j->n_pending = 0;
    return SIGNET_OK;
}

signet_rc dev_journal_restart(dev_journal *j, const uint8_t sum[DEV_STATE_SUM_LEN])
{
    memcpy(j->base, sum, DEV_JOURNAL_BASE_LEN);
    if (!j->path)
        return SIGNET_OK;
    if (j->fd < 0) {
        /* First full write since open: the journal was replayed (or is new). */
        int fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return signet_fail(SIGNET_E_IO, "cannot open the audit journal %s: %s (check the "
                               "permissions of its directory)", j->path, strerror(errno));
        if (fchmod(fd, 0600) != 0 || ftruncate(fd, 0) != 0 || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            return signet_fail(SIGNET_E_IO, "cannot empty the audit journal %s: %s", j->path,
                               strerror(e));
        }
        j->fd = fd;
        j->records = 0;
        /* its name must survive a crash as well as what is appended to it */
        return dev_fsync_dir(j->path);
    }
    if (j->records == 0)
        return SIGNET_OK;
    if (ftruncate(j->fd, 0) != 0 || fsync(j->fd) != 0)
        return signet_fail(SIGNET_E_IO, "cannot empty the audit journal %s: %s (check the "
                           "disk, then restart signet-hsm)", j->path, strerror(errno));
    j->records = 0;
    return SIGNET_OK;
}

/* ---- replay at open ------------------------------------------------------------- */

static signet_rc journal_corrupt(const char *path, size_t i, size_t k, const char *what)
{
    return signet_fail(SIGNET_E_PARSE,
                       "the signet-hsm audit journal %s is corrupt (record %zu of %zu: %s); "
                       "neither it nor the state file was changed: restore both from a backup, "
                       "or move the journal away to open the state without the audit log "
                       "changes it holds", path, i + 1, k, what);
}

static signet_rc read_journal(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return SIGNET_OK;
        return signet_fail(SIGNET_E_IO, "cannot open the audit journal %s: %s", path,
                           strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || sb.st_size < 0 || (uint64_t)sb.st_size > JR_FILE_MAX) {
        close(fd);
        return signet_fail(SIGNET_E_PARSE, "the signet-hsm audit journal %s is corrupt (longer "
                           "than the device lets it grow); neither it nor the state file was "
                           "changed: restore both from a backup, or move the journal away to "
                           "open the state without the audit log changes it holds", path);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading %s", path);
    }
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    if (off != n) {
        free(buf);
        return signet_fail(SIGNET_E_IO, "cannot read the audit journal %s", path);
    }
    *out = buf;
    *len = n;
    return SIGNET_OK;
}

signet_rc dev_journal_replay(dev_state *st, const char *path,
                             const uint8_t sum[DEV_STATE_SUM_LEN])
{
    uint8_t *buf;
    size_t len;
    signet_rc rc = read_journal(path, &buf, &len);
    if (rc || len == 0) {
        free(buf);
        return rc;
    }
    if (!sum) {
        fprintf(stderr, "signet-hsm: %s: dropped: there is no state file for it to extend\n",
                path);
        free(buf);
        return SIGNET_OK;
    }
    size_t k = len / JR_LEN, rest = len % JR_LEN;
    bool torn = rest != 0;
    for (size_t i = 0; i < k && !rc; i++) {
        jrec r;
        rec_status s = rec_decode(buf + i * JR_LEN, &r);
        if (s == REC_TORN && i + 1 == k && !torn) {
            /* the final record, half written when the device stopped */
            torn = true;
            break;
        }
        if (s != REC_OK) {
            rc = journal_corrupt(path, i, k, s == REC_TORN ? "checksum mismatch"
                                                           : "not a journal record");
            break;
        }
        if (memcmp(r.base, sum, DEV_JOURNAL_BASE_LEN) != 0) {
            if (i == 0) {
                /* Written before the last full write of the state, which
                 * holds these changes already (a crash came in between). */
                fprintf(stderr, "signet-hsm: %s: dropped %zu record(s) that extend an "
                        "earlier version of the state file, which was rewritten with their "
                        "changes (had it been restored from a backup instead, those audit log "
                        "changes are lost)\n", path, k);
                torn = false;
                break;
            }
            rc = journal_corrupt(path, i, k, "it extends another state file");
            break;
        }
        if (r.seq != i + 1) {
            rc = journal_corrupt(path, i, k, "out of sequence");
            break;
        }
        const char *why = rec_apply(st, &r);
        if (why)
            rc = journal_corrupt(path, i, k, why);
    }
    if (!rc && torn)
        fprintf(stderr, "signet-hsm: %s: dropped an incomplete final record (the device "
                "stopped while writing it; its command was never answered)\n", path);
    free(buf);
    return rc;
}

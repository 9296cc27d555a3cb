/* The trail directory: creation, the writers' lock, reading the tails of the files
 * (next leaf index, each device's last entry), setting aside a torn tail, and
 * appending records. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_internal.h"

#define TAIL_CHUNK (256 * 1024)

void device_log_name(uint32_t serial, char out[64]) { snprintf(out, 64, "device-%u.log", serial); }
void anchor_name(uint32_t serial, char out[64]) { snprintf(out, 64, "device-%u.anchor", serial); }

static signet_rc mkdir_one(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return signet_fail(SIGNET_E_IO, "cannot create directory %s: %s", path, strerror(errno));
    return SIGNET_OK;
}

signet_rc signet_trail_init(const char *dir)
{
    char p[PATH_MAX];
    signet_rc rc = mkdir_one(dir);
    snprintf(p, sizeof p, "%s/%s", dir, ANCHOR_DIR);
    if (rc == SIGNET_OK)
        rc = mkdir_one(p);
    snprintf(p, sizeof p, "%s/.gitignore", dir);
    if (rc == SIGNET_OK && access(p, F_OK) != 0) {
        static const char gi[] = "# written by signet audit: the writers' lock is not history\n.lock\n";
        rc = file_write_atomic(dir, ".gitignore", gi, sizeof gi - 1);
    }
    return rc;
}

signet_rc signet_trail_open(const char *dir, signet_trail **out)
{
    char p[PATH_MAX];
    struct stat st;
    *out = NULL;
    snprintf(p, sizeof p, "%s/%s", dir, ANCHOR_DIR);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || stat(p, &st) != 0)
        return signet_fail(SIGNET_E_NOTFOUND,
                           "%s is not an audit trail: create it with `signet audit init %s`", dir, dir);
    if (strlen(dir) >= sizeof((*out)->dir))
        return signet_fail(SIGNET_E_ARG, "trail path is too long");
    signet_trail *t = calloc(1, sizeof *t);
    if (!t)
        return signet_fail(SIGNET_E_NOMEM, "out of memory opening the trail");
    snprintf(t->dir, sizeof t->dir, "%s", dir);
    t->lock_fd = -1;
    *out = t;
    return SIGNET_OK;
}

void signet_trail_close(signet_trail *t)
{
    if (!t)
        return;
    signet_trail_unlock(t);
    free(t->devs);
    free(t);
}

const char *signet_trail_dir(const signet_trail *t) { return t->dir; }
uint64_t signet_trail_size(const signet_trail *t) { return t->next_index; }

signet_rc trail_require_lock(const signet_trail *t)
{
    if (!t->locked)
        return signet_fail(SIGNET_E_STATE, "the trail must be locked (signet_trail_lock) before writing");
    return SIGNET_OK;
}

dev_tail *trail_dev(signet_trail *t, uint32_t serial, bool create)
{
    for (size_t i = 0; i < t->n_devs; i++)
        if (t->devs[i].serial == serial)
            return &t->devs[i];
    if (!create)
        return NULL;
    dev_tail *np = realloc(t->devs, (t->n_devs + 1) * sizeof *np);
    if (!np)
        return NULL;
    t->devs = np;
    memset(&t->devs[t->n_devs], 0, sizeof *np);
    t->devs[t->n_devs].serial = serial;
    return &t->devs[t->n_devs++];
}

/* Moves a torn last line (bytes after the last newline) of DIR/name to
 * incomplete.log and cuts it off.  A crash mid-append leaves such a line; it was
 * never reported durable, so no signature was released for it. */
static signet_rc set_aside_torn(signet_trail *t, const char *name, int fd, off_t size, off_t keep)
{
    size_t n = (size_t)(size - keep);
    uint8_t *frag = malloc(n);
    if (!frag)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (pread(fd, frag, n, keep) != (ssize_t)n) {
        free(frag);
        return signet_fail(SIGNET_E_IO, "cannot read the torn tail of %s: %s", name, strerror(errno));
    }
    char when[32];
    time_format((int64_t)time(NULL), when);
    sb_wr w;
    sbw_init(&w, 2 * SIGNET_LINE_MAX);
    signet_rc rc = kv_put_str(&w, "t", when);
    if (rc == SIGNET_OK) rc = kv_put_str(&w, "file", name);
    if (rc == SIGNET_OK) rc = kv_put_u64(&w, "offset", (uint64_t)keep);
    if (rc == SIGNET_OK) rc = kv_put_u64(&w, "len", n);
    if (rc == SIGNET_OK) rc = kv_put_b64(&w, "bytes", frag, n > 4096 ? 4096 : n);
    if (rc == SIGNET_OK) rc = sbw_u8(&w, '\n');
    free(frag);
    if (rc == SIGNET_OK)
        rc = file_append_durable(t->dir, INCOMPLETE_FILE, w.p, w.len);
    sbw_free(&w);
    if (rc)
        return rc;
    if (ftruncate(fd, keep) != 0 || fsync(fd) != 0)
        return signet_fail(SIGNET_E_IO, "cannot cut the torn tail of %s: %s", name, strerror(errno));
    return SIGNET_OK;
}

/* Reads the tail of DIR/name: the last complete lines, newest first, are passed
 * to fn until it returns true.  A torn last line is set aside first. */
typedef bool (*tail_fn)(void *ctx, const char *line, size_t len, signet_rc *rc);

static signet_rc scan_tail(signet_trail *t, const char *name, tail_fn fn, void *ctx)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", t->dir, name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return SIGNET_OK;
        return signet_fail(SIGNET_E_IO, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    signet_rc rc = SIGNET_OK;
    char *buf = NULL;
    if (fstat(fd, &st) != 0) {
        rc = signet_fail(SIGNET_E_IO, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    off_t size = st.st_size;
    for (off_t chunk = TAIL_CHUNK;; chunk *= 4) {
        off_t from = size > chunk ? size - chunk : 0;
        size_t n = (size_t)(size - from);
        free(buf);
        buf = malloc(n + 1);
        if (!buf) {
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory reading %s", path);
            goto out;
        }
        if (n && pread(fd, buf, n, from) != (ssize_t)n) {
            rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        size_t end = n;
        if (end && buf[end - 1] != '\n') {
            /* Torn tail: find where the last complete line ends. */
            size_t k = end;
            while (k && buf[k - 1] != '\n')
                k--;
            if (k == 0 && from > 0)
                continue; /* the fragment is longer than the chunk: read more */
            if ((rc = set_aside_torn(t, name, fd, size, from + (off_t)k)))
                goto out;
            size = from + (off_t)k;
            end = k;
        }
        /* Walk the complete lines backwards.  The first line of a chunk that does
         * not start at offset 0 may be partial: it is never used. */
        size_t e = end;
        bool done = false;
        while (e > 0 && !done) {
            size_t s = e - 1; /* e - 1 is the newline of this line */
            while (s > 0 && buf[s - 1] != '\n')
                s--;
            if (s == 0 && from > 0)
                break;
            done = fn(ctx, buf + s, e - 1 - s, &rc);
            if (rc)
                goto out;
            e = s;
        }
        if (done || from == 0)
            break;
    }
out:
    free(buf);
    close(fd);
    return rc;
}

struct record_tail {
    uint64_t *next;
    const char *name;
};

static bool record_tail_fn(void *ctx, const char *line, size_t len, signet_rc *rc)
{
    struct record_tail *rt = ctx;
    signet_record *r = malloc(sizeof *r);
    if (!r) {
        *rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        return true;
    }
    *rc = signet_record_parse(line, len, r);
    if (*rc == SIGNET_OK && r->index + 1 > *rt->next)
        *rt->next = r->index + 1;
    free(r);
    if (*rc)
        *rc = signet_wrap(*rc, "the last line of %s is malformed (run `signet audit verify`)", rt->name);
    return true;
}

struct dev_tail_ctx {
    dev_tail *d;
    uint64_t *next;
    const char *name;
    bool index_seen;
};

static bool dev_tail_fn(void *ctx, const char *line, size_t len, signet_rc *rc)
{
    struct dev_tail_ctx *c = ctx;
    devline dl;
    *rc = devline_parse(line, len, &dl);
    if (*rc) {
        *rc = signet_wrap(*rc, "the last lines of %s are malformed (run `signet audit verify`)", c->name);
        return true;
    }
    if (dl.serial != c->d->serial) {
        *rc = signet_fail(SIGNET_E_PARSE, "%s holds a line of device %u (run `signet audit verify`)",
                          c->name, dl.serial);
        return true;
    }
    if (!c->index_seen && dl.index + 1 > *c->next)
        *c->next = dl.index + 1;
    c->index_seen = true;
    if (dl.type != DEVLINE_ENTRY)
        return false; /* keep looking for the last entry */
    c->d->have = true;
    c->d->seq = dl.seq;
    c->d->last = dl.e;
    return true;
}

/* Trail locks this process holds (any trail object): see trail_locks_held(). */
static _Atomic int locks_held;

int trail_locks_held(void) { return locks_held; }

signet_rc signet_trail_lock(signet_trail *t)
{
    if (t->locked)
        return SIGNET_OK;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", t->dir, LOCK_FILE);
    t->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (t->lock_fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open the trail lock %s: %s", p, strerror(errno));
    while (flock(t->lock_fd, LOCK_EX) != 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(t->lock_fd);
        t->lock_fd = -1;
        return signet_fail(SIGNET_E_IO, "cannot lock %s: %s", p, strerror(e));
    }
    t->locked = true;
    locks_held++;

    /* Another process may have appended since we last looked: read the tails again. */
    t->next_index = 0;
    free(t->devs);
    t->devs = NULL;
    t->n_devs = 0;
    struct record_tail rt = {&t->next_index, RECORDS_FILE};
    signet_rc rc = scan_tail(t, RECORDS_FILE, record_tail_fn, &rt);
    uint32_t *serials = NULL;
    size_t n = 0;
    if (rc == SIGNET_OK)
        rc = list_device_logs(t->dir, &serials, &n);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        char name[64];
        device_log_name(serials[i], name);
        dev_tail *d = trail_dev(t, serials[i], true);
        if (!d) {
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
            break;
        }
        struct dev_tail_ctx c = {d, &t->next_index, name, false};
        rc = scan_tail(t, name, dev_tail_fn, &c);
    }
    free(serials);
    if (rc)
        signet_trail_unlock(t);
    return rc;
}

void signet_trail_unlock(signet_trail *t)
{
    if (t->locked)
        locks_held--;
    if (t->lock_fd >= 0) {
        flock(t->lock_fd, LOCK_UN);
        close(t->lock_fd);
    }
    t->lock_fd = -1;
    t->locked = false;
}

void trail_stamp(signet_record *r, uint64_t index, const char *host)
{
    r->index = index;
    if (r->time == 0)
        r->time = (int64_t)time(NULL);
    if (!r->host[0])
        snprintf(r->host, sizeof r->host, "%s", host);
}

void trail_host(char host[64])
{
    host[0] = 0;
    if (gethostname(host, 63) != 0)
        snprintf(host, 64, "unknown");
    host[63] = 0;
}

signet_rc trail_commit_line(signet_trail *t, sb_wr *w, uint64_t records)
{
    signet_rc rc = sbw_u8(w, '\n');
    if (rc == SIGNET_OK)
        rc = file_append_durable(t->dir, RECORDS_FILE, w->p, w->len);
    if (rc == SIGNET_OK)
        t->next_index += records;
    return rc;
}

signet_rc signet_trail_append_record(signet_trail *t, signet_record *r)
{
    signet_rc rc = trail_require_lock(t);
    if (rc)
        return rc;
    char host[64];
    trail_host(host);
    trail_stamp(r, t->next_index, host);
    sb_wr w;
    sbw_init(&w, SIGNET_LINE_MAX + 2);
    rc = signet_record_format(r, &w);
    if (rc == SIGNET_OK)
        rc = trail_commit_line(t, &w, 1);
    sbw_free(&w);
    return rc ? signet_wrap(rc, "appending a record to the audit trail") : SIGNET_OK;
}

signet_rc signet_trail_append_records(signet_trail *t, signet_record *const *recs, size_t n,
                                      uint64_t *offsets)
{
    signet_rc rc = trail_require_lock(t);
    if (rc || n == 0)
        return rc;
    /* Under the lock the file only grows by our appends: its size now is where the
     * first line goes. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", t->dir, RECORDS_FILE);
    struct stat st;
    uint64_t at = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    char host[64];
    trail_host(host);
    sb_wr w;
    sbw_init(&w, n * (SIGNET_LINE_MAX + 2));
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        signet_record *r = recs[i];
        trail_stamp(r, t->next_index + i, host);
        if (offsets)
            offsets[i] = at + w.len;
        rc = signet_record_format(r, &w);
        /* The batch is one write: every line but the last gets its newline here. */
        if (rc == SIGNET_OK && i + 1 < n)
            rc = sbw_u8(&w, '\n');
    }
    if (rc == SIGNET_OK)
        rc = trail_commit_line(t, &w, n);
    sbw_free(&w);
    return rc ? signet_wrap(rc, "appending %zu records to the audit trail", n) : SIGNET_OK;
}

/* Pieces shared by the files of the audit module (not a public API). */
#ifndef SIGNET_AUDIT_INTERNAL_H
#define SIGNET_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/audit.h"

#define RECORDS_FILE "records.log"
#define CHECKPOINTS_FILE "checkpoints"
#define VKEY_FILE "log.vkey"
#define INCOMPLETE_FILE "incomplete.log"
#define ANCHOR_DIR "anchors"
#define LOCK_FILE ".lock"

/* ---- key=value lines (kv.c) ------------------------------------------------------
 * A trail line is words separated by one space; each word is key=value, the key
 * [a-z0-9_]+, the value percent-encoded outside [A-Za-z0-9._~/:+=@,-]. */
#define KV_MAX_FIELDS 32

typedef struct {
    const char *key;
    size_t klen;
    const char *val;   /* still encoded */
    size_t vlen;
    bool used;
} kv_field;

typedef struct {
    kv_field f[KV_MAX_FIELDS];
    size_t n;
} kv_line;

signet_rc kv_put_str(sb_wr *w, const char *key, const char *val);   /* percent-encodes */
signet_rc kv_put_u64(sb_wr *w, const char *key, uint64_t v);
signet_rc kv_put_hex16(sb_wr *w, const char *key, uint16_t v);      /* 0x%04x */
signet_rc kv_put_hex8(sb_wr *w, const char *key, uint8_t v);        /* 0x%02x */
signet_rc kv_put_hexbytes(sb_wr *w, const char *key, const uint8_t *p, size_t n);
signet_rc kv_put_b64(sb_wr *w, const char *key, const uint8_t *p, size_t n);
/* Canonical decimals joined by commas, strictly increasing: "3,17,20". */
signet_rc kv_put_u64_list(sb_wr *w, const char *key, const uint64_t *v, size_t n);

/* Splits a line; fails on empty words, bad keys, duplicates or more than KV_MAX_FIELDS. */
signet_rc kv_parse(const char *line, size_t len, kv_line *out);
/* Each getter marks the field used.  Optional ones return SIGNET_E_NOTFOUND when the
 * key is absent (without recording a message); required ones fail with SIGNET_E_PARSE. */
const kv_field *kv_find(kv_line *l, const char *key);
signet_rc kv_get_str(kv_line *l, const char *key, bool required, char *out, size_t cap);
signet_rc kv_get_u64(kv_line *l, const char *key, bool required, uint64_t *out);
signet_rc kv_get_u32(kv_line *l, const char *key, bool required, uint32_t *out);
signet_rc kv_get_hex16(kv_line *l, const char *key, bool required, uint16_t *out);
signet_rc kv_get_hex8(kv_line *l, const char *key, bool required, uint8_t *out);
signet_rc kv_get_hexbytes(kv_line *l, const char *key, bool required, uint8_t *out, size_t n);
signet_rc kv_get_b64(kv_line *l, const char *key, bool required, uint8_t *out, size_t cap,
                     size_t *n);
/* A list as kv_put_u64_list writes it: 1..cap numbers, strictly increasing. */
signet_rc kv_get_u64_list(kv_line *l, const char *key, bool required, uint64_t *out, size_t cap,
                          size_t *n);
/* Fails naming the first field no getter asked for. */
signet_rc kv_check_used(const kv_line *l);

/* ---- device lines (devline.c) ------------------------------------------------------ */
typedef enum { DEVLINE_ENTRY = 1, DEVLINE_UNLOGGED } devline_type;

typedef struct {
    devline_type type;
    uint64_t index;
    uint32_t serial;
    uint64_t seq;              /* entry */
    yh_log_entry e;            /* entry */
    uint16_t boots, auths;     /* unlogged */
} devline;

signet_rc devline_format(const devline *d, sb_wr *out);   /* with i=, without newline */
signet_rc devline_parse(const char *line, size_t len, devline *out);
/* The anchor file holds entries without i=, dev= or seq=. */
signet_rc anchor_line_format(const yh_log_entry *e, sb_wr *out);
signet_rc anchor_line_parse(const char *line, size_t len, yh_log_entry *out);
/* Entry 1 after a reset: number 1, every other field 0xff, any digest. */
bool entry_is_start(const yh_log_entry *e);

/* Time as 2006-01-02T15:04:05Z. */
signet_rc time_format(int64_t t, char out[32]);
signet_rc time_parse(const char *s, int64_t *out);

/* ---- files (files.c) --------------------------------------------------------------- */
/* Reads a whole file into a malloc'd buffer (NUL-terminated, not counted). */
signet_rc file_read_all(const char *path, char **data, size_t *len);
/* Appends bytes with O_APPEND and fsync; fsyncs the directory when it created the file. */
signet_rc file_append_durable(const char *dir, const char *name, const void *p, size_t n);
/* Writes a new file via a temporary, fsync and rename (and fsyncs the directory). */
signet_rc file_write_atomic(const char *dir, const char *name, const void *p, size_t n);
signet_rc fsync_dir(const char *dir);

/* A streaming line reader over a file. */
typedef struct {
    int fd;
    char *buf;
    size_t cap, start, end;
    bool eof;
    uint64_t lineno;           /* of the last line returned */
} line_reader;
signet_rc lr_open(line_reader *r, const char *path);
void lr_close(line_reader *r);
/* *line points into the reader's buffer (valid until the next call), without the
 * newline.  Returns 1 for a complete line, 2 for a final line without newline (a
 * torn tail), 0 at the end; a line longer than SIGNET_LINE_MAX fails. */
signet_rc lr_next(line_reader *r, const char **line, size_t *len, int *kind);

/* Names of the device log files in dir ("device-<serial>.log"), sorted by serial. */
signet_rc list_device_logs(const char *dir, uint32_t **serials, size_t *n);


/* ---- the trail (trail.c) ------------------------------------------------------------ */
typedef struct {
    uint32_t serial;
    bool have;                 /* the device log holds at least one entry */
    uint64_t seq;              /* of the last entry */
    yh_log_entry last;
} dev_tail;

struct signet_trail {
    char dir[4096];
    int lock_fd;
    bool locked;
    uint64_t next_index;       /* leaves so far */
    dev_tail *devs;
    size_t n_devs;
};

signet_rc trail_require_lock(const signet_trail *t);
/* The shared tail of every append: the host name once per write, each record's
 * index/time/host stamped, then the formatted line(s) made durable before the
 * trail's next index moves (the record exists only once it is on disk). */
void trail_host(char host[64]);
void trail_stamp(signet_record *r, uint64_t index, const char *host);
signet_rc trail_commit_line(signet_trail *t, sb_wr *w, uint64_t records);
/* How many trail locks this process holds now (flock is per open file: a second
 * trail object of the same directory in this process would wait for itself). */
int trail_locks_held(void);
dev_tail *trail_dev(signet_trail *t, uint32_t serial, bool create);
void device_log_name(uint32_t serial, char out[64]);
void anchor_name(uint32_t serial, char out[64]);

/* Every leaf of the trail in DIR, by index: fails (SIGNET_E_VERIFY) when indexes
 * are missing or repeated. */
signet_rc trail_tree(const char *dir, merkle_tree **out);

/* Splits a checkpoints file into notes; *pos advances.  0 at the end. */
int notes_next(const char *data, size_t len, size_t *pos, const char **note, size_t *nlen,
               uint64_t *first_line);

/* Checkpoint writing in two steps (cpwrite.c), so that the device version can pair
 * the signature with its log entry before the note is written. */
typedef struct {
    signet_vkey vkey;
    signet_checkpoint cp;
    sb_wr text;
} cp_prepared;
signet_rc checkpoint_prepare(signet_trail *t, const char *origin, cp_prepared *p);
signet_rc checkpoint_sign_check(cp_prepared *p, signet_sign_fn fn, void *ctx, sb_wr *note);

/* The log keys of a trail over time (logkeys.c): k[0] is log.vkey's; k[i] (i > 0)
 * is in force for checkpoints of more than from[i] leaves (the change record's leaf). */
#define TRAIL_LOGKEYS_MAX 16
typedef struct {
    signet_vkey k[TRAIL_LOGKEYS_MAX];
    uint64_t from[TRAIL_LOGKEYS_MAX];
    size_t n;
} trail_logkeys;
/* base, then every change of log key in DIR/records.log (signatures not checked:
 * for writers of their own trail; verify adds only validly signed ones). */
signet_rc trail_logkeys_load(const char *dir, const signet_vkey *base, trail_logkeys *out);
/* Adds the change recorded at leaf index, note = the new key's vkey line. */
signet_rc trail_logkeys_add(trail_logkeys *ks, uint64_t index, const char *note);
/* The key in force for a checkpoint of size leaves. */
const signet_vkey *trail_logkey_for(const trail_logkeys *ks, uint64_t size);
/* Opens a checkpoint note signed by the key in force at its size (by: the key that
 * signed, when one did, even a wrong one). */
signet_rc trail_checkpoint_open(const trail_logkeys *ks, const char *note, size_t len,
                                signet_checkpoint *out, const signet_vkey **by);

/* ---- external programs (run.c) ------------------------------------------------------ */
/* Runs argv (no shell), stdout captured into out; returns the exit status in *status. */
signet_rc run_capture(char *const argv[], sb_wr *out, int *status);

#endif

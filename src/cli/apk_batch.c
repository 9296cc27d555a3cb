/* signet apk sign: one APK or a batch, in one process and one device session.
 * A worker thread reads and hashes the next APKs (the engine hashes on all
 * cores) while this thread has the device sign the current one; work is grouped
 * by key so a key is loaded once.  Each APK gets its own records; its output is
 * written (temporary file, rename) only after all of its signatures are
 * recorded, and a failing APK is reported while the others are signed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "apk_cli.h"
#include "file_io.h"
#include "signet/apk_lineage.h"
#include "signet/file.h"
#include "signet/progress.h"
#include "signet/sign.h"

#define AHEAD 2   /* APKs prepared ahead of the device */

void apk_batch_init(struct apk_batch *b) { memset(b, 0, sizeof *b); }

void apk_batch_free(struct apk_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        free(b->v[i].in);
        free(b->v[i].out);
        free(b->v[i].key);
    }
    free(b->v);
    if (b->lineage)
        signet_apk_lineage_free(b->lineage);
    free(b->lineage);
    free(b->old_key);
    memset(b, 0, sizeof *b);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

signet_rc apk_batch_add(struct apk_batch *b, const char *in, const char *out, const char *key)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct apk_item *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return signet_fail(SIGNET_E_NOMEM, "out of memory for the APK list");
        b->v = v;
        b->cap = cap;
    }
    struct apk_item *it = &b->v[b->n++];
    it->in = strdup(in);
    it->out = dup_or_null(out);
    it->key = dup_or_null(key);
    if (!it->in || (out && !it->out) || (key && !it->key))
        return signet_fail(SIGNET_E_NOMEM, "out of memory for the APK list");
    return SIGNET_OK;
}

signet_rc apk_batch_set_out(struct apk_batch *b, const char *out)
{
    for (size_t i = 0; i < b->n; i++) {
        if (!b->v[i].out) {
            b->v[i].out = strdup(out);
            return b->v[i].out ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
        }
    }
    /* apksigner's order: --out before the input APK */
    signet_rc rc = apk_batch_add(b, "", out, NULL);
    if (rc == SIGNET_OK)
        b->v[b->n - 1].in[0] = '\0';
    return rc;
}

signet_rc apk_batch_load(struct apk_batch *b, const char *path)
{
    sb_wr text;
    signet_rc rc = cli_read_file(path, 16u << 20, &text);
    if (rc)
        return rc;
    sbw_put(&text, "", 1);
    unsigned line = 0;
    char *save = NULL;
    for (char *l = strtok_r((char *)text.p, "\n", &save); l && rc == SIGNET_OK;
         l = strtok_r(NULL, "\n", &save)) {
        line++;
        char in[4096], out[4096], key[128], extra[2];
        while (*l == ' ' || *l == '\t')
            l++;
        if (*l == '#' || *l == '\0' || *l == '\r')
            continue;
        if (sscanf(l, "%4095s %4095s %127s %1s", in, out, key, extra) != 3)
            rc = signet_fail(SIGNET_E_ARG, "%s line %u: expected \"IN OUT KEY\"", path, line);
        else
            rc = apk_batch_add(b, in, out, key);
    }
    sbw_free(&text);
    return rc;
}

signet_rc apk_batch_check(struct apk_batch *b, const char *key, bool extra_args)
{
    if (extra_args)
        return signet_fail(SIGNET_E_ARG, "unexpected arguments after the options");
    if (b->n == 0)
        return signet_fail(SIGNET_E_ARG, "needs --key NAME --in IN.apk --out OUT.apk, or --batch LIST");
    for (size_t i = 0; i < b->n; i++) {
        struct apk_item *it = &b->v[i];
        if (!it->in[0] && i + 1 < b->n)
            return signet_fail(SIGNET_E_ARG, "--out %s has no input APK", it->out);
        if (!it->out)
            return signet_fail(SIGNET_E_ARG, "%s has no --out", it->in);
        if (!it->key && !key)
            return signet_fail(SIGNET_E_ARG, "%s has no key: give --key NAME", it->in);
        if (!it->key && !(it->key = strdup(key)))
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        if (strcmp(it->in, it->out) == 0)
            return signet_fail(SIGNET_E_ARG, "%s: the output must not replace the input", it->in);
    }
    if (!b->v[b->n - 1].in[0])
        return signet_fail(SIGNET_E_ARG, "needs the APK to sign (--in FILE)");
    if (b->v4_file && b->n != 1)
        return signet_fail(SIGNET_E_ARG, "--v4-signature-file names one file: use it with one APK");
    return SIGNET_OK;
}

/* ---- the pipeline ------------------------------------------------------------ */
/* APKs of one key are signed in groups: one signet_sign_batch per round of a
 * group, so the trail syncs and device-log drains are shared by up to
 * GROUP_APKS APKs (v2 + v3: two signatures each, one device group).  A group is
 * also bounded by its input size, since all its APKs are in memory at once. */
#define GROUP_APKS (SIGNET_BATCH_GROUP / 2)
#define GROUP_BYTES (64u << 20)

struct slot {
    bool ready;
    signet_rc rc;
    char err[512];
    sb_wr in;
    signet_apk_job *job;
    uint8_t in_sha256[32];
};

struct pipe {
    struct apk_batch *b;
    size_t *order;        /* items grouped by key (signet_batch_order) */
    size_t *group;        /* by position in order: its group */
    size_t ngroups;
    sb_wr *certs;         /* per item, the key's certificate (DER) */
    struct slot *slots;   /* by position in order */
    size_t groups_done;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Reads and hashes ahead: the group being signed and the next one. */
static void *prepare(void *arg)
{
    struct pipe *p = arg;
    for (size_t k = 0; k < p->b->n; k++) {
        pthread_mutex_lock(&p->mu);
        while (p->group[k] > p->groups_done + 1)
            pthread_cond_wait(&p->cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
        struct slot *s = &p->slots[k];
        size_t i = p->order[k];
        s->rc = cli_read_file(p->b->v[i].in, APK_CLI_MAX, &s->in);
        if (s->rc == SIGNET_OK) {
            SHA256(s->in.p, s->in.len, s->in_sha256);
            signet_apk_opts o = p->b->opts; /* v1 files named after the key */
            if (!o.v1_signer_name)
                o.v1_signer_name = p->b->v[i].key;
            s->rc = signet_apk_sign_begin(s->in.p, s->in.len, &o, p->certs[i].p,
                                          p->certs[i].len, &s->job);
        }
        if (s->rc)
            snprintf(s->err, sizeof s->err, "%s", signet_errmsg());
        pthread_mutex_lock(&p->mu);
        s->ready = true;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Groups of consecutive items (in signing order) of one key, bounded in count and
 * input bytes (the sizes on disk now; a file that grows only makes its group
 * bigger than planned). */
static void plan_groups(struct pipe *p)
{
    size_t g = 0, count = 0;
    uint64_t bytes = 0;
    for (size_t k = 0; k < p->b->n; k++) {
        const struct apk_item *it = &p->b->v[p->order[k]];
        struct stat st;
        uint64_t size = stat(it->in, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (k > 0 && (strcmp(it->key, p->b->v[p->order[k - 1]].key) != 0 ||
                      count == GROUP_APKS || bytes + size > GROUP_BYTES)) {
            g++;
            count = 0;
            bytes = 0;
        }
        p->group[k] = g;
        count++;
        bytes += size;
    }
    p->ngroups = p->b->n ? g + 1 : 0;
}

static signet_rc sha256_pieces(const struct iovec *v, size_t n, uint8_t out[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, v[i].iov_base, v[i].iov_len);
    ok = ok && EVP_DigestFinal_ex(c, out, NULL);
    EVP_MD_CTX_free(c);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "SHA-256 of the signed APK failed");
}

/* The output of one APK of a group, written in steps shared by the group: every
 * output is staged (temporary file, write-back started), then each is made
 * durable and renamed, then each directory is synced once, and only then is
 * each output bound to its records. */
struct out {
    signet_rc rc;
    char err[512];
    signet_file_stage st;
    bool staged;
    uint8_t sha256[32];
};

static void out_fail(struct out *o, signet_rc rc)
{
    o->rc = rc;
    snprintf(o->err, sizeof o->err, "%s", signet_errmsg());
}

/* Writes the .idsig (if any) and stages the APK from its pieces (mostly the
 * input's own bytes): no copy of it is assembled in memory. */
static void stage_one(struct apk_batch *b, const struct apk_item *it, struct slot *sl,
                      struct out *o)
{
    const struct iovec *v;
    size_t n;
    signet_rc rc = signet_apk_sign_pieces(sl->job, &v, &n, NULL);
    rc = rc ? rc : sha256_pieces(v, n, o->sha256);
    if (rc == SIGNET_OK && b->opts.v4) {
        sb_wr idsig;
        sbw_init(&idsig, APK_CLI_MAX);
        char path[4200];
        if (b->v4_file)
            snprintf(path, sizeof path, "%s", b->v4_file);
        else
            snprintf(path, sizeof path, "%s.idsig", it->out);
        rc = signet_apk_sign_finish(sl->job, NULL, &idsig);
        rc = rc ? rc : cli_write_file(path, idsig.p, idsig.len);
        sbw_free(&idsig);
    }
    rc = rc ? rc : signet_file_stage_iov(&o->st, it->out, v, n, 0644);
    if (rc)
        out_fail(o, rc);
    else
        o->staged = true;
}

/* Whether two paths name files of the same directory (as written: "a/x" and
 * "./a/y" count as two, which costs one fsync more, nothing else). */
static bool same_dir(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t la = sa ? (size_t)(sa - a) + 1 : 0, lb = sb ? (size_t)(sb - b) + 1 : 0;
    return la == lb && strncmp(a, b, la) == 0;
}

/* Commits the staged outputs of positions [0, n) (items it[k]), then syncs each
 * directory once: its fsync covers every rename into it. */
static void commit_all(const struct apk_item *const *it, struct out *o, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (!o[k].staged)
            continue;
        o[k].staged = false;
        signet_rc rc = signet_file_commit(&o[k].st, true);
        if (rc)
            out_fail(&o[k], rc);
    }
    for (size_t k = 0; k < n; k++) {
        if (o[k].rc)
            continue;
        bool done = false;
        for (size_t m = 0; m < k && !done; m++)
            done = !o[m].rc && same_dir(it[m]->out, it[k]->out);
        if (done)
            continue;
        signet_rc rc = signet_fsync_parent(it[k]->out);
        for (size_t m = n; rc && m-- > k;) /* every output in that directory */
            if (!o[m].rc && same_dir(it[m]->out, it[k]->out))
                out_fail(&o[m], rc);
    }
}

struct run {
    const struct cli_globals *g;
    struct apk_batch *b;
    struct pipe *p;
    signet_signer *s;
    signet_progress pr;
    size_t failed;
    double bytes;
    int ret;
};

static void report_failure(struct run *r, const struct apk_item *it, signet_rc rc)
{
    r->failed++;
    fprintf(stderr, "signet: %s: %s\n", it->in, signet_errmsg());
    int code = signet_exit_code(rc);
    if (!r->ret || code == 3 || code == 4)
        r->ret = code;
}

/* Signs group positions [k0, k1) (one key), then writes each output. */
static void sign_group(struct run *r, size_t k0, size_t k1)
{
    struct pipe *p = r->p;
    size_t n = k1 - k0;
    signet_apk_batch_job *v = calloc(n, sizeof *v);
    signet_apk_sign_info *infos = calloc(n, sizeof *infos);
    size_t *pos = calloc(n, sizeof *pos);
    if (!v || !infos || !pos) {
        signet_rc rc = signet_fail(SIGNET_E_NOMEM, "out of memory for a group of %zu APKs", n);
        for (size_t k = k0; k < k1; k++)
            report_failure(r, &r->b->v[p->order[k]], rc);
        goto out;
    }
    size_t m = 0;
    for (size_t k = k0; k < k1; k++) {
        struct slot *sl = &p->slots[k];
        const struct apk_item *it = &r->b->v[p->order[k]];
        if (sl->rc)
            continue;
        signet_apk_sign_info *info = &infos[m];
        info->artifact_path = it->in;
        info->caller = "signet apk sign";
        info->no_cache = r->b->no_cache;
        info->old_key = r->b->old_key;
        memcpy(info->in_sha256, sl->in_sha256, 32);
        v[m] = (signet_apk_batch_job){.job = sl->job, .info = info};
        pos[m++] = k;
    }
    if (m)
        signet_apk_jobs_sign(r->s, r->b->v[p->order[k0]].key, v, m);
    /* every output of the group staged, committed and its directory synced
     * before any is bound */
    struct out *o = calloc(n, sizeof *o);
    const struct apk_item **items = calloc(n, sizeof *items);
    if (!o || !items) {
        signet_rc rc = signet_fail(SIGNET_E_NOMEM, "out of memory for a group of %zu APKs", n);
        for (size_t k = k0; k < k1; k++)
            report_failure(r, &r->b->v[p->order[k]], rc);
        free(o);
        free(items);
        goto out;
    }
    size_t j = 0;
    for (size_t k = k0; k < k1; k++) {
        struct slot *sl = &p->slots[k];
        struct out *ok = &o[k - k0];
        items[k - k0] = &r->b->v[p->order[k]];
        if (sl->rc) {
            ok->rc = sl->rc;
            snprintf(ok->err, sizeof ok->err, "%s", sl->err);
        } else if (j < m && pos[j] == k) {
            if (v[j].rc) {
                ok->rc = v[j].rc;
                snprintf(ok->err, sizeof ok->err, "%s", v[j].err);
            } else {
                stage_one(r->b, items[k - k0], sl, ok);
            }
            j++;
        }
    }
    commit_all(items, o, n);
    /* The outputs are durable: bind them to the records made over their inputs
     * (one append for the group; one by one if that fails, to tell which), so
     * that receipts can be made for the files that ship. */
    signet_bind_item *binds = calloc(n, sizeof *binds);
    size_t nb = 0;
    bool grouped = false;
    for (size_t k = k0, jj = 0; binds && k < k1; k++) {
        bool signed_here = jj < m && pos[jj] == k;
        if (signed_here && !o[k - k0].rc) {
            signet_apk_sign_info *info = &infos[jj];
            memcpy(info->out_sha256, o[k - k0].sha256, 32);
            binds[nb++] = (signet_bind_item){items[k - k0]->in, items[k - k0]->out,
                                             p->slots[k].in_sha256, info->out_sha256,
                                             info->records, info->n_records};
        }
        jj += signed_here;
    }
    if (binds && nb)
        grouped = signet_signer_bind_group(r->s, binds, nb) == SIGNET_OK;
    free(binds);
    j = 0;
    for (size_t k = k0; k < k1; k++) {
        struct slot *sl = &p->slots[k];
        const struct apk_item *it = items[k - k0];
        struct out *ok = &o[k - k0];
        double el = signet_progress_elapsed(&r->pr);
        signet_sign_stats st;
        signet_signer_stats(r->s, &st);
        signet_progress_step(&r->pr, "%s (key %s): %.1f MB so far, %.1f MB/s, %llu device "
                             "operations, %llu cache hits", it->in, it->key, r->bytes / 1e6,
                             el > 0 ? r->bytes / 1e6 / el : 0.0,
                             (unsigned long long)st.device_signs,
                             (unsigned long long)st.cache_hits);
        signet_rc rc = ok->rc;
        if (rc == SIGNET_OK && j < m && pos[j] == k && !grouped) {
            signet_apk_sign_info *info = &infos[j];
            rc = signet_signer_bind(r->s, it->in, sl->in_sha256, it->out, info->out_sha256,
                                    info->records, info->n_records);
        } else if (rc) {
            signet_fail(rc, "%s", ok->err);
        }
        if (j < m && pos[j] == k)
            j++;
        if (rc)
            report_failure(r, it, rc);
        else
            r->bytes += (double)sl->in.len;
        signet_progress_done(&r->pr);
    }
    free(o);
    free(items);
out:
    for (size_t k = k0; k < k1; k++) {
        signet_apk_sign_free(p->slots[k].job);
        p->slots[k].job = NULL;
        sbw_free(&p->slots[k].in);
    }
    free(v);
    free(infos);
    free(pos);
}

static signet_rc load_certs(struct apk_batch *b, signet_signer *s, sb_wr *certs)
{
    /* Certificates first: the worker must not touch the key store while the
     * signing path uses it. */
    signet_keystore *ks = signet_signer_keystore(s);
    for (size_t i = 0; i < b->n; i++) {
        if (!signet_keystore_find(ks, b->v[i].key))
            return signet_fail(SIGNET_E_NOTFOUND, "no key named '%s' in the key store; see "
                                                  "`signet keys list`", b->v[i].key);
        signet_rc rc = signet_keystore_cert_der(ks, b->v[i].key, &certs[i]);
        if (rc)
            return signet_wrap(rc, "the certificate of key '%s'", b->v[i].key);
    }
    return SIGNET_OK;
}

int apk_batch_run(const struct cli_globals *g, struct apk_batch *b)
{
    struct pipe p = {.b = b};
    struct run r = {.g = g, .b = b, .p = &p};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.order = calloc(b->n, sizeof *p.order);
    p.group = calloc(b->n, sizeof *p.group);
    p.certs = calloc(b->n, sizeof *p.certs);
    p.slots = calloc(b->n, sizeof *p.slots);
    const char **keys = calloc(b->n, sizeof *keys);
    signet_rc rc = (p.order && p.group && p.certs && p.slots && keys)
                   ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory for %zu APKs", b->n);
    for (size_t i = 0; rc == SIGNET_OK && i < b->n; i++) {
        sbw_init(&p.certs[i], 1u << 16);
        keys[i] = b->v[i].key;
    }
    rc = rc ? rc : cli_open_signer(g, &r.s);
    if (rc == SIGNET_OK && b->no_cache)
        signet_signer_set_cache(r.s, false);
    rc = rc ? rc : load_certs(b, r.s, p.certs);
    rc = rc ? rc : apk_batch_find_old_key(b, signet_signer_keystore(r.s));
    /* each key loaded at most once, keys already on the device first */
    rc = rc ? rc : signet_batch_order(r.s, keys, b->n, p.order);
    if (rc) {
        signet_signer_close(r.s);
        r.ret = cli_report(rc);
        goto out;
    }
    plan_groups(&p);
    pthread_t worker;
    bool started = pthread_create(&worker, NULL, prepare, &p) == 0;
    if (!started) {
        p.groups_done = p.ngroups; /* no thread: prepare everything first */
        prepare(&p);
    }
    signet_progress_begin(&r.pr, g->quiet ? NULL : stderr, b->n);
    for (size_t k0 = 0; k0 < b->n;) {
        size_t k1 = k0;
        while (k1 < b->n && p.group[k1] == p.group[k0])
            k1++;
        pthread_mutex_lock(&p.mu);
        for (size_t k = k0; k < k1; k++)
            while (!p.slots[k].ready)
                pthread_cond_wait(&p.cv, &p.mu);
        pthread_mutex_unlock(&p.mu);
        sign_group(&r, k0, k1);
        pthread_mutex_lock(&p.mu);
        if (started)
            p.groups_done = p.group[k0] + 1;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
        k0 = k1;
    }
    if (started)
        pthread_join(worker, NULL);
    signet_sign_stats st;
    signet_signer_stats(r.s, &st);
    signet_signer_close(r.s);
    if (!g->quiet || r.failed)
        fprintf(stderr, "signet: signed %zu of %zu APKs (%llu device operations, %llu cache "
                "hits, %llu trail syncs, %.1f s)%s\n", b->n - r.failed, b->n,
                (unsigned long long)st.device_signs, (unsigned long long)st.cache_hits,
                (unsigned long long)st.syncs, signet_progress_elapsed(&r.pr),
                r.failed ? "; the failed ones were not written" : "");
out:
    for (size_t i = 0; p.certs && i < b->n; i++)
        sbw_free(&p.certs[i]);
    free(keys);
    free(p.order);
    free(p.group);
    free(p.certs);
    free(p.slots);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    return r.ret;
}

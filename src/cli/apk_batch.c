/* signet apk sign: one APK or a batch, in one process and one device session.
 * A worker thread reads and hashes the next APKs (the engine hashes on all
 * cores) while this thread has the device sign the current one; work is grouped
 * by key so a key is loaded once.  Each APK gets its own records; its output is
 * written (temporary file, rename) only after all of its signatures are
 * recorded, and a failing APK is reported while the others are signed. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "apk_cli.h"
#include "file_io.h"
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
    size_t *order;        /* items grouped by key */
    sb_wr *certs;         /* per item, the key's certificate (DER) */
    struct slot *slots;   /* by position in order */
    size_t consumed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void *prepare(void *arg)
{
    struct pipe *p = arg;
    for (size_t k = 0; k < p->b->n; k++) {
        pthread_mutex_lock(&p->mu);
        while (k >= p->consumed + AHEAD)
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

static int by_key(const void *a, const void *b, void *ctx)
{
    const struct apk_batch *bt = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(bt->v[x].key, bt->v[y].key);
    return c ? c : (x > y) - (x < y);
}

/* Signs one prepared APK and writes it; the message of a failure stays set. */
static signet_rc sign_one(signet_signer *s, struct apk_batch *b, const struct apk_item *it,
                          struct slot *sl, signet_apk_sign_info *info)
{
    info->artifact_path = it->in;
    info->caller = "signet apk sign";
    memcpy(info->in_sha256, sl->in_sha256, 32);
    info->no_cache = b->no_cache;
    sb_wr out, idsig;
    sbw_init(&out, APK_CLI_MAX);
    sbw_init(&idsig, APK_CLI_MAX);
    signet_rc rc = signet_apk_job_sign(s, it->key, sl->job, info);
    rc = rc ? rc : signet_apk_sign_finish(sl->job, &out, &idsig);
    if (rc == SIGNET_OK)
        SHA256(out.p, out.len, info->out_sha256);
    if (rc == SIGNET_OK && b->opts.v4) {
        char path[4200];
        if (b->v4_file)
            snprintf(path, sizeof path, "%s", b->v4_file);
        else
            snprintf(path, sizeof path, "%s.idsig", it->out);
        rc = cli_write_file(path, idsig.p, idsig.len);
    }
    rc = rc ? rc : cli_write_file(it->out, out.p, out.len);
    /* The output is durable: bind it to the records made over the input, so that
     * receipts can be made for the file that ships. */
    rc = rc ? rc : signet_signer_bind(s, it->in, sl->in_sha256, it->out, info->out_sha256,
                                      info->records, info->n_records);
    sbw_free(&out);
    sbw_free(&idsig);
    return rc;
}

int apk_batch_run(const struct cli_globals *g, struct apk_batch *b)
{
    struct pipe p = {.b = b};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.order = calloc(b->n, sizeof *p.order);
    p.certs = calloc(b->n, sizeof *p.certs);
    p.slots = calloc(b->n, sizeof *p.slots);
    signet_signer *s = NULL;
    int ret = 0;
    signet_rc rc = (p.order && p.certs && p.slots) ? SIGNET_OK
                   : signet_fail(SIGNET_E_NOMEM, "out of memory for %zu APKs", b->n);
    for (size_t i = 0; rc == SIGNET_OK && i < b->n; i++) {
        p.order[i] = i;
        sbw_init(&p.certs[i], 1u << 16);
    }
    rc = rc ? rc : cli_open_signer(g, &s);
    if (rc == SIGNET_OK && b->no_cache)
        signet_signer_set_cache(s, false);
    /* Certificates first: the worker must not touch the key store while the
     * signing path uses it. */
    for (size_t i = 0; rc == SIGNET_OK && i < b->n; i++) {
        signet_keystore *ks = signet_signer_keystore(s);
        if (!signet_keystore_find(ks, b->v[i].key))
            rc = signet_fail(SIGNET_E_NOTFOUND, "no key named '%s' in the key store; see `signet "
                                                "keys list`", b->v[i].key);
        else if ((rc = signet_keystore_cert_der(ks, b->v[i].key, &p.certs[i])) != SIGNET_OK)
            rc = signet_wrap(rc, "the certificate of key '%s'", b->v[i].key);
    }
    if (rc) {
        signet_signer_close(s);
        ret = cli_report(rc);
        goto out;
    }
    qsort_r(p.order, b->n, sizeof *p.order, by_key, b);
    pthread_t worker;
    bool started = pthread_create(&worker, NULL, prepare, &p) == 0;
    if (!started)
        prepare(&p); /* no thread: prepare everything first (AHEAD is not enforced) */

    signet_progress pr;
    signet_progress_begin(&pr, g->quiet ? NULL : stderr, b->n);
    size_t failed = 0;
    double bytes = 0;
    for (size_t k = 0; k < b->n; k++) {
        struct slot *sl = &p.slots[k];
        const struct apk_item *it = &b->v[p.order[k]];
        pthread_mutex_lock(&p.mu);
        while (!sl->ready)
            pthread_cond_wait(&p.cv, &p.mu);
        pthread_mutex_unlock(&p.mu);
        double el = signet_progress_elapsed(&pr);
        signet_sign_stats st;
        signet_signer_stats(s, &st);
        signet_progress_step(&pr, "%s (key %s): %.1f MB so far, %.1f MB/s, %llu device "
                             "operations, %llu cache hits", it->in, it->key, bytes / 1e6,
                             el > 0 ? bytes / 1e6 / el : 0.0,
                             (unsigned long long)st.device_signs,
                             (unsigned long long)st.cache_hits);
        signet_apk_sign_info info = {0};
        signet_rc r = sl->rc;
        if (r == SIGNET_OK)
            r = sign_one(s, b, it, sl, &info);
        else
            signet_fail(r, "%s", sl->err);
        if (r) {
            failed++;
            fprintf(stderr, "signet: %s: %s\n", it->in, signet_errmsg());
            if (!ret || signet_exit_code(r) == 3 || signet_exit_code(r) == 4)
                ret = signet_exit_code(r);
        } else {
            bytes += (double)sl->in.len;
        }
        signet_apk_sign_free(sl->job);
        sl->job = NULL;
        sbw_free(&sl->in);
        pthread_mutex_lock(&p.mu);
        p.consumed = k + 1;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
        signet_progress_done(&pr);
    }
    if (started)
        pthread_join(worker, NULL);
    signet_sign_stats st;
    signet_signer_stats(s, &st);
    signet_signer_close(s);
    if (!g->quiet || failed)
        fprintf(stderr, "signet: signed %zu of %zu APKs (%llu device operations, %llu cache "
                "hits, %.1f s)%s\n", b->n - failed, b->n, (unsigned long long)st.device_signs,
                (unsigned long long)st.cache_hits, signet_progress_elapsed(&pr),
                failed ? "; the failed ones were not written" : "");
out:
    for (size_t i = 0; p.certs && i < b->n; i++)
        sbw_free(&p.certs[i]);
    free(p.order);
    free(p.certs);
    free(p.slots);
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    return ret;
}

/* signet release plan|sign: whole target-files packages (docs/release.md).  The
 * engine is src/release (no I/O); this file reads and writes files, looks inside
 * APEX payload file systems with e2fsprogs / erofs-utils, and reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli_table.h"
#include "file_io.h"
#include "release_fs.h"
#include "release_keys.h"
#include "signet/proto.h"
#include "signet/file.h"
#include "signet/hash.h"
#include "signet/release.h"
#include "signet/sign.h"

#define TF_MAX ((size_t)0xffffffffu)
#define PLAN_MAX (16u << 20)

struct plan_args {
    const char *tf, *out, *diff, *mapping_file, *device, *ota_key, *keystore, *devkey_dir;
    struct cli_list mappings;
    bool accept, generate_missing;
    uint8_t algorithm;
};

static signet_rc p_algorithm(const char *s, void *dst)
{
    if (yh_algo_parse(s, dst) != 0 || !signet_key_algorithm_valid(*(uint8_t *)dst))
        return signet_fail(SIGNET_E_ARG, "'%s' is not a signing key algorithm (rsa4096, rsa2048, "
                                         "ecp256, ...)",
                           s);
    return SIGNET_OK;
}

/* The common front of plan and sign: zip, META files, mapping (*mp, initialised and
 * freed by the caller: sign maps the APKs inside APEX payloads with it too), plan. */
static signet_rc make_plan(const struct plan_args *a, sb_wr *zip, signet_tf *tf, signet_rplan *p,
                           signet_release_mapping *mp)
{
    signet_release_mapping_init(mp);
    sb_wr errors, mf;
    sbw_init(&errors, 1 << 20);
    sbw_init(&mf, 1);
    memset(tf, 0, sizeof *tf); /* freed by the caller also when the read fails */
    signet_rc rc = cli_read_file(a->tf, TF_MAX, zip);
    if (rc == SIGNET_OK)
        rc = signet_tf_open(zip->p, zip->len, tf);
    for (size_t i = 0; rc == SIGNET_OK && i < a->mappings.n; i++)
        rc = signet_release_mapping_add(mp, a->mappings.v[i]);
    if (rc == SIGNET_OK && a->mapping_file) {
        sbw_free(&mf);
        rc = cli_read_file(a->mapping_file, PLAN_MAX, &mf);
        if (rc == SIGNET_OK)
            rc = signet_release_mapping_parse(mp, (const char *)mf.p, mf.len, a->mapping_file);
    }
    if (rc == SIGNET_OK && a->device && !(mp->device = strdup(a->device)))
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK && a->devkey_dir && !(mp->devkey_dir = strdup(a->devkey_dir)))
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rplan_init(p);
    if (rc == SIGNET_OK) {
        rc = signet_rplan_build(&tf->meta, (const char *const *)tf->names, tf->n, mp,
                                a->ota_key, p, &errors);
        if (errors.len)
            fprintf(stderr, "%.*s", (int)errors.len, (const char *)errors.p);
    }
    if (rc == SIGNET_OK) {
        uint8_t h[32];
        EVP_Digest(zip->p, zip->len, h, NULL, EVP_sha256(), NULL);
        for (int i = 0; i < 32; i++)
            snprintf(p->target_sha256 + 2 * i, 3, "%02x", h[i]);
        const char *base = strrchr(a->tf, '/');
        if (!(p->target_name = strdup(base ? base + 1 : a->tf)))
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        else
            for (char *s = p->target_name; *s; s++)
                if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
                    *s = '_';
    }
    sbw_free(&errors);
    sbw_free(&mf);
    return rc;
}

static void print_plan(const signet_rplan *p, const signet_keystore *ks, size_t *missing)
{
    *missing = 0;
    size_t counts[3][3] = {{0}};
    for (size_t i = 0; i < p->n_items; i++) {
        const signet_rplan_item *it = &p->items[i];
        counts[it->kind][it->action]++;
        printf("%-5s %-9s %-60s %s%s%s\n", signet_rplan_kind_name(it->kind),
               it->action == SIGNET_RPLAN_SIGN ? "sign" : it->action == SIGNET_RPLAN_PRESIGNED
                                                              ? "presigned" : "external",
               it->member, it->key ? it->key : "-", it->payload ? " + payload " : "",
               it->payload ? it->payload : "");
    }
    printf("\nrelease keys:\n");
    for (size_t i = 0; i < p->n_keys; i++) {
        const signet_rplan_key *k = &p->keys[i];
        bool have = ks && signet_keystore_has_key(ks, k->store);
        *missing += !have;
        printf("  %-48s %-12s %s%s%s\n", k->name, k->role, have ? "in the store" : "MISSING",
               strcmp(k->name, k->store) ? "  stored as " : "",
               strcmp(k->name, k->store) ? k->store : "");
    }
    printf("\n%zu APKs to sign (%zu presigned, %zu external), %zu APEXes to sign (%zu "
           "presigned), %zu AVB keys; about %zu device signatures; %zu release key%s missing\n",
           counts[0][0], counts[0][1], counts[0][2], counts[1][0], counts[1][1], counts[2][0],
           signet_release_device_estimate(p), *missing, *missing == 1 ? "" : "s");
}

static signet_rc open_keystore(const struct cli_globals *g, const char *opt, signet_keystore **ks)
{
    signet_config cfg;
    signet_config_defaults(&cfg);
    const char *conf = g->config ? g->config : getenv("SIGNET_CONF");
    signet_rc rc = conf && *conf ? signet_config_load(conf, &cfg) : SIGNET_OK;
    const char *dir = opt ? opt : cfg.keystore[0] ? cfg.keystore : NULL;
    *ks = NULL;
    if (rc == SIGNET_OK && dir)
        rc = signet_keystore_open(dir, ks);
    return rc;
}

static signet_rc diff_plans(const char *prev, const signet_rplan *cur, bool accept, int *status)
{
    sb_wr text, d;
    sbw_init(&d, 1 << 24);
    signet_rplan old;
    signet_rc rc = cli_read_file(prev, PLAN_MAX, &text);
    if (rc == SIGNET_OK)
        rc = signet_rplan_parse((const char *)text.p, text.len, &old);
    if (rc != SIGNET_OK) {
        sbw_free(&text);
        return signet_wrap(rc, "%s", prev);
    }
    size_t exp, unexp;
    rc = signet_rplan_diff(&old, cur, &d, &exp, &unexp);
    if (rc == SIGNET_OK) {
        printf("\nchanges since %s: %zu expected, %zu unexpected\n%.*s", prev, exp, unexp,
               (int)d.len, (const char *)d.p);
        if (unexp && !accept) {
            fprintf(stderr, "signet: %zu unexpected change%s since %s ('!' lines): review them, "
                            "then rerun with --accept-changes\n",
                    unexp, unexp == 1 ? "" : "s", prev);
            *status = 1;
        }
    }
    signet_rplan_free(&old);
    sbw_free(&text);
    sbw_free(&d);
    return rc;
}

static signet_rc plan(struct cli_ctx *c, void *args)
{
    const struct plan_args *a = args;
    sb_wr zip, text;
    signet_tf tf;
    signet_rplan p;
    signet_release_mapping map;
    sbw_init(&text, PLAN_MAX);
    signet_keystore *ks = NULL;
    signet_rc rc = make_plan(a, &zip, &tf, &p, &map);
    if (rc == SIGNET_OK)
        rc = open_keystore(c->g, a->keystore, &ks);
    if (rc == SIGNET_OK && a->generate_missing && !ks)
        rc = signet_fail(SIGNET_E_ARG, "--generate-missing needs a key store: give --keystore "
                                       "DIR or set keystore in signet.conf");
    size_t made = 0;
    if (rc == SIGNET_OK && a->generate_missing)
        rc = cli_release_generate_missing(c->g, ks, &p,
                                          a->algorithm ? a->algorithm : YH_ALGO_RSA_4096, &made);
    if (rc == SIGNET_OK && made) { /* reopened: the new keys are in the store now */
        signet_keystore_close(ks);
        ks = NULL;
        rc = open_keystore(c->g, a->keystore, &ks);
    }
    size_t missing = 0;
    if (rc == SIGNET_OK)
        print_plan(&p, ks, &missing);
    if (rc == SIGNET_OK && a->diff)
        rc = diff_plans(a->diff, &p, a->accept, &c->status);
    if (rc == SIGNET_OK && a->out) {
        rc = signet_rplan_format(&p, &text);
        if (rc == SIGNET_OK)
            rc = signet_file_replace(a->out, text.p, text.len, 0644, true);
    }
    if (rc == SIGNET_OK && missing && !c->status) {
        fprintf(stderr, "signet: %zu release key%s missing: add them to the key map (signet keys "
                        "init / keymap.txt) and run signet keys generate, or map the development "
                        "keys to existing ones\n",
                missing, missing == 1 ? " is" : "s are");
        c->status = 6;
    }
    if (ks)
        signet_keystore_close(ks);
    signet_rplan_free(&p);
    signet_release_mapping_free(&map);
    signet_tf_free(&tf);
    sbw_free(&zip);
    sbw_free(&text);
    return rc;
}

/* ---- sign ------------------------------------------------------------------------ */

/* Several target-files packages (one per device) in one run: the n-th -o, --device and
 * --plan belong to the n-th package. */
struct sign_args {
    struct plan_args pa;  /* first: the plan options are shared (tf, device unused) */
    struct cli_list tfs, outs, devices, plans;
    const char *out_dir, *dev_cert_dir, *avb_helper;
    bool estimate_only;
};

struct pkg {
    struct plan_args pa;
    char *out;
    const char *plan_file;
    sb_wr zip;
    signet_tf tf;
    signet_rplan p;
    signet_release_mapping map;
    signet_release_job j;
    signet_release_est_sum est;
    bool planned;
};

/* A plan given on the command line must be the one just computed: what was reviewed
 * is what gets signed. */
static signet_rc check_reviewed(const struct pkg *k)
{
    sb_wr mine, text;
    sbw_init(&mine, PLAN_MAX);
    signet_rc rc = cli_read_file(k->plan_file, PLAN_MAX, &text);
    if (rc == SIGNET_OK)
        rc = signet_rplan_format(&k->p, &mine);
    if (rc == SIGNET_OK && (mine.len != text.len || memcmp(mine.p, text.p, mine.len)))
        rc = signet_fail(SIGNET_E_STATE, "%s is not the plan of %s with these options: run "
                                         "signet release plan again and review it",
                         k->plan_file, k->pa.tf);
    sbw_free(&mine);
    sbw_free(&text);
    return rc;
}

/* Where each package goes: its -o, or DIR/<input file name> with --out-dir. */
static signet_rc outputs(const struct sign_args *a, struct pkg *v, size_t n)
{
    size_t nt = a->tfs.n;
    if (a->out_dir && a->outs.n)
        return signet_fail(SIGNET_E_ARG, "give either -o (one per package) or --out-dir, not both");
    if (!a->out_dir && a->outs.n != nt)
        return signet_fail(SIGNET_E_ARG, "%zu package%s and %zu -o: give one -o per package, in "
                                         "the same order, or --out-dir DIR",
                           nt, nt == 1 ? "" : "s", a->outs.n);
    if (a->devices.n > 1 && a->devices.n != nt)
        return signet_fail(SIGNET_E_ARG, "%zu packages and %zu --device: give one --device per "
                                         "package, in the same order",
                           nt, a->devices.n);
    if (a->devices.n == 1 && nt > 1)
        return signet_fail(SIGNET_E_ARG, "one --device for %zu packages: each device has its own "
                                         "AVB keys, give one --device per package",
                           nt);
    if (a->plans.n && a->plans.n != nt)
        return signet_fail(SIGNET_E_ARG, "%zu packages and %zu --plan: give one --plan per "
                                         "package, in the same order",
                           nt, a->plans.n);
    for (size_t i = 0; i < n; i++) {
        const char *tf = a->tfs.v[i], *base = strrchr(tf, '/');
        base = base ? base + 1 : tf;
        size_t len = a->out_dir ? strlen(a->out_dir) + strlen(base) + 2 : strlen(a->outs.v[i]) + 1;
        if (!(v[i].out = malloc(len)))
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        if (a->out_dir)
            snprintf(v[i].out, len, "%s/%s", a->out_dir, base);
        else
            snprintf(v[i].out, len, "%s", a->outs.v[i]);
        /* Found now rather than after every signature of the run is made. */
        char dir[4096];
        const char *slash = strrchr(v[i].out, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - v[i].out) + 1 : 1,
                 slash ? v[i].out : ".");
        struct stat si, so;
        if (!a->estimate_only && (stat(dir, &so) != 0 || !S_ISDIR(so.st_mode)))
            return signet_fail(SIGNET_E_ARG, "%s: the directory %s does not exist: create it "
                                             "first", v[i].out, dir);
        if (stat(tf, &si) == 0 && stat(v[i].out, &so) == 0 && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino)
            return signet_fail(SIGNET_E_ARG, "%s would overwrite its input: choose another output",
                               v[i].out);
        for (size_t k = 0; k < i; k++)
            if (strcmp(v[k].out, v[i].out) == 0)
                return signet_fail(SIGNET_E_ARG, "packages %zu and %zu both go to %s: give them "
                                                 "different outputs", k + 1, i + 1, v[i].out);
    }
    return SIGNET_OK;
}

static void est_line(const char *what, const signet_release_est_sum *s)
{
    fprintf(stderr, "estimate: %s: %zu APKs, %zu in APEX payloads, %zu APEXes: %zu signatures, "
                    "%zu predicted cache hits, about %zu device signatures\n",
            what, s->apks, s->inner_apks, s->apexes, s->signatures, s->predicted_hits,
            s->signatures - s->predicted_hits);
}

/* Plans every package and prints the estimate, before the device is touched. */
static signet_rc prepare(struct cli_ctx *c, const struct sign_args *a, struct pkg *v, size_t n,
                         signet_release_estimate *e, cli_release_fs_cache *fsc)
{
    signet_rc rc = SIGNET_OK;
    signet_release_est_sum total = {0};
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        struct pkg *k = &v[i];
        k->pa = a->pa;
        k->pa.tf = a->tfs.v[i];
        k->pa.device = a->devices.n ? a->devices.v[i] : NULL;
        k->plan_file = a->plans.n ? a->plans.v[i] : NULL;
        rc = make_plan(&k->pa, &k->zip, &k->tf, &k->p, &k->map);
        k->planned = true;
        if (rc == SIGNET_OK && k->plan_file)
            rc = check_reviewed(k);
        k->j = (signet_release_job){.dev_cert_dir = a->dev_cert_dir, .avb_helper = a->avb_helper,
                                    .fs = &cli_release_fs_ops, .fs_ctx = fsc,
                                    .meta = &k->tf.meta, .map = &k->map,
                                    .progress = c->g->quiet ? NULL : stderr};
        if (rc == SIGNET_OK)
            rc = signet_release_estimate_add(e, &k->j, i, &k->tf, &k->p, &k->est);
        if (rc == SIGNET_OK && (!c->g->quiet || a->estimate_only)) {
            char what[4200];
            snprintf(what, sizeof what, "%s (device %s)", k->pa.tf,
                     k->pa.device ? k->pa.device : "-");
            est_line(what, &k->est);
        }
        total.apks += k->est.apks;
        total.inner_apks += k->est.inner_apks;
        total.apexes += k->est.apexes;
        total.signatures += k->est.signatures;
        total.predicted_hits += k->est.predicted_hits;
    }
    if (rc == SIGNET_OK && n > 1 && (!c->g->quiet || a->estimate_only)) {
        char what[64];
        snprintf(what, sizeof what, "total of %zu packages", n);
        est_line(what, &total);
    }
    return rc;
}

/* One package signed through the open signing path, written through a temporary
 * file and a rename (an interrupted run leaves no output), then bound. */
static signet_rc keys_present(struct cli_ctx *c, struct pkg *k)
{
    signet_release_job *j = &k->j;
    j->signer = c->signer;
    j->ks = signet_signer_keystore(c->signer);
    for (size_t i = 0; i < k->p.n_keys; i++)
        if (!signet_keystore_has_key(j->ks, k->p.keys[i].store))
            return signet_fail(SIGNET_E_NOTFOUND, "%s: release key '%s' (stored as '%s') is not "
                                                  "in the key store: run signet release plan to "
                                                  "see every missing key",
                               k->pa.tf, k->p.keys[i].name, k->p.keys[i].store);
    return SIGNET_OK;
}

static signet_rc sign_one(struct cli_ctx *c, struct pkg *k)
{
    signet_release_job *j = &k->j;
    signet_rc rc = SIGNET_OK;
    sb_wr out;
    sbw_init(&out, TF_MAX);
    if (rc == SIGNET_OK)
        rc = signet_release_sign(j, &k->tf, &k->p, &out);
    if (rc == SIGNET_OK)
        rc = signet_file_replace(k->out, out.p, out.len, 0644, true);
    /* Once the package is durable: a binding per signed member, then the package's. */
    if (rc == SIGNET_OK) {
        uint8_t in_sha[32], out_sha[32];
        rc = signet_sha256(k->zip.p, k->zip.len, in_sha);
        if (rc == SIGNET_OK)
            rc = signet_sha256(out.p, out.len, out_sha);
        if (rc == SIGNET_OK)
            rc = signet_release_bind(j, k->pa.tf, in_sha, k->out, out_sha);
    }
    if (rc == SIGNET_OK && !c->g->quiet)
        fprintf(stderr, "%s: %zu artifacts signed, %.1f MB, %u device operations, %u cache "
                        "hits\n",
                k->out, j->done, j->bytes / 1e6, j->device_ops, j->cache_hits);
    sbw_free(&out);
    return rc == SIGNET_OK ? rc : signet_wrap(rc, "%s", k->pa.tf);
}

static signet_rc sign(struct cli_ctx *c, void *args)
{
    const struct sign_args *a = args;
    size_t n = a->tfs.n;
    struct pkg *v = calloc(n ? n : 1, sizeof *v);
    signet_release_estimate e = {0};
    cli_release_fs_cache fsc = {0}; /* each distinct APEX payload unpacked once */
    signet_rc rc = v ? outputs(a, v, n) : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK)
        rc = prepare(c, a, v, n, &e, &fsc);
    if (rc == SIGNET_OK && !a->estimate_only)
        rc = cli_ctx_open(c);
    for (size_t i = 0; rc == SIGNET_OK && !a->estimate_only && i < n; i++)
        rc = keys_present(c, &v[i]);
    /* Every package's APKs and APEXes first, ordered by key across the packages;
     * then each package is written on its own. */
    signet_release_pkg *pk = a->estimate_only ? NULL : calloc(n ? n : 1, sizeof *pk);
    if (rc == SIGNET_OK && !a->estimate_only && !pk)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == SIGNET_OK && pk && i < n; i++)
        pk[i] = (signet_release_pkg){.j = &v[i].j, .tf = &v[i].tf, .p = &v[i].p};
    if (rc == SIGNET_OK && pk)
        rc = signet_release_sign_artifacts(pk, n, c->g->quiet ? NULL : stderr);
    free(pk);
    for (size_t i = 0; rc == SIGNET_OK && !a->estimate_only && i < n; i++)
        rc = sign_one(c, &v[i]);
    if (rc == SIGNET_OK && !a->estimate_only && n > 1 && !c->g->quiet) {
        signet_sign_stats st;
        signet_signer_stats(c->signer, &st);
        fprintf(stderr, "signet: %zu packages signed, %llu device operations, %llu cache hits\n",
                n, (unsigned long long)st.device_signs, (unsigned long long)st.cache_hits);
    }
    if (rc == SIGNET_OK && !c->g->quiet && fsc.unpacked)
        fprintf(stderr, "signet: APEX payloads: %zu unpacked, %zu opened again from a copy\n",
                fsc.unpacked, fsc.reused);
    for (size_t i = 0; v && i < n; i++) {
        struct pkg *k = &v[i];
        if (k->planned) {
            signet_release_job_free(&k->j);
            signet_rplan_free(&k->p);
            signet_release_mapping_free(&k->map);
            signet_tf_free(&k->tf);
            sbw_free(&k->zip);
        }
        free(k->out);
    }
    free(v);
    signet_release_estimate_free(&e);
    cli_release_fs_cache_free(&fsc); /* after the jobs: closing their trees may keep one */
    return rc;
}

static signet_rc verify(struct cli_ctx *c, void *args)
{
    const struct plan_args *a = args;
    sb_wr zip;
    signet_tf tf;
    signet_rplan p;
    signet_release_mapping map;
    signet_keystore *ks = NULL;
    signet_rc rc = make_plan(a, &zip, &tf, &p, &map);
    if (rc == SIGNET_OK)
        rc = open_keystore(c->g, a->keystore, &ks);
    if (rc == SIGNET_OK && !ks)
        rc = signet_fail(SIGNET_E_ARG, "no key store: give --keystore DIR or set keystore in "
                                       "signet.conf");
    signet_release_check chk = {.ks = ks, .out = stdout, .fs = &cli_release_fs_ops,
                                .meta = &tf.meta, .map = &map};
    if (rc == SIGNET_OK)
        rc = signet_release_verify(&chk, &tf, &p);
    if (rc == SIGNET_OK) {
        printf("\n%zu checks, %zu failed\n", chk.checked, chk.failed);
        if (chk.failed)
            c->status = 1;
    }
    if (ks)
        signet_keystore_close(ks);
    signet_rplan_free(&p);
    signet_release_mapping_free(&map);
    signet_tf_free(&tf);
    sbw_free(&zip);
    return rc;
}


#define PLAN_OPTS(T, f)                                                                            \
    CLI_OPT("key-mapping", 'k', "DEV=RELEASE", cli_p_str, T, f mappings, CLI_REPEAT,              \
            "map a development key (path or last component) to a release key"),                   \
    CLI_OPT("mapping-file", 0, "FILE", cli_p_str, T, f mapping_file, 0,                           \
            "DEV = RELEASE lines ('#' comments)"),                                                \
    CLI_OPT("ota-key", 0, "NAME", cli_p_str, T, f ota_key, 0,                                     \
            "key of the OTA package and otacerts.zip (default releasekey)"),                      \
    CLI_OPT("devkey-dir", 0, "PATH", cli_p_str, T, f devkey_dir, 0,                               \
            "AOSP's development key directory (default: from misc_info)"),                        \
    CLI_OPT("keystore", 0, "DIR", cli_p_str, T, f keystore, 0,                                    \
            "key store (default: keystore of signet.conf)")
#define DEVICE_OPT                                                                                 \
    CLI_OPT("device", 0, "NAME", cli_p_str, struct plan_args, device, 0,                          \
            "device name: AVB keys map to avb_NAME")

static const struct cli_opt PLAN_OPTIONS[] = {
    CLI_POS("TARGET_FILES", cli_p_str, struct plan_args, tf, CLI_REQUIRED, "target-files zip"),
    PLAN_OPTS(struct plan_args, ),
    DEVICE_OPT,
    CLI_OPT("out", 'o', "PLAN", cli_p_str, struct plan_args, out, 0, "write the plan file"),
    CLI_OPT("diff", 0, "PREVIOUS_PLAN", cli_p_str, struct plan_args, diff, 0,
            "show what changed since a previous plan"),
    CLI_SWITCH("accept-changes", 0, struct plan_args, accept,
               "do not fail on unexpected changes in --diff"),
    CLI_SWITCH("generate-missing", 0, struct plan_args, generate_missing,
               "add the missing release keys to the key map and generate them (signet keys "
               "generate)"),
    CLI_OPT("algorithm", 0, "A", p_algorithm, struct plan_args, algorithm, 0,
            "algorithm of generated keys: rsa4096 (default), rsa2048, ...; AVB and APEX payload "
            "keys are always RSA"),
    CLI_END};

static const struct cli_opt SIGN_OPTIONS[] = {
    CLI_POS("TARGET_FILES", cli_p_str, struct sign_args, tfs, CLI_REQUIRED | CLI_REST,
            "target-files zips, one per device"),
    PLAN_OPTS(struct sign_args, pa.),
    CLI_OPT("device", 0, "NAME", cli_p_str, struct sign_args, devices, CLI_REPEAT,
            "device name (AVB keys map to avb_NAME); one per package, in order"),
    CLI_OPT("out", 'o', "SIGNED", cli_p_str, struct sign_args, outs, CLI_REPEAT,
            "the signed target-files zip; one per package, in order"),
    CLI_OPT("out-dir", 0, "DIR", cli_p_str, struct sign_args, out_dir, 0,
            "write each signed package as DIR/<its input's file name> (instead of -o)"),
    CLI_OPT("plan", 0, "PLAN", cli_p_str, struct sign_args, plans, CLI_REPEAT,
            "refuse to sign unless the plan equals this reviewed one; one per package"),
    CLI_OPT("dev-cert-dir", 0, "DIR", cli_p_str, struct sign_args, dev_cert_dir, 0,
            "root where DEV_KEY.x509.pem development certificates are (for mac_permissions.xml)"),
    CLI_OPT("avb-helper", 0, "PATH", cli_p_str, struct sign_args, avb_helper, 0,
            "signing helper written into misc_info (e.g. /usr/local/bin/signet-avb-sign)"),
    CLI_SWITCH("estimate-only", 0, struct sign_args, estimate_only,
               "print the device-signature estimate and stop (no HSM needed)"),
    CLI_END};

static const struct cli_opt VERIFY_OPTIONS[] = {
    CLI_POS("SIGNED", cli_p_str, struct plan_args, tf, CLI_REQUIRED, "signed target-files zip"),
    PLAN_OPTS(struct plan_args, ),
    DEVICE_OPT,
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {"plan", "what a target-files package needs signed, with which release key",
     "Reads META/apkcerts.txt, META/apexkeys.txt and META/misc_info.txt, maps every\n"
     "development key to a release key (AOSP defaults, --key-mapping, --mapping-file,\n"
     "per-APEX and per-device keys) and prints the plan and the missing release keys.\n"
     "Fails closed: a development key without a mapping, a member without a key and a\n"
     "member signet cannot sign are errors.  Exit 6 when release keys are missing, 1\n"
     "on unexpected changes against --diff.  --generate-missing adds the missing keys\n"
     "to the key map (store name, role) and runs signet keys generate for them, with\n"
     "the credential that command needs.  docs/release.md.\n",
     PLAN_OPTIONS, sizeof(struct plan_args), 0, plan},
    {"sign", "re-sign target-files packages (one per device) with release keys",
     "Plans each package as `release plan` does and prints, before the device is\n"
     "touched, the signatures each package needs (APKs inside APEX payloads counted),\n"
     "the predicted cache hits (the same APK with the same key in several devices'\n"
     "packages is signed once) and the device signatures left; --estimate-only stops\n"
     "there.  Then signs every APK and APEX of every package through the signing\n"
     "path in one device session (APKs inside APEX payloads re-signed and the payload\n"
     "rebuilt with e2fsprogs / erofs-utils, payload vbmeta re-signed, apex_pubkey\n"
     "replaced, container 4 KiB-aligned and signed; .capex around its original_apex),\n"
     "refuses PRESIGNED members signed by AOSP's public test keys, rewrites build\n"
     "properties, mac_permissions.xml, otacerts.zip and misc_info.txt, and writes\n"
     "each signed package through a temporary file: an interrupted run leaves no\n"
     "output for the package it was in, and a rerun takes what was signed from the\n"
     "signing cache.  The n-th -o, --device and --plan belong to the n-th package.\n"
     "docs/release.md.\n",
     SIGN_OPTIONS, sizeof(struct sign_args), CLI_SIGNER | CLI_LATE, sign},
    {"verify", "check a signed target-files package against the plan and the key store",
     "Plans from the package's META files with the same options as `release sign`, then\n"
     "checks every APK and APEX the plan signs, and every APK inside an APEX payload:\n"
     "its signer certificate is the release certificate of its key (a certificate\n"
     "outside the release set fails), each\n"
     "APEX payload's vbmeta verifies with the release payload key (hash tree included)\n"
     "and apex_pubkey is that key; mac_permissions.xml holds only release certificates,\n"
     "otacerts.zip only the OTA key's, build properties no test-keys.  Prints a table;\n"
     "exit 1 when any check fails.  No HSM is needed.\n",
     VERIFY_OPTIONS, sizeof(struct plan_args), 0, verify},
    {0}};

const struct cli_table cli_table_release = {
    "release", "plan and sign whole target-files packages",
    "Whole-release signing of AOSP target-files packages (docs/release.md).", CMDS};

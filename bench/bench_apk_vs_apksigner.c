/* bench_apk_vs_apksigner: a set of APKs (default 20, 24 MB in all) signed by
 * `signet apk sign --batch` (one process, one device session, group commits)
 * against the same APKs signed by Debian's apksigner through signet's PKCS#11
 * module, one apksigner process (one JVM) per APK as a build runs it, in one
 * run; for RSA-2048 and RSA-4096 keys and with signet-hsm's latency model off
 * and `yubihsm2`.  Then both re-sign the same APKs with the signing cache (each
 * path has its own cache directory, so the first signing is a real miss): the
 * device should make no signature at all.
 *
 * Both paths run with the audit trail (every signature recorded; the cache lives
 * beside the trail) and the signing commands audited by the device, as in a
 * ceremony.  Device signatures are counted from the command's summary (signet)
 * and from the trail's sign / reuse records (apksigner through the module).  The
 * outputs of both paths are compared byte for byte (--lib-page-alignment 4096:
 * Debian's apksigner 31.0.2 layout).
 *
 * Not part of ctest: run it by hand (docs/BENCHMARKS.md).
 *
 *   bench_apk_vs_apksigner [--apks N] [--mb MB] [--keys 2048,4096]
 *                          [--latency none,yubihsm2] [--signet-only]
 * (--signet-only skips apksigner, for profiling; $BENCH_SIGNET_WRAP is put before
 * the signet command, e.g. "strace -f -c -o FILE".) */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apk/apk_fixture.h"
#include "pkcs11/p11_env.h"

/* docs/emulator.md: the yubihsm2 model's time for one signature */
static double model_sig_s(int bits) { return bits == 4096 ? 1.000 : 0.150; }

static int n_apks = 20;
static bool signet_only; /* profiling: skip apksigner */
static double total_mb = 24;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load(char *buf, size_t n)
{
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(buf, (int)n, f))
        snprintf(buf, n, "?");
    if (f)
        fclose(f);
    char *sp = strchr(buf, ' ');
    if (sp)
        *sp = '\0'; /* the 1-minute figure */
}

/* The APKs: min SDK 24 (v2 + v3, no v1), a random deflated classes.dex, a text
 * resource, a stored native library and a stored asset; every APK differs. */
static double make_apks(const char *dir)
{
    long per = (long)(total_mb * 1e6 / n_apks);
    char recipe[256];
    snprintf(recipe, sizeof recipe, "sdk:24 dex:%ld res:%ld so:%ld store:%ld", per * 35 / 100,
             per * 10 / 100, per * 25 / 100, per * 35 / 100);
    double bytes = 0;
    for (int i = 0; i < n_apks; i++) {
        char name[32], path[PATH_MAX];
        snprintf(name, sizeof name, "app%02d.apk", i);
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        if (apkfix_build(dir, name, recipe) != 0 || stat(path, &st) != 0) {
            fprintf(stderr, "bench_apk_vs_apksigner: cannot build %s\n", path);
            exit(1);
        }
        bytes += (double)st.st_size;
    }
    return bytes;
}

/* Sign and reuse records in the trail so far. */
static void count_records(const struct p11_env *e, long *sign, long *reuse)
{
    char *out = NULL;
    *sign = *reuse = 0;
    if (p11_sh(&out, "cat %s/records.log 2>/dev/null | awk '/ type=sign /{s++} "
                     "/ type=reuse /{r++} END{print s+0, r+0}'", e->audit) == 0 && out)
        sscanf(out, "%ld %ld", sign, reuse);
    free(out);
}

struct result {
    double s;
    long device, reused;
};

/* One apksigner process per APK through the module; device signatures from the
 * trail. */
static struct result run_apksigner(struct p11_env *e, const char *dir, const char *key,
                                   const char *tag)
{
    char cfg[PATH_MAX], text[PATH_MAX + 100];
    snprintf(cfg, sizeof cfg, "%s/signet-p11.cfg", dir);
    snprintf(text, sizeof text, "name = signet\nlibrary = %s\nslotListIndex = 0\n", e->module);
    if (test_write_file(cfg, text, strlen(text)))
        exit(1);
    long s0, r0, s1, r1;
    count_records(e, &s0, &r0);
    setenv("PIN", P11_TEST_PIN, 1);
    double t0 = now_s();
    for (int i = 0; i < n_apks; i++)
        if (p11_sh(NULL, "apksigner -J-add-exports=jdk.crypto.cryptoki/sun.security.pkcs11=ALL-UNNAMED "
                         "sign --ks NONE --ks-type PKCS11 --ks-pass env:PIN --provider-class "
                         "sun.security.pkcs11.SunPKCS11 --provider-arg %s --ks-key-alias %s "
                         "--v1-signing-enabled false --v4-signing-enabled false --out %s/%s-%02d.apk %s/app%02d.apk",
                   cfg, key, dir, tag, i, dir, i))
            exit(1);
    struct result r = {.s = now_s() - t0};
    unsetenv("PIN");
    count_records(e, &s1, &r1);
    r.device = s1 - s0;
    r.reused = r1 - r0;
    return r;
}

/* One `signet apk sign --batch` for every APK; device signatures and cache hits
 * from its summary line. */
static struct result run_signet(const char *dir, const char *key, const char *tag)
{
    char list[PATH_MAX];
    snprintf(list, sizeof list, "%s/%s.list", dir, tag);
    FILE *f = fopen(list, "w");
    if (!f)
        exit(1);
    for (int i = 0; i < n_apks; i++)
        fprintf(f, "%s/app%02d.apk %s/%s-%02d.apk %s\n", dir, i, dir, tag, i, key);
    fclose(f);
    char *out = NULL;
    double t0 = now_s();
    const char *wrap = getenv("BENCH_SIGNET_WRAP"); /* e.g. "strace -f -c -o FILE" */
    int rc = p11_sh(&out, "SIGNET_PASSWORD=password %s signet apk sign --lib-page-alignment 4096 "
                          "--batch %s 2>&1", wrap ? wrap : "", list);
    struct result r = {.s = now_s() - t0};
    unsigned long long dev = 0, hits = 0;
    char all[64];
    snprintf(all, sizeof all, "signed %d of %d APKs (", n_apks, n_apks);
    const char *p = out ? strstr(out, all) : NULL;
    if (rc || !p || sscanf(p + strlen(all), "%llu device operations, %llu cache hits", &dev,
                           &hits) != 2) {
        fprintf(stderr, "bench_apk_vs_apksigner: signet apk sign --batch: %s\n", out ? out : "");
        exit(1);
    }
    free(out);
    r.device = (long)dev;
    r.reused = (long)hits;
    return r;
}

static int identical(const char *dir, const char *a, const char *b)
{
    int same = 0;
    for (int i = 0; i < n_apks; i++)
        same += p11_sh(NULL, "cmp -s %s/%s-%02d.apk %s/%s-%02d.apk", dir, a, i, dir, b, i) == 0;
    return same;
}

static void row(const char *what, const struct result *r, const struct result *base)
{
    printf("  %-44s %8.2f s %7.3f s/APK %6ld %6ld", what, r->s, r->s / n_apks, r->device,
           r->reused);
    if (base)
        printf(" %8.1fx", base->s / r->s);
    printf("\n");
}

/* Signet's own key store names the keys; the module shows them by the same label. */
static void bench_key(struct p11_env *e, const char *dir, int bits, const char *latency)
{
    char key[32], ld[32];
    snprintf(key, sizeof key, "rel%d", bits);
    /* a cache directory per path and latency model: the first signing misses */
    char extra[2 * PATH_MAX];
    snprintf(extra, sizeof extra, "cache_dir = %s/cache-p11-%s\n", dir, latency);
    if (p11_env_write_conf(e, extra))
        exit(1);
    load(ld, sizeof ld);
    printf("\nRSA-%d, latency model %s (load average %s at the start)\n", bits, latency, ld);
    printf("  %-44s %10s %13s %6s %6s %9s\n", "", "wall", "", "device", "reused", "speed-up");
    struct result a = {0}, a2 = {0};
    if (!signet_only)
        a = run_apksigner(e, dir, key, "apksigner");
    snprintf(extra, sizeof extra, "cache_dir = %s/cache-signet-%s\n", dir, latency);
    if (p11_env_write_conf(e, extra))
        exit(1);
    struct result s = run_signet(dir, key, "signet");
    int same = signet_only ? 0 : identical(dir, "apksigner", "signet");
    struct result s2 = run_signet(dir, key, "signet-again");
    snprintf(extra, sizeof extra, "cache_dir = %s/cache-p11-%s\n", dir, latency);
    if (p11_env_write_conf(e, extra))
        exit(1);
    if (signet_only) {
        row("signet apk sign --batch", &s, NULL);
        row("re-sign: signet apk sign --batch (cache)", &s2, NULL);
        return;
    }
    a2 = run_apksigner(e, dir, key, "apksigner-again");
    row("apksigner through the module, 1 JVM per APK", &a, NULL);
    row("signet apk sign --batch", &s, &a);
    row("re-sign: apksigner through the module (cache)", &a2, &a);
    row("re-sign: signet apk sign --batch (cache)", &s2, &a);
    printf("  signet --batch re-sign against apksigner's re-sign: %.1fx\n", a2.s / s2.s);
    printf("  device signatures per APK: signet %.2f, apksigner %.2f; outputs byte-identical: "
           "%d of %d\n", (double)s.device / n_apks, (double)a.device / n_apks, same, n_apks);
    if (strcmp(latency, "none") != 0)
        printf("  model: %ld signatures x %.3f s = %.2f s; signet's wall time is %.2fx that "
               "(apksigner %.2fx)\n", s.device, model_sig_s(bits), s.device * model_sig_s(bits),
               s.s / (s.device * model_sig_s(bits)), a.s / (a.device * model_sig_s(bits)));
}

static bool listed(const char *list, const char *word)
{
    char buf[128];
    snprintf(buf, sizeof buf, ",%s,", list);
    char w[64];
    snprintf(w, sizeof w, ",%s,", word);
    return strstr(buf, w) != NULL;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"apks", required_argument, 0, 'a'},
                                         {"mb", required_argument, 0, 'm'},
                                         {"keys", required_argument, 0, 'k'},
                                         {"latency", required_argument, 0, 'l'},
                                         {"signet-only", no_argument, 0, 's'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *keys = "2048,4096", *latencies = "none,yubihsm2";
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': n_apks = atoi(optarg); break;
        case 'm': total_mb = atof(optarg); break;
        case 'k': keys = optarg; break;
        case 'l': latencies = optarg; break;
        case 's': signet_only = true; break;
        default:
            printf("usage: bench_apk_vs_apksigner [--apks N (20)] [--mb MB in all (24)] "
                   "[--keys 2048,4096] [--latency none,yubihsm2] [--signet-only (profiling)]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (n_apks < 1 || n_apks > 99 || total_mb <= 0) {
        fprintf(stderr, "bench_apk_vs_apksigner: --apks 1..99, --mb > 0\n");
        return 2;
    }
    if (!getenv("SIGNET_BIN_DIR")) {
        /* run from the build tree: signet and signet-hsm sit next to this program */
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return 1;
        self[n] = 0;
        setenv("SIGNET_BIN_DIR", dirname(self), 1);
    }
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s:%s", getenv("SIGNET_BIN_DIR"), getenv("PATH"));
    setenv("PATH", path, 1);
    /* keys are generated without the latency model (RSA-4096 generation on a
     * real device takes about 30 s); the daemon is restarted with it afterwards */
    struct p11_env e;
    if (p11_env_start(&e, "rel2048 rsa2048,rel4096 rsa4096", true, NULL) != 0)
        return 1;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/apks", e.h.dir);
    if (p11_sh(NULL, "mkdir -p %s", dir))
        return 1;
    double bytes = make_apks(dir);
    printf("%d APKs, %.1f MB in all (min SDK 24: v2 + v3), %ld cores; device audit on, audit "
           "trail on\n", n_apks, bytes / 1e6, sysconf(_SC_NPROCESSORS_ONLN));
    printf("columns: wall time, per APK, device signatures, signatures reused from the cache, "
           "speed-up against apksigner's first signing\n");
    for (int l = 0; l < 2; l++) {
        const char *lat = l == 0 ? "none" : "yubihsm2";
        if (!listed(latencies, lat))
            continue;
        if (l == 1) {
            if (hsmd_restart(&e.h, "--latency yubihsm2") != 0)
                return 1;
        }
        for (int bits = 2048; bits <= 4096; bits *= 2) {
            char b[8];
            snprintf(b, sizeof b, "%d", bits);
            if (listed(keys, b))
                bench_key(&e, dir, bits, lat);
        }
    }
    p11_env_stop(&e);
    return 0;
}

/* Whole-release signing against the per-artifact way, on a synthetic release.
 *
 *   SIGNET_BIN_DIR=build/bin SIGNET_SOURCE_DIR=. bench_release [--apks N] [--mb MB]
 *       [--apexes N] [--devices D] [--latency none|yubihsm2] [--algorithm A]
 *       [--per-artifact N] [--check]
 *
 * Setup (untimed): signet-hsm (latency model off while keys are made), a key store
 * from `keys init` (the Android set, avb_devK for each device, a payload and a
 * container key per APEX; all of algorithm A, default rsa2048) generated on it, and
 * D target-files packages from tests/release/mktf.py: N APKs of MB in total (a mix of
 * deflated and stored entries and native libraries) in 5 partitions, N APEXes with
 * hash-tree-footed ext4 payloads, mac_permissions.xml and otacerts.zip; the packages
 * of devices 2..D equal device 1's but for N/20 APKs whose contents are the
 * device's own.  With --latency yubihsm2 the daemon is then restarted with that
 * model (signatures at the model's speed: 150 ms RSA-2048, 1 s RSA-4096).
 *
 * Timed, in this order, with the signing cache emptied before each way:
 *   per-artifact: device 1's package as a build does it without signet's release
 *            command (bench/bench_release_prep.py): one Debian apksigner run through
 *            signet's PKCS#11 module per APK, and per APEX the avbtool signing helper
 *            on the payload block plus one apksigner run for the container; the
 *            package is unpacked beforehand and not repacked (both favour this way).
 *            --per-artifact N times only the first N artifacts and says so (0: none);
 *   release: `signet release sign` of device 1, then devices 2..D one run each with
 *            the cache device 1 left (device operations only for what differs);
 *   one run: when `release sign` takes several packages, all D in one run (cache
 *            emptied first).
 * Prints wall times, device operations, cache hits, the ratio per-artifact /
 * release for device 1, and with the yubihsm2 model the wall time against device
 * signatures x the model's signature time.  --check then verifies every output
 * with `release verify` and every APK of device 1's output with `apksigner verify`
 * (exit 1 on any failure): the CI-sized run in tests/release uses it. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hsmd_fixture.h"

static struct hsmd h;
static char env[4096];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void set_env(void)
{
    char conf[1024], path[512];
    snprintf(env, sizeof env,
             "export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password SIGNET_CONF=%s/signet.conf "
             "PIN=0001password PATH=%s:$PATH S=%s;",
             h.url, h.dir, getenv("SIGNET_BIN_DIR"), getenv("SIGNET_SOURCE_DIR"));
    snprintf(conf, sizeof conf, "connector = %s\nkeystore = %s/keys\naudit = %s/audit\n", h.url,
             h.dir, h.dir);
    snprintf(path, sizeof path, "%s/signet.conf", h.dir);
    if (test_write_file(path, conf, strlen(conf)) != 0)
        exit(1);
}

/* Runs a shell command in the bench directory; stdout into *out when given. */
static int sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char **out, const char *fmt, ...)
{
    static char cmd[65536];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", h.dir, env);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    /* Generating a release-sized package or running apksigner per APK takes longer
     * than run_cmd's 5 minutes on a loaded machine. */
    return run_cmd_full(cmd, NULL, 0, out, NULL, NULL, 4 * 3600);
}

__attribute__((noreturn)) static void die(const char *what)
{
    fprintf(stderr, "bench_release: %s failed (files kept in %s)\n", what, h.dir);
    hsmd_stop(&h);
    exit(1);
}

struct run {
    double wall;
    unsigned long long ops, hits;
};

/* One timed `release sign`; device operations and cache hits summed over the
 * closing lines ("OUT: N artifacts signed, M MB, D device operations, H cache hits"). */
static struct run release_sign(const char *args, const char *what)
{
    struct run r = {0};
    char *out = NULL;
    double t0 = now();
    if (sh(&out, "signet release sign %s --dev-cert-dir d1/dev 2>&1 >/dev/null | "
                 "grep 'device operations' | grep -v '^total'",
           args) != 0)
        die(what);
    r.wall = now() - t0;
    for (char *l = out; l && *l;) {
        const char *p = strstr(l, " MB, ");
        unsigned long long o = 0, hh = 0;
        if (p && sscanf(p, " MB, %llu device operations, %llu cache hits", &o, &hh) == 2)
            r.ops += o, r.hits += hh;
        char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    free(out);
    return r;
}

static const char *latency = "none", *algorithm = "rsa2048";
static int apks = 20, apexes = 4, devices = 3, per_limit = -1, check;
static double mb = 40;

static void usage(void)
{
    fprintf(stderr, "usage: SIGNET_BIN_DIR=build/bin SIGNET_SOURCE_DIR=. bench_release [--apks N] "
                    "[--mb MB] [--apexes N] [--devices D (1-9)] [--latency none|yubihsm2] "
                    "[--algorithm rsa2048|rsa4096] [--per-artifact N] [--check]\n");
    exit(2);
}

static void options(int argc, char **argv)
{
    static const struct option o[] = {
        {"apks", 1, 0, 'a'},      {"mb", 1, 0, 'm'},        {"apexes", 1, 0, 'x'},
        {"devices", 1, 0, 'd'},   {"latency", 1, 0, 'l'},   {"algorithm", 1, 0, 'g'},
        {"per-artifact", 1, 0, 'p'}, {"check", 0, 0, 'c'},  {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
        switch (c) {
        case 'a': apks = atoi(optarg); break;
        case 'm': mb = atof(optarg); break;
        case 'x': apexes = atoi(optarg); break;
        case 'd': devices = atoi(optarg); break;
        case 'l': latency = optarg; break;
        case 'g': algorithm = optarg; break;
        case 'p': per_limit = atoi(optarg); break;
        case 'c': check = 1; break;
        default: usage();
        }
    }
    if (apks < 2 || apks > 2000 || apexes < 0 || apexes > 200 || devices < 1 || devices > 9 ||
        mb < 0 || (strcmp(latency, "none") && strcmp(latency, "yubihsm2")) ||
        (strcmp(algorithm, "rsa2048") && strcmp(algorithm, "rsa4096")) ||
        !getenv("SIGNET_BIN_DIR") || !getenv("SIGNET_SOURCE_DIR"))
        usage();
}

static void setup(void)
{
    static char apexarg[8192], devarg[256];
    size_t o = 0;
    for (int i = 0; i < apexes; i++)
        o += (size_t)snprintf(apexarg + o, sizeof apexarg - o, " --apex com.android.synth%d", i);
    o = 0;
    for (int d = 1; d <= devices; d++)
        o += (size_t)snprintf(devarg + o, sizeof devarg - o, " --device dev%d", d);
    if (sh(NULL,
           "printf '%%064d' 7 > wrap.hex && "
           "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
           "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
           "signet hsm set-option command-audit sign-pkcs1=on,sign-pss=on,sign-ecdsa=on,"
           "sign-eddsa=on && signet -q audit init >/dev/null && "
           "signet keys init%s%s --algorithm %s >/dev/null && signet -q keys generate >/dev/null",
           devarg, apexarg, algorithm) != 0)
        die("key setup");
    /* One device in twenty has its own contents for an APK (at least one). */
    int own = apks / 20 ? apks / 20 : 1;
    for (int d = 1; d <= devices; d++)
        if (sh(NULL,
               "python3 $S/tests/release/mktf.py d%d --apks %d --size-mb %g --apexes %d "
               "--partitions 5 --device dev%d --seed 1 --device-apks %d --batch-sign%s >/dev/null",
               d, apks, mb, apexes, d, own, d > 1 ? " --keys-from d1/dev --reuse" : "") != 0)
            die("the synthetic release");
}

int main(int argc, char **argv)
{
    options(argc, argv);
    if (hsmd_start(&h, NULL) != 0)
        return 1;
    set_env();
    double t0 = now();
    setup();
    fprintf(stderr, "bench_release: setup %.0f s\n", now() - t0);
    if (strcmp(latency, "none") != 0) {
        if (hsmd_restart(&h, "--latency yubihsm2") != 0)
            return 1;
        set_env();
    }
    int bits = strcmp(algorithm, "rsa2048") == 0 ? 2048 : 4096;
    char *sz = NULL;
    if (sh(&sz, "du -m d1/target_files.zip | cut -f1") != 0)
        die("du");
    printf("synthetic release: %d device(s), each %d APKs (%g MB of APK contents, 5 partitions) "
           "+ %d APEXes, package %ld MB; %s keys; signet-hsm latency model %s\n",
           devices, apks, mb, apexes, strtol(sz, NULL, 10), algorithm, latency);
    free(sz);

    /* The per-artifact way (device 1). */
    double per = 0;
    int n_art = 0;
    if (per_limit != 0) {
        if (sh(NULL,
               "printf 'name = signet\\nlibrary = %%s\\nslotListIndex = 0\\n' "
               "\"$(dirname $(command -v signet))/../lib/libsignet-pkcs11.so\" > p11.cfg && "
               "python3 $S/bench/bench_release_prep.py d1/target_files.zip per p11.cfg %d "
               "> per.sh && grep -c -e '^apksigner' per.sh > per.count",
               bits) != 0)
            die("per-artifact preparation");
        char *cnt = NULL;
        sh(&cnt, "cat per.count");
        n_art = atoi(cnt ? cnt : "0");
        free(cnt);
        if (per_limit > 0 && per_limit < n_art) {
            /* The first N signing steps (an APEX's helper line comes with its container). */
            if (sh(NULL, "awk 'NR==1 || n < %d { print } /^apksigner/ { n++ }' per.sh > per.n && "
                         "mv per.n per.sh",
                   per_limit) != 0)
                die("per-artifact limit");
            n_art = per_limit;
        }
        sh(NULL, "rm -rf audit.cache");
        double p0 = now();
        if (sh(NULL, "SIGNET_CACHE=off sh per.sh >/dev/null 2>per.err") != 0)
            die("the per-artifact way (per.err)");
        per = now() - p0;
    }

    /* release sign: device 1, then the others with device 1's cache. */
    sh(NULL, "rm -rf audit.cache");
    struct run r[10];
    char args[512];
    for (int d = 1; d <= devices; d++) {
        snprintf(args, sizeof args, "d%d/target_files.zip --device dev%d -o signed%d.zip", d, d, d);
        r[d] = release_sign(args, "release sign");
    }
    printf("  %-52s %8s %10s %10s\n", "", "wall s", "dev. ops", "cache hits");
    if (per_limit != 0)
        printf("  %-52s %8.2f %10s %10s\n",
               per_limit > 0 ? "per-artifact, first N artifacts (see below)"
                             : "per-artifact (apksigner+PKCS#11, avb helper), dev1",
               per, "-", "-");
    for (int d = 1; d <= devices; d++) {
        char what[64];
        snprintf(what, sizeof what, "release sign dev%d%s", d, d > 1 ? " (after dev1)" : "");
        printf("  %-52s %8.2f %10llu %10llu\n", what, r[d].wall, r[d].ops, r[d].hits);
    }
    if (per_limit != 0)
        printf("  per-artifact / release sign (dev1): %.1fx%s\n",
               per / r[1].wall,
               per_limit > 0 ? " (per-artifact timed on fewer artifacts: not comparable)" : "");
    if (per_limit > 0)
        printf("  per-artifact timed on the first %d artifacts only: %.2f s/artifact\n", n_art,
               per / n_art);

    /* All devices in one run, when release sign takes several packages. */
    if (devices > 1 && sh(NULL, "signet release sign --help 2>&1 | grep -q -e '--out-dir'") == 0) {
        static char all[2048];
        size_t o = 0;
        for (int d = 1; d <= devices; d++)
            o += (size_t)snprintf(all + o, sizeof all - o, "d%d/target_files.zip ", d);
        for (int d = 1; d <= devices; d++)
            o += (size_t)snprintf(all + o, sizeof all - o, "--device dev%d -o multi%d.zip ", d, d);
        sh(NULL, "rm -rf audit.cache");
        struct run m = release_sign(all, "release sign (several packages)");
        printf("  %-52s %8.2f %10llu %10llu\n", "release sign, all devices in one run", m.wall,
               m.ops, m.hits);
    }
    if (strcmp(latency, "yubihsm2") == 0) {
        double ms = bits == 2048 ? 0.150 : 1.0, model = (double)r[1].ops * ms;
        printf("  yubihsm2 model, dev1: %llu device signatures x %.3f s = %.2f s; wall %.2f s "
               "(%.1f%% above)\n",
               r[1].ops, ms, model, r[1].wall, (r[1].wall / model - 1) * 100);
    }
    if (check) {
        /* Devices 2..D differ from device 1 only in their own APKs (v2 + v3 each: min
         * SDK 24 or 28): everything else must come from the cache. */
        int own = apks / 20 ? apks / 20 : 1;
        for (int d = 2; d <= devices; d++)
            if (r[d].ops != 2ull * (unsigned)own || r[d].ops + r[d].hits != r[1].ops) {
                fprintf(stderr, "bench_release: dev%d made %llu device operations and %llu cache "
                                "hits; expected %d and %llu\n",
                        d, r[d].ops, r[d].hits, 2 * own, r[1].ops - 2ull * (unsigned)own);
                die("the cache across devices");
            }
        for (int d = 1; d <= devices; d++)
            if (sh(NULL, "signet release verify signed%d.zip --device dev%d >/dev/null", d, d) != 0)
                die("release verify");
        if (sh(NULL, "rm -rf v && mkdir v && cd v && unzip -q ../signed1.zip && "
                     "find . -name '*.apk.gz' -exec gunzip {} + && "
                     "for a in $(find . -name '*.apk' -o -name '*.apex'); do "
                     "apksigner verify $a || exit 1; done") != 0)
            die("apksigner verify");
        printf("  check: devices 2..%d signed only their own APKs on the device; release verify "
               "of every output and apksigner verify of every APK and APEX container of dev1: "
               "passed\n", devices);
    }
    hsmd_cleanup(&h);
    return 0;
}

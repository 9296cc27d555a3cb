/* Whole-release signing against the per-artifact way.
 *
 *   SIGNET_BIN_DIR=build/bin SIGNET_SOURCE_DIR=. bench_release [APKS] [RUNS]
 *
 * On signet-hsm (latency model off, RSA-2048 keys, the signing cache off), a
 * synthetic target-files package from tests/release/mktf.py with APKS APKs (no
 * APEX: the per-artifact way below has no APEX step), then:
 *   release: `signet release sign` over the package: one process, one device
 *            session, every APK signed, configuration files rewritten, the signed
 *            package written;
 *   per-APK: one `signet apk sign` process per APK of the package (each its own
 *            login and session), on the APKs already taken out of the zip
 *            (unpacking and repacking are not counted: that favours this way).
 * Prints the best of RUNS wall times and their ratio.  The comparison the design
 * names (Debian's apksigner through the PKCS#11 module per APK) adds a JVM start
 * per APK on top of this; it is not run here. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hsmd_fixture.h"

static struct hsmd h;
static char env[2048];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[16384];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", h.dir, env);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, NULL);
}

static double timed(const char *what, const char *cmd)
{
    double t0 = now();
    if (sh("%s", cmd) != 0) {
        fprintf(stderr, "bench_release: %s failed\n", what);
        hsmd_cleanup(&h);
        exit(1);
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    int apks = argc > 1 ? atoi(argv[1]) : 20, runs = argc > 2 ? atoi(argv[2]) : 3;
    if (apks < 1 || apks > 200 || runs < 1 || !getenv("SIGNET_BIN_DIR") ||
        !getenv("SIGNET_SOURCE_DIR")) {
        fprintf(stderr, "usage: SIGNET_BIN_DIR=build/bin SIGNET_SOURCE_DIR=. bench_release "
                        "[APKS (1-200)] [RUNS]\n");
        return 2;
    }
    if (hsmd_start(&h, NULL) != 0)
        return 1;
    snprintf(env, sizeof env,
             "export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password SIGNET_CONF=%s/signet.conf "
             "PATH=%s:$PATH M=%s/tests/release/mktf.py;",
             h.url, h.dir, getenv("SIGNET_BIN_DIR"), getenv("SIGNET_SOURCE_DIR"));
    char conf[1024], path[512];
    snprintf(conf, sizeof conf, "connector = %s\nkeystore = %s/keys\naudit = %s/audit\n", h.url,
             h.dir, h.dir);
    snprintf(path, sizeof path, "%s/signet.conf", h.dir);
    if (test_write_file(path, conf, strlen(conf)) != 0 ||
        sh("printf '%%064d' 7 > wrap.hex && "
           "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
           "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
           "signet hsm set-option command-audit sign-pkcs1=on,sign-pss=on,sign-ecdsa=on,"
           "sign-eddsa=on && signet -q audit init >/dev/null && "
           "signet keys init --device synth --algorithm rsa2048 >/dev/null && "
           "signet -q keys generate >/dev/null && "
           "python3 $M tf --apks %d --apexes 0 >/dev/null && mkdir x && cd x && "
           "unzip -q ../tf/target_files.zip && find . -name '*.apk.gz' -exec gunzip {} +",
           apks) != 0) {
        fprintf(stderr, "bench_release: setup failed\n");
        hsmd_cleanup(&h);
        return 1;
    }
    /* mktf.py signs even-numbered APKs with platform, odd ones with testkey
     * (releasekey); Vendor.apk is PRESIGNED and stays out of both ways. */
    static char per[40000];
    size_t o = 0;
    for (int i = 0; i < apks; i++)
        o += (size_t)snprintf(per + o, sizeof per - o,
                              "SIGNET_CACHE=off signet -q apk sign --key %s --in "
                              "$(ls x/*/app/App%d/App%d.apk) --out out%d.apk && ",
                              i % 2 ? "releasekey" : "platform", i, i, i);
    snprintf(per + o, sizeof per - o, "true");
    double best_r = 1e9, best_p = 1e9;
    for (int r = 0; r < runs; r++) {
        double t = timed("release sign", "SIGNET_CACHE=off signet -q release sign "
                                         "tf/target_files.zip --device synth --dev-cert-dir "
                                         "tf/dev -o signed.zip");
        best_r = t < best_r ? t : best_r;
        t = timed("per-APK signing", per);
        best_p = t < best_p ? t : best_p;
    }
    printf("synthetic target-files: %d APKs, RSA-2048 keys, signet-hsm without latency "
           "model, signing cache off; both ways make 2 device signatures per APK (v2, v3)\n",
           apks);
    printf("  release sign (1 process, 1 session):     %7.2f s\n", best_r);
    printf("  signet apk sign per APK (%3d processes): %7.2f s\n", apks, best_p);
    printf("  ratio per-APK / release sign: %.2f (best of %d runs each)\n", best_p / best_r,
           runs);
    hsmd_cleanup(&h);
    return 0;
}

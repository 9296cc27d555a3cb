/* The cost of the audit trail per signature: signet_sign() through the whole
 * signing path with a trail (drain + sign + drain + fsynced record) against the
 * same path without one, in one run, on signet-hsm with the latency profile off.
 * Then, in the same run, N distinct signatures one signet_sign() at a time against
 * one signet_sign_batch() (the audit cost per signature of each, and their ratio),
 * and the signing cache: N first signatures against the same N again (cache hits,
 * device operations counted by the signer).
 *
 *   bench_signpath [--seconds S] [--algorithm rsa4096|rsa2048] [--latency yubihsm2]
 *                  [--batch N]
 *
 * With --latency yubihsm2 the emulator sleeps like the device, so the ratio is the
 * one a release signing run on a real YubiHSM 2 would see.
 *
 * Needs SIGNET_BIN_DIR (the signet and signet-hsm binaries) in the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "common/hsmd_fixture.h"
#include "signet/digestinfo.h"
#include "signet/sign.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* n distinct DigestInfos (SHA-256 of "tag i"). */
static sb_wr *make_data(const char *tag, unsigned n)
{
    sb_wr *d = calloc(n, sizeof *d);
    for (unsigned i = 0; d && i < n; i++) {
        char m[64];
        uint8_t h[32];
        snprintf(m, sizeof m, "%s %u", tag, i);
        EVP_Digest(m, strlen(m), h, NULL, EVP_sha256(), NULL);
        sbw_init(&d[i], 128);
        signet_digestinfo_encode(NID_sha256, h, 32, &d[i]);
    }
    return d;
}

/* Seconds for n signatures of d through the signer: one at a time or one batch. */
static double timed(signet_signer *s, const sb_wr *d, unsigned n, bool batch, bool cache)
{
    signet_batch_item *it = calloc(n, sizeof *it);
    uint8_t (*sig)[512] = calloc(n, sizeof *sig);
    for (unsigned i = 0; i < n; i++) {
        it[i].req = (signet_sign_req){.key_name = "platform", .mech = SIGNET_MECH_RSA_PKCS1,
                                      .data = d[i].p, .len = d[i].len, .artifact_path = "bench",
                                      .caller = "bench_signpath", .no_cache = !cache};
        it[i].sig = sig[i];
        it[i].sig_cap = sizeof sig[i];
    }
    double t0 = now();
    signet_rc rc = SIGNET_OK;
    if (batch)
        rc = signet_sign_batch(s, it, n);
    for (unsigned i = 0; !batch && rc == SIGNET_OK && i < n; i++) {
        it[i].sig_len = it[i].sig_cap;
        rc = signet_sign(s, &it[i].req, it[i].sig, &it[i].sig_len);
    }
    double t = now() - t0;
    if (rc != SIGNET_OK) {
        fprintf(stderr, "bench_signpath: %s\n", signet_errmsg());
        exit(1);
    }
    free(it);
    free(sig);
    return t;
}

static void batch_and_cache(signet_signer *with, signet_signer *without, unsigned n)
{
    signet_sign_stats s0, s1;
    double t_dev = timed(without, make_data("nt", n), n, false, false);
    signet_signer_stats(with, &s0);
    double t_one = timed(with, make_data("one", n), n, false, false);
    signet_signer_stats(with, &s1);
    unsigned long long d1 = s1.drains - s0.drains, f1 = s1.syncs - s0.syncs;
    double t_bat = timed(with, make_data("bat", n), n, true, false);
    signet_signer_stats(with, &s0);
    unsigned long long d2 = s0.drains - s1.drains, f2 = s0.syncs - s1.syncs;
    double a_one = (t_one - t_dev) / n * 1000, a_bat = (t_bat - t_dev) / n * 1000;
    printf("batches, %u distinct signatures:\n", n);
    printf("  without trail:        %8.3f ms each\n", t_dev / n * 1000);
    printf("  one at a time:        %8.3f ms each (%llu drains, %llu fsynced appends)\n",
           t_one / n * 1000, d1, f1);
    printf("  one batch:            %8.3f ms each (%llu drains, %llu fsynced appends)\n",
           t_bat / n * 1000, d2, f2);
    printf("  audit cost per signature: %.3f ms one at a time, %.3f ms in a batch: %.1fx less\n",
           a_one, a_bat, a_bat > 0 ? a_one / a_bat : 0.0);

    sb_wr *d = make_data("cache", n);
    signet_sign_stats c0, c1, c2;
    signet_signer_stats(with, &c0);
    double t_first = timed(with, d, n, true, true);
    signet_signer_stats(with, &c1);
    double t_again = timed(with, d, n, true, true);
    signet_signer_stats(with, &c2);
    printf("signing cache, %u signatures in a batch:\n", n);
    printf("  first:   %8.3f ms each, %llu device signatures\n", t_first / n * 1000,
           (unsigned long long)(c1.device_signs - c0.device_signs));
    printf("  again:   %8.3f ms each, %llu device signatures, %llu cache hits\n",
           t_again / n * 1000, (unsigned long long)(c2.device_signs - c1.device_signs),
           (unsigned long long)(c2.cache_hits - c1.cache_hits));
    printf("  re-sign with the cache: %.1fx faster than the first signing\n", t_first / t_again);
}

static int sh(const struct hsmd *h, const char *cmd)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "cd %s && export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password "
             "SIGNET_CONF=%s/signet.conf PATH=%s:$PATH; %s",
             h->dir, h->url, h->dir, getenv("SIGNET_BIN_DIR"), cmd);
    return run_cmd(buf, NULL);
}

/* Signatures per second through signet_sign() for `seconds`. */
static double rate(signet_signer *s, const sb_wr *di, double seconds, unsigned *count)
{
    uint8_t sig[1024];
    /* The same bytes every time: the signing cache must stay out of it. */
    signet_sign_req req = {.key_name = "platform", .mech = SIGNET_MECH_RSA_PKCS1, .data = di->p,
                           .len = di->len, .artifact_path = "bench", .caller = "bench_signpath",
                           .no_cache = true};
    unsigned n = 0;
    double t0 = now(), t;
    do {
        size_t len = sizeof sig;
        if (signet_sign(s, &req, sig, &len) != SIGNET_OK) {
            fprintf(stderr, "bench_signpath: %s\n", signet_errmsg());
            exit(1);
        }
        n++;
    } while ((t = now() - t0) < seconds);
    *count = n;
    return n / t;
}

int main(int argc, char **argv)
{
    double seconds = 5;
    const char *alg = "rsa4096", *latency = "none";
    unsigned batch_n = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--algorithm"))
            alg = argv[i + 1];
        else if (!strcmp(argv[i], "--latency"))
            latency = argv[i + 1];
        else if (!strcmp(argv[i], "--batch"))
            batch_n = (unsigned)atoi(argv[i + 1]);
    }
    if (!getenv("SIGNET_BIN_DIR")) {
        fprintf(stderr, "bench_signpath: set SIGNET_BIN_DIR to the build's bin directory\n");
        return 2;
    }
    struct hsmd h;
    char args[64];
    snprintf(args, sizeof args, "--latency %s", latency);
    if (hsmd_start(&h, args) != 0)
        return 1;
    char conf[1024], path[512], cmd[512];
    snprintf(conf, sizeof conf, "connector = %s\nkeystore = %s/keys\naudit = %s/audit\n"
             "checkpoint_every = 0\ncheckpoint_seconds = 0\n", h.url, h.dir, h.dir);
    snprintf(path, sizeof path, "%s/signet.conf", h.dir);
    test_write_file(path, conf, strlen(conf));
    snprintf(cmd, sizeof cmd,
             "printf '%%064d' 7 > wrap.hex && signet hsm put-wrap-key --key-file wrap.hex --id 0xff "
             "--domains 1 --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
             "signet hsm set-option command-audit sign-pkcs1=on,sign-eddsa=on && "
             "signet -q audit init >/dev/null && "
             "signet keys init --algorithm %s >/dev/null && signet -q keys generate --only platform "
             ">/dev/null", alg);
    if (sh(&h, cmd) != 0) {
        hsmd_cleanup(&h);
        return 1;
    }
    signet_config with, without;
    if (signet_config_load(path, &with) != SIGNET_OK) {
        fprintf(stderr, "bench_signpath: %s\n", signet_errmsg());
        return 1;
    }
    without = with;
    without.audit[0] = 0;

    uint8_t digest[32] = {1};
    sb_wr di;
    sbw_init(&di, 128);
    signet_digestinfo_encode(NID_sha256, digest, sizeof digest, &di);
    signet_signer *a, *b;
    if (signet_signer_open(&without, 1, "password", &b) ||
        signet_signer_open(&with, 1, "password", &a)) {
        fprintf(stderr, "bench_signpath: %s\n", signet_errmsg());
        return 1;
    }
    unsigned na, nb;
    rate(b, &di, 0.5, &nb); /* warm up: the key is resident, sessions open */
    double rb = rate(b, &di, seconds, &nb);
    double ra = rate(a, &di, seconds, &na);
    printf("signing path, %s, latency profile %s, device audit of sign-pkcs1 on\n", alg, latency);
    printf("  without trail: %8.1f signatures/s (%u in %.0f s), %.3f ms each\n", rb, nb, seconds,
           1000 / rb);
    printf("  with trail:    %8.1f signatures/s (%u in %.0f s), %.3f ms each\n", ra, na, seconds,
           1000 / ra);
    printf("  audit cost per signature: %.3f ms = %.1f%% of a signature without the trail\n",
           1000 / ra - 1000 / rb, 100 * (rb / ra - 1));
    if (batch_n)
        batch_and_cache(a, b, batch_n);
    signet_signer_close(a);
    signet_signer_close(b);
    sbw_free(&di);
    hsmd_cleanup(&h);
    return 0;
}

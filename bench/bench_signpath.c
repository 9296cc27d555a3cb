/* The cost of the audit trail per signature: signet_sign() through the whole
 * signing path with a trail (drain + sign + drain + fsynced record) against the
 * same path without one, in one run, on signet-hsm with the latency profile off.
 *
 *   bench_signpath [--seconds S] [--algorithm rsa4096|rsa2048] [--latency yubihsm2]
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
    signet_sign_req req = {.key_name = "platform", .mech = SIGNET_MECH_RSA_PKCS1, .data = di->p,
                           .len = di->len, .artifact_path = "bench", .caller = "bench_signpath"};
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
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--algorithm"))
            alg = argv[i + 1];
        else if (!strcmp(argv[i], "--latency"))
            latency = argv[i + 1];
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
    signet_signer_close(a);
    signet_signer_close(b);
    sbw_free(&di);
    hsmd_cleanup(&h);
    return 0;
}

/* Test harness for signet_sign_batch(): signs N messages through the signing path,
 * in one batch (ordered by signet_batch_order) or one signet_sign() at a time, then
 * writes OUT/i.msg and OUT/i.sig for each signature it got, and prints the signer's
 * counters.  A SIGKILL may land anywhere: files are only written after the batch
 * returned, i.e. after every record was durable.
 *
 *   batch_signer batch|single N OUTDIR KEY [KEY...]   ($SIGNET_CONF, $SIGNET_PASSWORD)
 *   BAD=i makes request i ask for an ECDSA signature (the keys are RSA: it fails);
 *   FIXED=1 signs the same messages in every run (cache hits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "signet/digestinfo.h"
#include "signet/sign.h"

static int write_file(const char *dir, size_t i, const char *ext, const void *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%zu.%s", dir, i, ext);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: batch_signer batch|single N OUTDIR KEY...\n");
        return 2;
    }
    bool batch = strcmp(argv[1], "batch") == 0;
    size_t n = strtoul(argv[2], NULL, 10);
    const char *out = argv[3];
    char **keys = argv + 4;
    size_t nkeys = (size_t)(argc - 4);
    long bad = getenv("BAD") ? strtol(getenv("BAD"), NULL, 10) : -1;
    signet_config cfg;
    signet_signer *s = NULL;
    if (signet_config_load(NULL, &cfg) != SIGNET_OK ||
        signet_signer_open(&cfg, 1, getenv("SIGNET_PASSWORD"), &s) != SIGNET_OK) {
        fprintf(stderr, "batch_signer: %s\n", signet_errmsg());
        return 3;
    }
    char (*msg)[64] = calloc(n, sizeof *msg);
    sb_wr *di = calloc(n, sizeof *di);
    uint8_t (*sig)[512] = calloc(n, sizeof *sig);
    signet_batch_item *it = calloc(n, sizeof *it);
    const char **names = calloc(n, sizeof *names);
    size_t *order = calloc(n, sizeof *order);
    for (size_t i = 0; i < n; i++) {
        /* FIXED=1: the same messages in every run (for cache hits). */
        if (getenv("FIXED"))
            snprintf(msg[i], sizeof msg[i], "fixed message %zu", i);
        else
            snprintf(msg[i], sizeof msg[i], "message %zu of %d", i, (int)getpid());
        uint8_t d[32];
        EVP_Digest(msg[i], strlen(msg[i]), d, NULL, EVP_sha256(), NULL);
        sbw_init(&di[i], 128);
        signet_digestinfo_encode(NID_sha256, d, 32, &di[i]);
        names[i] = keys[i % nkeys]; /* interleaved: the order helper groups them */
    }
    signet_batch_order(s, names, n, order);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        it[k].req = (signet_sign_req){.key_name = names[i], .mech = SIGNET_MECH_RSA_PKCS1,
                                      .data = di[i].p, .len = di[i].len, .artifact_path = msg[i],
                                      .caller = "batch_signer"};
        if ((long)i == bad)
            it[k].req.mech = SIGNET_MECH_ECDSA;
        it[k].sig = sig[i];
        it[k].sig_cap = sizeof sig[i];
    }
    if (batch) {
        (void)signet_sign_batch(s, it, n);
    } else {
        for (size_t k = 0; k < n; k++) {
            it[k].sig_len = it[k].sig_cap;
            it[k].rc = signet_sign(s, &it[k].req, it[k].sig, &it[k].sig_len);
            if (it[k].rc != SIGNET_OK)
                snprintf(it[k].err, sizeof it[k].err, "%s", signet_errmsg());
        }
    }
    int failed = 0;
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        if (it[k].rc != SIGNET_OK) {
            printf("failed %zu: %s\n", i, it[k].err);
            failed++;
            continue;
        }
        if (write_file(out, i, "msg", msg[i], strlen(msg[i])) != 0 ||
            write_file(out, i, "sig", it[k].sig, it[k].sig_len) != 0)
            return 7;
    }
    signet_sign_stats st;
    signet_signer_stats(s, &st);
    printf("device=%llu hits=%llu refused=%llu drains=%llu syncs=%llu failed=%d failovers=%llu\n",
           (unsigned long long)st.device_signs, (unsigned long long)st.cache_hits,
           (unsigned long long)st.cache_refused, (unsigned long long)st.drains,
           (unsigned long long)st.syncs, failed, (unsigned long long)st.failovers);
    signet_signer_close(s);
    for (size_t i = 0; i < n; i++)
        sbw_free(&di[i]);
    free(msg);
    free(di);
    free(sig);
    free(it);
    free(names);
    free(order);
    return failed ? 1 : 0;
}

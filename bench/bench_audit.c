/* Verification speed of a large trail: generates a trail of N signatures (default
 * 1,000,000: one device entry and one record each, a checkpoint every 10,000) with
 * valid chains, pairings and signatures, then times `signet_trail_verify`.
 *
 *   build/bin/bench_audit [N] [DIR]     (DIR default: a fresh directory in /tmp) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "signet/audit.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t seed[32];

static signet_rc sign_cb(void *ctx, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t n = 64;
    int ok = k && c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(c, sig, &n, msg, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? SIGNET_OK : SIGNET_E_CRYPTO;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_audit: %s: %s\n", what, signet_errmsg());
    exit(1);
}

/* One device log line in the format of docs/audit.md. */
static void put_entry(FILE *f, uint64_t i, uint32_t serial, uint64_t seq, const yh_log_entry *e)
{
    char dg[33];
    for (int k = 0; k < 16; k++)
        snprintf(dg + 2 * k, 3, "%02x", e->digest[k]);
    fprintf(f, "i=%llu type=entry dev=%u seq=%llu n=%u cmd=0x%02x len=%u sess=0x%04x target=0x%04x "
            "second=0x%04x result=0x%02x tick=%u digest=%s\n", (unsigned long long)i, serial,
            (unsigned long long)seq, e->number, e->command, e->length, e->session_key, e->target_key,
            e->second_key, e->result, e->systick, dg);
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char dir[256];
    if (argc > 2)
        snprintf(dir, sizeof dir, "%s", argv[2]);
    else {
        snprintf(dir, sizeof dir, "/tmp/signet-bench-audit-XXXXXX");
        if (!mkdtemp(dir))
            return 1;
    }
    if (signet_trail_init(dir))
        die("init");
    RAND_bytes(seed, 32);
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    uint8_t pub[32];
    size_t pl = 32;
    EVP_PKEY_get_raw_public_key(k, pub, &pl);
    EVP_PKEY_free(k);
    signet_vkey vk;
    if (signet_vkey_make("bench.example/audit", pub, &vk))
        die("vkey");
    char path[512];
    sb_wr w;
    sbw_init(&w, 1 << 20);
    signet_vkey_format(&vk, &w);
    snprintf(path, sizeof path, "%s/log.vkey", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%.*s\n", (int)w.len, (char *)w.p);
    fclose(f);

    const uint32_t serial = 7550123;
    snprintf(path, sizeof path, "%s/device-%u.log", dir, serial);
    FILE *dev = fopen(path, "w");
    snprintf(path, sizeof path, "%s/records.log", dir);
    FILE *rec = fopen(path, "w");
    snprintf(path, sizeof path, "%s/checkpoints", dir);
    FILE *cps = fopen(path, "w");
    snprintf(path, sizeof path, "%s/anchors/device-%u.anchor", dir, serial);
    FILE *anc = fopen(path, "w");
    if (!dev || !rec || !cps || !anc)
        return 1;

    double t0 = now();
    merkle_tree *tree;
    if (merkle_tree_new(&tree))
        die("tree");
    yh_log_entry last;
    memset(&last, 0xff, sizeof last);
    last.number = 1;
    uint64_t leaf = 0, seq = 1;
    /* Entry 1 of a reset device is the anchor. */
    fprintf(anc, "n=1 cmd=0xff len=65535 sess=0xffff target=0xffff second=0xffff result=0xff "
            "tick=4294967295 digest=ffffffffffffffffffffffffffffffff\n");
    fclose(anc);
    put_entry(dev, leaf++, serial, seq, &last);
    signet_record *r = calloc(1, sizeof *r);
    for (uint64_t s = 0; s < n; s++) {
        yh_log_entry e = {.number = (uint16_t)(last.number + 1), .command = YH_CMD_SIGN_EDDSA,
                          .length = 66, .session_key = 2, .target_key = (uint16_t)(0x10 + s % 8),
                          .second_key = 0xffff, .result = YH_RESPONSE(YH_CMD_SIGN_EDDSA),
                          .systick = (uint32_t)s};
        yh_log_digest(&e, last.digest, e.digest);
        last = e;
        put_entry(dev, leaf++, serial, ++seq, &e);
        memset(r, 0, sizeof *r);
        r->type = SIGNET_REC_SIGN;
        r->index = leaf++;
        r->time = 1700000000 + (int64_t)s;
        snprintf(r->host, sizeof r->host, "build1");
        r->auth_id = 2;
        r->serial = serial;
        r->seq = seq;
        snprintf(r->key_name, sizeof r->key_name, "key%u", (unsigned)(s % 8));
        r->key_id = e.target_key;
        r->command = YH_CMD_SIGN_EDDSA;
        memset(r->data_sha256, (int)(s & 0xff), 32);
        r->sig_len = 64;
        memset(r->sig, (int)(s * 7 & 0xff), 64);
        snprintf(r->artifact, sizeof r->artifact, "out/app%llu.apk", (unsigned long long)s);
        sbw_reset(&w);
        if (signet_record_format(r, &w))
            die("record");
        fprintf(rec, "%.*s\n", (int)w.len, (char *)w.p);
    }
    fclose(dev);
    fclose(rec);
    double t1 = now();
    /* Checkpoints: the tree is built from the files as a verifier would see them. */
    snprintf(path, sizeof path, "%s/device-%u.log", dir, serial);
    FILE *df = fopen(path, "r");
    snprintf(path, sizeof path, "%s/records.log", dir);
    FILE *rf = fopen(path, "r");
    char *a = malloc(SIGNET_LINE_MAX + 2), *b = malloc(SIGNET_LINE_MAX + 2);
    /* Device line 0, then alternate entry / record. */
    uint64_t done = 0;
    if (fgets(a, SIGNET_LINE_MAX + 2, df)) {
        uint8_t h[32];
        merkle_leaf_hash((uint8_t *)a, strlen(a) - 1, h);
        merkle_tree_append(tree, h);
    }
    while (fgets(a, SIGNET_LINE_MAX + 2, df) && fgets(b, SIGNET_LINE_MAX + 2, rf)) {
        uint8_t h[32];
        merkle_leaf_hash((uint8_t *)a, strlen(a) - 1, h);
        merkle_tree_append(tree, h);
        merkle_leaf_hash((uint8_t *)b, strlen(b) - 1, h);
        merkle_tree_append(tree, h);
        if (++done % 10000 == 0 || done == n) {
            signet_checkpoint c = {.size = merkle_tree_size(tree)};
            snprintf(c.origin, sizeof c.origin, "%s", vk.name);
            merkle_tree_root(tree, c.size, c.root);
            sb_wr text, note;
            sbw_init(&text, 1024);
            sbw_init(&note, 4096);
            if (signet_checkpoint_format(&c, &text) ||
                signet_note_sign((char *)text.p, text.len, vk.name, vk.key_id, sign_cb, NULL, &note))
                die("checkpoint");
            fwrite(note.p, 1, note.len, cps);
            sbw_free(&text);
            sbw_free(&note);
        }
    }
    fclose(df);
    fclose(rf);
    fclose(cps);
    free(a);
    free(b);
    double t2 = now();
    printf("generated %llu signatures (%llu leaves) in %s: %.1f s writing, %.1f s checkpointing\n",
           (unsigned long long)n, (unsigned long long)merkle_tree_size(tree), dir, t1 - t0, t2 - t1);
    merkle_tree_free(tree);

    signet_verify_opts o = {0};
    signet_report *rep = NULL;
    double t3 = now();
    signet_rc rc = signet_trail_verify(dir, &o, &rep);
    double t4 = now();
    if (rc != SIGNET_OK) {
        signet_report_print(rep, stderr);
        die("verify");
    }
    printf("verified %llu signatures (%llu leaves, %llu checkpoints) in %.2f s: %.0f signatures/s\n",
           (unsigned long long)n, (unsigned long long)(2 * n + 1), (unsigned long long)(n / 10000 + (n % 10000 != 0)),
           t4 - t3, n / (t4 - t3));
    signet_report_free(rep);
    free(r);
    sbw_free(&w);
    if (argc <= 2) {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}

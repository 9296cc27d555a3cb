/* APK hashing throughput and device signatures per APK.
 *
 *   bench_apk [MB] [RUNS]
 *
 * Builds an APK of MB megabytes (one stored 1 MB-random entry repeated, plus a
 * manifest) in memory, then times signet_apk_sign_begin (the output layout and
 * the v2/v3 content digests over 1 MiB chunks) with one hashing thread and with
 * one per core, for an RSA-2048 certificate (SHA-256 chunks) and an RSA-4096 one
 * (SHA-512 chunks), against sha256sum / sha512sum over the same file in the same
 * run, and against raw OpenSSL (one EVP_Digest over the same bytes in memory, one
 * thread): the physical limit for v2/v3.  The engine hashes the input where it
 * lies; the "whole job" lines (software signatures, the signed APK written to
 * a file without fsync) compare writing the output from its pieces with writev,
 * as `signet apk sign` does, with assembling it in one buffer first.  Then prints
 * the device signatures an APK needs per scheme choice.  Best of RUNS for each
 * figure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "common/hsmd_fixture.h"
#include "signet/apk.h"
#include "signet/file.h"
#include "signet/zip.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint8_t *make_cert(int bits, size_t *len, EVP_PKEY **key)
{
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"bench", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, k, EVP_sha256());
    uint8_t *der = NULL;
    *len = (size_t)i2d_X509(x, &der);
    X509_free(x);
    *key = k;
    return der;
}

static void make_apk(size_t mb, sb_wr *apk)
{
    sb_wr lfh, cd;
    sbw_init(apk, 0xfff00000u);
    sbw_init(&lfh, 0xfff00000u);
    sbw_init(&cd, 1 << 20);
    uint8_t *blob = malloc(1 << 20);
    RAND_bytes(blob, 1 << 20);
    signet_zip_put_stored("AndroidManifest.xml", (const uint8_t *)"m", 1, 0, 0x3a21, 0, &lfh, &cd);
    for (size_t i = 0; i < mb; i++) {
        char name[64];
        snprintf(name, sizeof name, "assets/blob%zu", i);
        signet_zip_put_stored(name, blob, 1 << 20, 0, 0x3a21, (uint32_t)lfh.len, &lfh, &cd);
    }
    sbw_put(apk, lfh.p, lfh.len);
    sbw_put(apk, cd.p, cd.len);
    sbw_u32_le(apk, SIGNET_ZIP_EOCD_SIG);
    sbw_zero(apk, 4);
    sbw_u16_le(apk, (uint16_t)(mb + 1));
    sbw_u16_le(apk, (uint16_t)(mb + 1));
    sbw_u32_le(apk, (uint32_t)cd.len);
    sbw_u32_le(apk, (uint32_t)lfh.len);
    sbw_u16_le(apk, 0);
    sbw_free(&lfh);
    sbw_free(&cd);
    free(blob);
}

static double time_begin(const sb_wr *apk, const uint8_t *cert, size_t clen, unsigned threads,
                         int runs)
{
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        signet_apk_opts o;
        signet_apk_opts_default(&o);
        o.min_sdk = 24;
        o.threads = threads;
        signet_apk_job *j;
        double t0 = now();
        if (signet_apk_sign_begin(apk->p, apk->len, &o, cert, clen, &j) != SIGNET_OK) {
            fprintf(stderr, "bench_apk: %s\n", signet_errmsg());
            exit(1);
        }
        double t = now() - t0;
        signet_apk_sign_free(j);
        if (t < best)
            best = t;
    }
    return best;
}

/* The whole job: layout and digests, software signatures, the signed APK
 * written to out_path (no fsync: the figure is about memory, not the disk),
 * either from its pieces with writev (as `signet apk sign` does) or assembled
 * into one buffer first and then written (the copy and its page faults). */
static double time_sign(const sb_wr *apk, const uint8_t *cert, size_t clen, EVP_PKEY *k,
                        const char *out_path, bool pieces, int runs)
{
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        signet_apk_opts o;
        signet_apk_opts_default(&o);
        o.min_sdk = 24;
        o.threads = 1;
        signet_apk_job *j;
        sb_wr out;
        sbw_init(&out, 0xfff00000u);
        double t0 = now();
        signet_rc rc = signet_apk_sign_begin(apk->p, apk->len, &o, cert, clen, &j);
        const signet_apk_sigreq *q;
        size_t n;
        while (rc == SIGNET_OK && (n = signet_apk_sign_pending(j, &q)) > 0) {
            for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
                uint8_t sig[1024];
                size_t sl = sizeof sig;
                EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
                if (!c || EVP_PKEY_sign_init(c) != 1 ||
                    EVP_PKEY_CTX_set_signature_md(c, EVP_get_digestbynid(q[i].md_nid)) != 1 ||
                    EVP_PKEY_sign(c, sig, &sl, q[i].digest, q[i].digest_len) != 1)
                    rc = SIGNET_E_CRYPTO;
                EVP_PKEY_CTX_free(c);
                rc = rc ? rc : signet_apk_sign_set(j, i, sig, sl);
            }
        }
        if (pieces) {
            const struct iovec *v;
            size_t nv;
            rc = rc ? rc : signet_apk_sign_pieces(j, &v, &nv, NULL);
            rc = rc ? rc : signet_file_replace_iov(out_path, v, nv, 0644, false);
        } else {
            rc = rc ? rc : signet_apk_sign_finish(j, &out, NULL);
            rc = rc ? rc : signet_file_replace(out_path, out.p, out.len, 0644, false);
        }
        double t = now() - t0;
        if (rc) {
            fprintf(stderr, "bench_apk: %s\n", signet_errmsg());
            exit(1);
        }
        signet_apk_sign_free(j);
        sbw_free(&out);
        if (t < best)
            best = t;
    }
    return best;
}

/* Raw OpenSSL: one EVP_Digest over the same bytes in memory, one thread. */
static double time_raw(const sb_wr *apk, const EVP_MD *md, int runs)
{
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        uint8_t d[64];
        double t0 = now();
        EVP_Digest(apk->p, apk->len, d, NULL, md, NULL);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

static double time_tool(const char *tool, const char *path, int runs)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s %s > /dev/null", tool, path);
    double best = 1e9;
    for (int r = 0; r < runs; r++) {
        double t0 = now();
        if (run_cmd(cmd, NULL) != 0)
            exit(1);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

static size_t sigs(const sb_wr *apk, const uint8_t *cert, size_t clen, bool v2, bool v4)
{
    signet_apk_opts o;
    signet_apk_opts_default(&o);
    o.min_sdk = 28;
    o.v2 = v2;
    o.v4 = v4;
    signet_apk_job *j;
    if (signet_apk_sign_begin(apk->p, apk->len, &o, cert, clen, &j) != SIGNET_OK)
        return 0;
    const signet_apk_sigreq *r;
    size_t n = signet_apk_sign_pending(j, &r);
    signet_apk_sign_free(j);
    return n + (v4 ? 1 : 0); /* v4 is asked for in a second round, over the finished APK */
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 64;
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    sb_wr apk;
    make_apk(mb, &apk);
    char path[] = "/tmp/bench_apk_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, apk.p, apk.len) != (ssize_t)apk.len)
        return 1;
    close(fd);
    char out_path[sizeof path + 8];
    snprintf(out_path, sizeof out_path, "%s.out", path);
    double size = (double)apk.len / 1e6;
    printf("APK of %.1f MB, best of %d runs, %ld cores\n\n", size, runs, cores);
    printf("ratio: throughput over that of the first line of each table (higher is faster)\n");
    printf("%-38s %9s %10s %8s\n", "", "seconds", "MB/s", "ratio");
    static const struct { int bits; const char *tool; } rows[] = {{2048, "sha256sum"},
                                                                   {4096, "sha512sum"}};
    for (size_t i = 0; i < 2; i++) {
        size_t clen;
        EVP_PKEY *key;
        uint8_t *cert = make_cert(rows[i].bits, &clen, &key);
        const EVP_MD *md = rows[i].bits > 3072 ? EVP_sha512() : EVP_sha256();
        double raw = time_raw(&apk, md, runs);
        double tool = time_tool(rows[i].tool, path, runs);
        double one = time_begin(&apk, cert, clen, 1, runs);
        double all = time_begin(&apk, cert, clen, 0, runs);
        double whole = time_sign(&apk, cert, clen, key, out_path, true, runs);
        double copied = time_sign(&apk, cert, clen, key, out_path, false, runs);
        char label[64];
        snprintf(label, sizeof label, "OpenSSL %s, in memory, 1 thread", EVP_MD_get0_name(md));
        printf("%-38s %9.3f %10.1f %8s\n", label, raw, size / raw, "1.00");
        printf("%-38s %9.3f %10.1f %8.2f\n", rows[i].tool, tool, size / tool, raw / tool);
        snprintf(label, sizeof label, "apk sign hashing RSA-%d, 1 thread", rows[i].bits);
        printf("%-38s %9.3f %10.1f %8.2f\n", label, one, size / one, raw / one);
        snprintf(label, sizeof label, "apk sign hashing RSA-%d, %ld threads", rows[i].bits, cores);
        printf("%-38s %9.3f %10.1f %8.2f\n", label, all, size / all, raw / all);
        printf("%-38s %9.3f %10.1f %8.2f\n", "whole job to a file, writev of pieces", whole,
               size / whole, raw / whole);
        printf("%-38s %9.3f %10.1f %8.2f\n", "whole job to a file, assembled first", copied,
               size / copied, raw / copied);
        if (i == 0) {
            printf("\ndevice signatures per APK (RSA-%d):\n", rows[i].bits);
            printf("  v2 + v3 (default)                 %zu\n", sigs(&apk, cert, clen, true, false));
            printf("  v3 only (min SDK >= 28)           %zu\n", sigs(&apk, cert, clen, false, false));
            printf("  v2 + v3 + v4                      %zu\n\n", sigs(&apk, cert, clen, true, true));
        }
        OPENSSL_free(cert);
        EVP_PKEY_free(key);
        printf("\n");
    }
    unlink(path);
    unlink(out_path);
    sbw_free(&apk);
    return 0;
}

/* Content digests of the APK Signature Scheme v2/v3 (1 MiB chunks hashed on all
 * cores) and the signature algorithm table. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "apk_internal.h"

#define MAX_THREADS 64

/* Chunks are 1 MiB of a section (entries, central directory, end record); a
 * section is a list of pieces, so the input's bytes are hashed where they are. */
struct chunk_job {
    const apk_seg *const *sec;
    const size_t *nseg;
    size_t *start[3];         /* per section, each piece's offset in it */
    size_t len[3];
    size_t first[3];          /* index of each section's first chunk */
    size_t count;             /* chunks in all */
    const EVP_MD *md;
    size_t dlen;
    uint8_t *digests;         /* count * dlen */
    atomic_size_t next;
    atomic_int failed;
};

/* Feeds bytes [off, off + n) of section s to c. */
static int hash_range(const struct chunk_job *j, int s, size_t off, size_t n, EVP_MD_CTX *c)
{
    const size_t *st = j->start[s];
    size_t lo = 0, hi = j->nseg[s];
    while (hi - lo > 1) { /* the last piece starting at or before off */
        size_t mid = (lo + hi) / 2;
        if (st[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    for (size_t i = lo; n > 0 && i < j->nseg[s]; i++) {
        const apk_seg *g = &j->sec[s][i];
        size_t in = off - st[i], take = g->len - in < n ? g->len - in : n;
        if (!EVP_DigestUpdate(c, g->p + in, take))
            return 0;
        off += take;
        n -= take;
    }
    return n == 0;
}

static void *chunk_worker(void *arg)
{
    struct chunk_job *j = arg;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) {
        atomic_store(&j->failed, 1);
        return NULL;
    }
    for (;;) {
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->count)
            break;
        int s = 2;
        while (s > 0 && k < j->first[s])
            s--;
        size_t off = (k - j->first[s]) * (size_t)APK_CHUNK;
        size_t n = j->len[s] - off < APK_CHUNK ? j->len[s] - off : APK_CHUNK;
        uint8_t hdr[5] = {0xa5};
        put_le32(hdr + 1, (uint32_t)n);
        if (!EVP_DigestInit_ex(c, j->md, NULL) || !EVP_DigestUpdate(c, hdr, 5) ||
            !hash_range(j, s, off, n, c) ||
            !EVP_DigestFinal_ex(c, j->digests + k * j->dlen, NULL)) {
            atomic_store(&j->failed, 1);
            break;
        }
    }
    EVP_MD_CTX_free(c);
    return NULL;
}

static unsigned core_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (unsigned)n;
}

signet_rc apk_content_digest(const uint8_t *const sec[3], const size_t len[3], const EVP_MD *md,
                             unsigned threads, uint8_t *out, size_t *out_len)
{
    apk_seg one[3];
    const apk_seg *segs[3];
    size_t nseg[3];
    for (int s = 0; s < 3; s++) {
        one[s] = (apk_seg){sec[s], len[s], false};
        segs[s] = &one[s];
        nseg[s] = len[s] ? 1 : 0;
    }
    return apk_content_digest_segs(segs, nseg, md, threads, out, out_len);
}

signet_rc apk_content_digest_segs(const apk_seg *const sec[3], const size_t nseg[3],
                                  const EVP_MD *md, unsigned threads, uint8_t *out,
                                  size_t *out_len)
{
    struct chunk_job j = {.sec = sec, .nseg = nseg, .md = md,
                          .dlen = (size_t)EVP_MD_get_size(md)};
    signet_rc rc = SIGNET_OK;
    for (int s = 0; s < 3; s++) {
        j.start[s] = malloc((nseg[s] ? nseg[s] : 1) * sizeof *j.start[s]);
        if (!j.start[s])
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory for the APK's pieces");
        for (size_t i = 0; j.start[s] && i < nseg[s]; i++) {
            j.start[s][i] = j.len[s];
            j.len[s] += sec[s][i].len;
        }
        j.first[s] = j.count;
        j.count += (j.len[s] + APK_CHUNK - 1) / APK_CHUNK;
    }
    j.digests = rc ? NULL : malloc(j.count ? j.count * j.dlen : 1);
    if (!j.digests && !rc)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory for %zu chunk digests", j.count);
    if (rc) {
        for (int s = 0; s < 3; s++)
            free(j.start[s]);
        return rc;
    }
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    if (threads == 0)
        threads = core_count();
    if (threads > j.count)
        threads = j.count ? (unsigned)j.count : 1;
    pthread_t t[MAX_THREADS];
    unsigned started = 0;
    for (unsigned i = 1; i < threads && i < MAX_THREADS; i++)
        if (pthread_create(&t[started], NULL, chunk_worker, &j) == 0)
            started++;
    chunk_worker(&j);
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    if (atomic_load(&j.failed)) {
        rc = signet_fail(SIGNET_E_CRYPTO, "hashing the APK's chunks failed");
    } else {
        uint8_t hdr[5] = {0x5a};
        put_le32(hdr + 1, (uint32_t)j.count);
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned dl = 0;
        if (!c || !EVP_DigestInit_ex(c, md, NULL) || !EVP_DigestUpdate(c, hdr, 5) ||
            !EVP_DigestUpdate(c, j.digests, j.count * j.dlen) || !EVP_DigestFinal_ex(c, out, &dl))
            rc = signet_fail(SIGNET_E_CRYPTO, "hashing the APK's chunk digests failed");
        *out_len = dl;
        EVP_MD_CTX_free(c);
    }
    free(j.digests);
    for (int s = 0; s < 3; s++)
        free(j.start[s]);
    return rc;
}

static const apk_algo algos[] = {
    {SIGNET_APK_RSA_PKCS1_SHA256, "RSA PKCS#1 v1.5 SHA-256", NID_sha256, true},
    {SIGNET_APK_RSA_PKCS1_SHA512, "RSA PKCS#1 v1.5 SHA-512", NID_sha512, true},
    {SIGNET_APK_ECDSA_SHA256, "ECDSA SHA-256", NID_sha256, false},
    {SIGNET_APK_ECDSA_SHA512, "ECDSA SHA-512", NID_sha512, false},
};

const apk_algo *apk_algo_find(uint32_t id)
{
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++)
        if (algos[i].id == id)
            return &algos[i];
    return NULL;
}

signet_rc apk_algo_for_key(EVP_PKEY *pub, const apk_algo **out)
{
    int bits = EVP_PKEY_get_bits(pub);
    switch (EVP_PKEY_get_base_id(pub)) {
    case EVP_PKEY_RSA:
        *out = apk_algo_find(bits <= 3072 ? SIGNET_APK_RSA_PKCS1_SHA256 : SIGNET_APK_RSA_PKCS1_SHA512);
        return SIGNET_OK;
    case EVP_PKEY_EC:
        *out = apk_algo_find(bits <= 256 ? SIGNET_APK_ECDSA_SHA256 : SIGNET_APK_ECDSA_SHA512);
        return SIGNET_OK;
    default:
        return signet_fail(SIGNET_E_UNSUPPORTED, "APK signing needs an RSA or EC key (apksigner "
                                                 "accepts no Ed25519 key)");
    }
}

signet_rc apk_verify_sig(EVP_PKEY *pub, const apk_algo *a, const uint8_t *data, size_t len,
                         const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    int ok = c && EVP_DigestVerifyInit(c, &pc, EVP_get_digestbynid(a->md_nid), NULL, pub) == 1;
    if (ok && a->rsa)
        ok = EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_DigestVerify(c, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return signet_fail(SIGNET_E_VERIFY, "the %s signature does not verify with the signer's "
                                            "public key", a->name);
    return SIGNET_OK;
}

signet_rc apk_lp_begin(sb_wr *w, size_t *mark)
{
    *mark = w->len;
    return sbw_u32_le(w, 0);
}

void apk_lp_end(sb_wr *w, size_t mark) { put_le32(w->p + mark, (uint32_t)(w->len - mark - 4)); }

signet_rc apk_lp(sb_rd *r, sb_rd *sub)
{
    uint32_t n;
    signet_rc rc = sbr_u32_le(r, &n);
    return rc ? rc : sbr_sub(r, sub, n);
}

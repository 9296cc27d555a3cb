/* ML-KEM-768 (FIPS 203), the lattice half of age's mlkem768x25519 recipients.
 *
 * Written here because neither Debian 12 nor OpenSSL 3.0 has ML-KEM (the one
 * exception to "OpenSSL for all cryptography", docs/architecture.md); the hashes
 * (SHA3-256, SHA3-512, SHAKE128, SHAKE256) still come from OpenSSL's EVP.  The
 * code follows FIPS 203's algorithms one to one (numbers in the comments) with
 * plain modular arithmetic; it has no secret-dependent branches or table
 * look-ups, and the implicit-rejection choice in decapsulation is a masked copy.
 * Tested with the X-Wing known-answer vectors (tests/age/test_age_pq.c), which
 * fix key generation, encapsulation and the shared secret. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "age_internal.h"
#include "signet/secmem.h"

#define N 256
#define Q 3329
#define K 3
#define ETA 2 /* eta1 = eta2 = 2 for ML-KEM-768 */
#define DU 10
#define DV 4

typedef struct {
    int32_t c[N]; /* coefficients in [0, Q) */
} poly;

static int32_t zetas[128], gammas[128];
static bool tables_ready;

static uint32_t bitrev7(uint32_t x)
{
    uint32_t r = 0;
    for (int i = 0; i < 7; i++)
        r |= ((x >> i) & 1) << (6 - i);
    return r;
}

static int32_t powmod(int32_t b, uint32_t e)
{
    int64_t r = 1, x = b;
    for (; e; e >>= 1, x = x * x % Q)
        if (e & 1)
            r = r * x % Q;
    return (int32_t)r;
}

/* zeta^BitRev7(i) and zeta^(2 BitRev7(i) + 1) for zeta = 17 (FIPS 203, 4.3). */
static void init_tables(void)
{
    if (tables_ready)
        return;
    for (uint32_t i = 0; i < 128; i++) {
        zetas[i] = powmod(17, bitrev7(i));
        gammas[i] = powmod(17, 2 * bitrev7(i) + 1);
    }
    tables_ready = true;
}

static int32_t mod_q(int64_t x)
{
    int32_t r = (int32_t)(x % Q);
    return r + (Q & -(int32_t)(r < 0));
}

/* Algorithm 9 */
static void ntt(poly *f)
{
    unsigned i = 1;
    for (unsigned len = 128; len >= 2; len /= 2)
        for (unsigned start = 0; start < N; start += 2 * len) {
            int64_t z = zetas[i++];
            for (unsigned j = start; j < start + len; j++) {
                int32_t t = mod_q(z * f->c[j + len]);
                f->c[j + len] = mod_q((int64_t)f->c[j] - t);
                f->c[j] = mod_q((int64_t)f->c[j] + t);
            }
        }
}

/* Algorithm 10 */
static void ntt_inverse(poly *f)
{
    unsigned i = 127;
    for (unsigned len = 2; len <= 128; len *= 2)
        for (unsigned start = 0; start < N; start += 2 * len) {
            int64_t z = zetas[i--];
            for (unsigned j = start; j < start + len; j++) {
                int32_t t = f->c[j];
                f->c[j] = mod_q((int64_t)t + f->c[j + len]);
                f->c[j + len] = mod_q(z * ((int64_t)f->c[j + len] - t));
            }
        }
    for (unsigned j = 0; j < N; j++)
        f->c[j] = mod_q((int64_t)f->c[j] * 3303);
}

/* Algorithms 11 and 12: h += f * g in the NTT domain. */
static void mul_acc(poly *h, const poly *f, const poly *g)
{
    for (unsigned i = 0; i < 128; i++) {
        int64_t a0 = f->c[2 * i], a1 = f->c[2 * i + 1], b0 = g->c[2 * i], b1 = g->c[2 * i + 1];
        int64_t c0 = a0 * b0 + mod_q(a1 * b1) * (int64_t)gammas[i];
        int64_t c1 = a0 * b1 + a1 * b0;
        h->c[2 * i] = mod_q(h->c[2 * i] + c0);
        h->c[2 * i + 1] = mod_q(h->c[2 * i + 1] + c1);
    }
}

static void add(poly *r, const poly *a)
{
    for (unsigned j = 0; j < N; j++)
        r->c[j] = mod_q((int64_t)r->c[j] + a->c[j]);
}

/* ---- hashes (FIPS 203, 4.1) through OpenSSL */

static signet_rc xof(const char *name, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
                     uint8_t *out, size_t outn)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    const EVP_MD *md = EVP_get_digestbyname(name);
    int ok = c && md && EVP_DigestInit_ex(c, md, NULL) == 1 && EVP_DigestUpdate(c, a, an) == 1 &&
             (bn == 0 || EVP_DigestUpdate(c, b, bn) == 1);
    if (ok && (strcmp(name, "SHAKE128") == 0 || strcmp(name, "SHAKE256") == 0))
        ok = EVP_DigestFinalXOF(c, out, outn) == 1;
    else if (ok)
        ok = EVP_DigestFinal_ex(c, out, NULL) == 1;
    EVP_MD_CTX_free(c);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "%s failed in OpenSSL", name);
}

signet_rc age_sha3_256(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, uint8_t out[32])
{
    return xof("SHA3-256", a, an, b, bn, out, 32);
}

signet_rc age_shake256(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, uint8_t *out,
                       size_t outn)
{
    return xof("SHAKE256", a, an, b, bn, out, outn);
}

/* Algorithm 7, SampleNTT: rejection sampling from SHAKE128(rho | j | i).  The
 * stream is drawn in one go; 3 * 168 * 5 bytes hold 840 candidates, and a bound
 * check asks for more in the (astronomically unlikely) case they do not suffice. */
static signet_rc sample_ntt(const uint8_t rho[32], uint8_t j, uint8_t i, poly *a)
{
    uint8_t seed[34], buf[168 * 12];
    memcpy(seed, rho, 32);
    seed[32] = j;
    seed[33] = i;
    size_t len = 168 * 5;
    for (;;) {
        signet_rc rc = xof("SHAKE128", seed, 34, NULL, 0, buf, len);
        if (rc)
            return rc;
        unsigned n = 0;
        for (size_t p = 0; p + 3 <= len && n < N; p += 3) {
            uint32_t d1 = buf[p] | ((uint32_t)(buf[p + 1] & 15) << 8);
            uint32_t d2 = (buf[p + 1] >> 4) | ((uint32_t)buf[p + 2] << 4);
            if (d1 < Q)
                a->c[n++] = (int32_t)d1;
            if (d2 < Q && n < N)
                a->c[n++] = (int32_t)d2;
        }
        if (n == N)
            return SIGNET_OK;
        if (len == sizeof buf)
            return signet_fail(SIGNET_E_CRYPTO, "ML-KEM matrix sampling ran out of bytes");
        len = sizeof buf;
    }
}

/* Algorithm 8 with eta = 2, from PRF(s, b) = SHAKE256(s | b, 128). */
static signet_rc sample_cbd(const uint8_t s[32], uint8_t b, poly *f)
{
    uint8_t buf[64 * ETA];
    signet_rc rc = xof("SHAKE256", s, 32, &b, 1, buf, sizeof buf);
    if (rc)
        return rc;
    for (unsigned i = 0; i < N; i++) {
        unsigned bits = (unsigned)(buf[i / 2] >> (4 * (i & 1))) & 15;
        int32_t x = (int32_t)((bits & 1) + ((bits >> 1) & 1));
        int32_t y = (int32_t)(((bits >> 2) & 1) + ((bits >> 3) & 1));
        f->c[i] = mod_q(x - y);
    }
    smem_wipe(buf, sizeof buf);
    return SIGNET_OK;
}

/* ---- encodings (Algorithms 5 and 6) and compression (4.2.1) */

static void byte_encode(const poly *f, unsigned d, uint8_t *out)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (unsigned i = 0; i < N; i++) {
        acc |= (uint32_t)f->c[i] << bits;
        bits += d;
        while (bits >= 8) {
            out[o++] = (uint8_t)acc;
            acc >>= 8;
            bits -= 8;
        }
    }
}

static void byte_decode(const uint8_t *in, unsigned d, poly *f)
{
    uint32_t acc = 0, mask = (1u << d) - 1;
    unsigned bits = 0;
    size_t p = 0;
    for (unsigned i = 0; i < N; i++) {
        while (bits < d) {
            acc |= (uint32_t)in[p++] << bits;
            bits += 8;
        }
        f->c[i] = (int32_t)(acc & mask);
        acc >>= d;
        bits -= d;
    }
}

static void compress(poly *f, unsigned d)
{
    for (unsigned i = 0; i < N; i++)
        f->c[i] = (int32_t)(((((uint64_t)f->c[i] << d) + Q / 2) / Q) & ((1u << d) - 1));
}

static void decompress(poly *f, unsigned d)
{
    for (unsigned i = 0; i < N; i++)
        f->c[i] = (int32_t)(((uint32_t)f->c[i] * Q + (1u << (d - 1))) >> d);
}

/* ---- K-PKE (Algorithms 13-15) */

static signet_rc matrix(const uint8_t rho[32], poly a[K][K])
{
    signet_rc rc = SIGNET_OK;
    for (unsigned i = 0; i < K && !rc; i++)
        for (unsigned j = 0; j < K && !rc; j++)
            rc = sample_ntt(rho, (uint8_t)j, (uint8_t)i, &a[i][j]);
    return rc;
}

struct pke_work { /* in locked memory: holds secrets */
    poly a[K][K], s[K], e[K], t[K], y[K], u[K], v, w;
    uint8_t g[64];
};

static signet_rc pke_keygen(struct pke_work *w, const uint8_t d[32], uint8_t ek[AGE_MLKEM_EK],
                            uint8_t dk_pke[384 * K])
{
    uint8_t in[33];
    memcpy(in, d, 32);
    in[32] = K;
    signet_rc rc = xof("SHA3-512", in, 33, NULL, 0, w->g, 64);
    const uint8_t *rho = w->g, *sigma = w->g + 32;
    uint8_t nonce = 0;
    if (!rc)
        rc = matrix(rho, w->a);
    for (unsigned i = 0; i < K && !rc; i++)
        rc = sample_cbd(sigma, nonce++, &w->s[i]);
    for (unsigned i = 0; i < K && !rc; i++)
        rc = sample_cbd(sigma, nonce++, &w->e[i]);
    if (rc)
        return rc;
    for (unsigned i = 0; i < K; i++) {
        ntt(&w->s[i]);
        ntt(&w->e[i]);
    }
    for (unsigned i = 0; i < K; i++) {
        memset(&w->t[i], 0, sizeof(poly));
        for (unsigned j = 0; j < K; j++)
            mul_acc(&w->t[i], &w->a[i][j], &w->s[j]);
        add(&w->t[i], &w->e[i]);
        byte_encode(&w->t[i], 12, ek + 384 * i);
        byte_encode(&w->s[i], 12, dk_pke + 384 * i);
    }
    memcpy(ek + 384 * K, rho, 32);
    return SIGNET_OK;
}

static signet_rc pke_encrypt(struct pke_work *w, const uint8_t ek[AGE_MLKEM_EK],
                             const uint8_t m[32], const uint8_t r[32], uint8_t c[AGE_MLKEM_CT])
{
    uint8_t nonce = 0;
    signet_rc rc = matrix(ek + 384 * K, w->a);
    for (unsigned i = 0; i < K && !rc; i++)
        rc = sample_cbd(r, nonce++, &w->y[i]);
    for (unsigned i = 0; i < K && !rc; i++)
        rc = sample_cbd(r, nonce++, &w->e[i]);
    if (!rc)
        rc = sample_cbd(r, nonce, &w->w); /* e2 */
    if (rc)
        return rc;
    for (unsigned i = 0; i < K; i++) {
        byte_decode(ek + 384 * i, 12, &w->t[i]);
        ntt(&w->y[i]);
    }
    for (unsigned i = 0; i < K; i++) {
        memset(&w->u[i], 0, sizeof(poly));
        for (unsigned j = 0; j < K; j++)
            mul_acc(&w->u[i], &w->a[j][i], &w->y[j]); /* A transposed */
        ntt_inverse(&w->u[i]);
        add(&w->u[i], &w->e[i]);
        compress(&w->u[i], DU);
        byte_encode(&w->u[i], DU, c + 32 * DU * i);
    }
    memset(&w->v, 0, sizeof(poly));
    for (unsigned j = 0; j < K; j++)
        mul_acc(&w->v, &w->t[j], &w->y[j]);
    ntt_inverse(&w->v);
    add(&w->v, &w->w);
    poly mu;
    byte_decode(m, 1, &mu);
    decompress(&mu, 1);
    add(&w->v, &mu);
    compress(&w->v, DV);
    byte_encode(&w->v, DV, c + 32 * DU * K);
    smem_wipe(&mu, sizeof mu);
    return SIGNET_OK;
}

static void pke_decrypt(struct pke_work *w, const uint8_t dk_pke[384 * K],
                        const uint8_t c[AGE_MLKEM_CT], uint8_t m[32])
{
    memset(&w->w, 0, sizeof(poly));
    for (unsigned i = 0; i < K; i++) {
        byte_decode(c + 32 * DU * i, DU, &w->u[i]);
        decompress(&w->u[i], DU);
        ntt(&w->u[i]);
        byte_decode(dk_pke + 384 * i, 12, &w->s[i]);
        mul_acc(&w->w, &w->s[i], &w->u[i]);
    }
    ntt_inverse(&w->w);
    byte_decode(c + 32 * DU * K, DV, &w->v);
    decompress(&w->v, DV);
    for (unsigned j = 0; j < N; j++)
        w->v.c[j] = mod_q((int64_t)w->v.c[j] - w->w.c[j]);
    compress(&w->v, 1);
    byte_encode(&w->v, 1, m);
}

/* ---- ML-KEM (Algorithms 16-18) */

signet_rc age_mlkem_keygen(const uint8_t d[32], const uint8_t z[32], uint8_t ek[AGE_MLKEM_EK],
                           uint8_t dk[AGE_MLKEM_DK])
{
    init_tables();
    struct pke_work *w = smem_alloc(sizeof *w);
    if (!w)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = pke_keygen(w, d, ek, dk);
    if (!rc) {
        memcpy(dk + 384 * K, ek, AGE_MLKEM_EK);
        rc = age_sha3_256(ek, AGE_MLKEM_EK, NULL, 0, dk + 384 * K + AGE_MLKEM_EK);
        memcpy(dk + 384 * K + AGE_MLKEM_EK + 32, z, 32);
    }
    smem_free(w);
    return rc;
}

signet_rc age_mlkem_check_ek(const uint8_t ek[AGE_MLKEM_EK])
{
    /* FIPS 203, 7.2: every 12-bit coefficient of the key must be below q. */
    poly t;
    for (unsigned i = 0; i < K; i++) {
        byte_decode(ek + 384 * i, 12, &t);
        for (unsigned j = 0; j < N; j++)
            if (t.c[j] >= Q)
                return signet_fail(SIGNET_E_PARSE, "the ML-KEM-768 encapsulation key is not "
                                                   "canonical (a coefficient is not below q)");
    }
    return SIGNET_OK;
}

signet_rc age_mlkem_encaps(const uint8_t ek[AGE_MLKEM_EK], const uint8_t m[32],
                           uint8_t ss[32], uint8_t c[AGE_MLKEM_CT])
{
    init_tables();
    signet_rc rc = age_mlkem_check_ek(ek);
    if (rc)
        return rc;
    struct pke_work *w = smem_alloc(sizeof *w);
    if (!w)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    uint8_t h[32];
    rc = age_sha3_256(ek, AGE_MLKEM_EK, NULL, 0, h);
    if (!rc)
        rc = xof("SHA3-512", m, 32, h, 32, w->g, 64);
    if (!rc)
        rc = pke_encrypt(w, ek, m, w->g + 32, c);
    if (!rc)
        memcpy(ss, w->g, 32);
    smem_free(w);
    return rc;
}

signet_rc age_mlkem_decaps(const uint8_t dk[AGE_MLKEM_DK], const uint8_t c[AGE_MLKEM_CT],
                           uint8_t ss[32])
{
    init_tables();
    const uint8_t *dk_pke = dk, *ek = dk + 384 * K, *h = ek + AGE_MLKEM_EK, *z = h + 32;
    struct pke_work *w = smem_alloc(sizeof *w + 32 + 32 + AGE_MLKEM_CT);
    if (!w)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    uint8_t *m = (uint8_t *)(w + 1), *reject = m + 32, *c2 = reject + 32;
    pke_decrypt(w, dk_pke, c, m);
    signet_rc rc = xof("SHA3-512", m, 32, h, 32, w->g, 64);
    if (!rc)
        rc = xof("SHAKE256", z, 32, c, AGE_MLKEM_CT, reject, 32);
    if (!rc)
        rc = pke_encrypt(w, ek, m, w->g + 32, c2);
    if (!rc) {
        /* Implicit rejection: the shared secret of a modified ciphertext is a
         * pseudo-random function of it, chosen without a branch. */
        uint8_t differ = (uint8_t)(CRYPTO_memcmp(c, c2, AGE_MLKEM_CT) != 0);
        uint8_t mask = (uint8_t)-differ;
        for (unsigned i = 0; i < 32; i++)
            ss[i] = (uint8_t)((w->g[i] & ~mask) | (reject[i] & mask));
    }
    smem_free(w);
    return rc;
}

/* age's post-quantum hybrid recipient, the mlkem768x25519 stanza (C2SP age):
 *
 *     -> mlkem768x25519 <enc: 1120 bytes, canonical base64>
 *     <HPKE-sealed file key: 32 bytes>
 *
 * The KEM is X-Wing (MLKEM768-X25519, HPKE KEM id 0x647a): ML-KEM-768 (mlkem.c)
 * and X25519 (OpenSSL) joined by SHA3-256(ss_M | ss_X | ct_X | pk_X | label).  The
 * file key is sealed with HPKE (RFC 9180) base mode, HKDF-SHA256 and
 * ChaCha20-Poly1305, info "age-encryption.org/mlkem768x25519", empty aad.  An
 * identity is the 32-byte X-Wing seed; the recipient is the 1216-byte
 * encapsulation key.  OpenSSL 3.0 has no HPKE, so the key schedule is written
 * here on OpenSSL's HKDF (extract and expand) and ChaCha20-Poly1305. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "age_internal.h"
#include "signet/secmem.h"

static const char PQ_INFO[] = "age-encryption.org/mlkem768x25519";
static const uint8_t XWING_LABEL[6] = {0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c}; /* \.//^\ */

/* ---- X-Wing */

struct xwing_sk { /* locked memory */
    uint8_t expanded[96];
    uint8_t dk_m[AGE_MLKEM_DK];
    uint8_t pk[AGE_XWING_PK];
};

static signet_rc xwing_expand(const uint8_t seed[32], struct xwing_sk *sk)
{
    signet_rc rc = age_shake256(seed, 32, NULL, 0, sk->expanded, 96);
    if (!rc)
        rc = age_mlkem_keygen(sk->expanded, sk->expanded + 32, sk->pk, sk->dk_m);
    if (!rc)
        rc = age_x25519_base(sk->expanded + 64, sk->pk + AGE_MLKEM_EK);
    return rc;
}

signet_rc age_xwing_public(const uint8_t seed[32], uint8_t pk[AGE_XWING_PK])
{
    struct xwing_sk *sk = smem_alloc(sizeof *sk);
    if (!sk)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = xwing_expand(seed, sk);
    if (!rc)
        memcpy(pk, sk->pk, AGE_XWING_PK);
    smem_free(sk);
    return rc;
}

static signet_rc combiner(const uint8_t ss_m[32], const uint8_t ss_x[32], const uint8_t ct_x[32],
                          const uint8_t pk_x[32], uint8_t ss[32])
{
    uint8_t in[32 * 4 + sizeof XWING_LABEL];
    memcpy(in, ss_m, 32);
    memcpy(in + 32, ss_x, 32);
    memcpy(in + 64, ct_x, 32);
    memcpy(in + 96, pk_x, 32);
    memcpy(in + 128, XWING_LABEL, sizeof XWING_LABEL);
    signet_rc rc = age_sha3_256(in, sizeof in, NULL, 0, ss);
    smem_wipe(in, sizeof in);
    return rc;
}

signet_rc age_xwing_encaps(const uint8_t pk[AGE_XWING_PK], const uint8_t eseed[64],
                           uint8_t ss[32], uint8_t ct[AGE_XWING_CT])
{
    uint8_t *sec = smem_alloc(64);
    if (!sec)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    const uint8_t *pk_x = pk + AGE_MLKEM_EK;
    uint8_t *ct_x = ct + AGE_MLKEM_CT;
    signet_rc rc = age_mlkem_encaps(pk, eseed, sec, ct);
    if (!rc)
        rc = age_x25519_base(eseed + 32, ct_x);
    if (!rc)
        rc = age_x25519(eseed + 32, pk_x, sec + 32);
    if (!rc)
        rc = combiner(sec, sec + 32, ct_x, pk_x, ss);
    smem_free(sec);
    return rc;
}

signet_rc age_xwing_decaps(const uint8_t seed[32], const uint8_t ct[AGE_XWING_CT],
                           uint8_t ss[32])
{
    struct xwing_sk *sk = smem_alloc(sizeof *sk + 64);
    if (!sk)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    uint8_t *sec = (uint8_t *)(sk + 1);
    const uint8_t *ct_x = ct + AGE_MLKEM_CT;
    signet_rc rc = xwing_expand(seed, sk);
    if (!rc)
        rc = age_mlkem_decaps(sk->dk_m, ct, sec);
    if (!rc)
        rc = age_x25519(sk->expanded + 64, ct_x, sec + 32);
    if (!rc)
        rc = combiner(sec, sec + 32, ct_x, sk->pk + AGE_MLKEM_EK, ss);
    smem_free(sk);
    return rc;
}

/* ---- HPKE (RFC 9180) base mode, HKDF-SHA256 (0x0001), ChaCha20-Poly1305 (0x0003) */

static signet_rc hkdf_mode(int mode, const uint8_t *key, size_t key_len, const uint8_t *salt,
                           size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
                           size_t out_len)
{
    static const uint8_t zero[32];
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[6], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(key_len ? key : zero),
                                             key_len);
    if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                 (void *)(salt_len ? salt : zero),
                                                 salt_len ? salt_len : sizeof zero);
    else
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    int ok = ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "HKDF-SHA256 failed in OpenSSL");
}

/* "HPKE-v1" | suite_id | label, the prefix of labeled inputs. */
static size_t labeled(uint8_t *buf, uint16_t kem_id, const char *label)
{
    size_t n = 0;
    memcpy(buf, "HPKE-v1HPKE", 11);
    n = 11;
    buf[n++] = (uint8_t)(kem_id >> 8);
    buf[n++] = (uint8_t)kem_id;
    buf[n++] = 0x00;
    buf[n++] = 0x01; /* HKDF-SHA256 */
    buf[n++] = 0x00;
    buf[n++] = 0x03; /* ChaCha20Poly1305 */
    memcpy(buf + n, label, strlen(label));
    return n + strlen(label);
}

static signet_rc labeled_extract(uint16_t kem_id, const uint8_t *salt, size_t salt_len,
                                 const char *label, const uint8_t *ikm, size_t ikm_len,
                                 uint8_t prk[32])
{
    uint8_t *buf = smem_alloc(64 + ikm_len);
    if (!buf)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    size_t n = labeled(buf, kem_id, label);
    if (ikm_len)
        memcpy(buf + n, ikm, ikm_len);
    signet_rc rc = hkdf_mode(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, buf, n + ikm_len, salt, salt_len,
                             NULL, 0, prk, 32);
    smem_free(buf);
    return rc;
}

static signet_rc labeled_expand(uint16_t kem_id, const uint8_t prk[32], const char *label,
                                const uint8_t *info, size_t info_len, uint8_t *out, size_t len)
{
    uint8_t buf[2 + 64 + 65];
    if (info_len > 65)
        return signet_fail(SIGNET_E_ARG, "HPKE context too long");
    buf[0] = (uint8_t)(len >> 8);
    buf[1] = (uint8_t)len;
    size_t n = 2 + labeled(buf + 2, kem_id, label);
    memcpy(buf + n, info, info_len);
    return hkdf_mode(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, 32, NULL, 0, buf, n + info_len, out,
                     len);
}

signet_rc age_hpke_key_schedule(uint16_t kem_id, const uint8_t shared[32], const uint8_t *info,
                                size_t info_len, uint8_t key[32], uint8_t base_nonce[12])
{
    uint8_t ctx[65], *secret = smem_alloc(32);
    if (!secret)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    ctx[0] = 0x00; /* mode_base */
    signet_rc rc = labeled_extract(kem_id, NULL, 0, "psk_id_hash", NULL, 0, ctx + 1);
    if (!rc)
        rc = labeled_extract(kem_id, NULL, 0, "info_hash", info, info_len, ctx + 33);
    if (!rc)
        rc = labeled_extract(kem_id, shared, 32, "secret", NULL, 0, secret);
    if (!rc)
        rc = labeled_expand(kem_id, secret, "key", ctx, sizeof ctx, key, 32);
    if (!rc)
        rc = labeled_expand(kem_id, secret, "base_nonce", ctx, sizeof ctx, base_nonce, 12);
    smem_free(secret);
    return rc;
}

/* ---- the stanza */

static signet_rc pq_keys(const uint8_t ss[32], uint8_t key[32], uint8_t nonce[12])
{
    return age_hpke_key_schedule(AGE_HPKE_KEM_XWING, ss, (const uint8_t *)PQ_INFO,
                                 strlen(PQ_INFO), key, nonce);
}

signet_rc age_pq_wrap(const uint8_t pk[AGE_XWING_PK], const uint8_t fk[AGE_FILE_KEY_LEN],
                      sb_wr *hdr)
{
    uint8_t *sec = smem_alloc(64 + 32 + 32 + 12); /* eseed | ss | key | nonce */
    if (!sec)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    uint8_t *ss = sec + 64, *key = ss + 32, *nonce = key + 32;
    uint8_t ct[AGE_XWING_CT], body[AGE_FILE_KEY_LEN + AGE_TAG_LEN];
    char enc[AGE_XWING_CT * 4 / 3 + 8];
    sb_wr w;
    signet_rc rc = age_random(sec, 64);
    if (!rc)
        rc = age_xwing_encaps(pk, sec, ss, ct);
    if (rc == SIGNET_E_VERIFY)
        rc = signet_fail(SIGNET_E_ARG, "the recipient's X25519 half is a low-order point, not a "
                                       "usable key: check the recipient");
    if (!rc)
        rc = pq_keys(ss, key, nonce);
    if (!rc)
        rc = age_aead_seal(key, nonce, fk, AGE_FILE_KEY_LEN, body);
    sbw_init_fixed(&w, enc, sizeof enc - 1);
    if (!rc)
        rc = b64_encode(&w, ct, sizeof ct, false);
    enc[w.len] = 0;
    if (!rc) {
        const char *args[] = {"mlkem768x25519", enc};
        rc = age_stanza_write(hdr, args, 2, body, sizeof body);
    }
    smem_free(sec);
    return rc;
}

/* The enc argument: canonical unpadded base64 of exactly 1120 bytes. */
static bool enc_arg(const age_stanza *st, uint8_t ct[AGE_XWING_CT])
{
    const char *p;
    size_t len;
    sb_wr w;
    if (st->nargs != 2)
        return false;
    age_stanza_arg(st, 1, &p, &len);
    sbw_init_fixed(&w, ct, AGE_XWING_CT);
    return len == (AGE_XWING_CT * 4 + 2) / 3 && b64_decode(&w, p, len, false) == SIGNET_OK &&
           w.len == AGE_XWING_CT;
}

signet_rc age_pq_check(const age_stanza *st, size_t index)
{
    uint8_t ct[AGE_XWING_CT];
    if (!enc_arg(st, ct) || st->body_len != AGE_FILE_KEY_LEN + AGE_TAG_LEN)
        return signet_fail(SIGNET_E_PARSE, "mlkem768x25519 stanza %zu is malformed (it needs one "
                                           "argument, the canonical base64 of a 1120-byte "
                                           "encapsulation, and a 32-byte body)",
                           index + 1);
    return SIGNET_OK;
}

signet_rc age_pq_unwrap(const uint8_t seed[32], const age_header *h, const age_stanza *st,
                        uint8_t fk[AGE_FILE_KEY_LEN], bool *matched)
{
    *matched = false;
    if (!age_stanza_arg_is(st, 0, "mlkem768x25519"))
        return SIGNET_OK;
    uint8_t ct[AGE_XWING_CT];
    if (!enc_arg(st, ct) || st->body_len != AGE_FILE_KEY_LEN + AGE_TAG_LEN)
        return signet_fail(SIGNET_E_PARSE, "an mlkem768x25519 stanza is malformed");
    uint8_t *sec = smem_alloc(32 + 32 + 12);
    if (!sec)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    uint8_t *ss = sec, *key = sec + 32, *nonce = key + 32;
    signet_rc rc = age_xwing_decaps(seed, ct, ss);
    if (rc == SIGNET_E_VERIFY)
        rc = signet_fail(SIGNET_E_VERIFY, "an mlkem768x25519 stanza's X25519 share is a "
                                          "low-order point: the file is malformed or was "
                                          "crafted to attack the reader");
    if (!rc)
        rc = pq_keys(ss, key, nonce);
    if (!rc) {
        rc = age_aead_open(key, nonce, age_stanza_body(h, st), st->body_len, fk);
        if (rc == SIGNET_OK)
            *matched = true;
        else if (rc == SIGNET_E_VERIFY)
            rc = SIGNET_OK; /* sealed to another key (ML-KEM rejects implicitly) */
    }
    smem_free(sec);
    return rc;
}

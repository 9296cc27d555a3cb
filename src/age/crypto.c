/* The primitives age is built from, each a thin wrapper over OpenSSL 3 EVP. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "age_internal.h"
#include "signet/secmem.h"

signet_rc age_random(uint8_t *p, size_t n)
{
    if (n > INT32_MAX || RAND_priv_bytes(p, (int)n) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "the random number generator failed: check that "
                                            "the system has entropy and retry");
    return SIGNET_OK;
}

signet_rc age_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                   const char *info, uint8_t out[AGE_KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    /* An empty ikm is legal (the ssh-ed25519 tweak); OpenSSL takes a zero-length key. */
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)(ikm ? ikm : out), ikm_len);
    /* An empty salt means HashLen zero bytes (RFC 5869), which is OpenSSL's default. */
    if (salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
    *p = OSSL_PARAM_construct_end();
    int ok = ctx && EVP_KDF_derive(ctx, out, AGE_KEY_LEN, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "HKDF-SHA256 failed in OpenSSL");
}

signet_rc age_hmac(const uint8_t key[AGE_KEY_LEN], const uint8_t *p, size_t n,
                   uint8_t out[AGE_KEY_LEN])
{
    size_t len = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, AGE_KEY_LEN, p, n, out, AGE_KEY_LEN,
                   &len) ||
        len != AGE_KEY_LEN)
        return signet_fail(SIGNET_E_CRYPTO, "HMAC-SHA256 failed in OpenSSL");
    return SIGNET_OK;
}

static signet_rc digest(const EVP_MD *md, const uint8_t *p, size_t n, uint8_t *out)
{
    if (EVP_Digest(p, n, out, NULL, md, NULL) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "%s failed in OpenSSL", EVP_MD_get0_name(md));
    return SIGNET_OK;
}

signet_rc age_sha256(const uint8_t *p, size_t n, uint8_t out[32]) { return digest(EVP_sha256(), p, n, out); }
signet_rc age_sha512(const uint8_t *p, size_t n, uint8_t out[64]) { return digest(EVP_sha512(), p, n, out); }

signet_rc age_aead_seal(const uint8_t key[AGE_KEY_LEN], const uint8_t nonce[12],
                        const uint8_t *pt, size_t n, uint8_t *ct)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    int ok = c && n <= INT32_MAX &&
             EVP_EncryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce) == 1 &&
             EVP_EncryptUpdate(c, ct, &len, pt, (int)n) == 1 &&
             EVP_EncryptFinal_ex(c, ct + len, &fin) == 1 && (size_t)(len + fin) == n &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, AGE_TAG_LEN, ct + n) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "ChaCha20-Poly1305 encryption failed");
}

signet_rc age_aead_open(const uint8_t key[AGE_KEY_LEN], const uint8_t nonce[12],
                        const uint8_t *ct, size_t n, uint8_t *pt)
{
    if (n < AGE_TAG_LEN || n - AGE_TAG_LEN > INT32_MAX)
        return signet_fail(SIGNET_E_VERIFY, "ciphertext shorter than its tag");
    size_t m = n - AGE_TAG_LEN;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0;
    int ok = c && EVP_DecryptInit_ex(c, EVP_chacha20_poly1305(), NULL, key, nonce) == 1 &&
             EVP_DecryptUpdate(c, pt, &len, ct, (int)m) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, AGE_TAG_LEN, (void *)(ct + m)) == 1 &&
             EVP_DecryptFinal_ex(c, pt + len, &fin) == 1;
    EVP_CIPHER_CTX_free(c);
    if (!ok) {
        ERR_clear_error(); /* an expected outcome, not an OpenSSL fault */
        smem_wipe(pt, m); /* unauthenticated plaintext never leaves */
        return signet_fail(SIGNET_E_VERIFY, "ChaCha20-Poly1305 authentication failed");
    }
    return SIGNET_OK;
}

signet_rc age_x25519(const uint8_t scalar[32], const uint8_t point[32], uint8_t out[32])
{
    static const uint8_t zero[32];
    EVP_PKEY *sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, 32);
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, point, 32);
    EVP_PKEY_CTX *c = sk ? EVP_PKEY_CTX_new(sk, NULL) : NULL;
    size_t len = 32;
    int setup = c && pk && EVP_PKEY_derive_init(c) == 1 && EVP_PKEY_derive_set_peer(c, pk) == 1;
    /* OpenSSL refuses to return an all-zero secret; check it here as well. */
    int ok = setup && EVP_PKEY_derive(c, out, &len) == 1 && len == 32 &&
             CRYPTO_memcmp(out, zero, 32) != 0;
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(sk);
    if (!setup)
        return signet_fail(SIGNET_E_CRYPTO, "X25519 key setup failed in OpenSSL");
    if (!ok) {
        ERR_clear_error();
        smem_wipe(out, 32);
        return signet_fail(SIGNET_E_VERIFY, "the X25519 shared secret is all zeros (the peer "
                                            "share is a low-order point)");
    }
    return SIGNET_OK;
}

signet_rc age_x25519_base(const uint8_t scalar[32], uint8_t out[32])
{
    EVP_PKEY *sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, scalar, 32);
    size_t len = 32;
    int ok = sk && EVP_PKEY_get_raw_public_key(sk, out, &len) == 1 && len == 32;
    EVP_PKEY_free(sk);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "X25519 public key computation failed");
}

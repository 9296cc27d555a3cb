/* The scrypt (passphrase) recipient stanza of the C2SP age spec:
 *
 *     -> scrypt <salt: 16 bytes, canonical base64> <log2(N): decimal, no leading 0>
 *     <ChaCha20-Poly1305(key, 12 zero bytes, file key): 32 bytes>
 *
 * key = scrypt(passphrase, "age-encryption.org/v1/scrypt" | salt, N, r = 8, p = 1),
 * through OpenSSL's SCRYPT KDF.  An scrypt stanza must be the only stanza of its
 * file (a passphrase file cannot be opened by anyone else, and age refuses mixed
 * headers); work factors above AGE_SCRYPT_MAX_WORK_FACTOR are refused before any
 * work is done, as age does, because a crafted file could otherwise make the
 * reader spend minutes and gigabytes. */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "age_internal.h"
#include "signet/secmem.h"

static const char SCRYPT_LABEL[] = "age-encryption.org/v1/scrypt";
static const uint8_t ZERO_NONCE[12];

/* The work factor argument: 1-2 decimal digits without a leading zero, 1..max. */
static bool parse_work_factor(const char *p, size_t n, unsigned *wf)
{
    if (n == 0 || n > 2 || p[0] < '1' || p[0] > '9')
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *wf = v;
    return v >= 1 && v <= AGE_SCRYPT_MAX_WORK_FACTOR;
}

signet_rc age_scrypt_check(const age_header *h, const age_stanza *st, size_t index,
                           unsigned *wf_out)
{
    const char *p;
    size_t n;
    uint8_t mem[24];
    sb_wr w;
    unsigned wf = 0;
    if (h->n != 1)
        return signet_fail(SIGNET_E_PARSE, "the file has an scrypt (passphrase) stanza and %zu "
                                           "others: an scrypt stanza must be alone in its "
                                           "header, so the file is malformed",
                           h->n - 1);
    if (st->nargs != 3)
        return signet_fail(SIGNET_E_PARSE, "scrypt stanza %zu has %zu arguments instead of 2 "
                                           "(salt and work factor)",
                           index + 1, st->nargs - 1);
    age_stanza_arg(st, 1, &p, &n);
    sbw_init_fixed(&w, mem, sizeof mem);
    if (n != 22 || b64_decode(&w, p, n, false) || w.len != AGE_SCRYPT_SALT_LEN)
        return signet_fail(SIGNET_E_PARSE, "scrypt stanza %zu: the salt is not the canonical "
                                           "base64 of 16 bytes",
                           index + 1);
    age_stanza_arg(st, 2, &p, &n);
    if (!parse_work_factor(p, n, &wf))
        return signet_fail(SIGNET_E_PARSE, "scrypt stanza %zu: the work factor is not a decimal "
                                           "number from 1 to %d without leading zeros (age "
                                           "refuses higher ones too: they would take minutes "
                                           "and gigabytes)",
                           index + 1, AGE_SCRYPT_MAX_WORK_FACTOR);
    if (st->body_len != AGE_FILE_KEY_LEN + AGE_TAG_LEN)
        return signet_fail(SIGNET_E_PARSE, "scrypt stanza %zu: the body is %zu bytes, not 32",
                           index + 1, st->body_len);
    if (wf_out)
        *wf_out = wf;
    return SIGNET_OK;
}

static signet_rc scrypt_key(const char *pass, size_t pass_len, const uint8_t salt[16],
                            unsigned wf, uint8_t key[AGE_KEY_LEN])
{
    uint8_t full_salt[sizeof SCRYPT_LABEL - 1 + AGE_SCRYPT_SALT_LEN];
    memcpy(full_salt, SCRYPT_LABEL, sizeof SCRYPT_LABEL - 1);
    memcpy(full_salt + sizeof SCRYPT_LABEL - 1, salt, AGE_SCRYPT_SALT_LEN);
    uint64_t n = (uint64_t)1 << wf;
    uint32_t r = 8, p = 1;
    /* OpenSSL needs 128 * r * (N + 2) bytes for V plus 128 * r * p for B. */
    uint64_t maxmem = 128 * (uint64_t)r * (n + 2 + p) + 65536;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[7], *q = params;
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pass, pass_len);
    *q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, full_salt, sizeof full_salt);
    *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    *q++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    *q++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    *q = OSSL_PARAM_construct_end();
    int ok = ctx && EVP_KDF_derive(ctx, key, AGE_KEY_LEN, params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (!ok) {
        ERR_clear_error();
        return signet_fail(SIGNET_E_CRYPTO, "scrypt with work factor %u failed in OpenSSL (out "
                                            "of memory? it needs %llu MiB)",
                           wf, (unsigned long long)(maxmem >> 20));
    }
    return SIGNET_OK;
}

signet_rc age_scrypt_wrap(const char *pass, size_t pass_len, unsigned wf,
                          const uint8_t fk[AGE_FILE_KEY_LEN], sb_wr *hdr)
{
    uint8_t salt[AGE_SCRYPT_SALT_LEN], body[AGE_FILE_KEY_LEN + AGE_TAG_LEN];
    uint8_t *key = smem_alloc(AGE_KEY_LEN);
    char salt_b64[32], wf_text[4];
    sb_wr w;
    if (!key)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    if (wf < 1 || wf > AGE_SCRYPT_MAX_WORK_FACTOR) {
        smem_free(key);
        return signet_fail(SIGNET_E_ARG, "scrypt work factor %u is outside 1..%d", wf,
                           AGE_SCRYPT_MAX_WORK_FACTOR);
    }
    signet_rc rc = age_random(salt, sizeof salt);
    if (!rc)
        rc = scrypt_key(pass, pass_len, salt, wf, key);
    if (!rc)
        rc = age_aead_seal(key, ZERO_NONCE, fk, AGE_FILE_KEY_LEN, body);
    sbw_init_fixed(&w, salt_b64, sizeof salt_b64 - 1);
    if (!rc)
        rc = b64_encode(&w, salt, sizeof salt, false);
    salt_b64[w.len] = 0;
    snprintf(wf_text, sizeof wf_text, "%u", wf);
    if (!rc) {
        const char *args[] = {"scrypt", salt_b64, wf_text};
        rc = age_stanza_write(hdr, args, 3, body, sizeof body);
    }
    smem_free(key);
    return rc;
}

signet_rc age_scrypt_unwrap(const char *pass, size_t pass_len, const age_header *h,
                            const age_stanza *st, uint8_t fk[AGE_FILE_KEY_LEN], bool *matched)
{
    *matched = false;
    if (!age_stanza_arg_is(st, 0, "scrypt"))
        return SIGNET_OK;
    unsigned wf = 0;
    signet_rc rc = age_scrypt_check(h, st, (size_t)(st - h->st), &wf);
    if (rc)
        return rc;
    const char *p;
    size_t n;
    uint8_t mem[24];
    sb_wr w;
    age_stanza_arg(st, 1, &p, &n);
    sbw_init_fixed(&w, mem, sizeof mem);
    if ((rc = b64_decode(&w, p, n, false)) != SIGNET_OK)
        return rc;
    uint8_t *key = smem_alloc(AGE_KEY_LEN);
    if (!key)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    rc = scrypt_key(pass, pass_len, mem, wf, key);
    if (!rc) {
        rc = age_aead_open(key, ZERO_NONCE, age_stanza_body(h, st), st->body_len, fk);
        if (rc == SIGNET_OK)
            *matched = true;
        else if (rc == SIGNET_E_VERIFY)
            rc = SIGNET_OK; /* another passphrase (or a damaged stanza): no match */
    }
    smem_free(key);
    return rc;
}

/* The age payload: a 16-byte nonce, then STREAM, ChaCha20-Poly1305 over 64 KiB
 * chunks with nonce = 11-byte big-endian counter | final-chunk flag (C2SP age,
 * "Payload").  Both directions hold one chunk at a time.
 *
 * Chunk boundaries follow from sizes: a chunk shorter than 64 KiB + 16 must be the
 * final one; a full one may be either, and its tag tells which. */
#include <stdlib.h>
#include <string.h>

#include "age_internal.h"
#include "signet/secmem.h"

static void chunk_nonce(uint64_t counter, bool last, uint8_t nonce[12])
{
    memset(nonce, 0, 3);
    put_be64(nonce + 3, counter);
    nonce[11] = last ? 1 : 0;
}

signet_rc age_payload_key(const uint8_t fk[AGE_FILE_KEY_LEN], const uint8_t nonce[AGE_NONCE_LEN],
                          uint8_t key[AGE_KEY_LEN])
{
    return age_hkdf(fk, AGE_FILE_KEY_LEN, nonce, AGE_NONCE_LEN, "payload", key);
}

signet_rc age_chunk_seal(const uint8_t key[AGE_KEY_LEN], uint64_t counter, bool last,
                         const uint8_t *pt, size_t n, uint8_t *ct)
{
    uint8_t nonce[12];
    chunk_nonce(counter, last, nonce);
    return age_aead_seal(key, nonce, pt, n, ct);
}

static signet_rc chunk_open(const uint8_t key[AGE_KEY_LEN], uint64_t counter, bool last,
                            const uint8_t *ct, size_t n, uint8_t *pt)
{
    uint8_t nonce[12];
    chunk_nonce(counter, last, nonce);
    return age_aead_open(key, nonce, ct, n, pt);
}

/* Reads until n bytes or the end of the input. */
static signet_rc read_full(age_read_fn rd, void *ctx, uint8_t *buf, size_t n, size_t *got,
                           bool *eof)
{
    *got = 0;
    *eof = false;
    while (*got < n) {
        size_t k = 0;
        signet_rc rc = rd(ctx, buf + *got, n - *got, &k);
        if (rc)
            return rc;
        if (k > n - *got)
            return signet_fail(SIGNET_E_IO, "a reader returned more bytes than asked for");
        if (k == 0) {
            *eof = true;
            break;
        }
        *got += k;
    }
    return SIGNET_OK;
}

signet_rc age_payload_encrypt(const uint8_t fk[AGE_FILE_KEY_LEN], age_read_fn rd, void *rctx,
                              age_out *out)
{
    uint8_t nonce[AGE_NONCE_LEN], *key = smem_alloc(AGE_KEY_LEN);
    uint8_t *pt = smem_alloc(AGE_CHUNK + 1), *ct = malloc(AGE_ENC_CHUNK);
    signet_rc rc = SIGNET_OK;
    if (!key || !pt || !ct) {
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory for the payload buffers");
        goto out;
    }
    if ((rc = age_random(nonce, sizeof nonce)) || (rc = age_payload_key(fk, nonce, key)) ||
        (rc = age_out_write(out, nonce, sizeof nonce)))
        goto out;
    size_t have = 0; /* a byte carried over from the look-ahead */
    for (uint64_t counter = 0;; counter++) {
        size_t got;
        bool eof, last;
        if ((rc = read_full(rd, rctx, pt + have, AGE_CHUNK - have, &got, &eof)))
            goto out;
        size_t n = have + got;
        last = eof;
        if (!eof) {
            /* A full chunk is final only if no byte follows: look one ahead. */
            size_t one;
            if ((rc = read_full(rd, rctx, pt + AGE_CHUNK, 1, &one, &eof)))
                goto out;
            last = one == 0;
        }
        if ((rc = age_chunk_seal(key, counter, last, pt, n, ct)) ||
            (rc = age_out_write(out, ct, n + AGE_TAG_LEN)))
            goto out;
        if (last)
            break;
        pt[0] = pt[AGE_CHUNK];
        have = 1;
    }
out:
    smem_free(key);
    smem_free(pt);
    free(ct);
    return rc;
}

/* Decrypts the payload the way age does, so that exactly the same plaintext is
 * released before a failure: a chunk shorter than 64 KiB + 16 is the final one;
 * a full chunk is opened as a middle chunk, and if that fails, as the final one.
 * Each chunk is written only after it authenticated; a failure later in the
 * stream (a bad or missing chunk, data after the final chunk) leaves the chunks
 * before it written, and the caller learns of it from the return code. */
signet_rc age_payload_decrypt(const uint8_t fk[AGE_FILE_KEY_LEN],
                              const uint8_t nonce[AGE_NONCE_LEN], age_bufrd *in, age_write_fn wr,
                              void *wctx)
{
    uint8_t *key = smem_alloc(AGE_KEY_LEN);
    uint8_t *pt = smem_alloc(AGE_CHUNK), *ct = malloc(AGE_ENC_CHUNK);
    signet_rc rc = SIGNET_OK;
    size_t got;
    if (!key || !pt || !ct) {
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory for the payload buffers");
        goto out;
    }
    if ((rc = age_payload_key(fk, nonce, key)))
        goto out;
    for (uint64_t counter = 0;; counter++) {
        if ((rc = age_bufrd_read(in, ct, AGE_ENC_CHUNK, &got)))
            goto out;
        if (got == 0) {
            rc = signet_fail(SIGNET_E_PARSE, counter ? "the payload ends after chunk %llu, which "
                                                       "is not marked final: the file is "
                                                       "truncated"
                                                     : "the payload has no chunks: the file is "
                                                       "truncated",
                             (unsigned long long)(counter - 1));
            goto out;
        }
        bool last = got < AGE_ENC_CHUNK;
        if (last && got == AGE_TAG_LEN && counter > 0) {
            rc = signet_fail(SIGNET_E_VERIFY, "the final payload chunk is empty, which the age "
                                              "format allows only for an empty file: the file "
                                              "is malformed");
            goto out;
        }
        if (got < AGE_TAG_LEN) {
            rc = signet_fail(SIGNET_E_PARSE, "payload chunk %llu is shorter than its "
                                             "authentication tag: the file is truncated",
                             (unsigned long long)counter);
            goto out;
        }
        rc = chunk_open(key, counter, last, ct, got, pt);
        if (rc == SIGNET_E_VERIFY && !last) {
            last = true; /* a full-size final chunk */
            rc = chunk_open(key, counter, true, ct, got, pt);
        }
        if (rc) {
            smem_wipe(pt, AGE_CHUNK);
            rc = signet_fail(SIGNET_E_VERIFY, "payload chunk %llu does not authenticate: the "
                                              "file was modified or truncated; nothing from "
                                              "this chunk on was written",
                             (unsigned long long)counter);
            goto out;
        }
        if (got > AGE_TAG_LEN && (rc = wr(wctx, pt, got - AGE_TAG_LEN)))
            goto out;
        if (last) {
            const uint8_t *p;
            size_t avail;
            if ((rc = age_bufrd_peek(in, 1, &p, &avail)) == SIGNET_OK && avail)
                rc = signet_fail(SIGNET_E_VERIFY, "data follows the final payload chunk: the "
                                                  "file was modified or two files were joined "
                                                  "(the plaintext up to it was written)");
            goto out;
        }
    }
out:
    smem_free(key);
    smem_free(pt);
    free(ct);
    return rc;
}

/* One-shot hashing whose failure is an error with a message, never ignored: every
 * hash that ends up in a record, a key fingerprint or a signature goes through
 * here or checks EVP_Digest itself. */
#ifndef SIGNET_HASH_H
#define SIGNET_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "signet/err.h"

/* out holds EVP_MAX_MD_SIZE bytes; *out_len (may be NULL) gets the digest size.
 * SIGNET_E_CRYPTO when OpenSSL fails (no provider, out of memory). */
signet_rc signet_hash(const EVP_MD *md, const void *p, size_t n, uint8_t *out,
                      unsigned *out_len);
/* SHA-256 of p[0..n) into out[32]. */
signet_rc signet_sha256(const void *p, size_t n, uint8_t out[32]);

#endif

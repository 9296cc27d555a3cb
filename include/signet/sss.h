/* Shamir secret sharing over GF(2^8), compatible with Yubico's yubihsm-setup
 * (which uses the rusty_secrets 0.0.2 share format), and the wrap-key blob that
 * yubihsm-setup splits.
 *
 * Field: GF(2^8) with reduction polynomial 0x11D (x^8+x^4+x^3+x^2+1).  Every
 * secret byte gets its own random polynomial of degree t-1 whose constant term
 * is the byte; share x (1..n) holds the polynomial values at x.  Any t shares
 * give the secret back by Lagrange interpolation at 0; t-1 shares say nothing
 * about it.
 *
 * Share text: "T-X-BASE64": threshold digit, index digit, then the share bytes in
 * standard base64 without padding (70 characters for the 52-byte wrap-key blob),
 * e.g. "3-1-AbC...".  The format carries no checksum: a mistyped share gives a
 * wrong secret silently.  Two defences: sss_combine checks surplus shares against
 * the others, and the wrap-key check value (sss_wrapkey_check) recorded at the
 * ceremony confirms a restored key before it is used.
 *
 * Shares are secrets (t of them are the key): keep them in memory from
 * sss_shares_alloc and free them with sss_shares_free, which wipes. */
#ifndef SIGNET_SSS_H
#define SIGNET_SSS_H

#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

#define SSS_MIN_THRESHOLD 2
#define SSS_MAX_SHARES 9       /* the share text has one digit for the index */
#define SSS_MAX_SECRET 256     /* bytes; the wrap-key blob is 52 */

typedef struct {
    uint8_t threshold;         /* t: shares needed, 2..9 */
    uint8_t index;             /* x coordinate, 1..9 */
    uint16_t len;              /* bytes in y, equal to the secret's length */
    uint8_t y[SSS_MAX_SECRET]; /* the polynomials evaluated at x, one per secret byte */
} sss_share;

/* n zeroed shares in locked memory (NULL when out of memory). */
sss_share *sss_shares_alloc(size_t n);
/* Wipes and frees n shares from sss_shares_alloc.  NULL is fine. */
void sss_shares_free(sss_share *shares, size_t n);

/* Splits len (1..SSS_MAX_SECRET) bytes into n shares (out[0..n-1], index 1..n), any
 * t of which recover the secret; 2 <= t <= n <= 9.  Coefficients come from the OS
 * CSPRNG (RAND_priv_bytes) and are wiped. */
signet_rc sss_split(const uint8_t *secret, size_t len, unsigned t, unsigned n, sss_share *out);

/* Recovers the secret from k shares of one split and appends it to secret_out (use
 * a writer from sbw_init_secure).  Fails, naming the share, when the shares have
 * different thresholds or lengths, an index repeats, or k < threshold.  When more
 * than threshold shares are given, the extra ones must agree with the polynomial the
 * first threshold shares define; a mistyped or foreign share then fails with
 * SIGNET_E_VERIFY instead of producing a wrong secret. */
signet_rc sss_combine(const sss_share *shares, size_t k, sb_wr *secret_out);

/* Appends "T-X-BASE64" (no newline) to out. */
signet_rc sss_share_format(const sss_share *share, sb_wr *out);
/* Parses share text exactly (no surrounding whitespace): threshold digit 2-9, '-',
 * index digit 1-9, '-', canonical unpadded base64 of 1..SSS_MAX_SECRET bytes.
 * Fails with SIGNET_E_PARSE and a message saying which part is wrong.  The message
 * never quotes the share. */
signet_rc sss_share_parse(const char *text, size_t len, sss_share *out);

/* The wrap-key blob yubihsm-setup splits (52 bytes, big-endian fields):
 *   key id(2) | domains(2) | capabilities(8) | delegated capabilities(8) | AES key(32) */
#define SSS_WRAPKEY_BLOB_LEN 52
#define SSS_WRAPKEY_KEY_LEN 32
#define SSS_WRAPKEY_CHECK_LEN 16

typedef struct {
    uint16_t id;
    uint16_t domains;
    uint64_t capabilities;
    uint64_t delegated;
    uint8_t key[SSS_WRAPKEY_KEY_LEN];
} sss_wrapkey;

/* Appends the 52-byte blob to out (use a secure writer). */
signet_rc sss_wrapkey_encode(const sss_wrapkey *wk, sb_wr *out);
/* Parses a 52-byte blob; any other length fails with a message saying the shares
 * did not hold a wrap key. */
signet_rc sss_wrapkey_decode(const uint8_t *blob, size_t len, sss_wrapkey *out);
/* Check value of a wrap key: the first 16 bytes of
 * HMAC-SHA256(key, "signet wrap-key check v1").  It is public (recorded in the
 * ceremony manifest) and confirms a restored key without revealing it. */
signet_rc sss_wrapkey_check(const sss_wrapkey *wk, uint8_t check[SSS_WRAPKEY_CHECK_LEN]);
/* Compares the key's check value with expected in constant time: SIGNET_OK or
 * SIGNET_E_VERIFY ("the restored wrap key does not match its check value ..."). */
signet_rc sss_wrapkey_verify(const sss_wrapkey *wk, const uint8_t expected[SSS_WRAPKEY_CHECK_LEN]);

#endif

/* age file encryption (age-encryption.org/v1, the C2SP age spec), interoperable
 * with the `age` and `age-keygen` tools.  signet uses it to hand each Shamir share
 * of the wrap key to one custodian.
 *
 * Recipients (public):   age1...                   X25519 (Bech32)
 *                        age1pq1...                ML-KEM-768 + X25519 hybrid (X-Wing)
 *                        ssh-ed25519 AAAA... [c]   an OpenSSH Ed25519 public key
 * Identities (secret):   AGE-SECRET-KEY-1...       X25519 (Bech32, upper case)
 *                        AGE-SECRET-KEY-PQ-1...    the hybrid's 32-byte seed
 *                        an unencrypted OpenSSH Ed25519 private key
 *                        (-----BEGIN OPENSSH PRIVATE KEY-----, cipher "none")
 *
 * Files are binary or ASCII-armored (-----BEGIN AGE ENCRYPTED FILE-----); decryption
 * detects which.  Both directions stream: memory stays bounded (about 200 KiB
 * plus a header of at most AGE_MAX_HEADER bytes) for inputs of any size.
 *
 * Passphrases: scrypt stanzas (alone in their header, work factor at most 22).
 *
 * Decryption rejects, each with its own message: a bad header MAC, no stanza for
 * any identity (SIGNET_E_AUTH), malformed stanzas of known types, non-canonical
 * base64, body lines over 64 columns, scrypt stanzas that are not alone, an all-zero
 * X25519 shared secret, truncated or modified payload chunks, a missing final
 * chunk, an empty final chunk after data, trailing data, and malformed armor.
 * Plaintext is written only after the chunk holding it has authenticated, but a
 * stream that fails later has already released its earlier chunks: callers that
 * need all-or-nothing write to a temporary file and rename on success (the CLI
 * does). */
#ifndef SIGNET_AGE_H
#define SIGNET_AGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

#define AGE_MAX_HEADER (1024 * 1024) /* bytes of header signet will read */
#define AGE_MAX_LINE 16384           /* bytes in one header line */
#define AGE_MAX_STANZAS 1024
#define AGE_MAX_IDENTITIES 64
#define AGE_SCRYPT_DEFAULT_WORK_FACTOR 18 /* log2(N), as age: about 1 s and 256 MiB */
#define AGE_SCRYPT_MAX_WORK_FACTOR 22     /* higher ones are refused, as age does */

/* A set of recipients to encrypt to. */
typedef struct age_recipients age_recipients;

signet_rc age_recipients_new(age_recipients **out);
void age_recipients_free(age_recipients *r);
/* Adds one recipient: "age1..." or an OpenSSH "ssh-ed25519 AAAA... [comment]" line.
 * Other SSH key types are refused with a message naming the supported ones. */
signet_rc age_recipients_add(age_recipients *r, const char *text, size_t len);
/* Adds every recipient of a recipients file: one per line, blank lines and lines
 * starting with '#' ignored (age's -R format). */
signet_rc age_recipients_add_file(age_recipients *r, const char *path);
/* Encrypts to a passphrase (an scrypt stanza, which must be the only recipient)
 * with work factor log2(N) (0: AGE_SCRYPT_DEFAULT_WORK_FACTOR).  The passphrase
 * is copied into locked memory. */
signet_rc age_recipients_add_passphrase(age_recipients *r, const char *pass, size_t len,
                                        unsigned work_factor);
size_t age_recipients_count(const age_recipients *r);

/* A set of identities to decrypt with, kept in locked memory. */
typedef struct age_identities age_identities;

signet_rc age_identities_new(age_identities **out);
void age_identities_free(age_identities *ids); /* wipes */
/* Adds the identities in the text of an identity file: either AGE-SECRET-KEY-1
 * lines (blank lines and '#' comments ignored), or one unencrypted OpenSSH Ed25519
 * private key.  Error messages name line numbers, never the key text. */
signet_rc age_identities_add_text(age_identities *ids, const char *text, size_t len);
/* Reads path (into locked memory) and adds its identities as above. */
signet_rc age_identities_add_file(age_identities *ids, const char *path);
/* Adds a passphrase that opens scrypt stanzas (one per set; copied into locked
 * memory). */
signet_rc age_identities_add_passphrase(age_identities *ids, const char *pass, size_t len);
size_t age_identities_count(const age_identities *ids);
/* Appends the recipient of identity i ("age1..." or "ssh-ed25519 AAAA...") to out. */
signet_rc age_identities_recipient(const age_identities *ids, size_t i, sb_wr *out);

/* A new X25519 key pair: appends "AGE-SECRET-KEY-1..." to identity (use a secure
 * writer) and "age1..." to recipient. */
signet_rc age_keygen(sb_wr *identity, sb_wr *recipient);
/* A new post-quantum hybrid key pair (age-keygen -pq): "AGE-SECRET-KEY-PQ-1..."
 * (a 32-byte X-Wing seed) and "age1pq1..." (the 1216-byte ML-KEM-768 + X25519
 * encapsulation key). */
signet_rc age_keygen_pq(sb_wr *identity, sb_wr *recipient);

/* Byte source: fills buf with up to cap bytes and sets *got; *got == 0 means the
 * end of the input.  Byte sink: consumes all len bytes or fails. */
typedef signet_rc (*age_read_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *got);
typedef signet_rc (*age_write_fn)(void *ctx, const uint8_t *buf, size_t len);

/* Encrypts everything rd yields to every recipient, writing the age file to wr
 * (ASCII armor when armor is true). */
signet_rc age_encrypt(const age_recipients *r, bool armor, age_read_fn rd, void *rctx,
                      age_write_fn wr, void *wctx);
/* Decrypts the age file rd yields (binary or armored) with the first identity that
 * matches a stanza, writing the plaintext to wr chunk by chunk. */
signet_rc age_decrypt(const age_identities *ids, age_read_fn rd, void *rctx, age_write_fn wr,
                      void *wctx);

/* What a failed age_decrypt found wrong, in the classes of age's spec and test
 * vectors (each has its own exit status in signet age, docs/age.md).  Failures
 * that are none of these (I/O, memory, no identities given) are AGE_FAIL_NONE. */
enum age_failure {
    AGE_FAIL_NONE = 0,
    AGE_FAIL_HEADER,   /* malformed or unsupported header or stanza, low-order share */
    AGE_FAIL_HMAC,     /* a file key was found but the header MAC does not verify */
    AGE_FAIL_PAYLOAD,  /* a payload chunk is missing, modified or followed by data */
    AGE_FAIL_ARMOR,    /* the ASCII armor is malformed */
    AGE_FAIL_NO_MATCH, /* no identity opens any stanza */
};
/* The class of this thread's last age_decrypt (AGE_FAIL_NONE after a success). */
enum age_failure age_decrypt_failure(void);
const char *age_failure_name(enum age_failure f);

/* File descriptor and memory forms of the above.  age_decrypt_mem resets out on
 * failure (wiping it when out is secure), so no unauthenticated plaintext stays. */
signet_rc age_encrypt_fd(const age_recipients *r, bool armor, int in_fd, int out_fd);
signet_rc age_decrypt_fd(const age_identities *ids, int in_fd, int out_fd);
signet_rc age_encrypt_mem(const age_recipients *r, bool armor, const uint8_t *in, size_t len,
                          sb_wr *out);
signet_rc age_decrypt_mem(const age_identities *ids, const uint8_t *in, size_t len, sb_wr *out);

#endif

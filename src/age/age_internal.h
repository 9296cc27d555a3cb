/* Internals of the age module, shared by its files and its tests. */
#ifndef SIGNET_AGE_INTERNAL_H
#define SIGNET_AGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/age.h"
#include "signet/buf.h"
#include "signet/err.h"

#define AGE_FILE_KEY_LEN 16
#define AGE_KEY_LEN 32         /* X25519 scalars and points, HKDF outputs, MACs */
#define AGE_TAG_LEN 16         /* Poly1305 */
#define AGE_NONCE_LEN 16       /* payload nonce */
#define AGE_CHUNK 65536        /* plaintext bytes per payload chunk */
#define AGE_ENC_CHUNK (AGE_CHUNK + AGE_TAG_LEN)
#define AGE_COLUMNS 64         /* base64 columns in stanza bodies and armor */
#define AGE_LINE_BYTES 48      /* bytes a full 64-column line holds */
#define AGE_SSH_BLOB_MAX 64    /* an ssh-ed25519 public key blob is 51 bytes */

extern const char AGE_INTRO[];        /* "age-encryption.org/v1\n" */
extern const char AGE_ARMOR_BEGIN[];  /* "-----BEGIN AGE ENCRYPTED FILE-----" */
extern const char AGE_ARMOR_END[];    /* "-----END AGE ENCRYPTED FILE-----" */

/* ---- primitives (crypto.c): OpenSSL EVP, 32-byte outputs ---- */
signet_rc age_random(uint8_t *p, size_t n);
signet_rc age_hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                   const char *info, uint8_t out[AGE_KEY_LEN]);
signet_rc age_hmac(const uint8_t key[AGE_KEY_LEN], const uint8_t *p, size_t n,
                   uint8_t out[AGE_KEY_LEN]);
signet_rc age_sha256(const uint8_t *p, size_t n, uint8_t out[32]);
signet_rc age_sha512(const uint8_t *p, size_t n, uint8_t out[64]);
/* ChaCha20-Poly1305: ct gets n + 16 bytes.  open fails with SIGNET_E_VERIFY (and
 * writes nothing usable) when the tag does not verify; n counts the tag. */
signet_rc age_aead_seal(const uint8_t key[AGE_KEY_LEN], const uint8_t nonce[12],
                        const uint8_t *pt, size_t n, uint8_t *ct);
signet_rc age_aead_open(const uint8_t key[AGE_KEY_LEN], const uint8_t nonce[12],
                        const uint8_t *ct, size_t n, uint8_t *pt);
/* X25519(scalar, point).  An all-zero result (a low-order point) fails with
 * SIGNET_E_VERIFY. */
signet_rc age_x25519(const uint8_t scalar[32], const uint8_t point[32], uint8_t out[32]);
signet_rc age_x25519_base(const uint8_t scalar[32], uint8_t out[32]);

/* ---- Bech32 (bech32.c), BIP 173 without the 90-character limit ---- */
/* Appends hrp "1" data checksum; upper case when upper. */
signet_rc bech32_encode(sb_wr *out, const char *hrp, const uint8_t *data, size_t n, bool upper);
/* Decodes s (all upper or all lower case); the HRP (lower-cased) goes to hrp,
 * the 8-bit data is appended to data. */
signet_rc bech32_decode(const char *s, size_t len, char *hrp, size_t hrp_cap, sb_wr *data);

/* ---- Ed25519 keys used for X25519 (ed25519.c) ---- */
/* Montgomery u = (1 + y) / (1 - y) mod p of an Ed25519 public key; fails for
 * encodings that are not points of the curve. */
signet_rc age_ed25519_to_x25519_public(const uint8_t ed[32], uint8_t u[32]);
/* The X25519 scalar of an Ed25519 private key: SHA-512(seed)[0:32]. */
signet_rc age_ed25519_to_x25519_secret(const uint8_t seed[32], uint8_t scalar[32]);

/* ---- keys (keys.c, openssh.c) ---- */
enum age_key_type { AGE_KEY_X25519 = 1, AGE_KEY_SSH_ED25519 = 2, AGE_KEY_PQ = 3 };

struct age_recipient {
    enum age_key_type type;
    uint8_t pq[1216];                /* mlkem768x25519: the X-Wing encapsulation key */
    uint8_t pub[32];                 /* X25519 point (converted for ssh-ed25519) */
    uint8_t ssh[AGE_SSH_BLOB_MAX];   /* ssh-ed25519: the SSH wire public key */
    size_t ssh_len;
};

struct age_identity {
    enum age_key_type type;
    uint8_t secret[32];              /* X25519 scalar, or the X-Wing seed (AGE_KEY_PQ) */
    uint8_t pub[32];                 /* X25519(secret, basepoint) */
    uint8_t ssh[AGE_SSH_BLOB_MAX];
    size_t ssh_len;
};

struct age_recipients {
    size_t n, cap;
    struct age_recipient *v;
    char *pass;                      /* scrypt passphrase (locked memory) or NULL */
    size_t pass_len;
    unsigned work_factor;
};

struct age_identities {              /* allocated in locked memory */
    size_t n;
    struct age_identity v[AGE_MAX_IDENTITIES];
    char *pass;                      /* scrypt passphrase (locked memory) or NULL */
    size_t pass_len;
};

/* Parses "ssh-ed25519 AAAA... [comment]" into r. */
signet_rc age_parse_ssh_public(const char *text, size_t len, struct age_recipient *r);
/* Parses an unencrypted OpenSSH Ed25519 private key (the whole PEM text). */
signet_rc age_parse_openssh_private(const char *text, size_t len, struct age_identity *id);
/* The SSH wire form of an Ed25519 public key: string "ssh-ed25519", string key. */
signet_rc age_ssh_ed25519_blob(const uint8_t pk[32], uint8_t *blob, size_t cap, size_t *len);

/* ---- header (header.c) ---- */
typedef struct {
    const char *args;    /* the argument line after "-> ", not NUL-terminated */
    size_t args_len;
    size_t nargs;        /* >= 1; argument 0 is the stanza type */
    size_t body_off;     /* decoded body in age_header.bodies */
    size_t body_len;
} age_stanza;

typedef struct {
    age_stanza *st;
    size_t n;
    sb_wr bodies;
    size_t mac_input_len; /* header bytes the MAC covers: up to and including "---" */
    uint8_t mac[AGE_KEY_LEN];
} age_header;

/* Argument i of a stanza (i < nargs). */
void age_stanza_arg(const age_stanza *st, size_t i, const char **p, size_t *len);
bool age_stanza_arg_is(const age_stanza *st, size_t i, const char *s);
const uint8_t *age_stanza_body(const age_header *h, const age_stanza *st);

/* Parses a complete header, from the version line through the MAC line and its
 * newline, exactly len bytes.  On success free with age_header_free. */
signet_rc age_header_parse(const uint8_t *p, size_t len, age_header *h);
void age_header_free(age_header *h);
/* Appends "-> args...\n" and the body wrapped at 64 columns (ending with a line
 * shorter than 64, possibly empty). */
signet_rc age_stanza_write(sb_wr *hdr, const char *const *args, size_t nargs,
                           const uint8_t *body, size_t body_len);
/* HMAC-SHA256(HKDF(file key, "", "header"), p[0:n]). */
signet_rc age_header_mac(const uint8_t fk[AGE_FILE_KEY_LEN], const uint8_t *p, size_t n,
                         uint8_t mac[AGE_KEY_LEN]);

/* ---- recipient stanzas (stanza.c) ---- */
/* Appends the stanza wrapping fk for r to hdr. */
signet_rc age_stanza_wrap(const struct age_recipient *r, const uint8_t fk[AGE_FILE_KEY_LEN],
                          sb_wr *hdr);
/* Checks the stanzas of the types signet knows are well formed (arguments,
 * canonical base64, body length; an scrypt stanza alone). */
signet_rc age_stanzas_check(const age_header *h);
/* Tries to unwrap st with id.  SIGNET_OK with *matched true: fk holds the file
 * key; with *matched false: the stanza is for someone else.  SIGNET_E_AUTH: the
 * stanza names this identity but does not decrypt (the caller may still find
 * another stanza).  Anything else is a hard error (malformed stanza, all-zero
 * shared secret). */
signet_rc age_stanza_unwrap(const struct age_identity *id, const age_header *h,
                            const age_stanza *st, uint8_t fk[AGE_FILE_KEY_LEN], bool *matched);

/* ---- post-quantum hybrid (mlkem.c, pq.c): ML-KEM-768, X-Wing, HPKE ---- */
#define AGE_MLKEM_EK 1184
#define AGE_MLKEM_DK 2400
#define AGE_MLKEM_CT 1088
#define AGE_XWING_PK (AGE_MLKEM_EK + 32)
#define AGE_XWING_CT (AGE_MLKEM_CT + 32)
#define AGE_HPKE_KEM_XWING 0x647a

signet_rc age_sha3_256(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, uint8_t out[32]);
signet_rc age_shake256(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, uint8_t *out,
                       size_t outn);
/* ML-KEM-768 (FIPS 203): KeyGen_internal(d, z), Encaps_internal(ek, m), Decaps. */
signet_rc age_mlkem_keygen(const uint8_t d[32], const uint8_t z[32], uint8_t ek[AGE_MLKEM_EK],
                           uint8_t dk[AGE_MLKEM_DK]);
signet_rc age_mlkem_check_ek(const uint8_t ek[AGE_MLKEM_EK]);
signet_rc age_mlkem_encaps(const uint8_t ek[AGE_MLKEM_EK], const uint8_t m[32], uint8_t ss[32],
                           uint8_t c[AGE_MLKEM_CT]);
signet_rc age_mlkem_decaps(const uint8_t dk[AGE_MLKEM_DK], const uint8_t c[AGE_MLKEM_CT],
                           uint8_t ss[32]);
/* X-Wing from a 32-byte seed; encapsulation with a 64-byte eseed. */
signet_rc age_xwing_public(const uint8_t seed[32], uint8_t pk[AGE_XWING_PK]);
signet_rc age_xwing_encaps(const uint8_t pk[AGE_XWING_PK], const uint8_t eseed[64],
                           uint8_t ss[32], uint8_t ct[AGE_XWING_CT]);
signet_rc age_xwing_decaps(const uint8_t seed[32], const uint8_t ct[AGE_XWING_CT],
                           uint8_t ss[32]);
/* RFC 9180 KeySchedule, mode_base, HKDF-SHA256, ChaCha20-Poly1305, for kem_id. */
signet_rc age_hpke_key_schedule(uint16_t kem_id, const uint8_t shared[32], const uint8_t *info,
                                size_t info_len, uint8_t key[32], uint8_t base_nonce[12]);
signet_rc age_pq_wrap(const uint8_t pk[AGE_XWING_PK], const uint8_t fk[AGE_FILE_KEY_LEN],
                      sb_wr *hdr);
signet_rc age_pq_check(const age_stanza *st, size_t index);
signet_rc age_pq_unwrap(const uint8_t seed[32], const age_header *h, const age_stanza *st,
                        uint8_t fk[AGE_FILE_KEY_LEN], bool *matched);

/* ---- scrypt passphrase stanzas (scrypt.c) ---- */
#define AGE_SCRYPT_SALT_LEN 16
/* Checks scrypt stanza st (number index) of h: alone in the header, a 16-byte
 * canonical salt, a work factor 1..22 without leading zeros (to *wf when not
 * NULL), a 32-byte body.  SIGNET_E_PARSE otherwise. */
signet_rc age_scrypt_check(const age_header *h, const age_stanza *st, size_t index,
                           unsigned *wf);
/* Appends an scrypt stanza wrapping fk under the passphrase to hdr. */
signet_rc age_scrypt_wrap(const char *pass, size_t pass_len, unsigned wf,
                          const uint8_t fk[AGE_FILE_KEY_LEN], sb_wr *hdr);
/* Like age_stanza_unwrap, for a passphrase: *matched false for other stanza
 * types and for a passphrase that does not open it. */
signet_rc age_scrypt_unwrap(const char *pass, size_t pass_len, const age_header *h,
                            const age_stanza *st, uint8_t fk[AGE_FILE_KEY_LEN], bool *matched);

/* ---- buffered input (bufrd.c) ---- */
typedef struct {
    age_read_fn fn;
    void *ctx;
    uint8_t *buf;
    size_t cap, pos, len;
    bool eof;
} age_bufrd;

signet_rc age_bufrd_init(age_bufrd *r, age_read_fn fn, void *ctx, size_t cap);
void age_bufrd_free(age_bufrd *r);
/* Makes at least n bytes available unless the input ends first (n <= cap);
 * *avail says how many are. */
signet_rc age_bufrd_peek(age_bufrd *r, size_t n, const uint8_t **p, size_t *avail);
/* Appends one line including its '\n' to line; fails when the input ends
 * before a newline or the line exceeds max bytes. */
signet_rc age_bufrd_line(age_bufrd *r, size_t max, sb_wr *line);
/* The same, but the end of the input also ends a (non-empty) line, which then
 * has no '\n'. */
signet_rc age_bufrd_line_or_eof(age_bufrd *r, size_t max, sb_wr *line);
/* Reads up to n bytes, fewer only at the end of the input. */
signet_rc age_bufrd_read(age_bufrd *r, uint8_t *out, size_t n, size_t *got);
/* An age_read_fn reading from an age_bufrd. */
signet_rc age_bufrd_source(void *ctx, uint8_t *buf, size_t cap, size_t *got);

/* ---- ASCII armor (armor.c) ---- */
typedef struct {
    age_bufrd *raw;
    bool started, done;
    bool failed;         /* the armor itself was malformed (not the file inside) */
    uint8_t dec[AGE_LINE_BYTES];
    size_t dpos, dlen;
} age_armor_rd;

/* False when the input starts with "age-encryption.org/" (a binary file), else
 * true: the input is read as armor. */
signet_rc age_armor_detect(age_bufrd *raw, bool *armored);
void age_armor_rd_init(age_armor_rd *a, age_bufrd *raw);
signet_rc age_armor_read(void *ctx, uint8_t *buf, size_t cap, size_t *got); /* ctx: age_armor_rd */

typedef struct {
    age_write_fn fn;
    void *ctx;
    bool armor, started;
    uint8_t pend[AGE_LINE_BYTES];
    size_t npend;
} age_out;

void age_out_init(age_out *o, bool armor, age_write_fn fn, void *ctx);
signet_rc age_out_write(age_out *o, const uint8_t *p, size_t n);
signet_rc age_out_finish(age_out *o); /* final armor line and END line */

/* ---- payload (stream.c) ---- */
signet_rc age_payload_encrypt(const uint8_t fk[AGE_FILE_KEY_LEN], age_read_fn rd, void *rctx,
                              age_out *out);
/* Decrypts the chunks after the payload nonce (which the caller read with the
 * header, as age does). */
signet_rc age_payload_decrypt(const uint8_t fk[AGE_FILE_KEY_LEN],
                              const uint8_t nonce[AGE_NONCE_LEN], age_bufrd *in, age_write_fn wr,
                              void *wctx);
/* One chunk with an explicit counter and final flag (for building test files). */
signet_rc age_chunk_seal(const uint8_t key[AGE_KEY_LEN], uint64_t counter, bool last,
                         const uint8_t *pt, size_t n, uint8_t *ct);
signet_rc age_payload_key(const uint8_t fk[AGE_FILE_KEY_LEN], const uint8_t nonce[AGE_NONCE_LEN],
                          uint8_t key[AGE_KEY_LEN]);

#endif

/* Fuzzes age decryption with a fixed identity: armor detection and decoding,
 * header parsing, stanza checks and unwrapping, and the payload reader.  The
 * first byte picks the entry point so that the fuzzer also reaches the payload
 * reader with a known file key (it cannot forge a header MAC):
 *   0x00-0x7f  the whole input is an age file (binary or armored)
 *   0x80-0xbf  the rest is a header, parsed and checked; scrypt stanzas are
 *              unwrapped with a passphrase when their work factor is small (the
 *              parser refuses factors above 22, but 22 is still seconds of work)
 *   0xc0-0xff  the rest is a payload nonce and chunks for the file key
 *              "YELLOW SUBMARINE" */
#include <stdlib.h>
#include <string.h>

#include "age/age_internal.h"
#include "signet/age.h"

static const char IDENTITY[] =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
/* A post-quantum identity (seed 32 x 0x42), so mlkem768x25519 stanzas are opened. */
static const char PQ_IDENTITY[] =
    "AGE-SECRET-KEY-PQ-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ0HGUHW";

struct src {
    const uint8_t *p;
    size_t len, pos;
};

static signet_rc src_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct src *s = ctx;
    /* Short reads on purpose: the readers must not assume full buffers. */
    size_t k = s->len - s->pos;
    if (k > cap)
        k = cap;
    if (k > 777)
        k = 777;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    *got = k;
    return SIGNET_OK;
}

static signet_rc sink(void *ctx, const uint8_t *p, size_t n)
{
    (void)p;
    *(size_t *)ctx += n;
    return SIGNET_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static age_identities *ids;
    if (!ids && (age_identities_new(&ids) ||
                 age_identities_add_text(ids, IDENTITY, strlen(IDENTITY)) ||
                 age_identities_add_text(ids, PQ_IDENTITY, strlen(PQ_IDENTITY))))
        abort();
    if (size == 0)
        return 0;
    size_t written = 0;
    struct src s = {data + 1, size - 1, 0};
    if (data[0] < 0x80) {
        s.p = data;
        s.len = size;
        signet_rc rc = age_decrypt(ids, src_read, &s, sink, &written);
        if (rc != SIGNET_OK && rc != SIGNET_E_PARSE && rc != SIGNET_E_VERIFY &&
            rc != SIGNET_E_AUTH && rc != SIGNET_E_UNSUPPORTED)
            abort(); /* no other kind of failure can come from the input */
    } else if (data[0] < 0xc0) {
        age_header h;
        if (age_header_parse(s.p, s.len, &h) == SIGNET_OK) {
            if (age_stanzas_check(&h) == SIGNET_OK) {
                uint8_t fk[AGE_FILE_KEY_LEN];
                bool matched;
                for (size_t i = 0; i < h.n; i++) {
                    unsigned wf = 0;
                    (void)age_stanza_unwrap(&ids->v[0], &h, &h.st[i], fk, &matched);
                    (void)age_stanza_unwrap(&ids->v[1], &h, &h.st[i], fk, &matched);
                    if (age_stanza_arg_is(&h.st[i], 0, "scrypt") &&
                        age_scrypt_check(&h, &h.st[i], i, &wf) == SIGNET_OK && wf <= 6)
                        (void)age_scrypt_unwrap("password", 8, &h, &h.st[i], fk, &matched);
                }
            }
            age_header_free(&h);
        }
    } else {
        static const uint8_t fk[AGE_FILE_KEY_LEN] = "YELLOW SUBMARINE";
        uint8_t nonce[AGE_NONCE_LEN] = {0};
        size_t k = s.len < AGE_NONCE_LEN ? s.len : AGE_NONCE_LEN;
        memcpy(nonce, s.p, k);
        s.pos = k;
        age_bufrd in;
        if (age_bufrd_init(&in, src_read, &s, AGE_ENC_CHUNK + 4096) == SIGNET_OK) {
            (void)age_payload_decrypt(fk, nonce, &in, sink, &written);
            age_bufrd_free(&in);
        }
    }
    return 0;
}

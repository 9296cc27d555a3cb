/* age in memory: Bech32 and key vectors, the Ed25519 -> X25519 map, round trips
 * at chunk boundaries, and one test per rejection rule, each on a file crafted
 * to break exactly that rule (with a correct MAC unless the MAC is the point). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "age/age_internal.h"
#include "signet/age.h"
#include "signet/secmem.h"

/* The X25519 example of the C2SP age spec. */
static const char SPEC_IDENTITY[] =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
static const char SPEC_RECIPIENT[] = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

static age_identities *ids;      /* the spec identity */
static age_recipients *rcpt;     /* the spec recipient */
static const uint8_t FK[AGE_FILE_KEY_LEN] = "YELLOW SUBMARINE";

static int setup(void **state)
{
    if (age_identities_new(&ids) || age_identities_add_text(ids, SPEC_IDENTITY, strlen(SPEC_IDENTITY)))
        return -1;
    if (age_recipients_new(&rcpt) || age_recipients_add(rcpt, SPEC_RECIPIENT, strlen(SPEC_RECIPIENT)))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    age_identities_free(ids);
    age_recipients_free(rcpt);
    return 0;
}

/* ------------------------------------------------------------ crafting files */

/* intro, pre, our X25519 stanza for FK (when ours), post, "---", MAC, "\n". */
static void craft_header(sb_wr *f, const char *pre, bool ours, const char *post)
{
    size_t start = f->len;
    uint8_t mac[AGE_KEY_LEN];
    assert_int_equal(sbw_str(f, AGE_INTRO), 0);
    if (pre)
        assert_int_equal(sbw_str(f, pre), 0);
    if (ours)
        assert_int_equal(age_stanza_wrap(&rcpt->v[0], FK, f), 0);
    if (post)
        assert_int_equal(sbw_str(f, post), 0);
    assert_int_equal(sbw_str(f, "---"), 0);
    assert_int_equal(age_header_mac(FK, f->p + start, f->len - start, mac), 0);
    assert_int_equal(sbw_u8(f, ' '), 0);
    assert_int_equal(b64_encode(f, mac, sizeof mac, false), 0);
    assert_int_equal(sbw_u8(f, '\n'), 0);
}

struct chunk {
    size_t len;
    bool last;
};

static uint8_t pattern(size_t i) { return (uint8_t)(i * 131 + 7); }

/* The nonce, then chunks of pattern bytes with the given sizes and final flags. */
static void craft_payload(sb_wr *f, const struct chunk *c, size_t n)
{
    uint8_t nonce[AGE_NONCE_LEN] = {1, 2, 3}, key[AGE_KEY_LEN];
    static uint8_t pt[AGE_CHUNK], ct[AGE_ENC_CHUNK];
    assert_int_equal(sbw_put(f, nonce, sizeof nonce), 0);
    assert_int_equal(age_payload_key(FK, nonce, key), 0);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < c[i].len; j++)
            pt[j] = pattern(pos + j);
        pos += c[i].len;
        assert_int_equal(age_chunk_seal(key, i, c[i].last, pt, c[i].len, ct), 0);
        assert_int_equal(sbw_put(f, ct, c[i].len + AGE_TAG_LEN), 0);
    }
}

/* NUL after the contents, for the string functions (not counted in len). */
static void terminate(sb_wr *w)
{
    assert_int_equal(sbw_u8(w, 0), 0);
    w->len--;
}

static signet_rc decrypt(const sb_wr *f, sb_wr *out)
{
    sbw_reset(out);
    return age_decrypt_mem(ids, f->p, f->len, out);
}

/* Decryption fails with code rc and a message containing part; nothing output. */
static void expect_reject(const sb_wr *f, signet_rc rc, const char *part)
{
    sb_wr out;
    sbw_init_secure(&out, 1 << 22);
    signet_rc got = decrypt(f, &out);
    if (got != rc || !strstr(signet_errmsg(), part))
        fail_msg("expected %s containing '%s', got %s: %s", signet_rc_name(rc), part,
                 signet_rc_name(got), signet_errmsg());
    assert_int_equal(out.len, 0);
    sbw_free(&out);
}

static void expect_plain(const sb_wr *f, size_t len)
{
    sb_wr out;
    sbw_init_secure(&out, 1 << 22);
    if (decrypt(f, &out) != SIGNET_OK)
        fail_msg("decryption failed: %s", signet_errmsg());
    assert_int_equal(out.len, len);
    for (size_t i = 0; i < len; i++)
        if (out.p[i] != pattern(i))
            fail_msg("plaintext differs at %zu", i);
    sbw_free(&out);
}

/* A valid file with chunks c, as a base for breaking one thing. */
static void valid_file(sb_wr *f, const struct chunk *c, size_t n)
{
    sbw_init(f, 1 << 22);
    craft_header(f, NULL, true, NULL);
    craft_payload(f, c, n);
}

/* ------------------------------------------------------------ keys and vectors */

static void spec_key_vector(void **state)
{
    sb_wr w;
    sbw_init(&w, 256);
    assert_int_equal(age_identities_recipient(ids, 0, &w), 0);
    assert_int_equal(w.len, strlen(SPEC_RECIPIENT));
    assert_memory_equal(w.p, SPEC_RECIPIENT, w.len);
    sbw_free(&w);
    /* The spec identity is 32 bytes of 0x42 ("GFPYYSJZ..." repeats). */
    for (int i = 0; i < 32; i++)
        assert_int_equal(ids->v[0].secret[i], 0x42);
}

static void bech32_rules(void **state)
{
    char hrp[32];
    sb_wr w;
    sbw_init(&w, 128);
    /* Round trip in both cases; the checksum is over the lower-case form. */
    const uint8_t data[5] = {0, 1, 2, 0xfe, 0xff};
    assert_int_equal(bech32_encode(&w, "test", data, 5, true), 0);
    assert_memory_equal(w.p, "TEST1", 5);
    sb_wr d;
    sbw_init(&d, 64);
    assert_int_equal(bech32_decode((const char *)w.p, w.len, hrp, sizeof hrp, &d), 0);
    assert_string_equal(hrp, "test");
    assert_int_equal(d.len, 5);
    assert_memory_equal(d.p, data, 5);
    /* BIP 173 valid test strings. */
    sbw_reset(&d);
    const char *ok = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw";
    assert_int_equal(bech32_decode(ok, strlen(ok), hrp, sizeof hrp, &d), 0);
    assert_string_equal(hrp, "abcdef");
    sbw_reset(&d);
    const char *empty = "A12UEL5L";
    assert_int_equal(bech32_decode(empty, strlen(empty), hrp, sizeof hrp, &d), 0);
    assert_string_equal(hrp, "a");
    assert_int_equal(d.len, 0);
    /* Mixed case, bad checksum, bad character, no separator. */
    const char *bad[] = {"A12uEL5L", "a12uel5m", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxb",
                         "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwi",
                         "pzry9x0s0muk"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bech32_decode(bad[i], strlen(bad[i]), hrp, sizeof hrp, &d), SIGNET_E_PARSE);
    sbw_free(&w);
    sbw_free(&d);
}

static void recipient_parsing(void **state)
{
    age_recipients *r;
    assert_int_equal(age_recipients_new(&r), 0);
    assert_int_equal(age_recipients_add(r, SPEC_RECIPIENT, strlen(SPEC_RECIPIENT)), 0);
    /* An identity offered as a recipient gets a warning-worthy message. */
    assert_int_equal(age_recipients_add(r, SPEC_IDENTITY, strlen(SPEC_IDENTITY)), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "identity"));
    /* Bech32 may be all upper case (age accepts it too); mixed case is not Bech32. */
    const char *upper = "AGE1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZRYE869XEEXVN73EQUNUJWJ";
    assert_int_equal(age_recipients_add(r, upper, strlen(upper)), SIGNET_OK);
    assert_memory_equal(r->v[1].pub, r->v[0].pub, 32);
    const char *mixed = "age1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZRYE869XEEXVN73EQUNUJWJ";
    assert_int_equal(age_recipients_add(r, mixed, strlen(mixed)), SIGNET_E_PARSE);
    const char *rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ comment";
    assert_int_equal(age_recipients_add(r, rsa, strlen(rsa)), SIGNET_E_UNSUPPORTED);
    assert_non_null(strstr(signet_errmsg(), "ssh-ed25519"));
    /* A valid checksum over the wrong HRP. */
    sb_wr w;
    sbw_init(&w, 128);
    uint8_t k[32] = {9};
    assert_int_equal(bech32_encode(&w, "age1pq", k, 32, false), 0);
    assert_int_equal(age_recipients_add(r, (const char *)w.p, w.len), SIGNET_E_UNSUPPORTED);
    assert_non_null(strstr(signet_errmsg(), "not supported"));
    sbw_free(&w);
    assert_int_equal(age_recipients_count(r), 2);
    age_recipients_free(r);
}

static void ed25519_to_x25519(void **state)
{
    /* For random Ed25519 keys, the Montgomery form of the public key equals
     * X25519(SHA-512(seed)[0:32], basepoint): the map agrees with the secret side. */
    for (int i = 0; i < 20; i++) {
        uint8_t seed[32], ed[32], u[32], scalar[32], x[32];
        size_t n = 32;
        assert_int_equal(age_random(seed, 32), 0);
        EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, ed, &n), 1);
        EVP_PKEY_free(k);
        assert_int_equal(age_ed25519_to_x25519_public(ed, u), 0);
        assert_int_equal(age_ed25519_to_x25519_secret(seed, scalar), 0);
        assert_int_equal(age_x25519_base(scalar, x), 0);
        assert_memory_equal(u, x, 32);
    }
    uint8_t bad[32], u[32];
    memset(bad, 0xff, 32);
    bad[31] = 0x7f; /* y = 2^255 - 1 >= p: not canonical */
    assert_int_equal(age_ed25519_to_x25519_public(bad, u), SIGNET_E_PARSE);
    memset(bad, 0, 32);
    bad[0] = 1; /* y = 1: the identity point */
    assert_int_equal(age_ed25519_to_x25519_public(bad, u), SIGNET_E_PARSE);
    bad[0] = 2; /* y = 2 is not on the curve */
    assert_int_equal(age_ed25519_to_x25519_public(bad, u), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "not a point"));
}

/* ------------------------------------------------------------ round trips */

static void round_trip_sizes(void **state)
{
    static const size_t sizes[] = {0, 1, 48, 65535, 65536, 65537, 131072, 131073, 200000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int armor = 0; armor < 2; armor++) {
            size_t n = sizes[s];
            uint8_t *in = malloc(n + 1);
            for (size_t i = 0; i < n; i++)
                in[i] = pattern(i);
            sb_wr enc, dec;
            sbw_init(&enc, 1 << 22);
            sbw_init_secure(&dec, 1 << 22);
            assert_int_equal(age_encrypt_mem(rcpt, armor, in, n, &enc), 0);
            /* Size: header, nonce, each chunk + 16, at least one chunk. */
            size_t chunks = n == 0 ? 1 : (n + AGE_CHUNK - 1) / AGE_CHUNK;
            if (!armor) {
                const uint8_t *end = memmem(enc.p, enc.len, "\n--- ", 5);
                assert_non_null(end);
                size_t hdr = (size_t)(end - enc.p) + 5 + 43 + 1;
                assert_int_equal(enc.len, hdr + AGE_NONCE_LEN + n + chunks * AGE_TAG_LEN);
            } else {
                assert_memory_equal(enc.p, AGE_ARMOR_BEGIN, strlen(AGE_ARMOR_BEGIN));
            }
            assert_int_equal(age_decrypt_mem(ids, enc.p, enc.len, &dec), 0);
            assert_int_equal(dec.len, n);
            if (n)
                assert_memory_equal(dec.p, in, n);
            sbw_free(&enc);
            sbw_free(&dec);
            free(in);
        }
    }
}

static void crafted_valid_files_decrypt(void **state)
{
    /* The crafting helpers produce files signet accepts: so each rejection below
     * is caused by the one thing broken. */
    sb_wr f;
    struct chunk one[] = {{5, true}}, empty[] = {{0, true}},
                 two[] = {{AGE_CHUNK, false}, {1, true}}, full[] = {{AGE_CHUNK, true}};
    valid_file(&f, one, 1);
    expect_plain(&f, 5);
    sbw_free(&f);
    valid_file(&f, empty, 1);
    expect_plain(&f, 0);
    sbw_free(&f);
    valid_file(&f, two, 2);
    expect_plain(&f, AGE_CHUNK + 1);
    sbw_free(&f);
    valid_file(&f, full, 1);
    expect_plain(&f, AGE_CHUNK);
    sbw_free(&f);
    /* Unknown stanzas around ours are ignored, bodies of any length. */
    sbw_init(&f, 1 << 20);
    craft_header(&f, "-> example.com/enigma x y\nAAAA\n", true,
                 "-> other\n"
                 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n\n");
    craft_payload(&f, one, 1);
    expect_plain(&f, 5);
    sbw_free(&f);
}

/* ------------------------------------------------------------ rejections */

static void reject_bad_header_mac(void **state)
{
    struct chunk one[] = {{5, true}};
    sb_wr f;
    valid_file(&f, one, 1);
    uint8_t *mac = memmem(f.p, f.len, "\n--- ", 5);
    assert_non_null(mac);
    mac[5] = mac[5] == 'A' ? 'B' : 'A';
    expect_reject(&f, SIGNET_E_VERIFY, "header MAC");
    sbw_free(&f);

    /* A header changed after the MAC was made (a stanza appended). */
    sbw_init(&f, 1 << 20);
    craft_header(&f, NULL, true, NULL);
    uint8_t *dash = memmem(f.p, f.len, "---", 3);
    size_t at = (size_t)(dash - f.p);
    sb_wr g;
    sbw_init(&g, 1 << 20);
    assert_int_equal(sbw_put(&g, f.p, at), 0);
    assert_int_equal(sbw_str(&g, "-> extra\n\n"), 0);
    assert_int_equal(sbw_put(&g, f.p + at, f.len - at), 0);
    craft_payload(&g, one, 1);
    expect_reject(&g, SIGNET_E_VERIFY, "header MAC");
    sbw_free(&f);
    sbw_free(&g);
}

static void reject_wrong_identity(void **state)
{
    age_identities *other;
    sb_wr id, pub, enc, out;
    sbw_init_secure(&id, 128);
    sbw_init(&pub, 128);
    sbw_init(&enc, 4096);
    sbw_init_secure(&out, 4096);
    assert_int_equal(age_keygen(&id, &pub), 0);
    assert_int_equal(age_identities_new(&other), 0);
    assert_int_equal(age_identities_add_text(other, (const char *)id.p, id.len), 0);
    assert_int_equal(age_encrypt_mem(rcpt, false, (const uint8_t *)"hi", 2, &enc), 0);
    assert_int_equal(age_decrypt_mem(other, enc.p, enc.len, &out), SIGNET_E_AUTH);
    assert_non_null(strstr(signet_errmsg(), "encrypted to other keys"));
    assert_int_equal(out.len, 0);
    age_identities_free(other);
    sbw_free(&id);
    sbw_free(&pub);
    sbw_free(&enc);
    sbw_free(&out);
}

static void reject_truncated_payload(void **state)
{
    struct chunk two[] = {{AGE_CHUNK, false}, {100, true}};
    sb_wr f;
    valid_file(&f, two, 2);
    size_t full = f.len, last_chunk = 100 + AGE_TAG_LEN;
    /* Cut at the chunk boundary: what is left authenticates, but not as final. */
    f.len = full - last_chunk;
    expect_reject(&f, SIGNET_E_PARSE, "not marked final");
    /* Cut inside the last chunk, inside the first, inside the nonce, after the header. */
    f.len = full - 1;
    expect_reject(&f, SIGNET_E_VERIFY, "does not authenticate");
    f.len = full - last_chunk - 1000;
    expect_reject(&f, SIGNET_E_VERIFY, "does not authenticate");
    f.len = full - last_chunk - AGE_ENC_CHUNK + 10;
    expect_reject(&f, SIGNET_E_PARSE, "shorter than its authentication tag");
    f.len = full - last_chunk - AGE_ENC_CHUNK;
    expect_reject(&f, SIGNET_E_PARSE, "has no chunks");
    f.len = full - last_chunk - AGE_ENC_CHUNK - 3;
    expect_reject(&f, SIGNET_E_PARSE, "inside its payload nonce");
    f.len = full - last_chunk - AGE_ENC_CHUNK - AGE_NONCE_LEN;
    expect_reject(&f, SIGNET_E_PARSE, "after its header");
    sbw_free(&f);
}

static void reject_flipped_payload_byte(void **state)
{
    struct chunk two[] = {{AGE_CHUNK, false}, {100, true}};
    sb_wr f;
    valid_file(&f, two, 2);
    const size_t offsets[] = {f.len - 1, f.len - 50, f.len - 200, 200 + AGE_NONCE_LEN + 5000};
    for (size_t i = 0; i < 4; i++) {
        size_t at = offsets[i];
        f.p[at] ^= 0x20;
        expect_reject(&f, SIGNET_E_VERIFY, "does not authenticate");
        f.p[at] ^= 0x20;
    }
    expect_plain(&f, AGE_CHUNK + 100);
    /* A flipped payload nonce changes the payload key. */
    uint8_t *nonce = (uint8_t *)memmem(f.p, f.len, "\n--- ", 5) + 5 + 43 + 1;
    nonce[3] ^= 1;
    expect_reject(&f, SIGNET_E_VERIFY, "chunk 0 does not authenticate");
    sbw_free(&f);
}

static void reject_missing_final_flag(void **state)
{
    /* A short chunk is the final one: without the flag it does not authenticate. */
    struct chunk nofinal[] = {{5, false}};
    sb_wr f;
    valid_file(&f, nofinal, 1);
    expect_reject(&f, SIGNET_E_VERIFY, "chunk 0 does not authenticate");
    sbw_free(&f);
    struct chunk nofinal2[] = {{AGE_CHUNK, false}, {AGE_CHUNK, false}};
    valid_file(&f, nofinal2, 2);
    expect_reject(&f, SIGNET_E_PARSE, "after chunk 1, which is not marked final");
    sbw_free(&f);
}

static void reject_data_after_final_chunk(void **state)
{
    /* A full final chunk followed by another chunk. */
    struct chunk extra[] = {{AGE_CHUNK, true}, {10, true}};
    sb_wr f;
    valid_file(&f, extra, 2);
    expect_reject(&f, SIGNET_E_VERIFY, "data follows the final payload chunk");
    sbw_free(&f);
    /* A short final chunk followed by garbage: the chunk no longer authenticates. */
    struct chunk one[] = {{5, true}};
    valid_file(&f, one, 1);
    assert_int_equal(sbw_str(&f, "trailing"), 0);
    expect_reject(&f, SIGNET_E_VERIFY, "does not authenticate");
    sbw_free(&f);
    /* A full final chunk followed by one byte. */
    struct chunk full[] = {{AGE_CHUNK, true}};
    valid_file(&f, full, 1);
    assert_int_equal(sbw_u8(&f, 0), 0);
    expect_reject(&f, SIGNET_E_VERIFY, "data follows the final payload chunk");
    sbw_free(&f);
}

static void reject_empty_chunks(void **state)
{
    /* An empty final chunk after data. */
    struct chunk empty_last[] = {{AGE_CHUNK, false}, {0, true}};
    sb_wr f;
    valid_file(&f, empty_last, 2);
    expect_reject(&f, SIGNET_E_VERIFY, "final payload chunk is empty");
    sbw_free(&f);
    /* An empty non-final chunk, then data. */
    struct chunk empty_first[] = {{0, false}, {10, true}};
    valid_file(&f, empty_first, 2);
    expect_reject(&f, SIGNET_E_VERIFY, "does not authenticate");
    sbw_free(&f);
    /* An empty non-final chunk alone. */
    struct chunk empty_alone[] = {{0, false}};
    valid_file(&f, empty_alone, 1);
    expect_reject(&f, SIGNET_E_VERIFY, "chunk 0 does not authenticate");
    sbw_free(&f);
}

struct counting_sink {
    size_t n;
    bool pattern_ok;
};

static signet_rc count_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct counting_sink *c = ctx;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != pattern(c->n + i))
            c->pattern_ok = false;
    c->n += len;
    return SIGNET_OK;
}

struct mem_src {
    const uint8_t *p;
    size_t len, pos;
};

static signet_rc mem_read(void *ctx, uint8_t *buf, size_t cap, size_t *got)
{
    struct mem_src *m = ctx;
    *got = m->len - m->pos < cap ? m->len - m->pos : cap;
    memcpy(buf, m->p + m->pos, *got);
    m->pos += *got;
    return SIGNET_OK;
}

/* Streaming decryption of f releases exactly `released` bytes (the chunks that
 * authenticated, as age does), then fails with class cls (or succeeds). */
static void expect_stream(const sb_wr *f, size_t released, enum age_failure cls)
{
    struct mem_src src = {f->p, f->len, 0};
    struct counting_sink sink = {0, true};
    signet_rc rc = age_decrypt(ids, mem_read, &src, count_write, &sink);
    assert_int_equal(rc != SIGNET_OK, cls != AGE_FAIL_NONE);
    assert_int_equal(age_decrypt_failure(), cls);
    assert_true(sink.pattern_ok);
    if (sink.n != released)
        fail_msg("released %zu bytes, expected %zu (%s)", sink.n, released, signet_errmsg());
}

static void partial_output_is_what_authenticated(void **state)
{
    sb_wr f;
    /* Third chunk modified: the first two are released. */
    struct chunk three[] = {{AGE_CHUNK, false}, {AGE_CHUNK, false}, {7, true}};
    valid_file(&f, three, 3);
    expect_stream(&f, 2 * AGE_CHUNK + 7, AGE_FAIL_NONE);
    f.p[f.len - 3] ^= 1;
    expect_stream(&f, 2 * AGE_CHUNK, AGE_FAIL_PAYLOAD);
    /* Cut at a chunk boundary: both full chunks authenticated as middle chunks. */
    f.len -= 7 + AGE_TAG_LEN;
    expect_stream(&f, 2 * AGE_CHUNK, AGE_FAIL_PAYLOAD);
    sbw_free(&f);
    /* A full final chunk followed by data: the chunk is released, then failure. */
    struct chunk full[] = {{AGE_CHUNK, true}};
    valid_file(&f, full, 1);
    assert_int_equal(sbw_u8(&f, 0), 0);
    expect_stream(&f, AGE_CHUNK, AGE_FAIL_PAYLOAD);
    sbw_free(&f);
    /* A short final chunk followed by data: it no longer authenticates. */
    struct chunk two[] = {{AGE_CHUNK, false}, {5, true}};
    valid_file(&f, two, 2);
    assert_int_equal(sbw_str(&f, "xx"), 0);
    expect_stream(&f, AGE_CHUNK, AGE_FAIL_PAYLOAD);
    sbw_free(&f);
    /* Header classes. */
    valid_file(&f, full, 1);
    uint8_t *mac = (uint8_t *)memmem(f.p, f.len, "\n--- ", 5) + 5;
    mac[0] = mac[0] == 'A' ? 'B' : 'A';
    expect_stream(&f, 0, AGE_FAIL_HMAC);
    memcpy(f.p, "age-encryption.org/v2", 21);
    expect_stream(&f, 0, AGE_FAIL_HEADER);
    sbw_free(&f);
}

/* A header with our X25519 stanza rewritten by edit(), MAC recomputed. */
static void craft_with_stanza(sb_wr *f, const char *stanza)
{
    struct chunk one[] = {{5, true}};
    sbw_init(f, 1 << 22);
    craft_header(f, stanza, false, NULL);
    craft_payload(f, one, 1);
}

/* Our genuine stanza's text (arguments line and body line). */
static void our_stanza(char *buf, size_t cap)
{
    sb_wr w;
    sbw_init_fixed(&w, buf, cap - 1);
    assert_int_equal(age_stanza_wrap(&rcpt->v[0], FK, &w), 0);
    buf[w.len] = 0;
}

static void reject_noncanonical_base64(void **state)
{
    char st[256], bad[300];
    sb_wr f;
    our_stanza(st, sizeof st);
    craft_with_stanza(&f, st);
    expect_plain(&f, 5);
    sbw_free(&f);

    /* Body: 43 characters encode 32 bytes; the last carries 4 unused bits.  Setting
     * one gives the same bytes from a non-canonical text. */
    char *body = strchr(st, '\n') + 1;
    snprintf(bad, sizeof bad, "%s", st);
    char *last = bad + (body - st) + 42;
    const char *B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    int v = (int)(strchr(B64, *last) - B64);
    *last = B64[v ^ 1];
    craft_with_stanza(&f, bad);
    expect_reject(&f, SIGNET_E_PARSE, "not canonical");
    sbw_free(&f);
    /* The same in the share argument. */
    snprintf(bad, sizeof bad, "%s", st);
    last = bad + strlen("-> X25519 ") + 42;
    v = (int)(strchr(B64, *last) - B64);
    *last = B64[v ^ 1];
    craft_with_stanza(&f, bad);
    expect_reject(&f, SIGNET_E_PARSE, "X25519 stanza 1 is malformed");
    sbw_free(&f);
    /* Padding is not allowed in age's base64. */
    snprintf(bad, sizeof bad, "-> X25519 %.43s=\n%s", st + 10, body);
    craft_with_stanza(&f, bad);
    expect_reject(&f, SIGNET_E_PARSE, "malformed");
    sbw_free(&f);
    /* In an unknown stanza's body too: the header grammar is the same. */
    craft_with_stanza(&f, "-> unknown\nAB==\n");
    expect_reject(&f, SIGNET_E_PARSE, "bad stanza body");
    sbw_free(&f);
    craft_with_stanza(&f, "-> unknown\nAB\n");
    expect_reject(&f, SIGNET_E_PARSE, "not canonical");
    sbw_free(&f);
}

static void reject_long_body_line(void **state)
{
    sb_wr f;
    char line[200];
    memset(line, 'A', 65);
    snprintf(line + 65, sizeof line - 65, "\n\n");
    char st[256];
    snprintf(st, sizeof st, "-> unknown\n%s", line);
    craft_with_stanza(&f, st);
    expect_reject(&f, SIGNET_E_PARSE, "longer than 64 columns");
    sbw_free(&f);
    /* A full 64-column line must be followed by a final line before the next stanza. */
    memset(line, 'A', 64);
    snprintf(line + 64, sizeof line - 64, "\n");
    snprintf(st, sizeof st, "-> unknown\n%s", line);
    craft_with_stanza(&f, st);
    expect_reject(&f, SIGNET_E_PARSE, "no final body line");
    sbw_free(&f);
    /* A stanza with no body line at all. */
    craft_with_stanza(&f, "-> unknown\n");
    expect_reject(&f, SIGNET_E_PARSE, "no final body line");
    sbw_free(&f);
}

static void reject_unknown_stanza_only(void **state)
{
    sb_wr f;
    craft_with_stanza(&f, "-> example.com/enigma abc\nAAAA\n");
    expect_reject(&f, SIGNET_E_AUTH, "none of the 1 identities");
    sbw_free(&f);
    craft_with_stanza(&f, "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 18\n"
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    /* A well-formed passphrase stanza alone, and no passphrase given. */
    expect_reject(&f, SIGNET_E_AUTH, "give it with -p");
    sbw_free(&f);
}

static void reject_all_zero_shared_secret(void **state)
{
    /* Shares that are low-order points: u = 0 and u = 1 give an all-zero X25519. */
    static const char *shares[] = {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                                   "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (int i = 0; i < 2; i++) {
        char st[256];
        snprintf(st, sizeof st, "-> X25519 %s\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                 shares[i]);
        sb_wr f;
        craft_with_stanza(&f, st);
        expect_reject(&f, SIGNET_E_VERIFY, "low-order point");
        sbw_free(&f);
    }
    /* Encrypting to a low-order recipient is refused too. */
    age_recipients *r;
    sb_wr w, enc;
    sbw_init(&w, 128);
    sbw_init(&enc, 4096);
    uint8_t zero[32] = {0};
    assert_int_equal(bech32_encode(&w, "age", zero, 32, false), 0);
    assert_int_equal(age_recipients_new(&r), 0);
    assert_int_equal(age_recipients_add(r, (const char *)w.p, w.len), 0);
    assert_int_equal(age_encrypt_mem(r, false, (const uint8_t *)"x", 1, &enc), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "low-order"));
    age_recipients_free(r);
    sbw_free(&w);
    sbw_free(&enc);
}

static void reject_malformed_known_stanzas(void **state)
{
    char st[256], good[256];
    our_stanza(good, sizeof good);
    const char *body = strchr(good, '\n') + 1;
    sb_wr f;
    /* An extra argument. */
    snprintf(st, sizeof st, "-> X25519 %.43s 1234\n%s", good + 10, body);
    craft_with_stanza(&f, st);
    expect_reject(&f, SIGNET_E_PARSE, "X25519 stanza 1 is malformed");
    sbw_free(&f);
    /* A 33-byte body. */
    snprintf(st, sizeof st, "-> X25519 %.43s\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", good + 10);
    craft_with_stanza(&f, st);
    expect_reject(&f, SIGNET_E_PARSE, "X25519 stanza 1 is malformed");
    sbw_free(&f);
    /* ssh-ed25519 with a missing argument. */
    craft_with_stanza(&f, "-> ssh-ed25519 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
                          "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    expect_reject(&f, SIGNET_E_PARSE, "ssh-ed25519 stanza 1 is malformed");
    sbw_free(&f);
    /* Empty arguments, bad characters. */
    craft_with_stanza(&f, "-> a  b\nAAAA\n");
    expect_reject(&f, SIGNET_E_PARSE, "empty argument");
    sbw_free(&f);
    craft_with_stanza(&f, "-> \nAAAA\n");
    expect_reject(&f, SIGNET_E_PARSE, "no type");
    sbw_free(&f);
    craft_with_stanza(&f, "-> a\tb\nAAAA\n");
    expect_reject(&f, SIGNET_E_PARSE, "invalid character");
    sbw_free(&f);
}

static void reject_header_structure(void **state)
{
    sb_wr f;
    struct chunk one[] = {{5, true}};
    /* No stanzas at all. */
    sbw_init(&f, 4096);
    craft_header(&f, NULL, false, NULL);
    craft_payload(&f, one, 1);
    expect_reject(&f, SIGNET_E_PARSE, "no recipient stanzas");
    sbw_free(&f);
    /* Another version; CRLF line endings; not age at all. */
    sbw_init(&f, 4096);
    assert_int_equal(sbw_str(&f, "age-encryption.org/v2\n-> X\n\n--- AAAA\n"), 0);
    expect_reject(&f, SIGNET_E_UNSUPPORTED, "v1");
    sbw_reset(&f);
    assert_int_equal(sbw_str(&f, "age-encryption.org/v1\r\n-> X\r\n\r\n--- AAAA\r\n"), 0);
    expect_reject(&f, SIGNET_E_PARSE, "CRLF");
    sbw_reset(&f);
    assert_int_equal(sbw_str(&f, "\x89PNG\r\n"), 0);
    expect_reject(&f, SIGNET_E_PARSE, "not an age file");
    sbw_reset(&f);
    /* A line that is neither stanza nor MAC; a malformed MAC line. */
    assert_int_equal(sbw_str(&f, "age-encryption.org/v1\nhello\n--- AAAA\n"), 0);
    expect_reject(&f, SIGNET_E_PARSE, "neither a stanza");
    sbw_free(&f);
    char good[256];
    our_stanza(good, sizeof good);
    sbw_init(&f, 4096);
    assert_int_equal(sbw_str(&f, AGE_INTRO), 0);
    assert_int_equal(sbw_str(&f, good), 0);
    assert_int_equal(sbw_str(&f, "--- AAAA\n"), 0);
    expect_reject(&f, SIGNET_E_PARSE, "MAC line is malformed");
    sbw_free(&f);
    /* Truncated inside the header. */
    valid_file(&f, one, 1);
    f.len = strlen(AGE_INTRO) + 20;
    expect_reject(&f, SIGNET_E_PARSE, "truncated");
    sbw_free(&f);
}

static void reject_header_limits(void **state)
{
    sb_wr f;
    sbw_init(&f, 4 << 20);
    /* One argument line longer than the line limit. */
    assert_int_equal(sbw_str(&f, AGE_INTRO), 0);
    assert_int_equal(sbw_str(&f, "-> x "), 0);
    for (int i = 0; i < AGE_MAX_LINE; i++)
        assert_int_equal(sbw_u8(&f, 'a'), 0);
    assert_int_equal(sbw_str(&f, "\n\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"), 0);
    expect_reject(&f, SIGNET_E_PARSE, "longer than");
    sbw_reset(&f);
    /* A header over the total limit, made of many valid stanzas. */
    assert_int_equal(sbw_str(&f, AGE_INTRO), 0);
    while (f.len <= AGE_MAX_HEADER + 100)
        assert_int_equal(sbw_str(&f, "-> x aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nAAAA\n"), 0);
    assert_int_equal(sbw_str(&f, "--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"), 0);
    expect_reject(&f, SIGNET_E_PARSE, "larger than");
    sbw_free(&f);
}

/* A passphrase file (work factor 2, fast) whose stanza line is replaced by line
 * (when not NULL); the MAC is left alone: stanza checks come first. */
static void scrypt_file(sb_wr *f, const char *line)
{
    age_recipients *r;
    assert_int_equal(age_recipients_new(&r), 0);
    assert_int_equal(age_recipients_add_passphrase(r, "correct horse", 13, 2), 0);
    sbw_init(f, 1 << 16);
    assert_int_equal(age_encrypt_mem(r, false, (const uint8_t *)"hello", 5, f), 0);
    age_recipients_free(r);
    if (!line)
        return;
    uint8_t *a = memmem(f->p, f->len, "-> scrypt ", 10);
    uint8_t *b = memchr(a, '\n', f->len - (size_t)(a - f->p));
    sb_wr g;
    sbw_init(&g, 1 << 16);
    assert_int_equal(sbw_put(&g, f->p, (size_t)(a - f->p)), 0);
    assert_int_equal(sbw_str(&g, line), 0);
    assert_int_equal(sbw_put(&g, b, f->len - (size_t)(b - f->p)), 0);
    sbw_free(f);
    *f = g;
}

static signet_rc decrypt_pass(const sb_wr *f, const char *pass, sb_wr *out)
{
    age_identities *pids;
    assert_int_equal(age_identities_new(&pids), 0);
    assert_int_equal(age_identities_add_passphrase(pids, pass, strlen(pass)), 0);
    sbw_reset(out);
    signet_rc rc = age_decrypt_mem(pids, f->p, f->len, out);
    age_identities_free(pids);
    return rc;
}

static void scrypt_passphrases(void **state)
{
    sb_wr f, out;
    sbw_init_secure(&out, 1 << 16);
    scrypt_file(&f, NULL);
    assert_non_null(memmem(f.p, f.len, " 2\n", 3));
    assert_int_equal(decrypt_pass(&f, "correct horse", &out), 0);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.p, "hello", 5);
    /* A wrong passphrase, or X25519 identities only: no match. */
    assert_int_equal(decrypt_pass(&f, "wrong horse", &out), SIGNET_E_AUTH);
    assert_int_equal(age_decrypt_failure(), AGE_FAIL_NO_MATCH);
    assert_int_equal(decrypt(&f, &out), SIGNET_E_AUTH);
    assert_non_null(strstr(signet_errmsg(), "passphrase"));
    sbw_free(&f);
    /* Malformed stanzas: header failures before any scrypt work. */
    static const char *const bad[] = {
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 0",     /* work factor 0 */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 02",    /* leading zero */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 23",    /* above age's limit */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 100",   /* overflow */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA +2",    /* sign */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 0x2",   /* hex */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 2x",    /* trailing garbage */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA -2",    /* negative */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA",       /* no work factor */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA 2 2",   /* extra argument */
        "-> scrypt AAAAAAAAAAAAAAAA 2",           /* 12-byte salt */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAAAA 2",   /* 18-byte salt */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAB 2",     /* non-canonical salt */
        "-> scrypt AAAAAAAAAAAAAAAAAAAAAA== 2",   /* padded salt */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scrypt_file(&f, bad[i]);
        if (decrypt_pass(&f, "correct horse", &out) != SIGNET_E_PARSE ||
            age_decrypt_failure() != AGE_FAIL_HEADER)
            fail_msg("'%s' was not a header failure: %s", bad[i], signet_errmsg());
        assert_int_equal(out.len, 0);
        sbw_free(&f);
    }
    /* An scrypt stanza beside another one: a header failure, whoever decrypts. */
    scrypt_file(&f, NULL);
    uint8_t *mac = memmem(f.p, f.len, "\n---", 4);
    sb_wr g;
    sbw_init(&g, 1 << 16);
    assert_int_equal(sbw_put(&g, f.p, (size_t)(mac - f.p) + 1), 0);
    assert_int_equal(sbw_str(&g, "-> other\n\n"), 0);
    assert_int_equal(sbw_put(&g, mac + 1, f.len - (size_t)(mac + 1 - f.p)), 0);
    assert_int_equal(decrypt_pass(&g, "correct horse", &out), SIGNET_E_PARSE);
    assert_int_equal(age_decrypt_failure(), AGE_FAIL_HEADER);
    assert_non_null(strstr(signet_errmsg(), "alone"));
    assert_int_equal(decrypt(&g, &out), SIGNET_E_PARSE);
    sbw_free(&g);
    sbw_free(&f);
    /* Encryption: a passphrase is alone, not empty, at most work factor 22. */
    age_recipients *r;
    assert_int_equal(age_recipients_new(&r), 0);
    assert_int_equal(age_recipients_add_passphrase(r, "", 0, 2), SIGNET_E_ARG);
    assert_int_equal(age_recipients_add_passphrase(r, "x", 1, 23), SIGNET_E_ARG);
    assert_int_equal(age_recipients_add_passphrase(r, "x", 1, 2), 0);
    assert_int_equal(age_recipients_add_passphrase(r, "y", 1, 2), SIGNET_E_ARG);
    assert_int_equal(age_recipients_add(r, SPEC_RECIPIENT, strlen(SPEC_RECIPIENT)), 0);
    sbw_init(&f, 1 << 16);
    assert_int_equal(age_encrypt_mem(r, false, (const uint8_t *)"x", 1, &f), SIGNET_E_ARG);
    sbw_free(&f);
    age_recipients_free(r);
    sbw_free(&out);
}

static void armor_rules(void **state)
{
    sb_wr enc, f;
    sbw_init(&enc, 1 << 20);
    sbw_init(&f, 1 << 20);
    /* 100 bytes: the armored file has full lines, a short last line, END. */
    uint8_t data[100];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = pattern(i);
    assert_int_equal(age_encrypt_mem(rcpt, true, data, sizeof data, &enc), 0);
    expect_plain(&enc, 100);
    terminate(&enc);
    const char *text = (const char *)enc.p;
    const char *first = strchr(text, '\n') + 1;      /* first base64 line */
    const char *end = strstr(text, AGE_ARMOR_END);   /* END line */

    /* Accepted: whitespace around, CRLF line endings. */
    assert_int_equal(sbw_str(&f, " \n\t\n"), 0);
    for (const char *p = text; p < text + enc.len; p++) {
        if (*p == '\n')
            assert_int_equal(sbw_u8(&f, '\r'), 0);
        assert_int_equal(sbw_u8(&f, (uint8_t)*p), 0);
    }
    assert_int_equal(sbw_str(&f, "\n  \n"), 0);
    expect_plain(&f, 100);

#define MUTATE(desc, build, part)                                   \
    do {                                                            \
        sbw_reset(&f);                                              \
        build;                                                      \
        expect_reject(&f, SIGNET_E_PARSE, part);                    \
    } while (0)

    /* Data after END. */
    MUTATE("garbage", (sbw_put(&f, enc.p, enc.len), sbw_str(&f, "garbage\n")), "follows the armor");
    /* END missing (truncated). */
    MUTATE("no end", sbw_put(&f, text, (size_t)(end - text)), "truncated");
    /* A 65-column line: one character added to the first line. */
    MUTATE("long", (sbw_put(&f, text, (size_t)(first - text) + 64), sbw_u8(&f, 'A'),
                    sbw_put(&f, first + 64, enc.len - (size_t)(first + 64 - text))),
           "columns");
    /* A short line that is not the last: drop 4 characters of the first line. */
    MUTATE("short", (sbw_put(&f, text, (size_t)(first - text) + 60),
                     sbw_put(&f, first + 64, enc.len - (size_t)(first + 64 - text))),
           "shorter than 64 columns must be the last");
    /* A character outside base64. */
    MUTATE("char", (sbw_put(&f, enc.p, enc.len), f.p[first - text + 10] = '*'), "bad base64");
    /* Wrong BEGIN label: then it is no armor, and no age file either. */
    MUTATE("label", (sbw_str(&f, "-----BEGIN AGE ENCRYPTED FILE----\n"),
                     sbw_put(&f, first, enc.len - (size_t)(first - text))),
           "not an age file");
    /* Lines around END that are not END. */
    MUTATE("end", (sbw_put(&f, text, (size_t)(end - text)),
                   sbw_str(&f, "-----END AGE ENCRYPTED FILE----\n")),
           "END line");
    /* An empty line inside the armor. */
    MUTATE("blank", (sbw_put(&f, text, (size_t)(first - text)), sbw_str(&f, "\n"),
                     sbw_put(&f, first, enc.len - (size_t)(first - text))),
           "0 columns");
    sbw_free(&enc);

    /* Non-canonical bits before the padding of the last line: find a payload size
     * whose armor ends in padding, then flip an unused bit of the last character. */
    const char *B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t at = 0;
    for (size_t n = 1; n <= 3 && !at; n++) {
        sbw_init(&enc, 1 << 20);
        assert_int_equal(age_encrypt_mem(rcpt, true, data, n, &enc), 0);
        terminate(&enc);
        text = (const char *)enc.p;
        const char *eq = strchr(text, '=');
        if (eq)
            at = (size_t)(eq - 1 - text);
        else
            sbw_free(&enc);
    }
    assert_true(at > 0);
    int v = (int)(strchr(B64, text[at]) - B64);
    MUTATE("noncanon", (sbw_put(&f, enc.p, enc.len), f.p[at] = (uint8_t)B64[v ^ 1]), "bad base64");
#undef MUTATE
    sbw_free(&enc);
    sbw_free(&f);
}

static void identity_parsing(void **state)
{
    age_identities *x;
    assert_int_equal(age_identities_new(&x), 0);
    const char *text = "# created: today\n# public key: age1...\n\n"
                       "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX\r\n";
    assert_int_equal(age_identities_add_text(x, text, strlen(text)), 0);
    assert_int_equal(age_identities_count(x), 1);
    /* A damaged key: message names the line, never the key. */
    const char *bad = "# x\nAGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEY\n";
    assert_int_equal(age_identities_add_text(x, bad, strlen(bad)), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "line 2"));
    assert_null(strstr(signet_errmsg(), "GFPYYSJZ"));
    const char *junk = "hello\n";
    assert_int_equal(age_identities_add_text(x, junk, strlen(junk)), SIGNET_E_PARSE);
    assert_int_equal(age_identities_add_text(x, "# only\n", 7), SIGNET_E_ARG);
    const char *enc = "-----BEGIN AGE ENCRYPTED FILE-----\nAAAA\n";
    assert_int_equal(age_identities_add_text(x, enc, strlen(enc)), SIGNET_E_UNSUPPORTED);
    const char *ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    assert_int_equal(age_identities_add_text(x, ssh, strlen(ssh)), SIGNET_E_PARSE);
    assert_int_equal(age_identities_count(x), 1);
    age_identities_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_key_vector),
        cmocka_unit_test(bech32_rules),
        cmocka_unit_test(recipient_parsing),
        cmocka_unit_test(identity_parsing),
        cmocka_unit_test(ed25519_to_x25519),
        cmocka_unit_test(round_trip_sizes),
        cmocka_unit_test(crafted_valid_files_decrypt),
        cmocka_unit_test(reject_bad_header_mac),
        cmocka_unit_test(reject_wrong_identity),
        cmocka_unit_test(reject_truncated_payload),
        cmocka_unit_test(reject_flipped_payload_byte),
        cmocka_unit_test(reject_missing_final_flag),
        cmocka_unit_test(reject_data_after_final_chunk),
        cmocka_unit_test(reject_empty_chunks),
        cmocka_unit_test(partial_output_is_what_authenticated),
        cmocka_unit_test(reject_noncanonical_base64),
        cmocka_unit_test(reject_long_body_line),
        cmocka_unit_test(reject_unknown_stanza_only),
        cmocka_unit_test(reject_all_zero_shared_secret),
        cmocka_unit_test(reject_malformed_known_stanzas),
        cmocka_unit_test(reject_header_structure),
        cmocka_unit_test(reject_header_limits),
        cmocka_unit_test(armor_rules),
        cmocka_unit_test(scrypt_passphrases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

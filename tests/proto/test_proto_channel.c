/* The secure channel: known answers from Yubico's published values, the wire
 * format rebuilt independently from the rules, a host <-> device round trip of
 * several messages through both sides, and every way a frame can be rejected
 * (tampered MACs, replay, counter out of step, truncation, bad padding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/evp.h>

#include "signet/buf.h"
#include "signet/proto.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
    sb_wr w;
    sbw_init_fixed(&w, out, n);
    assert_int_equal(hex_decode(&w, s, strlen(s)), SIGNET_OK);
    assert_int_equal(w.len, n);
}

static const uint8_t HOST_CH[8] = {0, 1, 2, 3, 4, 5, 6, 7};
static const uint8_t CARD_CH[8] = {8, 9, 10, 11, 12, 13, 14, 15};
#define SID 5

/* Host and device channels of one session with the factory password. */
static void open_pair(yh_channel *host, yh_channel *dev)
{
    yh_static_keys k;
    assert_int_equal(yh_derive_password_keys("password", 8, &k), SIGNET_OK);
    assert_int_equal(yh_channel_derive(&k, HOST_CH, CARD_CH, SID, host), SIGNET_OK);
    assert_int_equal(yh_channel_derive(&k, HOST_CH, CARD_CH, SID, dev), SIGNET_OK);
}

static void cmac_rfc4493(void **state)
{
    uint8_t key[16], msg[16], want[16], got[16];
    unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
    unhex("bb1d6929e95937287fa37d129b756746", want, 16);
    assert_int_equal(yh_cmac(key, NULL, NULL, 0, got), SIGNET_OK);
    assert_memory_equal(got, want, 16);
    /* The same 16-byte message given whole and in three parts. */
    unhex("6bc1bee22e409f96e93d7e117393172a", msg, 16);
    unhex("070a16b46b4d4144f79bdd9dd04a287c", want, 16);
    const uint8_t *one[] = {msg};
    const size_t one_len[] = {16};
    assert_int_equal(yh_cmac(key, one, one_len, 1, got), SIGNET_OK);
    assert_memory_equal(got, want, 16);
    const uint8_t *three[] = {msg, msg + 5, msg + 5};
    const size_t three_len[] = {5, 0, 11};
    assert_int_equal(yh_cmac(key, three, three_len, 3, got), SIGNET_OK);
    assert_memory_equal(got, want, 16);
}

static void password_keys(void **state)
{
    yh_static_keys k;
    uint8_t enc[16], mac[16];
    unhex("090b47dbed595654901dee1cc655e420", enc, 16);
    unhex("592fd483f759e29909a04c4505d2ce0a", mac, 16);
    assert_int_equal(yh_derive_password_keys("password", 8, &k), SIGNET_OK);
    assert_memory_equal(k.enc, enc, 16);
    assert_memory_equal(k.mac, mac, 16);
    /* The length is what counts, not a NUL. */
    assert_int_equal(yh_derive_password_keys("passwordX", 8, &k), SIGNET_OK);
    assert_memory_equal(k.enc, enc, 16);
    assert_int_equal(yh_derive_password_keys("Password", 8, &k), SIGNET_OK);
    assert_memory_not_equal(k.enc, enc, 16);
}

static void session_keys_and_cryptograms(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    uint8_t want[16], crypt[8];
    unhex("6a7481280688c6e0acf6226085a33167", want, 16);
    assert_memory_equal(host.s_enc, want, 16);
    unhex("4387b8a1aef81f16782246452c6485c1", want, 16);
    assert_memory_equal(host.s_mac, want, 16);
    unhex("3a5b6bcce25badb45333b40160557a67", want, 16);
    assert_memory_equal(host.s_rmac, want, 16);
    static const uint8_t zero[16] = {0}, one[16] = {[15] = 1};
    assert_memory_equal(host.chain, zero, 16);
    assert_memory_equal(host.counter, one, 16);
    assert_int_equal(host.session_id, SID);

    unhex("0d89ea51bf1bf533", want, 8);
    assert_int_equal(yh_cryptogram(&host, 0, HOST_CH, CARD_CH, crypt), SIGNET_OK);
    assert_memory_equal(crypt, want, 8);
    unhex("b01410d72022ed0e", want, 8);
    assert_int_equal(yh_cryptogram(&host, 1, HOST_CH, CARD_CH, crypt), SIGNET_OK);
    assert_memory_equal(crypt, want, 8);
    assert_int_equal(yh_cryptogram(&host, 2, HOST_CH, CARD_CH, crypt), SIGNET_E_ARG);
}

static void authenticate_session(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    uint8_t hc[8], mac[16];
    assert_int_equal(yh_cryptogram(&host, 1, HOST_CH, CARD_CH, hc), SIGNET_OK);
    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    assert_int_equal(yh_channel_auth_frame(&host, hc, &w), SIGNET_OK);
    assert_int_equal(w.len, 3 + 17);
    assert_memory_equal(w.p, "\x04\x00\x11\x05", 4);
    assert_memory_equal(w.p + 4, hc, 8);
    /* C-MAC = CMAC(S-MAC, 16 zero bytes | 04 | 00 11 | sid | host cryptogram). */
    static const uint8_t zero[16] = {0};
    const uint8_t *parts[] = {zero, w.p};
    const size_t lens[] = {16, 12};
    assert_int_equal(yh_cmac(host.s_mac, parts, lens, 2, mac), SIGNET_OK);
    assert_memory_equal(w.p + 12, mac, 8);
    assert_memory_equal(host.chain, mac, 16);

    /* Tampered MAC, wrong sid, truncated: refused, device state untouched. */
    uint8_t bad[20];
    memcpy(bad, w.p, 20);
    bad[19] ^= 1;
    assert_int_equal(yh_channel_check_auth(&dev, bad, 20, HOST_CH, CARD_CH), SIGNET_E_VERIFY);
    assert_memory_equal(dev.chain, zero, 16);
    memcpy(bad, w.p, 20);
    bad[3] = 6;
    assert_int_equal(yh_channel_check_auth(&dev, bad, 20, HOST_CH, CARD_CH), SIGNET_E_STATE);
    assert_int_equal(yh_channel_check_auth(&dev, w.p, 19, HOST_CH, CARD_CH), SIGNET_E_PARSE);
    /* A host that used another password sends another cryptogram. */
    memcpy(bad, w.p, 20);
    bad[5] ^= 0x40;
    assert_int_equal(yh_channel_check_auth(&dev, bad, 20, HOST_CH, CARD_CH), SIGNET_E_AUTH);
    assert_memory_equal(dev.chain, zero, 16);

    assert_int_equal(yh_channel_check_auth(&dev, w.p, w.len, HOST_CH, CARD_CH), SIGNET_OK);
    assert_memory_equal(dev.chain, host.chain, 16);
    sbw_free(&w);
}

/* AES-128 helpers for rebuilding frames independently of the module. */
static void aes_ecb(const uint8_t key[16], const uint8_t in[16], uint8_t out[16])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, 16), 1);
    assert_int_equal(n, 16);
    EVP_CIPHER_CTX_free(c);
}

static void aes_cbc_enc(const uint8_t key[16], const uint8_t iv[16], const uint8_t *in,
                        uint8_t *out, size_t len)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n;
    assert_int_equal(EVP_EncryptInit_ex(c, EVP_aes_128_cbc(), NULL, key, iv), 1);
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_int_equal(EVP_EncryptUpdate(c, out, &n, in, (int)len), 1);
    assert_int_equal((size_t)n, len);
    EVP_CIPHER_CTX_free(c);
}

/* cmd | len | sid | CBC(S-ENC, IV(counter), padded) | CMAC(key, chain | ...)[0:8],
 * where padded is already a whole number of blocks (padding is the caller's). */
static size_t build_frame(const yh_channel *ch, uint8_t cmd, const uint8_t key[16],
                          const uint8_t *padded, size_t plen, uint8_t *frame, uint8_t mac[16])
{
    uint8_t iv[16];
    aes_ecb(ch->s_enc, ch->counter, iv);
    frame[0] = cmd;
    put_be16(frame + 1, (uint16_t)(1 + plen + 8));
    frame[3] = ch->session_id;
    aes_cbc_enc(ch->s_enc, iv, padded, frame + 4, plen);
    const uint8_t *parts[] = {ch->chain, frame};
    const size_t lens[] = {16, 4 + plen};
    assert_int_equal(yh_cmac(key, parts, lens, 2, mac), SIGNET_OK);
    memcpy(frame + 4 + plen, mac, 8);
    return 4 + plen + 8;
}

static void wire_format(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    memset(host.chain, 0xa5, 16); /* any chain: it must be what the MAC covers */
    yh_channel before = host;
    static const uint8_t inner[] = {0x01, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
    uint8_t padded[16] = {0}, frame[64], mac[16];
    memcpy(padded, inner, sizeof inner);
    padded[sizeof inner] = 0x80;
    size_t n = build_frame(&before, 0x05, before.s_mac, padded, 16, frame, mac);

    sb_wr w;
    sbw_init(&w, YH_MAX_FRAME);
    assert_int_equal(yh_channel_wrap_command(&host, inner, sizeof inner, &w), SIGNET_OK);
    assert_int_equal(w.len, n);
    assert_memory_equal(w.p, frame, n);
    assert_memory_equal(host.chain, mac, 16);              /* chain = full C-MAC */
    uint8_t cmac_full[16];
    memcpy(cmac_full, mac, 16);
    assert_memory_equal(host.counter, before.counter, 16); /* steps on the response */

    /* A response: R-MAC under S-RMAC over the new chain, same IV. */
    static const uint8_t rinner[] = {0x81, 0x00, 0x02, 'o', 'k'};
    memset(padded, 0, sizeof padded);
    memcpy(padded, rinner, sizeof rinner);
    padded[sizeof rinner] = 0x80;
    n = build_frame(&host, 0x85, host.s_rmac, padded, 16, frame, mac);
    sbw_reset(&w);
    assert_int_equal(yh_channel_unwrap_response(&host, frame, n, &w), SIGNET_OK);
    assert_int_equal(w.len, sizeof rinner);
    assert_memory_equal(w.p, rinner, sizeof rinner);
    assert_memory_equal(host.chain, cmac_full, 16); /* responses leave the chain */
    static const uint8_t two[16] = {[15] = 2};
    assert_memory_equal(host.counter, two, 16);
    sbw_free(&w);
}

/* One command/response exchange through both sides. */
static void exchange(yh_channel *host, yh_channel *dev, const uint8_t *cmd, size_t clen,
                     const uint8_t *rsp, size_t rlen)
{
    sb_wr f, in;
    sbw_init(&f, YH_MAX_FRAME);
    sbw_init_secure(&in, YH_MAX_FRAME);
    assert_int_equal(yh_channel_wrap_command(host, cmd, clen, &f), SIGNET_OK);
    assert_true(f.len <= YH_MAX_MSG);
    assert_int_equal(yh_channel_unwrap_command(dev, f.p, f.len, &in), SIGNET_OK);
    assert_int_equal(in.len, clen);
    if (clen)
        assert_memory_equal(in.p, cmd, clen);
    assert_memory_equal(dev->chain, host->chain, 16);
    sbw_reset(&f);
    sbw_reset(&in);
    assert_int_equal(yh_channel_wrap_response(dev, rsp, rlen, &f), SIGNET_OK);
    assert_int_equal(yh_channel_unwrap_response(host, f.p, f.len, &in), SIGNET_OK);
    assert_int_equal(in.len, rlen);
    if (rlen)
        assert_memory_equal(in.p, rsp, rlen);
    assert_memory_equal(dev->counter, host->counter, 16);
    assert_memory_equal(dev->chain, host->chain, 16);
    sbw_free(&f);
    sbw_free(&in);
}

static void round_trip(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    static uint8_t big[YH_MAX_SESSION_INNER + 1];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    static const size_t sizes[] = {0, 1, 15, 16, 17, 31, 32, 100, 2048,
                                   YH_MAX_SESSION_INNER - 1, YH_MAX_SESSION_INNER};
    unsigned steps = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t r = sizes[(i + 3) % (sizeof sizes / sizeof sizes[0])];
        exchange(&host, &dev, big, sizes[i], big + 1, r);
        steps++;
    }
    uint8_t want[16] = {0};
    want[15] = (uint8_t)(1 + steps);
    assert_memory_equal(host.counter, want, 16);

    /* One byte more than fits is refused on both sides, and nothing is written. */
    sb_wr w;
    sbw_init(&w, 2 * YH_MAX_FRAME);
    yh_channel saved = host;
    assert_int_equal(yh_channel_wrap_command(&host, big, YH_MAX_SESSION_INNER + 1, &w),
                     SIGNET_E_ARG);
    assert_int_equal(w.len, 0);
    assert_memory_equal(&saved, &host, sizeof host);
    assert_int_equal(yh_channel_wrap_response(&dev, big, YH_MAX_SESSION_INNER + 1, &w),
                     SIGNET_E_ARG);
    assert_int_equal(w.len, 0);
    sbw_free(&w);
}

static void counter_carries(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    memset(host.counter, 0, 16);
    memset(host.counter + 12, 0xff, 4);
    memcpy(dev.counter, host.counter, 16);
    exchange(&host, &dev, (const uint8_t *)"\x01\x00\x00", 3, (const uint8_t *)"\x81\x00\x00", 3);
    static const uint8_t want[16] = {[11] = 1};
    assert_memory_equal(host.counter, want, 16);
}

static void tampered_cmac(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    static const uint8_t cmd[] = {0x01, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                  14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
                                  29, 30, 31, 32};
    sb_wr f, in;
    sbw_init(&f, YH_MAX_FRAME);
    sbw_init(&in, YH_MAX_FRAME);
    assert_int_equal(yh_channel_wrap_command(&host, cmd, sizeof cmd, &f), SIGNET_OK);
    yh_channel saved = dev;
    /* Every single-bit flip after the header is caught: MAC, ciphertext, sid. */
    static const size_t where[] = {3, 4, 20, 36, 47, 51};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        assert_true(where[i] < f.len);
        f.p[where[i]] ^= 0x01;
        signet_rc rc = yh_channel_unwrap_command(&dev, f.p, f.len, &in);
        assert_true(rc == (where[i] == 3 ? SIGNET_E_STATE : SIGNET_E_VERIFY));
        assert_int_equal(in.len, 0);
        assert_memory_equal(&dev, &saved, sizeof dev);
        f.p[where[i]] ^= 0x01;
    }
    /* The original still goes through: the failures left no trace. */
    assert_int_equal(yh_channel_unwrap_command(&dev, f.p, f.len, &in), SIGNET_OK);
    assert_int_equal(in.len, sizeof cmd);
    sbw_free(&f);
    sbw_free(&in);
}

static void tampered_rmac(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    sb_wr f, in;
    sbw_init(&f, YH_MAX_FRAME);
    sbw_init(&in, YH_MAX_FRAME);
    assert_int_equal(yh_channel_wrap_command(&host, (const uint8_t *)"\x06\x00\x00", 3, &f), 0);
    assert_int_equal(yh_channel_unwrap_command(&dev, f.p, f.len, &in), SIGNET_OK);
    sbw_reset(&f);
    assert_int_equal(yh_channel_wrap_response(&dev, (const uint8_t *)"\x86\x00\x01\x02", 4, &f),
                     SIGNET_OK);
    /* Something already in out stays as it is. */
    sbw_reset(&in);
    assert_int_equal(sbw_str(&in, "keep"), SIGNET_OK);
    yh_channel saved = host;
    for (size_t i = 3; i < f.len; i++) {
        f.p[i] ^= 0x80;
        signet_rc rc = yh_channel_unwrap_response(&host, f.p, f.len, &in);
        assert_true(rc == (i == 3 ? SIGNET_E_STATE : SIGNET_E_VERIFY));
        assert_int_equal(in.len, 4);
        assert_memory_equal(in.p, "keep", 4);
        assert_memory_equal(&host, &saved, sizeof host);
        f.p[i] ^= 0x80;
    }
    /* A response MACed with S-MAC instead of S-RMAC is refused too. */
    uint8_t padded[16] = {0x86, 0x00, 0x01, 0x02, 0x80}, frame[64], mac[16];
    size_t n = build_frame(&host, 0x85, host.s_mac, padded, 16, frame, mac);
    assert_int_equal(yh_channel_unwrap_response(&host, frame, n, &in), SIGNET_E_VERIFY);
    /* And the real one is accepted, appended after "keep". */
    assert_int_equal(yh_channel_unwrap_response(&host, f.p, f.len, &in), SIGNET_OK);
    assert_int_equal(in.len, 8);
    assert_memory_equal(in.p, "keep\x86\x00\x01\x02", 8);
    sbw_free(&f);
    sbw_free(&in);
}

static void replay_and_counter(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    static const uint8_t cmd[] = {0x51, 0x00, 0x02, 0x00, 0x10};
    sb_wr f1, f2, in;
    sbw_init(&f1, YH_MAX_FRAME);
    sbw_init(&f2, YH_MAX_FRAME);
    sbw_init(&in, YH_MAX_FRAME);
    assert_int_equal(yh_channel_wrap_command(&host, cmd, sizeof cmd, &f1), SIGNET_OK);
    assert_int_equal(yh_channel_unwrap_command(&dev, f1.p, f1.len, &in), SIGNET_OK);
    assert_int_equal(yh_channel_wrap_response(&dev, cmd, 3, &f2), SIGNET_OK);
    /* The device replays nothing: the same command frame again fails (chain moved). */
    sbw_reset(&in);
    assert_int_equal(yh_channel_unwrap_command(&dev, f1.p, f1.len, &in), SIGNET_E_VERIFY);
    assert_int_equal(yh_channel_unwrap_response(&host, f2.p, f2.len, &in), SIGNET_OK);
    /* A replayed response is refused by the host: counter stepped, and its MAC
     * was made over the old chain... which has not moved for responses, so the
     * counter is what stops it: the IV differs and the padding breaks. */
    sbw_reset(&in);
    assert_int_equal(yh_channel_unwrap_response(&host, f2.p, f2.len, &in), SIGNET_E_VERIFY);
    assert_int_equal(in.len, 0);

    /* A device whose counter is out of step cannot read a one-block command. */
    sbw_reset(&f1);
    assert_int_equal(yh_channel_wrap_command(&host, cmd, sizeof cmd, &f1), SIGNET_OK);
    yh_channel off = dev;
    off.counter[15] ^= 0x01;
    assert_int_equal(yh_channel_unwrap_command(&off, f1.p, f1.len, &in), SIGNET_E_VERIFY);
    assert_int_equal(in.len, 0);
    sbw_free(&f1);
    sbw_free(&f2);
    sbw_free(&in);
}

static void truncated_frames(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    static uint8_t cmd[40];
    sb_wr f, in;
    sbw_init(&f, YH_MAX_FRAME);
    sbw_init(&in, YH_MAX_FRAME);
    assert_int_equal(yh_channel_wrap_command(&host, cmd, sizeof cmd, &f), SIGNET_OK);
    assert_int_equal(f.len, 4 + 48 + 8);
    uint8_t copy[64];
    /* Cut short with the length field unchanged: the frame does not parse. */
    for (size_t cut = 1; cut < f.len; cut += 7) {
        assert_int_equal(yh_channel_unwrap_command(&dev, f.p, f.len - cut, &in), SIGNET_E_PARSE);
        assert_int_equal(in.len, 0);
    }
    /* Cut with a matching length field: not whole blocks -> parse error;
     * whole blocks but a missing one -> the MAC fails. */
    memcpy(copy, f.p, f.len);
    put_be16(copy + 1, (uint16_t)(f.len - 3 - 5));
    assert_int_equal(yh_channel_unwrap_command(&dev, copy, f.len - 5, &in), SIGNET_E_PARSE);
    memcpy(copy, f.p, 4 + 32);
    memcpy(copy + 4 + 32, f.p + 4 + 48, 8);
    put_be16(copy + 1, 1 + 32 + 8);
    assert_int_equal(yh_channel_unwrap_command(&dev, copy, 4 + 32 + 8, &in), SIGNET_E_VERIFY);
    /* Too short to hold sid, a block and a MAC. */
    static const uint8_t tiny[] = {0x05, 0x00, 0x09, SID, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(yh_channel_unwrap_command(&dev, tiny, sizeof tiny, &in), SIGNET_E_PARSE);
    assert_int_equal(yh_channel_unwrap_command(&dev, NULL, 0, &in), SIGNET_E_PARSE);
    /* A session message must be a 05 frame (and a response an 85 frame). */
    memcpy(copy, f.p, f.len);
    copy[0] = 0x06;
    assert_int_equal(yh_channel_unwrap_command(&dev, copy, f.len, &in), SIGNET_E_PARSE);
    assert_int_equal(yh_channel_unwrap_response(&host, f.p, f.len, &in), SIGNET_E_PARSE);
    assert_int_equal(in.len, 0);
    /* After all that, the device still takes the real frame. */
    assert_int_equal(yh_channel_unwrap_command(&dev, f.p, f.len, &in), SIGNET_OK);
    assert_int_equal(in.len, sizeof cmd);
    sbw_free(&f);
    sbw_free(&in);
}

static void bad_padding(void **state)
{
    static const struct { size_t len; uint8_t fill[32]; } cases[] = {
        {16, {0}},                                      /* no 0x80 at all */
        {16, {1, 2, 3, [15] = 0x01}},                   /* ends in data */
        {16, {1, 2, 0x80, 0x00, 0x07}},                 /* 0x80 followed by non-zero */
        {32, {1, 2, 3, [15] = 0x80}},                   /* 0x80 then a whole zero block */
        {16, {0x80, [15] = 0x81}},                      /* 0x81 is not the marker */
    };
    sb_wr in;
    sbw_init(&in, YH_MAX_FRAME);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        yh_channel host, dev;
        open_pair(&host, &dev);
        uint8_t frame[64], mac[16];
        size_t n = build_frame(&host, 0x05, host.s_mac, cases[i].fill, cases[i].len, frame, mac);
        signet_rc rc = yh_channel_unwrap_command(&dev, frame, n, &in);
        assert_true(rc == SIGNET_E_VERIFY || rc == SIGNET_E_PARSE);
        assert_int_equal(in.len, 0);
        /* The same on the host side with an R-MAC. */
        n = build_frame(&host, 0x85, host.s_rmac, cases[i].fill, cases[i].len, frame, mac);
        rc = yh_channel_unwrap_response(&host, frame, n, &in);
        assert_true(rc == SIGNET_E_VERIFY || rc == SIGNET_E_PARSE);
        assert_int_equal(in.len, 0);
        static const uint8_t one[16] = {[15] = 1};
        assert_memory_equal(host.counter, one, 16);
    }
    /* Control: correct padding in the same construction is accepted. */
    yh_channel host, dev;
    open_pair(&host, &dev);
    uint8_t ok[16] = {1, 2, 3, 0x80}, frame[64], mac[16];
    size_t n = build_frame(&host, 0x05, host.s_mac, ok, 16, frame, mac);
    assert_int_equal(yh_channel_unwrap_command(&dev, frame, n, &in), SIGNET_OK);
    assert_int_equal(in.len, 3);
    assert_memory_equal(in.p, "\x01\x02\x03", 3);
    sbw_free(&in);
}

static void clear_error_frame(void **state)
{
    yh_channel host, dev;
    open_pair(&host, &dev);
    yh_channel saved = host;
    sb_wr in;
    sbw_init(&in, YH_MAX_FRAME);
    static const uint8_t err[] = {0x7f, 0x00, 0x01, 0x03};
    assert_int_equal(yh_channel_unwrap_response(&host, err, sizeof err, &in), SIGNET_E_DEVICE);
    assert_int_equal(signet_err_device(), YH_ERR_INVALID_SESSION);
    assert_non_null(strstr(signet_errmsg(), "invalid session"));
    assert_int_equal(in.len, 0);
    assert_memory_equal(&host, &saved, sizeof host);
    static const uint8_t full[] = {0x7f, 0x00, 0x01, 0x0a};
    assert_int_equal(yh_channel_unwrap_response(&host, full, sizeof full, &in), SIGNET_E_DEVICE);
    assert_non_null(strstr(signet_errmsg(), "signet audit drain"));
    /* A malformed error frame is a parse error, not a device answer. */
    static const uint8_t odd[] = {0x7f, 0x00, 0x02, 0x0a, 0x00};
    assert_int_equal(yh_channel_unwrap_response(&host, odd, sizeof odd, &in), SIGNET_E_PARSE);
    sbw_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cmac_rfc4493),       cmocka_unit_test(password_keys),
        cmocka_unit_test(session_keys_and_cryptograms),
        cmocka_unit_test(authenticate_session),
        cmocka_unit_test(wire_format),        cmocka_unit_test(round_trip),
        cmocka_unit_test(counter_carries),    cmocka_unit_test(tampered_cmac),
        cmocka_unit_test(tampered_rmac),      cmocka_unit_test(replay_and_counter),
        cmocka_unit_test(truncated_frames),   cmocka_unit_test(bad_padding),
        cmocka_unit_test(clear_error_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Signed notes (c2sp.org/signed-note) with Ed25519 keys, and their verifier keys. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "signet/audit.h"

#define NOTE_MAX 65536       /* a checkpoint note is a few hundred bytes */
#define NOTE_MAX_SIGS 64     /* the spec asks verifiers to accept at least 16 */
static const char EM_DASH_SP[] = "\xe2\x80\x94 "; /* U+2014 and a space */

uint32_t signet_note_key_id(const char *name, const uint8_t pub[32])
{
    uint8_t h[32];
    unsigned int n = 0;
    static const uint8_t sep[2] = {0x0a, 0x01};
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(ctx, name, strlen(name)) || !EVP_DigestUpdate(ctx, sep, 2) ||
        !EVP_DigestUpdate(ctx, pub, 32) || !EVP_DigestFinal_ex(ctx, h, &n))
        abort(); /* SHA-256 unavailable: nothing sensible to return */
    EVP_MD_CTX_free(ctx);
    return be32(h);
}

/* Key names: non-empty, printable ASCII without spaces or '+'. */
static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || n >= SIGNET_ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '+')
            return false;
    return true;
}

signet_rc signet_vkey_make(const char *name, const uint8_t pub[32], signet_vkey *out)
{
    if (!valid_name(name, strlen(name)))
        return signet_fail(SIGNET_E_ARG,
                           "'%s' cannot name a note key: use printable characters without "
                           "spaces or '+', e.g. example.org/audit", name);
    memset(out, 0, sizeof *out);
    memcpy(out->name, name, strlen(name) + 1);
    memcpy(out->pub, pub, 32);
    out->key_id = signet_note_key_id(name, pub);
    return SIGNET_OK;
}

signet_rc signet_vkey_parse(const char *s, size_t len, signet_vkey *out)
{
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
        len--;
    while (len && (*s == ' ' || *s == '\n')) {
        s++;
        len--;
    }
    const char *plus = memchr(s, '+', len);
    if (!plus || (size_t)(plus - s) + 10 > len || plus[9] != '+')
        return signet_fail(SIGNET_E_PARSE,
                           "a verifier key looks like name+8hexdigits+base64 (one line of log.vkey)");
    size_t nlen = (size_t)(plus - s);
    if (!valid_name(s, nlen))
        return signet_fail(SIGNET_E_PARSE, "the verifier key's name is empty or has invalid characters");
    uint8_t idb[4];
    sb_wr w;
    sbw_init_fixed(&w, idb, sizeof idb);
    if (hex_decode(&w, plus + 1, 8) != SIGNET_OK || w.len != 4)
        return signet_fail(SIGNET_E_PARSE, "the verifier key's id is not 8 hex digits");
    uint8_t key[33];
    sbw_init_fixed(&w, key, sizeof key);
    const char *b = plus + 10;
    size_t blen = len - nlen - 10;
    if (b64_decode(&w, b, blen, true) != SIGNET_OK || w.len != 33)
        return signet_wrap(SIGNET_E_PARSE, "the verifier key's public key is not base64 of 33 bytes");
    if (key[0] != 0x01)
        return signet_fail(SIGNET_E_UNSUPPORTED,
                           "verifier key of type 0x%02x: signet only verifies Ed25519 (type 0x01)", key[0]);
    memset(out, 0, sizeof *out);
    memcpy(out->name, s, nlen);
    memcpy(out->pub, key + 1, 32);
    out->key_id = signet_note_key_id(out->name, out->pub);
    if (out->key_id != be32(idb))
        return signet_fail(SIGNET_E_VERIFY,
                           "the verifier key's id %08x does not match its name and public key "
                           "(expected %08x): the key line was altered", be32(idb), out->key_id);
    return SIGNET_OK;
}

signet_rc signet_vkey_format(const signet_vkey *k, sb_wr *out)
{
    uint8_t key[33] = {0x01};
    memcpy(key + 1, k->pub, 32);
    signet_rc rc = sbw_printf(out, "%s+%08x+", k->name, k->key_id);
    return rc ? rc : b64_encode(out, key, sizeof key, true);
}

signet_rc signet_vkey_load(const char *path, signet_vkey *out)
{
    FILE *f = fopen(path, "r");
    if (!f && errno == ENOMEM)
        return signet_fail(SIGNET_E_NOMEM, "out of memory opening %s", path);
    if (!f)
        return signet_fail(SIGNET_E_NOTFOUND,
                           "cannot open the verifier key %s: create it with `signet audit init` or "
                           "pass the published key with --vkey", path);
    char line[512];
    size_t n = fread(line, 1, sizeof line - 1, f);
    bool more = fgetc(f) != EOF;
    fclose(f);
    if (more)
        return signet_fail(SIGNET_E_PARSE, "%s is longer than one verifier key line", path);
    line[n] = 0;
    signet_rc rc = signet_vkey_parse(line, n, out);
    return rc ? signet_wrap(rc, "%s", path) : SIGNET_OK;
}

static signet_rc ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t len,
                                const uint8_t sig[64])
{
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = pk && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pk) == 1 &&
             EVP_DigestVerify(ctx, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return ok ? SIGNET_OK : SIGNET_E_VERIFY;
}

/* Valid UTF-8 without control characters other than newline (the note rules). */
static bool note_chars_ok(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if (c < 0x20 && c != '\n')
                return false;
            if (c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t need = c >= 0xf5 ? 0 : c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : 0;
        if (need == 0 || i + need >= n)
            return false;
        for (size_t k = 1; k <= need; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        /* Reject overlong forms and surrogates. */
        if (need == 2 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
            return false;
        if (need == 3 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)))
            return false;
        i += need + 1;
    }
    return true;
}

signet_rc signet_note_sign(const char *text, size_t len, const char *name, uint32_t key_id,
                           signet_sign_fn fn, void *ctx, sb_wr *out)
{
    if (len == 0 || text[len - 1] != '\n' || !note_chars_ok((const uint8_t *)text, len))
        return signet_fail(SIGNET_E_ARG, "a note's text must be non-empty UTF-8 ending in a newline");
    if (!valid_name(name, strlen(name)))
        return signet_fail(SIGNET_E_ARG, "'%s' cannot name a note key", name);
    uint8_t blob[4 + 64];
    put_be32(blob, key_id);
    signet_rc rc = fn(ctx, (const uint8_t *)text, len, blob + 4);
    if (rc)
        return signet_wrap(rc, "signing the note");
    if ((rc = sbw_put(out, text, len)) || (rc = sbw_printf(out, "\n%s%s ", EM_DASH_SP, name)) ||
        (rc = b64_encode(out, blob, sizeof blob, true)) || (rc = sbw_u8(out, '\n')))
        return rc;
    return SIGNET_OK;
}

signet_rc signet_note_open(const char *note, size_t len, const signet_vkey *k, size_t *text_len)
{
    const uint8_t *p = (const uint8_t *)note;
    if (len > NOTE_MAX)
        return signet_fail(SIGNET_E_PARSE, "note of %zu bytes is larger than %d", len, NOTE_MAX);
    if (len < 2 || p[len - 1] != '\n' || !note_chars_ok(p, len))
        return signet_fail(SIGNET_E_PARSE,
                           "not a signed note: it must be UTF-8 without control characters and end "
                           "in a newline");
    /* The text ends at the last blank line. */
    size_t blank = 0;
    bool found = false;
    for (size_t i = len - 1; i > 0; i--)
        if (p[i - 1] == '\n' && p[i] == '\n') {
            blank = i;
            found = true;
            break;
        }
    if (!found)
        return signet_fail(SIGNET_E_PARSE, "not a signed note: no blank line before the signatures");
    size_t tlen = blank; /* includes the text's final newline */
    size_t pos = blank + 1, nsigs = 0;
    bool matched = false;
    while (pos < len) {
        const uint8_t *eol = memchr(p + pos, '\n', len - pos);
        size_t l = (size_t)(eol - (p + pos));
        const char *line = note + pos;
        pos += l + 1;
        if (++nsigs > NOTE_MAX_SIGS)
            return signet_fail(SIGNET_E_PARSE, "note has more than %d signatures", NOTE_MAX_SIGS);
        if (l < 4 || memcmp(line, EM_DASH_SP, 4) != 0)
            return signet_fail(SIGNET_E_PARSE,
                               "note signature line %zu does not start with an em dash and a space", nsigs);
        const char *name = line + 4;
        const char *sp = memchr(name, ' ', l - 4);
        if (!sp || !valid_name(name, (size_t)(sp - name)))
            return signet_fail(SIGNET_E_PARSE, "note signature line %zu has no valid key name", nsigs);
        size_t nlen = (size_t)(sp - name);
        uint8_t blob[4 + 5000];
        sb_wr w;
        sbw_init_fixed(&w, blob, sizeof blob);
        if (b64_decode(&w, sp + 1, l - 4 - nlen - 1, true) != SIGNET_OK || w.len < 5)
            return signet_fail(SIGNET_E_PARSE, "note signature line %zu is not base64 of a key id and "
                               "signature", nsigs);
        /* Unknown keys are ignored: only a line with both our name and id counts. */
        if (nlen != strlen(k->name) || memcmp(name, k->name, nlen) != 0 || be32(blob) != k->key_id)
            continue;
        if (w.len != 4 + 64 || ed25519_verify(k->pub, p, tlen, blob + 4) != SIGNET_OK)
            return signet_fail(SIGNET_E_VERIFY,
                               "the note's signature by %s+%08x does not verify: the note was "
                               "altered or signed by another key", k->name, k->key_id);
        matched = true;
    }
    if (!matched)
        return signet_fail(SIGNET_E_VERIFY, "the note carries no signature by the key %s+%08x",
                           k->name, k->key_id);
    if (text_len)
        *text_len = tlen;
    return SIGNET_OK;
}

/* Checkpoints (c2sp.org/tlog-checkpoint) and proof receipts (c2sp.org/tlog-proof@v1). */
#include <stdlib.h>
#include <string.h>

#include "signet/audit.h"

#define RECEIPT_MAX 65536
#define RECEIPT_MAX_HASHES 64  /* a tree of 2^64 leaves needs at most 64 */
static const char PROOF_HEADER[] = "c2sp.org/tlog-proof@v1";

signet_rc signet_checkpoint_format(const signet_checkpoint *c, sb_wr *text)
{
    signet_rc rc = sbw_printf(text, "%s\n%llu\n", c->origin, (unsigned long long)c->size);
    if (rc == SIGNET_OK)
        rc = b64_encode(text, c->root, SIGNET_HASH_LEN, true);
    return rc ? rc : sbw_u8(text, '\n');
}

/* Canonical decimal: digits only, no leading zero unless "0", fits 64 bits. */
static signet_rc parse_u64(const char *s, size_t n, uint64_t *out, const char *what)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return signet_fail(SIGNET_E_PARSE, "%s is not a canonical decimal number", what);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return signet_fail(SIGNET_E_PARSE, "%s is not a decimal number", what);
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return signet_fail(SIGNET_E_PARSE, "%s does not fit 64 bits", what);
        v = v * 10 + d;
    }
    *out = v;
    return SIGNET_OK;
}

signet_rc signet_checkpoint_parse(const char *text, size_t len, signet_checkpoint *out)
{
    const char *line[3];
    size_t llen[3];
    size_t pos = 0;
    for (int i = 0; i < 3; i++) {
        const char *eol = pos < len ? memchr(text + pos, '\n', len - pos) : NULL;
        if (!eol)
            return signet_fail(SIGNET_E_PARSE, "checkpoint text has fewer than three lines");
        line[i] = text + pos;
        llen[i] = (size_t)(eol - line[i]);
        pos += llen[i] + 1;
    }
    if (pos != len)
        return signet_fail(SIGNET_E_PARSE,
                           "checkpoint has extension lines, which signet's log never writes");
    if (llen[0] == 0 || llen[0] >= SIGNET_ORIGIN_MAX || memchr(line[0], 0, llen[0]))
        return signet_fail(SIGNET_E_PARSE, "checkpoint origin is empty or longer than %d bytes",
                           SIGNET_ORIGIN_MAX - 1);
    memset(out, 0, sizeof *out);
    memcpy(out->origin, line[0], llen[0]);
    signet_rc rc = parse_u64(line[1], llen[1], &out->size, "checkpoint tree size");
    if (rc)
        return rc;
    sb_wr w;
    sbw_init_fixed(&w, out->root, SIGNET_HASH_LEN);
    if (b64_decode(&w, line[2], llen[2], true) != SIGNET_OK || w.len != SIGNET_HASH_LEN)
        return signet_fail(SIGNET_E_PARSE, "checkpoint root hash is not base64 of 32 bytes");
    return SIGNET_OK;
}

signet_rc signet_checkpoint_open(const char *note, size_t len, const signet_vkey *k,
                                 signet_checkpoint *out)
{
    size_t tlen;
    signet_rc rc = signet_note_open(note, len, k, &tlen);
    if (rc == SIGNET_OK)
        rc = signet_checkpoint_parse(note, tlen, out);
    if (rc == SIGNET_OK && strcmp(out->origin, k->name) != 0)
        return signet_fail(SIGNET_E_VERIFY, "checkpoint of log '%s' is signed by the key of '%s'",
                           out->origin, k->name);
    return rc;
}

signet_rc signet_receipt_format(const signet_receipt *r, sb_wr *out)
{
    signet_rc rc = sbw_printf(out, "%s\n", PROOF_HEADER);
    if (rc == SIGNET_OK && r->extra_len) {
        if ((rc = sbw_str(out, "extra ")) == SIGNET_OK &&
            (rc = b64_encode(out, r->extra, r->extra_len, true)) == SIGNET_OK)
            rc = sbw_u8(out, '\n');
    }
    if (rc == SIGNET_OK)
        rc = sbw_printf(out, "index %llu\n", (unsigned long long)r->index);
    for (size_t i = 0; rc == SIGNET_OK && i < r->n_hashes; i++) {
        if ((rc = b64_encode(out, r->proof + i * SIGNET_HASH_LEN, SIGNET_HASH_LEN, true)) == SIGNET_OK)
            rc = sbw_u8(out, '\n');
    }
    if (rc == SIGNET_OK)
        rc = sbw_u8(out, '\n');
    return rc ? rc : sbw_put(out, r->checkpoint, r->checkpoint_len);
}

void signet_receipt_free(signet_receipt *r)
{
    free(r->extra);
    free(r->proof);
    free(r->checkpoint);
    memset(r, 0, sizeof *r);
}

/* Next line of s (without its newline); false at the end or on a line without one. */
static bool next_line(const char *s, size_t len, size_t *pos, const char **line, size_t *llen)
{
    if (*pos >= len)
        return false;
    const char *eol = memchr(s + *pos, '\n', len - *pos);
    if (!eol)
        return false;
    *line = s + *pos;
    *llen = (size_t)(eol - *line);
    *pos += *llen + 1;
    return true;
}

static signet_rc receipt_parse(const char *s, size_t len, signet_receipt *r)
{
    if (len > RECEIPT_MAX)
        return signet_fail(SIGNET_E_PARSE, "receipt of %zu bytes is larger than %d", len, RECEIPT_MAX);
    size_t pos = 0, ll;
    const char *l;
    if (!next_line(s, len, &pos, &l, &ll) || ll != strlen(PROOF_HEADER) ||
        memcmp(l, PROOF_HEADER, ll) != 0)
        return signet_fail(SIGNET_E_PARSE, "not a proof receipt: the first line must be %s", PROOF_HEADER);
    if (!next_line(s, len, &pos, &l, &ll))
        return signet_fail(SIGNET_E_PARSE, "receipt ends after its first line");
    if (ll > 6 && memcmp(l, "extra ", 6) == 0) {
        sb_wr w;
        sbw_init(&w, RECEIPT_MAX);
        if (b64_decode(&w, l + 6, ll - 6, true) != SIGNET_OK || w.len == 0) {
            sbw_free(&w);
            return signet_fail(SIGNET_E_PARSE, "the receipt's extra line is not base64");
        }
        r->extra = w.p;
        r->extra_len = w.len;
        if (!next_line(s, len, &pos, &l, &ll))
            return signet_fail(SIGNET_E_PARSE, "receipt ends before its index line");
    }
    if (ll < 7 || memcmp(l, "index ", 6) != 0)
        return signet_fail(SIGNET_E_PARSE, "receipt has no 'index N' line");
    signet_rc rc = parse_u64(l + 6, ll - 6, &r->index, "receipt index");
    if (rc)
        return rc;
    r->proof = malloc(RECEIPT_MAX_HASHES * SIGNET_HASH_LEN);
    if (!r->proof)
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading a receipt");
    for (;;) {
        if (!next_line(s, len, &pos, &l, &ll))
            return signet_fail(SIGNET_E_PARSE, "receipt has no blank line before its checkpoint");
        if (ll == 0)
            break;
        if (r->n_hashes == RECEIPT_MAX_HASHES)
            return signet_fail(SIGNET_E_PARSE, "receipt has more than %d proof hashes", RECEIPT_MAX_HASHES);
        sb_wr w;
        sbw_init_fixed(&w, r->proof + r->n_hashes * SIGNET_HASH_LEN, SIGNET_HASH_LEN);
        if (b64_decode(&w, l, ll, true) != SIGNET_OK || w.len != SIGNET_HASH_LEN)
            return signet_fail(SIGNET_E_PARSE, "receipt proof line %zu is not base64 of 32 bytes",
                               r->n_hashes + 1);
        r->n_hashes++;
    }
    if (pos >= len)
        return signet_fail(SIGNET_E_PARSE, "receipt has no checkpoint after the blank line");
    r->checkpoint_len = len - pos;
    r->checkpoint = malloc(r->checkpoint_len + 1);
    if (!r->checkpoint)
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading a receipt");
    memcpy(r->checkpoint, s + pos, r->checkpoint_len);
    r->checkpoint[r->checkpoint_len] = 0;
    return SIGNET_OK;
}

signet_rc signet_receipt_parse(const char *s, size_t len, signet_receipt *out)
{
    memset(out, 0, sizeof *out);
    signet_rc rc = receipt_parse(s, len, out);
    if (rc)
        signet_receipt_free(out);
    return rc;
}

signet_rc signet_receipt_verify(const signet_receipt *r, const signet_vkey *k, signet_checkpoint *cp)
{
    signet_checkpoint c;
    signet_rc rc = signet_checkpoint_open(r->checkpoint, r->checkpoint_len, k, &c);
    if (rc)
        return signet_wrap(rc, "the receipt's checkpoint");
    if (!r->extra_len)
        return signet_fail(SIGNET_E_VERIFY,
                           "the receipt carries no leaf (no extra line), so nothing can be proven");
    uint8_t leaf[SIGNET_HASH_LEN];
    merkle_leaf_hash(r->extra, r->extra_len, leaf);
    rc = merkle_verify_inclusion(r->index, c.size, leaf, r->proof, r->n_hashes, c.root);
    if (rc)
        return signet_fail(SIGNET_E_VERIFY,
                           "the record is not included at index %llu of the signed tree of %llu "
                           "leaves: the receipt was altered",
                           (unsigned long long)r->index, (unsigned long long)c.size);
    if (cp)
        *cp = c;
    return SIGNET_OK;
}

/* The X25519 (C2SP age) and ssh-ed25519 (age's agessh) recipient stanzas:
 * wrapping the file key for a recipient and unwrapping it with an identity. */
#include <string.h>

#include <openssl/crypto.h>

#include "age_internal.h"
#include "signet/secmem.h"

static const char X25519_LABEL[] = "age-encryption.org/v1/X25519";
static const char SSH_LABEL[] = "age-encryption.org/v1/ssh-ed25519";
static const uint8_t ZERO_NONCE[12];

/* Argument i as canonical unpadded base64 of exactly n bytes: true and out set,
 * or false. */
static bool arg_bytes(const age_stanza *st, size_t i, uint8_t *out, size_t n)
{
    const char *p;
    size_t len;
    uint8_t mem[40];
    sb_wr w;
    if (i >= st->nargs || n > 32)
        return false;
    age_stanza_arg(st, i, &p, &len);
    sbw_init_fixed(&w, mem, sizeof mem);
    if (len != (n * 4 + 2) / 3 || b64_decode(&w, p, len, false) || w.len != n)
        return false;
    memcpy(out, mem, n);
    return true;
}

/* The 4-byte tag of an SSH key, as the stanza carries it (6 base64 characters). */
static signet_rc ssh_tag(const uint8_t *blob, size_t len, char tag[8])
{
    uint8_t h[32];
    sb_wr w;
    signet_rc rc = age_sha256(blob, len, h);
    sbw_init_fixed(&w, tag, 7);
    if (!rc)
        rc = b64_encode(&w, h, 4, false);
    tag[w.len] = 0;
    return rc;
}

signet_rc age_stanzas_check(const age_header *h)
{
    for (size_t i = 0; i < h->n; i++) {
        const age_stanza *st = &h->st[i];
        uint8_t tmp[32];
        if (age_stanza_arg_is(st, 0, "X25519")) {
            if (st->nargs != 2 || !arg_bytes(st, 1, tmp, 32) || st->body_len != 32)
                return signet_fail(SIGNET_E_PARSE,
                                   "X25519 stanza %zu is malformed (it needs one argument, the "
                                   "canonical base64 of a 32-byte share, and a 32-byte body)",
                                   i + 1);
        } else if (age_stanza_arg_is(st, 0, "ssh-ed25519")) {
            if (st->nargs != 3 || !arg_bytes(st, 1, tmp, 4) || !arg_bytes(st, 2, tmp, 32) ||
                st->body_len != 32)
                return signet_fail(SIGNET_E_PARSE,
                                   "ssh-ed25519 stanza %zu is malformed (it needs a 4-byte tag, "
                                   "a 32-byte share, both canonical base64, and a 32-byte body)",
                                   i + 1);
        } else if (age_stanza_arg_is(st, 0, "scrypt")) {
            signet_rc rc = age_scrypt_check(h, st, i, NULL);
            if (rc)
                return rc;
        } else if (age_stanza_arg_is(st, 0, "mlkem768x25519")) {
            signet_rc rc = age_pq_check(st, i);
            if (rc)
                return rc;
        }
    }
    return SIGNET_OK;
}

/* wrap key = HKDF(shared, salt = share | recipient, label); body = AEAD(fk). */
static signet_rc wrap_body(const uint8_t shared[32], const uint8_t share[32],
                           const uint8_t recipient[32], const char *label,
                           const uint8_t fk[AGE_FILE_KEY_LEN], uint8_t body[32])
{
    uint8_t salt[64], key[AGE_KEY_LEN];
    memcpy(salt, share, 32);
    memcpy(salt + 32, recipient, 32);
    signet_rc rc = age_hkdf(shared, 32, salt, sizeof salt, label, key);
    if (!rc)
        rc = age_aead_seal(key, ZERO_NONCE, fk, AGE_FILE_KEY_LEN, body);
    smem_wipe(key, sizeof key);
    return rc;
}

static signet_rc unwrap_body(const uint8_t shared[32], const uint8_t share[32],
                             const uint8_t recipient[32], const char *label,
                             const uint8_t body[32], uint8_t fk[AGE_FILE_KEY_LEN])
{
    uint8_t salt[64], key[AGE_KEY_LEN];
    memcpy(salt, share, 32);
    memcpy(salt + 32, recipient, 32);
    signet_rc rc = age_hkdf(shared, 32, salt, sizeof salt, label, key);
    if (!rc)
        rc = age_aead_open(key, ZERO_NONCE, body, 32, fk);
    smem_wipe(key, sizeof key);
    return rc;
}

/* The ssh-ed25519 tweak: X25519(HKDF(ikm = "", salt = SSH key, label), shared). */
static signet_rc ssh_tweak(const uint8_t *ssh, size_t ssh_len, uint8_t shared[32])
{
    uint8_t tweak[32], out[32];
    signet_rc rc = age_hkdf(NULL, 0, ssh, ssh_len, SSH_LABEL, tweak);
    if (!rc)
        rc = age_x25519(tweak, shared, out);
    if (!rc)
        memcpy(shared, out, 32);
    smem_wipe(tweak, sizeof tweak);
    smem_wipe(out, sizeof out);
    return rc;
}

signet_rc age_stanza_wrap(const struct age_recipient *r, const uint8_t fk[AGE_FILE_KEY_LEN],
                          sb_wr *hdr)
{
    if (r->type == AGE_KEY_PQ)
        return age_pq_wrap(r->pq, fk, hdr);
    uint8_t *eph = smem_alloc(64); /* ephemeral secret | shared secret */
    if (!eph)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    uint8_t *shared = eph + 32, share[32], body[32 + AGE_TAG_LEN];
    char share_b64[48], tag[8];
    sb_wr w;
    signet_rc rc = age_random(eph, 32);
    if (!rc)
        rc = age_x25519_base(eph, share);
    if (!rc && (rc = age_x25519(eph, r->pub, shared)) == SIGNET_E_VERIFY)
        rc = signet_fail(SIGNET_E_ARG, "the recipient key is a low-order point, not a usable "
                                       "key: check the recipient");
    if (!rc && r->type == AGE_KEY_SSH_ED25519)
        rc = ssh_tweak(r->ssh, r->ssh_len, shared);
    if (!rc)
        rc = wrap_body(shared, share, r->pub,
                       r->type == AGE_KEY_X25519 ? X25519_LABEL : SSH_LABEL, fk, body);
    sbw_init_fixed(&w, share_b64, sizeof share_b64 - 1);
    if (!rc)
        rc = b64_encode(&w, share, 32, false);
    share_b64[w.len] = 0;
    if (!rc && r->type == AGE_KEY_X25519) {
        const char *args[] = {"X25519", share_b64};
        rc = age_stanza_write(hdr, args, 2, body, 32);
    } else if (!rc) {
        if (!(rc = ssh_tag(r->ssh, r->ssh_len, tag))) {
            const char *args[] = {"ssh-ed25519", tag, share_b64};
            rc = age_stanza_write(hdr, args, 3, body, 32);
        }
    }
    smem_free(eph);
    return rc;
}

signet_rc age_stanza_unwrap(const struct age_identity *id, const age_header *h,
                            const age_stanza *st, uint8_t fk[AGE_FILE_KEY_LEN], bool *matched)
{
    bool ssh = id->type == AGE_KEY_SSH_ED25519;
    *matched = false;
    if (id->type == AGE_KEY_PQ)
        return age_pq_unwrap(id->secret, h, st, fk, matched);
    if (!age_stanza_arg_is(st, 0, ssh ? "ssh-ed25519" : "X25519"))
        return SIGNET_OK;
    uint8_t share[32];
    if (st->nargs != (ssh ? 3u : 2u) || !arg_bytes(st, ssh ? 2 : 1, share, 32) ||
        st->body_len != 32)
        return signet_fail(SIGNET_E_PARSE, "a %s stanza is malformed",
                           ssh ? "ssh-ed25519" : "X25519");
    if (ssh) {
        const char *p;
        size_t n;
        char tag[8];
        signet_rc rc = ssh_tag(id->ssh, id->ssh_len, tag);
        if (rc)
            return rc;
        age_stanza_arg(st, 1, &p, &n);
        if (n != strlen(tag) || memcmp(p, tag, n) != 0)
            return SIGNET_OK; /* addressed to another SSH key */
    }
    uint8_t *shared = smem_alloc(32);
    if (!shared)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = age_x25519(id->secret, share, shared);
    if (rc == SIGNET_E_VERIFY)
        rc = signet_fail(SIGNET_E_VERIFY,
                         "an %s stanza's share is a low-order point, giving an all-zero shared "
                         "secret: the file is malformed or was crafted to attack the reader",
                         ssh ? "ssh-ed25519" : "X25519");
    if (!rc && ssh)
        rc = ssh_tweak(id->ssh, id->ssh_len, shared);
    if (!rc) {
        rc = unwrap_body(shared, share, id->pub, ssh ? SSH_LABEL : X25519_LABEL,
                         age_stanza_body(h, st), fk);
        if (rc == SIGNET_OK) {
            *matched = true;
        } else if (rc == SIGNET_E_VERIFY) {
            /* An X25519 stanza for another key fails here: not ours.  An ssh-ed25519
             * stanza carried our tag, so it was meant for us and is damaged. */
            rc = ssh ? signet_fail(SIGNET_E_AUTH, "the ssh-ed25519 stanza addressed to this "
                                                  "key does not decrypt: the file was modified")
                     : SIGNET_OK;
        }
    }
    smem_free(shared);
    return rc;
}

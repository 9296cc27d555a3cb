/* OpenSSH Ed25519 keys as age recipients and identities: the authorized_keys
 * public key line and the openssh-key-v1 private key format (PROTOCOL.key in
 * OpenSSH), unencrypted only.  All input is parsed through sb_rd. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "age_internal.h"
#include "signet/secmem.h"

static const char SSH_ED25519[] = "ssh-ed25519";
static const char PRIV_BEGIN[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
static const char PRIV_END[] = "-----END OPENSSH PRIVATE KEY-----";
static const char KEY_MAGIC[] = "openssh-key-v1"; /* followed by a NUL in the blob */

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool str_eq(const uint8_t *p, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

signet_rc age_ssh_ed25519_blob(const uint8_t pk[32], uint8_t *blob, size_t cap, size_t *len)
{
    sb_wr w;
    sbw_init_fixed(&w, blob, cap);
    signet_rc rc = sbw_sshstr(&w, SSH_ED25519, strlen(SSH_ED25519));
    if (!rc)
        rc = sbw_sshstr(&w, pk, 32);
    *len = w.len;
    return rc;
}

/* Reads an ssh-ed25519 public key blob; *pk points into it. */
static signet_rc parse_public_blob(const uint8_t *blob, size_t n, const uint8_t **pk)
{
    sb_rd r;
    const uint8_t *type;
    size_t tlen, klen;
    sbr_init(&r, blob, n);
    if (sbr_sshstr(&r, &type, &tlen) || sbr_sshstr(&r, pk, &klen) || sbr_end(&r))
        return signet_fail(SIGNET_E_PARSE, "the SSH public key blob is malformed");
    if (!str_eq(type, tlen, SSH_ED25519))
        return signet_fail(SIGNET_E_UNSUPPORTED, "the SSH key is not an Ed25519 key: signet's "
                                                 "age supports ssh-ed25519 keys only");
    if (klen != 32)
        return signet_fail(SIGNET_E_PARSE, "the ssh-ed25519 key is %zu bytes, not 32", klen);
    return SIGNET_OK;
}

static signet_rc recipient_from_pk(const uint8_t pk[32], struct age_recipient *r)
{
    memset(r, 0, sizeof *r);
    r->type = AGE_KEY_SSH_ED25519;
    signet_rc rc = age_ssh_ed25519_blob(pk, r->ssh, sizeof r->ssh, &r->ssh_len);
    return rc ? rc : age_ed25519_to_x25519_public(pk, r->pub);
}

signet_rc age_parse_ssh_public(const char *text, size_t len, struct age_recipient *r)
{
    size_t i = 0, tstart, tend, bstart, bend;
    while (i < len && is_space(text[i]))
        i++;
    tstart = i;
    while (i < len && !is_space(text[i]))
        i++;
    tend = i;
    while (i < len && is_space(text[i]))
        i++;
    bstart = i;
    while (i < len && !is_space(text[i]))
        i++;
    bend = i; /* the rest is the comment */

    if (!str_eq((const uint8_t *)text + tstart, tend - tstart, SSH_ED25519))
        return signet_fail(SIGNET_E_UNSUPPORTED,
                           "SSH key type '%.*s' is not supported: use an ssh-ed25519 key or an "
                           "age key (age1...)",
                           (int)(tend - tstart > 32 ? 32 : tend - tstart), text + tstart);
    uint8_t mem[AGE_SSH_BLOB_MAX + 3];
    sb_wr w;
    sbw_init_fixed(&w, mem, sizeof mem);
    if (bend == bstart || b64_decode(&w, text + bstart, bend - bstart, true))
        return signet_fail(SIGNET_E_PARSE, "the ssh-ed25519 public key's base64 is malformed: "
                                           "copy the whole line of the .pub file");
    const uint8_t *pk;
    signet_rc rc = parse_public_blob(mem, w.len, &pk);
    return rc ? rc : recipient_from_pk(pk, r);
}

/* Collects the base64 between the PEM lines into locked memory and decodes it. */
static signet_rc pem_body(const char *text, size_t len, sb_wr *der)
{
    const char *b = memmem(text, len, PRIV_BEGIN, strlen(PRIV_BEGIN));
    if (!b)
        return signet_fail(SIGNET_E_PARSE, "not an OpenSSH private key (no BEGIN line)");
    b += strlen(PRIV_BEGIN);
    const char *e = memmem(b, len - (size_t)(b - text), PRIV_END, strlen(PRIV_END));
    if (!e)
        return signet_fail(SIGNET_E_PARSE, "the OpenSSH private key has no END line: the file "
                                           "is truncated");
    sb_wr b64;
    sbw_init_secure(&b64, (size_t)(e - b));
    signet_rc rc = SIGNET_OK;
    for (const char *p = b; p < e && !rc; p++)
        if (!is_space(*p))
            rc = sbw_u8(&b64, (uint8_t)*p);
    if (!rc)
        rc = b64_decode(der, (const char *)b64.p, b64.len, true);
    sbw_free(&b64);
    if (rc)
        return signet_wrap(SIGNET_E_PARSE, "the OpenSSH private key's base64 is malformed");
    return SIGNET_OK;
}

static signet_rc check_seed(const uint8_t seed[32], const uint8_t pk[32])
{
    uint8_t derived[32];
    size_t n = sizeof derived;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    int ok = k && EVP_PKEY_get_raw_public_key(k, derived, &n) == 1 && n == 32;
    EVP_PKEY_free(k);
    if (!ok)
        return signet_fail(SIGNET_E_CRYPTO, "Ed25519 key computation failed in OpenSSL");
    if (CRYPTO_memcmp(derived, pk, 32) != 0)
        return signet_fail(SIGNET_E_PARSE, "the OpenSSH private key does not match its public "
                                           "key: the file is corrupt");
    return SIGNET_OK;
}

static signet_rc parse_private_section(sb_rd *r, const uint8_t *pub_pk, struct age_identity *id)
{
    uint32_t check1, check2;
    const uint8_t *type, *pk, *sk, *comment;
    size_t tlen, pklen, sklen, clen;
    if (sbr_u32(r, &check1) || sbr_u32(r, &check2) || sbr_sshstr(r, &type, &tlen))
        return signet_fail(SIGNET_E_PARSE, "the OpenSSH private key section is truncated");
    if (check1 != check2)
        return signet_fail(SIGNET_E_PARSE, "the OpenSSH private key's check numbers differ: "
                                           "the file is corrupt");
    if (!str_eq(type, tlen, SSH_ED25519))
        return signet_fail(SIGNET_E_UNSUPPORTED, "the OpenSSH private key is not an Ed25519 key: "
                                                 "signet's age supports ssh-ed25519 keys only");
    if (sbr_sshstr(r, &pk, &pklen) || sbr_sshstr(r, &sk, &sklen) ||
        sbr_sshstr(r, &comment, &clen))
        return signet_fail(SIGNET_E_PARSE, "the OpenSSH private key section is truncated");
    if (pklen != 32 || sklen != 64 || memcmp(pk, pub_pk, 32) != 0 ||
        memcmp(sk + 32, pk, 32) != 0)
        return signet_fail(SIGNET_E_PARSE, "the OpenSSH Ed25519 private key is malformed");
    /* Padding 1, 2, 3, ... up to the cipher block size (8 for "none"). */
    for (uint8_t want = 1; sbr_left(r) > 0; want++) {
        uint8_t b;
        if (sbr_u8(r, &b) || b != want || want > 8)
            return signet_fail(SIGNET_E_PARSE, "the OpenSSH private key's padding is wrong");
    }
    signet_rc rc = check_seed(sk, pk);
    if (rc)
        return rc;
    memset(id, 0, sizeof *id);
    id->type = AGE_KEY_SSH_ED25519;
    if ((rc = age_ed25519_to_x25519_secret(sk, id->secret)) ||
        (rc = age_x25519_base(id->secret, id->pub)) ||
        (rc = age_ssh_ed25519_blob(pk, id->ssh, sizeof id->ssh, &id->ssh_len))) {
        smem_wipe(id, sizeof *id);
        return rc;
    }
    return SIGNET_OK;
}

signet_rc age_parse_openssh_private(const char *text, size_t len, struct age_identity *id)
{
    sb_wr der;
    sbw_init_secure(&der, len);
    signet_rc rc = pem_body(text, len, &der);
    if (rc) {
        sbw_free(&der);
        return rc;
    }
    sb_rd r, priv;
    const uint8_t *magic, *cipher, *kdf, *kdfopts, *pub, *privp, *pub_pk;
    size_t clen, klen, olen, publen, privlen;
    uint32_t nkeys;
    sbr_init(&r, der.p, der.len);
    if (sbr_ptr(&r, &magic, sizeof KEY_MAGIC) || memcmp(magic, KEY_MAGIC, sizeof KEY_MAGIC) != 0) {
        rc = signet_fail(SIGNET_E_PARSE, "not an openssh-key-v1 private key");
        goto out;
    }
    if (sbr_sshstr(&r, &cipher, &clen) || sbr_sshstr(&r, &kdf, &klen) ||
        sbr_sshstr(&r, &kdfopts, &olen) || sbr_u32(&r, &nkeys)) {
        rc = signet_fail(SIGNET_E_PARSE, "the OpenSSH private key is truncated");
        goto out;
    }
    if (!str_eq(cipher, clen, "none") || !str_eq(kdf, klen, "none")) {
        rc = signet_fail(SIGNET_E_UNSUPPORTED,
                         "the OpenSSH private key is protected with a passphrase, which signet "
                         "does not support: use an age identity (signet age keygen) instead");
        goto out;
    }
    if (nkeys != 1) {
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the OpenSSH key file holds %u keys: signet "
                                               "reads files with exactly one",
                         nkeys);
        goto out;
    }
    if (sbr_sshstr(&r, &pub, &publen) || sbr_sshstr(&r, &privp, &privlen) || sbr_end(&r)) {
        rc = signet_fail(SIGNET_E_PARSE, "the OpenSSH private key is truncated or has "
                                         "trailing bytes");
        goto out;
    }
    if ((rc = parse_public_blob(pub, publen, &pub_pk)))
        goto out;
    sbr_init(&priv, privp, privlen);
    rc = parse_private_section(&priv, pub_pk, id);
out:
    sbw_free(&der);
    return rc;
}

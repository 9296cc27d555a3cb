/* Decryption: detect armor, read and parse the header, find a stanza an
 * identity opens, check the header MAC, then stream the payload (see
 * include/signet/age.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "age_internal.h"
#include "signet/secmem.h"

#define READ_BUFFER (AGE_ENC_CHUNK + 4096)

static _Thread_local enum age_failure tl_failure;

enum age_failure age_decrypt_failure(void) { return tl_failure; }

const char *age_failure_name(enum age_failure f)
{
    switch (f) {
    case AGE_FAIL_HEADER: return "header failure";
    case AGE_FAIL_HMAC: return "HMAC failure";
    case AGE_FAIL_PAYLOAD: return "payload failure";
    case AGE_FAIL_ARMOR: return "armor failure";
    case AGE_FAIL_NO_MATCH: return "no match";
    default: return "success or another failure";
    }
}

/* Faults of the input, as opposed to the machine (I/O, memory, OpenSSL). */
static bool input_fault(signet_rc rc)
{
    return rc == SIGNET_E_PARSE || rc == SIGNET_E_UNSUPPORTED || rc == SIGNET_E_VERIFY;
}

/* Reads header lines up to and including the MAC line into hdr. */
static signet_rc read_header(age_bufrd *in, sb_wr *hdr)
{
    const uint8_t *p;
    size_t avail, n = strlen("age-encryption.org/");
    signet_rc rc = age_bufrd_peek(in, n, &p, &avail);
    if (rc)
        return rc;
    if (avail < n || memcmp(p, "age-encryption.org/", n) != 0)
        return signet_fail(SIGNET_E_PARSE, "not an age file (it does not start with "
                                           "\"age-encryption.org/\" or an armor line)");
    for (;;) {
        size_t start = hdr->len;
        if ((rc = age_bufrd_line(in, AGE_MAX_LINE, hdr)) != SIGNET_OK) {
            if (hdr->len >= hdr->max - AGE_MAX_LINE)
                return signet_fail(SIGNET_E_PARSE, "the age header is larger than %d bytes",
                                   AGE_MAX_HEADER);
            return signet_wrap(SIGNET_E_PARSE, "reading the age header");
        }
        if (hdr->len - start >= 3 && memcmp(hdr->p + start, "---", 3) == 0)
            return SIGNET_OK;
    }
}

/* The payload nonce after the header: age reads it with the header, so a file
 * that ends before it has a header failure. */
static signet_rc read_nonce(age_bufrd *in, uint8_t nonce[AGE_NONCE_LEN])
{
    size_t got;
    signet_rc rc = age_bufrd_read(in, nonce, AGE_NONCE_LEN, &got);
    if (!rc && got < AGE_NONCE_LEN)
        rc = signet_fail(SIGNET_E_PARSE, "the file ends %s, without a payload nonce: it is "
                                         "truncated",
                         got ? "inside its payload nonce" : "after its header");
    return rc;
}

/* Tries every identity on every stanza; the first that opens gives the file key. */
static signet_rc find_file_key(const age_identities *ids, const age_header *h,
                               uint8_t fk[AGE_FILE_KEY_LEN])
{
    signet_rc damaged = SIGNET_OK;
    char damaged_msg[256] = "";
    for (size_t s = 0; s < h->n && ids->pass; s++) {
        bool matched = false;
        signet_rc rc = age_scrypt_unwrap(ids->pass, ids->pass_len, h, &h->st[s], fk, &matched);
        if (rc || matched)
            return rc;
    }
    for (size_t s = 0; s < h->n; s++) {
        for (size_t i = 0; i < ids->n; i++) {
            bool matched = false;
            signet_rc rc = age_stanza_unwrap(&ids->v[i], h, &h->st[s], fk, &matched);
            if (rc == SIGNET_E_AUTH) {
                /* Addressed to us but damaged: another stanza may still work. */
                if (!damaged)
                    snprintf(damaged_msg, sizeof damaged_msg, "%s", signet_errmsg());
                damaged = rc;
                continue;
            }
            if (rc)
                return rc;
            if (matched)
                return SIGNET_OK;
        }
    }
    if (damaged)
        return signet_fail(SIGNET_E_AUTH, "%s", damaged_msg);
    if (h->n == 1 && age_stanza_arg_is(&h->st[0], 0, "scrypt"))
        return signet_fail(SIGNET_E_AUTH, ids->pass ? "the passphrase does not open the file: "
                                                      "check it and retry"
                                                    : "the file is encrypted with a passphrase: "
                                                      "give it with -p");
    return signet_fail(SIGNET_E_AUTH,
                       "none of the %zu identities given opens any of the file's %zu recipient "
                       "stanzas: the file was encrypted to other keys (check the identity file)",
                       ids->n + (ids->pass != NULL), h->n);
}

static signet_rc check_mac(const uint8_t fk[AGE_FILE_KEY_LEN], const sb_wr *hdr,
                           const age_header *h)
{
    uint8_t mac[AGE_KEY_LEN];
    signet_rc rc = age_header_mac(fk, hdr->p, h->mac_input_len, mac);
    if (rc)
        return rc;
    if (CRYPTO_memcmp(mac, h->mac, sizeof mac) != 0)
        return signet_fail(SIGNET_E_VERIFY, "the age header MAC does not verify: the header "
                                            "was modified");
    return SIGNET_OK;
}

static signet_rc decrypt_stream(const age_identities *ids, age_bufrd *in, age_write_fn wr,
                                void *wctx, enum age_failure *fail)
{
    sb_wr hdr;
    age_header h;
    memset(&h, 0, sizeof h);
    sbw_init(&hdr, AGE_MAX_HEADER);
    uint8_t *fk = smem_alloc(AGE_FILE_KEY_LEN);
    signet_rc rc = fk ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    if (!rc)
        rc = read_header(in, &hdr);
    if (!rc)
        rc = age_header_parse(hdr.p, hdr.len, &h);
    uint8_t nonce[AGE_NONCE_LEN];
    if (!rc)
        rc = read_nonce(in, nonce);
    if (!rc)
        rc = age_stanzas_check(&h);
    if (!rc)
        rc = find_file_key(ids, &h, fk);
    if (rc) {
        *fail = rc == SIGNET_E_AUTH ? AGE_FAIL_NO_MATCH
                : input_fault(rc)   ? AGE_FAIL_HEADER
                                    : AGE_FAIL_NONE;
    } else if ((rc = check_mac(fk, &hdr, &h)) != SIGNET_OK) {
        *fail = input_fault(rc) ? AGE_FAIL_HMAC : AGE_FAIL_NONE;
    } else if ((rc = age_payload_decrypt(fk, nonce, in, wr, wctx)) != SIGNET_OK) {
        *fail = input_fault(rc) ? AGE_FAIL_PAYLOAD : AGE_FAIL_NONE;
    }
    age_header_free(&h);
    sbw_free(&hdr);
    smem_free(fk);
    return rc;
}

signet_rc age_decrypt(const age_identities *ids, age_read_fn rd, void *rctx, age_write_fn wr,
                      void *wctx)
{
    tl_failure = AGE_FAIL_NONE;
    if (!ids || (ids->n == 0 && !ids->pass))
        return signet_fail(SIGNET_E_ARG, "no identities: give an identity file (-i) or a "
                                         "passphrase (-p)");
    age_bufrd raw, dec;
    age_armor_rd armor;
    bool armored = false;
    memset(&dec, 0, sizeof dec);
    memset(&armor, 0, sizeof armor);
    signet_rc rc = age_bufrd_init(&raw, rd, rctx, READ_BUFFER);
    if (!rc)
        rc = age_armor_detect(&raw, &armored);
    if (!rc && armored) {
        age_armor_rd_init(&armor, &raw);
        rc = age_bufrd_init(&dec, age_armor_read, &armor, READ_BUFFER);
    }
    enum age_failure fail = AGE_FAIL_NONE;
    if (!rc)
        rc = decrypt_stream(ids, armored ? &dec : &raw, wr, wctx, &fail);
    /* Bad armor shows up wherever the reader stood when it hit it. */
    if (rc && armored && armor.failed)
        fail = AGE_FAIL_ARMOR;
    tl_failure = rc ? fail : AGE_FAIL_NONE;
    age_bufrd_free(&dec);
    age_bufrd_free(&raw);
    return rc;
}

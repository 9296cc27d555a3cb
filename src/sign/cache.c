/* The signing cache: a signature this key already made over exactly these bytes is
 * used again instead of asking the device (sign.h).  One file per signature:
 *
 *   DIR/xx/<64 hex>   name = SHA-256("signet-cache-1" | SHA-256 of the key's public
 *                     key (SPKI DER) | command | mgf1 | salt length (2 bytes) |
 *                     SHA-256 of the bytes signed); xx = its first two hex digits
 *
 * Entry (big-endian): "SGC1" | command u8 | mgf1 u8 | salt u16 | key id u16 |
 * public key SHA-256 (32) | data SHA-256 (32) | leaf index of the sign record u64 |
 * byte offset of that record in records.log u64 | signature length u16 | signature.
 *
 * Nothing in an entry is trusted: before use its fields must match the request, its
 * signature must verify with the key's public key over the request's bytes, and the
 * sign record it names must be in the trail with that very signature.  The cache
 * holds only signatures (public), so it needs no protection beyond that, and losing
 * it costs only device time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "signet/file.h"
#include "sign_internal.h"

struct sign_cache {
    char dir[1024];
};

signet_rc sign_cache_open(const char *dir, sign_cache **out)
{
    *out = NULL;
    if (strlen(dir) >= sizeof((sign_cache *)0)->dir - 80)
        return signet_fail(SIGNET_E_ARG, "the cache directory path %s is too long", dir);
    sign_cache *c = calloc(1, sizeof *c);
    if (!c)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    *out = c;
    return SIGNET_OK;
}

void sign_cache_close(sign_cache *c) { free(c); }
const char *sign_cache_dir(const sign_cache *c) { return c->dir; }

signet_rc sign_cache_entry_format(const sign_cache_entry *e, sb_wr *out)
{
    signet_rc rc = sbw_put(out, "SGC1", 4);
    if (rc == SIGNET_OK) rc = sbw_u8(out, e->cmd);
    if (rc == SIGNET_OK) rc = sbw_u8(out, e->mgf1);
    if (rc == SIGNET_OK) rc = sbw_u16(out, e->salt_len);
    if (rc == SIGNET_OK) rc = sbw_u16(out, e->key_id);
    if (rc == SIGNET_OK) rc = sbw_put(out, e->pub_sha256, 32);
    if (rc == SIGNET_OK) rc = sbw_put(out, e->data_sha256, 32);
    if (rc == SIGNET_OK) rc = sbw_u64(out, e->index);
    if (rc == SIGNET_OK) rc = sbw_u64(out, e->offset);
    if (rc == SIGNET_OK) rc = sbw_u16(out, (uint16_t)e->sig_len);
    if (rc == SIGNET_OK) rc = sbw_put(out, e->sig, e->sig_len);
    return rc;
}

signet_rc sign_cache_entry_parse(const uint8_t *p, size_t len, sign_cache_entry *e)
{
    sb_rd r;
    sbr_init(&r, p, len);
    uint8_t magic[4];
    uint16_t sig_len = 0;
    memset(e, 0, sizeof *e);
    signet_rc rc = sbr_copy(&r, magic, 4);
    if (rc == SIGNET_OK && memcmp(magic, "SGC1", 4) != 0)
        return signet_fail(SIGNET_E_PARSE, "not a signing cache entry (magic)");
    if (rc == SIGNET_OK) rc = sbr_u8(&r, &e->cmd);
    if (rc == SIGNET_OK) rc = sbr_u8(&r, &e->mgf1);
    if (rc == SIGNET_OK) rc = sbr_u16(&r, &e->salt_len);
    if (rc == SIGNET_OK) rc = sbr_u16(&r, &e->key_id);
    if (rc == SIGNET_OK) rc = sbr_copy(&r, e->pub_sha256, 32);
    if (rc == SIGNET_OK) rc = sbr_copy(&r, e->data_sha256, 32);
    if (rc == SIGNET_OK) rc = sbr_u64(&r, &e->index);
    if (rc == SIGNET_OK) rc = sbr_u64(&r, &e->offset);
    if (rc == SIGNET_OK) rc = sbr_u16(&r, &sig_len);
    if (rc == SIGNET_OK && (sig_len == 0 || sig_len > sizeof e->sig))
        return signet_fail(SIGNET_E_PARSE, "a cached signature of %u bytes", sig_len);
    if (rc == SIGNET_OK) rc = sbr_copy(&r, e->sig, sig_len);
    if (rc == SIGNET_OK) rc = sbr_end(&r);
    e->sig_len = sig_len;
    return rc;
}

static signet_rc entry_path(const sign_cache *c, const uint8_t pub_sha256[32], uint8_t cmd,
                            const signet_sign_req *r, const uint8_t data_sha256[32], char *path,
                            size_t cap, char *dir, size_t dcap)
{
    uint8_t salt[2] = {(uint8_t)(r->pss_salt_len >> 8), (uint8_t)r->pss_salt_len};
    uint8_t mgf1 = cmd == YH_CMD_SIGN_PSS ? r->pss_mgf1 : 0;
    uint8_t name[32];
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = m && EVP_DigestInit_ex(m, EVP_sha256(), NULL) == 1 &&
              EVP_DigestUpdate(m, "signet-cache-1", 14) == 1 &&
              EVP_DigestUpdate(m, pub_sha256, 32) == 1 && EVP_DigestUpdate(m, &cmd, 1) == 1 &&
              EVP_DigestUpdate(m, &mgf1, 1) == 1 &&
              EVP_DigestUpdate(m, cmd == YH_CMD_SIGN_PSS ? salt : (const uint8_t[2]){0, 0}, 2) ==
                  1 &&
              EVP_DigestUpdate(m, data_sha256, 32) == 1 && EVP_DigestFinal_ex(m, name, NULL) == 1;
    EVP_MD_CTX_free(m);
    if (!ok)
        return signet_fail(SIGNET_E_CRYPTO, "cannot hash a signing cache name");
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", name[i]);
    snprintf(dir, dcap, "%s/%.2s", c->dir, hex);
    snprintf(path, cap, "%s/%s", dir, hex);
    return SIGNET_OK;
}

static const EVP_MD *md_of_len(size_t len)
{
    switch (len) {
    case 20: return EVP_sha1();
    case 32: return EVP_sha256();
    case 48: return EVP_sha384();
    case 64: return EVP_sha512();
    default: return NULL;
    }
}

static const EVP_MD *mgf1_md(uint8_t mgf1)
{
    switch (mgf1) {
    case YH_ALGO_MGF1_SHA1: return EVP_sha1();
    case YH_ALGO_MGF1_SHA256: return EVP_sha256();
    case YH_ALGO_MGF1_SHA384: return EVP_sha384();
    case YH_ALGO_MGF1_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

bool sign_verify(EVP_PKEY *pub, uint8_t cmd, const signet_sign_req *r, const uint8_t *sig,
                 size_t sig_len)
{
    if (cmd == YH_CMD_SIGN_EDDSA) {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        bool ok = m && EVP_DigestVerifyInit(m, NULL, NULL, NULL, pub) == 1 &&
                  EVP_DigestVerify(m, sig, sig_len, r->data, r->len) == 1;
        EVP_MD_CTX_free(m);
        return ok;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pub, NULL);
    bool ok = c && EVP_PKEY_verify_init(c) == 1;
    if (ok && cmd == YH_CMD_SIGN_PKCS1) {
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1;
        /* A bare digest is wrapped in its DigestInfo by the device; anything else
         * was sent as the complete DigestInfo and is compared as it is. */
        const EVP_MD *md = md_of_len(r->len);
        if (ok && md)
            ok = EVP_PKEY_CTX_set_signature_md(c, md) == 1;
    } else if (ok && cmd == YH_CMD_SIGN_PSS) {
        const EVP_MD *md = md_of_len(r->len), *mgf = mgf1_md(r->pss_mgf1);
        ok = md && mgf && EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_signature_md(c, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, mgf) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(c, r->pss_salt_len) == 1;
    }
    ok = ok && EVP_PKEY_verify(c, sig, sig_len, r->data, r->len) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

/* The sign record at `offset` of records.log must be leaf `index` with this key,
 * command, data and signature. */
static bool record_is_there(signet_signer *s, const sign_cache_entry *ce, const char **why)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/records.log", signet_trail_dir(s->trail));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *why = "the trail has no records.log, so not the sign record it names";
        return false;
    }
    char *line = malloc(SIGNET_LINE_MAX + 1);
    signet_record *rec = calloc(1, sizeof *rec);
    ssize_t n = line && rec ? pread(fd, line, SIGNET_LINE_MAX + 1, (off_t)ce->offset) : -1;
    close(fd);
    bool ok = false;
    const char *reason = "the sign record it names is not in the trail";
    char *nl = n > 0 ? memchr(line, '\n', (size_t)n) : NULL;
    if (nl &&
        signet_record_parse(line, (size_t)(nl - line), rec) == SIGNET_OK) {
        if (rec->type != SIGNET_REC_SIGN || rec->index != ce->index)
            reason = "the record at its place in the trail is not its sign record";
        else if (rec->key_id != ce->key_id || rec->command != ce->cmd ||
                 memcmp(rec->data_sha256, ce->data_sha256, 32) != 0 ||
                 rec->sig_len != ce->sig_len || memcmp(rec->sig, ce->sig, ce->sig_len) != 0)
            reason = "its sign record in the trail holds another key, data or signature";
        else
            ok = true;
    }
    signet_err_clear();
    free(line);
    free(rec);
    if (!ok)
        *why = reason;
    return ok;
}

static void refuse(signet_signer *s, const char *path, const char *why)
{
    s->stats.cache_refused++;
    unlink(path);
    signer_warn(s, "signing cache: entry %s refused and removed (%s); the device signs instead",
                path, why);
}

signet_rc sign_cache_lookup(signet_signer *s, const signet_keymap_entry *e, uint8_t cmd,
                            const signet_sign_req *r, const uint8_t data_sha256[32], uint8_t *sig,
                            size_t *sig_len, uint64_t *original, bool *hit)
{
    *hit = false;
    uint8_t pub_sha[32];
    signet_rc rc = signet_keystore_pub_fingerprint(s->ks, e->name, pub_sha);
    char path[1200], dir[1200];
    if (rc == SIGNET_OK)
        rc = entry_path(s->cache, pub_sha, cmd, r, data_sha256, path, sizeof path, dir, sizeof dir);
    if (rc != SIGNET_OK)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SIGNET_OK; /* a miss */
    uint8_t buf[1024];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    sign_cache_entry ce;
    const char *why = NULL;
    if (n <= 0 || sign_cache_entry_parse(buf, (size_t)n, &ce) != SIGNET_OK)
        why = "it does not parse";
    else if (ce.cmd != cmd || ce.key_id != e->id || memcmp(ce.pub_sha256, pub_sha, 32) != 0 ||
             memcmp(ce.data_sha256, data_sha256, 32) != 0 ||
             (cmd == YH_CMD_SIGN_PSS && (ce.mgf1 != r->pss_mgf1 || ce.salt_len != r->pss_salt_len)))
        why = "it is for another key, mechanism or data";
    else if (ce.sig_len > *sig_len)
        why = "its signature is too long for this key";
    signet_err_clear();
    if (!why) {
        EVP_PKEY *pub = NULL;
        if (signet_keystore_public_key(s->ks, e->name, &pub) != SIGNET_OK)
            return SIGNET_OK; /* cannot check it: do not use it, do not blame it */
        if (!sign_verify(pub, cmd, r, ce.sig, ce.sig_len))
            why = "its signature does not verify with the key's public key: poisoned";
        EVP_PKEY_free(pub);
    }
    if (!why)
        (void)record_is_there(s, &ce, &why); /* sets why when the record is not there */
    if (why) {
        refuse(s, path, why);
        return SIGNET_OK;
    }
    memcpy(sig, ce.sig, ce.sig_len);
    *sig_len = ce.sig_len;
    *original = ce.index;
    *hit = true;
    return SIGNET_OK;
}

void sign_cache_store(signet_signer *s, const signet_keymap_entry *e, uint8_t cmd,
                      const signet_sign_req *r, const uint8_t data_sha256[32], const uint8_t *sig,
                      size_t sig_len, uint64_t index, uint64_t offset)
{
    if (r->no_cache)
        return;
    sign_cache_entry ce = {.cmd = cmd, .key_id = e->id, .index = index, .offset = offset,
                           .sig_len = sig_len};
    if (cmd == YH_CMD_SIGN_PSS) {
        ce.mgf1 = r->pss_mgf1;
        ce.salt_len = r->pss_salt_len;
    }
    char path[1200], dir[1200];
    if (sig_len > sizeof ce.sig ||
        signet_keystore_pub_fingerprint(s->ks, e->name, ce.pub_sha256) != SIGNET_OK ||
        entry_path(s->cache, ce.pub_sha256, cmd, r, data_sha256, path, sizeof path, dir,
                   sizeof dir) != SIGNET_OK) {
        signet_err_clear();
        return;
    }
    memcpy(ce.data_sha256, data_sha256, 32);
    memcpy(ce.sig, sig, sig_len);
    uint8_t buf[1024];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    /* The cache is a hint: created on first use, written without fsync (a torn entry
     * is refused at lookup), and failures only cost a device signature later. */
    if ((mkdir(s->cache->dir, 0755) == 0 || errno == EEXIST) &&
        (mkdir(dir, 0755) == 0 || errno == EEXIST) && sign_cache_entry_format(&ce, &w) == SIGNET_OK &&
        signet_file_replace(path, w.p, w.len, 0644, false) == SIGNET_OK)
        return;
    signer_warn(s, "signing cache: cannot store an entry in %s: %s", dir,
                errno ? strerror(errno) : signet_errmsg());
    signet_err_clear();
}

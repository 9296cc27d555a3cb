/* Record keys: the Ed25519 keys of the people who sign acknowledgements and service
 * records, named in the trust anchors (anchors/record-keys, written once), and the
 * signed append. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit_internal.h"

void signet_rkey_id(const uint8_t pub[32], char id[9])
{
    uint8_t h[SIGNET_HASH_LEN];
    if (EVP_Digest(pub, 32, h, NULL, EVP_sha256(), NULL) != 1)
        memset(h, 0, sizeof h); /* an all-zero id names no key: verification fails */
    for (int i = 0; i < 4; i++)
        snprintf(id + 2 * i, 3, "%02x", h[i]);
}

signet_rc signet_rkey_id_of(EVP_PKEY *k, char id[9])
{
    uint8_t pub[32];
    size_t pl = sizeof pub;
    if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519 || EVP_PKEY_get_raw_public_key(k, pub, &pl) != 1 ||
        pl != sizeof pub)
        return signet_fail(SIGNET_E_ARG, "a record key is an Ed25519 key");
    signet_rkey_id(pub, id);
    return SIGNET_OK;
}

const signet_rkey *signet_rkeys_find(const signet_rkeys *keys, const char *id)
{
    for (size_t i = 0; i < keys->n; i++)
        if (strcmp(keys->k[i].id, id) == 0)
            return &keys->k[i];
    return NULL;
}

signet_rc signet_rkeys_load(const char *path, signet_rkeys *out)
{
    memset(out, 0, sizeof *out);
    line_reader r;
    signet_rc rc = lr_open(&r, path);
    if (rc)
        return rc;
    const char *line;
    size_t len;
    int kind;
    while ((rc = lr_next(&r, &line, &len, &kind)) == SIGNET_OK && kind) {
        kv_line l;
        char alg[16];
        size_t n = 0;
        if (out->n == SIGNET_RKEYS_MAX) {
            rc = signet_fail(SIGNET_E_PARSE, "%s: more than %d record keys", path, SIGNET_RKEYS_MAX);
            break;
        }
        signet_rkey *k = &out->k[out->n];
        if (kind != 1 || (rc = kv_parse(line, len, &l)) ||
            (rc = kv_get_str(&l, "role", true, k->role, sizeof k->role)) ||
            (rc = kv_get_str(&l, "holder", true, k->holder, sizeof k->holder)) ||
            (rc = kv_get_str(&l, "alg", true, alg, sizeof alg)) ||
            (rc = kv_get_b64(&l, "pub", true, k->pub, sizeof k->pub, &n)) || (rc = kv_check_used(&l))) {
            rc = signet_fail(SIGNET_E_PARSE, "%s line %llu: %s", path, (unsigned long long)r.lineno,
                             kind != 1 ? "incomplete line" : signet_errmsg());
            break;
        }
        if (strcmp(alg, "ed25519") != 0 || n != 32) {
            rc = signet_fail(SIGNET_E_PARSE, "%s line %llu: only alg=ed25519 with a 32-byte key is known",
                             path, (unsigned long long)r.lineno);
            break;
        }
        signet_rkey_id(k->pub, k->id);
        out->n++;
    }
    lr_close(&r);
    return rc;
}

signet_rc signet_rkeys_create(const char *dir, const signet_rkeys *keys)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, SIGNET_RKEYS_FILE);
    if (access(path, F_OK) == 0)
        return signet_fail(SIGNET_E_STATE, "%s exists: trust anchors never change once written", path);
    sb_wr w;
    sbw_init(&w, 1 << 16);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < keys->n; i++) {
        if ((rc = kv_put_str(&w, "role", keys->k[i].role)) || (rc = kv_put_str(&w, "holder", keys->k[i].holder)) ||
            (rc = kv_put_str(&w, "alg", "ed25519")) || (rc = kv_put_b64(&w, "pub", keys->k[i].pub, 32)))
            break;
        rc = sbw_u8(&w, '\n');
    }
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/%s", dir, ANCHOR_DIR);
    if (rc == SIGNET_OK)
        rc = file_write_atomic(sub, "record-keys", w.p, w.len);
    sbw_free(&w);
    return rc;
}

signet_rc signet_trail_append_signed(signet_trail *t, signet_record *r, EVP_PKEY *priv)
{
    signet_rc rc = trail_require_lock(t);
    if (rc)
        return rc;
    if ((rc = signet_rkey_id_of(priv, r->signer)))
        return rc;
    r->has_rsig = false;
    char host[64];
    trail_host(host);
    trail_stamp(r, t->next_index, host);
    sb_wr w;
    sbw_init(&w, SIGNET_LINE_MAX + 2);
    rc = signet_record_format(r, &w);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t sl = sizeof r->rsig;
    if (rc == SIGNET_OK && (!c || EVP_DigestSignInit(c, NULL, NULL, NULL, priv) != 1 ||
                            EVP_DigestSign(c, r->rsig, &sl, w.p, w.len) != 1 || sl != sizeof r->rsig))
        rc = signet_fail(SIGNET_E_CRYPTO, "signing the record with the record key failed");
    EVP_MD_CTX_free(c);
    if (rc == SIGNET_OK) {
        r->has_rsig = true;
        sbw_reset(&w);
        rc = signet_record_format(r, &w);
    }
    if (rc == SIGNET_OK)
        rc = trail_commit_line(t, &w, 1);
    sbw_free(&w);
    return rc ? signet_wrap(rc, "appending a signed record to the audit trail") : SIGNET_OK;
}

/* Migration, the keys: every wrapped key of the key store moved onto the token
 * (src/backend/p11_import.c: C_UnwrapKey under a transport key, public key compared
 * with the store's), then the audit log key: moved when its wrapped copy carries the
 * seed, else a new log key made on the token and the change recorded in the trail,
 * signed by a record key. */
#include <string.h>

#include <openssl/x509.h>

#include "migrate_internal.h"
#include "signet/backend.h"
#include "signet/proto.h"
#include "signet/secmem.h"

/* SHA-256 of the key's SubjectPublicKeyInfo: the manifest's record of "the same key". */
static signet_rc spki_sha256(EVP_PKEY *k, uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    bool ok = n > 0 && EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL) == 1;
    OPENSSL_free(der);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "cannot hash a public key");
}

signet_rc mig_step_keystore(migr *m)
{
    signet_keystore *ks = signet_signer_keystore(m->s);
    signet_device *d = signet_signer_device(m->s);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < signet_keystore_count(ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        if (!signet_keystore_has_key(ks, e->name))
            continue;
        if (m->n_keys == MIG_MAX_KEYS)
            return signet_fail(SIGNET_E_ARG, "more than %d keys in the key store", MIG_MAX_KEYS);
        mig_key *k = &m->keys[m->n_keys];
        snprintf(k->name, sizeof k->name, "%s", e->name);
        k->id = e->id;
        k->algorithm = e->algorithm;
        cer_say(&m->r.run, "%zu/%zu key %s (0x%04x, %s): opening its wrapped copy, moving it "
                           "onto the token, comparing its public key",
                m->n_keys + 1, m->r.n_keys, e->name, e->id, yh_algo_name(e->algorithm));
        rc = signet_pkcs11_import_wrapped(d, ks, e, m->r.wk->key, sizeof m->r.wk->key, &k->kept);
        EVP_PKEY *pub = NULL;
        if (rc == SIGNET_OK && (rc = signet_keystore_public_key(ks, e->name, &pub)) == SIGNET_OK)
            rc = spki_sha256(pub, k->spki_sha256);
        EVP_PKEY_free(pub);
        if (rc == SIGNET_OK && !k->kept)
            rc = signet_signer_record_key(m->s, e, "imported", "migrated by `signet ceremony "
                                                               "migrate` onto a PKCS#11 token "
                                                               "(no re-keying)");
        if (rc == SIGNET_OK) {
            cer_say(&m->r.run, "key %s: %s; the token's public key is the key store's", e->name,
                    k->kept ? "already on the token" : "moved");
            m->n_keys++;
        }
    }
    return rc;
}

/* The log key's wrapped copy opened under the wrap key: its body (the expanded key,
 * then the seed when exported with it), header checked against the manifest. */
static signet_rc open_log_key(migr *m, sb_wr *body)
{
    sb_wr pt;
    sbw_init_secure(&pt, 4096);
    signet_rc rc = yh_ccm_open(m->r.wk->key, sizeof m->r.wk->key, m->r.log_blob.p,
                               m->r.log_blob.len, &pt);
    if (rc)
        rc = signet_fail(SIGNET_E_VERIFY, "%s does not open under the wrap key the shares give: "
                                          "it is not this ceremony's", m->r.man->log_wrapped);
    yh_wrapped w;
    if (rc == SIGNET_OK && yh_wrapped_parse(pt.p, pt.len, &w) != SIGNET_OK)
        rc = signet_fail(SIGNET_E_PARSE, "%s is malformed", m->r.man->log_wrapped);
    if (rc == SIGNET_OK && (w.type != YH_TYPE_ASYMMETRIC_KEY || w.algorithm != YH_ALGO_EC_ED25519 ||
                            w.id != m->r.man->log_key_id))
        rc = signet_fail(SIGNET_E_VERIFY, "%s holds object 0x%04x (%s), not the Ed25519 log key "
                                          "0x%04x of the manifest", m->r.man->log_wrapped, w.id,
                         yh_algo_name(w.algorithm), m->r.man->log_key_id);
    if (rc == SIGNET_OK && w.body_len != 96 && w.body_len != 128)
        rc = signet_fail(SIGNET_E_PARSE, "the log key's wrapped body has %u bytes: an Ed25519 key "
                                         "has 96 (expanded key) or 128 (with the seed)", w.body_len);
    if (rc == SIGNET_OK)
        rc = sbw_put(body, w.body, w.body_len);
    sbw_free(&pt);
    return rc;
}

static signet_rc change_log_key(migr *m, const char *why)
{
    if (!m->o->record_key)
        return signet_fail(SIGNET_E_ARG, "%s, so a new log key is made on the token and the "
                                         "change recorded: give the admin's or the auditor's "
                                         "record key with --record-key FILE (it signs the change)",
                           why);
    if (!m->r.man->primary_serial)
        return signet_fail(SIGNET_E_PARSE, "the manifest names no primary device: the change of "
                                           "log key is recorded against it");
    uint8_t pub[32];
    signet_rc rc = signet_pkcs11_new_log_key(signet_signer_device(m->s), pub);
    if (rc == SIGNET_OK)
        rc = signet_vkey_make(m->r.man->vkey.name, pub, &m->log_vkey);
    signet_trail *t = NULL;
    if (rc == SIGNET_OK && (rc = signet_trail_open(m->cfg->audit, &t)) == SIGNET_OK &&
        (rc = signet_trail_lock(t)) == SIGNET_OK)
        rc = signet_trail_change_log_key(t, m->r.man->primary_serial, 0, &m->log_vkey,
                                         m->o->record_key);
    signet_trail_close(t);
    if (rc == SIGNET_OK)
        cer_say(&m->r.run, "log key: %s, so a new Ed25519 log key (%08x) was made on the token; "
                           "the trail records the change of log key, signed by the record key",
                why, m->log_vkey.key_id);
    return rc;
}

signet_rc mig_step_log_key(migr *m)
{
    /* A rerun after the change of log key was recorded: the token holds the new key. */
    signet_vkey cur;
    signet_rc rc = signet_trail_log_key(m->cfg->audit, &cur);
    if (rc)
        return rc;
    if (cur.key_id != m->r.man->vkey.key_id || memcmp(cur.pub, m->r.man->vkey.pub, 32) != 0) {
        if ((rc = signet_pkcs11_check_log_key(signet_signer_device(m->s), cur.pub)))
            return signet_wrap(rc, "the trail records a change to log key %08x", cur.key_id);
        m->log_fate = MIG_LOG_KEPT;
        m->log_vkey = cur;
        cer_say(&m->r.run, "log key %08x: the trail already records the change to it, and the "
                           "token holds it", cur.key_id);
        return SIGNET_OK;
    }
    if (!m->log_seed) {
        m->log_fate = MIG_LOG_NEW;
        return change_log_key(m, "its wrapped copy lacks the seed");
    }
    sb_wr body;
    sbw_init_secure(&body, 256);
    rc = open_log_key(m, &body);
    if (rc == SIGNET_OK && body.len != 128)
        rc = signet_fail(SIGNET_E_VERIFY, "the log key's wrapped copy carries no seed, though its "
                                          "length said so: a damaged %s", m->r.man->log_wrapped);
    bool existed = false;
    if (rc == SIGNET_OK)
        rc = signet_pkcs11_put_log_key(signet_signer_device(m->s), body.p + 96,
                                       m->r.man->vkey.pub, &existed);
    sbw_free(&body);
    if (rc == SIGNET_E_UNSUPPORTED) {
        cer_say(&m->r.run, "log key: %s", signet_errmsg());
        signet_err_clear();
        m->log_fate = MIG_LOG_NEW;
        return change_log_key(m, "the token does not take it by C_UnwrapKey");
    }
    if (rc)
        return rc;
    m->log_fate = existed ? MIG_LOG_KEPT : MIG_LOG_MOVED;
    m->log_vkey = m->r.man->vkey;
    signet_keymap_entry le = {.name = "audit-log-key", .id = m->r.man->log_key_id,
                              .algorithm = YH_ALGO_EC_ED25519};
    if (!existed)
        rc = signet_signer_record_key(m->s, &le, "imported", "migrated by `signet ceremony "
                                                             "migrate` onto a PKCS#11 token "
                                                             "(the same log key)");
    if (rc == SIGNET_OK)
        cer_say(&m->r.run, "log key %08x: %s; it signs what log.vkey verifies",
                m->log_vkey.key_id, existed ? "already on the token" : "moved onto the token");
    return rc;
}

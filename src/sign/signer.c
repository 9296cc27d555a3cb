/* The signing path: see include/signet/sign.h.  This file is the only place a
 * product signature is made on the device; the CLI, the PKCS#11 module and the
 * helpers call signet_sign(). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "signet/audit.h"
#include "signet/digestinfo.h"
#include "signet/hash.h"
#include "signet/secmem.h"
#include "signet/sign.h"

struct signet_signer {
    signet_config cfg;
    hsm_conn *conn;
    hsm_session *sess;
    signet_keystore *ks;
    signet_trail *trail;              /* NULL when the configuration names no audit dir */
    uint32_t serial;
    /* Keys this signer found resident, so that a run of signatures with one key
     * costs no Get Object Info each: a key another process evicted since is
     * noticed when the device answers "object not found", then loaded again. */
    struct {
        uint16_t id;
        time_t touched;               /* last LRU stamp written for it */
    } resident[16];
    unsigned next_slot;
    unsigned since_checkpoint;        /* records since the last checkpoint */
    time_t last_checkpoint;
    pthread_mutex_t lock;             /* one signature at a time per process */
};

signet_rc signet_signer_open_session(const signet_config *cfg, hsm_conn *conn, hsm_session *sess,
                                     signet_signer **out)
{
    *out = NULL;
    signet_signer *s = calloc(1, sizeof *s);
    if (!s) {
        hsm_session_close(sess);
        hsm_conn_close(conn);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    s->cfg = *cfg;
    s->conn = conn;
    s->sess = sess;
    s->last_checkpoint = time(NULL);
    pthread_mutex_init(&s->lock, NULL);

    hsm_devinfo info;
    signet_rc rc = hsm_device_info(conn, &info);
    if (rc == SIGNET_OK) {
        s->serial = info.serial;
        rc = signet_keystore_open(cfg->keystore[0] ? cfg->keystore : ".", &s->ks);
    }
    if (rc == SIGNET_OK && cfg->audit[0])
        rc = signet_trail_open(cfg->audit, &s->trail);
    if (rc) {
        signet_signer_close(s);
        return rc;
    }
    *out = s;
    return SIGNET_OK;
}

signet_rc signet_signer_open(const signet_config *cfg, uint16_t auth_id, const char *password,
                             signet_signer **out)
{
    hsm_conn *conn;
    hsm_session *sess;
    *out = NULL;
    signet_rc rc = hsm_conn_open(cfg->connector, &conn);
    if (rc)
        return rc;
    rc = hsm_session_open(conn, auth_id, password, &sess);
    if (rc) {
        hsm_conn_close(conn);
        return rc;
    }
    return signet_signer_open_session(cfg, conn, sess, out);
}

signet_keystore *signet_signer_keystore(signet_signer *s) { return s->ks; }
uint32_t signet_signer_serial(const signet_signer *s) { return s->serial; }

/* Caller holds s->lock and, when there is a trail, the trail lock. */
static signet_rc checkpoint_locked(signet_signer *s)
{
    if (!s->trail || s->since_checkpoint == 0)
        return SIGNET_OK;
    signet_rc rc = signet_audit_checkpoint(s->trail, s->sess, s->serial, s->cfg.log_key_id,
                                           s->cfg.log_name, NULL);
    if (rc == SIGNET_OK) {
        s->since_checkpoint = 0;
        s->last_checkpoint = time(NULL);
    }
    return rc;
}

signet_rc signet_signer_checkpoint(signet_signer *s)
{
    if (!s->trail)
        return SIGNET_OK;
    pthread_mutex_lock(&s->lock);
    signet_rc rc = signet_trail_lock(s->trail);
    if (rc == SIGNET_OK) {
        rc = checkpoint_locked(s);
        signet_trail_unlock(s->trail);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void signet_signer_close(signet_signer *s)
{
    if (!s)
        return;
    if (s->trail && s->sess && s->since_checkpoint)
        (void)signet_signer_checkpoint(s); /* best effort: the records are durable already */
    signet_trail_close(s->trail);
    signet_keystore_close(s->ks);
    hsm_session_close(s->sess);
    hsm_conn_close(s->conn);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Which device command a mechanism uses, and whether the key can do it. */
static signet_rc pick_command(const signet_keymap_entry *e, signet_mech mech, uint8_t *cmd)
{
    bool rsa = yh_algo_is_rsa(e->algorithm), ec = yh_algo_is_ec(e->algorithm);
    bool ed = e->algorithm == YH_ALGO_EC_ED25519;
    *cmd = 0;
    switch (mech) {
    case SIGNET_MECH_RSA_PKCS1: *cmd = YH_CMD_SIGN_PKCS1; if (rsa) return SIGNET_OK; break;
    case SIGNET_MECH_RSA_PSS: *cmd = YH_CMD_SIGN_PSS; if (rsa) return SIGNET_OK; break;
    case SIGNET_MECH_ECDSA: *cmd = YH_CMD_SIGN_ECDSA; if (ec) return SIGNET_OK; break;
    case SIGNET_MECH_EDDSA: *cmd = YH_CMD_SIGN_EDDSA; if (ed) return SIGNET_OK; break;
    }
    return signet_fail(SIGNET_E_ARG, "key '%s' is %s and cannot make %s signatures", e->name,
                       yh_algo_name(e->algorithm), yh_cmd_name(*cmd));
}

static signet_rc device_sign(hsm_session *sess, uint8_t cmd, uint16_t id,
                             const signet_sign_req *r, uint8_t *sig, size_t *sig_len)
{
    switch (cmd) {
    case YH_CMD_SIGN_PKCS1: return hsm_sign_pkcs1(sess, id, r->data, r->len, sig, sig_len);
    case YH_CMD_SIGN_PSS:
        return hsm_sign_pss(sess, id, r->pss_mgf1, r->pss_salt_len, r->data, r->len, sig, sig_len);
    case YH_CMD_SIGN_ECDSA: return hsm_sign_ecdsa(sess, id, r->data, r->len, sig, sig_len);
    default: return hsm_sign_eddsa(sess, id, r->data, r->len, sig, sig_len);
    }
}

static signet_rc record_signature(signet_signer *s, const signet_keymap_entry *e, uint8_t cmd,
                                  const signet_sign_req *r, const uint8_t *sig, size_t sig_len)
{
    signet_drain_result d;
    signet_rc rc = signet_audit_drain(s->trail, s->sess, s->serial, &d);
    if (rc)
        return signet_wrap(rc, "reading the device log after signing with '%s'", e->name);
    const signet_dev_entry *de = signet_drain_find(&d, cmd, e->id, hsm_session_auth_id(s->sess));

    signet_record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rec->type = SIGNET_REC_SIGN;
    rec->auth_id = hsm_session_auth_id(s->sess);
    rec->serial = s->serial;
    rec->seq = de ? de->seq : 0;
    snprintf(rec->key_name, sizeof rec->key_name, "%s", e->name);
    rec->key_id = e->id;
    rec->command = cmd;
    rc = signet_sha256(r->data, r->len, rec->data_sha256);
    if (rc == SIGNET_OK && sig_len > sizeof rec->sig)
        rc = signet_fail(SIGNET_E_STATE, "signature of %zu bytes is too long to record", sig_len);
    if (rc) {
        free(rec);
        return rc;
    }
    memcpy(rec->sig, sig, sig_len);
    rec->sig_len = sig_len;
    if (r->artifact_path)
        snprintf(rec->artifact, sizeof rec->artifact, "%s", r->artifact_path);
    if (r->artifact_sha256) {
        memcpy(rec->artifact_sha256, r->artifact_sha256, 32);
        rec->has_artifact_sha256 = true;
    }
    if (r->caller)
        snprintf(rec->caller, sizeof rec->caller, "%s", r->caller);
    rc = signet_trail_append_record(s->trail, rec);
    free(rec);
    if (rc == SIGNET_OK)
        s->since_checkpoint++;
    return rc;
}

/* Durable before the device is asked: a signer killed between the device's
 * signature and its record leaves an explained, unreleased signature. */
static signet_rc record_intent(signet_signer *s, const signet_keymap_entry *e, uint8_t cmd,
                               const signet_sign_req *r)
{
    signet_record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rec->type = SIGNET_REC_INTENT;
    rec->auth_id = hsm_session_auth_id(s->sess);
    rec->serial = s->serial;
    snprintf(rec->key_name, sizeof rec->key_name, "%s", e->name);
    rec->key_id = e->id;
    rec->command = cmd;
    signet_rc rc = signet_sha256(r->data, r->len, rec->data_sha256);
    if (rc == SIGNET_OK)
        rc = signet_trail_append_record(s->trail, rec);
    free(rec);
    return rc;
}

static bool checkpoint_due(const signet_signer *s)
{
    if (s->cfg.checkpoint_every && s->since_checkpoint >= s->cfg.checkpoint_every)
        return true;
    return s->cfg.checkpoint_seconds && s->since_checkpoint &&
           time(NULL) - s->last_checkpoint >= (time_t)s->cfg.checkpoint_seconds;
}

static int resident_slot(const signet_signer *s, uint16_t id)
{
    for (int i = 0; i < (int)(sizeof s->resident / sizeof s->resident[0]); i++)
        if (s->resident[i].id == id)
            return i;
    return -1;
}

/* Resolve: make the key resident (loading its wrapped copy, evicting others)
 * unless this signer saw it resident; keep its LRU stamp fresh to the second. */
static signet_rc resolve_key(signet_signer *s, const signet_keymap_entry *e)
{
    int i = resident_slot(s, e->id);
    time_t now = time(NULL);
    if (i >= 0) {
        if (s->resident[i].touched != now) {
            s->resident[i].touched = now;
            return signet_keystore_touch(s->ks, e->name);
        }
        return SIGNET_OK;
    }
    signet_evict_policy policy = {s->cfg.min_free_objects, s->cfg.min_free_pages};
    signet_rc rc = signet_keystore_ensure_resident(s->ks, s->sess, s->cfg.wrap_key_id, e, &policy);
    if (rc)
        return signet_wrap(rc, "loading key '%s'", e->name);
    /* Loading may have evicted keys this signer remembered: start afresh. */
    memset(s->resident, 0, sizeof s->resident);
    s->resident[0].id = e->id;
    s->resident[0].touched = now;
    s->next_slot = 1;
    return SIGNET_OK;
}

static void forget_resident(signet_signer *s, uint16_t id)
{
    int i = resident_slot(s, id);
    if (i >= 0)
        s->resident[i].id = 0;
}

static void remember_resident(signet_signer *s, uint16_t id)
{
    if (resident_slot(s, id) >= 0)
        return;
    unsigned n = sizeof s->resident / sizeof s->resident[0];
    s->resident[s->next_slot % n].id = id;
    s->resident[s->next_slot % n].touched = time(NULL);
    s->next_slot++;
}

/* Everything between the locks: resolve, drain, intent, sign, record. */
static signet_rc sign_locked(signet_signer *s, const signet_keymap_entry *e, uint8_t cmd,
                             const signet_sign_req *r, uint8_t *sig, size_t *sig_len)
{
    signet_rc rc;
    size_t cap = *sig_len;
    for (int attempt = 0;; attempt++) {
        if ((rc = resolve_key(s, e)) != SIGNET_OK)
            return rc;
        if (s->trail && (rc = signet_audit_drain(s->trail, s->sess, s->serial, NULL)) != SIGNET_OK)
            return signet_wrap(rc, "draining the device log before signing");
        /* One intent per signature: a retry after "not found" is the same intent. */
        if (s->trail && attempt == 0 && (rc = record_intent(s, e, cmd, r)) != SIGNET_OK)
            return signet_wrap(rc, "recording the intent to sign (nothing was signed)");
        *sig_len = cap;
        rc = device_sign(s->sess, cmd, e->id, r, sig, sig_len);
        if (rc == SIGNET_E_NOTFOUND && attempt == 0) {
            forget_resident(s, e->id); /* evicted by another process meanwhile */
            signet_err_clear();
            continue;
        }
        if (rc)
            return signet_wrap(rc, "signing with '%s'", e->name);
        remember_resident(s, e->id);
        break;
    }
    if (s->trail && (rc = record_signature(s, e, cmd, r, sig, *sig_len)) != SIGNET_OK) {
        /* No record, no signature: the caller never sees it. */
        smem_wipe(sig, *sig_len);
        *sig_len = 0;
        return signet_wrap(rc, "recording the signature (it was not released)");
    }
    if (checkpoint_due(s))
        (void)checkpoint_locked(s); /* retried at the next signature or at close */
    return SIGNET_OK;
}

signet_rc signet_sign(signet_signer *s, const signet_sign_req *r, uint8_t *sig, size_t *sig_len)
{
    const signet_keymap_entry *e = signet_keystore_find(s->ks, r->key_name);
    if (!e)
        return signet_fail(SIGNET_E_NOTFOUND,
                           "no key named '%s' in the key store %s; see `signet keys list`",
                           r->key_name, signet_keystore_dir(s->ks));
    uint8_t cmd;
    signet_rc rc = pick_command(e, r->mech, &cmd);
    if (rc)
        return rc;
    pthread_mutex_lock(&s->lock);
    if (s->trail && (rc = signet_trail_lock(s->trail)) != SIGNET_OK) {
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    rc = sign_locked(s, e, cmd, r, sig, sig_len);
    if (s->trail)
        signet_trail_unlock(s->trail);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

hsm_session *signet_signer_session(signet_signer *s) { return s->sess; }

signet_rc signet_sign_certificate(void *ctx, const signet_keymap_entry *e, const uint8_t *tbs,
                                  size_t len, int md_nid, uint8_t *sig, size_t *sig_len)
{
    signet_signer *s = ctx;
    uint8_t digest[EVP_MAX_MD_SIZE], tbs_sha256[32];
    unsigned dlen = 0;
    char what[SIGNET_KEY_NAME_MAX + 32];
    snprintf(what, sizeof what, "certificate of %s", e->name);
    signet_rc rc = signet_sha256(tbs, len, tbs_sha256);
    if (rc)
        return signet_wrap(rc, "hashing the certificate of '%s'", e->name);
    signet_sign_req req = {.key_name = e->name, .artifact_path = what,
                           .artifact_sha256 = tbs_sha256, .caller = "signet keys generate"};
    sb_wr di;
    sbw_init(&di, 128);
    if (md_nid == NID_undef) {
        req.mech = SIGNET_MECH_EDDSA;
        req.data = tbs;
        req.len = len;
    } else {
        const EVP_MD *md = EVP_get_digestbynid(md_nid);
        if ((rc = signet_hash(md, tbs, len, digest, &dlen)) != SIGNET_OK) {
            sbw_free(&di);
            return signet_wrap(rc, "hashing the certificate of '%s'", e->name);
        }
        if (yh_algo_is_rsa(e->algorithm)) {
            req.mech = SIGNET_MECH_RSA_PKCS1;
            rc = signet_digestinfo_encode(md_nid, digest, dlen, &di);
            req.data = di.p;
            req.len = di.len;
        } else {
            req.mech = SIGNET_MECH_ECDSA;
            req.data = digest;
            req.len = dlen;
        }
    }
    if (rc == SIGNET_OK)
        rc = signet_sign(s, &req, sig, sig_len);
    sbw_free(&di);
    return rc;
}

signet_rc signet_signer_record_key(signet_signer *s, const signet_keymap_entry *e,
                                   const char *event, const char *note)
{
    if (!s->trail)
        return SIGNET_OK;
    signet_record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    rec->type = SIGNET_REC_KEY;
    rec->auth_id = hsm_session_auth_id(s->sess);
    rec->serial = s->serial;
    snprintf(rec->key_name, sizeof rec->key_name, "%s", e->name);
    rec->key_id = e->id;
    snprintf(rec->event, sizeof rec->event, "%s", event);
    if (note)
        snprintf(rec->note, sizeof rec->note, "%s", note);
    pthread_mutex_lock(&s->lock);
    signet_rc rc = signet_trail_lock(s->trail);
    if (rc == SIGNET_OK) {
        /* Drain first so the record follows the device entries of the key's making. */
        rc = signet_audit_drain(s->trail, s->sess, s->serial, NULL);
        if (rc == SIGNET_OK)
            rc = signet_trail_append_record(s->trail, rec);
        if (rc == SIGNET_OK)
            s->since_checkpoint++;
        signet_trail_unlock(s->trail);
    }
    pthread_mutex_unlock(&s->lock);
    free(rec);
    return rc;
}

/* The signing path: see include/signet/sign.h.  This is the only place a product
 * signature is made on the device; the CLI, the PKCS#11 module and the helpers call
 * signet_sign() or signet_sign_batch().  The steps live in files by job (see
 * sign_internal.h): batch.c holds the sequence under the locks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "signet/digestinfo.h"
#include "signet/hash.h"
#include "signet/secmem.h"
#include "sign_internal.h"

/* The cache lives beside the trail: DIR.cache for the trail DIR, unless set. */
static signet_rc open_cache(signet_signer *s)
{
    const char *env = getenv("SIGNET_CACHE");
    if (!s->trail || s->cfg.cache_off || (env && !strcmp(env, "off")))
        return SIGNET_OK;
    char dir[1100];
    if (s->cfg.cache_dir[0])
        snprintf(dir, sizeof dir, "%s", s->cfg.cache_dir);
    else {
        size_t n = strlen(s->cfg.audit);
        while (n > 1 && s->cfg.audit[n - 1] == '/')
            n--;
        snprintf(dir, sizeof dir, "%.*s.cache", (int)n, s->cfg.audit);
    }
    return sign_cache_open(dir, &s->cache);
}

/* The signer over an open device (it owns dev from here, also on failure). */
static signet_rc open_device(const signet_config *cfg, signet_device *dev, signet_signer **out)
{
    *out = NULL;
    signet_signer *s = calloc(1, sizeof *s);
    if (!s) {
        signet_device_close(dev);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    s->cfg = *cfg;
    s->dev = dev;
    s->conn = dev->conn;
    s->sess = dev->sess;
    s->serial = dev->serial;
    s->last_checkpoint = time(NULL);
    pthread_mutex_init(&s->lock, NULL);
    signet_rc rc = signet_keystore_open(cfg->keystore[0] ? cfg->keystore : ".", &s->ks);
    if (rc == SIGNET_OK && cfg->audit[0])
        rc = signet_trail_open(cfg->audit, &s->trail);
    if (rc == SIGNET_OK)
        rc = open_cache(s);
    if (rc) {
        signet_signer_close(s);
        return rc;
    }
    *out = s;
    return SIGNET_OK;
}

signet_rc signet_signer_open_session(const signet_config *cfg, hsm_conn *conn, hsm_session *sess,
                                     signet_signer **out)
{
    *out = NULL;
    if (cfg->backend == SIGNET_BACKEND_PKCS11) {
        hsm_session_close(sess);
        hsm_conn_close(conn);
        return signet_fail(SIGNET_E_ARG, "signet.conf says backend = pkcs11: this command signs "
                                         "with a YubiHSM session (use signet_signer_open_config)");
    }
    signet_yubihsm_opts o = {.wrap_key_id = cfg->wrap_key_id,
                             .min_free_objects = cfg->min_free_objects,
                             .min_free_pages = cfg->min_free_pages,
                             .log_key_id = cfg->log_key_id};
    signet_device *dev;
    signet_rc rc = signet_device_yubihsm(conn, sess, &o, &dev);
    return rc ? rc : open_device(cfg, dev, out);
}

/* pin: the token's user PIN from the caller, or NULL for pkcs11_pin_file / the env. */
static signet_rc open_pkcs11(const signet_config *cfg, const char *pin, signet_signer **out)
{
    *out = NULL;
    if (cfg->backend != SIGNET_BACKEND_PKCS11)
        return signet_fail(SIGNET_E_ARG, "the YubiHSM backend needs a session (credentials)");
    signet_pkcs11_opts o = {.module = cfg->pkcs11_module, .token = cfg->pkcs11_token, .pin = pin,
                            .pin_file = cfg->pkcs11_pin_file[0] ? cfg->pkcs11_pin_file : NULL,
                            .log_key_label = cfg->log_key_label,
                            .wrap_key_label = cfg->pkcs11_wrap_key_label};
    signet_device *dev;
    signet_rc rc = signet_device_pkcs11(&o, &dev);
    return rc ? rc : open_device(cfg, dev, out);
}

signet_rc signet_signer_open_config(const signet_config *cfg, signet_signer **out)
{
    return open_pkcs11(cfg, NULL, out);
}

signet_rc signet_signer_open(const signet_config *cfg, uint16_t auth_id, const char *password,
                             signet_signer **out)
{
    hsm_conn *conn;
    hsm_session *sess;
    *out = NULL;
    if (cfg->backend == SIGNET_BACKEND_PKCS11)
        return open_pkcs11(cfg, password, out); /* the password is the token's PIN */
    signet_rc rc = hsm_conn_open(cfg->connector, &conn);
    if (rc)
        return rc;
    rc = hsm_session_open(conn, auth_id, password, &sess);
    if (rc) {
        hsm_conn_close(conn);
        return rc;
    }
    rc = signet_signer_open_session(cfg, conn, sess, out);
    if (rc == SIGNET_OK && cfg->failover[0]) {
        /* Kept (locked memory) to log in to a failover device. */
        (*out)->auth_id = auth_id;
        if (!((*out)->password = smem_strdup(password))) {
            signet_signer_close(*out);
            *out = NULL;
            return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
        }
    }
    return rc;
}

signet_keystore *signet_signer_keystore(signet_signer *s) { return s->ks; }
uint32_t signet_signer_serial(const signet_signer *s) { return s->serial; }
hsm_session *signet_signer_session(signet_signer *s) { return s->sess; }
void signet_signer_stats(const signet_signer *s, signet_sign_stats *out) { *out = s->stats; }
bool signet_signer_cache_on(const signet_signer *s) { return s->cache != NULL; }
signet_device *signet_signer_device(signet_signer *s) { return s->dev; }

void signet_signer_set_report(signet_signer *s, signet_report_fn fn, void *ctx)
{
    s->report = fn;
    s->report_ctx = ctx;
}

void signet_signer_set_cache(signet_signer *s, bool on)
{
    pthread_mutex_lock(&s->lock);
    if (!on) {
        sign_cache_close(s->cache);
        s->cache = NULL;
    } else if (!s->cache && open_cache(s) != SIGNET_OK) {
        signet_err_clear();
    }
    pthread_mutex_unlock(&s->lock);
}

void signet_signer_close(signet_signer *s)
{
    if (!s)
        return;
    if (s->trail && s->dev && s->since_checkpoint)
        (void)signet_signer_checkpoint(s); /* best effort: the records are durable already */
    sign_cache_close(s->cache);
    signet_trail_close(s->trail);
    signet_keystore_close(s->ks);
    signet_device_close(s->dev);
    smem_free(s->password);
    EVP_PKEY_free(s->auth_pkey);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

signet_rc signet_sign(signet_signer *s, const signet_sign_req *r, uint8_t *sig, size_t *sig_len)
{
    signet_batch_item it = {.req = *r, .sig = sig, .sig_cap = *sig_len};
    signet_rc rc = signet_sign_batch(s, &it, 1);
    *sig_len = rc == SIGNET_OK ? it.sig_len : 0;
    return rc;
}

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
                           .artifact_sha256 = tbs_sha256, .caller = "signet keys"};
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


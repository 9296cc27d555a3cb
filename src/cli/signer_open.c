/* Opens the signing path for the commands that sign release artifacts
 * (sign, avb-sign, payload-sign): configuration from --config / $SIGNET_CONF,
 * credentials from the global options. */
#include <string.h>

#include "cli.h"
#include "signet/digestinfo.h"
#include "signet/secmem.h"
#include "signet/sign.h"

signet_rc cli_open_signer(const struct cli_globals *g, signet_signer **out)
{
    signet_config cfg;
    signet_rc rc = signet_config_load(g->config, &cfg);
    if (rc)
        return rc;
    if (cfg.backend == SIGNET_BACKEND_PKCS11)
        return signet_signer_open_config(&cfg, out); /* the token's PIN, not a YubiHSM login */
    hsm_conn *conn;
    hsm_session *sess;
    /* With failover devices, the credential stays (locked memory) for their login. */
    struct cli_kept kept = {0};
    rc = cli_open_session_keep(g, &cfg, &conn, &sess, cfg.failover[0] ? &kept : NULL);
    if (rc == SIGNET_OK)
        rc = signet_signer_open_session(&cfg, conn, sess, out);
    if (rc == SIGNET_OK && (kept.password || kept.key) &&
        (rc = signet_signer_keep_credential(*out, kept.auth_id, kept.password, kept.key))) {
        signet_signer_close(*out);
        *out = NULL;
    }
    smem_free(kept.password);
    EVP_PKEY_free(kept.key);
    return rc;
}

signet_rc cli_sign_digest(struct signet_signer *s, const char *key, int md_nid,
                          const uint8_t *digest, size_t len, const char *artifact,
                          const uint8_t *artifact_sha256, uint8_t *sig, size_t *sig_len)
{
    const signet_keymap_entry *e = signet_keystore_find(signet_signer_keystore(s), key);
    if (!e)
        return signet_fail(SIGNET_E_NOTFOUND, "no key named '%s' in the key store; see "
                                              "`signet keys list`", key);
    signet_sign_req req = {.key_name = key, .artifact_path = artifact,
                           .artifact_sha256 = artifact_sha256, .caller = "signet"};
    sb_wr di;
    sbw_init(&di, 128);
    signet_rc rc = SIGNET_OK;
    if (yh_algo_is_rsa(e->algorithm)) {
        req.mech = SIGNET_MECH_RSA_PKCS1;
        rc = signet_digestinfo_encode(md_nid, digest, len, &di);
        req.data = di.p;
        req.len = di.len;
    } else if (yh_algo_is_ec(e->algorithm)) {
        req.mech = SIGNET_MECH_ECDSA;
        req.data = digest;
        req.len = len;
    } else {
        rc = signet_fail(SIGNET_E_ARG, "key '%s' (%s) cannot sign a digest; Ed25519 signs whole "
                                       "messages", key, yh_algo_name(e->algorithm));
    }
    if (rc == SIGNET_OK)
        rc = signet_sign(s, &req, sig, sig_len);
    sbw_free(&di);
    return rc;
}

/* Several HSMs serving one key store (`failover` in signet.conf): each holds the
 * same wrap key and credential, so any of them can load any key of the store.  When
 * the device a batch runs on stops answering, the signer moves to the next one and
 * the batch retries there what the lost device did not finish.  A signature the lost
 * device made but whose record was not written is wiped, never released; its intent
 * stays open in the trail and explains the lost device's log entry once that log is
 * read again (an interrupted signature, docs/audit.md). */
#include <string.h>

#include "signet/secmem.h"
#include "sign_internal.h"

bool signer_can_fail_over(const signet_signer *s)
{
    return (s->password || s->auth_pkey) && s->cfg.backend == SIGNET_BACKEND_YUBIHSM &&
           s->next_failover < strlen(s->cfg.failover);
}

/* The next URL of the failover list from *pos (space separated). */
static bool next_url(const char *list, size_t *pos, char *url, size_t cap)
{
    while (list[*pos] == ' ' || list[*pos] == ',')
        (*pos)++;
    size_t n = strcspn(list + *pos, " ,");
    if (n == 0 || n >= cap)
        return false;
    memcpy(url, list + *pos, n);
    url[n] = 0;
    *pos += n;
    return true;
}

signet_rc signer_failover(signet_signer *s)
{
    char url[256];
    uint32_t lost = s->serial;
    signet_yubihsm_opts o = {.wrap_key_id = s->cfg.wrap_key_id,
                             .min_free_objects = s->cfg.min_free_objects,
                             .min_free_pages = s->cfg.min_free_pages,
                             .log_key_id = s->cfg.log_key_id};
    while (signer_can_fail_over(s) &&
           next_url(s->cfg.failover, &s->next_failover, url, sizeof url)) {
        hsm_conn *conn = NULL;
        hsm_session *sess = NULL;
        signet_device *dev = NULL;
        signet_rc rc = hsm_conn_open(url, &conn);
        if (rc == SIGNET_OK &&
            (rc = s->auth_pkey ? hsm_session_open_asym(conn, s->auth_id, s->auth_pkey, &sess)
                               : hsm_session_open(conn, s->auth_id, s->password, &sess)))
            hsm_conn_close(conn);
        if (rc == SIGNET_OK)
            rc = signet_device_yubihsm(conn, sess, &o, &dev);
        if (rc != SIGNET_OK) {
            signer_warn(s, "failover device %s cannot be used: %s", url, signet_errmsg());
            signet_err_clear();
            continue;
        }
        signet_device_close(s->dev); /* the lost one: its session is gone with it */
        s->dev = dev;
        s->conn = dev->conn;
        s->sess = dev->sess;
        s->serial = dev->serial;
        memset(s->resident, 0, sizeof s->resident);
        s->stats.failovers++;
        signer_warn(s, "device %u stopped answering; continuing on device %u (%s)", lost,
                    dev->serial, url);
        return SIGNET_OK;
    }
    return signet_fail(SIGNET_E_NET, "device %u stopped answering and no failover device is left "
                                     "(failover in signet.conf)", lost);
}

signet_rc signet_signer_keep_credential(signet_signer *s, uint16_t auth_id, const char *password,
                                        EVP_PKEY *key)
{
    if (!s->cfg.failover[0] || s->cfg.backend != SIGNET_BACKEND_YUBIHSM)
        return SIGNET_OK;
    if (!password == !key)
        return signet_fail(SIGNET_E_ARG, "a failover credential is a password or a key");
    smem_free(s->password);
    s->password = NULL;
    EVP_PKEY_free(s->auth_pkey);
    s->auth_pkey = NULL;
    s->auth_id = auth_id;
    if (key) {
        if (EVP_PKEY_up_ref(key) != 1)
            return signet_fail(SIGNET_E_CRYPTO, "cannot keep the authentication key");
        s->auth_pkey = key;
    } else if (!(s->password = smem_strdup(password))) {
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    }
    return SIGNET_OK;
}

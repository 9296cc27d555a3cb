/* The one device session of the process: a signet_signer opened at C_Login and
 * shared by every PKCS#11 session, closed at logout, C_Finalize and exit.
 *
 * The credentials stay in locked memory while logged in, so that a forked child
 * (which must not use its parent's device session) can open its own when it first
 * signs.  The caller holds the module lock for all of these. */
#include <stdio.h>
#include <string.h>

#include "p11.h"
#include "signet/client.h"
#include "signet/secmem.h"

signet_rc p11_device_signer(signet_signer **out)
{
    if (!p11.signer) {
        if (!p11.logged_in || !p11.password)
            return signet_fail(SIGNET_E_STATE, "not logged in: call C_Login first");
        signet_rc rc = signet_signer_open(&p11.cfg, p11.auth_id, p11.password, &p11.signer);
        if (rc) {
            p11.signer = NULL;
            return rc;
        }
    }
    *out = p11.signer;
    return SIGNET_OK;
}

signet_rc p11_device_signer_for(const char *key_name, signet_signer **out)
{
    signet_rc rc = p11_device_signer(out);
    if (rc || signet_keystore_find(signet_signer_keystore(*out), key_name))
        return rc;
    /* The key reached the module's objects after the signer read the key store
     * (p11_objects_refresh): a fresh signer reads it again. */
    signet_signer_close(p11.signer);
    p11.signer = NULL;
    return p11_device_signer(out);
}

signet_rc p11_device_login(uint16_t auth_id, char *password_smem)
{
    p11_device_logout();
    signet_signer *s = NULL;
    signet_rc rc = signet_signer_open(&p11.cfg, auth_id, password_smem, &s);
    if (rc) {
        smem_free(password_smem);
        return rc;
    }
    p11.signer = s;
    p11.auth_id = auth_id;
    p11.password = password_smem;
    p11.logged_in = true;
    return SIGNET_OK;
}

void p11_device_logout(void)
{
    if (p11.signer)
        signet_signer_close(p11.signer);
    p11.signer = NULL;
    smem_free(p11.password);
    p11.password = NULL;
    p11.auth_id = 0;
    p11.logged_in = false;
}

void p11_device_forget(void)
{
    /* The parent's signer (its connection, its device session) is deliberately
     * leaked: freeing it would close the session the parent is still using. */
    p11.signer = NULL;
}

void p11_device_serial(char out[17])
{
    if (!p11.serial_known) {
        hsm_conn *c = NULL;
        char serial[32] = "", version[32];
        if (hsm_conn_open(p11.cfg.connector, &c) == SIGNET_OK &&
            hsm_conn_status(c, serial, sizeof serial, version, sizeof version) == SIGNET_OK &&
            serial[0] && strlen(serial) <= 16) {
            snprintf(p11.serial, sizeof p11.serial, "%s", serial);
            p11.serial_known = true;
        }
        hsm_conn_close(c);
    }
    /* Unknown until the connector answers once; then stable for the process. */
    snprintf(out, 17, "%s", p11.serial_known ? p11.serial : "0");
}

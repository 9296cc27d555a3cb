/* The YubiHSM 2 backend: today's device path behind the seam (backend.h).  Keys
 * are loaded on demand from their wrapped copies, the device log is drained into
 * the trail, checkpoints are signed by the Ed25519 log key on the device. */
#include <stdlib.h>

#include "signet/backend.h"

typedef struct {
    signet_yubihsm_opts o;
} yubihsm_impl;

static signet_rc yh_resolve(signet_device *d, signet_keystore *ks, const signet_keymap_entry *e)
{
    const yubihsm_impl *y = d->impl;
    signet_evict_policy policy = {y->o.min_free_objects, y->o.min_free_pages};
    return signet_keystore_ensure_resident(ks, d->sess, y->o.wrap_key_id, e, &policy);
}

static signet_rc yh_sign(signet_device *d, const signet_keymap_entry *e, const signet_dev_sign *r,
                         uint8_t *sig, size_t *sig_len)
{
    switch (r->cmd) {
    case YH_CMD_SIGN_PKCS1: return hsm_sign_pkcs1(d->sess, e->id, r->data, r->len, sig, sig_len);
    case YH_CMD_SIGN_PSS:
        return hsm_sign_pss(d->sess, e->id, r->pss_mgf1, r->pss_salt_len, r->data, r->len, sig,
                            sig_len);
    case YH_CMD_SIGN_ECDSA: return hsm_sign_ecdsa(d->sess, e->id, r->data, r->len, sig, sig_len);
    default: return hsm_sign_eddsa(d->sess, e->id, r->data, r->len, sig, sig_len);
    }
}

static signet_rc yh_drain(signet_device *d, signet_trail *t, signet_drain_result *out)
{
    return signet_audit_drain(t, d->sess, d->serial, out);
}

static signet_rc yh_checkpoint(signet_device *d, signet_trail *t, const char *origin)
{
    const yubihsm_impl *y = d->impl;
    return signet_audit_checkpoint(t, d->sess, d->serial, y->o.log_key_id, origin, NULL);
}

static void yh_close(signet_device *d)
{
    hsm_session_close(d->sess);
    hsm_conn_close(d->conn);
    free(d->impl);
    free(d);
}

static const signet_device_ops yubihsm_ops = {
    .kind = "yubihsm",
    .resolve = yh_resolve,
    .sign = yh_sign,
    .drain = yh_drain,
    .checkpoint = yh_checkpoint,
    .close = yh_close,
};

signet_rc signet_device_yubihsm(hsm_conn *conn, hsm_session *sess, const signet_yubihsm_opts *o,
                                signet_device **out)
{
    *out = NULL;
    signet_device *d = calloc(1, sizeof *d);
    yubihsm_impl *y = calloc(1, sizeof *y);
    if (!d || !y) {
        free(d);
        free(y);
        hsm_session_close(sess);
        hsm_conn_close(conn);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    y->o = *o;
    d->ops = &yubihsm_ops;
    d->conn = conn;
    d->sess = sess;
    d->impl = y;
    d->auth_id = hsm_session_auth_id(sess);
    hsm_devinfo info;
    signet_rc rc = hsm_device_info(conn, &info);
    if (rc) {
        yh_close(d);
        return rc;
    }
    d->serial = info.serial;
    *out = d;
    return SIGNET_OK;
}

void signet_device_close(signet_device *d)
{
    if (d)
        d->ops->close(d);
}

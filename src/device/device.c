/* The emulated YubiHSM 2: open/free, the one entry point hsm_device_transact(),
 * and the dispatch table from command codes to handlers.
 *
 * One mutex serialises commands like the device's single command processor.
 * A command that changed the state is persisted before its response leaves: a
 * change to the audit log alone as one journal record (journal.c), anything
 * else as a full state write.  The simulated device latency is slept after the
 * lock is released so that other connections are not held up by the sleep. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev.h"
#include "signet/secmem.h"

/* ---- dispatch --------------------------------------------------------------- */

typedef struct {
    uint8_t cmd;
    dev_handler fn;
} dev_cmd_entry;

static const dev_cmd_entry handlers[] = {
    {YH_CMD_ECHO, cmd_echo},
    {YH_CMD_DEVICE_INFO, cmd_device_info},
    {YH_CMD_RESET_DEVICE, cmd_reset_device},
    {YH_CMD_CLOSE_SESSION, cmd_close_session},
    {YH_CMD_GET_STORAGE_INFO, cmd_storage_info},
    {YH_CMD_PUT_OPAQUE, cmd_put_opaque},
    {YH_CMD_GET_OPAQUE, cmd_get_opaque},
    {YH_CMD_PUT_AUTHENTICATION_KEY, cmd_put_auth_key},
    {YH_CMD_PUT_ASYMMETRIC_KEY, cmd_put_asymmetric},
    {YH_CMD_GENERATE_ASYMMETRIC_KEY, cmd_generate_asymmetric},
    {YH_CMD_SIGN_PKCS1, cmd_sign_pkcs1},
    {YH_CMD_LIST_OBJECTS, cmd_list_objects},
    {YH_CMD_EXPORT_WRAPPED, cmd_export_wrapped},
    {YH_CMD_IMPORT_WRAPPED, cmd_import_wrapped},
    {YH_CMD_PUT_WRAP_KEY, cmd_put_wrap_key},
    {YH_CMD_GET_LOG_ENTRIES, cmd_get_log_entries},
    {YH_CMD_GET_OBJECT_INFO, cmd_get_object_info},
    {YH_CMD_SET_OPTION, cmd_set_option},
    {YH_CMD_GET_OPTION, cmd_get_option},
    {YH_CMD_GET_PSEUDO_RANDOM, cmd_get_pseudo_random},
    {YH_CMD_GET_PUBLIC_KEY, cmd_get_public_key},
    {YH_CMD_SIGN_PSS, cmd_sign_pss},
    {YH_CMD_SIGN_ECDSA, cmd_sign_ecdsa},
    {YH_CMD_DELETE_OBJECT, cmd_delete_object},
    {YH_CMD_GENERATE_WRAP_KEY, cmd_generate_wrap_key},
    {YH_CMD_SET_LOG_INDEX, cmd_set_log_index},
    {YH_CMD_SIGN_EDDSA, cmd_sign_eddsa},
    {YH_CMD_CHANGE_AUTHENTICATION_KEY, cmd_change_auth_key},
    {YH_CMD_GET_DEVICE_PUBKEY, cmd_get_device_pubkey},
    {YH_CMD_SIGN_ATTESTATION_CERTIFICATE, cmd_sign_attestation},
    {YH_CMD_PUT_HMAC_KEY, cmd_put_hmac_key},
    {YH_CMD_GENERATE_HMAC_KEY, cmd_generate_hmac_key},
    {YH_CMD_SIGN_HMAC, cmd_sign_hmac},
    {YH_CMD_VERIFY_HMAC, cmd_verify_hmac},
    {YH_CMD_DECRYPT_PKCS1, cmd_decrypt_pkcs1},
    {YH_CMD_DECRYPT_OAEP, cmd_decrypt_oaep},
    {YH_CMD_DERIVE_ECDH, cmd_derive_ecdh},
    {YH_CMD_WRAP_DATA, cmd_wrap_data},
    {YH_CMD_UNWRAP_DATA, cmd_unwrap_data},
    {YH_CMD_PUT_SYMMETRIC_KEY, cmd_put_symmetric_key},
    {YH_CMD_GENERATE_SYMMETRIC_KEY, cmd_generate_symmetric_key},
    {YH_CMD_ENCRYPT_ECB, cmd_encrypt_ecb},
    {YH_CMD_DECRYPT_ECB, cmd_decrypt_ecb},
    {YH_CMD_ENCRYPT_CBC, cmd_encrypt_cbc},
    {YH_CMD_DECRYPT_CBC, cmd_decrypt_cbc},
    {YH_CMD_BLINK_DEVICE, cmd_blink},
    /* Not emulated, answered "invalid command" by having no handler: OTP AEAD
     * keys (60-63, 65, 66), SSH certificates and templates (5d-5f), and the
     * RSA-wrapped export and import of firmware 2.4 (73-77). */
};

dev_handler dev_find_handler(uint8_t cmd)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].cmd == cmd)
            return handlers[i].fn;
    return NULL;
}

/* The commands firmware 2.4 lists in Get Option (command-audit), in its order
 * (Yubico's documentation of the option shows this list). */
const uint8_t dev_audit_cmds[] = {
    0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x09, 0x08, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45,
    0x46, 0x47, 0x55, 0x56, 0x48, 0x49, 0x57, 0x4a, 0x4b, 0x4c, 0x4d, 0x67, 0x4e, 0x4f,
    0x50, 0x51, 0x52, 0x53, 0x54, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x60,
    0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x0a, 0x6d, 0x6e,
    0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77,
};
const size_t dev_n_audit_cmds = sizeof dev_audit_cmds;

bool dev_is_audit_cmd(uint8_t cmd)
{
    return memchr(dev_audit_cmds, cmd, sizeof dev_audit_cmds) != NULL;
}

/* ---- clock and persistence ------------------------------------------------------ */

static uint64_t monotonic_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t dev_now(const hsm_device *dev) { return dev->now_ms(dev->now_ctx); }

uint32_t dev_systick(const hsm_device *dev) { return (uint32_t)(dev_now(dev) - dev->boot_ms); }

signet_rc dev_persist(hsm_device *dev)
{
    /* The full state includes every log change noted so far. */
    dev->journal.n_pending = 0;
    if (!dev->state_path)
        return SIGNET_OK;
    uint8_t sum[DEV_STATE_SUM_LEN];
    signet_rc rc = dev_state_save(dev->st, dev->state_path, sum);
    if (!rc)
        rc = dev_journal_restart(&dev->journal, sum);
    if (rc)
        dev->broken = true;
    return rc;
}

signet_rc dev_persist_log(hsm_device *dev)
{
    dev_journal *j = &dev->journal;
    if (j->n_pending == 0)
        return SIGNET_OK;
    if (!dev->state_path) {
        j->n_pending = 0;
        return SIGNET_OK;
    }
    /* Fold: a journal at its bound (or a command with more than one log
     * change, or no journal yet) is written as a full state. */
    if (j->n_pending > 1 || j->fd < 0 || j->records >= DEV_JOURNAL_MAX_RECORDS)
        return dev_persist(dev);
    signet_rc rc = dev_journal_append(dev);
    if (rc)
        dev->broken = true;
    return rc;
}

/* ---- open / free ---------------------------------------------------------------- */

signet_rc hsm_device_open(const hsm_device_opts *opts, hsm_device **out)
{
    *out = NULL;
    hsm_device_opts o = {0};
    if (opts)
        o = *opts;
    bool latency = false;
    if (o.latency_profile && strcmp(o.latency_profile, "none") != 0) {
        if (strcmp(o.latency_profile, "yubihsm2") != 0)
            return signet_fail(SIGNET_E_ARG,
                               "unknown latency profile '%s': use \"none\" or \"yubihsm2\"",
                               o.latency_profile);
        latency = true;
    }
    hsm_device *dev = calloc(1, sizeof *dev);
    if (!dev)
        return signet_fail(SIGNET_E_NOMEM, "out of memory creating the device");
    dev->st = smem_alloc(sizeof *dev->st);
    dev->sessions = smem_alloc(YH_MAX_SESSIONS * sizeof *dev->sessions);
    dev->journal.fd = -1;
    if (opts && opts->state_path)
        dev->state_path = strdup(opts->state_path);
    if (!dev->st || !dev->sessions || (opts && opts->state_path && !dev->state_path)) {
        hsm_device_free(dev);
        return signet_fail(SIGNET_E_NOMEM, "out of memory creating the device");
    }
    signet_rc rc = dev_journal_init(&dev->journal, dev->state_path);
    if (rc) {
        hsm_device_free(dev);
        return rc;
    }
    pthread_mutex_init(&dev->lock, NULL);
    dev->timeout_ms = (o.session_timeout_s ? o.session_timeout_s : DEV_DEFAULT_TIMEOUT_S) * 1000u;
    dev->latency = latency;
    dev->now_ms = o.now_ms ? o.now_ms : monotonic_ms;
    dev->now_ctx = o.now_ctx;
    dev->boot_ms = dev_now(dev);

    rc = SIGNET_E_NOTFOUND;
    if (dev->state_path) {
        /* The state file, then the log changes journaled since it was written. */
        uint8_t sum[DEV_STATE_SUM_LEN];
        rc = dev_state_load(dev->st, dev->state_path, sum);
        if (rc == SIGNET_OK || rc == SIGNET_E_NOTFOUND) {
            /* without a state file the journal extends nothing: it is dropped */
            signet_rc jrc = dev_journal_replay(dev->st, dev->journal.path, rc ? NULL : sum);
            if (jrc)
                rc = jrc;
        }
        if (rc && rc != SIGNET_E_NOTFOUND) {
            hsm_device_free(dev);
            return rc;
        }
    }
    if (rc == SIGNET_E_NOTFOUND) {
        /* A new device: factory state (which includes its first boot). */
        dev_state_factory(dev->st, o.serial ? o.serial : DEV_DEFAULT_SERIAL);
        if (!dev_obj_find(dev->st, YH_TYPE_AUTHENTICATION_KEY, 1)) {
            hsm_device_free(dev);
            return signet_fail(SIGNET_E_NOMEM, "out of locked memory creating the factory authentication key");
        }
    } else {
        /* Opening an existing state is a power cycle: sessions are gone and
         * the boot is logged. */
        dev_log_boot(dev);
    }
    /* A new device, or a state from before the device had keys of its own. */
    if (!dev->st->id.present && dev_identity_create(&dev->st->id, dev->st->serial)) {
        hsm_device_free(dev);
        return signet_fail(SIGNET_E_CRYPTO, "cannot create the device's static and attestation "
                                            "keys: check the OpenSSL 3 installation");
    }
    /* The full write folds the replayed journal into the state and empties it. */
    if ((rc = dev_persist(dev)) != SIGNET_OK || (rc = dev_write_ca_file(dev)) != SIGNET_OK) {
        hsm_device_free(dev);
        return rc;
    }
    *out = dev;
    return SIGNET_OK;
}

void hsm_device_free(hsm_device *dev)
{
    if (!dev)
        return;
    if (dev->st) {
        dev_state_free_objects(dev->st);
        smem_free(dev->st);
    }
    smem_free(dev->sessions);
    dev_journal_close(&dev->journal);
    free(dev->state_path);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

uint32_t hsm_device_serial(const hsm_device *dev) { return dev->st->serial; }

const char *hsm_device_version(const hsm_device *dev)
{
    (void)dev;
    return "2.4.0";
}

/* ---- one request ------------------------------------------------------------------ */

/* Commands valid outside a session (plain frames). */
static void plain_command(hsm_device *dev, uint8_t cmd, const uint8_t *data, size_t len,
                          sb_wr *resp)
{
    uint8_t buf[YH_MAX_FRAME];
    sb_wr out;
    sbw_init_fixed(&out, buf, sizeof buf);
    dev_req rq = {.dev = dev, .cmd = cmd, .data = data, .len = len, .out = &out,
                  .target = DEV_NO_KEY, .second = DEV_NO_KEY};
    uint8_t code;
    if (cmd == YH_CMD_ECHO)
        code = cmd_echo(&rq);
    else if (cmd == YH_CMD_DEVICE_INFO)
        code = cmd_device_info(&rq);
    else if (cmd == YH_CMD_GET_DEVICE_PUBKEY)
        code = cmd_get_device_pubkey(&rq);
    else
        code = YH_ERR_INVALID_COMMAND; /* everything else needs a session */
    sbw_reset(resp);
    if (code || yh_frame_encode(resp, YH_RESPONSE(cmd), out.p, out.len) != SIGNET_OK) {
        sbw_reset(resp);
        yh_frame_error(resp, code ? code : YH_ERR_WRONG_LENGTH);
    }
}

signet_rc hsm_device_transact(hsm_device *dev, const uint8_t *req, size_t req_len, uint8_t *resp,
                              size_t *resp_len)
{
    sb_wr w;
    sbw_init_fixed(&w, resp, YH_MAX_FRAME);
    unsigned latency = 0;
    signet_rc rc = SIGNET_OK;
    uint8_t cmd;
    const uint8_t *data;
    size_t len;

    pthread_mutex_lock(&dev->lock);
    if (dev->broken) {
        yh_frame_error(&w, YH_ERR_STORAGE_FAILED);
        rc = signet_fail(SIGNET_E_IO, "the device state could not be saved earlier; restart "
                         "signet-hsm after fixing the disk");
        goto out;
    }
    dev_sessions_expire(dev);
    if (yh_frame_decode(req, req_len, &cmd, &data, &len) != SIGNET_OK) {
        yh_frame_error(&w, YH_ERR_WRONG_LENGTH);
        goto out;
    }
    switch (cmd) {
    case YH_CMD_CREATE_SESSION:
    case YH_CMD_AUTHENTICATE_SESSION:
        if (cmd == YH_CMD_CREATE_SESSION)
            dev_create_session(dev, data, len, &w);
        else
            dev_authenticate_session(dev, req, req_len, data, len, &w);
        /* an audited opening changed the log (or its counter) only */
        rc = dev_persist_log(dev);
        latency = dev->latency ? dev_latency_ms(cmd, 0) : 0;
        break;
    case YH_CMD_SESSION_MESSAGE:
        rc = dev_session_message(dev, req, req_len, data, len, &w, &latency);
        if (!dev->latency)
            latency = 0;
        break;
    default:
        plain_command(dev, cmd, data, len, &w);
        latency = dev->latency ? dev_latency_ms(cmd, 0) : 0;
        break;
    }
    if (rc) {
        /* The change could not be made durable: the answer must not claim it. */
        sbw_reset(&w);
        yh_frame_error(&w, YH_ERR_STORAGE_FAILED);
    }
out:
    pthread_mutex_unlock(&dev->lock);
    *resp_len = w.len;
    if (latency)
        dev_sleep_ms(latency);
    return rc;
}

/* What a ceremony does to one device: connect and check the firmware, log in with
 * the factory key, reset, read the fresh log, prove the device clean, fix the audit
 * options, drain the log into the trail, put the wrap key, describe the objects.
 * Provision runs these on two devices, restore on one. */
#include <string.h>
#include <time.h>

#include "ceremony_internal.h"
#include "signet/proto.h"

#define RESET_RETRIES 50
#define RESET_RETRY_MS 200

void cer_dev_version(const cer_device *d, char out[16])
{
    snprintf(out, 16, "%u.%u.%u", d->info.major, d->info.minor, d->info.patch);
}

signet_rc cer_dev_connect(cer_device *d)
{
    signet_rc rc;
    if (!d->conn) {
        if ((rc = hsm_conn_open(d->url, &d->conn)))
            return signet_wrap(rc, "connecting to the %s at %s", d->role, d->url);
        d->own_conn = true;
    }
    char serial[32], version[64];
    if ((rc = hsm_conn_status(d->conn, serial, sizeof serial, version, sizeof version)))
        return signet_wrap(rc, "the %s's connector (%s)", d->role, d->url ? d->url : "in-process");
    if ((rc = hsm_device_info(d->conn, &d->info)))
        return signet_wrap(rc, "reading the %s's device information", d->role);
    d->serial = d->info.serial;
    /* 2.4.0 brought the larger messages and the fixes later sections rely on; 2.3
     * brought asymmetric authentication, which the admin and auditor use. */
    if (d->info.major < 2 || (d->info.major == 2 && d->info.minor < 4))
        return signet_fail(SIGNET_E_UNSUPPORTED,
                           "the %s (serial %u) runs firmware %u.%u.%u; the ceremony needs 2.4.0 or "
                           "later (asymmetric credentials, complete audit options): use another "
                           "device",
                           d->role, d->serial, d->info.major, d->info.minor, d->info.patch);
    return SIGNET_OK;
}

signet_rc cer_dev_login(cer_device *d, uint16_t auth_id, const char *password, EVP_PKEY *key)
{
    hsm_session_close(d->sess);
    d->sess = NULL;
    signet_rc rc;
    if (key)
        rc = hsm_session_open_asym(d->conn, auth_id, key, &d->sess);
    else if (auth_id)
        rc = hsm_session_open(d->conn, auth_id, password, &d->sess);
    else
        rc = hsm_session_open(d->conn, CER_FACTORY_AUTH_ID, CER_FACTORY_PASSWORD, &d->sess);
    if (rc && !auth_id && (rc == SIGNET_E_AUTH || rc == SIGNET_E_NOTFOUND))
        return signet_wrap(rc, "logging in to the %s (serial %u) with the factory key (id 1, "
                               "password \"password\") failed: the device is not in factory "
                               "state; reset it first (docs/ceremony.md, \"Resetting a device\")",
                           d->role, d->serial);
    if (rc)
        return signet_wrap(rc, "logging in to the %s (serial %u) with authentication key %u",
                           d->role, d->serial, auth_id ? auth_id : CER_FACTORY_AUTH_ID);
    return SIGNET_OK;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

signet_rc cer_dev_reset(cer_device *d)
{
    uint32_t serial = d->serial;
    signet_rc rc = hsm_reset_device(d->sess);
    hsm_session_close(d->sess);
    d->sess = NULL;
    if (rc)
        return signet_wrap(rc, "resetting the %s (serial %u)", d->role, serial);
    /* A real device reboots after a reset: wait for it to answer again. */
    for (int i = 0; i < RESET_RETRIES; i++) {
        rc = hsm_device_info(d->conn, &d->info);
        if (rc == SIGNET_OK)
            rc = cer_dev_login(d, 0, NULL, NULL);
        if (rc != SIGNET_E_NET && rc != SIGNET_E_BUSY)
            break;
        sleep_ms(RESET_RETRY_MS);
    }
    if (rc)
        return signet_wrap(rc, "the %s (serial %u) after its reset", d->role, serial);
    if (d->info.serial != serial)
        return signet_fail(SIGNET_E_STATE, "after the reset the %s answers with serial %u instead "
                                           "of %u: another device is behind its connector",
                           d->role, d->info.serial, serial);
    return SIGNET_OK;
}

signet_rc cer_dev_read_log(cer_device *d, hsm_log *log)
{
    memset(log, 0, sizeof *log);
    signet_rc rc = hsm_get_log_entries(d->sess, log);
    return rc ? signet_wrap(rc, "reading the %s's audit log", d->role) : SIGNET_OK;
}

static bool is_start_entry(const yh_log_entry *e)
{
    return e->number == 1 && e->command == 0xff && e->length == 0xffff &&
           e->session_key == 0xffff && e->target_key == 0xffff && e->second_key == 0xffff &&
           e->result == 0xff && e->systick == 0xffffffffu;
}

signet_rc cer_dev_check_fresh_log(const cer_device *d, const hsm_log *log)
{
    if (log->n == 0 || !is_start_entry(&log->entries[0]))
        return signet_fail(SIGNET_E_STATE,
                           "the %s's log does not begin at the start entry after the reset: the "
                           "reset did not happen as expected; rerun the ceremony",
                           d->role);
    if (log->unlogged_boots || log->unlogged_auths)
        return signet_fail(SIGNET_E_STATE, "the %s reports unlogged events right after its reset: "
                                           "rerun the ceremony",
                           d->role);
    /* Firmware 2.3.1+ audits nothing by default: after the start entry only boots
     * (and, on some firmware, our own session set-up) may appear. */
    for (size_t i = 1; i < log->n; i++) {
        uint8_t c = log->entries[i].command;
        if (c != 0 && c != YH_CMD_CREATE_SESSION && c != YH_CMD_AUTHENTICATE_SESSION)
            return signet_fail(SIGNET_E_STATE,
                               "the %s's log holds command 0x%02x (%s) right after the reset: "
                               "something else used the device; isolate it and rerun the ceremony",
                               d->role, c, yh_cmd_name(c));
    }
    return SIGNET_OK;
}

signet_rc cer_dev_anchor(cer_device *d, signet_trail *t, const hsm_log *log)
{
    signet_rc rc = signet_trail_add_anchor(t, d->serial, log);
    if (rc)
        return signet_wrap(rc, "anchoring the %s's log", d->role);
    /* The anchored entries are in the trail: the device may forget them, and the
     * next drain starts after them. */
    if (log->n && (rc = hsm_set_log_index(d->sess, log->entries[log->n - 1].number)))
        return signet_wrap(rc, "consuming the %s's anchored log entries", d->role);
    return SIGNET_OK;
}

signet_rc cer_dev_prove_clean(cer_device *d)
{
    hsm_object_ref refs[YH_MAX_OBJECTS];
    size_t n = 0;
    signet_rc rc = hsm_list_objects(d->sess, NULL, refs, YH_MAX_OBJECTS, &n);
    if (rc)
        return signet_wrap(rc, "listing the %s's objects", d->role);
    if (n != 1 || refs[0].type != YH_TYPE_AUTHENTICATION_KEY || refs[0].id != CER_FACTORY_AUTH_ID)
        return signet_fail(SIGNET_E_STATE,
                           "after the reset the %s lists %zu objects (the first: %s 0x%04x) where "
                           "only the factory authentication key should be: do not use this device",
                           d->role, n, n ? yh_type_name(refs[0].type) : "none", n ? refs[0].id : 0);
    yh_object_info oi;
    if ((rc = hsm_get_object_info(d->sess, CER_FACTORY_AUTH_ID, YH_TYPE_AUTHENTICATION_KEY, &oi)))
        return signet_wrap(rc, "reading the %s's factory key", d->role);
    /* The factory key sees every domain, so the list above covers all of them. */
    if (oi.domains != 0xffff)
        return signet_fail(SIGNET_E_STATE, "the %s's factory key covers domains 0x%04x, not all 16: "
                                           "objects in the others would stay hidden",
                           d->role, oi.domains);
    hsm_storage st;
    if ((rc = hsm_storage_info(d->sess, &st)))
        return signet_wrap(rc, "reading the %s's storage", d->role);
    if (st.total_records - st.free_records != 1)
        return signet_fail(SIGNET_E_STATE, "the %s uses %u object records after the reset where "
                                           "only the factory key should use one: do not use it",
                           d->role, (unsigned)(st.total_records - st.free_records));
    return SIGNET_OK;
}

signet_rc cer_dev_set_audit(cer_device *d, size_t *n_commands)
{
    uint8_t buf[1024], pairs[1024];
    sb_wr cur, want;
    sbw_init_fixed(&cur, buf, sizeof buf);
    sbw_init_fixed(&want, pairs, sizeof pairs);
    signet_rc rc = hsm_get_option(d->sess, YH_OPTION_COMMAND_AUDIT, &cur);
    if (rc)
        return signet_wrap(rc, "reading the %s's command-audit option", d->role);
    if (cur.len % 2)
        return signet_fail(SIGNET_E_PARSE, "the %s's command-audit option has an odd length", d->role);
    /* The device names the commands it can audit; all of them, in one call, except
     * those whose auditing could lock it until a physical reset. */
    size_t n = 0;
    for (size_t i = 0; i < cur.len; i += 2) {
        if (yh_cmd_audit_would_lock(cur.p[i]))
            continue;
        if ((rc = sbw_u8(&want, cur.p[i])) || (rc = sbw_u8(&want, YH_OPT_FIXED)))
            return rc;
        n++;
    }
    if (n == 0)
        return signet_fail(SIGNET_E_STATE, "the %s reports no auditable commands", d->role);
    if ((rc = hsm_set_option(d->sess, YH_OPTION_COMMAND_AUDIT, want.p, want.len)))
        return signet_wrap(rc, "setting command-audit on the %s", d->role);
    uint8_t fixed = YH_OPT_FIXED;
    if ((rc = hsm_set_option(d->sess, YH_OPTION_FORCE_AUDIT, &fixed, 1)))
        return signet_wrap(rc, "setting force-audit on the %s", d->role);
    /* Read back: the device must report what was set. */
    sbw_reset(&cur);
    if ((rc = hsm_get_option(d->sess, YH_OPTION_COMMAND_AUDIT, &cur)))
        return signet_wrap(rc, "reading back the %s's command-audit option", d->role);
    for (size_t i = 0; i + 1 < cur.len; i += 2) {
        uint8_t expect = yh_cmd_audit_would_lock(cur.p[i]) ? YH_OPT_OFF : YH_OPT_FIXED;
        if (cur.p[i + 1] != expect)
            return signet_fail(SIGNET_E_STATE, "the %s reports command-audit %u for %s after it was "
                                               "set to %u",
                               d->role, cur.p[i + 1], yh_cmd_name(cur.p[i]), expect);
    }
    uint8_t fb[8];
    sb_wr f;
    sbw_init_fixed(&f, fb, sizeof fb);
    if ((rc = hsm_get_option(d->sess, YH_OPTION_FORCE_AUDIT, &f)))
        return signet_wrap(rc, "reading back the %s's force-audit option", d->role);
    if (f.len != 1 || f.p[0] != YH_OPT_FIXED)
        return signet_fail(SIGNET_E_STATE, "the %s does not report force-audit fixed after it was "
                                           "set",
                           d->role);
    *n_commands = n;
    return SIGNET_OK;
}

signet_rc cer_dev_drain(cer_device *d, signet_trail *t)
{
    signet_drain_result res;
    memset(&res, 0, sizeof res);
    signet_rc rc = signet_audit_drain(t, d->sess, d->serial, &res);
    if (rc)
        return signet_wrap(rc, "draining the %s's audit log into the trail", d->role);
    if (res.lost)
        return signet_fail(SIGNET_E_VERIFY, "the %s dropped %llu audit log entries during the "
                                            "ceremony before they were read: treat it as an "
                                            "incident and rerun the ceremony",
                           d->role, (unsigned long long)res.lost);
    if (res.unlogged_boots || res.unlogged_auths)
        return signet_fail(SIGNET_E_VERIFY, "the %s reports %u unlogged boots and %u unlogged "
                                            "authentications during the ceremony: treat it as an "
                                            "incident and rerun the ceremony",
                           d->role, res.unlogged_boots, res.unlogged_auths);
    return SIGNET_OK;
}

signet_rc cer_dev_put_wrap_key(cer_device *d, const sss_wrapkey *wk)
{
    hsm_object_attrs a = {.id = wk->id, .label = SIGNET_WRAP_LABEL, .domains = wk->domains,
                          .capabilities = wk->capabilities, .delegated = wk->delegated,
                          .algorithm = SIGNET_WRAP_ALGORITHM};
    uint16_t id = 0;
    signet_rc rc = hsm_put_wrap_key(d->sess, &a, wk->key, sizeof wk->key, &id);
    if (rc)
        return signet_wrap(rc, "putting the wrap key into the %s", d->role);
    yh_object_info oi;
    if (id != wk->id)
        return signet_fail(SIGNET_E_STATE, "the %s stored the wrap key as 0x%04x instead of 0x%04x",
                           d->role, id, wk->id);
    if ((rc = hsm_get_object_info(d->sess, id, YH_TYPE_WRAP_KEY, &oi)))
        return signet_wrap(rc, "reading back the %s's wrap key", d->role);
    if (oi.capabilities != wk->capabilities || oi.delegated_capabilities != wk->delegated ||
        oi.domains != wk->domains || oi.algorithm != SIGNET_WRAP_ALGORITHM)
        return signet_fail(SIGNET_E_STATE, "the %s reports other attributes for the wrap key than "
                                           "were put: do not use this device",
                           d->role);
    return SIGNET_OK;
}

signet_rc cer_dev_describe_objects(cer_device *d, sb_wr *out)
{
    hsm_object_ref refs[YH_MAX_OBJECTS];
    size_t n = 0;
    signet_rc rc = hsm_list_objects(d->sess, NULL, refs, YH_MAX_OBJECTS, &n);
    if (rc)
        return signet_wrap(rc, "listing the %s's objects", d->role);
    sb_wr caps, dcaps, doms;
    sbw_init(&caps, 4096);
    sbw_init(&dcaps, 4096);
    sbw_init(&doms, 256);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        yh_object_info oi;
        if ((rc = hsm_get_object_info(d->sess, refs[i].id, refs[i].type, &oi)))
            break;
        sbw_reset(&caps);
        sbw_reset(&dcaps);
        sbw_reset(&doms);
        if ((rc = yh_caps_format(oi.capabilities, &caps)) || (rc = sbw_u8(&caps, 0)) ||
            (rc = yh_caps_format(oi.delegated_capabilities, &dcaps)) || (rc = sbw_u8(&dcaps, 0)) ||
            (rc = yh_domains_format(oi.domains, &doms)) || (rc = sbw_u8(&doms, 0)))
            break;
        rc = sbw_printf(out,
                        "object %s %u 0x%04x %s %s sequence=%u origin=0x%02x domains=%s "
                        "capabilities=%s delegated=%s label=%s\n",
                        d->role, d->serial, oi.id, yh_type_name(oi.type), yh_algo_name(oi.algorithm),
                        oi.sequence, oi.origin, (const char *)doms.p, (const char *)caps.p,
                        (const char *)dcaps.p, oi.label);
    }
    sbw_free(&caps);
    sbw_free(&dcaps);
    sbw_free(&doms);
    return rc ? signet_wrap(rc, "describing the %s's objects", d->role) : SIGNET_OK;
}

void cer_dev_close(cer_device *d)
{
    hsm_session_close(d->sess);
    d->sess = NULL;
    if (d->own_conn)
        hsm_conn_close(d->conn);
    d->conn = NULL;
    d->own_conn = false;
}

/* `signet hsm` commands for the device's audit log and options, and reset. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "hsm_cmds.h"
#include "signet/audit.h"
#include "signet/proto.h"

/* ---- log ------------------------------------------------------------------ */

static bool parse_digest(const char *s, size_t n, uint8_t out[YH_LOG_DIGEST_LEN])
{
    if (n != 2 * YH_LOG_DIGEST_LEN)
        return false;
    sb_wr w;
    sbw_init_fixed(&w, out, YH_LOG_DIGEST_LEN);
    return hex_decode(&w, s, n) == SIGNET_OK && w.len == YH_LOG_DIGEST_LEN;
}

/* "N:HEXDIGEST" */
signet_rc hsm_p_anchor(const char *s, void *dst)
{
    struct hsm_log_anchor *a = dst;
    char *end;
    unsigned long n = strtoul(s, &end, 10);
    if (end == s || *end != ':' || n > 0xffff || !parse_digest(end + 1, strlen(end + 1), a->digest))
        return signet_fail(SIGNET_E_ARG, "'%s' is not N:DIGEST (entry number, 32 hex digits)", s);
    a->number = (uint16_t)n;
    a->set = true;
    return SIGNET_OK;
}

/* The last "number=N ... digest=HEX" line of an earlier `signet hsm log` output. */
static signet_rc anchor_from_file(const char *path, struct hsm_log_anchor *a)
{
    sb_wr text;
    sbw_init(&text, 1 << 20);
    signet_rc rc = hsm_read_file(path, 1 << 20, &text);
    if (rc == SIGNET_OK)
        rc = sbw_u8(&text, 0);
    if (rc) {
        sbw_free(&text);
        return rc;
    }
    char *save = NULL;
    for (char *line = strtok_r((char *)text.p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *num = strstr(line, "number=");
        const char *dig = strstr(line, "digest=");
        if (num != line || !dig)
            continue;
        char *end;
        unsigned long n = strtoul(num + 7, &end, 10);
        size_t dl = strcspn(dig + 7, " \t\r");
        struct hsm_log_anchor cand;
        if (end != num + 7 && n <= 0xffff && parse_digest(dig + 7, dl, cand.digest)) {
            cand.number = (uint16_t)n;
            cand.set = true;
            *a = cand;
        }
    }
    sbw_free(&text);
    if (!a->set)
        return signet_fail(SIGNET_E_PARSE, "%s holds no log entry line (number=... digest=...)",
                           path);
    return SIGNET_OK;
}

static void print_entry(const yh_log_entry *e)
{
    char hex[2 * YH_LOG_DIGEST_LEN + 1];
    for (int i = 0; i < YH_LOG_DIGEST_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", e->digest[i]);
    printf("number=%u command=%s(0x%02x) length=%u session-key=0x%04x target-key=0x%04x "
           "second-key=0x%04x result=0x%02x systick=%u digest=%s\n",
           e->number, yh_cmd_name(e->command), e->command, e->length, e->session_key,
           e->target_key, e->second_key, e->result, e->systick, hex);
}

/* Verifies the chain inside the answer and against the anchor.  Findings go to
 * stderr; returns the number of findings. */
static int verify_log(const hsm_log *log, const struct hsm_log_anchor *a)
{
    int findings = 0;
    if (log->unlogged_boots || log->unlogged_auths) {
        fprintf(stderr, "signet: the device could not log %u boot(s) and %u authentication(s) "
                        "(log full under force-audit): treat this gap as an incident\n",
                log->unlogged_boots, log->unlogged_auths);
        findings++;
    }
    for (size_t i = 1; i < log->n; i++) {
        const yh_log_entry *prev = &log->entries[i - 1], *e = &log->entries[i];
        if (e->number != (uint16_t)(prev->number + 1)) {
            fprintf(stderr, "signet: log entries %u..%u are missing (overwritten or removed)\n",
                    (uint16_t)(prev->number + 1), (uint16_t)(e->number - 1));
            findings++;
        } else if (!yh_log_entry_verify(e, prev->digest)) {
            fprintf(stderr, "signet: log entry %u does not chain from entry %u: the log was "
                            "altered\n",
                    e->number, prev->number);
            findings++;
        }
    }
    if (a->set) {
        if (log->n == 0) {
            fprintf(stderr, "signet: the device log is empty, so it cannot continue from entry "
                            "%u\n",
                    a->number);
            return findings + 1;
        }
        const yh_log_entry *first = &log->entries[0];
        bool found = false;
        for (size_t i = 0; i < log->n; i++) {
            if (log->entries[i].number == a->number) {
                found = true;
                if (CRYPTO_memcmp(log->entries[i].digest, a->digest, YH_LOG_DIGEST_LEN) != 0) {
                    fprintf(stderr, "signet: entry %u differs from the anchor: the log was "
                                    "altered or the device was reset\n",
                            a->number);
                    findings++;
                }
            }
        }
        if (!found) {
            if (first->number == (uint16_t)(a->number + 1)) {
                if (!yh_log_entry_verify(first, a->digest)) {
                    fprintf(stderr, "signet: entry %u does not chain from the anchor (entry %u): "
                                    "the log was altered or the device was reset\n",
                            first->number, a->number);
                    findings++;
                }
            } else {
                fprintf(stderr, "signet: the log does not continue from the anchor (entry %u): "
                                "it starts at entry %u; entries in between are lost or the "
                                "device was reset\n",
                        a->number, first->number);
                findings++;
            }
        }
    }
    return findings;
}

signet_rc hsm_cmd_log(struct cli_ctx *c, void *args)
{
    struct hsm_log_args *a = args;
    if (a->verify_from && a->anchor.set)
        return signet_fail(SIGNET_E_ARG, "give --anchor or --verify-from, not both");
    signet_rc rc;
    if (a->verify_from && (rc = anchor_from_file(a->verify_from, &a->anchor)))
        return rc;
    if ((rc = cli_ctx_open(c)))
        return rc;
    hsm_log log;
    rc = hsm_get_log_entries(c->sess, &log);
    if (rc)
        return rc;
    printf("unlogged-boots: %u\n", log.unlogged_boots);
    printf("unlogged-auths: %u\n", log.unlogged_auths);
    for (size_t i = 0; i < log.n; i++)
        print_entry(&log.entries[i]);
    int findings = verify_log(&log, &a->anchor);
    if (findings == 0)
        printf("chain: ok (%zu entries)\n", log.n);
    else
        printf("chain: %d finding%s\n", findings, findings == 1 ? "" : "s");
    fflush(stdout);
    if (findings == 0 && a->consume && log.n > 0) {
        uint16_t last = log.entries[log.n - 1].number;
        rc = hsm_set_log_index(c->sess, last);
        if (rc == SIGNET_OK)
            cli_progress(c->g, "marked entries up to %u as read", last);
    } else if (findings && a->consume) {
        fprintf(stderr, "signet: not consuming a log with findings\n");
    }
    if (findings)
        c->status = 1;
    return rc;
}

/* ---- options -------------------------------------------------------------- */

static bool parse_value(const char *s, uint8_t *v)
{
    if (strcmp(s, "off") == 0)
        *v = YH_OPT_OFF;
    else if (strcmp(s, "on") == 0)
        *v = YH_OPT_ON;
    else if (strcmp(s, "fixed") == 0)
        *v = YH_OPT_FIXED;
    else
        return false;
    return true;
}

static const char *value_name(uint8_t v)
{
    return v == YH_OPT_OFF ? "off" : v == YH_OPT_ON ? "on" : v == YH_OPT_FIXED ? "fixed" : "?";
}

signet_rc hsm_cmd_set_option(struct cli_ctx *c, void *args)
{
    const struct hsm_option_args *a = args;
    const char *name = a->name, *val = a->value;
    uint8_t option, value[2 * 128];
    size_t vlen = 0;
    if (strcmp(name, "force-audit") == 0) {
        option = YH_OPTION_FORCE_AUDIT;
        if (!parse_value(val, &value[0]))
            return signet_fail(SIGNET_E_ARG, "force-audit is on, off or fixed, not '%s'", val);
        vlen = 1;
    } else if (strcmp(name, "command-audit") == 0) {
        option = YH_OPTION_COMMAND_AUDIT;
        char list[1024];
        if (snprintf(list, sizeof list, "%s", val) >= (int)sizeof list)
            return signet_fail(SIGNET_E_ARG, "the command list is too long");
        char *save = NULL;
        for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            if (!eq)
                return signet_fail(SIGNET_E_ARG, "'%s' is not CMD=on|off|fixed", item);
            *eq = 0;
            uint8_t cmd, v;
            if (yh_cmd_parse(item, &cmd) != 0)
                return signet_fail(SIGNET_E_ARG, "'%s' is not a command name (e.g. sign-pkcs1)",
                                 item);
            if (!parse_value(eq + 1, &v))
                return signet_fail(SIGNET_E_ARG, "'%s' is not on, off or fixed", eq + 1);
            if (vlen + 2 > sizeof value)
                return signet_fail(SIGNET_E_ARG, "too many commands");
            value[vlen++] = cmd;
            value[vlen++] = v;
        }
        if (vlen == 0)
            return signet_fail(SIGNET_E_ARG, "no command given");
    } else {
        return signet_fail(SIGNET_E_ARG, "unknown option '%s' (force-audit or command-audit)", name);
    }
    signet_rc rc = cli_ctx_open(c);
    if (rc == SIGNET_OK)
        rc = hsm_set_option(c->sess, option, value, vlen);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "set %s", name);
    return rc;
}

static signet_rc print_option(hsm_session *s, uint8_t option)
{
    sb_wr v;
    sbw_init(&v, YH_MAX_FRAME);
    signet_rc rc = hsm_get_option(s, option, &v);
    if (rc == SIGNET_OK && option == YH_OPTION_FORCE_AUDIT) {
        if (v.len != 1)
            rc = signet_fail(SIGNET_E_PARSE, "force-audit: %zu-byte value (1 expected)", v.len);
        else
            printf("force-audit: %s\n", value_name(v.p[0]));
    } else if (rc == SIGNET_OK) {
        if (v.len % 2 != 0)
            rc = signet_fail(SIGNET_E_PARSE, "command-audit: odd-length value");
        for (size_t i = 0; rc == SIGNET_OK && i < v.len; i += 2)
            printf("command-audit: %s=%s\n", yh_cmd_name(v.p[i]), value_name(v.p[i + 1]));
    }
    sbw_free(&v);
    return rc;
}

signet_rc hsm_cmd_get_option(struct cli_ctx *c, void *args)
{
    const struct hsm_option_args *a = args;
    bool fa = !a->name || strcmp(a->name, "force-audit") == 0;
    bool ca = !a->name || strcmp(a->name, "command-audit") == 0;
    if (!fa && !ca)
        return signet_fail(SIGNET_E_ARG, "unknown option '%s' (force-audit or command-audit)",
                           a->name);
    signet_rc rc = cli_ctx_open(c);
    if (rc == SIGNET_OK && fa)
        rc = print_option(c->sess, YH_OPTION_FORCE_AUDIT);
    if (rc == SIGNET_OK && ca)
        rc = print_option(c->sess, YH_OPTION_COMMAND_AUDIT);
    return rc;
}

/* ---- reset ---------------------------------------------------------------- */

/* The configured trail when it anchors device `serial` ("" otherwise). */
static signet_rc anchoring_trail(const struct cli_globals *g, uint32_t serial, char *dir, size_t cap)
{
    dir[0] = 0;
    signet_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = cli_named_config(g, cfg);
    if (rc == SIGNET_OK && cfg->audit[0]) {
        char apath[PATH_MAX];
        snprintf(apath, sizeof apath, "%s/anchors/device-%u.anchor", cfg->audit, serial);
        if (access(apath, F_OK) == 0)
            snprintf(dir, cap, "%s", cfg->audit);
    }
    free(cfg);
    return rc;
}

signet_rc hsm_cmd_reset(struct cli_ctx *c, void *args)
{
    const struct hsm_reset_args *a = args;
    char url[256], trail_dir[PATH_MAX];
    hsm_conn *conn = NULL;
    hsm_devinfo di;
    signet_rc rc = cli_connector_url(c->g, url, sizeof url);
    if (rc == SIGNET_OK)
        rc = hsm_conn_open(url, &conn);
    if (rc == SIGNET_OK)
        rc = hsm_device_info(conn, &di);
    hsm_conn_close(conn);
    if (rc == SIGNET_OK)
        rc = anchoring_trail(c->g, di.serial, trail_dir, sizeof trail_dir);
    if (rc)
        return rc;
    if (a->record_key && !trail_dir[0])
        return signet_fail(SIGNET_E_ARG, "--record-key: no configured audit trail anchors the HSM "
                                         "with serial %u (`audit` in signet.conf), so there is "
                                         "nothing to record the reset in",
                           di.serial);
    EVP_PKEY *rkey = NULL;
    if (a->record_key && (rc = cli_load_private_key("record key", a->record_key, &rkey)))
        return rc;
    if (!a->yes) {
        char q[128];
        snprintf(q, sizeof q, "This erases every key and object on the HSM with serial %u.",
                 di.serial);
        if (!hsm_confirm(q, "RESET")) {
            EVP_PKEY_free(rkey);
            return signet_fail(SIGNET_E_ARG, "not confirmed; nothing was changed (use --yes in "
                                             "scripts)");
        }
    }
    if (trail_dir[0] && !rkey)
        fprintf(stderr, "signet: warning: the audit trail %s anchors the HSM with serial %u and this "
                        "reset is not recorded: `audit verify` will report it as a device-reset "
                        "incident (record it with --record-key)\n",
                trail_dir, di.serial);
    /* The reset record is bound to the last entry before the reset: the trail stays
     * locked until the reset is done, so that no drain comes between. */
    signet_trail *t = NULL;
    if ((rc = cli_ctx_open(c)) == SIGNET_OK && rkey && (rc = signet_trail_open(trail_dir, &t)) == SIGNET_OK &&
        (rc = signet_trail_lock(t)) == SIGNET_OK)
        rc = signet_audit_before_reset(t, c->sess, di.serial, "signet hsm reset", rkey, NULL);
    if (rc == SIGNET_OK)
        rc = hsm_reset_device(c->sess);
    signet_trail_close(t);
    EVP_PKEY_free(rkey);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "the HSM with serial %u was reset to factory state%s", di.serial,
                     t ? "; the reset is recorded in the audit trail" : "");
    return rc;
}

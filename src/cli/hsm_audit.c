/* `signet hsm` commands for the device's audit log and options, and reset. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hsm_cmds.h"
#include "signet/proto.h"

static int finish(hsm_conn *conn, hsm_session *s, signet_rc rc)
{
    int ex = rc ? cli_report(rc) : 0;
    cli_close_session(conn, s);
    return ex;
}

/* ---- log ------------------------------------------------------------------ */

struct anchor {
    bool set;
    uint16_t number;
    uint8_t digest[YH_LOG_DIGEST_LEN];
};

static bool parse_digest(const char *s, size_t n, uint8_t out[YH_LOG_DIGEST_LEN])
{
    if (n != 2 * YH_LOG_DIGEST_LEN)
        return false;
    sb_wr w;
    sbw_init_fixed(&w, out, YH_LOG_DIGEST_LEN);
    return hex_decode(&w, s, n) == SIGNET_OK && w.len == YH_LOG_DIGEST_LEN;
}

/* "N:HEXDIGEST" */
static bool parse_anchor(const char *s, struct anchor *a)
{
    char *end;
    unsigned long n = strtoul(s, &end, 10);
    if (end == s || *end != ':' || n > 0xffff)
        return false;
    if (!parse_digest(end + 1, strlen(end + 1), a->digest))
        return false;
    a->number = (uint16_t)n;
    a->set = true;
    return true;
}

/* The last "number=N ... digest=HEX" line of an earlier `signet hsm log` output. */
static signet_rc anchor_from_file(const char *path, struct anchor *a)
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
        struct anchor cand;
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
static int verify_log(const hsm_log *log, const struct anchor *a)
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

static const char LOG_USAGE[] =
    "usage: signet hsm log [--anchor N:DIGEST | --verify-from FILE] [--consume]\n\n"
    "Prints the device's audit log, one entry per line (number=... digest=...), and\n"
    "verifies its digest chain: every entry must follow the previous one by number and\n"
    "digest.  --anchor (an entry number and its 32 hex digit digest) or --verify-from\n"
    "(an earlier output of this command; its last entry) also checks that the log\n"
    "continues from what was seen before.  Missing entries, broken digests and\n"
    "unlogged events are findings: exit 1.\n"
    "--consume marks the printed entries as read on the device (Set Log Index) when the\n"
    "chain verified, which frees a full log under force-audit.  Keep the output: the\n"
    "device no longer holds those entries once newer ones overwrite them.\n";

int hsm_cmd_log(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"anchor", required_argument, 0, 'a'}, {"verify-from", required_argument, 0, 'v'},
        {"consume", no_argument, 0, 'c'},      {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    struct anchor a = {0};
    const char *from = NULL;
    bool consume = false;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (!parse_anchor(optarg, &a))
                return hsm_usage("log", "--anchor is N:DIGEST (entry number, 32 hex digits)");
            break;
        case 'v': from = optarg; break;
        case 'c': consume = true; break;
        case 'h': return hsm_help(LOG_USAGE);
        default: return hsm_usage("log", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("log", "unexpected argument '%s'", argv[optind]);
    if (from && a.set)
        return hsm_usage("log", "give --anchor or --verify-from, not both");
    signet_rc rc;
    if (from && (rc = anchor_from_file(from, &a)))
        return cli_report(rc);
    hsm_conn *conn;
    hsm_session *s;
    rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    hsm_log log;
    rc = hsm_get_log_entries(s, &log);
    if (rc)
        return finish(conn, s, rc);
    printf("unlogged-boots: %u\n", log.unlogged_boots);
    printf("unlogged-auths: %u\n", log.unlogged_auths);
    for (size_t i = 0; i < log.n; i++)
        print_entry(&log.entries[i]);
    int findings = verify_log(&log, &a);
    if (findings == 0)
        printf("chain: ok (%zu entries)\n", log.n);
    else
        printf("chain: %d finding%s\n", findings, findings == 1 ? "" : "s");
    fflush(stdout);
    if (findings == 0 && consume && log.n > 0) {
        uint16_t last = log.entries[log.n - 1].number;
        rc = hsm_set_log_index(s, last);
        if (rc == SIGNET_OK)
            cli_progress(g, "marked entries up to %u as read", last);
    } else if (findings && consume) {
        fprintf(stderr, "signet: not consuming a log with findings\n");
    }
    if (rc)
        return finish(conn, s, rc);
    cli_close_session(conn, s);
    return findings ? 1 : 0;
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

static const char SET_OPTION_USAGE[] =
    "usage: signet hsm set-option force-audit on|off|fixed\n"
    "       signet hsm set-option command-audit CMD=on|off|fixed[,CMD=...]\n\n"
    "force-audit on makes every logged command fail once the log holds 62 unread\n"
    "entries, until they are read (`signet audit drain`).  fixed can only be undone by\n"
    "a reset.  command-audit chooses which commands are logged (names as in\n"
    "`signet hsm log`, e.g. sign-pkcs1=on,generate-asymmetric-key=fixed).  Commands\n"
    "whose auditing can lock the device (echo, session-message, device-info,\n"
    "get-log-entries) are refused.\n";

int hsm_cmd_set_option(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return hsm_help(SET_OPTION_USAGE);
        return hsm_usage("set-option", "bad option (see above)");
    }
    if (argc - optind != 2)
        return hsm_usage("set-option", "give an option name and a value");
    const char *name = argv[optind], *val = argv[optind + 1];
    uint8_t option, value[2 * 128];
    size_t vlen = 0;
    if (strcmp(name, "force-audit") == 0) {
        option = YH_OPTION_FORCE_AUDIT;
        if (!parse_value(val, &value[0]))
            return hsm_usage("set-option", "force-audit is on, off or fixed, not '%s'", val);
        vlen = 1;
    } else if (strcmp(name, "command-audit") == 0) {
        option = YH_OPTION_COMMAND_AUDIT;
        char list[1024];
        if (snprintf(list, sizeof list, "%s", val) >= (int)sizeof list)
            return hsm_usage("set-option", "the command list is too long");
        char *save = NULL;
        for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            if (!eq)
                return hsm_usage("set-option", "'%s' is not CMD=on|off|fixed", item);
            *eq = 0;
            uint8_t cmd, v;
            if (yh_cmd_parse(item, &cmd) != 0)
                return hsm_usage("set-option", "'%s' is not a command name (e.g. sign-pkcs1)",
                                 item);
            if (!parse_value(eq + 1, &v))
                return hsm_usage("set-option", "'%s' is not on, off or fixed", eq + 1);
            if (vlen + 2 > sizeof value)
                return hsm_usage("set-option", "too many commands");
            value[vlen++] = cmd;
            value[vlen++] = v;
        }
        if (vlen == 0)
            return hsm_usage("set-option", "no command given");
    } else {
        return hsm_usage("set-option", "unknown option '%s' (force-audit or command-audit)", name);
    }
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    rc = hsm_set_option(s, option, value, vlen);
    if (rc == SIGNET_OK)
        cli_progress(g, "set %s", name);
    return finish(conn, s, rc);
}

static const char GET_OPTION_USAGE[] =
    "usage: signet hsm get-option [force-audit|command-audit]\n\n"
    "Prints the audit options (both when no name is given):\n"
    "  force-audit: on\n"
    "  command-audit: sign-pkcs1=on\n";

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

int hsm_cmd_get_option(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h')
            return hsm_help(GET_OPTION_USAGE);
        return hsm_usage("get-option", "bad option (see above)");
    }
    bool fa = true, ca = true;
    if (argc - optind == 1) {
        fa = strcmp(argv[optind], "force-audit") == 0;
        ca = strcmp(argv[optind], "command-audit") == 0;
        if (!fa && !ca)
            return hsm_usage("get-option", "unknown option '%s'", argv[optind]);
    } else if (argc - optind > 1) {
        return hsm_usage("get-option", "give at most one option name");
    }
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    if (fa)
        rc = print_option(s, YH_OPTION_FORCE_AUDIT);
    if (rc == SIGNET_OK && ca)
        rc = print_option(s, YH_OPTION_COMMAND_AUDIT);
    return finish(conn, s, rc);
}

/* ---- reset ---------------------------------------------------------------- */

static const char RESET_USAGE[] =
    "usage: signet hsm reset [--yes]\n\n"
    "Wipes every object and option and restores the factory authentication key\n"
    "(id 1, password \"password\").  Asks for confirmation on the terminal unless --yes.\n";

int hsm_cmd_reset(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"yes", no_argument, 0, 'y'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    bool yes = false;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'y': yes = true; break;
        case 'h': return hsm_help(RESET_USAGE);
        default: return hsm_usage("reset", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("reset", "unexpected argument '%s'", argv[optind]);
    hsm_conn *conn;
    signet_rc rc = hsm_conn_open(g->connector, &conn);
    hsm_devinfo di;
    if (rc == SIGNET_OK)
        rc = hsm_device_info(conn, &di);
    if (rc) {
        int ex = cli_report(rc);
        hsm_conn_close(conn);
        return ex;
    }
    if (!yes) {
        char q[128];
        snprintf(q, sizeof q, "This erases every key and object on the HSM with serial %u.",
                 di.serial);
        if (!hsm_confirm(q, "RESET")) {
            hsm_conn_close(conn);
            return hsm_usage("reset", "not confirmed; nothing was changed (use --yes in scripts)");
        }
    }
    hsm_conn_close(conn);
    hsm_session *s;
    rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    rc = hsm_reset_device(s);
    if (rc == SIGNET_OK)
        cli_progress(g, "the HSM with serial %u was reset to factory state", di.serial);
    return finish(conn, s, rc);
}

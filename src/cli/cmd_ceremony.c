/* signet ceremony: the key ceremony (docs/ceremony.md).  provision sets up the
 * operation and backup devices from a plan; restore rebuilds a device from the
 * custodians' shares; migrate moves the keys onto a PKCS#11 token; check-plan and
 * roles help prepare. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_table.h"
#include "signet/ceremony.h"
#include "signet/proto.h"
#include "signet/secmem.h"

#define MAX_IDENTITIES 16

struct ceremony_args {
    const char *plan, *manifest, *connector, *out, *keystore, *trail, *admin_identity;
    const char *record_key;
    struct cli_list identities;
    bool prompt;
};

static void progress(void *ctx, const char *line)
{
    cli_progress(ctx, "%s", line);
}

static signet_rc run_provision(struct cli_ctx *c, void *args)
{
    const struct ceremony_args *a = args;
    /* Found now, not after the devices were reset. */
    if (a->admin_identity && access(a->admin_identity, R_OK) != 0)
        return cli_open_error(NULL, a->admin_identity);
    signet_provision_opts o = {.progress = progress, .progress_ctx = (void *)c->g,
                               .plan_path = a->plan, .out_dir = a->out,
                               .admin_identity = a->admin_identity};
    return signet_ceremony_provision(&o);
}

/* One line from fd into locked memory, byte by byte so that no stdio buffer keeps a
 * copy.  *eof is set when the input ended before a newline. */
static signet_rc read_secret_line(int fd, char **line, bool *eof)
{
    *line = NULL;
    *eof = false;
    char *buf = smem_alloc(1024);
    if (!buf)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t k = read(fd, &ch, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            smem_free(buf);
            return signet_fail(SIGNET_E_IO, "cannot read the shares: %s", strerror(errno));
        }
        if (k == 0) {
            *eof = true;
            break;
        }
        if (ch == '\n')
            break;
        if (n == 1023) {
            smem_free(buf);
            return signet_fail(SIGNET_E_ARG, "a share line is longer than 1023 characters");
        }
        buf[n++] = ch;
    }
    buf[n] = 0;
    *line = buf;
    return SIGNET_OK;
}

/* Shares from standard input (not a terminal): one per line, blank lines and
 * '#' comments skipped; the end of the input ends the shares. */
static signet_rc share_from_stdin(void *ctx, unsigned number, unsigned threshold, char **line)
{
    (void)ctx;
    (void)number;
    (void)threshold;
    for (;;) {
        bool eof;
        signet_rc rc = read_secret_line(STDIN_FILENO, line, &eof);
        if (rc)
            return rc;
        const char *s = *line;
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (*s && *s != '#')
            return SIGNET_OK;
        smem_free(*line);
        *line = NULL;
        if (eof)
            return SIGNET_OK;
    }
}

/* Shares typed at the terminal without echo, one prompt per share up to the
 * threshold; an empty answer stops early. */
static signet_rc share_from_tty(void *ctx, unsigned number, unsigned threshold, char **line)
{
    (void)ctx;
    *line = NULL;
    if (number > threshold)
        return SIGNET_OK;
    char prompt[128];
    snprintf(prompt, sizeof prompt,
             "Share %u of %u (custodian: type T-X-..., then Enter; nothing is shown): ", number,
             threshold);
    char *s = NULL;
    signet_rc rc = signet_read_password(NULL, NULL, prompt, &s);
    if (rc)
        return rc;
    if (!s[0]) {
        smem_free(s);
        return SIGNET_OK;
    }
    *line = s;
    return SIGNET_OK;
}

/* The custodians' shares: identity files or typed in (the same for restore and
 * migrate). */
static signet_rc share_source(const struct ceremony_args *a, const char *const **ids, size_t *n,
                              signet_share_reader *reader)
{
    if (a->identities.n > MAX_IDENTITIES)
        return signet_fail(SIGNET_E_ARG, "at most %d --identity files", MAX_IDENTITIES);
    if ((a->identities.n > 0) == a->prompt)
        return signet_fail(SIGNET_E_ARG, "give either --identity FILE (one per custodian) or "
                                         "--shares-from-prompt");
    *ids = a->identities.v;
    *n = a->identities.n;
    *reader = !a->prompt ? NULL : isatty(STDIN_FILENO) ? share_from_tty : share_from_stdin;
    return SIGNET_OK;
}

static signet_rc run_restore(struct cli_ctx *c, void *args)
{
    const struct ceremony_args *a = args;
    const struct cli_globals *g = c->g;
    signet_restore_opts o = {.progress = progress, .progress_ctx = (void *)g,
                             .plan_path = a->plan, .manifest_path = a->manifest,
                             .connector = a->connector ? a->connector : g->connector,
                             .out_dir = a->out, .keystore_dir = a->keystore,
                             .trail_dir = a->trail};
    if (!o.connector)
        return signet_fail(SIGNET_E_ARG, "restore needs --connector URL (the device to restore)");
    signet_rc rc = share_source(a, &o.identities, &o.n_identities, &o.read_share);
    if (rc)
        return rc;

    /* Another credential than the factory key for the reset, when given. */
    char *pw = NULL;
    EVP_PKEY *key = NULL, *rkey = NULL;
    if (a->record_key)
        rc = cli_load_private_key("record key", a->record_key, &rkey);
    o.record_key = rkey;
    if (rc == SIGNET_OK && g->auth_key_file)
        rc = cli_load_private_key("authentication key file", g->auth_key_file, &key);
    else if (rc == SIGNET_OK && g->password_file)
        rc = signet_read_password(g->password_file, NULL, "", &pw);
    if (rc == SIGNET_OK && (key || pw)) {
        o.reset_auth_id = g->auth_key;
        o.reset_key = key;
        o.reset_password = pw;
    }
    if (rc == SIGNET_OK)
        rc = signet_ceremony_restore(&o);
    EVP_PKEY_free(key);
    EVP_PKEY_free(rkey);
    smem_free(pw);
    return rc;
}

static signet_rc run_migrate(struct cli_ctx *c, void *args)
{
    const struct ceremony_args *a = args;
    signet_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_migrate_opts o = {.progress = progress, .progress_ctx = (void *)c->g,
                             .plan_path = a->plan, .manifest_path = a->manifest,
                             .out_dir = a->out, .config = cfg};
    signet_rc rc = cli_named_config(c->g, cfg);
    if (rc == SIGNET_OK)
        rc = share_source(a, &o.identities, &o.n_identities, &o.read_share);
    EVP_PKEY *rkey = NULL;
    if (rc == SIGNET_OK && a->record_key)
        rc = cli_load_private_key("record key", a->record_key, &rkey);
    o.record_key = rkey;
    if (rc == SIGNET_OK)
        rc = signet_ceremony_migrate(&o);
    EVP_PKEY_free(rkey);
    free(cfg);
    return rc;
}

static signet_rc run_check_plan(struct cli_ctx *c, void *args)
{
    const struct ceremony_args *a = args;
    (void)c;
    signet_plan *p = calloc(1, sizeof *p);
    if (!p)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = signet_plan_load(a->plan, p, NULL);
    if (rc == SIGNET_OK) {
        printf("project:    %s\n", p->project[0] ? p->project : "-");
        printf("primary:    %s\nbackup:     %s\n", p->primary_url, p->backup_url);
        printf("wrap key:   0x%04x, split %u of %zu\n", p->wrap_key_id, p->threshold,
               p->n_custodians);
        printf("log key:    0x%04x, log name %s\n", p->log_key_id, p->log_name);
        for (size_t i = 0; i < p->n_custodians; i++)
            printf("share %zu:    %s  %s\n", i + 1, p->custodians[i].name,
                   p->custodians[i].recipient);
        for (int r = 0; r < SIGNET_ROLE__COUNT; r++)
            printf("%-11s %s  %s\n", signet_role_get((signet_role)r)->name, p->holders[r].name,
                   p->holders[r].recipient);
        printf("The plan is valid.  The ceremony will reset both devices.\n");
    }
    free(p);
    return rc;
}

static signet_rc run_roles(struct cli_ctx *c, void *args)
{
    (void)c;
    (void)args;
    sb_wr w;
    sbw_init(&w, 8192);
    signet_rc rc = SIGNET_OK;
    for (int r = 0; rc == SIGNET_OK && r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *d = signet_role_get((signet_role)r);
        sbw_reset(&w);
        if ((rc = yh_caps_format(d->capabilities, &w)) || (rc = sbw_u8(&w, 0)))
            break;
        printf("%s: authentication key 0x%04x, %s credential\n  capabilities: %s\n", d->name,
               d->auth_id, d->asymmetric ? "EC P-256" : "password", (const char *)w.p);
        sbw_reset(&w);
        if ((rc = yh_caps_format(d->delegated, &w)) || (rc = sbw_u8(&w, 0)))
            break;
        printf("  delegated:    %s\n", (const char *)w.p);
    }
    sbw_free(&w);
    return rc;
}

#define T struct ceremony_args
#define PLAN CLI_OPT("plan", 0, "PLAN", cli_p_str, T, plan, CLI_REQUIRED, "the ceremony plan")
#define OUT CLI_OPT("out", 0, "DIR", cli_p_str, T, out, CLI_REQUIRED, "where the outputs go")
static const struct cli_opt PROVISION_OPTS[] = {
    PLAN, OUT,
    CLI_OPT("admin-identity", 0, "FILE", cli_p_str, T, admin_identity, 0,
            "the admin holder's age identity: a rerun resets devices whose factory key an "
            "earlier attempt deleted with that attempt's admin credential"),
    CLI_END};
static const struct cli_opt RESTORE_OPTS[] = {
    PLAN,
    CLI_OPT("manifest", 0, "MANIFEST", cli_p_str, T, manifest, CLI_REQUIRED,
            "the public manifest of the provisioning"),
    CLI_OPT("connector", 0, "URL", cli_p_str, T, connector, 0,
            "the device to restore (default: the global --connector)"),
    OUT,
    CLI_OPT("identity", 0, "FILE", cli_p_str, T, identities, CLI_REPEAT,
            "a custodian's age identity file (AGE-SECRET-KEY-1... or OpenSSH ed25519)"),
    CLI_SWITCH("shares-from-prompt", 0, T, prompt,
               "custodians type their shares (T-X-BASE64) without echo; from stdin, one a line"),
    CLI_OPT("keystore", 0, "DIR", cli_p_str, T, keystore, 0,
            "key store whose wrapped keys are imported and checked"),
    CLI_OPT("trail", 0, "DIR", cli_p_str, T, trail, 0,
            "the audit trail to continue (default DIR/audit, new)"),
    CLI_OPT("record-key", 0, "FILE", cli_p_str, T, record_key, 0,
            "the admin's or auditor's record key (PEM): signs the service records in a --trail "
            "that names record keys"),
    CLI_END};
static const struct cli_opt MIGRATE_OPTS[] = {
    PLAN,
    CLI_OPT("manifest", 0, "MANIFEST", cli_p_str, T, manifest, CLI_REQUIRED,
            "the public manifest of the provisioning (log-key.wrapped and the shares beside it)"),
    OUT,
    CLI_OPT("identity", 0, "FILE", cli_p_str, T, identities, CLI_REPEAT,
            "a custodian's age identity file (AGE-SECRET-KEY-1... or OpenSSH ed25519)"),
    CLI_SWITCH("shares-from-prompt", 0, T, prompt,
               "custodians type their shares (T-X-BASE64) without echo; from stdin, one a line"),
    CLI_OPT("record-key", 0, "FILE", cli_p_str, T, record_key, 0,
            "the admin's or auditor's record key (PEM): signs the change of log key when the log "
            "key cannot move (its wrapped copy lacks the seed)"),
    CLI_END};
static const struct cli_opt CHECK_OPTS[] = {
    CLI_POS("PLAN", cli_p_str, T, plan, CLI_REQUIRED, "the ceremony plan"), CLI_END};

static const struct cli_cmd CMDS[] = {
    {"provision", "set up the primary and backup devices from a plan",
     "Resets the plan's primary and backup devices, fixes their audit options, puts a\n"
     "new wrap key, creates the admin, operator and auditor credentials and the audit\n"
     "log key, splits the wrap key into shares for the custodians, deletes the factory\n"
     "key; writes encrypted shares and credentials, the audit trail, a transcript and a\n"
     "public manifest into DIR.  A run that stops can be rerun (DIR/ceremony.state\n"
     "says how); when an earlier attempt already deleted a factory key, the rerun\n"
     "needs --admin-identity to reset that device with the attempt's admin credential.\n"
     "Manual: docs/ceremony.md.\n",
     PROVISION_OPTS, sizeof(T), 0, run_provision},
    {"restore", "rebuild a device from the custodians' shares",
     "Combines at least threshold shares, checks them against the manifest before the\n"
     "device is touched, then resets the device and sets it up like the provisioned\n"
     "ones with new credentials; imports the key store's wrapped keys and checks each\n"
     "public key.  The device is reset with the factory key unless --auth-key with\n"
     "--auth-key-file or --password-file (global options) names another credential.\n"
     "Service records (the reset of a device the trail knows, the device put into\n"
     "service) are signed: with --record-key in a --trail that names record keys,\n"
     "else with the admin's new record key (made, sealed and named in the trail).\n",
     RESTORE_OPTS, sizeof(T), 0, run_restore},
    {"migrate", "move the key store and the log key onto a PKCS#11 token, without re-keying",
     "Run offline, like provisioning.  The custodians' shares rebuild the wrap key in\n"
     "locked memory (checked against the manifest); every wrapped key of the key store\n"
     "(keystore in signet.conf) is opened on this machine and put onto the token of\n"
     "signet.conf (backend = pkcs11) by C_UnwrapKey under a transport key generated on\n"
     "the token, and its public key compared with the recorded one.  The audit log key\n"
     "moves when its wrapped copy carries the seed; otherwise a new log key is made on\n"
     "the token and the trail (audit in signet.conf, the ceremony's) records the change\n"
     "of log key, signed with --record-key.  Key records, a checkpoint by the token's\n"
     "log key, DIR/migrate-manifest.txt and DIR/transcript.txt.  The plaintext keys\n"
     "exist in this machine's locked memory while it runs (docs/ceremony.md).\n",
     MIGRATE_OPTS, sizeof(T), 0, run_migrate},
    {"check-plan", "parse a plan and print what the ceremony would do", NULL, CHECK_OPTS,
     sizeof(T), 0, run_check_plan},
    {"roles", "print the role table (capabilities of each credential)", NULL, NULL, 0, 0,
     run_roles},
    {0}};
#undef T

const struct cli_table cli_table_ceremony = {
    "ceremony", "key ceremony: provision the devices from a plan, restore from shares, migrate "
                "onto a PKCS#11 token",
    "The key ceremony (docs/ceremony.md).\n", CMDS};

/* signet ceremony: the key ceremony (docs/ceremony.md).  provision sets up the
 * operation and backup devices from a plan; restore rebuilds a device from the
 * custodians' shares; check-plan and roles help prepare. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "cli.h"
#include "signet/ceremony.h"
#include "signet/proto.h"
#include "signet/secmem.h"

#define MAX_IDENTITIES 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: signet ceremony provision --plan PLAN --out DIR\n"
            "       signet ceremony restore --plan PLAN --manifest MANIFEST --connector URL\n"
            "                               --out DIR (--identity FILE ... | --shares-from-prompt)\n"
            "                               [--keystore DIR] [--trail DIR]\n"
            "       signet ceremony check-plan PLAN\n"
            "       signet ceremony roles\n"
            "\n"
            "  provision    reset the plan's primary and backup devices, fix their audit\n"
            "               options, put a new wrap key, create the admin, operator and\n"
            "               auditor credentials and the audit log key, split the wrap key\n"
            "               into shares for the custodians, delete the factory key; writes\n"
            "               encrypted shares and credentials, the audit trail, a transcript\n"
            "               and a public manifest into DIR.  A run that stops can be rerun:\n"
            "               it starts again from the reset (DIR/ceremony.state says how).\n"
            "  restore      combine at least threshold shares (decrypted with custodians'\n"
            "               identity files, or typed in), check them against the manifest\n"
            "               before the device is touched, then reset the device at URL and\n"
            "               set it up like the provisioned ones with new credentials; import\n"
            "               the key store's wrapped keys and check each public key\n"
            "  check-plan   parse a plan and print what the ceremony would do\n"
            "  roles        print the role table (capabilities of each credential)\n"
            "\n"
            "restore options:\n"
            "  --identity FILE       an age identity file (AGE-SECRET-KEY-1... or an OpenSSH\n"
            "                        ed25519 key) of a custodian; repeat for each custodian\n"
            "  --shares-from-prompt  custodians type their shares (T-X-BASE64) at a prompt\n"
            "                        without echo; when standard input is not a terminal,\n"
            "                        shares are read from it, one per line\n"
            "  --keystore DIR        key store whose wrapped keys are imported and checked\n"
            "  --trail DIR           the audit trail to continue (default DIR/audit, new)\n"
            "  The device is reset with the factory key unless --auth-key with\n"
            "  --auth-key-file or --password-file (global options) names another credential.\n"
            "\n"
            "Manual: docs/ceremony.md\n");
}

static void progress(void *ctx, const char *line)
{
    cli_progress(ctx, "%s", line);
}

static int run_provision(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"plan", required_argument, 0, 'p'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    signet_provision_opts o = {.progress = progress, .progress_ctx = (void *)g};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': o.plan_path = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("ceremony", "unknown option for provision");
        }
    }
    if (optind != argc)
        return cli_usage_error("ceremony", "unexpected argument '%s'", argv[optind]);
    if (!o.plan_path || !o.out_dir)
        return cli_usage_error("ceremony", "provision needs --plan PLAN and --out DIR");
    signet_rc rc = signet_ceremony_provision(&o);
    return rc ? cli_report(rc) : 0;
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

static signet_rc load_key(const char *path, EVP_PKEY **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_open_error(NULL, path);
    *out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return *out ? SIGNET_OK : signet_fail(SIGNET_E_PARSE, "%s holds no PEM private key", path);
}

static int run_restore(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"plan", required_argument, 0, 'p'},
                                         {"manifest", required_argument, 0, 'm'},
                                         {"connector", required_argument, 0, 'c'},
                                         {"out", required_argument, 0, 'o'},
                                         {"identity", required_argument, 0, 'i'},
                                         {"shares-from-prompt", no_argument, 0, 's'},
                                         {"keystore", required_argument, 0, 'k'},
                                         {"trail", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    signet_restore_opts o = {.progress = progress, .progress_ctx = (void *)g};
    const char *ids[MAX_IDENTITIES];
    size_t n_ids = 0;
    bool prompt = false;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': o.plan_path = optarg; break;
        case 'm': o.manifest_path = optarg; break;
        case 'c': o.connector = optarg; break;
        case 'o': o.out_dir = optarg; break;
        case 'i':
            if (n_ids == MAX_IDENTITIES)
                return cli_usage_error("ceremony", "at most %d --identity files", MAX_IDENTITIES);
            ids[n_ids++] = optarg;
            break;
        case 's': prompt = true; break;
        case 'k': o.keystore_dir = optarg; break;
        case 't': o.trail_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("ceremony", "unknown option for restore");
        }
    }
    if (optind != argc)
        return cli_usage_error("ceremony", "unexpected argument '%s'", argv[optind]);
    if (!o.connector)
        o.connector = g->connector;
    if (!o.plan_path || !o.manifest_path || !o.out_dir || !o.connector)
        return cli_usage_error("ceremony", "restore needs --plan, --manifest, --connector and --out");
    if ((n_ids > 0) == prompt)
        return cli_usage_error("ceremony", "restore needs either --identity FILE (one per "
                                           "custodian) or --shares-from-prompt");
    o.identities = ids;
    o.n_identities = n_ids;
    if (prompt)
        o.read_share = isatty(STDIN_FILENO) ? share_from_tty : share_from_stdin;

    /* Another credential than the factory key for the reset, when given. */
    char *pw = NULL;
    EVP_PKEY *key = NULL;
    signet_rc rc = SIGNET_OK;
    if (g->auth_key_file)
        rc = load_key(g->auth_key_file, &key);
    else if (g->password_file)
        rc = signet_read_password(g->password_file, NULL, "", &pw);
    if (rc == SIGNET_OK && (key || pw)) {
        o.reset_auth_id = g->auth_key;
        o.reset_key = key;
        o.reset_password = pw;
    }
    if (rc == SIGNET_OK)
        rc = signet_ceremony_restore(&o);
    EVP_PKEY_free(key);
    smem_free(pw);
    return rc ? cli_report(rc) : 0;
}

static int run_check_plan(const struct cli_globals *g, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2)
        return cli_usage_error("ceremony", "check-plan takes the plan file");
    signet_plan *p = calloc(1, sizeof *p);
    if (!p)
        return cli_report(signet_fail(SIGNET_E_NOMEM, "out of memory"));
    signet_rc rc = signet_plan_load(argv[1], p, NULL);
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
    (void)g;
    return rc ? cli_report(rc) : 0;
}

static int run_roles(const struct cli_globals *g, int argc, char **argv)
{
    (void)g;
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
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
    return rc ? cli_report(rc) : 0;
}

static int run(const struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "provision") == 0)
        return run_provision(g, argc - 1, argv + 1);
    if (strcmp(argv[1], "restore") == 0)
        return run_restore(g, argc - 1, argv + 1);
    if (strcmp(argv[1], "check-plan") == 0)
        return run_check_plan(g, argc - 1, argv + 1);
    if (strcmp(argv[1], "roles") == 0)
        return run_roles(g, argc - 1, argv + 1);
    return cli_usage_error("ceremony", "unknown command '%s'", argv[1]);
}

const struct cli_group cli_group_ceremony = {
    "ceremony", "key ceremony: provision the devices from a plan, restore from shares", run};

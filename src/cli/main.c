/* signet: the command-line front of libsignet.  Global options, then a command
 * group; each group lives in its own cmd_<group>.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_registry.h"
#include "cli_table.h"
#include "signet/secmem.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: signet [global options] <group> <command> [args]\n"
            "\n"
            "Sign releases with keys that never leave a YubiHSM 2 (or signet-hsm).\n"
            "\n"
            "global options:\n"
            "  --connector URL       connector (default $SIGNET_CONNECTOR or %s)\n"
            "  --auth-key ID         authentication key id (default $SIGNET_AUTH_KEY, signet.conf's\n"
            "                        auth_key, else 1)\n"
            "  --password-file F     read the password from F (else $SIGNET_PASSWORD, else a prompt)\n"
            "  --auth-key-file F     authenticate with this EC P-256 private key (PEM) instead\n"
            "  --config F            signet.conf for signing and audit (default $SIGNET_CONF)\n"
            "  -q, --quiet           no progress output\n"
            "  -h, --help            this help; `signet <group> --help` for a group\n"
            "  --version             the version of signet\n"
            "\n"
            "groups:\n",
            SIGNET_DEFAULT_CONNECTOR);
    for (const struct cli_table *const *t = cli_tables_all; *t; t++)
        fprintf(f, "  %-14s %s\n", (*t)->name, (*t)->summary);
    fprintf(f, "\nexit codes: 0 ok, 1 verification failed, 2 usage, 3 device error, 4 connector\n"
               "unreachable, 5 authentication failed, 6 not found, 7 I/O error, 8 other;\n"
               "9, 10, 11 a damaged age file (`signet age decrypt --help`).\n"
               "Manual: docs/signet.1.md\n");
}

/* The command table of the group called name, or NULL. */
static const struct cli_table *find_group(const char *name)
{
    for (const struct cli_table *const *t = cli_tables_all; *t; t++)
        if (strcmp((*t)->name, name) == 0)
            return *t;
    return NULL;
}

/* $SIGNET_AUTH_KEY when --auth-key was not given. */
static int auth_key_from_env(struct cli_globals *g)
{
    const char *env = getenv("SIGNET_AUTH_KEY");
    if (g->auth_key_set || !env || !*env)
        return -1;
    if (cli_parse_id(env, &g->auth_key) != SIGNET_OK)
        return cli_usage_error(NULL, "$SIGNET_AUTH_KEY: %s", signet_errmsg());
    g->auth_key_set = true;
    return -1;
}

/* Installed links `signet-avb-sign` and `signet-payload-sign` (next to signet) run
 * that group with the credentials of the environment and signet.conf, so that
 * avbtool's --signing_helper and the OTA tools' --payload_signer can name one
 * program. */
static const struct cli_table *called_as(const char *argv0)
{
    const char *base = strrchr(argv0, '/');
    base = base ? base + 1 : argv0;
    return strncmp(base, "signet-", 7) == 0 ? find_group(base + 7) : NULL;
}

int main(int argc, char **argv)
{
    struct cli_globals g = {.auth_key = 1};
    enum { OPT_VERSION = 256, OPT_LIST };
    static const struct option opts[] = {
        {"connector", required_argument, 0, 'c'}, {"auth-key", required_argument, 0, 'a'},
        {"password-file", required_argument, 0, 'p'}, {"auth-key-file", required_argument, 0, 'k'},
        {"config", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, OPT_VERSION},
        {"list-commands", no_argument, 0, OPT_LIST}, {0, 0, 0, 0}};

    if (signet_harden_process() != SIGNET_OK)
        return cli_report(signet_errcode());
    int ex;
    const struct cli_table *grp;
    if (argc > 0 && (grp = called_as(argv[0])) != NULL) {
        g.connector = getenv("SIGNET_CONNECTOR");
        if ((ex = auth_key_from_env(&g)) >= 0)
            return ex;
        return cli_table_run(grp, &g, argc, argv);
    }
    /* '+' stops at the first non-option: the group parses its own arguments. */
    int c;
    opterr = 0; /* the one-line usage error below names the option */
    while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': g.connector = optarg; break;
        case 'a':
            if (cli_parse_id(optarg, &g.auth_key) != SIGNET_OK)
                return cli_usage_error(NULL, "--auth-key: %s", signet_errmsg());
            g.auth_key_set = true;
            break;
        case 'p': g.password_file = optarg; break;
        case 'k': g.auth_key_file = optarg; break;
        case 'f': g.config = optarg; break;
        case 'q': g.quiet = true; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("signet %s\n", SIGNET_VERSION); return 0;
        case OPT_LIST:
            cli_table_list(stdout);
            return 0;
        default: return cli_usage_error(NULL, "unknown global option '%s'", argv[optind - 1]);
        }
    }
    if (!g.connector)
        g.connector = getenv("SIGNET_CONNECTOR");
    if (g.password_file && g.auth_key_file)
        return cli_usage_error(NULL, "--password-file and --auth-key-file name two credentials: "
                                     "give one");
    if ((ex = auth_key_from_env(&g)) >= 0)
        return ex;
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    int idx = optind;
    if (!(grp = find_group(argv[idx])))
        return cli_usage_error(NULL, "unknown group '%s'", argv[idx]);
    return cli_table_run(grp, &g, argc - idx, argv + idx);
}

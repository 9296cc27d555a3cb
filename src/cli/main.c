/* signet: the command-line front of libsignet.  Global options, then a command
 * group; each group lives in its own cmd_<group>.c. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_registry.h"
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
            "  --auth-key ID         authentication key id (default 1)\n"
            "  --password-file F     read the password from F (else $SIGNET_PASSWORD, else a prompt)\n"
            "  --auth-key-file F     authenticate with this EC P-256 private key (PEM) instead\n"
            "  --config F            signet.conf for signing and audit (default $SIGNET_CONF)\n"
            "  -q, --quiet           no progress output\n"
            "  -h, --help            this help; `signet <group> --help` for a group\n"
            "\n"
            "groups:\n",
            SIGNET_DEFAULT_CONNECTOR);
    for (const struct cli_group *const *g = cli_groups; *g; g++)
        fprintf(f, "  %-14s %s\n", (*g)->name, (*g)->summary);
    fprintf(f, "\nexit codes: 0 ok, 1 verification failed, 2 usage, 3 device error, 4 connector\n"
               "unreachable, 5 authentication failed, 6 not found, 7 I/O error, 8 other.\n"
               "Manual: docs/signet.1.md\n");
}

int main(int argc, char **argv)
{
    struct cli_globals g = {.auth_key = 1};
    static const struct option opts[] = {
        {"connector", required_argument, 0, 'c'}, {"auth-key", required_argument, 0, 'a'},
        {"password-file", required_argument, 0, 'p'}, {"auth-key-file", required_argument, 0, 'k'},
        {"config", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

    if (signet_harden_process() != SIGNET_OK)
        return cli_report(signet_errcode());
    /* '+' stops at the first non-option: the group parses its own arguments. */
    int c;
    while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': g.connector = optarg; break;
        case 'a':
            if (cli_parse_id(optarg, &g.auth_key) != SIGNET_OK)
                return cli_usage_error(NULL, "--auth-key: %s", signet_errmsg());
            break;
        case 'p': g.password_file = optarg; break;
        case 'k': g.auth_key_file = optarg; break;
        case 'f': g.config = optarg; break;
        case 'q': g.quiet = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!g.connector)
        g.connector = getenv("SIGNET_CONNECTOR");
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    int idx = optind;
    const char *name = argv[idx];
    for (const struct cli_group *const *grp = cli_groups; *grp; grp++) {
        if (strcmp((*grp)->name, name) == 0) {
            optind = 0; /* full getopt reset: groups parse their own argv (argv[0] = group) */
            return (*grp)->run(&g, argc - idx, argv + idx);
        }
    }
    return cli_usage_error(NULL, "unknown group '%s'; see `signet --help`", name);
}

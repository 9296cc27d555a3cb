/* Shared pieces of the signet command: see cli.h. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "cli.h"
#include "signet/secmem.h"
#include "signet/sign.h"

int cli_report(signet_rc rc)
{
    fprintf(stderr, "signet: %s\n", signet_errmsg());
    return signet_exit_code(rc);
}

int cli_usage_error(const char *group, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "signet%s%s: ", group ? " " : "", group ? group : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(try `signet %s%s--help`)\n", group ? group : "", group ? " " : "");
    return 2;
}

void cli_progress(const struct cli_globals *g, const char *fmt, ...)
{
    if (g->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

signet_rc cli_parse_id(const char *s, uint16_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (!*s || *end || errno || v > 0xffff)
        return signet_fail(SIGNET_E_ARG, "'%s' is not an object id (0..65535, decimal or 0x hex)", s);
    *out = (uint16_t)v;
    return SIGNET_OK;
}

static signet_rc load_auth_key_file(const char *path, EVP_PKEY **out)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return signet_fail(SIGNET_E_IO, "cannot open authentication key file %s: %s", path,
                           strerror(errno));
    *out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!*out)
        return signet_fail(SIGNET_E_PARSE, "%s does not hold a PEM private key", path);
    return SIGNET_OK;
}

signet_rc cli_open_session(const struct cli_globals *g, hsm_conn **conn, hsm_session **sess)
{
    *conn = NULL;
    *sess = NULL;
    /* --connector, then $SIGNET_CONNECTOR (main.c), then signet.conf when one is
     * named, then the default. */
    const char *url = g->connector;
    signet_config cfg;
    const char *conf = g->config ? g->config : getenv("SIGNET_CONF");
    if (!url && conf && *conf) {
        signet_rc crc = signet_config_load(conf, &cfg);
        if (crc)
            return crc;
        url = cfg.connector;
    }
    signet_rc rc = hsm_conn_open(url, conn);
    if (rc)
        return rc;
    if (g->auth_key_file) {
        EVP_PKEY *k = NULL;
        rc = load_auth_key_file(g->auth_key_file, &k);
        if (rc == SIGNET_OK)
            rc = hsm_session_open_asym(*conn, g->auth_key, k, sess);
        EVP_PKEY_free(k);
    } else {
        char *pw = NULL;
        char prompt[64];
        snprintf(prompt, sizeof prompt, "Password for authentication key %u: ", g->auth_key);
        rc = signet_read_password(g->password_file, "SIGNET_PASSWORD", prompt, &pw);
        if (rc == SIGNET_OK)
            rc = hsm_session_open(*conn, g->auth_key, pw, sess);
        smem_free(pw);
    }
    if (rc) {
        hsm_conn_close(*conn);
        *conn = NULL;
    }
    return rc;
}

void cli_close_session(hsm_conn *conn, hsm_session *sess)
{
    hsm_session_close(sess);
    hsm_conn_close(conn);
}

static void group_usage(FILE *f, const char *group, const char *intro,
                        const struct cli_command *cmds, size_t n)
{
    int width = 0;
    for (size_t i = 0; i < n; i++)
        if ((int)strlen(cmds[i].name) > width)
            width = (int)strlen(cmds[i].name);
    fprintf(f, "usage: signet [global options] %s <command> [options]\n\n%s\ncommands:\n", group,
            intro);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-*s  %s\n", width, cmds[i].name, cmds[i].summary);
    fprintf(f, "\n`signet %s <command> --help` describes a command.\n", group);
}

int cli_dispatch(const char *group, const char *intro, const struct cli_command *cmds, size_t n,
                 const struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2) {
        group_usage(stderr, group, intro, cmds, n);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        group_usage(stdout, group, intro, cmds, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cmds[i].name, argv[1]) == 0) {
            optind = 0; /* the command parses its own options; argv[0] = its name */
            return cmds[i].fn(g, argc - 1, argv + 1);
        }
    }
    return cli_usage_error(group, "unknown command '%s'", argv[1]);
}

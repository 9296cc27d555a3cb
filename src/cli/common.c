/* Shared pieces of the signet command: see cli.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include "cli.h"
#include "signet/secmem.h"
#include "signet/sign.h"

signet_rc cli_open_error(const char *what, const char *path)
{
    int e = errno;
    return signet_fail(e == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO, "cannot open %s%s%s: %s",
                       what ? what : "", what ? " " : "", path, strerror(e));
}

signet_rc cli_require_file(const char *path)
{
    struct stat st;
    if (!path)
        return SIGNET_OK;
    if (stat(path, &st) != 0)
        return cli_open_error(NULL, path);
    if (!S_ISREG(st.st_mode))
        return signet_fail(SIGNET_E_IO, "%s is %s, not a file", path,
                           S_ISDIR(st.st_mode) ? "a directory" : "a special file");
    return SIGNET_OK;
}

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
    fprintf(stderr, " (see `signet %s%s--help`)\n", group ? group : "", group ? " " : "");
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

signet_rc cli_load_private_key(const char *what, const char *path, EVP_PKEY **out)
{
    bool std_in = strcmp(path, "-") == 0;
    FILE *f = std_in ? stdin : fopen(path, "r");
    if (!f)
        return cli_open_error(what, path);
    *out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    if (!std_in)
        fclose(f);
    if (!*out)
        return signet_fail(SIGNET_E_PARSE, "%s (%s) does not hold a PEM private key",
                           std_in ? "standard input" : path, what);
    return SIGNET_OK;
}

static signet_rc load_auth_key_file(const char *path, EVP_PKEY **out)
{
    return cli_load_private_key("authentication key file", path, out);
}

static signet_rc named_config(const struct cli_globals *g, signet_config *cfg, bool *have);

signet_rc cli_named_config(const struct cli_globals *g, signet_config *cfg)
{
    bool have;
    return named_config(g, cfg, &have);
}

/* signet.conf when one is named (--config, $SIGNET_CONF); *have false otherwise. */
static signet_rc named_config(const struct cli_globals *g, signet_config *cfg, bool *have)
{
    const char *conf = g->config ? g->config : getenv("SIGNET_CONF");
    *have = conf && *conf;
    if (!*have) {
        signet_config_defaults(cfg);
        return SIGNET_OK;
    }
    return signet_config_load(conf, cfg);
}

/* --connector, then $SIGNET_CONNECTOR (main.c), then signet.conf, then the default. */
static void pick_connector(const struct cli_globals *g, const signet_config *cfg, char *url,
                           size_t cap)
{
    snprintf(url, cap, "%s", g->connector ? g->connector : cfg->connector);
}

signet_rc cli_connector_url(const struct cli_globals *g, char *url, size_t cap)
{
    signet_config cfg;
    bool have;
    signet_rc rc = g->connector ? (signet_config_defaults(&cfg), SIGNET_OK)
                                : named_config(g, &cfg, &have);
    if (rc == SIGNET_OK)
        pick_connector(g, &cfg, url, cap);
    return rc;
}

signet_rc cli_credentials(const struct cli_globals *g, const signet_config *cfg,
                          struct cli_credential *out)
{
    memset(out, 0, sizeof *out);
    out->auth_key = g->auth_key_set ? g->auth_key : cfg->auth_key ? cfg->auth_key : 1;
    /* A credential named on the command line replaces both settings of the file. */
    if (g->password_file || g->auth_key_file) {
        out->password_file = g->password_file;
        out->auth_key_file = g->auth_key_file;
    } else {
        out->password_file = cfg->password_file[0] ? cfg->password_file : NULL;
        out->auth_key_file = cfg->auth_key_file[0] ? cfg->auth_key_file : NULL;
    }
    if (out->password_file && out->auth_key_file)
        return signet_fail(SIGNET_E_ARG, "--password-file and --auth-key-file name two "
                                         "credentials: give one");
    return SIGNET_OK;
}

signet_rc cli_open_session_cfg(const struct cli_globals *g, const signet_config *cfg,
                               hsm_conn **conn, hsm_session **sess)
{
    return cli_open_session_keep(g, cfg, conn, sess, NULL);
}

signet_rc cli_open_session_keep(const struct cli_globals *g, const signet_config *cfg,
                                hsm_conn **conn, hsm_session **sess, struct cli_kept *kept)
{
    *conn = NULL;
    *sess = NULL;
    if (kept)
        *kept = (struct cli_kept){0};
    struct cli_credential cr;
    signet_rc rc = cli_credentials(g, cfg, &cr);
    if (rc)
        return rc;
    char url[sizeof cfg->connector];
    pick_connector(g, cfg, url, sizeof url);
    rc = hsm_conn_open(url, conn);
    if (rc)
        return rc;
    if (cr.auth_key_file) {
        EVP_PKEY *k = NULL;
        rc = load_auth_key_file(cr.auth_key_file, &k);
        if (rc == SIGNET_OK)
            rc = hsm_session_open_asym(*conn, cr.auth_key, k, sess);
        if (rc == SIGNET_OK && kept)
            kept->key = k; /* the caller's now */
        else
            EVP_PKEY_free(k);
    } else {
        char *pw = NULL;
        char prompt[64];
        snprintf(prompt, sizeof prompt, "Password for authentication key %u: ", cr.auth_key);
        rc = signet_read_password(cr.password_file, "SIGNET_PASSWORD", prompt, &pw);
        if (rc == SIGNET_OK)
            rc = hsm_session_open(*conn, cr.auth_key, pw, sess);
        if (rc == SIGNET_OK && kept) {
            kept->password = pw; /* the caller's now */
            pw = NULL;
        }
        smem_free(pw);
    }
    if (kept)
        kept->auth_id = cr.auth_key;
    /* The device answers "object not found" for an unknown authentication key:
     * for the person logging in that is a failed authentication (exit 5). */
    if (rc == SIGNET_E_NOTFOUND)
        rc = signet_fail(SIGNET_E_AUTH, "authentication key %u does not exist on the device: check "
                                        "--auth-key, $SIGNET_AUTH_KEY or auth_key in signet.conf",
                         cr.auth_key);
    if (rc == SIGNET_OK && (rc = cli_arm_drain(cfg, *sess)) != SIGNET_OK) {
        hsm_session_close(*sess);
        *sess = NULL;
    }
    if (rc) {
        hsm_conn_close(*conn);
        *conn = NULL;
        if (kept) {
            smem_free(kept->password);
            EVP_PKEY_free(kept->key);
            *kept = (struct cli_kept){0};
        }
    }
    return rc;
}

signet_rc cli_open_session(const struct cli_globals *g, hsm_conn **conn, hsm_session **sess)
{
    *conn = NULL;
    *sess = NULL;
    signet_config cfg;
    bool have;
    signet_rc rc = named_config(g, &cfg, &have);
    return rc ? rc : cli_open_session_cfg(g, &cfg, conn, sess);
}

void cli_close_session(hsm_conn *conn, hsm_session *sess)
{
    hsm_session_close(sess);
    hsm_conn_close(conn);
}

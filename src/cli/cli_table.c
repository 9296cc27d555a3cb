/* The one dispatcher of the command tables (see cli_table.h): parsing, required
 * options, generated --help, usage errors, session handling and exit codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_table.h"
#include "signet/proto.h"
#include "signet/sign.h"

static bool is_end(const struct cli_cmd *c)
{
    return c->run == NULL;
}

static bool single(const struct cli_table *grp)
{
    return grp->cmds[0].name == NULL && !is_end(&grp->cmds[0]);
}

static size_t n_opts(const struct cli_cmd *c)
{
    size_t n = 0;
    while (c->opts && c->opts[n].name)
        n++;
    return n;
}

/* "hsm list" or "sign". */
static void cmd_title(char *buf, size_t cap, const struct cli_table *grp, const struct cli_cmd *c)
{
    snprintf(buf, cap, "%s%s%s", grp->name, c->name ? " " : "", c->name ? c->name : "");
}

/* One line on stderr, exit 2. */
static int usage_error(const struct cli_table *grp, const struct cli_cmd *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int usage_error(const struct cli_table *grp, const struct cli_cmd *c, const char *fmt, ...)
{
    char title[128];
    if (c)
        cmd_title(title, sizeof title, grp, c);
    else
        snprintf(title, sizeof title, "%s", grp->name);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A message from a parser may carry a newline; the report stays one line. */
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    fprintf(stderr, "signet %s: %s (see `signet %s --help`)\n", title, msg, title);
    return 2;
}

static void opt_synopsis(FILE *f, const struct cli_opt *o)
{
    bool req = o->flags & CLI_REQUIRED;
    if (o->flags & CLI_POSITIONAL) {
        fprintf(f, req ? " %s%s" : " [%s%s]", o->name, (o->flags & CLI_REST) ? "..." : "");
        return;
    }
    /* A one-letter name (signapk's -w, -a) is shown as its tool spells it. */
    const char *dashes = o->name[0] && !o->name[1] ? "-" : "--";
    fprintf(f, req ? " %s%s" : " [%s%s", dashes, o->name);
    if (o->metavar)
        fprintf(f, " %s", o->metavar);
    fprintf(f, "%s%s", req ? "" : "]", (o->flags & CLI_REPEAT) ? "..." : "");
}

static void cmd_help(FILE *f, const struct cli_table *grp, const struct cli_cmd *c)
{
    char title[128];
    cmd_title(title, sizeof title, grp, c);
    fprintf(f, "usage: signet %s", title);
    size_t n = n_opts(c);
    for (size_t i = 0; i < n; i++)
        if (!(c->opts[i].flags & CLI_POSITIONAL))
            opt_synopsis(f, &c->opts[i]);
    for (size_t i = 0; i < n; i++)
        if (c->opts[i].flags & CLI_POSITIONAL)
            opt_synopsis(f, &c->opts[i]);
    fprintf(f, "\n\n%s.\n", c->summary);
    if (c->description)
        fprintf(f, "\n%s", c->description);
    if (n)
        fprintf(f, "\n");
    for (size_t i = 0; i < n; i++) {
        const struct cli_opt *o = &c->opts[i];
        char lhs[96];
        if (o->flags & CLI_POSITIONAL)
            snprintf(lhs, sizeof lhs, "%s", o->name);
        else if (o->short_name && !(o->name[0] == o->short_name && !o->name[1]))
            snprintf(lhs, sizeof lhs, "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(lhs, sizeof lhs, "%s%s%s%s", o->name[1] ? "--" : "-", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        fprintf(f, "  %-24s %s", lhs, o->help ? o->help : "");
        if (o->def)
            fprintf(f, " (default %s)", o->def);
        if (o->flags & (CLI_REPEAT))
            fprintf(f, " (may be repeated)");
        fprintf(f, "\n");
    }
    if (c->needs & (CLI_SESSION | CLI_SIGNER))
        fprintf(f, "\nLogs in to the device with the global credential (--auth-key with\n"
                   "--password-file, $SIGNET_PASSWORD or a prompt, or --auth-key-file; or the\n"
                   "auth_key, password_file and auth_key_file settings of signet.conf).\n");
    if (c->needs & CLI_SIGNER)
        fprintf(f, "Signs through the signing path configured by signet.conf (--config,\n"
                   "$SIGNET_CONF); every signature is recorded in the audit trail.\n");
    fprintf(f, "\nOptions take one or two dashes (-in F, --in F, --in=F).  Exit codes:\n"
               "signet(1), docs/signet.1.md.\n");
}

static void group_help(FILE *f, const struct cli_table *grp)
{
    int width = 0;
    for (const struct cli_cmd *c = grp->cmds; !is_end(c); c++)
        if ((int)strlen(c->name) > width)
            width = (int)strlen(c->name);
    fprintf(f, "usage: signet [global options] %s <command> [options]\n\n", grp->name);
    if (grp->intro)
        fprintf(f, "%s\n", grp->intro);
    fprintf(f, "commands:\n");
    for (const struct cli_cmd *c = grp->cmds; !is_end(c); c++)
        fprintf(f, "  %-*s  %s\n", width, c->name, c->summary);
    fprintf(f, "\n`signet %s <command> --help` describes a command.\n", grp->name);
}

static bool is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

/* Finds the option an argv word names: -x (short), -name, --name (with or without
 * =value).  *value gets the text after '=' or NULL. */
static const struct cli_opt *find_opt(const struct cli_cmd *c, const char *word, const char **value)
{
    *value = NULL;
    size_t n = n_opts(c);
    if (word[1] != '-' && word[2] == 0) {
        for (size_t i = 0; i < n; i++)
            if (c->opts[i].short_name == word[1] && !(c->opts[i].flags & CLI_POSITIONAL))
                return &c->opts[i];
    }
    const char *name = word + (word[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t i = 0; i < n; i++) {
        const struct cli_opt *o = &c->opts[i];
        if (!(o->flags & CLI_POSITIONAL) && strlen(o->name) == len &&
            strncmp(o->name, name, len) == 0) {
            *value = eq ? eq + 1 : NULL;
            return o;
        }
    }
    return NULL;
}

/* The parse state of one command line. */
struct parse {
    const struct cli_table *grp;
    const struct cli_cmd *c;
    uint8_t *args;
    bool *seen;
};

static int take_value(struct parse *p, const struct cli_opt *o, const char *what, const char *v)
{
    void *dst = p->args + o->offset;
    size_t i = (size_t)(o - p->c->opts);
    if (o->flags & (CLI_REPEAT | CLI_REST)) {
        struct cli_list *l = dst;
        l->v[l->n++] = v;
        p->seen[i] = true;
        return -1;
    }
    if (p->seen[i])
        return usage_error(p->grp, p->c, "%s given twice", what);
    p->seen[i] = true;
    signet_rc rc = o->parse(v, dst);
    if (rc)
        return usage_error(p->grp, p->c, "%s: %s", what, signet_errmsg());
    return -1;
}

/* Fills p->args from argv; returns -1 when the command should run, else an exit code. */
static int parse_argv(struct parse *p, int argc, char **argv)
{
    const struct cli_cmd *c = p->c;
    size_t n = n_opts(c), pos = 0;
    bool only_args = false;
    for (int k = 0; k < argc; k++) {
        const char *a = argv[k];
        int ex;
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = true;
            continue;
        }
        if (!only_args && a[0] == '-' && a[1] != 0) {
            if (is_help(a)) {
                cmd_help(stdout, p->grp, c);
                return 0;
            }
            const char *inline_v;
            const struct cli_opt *o = find_opt(c, a, &inline_v);
            if (!o)
                return usage_error(p->grp, c, "unknown option '%s'", a);
            if (!o->metavar) {
                if (inline_v)
                    return usage_error(p->grp, c, "%s takes no value", a);
                *(bool *)(p->args + o->offset) = true;
                p->seen[o - c->opts] = true;
                continue;
            }
            const char *v = inline_v;
            if (!v) {
                if (k + 1 >= argc)
                    return usage_error(p->grp, c, "%s needs a value (%s)", a, o->metavar);
                v = argv[++k];
            }
            if ((ex = take_value(p, o, a, v)) >= 0)
                return ex;
            continue;
        }
        while (pos < n && !(c->opts[pos].flags & CLI_POSITIONAL))
            pos++;
        if (pos >= n)
            return usage_error(p->grp, c, "unexpected argument '%s'", a);
        const struct cli_opt *o = &c->opts[pos];
        if ((ex = take_value(p, o, o->name, a)) >= 0)
            return ex;
        if (!(o->flags & CLI_REST))
            pos++;
    }
    for (size_t i = 0; i < n; i++) {
        const struct cli_opt *o = &c->opts[i];
        if (p->seen[i])
            continue;
        if (o->flags & CLI_REQUIRED) {
            if (o->flags & CLI_POSITIONAL)
                return usage_error(p->grp, c, "missing argument %s", o->name);
            return usage_error(p->grp, c, "missing option --%s %s", o->name,
                               o->metavar ? o->metavar : "");
        }
        if (o->def && o->parse(o->def, p->args + o->offset) != SIGNET_OK)
            return usage_error(p->grp, c, "default of --%s: %s", o->name, signet_errmsg());
    }
    return -1;
}

static signet_rc open_connector(const struct cli_globals *g, hsm_conn **conn)
{
    char url[256];
    signet_rc rc = cli_connector_url(g, url, sizeof url);
    return rc ? rc : hsm_conn_open(url, conn);
}

signet_rc cli_ctx_open(struct cli_ctx *c)
{
    unsigned needs = c->row->needs;
    if (c->signer || c->conn)
        return SIGNET_OK;
    if (needs & CLI_SIGNER)
        return cli_open_signer(c->g, &c->signer);
    if (needs & CLI_SESSION)
        return cli_open_session(c->g, &c->conn, &c->sess);
    if (needs & CLI_CONNECTOR)
        return open_connector(c->g, &c->conn);
    return SIGNET_OK;
}

signet_rc cli_ctx_open_cfg(struct cli_ctx *c, const signet_config *cfg)
{
    if (c->signer || c->conn)
        return SIGNET_OK;
    if (cfg->backend == SIGNET_BACKEND_PKCS11) /* the token's PIN, trail or not */
        return signet_signer_open_config(cfg, &c->signer);
    signet_rc rc = cli_open_session_cfg(c->g, cfg, &c->conn, &c->sess);
    if (rc == SIGNET_OK && cfg->audit[0]) {
        /* The signer owns the session from here, also when opening it fails. */
        rc = signet_signer_open_session(cfg, c->conn, c->sess, &c->signer);
        c->conn = NULL;
        c->sess = NULL;
    }
    return rc;
}

hsm_session *cli_ctx_session(struct cli_ctx *c)
{
    return c->signer ? signet_signer_session(c->signer) : c->sess;
}

/* Opens what the row needs, runs the handler, closes; returns the exit code. */
static int run_handler(const struct cli_table *grp, const struct cli_cmd *c,
                       const struct cli_globals *g, void *args)
{
    struct cli_ctx ctx = {.g = g, .row = c, .group = grp->name, .cmd = c->name};
    signet_rc rc = SIGNET_OK;
    if (!(c->needs & CLI_LATE))
        rc = cli_ctx_open(&ctx);
    if (rc == SIGNET_OK)
        rc = c->run(&ctx, args);
    /* The error message must survive the closing calls. */
    signet_rc code = rc;
    char msg[2048] = "";
    if (rc)
        snprintf(msg, sizeof msg, "%s", signet_errmsg());
    if (ctx.signer)
        signet_signer_close(ctx.signer);
    else if (ctx.sess)
        cli_close_session(ctx.conn, ctx.sess);
    else if (ctx.conn)
        hsm_conn_close(ctx.conn);
    if (rc) {
        fprintf(stderr, "signet: %s\n", msg);
        return signet_exit_code(code);
    }
    return ctx.status;
}

static int run_cmd(const struct cli_table *grp, const struct cli_cmd *c,
                   const struct cli_globals *g, int argc, char **argv)
{
    size_t n = n_opts(c);
    struct parse p = {.grp = grp, .c = c};
    p.args = calloc(1, c->args_size ? c->args_size : 1);
    p.seen = calloc(n ? n : 1, sizeof *p.seen);
    const char **store = calloc(n * ((size_t)argc + 1) + 1, sizeof *store);
    int ex = 0;
    if (!p.args || !p.seen || !store) {
        ex = cli_report(signet_fail(SIGNET_E_NOMEM, "out of memory"));
        goto out;
    }
    /* Each list gets room for every word of argv. */
    for (size_t i = 0; i < n; i++) {
        if (c->opts[i].flags & (CLI_REPEAT | CLI_REST)) {
            struct cli_list *l = (struct cli_list *)(p.args + c->opts[i].offset);
            l->v = store + i * ((size_t)argc + 1);
        }
    }
    ex = parse_argv(&p, argc, argv);
    if (ex < 0)
        ex = run_handler(grp, c, g, p.args);
out:
    free(store);
    free(p.seen);
    free(p.args);
    return ex;
}

int cli_table_run(const struct cli_table *grp, const struct cli_globals *g, int argc, char **argv)
{
    if (single(grp))
        return run_cmd(grp, &grp->cmds[0], g, argc - 1, argv + 1);
    if (argc < 2) {
        group_help(stderr, grp);
        return 2;
    }
    if (is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        group_help(stdout, grp);
        return 0;
    }
    for (const struct cli_cmd *c = grp->cmds; !is_end(c); c++)
        if (strcmp(c->name, argv[1]) == 0)
            return run_cmd(grp, c, g, argc - 2, argv + 2);
    return usage_error(grp, NULL, "unknown command '%s'", argv[1]);
}

void cli_table_list(FILE *f)
{
    for (const struct cli_table *const *t = cli_tables_all; *t; t++) {
        for (const struct cli_cmd *c = (*t)->cmds; !is_end(c); c++) {
            fprintf(f, "%s\t%s\t", (*t)->name, c->name ? c->name : "-");
            size_t n = n_opts(c);
            for (size_t i = 0; i < n; i++) {
                const struct cli_opt *o = &c->opts[i];
                const char *req = (o->flags & CLI_REQUIRED) ? "!" : "";
                if (o->flags & CLI_POSITIONAL)
                    fprintf(f, "%s@%s%s%s", i ? " " : "", o->name,
                            (o->flags & CLI_REST) ? "..." : "", req);
                else if (o->metavar)
                    fprintf(f, "%s--%s=%s%s", i ? " " : "", o->name, o->metavar, req);
                else
                    fprintf(f, "%s--%s", i ? " " : "", o->name);
            }
            fprintf(f, "\n");
        }
    }
}

/* ---------------------------------------------------------------- parsers */

signet_rc cli_p_str(const char *s, void *dst)
{
    *(const char **)dst = s;
    return SIGNET_OK;
}

signet_rc cli_p_id(const char *s, void *dst)
{
    return cli_parse_id(s, dst);
}

signet_rc cli_p_uint(const char *s, void *dst)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (!*s || *end || errno || v > 0x7fffffffUL || *s == '-')
        return signet_fail(SIGNET_E_ARG, "'%s' is not a whole number", s);
    *(unsigned *)dst = (unsigned)v;
    return SIGNET_OK;
}

signet_rc cli_p_domains(const char *s, void *dst)
{
    return yh_domains_parse(s, dst);
}

signet_rc cli_p_hash(const char *s, void *dst)
{
    static const char *const names[] = {"sha256", "sha384", "sha512"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i]) == 0) {
            *(const char **)dst = names[i];
            return SIGNET_OK;
        }
    }
    return signet_fail(SIGNET_E_ARG, "'%s' is not sha256, sha384 or sha512", s);
}

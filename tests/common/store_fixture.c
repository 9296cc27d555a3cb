/* A signet workspace over a private emulator: see store_fixture.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/store_fixture.h"

int store_start(struct store *s, const char *hsmd_args)
{
    if (hsmd_start(&s->h, hsmd_args) != 0)
        return -1;
    const struct hsmd *h = &s->h;
    snprintf(s->env, sizeof s->env,
             "export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password SIGNET_CONF=%s/signet.conf "
             "PATH=%s:$PATH;",
             h->url, h->dir, getenv("SIGNET_BIN_DIR"));
    char conf[1024], path[512];
    snprintf(conf, sizeof conf, "connector = %s\nkeystore = %s/keys\naudit = %s/audit\n", h->url,
             h->dir, h->dir);
    snprintf(path, sizeof path, "%s/signet.conf", h->dir);
    return test_write_file(path, conf, strlen(conf));
}

int store_init_keystore(struct store *s, const char *command_audit)
{
    if (store_sh(s, "printf '%%064d' 7 > wrap.hex && "
                    "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
                    "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null") != 0)
        return -1;
    if (command_audit &&
        store_sh(s, "signet hsm set-option command-audit %s >/dev/null", command_audit) != 0)
        return -1;
    return store_sh(s, "signet -q audit init >/dev/null") == 0 ? 0 : -1;
}

static int vsh(struct store *s, char **out, const char *fmt, va_list ap)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", s->h.dir, s->env);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    return run_cmd(cmd, out);
}

int store_sh_out(struct store *s, char **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vsh(s, out, fmt, ap);
    va_end(ap);
    return rc;
}

long store_num(struct store *s, const char *fmt, ...)
{
    char *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = vsh(s, &out, fmt, ap);
    va_end(ap);
    char *end = NULL;
    long v = rc == 0 && out ? strtol(out, &end, 10) : -1;
    if (end == out)
        v = -1;
    free(out);
    return v;
}

void store_cleanup(struct store *s)
{
    hsmd_cleanup(&s->h);
}

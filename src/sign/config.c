/* signet.conf: the one configuration file of the signing adapters (sign.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/client.h"
#include "signet/sign.h"

#define DEFAULT_CONF "/etc/signet/signet.conf"

void signet_config_defaults(signet_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->connector, sizeof cfg->connector, "%s", SIGNET_DEFAULT_CONNECTOR);
    cfg->wrap_key_id = 0x00ff;
    cfg->min_free_objects = 8;
    cfg->min_free_pages = 64;
    cfg->checkpoint_every = 100;
    cfg->checkpoint_seconds = 300;
    cfg->log_key_id = 0x0010;
    snprintf(cfg->log_name, sizeof cfg->log_name, "signet.example/audit");
    snprintf(cfg->log_key_label, sizeof cfg->log_key_label, "signet-log");
    snprintf(cfg->pkcs11_wrap_key_label, sizeof cfg->pkcs11_wrap_key_label, "signet-wrap");
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = 0;
    return s;
}

static signet_rc set_str(char *dst, size_t cap, const char *v, const char *key, unsigned line)
{
    if (strlen(v) >= cap)
        return signet_fail(SIGNET_E_PARSE, "line %u: value of '%s' is longer than %zu bytes", line,
                           key, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return SIGNET_OK;
}

static signet_rc set_num(unsigned *dst, unsigned max, const char *v, const char *key, unsigned line)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 0);
    if (!*v || *end || errno || n > max)
        return signet_fail(SIGNET_E_PARSE, "line %u: '%s' needs a number up to %u, not '%s'", line,
                           key, max, v);
    *dst = (unsigned)n;
    return SIGNET_OK;
}

static signet_rc set_id(uint16_t *dst, const char *v, const char *key, unsigned line)
{
    unsigned n;
    signet_rc rc = set_num(&n, 0xffff, v, key, line);
    if (rc == SIGNET_OK)
        *dst = (uint16_t)n;
    return rc;
}

static signet_rc apply(signet_config *cfg, const char *k, const char *v, unsigned line)
{
    if (!strcmp(k, "connector")) return set_str(cfg->connector, sizeof cfg->connector, v, k, line);
    if (!strcmp(k, "keystore")) return set_str(cfg->keystore, sizeof cfg->keystore, v, k, line);
    if (!strcmp(k, "audit")) return set_str(cfg->audit, sizeof cfg->audit, v, k, line);
    if (!strcmp(k, "log_name")) return set_str(cfg->log_name, sizeof cfg->log_name, v, k, line);
    if (!strcmp(k, "wrap_key_id")) return set_id(&cfg->wrap_key_id, v, k, line);
    if (!strcmp(k, "log_key_id")) return set_id(&cfg->log_key_id, v, k, line);
    if (!strcmp(k, "auth_key")) return set_id(&cfg->auth_key, v, k, line);
    if (!strcmp(k, "password_file"))
        return set_str(cfg->password_file, sizeof cfg->password_file, v, k, line);
    if (!strcmp(k, "auth_key_file"))
        return set_str(cfg->auth_key_file, sizeof cfg->auth_key_file, v, k, line);
    if (!strcmp(k, "min_free_objects")) return set_num(&cfg->min_free_objects, 256, v, k, line);
    if (!strcmp(k, "min_free_pages")) return set_num(&cfg->min_free_pages, 1024, v, k, line);
    if (!strcmp(k, "checkpoint_every")) return set_num(&cfg->checkpoint_every, 1u << 30, v, k, line);
    if (!strcmp(k, "cache")) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return signet_fail(SIGNET_E_PARSE, "line %u: 'cache' is on or off, not '%s'", line, v);
        cfg->cache_off = !strcmp(v, "off");
        return SIGNET_OK;
    }
    if (!strcmp(k, "backend")) {
        if (strcmp(v, "yubihsm") && strcmp(v, "pkcs11"))
            return signet_fail(SIGNET_E_PARSE, "line %u: 'backend' is yubihsm or pkcs11, not '%s'",
                               line, v);
        cfg->backend = !strcmp(v, "pkcs11") ? SIGNET_BACKEND_PKCS11 : SIGNET_BACKEND_YUBIHSM;
        return SIGNET_OK;
    }
    if (!strcmp(k, "pkcs11_module"))
        return set_str(cfg->pkcs11_module, sizeof cfg->pkcs11_module, v, k, line);
    if (!strcmp(k, "pkcs11_token"))
        return set_str(cfg->pkcs11_token, sizeof cfg->pkcs11_token, v, k, line);
    if (!strcmp(k, "pkcs11_pin_file"))
        return set_str(cfg->pkcs11_pin_file, sizeof cfg->pkcs11_pin_file, v, k, line);
    if (!strcmp(k, "failover")) return set_str(cfg->failover, sizeof cfg->failover, v, k, line);
    if (!strcmp(k, "pkcs11_wrap_key_label"))
        return set_str(cfg->pkcs11_wrap_key_label, sizeof cfg->pkcs11_wrap_key_label, v, k, line);
    if (!strcmp(k, "log_key_label"))
        return set_str(cfg->log_key_label, sizeof cfg->log_key_label, v, k, line);
    if (!strcmp(k, "cache_dir")) return set_str(cfg->cache_dir, sizeof cfg->cache_dir, v, k, line);
    if (!strcmp(k, "checkpoint_seconds"))
        return set_num(&cfg->checkpoint_seconds, 1u << 30, v, k, line);
    return signet_fail(SIGNET_E_PARSE, "line %u: unknown setting '%s' (see docs/signing.md)", line, k);
}

signet_rc signet_config_load(const char *path, signet_config *cfg)
{
    signet_config_defaults(cfg);
    if (!path)
        path = getenv("SIGNET_CONF");
    if (!path)
        path = DEFAULT_CONF;
    FILE *f = fopen(path, "r");
    if (!f)
        return signet_fail(SIGNET_E_IO, "cannot read the signet configuration %s: %s (set SIGNET_CONF)",
                           path, strerror(errno));
    char buf[2048];
    unsigned line = 0;
    signet_rc rc = SIGNET_OK;
    while (rc == SIGNET_OK && fgets(buf, sizeof buf, f)) {
        line++;
        if (!strchr(buf, '\n') && !feof(f)) {
            rc = signet_fail(SIGNET_E_PARSE, "line %u is too long", line);
            break;
        }
        char *s = trim(buf);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = signet_fail(SIGNET_E_PARSE, "line %u: expected 'key = value'", line);
            break;
        }
        *eq = 0;
        rc = apply(cfg, trim(s), trim(eq + 1), line);
    }
    fclose(f);
    if (rc == SIGNET_OK && cfg->backend == SIGNET_BACKEND_PKCS11 &&
        (!cfg->pkcs11_module[0] || !cfg->pkcs11_token[0]))
        rc = signet_fail(SIGNET_E_ARG, "backend = pkcs11 needs pkcs11_module and pkcs11_token");
    if (rc == SIGNET_OK && cfg->password_file[0] && cfg->auth_key_file[0])
        rc = signet_fail(SIGNET_E_ARG, "both password_file and auth_key_file are set: keep the "
                                         "one credential the auth_key logs in with");
    if (rc)
        return signet_wrap(rc, "%s", path);
    return SIGNET_OK;
}

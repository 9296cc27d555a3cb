/* Test environment of the PKCS#11 module tests: see p11_env.h. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p11_env.h"
#include "signet/audit.h"
#include "signet/client.h"
#include "signet/keystore.h"
#include "signet/proto.h"

#define DELEGATED                                                                              \
    (YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS) | YH_CAP(YH_CAP_SIGN_ECDSA) |          \
     YH_CAP(YH_CAP_SIGN_EDDSA) | YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP))

static int fail(const char *what)
{
    fprintf(stderr, "p11_env: %s: %s\n", what, signet_errmsg());
    return -1;
}

/* Parses "name algo,name algo" into a key map with ids from 0x0101. */
static int make_keymap(const char *keys, const char *dir)
{
    signet_keymap m;
    signet_keymap_init(&m);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", keys);
    uint16_t id = 0x0101;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        signet_keymap_entry e = {.id = id++, .domains = 1};
        char algo[32];
        if (sscanf(t, " %63s %31s", e.name, algo) != 2 || yh_algo_parse(algo, &e.algorithm) != 0) {
            fprintf(stderr, "p11_env: bad key spec '%s'\n", t);
            signet_keymap_free(&m);
            return -1;
        }
        snprintf(e.role, sizeof e.role, "test");
        if (signet_keymap_add(&m, &e) != SIGNET_OK) {
            signet_keymap_free(&m);
            return fail("keymap");
        }
    }
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, SIGNET_KEYMAP_FILE);
    signet_rc rc = signet_keymap_save(path, &m);
    signet_keymap_free(&m);
    return rc == SIGNET_OK ? 0 : fail("saving the key map");
}

static int generate_keys(struct p11_env *e)
{
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    signet_keystore *ks = NULL;
    int ret = -1;
    if (hsm_conn_open(e->h.url, &c) != SIGNET_OK || hsm_session_open(c, 1, "password", &s))
        goto out;
    hsm_object_attrs w = {.id = P11_TEST_WRAP_ID, .label = "wrap", .domains = 0xffff,
                          .capabilities = YH_CAP(YH_CAP_EXPORT_WRAPPED) |
                                          YH_CAP(YH_CAP_IMPORT_WRAPPED),
                          .delegated = DELEGATED, .algorithm = YH_ALGO_AES256_CCM_WRAP};
    uint16_t wid;
    if (hsm_generate_wrap_key(s, &w, &wid) != SIGNET_OK)
        goto out;
    if (signet_keystore_open(e->keystore, &ks) != SIGNET_OK)
        goto out;
    signet_keygen_opts o = {.wrap_id = P11_TEST_WRAP_ID};
    for (size_t i = 0; i < signet_keystore_count(ks); i++)
        if (signet_keystore_generate(ks, s, signet_keystore_entry(ks, i), &o) != SIGNET_OK)
            goto out;
    ret = 0;
out:
    if (ret)
        fail("generating the test keys");
    signet_keystore_close(ks);
    hsm_session_close(s);
    hsm_conn_close(c);
    return ret;
}

/* A trail anchored on the device's log as it is now (as a key ceremony would), with
 * the signing commands audited by the device so that records pair with its entries. */
static int make_trail(struct p11_env *e)
{
    static const uint8_t audited[] = {YH_CMD_SIGN_PKCS1, YH_OPT_ON, YH_CMD_SIGN_PSS, YH_OPT_ON,
                                      YH_CMD_SIGN_ECDSA, YH_OPT_ON, YH_CMD_SIGN_EDDSA, YH_OPT_ON};
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    signet_trail *t = NULL;
    hsm_devinfo di;
    hsm_log *log = calloc(1, sizeof *log);
    int ret = -1;
    if (log && signet_trail_init(e->audit) == SIGNET_OK &&
        signet_trail_open(e->audit, &t) == SIGNET_OK && hsm_conn_open(e->h.url, &c) == SIGNET_OK &&
        hsm_device_info(c, &di) == SIGNET_OK && hsm_session_open(c, 1, "password", &s) == SIGNET_OK &&
        hsm_set_option(s, YH_OPTION_COMMAND_AUDIT, audited, sizeof audited) == SIGNET_OK &&
        hsm_get_log_entries(s, log) == SIGNET_OK && signet_trail_lock(t) == SIGNET_OK) {
        if (signet_trail_add_anchor(t, di.serial, log) == SIGNET_OK)
            ret = 0;
        signet_trail_unlock(t);
    }
    if (ret)
        fail("making the audit trail");
    free(log);
    signet_trail_close(t);
    hsm_session_close(s);
    hsm_conn_close(c);
    return ret;
}

int p11_env_write_conf(struct p11_env *e, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof text,
             "# made by the PKCS#11 tests\n"
             "connector = %s\nkeystore = %s\naudit = %s\nwrap_key_id = 0x%04x\n%s",
             e->h.url, e->keystore, e->audit, P11_TEST_WRAP_ID, extra ? extra : "");
    return test_write_file(e->conf, text, strlen(text));
}

int p11_env_start(struct p11_env *e, const char *keys, bool audit, const char *hsmd_args)
{
    memset(e, 0, sizeof *e);
    if (hsmd_start(&e->h, hsmd_args) != 0)
        return -1;
    snprintf(e->keystore, sizeof e->keystore, "%s/keys", e->h.dir);
    snprintf(e->conf, sizeof e->conf, "%s/signet.conf", e->h.dir);
    if (mkdir(e->keystore, 0700) != 0 || make_keymap(keys, e->keystore) != 0 ||
        generate_keys(e) != 0)
        goto fail;
    if (audit) {
        snprintf(e->audit, sizeof e->audit, "%s/audit", e->h.dir);
        if (make_trail(e) != 0)
            goto fail;
    }
    if (p11_env_write_conf(e, NULL) != 0)
        goto fail;
    setenv("SIGNET_CONF", e->conf, 1);
    const char *bin = getenv("SIGNET_BIN_DIR");
    if (!bin) {
        fprintf(stderr, "p11_env: SIGNET_BIN_DIR is not set (run through ctest)\n");
        goto fail;
    }
    snprintf(e->module, sizeof e->module, "%s/../lib/libsignet-pkcs11.so", bin);
    return 0;
fail:
    hsmd_cleanup(&e->h);
    return -1;
}

int p11_env_load(struct p11_env *e)
{
    e->dl = dlopen(e->module, RTLD_NOW | RTLD_LOCAL);
    if (!e->dl) {
        fprintf(stderr, "p11_env: %s\n", dlerror());
        return -1;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(e->dl, "C_GetFunctionList");
    if (!get || get(&e->f) != CKR_OK) {
        fprintf(stderr, "p11_env: the module has no working C_GetFunctionList\n");
        return -1;
    }
    return 0;
}

void p11_env_unload(struct p11_env *e)
{
    if (e->dl)
        dlclose(e->dl);
    e->dl = NULL;
    e->f = NULL;
}

void p11_env_stop(struct p11_env *e)
{
    p11_env_unload(e);
    hsmd_cleanup(&e->h);
}

int p11_env_all_sessions_free(const struct p11_env *e)
{
    hsm_conn *c;
    hsm_session *s[YH_MAX_SESSIONS] = {0};
    int ret = 0;
    if (hsm_conn_open(e->h.url, &c) != SIGNET_OK)
        return fail("connecting");
    for (int i = 0; i < YH_MAX_SESSIONS && ret == 0; i++)
        if (hsm_session_open(c, 1, "password", &s[i]) != SIGNET_OK)
            ret = fail("opening every device session");
    for (int i = 0; i < YH_MAX_SESSIONS; i++)
        hsm_session_close(s[i]);
    hsm_conn_close(c);
    return ret;
}

static char *records(const struct p11_env *e)
{
    char path[400], *text = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/records.log", e->audit);
    struct stat st;
    if (stat(path, &st) != 0 || test_read_file(path, &text, &len) != 0)
        return NULL;
    return text;
}

/* A sign record: the line has the word "type=sign" (intent records precede them). */
/* A record of a released signature: made by the device (sign) or taken from the
 * signing cache (reuse). */
static bool is_sign_record(const char *line, size_t len)
{
    static const char *const words[] = {" type=sign ", " type=reuse "};
    for (size_t w = 0; w < 2; w++)
        for (size_t i = 0; i + strlen(words[w]) <= len; i++)
            if (memcmp(line + i, words[w], strlen(words[w])) == 0)
                return true;
    return false;
}

int p11_env_count_records(const struct p11_env *e)
{
    char *text = records(e);
    int n = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        n += is_sign_record(p, len);
        p += len + (nl != NULL);
    }
    free(text);
    return n;
}

char *p11_env_last_record(const struct p11_env *e)
{
    char *text = records(e), *last = NULL;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (is_sign_record(p, len)) {
            free(last);
            last = strndup(p, len);
        }
        p += len + (nl != NULL);
    }
    free(text);
    return last;
}

int p11_sh(char **out, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char *o = NULL;
    int rc = run_cmd(cmd, &o);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n%s", rc, cmd, o ? o : "");
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

const char *p11_peer_env(void)
{
    static char buf[600];
    const char *pre = getenv("SIGNET_P11_PRELOAD");
    if (!pre || !*pre)
        return "";
    snprintf(buf, sizeof buf,
             "LD_PRELOAD='%s' ASAN_OPTIONS=detect_leaks=0:handle_segv=0:allow_user_segv_handler=1",
             pre);
    return buf;
}

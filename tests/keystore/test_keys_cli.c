/* `signet keys` end to end: the signet command against a signet-hsm daemon over
 * HTTP, RSA-2048 keys, fingerprints checked with the openssl tool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hsmd_fixture.h"
#include "signet/client.h"
#include "signet/keystore.h"
#include "signet/proto.h"

static struct hsmd h;
static char keys[300];
static char signet[512];

/* Runs `signet --connector URL <args>` with the factory password; returns the
 * exit code, stdout and stderr in *out / *err (freed by the caller). */
static int sig(const char *args, char **out, char **err)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "SIGNET_PASSWORD=password SIGNET_CONF= '%s' --connector %s %s",
             signet, h.url, args);
    char *o = NULL, *e = NULL;
    int rc = run_cmd_full(cmd, NULL, 0, &o, NULL, &e, 0);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

static int sigf(char **out, char **err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sigf(char **out, char **err, const char *fmt, ...)
{
    char args[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return sig(args, out, err);
}

static int setup(void **state)
{
    snprintf(signet, sizeof signet, "%s", test_bin("signet"));
    if (hsmd_start(&h, NULL) != 0)
        return -1;
    snprintf(keys, sizeof keys, "%s/keys", h.dir);
    /* The wrap key, as a ceremony would have put it. */
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    if (hsm_conn_open(h.url, &c) != SIGNET_OK || hsm_session_open(c, 1, "password", &s) != SIGNET_OK) {
        fprintf(stderr, "login: %s\n", signet_errmsg());
        return -1;
    }
    uint8_t k[32] = {7, 7, 7};
    hsm_object_attrs wa = {.id = 0x00ff, .label = "wrap", .domains = 0xffff,
                           .capabilities = YH_CAP(YH_CAP_EXPORT_WRAPPED) |
                                           YH_CAP(YH_CAP_IMPORT_WRAPPED),
                           .delegated = YH_CAPS_ALL, .algorithm = YH_ALGO_AES256_CCM_WRAP};
    uint16_t got;
    signet_rc rc = hsm_put_wrap_key(s, &wa, k, sizeof k, &got);
    hsm_session_close(s);
    hsm_conn_close(c);
    return rc == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
    hsmd_cleanup(&h);
    return 0;
}

static const char *line_of(const char *text, const char *name)
{
    static char line[512];
    size_t n = strlen(name);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == ' ') {
            snprintf(line, sizeof line, "%.*s", (int)len, p);
            return line;
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static void sha256_of(const char *pipeline, char out[65])
{
    char *o = NULL;
    assert_int_equal(run_cmd(pipeline, &o), 0);
    assert_true(strlen(o) >= 64);
    memcpy(out, o, 64);
    out[64] = 0;
    free(o);
}

static void help_and_usage(void **state)
{
    char *out = NULL, *err = NULL;
    assert_int_equal(sig("keys --help", &out, NULL), 0);
    assert_non_null(strstr(out, "usage: signet [global options] keys"));
    free(out);
    const char *cmds[] = {"init", "generate", "list", "load", "evict"};
    for (int i = 0; i < 5; i++) {
        char want[64];
        snprintf(want, sizeof want, "usage: signet keys %s", cmds[i]);
        assert_int_equal(sigf(&out, NULL, "keys %s --help", cmds[i]), 0);
        assert_non_null(strstr(out, want));
        free(out);
    }
    assert_int_equal(sig("keys frob", NULL, &err), 2);
    assert_non_null(strstr(err, "unknown command 'frob'"));
    free(err);
    assert_int_equal(sig("keys list", NULL, &err), 2);
    assert_non_null(strstr(err, "no key store"));
    free(err);
    assert_int_equal(sig("keys list --keystore /nonexistent/keys", NULL, &err), 6);
    assert_non_null(strstr(err, "does not exist"));
    free(err);
    assert_int_equal(sig("keys init --keystore /tmp --algorithm rsa1024", NULL, &err), 2);
    free(err);
    assert_int_equal(sig("keys evict --keystore /tmp", NULL, &err), 2);
    free(err);
}

static void init_generate_list_load_evict(void **state)
{
    char *out = NULL, *err = NULL;
    /* init: the APK set and one device, RSA-2048 for speed. */
    assert_int_equal(sigf(&out, NULL, "keys init --keystore %s --device dev1 --algorithm rsa2048",
                          keys),
                     0);
    assert_non_null(strstr(out, "added releasekey"));
    assert_non_null(strstr(out, "added releasekey 0x0100 rsa2048 apk"));
    assert_non_null(strstr(out, "added avb_dev1"));
    assert_non_null(strstr(out, "added avb_dev1 0x0108 rsa2048 avb"));
    free(out);
    char path[512];
    snprintf(path, sizeof path, "%s/keymap.txt", keys);
    signet_keymap m;
    assert_int_equal(signet_keymap_load(path, &m), SIGNET_OK);
    assert_int_equal(m.n, 9);
    signet_keymap_free(&m);

    /* list before generation: everything missing, exit 1. */
    assert_int_equal(sigf(&out, NULL, "keys list --keystore %s", keys), 1);
    assert_non_null(strstr(line_of(out, "platform"), " missing "));
    free(out);

    /* generate two keys. */
    assert_int_equal(sigf(&out, &err,
                          "keys generate --keystore %s --wrap-id 0x00ff --only platform "
                          "--only avb_dev1",
                          keys),
                     0);
    assert_non_null(strstr(out, "generated platform 0x0101 rsa2048"));
    assert_non_null(strstr(out, "generated avb_dev1 0x0108 rsa2048"));
    assert_null(strstr(out, "releasekey"));
    assert_non_null(strstr(err, "platform: wrapped copy proven"));
    assert_non_null(strstr(err, "platform: attested by the HSM"));
    free(out);
    free(err);
    /* The attestation verifies against the emulator's attestation CA. */
    char vcmd[1024];
    snprintf(vcmd, sizeof vcmd, "openssl verify -CAfile %s.ca.pem %s/platform.attest.pem",
             h.state, keys);
    assert_int_equal(run_cmd(vcmd, &out), 0);
    assert_non_null(strstr(out, ": OK"));
    free(out);

    /* list: fingerprints as the openssl tool computes them. */
    assert_int_equal(sigf(&out, NULL, "keys list --keystore %s", keys), 1);
    const char *l = line_of(out, "platform");
    assert_non_null(l);
    char pubfp[65], certfp[65], cmd[1024];
    snprintf(cmd, sizeof cmd, "openssl pkey -pubin -in %s/platform.pub.pem -outform DER | sha256sum",
             keys);
    sha256_of(cmd, pubfp);
    snprintf(cmd, sizeof cmd, "openssl x509 -in %s/platform.x509.pem -outform DER | sha256sum",
             keys);
    sha256_of(cmd, certfp);
    char want[256];
    snprintf(want, sizeof want, "resident           %s %s", pubfp, certfp);
    assert_non_null(strstr(l, want));
    assert_non_null(strstr(l, "0x0101 rsa2048  apk "));
    assert_non_null(strstr(line_of(out, "avb_dev1"), " resident "));
    assert_non_null(strstr(line_of(out, "releasekey"), " missing "));
    assert_non_null(strstr(line_of(out, "releasekey"), " - -"));
    free(out);

    /* offline: no login needed, the disk only. */
    char offline[1024];
    snprintf(offline, sizeof offline,
             "SIGNET_PASSWORD= '%s' --connector http://127.0.0.1:1 keys list --keystore %s "
             "--offline",
             signet, keys);
    assert_int_equal(run_cmd(offline, &out), 1);
    assert_non_null(strstr(line_of(out, "platform"), " wrapped-only "));
    free(out);

    /* evict, then load again. */
    assert_int_equal(sigf(&out, NULL, "keys evict --keystore %s platform", keys), 0);
    assert_string_equal(out, "evicted platform\n");
    free(out);
    assert_int_equal(sigf(&out, NULL, "keys list --keystore %s", keys), 1);
    assert_non_null(strstr(line_of(out, "platform"), " wrapped-only "));
    free(out);
    assert_int_equal(sigf(&out, NULL, "keys load --keystore %s --wrap-id 0x00ff platform", keys),
                     0);
    assert_string_equal(out, "resident platform\n");
    free(out);
    assert_int_equal(sigf(NULL, &err, "keys evict --keystore %s nosuchkey", keys), 6);
    assert_non_null(strstr(err, "'nosuchkey' is not in the key map"));
    free(err);

    /* generate the rest: the two done are skipped, the list is complete. */
    assert_int_equal(sigf(&out, &err, "keys generate --keystore %s --wrap-id 0x00ff", keys), 0);
    assert_non_null(strstr(err, "platform: already in the store"));
    assert_non_null(strstr(out, "generated releasekey 0x0100"));
    assert_null(strstr(out, "generated platform"));
    free(out);
    free(err);
    assert_int_equal(sigf(&out, NULL, "keys list --keystore %s", keys), 0);
    assert_null(strstr(out, "missing"));
    free(out);

    /* A second device later: appended after the maximum, nothing renumbered. */
    char *before = NULL, *after = NULL;
    size_t blen, alen;
    assert_int_equal(test_read_file(path, &before, &blen), 0);
    assert_int_equal(sigf(&out, NULL, "keys init --keystore %s --device dev2 --device dev1", keys),
                     0);
    assert_non_null(strstr(out, "added avb_dev2"));
    assert_non_null(strstr(out, "added avb_dev2 0x0109 rsa4096 avb"));
    assert_null(strstr(out, "avb_dev1"));
    free(out);
    assert_int_equal(test_read_file(path, &after, &alen), 0);
    assert_true(alen > blen);
    signet_keymap mb, ma;
    assert_int_equal(signet_keymap_parse(before, blen, &mb), SIGNET_OK);
    assert_int_equal(signet_keymap_parse(after, alen, &ma), SIGNET_OK);
    assert_int_equal(ma.n, mb.n + 1);
    assert_memory_equal(ma.v, mb.v, mb.n * sizeof mb.v[0]);
    signet_keymap_free(&ma);
    signet_keymap_free(&mb);
    free(before);
    free(after);

    /* The key store named by signet.conf instead of --keystore. */
    char conf[512], text[1024];
    snprintf(conf, sizeof conf, "%s/signet.conf", h.dir);
    snprintf(text, sizeof text, "keystore = %s\nwrap_key_id = 0x00ff\n", keys);
    assert_int_equal(test_write_file(conf, text, strlen(text)), 0);
    assert_int_equal(sigf(&out, NULL, "--config %s keys list --offline", conf), 1);
    assert_non_null(strstr(line_of(out, "platform"), " wrapped-only "));
    free(out);
    snprintf(cmd, sizeof cmd,
             "SIGNET_PASSWORD=password '%s' --connector %s --config %s keys list", signet, h.url,
             conf);
    assert_int_equal(run_cmd(cmd, &out), 1); /* avb_dev2 is missing */
    assert_non_null(strstr(line_of(out, "platform"), " resident "));
    assert_non_null(strstr(line_of(out, "avb_dev2"), " missing "));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_usage),
        cmocka_unit_test(init_generate_list_load_evict),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

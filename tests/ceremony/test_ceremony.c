/* The key ceremony end to end on signet-hsm daemons, through the signet command:
 * a provision of two devices, what it wrote, what each role can and cannot do,
 * then restores onto other devices (custodians' identities including an ssh key,
 * and shares typed in), and the refusals that must happen before a restore
 * touches a device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ceremony/cer_rig.h"
#include "common/hsmd_fixture.h"
#include "signet/audit.h"
#include "signet/ceremony.h"
#include "signet/keystore.h"
#include "signet/proto.h"

#define ADMIN_ID 0x0002
#define OPERATOR_ID 0x0003
#define AUDITOR_ID 0x0004
#define WRAP_ID 0x00ff
#define LOG_KEY_ID 0x0010

struct world {
    struct rig r;
    struct hsmd pri, bak;
    char plan[RIG_PATH], out[RIG_PATH], manifest[RIG_PATH], ks[RIG_PATH];
    char *op_pw;        /* decrypted credentials of the provision */
    char *admin_pem;
    char *auditor_pem;
    char *admin_rkey;   /* the admin's record key (PEM) */
    char *shares[RIG_CUSTODIANS]; /* decrypted share texts (no newline) */
};

static struct world *W;

static char *decrypt_or_die(const char *identity, const char *dir, const char *rel)
{
    char path[2 * RIG_PATH];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char *text = rig_age_decrypt(identity, path);
    if (!text)
        fail_msg("age could not decrypt %s", path);
    return text;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
}

static int group_setup(void **state)
{
    W = calloc(1, sizeof *W);
    struct world *w = W;
    if (rig_init(&w->r) != 0)
        return -1;
    if (hsmd_start(&w->pri, "--serial 1001") != 0 || hsmd_start(&w->bak, "--serial 1002") != 0)
        return -1;
    snprintf(w->plan, sizeof w->plan, "%s/plan.txt", w->r.dir);
    snprintf(w->out, sizeof w->out, "%s/ceremony", w->r.dir);
    snprintf(w->manifest, sizeof w->manifest, "%s/manifest.txt", w->out);
    snprintf(w->ks, sizeof w->ks, "%s/keys", w->r.dir);
    if (rig_write_plan(&w->r, w->plan, w->pri.url, w->bak.url) != 0)
        return -1;
    char args[4 * RIG_PATH];
    snprintf(args, sizeof args, "ceremony provision --plan '%s' --out '%s'", w->plan, w->out);
    char *err = NULL;
    int rc = rig_signet(NULL, args, NULL, NULL, &err);
    if (rc != 0) {
        fprintf(stderr, "provision failed (exit %d)\n", rc);
        free(err);
        return -1;
    }
    /* Progress names every step. */
    if (!strstr(err, "\n14/14 manifest: write the public manifest (") ||
        !strstr(err, "s left)\n") || !strstr(err, "ceremony complete")) {
        fprintf(stderr, "provision progress incomplete:\n%s", err);
        free(err);
        return -1;
    }
    free(err);
    *state = w;
    return 0;
}

static int group_teardown(void **state)
{
    struct world *w = W;
    hsmd_cleanup(&w->pri);
    hsmd_cleanup(&w->bak);
    rig_cleanup(&w->r);
    free(w->op_pw);
    free(w->admin_pem);
    free(w->auditor_pem);
    free(w->admin_rkey);
    for (int i = 0; i < RIG_CUSTODIANS; i++)
        free(w->shares[i]);
    free(w);
    return 0;
}

static void outputs_and_hashes(void **state)
{
    struct world *w = W;
    char path[2 * RIG_PATH];
    snprintf(path, sizeof path, "%s/ceremony.state", w->out);
    assert_int_equal(access(path, F_OK), -1); /* finished runs leave no state file */
    /* The plan is copied verbatim into the public record. */
    char *a = NULL, *b = NULL;
    size_t al, bl;
    snprintf(path, sizeof path, "%s/plan.txt", w->out);
    assert_int_equal(test_read_file(w->plan, &a, &al), 0);
    assert_int_equal(test_read_file(path, &b, &bl), 0);
    assert_int_equal(al, bl);
    assert_memory_equal(a, b, al);
    free(a);
    free(b);
    /* Every "file" line of the manifest hashes to the file next to it. */
    char *m = NULL;
    size_t ml;
    assert_int_equal(test_read_file(w->manifest, &m, &ml), 0);
    int files = 0;
    for (char *line = strtok(m, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "file ", 5) != 0)
            continue;
        char hex[65], rel[256], have[65];
        assert_int_equal(sscanf(line, "file %64s %255s", hex, rel), 2);
        snprintf(path, sizeof path, "%s/%s", w->out, rel);
        assert_int_equal(rig_file_sha256_hex(path, have), 0);
        assert_string_equal(have, hex);
        files++;
    }
    free(m);
    /* plan, log.vkey, log-key.wrapped, 5 shares, 3 credentials, 2 record keys, the
     * record-keys anchor, 2 device anchors */
    assert_int_equal(files, 16);
    char *rk = rig_manifest_value(w->manifest, "record-key");
    assert_non_null(rk);
    assert_non_null(strstr(rk, "admin frank ed25519 "));
    assert_non_null(strstr(rk, " credentials/admin-record-key-frank.age"));
    free(rk);
    char *check = rig_manifest_value(w->manifest, "wrap-key.check");
    assert_non_null(check);
    assert_int_equal(strlen(check), 32);
    free(check);
    char *vkey = rig_manifest_value(w->manifest, "log-key.vkey");
    assert_non_null(vkey);
    assert_non_null(strstr(vkey, "test.example/signet-audit+"));
    free(vkey);
}

/* The real age decrypts every share and credential with the holder's identity,
 * and nothing secret sits unencrypted in the output directory. */
static void holders_decrypt_with_age(void **state)
{
    struct world *w = W;
    static const char *const names[RIG_CUSTODIANS] = {"alice", "bob", "chen", "dana", "emil"};
    for (int i = 0; i < RIG_CUSTODIANS; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "shares/%d-%s.age", i + 1, names[i]);
        w->shares[i] = decrypt_or_die(w->r.custodian[i].identity, w->out, rel);
        chomp(w->shares[i]);
        char prefix[8];
        snprintf(prefix, sizeof prefix, "3-%d-", i + 1);
        assert_int_equal(strncmp(w->shares[i], prefix, 4), 0);
        assert_int_equal(strlen(w->shares[i]), 4 + 70);
    }
    /* A custodian's identity opens only their own share. */
    char other[2 * RIG_PATH];
    snprintf(other, sizeof other, "%s/shares/3-chen.age", w->out);
    char *nope = rig_age_decrypt(w->r.custodian[0].identity, other);
    assert_null(nope);

    w->op_pw = decrypt_or_die(w->r.operator_.identity, w->out, "credentials/operator-gita.age");
    chomp(w->op_pw);
    assert_int_equal(strlen(w->op_pw), SIGNET_OPERATOR_PASSWORD_LEN);
    for (const char *c = w->op_pw; *c; c++)
        assert_true(*c >= '!' && *c <= '~');
    w->admin_pem = decrypt_or_die(w->r.admin.identity, w->out, "credentials/admin-frank.age");
    w->auditor_pem = decrypt_or_die(w->r.auditor.identity, w->out, "credentials/auditor-hugo.age");
    assert_non_null(strstr(w->admin_pem, "-----BEGIN PRIVATE KEY-----"));
    assert_non_null(strstr(w->auditor_pem, "-----BEGIN PRIVATE KEY-----"));
    /* The record keys: Ed25519, each only for its holder, named in the anchors. */
    w->admin_rkey = decrypt_or_die(w->r.admin.identity, w->out, "credentials/admin-record-key-frank.age");
    char *au_rkey = decrypt_or_die(w->r.auditor.identity, w->out,
                                   "credentials/auditor-record-key-hugo.age");
    snprintf(other, sizeof other, "%s/credentials/auditor-record-key-hugo.age", w->out);
    assert_null(rig_age_decrypt(w->r.admin.identity, other));
    char anchors[2 * RIG_PATH];
    snprintf(anchors, sizeof anchors, "%s/audit/%s", w->out, SIGNET_RKEYS_FILE);
    signet_rkeys keys;
    assert_int_equal(signet_rkeys_load(anchors, &keys), SIGNET_OK);
    assert_int_equal(keys.n, 2);
    const char *pems[2] = {w->admin_rkey, au_rkey};
    const char *roles[2] = {"admin", "auditor"}, *holders[2] = {"frank", "hugo"};
    for (int i = 0; i < 2; i++) {
        BIO *b = BIO_new_mem_buf(pems[i], -1);
        EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        assert_non_null(k);
        assert_true(EVP_PKEY_is_a(k, "ED25519")); /* not the P-256 authentication key */
        char id[9];
        assert_int_equal(signet_rkey_id_of(k, id), SIGNET_OK);
        const signet_rkey *a = signet_rkeys_find(&keys, id);
        assert_non_null(a);
        assert_string_equal(a->role, roles[i]);
        assert_string_equal(a->holder, holders[i]);
        EVP_PKEY_free(k);
    }
    free(au_rkey);

    /* No file of the outputs holds a share, the password or a private key. */
    char cmd[2 * RIG_PATH];
    snprintf(cmd, sizeof cmd, "find '%s' -type f", w->out);
    char *list = NULL;
    assert_int_equal(run_cmd(cmd, &list), 0);
    int n = 0;
    for (char *f = strtok(list, "\n"); f; f = strtok(NULL, "\n"), n++) {
        assert_false(rig_file_contains(f, w->op_pw));
        assert_false(rig_file_contains(f, "PRIVATE KEY"));
        for (int i = 0; i < RIG_CUSTODIANS; i++)
            assert_false(rig_file_contains(f, w->shares[i] + 4));
    }
    free(list);
    assert_true(n >= 15);
}

/* Any 3 shares give the key the manifest's check value names; 2 do not. */
static void shares_combine_to_checked_key(void **state)
{
    struct world *w = W;
    char *check = rig_manifest_value(w->manifest, "wrap-key.check");
    char in[1024], args[256];
    snprintf(args, sizeof args, "shares combine --check %s", check);
    snprintf(in, sizeof in, "%s\n%s\n%s\n", w->shares[4], w->shares[0], w->shares[2]);
    char *out = NULL;
    assert_int_equal(rig_signet(NULL, args, in, &out, NULL), 0);
    /* The 52-byte blob: id 00ff, domains 0001, then caps. */
    assert_int_equal(strncmp(out, "00ff0001", 8), 0);
    free(out);
    snprintf(in, sizeof in, "%s\n%s\n", w->shares[1], w->shares[3]);
    assert_int_not_equal(rig_signet(NULL, args, in, NULL, NULL), 0);
    free(check);
}

static void expect_denied(signet_rc rc, const char *what)
{
    if (rc == SIGNET_OK)
        fail_msg("%s was allowed", what);
    if (signet_err_device() != YH_ERR_INSUFFICIENT_PERMISSIONS &&
        signet_err_device() != YH_ERR_OBJECT_NOT_FOUND)
        fail_msg("%s failed for another reason: %s", what, signet_errmsg());
}

/* Checks on one device holding the ceremony's roles (provisioned or restored). */
static void check_roles(const char *url, const char *op_pw, const char *admin_pem,
                        const char *auditor_pem)
{
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    /* The factory key is gone. */
    assert_int_not_equal(rig_login_password(url, 1, "password", &c, &s), SIGNET_OK);
    rig_logout(c, s);

    sb_wr w;
    sbw_init(&w, 65536);
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    uint8_t digest[32] = {1, 2, 3};

    /* Operator: signs with keys it makes; cannot reset, delete the wrap key, change
     * options or export the wrap key. */
    assert_int_equal(rig_login_password(url, OPERATOR_ID, op_pw, &c, &s), SIGNET_OK);
    assert_int_equal(rig_consume_log(s), SIGNET_OK);
    hsm_object_attrs ka = {.id = 0x0700, .label = "role-test", .domains = 1,
                           .capabilities = YH_CAP(YH_CAP_SIGN_ECDSA),
                           .algorithm = YH_ALGO_EC_P256};
    uint16_t kid = 0;
    assert_int_equal(hsm_generate_asymmetric(s, &ka, &kid), SIGNET_OK);
    assert_int_equal(hsm_sign_ecdsa(s, kid, digest, sizeof digest, sig, &sig_len), SIGNET_OK);
    assert_int_equal(hsm_delete_object(s, kid, YH_TYPE_ASYMMETRIC_KEY), SIGNET_OK);
    uint8_t off = YH_OPT_OFF;
    expect_denied(hsm_set_option(s, YH_OPTION_FORCE_AUDIT, &off, 1), "operator set-option");
    expect_denied(hsm_delete_object(s, WRAP_ID, YH_TYPE_WRAP_KEY), "operator delete wrap key");
    expect_denied(hsm_export_wrapped(s, WRAP_ID, YH_TYPE_WRAP_KEY, WRAP_ID, &w),
                  "operator export wrap key");
    hsm_object_attrs na = {.id = 0x0009, .label = "x", .domains = 1,
                           .capabilities = YH_CAP(YH_CAP_RESET_DEVICE)};
    uint16_t nid;
    expect_denied(hsm_put_auth_key(s, &na, "some password", &nid), "operator put auth key");
    expect_denied(hsm_reset_device(s), "operator reset");
    rig_logout(c, s);

    /* Auditor: reads and consumes the log; nothing else. */
    assert_int_equal(rig_login_pem(url, AUDITOR_ID, auditor_pem, &c, &s), SIGNET_OK);
    assert_int_equal(rig_consume_log(s), SIGNET_OK);
    sig_len = sizeof sig;
    expect_denied(hsm_sign_eddsa(s, LOG_KEY_ID, digest, sizeof digest, sig, &sig_len),
                  "auditor sign");
    expect_denied(hsm_generate_asymmetric(s, &ka, &kid), "auditor generate");
    sbw_reset(&w);
    expect_denied(hsm_get_option(s, YH_OPTION_FORCE_AUDIT, &w), "auditor get-option");
    expect_denied(hsm_delete_object(s, LOG_KEY_ID, YH_TYPE_ASYMMETRIC_KEY), "auditor delete");
    sbw_reset(&w);
    expect_denied(hsm_export_wrapped(s, WRAP_ID, YH_TYPE_ASYMMETRIC_KEY, LOG_KEY_ID, &w),
                  "auditor export");
    expect_denied(hsm_reset_device(s), "auditor reset");
    rig_logout(c, s);

    /* Admin: sees the audit options fixed; cannot sign or export the wrap key, nor
     * create a credential stronger than the roles. */
    assert_int_equal(rig_login_pem(url, ADMIN_ID, admin_pem, &c, &s), SIGNET_OK);
    sbw_reset(&w);
    assert_int_equal(hsm_get_option(s, YH_OPTION_FORCE_AUDIT, &w), SIGNET_OK);
    assert_int_equal(w.len, 1);
    assert_int_equal(w.p[0], YH_OPT_FIXED);
    sig_len = sizeof sig;
    expect_denied(hsm_sign_eddsa(s, LOG_KEY_ID, digest, sizeof digest, sig, &sig_len), "admin sign");
    sbw_reset(&w);
    expect_denied(hsm_export_wrapped(s, WRAP_ID, YH_TYPE_WRAP_KEY, WRAP_ID, &w),
                  "admin export wrap key");
    na.capabilities = YH_CAP(YH_CAP_PUT_WRAP_KEY);
    expect_denied(hsm_put_auth_key(s, &na, "some password", &nid), "admin put wrap-key role");
    /* The wrap key itself is not exportable and cannot be deleted by anyone. */
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, WRAP_ID, YH_TYPE_WRAP_KEY, &oi), SIGNET_OK);
    assert_int_equal(oi.capabilities & YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP), 0);
    assert_int_equal(oi.capabilities, SIGNET_WRAP_CAPS);
    assert_int_equal(oi.algorithm, YH_ALGO_AES256_CCM_WRAP);
    expect_denied(hsm_delete_object(s, WRAP_ID, YH_TYPE_WRAP_KEY), "admin delete wrap key");
    assert_int_equal(rig_consume_log(s), SIGNET_OK);
    rig_logout(c, s);
    sbw_free(&w);
}

static void roles_on_both_devices(void **state)
{
    struct world *w = W;
    assert_non_null(w->op_pw);
    check_roles(w->pri.url, w->op_pw, w->admin_pem, w->auditor_pem);
    check_roles(w->bak.url, w->op_pw, w->admin_pem, w->auditor_pem);
}

static signet_vkey manifest_vkey(const char *manifest)
{
    char *v = rig_manifest_value(manifest, "log-key.vkey");
    assert_non_null(v);
    signet_vkey k;
    assert_int_equal(signet_vkey_parse(v, strlen(v), &k), SIGNET_OK);
    free(v);
    return k;
}

/* The log key on a device, as its public key, equals the manifest's vkey. */
static void assert_log_key(const char *url, const char *admin_pem, const signet_vkey *k)
{
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    assert_int_equal(rig_login_pem(url, ADMIN_ID, admin_pem, &c, &s), SIGNET_OK);
    EVP_PKEY *pk = NULL;
    uint8_t algo = 0, raw[32];
    size_t n = 32;
    assert_int_equal(hsm_get_public_key(s, LOG_KEY_ID, &pk, &algo), SIGNET_OK);
    assert_int_equal(algo, YH_ALGO_EC_ED25519);
    assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &n), 1);
    assert_memory_equal(raw, k->pub, 32);
    yh_object_info oi;
    assert_int_equal(hsm_get_object_info(s, LOG_KEY_ID, YH_TYPE_ASYMMETRIC_KEY, &oi), SIGNET_OK);
    assert_int_equal(oi.capabilities, SIGNET_LOG_KEY_CAPS);
    EVP_PKEY_free(pk);
    assert_int_equal(rig_consume_log(s), SIGNET_OK);
    rig_logout(c, s);
}

static void assert_trail_clean(const char *trail, const signet_vkey *k)
{
    char vpath[2 * RIG_PATH];
    snprintf(vpath, sizeof vpath, "%s/log.vkey", trail);
    signet_vkey have;
    assert_int_equal(signet_vkey_load(vpath, &have), SIGNET_OK);
    assert_int_equal(have.key_id, k->key_id);
    signet_verify_opts o = {.vkey_path = vpath};
    signet_report *rep = NULL;
    signet_rc rc = signet_trail_verify(trail, &o, &rep);
    if (rc != SIGNET_OK && rep)
        signet_report_print(rep, stderr);
    assert_int_equal(rc, SIGNET_OK);
    assert_int_equal(signet_report_count(rep), 0);
    signet_report_free(rep);
}

static void log_key_and_trail(void **state)
{
    struct world *w = W;
    signet_vkey k = manifest_vkey(w->manifest);
    assert_log_key(w->pri.url, w->admin_pem, &k);
    assert_log_key(w->bak.url, w->admin_pem, &k);
    char trail[2 * RIG_PATH], rec[3 * RIG_PATH];
    snprintf(trail, sizeof trail, "%s/audit", w->out);
    assert_trail_clean(trail, &k);
    /* Both devices anchored, both recorded as put into service, one checkpoint. */
    snprintf(rec, sizeof rec, "%s/anchors/device-1001.anchor", trail);
    assert_int_equal(access(rec, F_OK), 0);
    snprintf(rec, sizeof rec, "%s/anchors/device-1002.anchor", trail);
    assert_int_equal(access(rec, F_OK), 0);
    snprintf(rec, sizeof rec, "%s/records.log", trail);
    assert_true(rig_file_contains(rec, "type=service"));
    assert_true(rig_file_contains(rec, "type=checkpoint"));
    /* Service records are signed (assert_trail_clean verified the signatures). */
    assert_true(rig_file_contains(rec, "event=in note=provisioned%20by%20key%20ceremony%20as%20the%20primary signer="));
    snprintf(rec, sizeof rec, "%s/checkpoints", trail);
    assert_true(rig_file_contains(rec, "test.example/signet-audit\n"));
    /* The device logs in the trail show the factory key's deletion by the admin. */
    snprintf(rec, sizeof rec, "%s/device-1001.log", trail);
    assert_true(rig_file_contains(rec, "cmd=0x58 len=3 sess=0x0002 target=0x0001"));
}

/* A key store made with the operator's credential on the primary: the restore
 * must import and check it. */
static void make_keystore(struct world *w)
{
    char cmd[2 * RIG_PATH], km[2 * RIG_PATH];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", w->ks);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    snprintf(km, sizeof km, "%s/keymap.txt", w->ks);
    const char *map = "release 0x0100 rsa2048 1 apk\nota 0x0101 ecp256 1 ota\n";
    assert_int_equal(test_write_file(km, map, strlen(map)), 0);
    signet_keystore *ks = NULL;
    assert_int_equal(signet_keystore_open(w->ks, &ks), SIGNET_OK);
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    assert_int_equal(rig_login_password(w->pri.url, OPERATOR_ID, w->op_pw, &c, &s), SIGNET_OK);
    signet_keygen_opts o = {.wrap_id = WRAP_ID};
    for (size_t i = 0; i < signet_keystore_count(ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        if (signet_keystore_generate(ks, s, e, &o) != SIGNET_OK)
            fail_msg("generating %s: %s", e->name, signet_errmsg());
        /* The operator's capabilities cover the whole key generation, attestation
         * included. */
        assert_true(signet_keystore_has_file(ks, e->name, ".attest.pem"));
        assert_int_equal(rig_consume_log(s), SIGNET_OK);
    }
    rig_logout(c, s);
    signet_keystore_close(ks);
}

static void restore_args(struct world *w, char *args, size_t cap, const char *url, const char *out,
                         const char *ids, const char *extra)
{
    snprintf(args, cap, "ceremony restore --plan '%s' --manifest '%s' --connector %s --out '%s' %s %s",
             w->plan, w->manifest, url, out, ids, extra ? extra : "");
}

/* Refusals before the device is touched: every one leaves the target exactly as
 * it was (marker object present, audit log unchanged). */
static void restore_refuses_bad_shares(void **state)
{
    struct world *w = W;
    struct hsmd t;
    assert_int_equal(hsmd_start(&t, "--serial 1003"), 0);
    uint16_t last;
    uint8_t digest[16];
    assert_int_equal(rig_mark_device(t.url, &last, digest), SIGNET_OK);
    char args[8192], out[2 * RIG_PATH], in[1024];
    char *err = NULL;

    /* 1. Three shares, one mistyped into another valid share (in the key bytes):
     *    only the check value can tell, and it says a share is wrong. */
    char bad[128], bad_attr[128];
    snprintf(bad, sizeof bad, "%s", w->shares[4]);
    bad[40] = bad[40] == 'A' ? 'B' : 'A';
    snprintf(in, sizeof in, "%s\n%s\n%s\n", w->shares[0], w->shares[2], bad);
    snprintf(out, sizeof out, "%s/r-typo", w->r.dir);
    restore_args(w, args, sizeof args, t.url, out, "--shares-from-prompt", NULL);
    assert_int_equal(rig_signet(NULL, args, in, NULL, &err), 1);
    assert_non_null(strstr(err, "a share is wrong (mistyped, or from another ceremony): the "
                                "shares 1,3,5 give another wrap key than the manifest records "
                                "(check value mismatch)"));
    assert_non_null(strstr(err, "nothing was done to the device"));
    free(err);
    assert_true(rig_device_untouched(t.url, last, digest));
    /* The same in the key's attributes (which the check value does not cover). */
    snprintf(bad_attr, sizeof bad_attr, "%s", w->shares[4]);
    bad_attr[6] = bad_attr[6] == 'A' ? 'B' : 'A';
    snprintf(in, sizeof in, "%s\n%s\n%s\n", w->shares[0], w->shares[2], bad_attr);
    snprintf(out, sizeof out, "%s/r-typo2", w->r.dir);
    restore_args(w, args, sizeof args, t.url, out, "--shares-from-prompt", NULL);
    assert_int_equal(rig_signet(NULL, args, in, NULL, &err), 1);
    assert_non_null(strstr(err, "a share is wrong (mistyped, or from another ceremony)"));
    free(err);

    /* 2. Four shares, two of them wrong: no quorum gives the key. */
    char bad2[128];
    snprintf(bad2, sizeof bad2, "%s", w->shares[1]);
    bad2[50] = bad2[50] == 'A' ? 'B' : 'A';
    snprintf(in, sizeof in, "%s\n%s\n%s\n%s\n", w->shares[0], bad2, w->shares[3], bad);
    snprintf(out, sizeof out, "%s/r-surplus", w->r.dir);
    restore_args(w, args, sizeof args, t.url, out, "--shares-from-prompt", NULL);
    assert_int_equal(rig_signet(NULL, args, in, NULL, &err), 1);
    assert_non_null(strstr(err, "no 3 of the shares 1,2,4,5 give the wrap key the manifest records (check value mismatch): at least two of them are wrong"));
    free(err);
    assert_true(rig_device_untouched(t.url, last, digest));

    /* 3. Only two custodians came. */
    char ids[4 * RIG_PATH];
    snprintf(ids, sizeof ids, "--identity '%s' --identity '%s'", w->r.custodian[0].identity,
             w->r.custodian[1].identity);
    snprintf(out, sizeof out, "%s/r-two", w->r.dir);
    restore_args(w, args, sizeof args, t.url, out, ids, NULL);
    assert_int_not_equal(rig_signet(NULL, args, NULL, NULL, &err), 0);
    assert_non_null(strstr(err, "of the 3 needed"));
    free(err);
    assert_true(rig_device_untouched(t.url, last, digest));

    /* 4. A share file replaced by another valid age file: the manifest's hash. */
    char copy[2 * RIG_PATH], cmd[8 * RIG_PATH], man2[3 * RIG_PATH];
    snprintf(copy, sizeof copy, "%s/copy", w->r.dir);
    snprintf(cmd, sizeof cmd,
             "cp -r '%s' '%s' && printf '3-1-forged\\n' | age -a -r '%s' > '%s/shares/1-alice.age'",
             w->out, copy, w->r.custodian[0].recipient, copy);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    snprintf(man2, sizeof man2, "%s/manifest.txt", copy);
    snprintf(ids, sizeof ids, "--identity '%s' --identity '%s' --identity '%s'",
             w->r.custodian[0].identity, w->r.custodian[1].identity, w->r.custodian[2].identity);
    snprintf(out, sizeof out, "%s/r-forged", w->r.dir);
    snprintf(args, sizeof args,
             "ceremony restore --plan '%s' --manifest '%s' --connector %s --out '%s' %s", w->plan,
             man2, t.url, out, ids);
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, &err), 1);
    assert_non_null(strstr(err, "differs from the file the ceremony recorded"));
    free(err);
    assert_true(rig_device_untouched(t.url, last, digest));

    /* The failed attempts say the device was not changed. */
    char st[3 * RIG_PATH];
    snprintf(st, sizeof st, "%s/r-typo/ceremony.state", w->r.dir);
    assert_true(rig_file_contains(st, "The device was not changed"));
    hsmd_cleanup(&t);
}

/* Custodians 2 (an ssh-ed25519 key), 4 and 5 restore onto a new device with the
 * key store; the new device works like the old ones with new credentials. */
static void restore_with_identities_and_keystore(void **state)
{
    struct world *w = W;
    make_keystore(w);
    struct hsmd t;
    assert_int_equal(hsmd_start(&t, "--serial 1004"), 0);
    char args[8192], out[2 * RIG_PATH], ids[4 * RIG_PATH];
    snprintf(ids, sizeof ids, "--identity '%s' --identity '%s' --identity '%s'",
             w->r.custodian[1].identity, w->r.custodian[3].identity, w->r.custodian[4].identity);
    snprintf(out, sizeof out, "%s/restore1", w->r.dir);
    char extra[2 * RIG_PATH];
    snprintf(extra, sizeof extra, "--keystore '%s'", w->ks);
    restore_args(w, args, sizeof args, t.url, out, ids, extra);
    char *err = NULL;
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, &err), 0);
    assert_non_null(strstr(err, "shares 2,4,5 give wrap key 0x00ff"));
    /* Progress: each step and each key as it starts, with elapsed time and, once a
     * step or key has finished, an estimate. */
    assert_non_null(strstr(err, "\n11/15 keystore: import every wrapped key"));
    assert_non_null(strstr(err, "\n1/2 key release (0x0100, rsa2048): importing under the wrap "
                                "key, comparing its public key ("));
    const char *second = strstr(err, "\n2/2 key ota (0x0101, ecp256): importing");
    assert_non_null(second);
    assert_non_null(strstr(second, " s left)\n"));
    assert_non_null(strstr(err, "2 keys imported and checked"));
    free(err);

    char *op = decrypt_or_die(w->r.operator_.identity, out, "credentials/operator-gita.age");
    char *ad = decrypt_or_die(w->r.admin.identity, out, "credentials/admin-frank.age");
    char *au = decrypt_or_die(w->r.auditor.identity, out, "credentials/auditor-hugo.age");
    chomp(op);
    /* New credentials, not the ceremony's. */
    assert_string_not_equal(op, w->op_pw);
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    assert_int_not_equal(rig_login_password(t.url, OPERATOR_ID, w->op_pw, &c, &s), SIGNET_OK);
    rig_logout(c, s);
    check_roles(t.url, op, ad, au);
    signet_vkey k = manifest_vkey(w->manifest);
    assert_log_key(t.url, ad, &k);

    /* The key store's keys are on the device with their recorded public keys. */
    signet_keystore *ks = NULL;
    assert_int_equal(signet_keystore_open(w->ks, &ks), SIGNET_OK);
    assert_int_equal(rig_login_password(t.url, OPERATOR_ID, op, &c, &s), SIGNET_OK);
    for (size_t i = 0; i < signet_keystore_count(ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        EVP_PKEY *dev = NULL, *rec = NULL;
        uint8_t algo;
        assert_int_equal(hsm_get_public_key(s, e->id, &dev, &algo), SIGNET_OK);
        assert_int_equal(signet_keystore_public_key(ks, e->name, &rec), SIGNET_OK);
        assert_int_equal(EVP_PKEY_eq(dev, rec), 1);
        EVP_PKEY_free(dev);
        EVP_PKEY_free(rec);
    }
    assert_int_equal(rig_consume_log(s), SIGNET_OK);
    rig_logout(c, s);
    signet_keystore_close(ks);

    char trail[3 * RIG_PATH], rec[4 * RIG_PATH];
    snprintf(trail, sizeof trail, "%s/audit", out);
    assert_trail_clean(trail, &k);
    snprintf(rec, sizeof rec, "%s/records.log", trail);
    assert_true(rig_file_contains(rec, "event=in"));
    /* A new trail gets new record keys for the plan's admin and auditor. */
    snprintf(rec, sizeof rec, "%s/%s", trail, SIGNET_RKEYS_FILE);
    assert_true(rig_file_contains(rec, "role=admin holder=frank"));
    snprintf(rec, sizeof rec, "%s/credentials/admin-record-key-frank.age", out);
    assert_int_equal(access(rec, F_OK), 0);
    snprintf(rec, sizeof rec, "%s/restore-manifest.txt", out);
    assert_true(rig_file_contains(rec, "shares-used 2,4,5"));
    free(op);
    free(ad);
    free(au);
    hsmd_cleanup(&t);
}

/* Shares typed in (here on standard input): first with a key store whose recorded
 * public key was swapped (the restore stops at the key store step), then again
 * with the right one: the rerun resets and succeeds. */
static void restore_typed_shares_and_rerun(void **state)
{
    struct world *w = W;
    struct hsmd t;
    assert_int_equal(hsmd_start(&t, "--serial 1005"), 0);
    char bad_ks[2 * RIG_PATH], cmd[8 * RIG_PATH];
    snprintf(bad_ks, sizeof bad_ks, "%s/keys-bad", w->r.dir);
    snprintf(cmd, sizeof cmd,
             "cp -r '%s' '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
             "2>/dev/null | openssl pkey -pubout > '%s/ota.pub.pem'",
             w->ks, bad_ks, bad_ks);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    char in[1024], args[8192], out[2 * RIG_PATH], extra[3 * RIG_PATH];
    /* Custodian 2 (bob) mistypes their share: it is named and left out. */
    char bad[128];
    snprintf(bad, sizeof bad, "%s", w->shares[1]);
    bad[30] = bad[30] == 'A' ? 'B' : 'A';
    snprintf(in, sizeof in, "# custodians 1, 2, 3 and 5\n%s\n%s\n\n%s\n%s\n", w->shares[0], bad,
             w->shares[2], w->shares[4]);
    snprintf(out, sizeof out, "%s/restore2", w->r.dir);
    snprintf(extra, sizeof extra, "--keystore '%s'", bad_ks);
    restore_args(w, args, sizeof args, t.url, out, "--shares-from-prompt", extra);
    char *err = NULL;
    assert_int_equal(rig_signet(NULL, args, in, NULL, &err), 1);
    assert_non_null(strstr(err, "key ota: the wrapped copy unwraps to another public key"));
    assert_non_null(strstr(err, "step 11 of 15 (keystore)"));
    free(err);

    snprintf(extra, sizeof extra, "--keystore '%s'", w->ks);
    restore_args(w, args, sizeof args, t.url, out, "--shares-from-prompt", extra);
    assert_int_equal(rig_signet(NULL, args, in, NULL, &err), 0);
    assert_non_null(strstr(err, "shares 1,3,5 give wrap key"));
    assert_non_null(strstr(err, "WRONG share 2 (bob): it does not fit the shares 1,3,5"));
    assert_non_null(strstr(err, "moved to"));
    free(err);
    char st[3 * RIG_PATH];
    snprintf(st, sizeof st, "%s/failed-attempts/1/ceremony.state", out);
    assert_true(rig_file_contains(st, "FAILED"));
    assert_true(rig_file_contains(st, "keystore"));
    snprintf(st, sizeof st, "%s/restore-manifest.txt", out);
    assert_true(rig_file_contains(st, "shares-used 1,3,5\nshares-wrong 2 (bob)\n"));
    hsmd_cleanup(&t);
}

/* The backup is rebuilt in place: reset with its admin credential (the factory key
 * is gone), and the ceremony's own trail, which knows the device, continues with a
 * reset record.  Runs last: it replaces the backup's credentials. */
static void restore_known_device_with_admin_reset(void **state)
{
    struct world *w = W;
    char pem[2 * RIG_PATH], args[8192], out[2 * RIG_PATH], ids[4 * RIG_PATH], trail[2 * RIG_PATH];
    snprintf(pem, sizeof pem, "%s/admin.pem", w->r.dir);
    assert_int_equal(test_write_file(pem, w->admin_pem, strlen(w->admin_pem)), 0);
    snprintf(trail, sizeof trail, "%s/audit", w->out);
    snprintf(out, sizeof out, "%s/restore-backup", w->r.dir);
    snprintf(ids, sizeof ids, "--identity '%s' --identity '%s' --identity '%s' --trail '%s'",
             w->r.custodian[0].identity, w->r.custodian[2].identity, w->r.custodian[3].identity,
             trail);
    char prefix[3 * RIG_PATH], rkey[2 * RIG_PATH], extra[3 * RIG_PATH];
    snprintf(prefix, sizeof prefix, "--auth-key 2 --auth-key-file '%s' ", pem);
    /* The trail names record keys: without one the restore refuses before the reset. */
    restore_args(w, args + strlen(prefix), sizeof args - strlen(prefix), w->bak.url, out, ids, NULL);
    memcpy(args, prefix, strlen(prefix));
    char *err = NULL;
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, &err), 2);
    assert_non_null(strstr(err, "names record keys"));
    free(err);
    snprintf(rkey, sizeof rkey, "%s/admin-rkey.pem", w->r.dir);
    assert_int_equal(test_write_file(rkey, w->admin_rkey, strlen(w->admin_rkey)), 0);
    snprintf(extra, sizeof extra, "--record-key '%s'", rkey);
    restore_args(w, args + strlen(prefix), sizeof args - strlen(prefix), w->bak.url, out, ids, extra);
    memcpy(args, prefix, strlen(prefix));
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, &err), 0);
    assert_non_null(strstr(err, "reset record signed before the reset"));
    free(err);
    /* The ceremony's credentials no longer open the backup; the new ones do. */
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    assert_int_not_equal(rig_login_password(w->bak.url, OPERATOR_ID, w->op_pw, &c, &s), SIGNET_OK);
    rig_logout(c, s);
    char *op = decrypt_or_die(w->r.operator_.identity, out, "credentials/operator-gita.age");
    chomp(op);
    assert_int_equal(rig_login_password(w->bak.url, OPERATOR_ID, op, &c, &s), SIGNET_OK);
    rig_logout(c, s);
    free(op);
    /* The restart of device 1002's log follows its signed reset record, bound to the
     * last entry before the reset: no device-reset finding.  The drain before the
     * reset shows what this test did to the backup behind the trail's back (its
     * helpers consumed log entries without draining them): entries lost, an
     * incident, which the admin acknowledges with the record key. */
    char vpath[3 * RIG_PATH];
    snprintf(vpath, sizeof vpath, "%s/log.vkey", trail);
    signet_verify_opts vo = {.vkey_path = vpath};
    signet_report *rep = NULL;
    assert_int_equal(signet_trail_verify(trail, &vo, &rep), SIGNET_E_VERIFY);
    assert_true(signet_report_count(rep) >= 1);
    for (size_t i = 0; i < signet_report_count(rep); i++) {
        const signet_finding *f = signet_report_finding(rep, i);
        if (f->kind != SIGNET_FIND_GAP || strcmp(f->file, "device-1002.log") != 0)
            signet_report_print(rep, stderr);
        assert_int_equal(f->kind, SIGNET_FIND_GAP);
        assert_string_equal(f->file, "device-1002.log");
        snprintf(args, sizeof args, "audit acknowledge %s --reason 'test helpers consumed the "
                 "log' --record-key '%s' --dir '%s'", f->hash, rkey, trail);
        assert_int_equal(rig_signet(NULL, args, NULL, NULL, NULL), 0);
    }
    signet_report_free(rep);
    assert_int_equal(signet_trail_verify(trail, &vo, &rep), SIGNET_OK);
    for (size_t i = 0; i < signet_report_count(rep); i++)
        assert_true(signet_report_finding(rep, i)->acknowledged);
    signet_report_free(rep);
    char rec[3 * RIG_PATH];
    snprintf(rec, sizeof rec, "%s/records.log", trail);
    assert_true(rig_file_contains(rec, "event=reset note=reset%20for%20a%20restore%20from%20the%20ceremony%27s%20shares signer="));
}

/* check-plan refuses a plan in which one person would hold two shares. */
static void check_plan_duplicate_recipient(void **state)
{
    struct world *w = W;
    char dup[2 * RIG_PATH], cmd[8 * RIG_PATH], args[3 * RIG_PATH];
    snprintf(dup, sizeof dup, "%s/plan-dup.txt", w->r.dir);
    snprintf(cmd, sizeof cmd, "sed 's|^custodian %s .*|custodian %s %s|' '%s' > '%s'",
             w->r.custodian[3].name, w->r.custodian[3].name, w->r.custodian[1].recipient, w->plan,
             dup);
    assert_int_equal(run_cmd(cmd, NULL), 0);
    char *err = NULL;
    snprintf(args, sizeof args, "ceremony check-plan '%s'", w->plan);
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, NULL), 0);
    snprintf(args, sizeof args, "ceremony check-plan '%s'", dup);
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, &err), 8); /* bad input data */
    assert_non_null(strstr(err, "custodians bob and dana have the same recipient, so one person "
                                "would hold two shares"));
    free(err);
}

static void help_texts(void **state)
{
    char *out = NULL;
    assert_int_equal(rig_signet(NULL, "ceremony --help", NULL, &out, NULL), 0);
    assert_non_null(strstr(out, "provision"));
    free(out);
    assert_int_equal(rig_signet(NULL, "ceremony provision --help", NULL, &out, NULL), 0);
    assert_non_null(strstr(out, "signet ceremony provision --plan PLAN --out DIR"));
    free(out);
    assert_int_equal(rig_signet(NULL, "ceremony restore --help", NULL, &out, NULL), 0);
    assert_non_null(strstr(out, "--shares-from-prompt"));
    free(out);
    assert_int_equal(rig_signet(NULL, "ceremony provision --plan x", NULL, NULL, NULL), 2);
    assert_int_equal(rig_signet(NULL, "ceremony restore --plan x --manifest y --connector z "
                                      "--out o --identity a --shares-from-prompt",
                                NULL, NULL, NULL),
                     2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outputs_and_hashes),
        cmocka_unit_test(holders_decrypt_with_age),
        cmocka_unit_test(shares_combine_to_checked_key),
        cmocka_unit_test(roles_on_both_devices),
        cmocka_unit_test(log_key_and_trail),
        cmocka_unit_test(restore_refuses_bad_shares),
        cmocka_unit_test(restore_with_identities_and_keystore),
        cmocka_unit_test(restore_typed_shares_and_rerun),
        cmocka_unit_test(check_plan_duplicate_recipient),
        cmocka_unit_test(help_texts),
        cmocka_unit_test(restore_known_device_with_admin_reset),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

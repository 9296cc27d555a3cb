/* The ceremony plan parser and the manifest parser: what they accept, and that
 * every mistake a person could make in a plan is refused with the line named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ceremony/ceremony_internal.h"
#include "signet/ceremony.h"

/* Valid recipients: an age X25519 recipient from the C2SP age test vectors' style
 * (made with age-keygen) and an OpenSSH Ed25519 public key. */
#define AGE1 "age1ww3jxdnd6puve3g5fs0jc64q5uttyv5yydvf2z5xx3vl4p5kfqds38u6u3"
#define AGE2 "age1wzhcggfdy03zxu574tkyqvd8f4w09vypkyrjtf8pa7maw3jxgqhs04gedr"
#define SSH1                                                                                   \
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdaTrHfy+DiX7/l8nlN0u4CypQ5S5S06U44gNnQ/xYm bob@example"

/* Nine distinct recipients (one per possible custodian). */
static const char *const NINE[SSS_MAX_SHARES] = {
    AGE1, AGE2, SSH1,
    "age183l2gyr8s49trnnrlp4kly6x98dmqvzykswqgy4kasz2pz4s4v4sw3wk7h",
    "age1y99g76mfllexej3txlaqhrqvm9wtvdwcgul9ump8v58dy929wynsshv0t6",
    "age1955k0rpe6az602zw04fkdq7kr67ywuqyt7hmyls774mactz4wpks5vg80f",
    "age1hmcnq2vvemwmq3amjdplaxpc99f3wz0dsdg8fjqyuqvnvez2zg8swg03nv",
    "age1xrs9wttn3mywda3vaek4f85kus32ev365gulh0v49s78z8zwl90qzwg87k",
    "age1zcp5aetmy8sjp0z0mkh7308f90n6a0f3gda4p8h6amrzwl4swdpqn9sfvv"};

static const char *const GOOD =
    "# a plan\n"
    "project   Example OS signing  \n"
    "primary   http://127.0.0.1:12345\n"
    "backup    http://10.0.0.2:12345\n"
    "\n"
    "threshold 2\n"
    "domains   1,2\n"
    "wrap-key-id 0x0100\n"
    "log-name  example.org/audit\n"
    "custodian alice " AGE1 "\n"
    "custodian bob   " SSH1 "\n"
    "custodian chen  " AGE2 "\r\n"
    "admin     frank " AGE1 "\n"
    "operator  gita  " AGE2 "\n"
    "auditor   hugo  " SSH1 "\n";

static signet_plan plan;

static signet_rc parse(const char *text) { return signet_plan_parse(text, strlen(text), &plan); }

static void good_plan(void **state)
{
    assert_int_equal(parse(GOOD), SIGNET_OK);
    assert_string_equal(plan.project, "Example OS signing");
    assert_string_equal(plan.primary_url, "http://127.0.0.1:12345");
    assert_string_equal(plan.backup_url, "http://10.0.0.2:12345");
    assert_int_equal(plan.threshold, 2);
    assert_int_equal(plan.domains, 0x0003);
    assert_int_equal(plan.wrap_key_id, 0x0100);
    assert_int_equal(plan.log_key_id, 0x0010); /* default */
    assert_string_equal(plan.log_name, "example.org/audit");
    assert_int_equal(plan.n_custodians, 3);
    assert_string_equal(plan.custodians[0].name, "alice");
    assert_string_equal(plan.custodians[1].recipient, SSH1);
    assert_string_equal(plan.custodians[2].recipient, AGE2); /* \r stripped */
    assert_string_equal(plan.holders[SIGNET_ROLE_ADMIN].name, "frank");
    assert_string_equal(plan.holders[SIGNET_ROLE_OPERATOR].name, "gita");
    assert_string_equal(plan.holders[SIGNET_ROLE_AUDITOR].recipient, SSH1);
}

static void defaults(void **state)
{
    const char *t = "primary http://a:1\nbackup http://b:1\n"
                    "custodian a " AGE1 "\ncustodian b " AGE2 "\ncustodian c " SSH1 "\n"
                    "admin x " AGE1 "\noperator y " AGE1 "\nauditor z " AGE1 "\n";
    assert_int_equal(parse(t), SIGNET_OK);
    assert_int_equal(plan.threshold, 3);
    assert_int_equal(plan.domains, 1);
    assert_int_equal(plan.wrap_key_id, 0x00ff);
    assert_int_equal(plan.log_key_id, 0x0010);
}

/* Replaces the first occurrence of `from` in GOOD by `to` and expects a parse
 * failure whose message contains `want`. */
static void expect_bad(const char *from, const char *to, const char *want)
{
    char text[8192];
    const char *at = strstr(GOOD, from);
    assert_non_null(at);
    int n = snprintf(text, sizeof text, "%.*s%s%s", (int)(at - GOOD), GOOD, to, at + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof text);
    signet_rc rc = parse(text);
    if (rc == SIGNET_OK)
        fail_msg("accepted a plan with '%s' -> '%s'", from, to);
    assert_int_equal(rc, SIGNET_E_PARSE);
    if (!strstr(signet_errmsg(), want))
        fail_msg("message \"%s\" does not contain \"%s\"", signet_errmsg(), want);
}

static void mistakes(void **state)
{
    expect_bad("backup    http://10.0.0.2:12345\n", "", "no backup device");
    expect_bad("http://10.0.0.2:12345", "http://127.0.0.1:12345", "same URL");
    expect_bad("http://10.0.0.2:12345", "10.0.0.2:12345", "line 4");
    expect_bad("threshold 2", "threshold 4", "more than the 3 custodians");
    expect_bad("threshold 2", "threshold 1", "threshold must be");
    expect_bad("threshold 2", "treshold 2", "line 6: unknown setting 'treshold'");
    expect_bad("domains   1,2", "domains   17", "line 7");
    expect_bad("wrap-key-id 0x0100", "wrap-key-id 0x10000", "wrap-key-id");
    expect_bad("wrap-key-id 0x0100", "wrap-key-id 0", "wrap-key-id");
    expect_bad("log-name  example.org/audit", "log-name  a+b", "log-name");
    expect_bad("custodian chen  ", "custodian alice ", "line 12: custodian alice is named twice");
    /* A one-character typo in a Bech32 recipient. */
    expect_bad("custodian chen  age1wzhcggfdy03", "custodian chen  age1wzhcggfdy04",
               "line 12 (custodian chen)");
    expect_bad("custodian bob   ssh-ed25519", "custodian bob   ssh-rsa", "line 11");
    expect_bad("custodian alice " AGE1, "custodian alice", "has no recipient");
    expect_bad("custodian alice", "custodian -alice", "needs a name");
    expect_bad("admin     frank", "operator  frank", "operator was named already on line");
    expect_bad("auditor   hugo  " SSH1 "\n", "", "no auditor");
    /* One person would hold two shares: the same key, whatever its spelling. */
    expect_bad("custodian chen  " AGE2, "custodian chen  " AGE1,
               "line 12: custodians alice and chen have the same recipient");
    expect_bad("custodian chen  " AGE2, "custodian chen  AGE1WW3JXDND6PUVE3G5FS0JC64Q5UTTYV5YYDVF2Z5XX3VL4P5KFQDS38U6U3",
               "custodians alice and chen have the same recipient");
    expect_bad("custodian chen  " AGE2,
               "custodian chen  ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINdaTrHfy+DiX7/l8nlN0u4CypQ5S5S06U44gNnQ/xYm bob@desktop",
               "custodians bob and chen have the same recipient");
    expect_bad("project   Example", "project\x01 Example", "control character");
    expect_bad("primary   http://127.0.0.1:12345\n", "primary   http://127.0.0.1:12345\nprimary http://x:1\n",
               "'primary' was set already on line 3");
}

static void too_many_custodians(void **state)
{
    char text[16384];
    int n = snprintf(text, sizeof text, "primary http://a:1\nbackup http://b:1\n");
    for (int i = 0; i < 10; i++)
        n += snprintf(text + n, sizeof text - (size_t)n, "custodian c%d %s\n", i, NINE[i % SSS_MAX_SHARES]);
    snprintf(text + n, sizeof text - (size_t)n,
             "admin x " AGE1 "\noperator y " AGE1 "\nauditor z " AGE1 "\n");
    assert_int_equal(parse(text), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "more than 9 custodians"));
}

static void long_line(void **state)
{
    static char text[8192];
    memset(text, 'a', sizeof text - 1);
    memcpy(text, "project ", 8);
    assert_int_equal(parse(text), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "longer than"));
}

static void rel_paths(void **state)
{
    assert_true(cer_rel_path_valid("shares/1-alice.age", 18));
    assert_true(cer_rel_path_valid("log-key.wrapped", 15));
    assert_false(cer_rel_path_valid("../x", 4));
    assert_false(cer_rel_path_valid("a/../x", 6));
    assert_false(cer_rel_path_valid("/etc/passwd", 11));
    assert_false(cer_rel_path_valid("a//b", 4));
    assert_false(cer_rel_path_valid("a/", 2));
    assert_false(cer_rel_path_valid(".hidden", 7));
    assert_false(cer_rel_path_valid("a b", 3));
    assert_false(cer_rel_path_valid("", 0));
}

#define VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define CHECK "00112233445566778899aabbccddeeff"
#define SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char *const MANIFEST =
    CER_MANIFEST_MAGIC "\n# comment\nkind provision\nthreshold 2\nshares 3\n"
    "wrap-key.id 0x00ff\nwrap-key.algorithm aes256-ccm-wrap\nwrap-key.domains 1\n"
    "wrap-key.capabilities export-wrapped,import-wrapped\n"
    "wrap-key.delegated sign-pkcs,exportable-under-wrap\n"
    "wrap-key.check " CHECK "\n"
    "log-key.id 0x0010\nlog-key.vkey " VKEY "\nlog-key.wrapped log-key.wrapped\n"
    "custodian 1 alice shares/1-alice.age " AGE1 "\n"
    "custodian 2 bob shares/2-bob.age " SSH1 "\n"
    "custodian 3 chen shares/3-chen.age " AGE2 "\n"
    "object primary 1 0x0002 authentication-key x label=whatever it is\n"
    "file " SHA " shares/1-alice.age\n"
    "file " SHA " log-key.wrapped\n";

static cer_manifest man;

static signet_rc mparse(const char *t) { return cer_manifest_parse(t, strlen(t), &man); }

static void manifest_good(void **state)
{
    assert_int_equal(mparse(MANIFEST), SIGNET_OK);
    assert_int_equal(man.threshold, 2);
    assert_int_equal(man.n_shares, 3);
    assert_int_equal(man.wrap_id, 0x00ff);
    assert_int_equal(man.wrap_domains, 1);
    assert_int_equal(man.wrap_caps, YH_CAP(YH_CAP_EXPORT_WRAPPED) | YH_CAP(YH_CAP_IMPORT_WRAPPED));
    assert_int_equal(man.check[0], 0x00);
    assert_int_equal(man.check[15], 0xff);
    assert_int_equal(man.log_key_id, 0x0010);
    assert_string_equal(man.vkey.name, "PeterNeumann");
    assert_string_equal(man.shares[1].name, "bob");
    assert_string_equal(man.shares[2].file, "shares/3-chen.age");
    assert_int_equal(man.n_files, 2);
    assert_non_null(cer_manifest_find_file(&man, "log-key.wrapped"));
    assert_null(cer_manifest_find_file(&man, "shares/2-bob.age"));
}

static void mexpect_bad(const char *from, const char *to, const char *want)
{
    char text[8192];
    const char *at = strstr(MANIFEST, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - MANIFEST), MANIFEST, to, at + strlen(from));
    signet_rc rc = mparse(text);
    if (rc == SIGNET_OK)
        fail_msg("accepted a manifest with '%s' -> '%s'", from, to);
    if (!strstr(signet_errmsg(), want))
        fail_msg("message \"%s\" does not contain \"%s\"", signet_errmsg(), want);
}

static void manifest_bad(void **state)
{
    mexpect_bad(CER_MANIFEST_MAGIC, "signet-ceremony-manifest v2", "not a signet ceremony manifest");
    mexpect_bad("shares/1-alice.age " AGE1, "../1-alice.age " AGE1, "relative path");
    mexpect_bad(SHA " log-key.wrapped", SHA " /etc/passwd", "relative path");
    mexpect_bad("log-key.wrapped log-key.wrapped", "log-key.wrapped ../../x", "relative path");
    mexpect_bad("wrap-key.check " CHECK, "wrap-key.check 0011", "32 hex digits");
    mexpect_bad("wrap-key.check " CHECK "\n", "", "no wrap-key.check line");
    mexpect_bad("threshold 2", "threshold 4", "exceeds");
    mexpect_bad("custodian 3 chen", "custodian 2 chen", "listed already");
    mexpect_bad("custodian 3 chen shares/3-chen.age " AGE2 "\n", "", "lists 2 custodians for 3");
    mexpect_bad("log-key.vkey " VKEY, "log-key.vkey PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                "log-key.vkey");
    mexpect_bad("file " SHA " log-key.wrapped", "file " SHA " shares/1-alice.age", "listed twice");
    mexpect_bad("shares 3", "shares 3\nshares 3", "given already");
}

static void roles_least_privilege(void **state)
{
    const signet_role_def *op = signet_role_get(SIGNET_ROLE_OPERATOR);
    const signet_role_def *ad = signet_role_get(SIGNET_ROLE_ADMIN);
    const signet_role_def *au = signet_role_get(SIGNET_ROLE_AUDITOR);
    /* Nobody may make or export a wrap key, nor change the audit options. */
    uint64_t forbidden = YH_CAP(YH_CAP_PUT_WRAP_KEY) | YH_CAP(YH_CAP_GENERATE_WRAP_KEY) |
                         YH_CAP(YH_CAP_DELETE_WRAP_KEY) | YH_CAP(YH_CAP_SET_OPTION) |
                         YH_CAP(YH_CAP_PUT_ASYMMETRIC_KEY);
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *d = signet_role_get((signet_role)r);
        assert_int_equal(d->capabilities & forbidden, 0);
        assert_int_equal(d->delegated & forbidden, 0);
        /* An authentication key itself is never exportable. */
        assert_int_equal(d->capabilities & YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP), 0);
    }
    assert_int_equal(op->capabilities & YH_CAP(YH_CAP_RESET_DEVICE), 0);
    assert_int_equal(au->capabilities, YH_CAP(YH_CAP_GET_LOG_ENTRIES));
    assert_int_equal(au->delegated, 0);
    assert_int_equal(ad->capabilities & (YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_ECDSA)), 0);
    /* The admin can hand out every role and nothing more. */
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *d = signet_role_get((signet_role)r);
        assert_int_equal((d->capabilities | d->delegated) & ~ad->delegated, 0);
    }
    assert_true(ad->asymmetric && au->asymmetric && !op->asymmetric);
    /* The wrap key carries keys the operator makes, and is not itself exportable. */
    assert_int_equal(op->delegated & ~SIGNET_WRAP_DELEGATED, 0);
    assert_int_equal(SIGNET_WRAP_CAPS & YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP), 0);
    assert_int_equal(SIGNET_LOG_KEY_CAPS & ~SIGNET_WRAP_DELEGATED, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_plan),     cmocka_unit_test(defaults),
        cmocka_unit_test(mistakes),      cmocka_unit_test(too_many_custodians),
        cmocka_unit_test(long_line),     cmocka_unit_test(rel_paths),
        cmocka_unit_test(manifest_good), cmocka_unit_test(manifest_bad),
        cmocka_unit_test(roles_least_privilege),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

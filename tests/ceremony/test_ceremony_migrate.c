/* `signet ceremony migrate` end to end: a ceremony provisioned on two signet-hsm
 * emulators, keys made on the primary, then the key store and the log key moved onto
 * a SoftHSM2 token by the custodians' shares (2 of 3).  Checks: refusals before the
 * token is touched, every key moved with its public key recorded, the same APK
 * signed byte for byte identically through both backends, the change of log key
 * (SoftHSM2 2.6.1 does not unwrap Ed25519 keys) signed and understood by `audit
 * verify`, a forged change caught, a rerun that keeps everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hsmd_fixture.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"

/* awk program printing the first note of a checkpoints file (-v last=1: the last):
 * a note is its body, a blank line and its signature lines ("\u2014 ..."). */
#define NOTE_SPLIT                                                                              \
    "'BEGIN{n=0} /^\xe2\x80\x94 /{s=1; b[n]=b[n] $0 \"\\n\"; next} {if (s) {n++; s=0; if ($0==\"\") next} "  \
    "b[n]=b[n] $0 \"\\n\"} END{printf \"%%s\", b[last ? n : 0]}'"

static struct hsmd pri, bak;
static char env[2048];

static int sh_out(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh_out(char **out, const char *fmt, ...)
{
    char cmd[16384];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", pri.dir, env);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, out);
}
#define sh(...) sh_out(NULL, __VA_ARGS__)

#define MIGRATE "SIGNET_CONF=$PWD/p11.conf signet -q ceremony migrate --plan c/plan.txt " \
                "--manifest c/manifest.txt "

static int setup(void **state)
{
    (void)state;
    if (hsmd_start(&pri, "--serial 1001") != 0 || hsmd_start(&bak, "--serial 1002") != 0)
        return -1;
    /* Under ASan: SoftHSM2's own leak on EdDSA signatures is suppressed
     * (tests/lsan.supp), which needs full stacks to find signet's frame above it. */
    snprintf(env, sizeof env,
             "export SOFTHSM2_CONF=%s/softhsm2.conf PATH=%s:$PATH "
             "LSAN_OPTIONS=suppressions=%s/tests/lsan.supp "
             "ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0\";",
             pri.dir, getenv("SIGNET_BIN_DIR"), getenv("SIGNET_SOURCE_DIR"));
    int rc = sh("for p in alice bob chen frank gita hugo; do age-keygen -o $p.key 2>/dev/null; "
                "done && { echo 'threshold 2'; echo 'log-name migrate.example/audit'; "
                "echo 'primary %s'; echo 'backup %s'; "
                "for p in alice bob chen; do echo \"custodian $p $(age-keygen -y $p.key)\"; done; "
                "echo \"admin frank $(age-keygen -y frank.key)\"; "
                "echo \"operator gita $(age-keygen -y gita.key)\"; "
                "echo \"auditor hugo $(age-keygen -y hugo.key)\"; } > plan.txt && "
                "signet -q ceremony provision --plan plan.txt --out c >/dev/null && "
                "age -d -i gita.key c/credentials/operator-gita.age > operator.pw && "
                "age -d -i frank.key c/credentials/admin-record-key-frank.age > rkey.pem && "
                "printf 'connector = %s\\nkeystore = %%s/keys\\naudit = %%s/c/audit\\n"
                "log_name = migrate.example/audit\\nauth_key = 3\\npassword_file = %%s/operator.pw\\n' "
                "$PWD $PWD $PWD > signet.conf && "
                "printf 'backend = pkcs11\\npkcs11_module = " SOFTHSM "\\npkcs11_token = %%s\\n"
                "pkcs11_pin_file = %%s/pin\\nkeystore = %%s/keys\\naudit = %%s/c/audit\\n"
                "log_name = migrate.example/audit\\n' signet $PWD $PWD $PWD > p11.conf && "
                "sed 's/^pkcs11_token = signet/pkcs11_token = other/' p11.conf > other.conf && "
                "mkdir tokens && printf 'directories.tokendir = %%s/tokens\\n"
                "objectstore.backend = file\\nlog.level = ERROR\\n' $PWD > softhsm2.conf && "
                "for t in signet other; do softhsm2-util --init-token --free --label $t "
                "  --pin 123456 --so-pin 654321 >/dev/null || exit 1; done && echo 123456 > pin",
                pri.url, bak.url, pri.url);
    if (rc == 0)
        rc = sh("export SIGNET_CONF=$PWD/signet.conf && "
                "signet -q keys init --device t --algorithm rsa2048 >/dev/null && "
                "signet -q keys generate --only platform --only releasekey >/dev/null && "
                "head -c 20000 /dev/urandom > payload.bin && zip -q in.apk payload.bin && "
                "signet -q apk sign --key platform --min-sdk-version 28 --in in.apk --out yh.apk");
    return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hsmd_cleanup(&bak);
    hsmd_cleanup(&pri);
    return 0;
}

/* The token holds no object of ours. */
static int token_empty(const char *label)
{
    return sh("! pkcs11-tool --module " SOFTHSM " --token-label %s -l --pin 123456 -O "
              "2>/dev/null | grep -q 'label:'", label);
}

static void refuses_before_the_token(void **state)
{
    (void)state;
    char *out = NULL;
    /* One custodian of the two needed. */
    assert_int_not_equal(sh_out(&out, MIGRATE "--out m0 --identity alice.key 2>&1"), 0);
    assert_non_null(strstr(out, "1 share (1) of the 2 needed"));
    free(out);
    /* A target that is not a PKCS#11 token. */
    assert_int_not_equal(sh_out(&out, "SIGNET_CONF=$PWD/signet.conf signet -q ceremony migrate "
                                      "--plan c/plan.txt --manifest c/manifest.txt --out m0 "
                                      "--identity alice.key --identity bob.key 2>&1"), 0);
    assert_non_null(strstr(out, "names no PKCS#11 token"));
    free(out);
    /* A record key the trail does not name. */
    assert_int_equal(sh("openssl genpkey -algorithm ed25519 -out stranger.pem"), 0);
    assert_int_not_equal(sh_out(&out, MIGRATE "--out m0 --identity alice.key --identity bob.key "
                                              "--record-key stranger.pem 2>&1"), 0);
    assert_non_null(strstr(out, "is not one of those"));
    free(out);
    assert_int_equal(token_empty("signet"), 0);
}

static void migrates_and_signs_identically(void **state)
{
    (void)state;
    char *out = NULL;
    int rc = sh_out(&out, MIGRATE "--out m1 --identity alice.key --identity chen.key "
                                  "--record-key rkey.pem 2>&1");
    if (rc)
        fprintf(stderr, "%s", out);
    free(out);
    assert_int_equal(rc, 0);
    /* Each key moved, its public key's SHA-256 (SPKI DER) the key store's. */
    for (int i = 0; i < 2; i++) {
        const char *k = i ? "releasekey" : "platform";
        assert_int_equal(sh("h=$(openssl pkey -pubin -in keys/%s.pub.pem -outform DER | "
                            "sha256sum | cut -c1-64) && grep -q \"^key %s 0x0[0-9a-f]* rsa2048 "
                            "moved spki-sha256=$h$\" m1/migrate-manifest.txt", k, k), 0);
    }
    assert_int_equal(sh("grep -q '^shares-used 1,3$' m1/migrate-manifest.txt && "
                        "grep -q '^file [0-9a-f]* plan.txt$' m1/migrate-manifest.txt && "
                        "grep -q 'migration complete' m1/transcript.txt && "
                        "test ! -e m1/ceremony.state"), 0);
    /* SoftHSM2 2.6.1 takes no Ed25519 key by C_UnwrapKey: a new log key, its change
     * recorded (signed) against the primary, and a checkpoint it signed. */
    assert_int_equal(sh("grep -q '^log-key new migrate.example/audit+' m1/migrate-manifest.txt && "
                        "grep -q 'does not take an Ed25519 key by C_UnwrapKey' m1/transcript.txt && "
                        "grep -c 'type=service .*dev=1001 .*event=log-key note=migrate.example/"
                        "audit+.* signer=.* rsig=' c/audit/records.log | grep -qx 1 && "
                        "grep -c 'event=imported key=.*migrated' c/audit/records.log | grep -qx 4"),
                     0);
    /* The trail verifies with the ceremony's published key: the checkpoints after the
     * change verify with the new key the signed record names. */
    assert_int_equal(sh_out(&out, "signet audit verify c/audit --vkey c/audit/log.vkey 2>&1"), 0);
    assert_non_null(strstr(out, "result: OK"));
    free(out);
    /* A checkpoint known from elsewhere is verified the same way: the oldest (signed by
     * log.vkey's key) and the newest (by the new key, after the change) both verify. */
    assert_int_equal(sh("awk " NOTE_SPLIT " c/audit/checkpoints > cp-first && "
                        "awk -v last=1 " NOTE_SPLIT " c/audit/checkpoints > cp-last && "
                        "test -s cp-first && test -s cp-last && ! cmp -s cp-first cp-last && "
                        "test \"$(tail -n1 cp-first | awk '{print substr($NF, 1, 5)}')\" != "
                        "\"$(tail -n1 cp-last | awk '{print substr($NF, 1, 5)}')\""), 0);
    for (const char *const *cp = (const char *const[]){"cp-first", "cp-last", NULL}; *cp; cp++) {
        assert_int_equal(sh_out(&out, "signet audit verify c/audit --vkey c/audit/log.vkey "
                                      "--checkpoint %s 2>&1", *cp), 0);
        assert_non_null(strstr(out, "result: OK"));
        assert_null(strstr(out, "known checkpoint"));
        free(out);
    }
    /* The same APK through both backends: the same bytes. */
    assert_int_equal(sh("SIGNET_CONF=$PWD/p11.conf signet -q apk sign --key platform "
                        "--min-sdk-version 28 --no-cache --in in.apk --out p11.apk && "
                        "cmp yh.apk p11.apk"), 0);
    assert_int_equal(sh("signet -q audit verify c/audit --vkey c/audit/log.vkey >/dev/null"), 0);
}

static void forged_change_is_caught(void **state)
{
    (void)state;
    char *out = NULL;
    /* Another key named in the change record: its signature breaks, and the
     * checkpoints after it verify with no key the trail accepts. */
    assert_int_equal(sh("rm -rf forged && cp -r c/audit forged && "
                        "sed -i 's/event=log-key note=migrate.example\\/audit+\\([0-9a-f]*\\)+A/"
                        "event=log-key note=migrate.example\\/audit+\\1+B/' forged/records.log && "
                        "! cmp -s forged/records.log c/audit/records.log"), 0);
    assert_int_not_equal(sh_out(&out, "signet audit verify forged --vkey c/audit/log.vkey 2>&1"), 0);
    assert_non_null(strstr(out, "bad-service-record"));
    assert_non_null(strstr(out, "event=log-key"));
    assert_non_null(strstr(out, "bad-signature"));
    free(out);
    /* Nor does a known checkpoint signed by the new key: the forged change names
     * no key the trail accepts. */
    assert_int_not_equal(sh_out(&out, "signet audit verify forged --vkey c/audit/log.vkey "
                                      "--checkpoint cp-last 2>&1"), 0);
    assert_non_null(strstr(out, "the known checkpoint does not verify"));
    free(out);
}

static void rerun_keeps_everything(void **state)
{
    (void)state;
    assert_int_equal(sh(MIGRATE "--out m2 --identity bob.key --identity chen.key "
                                "--record-key rkey.pem >/dev/null 2>&1"), 0);
    assert_int_equal(sh("grep -c '^key .* kept spki' m2/migrate-manifest.txt | grep -qx 2 && "
                        "grep -q '^log-key kept ' m2/migrate-manifest.txt && "
                        "grep -c 'event=log-key' c/audit/records.log | grep -qx 1 && "
                        "signet -q audit verify c/audit --vkey c/audit/log.vkey >/dev/null"), 0);
}

static void new_log_key_needs_a_record_key(void **state)
{
    (void)state;
    char *out = NULL;
    /* The keys move onto a token, but the log key cannot: without a record key to sign
     * the change, the run stops there and says what to give. */
    assert_int_not_equal(sh_out(&out, "SIGNET_CONF=$PWD/other.conf signet -q ceremony migrate "
                                      "--plan c/plan.txt --manifest c/manifest.txt --out m3 "
                                      "--identity alice.key --identity bob.key 2>&1"), 0);
    assert_non_null(strstr(out, "--record-key FILE"));
    free(out);
    assert_int_equal(sh("grep -q 'log-key' m3/ceremony.state && "
                        "grep -c 'event=imported key=.*migrated' c/audit/records.log | grep -qx 2 && "
                        "! grep -q 'event=log-key' c/audit/records.log"), 0);
}

static void second_token_cannot_take_the_new_log_key(void **state)
{
    (void)state;
    char *out = NULL;
    /* The new log key exists on the first token only: another token cannot sign
     * this trail's checkpoints, and the run says so. */
    assert_int_not_equal(sh_out(&out, "SIGNET_CONF=$PWD/other.conf signet -q ceremony migrate "
                                      "--plan c/plan.txt --manifest c/manifest.txt --out m4 "
                                      "--identity alice.key --identity bob.key "
                                      "--record-key rkey.pem 2>&1"), 0);
    assert_non_null(strstr(out, "the trail records a change to log key"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refuses_before_the_token),
        cmocka_unit_test(new_log_key_needs_a_record_key),
        cmocka_unit_test(migrates_and_signs_identically),
        cmocka_unit_test(forged_change_is_caught),
        cmocka_unit_test(rerun_keeps_everything),
        cmocka_unit_test(second_token_cannot_take_the_new_log_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

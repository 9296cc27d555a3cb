/* signet release plan / sign end to end on signet-hsm with a synthetic target-files
 * package (tests/release/mktf.py): the plan and its file; the signed package's APKs
 * and APEX container accepted by Debian's apksigner with the release certificates,
 * the APEX payload verified by signet's AVB verifier with the release payload key and
 * matching apex_pubkey, build properties, mac_permissions.xml and otacerts.zip
 * rewritten; an interrupted run leaves no output; `release verify` on the signed and the unsigned package; refusals (unmapped development key, member without a key, unsupported
 * member, missing release key, tampered APEX payload), each with its message and no
 * output written; APEX payloads holding APKs (ext4, EROFS) and a compressed APEX. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hsmd_fixture.h"
#include "signet/avb.h"

static struct hsmd h;
static char env[2048];

static int sh_out(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh_out(char **out, const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd %s && %s ", h.dir, env);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, out);
}
#define sh(...) sh_out(NULL, __VA_ARGS__)

static int setup(void **state)
{
    if (hsmd_start(&h, NULL) != 0)
        return -1;
    snprintf(env, sizeof env,
             "export SIGNET_CONNECTOR=%s SIGNET_PASSWORD=password SIGNET_CONF=%s/signet.conf "
             "PATH=%s:$PATH M=%s/tests/release/mktf.py S=%s;",
             h.url, h.dir, getenv("SIGNET_BIN_DIR"), getenv("SIGNET_SOURCE_DIR"),
             getenv("SIGNET_SOURCE_DIR"));
    char conf[1024], path[512];
    snprintf(conf, sizeof conf, "connector = %s\nkeystore = %s/keys\naudit = %s/audit\n", h.url,
             h.dir, h.dir);
    snprintf(path, sizeof path, "%s/signet.conf", h.dir);
    if (test_write_file(path, conf, strlen(conf)) != 0)
        return -1;
    return sh("printf '%%064d' 7 > wrap.hex && "
              "signet hsm put-wrap-key --key-file wrap.hex --id 0xff --domains 1 "
              "  --capabilities export-wrapped,import-wrapped --delegated all >/dev/null && "
              "signet hsm set-option command-audit sign-pkcs1=on,sign-pss=on,sign-ecdsa=on,"
              "sign-eddsa=on && signet -q audit init >/dev/null && "
              "signet keys init --device synth --device other --apex com.android.synth0 --apex com.android.synth1 "
              "  --apex com.android.synth2 --algorithm rsa2048 "
              "  >/dev/null && signet -q keys generate >/dev/null && "
              "python3 $M tf --apks 3 --apexes 1 >/dev/null && "
              "python3 $M tfapk --apks 2 --apexes 3 --apex-with-apk --erofs --capex >/dev/null") == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    hsmd_cleanup(&h);
    return 0;
}

static void plan_file(void **state)
{
    char *out = NULL;
    assert_int_equal(sh_out(&out, "signet release plan tf/target_files.zip --device synth "
                                  "-o plan.txt"), 0);
    assert_non_null(strstr(out, "SYSTEM/app/App1/App1.apk.gz"));
    assert_non_null(strstr(out, "0 release keys missing"));
    free(out);
    assert_int_equal(sh("head -1 plan.txt | grep -qx 'signet-release-plan 1' && "
                        "grep -q '^apk PRODUCT/app/App0/App0.apk sign "
                        "build/make/target/product/security/platform platform$' plan.txt && "
                        "grep -q '^apk VENDOR/app/Vendor/Vendor.apk presigned PRESIGNED -$' plan.txt"),
                     0);
    /* The same plan again: no change; another mapping: an unexpected change, exit 1. */
    assert_int_equal(sh("signet release plan tf/target_files.zip --device synth --diff plan.txt "
                        ">/dev/null"), 0);
    assert_int_equal(sh("signet release plan tf/target_files.zip --device synth -k "
                        "platform=media --diff plan.txt >diff.txt 2>/dev/null"), 1);
    assert_int_equal(sh("grep -q '! apk PRODUCT/app/App0/App0.apk: platform -> media' diff.txt"),
                     0);
}

static unsigned long long field(const char *text, const char *line_start, const char *after)
{
    const char *l = strstr(text, line_start);
    const char *f = l ? strstr(l, after) : NULL;
    unsigned long long v = 0;
    if (!f || sscanf(f + strlen(after), "%llu", &v) != 1)
        fail_msg("no '%s' after '%s' in:\n%s", after, line_start, text);
    return v;
}

/* apksigner's SHA-256 of the signer certificate equals the key store's certificate. */
static int signed_by(const char *apk, const char *key)
{
    return sh("test \"$(apksigner verify --print-certs %s | sed -n "
              "'s/^Signer #1 certificate SHA-256 digest: //p')\" = "
              "\"$(openssl x509 -in keys/%s.x509.pem -outform DER | sha256sum | cut -c1-64)\"",
              apk, key);
}

static void sign_and_check(void **state)
{
    assert_int_equal(sh("signet -q release sign tf/target_files.zip --device synth --plan plan.txt "
                        "--dev-cert-dir tf/dev --avb-helper /usr/local/bin/signet-avb-sign "
                        "-o signed.zip"), 0);
    /* Binding records: one per signed member and one for the package, accepted by
     * audit verify; the signed package gets a receipt. */
    char *av = NULL;
    int avrc = sh_out(&av, "signet audit drain >/dev/null && signet audit verify 2>&1");
    if (avrc != 0)
        fprintf(stderr, "%s\n", av);
    assert_int_equal(avrc, 0);
    free(av);
    assert_int_equal(sh("signet audit prove signed.zip --out signed.proof >/dev/null && test -s signed.proof && "
                        "test $(grep 'type=bind' audit/records.log | grep -c 'signed.zip') -eq 6"), 0);
    assert_int_equal(sh("rm -rf s && mkdir s && cd s && unzip -q ../signed.zip && "
                        "gunzip SYSTEM/app/App1/App1.apk.gz"), 0);
    assert_int_equal(signed_by("s/PRODUCT/app/App0/App0.apk", "platform"), 0);
    assert_int_equal(signed_by("s/SYSTEM/app/App1/App1.apk", "releasekey"), 0);
    assert_int_equal(signed_by("s/SYSTEM/app/App2/App2.apk", "platform"), 0);
    assert_int_equal(signed_by("s/SYSTEM/apex/com.android.synth0.apex", "com.android.synth0.container"), 0);
    /* Presigned: byte for byte the input. */
    assert_int_equal(sh("unzip -p tf/target_files.zip VENDOR/app/Vendor/Vendor.apk | "
                        "cmp - s/VENDOR/app/Vendor/Vendor.apk"), 0);
    /* APEX payload: signet's AVB verifier with the release payload key. */
    assert_int_equal(sh("cd s && unzip -q -o SYSTEM/apex/com.android.synth0.apex apex_payload.img "
                        "apex_pubkey && cmp apex_pubkey ../keys/com.android.synth0.payload.avbpubkey"),
                     0);
    char path[512], *img, *pub;
    size_t il, pl;
    snprintf(path, sizeof path, "%s/s/apex_payload.img", h.dir);
    assert_int_equal(test_read_file(path, &img, &il), 0);
    snprintf(path, sizeof path, "%s/keys/com.android.synth0.payload.avbpubkey", h.dir);
    assert_int_equal(test_read_file(path, &pub, &pl), 0);
    assert_int_equal(signet_avb_image_verify((uint8_t *)img, il, (uint8_t *)pub, pl), SIGNET_OK);
    img[100] ^= 1;
    assert_int_equal(signet_avb_image_verify((uint8_t *)img, il, (uint8_t *)pub, pl), SIGNET_E_VERIFY);
    free(img), free(pub);
    /* Build properties, mac_permissions.xml, otacerts.zip, misc_info. */
    assert_int_equal(sh("grep -qx 'ro.build.tags=release-keys' s/SYSTEM/build.prop && "
                        "grep -qx 'ro.build.fingerprint=acme/synth/synth:14/UP1A/1:user/release-keys' "
                        "s/SYSTEM/build.prop && grep -qx 'ro.build.display.id=UP1A' s/SYSTEM/build.prop && "
                        "grep -qx 'ro.build.description=synth-user 14 UP1A 1 release-keys' s/SYSTEM/build.prop"),
                     0);
    assert_int_equal(sh("grep -q \"$(openssl x509 -in keys/platform.x509.pem -outform DER | od -An -tx1 | "
                        "tr -d ' \\n')\" s/SYSTEM/etc/selinux/plat_mac_permissions.xml && "
                        "! grep -q \"$(openssl x509 -in tf/dev/build/make/target/product/security/"
                        "platform.x509.pem -outform DER | od -An -tx1 | tr -d ' \\n')\" "
                        "s/SYSTEM/etc/selinux/plat_mac_permissions.xml"),
                     0);
    assert_int_equal(sh("unzip -p s/SYSTEM/etc/security/otacerts.zip releasekey.x509.pem | "
                        "cmp - keys/releasekey.x509.pem"), 0);
    assert_int_equal(sh("grep -q '^avb_vbmeta_key_path=.*/keys/avb_synth.pub.pem$' s/META/misc_info.txt && "
                        "grep -q '^avb_vbmeta_algorithm=SHA256_RSA2048$' s/META/misc_info.txt && "
                        "grep -q 'avb_vbmeta_args=--padding_size 4096 --signing_helper_with_files "
                        "/usr/local/bin/signet-avb-sign' s/META/misc_info.txt && "
                        "! unzip -l signed.zip | grep -q IMAGES/"), 0);
    /* release verify: the signed package passes; the input (development keys) and a
     * plan that expects another key fail, each row naming what it found. */
    char *out = NULL;
    if (sh_out(&out, "signet release verify signed.zip --device synth") != 0)
        fail_msg("release verify failed:\n%s", out ? out : "");
    assert_non_null(strstr(out, " 0 failed"));
    assert_non_null(strstr(out, "ok   SYSTEM/apex/com.android.synth0.apex"));
    free(out);
    out = NULL;
    assert_int_equal(sh_out(&out, "signet release verify tf/target_files.zip --device synth"), 1);
    assert_non_null(strstr(out, "FAIL PRODUCT/app/App0/App0.apk"));
    assert_non_null(strstr(out, "a certificate outside the release set"));
    assert_non_null(strstr(out, "still names test-keys"));
    free(out);
    out = NULL;
    assert_int_equal(sh_out(&out, "signet release verify signed.zip --device synth -k "
                                  "platform=media"), 1);
    assert_non_null(strstr(out, "signed by platform"));
    free(out);
    /* kill -9 in the middle of a run (cold signing cache): no output, no temporary
     * file; the rerun completes and verifies, with cache hits for what the killed run
     * signed and fewer device operations than a cold run. */
    /* The progress lines come through a FIFO read line by line, so the kill follows
     * the third artifact's line at once (polling a file let a fast machine finish
     * the whole run first). */
    assert_int_equal(sh("rm -rf audit.cache prog.fifo int.err && mkfifo prog.fifo && "
                        "(signet release sign tf/target_files.zip --device synth --dev-cert-dir tf/dev "
                        "-o int.zip 2>prog.fifo & p=$!; while IFS= read -r l; do "
                        "printf '%%s\\n' \"$l\" >> int.err; case $l in 3/*) kill -9 $p; break;; esac; "
                        "done < prog.fifo; wait $p; true) && "
                        "grep -q '^3/' int.err && test ! -e int.zip && ! ls int.zip.tmp.* 2>/dev/null"), 0);
    char *rerun = NULL;
    assert_int_equal(sh_out(&rerun, "signet release sign tf/target_files.zip --device synth "
                                    "--dev-cert-dir tf/dev -o int.zip 2>&1 >/dev/null && "
                                    "signet release verify int.zip --device synth >/dev/null"), 0);
    const char *fin = strstr(rerun, "int.zip: ");
    assert_non_null(fin);
    unsigned long long ops = 0, hits = 0;
    assert_int_equal(sscanf(strstr(fin, "MB, ") + 4, "%llu device operations, %llu cache hits",
                            &ops, &hits), 2);
    assert_true(hits > 0);
    /* A cold run signs every signature on the device: 2 per APK (v2, v3) and 1 + 2 per
     * APEX here (see the estimate line). */
    unsigned long long need = 0;
    const char *est = strstr(rerun, "about ");
    assert_non_null(est);
    assert_int_equal(sscanf(est, "about %llu device signatures", &need), 1);
    assert_true(ops + hits == need);
    assert_true(ops < need);
    free(rerun);
    /* A plan that is not the one reviewed is refused. */
    assert_int_equal(sh("sed 's/ platform$/ media/' plan.txt > other.txt && "
                        "signet -q release sign tf/target_files.zip --device synth --plan other.txt "
                        "-o x.zip 2>err.txt; test $? = 8 && grep -q 'is not the plan' err.txt && "
                        "test ! -e x.zip"), 0);
}

/* Each refusal: how to make the package, the command's options, the message. */
static void refusals(void **state)
{
    static const struct { const char *name, *prep, *opts, *msg; } rows[] = {
        {"unmapped development key",
         "printf 'name=\"Odd.apk\" certificate=\"vendor/odd/k.x509.pem\" private_key=\"vendor/odd/k.pk8\"\\n' "
         ">> META/apkcerts.txt && mkdir -p SYSTEM/app/Odd && cp PRODUCT/app/App0/App0.apk SYSTEM/app/Odd/Odd.apk",
         "$D", "development key 'vendor/odd/k' has no release key: add --key-mapping k="},
        {"member without a key", "mkdir -p SYSTEM/app/New && cp PRODUCT/app/App0/App0.apk SYSTEM/app/New/New.apk",
         "$D", "'New.apk' is not in META/apkcerts.txt"},
        {"unsupported member", "mkdir -p PREBUILT_IMAGES && echo x > PREBUILT_IMAGES/pvmfw.img", "$D",
         "PREBUILT_IMAGES/pvmfw.img: unsupported"},
        {"missing release key", "true", "$D -k testkey=notinstore", "'notinstore'"},
        {"development certificate in mac_permissions.xml without --dev-cert-dir", "true", "",
         "plat_mac_permissions.xml: signature 1 is a certificate that is neither"},
        {"AOSP's public test certificate in mac_permissions.xml",
         "printf '<signer signature=\"%s\"/>\\n' \"$(openssl x509 -in $S/tests/release/"
         "aosp-platform.x509.pem -outform DER | od -An -tx1 | tr -d ' \\n')\" >> "
         "SYSTEM/etc/selinux/plat_mac_permissions.xml",
         "$D", "signature 3 is AOSP's public test key 'platform'"},
        {"tampered APEX payload",
         "cd SYSTEM/apex && mkdir t && cd t && unzip -q ../com.android.synth0.apex && "
         "printf 'X' | dd of=apex_payload.img bs=1 seek=5000 conv=notrunc 2>/dev/null && "
         "rm ../com.android.synth0.apex && zip -q -0 -r ../com.android.synth0.apex . && cd .. && rm -rf t",
         "$D", "apex_payload.img does not verify as built"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char *err = NULL;
        int rc = sh_out(&err,
                        "rm -rf r && mkdir r && cd r && unzip -q ../tf/target_files.zip && "
                        "( %s ) && rm -f ../bad.zip && "
                        "zip -q -r -0 ../bad.zip . && cd .. && "
                        "D='--dev-cert-dir tf/dev'; signet -q release sign bad.zip --device synth %s -o bad-signed.zip "
                        "2>&1; "
                        "echo rc=$?; test -e bad-signed.zip && echo OUTPUT-WRITTEN; true",
                        rows[i].prep, rows[i].opts);
        if (rc != 0 || !err || !strstr(err, rows[i].msg) || strstr(err, "rc=0") ||
            strstr(err, "OUTPUT-WRITTEN"))
            fail_msg("%s: wanted '%s', got:\n%s", rows[i].name, rows[i].msg, err ? err : "");
        free(err);
    }
}

/* DIR/apex_payload.img verifies with the release key of APEX `apex`, and but for
 * the signature bytes is what tests/release/mkavb.py (an independent construction
 * from avbtool's source) builds from its file system with that public key and the
 * old salt (the private key is in the HSM: mkavb leaves the signature zero). */
static void payload_ok(const char *dir, const char *apex)
{
    char path[512], *img, *pub, *ref;
    size_t il, pl, rl;
    snprintf(path, sizeof path, "%s/%s/apex_payload.img", h.dir, dir);
    assert_int_equal(test_read_file(path, &img, &il), 0);
    snprintf(path, sizeof path, "%s/keys/%s.payload.avbpubkey", h.dir, apex);
    assert_int_equal(test_read_file(path, &pub, &pl), 0);
    assert_int_equal(signet_avb_image_verify((uint8_t *)img, il, (uint8_t *)pub, pl), SIGNET_OK);
    signet_avb_footer f;
    signet_avb_vbmeta v;
    assert_int_equal(signet_avb_footer_parse((uint8_t *)img, il, &f), SIGNET_OK);
    assert_int_equal(signet_avb_vbmeta_parse((uint8_t *)img + f.vbmeta_offset,
                                             (size_t)f.vbmeta_size, &v),
                     SIGNET_OK);
    assert_int_equal(sh("K=$PWD/keys && cd %s && head -c %llu apex_payload.img > fs.img && "
                        "python3 $(dirname $M)/mkavb.py image $K/%s.payload.avbpubkey "
                        "SHA256_RSA2048 %s fs.img ref.img apex.key=%s && cmp apex_pubkey "
                        "$K/%s.payload.avbpubkey",
                        dir, (unsigned long long)f.original_image_size, apex,
                        "aabbccdd" "aabbccdd" "aabbccdd" "aabbccdd" "aabbccdd" "aabbccdd"
                        "aabbccdd" "aabbccdd", apex, apex),
                     0);
    snprintf(path, sizeof path, "%s/%s/ref.img", h.dir, dir);
    assert_int_equal(test_read_file(path, &ref, &rl), 0);
    assert_int_equal(rl, il);
    memset(img + (v.sig - (uint8_t *)img), 0, (size_t)v.sig_size);
    assert_memory_equal(img, ref, il);
    free(img), free(pub), free(ref);
}

/* APEX payloads holding APKs (ext4 and EROFS) and a compressed APEX: the APKs inside
 * re-signed with their release keys, the file systems rebuilt (same type, fsck
 * clean) with a new hash tree, the containers 4 KiB-aligned; a rerun rebuilds the
 * same bytes (every signature a cache hit). */
/* The ext4 and the EROFS payload, and the compressed APEX's original_apex payload. */
#define UNPACKED_PAYLOADS 3
static void apex_contents(void **state)
{
    char *out = NULL;
    if (sh_out(&out, "signet release sign tfapk/target_files.zip --device synth "
                     "--dev-cert-dir tfapk/dev -o apk-signed.zip 2>&1") != 0)
        fail_msg("release sign of APEXes with APKs failed:\n%s", out ? out : "");
    /* The estimate counts the APKs inside the payloads (ext4 and EROFS): what the
     * run signed, device and cache together, is what it said. */
    assert_non_null(strstr(out, "2 APKs, 2 in APEX payloads, 3 APEXes: "));
    unsigned long long need = field(out, "estimate: ", "APEXes: ");
    assert_int_equal(field(out, "apk-signed.zip: ", "MB, ") +
                         field(out, "apk-signed.zip: ", "operations, "), need);
    free(out);
    out = NULL;
    if (sh_out(&out, "signet release verify apk-signed.zip --device synth") != 0)
        fail_msg("release verify failed:\n%s", out ? out : "");
    assert_non_null(strstr(out, "ok   SYSTEM/apex/com.android.synth2.capex!original_apex"));
    assert_non_null(strstr(out, "ok   SYSTEM/apex/com.android.synth0.apex!/app/Inner/Inner.apk"));
    assert_non_null(strstr(out, "ok   SYSTEM/apex/com.android.synth1.apex!/app/Inner2/Inner2.apk"));
    free(out);
    /* Inside payloads too, a key other than the plan's is a failed row. */
    out = NULL;
    assert_int_equal(sh_out(&out, "signet release verify apk-signed.zip --device synth "
                                  "-k platform=media"), 1);
    assert_non_null(strstr(out, "FAIL SYSTEM/apex/com.android.synth0.apex!/app/Inner/Inner.apk"));
    free(out);
    assert_int_equal(sh("rm -rf a && mkdir a && cd a && unzip -q ../apk-signed.zip && "
                        "mkdir e4 ero cap && cd e4 && unzip -q ../SYSTEM/apex/com.android.synth0.apex && "
                        "cd ../ero && unzip -q ../SYSTEM/apex/com.android.synth1.apex && "
                        "cd ../cap && unzip -q ../SYSTEM/apex/com.android.synth2.capex && "
                        "mkdir o && cd o && unzip -q ../original_apex"),
                     0);
    /* The containers, the capex and its original_apex: signed by the container keys. */
    assert_int_equal(signed_by("a/SYSTEM/apex/com.android.synth0.apex", "com.android.synth0.container"), 0);
    assert_int_equal(signed_by("a/SYSTEM/apex/com.android.synth1.apex", "com.android.synth1.container"), 0);
    assert_int_equal(signed_by("a/SYSTEM/apex/com.android.synth2.capex", "com.android.synth2.container"), 0);
    assert_int_equal(signed_by("a/cap/original_apex", "com.android.synth2.container"), 0);
    payload_ok("a/e4", "com.android.synth0");
    payload_ok("a/ero", "com.android.synth1");
    payload_ok("a/cap/o", "com.android.synth2");
    /* The capex's copy of apex_pubkey is the release one too. */
    assert_int_equal(sh("cmp a/cap/apex_pubkey keys/com.android.synth2.payload.avbpubkey"), 0);
    /* The APKs inside, taken out of the rebuilt file systems: release-signed
     * (platform), and the file systems pass their own checkers. */
    assert_int_equal(sh("cd a && head -c $(stat -c %%s e4/fs.img) e4/apex_payload.img > e4.fs && "
                        "e2fsck -fn e4.fs >/dev/null 2>&1 && "
                        "debugfs -R 'dump /app/Inner/Inner.apk Inner.apk' e4.fs 2>/dev/null && "
                        "fsck.erofs ero/fs.img >/dev/null 2>&1 && "
                        "fsck.erofs --extract=erox ero/fs.img >/dev/null 2>&1 && "
                        "cp erox/app/Inner2/Inner2.apk ."),
                     0);
    assert_int_equal(signed_by("a/Inner.apk", "platform"), 0);
    assert_int_equal(signed_by("a/Inner2.apk", "platform"), 0);
    /* apex_payload.img's data starts on a 4 KiB boundary in each container (signapk
     * -a 4096, as releasetools signs APEX containers). */
    assert_int_equal(sh("for z in a/SYSTEM/apex/com.android.synth0.apex a/cap/original_apex; do "
                        "python3 -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); "
                        "i=z.getinfo(\"apex_payload.img\"); f=open(sys.argv[1],\"rb\"); "
                        "f.seek(i.header_offset+26); import struct; n,e=struct.unpack(\"<HH\",f.read(4)); "
                        "sys.exit((i.header_offset+30+n+e)%%4096)' $z || exit 1; done"),
                     0);
    /* The same input again: the same bytes, every signature from the cache. */
    out = NULL;
    assert_int_equal(sh_out(&out, "signet release sign tfapk/target_files.zip --device synth "
                                  "--dev-cert-dir tfapk/dev -o apk-signed2.zip 2>&1 >/dev/null && "
                                  "cmp apk-signed.zip apk-signed2.zip"),
                     0);
    assert_non_null(strstr(out, " 0 device operations"));
    free(out);
    /* Two devices with identical APEXes in one run: each distinct payload (by its
     * bytes) is unpacked once, by the first estimate; the signing stages and the
     * second device open copies of that tree; both outputs are the single run's bytes. */
    out = NULL;
    if (sh_out(&out, "rm -rf twice && mkdir -p twice/b && cp tfapk/target_files.zip twice/b/ && "
                     "signet release sign tfapk/target_files.zip twice/b/target_files.zip "
                     "--device synth --device synth --dev-cert-dir tfapk/dev "
                     "-o twice/1.zip -o twice/2.zip 2>&1 >/dev/null && "
                     "cmp apk-signed.zip twice/1.zip && cmp apk-signed.zip twice/2.zip") != 0)
        fail_msg("release sign of two identical packages failed:\n%s", out ? out : "");
    unsigned long long unpacked = field(out, "signet: APEX payloads: ", "payloads: ");
    unsigned long long copies = field(out, "signet: APEX payloads: ", "unpacked, ");
    assert_int_equal(unpacked, UNPACKED_PAYLOADS);
    assert_int_equal(copies, 4 * UNPACKED_PAYLOADS - UNPACKED_PAYLOADS);
    free(out);
}

/* Several packages (one per device) in one run: device "other"'s package differs from
 * device synth's in one APK.  The estimate, printed before the device is touched (and
 * alone with --estimate-only, no HSM needed), predicts every other signature of the
 * second package as a cache hit; the run makes exactly the predicted device
 * signatures; each package verifies with its own device's keys; a rerun signs nothing
 * on the device and writes the same bytes. */
static void multi_device(void **state)
{
    assert_int_equal(sh("python3 -c 'import zipfile, gzip, sys\n"
                        "z = zipfile.ZipFile(\"tf/target_files.zip\"); o = zipfile.ZipFile(\"dev2.zip\", \"w\")\n"
                        "for i in z.infolist():\n"
                        "    d = z.read(i.filename)\n"
                        "    if i.filename == \"PRODUCT/app/App0/App0.apk\":\n"
                        "        d = gzip.decompress(z.read(\"SYSTEM/app/App1/App1.apk.gz\"))\n"
                        "    o.writestr(i, d)\n"
                        "o.close()'"), 0);
    const char *args = "tf/target_files.zip dev2.zip --device synth --device other "
                       "--dev-cert-dir tf/dev --out-dir multi";
    char *est = NULL;
    assert_int_equal(sh_out(&est, "SIGNET_CONNECTOR=http://127.0.0.1:9 signet release sign %s "
                                  "--estimate-only 2>&1 && test ! -e multi", args), 0);
    unsigned long long s1 = field(est, "estimate: tf/target_files.zip (device synth)", "APEXes: ");
    unsigned long long h1 = field(est, "estimate: tf/target_files.zip (device synth)", "signatures, ");
    unsigned long long s2 = field(est, "estimate: dev2.zip (device other)", "APEXes: ");
    unsigned long long d2 = field(est, "estimate: dev2.zip (device other)", "about ");
    unsigned long long dt = field(est, "estimate: total of 2 packages", "about ");
    assert_non_null(strstr(est, "estimate: dev2.zip (device other): 3 APKs, 0 in APEX payloads, "
                                "1 APEXes"));
    free(est);
    /* App0 of the second package is App1's bytes with App0's key (platform): new. */
    assert_true(s1 >= 9);
    assert_int_equal(h1, 0);
    assert_int_equal(s2, s1);
    assert_int_equal(d2, 2);
    assert_int_equal(dt, s1 + 2);
    char *out = NULL;
    if (sh_out(&out, "rm -rf audit.cache multi && mkdir multi && "
                     "wc -l < audit/records.log > before.n && signet release sign %s 2>&1",
               args) != 0)
        fail_msg("release sign of two packages failed:\n%s", out ? out : "");
    /* Ordered by key across both packages: the device's sign records of the run come
     * in one run of records per key (zip order would go platform, releasekey,
     * platform, ...). */
    assert_int_equal(sh("tail -n +$(($(cat before.n) + 1)) audit/records.log | "
                        "grep ' type=sign .*caller=release%%20sign' | "
                        "sed 's/.* key=\\([^ ]*\\) .*/\\1/' > keys.seq && "
                        "test $(wc -l < keys.seq) -eq %llu && "
                        "test $(uniq keys.seq | sort | uniq -d | wc -l) -eq 0 && "
                        "test $(uniq keys.seq | wc -l) -eq 4", s1 + 2), 0);
    assert_int_equal(field(out, "multi/target_files.zip: ", "MB, "), s1);
    assert_int_equal(field(out, "multi/dev2.zip: ", "MB, "), 2);
    assert_int_equal(field(out, "multi/dev2.zip: ", "operations, "), s2 - 2);
    assert_int_equal(field(out, "signet: 2 packages signed, ", "signed, "), s1 + 2);
    free(out);
    assert_int_equal(sh("signet release verify multi/target_files.zip --device synth >/dev/null && "
                        "signet release verify multi/dev2.zip --device other >/dev/null && "
                        "unzip -p multi/dev2.zip META/misc_info.txt | "
                        "grep -q '^avb_vbmeta_key_path=.*/keys/avb_other.pub.pem$' && "
                        "unzip -p multi/target_files.zip META/misc_info.txt | "
                        "grep -q '^avb_vbmeta_key_path=.*/keys/avb_synth.pub.pem$'"), 0);
    /* A rerun: every signature from the cache, the same bytes. */
    out = NULL;
    assert_int_equal(sh_out(&out, "signet release sign tf/target_files.zip dev2.zip --device synth "
                                  "--device other --dev-cert-dir tf/dev -o r1.zip -o r2.zip "
                                  "2>&1 >/dev/null && cmp r1.zip multi/target_files.zip && "
                                  "cmp r2.zip multi/dev2.zip"), 0);
    assert_non_null(strstr(out, "signet: 2 packages signed, 0 device operations"));
    free(out);
    /* Outputs and devices must pair with the packages. */
    out = NULL;
    assert_int_not_equal(sh_out(&out, "signet release sign tf/target_files.zip dev2.zip "
                                      "--device synth --device other -o x.zip 2>&1"), 0);
    assert_non_null(strstr(out, "give one -o per package"));
    free(out);
    out = NULL;
    assert_int_not_equal(sh_out(&out, "signet release sign tf/target_files.zip dev2.zip "
                                      "--device synth --out-dir multi 2>&1"), 0);
    assert_non_null(strstr(out, "give one --device per package"));
    free(out);
    out = NULL;
    assert_int_not_equal(sh_out(&out, "signet release sign tf/target_files.zip dev2.zip "
                                      "--device synth --device other --out-dir nodir 2>&1"), 0);
    assert_non_null(strstr(out, "nodir/ does not exist"));
    free(out);
    assert_int_equal(sh("test ! -e x.zip"), 0);
    /* One package that cannot be planned (an APK apkcerts.txt does not name) stops
     * the run before the device signs anything for any package. */
    out = NULL;
    assert_int_equal(sh_out(&out, "cp dev2.zip bad.zip && python3 -c 'import zipfile\n"
                                  "z = zipfile.ZipFile(\"bad.zip\", \"a\")\n"
                                  "z.writestr(\"SYSTEM/app/Stray/Stray.apk\", b\"PK\")\n"
                                  "z.close()' && wc -l < audit/records.log > before.n && "
                                  "signet release sign tf/target_files.zip bad.zip --device synth "
                                  "--device other --dev-cert-dir tf/dev --out-dir multi 2>&1; "
                                  "echo rc=$?; test ! -e multi/bad.zip && "
                                  "test $(wc -l < audit/records.log) -eq $(cat before.n) && echo same"),
                     0);
    assert_non_null(strstr(out, "SYSTEM/app/Stray/Stray.apk"));
    assert_non_null(strstr(out, "rc=8"));
    assert_non_null(strstr(out, "\nsame"));
    free(out);
}

/* --generate-missing: a mapping to a key the store lacks (a name longer than the
 * HSM's 40-byte label) is first reported missing (exit 6), then added to the key map
 * under its store name and generated through signet keys generate. */
static void generate_missing(void **state)
{
    const char *k = "-k testkey=com.example.release.apps.with.a.very.long.key.name";
    char *out = NULL;
    assert_int_equal(sh_out(&out, "signet release plan tf/target_files.zip --device synth %s "
                                  "2>&1", k), 6);
    assert_non_null(strstr(out, "1 release key missing"));
    free(out);
    out = NULL;
    if (sh_out(&out, "signet release plan tf/target_files.zip --device synth %s "
                     "--generate-missing --algorithm rsa2048 2>&1", k) != 0)
        fail_msg("--generate-missing failed:\n%s", out ? out : "");
    assert_non_null(strstr(out, "0 release keys missing"));
    assert_non_null(strstr(out, "generated com.example.release."));
    free(out);
    assert_int_equal(sh("grep -q '^com\\.example\\.release\\..*-[0-9a-f]\\{8\\}\\.name  *0x0[0-9a-f]* "
                        "rsa2048  *1  *apk$' keys/keymap.txt && "
                        "ls keys/com.example.release.*.name.x509.pem >/dev/null"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_file),
        cmocka_unit_test(sign_and_check),
        cmocka_unit_test(refusals),
        cmocka_unit_test(apex_contents),
        cmocka_unit_test(multi_device),
        cmocka_unit_test(generate_missing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

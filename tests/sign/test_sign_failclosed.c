/* The signing path fails closed when OpenSSL cannot hash: EVP_Digest is wrapped
 * here (the test binary's definition takes precedence over libcrypto's for the
 * statically linked signet code) so that one chosen call fails.
 *   - the hash of the intent fails: nothing is signed, nothing is recorded;
 *   - the bytes are hashed once, before the intent (the intent, the record and the
 *     signing cache share it), so no hash can fail after the device signed;
 *   - the hash of a certificate fails: an error, no signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/sha.h>

#include "common/store_fixture.h"
#include "signet/digestinfo.h"
#include "signet/sign.h"

/* ---- the fault: the Nth EVP_Digest over the marker bytes fails ---------------------- */
static const uint8_t *marker;
static size_t marker_len;
static int fail_at, seen;

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size,
               const EVP_MD *type, ENGINE *impl)
{
    static int (*real)(const void *, size_t, unsigned char *, unsigned int *, const EVP_MD *,
                       ENGINE *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "EVP_Digest");
    if (marker && count == marker_len && memcmp(data, marker, count) == 0 && ++seen == fail_at)
        return 0;
    return real(data, count, md, size, type, impl);
}

static void arm(const uint8_t *p, size_t n, int nth)
{
    marker = p;
    marker_len = n;
    fail_at = nth;
    seen = 0;
}

/* ---- rig ------------------------------------------------------------------------------ */
static struct store st;
static signet_signer *signer;

#define sh(...) store_sh(&st, __VA_ARGS__)

static int setup(void **state)
{
    if (store_start(&st, NULL) != 0)
        return -1;
    if (store_init_keystore(&st, "sign-pkcs1=on") != 0 ||
        sh("signet keys init --device t --algorithm rsa2048 >/dev/null && "
           "signet -q keys generate --only platform >/dev/null") != 0)
        return -1;
    signet_config cfg;
    signet_config_defaults(&cfg);
    char path[512];
    snprintf(path, sizeof path, "%s/signet.conf", st.h.dir);
    if (signet_config_load(path, &cfg) != SIGNET_OK)
        return -1;
    return signet_signer_open(&cfg, 1, "password", &signer) == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
    signet_signer_close(signer);
    store_cleanup(&st);
    return 0;
}

static int record_lines(void)
{
    char cmd[600], *out = NULL;
    snprintf(cmd, sizeof cmd, "wc -l < %s/audit/records.log", st.h.dir);
    assert_int_equal(run_cmd(cmd, &out), 0);
    int n = atoi(out);
    free(out);
    return n;
}

/* A DigestInfo of SHA-256(text), as the PKCS#1 adapters hand it to the path. */
static void digestinfo_of(const char *text, sb_wr *di)
{
    uint8_t d[32];
    assert_non_null(SHA256((const uint8_t *)text, strlen(text), d));
    sbw_init(di, 64);
    assert_int_equal(signet_digestinfo_encode(NID_sha256, d, 32, di), SIGNET_OK);
}

static signet_rc sign_marker(const sb_wr *di, uint8_t *sig, size_t *sig_len)
{
    signet_sign_req r = {.key_name = "platform", .mech = SIGNET_MECH_RSA_PKCS1, .data = di->p,
                         .len = di->len, .caller = "test_sign_failclosed"};
    memset(sig, 0, *sig_len);
    return signet_sign(signer, &r, sig, sig_len);
}

static void intent_hash_fails_nothing_signed(void **state)
{
    sb_wr di;
    digestinfo_of("intent", &di);
    int before = record_lines();
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    arm(di.p, di.len, 1);
    assert_int_equal(sign_marker(&di, sig, &sig_len), SIGNET_E_CRYPTO);
    assert_non_null(strstr(signet_errmsg(), "nothing was signed"));
    arm(NULL, 0, 0);
    assert_int_equal(seen, 0); /* disarmed before any later call could count */
    /* Only the drain before signing may have added device lines; no record. */
    assert_int_equal(sh("tail -n +%d audit/records.log | grep -c 'type=intent' | grep -qx 0",
                        before + 1), 0);
    assert_int_equal(sh("signet audit verify audit >/dev/null"), 0);
    sbw_free(&di);
}

/* The bytes are hashed once, before the intent: the intent, the sign record and the
 * signing cache share that hash, so a record can never carry another hash than its
 * intent, and no hash failure can happen after the device signed. */
static void bytes_hashed_once(void **state)
{
    sb_wr di;
    digestinfo_of("record", &di);
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    arm(di.p, di.len, 2); /* a second hash of the bytes would fail */
    signet_rc rc = sign_marker(&di, sig, &sig_len);
    int hashes = seen;
    arm(NULL, 0, 0);
    assert_int_equal(rc, SIGNET_OK);
    assert_int_equal(hashes, 1);
    assert_true(sig_len == 256);
    assert_int_equal(sh("signet audit verify audit >/dev/null"), 0);
    sbw_free(&di);
}

static void certificate_hash_fails(void **state)
{
    const signet_keymap_entry *e = signet_keystore_find(signet_signer_keystore(signer), "platform");
    assert_non_null(e);
    static const uint8_t tbs[] = "not really a TBSCertificate";
    uint8_t sig[512];
    size_t sig_len = sizeof sig;
    arm(tbs, sizeof tbs, 1);
    assert_int_equal(signet_sign_certificate(signer, e, tbs, sizeof tbs, NID_sha256, sig, &sig_len),
                     SIGNET_E_CRYPTO);
    assert_non_null(strstr(signet_errmsg(), "hashing the certificate of 'platform'"));
    /* The second hash (the one signed) fails too: still an error. */
    sig_len = sizeof sig;
    arm(tbs, sizeof tbs, 2);
    assert_int_equal(signet_sign_certificate(signer, e, tbs, sizeof tbs, NID_sha256, sig, &sig_len),
                     SIGNET_E_CRYPTO);
    arm(NULL, 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(intent_hash_fails_nothing_signed),
        cmocka_unit_test(bytes_hashed_once),
        cmocka_unit_test(certificate_hash_fails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

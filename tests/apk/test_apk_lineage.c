/* The key-rotation lineage codec (include/signet/apk_lineage.h) on hostile input:
 * a lineage made in memory (software keys) reads back to the same bytes; every
 * truncation, a wrong magic, an unknown version, a changed signature, a changed
 * (signed) certificate, a parent algorithm that differs from its parent's, a certificate
 * that appears twice and trailing bytes are each refused with their own error.
 * The byte comparison with `apksigner rotate` is in test_apk_cli. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "apk_fixture.h"
#include "common/hsmd_fixture.h"
#include "signet/apk.h"
#include "signet/apk_lineage.h"

static char dir[] = "/tmp/signet-lineage-XXXXXX";
static sb_wr file; /* a two-signer lineage file: a -> b */
static size_t cert_a_len;

static int load_cert(const char *name, uint8_t **der)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s.x509.pem", dir, name);
    FILE *f = fopen(p, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    *der = NULL;
    int n = x ? i2d_X509(x, der) : -1;
    X509_free(x);
    return n;
}

static int sign_soft(const char *name, const uint8_t *tbs, size_t len, uint8_t *sig, size_t *sl)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s.pem", dir, name);
    FILE *f = fopen(p, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = k && c && EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k) == 1 &&
             EVP_DigestSign(c, sig, sl, tbs, len) == 1;
    EVP_MD_CTX_free(c);
    EVP_PKEY_free(k);
    return ok ? 0 : -1;
}

static int setup(void **state)
{
    if (!mkdtemp(dir) || apkfix_key(dir, "a", "rsa2048") || apkfix_key(dir, "b", "rsa2048"))
        return -1;
    uint8_t *ca, *cb;
    int la = load_cert("a", &ca), lb = load_cert("b", &cb);
    signet_apk_lineage l;
    memset(&l, 0, sizeof l);
    signet_apk_rotation r;
    uint8_t sig[512];
    size_t sl = sizeof sig;
    sbw_init(&file, 1 << 20);
    int ret = la > 0 && lb > 0 &&
              signet_apk_lineage_rotation_tbs(&l, ca, (size_t)la, cb, (size_t)lb,
                                              SIGNET_APK_CAP_DEFAULT, &r) == SIGNET_OK &&
              sign_soft("a", r.tbs.p, r.tbs.len, sig, &sl) == 0 &&
              signet_apk_lineage_rotation_add(&l, &r, cb, (size_t)lb, SIGNET_APK_CAP_DEFAULT, sig,
                                              sl) == SIGNET_OK &&
              signet_apk_lineage_write(&l, &file) == SIGNET_OK ? 0 : -1;
    cert_a_len = (size_t)la;
    signet_apk_rotation_free(&r);
    signet_apk_lineage_free(&l);
    OPENSSL_free(ca);
    OPENSSL_free(cb);
    return ret;
}

static int teardown(void **state)
{
    sbw_free(&file);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static signet_rc read_copy(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1); /* exact size, so ASan sees an over-read */
    memcpy(c, p, n);
    signet_apk_lineage l;
    signet_rc rc = signet_apk_lineage_read(c, n, &l);
    if (rc == SIGNET_OK)
        signet_apk_lineage_free(&l);
    free(c);
    return rc;
}

static void test_round_trip(void **state)
{
    signet_apk_lineage l;
    assert_int_equal(signet_apk_lineage_read(file.p, file.len, &l), SIGNET_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].sig_alg, SIGNET_APK_RSA_PKCS1_SHA256);
    assert_int_equal(l.v[1].parent_alg, SIGNET_APK_RSA_PKCS1_SHA256);
    assert_int_equal(l.v[1].flags, 23);
    sb_wr w;
    sbw_init(&w, 1 << 20);
    assert_int_equal(signet_apk_lineage_write(&l, &w), SIGNET_OK);
    assert_int_equal(w.len, file.len);
    assert_memory_equal(w.p, file.p, w.len);
    /* a third signer must be rotated from the newest, never twice the same */
    signet_apk_rotation r;
    assert_int_not_equal(signet_apk_lineage_rotation_tbs(&l, l.v[0].cert, l.v[0].cert_len,
                                                         l.v[1].cert, l.v[1].cert_len, 23, &r),
                         SIGNET_OK);
    signet_apk_rotation_free(&r);
    sbw_free(&w);
    signet_apk_lineage_free(&l);
}

static void test_every_truncation(void **state)
{
    for (size_t n = 0; n < file.len; n++)
        assert_int_not_equal(read_copy(file.p, n), SIGNET_OK);
    assert_int_equal(read_copy(file.p, file.len), SIGNET_OK);
}

static void mutate(size_t at, uint8_t x, signet_rc want, const char *msg)
{
    uint8_t *c = malloc(file.len);
    memcpy(c, file.p, file.len);
    c[at] ^= x;
    signet_rc rc = read_copy(c, file.len);
    print_message("offset %zu: %s\n", at, signet_errmsg());
    assert_int_equal(rc, want);
    assert_non_null(strstr(signet_errmsg(), msg));
    free(c);
}

static void test_mutations(void **state)
{
    /* file header 12, version 4, node 1: lp 4, lp 4, lp 4, cert, parent alg, flags, sig alg,
     * lp(sig) 0; node 2: the same with a signature at the end */
    size_t n1_cert = 12 + 4 + 12;
    size_t n1_sigalg = n1_cert + cert_a_len + 4 + 4;
    mutate(0, 1, SIGNET_E_PARSE, "not a lineage file");
    mutate(4, 2, SIGNET_E_UNSUPPORTED, "version 3");
    mutate(12, 2, SIGNET_E_UNSUPPORTED, "version 3");
    mutate(file.len - 1, 0x40, SIGNET_E_VERIFY, "does not verify");   /* the signature */
    mutate(file.len - 300, 0x01, SIGNET_E_VERIFY, "does not verify"); /* the new certificate's tail */
    mutate(n1_sigalg, 0x07, SIGNET_E_PARSE, "differs from the one its parent names");
    mutate(8, 1, SIGNET_E_PARSE, "length does not match");
}

static void test_duplicate_and_trailing(void **state)
{
    /* the first node twice: a certificate that appears twice */
    sb_rd r;
    sbr_init(&r, file.p + 16, file.len - 16);
    uint32_t n1;
    assert_int_equal(sbr_u32_le(&r, &n1), SIGNET_OK);
    sb_wr w;
    sbw_init(&w, 1 << 20);
    sbw_u32_le(&w, 1);
    sbw_put(&w, file.p + 16, 4 + n1);
    sbw_put(&w, file.p + 16, 4 + n1);
    signet_apk_lineage l;
    assert_int_not_equal(signet_apk_lineage_parse(w.p, w.len, &l), SIGNET_OK);
    /* one node alone is a lineage; a byte after the file is not */
    sbw_reset(&w);
    sbw_u32_le(&w, 1);
    sbw_put(&w, file.p + 16, 4 + n1);
    assert_int_equal(signet_apk_lineage_parse(w.p, w.len, &l), SIGNET_OK);
    signet_apk_lineage_free(&l);
    sbw_reset(&w);
    sbw_put(&w, file.p, file.len);
    sbw_u8(&w, 0);
    assert_int_equal(read_copy(w.p, w.len), SIGNET_E_PARSE);
    sbw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_duplicate_and_trailing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

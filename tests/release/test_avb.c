/* signet's AVB code against images built by tests/release/mkavb.py (an independent
 * construction from avbtool's sources): verification with the right and a wrong
 * key; re-signing a SHA256_RSA2048 image for another key with SHA512_RSA2048 gives exactly the image
 * built directly with that key and the same salt; tampered data, tree, descriptors
 * and signature are refused; a table of malformed headers and footers, each with
 * its message; a rebuilt file system re-signed equals mkavb.py's direct build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/hsmd_fixture.h"
#include "signet/avb.h"

static char dir[256];

static uint8_t *load(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *p;
    if (test_read_file(path, &p, len) != 0)
        fail_msg("cannot read %s", path);
    return (uint8_t *)p;
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/signet-avb-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    const char *src = getenv("SIGNET_SOURCE_DIR");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && M='python3 %s/tests/release/mkavb.py' && "
             "openssl genrsa -out k1.pem 2048 2>/dev/null && openssl genrsa -out k2.pem 2048 "
             "2>/dev/null && head -c 300000 /dev/urandom > data && "
             "$M image k1.pem SHA256_RSA2048 5eed0123456789abcdef data img1 apex.key=com.x && "
             "$M image k2.pem SHA512_RSA2048 5eed0123456789abcdef data img2 apex.key=com.x && "
             "$M pubkey k1.pem pub1 && $M pubkey k2.pem pub2 && "
             "head -c 123457 /dev/urandom > data3 && "
             "$M image k2.pem SHA512_RSA2048 5eed0123456789abcdef data3 img3 apex.key=com.x",
             dir, src);
    return run_cmd(cmd, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return run_cmd(cmd, NULL) == 0 ? 0 : -1;
}

static void verifies(void **state)
{
    size_t il, p1l, p2l;
    uint8_t *img = load("img1", &il), *p1 = load("pub1", &p1l), *p2 = load("pub2", &p2l);
    assert_int_equal(signet_avb_image_verify(img, il, p1, p1l), SIGNET_OK);
    assert_int_equal(signet_avb_image_verify(img, il, NULL, 0), SIGNET_OK);
    assert_int_equal(signet_avb_image_verify(img, il, p2, p2l), SIGNET_E_VERIFY);
    assert_non_null(strstr(signet_errmsg(), "another key"));

    signet_avb_footer f;
    signet_avb_vbmeta v;
    signet_avb_hashtree h;
    signet_avb_property prop;
    bool found;
    assert_int_equal(signet_avb_footer_parse(img, il, &f), SIGNET_OK);
    assert_int_equal(f.original_image_size, 300000);
    assert_int_equal(signet_avb_vbmeta_parse(img + f.vbmeta_offset, f.vbmeta_size, &v), SIGNET_OK);
    assert_int_equal(signet_avb_find_hashtree(&v, &h), SIGNET_OK);
    assert_string_equal(h.hash_algorithm, "sha256");
    assert_int_equal(h.salt_len, 10);
    assert_int_equal(signet_avb_find_property(&v, "apex.key", &prop, &found), SIGNET_OK);
    assert_true(found);
    assert_string_equal((const char *)prop.value, "com.x");
    free(img), free(p1), free(p2);
}

/* Signs like avbtool: PKCS#1 v1.5 over the digest with a PEM key. */
static size_t sign_digest(const char *keyfile, const signet_avb_resign *r, uint8_t *sig)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, keyfile);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    EVP_PKEY *k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    size_t n = 1024;
    assert_int_equal(EVP_PKEY_sign_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, r->alg->md_nid == NID_sha256 ? EVP_sha256()
                                                                                   : EVP_sha512()),
                     1);
    assert_int_equal(EVP_PKEY_sign(c, sig, &n, r->digest, r->digest_len), 1);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(k);
    return n;
}

static void resign_matches_direct_build(void **state)
{
    size_t il, i2l, p2l;
    uint8_t *img = load("img1", &il), *img2 = load("img2", &i2l), *p2 = load("pub2", &p2l);
    signet_avb_resign r;
    assert_int_equal(signet_avb_resign_begin(img, il, p2, p2l, "SHA512_RSA2048", &r), SIGNET_OK);
    uint8_t sig[1024];
    size_t sl = sign_digest("k2.pem", &r, sig);
    sb_wr out;
    sbw_init(&out, 1 << 24);
    /* A signature of the wrong length is refused. */
    assert_int_equal(signet_avb_resign_finish(&r, img, il, sig, sl - 1, &out), SIGNET_E_ARG);
    assert_int_equal(signet_avb_resign_finish(&r, img, il, sig, sl, &out), SIGNET_OK);
    assert_int_equal(out.len, i2l);
    assert_memory_equal(out.p, img2, i2l);
    assert_int_equal(signet_avb_image_verify(out.p, out.len, p2, p2l), SIGNET_OK);
    signet_avb_resign_free(&r);
    /* An unknown algorithm and a key of the wrong size are refused before signing. */
    assert_int_equal(signet_avb_resign_begin(img, il, p2, p2l, "SHA256_RSA4096", &r), SIGNET_E_ARG);
    assert_int_equal(signet_avb_resign_begin(img, il, p2, p2l, "MD5_RSA", &r), SIGNET_E_ARG);
    sbw_free(&out);
    free(img), free(img2), free(p2);
}

static void tamper_refused(void **state)
{
    size_t il, p1l;
    uint8_t *img = load("img1", &il), *p1 = load("pub1", &p1l);
    signet_avb_footer f;
    assert_int_equal(signet_avb_footer_parse(img, il, &f), SIGNET_OK);
    signet_avb_vbmeta v;
    assert_int_equal(signet_avb_vbmeta_parse(img + f.vbmeta_offset, f.vbmeta_size, &v), SIGNET_OK);
    size_t aux = (size_t)(v.aux - img);
    size_t sig = (size_t)(v.sig - img);
    static const struct { const char *name; size_t which; const char *msg; } rows[] = {
        {"data byte", 0, "root digest does not match"},
        {"tree byte", 1, "hash tree stored in the image"},
        {"descriptor byte (salt)", 2, "modified after signing"},
        {"signature byte", 3, "signature does not verify"},
    };
    size_t where[] = {1000, 300000 + 3000, aux + 16 + 164 + 4 + 1, sig + 7};
    where[1] = (size_t)(300000 + 4095) / 4096 * 4096 + 10;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        img[where[i]] ^= 0x01;
        signet_rc rc = signet_avb_image_verify(img, il, p1, p1l);
        if (rc == SIGNET_OK || !strstr(signet_errmsg(), rows[i].msg))
            fail_msg("%s: rc %d '%s'", rows[i].name, rc, signet_errmsg());
        img[where[i]] ^= 0x01;
    }
    assert_int_equal(signet_avb_image_verify(img, il, p1, p1l), SIGNET_OK);
    free(img), free(p1);
}

/* Malformed structures: which field, the new value, the message. */
static void malformed_refused(void **state)
{
    size_t il;
    uint8_t *orig = load("img1", &il);
    signet_avb_footer f;
    assert_int_equal(signet_avb_footer_parse(orig, il, &f), SIGNET_OK);
    size_t vb = (size_t)f.vbmeta_offset, ft = il - 64;
    static const struct { const char *name; int field; uint64_t value; const char *msg; } rows[] = {
        {"footer magic", 0, 0, "does not end with an AVB footer"},
        {"footer vbmeta offset past the end", 1, ~0ull, "outside the image"},
        {"footer vbmeta size past the end", 2, 1ull << 40, "outside the image"},
        {"footer original size past vbmeta", 3, 1ull << 30, "overlaps the vbmeta"},
        {"header magic", 4, 0, "does not start with AVB0"},
        {"header required minor 9", 5, 9, "needs libavb 1.9"},
        {"auth size not a multiple of 64", 6, 100, "not multiples of 64"},
        {"aux size past the blob", 7, 1ull << 20, "run past"},
        {"hash outside the auth block", 8, 4096, "hash ["},
        {"public key size overflow", 9, ~0ull - 3, "public key ["},
        {"algorithm 9", 10, 9, "algorithm 9 is unknown"},
        {"descriptors overrun", 11, 1ull << 16, "descriptors ["},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint8_t *img = malloc(il);
        memcpy(img, orig, il);
        uint64_t v = rows[i].value;
        switch (rows[i].field) {
        case 0: memcpy(img + ft, "AVBx", 4); break;
        case 1: put_be64(img + ft + 20, v); break;
        case 2: put_be64(img + ft + 28, v); break;
        case 3: put_be64(img + ft + 12, v); break;
        case 4: memcpy(img + vb, "AVBX", 4); break;
        case 5: put_be32(img + vb + 8, (uint32_t)v); break;
        case 6: put_be64(img + vb + 12, v); break;
        case 7: put_be64(img + vb + 20, v); break;
        case 8: put_be64(img + vb + 32, v); break;
        case 9: put_be64(img + vb + 72, v); break;
        case 10: put_be32(img + vb + 28, (uint32_t)v); break;
        case 11: put_be64(img + vb + 104, v); break;
        }
        signet_rc rc = signet_avb_image_verify(img, il, NULL, 0);
        if (rc == SIGNET_OK || !strstr(signet_errmsg(), rows[i].msg))
            fail_msg("%s: rc %d '%s' (wanted '%s')", rows[i].name, rc, signet_errmsg(),
                     rows[i].msg);
        free(img);
    }
    assert_int_equal(signet_avb_footer_parse(orig, 10, &f), SIGNET_E_PARSE);
    free(orig);
}

/* A rebuilt file system (another size, other bytes) under img1's vbmeta, re-signed
 * with k2, is exactly the image mkavb.py builds from that file system with k2 and
 * the same salt and properties; inputs that are not footed images are refused. */
static void rebuild_matches_direct_build(void **state)
{
    size_t il, dl, i3l, p2l;
    uint8_t *img = load("img1", &il), *data = load("data3", &dl), *img3 = load("img3", &i3l),
            *p2 = load("pub2", &p2l);
    sb_wr reb, out;
    sbw_init(&reb, 1 << 24);
    sbw_init(&out, 1 << 24);
    assert_int_equal(signet_avb_rebuild(img, il, data, dl, &reb), SIGNET_OK);
    /* The stale signature (k1's, over the old vbmeta) no longer verifies. */
    assert_int_not_equal(signet_avb_image_verify(reb.p, reb.len, NULL, 0), SIGNET_OK);
    signet_avb_resign r;
    assert_int_equal(signet_avb_resign_begin(reb.p, reb.len, p2, p2l, "SHA512_RSA2048", &r),
                     SIGNET_OK);
    uint8_t sig[1024];
    size_t sl = sign_digest("k2.pem", &r, sig);
    assert_int_equal(signet_avb_resign_finish(&r, reb.p, reb.len, sig, sl, &out), SIGNET_OK);
    signet_avb_resign_free(&r);
    assert_int_equal(out.len, i3l);
    assert_memory_equal(out.p, img3, i3l);
    assert_int_equal(signet_avb_image_verify(out.p, out.len, p2, p2l), SIGNET_OK);
    sbw_free(&out);
    sbw_init(&out, 1 << 24);
    assert_int_equal(signet_avb_rebuild(data, dl, data, dl, &out), SIGNET_E_PARSE);
    assert_int_equal(signet_avb_rebuild(img, il, data, 0, &out), SIGNET_E_ARG);
    sbw_free(&out);
    sbw_free(&reb);
    free(img), free(data), free(img3), free(p2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verifies),
        cmocka_unit_test(resign_matches_direct_build),
        cmocka_unit_test(tamper_refused),
        cmocka_unit_test(malformed_refused),
        cmocka_unit_test(rebuild_matches_direct_build),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

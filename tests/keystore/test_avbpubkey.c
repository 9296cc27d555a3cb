/* The AVB public key format, checked against values computed independently:
 * n0inv by Newton iteration in 32-bit arithmetic, R^2 mod n by modular
 * exponentiation (2^(2*bits) mod n), the modulus from the key itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "signet/keystore.h"

static EVP_PKEY *rsa_key(unsigned bits, unsigned long e)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;
    BIGNUM *pe = BN_new();
    BN_set_word(pe, e);
    assert_int_equal(EVP_PKEY_keygen_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(c, (int)bits), 1);
    assert_int_equal(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, pe), 1);
    assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
    BN_free(pe);
    EVP_PKEY_CTX_free(c);
    return k;
}

static void rsa2048_matches_independent_values(void **state)
{
    EVP_PKEY *k = rsa_key(2048, 65537);
    sb_wr out;
    assert_int_equal(signet_avb_pubkey(k, &out), SIGNET_OK);
    assert_int_equal(out.len, 8 + 256 + 256);
    assert_int_equal(be32(out.p), 2048);

    BIGNUM *n = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    uint8_t nb[256];
    assert_int_equal(BN_bn2binpad(n, nb, sizeof nb), 256);
    assert_memory_equal(out.p + 8, nb, 256);

    /* n0inv * n[0] == -1 (mod 2^32), with n[0] the lowest 32-bit word. */
    uint32_t n0 = be32(nb + 252);
    uint32_t n0inv = be32(out.p + 4);
    assert_int_equal((uint32_t)(n0inv * n0), 0xffffffffu);
    /* And it is the value Newton's iteration gives for the inverse. */
    uint32_t inv = n0; /* correct to 3 bits for odd n0 */
    for (int i = 0; i < 5; i++)
        inv *= 2u - n0 * inv;
    assert_int_equal((uint32_t)(0u - inv), n0inv);

    /* R^2 mod n with R = 2^2048, as 2^4096 mod n. */
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *two = BN_new(), *ex = BN_new(), *rr = BN_new();
    BN_set_word(two, 2);
    BN_set_word(ex, 4096);
    assert_int_equal(BN_mod_exp(rr, two, ex, n, ctx), 1);
    uint8_t rrb[256];
    assert_int_equal(BN_bn2binpad(rr, rrb, sizeof rrb), 256);
    assert_memory_equal(out.p + 8 + 256, rrb, 256);

    BN_free(two);
    BN_free(ex);
    BN_free(rr);
    BN_free(n);
    BN_CTX_free(ctx);
    sbw_free(&out);
    EVP_PKEY_free(k);
}

/* A known answer: the synthetic 2048-bit modulus 2^2047 + 0xc0ffee01. */
static void known_n0inv(void **state)
{
    BIGNUM *n = BN_new();
    BN_set_bit(n, 2047);
    BN_add_word(n, 0xc0ffee01);
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *e = BN_new();
    BN_set_word(e, 65537);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
    OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;
    assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
    assert_int_equal(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, params), 1);
    sb_wr out;
    assert_int_equal(signet_avb_pubkey(k, &out), SIGNET_OK);
    /* 0xc0ffee01^-1 mod 2^32 = 0x08441201 (Python: pow(0xc0ffee01, -1, 2**32)),
     * so n0inv = 2^32 - 0x08441201. */
    assert_int_equal(be32(out.p), 2048);
    assert_int_equal(be32(out.p + 4), 0xf7bbedffu);
    assert_int_equal(out.p[8], 0x80); /* top bit of the modulus */
    assert_int_equal(be32(out.p + 8 + 252), 0xc0ffee01u);
    sbw_free(&out);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    BN_free(n);
    BN_free(e);
}

/* avbtool's encode_rsa_key formula, evaluated by Python on the same modulus. */
static void matches_avbtool_formula(void **state)
{
    EVP_PKEY *k = rsa_key(2048, 65537);
    sb_wr out;
    assert_int_equal(signet_avb_pubkey(k, &out), SIGNET_OK);
    BIGNUM *n = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
    char *nhex = BN_bn2hex(n);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import sys,struct\n"
             "n=int(sys.argv[1],16); bits=2048; b=2**32\n"
             "n0inv=b-pow(n,-1,b); r=2**n.bit_length(); rr=r*r%%n\n"
             "sys.stdout.write((struct.pack(\"!II\",bits,n0inv)+n.to_bytes(bits//8,\"big\")"
             "+rr.to_bytes(bits//8,\"big\")).hex())' %s",
             nhex);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char hex[2 * (8 + 512) + 2];
    size_t got = fread(hex, 1, sizeof hex - 1, p);
    assert_int_equal(pclose(p), 0);
    hex[got] = 0;
    sb_wr mine;
    sbw_init(&mine, 4096);
    assert_int_equal(hex_encode(&mine, out.p, out.len), SIGNET_OK);
    assert_int_equal(got, mine.len);
    assert_memory_equal(hex, mine.p, got);
    sbw_free(&mine);
    OPENSSL_free(nhex);
    BN_free(n);
    sbw_free(&out);
    EVP_PKEY_free(k);
}

static void refusals(void **state)
{
    sb_wr out;
    EVP_PKEY *e3 = rsa_key(2048, 3);
    assert_int_equal(signet_avb_pubkey(e3, &out), SIGNET_E_UNSUPPORTED);
    assert_non_null(strstr(signet_errmsg(), "65537"));
    EVP_PKEY_free(e3);
    EVP_PKEY *small = rsa_key(1024, 65537);
    assert_int_equal(signet_avb_pubkey(small, &out), SIGNET_E_UNSUPPORTED);
    assert_non_null(strstr(signet_errmsg(), "not 1024 bits"));
    EVP_PKEY_free(small);
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    assert_int_equal(signet_avb_pubkey(ec, &out), SIGNET_E_ARG);
    EVP_PKEY_free(ec);
    sbw_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rsa2048_matches_independent_values),
        cmocka_unit_test(known_n0inv),
        cmocka_unit_test(matches_avbtool_formula),
        cmocka_unit_test(refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

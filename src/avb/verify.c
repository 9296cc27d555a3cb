/* vbmeta signature verification (libavb avb_vbmeta_image_verify, avb_rsa.c): the
 * hash over header | auxiliary block must equal the stored hash, and the signature
 * must be PKCS#1 v1.5 over it with the RSA key embedded in the auxiliary block.
 * The embedded key is re-encoded and compared byte for byte, so a key whose n0inv
 * or R^2 disagree with its modulus (which libavb would compute with) is refused. */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "signet/avb.h"
#include "signet/keystore.h"

/* An EVP_PKEY from the AVB public key format. */
static signet_rc pkey_from_avb(const uint8_t *k, size_t len, EVP_PKEY **out)
{
    *out = NULL;
    if (len < 8)
        return signet_fail(SIGNET_E_PARSE, "AVB public key of %zu bytes is too short", len);
    uint32_t bits = be32(k);
    if ((bits != 2048 && bits != 4096 && bits != 8192) || len != 8 + 2 * (size_t)bits / 8)
        return signet_fail(SIGNET_E_PARSE, "AVB public key: %u bits in %zu bytes", bits, len);
    BIGNUM *n = BN_bin2bn(k + 8, (int)bits / 8, NULL), *e = BN_new();
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    signet_rc rc = SIGNET_OK;
    if (!n || !e || !b || !c || !BN_set_word(e, 65537) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e) ||
        !(params = OSSL_PARAM_BLD_to_param(b)) || EVP_PKEY_fromdata_init(c) != 1 ||
        EVP_PKEY_fromdata(c, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
        rc = signet_fail(SIGNET_E_PARSE, "AVB public key is not a usable RSA key");
    else if (BN_num_bits(n) != (int)bits)
        rc = signet_fail(SIGNET_E_PARSE, "AVB public key modulus is not %u bits", bits);
    if (rc == SIGNET_OK) {
        sb_wr again;
        rc = signet_avb_pubkey(*out, &again);
        if (rc == SIGNET_OK && (again.len != len || memcmp(again.p, k, len) != 0))
            rc = signet_fail(SIGNET_E_VERIFY, "AVB public key: n0inv or R^2 do not belong to "
                                              "its modulus");
        sbw_free(&again);
    }
    if (rc != SIGNET_OK) {
        EVP_PKEY_free(*out);
        *out = NULL;
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(b);
    EVP_PKEY_CTX_free(c);
    BN_free(n);
    BN_free(e);
    return rc;
}

signet_rc signet_avb_vbmeta_verify(const signet_avb_vbmeta *v, const uint8_t *expected_pubkey,
                                   size_t expected_len)
{
    const signet_avb_alg_info *a = signet_avb_alg_by_type(v->algorithm);
    if (!a || a->type == SIGNET_AVB_NONE)
        return signet_fail(SIGNET_E_VERIFY, "vbmeta is not signed (algorithm NONE)");
    if (expected_pubkey && (v->pubkey_size != expected_len ||
                            CRYPTO_memcmp(v->pubkey, expected_pubkey, expected_len) != 0))
        return signet_fail(SIGNET_E_VERIFY, "vbmeta is signed by another key than the expected "
                                            "one");
    const EVP_MD *md = a->md_nid == NID_sha256 ? EVP_sha256() : EVP_sha512();
    uint8_t hash[64];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, md, NULL) &&
             EVP_DigestUpdate(c, v->header, SIGNET_AVB_HEADER_SIZE) &&
             EVP_DigestUpdate(c, v->aux, (size_t)v->aux_size) && EVP_DigestFinal_ex(c, hash, NULL);
    EVP_MD_CTX_free(c);
    if (!ok)
        return signet_fail(SIGNET_E_CRYPTO, "vbmeta hash failed");
    if (CRYPTO_memcmp(hash, v->hash, a->hash_len) != 0)
        return signet_fail(SIGNET_E_VERIFY, "vbmeta hash does not match its header and "
                                            "auxiliary block (modified after signing)");
    EVP_PKEY *pk;
    signet_rc rc = pkey_from_avb(v->pubkey, (size_t)v->pubkey_size, &pk);
    if (rc != SIGNET_OK)
        return rc;
    if ((size_t)EVP_PKEY_get_size(pk) != a->sig_len) {
        EVP_PKEY_free(pk);
        return signet_fail(SIGNET_E_VERIFY, "vbmeta says %s but embeds a %d-bit key", a->name,
                           EVP_PKEY_get_bits(pk));
    }
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
    ok = pc && EVP_PKEY_verify_init(pc) == 1 &&
         EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
         EVP_PKEY_CTX_set_signature_md(pc, md) == 1 &&
         EVP_PKEY_verify(pc, v->sig, a->sig_len, hash, a->hash_len) == 1;
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pk);
    return ok ? SIGNET_OK
              : signet_fail(SIGNET_E_VERIFY, "vbmeta signature does not verify with its key");
}

signet_rc signet_avb_image_verify(const uint8_t *image, size_t len,
                                  const uint8_t *expected_pubkey, size_t expected_len)
{
    signet_avb_footer f;
    signet_avb_vbmeta v;
    signet_avb_hashtree h;
    signet_rc rc = signet_avb_footer_parse(image, len, &f);
    if (rc == SIGNET_OK)
        rc = signet_avb_vbmeta_parse(image + f.vbmeta_offset, (size_t)f.vbmeta_size, &v);
    if (rc == SIGNET_OK)
        rc = signet_avb_vbmeta_verify(&v, expected_pubkey, expected_len);
    if (rc == SIGNET_OK)
        rc = signet_avb_find_hashtree(&v, &h);
    if (rc == SIGNET_OK && h.image_size > f.vbmeta_offset)
        rc = signet_fail(SIGNET_E_PARSE, "hash tree data overlaps the vbmeta");
    if (rc == SIGNET_OK && h.tree_size == 0)
        rc = signet_fail(SIGNET_E_VERIFY, "the image has no hash tree (built with --no_hashtree)");
    if (rc == SIGNET_OK)
        rc = signet_avb_hashtree_verify(image, (size_t)f.vbmeta_offset, &h);
    return rc;
}

/* Moving a key of the key store onto a PKCS#11 token without re-keying
 * (backend.h, docs/migration.md).  The YubiHSM never lets a key out except under
 * its wrap key, so the wrapped copy is opened on the ceremony machine with the wrap
 * key the custodians' shares rebuild; the private key exists in plaintext only in
 * locked memory, and reaches the token through C_UnwrapKey (many FIPS-mode tokens
 * refuse plaintext object creation):
 *
 *   token: generate an RSA-2048 transport key pair (session objects, the private
 *          half unwrap-only and never extractable)
 *   host:  a fresh AES-256 key K, encrypted to the transport public key (OAEP)
 *   token: C_UnwrapKey(OAEP) -> K as a session object
 *   host:  PKCS#8 of the private key wrapped under K (AES key wrap with padding)
 *   token: C_UnwrapKey(AES_KEY_WRAP_PAD) -> the private key, labelled, sensitive,
 *          extractable only under a trusted wrapping key
 *
 * then the public key object is created and the token's public key compared with
 * the key store's.  RSA, EC (the YubiHSM's curves OpenSSL knows) and Ed25519 keys
 * (an Ed25519 key only from a wrapped copy that carries its seed, format 1). */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "signet/proto.h"
#include "signet/secmem.h"
#include "p11_internal.h"

/* The RSA private key of a wrapped object's body: p | q | dp | dq | qinv (k/2 each)
 * | n (k), as the YubiHSM exports it; e = 65537. */
static signet_rc rsa_from_body(const signet_keymap_entry *e, const uint8_t *b, size_t len,
                               EVP_PKEY **out)
{
    size_t k = (size_t)yh_algo_key_bytes(e->algorithm), h = k / 2;
    if (len != 5 * h + k)
        return signet_fail(SIGNET_E_PARSE, "the wrapped copy of '%s' holds %zu key bytes, an %s "
                                           "key has %zu", e->name, len, yh_algo_name(e->algorithm),
                           5 * h + k);
    BN_CTX *ctx = BN_CTX_secure_new();
    BIGNUM *p = BN_secure_new(), *q = BN_secure_new(), *dp = BN_secure_new(),
           *dq = BN_secure_new(), *qi = BN_secure_new(), *n = BN_new(), *n2 = BN_new(),
           *ex = BN_new(), *d = BN_secure_new(), *p1 = BN_secure_new(), *q1 = BN_secure_new(),
           *phi = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    signet_rc rc = signet_fail(SIGNET_E_CRYPTO, "the wrapped copy of '%s' is not a consistent RSA "
                                                "key", e->name);
    *out = NULL;
    if (!ctx || !p || !q || !dp || !dq || !qi || !n || !n2 || !ex || !d || !p1 || !q1 || !phi ||
        !bld || !BN_bin2bn(b, (int)h, p) || !BN_bin2bn(b + h, (int)h, q) ||
        !BN_bin2bn(b + 2 * h, (int)h, dp) || !BN_bin2bn(b + 3 * h, (int)h, dq) ||
        !BN_bin2bn(b + 4 * h, (int)h, qi) || !BN_bin2bn(b + 5 * h, (int)k, n) ||
        !BN_set_word(ex, 65537) || !BN_mul(n2, p, q, ctx) || BN_cmp(n, n2) != 0 ||
        !BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()) ||
        !BN_mul(phi, p1, q1, ctx) || !BN_mod_inverse(d, ex, phi, ctx))
        goto done;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, ex) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qi) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
        EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) != 1)
        goto done;
    signet_err_clear();
    rc = SIGNET_OK;
done:
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(p);
    BN_clear_free(q);
    BN_clear_free(dp);
    BN_clear_free(dq);
    BN_clear_free(qi);
    BN_free(n);
    BN_free(n2);
    BN_free(ex);
    BN_clear_free(d);
    BN_clear_free(p1);
    BN_clear_free(q1);
    BN_clear_free(phi);
    BN_CTX_free(ctx);
    return rc;
}

/* An EC key's body: d | X | Y (the field length each), as the YubiHSM exports
 * it.  The public point is derived from d and must be the one carried. */
static signet_rc ec_from_body(const signet_keymap_entry *e, const uint8_t *b, size_t len,
                              EVP_PKEY **out)
{
    size_t k = (size_t)yh_algo_key_bytes(e->algorithm);
    int nid = yh_algo_curve_nid(e->algorithm);
    const char *group = nid ? OBJ_nid2sn(nid) : NULL;
    if (!group || len != 3 * k)
        return signet_fail(SIGNET_E_PARSE, "the wrapped copy of '%s' holds %zu key bytes, an %s "
                                           "key has %zu", e->name, len, yh_algo_name(e->algorithm),
                           3 * k);
    uint8_t pt[1 + 2 * 66];
    pt[0] = 0x04; /* uncompressed */
    memcpy(pt + 1, b + k, 2 * k);
    BIGNUM *d = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL, *check = NULL;
    signet_rc rc = SIGNET_OK;
    *out = NULL;
    if (!d || !bld || !BN_bin2bn(b, (int)k, d) ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * k) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
        EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, out, EVP_PKEY_KEYPAIR, params) != 1 ||
        !(check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL)) ||
        EVP_PKEY_pairwise_check(check) != 1) {
        EVP_PKEY_free(*out);
        *out = NULL;
        rc = signet_fail(SIGNET_E_CRYPTO, "the wrapped copy of '%s' is not a consistent %s key",
                         e->name, yh_algo_name(e->algorithm));
    } else {
        signet_err_clear();
    }
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return rc;
}

/* An Ed25519 key's body: the expanded key (scalar | prefix | public, 96 bytes)
 * and, in format 1, the 32-byte seed.  PKCS#8 (RFC 8410) holds the seed: a copy
 * exported without it cannot move. */
static signet_rc ed25519_from_body(const signet_keymap_entry *e, const uint8_t *b, size_t len,
                                   EVP_PKEY **out)
{
    *out = NULL;
    if (len == 96)
        return signet_fail(SIGNET_E_UNSUPPORTED,
                           "the wrapped copy of Ed25519 key '%s' carries no seed (exported in the "
                           "legacy format 0), and a token takes an Ed25519 key only as its seed: "
                           "export it again with the seed (format 1) on the YubiHSM, or make a "
                           "new key on the token", e->name);
    if (len != 128)
        return signet_fail(SIGNET_E_PARSE, "the wrapped copy of '%s' holds %zu key bytes, an "
                                           "Ed25519 key with its seed has 128", e->name, len);
    uint8_t pub[32];
    size_t n = sizeof pub;
    *out = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, b + 96, 32);
    if (!*out || EVP_PKEY_get_raw_public_key(*out, pub, &n) != 1 || n != 32 ||
        memcmp(pub, b + 64, 32) != 0) {
        EVP_PKEY_free(*out);
        *out = NULL;
        return signet_fail(SIGNET_E_CRYPTO, "the seed in the wrapped copy of '%s' is not the seed "
                                            "of its public key", e->name);
    }
    return SIGNET_OK;
}

/* Opens the wrapped copy of e under the wrap key and checks its header. */
static signet_rc open_wrapped(signet_keystore *ks, const signet_keymap_entry *e,
                              const uint8_t *wk, size_t wk_len, EVP_PKEY **out)
{
    sb_wr blob, pt;
    sbw_init(&blob, 4096);
    sbw_init_secure(&pt, 4096);
    signet_rc rc = signet_keystore_wrapped(ks, e->name, &blob);
    if (rc == SIGNET_OK && (rc = yh_ccm_open(wk, wk_len, blob.p, blob.len, &pt)) != SIGNET_OK)
        rc = signet_fail(SIGNET_E_VERIFY, "the wrapped copy of '%s' does not open under this wrap "
                                          "key: wrong shares, or a damaged %s.wrapped", e->name,
                         e->name);
    yh_wrapped w;
    if (rc == SIGNET_OK && yh_wrapped_parse(pt.p, pt.len, &w) != SIGNET_OK)
        rc = signet_fail(SIGNET_E_PARSE, "the wrapped copy of '%s' is malformed", e->name);
    if (rc == SIGNET_OK &&
        (w.type != YH_TYPE_ASYMMETRIC_KEY || w.algorithm != e->algorithm || w.id != e->id))
        rc = signet_fail(SIGNET_E_VERIFY, "the wrapped copy of '%s' holds object 0x%04x (%s), not "
                                          "the key map's 0x%04x (%s)", e->name, w.id,
                         yh_algo_name(w.algorithm), e->id, yh_algo_name(e->algorithm));
    if (rc == SIGNET_OK)
        rc = yh_algo_is_rsa(e->algorithm) ? rsa_from_body(e, w.body, w.body_len, out)
             : yh_algo_is_ec(e->algorithm) ? ec_from_body(e, w.body, w.body_len, out)
             : e->algorithm == YH_ALGO_EC_ED25519
                 ? ed25519_from_body(e, w.body, w.body_len, out)
                 : signet_fail(SIGNET_E_UNSUPPORTED, "key '%s' is %s, which does not move onto a "
                                                     "token", e->name, yh_algo_name(e->algorithm));
    sbw_free(&blob);
    sbw_free(&pt);
    return rc;
}

static signet_rc destroy(p11_dev *p, CK_OBJECT_HANDLE h)
{
    CK_RV rv = h == CK_INVALID_HANDLE ? CKR_OK : p->f->C_DestroyObject(p->sess, h);
    return rv == CKR_OK ? SIGNET_OK : p11_fail(rv, "destroying a transport key");
}

/* The transport: an RSA key pair on the token, K unwrapped into it. */
static signet_rc transport_key(p11_dev *p, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv,
                               CK_OBJECT_HANDLE *aes, uint8_t *k32)
{
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    CK_ULONG bits = 2048;
    CK_BYTE e[] = {1, 0, 1};
    CK_ATTRIBUTE pubt[] = {{CKA_TOKEN, &f, 1}, {CKA_ENCRYPT, &t, 1}, {CKA_WRAP, &t, 1},
                           {CKA_MODULUS_BITS, &bits, sizeof bits},
                           {CKA_PUBLIC_EXPONENT, e, sizeof e}};
    CK_ATTRIBUTE privt[] = {{CKA_TOKEN, &f, 1}, {CKA_PRIVATE, &t, 1}, {CKA_SENSITIVE, &t, 1},
                            {CKA_EXTRACTABLE, &f, 1}, {CKA_UNWRAP, &t, 1}, {CKA_DECRYPT, &f, 1},
                            {CKA_SIGN, &f, 1}};
    CK_MECHANISM gen = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    CK_RV rv = p->f->C_GenerateKeyPair(p->sess, &gen, pubt, 5, privt, 7, pub, priv);
    if (rv != CKR_OK)
        return p11_fail(rv, "generating the transport key on the token");
    signet_keymap_entry te = {.name = "transport", .algorithm = YH_ALGO_RSA_2048};
    EVP_PKEY *tp = NULL;
    signet_rc rc = p11_public_key(p, &te, *pub, &tp);
    uint8_t enc[256];
    size_t enc_len = sizeof enc;
    EVP_PKEY_CTX *c = rc ? NULL : EVP_PKEY_CTX_new(tp, NULL);
    if (rc == SIGNET_OK &&
        (RAND_priv_bytes(k32, 32) != 1 || !c || EVP_PKEY_encrypt_init(c) != 1 ||
         EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha1()) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha1()) != 1 ||
         EVP_PKEY_encrypt(c, enc, &enc_len, k32, 32) != 1))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encrypt to the transport key");
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(tp);
    if (rc)
        return rc;
    /* OAEP with SHA-1: the parameters every token (SoftHSM2 too) unwraps with. */
    CK_RSA_PKCS_OAEP_PARAMS op = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM oaep = {CKM_RSA_PKCS_OAEP, &op, sizeof op};
    CK_OBJECT_CLASS sec = CKO_SECRET_KEY;
    CK_KEY_TYPE aes_t = CKK_AES;
    CK_ATTRIBUTE kt[] = {{CKA_CLASS, &sec, sizeof sec}, {CKA_KEY_TYPE, &aes_t, sizeof aes_t},
                         {CKA_TOKEN, &f, 1}, {CKA_UNWRAP, &t, 1}, {CKA_SENSITIVE, &t, 1},
                         {CKA_EXTRACTABLE, &f, 1}};
    rv = p->f->C_UnwrapKey(p->sess, &oaep, *priv, enc, enc_len, kt, 6, aes);
    return rv == CKR_OK ? SIGNET_OK : p11_fail(rv, "unwrapping the transport AES key on the token");
}

/* PKCS#8 of pk wrapped under K with AES key wrap with padding (RFC 5649). */
static signet_rc wrap_pkcs8(EVP_PKEY *pk, const uint8_t *k32, sb_wr *out)
{
    /* OpenSSL clears the PKCS#8 structure's key bytes when it is freed. */
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
    unsigned char *der = NULL;
    int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, NULL) : -1;
    signet_rc rc = SIGNET_OK;
    if (n <= 0 || !p8 || !(der = smem_alloc((size_t)n)))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the private key as PKCS#8");
    unsigned char *q = der;
    if (rc == SIGNET_OK && i2d_PKCS8_PRIV_KEY_INFO(p8, &q) != n)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the private key as PKCS#8");
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_CIPHER_CTX *c = rc ? NULL : EVP_CIPHER_CTX_new();
    uint8_t *dst = NULL;
    int l1 = 0, l2 = 0;
    if (rc == SIGNET_OK) {
        if (!c || sbw_reserve(out, (size_t)n + 16, &dst) != SIGNET_OK)
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    if (rc == SIGNET_OK) {
        EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
        if (EVP_EncryptInit_ex(c, EVP_aes_256_wrap_pad(), NULL, k32, NULL) != 1 ||
            EVP_EncryptUpdate(c, dst, &l1, der, n) != 1 || EVP_EncryptFinal_ex(c, dst + l1, &l2) != 1)
            rc = signet_fail(SIGNET_E_CRYPTO, "cannot wrap the private key for the token");
        else
            out->len -= (size_t)n + 16 - (size_t)(l1 + l2);
    }
    EVP_CIPHER_CTX_free(c);
    if (der) {
        smem_wipe(der, (size_t)n);
        smem_free(der);
    }
    return rc;
}

signet_rc p11_unwrap_private(p11_dev *p, EVP_PKEY *pk, CK_ATTRIBUTE *tmpl, CK_ULONG n,
                             CK_OBJECT_HANDLE *out)
{
    CK_OBJECT_HANDLE tpub = CK_INVALID_HANDLE, tpriv = CK_INVALID_HANDLE, kh = CK_INVALID_HANDLE;
    uint8_t *k32 = smem_alloc(32);
    sb_wr wrapped;
    sbw_init_secure(&wrapped, 4096);
    signet_rc rc = k32 ? transport_key(p, &tpub, &tpriv, &kh, k32)
                       : signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    if (rc == SIGNET_OK)
        rc = wrap_pkcs8(pk, k32, &wrapped);
    smem_free(k32);
    if (rc == SIGNET_OK) {
        CK_MECHANISM m = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
        CK_RV rv = p->f->C_UnwrapKey(p->sess, &m, kh, wrapped.p, wrapped.len, tmpl, n, out);
        if (rv != CKR_OK)
            rc = p11_fail(rv, "unwrapping the key onto the token");
    }
    sbw_free(&wrapped);
    signet_rc drc = destroy(p, kh);
    if (drc == SIGNET_OK)
        drc = destroy(p, tpriv);
    if (drc == SIGNET_OK)
        drc = destroy(p, tpub);
    return rc ? rc : drc;
}

/* The key type and the public key object beside the private one: RSA modulus and
 * exponent, EC / Ed25519 curve and point. */
signet_rc p11_put_public(p11_dev *p, const signet_keymap_entry *e, EVP_PKEY *pk)
{
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE kt = yh_algo_is_rsa(e->algorithm) ? CKK_RSA
                     : e->algorithm == YH_ALGO_EC_ED25519 ? CKK_EC_EDWARDS
                                                          : CKK_EC;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    uint8_t id[2] = {(uint8_t)(e->id >> 8), (uint8_t)e->id};
    CK_ATTRIBUTE a[11] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                         {CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &f, 1}, {CKA_VERIFY, &t, 1},
                         {CKA_LABEL, (void *)e->name, strlen(e->name)}, {CKA_ID, id, 2},
                         {CKA_ENCRYPT, &f, 1}, {CKA_WRAP, &f, 1}};
    sb_wr v1, v2;
    sbw_init(&v1, 1024);
    sbw_init(&v2, 160);
    signet_rc rc = SIGNET_OK;
    if (kt == CKK_RSA) {
        BIGNUM *n = NULL, *ex = NULL;
        uint8_t *dst;
        if (EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
            EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &ex) != 1 ||
            sbw_reserve(&v1, (size_t)BN_num_bytes(n), &dst) != SIGNET_OK ||
            BN_bn2bin(n, dst) != BN_num_bytes(n) ||
            sbw_reserve(&v2, (size_t)BN_num_bytes(ex), &dst) != SIGNET_OK ||
            BN_bn2bin(ex, dst) != BN_num_bytes(ex))
            rc = signet_fail(SIGNET_E_CRYPTO, "cannot read the public key of '%s'", e->name);
        BN_free(n);
        BN_free(ex);
        a[9] = (CK_ATTRIBUTE){CKA_MODULUS, v1.p, v1.len};
        a[10] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, v2.p, v2.len};
    } else {
        rc = p11_ec_params(e->algorithm, &v1);
        if (rc == SIGNET_OK)
            rc = p11_ec_point(pk, &v2);
        a[9] = (CK_ATTRIBUTE){CKA_EC_PARAMS, v1.p, v1.len};
        a[10] = (CK_ATTRIBUTE){CKA_EC_POINT, v2.p, v2.len};
    }
    CK_OBJECT_HANDLE h;
    CK_RV rv = rc ? CKR_OK : p->f->C_CreateObject(p->sess, a, 11, &h);
    if (rc == SIGNET_OK && rv != CKR_OK)
        rc = p11_fail(rv, "creating the public key object");
    sbw_free(&v1);
    sbw_free(&v2);
    return rc;
}

/* The token's key labelled e->name, compared with `want`. */
static signet_rc same_public(p11_dev *p, const signet_keymap_entry *e, CK_OBJECT_HANDLE h,
                             EVP_PKEY *want)
{
    EVP_PKEY *tok = NULL;
    signet_rc rc = p11_public_key(p, e, h, &tok);
    if (rc == SIGNET_OK && EVP_PKEY_eq(tok, want) != 1)
        rc = signet_fail(SIGNET_E_VERIFY, "the token's key labelled '%s' is not the expected key",
                         e->name);
    EVP_PKEY_free(tok);
    return rc;
}

/* Removes what an import left under e's label (best effort: the first error stays). */
static void remove_label(p11_dev *p, const signet_keymap_entry *e)
{
    CK_OBJECT_HANDLE h;
    while (p11_find(p, CKO_PUBLIC_KEY, e->name, &h) == SIGNET_OK && destroy(p, h) == SIGNET_OK)
        ;
    while (p11_find(p, CKO_PRIVATE_KEY, e->name, &h) == SIGNET_OK && destroy(p, h) == SIGNET_OK)
        ;
}

/* The private key pk onto the token as e (e->name the label, e->id the CKA_ID). */
static signet_rc import_pkey(p11_dev *p, const signet_keymap_entry *e, EVP_PKEY *pk)
{
    CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = yh_algo_is_rsa(e->algorithm) ? CKK_RSA
                     : e->algorithm == YH_ALGO_EC_ED25519 ? CKK_EC_EDWARDS
                                                          : CKK_EC;
    CK_BBOOL t = CK_TRUE, f = CK_FALSE;
    uint8_t id[2] = {(uint8_t)(e->id >> 8), (uint8_t)e->id};
    /* A signing key only: no decryption, unwrapping or derivation. */
    CK_ATTRIBUTE a[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &kt, sizeof kt},
                        {CKA_TOKEN, &t, 1}, {CKA_PRIVATE, &t, 1}, {CKA_SENSITIVE, &t, 1},
                        {CKA_SIGN, &t, 1}, {CKA_EXTRACTABLE, &t, 1},
                        {CKA_WRAP_WITH_TRUSTED, &t, 1},
                        {CKA_LABEL, (void *)e->name, strlen(e->name)}, {CKA_ID, id, 2},
                        {CKA_DECRYPT, &f, 1}, {CKA_UNWRAP, &f, 1}, {CKA_DERIVE, &f, 1}};
    signet_rc rc = p11_unwrap_private(p, pk, a, sizeof a / sizeof a[0], &priv);
    if (rc && kt == CKK_EC_EDWARDS)
        rc = signet_wrap(rc, "token '%s' does not unwrap Ed25519 keys (SoftHSM2 2.6 cannot), and "
                             "signet moves keys only by unwrapping: on this token, make a new "
                             "Ed25519 key instead (`signet keys generate`)", p->token);
    if (rc == SIGNET_OK)
        rc = p11_put_public(p, e, pk);
    if (rc == SIGNET_OK)
        rc = same_public(p, e, priv, pk);
    if (rc && priv != CK_INVALID_HANDLE)
        remove_label(p, e); /* never leave a wrong or half-made key under the name */
    return rc;
}

signet_rc signet_pkcs11_import_key(signet_device *d, const char *label, uint16_t id, EVP_PKEY *key)
{
    if (strcmp(d->ops->kind, "pkcs11") != 0)
        return signet_fail(SIGNET_E_ARG, "keys move onto a PKCS#11 token (backend = pkcs11)");
    signet_keymap_entry e = {.id = id};
    if (strlen(label) >= sizeof e.name)
        return signet_fail(SIGNET_E_ARG, "the label '%s' is too long", label);
    snprintf(e.name, sizeof e.name, "%s", label);
    signet_rc rc = signet_key_algorithm_of(key, &e.algorithm);
    if (rc)
        return rc;
    p11_dev *p = d->impl;
    CK_OBJECT_HANDLE have;
    if ((rc = p11_find(p, CKO_PRIVATE_KEY, label, &have)) == SIGNET_OK)
        return signet_fail(SIGNET_E_STATE, "token '%s' already holds a key labelled '%s'", p->token,
                           label);
    if (rc != SIGNET_E_NOTFOUND)
        return rc;
    signet_err_clear();
    rc = import_pkey(p, &e, key);
    return rc ? signet_wrap(rc, "moving '%s' onto token '%s'", label, p->token) : SIGNET_OK;
}

signet_rc signet_pkcs11_import_wrapped(signet_device *d, signet_keystore *ks,
                                       const signet_keymap_entry *e, const uint8_t *wrap_key,
                                       size_t wrap_len, bool *existed)
{
    *existed = false;
    if (strcmp(d->ops->kind, "pkcs11") != 0)
        return signet_fail(SIGNET_E_ARG, "keys move onto a PKCS#11 token (backend = pkcs11)");
    p11_dev *p = d->impl;
    EVP_PKEY *want = NULL;
    signet_rc rc = signet_keystore_public_key(ks, e->name, &want);
    CK_OBJECT_HANDLE have;
    if (rc == SIGNET_OK && (rc = p11_find(p, CKO_PRIVATE_KEY, e->name, &have)) == SIGNET_OK) {
        rc = same_public(p, e, have, want);
        *existed = rc == SIGNET_OK;
        EVP_PKEY_free(want);
        return rc ? signet_wrap(rc, "token '%s' already holds a different '%s'", p->token, e->name)
                  : SIGNET_OK;
    }
    if (rc != SIGNET_E_NOTFOUND) {
        EVP_PKEY_free(want);
        return rc;
    }
    signet_err_clear();
    EVP_PKEY *pk = NULL;
    rc = open_wrapped(ks, e, wrap_key, wrap_len, &pk);
    /* The key store's public key is what the token's copy is compared with. */
    if (rc == SIGNET_OK && EVP_PKEY_eq(pk, want) != 1)
        rc = signet_fail(SIGNET_E_VERIFY, "the wrapped copy of '%s' is not the key of %s.pub.pem",
                         e->name, e->name);
    if (rc == SIGNET_OK)
        rc = import_pkey(p, e, pk);
    EVP_PKEY_free(pk);
    EVP_PKEY_free(want);
    return rc ? signet_wrap(rc, "moving '%s' onto token '%s'", e->name, p->token) : SIGNET_OK;
}

/* The module's pure pieces, without a device: the PIN form, DigestInfo recognition,
 * ECDSA DER to raw r|s, PSS parameters, and the objects and attributes built from a
 * key store made on disk by this test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "p11.h"
#include "signet/secmem.h"

/* The module's warning channel (module.c is not linked here). */
void p11_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- PIN --------------------------------------------------------------------------------- */
static void pin_form(void **state)
{
    uint16_t id = 0;
    char *pw = NULL;
    assert_int_equal(p11_pin_parse((const uint8_t *)"0001password", 12, &id, &pw), SIGNET_OK);
    assert_int_equal(id, 1);
    assert_string_equal(pw, "password");
    smem_free(pw);
    assert_int_equal(p11_pin_parse((const uint8_t *)"ABcdx", 5, &id, &pw), SIGNET_OK);
    assert_int_equal(id, 0xabcd);
    assert_string_equal(pw, "x");
    smem_free(pw);
    /* Not NUL-terminated: only ulPinLen bytes count. */
    assert_int_equal(p11_pin_parse((const uint8_t *)"0002pw-and-more", 6, &id, &pw), SIGNET_OK);
    assert_int_equal(id, 2);
    assert_string_equal(pw, "pw");
    smem_free(pw);

    const char *bad[] = {"0001", "001", "zz01secretpw", "0x01secretpw", "0000secretpw", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pw = (char *)1;
        assert_int_equal(p11_pin_parse((const uint8_t *)bad[i], strlen(bad[i]), &id, &pw),
                         SIGNET_E_ARG);
        assert_null(pw);
        assert_null(strstr(signet_errmsg(), "secretpw")); /* never the password */
        assert_non_null(strstr(signet_errmsg(), "0001password")); /* says the form */
    }
    assert_int_equal(p11_pin_parse((const uint8_t *)"0001pa\0ss", 9, &id, &pw), SIGNET_E_ARG);
    uint8_t longpin[P11_PIN_MAX + 1];
    memset(longpin, 'a', sizeof longpin);
    memcpy(longpin, "0001", 4);
    assert_int_equal(p11_pin_parse(longpin, sizeof longpin, &id, &pw), SIGNET_E_ARG);
    assert_int_equal(p11_pin_parse(longpin, sizeof longpin - 1, &id, &pw), SIGNET_OK);
    smem_free(pw);
    assert_int_equal(p11_pin_parse(NULL, 0, &id, &pw), SIGNET_E_ARG);
}

/* ---- DigestInfo -------------------------------------------------------------------------- */
static void digestinfo(void **state)
{
    const char *names[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
    size_t lens[] = {20, 32, 48, 64};
    for (int i = 0; i < 4; i++) {
        size_t plen = 0;
        const uint8_t *prefix = p11_digestinfo_prefix(names[i], &plen);
        assert_non_null(prefix);
        /* The prefix is exactly what OpenSSL encodes for that digest. */
        X509_SIG *sig = X509_SIG_new();
        X509_ALGOR *alg;
        ASN1_OCTET_STRING *dig;
        X509_SIG_getm(sig, &alg, &dig);
        const EVP_MD *md = EVP_get_digestbyname(names[i]);
        X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL);
        uint8_t zero[64] = {0};
        ASN1_OCTET_STRING_set(dig, zero, (int)lens[i]);
        uint8_t *der = NULL;
        int n = i2d_X509_SIG(sig, &der);
        X509_SIG_free(sig);
        assert_int_equal((size_t)n, plen + lens[i]);
        assert_memory_equal(der, prefix, plen);
        assert_true(p11_is_digestinfo(der, (size_t)n));
        assert_false(p11_is_digestinfo(der, (size_t)n - 1));
        assert_false(p11_is_digestinfo(der + plen, lens[i])); /* a bare digest */
        der[8] ^= 1; /* another OID */
        assert_false(p11_is_digestinfo(der, (size_t)n));
        OPENSSL_free(der);
    }
    size_t plen;
    assert_null(p11_digestinfo_prefix("MD5", &plen));
}

/* Every hashing mechanism names a hash the module knows; an unknown name gives no
 * digest at all (it once fell back to SHA-512). */
static void digest_names_fail_closed(void **state)
{
    for (size_t i = 0; i < p11_mech_count(); i++) {
        const struct p11_mech_desc *d = p11_mech_at(i);
        if (!d->digest)
            continue;
        const EVP_MD *md = p11_digest_md(d->digest);
        assert_non_null(md);
        assert_ptr_equal(md, EVP_get_digestbyname(d->digest));
    }
    assert_ptr_equal(p11_digest_md("SHA384"), EVP_sha384());
    assert_null(p11_digest_md("SHA3-256"));
    assert_null(p11_digest_md("sha256")); /* the table's spelling only */
    assert_null(p11_digest_md(""));
    assert_null(p11_digest_md(NULL));
}

/* ---- ECDSA signature form ----------------------------------------------------------------- */
static void check_curve(const char *curve, size_t field)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    assert_non_null(pk);
    /* Enough signatures that r and s with and without a leading 0x00 byte occur. */
    for (int i = 0; i < 40; i++) {
        uint8_t dgst[32] = {(uint8_t)i}, der[160], raw[160];
        size_t dlen = sizeof der;
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pk, NULL);
        assert_int_equal(EVP_PKEY_sign_init(c), 1);
        assert_int_equal(EVP_PKEY_sign(c, der, &dlen, dgst, sizeof dgst), 1);
        EVP_PKEY_CTX_free(c);
        assert_int_equal(p11_ecdsa_der_to_raw(der, dlen, field, raw), SIGNET_OK);
        const uint8_t *p = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
        uint8_t r[80], s[80];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), r, (int)field);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), s, (int)field);
        ECDSA_SIG_free(es);
        assert_memory_equal(raw, r, field);
        assert_memory_equal(raw + field, s, field);
        /* Malformed forms are refused. */
        assert_int_equal(p11_ecdsa_der_to_raw(der, dlen - 1, field, raw), SIGNET_E_PARSE);
        der[dlen] = 0;
        assert_int_equal(p11_ecdsa_der_to_raw(der, dlen + 1, field, raw), SIGNET_E_PARSE);
        assert_int_equal(p11_ecdsa_der_to_raw(der, dlen, field - 8, raw), SIGNET_E_PARSE);
        der[0] = 0x31;
        assert_int_equal(p11_ecdsa_der_to_raw(der, dlen, field, raw), SIGNET_E_PARSE);
    }
    EVP_PKEY_free(pk);
}

static void ecdsa_der_to_raw(void **state)
{
    check_curve("P-256", 32);
    check_curve("P-384", 48);
    check_curve("P-521", 66); /* a long-form DER length */
    uint8_t raw[64];
    static const uint8_t negative[] = {0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01};
    assert_int_equal(p11_ecdsa_der_to_raw(negative, sizeof negative, 32, raw), SIGNET_E_PARSE);
    static const uint8_t padded[] = {0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01};
    assert_int_equal(p11_ecdsa_der_to_raw(padded, sizeof padded, 32, raw), SIGNET_E_PARSE);
    static const uint8_t ok[] = {0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07};
    assert_int_equal(p11_ecdsa_der_to_raw(ok, sizeof ok, 32, raw), SIGNET_OK);
    assert_int_equal(raw[31], 5);
    assert_int_equal(raw[63], 7);
    assert_int_equal(raw[0] | raw[32], 0);
    assert_int_equal(p11_ecdsa_der_to_raw(ok, 1, 32, raw), SIGNET_E_PARSE);
}

/* ---- PSS parameters ------------------------------------------------------------------------ */
static void pss_params(void **state)
{
    const struct p11_mech_desc *raw = p11_mech_lookup(CKM_RSA_PKCS_PSS);
    const struct p11_mech_desc *s256 = p11_mech_lookup(CKM_SHA256_RSA_PKCS_PSS);
    assert_non_null(raw);
    assert_non_null(s256);
    CK_RSA_PKCS_PSS_PARAMS pp = {CKM_SHA384, CKG_MGF1_SHA1, 20};
    CK_MECHANISM m = {CKM_RSA_PKCS_PSS, &pp, sizeof pp};
    size_t hl;
    uint8_t mgf;
    uint16_t salt;
    assert_int_equal(p11_pss_params(&m, raw, &hl, &mgf, &salt), CKR_OK);
    assert_int_equal(hl, 48);
    assert_int_equal(mgf, YH_ALGO_MGF1_SHA1);
    assert_int_equal(salt, 20);
    /* The hashing variant must name its own hash. */
    assert_int_equal(p11_pss_params(&m, s256, &hl, &mgf, &salt), CKR_MECHANISM_PARAM_INVALID);
    pp.hashAlg = CKM_SHA256;
    assert_int_equal(p11_pss_params(&m, s256, &hl, &mgf, &salt), CKR_OK);
    pp.mgf = CKG_MGF1_SHA224;
    assert_int_equal(p11_pss_params(&m, s256, &hl, &mgf, &salt), CKR_MECHANISM_PARAM_INVALID);
    pp.mgf = CKG_MGF1_SHA512;
    pp.sLen = 0x10000;
    assert_int_equal(p11_pss_params(&m, s256, &hl, &mgf, &salt), CKR_MECHANISM_PARAM_INVALID);
    pp.sLen = 0;
    m.ulParameterLen = sizeof pp - 1;
    assert_int_equal(p11_pss_params(&m, s256, &hl, &mgf, &salt), CKR_MECHANISM_PARAM_INVALID);
    m.pParameter = NULL;
    m.ulParameterLen = 0;
    assert_int_equal(p11_pss_params(&m, s256, &hl, &mgf, &salt), CKR_MECHANISM_PARAM_INVALID);
    /* Every mechanism is found by type, and every key type has some. */
    CK_MECHANISM_TYPE mt[32];
    assert_int_equal(p11_mechs_for_key(CKK_RSA, mt, 32), 10);
    assert_int_equal(p11_mechs_for_key(CKK_EC, mt, 32), 5);
    assert_int_equal(p11_mechs_for_key(CKK_EC_EDWARDS, mt, 32), 1);
    assert_null(p11_mech_lookup(CKM_MD5_RSA_PKCS));
}

/* ---- objects from a key store on disk ------------------------------------------------------- */
static char dir[] = "/tmp/signet-p11-units-XXXXXX";

static void write_pem_pub(const char *name, EVP_PKEY *pk)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s.pub.pem", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
    fclose(f);
}

static X509 *write_cert(const char *name, EVP_PKEY *pk)
{
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4711);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, pk);
    const EVP_MD *md = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
    assert_true(X509_sign(x, pk, md) > 0);
    char p[256];
    snprintf(p, sizeof p, "%s/%s.x509.pem", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
    return x;
}

static CK_RV get1(const struct p11_object *o, CK_ATTRIBUTE_TYPE t, void *buf, CK_ULONG *len)
{
    CK_ATTRIBUTE a = {t, buf, *len};
    CK_RV rv = p11_get_attributes(o, &a, 1);
    *len = a.ulValueLen;
    return rv;
}

static void objects_from_key_store(void **state)
{
    assert_non_null(mkdtemp(dir));
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    char km[512];
    snprintf(km, sizeof km,
             "# test store\n"
             "platform 0x0101 rsa2048 1 platform\n"
             "notyet   0x0102 rsa2048 1 apk\n"
             "ec       0x0103 ecp384  1 test\n"
             "mixedup  0x0104 ecp256  1 test\n"
             "wrongalg 0x0105 rsa2048 1 test\n"
             "ed       0x0106 ed25519 1 test\n");
    char p[256];
    snprintf(p, sizeof p, "%s/keymap.txt", dir);
    FILE *f = fopen(p, "w");
    fputs(km, f);
    fclose(f);
    write_pem_pub("platform", rsa);
    X509 *xr = write_cert("platform", rsa);
    write_pem_pub("ec", ec); /* no certificate */
    write_pem_pub("mixedup", other);
    X509_free(write_cert("mixedup", ec)); /* certifies another key: left out */
    write_pem_pub("wrongalg", other); /* an EC key where the map says rsa2048 */
    X509 *xe = write_cert("ed", ed);   /* only the certificate: the key comes from it */

    struct p11_objects o;
    assert_int_equal(p11_objects_load(dir, &o), SIGNET_OK);
    assert_int_equal(o.n_keys, 4); /* platform, ec, mixedup, ed */
    assert_int_equal(o.n_objs, 3 + 2 + 2 + 3);

    /* Handles follow the key map position, 3 per entry. */
    struct p11_object *priv = p11_object_find(&o, 1), *pub = p11_object_find(&o, 2);
    struct p11_object *cert = p11_object_find(&o, 3);
    assert_non_null(priv);
    assert_non_null(pub);
    assert_non_null(cert);
    assert_null(p11_object_find(&o, 4)); /* notyet */
    assert_non_null(p11_object_find(&o, 7));
    assert_non_null(p11_object_find(&o, 8));
    assert_null(p11_object_find(&o, 9)); /* ec has no certificate */
    assert_null(p11_object_find(&o, 12)); /* mixedup's certificate was left out */
    assert_null(p11_object_find(&o, 13)); /* wrongalg */
    assert_non_null(p11_object_find(&o, 16)); /* ed, from its certificate */
    assert_true(priv->is_private && !pub->is_private && !cert->is_private);

    uint8_t buf[4096];
    CK_ULONG len = sizeof buf;
    assert_int_equal(get1(priv, CKA_ID, buf, &len), CKR_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(buf, "\x01\x01", 2);
    len = sizeof buf;
    assert_int_equal(get1(priv, CKA_MODULUS_BITS, buf, &len), CKR_OK);
    CK_ULONG bits;
    memcpy(&bits, buf, sizeof bits);
    assert_int_equal(bits, 2048);
    len = sizeof buf;
    assert_int_equal(get1(cert, CKA_SERIAL_NUMBER, buf, &len), CKR_OK);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "\x02\x02\x12\x67", 4); /* INTEGER 4711 */
    len = sizeof buf;
    assert_int_equal(get1(cert, CKA_VALUE, buf, &len), CKR_OK);
    uint8_t *der = NULL;
    int n = i2d_X509(xr, &der);
    assert_int_equal(len, n);
    assert_memory_equal(buf, der, (size_t)n);
    OPENSSL_free(der);
    /* The private key's subject is its certificate's. */
    uint8_t subj[512];
    CK_ULONG sl = sizeof subj;
    assert_int_equal(get1(priv, CKA_SUBJECT, subj, &sl), CKR_OK);
    len = sizeof buf;
    assert_int_equal(get1(cert, CKA_SUBJECT, buf, &len), CKR_OK);
    assert_int_equal(sl, len);
    assert_memory_equal(subj, buf, len);
    len = 0;
    assert_int_equal(get1(priv, CKA_COEFFICIENT, NULL, &len), CKR_ATTRIBUTE_SENSITIVE);
    assert_true(len == CK_UNAVAILABLE_INFORMATION);
    len = 0;
    assert_int_equal(get1(priv, CKA_START_DATE, NULL, &len), CKR_OK); /* empty, not missing */
    assert_int_equal(len, 0);
    len = 0;
    assert_int_equal(get1(pub, CKA_SENSITIVE, NULL, &len), CKR_ATTRIBUTE_TYPE_INVALID);

    /* EC P-384: curve OID, 97-byte point in a DER OCTET STRING, 96-byte signatures. */
    struct p11_object *ecpub = p11_object_find(&o, 8);
    len = sizeof buf;
    assert_int_equal(get1(ecpub, CKA_EC_PARAMS, buf, &len), CKR_OK);
    assert_int_equal(len, 7);
    assert_memory_equal(buf, "\x06\x05\x2b\x81\x04\x00\x22", 7);
    len = sizeof buf;
    assert_int_equal(get1(ecpub, CKA_EC_POINT, buf, &len), CKR_OK);
    assert_int_equal(len, 99);
    assert_memory_equal(buf, "\x04\x61\x04", 3);
    assert_int_equal(o.keys[ecpub->key].sig_len, 96);
    assert_int_equal(o.keys[p11_object_find(&o, 16)->key].sig_len, 64);
    assert_int_equal(o.keys[priv->key].sig_len, 256);

    /* Matching: class + id finds exactly one object; a sensitive attribute none. */
    CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
    uint8_t id[] = {0x01, 0x03};
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, id, 2}};
    int hits = 0;
    for (size_t i = 0; i < o.n_objs; i++)
        hits += p11_object_matches(&o.objs[i], t, 2);
    assert_int_equal(hits, 1);
    assert_true(p11_object_matches(ecpub, t, 2));
    assert_true(p11_object_matches(ecpub, NULL, 0));
    CK_ATTRIBUTE coef = {CKA_COEFFICIENT, NULL, 0};
    assert_false(p11_object_matches(priv, &coef, 1));

    p11_objects_free(&o);
    X509_free(xr);
    X509_free(xe);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(other);
    EVP_PKEY_free(ed);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void empty_and_missing_stores(void **state)
{
    struct p11_objects o;
    assert_int_equal(p11_objects_load("", &o), SIGNET_OK); /* none configured */
    assert_int_equal(o.n_objs, 0);
    p11_objects_free(&o);
    char empty[] = "/tmp/signet-p11-empty-XXXXXX";
    assert_non_null(mkdtemp(empty));
    assert_int_equal(p11_objects_load(empty, &o), SIGNET_OK); /* no keymap.txt yet */
    assert_int_equal(o.n_objs, 0);
    p11_objects_free(&o);
    rmdir(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pin_form),
        cmocka_unit_test(digestinfo),
        cmocka_unit_test(digest_names_fail_closed),
        cmocka_unit_test(ecdsa_der_to_raw),
        cmocka_unit_test(pss_params),
        cmocka_unit_test(objects_from_key_store),
        cmocka_unit_test(empty_and_missing_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

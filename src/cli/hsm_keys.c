/* `signet hsm` commands that create, use and move keys: generate, sign,
 * put-wrap-key, generate-wrap-key, export-wrapped, import-wrapped, put-auth-key,
 * change-password. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hsm_cmds.h"
#include "signet/proto.h"
#include "signet/secmem.h"

signet_rc hsm_cmd_generate(struct cli_ctx *c, void *args)
{
    struct hsm_attr_args *a = args;
    uint16_t id = 0;
    signet_rc rc = hsm_generate_asymmetric(c->sess, &a->a, &id);
    if (rc == SIGNET_OK) {
        printf("0x%04x\n", id);
        fflush(stdout);
    }
    if (rc == SIGNET_OK && a->public_out) {
        EVP_PKEY *pk = NULL;
        rc = hsm_get_public_key(c->sess, id, &pk, NULL);
        if (rc == SIGNET_OK)
            rc = hsm_write_public_pem(pk, a->public_out);
        EVP_PKEY_free(pk);
    }
    return rc;
}

/* Hashes a whole file with md, streaming. */
static signet_rc digest_file(const char *path, const EVP_MD *md, uint8_t *out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_open_error(NULL, path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1;
    uint8_t buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n) == 1;
    bool rerr = ferror(f);
    fclose(f);
    unsigned int dl = 0;
    ok = ok && !rerr && EVP_DigestFinal_ex(ctx, out, &dl) == 1;
    EVP_MD_CTX_free(ctx);
    if (rerr)
        return signet_fail(SIGNET_E_IO, "cannot read %s", path);
    if (!ok)
        return signet_fail(SIGNET_E_CRYPTO, "hashing %s failed", path);
    *out_len = dl;
    return SIGNET_OK;
}

/* The hashes `hsm sign` takes, each with the MGF1 the device pairs with it for
 * PSS, and the mechanisms: an unknown name is refused, never mapped to a default. */
static const struct sign_hash {
    const char *name;
    const EVP_MD *(*md)(void);
    uint8_t mgf1;
} SIGN_HASHES[] = {
    {"sha1", EVP_sha1, YH_ALGO_MGF1_SHA1},
    {"sha256", EVP_sha256, YH_ALGO_MGF1_SHA256},
    {"sha384", EVP_sha384, YH_ALGO_MGF1_SHA384},
    {"sha512", EVP_sha512, YH_ALGO_MGF1_SHA512},
};

static const struct sign_hash *sign_hash_named(const char *name)
{
    for (size_t i = 0; i < sizeof SIGN_HASHES / sizeof SIGN_HASHES[0]; i++)
        if (strcmp(SIGN_HASHES[i].name, name) == 0)
            return &SIGN_HASHES[i];
    return NULL;
}

enum mech { M_PKCS1, M_PSS, M_ECDSA, M_EDDSA };
static const char *const MECHS[] = {"pkcs1", "pss", "ecdsa", "eddsa"};

signet_rc hsm_cmd_sign(struct cli_ctx *c, void *args)
{
    const struct hsm_sign_args *a = args;
    int mech = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(a->mech, MECHS[i]) == 0)
            mech = i;
    if (mech < 0)
        return signet_fail(SIGNET_E_ARG, "--mech is pkcs1, pss, ecdsa or eddsa, not '%s'", a->mech);
    const struct sign_hash *sh = sign_hash_named(a->hash);
    if (!sh)
        return signet_fail(SIGNET_E_ARG, "--hash is sha1, sha256, sha384 or sha512, not '%s'",
                           a->hash);
    const EVP_MD *md = sh->md();

    /* Read or hash the input before logging in: a bad path costs no session. */
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t dlen = 0;
    sb_wr msg;
    sbw_init(&msg, 3000);
    signet_rc rc = mech == M_EDDSA ? hsm_read_file(a->in, 3000, &msg)
                                   : digest_file(a->in, md, digest, &dlen);
    if (rc == SIGNET_OK)
        rc = cli_ctx_open(c);
    uint8_t sig[1024];
    size_t slen = sizeof sig;
    if (rc == SIGNET_OK) {
        switch (mech) {
        case M_EDDSA:
            rc = hsm_sign_eddsa(c->sess, a->id, msg.p ? msg.p : (const uint8_t *)"", msg.len,
                                sig, &slen);
            break;
        case M_PKCS1: rc = hsm_sign_pkcs1(c->sess, a->id, digest, dlen, sig, &slen); break;
        case M_PSS:
            rc = hsm_sign_pss(c->sess, a->id, sh->mgf1, (uint16_t)dlen, digest, dlen, sig,
                              &slen);
            break;
        default: rc = hsm_sign_ecdsa(c->sess, a->id, digest, dlen, sig, &slen); break;
        }
    }
    sbw_free(&msg);
    if (rc == SIGNET_OK)
        rc = hsm_write_file(a->out, sig, slen, 0644);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "signed %s with key 0x%04x (%s): %zu-byte signature in %s", a->in,
                     a->id, a->mech, slen, a->out);
    return rc;
}

signet_rc hsm_cmd_put_wrap_key(struct cli_ctx *c, void *args)
{
    struct hsm_attr_args *a = args;
    sb_wr key;
    sbw_init_secure(&key, 64);
    signet_rc rc = hsm_read_key_file(a->key_file, &key);
    if (rc == SIGNET_OK && !a->a.algorithm)
        a->a.algorithm = key.len == 16   ? YH_ALGO_AES128_CCM_WRAP
                         : key.len == 24 ? YH_ALGO_AES192_CCM_WRAP
                                         : YH_ALGO_AES256_CCM_WRAP;
    if (rc == SIGNET_OK)
        rc = cli_ctx_open(c);
    uint16_t id = 0;
    if (rc == SIGNET_OK)
        rc = hsm_put_wrap_key(c->sess, &a->a, key.p, key.len, &id);
    sbw_free(&key);
    if (rc == SIGNET_OK)
        printf("0x%04x\n", id);
    return rc;
}

signet_rc hsm_cmd_generate_wrap_key(struct cli_ctx *c, void *args)
{
    struct hsm_attr_args *a = args;
    if (!a->a.algorithm)
        a->a.algorithm = YH_ALGO_AES256_CCM_WRAP;
    uint16_t id = 0;
    signet_rc rc = hsm_generate_wrap_key(c->sess, &a->a, &id);
    if (rc == SIGNET_OK)
        printf("0x%04x\n", id);
    return rc;
}

signet_rc hsm_cmd_export_wrapped(struct cli_ctx *c, void *args)
{
    const struct hsm_wrapped_args *a = args;
    sb_wr blob;
    sbw_init(&blob, YH_MAX_FRAME);
    signet_rc rc = hsm_export_wrapped(c->sess, a->wrap_id, a->type, a->id, &blob);
    if (rc == SIGNET_OK)
        rc = hsm_write_file(a->out, blob.p, blob.len, 0600);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "exported %s 0x%04x under wrap key 0x%04x: %zu bytes in %s",
                     yh_type_name(a->type), a->id, a->wrap_id, blob.len, a->out);
    sbw_free(&blob);
    return rc;
}

signet_rc hsm_cmd_import_wrapped(struct cli_ctx *c, void *args)
{
    const struct hsm_wrapped_args *a = args;
    sb_wr blob;
    sbw_init(&blob, YH_MAX_FRAME);
    signet_rc rc = hsm_read_file(a->in, YH_MAX_DATA, &blob);
    if (rc == SIGNET_OK)
        rc = cli_ctx_open(c);
    uint8_t type = 0;
    uint16_t id = 0;
    if (rc == SIGNET_OK)
        rc = hsm_import_wrapped(c->sess, a->wrap_id, blob.p, blob.len, &type, &id);
    sbw_free(&blob);
    if (rc == SIGNET_OK)
        printf("%s 0x%04x\n", yh_type_name(type), id);
    return rc;
}

/* A new password: --new-password-file, $SIGNET_NEW_PASSWORD, or typed twice. */
static signet_rc read_new_password(const char *file, char **out)
{
    *out = NULL;
    bool prompting = !file && !getenv("SIGNET_NEW_PASSWORD");
    signet_rc rc = signet_read_password(file, "SIGNET_NEW_PASSWORD", "New password: ", out);
    if (rc || !prompting)
        return rc;
    char *again = NULL;
    rc = signet_read_password(NULL, NULL, "New password again: ", &again);
    if (rc == SIGNET_OK && strcmp(*out, again) != 0)
        rc = signet_fail(SIGNET_E_ARG, "the two passwords differ; nothing was changed");
    smem_free(again);
    if (rc) {
        smem_free(*out);
        *out = NULL;
    }
    return rc;
}

/* An EC P-256 public key from a PEM file, as the 65-byte uncompressed point. */
static signet_rc read_p256_public(const char *path, uint8_t pt[YH_EC_P256_PUB_LEN])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return cli_open_error(NULL, path);
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        return signet_fail(SIGNET_E_PARSE, "%s does not hold a PEM public key", path);
    size_t n = 0;
    int ok = EVP_PKEY_is_a(k, "EC") &&
             EVP_PKEY_get_octet_string_param(k, "pub", pt, YH_EC_P256_PUB_LEN, &n) == 1 &&
             n == YH_EC_P256_PUB_LEN && EVP_PKEY_get_bits(k) == 256;
    EVP_PKEY_free(k);
    if (!ok)
        return signet_fail(SIGNET_E_ARG, "%s is not an EC P-256 public key", path);
    return SIGNET_OK;
}

/* The new credential of put-auth-key and change-password: an EC P-256 public key
 * (asymmetric) or a password; put_asym / put_pw apply it. */
static signet_rc new_credential(struct cli_ctx *c, const struct hsm_attr_args *a,
                                signet_rc (*put_asym)(struct cli_ctx *, const struct hsm_attr_args *,
                                                      const uint8_t *),
                                signet_rc (*put_pw)(struct cli_ctx *, const struct hsm_attr_args *,
                                                    const char *))
{
    if (a->pw_file && a->public_key)
        return signet_fail(SIGNET_E_ARG, "give --new-password-file or --public-key, not both");
    signet_rc rc;
    if (a->public_key) {
        uint8_t pt[YH_EC_P256_PUB_LEN];
        rc = read_p256_public(a->public_key, pt);
        if (rc == SIGNET_OK)
            rc = cli_ctx_open(c);
        return rc ? rc : put_asym(c, a, pt);
    }
    /* Log in first: the login password may also come from the environment. */
    if ((rc = cli_ctx_open(c)))
        return rc;
    char *pw = NULL;
    rc = read_new_password(a->pw_file, &pw);
    if (rc == SIGNET_OK)
        rc = put_pw(c, a, pw);
    smem_free(pw);
    return rc;
}

static signet_rc add_asym(struct cli_ctx *c, const struct hsm_attr_args *a, const uint8_t *pt)
{
    uint16_t id = 0;
    signet_rc rc = hsm_put_auth_key_asym(c->sess, &a->a, pt, &id);
    if (rc == SIGNET_OK)
        printf("0x%04x\n", id);
    return rc;
}

static signet_rc add_pw(struct cli_ctx *c, const struct hsm_attr_args *a, const char *pw)
{
    uint16_t id = 0;
    signet_rc rc = hsm_put_auth_key(c->sess, &a->a, pw, &id);
    if (rc == SIGNET_OK)
        printf("0x%04x\n", id);
    return rc;
}

static signet_rc change_asym(struct cli_ctx *c, const struct hsm_attr_args *a, const uint8_t *pt)
{
    (void)a;
    return hsm_change_auth_key_asym(c->sess, pt);
}

static signet_rc change_pw(struct cli_ctx *c, const struct hsm_attr_args *a, const char *pw)
{
    (void)a;
    return hsm_change_auth_key(c->sess, pw);
}

signet_rc hsm_cmd_put_auth_key(struct cli_ctx *c, void *args)
{
    return new_credential(c, args, add_asym, add_pw);
}

signet_rc hsm_cmd_change_password(struct cli_ctx *c, void *args)
{
    signet_rc rc = new_credential(c, args, change_asym, change_pw);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "changed the credential of the authentication key");
    return rc;
}

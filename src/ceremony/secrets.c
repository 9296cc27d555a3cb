/* The secrets a ceremony makes: the wrap key (from the devices' random numbers and
 * this host's, mixed with HKDF), the operator's password and the admin's and
 * auditor's EC P-256 credentials; and putting the credentials onto a device.
 * Secret bytes live in smem and are wiped; the P-256 private keys live in OpenSSL
 * key objects (freed with their own clear-free) and leave them only as PEM inside
 * a secure writer, on their way to age encryption. */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "ceremony_internal.h"
#include "signet/proto.h"
#include "signet/secmem.h"

#define WRAPKEY_SALT "signet ceremony wrap key v1"
#define WRAPKEY_INFO "wrap key"

static signet_rc hkdf_sha256(const uint8_t *ikm, size_t ikm_len, uint8_t *out, size_t out_len)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return signet_fail(SIGNET_E_CRYPTO, "HKDF is not available in this OpenSSL");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, WRAPKEY_SALT,
                                          sizeof WRAPKEY_SALT - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, WRAPKEY_INFO,
                                          sizeof WRAPKEY_INFO - 1),
        OSSL_PARAM_construct_end()};
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_CRYPTO, "HKDF-SHA256 failed");
}

signet_rc cer_wrapkey_make(cer_device *devs, size_t n, const signet_plan *p, sss_wrapkey *wk)
{
    size_t len = 32 * (n + 1);
    uint8_t *ikm = smem_alloc(len);
    if (!ikm)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = RAND_priv_bytes(ikm, 32) == 1
                       ? SIGNET_OK
                       : signet_fail(SIGNET_E_CRYPTO, "this host's random generator failed");
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        if ((rc = hsm_get_pseudo_random(devs[i].sess, 32, ikm + 32 * (i + 1))))
            rc = signet_wrap(rc, "random bytes from the %s", devs[i].role);
    if (rc == SIGNET_OK)
        rc = hkdf_sha256(ikm, len, wk->key, sizeof wk->key);
    smem_free(ikm);
    wk->id = p->wrap_key_id;
    wk->domains = p->domains;
    wk->capabilities = SIGNET_WRAP_CAPS;
    wk->delegated = SIGNET_WRAP_DELEGATED;
    return rc;
}

/* Uniform characters from the 94 printable ASCII characters '!'..'~': bytes
 * 188..255 are rejected so that each character is equally likely. */
static signet_rc make_password(char **out)
{
    char *pw = smem_alloc(SIGNET_OPERATOR_PASSWORD_LEN + 1);
    uint8_t *rnd = smem_alloc(64);
    if (!pw || !rnd) {
        smem_free(pw);
        smem_free(rnd);
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    }
    size_t n = 0;
    while (n < SIGNET_OPERATOR_PASSWORD_LEN) {
        if (RAND_priv_bytes(rnd, 64) != 1) {
            smem_free(pw);
            smem_free(rnd);
            return signet_fail(SIGNET_E_CRYPTO, "this host's random generator failed");
        }
        for (size_t i = 0; i < 64 && n < SIGNET_OPERATOR_PASSWORD_LEN; i++)
            if (rnd[i] < 188)
                pw[n++] = (char)('!' + rnd[i] % 94);
    }
    pw[n] = 0;
    smem_free(rnd);
    *out = pw;
    return SIGNET_OK;
}

static signet_rc make_p256(EVP_PKEY **key, uint8_t pub[YH_EC_P256_PUB_LEN])
{
    *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!*key)
        return signet_fail(SIGNET_E_CRYPTO, "cannot generate an EC P-256 key");
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(*key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub,
                                        YH_EC_P256_PUB_LEN, &n) != 1 ||
        n != YH_EC_P256_PUB_LEN || pub[0] != 0x04)
        return signet_fail(SIGNET_E_CRYPTO, "cannot encode the P-256 public key");
    return SIGNET_OK;
}

signet_rc cer_creds_generate(cer_creds *c)
{
    memset(c, 0, sizeof *c);
    signet_rc rc = SIGNET_OK;
    for (int r = 0; rc == SIGNET_OK && r < SIGNET_ROLE__COUNT; r++) {
        if (signet_role_get((signet_role)r)->asymmetric)
            rc = make_p256(&c->key[r], c->pub[r]);
        else
            rc = make_password(&c->password);
    }
    if (rc)
        cer_creds_free(c);
    return rc;
}

void cer_creds_free(cer_creds *c)
{
    smem_free(c->password);
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++)
        EVP_PKEY_free(c->key[r]);
    memset(c, 0, sizeof *c);
}

signet_rc cer_pem_private(EVP_PKEY *k, const char *what, sb_wr *out)
{
    /* A secure-memory BIO: the PEM never sits in ordinary heap. */
    BIO *b = BIO_new(BIO_s_secmem());
    if (!b)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = SIGNET_OK;
    if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the %s as PEM", what);
    } else {
        char *p = NULL;
        long n = BIO_get_mem_data(b, &p);
        rc = n > 0 ? sbw_put(out, p, (size_t)n) : signet_fail(SIGNET_E_CRYPTO, "empty PEM for the %s", what);
    }
    BIO_free(b);
    return rc;
}

signet_rc cer_cred_text(const cer_creds *c, signet_role r, sb_wr *out)
{
    if (!signet_role_get(r)->asymmetric) {
        signet_rc rc = sbw_str(out, c->password);
        return rc ? rc : sbw_u8(out, '\n');
    }
    char what[64];
    snprintf(what, sizeof what, "%s credential", signet_role_get(r)->name);
    return cer_pem_private(c->key[r], what, out);
}

signet_rc cer_dev_put_roles(cer_device *d, const cer_creds *c, uint16_t domains)
{
    for (int r = 0; r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *def = signet_role_get((signet_role)r);
        hsm_object_attrs a = {.id = def->auth_id, .label = def->label, .domains = domains,
                              .capabilities = def->capabilities, .delegated = def->delegated};
        uint16_t id = 0;
        signet_rc rc = def->asymmetric ? hsm_put_auth_key_asym(d->sess, &a, c->pub[r], &id)
                                       : hsm_put_auth_key(d->sess, &a, c->password, &id);
        if (rc)
            return signet_wrap(rc, "creating the %s's authentication key on the %s", def->name,
                               d->role);
        if (id != def->auth_id)
            return signet_fail(SIGNET_E_STATE, "the %s stored the %s's key as 0x%04x instead of "
                                               "0x%04x",
                               d->role, def->name, id, def->auth_id);
    }
    return SIGNET_OK;
}

static signet_rc open_role(cer_device *d, const cer_creds *c, signet_role role, hsm_session **s)
{
    const signet_role_def *def = signet_role_get(role);
    signet_rc rc = def->asymmetric ? hsm_session_open_asym(d->conn, def->auth_id, c->key[role], s)
                                   : hsm_session_open(d->conn, def->auth_id, c->password, s);
    return rc ? signet_wrap(rc, "logging in to the %s as %s with the new credential", d->role,
                            def->name)
              : SIGNET_OK;
}

signet_rc cer_dev_try_role(cer_device *d, const cer_creds *c, signet_role role)
{
    hsm_session *s = NULL;
    signet_rc rc = open_role(d, c, role, &s);
    hsm_session_close(s);
    return rc;
}

signet_rc cer_dev_delete_factory(cer_device *d, const cer_creds *c)
{
    hsm_session *admin = NULL;
    signet_rc rc = open_role(d, c, SIGNET_ROLE_ADMIN, &admin);
    if (rc)
        return rc;
    /* The factory session ends here: its key is about to go. */
    hsm_session_close(d->sess);
    d->sess = admin;
    if ((rc = hsm_delete_object(admin, CER_FACTORY_AUTH_ID, YH_TYPE_AUTHENTICATION_KEY)))
        return signet_wrap(rc, "deleting the factory key of the %s as admin", d->role);
    d->factory_deleted = true;
    yh_object_info oi;
    rc = hsm_get_object_info(admin, CER_FACTORY_AUTH_ID, YH_TYPE_AUTHENTICATION_KEY, &oi);
    if (rc == SIGNET_OK)
        return signet_fail(SIGNET_E_STATE, "the %s still lists the factory key after deleting it",
                           d->role);
    if (rc != SIGNET_E_NOTFOUND)
        return signet_wrap(rc, "checking that the %s's factory key is gone", d->role);
    signet_err_clear();
    return SIGNET_OK;
}

signet_rc cer_seal_credentials(const cer_creds *c, const signet_plan *plan, cer_run *run,
                               cer_output_fn out, void *ctx)
{
    sb_wr text, sealed;
    sbw_init_secure(&text, 16 * 1024);
    sbw_init(&sealed, 64 * 1024);
    signet_rc rc = SIGNET_OK;
    for (int r = 0; rc == SIGNET_OK && r < SIGNET_ROLE__COUNT; r++) {
        const signet_plan_person *h = &plan->holders[r];
        char rel[CER_REL_MAX];
        cer_cred_file((signet_role)r, h->name, rel, sizeof rel);
        sbw_reset(&text);
        sbw_reset(&sealed);
        if ((rc = cer_cred_text(c, (signet_role)r, &text)) ||
            (rc = cer_seal(h->recipient, text.p, text.len, &sealed)) ||
            (rc = out(ctx, rel, sealed.p, sealed.len, 0600)))
            break;
        cer_say(run, "%s credential for %s: %s", signet_role_get((signet_role)r)->name, h->name,
                rel);
    }
    sbw_free(&text);
    sbw_free(&sealed);
    return rc;
}

/* Key generation on a PKCS#11 token (backend = pkcs11): the key pair is made on
 * the token (src/backend/p11_keygen.c), certified through the signing path, and
 * published as a token key:
 *
 *   NAME.pub.pem, NAME.x509.pem, NAME.avbpubkey   as for every key
 *   NAME.p11wrap   the copy C_WrapKey made under the token's trusted AES wrap key
 *                  (CKM_AES_KEY_WRAP_PAD: RFC 5649 over the key's PKCS#8), when the
 *                  token could make one
 *   NAME.token     last: the key is in the store; one line per fact, for people
 *
 * The public key is written first because certifying goes through the signing
 * path, which checks the token's key against NAME.pub.pem before it signs. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ks_internal.h"
#include "signet/backend.h"
#include "signet/proto.h"

signet_rc signet_keystore_generate_token(signet_keystore *ks, signet_device *d,
                                         const signet_keymap_entry *e, const signet_keygen_opts *o,
                                         char *how, size_t how_len)
{
    if (signet_keystore_has_key(ks, e->name))
        return signet_fail(SIGNET_E_STATE, "key '%s' is already in the store %s", e->name,
                           signet_keystore_dir(ks));
    if (!o->cert_signer)
        return signet_fail(SIGNET_E_ARG, "a key made on a token is certified through the signing "
                                         "path (no certificate signer given)");
    signet_token_key tk;
    signet_rc rc = signet_pkcs11_generate(d, e, &tk);
    if (rc)
        return signet_wrap(rc, "generating '%s' on the token", e->name);
    ks_progress(o, "%s: generated on the token (%s)", e->name, yh_algo_name(e->algorithm));
    struct ks_artifacts a;
    ks_artifacts_init(&a);
    sbw_init(&a.origin, 4096);
    sb_wr pem;
    rc = ks_pubkey_pem(tk.pub, &pem);
    if (rc == SIGNET_OK) {
        rc = signet_keystore_write(ks, e->name, ".pub.pem", pem.p, pem.len);
        sbw_free(&pem);
    }
    if (rc == SIGNET_OK)
        rc = ks_certify(NULL, e, tk.pub, o, &a); /* through o->cert_signer only */
    if (rc == SIGNET_OK)
        ks_progress(o, "%s: certificate signed on the token and verified", e->name);
    if (rc == SIGNET_OK)
        rc = signet_keystore_write(ks, e->name, ".x509.pem", a.cert_pem.p, a.cert_pem.len);
    if (rc == SIGNET_OK && a.have_avb)
        rc = signet_keystore_write(ks, e->name, ".avbpubkey", a.avb.p, a.avb.len);
    if (rc == SIGNET_OK && tk.wrapped.len)
        rc = signet_keystore_write(ks, e->name, ".p11wrap", tk.wrapped.p, tk.wrapped.len);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    if (rc == SIGNET_OK)
        rc = sbw_printf(&a.origin, "generated on a PKCS#11 token %s\nkey %s\n", when, tk.how);
    if (rc == SIGNET_OK)
        rc = signet_keystore_write(ks, e->name, ".token", a.origin.p, a.origin.len);
    if (rc == SIGNET_OK) {
        snprintf(how, how_len, "%s", tk.how);
        ks_progress(o, "%s: published in %s", e->name, signet_keystore_dir(ks));
    }
    ks_artifacts_free(&a);
    signet_token_key_free(&tk);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", signet_errmsg());
        ks_unpublish(ks, e->name);
        bool gone = signet_pkcs11_delete(d, e) == SIGNET_OK;
        return signet_fail(rc, "%s%s", msg,
                           gone ? " (the new key was deleted from the token; nothing was "
                                  "published)"
                                : " (the new key may still be on the token: delete it with "
                                  "pkcs11-tool --delete-object)");
    }
    return SIGNET_OK;
}

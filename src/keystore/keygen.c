/* Key generation, one key at a time: generate on the HSM, certify, attest,
 * export under the wrap key, prove the wrapped copy, publish.  The wrapped copy
 * is proven before anything is published: the resident key is deleted and the
 * blob imported again, and the public key that comes back must equal the one
 * recorded byte for byte.  A key whose backup does not restore is never used. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "ks_internal.h"
#include "signet/proto.h"

uint64_t signet_keygen_capabilities(uint8_t algorithm)
{
    uint64_t caps = YH_CAP(YH_CAP_EXPORTABLE_UNDER_WRAP);
    if (yh_algo_is_rsa(algorithm))
        caps |= YH_CAP(YH_CAP_SIGN_PKCS) | YH_CAP(YH_CAP_SIGN_PSS);
    else if (yh_algo_is_ec(algorithm))
        caps |= YH_CAP(YH_CAP_SIGN_ECDSA);
    else if (algorithm == YH_ALGO_EC_ED25519)
        caps |= YH_CAP(YH_CAP_SIGN_EDDSA);
    return caps;
}

static signet_rc attest(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY *pub,
                        const signet_keygen_opts *o, struct ks_artifacts *a)
{
    sb_wr der;
    signet_rc rc = signet_keystore_attest(s, e->id, pub, &der);
    if (rc == SIGNET_E_UNSUPPORTED) {
        ks_progress(o, "%s: %s", e->name, signet_errmsg());
        signet_err_clear();
        return SIGNET_OK;
    }
    if (rc != SIGNET_OK)
        return rc;
    const unsigned char *p = der.p;
    X509 *x = d2i_X509(NULL, &p, (long)der.len);
    rc = x ? ks_cert_pem(x, &a->attest_pem)
           : signet_fail(SIGNET_E_PARSE, "attestation certificate does not parse");
    X509_free(x);
    sbw_free(&der);
    a->have_attest = rc == SIGNET_OK;
    if (rc == SIGNET_OK)
        ks_progress(o, "%s: attested by the HSM", e->name);
    return rc;
}

/* A key this command made and was stopped before publishing (the caller checked
 * that the store has no wrapped copy): everything generate() sets matches, and the
 * key was made inside the HSM (generated; re-imported from its own wrapped copy
 * during the proof), never imported from outside. */
static bool left_by_interrupted_generation(const signet_keymap_entry *e, const yh_object_info *oi)
{
    size_t label_len = strnlen(e->name, YH_LABEL_LEN); /* the HSM keeps 40 bytes of a label */
    return strlen(oi->label) == label_len && strncmp(oi->label, e->name, label_len) == 0 &&
           oi->algorithm == e->algorithm &&
           oi->domains == e->domains &&
           oi->capabilities == signet_keygen_capabilities(e->algorithm) &&
           (oi->origin & YH_ORIGIN_GENERATED) && !(oi->origin & YH_ORIGIN_IMPORTED);
}

signet_rc signet_keystore_generate(signet_keystore *ks, hsm_session *s,
                                   const signet_keymap_entry *e, const signet_keygen_opts *o)
{
    if (signet_keystore_has_key(ks, e->name))
        return signet_fail(SIGNET_E_STATE, "key '%s' is already in the store %s", e->name,
                           signet_keystore_dir(ks));
    if (o->wrap_id == 0)
        return signet_fail(SIGNET_E_ARG, "no wrap key id: give --wrap-id or wrap_key_id in signet.conf");
    yh_object_info oi;
    signet_rc rc = hsm_get_object_info(s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_OK) {
        if (!left_by_interrupted_generation(e, &oi))
            return signet_fail(SIGNET_E_STATE,
                               "the HSM already holds asymmetric key 0x%04x ('%s') and it is not "
                               "an unpublished '%s' left by an interrupted `keys generate` (its "
                               "label, algorithm, domains, capabilities or origin differ): find "
                               "out what it is (`signet hsm list`); if it may go, delete it "
                               "(`signet hsm delete 0x%04x asymmetric-key`) and run again",
                               e->id, oi.label, e->name, e->id);
        /* Never published, so nobody relies on it: replace it, with any files a
         * publish cut short. */
        ks_progress(o, "%s: replacing the unpublished key that an interrupted generation left on "
                    "the HSM (id 0x%04x)", e->name, e->id);
        ks_unpublish(ks, e->name);
        if ((rc = hsm_delete_object(s, e->id, YH_TYPE_ASYMMETRIC_KEY)) != SIGNET_OK)
            return signet_wrap(rc, "deleting the unpublished '%s' of an interrupted generation",
                               e->name);
    } else if (rc != SIGNET_E_NOTFOUND) {
        return signet_wrap(rc, "checking id 0x%04x on the HSM", e->id);
    }
    signet_err_clear();

    hsm_object_attrs attrs = {.id = e->id,
                              .label = e->name,
                              .domains = e->domains,
                              .capabilities = signet_keygen_capabilities(e->algorithm),
                              .algorithm = e->algorithm};
    uint16_t got = 0;
    rc = hsm_generate_asymmetric(s, &attrs, &got);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "generating '%s' on the HSM", e->name);
    if (got != e->id) {
        hsm_delete_object(s, got, YH_TYPE_ASYMMETRIC_KEY);
        return signet_fail(SIGNET_E_DEVICE, "the HSM generated '%s' at id 0x%04x, not 0x%04x",
                           e->name, got, e->id);
    }
    ks_progress(o, "%s: generated on the HSM (id 0x%04x, %s)", e->name, e->id,
             yh_algo_name(e->algorithm));

    bool resident = true;
    struct ks_artifacts a;
    ks_artifacts_init(&a);
    EVP_PKEY *pub = NULL;
    if ((rc = ks_fetch_public_key(s, e, &pub)) != SIGNET_OK)
        goto fail;
    if ((rc = ks_certify(s, e, pub, o, &a)) != SIGNET_OK)
        goto fail;
    ks_progress(o, "%s: certificate signed on the HSM and verified", e->name);
    if ((rc = attest(s, e, pub, o, &a)) != SIGNET_OK)
        goto fail;
    if ((rc = ks_export_and_prove(s, o->wrap_id, e, pub, &a, &resident)) != SIGNET_OK)
        goto fail;
    ks_progress(o, "%s: wrapped copy proven (it unwraps to the same public key)", e->name);
    if ((rc = ks_publish(ks, e, &a)) != SIGNET_OK)
        goto fail;
    ks_progress(o, "%s: published in %s", e->name, signet_keystore_dir(ks));
    EVP_PKEY_free(pub);
    ks_artifacts_free(&a);
    return SIGNET_OK;
fail:
    EVP_PKEY_free(pub);
    ks_artifacts_free(&a);
    return resident ? ks_abandon(s, e, rc) : rc;
}

/* The APK signing engine (include/signet/apk.h): layout, hashing, requests,
 * assembly.  No I/O and no private key: the caller signs. */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "apk_job.h"
#include "signet/apk_lineage.h"

void signet_apk_opts_default(signet_apk_opts *o)
{
    memset(o, 0, sizeof *o);
    o->v2 = o->v3 = true;
    o->lib_page_align = SIGNET_APK_DEFAULT_PAGE;
}

int signet_apk_job_min_sdk(const signet_apk_job *j) { return j->min_sdk; }

bool signet_apk_job_scheme(const signet_apk_job *j, int scheme)
{
    return scheme == 2 ? j->o.v2 : scheme == 3 ? j->o.v3 : scheme == 31 ? j->v31
           : scheme == 4 ? j->o.v4 : false;
}

signet_rc apk_add_request(signet_apk_job *j, int scheme)
{
    size_t i = j->nreq++;
    signet_apk_sigreq *r = &j->req[i];
    const apk_algo *a = apk_old_signs(j, scheme) ? j->old.algo : j->algo;
    memset(r, 0, sizeof *r);
    r->scheme = scheme;
    r->algorithm = a->id;
    r->md_nid = a->md_nid;
    r->rsa = a->rsa;
    r->cert = apk_old_signs(j, scheme) ? j->old.cert_der : j->cert_der;
    r->cert_len = apk_old_signs(j, scheme) ? j->old.cert_len : j->cert_len;
    r->signer = apk_old_signs(j, scheme) ? 1 : 0;
    unsigned dl = 0;
    if (!EVP_Digest(j->data[i].p, j->data[i].len, r->digest, &dl,
                    EVP_get_digestbynid(r->md_nid), NULL))
        return signet_fail(SIGNET_E_CRYPTO, "hashing the v%d signed data failed", scheme);
    r->digest_len = dl;
    j->have[i] = false;
    sbw_reset(&j->sig[i]);
    return SIGNET_OK;
}

static signet_rc set_cert(signet_apk_job *j, const uint8_t *der, size_t len)
{
    const uint8_t *p = der;
    j->cert = d2i_X509(NULL, &p, (long)len);
    if (!j->cert || p != der + len)
        return signet_fail(SIGNET_E_PARSE, "the signer's certificate is not one DER X.509 "
                                           "certificate");
    j->pub = X509_get0_pubkey(j->cert);
    if (!j->pub)
        return signet_fail(SIGNET_E_PARSE, "the signer's certificate has no usable public key");
    j->spki_len = i2d_PUBKEY(j->pub, &j->spki);
    if (j->spki_len <= 0)
        return signet_fail(SIGNET_E_CRYPTO, "encoding the signer's public key failed");
    j->cert_der = der;
    j->cert_len = len;
    return apk_algo_for_key(j->pub, &j->algo);
}

/* Where the rotation goes (apksig ApkSigner.Builder.setMinSdkVersionForRotation):
 * from SDK 33 on into a v3.1 block, which Android 13+ reads before v3, while v3
 * keeps the original signer for Android 9-12 (when the app's min SDK is already
 * past the rotation, v3 alone carries it); below 33 into v3 from Android 9, which
 * a shared-UID app cannot do: Android 9-12 refuse its update. */
static signet_rc place_rotation(signet_apk_job *j, const uint8_t *apk, size_t len)
{
    int rot = j->o.rotation_min_sdk ? j->o.rotation_min_sdk : SIGNET_APK_SDK_V31;
    if (rot < 1 || rot > 10000)
        return signet_fail(SIGNET_E_ARG, "rotation min SDK %d is not an Android SDK level", rot);
    if (rot >= SIGNET_APK_SDK_V31) {
        j->rot_sdk = rot;
        j->v31 = j->min_sdk < rot;
        return SIGNET_OK;
    }
    bool shared = false;
    signet_rc rc = signet_apk_shared_uid(apk, len, &shared);
    if (rc)
        return signet_wrap(rc, "a rotation from Android 9 must know whether the app declares "
                               "android:sharedUserId (its AndroidManifest.xml)");
    if (shared)
        return signet_fail(SIGNET_E_UNSUPPORTED,
                           "the app declares android:sharedUserId, and Android 9 to 12 do not "
                           "let a shared-UID app change its signing key: rotate from Android 13 "
                           "with --rotation-min-sdk-version 33 (the default; v3.1), the original "
                           "key keeps signing for older devices");
    return SIGNET_OK;
}

/* Rotation: the lineage must end with the v3 signer; v2 is signed by its oldest
 * signer with its own algorithm and content digest. */
static signet_rc set_lineage(signet_apk_job *j, const uint8_t *apk, size_t len)
{
    const signet_apk_lineage *l = j->o.lineage;
    if (l->n < 2)
        return signet_fail(SIGNET_E_ARG, "the lineage has one signer: nothing was rotated");
    if (signet_apk_lineage_find(l, j->cert_der, j->cert_len) != (int)l->n - 1)
        return signet_fail(SIGNET_E_ARG, "the signing key's certificate is not the newest signer "
                                         "of the lineage; sign with the key the lineage rotates "
                                         "to (see `signet apk lineage --print-certs`)");
    if (!j->o.v3)
        return signet_fail(SIGNET_E_ARG, "key rotation is carried by v3 (and v3.1): do not turn "
                                         "v3 signing off with a lineage");
    struct apk_key *k = &j->old;
    const uint8_t *p = l->v[0].cert;
    k->cert = d2i_X509(NULL, &p, (long)l->v[0].cert_len);
    k->pub = k->cert ? X509_get0_pubkey(k->cert) : NULL;
    if (!k->pub)
        return signet_fail(SIGNET_E_PARSE, "the lineage's first certificate has no usable key");
    k->spki_len = i2d_PUBKEY(k->pub, &k->spki);
    if (k->spki_len <= 0)
        return signet_fail(SIGNET_E_CRYPTO, "encoding the old signer's public key failed");
    k->cert_der = l->v[0].cert;
    k->cert_len = l->v[0].cert_len;
    j->rotated = true;
    signet_rc rc = apk_algo_for_key(k->pub, &k->algo);
    rc = rc ? rc : place_rotation(j, apk, len);
    return rc ? rc : signet_apk_lineage_encode(l, &j->lineage);
}

static signet_rc decide(signet_apk_job *j, const uint8_t *apk, size_t len)
{
    signet_apk_opts *o = &j->o;
    if (!o->v2 && !o->v3)
        return signet_fail(SIGNET_E_ARG, "enable v2 or v3 signing: Android accepts no APK "
                                         "without one of them from min SDK 24");
    if (!o->lib_page_align)
        o->lib_page_align = SIGNET_APK_DEFAULT_PAGE;
    if (o->lib_page_align < 4 || o->lib_page_align > 65535 ||
        (o->lib_page_align & (o->lib_page_align - 1)))
        return signet_fail(SIGNET_E_ARG, "library page alignment %u is not a power of two "
                                         "between 4 and 32768", o->lib_page_align);
    j->min_sdk = o->min_sdk;
    if (j->min_sdk <= 0) {
        signet_rc rc = signet_apk_min_sdk(apk, len, &j->min_sdk);
        if (rc)
            return signet_wrap(rc, "reading the min SDK (give --min-sdk-version to skip it)");
    }
    /* v1 when asked, or when Android before 7.0 must verify the APK */
    j->v1.on = o->v1 || (!o->v1_off && j->min_sdk < SDK_N);
    /* a kept v1 signature (signapk --disable-v2) serves the older devices */
    if (!o->v2 && j->min_sdk < 28 && !o->keep_signature_files)
        return signet_fail(SIGNET_E_ARG, "min SDK %d needs v2: v3 alone is verified only from "
                                         "Android 9 (min SDK 28)", j->min_sdk);
    return SIGNET_OK;
}

signet_rc apk_v2v3_begin(signet_apk_job *j)
{
    signet_rc rc = apk_layout_build(&j->z, j->o.lib_page_align, j->o.realign,
                                    j->o.keep_signature_files, &j->l);
    if (rc == SIGNET_OK && j->v1.on)
        rc = apk_v1_append(j);
    /* The end record as hashed: the directory "starts" where the signing block will. */
    rc = rc ? rc : signet_zip_put_eocd(&j->z, j->l.count, (uint32_t)j->l.cd.len,
                                       (uint32_t)j->l.entries_len, &j->eocd);
    if (rc == SIGNET_OK) {
        apk_seg cd = {j->l.cd.p, j->l.cd.len, false}, eocd = {j->eocd.p, j->eocd.len, false};
        const apk_seg *sec[3] = {j->l.seg, &cd, &eocd};
        size_t lens[3] = {j->l.nseg, 1, 1};
        rc = apk_content_digest_segs(sec, lens, EVP_get_digestbynid(j->algo->md_nid),
                                     j->o.threads, j->digest, &j->digest_len);
        struct apk_key *k = &j->old;
        if (rc == SIGNET_OK && j->rotated && k->algo->md_nid == j->algo->md_nid) {
            memcpy(k->digest, j->digest, j->digest_len);
            k->digest_len = j->digest_len;
        } else if (rc == SIGNET_OK && j->rotated) {
            rc = apk_content_digest_segs(sec, lens, EVP_get_digestbynid(k->algo->md_nid),
                                         j->o.threads, k->digest, &k->digest_len);
        }
    }
    if (rc == SIGNET_OK) {
        j->si = (apk_signer_info){.algo = j->algo, .content_digest = j->digest,
                                  .content_digest_len = j->digest_len, .cert = j->cert_der,
                                  .cert_len = j->cert_len, .spki = j->spki,
                                  .spki_len = (size_t)j->spki_len, .v3_min_sdk = SDK_N,
                                  .v3_max_sdk = V3_MAX_SDK, .v3_too = j->o.v3};
        if (j->rotated) {
            struct apk_key *k = &j->old;
            k->si = j->si;
            k->si.algo = k->algo;
            k->si.content_digest = k->digest;
            k->si.content_digest_len = k->digest_len;
            k->si.cert = k->cert_der;
            k->si.cert_len = k->cert_len;
            k->si.spki = k->spki;
            k->si.spki_len = (size_t)k->spki_len;
            j->si.lineage = j->lineage.p;
            j->si.lineage_len = j->lineage.len;
            if (j->v31) { /* v3: old for SDK 24 .. rot-1, naming v3.1's first SDK */
                k->si.v3_max_sdk = (uint32_t)j->rot_sdk - 1;
                k->si.v31_min_sdk = (uint32_t)j->rot_sdk;
            }
            if (j->rot_sdk)
                j->si.v3_min_sdk = (uint32_t)j->rot_sdk;
        }
        /* requests (and blocks) in apksig's order: v2, v3.1, v3 */
        if (j->o.v2) {
            rc = apk_signed_data(j->rotated ? &j->old.si : &j->si, 2, &j->data[j->nreq]);
            rc = rc ? rc : apk_add_request(j, 2);
        }
        if (rc == SIGNET_OK && j->v31) {
            rc = apk_signed_data(&j->si, 31, &j->data[j->nreq]);
            rc = rc ? rc : apk_add_request(j, 31);
        }
        if (rc == SIGNET_OK && j->o.v3) {
            rc = apk_signed_data(j->v31 ? &j->old.si : &j->si, 3, &j->data[j->nreq]);
            rc = rc ? rc : apk_add_request(j, 3);
        }
    }
    return rc;
}

signet_rc signet_apk_sign_begin(const uint8_t *apk, size_t len, const signet_apk_opts *o,
                                const uint8_t *cert_der, size_t cert_len, signet_apk_job **out)
{
    *out = NULL;
    signet_apk_job *j = calloc(1, sizeof *j);
    if (!j)
        return signet_fail(SIGNET_E_NOMEM, "out of memory for an APK job");
    j->o = *o;
    sbw_init(&j->eocd, 0x10000 + 64);
    sbw_init(&j->out, MAX_APK);
    sbw_init(&j->tail, MAX_APK);
    sbw_init(&j->idsig, MAX_APK);
    sbw_init(&j->tree, MAX_APK);
    sbw_init(&j->lineage, 1u << 20);
    for (int i = 0; i < SIGNET_APK_MAX_SIGS; i++) {
        sbw_init(&j->data[i], 1u << 20);
        sbw_init(&j->sig[i], 4096);
    }
    signet_rc rc = set_cert(j, cert_der, cert_len);
    rc = rc ? rc : decide(j, apk, len);
    if (rc == SIGNET_OK && o->lineage)
        rc = set_lineage(j, apk, len);
    rc = rc ? rc : signet_zip_parse(apk, len, &j->z);
    if (rc == SIGNET_OK && j->z.zip64)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the APK is a ZIP64 archive; Android and "
                                               "apksigner do not accept ZIP64 APKs");
    if (rc == SIGNET_OK && j->rotated && signet_zip_find(&j->z, "apex_payload.img"))
        rc = signet_fail(SIGNET_E_UNSUPPORTED,
                         "this is an APEX: its payload (apex_payload.img) is signed with AVB by "
                         "the payload key, which no lineage can rotate; signet rotates APK keys "
                         "only (docs/apk.md, key rotation)");
    if (rc == SIGNET_OK)
        rc = j->v1.on ? apk_v1_begin(j) : apk_v2v3_begin(j);
    if (rc) {
        signet_apk_sign_free(j);
        return rc;
    }
    *out = j;
    return SIGNET_OK;
}

size_t signet_apk_sign_pending(signet_apk_job *j, const signet_apk_sigreq **reqs)
{
    *reqs = j->req;
    if (j->round >= 2)
        return 0;
    for (size_t i = 0; i < j->nreq; i++)
        if (!j->have[i])
            return j->nreq;
    return 0;
}

signet_rc signet_apk_sign_set(signet_apk_job *j, size_t i, const uint8_t *sig, size_t len)
{
    if (i >= j->nreq || j->round >= 2)
        return signet_fail(SIGNET_E_STATE, "no pending APK signature request %zu", i);
    sb_wr *d = &j->data[i];
    bool old = apk_old_signs(j, j->req[i].scheme);
    const apk_algo *a = j->req[i].scheme == 1 ? &j->v1.algo : old ? j->old.algo : j->algo;
    signet_rc rc = apk_verify_sig(old ? j->old.pub : j->pub, a, d->p, d->len, sig, len);
    if (rc)
        return signet_wrap(rc, "the device's v%d signature", j->req[i].scheme);
    sbw_reset(&j->sig[i]);
    rc = sbw_put(&j->sig[i], sig, len);
    if (rc)
        return rc;
    j->have[i] = true;
    for (size_t k = 0; k < j->nreq; k++)
        if (!j->have[k])
            return SIGNET_OK;
    if (j->v1.pending)
        return apk_v1_finish(j);
    return j->round == 0 ? apk_assemble(j) : apk_v4_assemble(j);
}

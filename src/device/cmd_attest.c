/* Sign Attestation Certificate: key id(2) | attestation key id(2) -> DER.
 *
 * Attestation key 0 is the device's own (identity.c); its certificate is the
 * template.  Any other attestation key is an asymmetric key with
 * sign-attestation-certificate, and its template is the opaque X.509
 * certificate stored under the same id (Yubico: "these then have to have the
 * same ID").  The session key needs sign-attestation-certificate; the attested
 * key only has to be visible to the session.  x509.c builds the certificate. */
#include "dev.h"

uint8_t cmd_sign_attestation(dev_req *rq)
{
    if (rq->len != 4)
        return YH_ERR_WRONG_LENGTH;
    uint16_t id = be16(rq->data), aid = be16(rq->data + 2);
    rq->target = id;
    rq->second = aid;
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_SIGN_ATTESTATION_CERTIFICATE))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    dev_object *o = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_ASYMMETRIC_KEY, id);
    if (!o)
        return YH_ERR_OBJECT_NOT_FOUND;
    const dev_identity *ident = &rq->dev->st->id;
    EVP_PKEY *signer;
    const uint8_t *tmpl;
    size_t tmpl_len;
    if (aid == 0) {
        if (!ident->present || !ident->attest_key)
            return YH_ERR_COMMAND_UNEXECUTED;
        signer = ident->attest_key;
        tmpl = ident->cert;
        tmpl_len = ident->cert_len;
    } else {
        dev_object *a = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_ASYMMETRIC_KEY, aid);
        dev_object *c = dev_obj_visible(rq->dev, rq->sess, YH_TYPE_OPAQUE, aid);
        if (!a || !c)
            return YH_ERR_OBJECT_NOT_FOUND;
        if (!(a->capabilities & YH_CAP(YH_CAP_SIGN_ATTESTATION_CERTIFICATE)))
            return YH_ERR_INSUFFICIENT_PERMISSIONS;
        /* The signer must hold its private half (not a seedless Ed25519 key;
         * Ed25519 cannot sign certificates here in any case). */
        if (c->algorithm != YH_ALGO_OPAQUE_X509_CERTIFICATE || !a->pkey ||
            a->algorithm == YH_ALGO_EC_ED25519)
            return YH_ERR_INVALID_DATA;
        signer = a->pkey;
        tmpl = c->body;
        tmpl_len = c->body_len;
    }
    rq->latency_ms = dev_latency_ms(YH_CMD_SIGN_ECDSA, 0) + 30;
    return dev_x509_attest(tmpl, tmpl_len, signer, o, rq->dev->st->serial, rq->out);
}

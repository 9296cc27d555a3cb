/* Opening a session with an asymmetric credential (firmware 2.3+): the client's
 * static EC P-256 key against the device's static key, SCP11-style.
 *   client: ephemeral key pair; Create Session = auth id | ephemeral public (65)
 *   device: session id | its ephemeral public (65) | receipt (16)
 *   both:   shsee = ECDH(ephemerals), shsss = ECDH(statics); X9.63 KDF -> receipt key,
 *           S-ENC, S-MAC, S-RMAC; receipt = CMAC(receipt key, device eph | client eph)
 * The receipt proves the device holds the static key we computed shsss against and
 * starts the MAC chain; no Authenticate Session follows. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "internal.h"
#include "signet/secmem.h"

static signet_rc ecdh(EVP_PKEY *priv, EVP_PKEY *peer, uint8_t out[32])
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    size_t n = 32;
    int ok = ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer(ctx, peer) == 1 &&
             EVP_PKEY_derive(ctx, out, &n) == 1 && n == 32;
    EVP_PKEY_CTX_free(ctx);
    if (!ok)
        return signet_fail(SIGNET_E_CRYPTO, "ECDH on P-256 failed");
    return SIGNET_OK;
}

static signet_rc check_p256_private(EVP_PKEY *k)
{
    char group[64] = "";
    if (!EVP_PKEY_is_a(k, "EC") ||
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       NULL) != 1 ||
        (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0))
        return signet_fail(SIGNET_E_ARG,
                           "an asymmetric authentication key must be an EC P-256 private key");
    return SIGNET_OK;
}

/* Get Device Public Key: algorithm(1) = 49 | X(32) | Y(32). */
signet_rc hsm_get_device_public_key(hsm_conn *c, EVP_PKEY **out)
{
    *out = NULL;
    uint8_t buf[128];
    sb_wr w;
    sbw_init_fixed(&w, buf, sizeof buf);
    signet_rc rc = hsm_conn_command(c, YH_CMD_GET_DEVICE_PUBKEY, NULL, 0, &w);
    if (rc)
        return signet_wrap(rc, "getting the device public key");
    if (w.len != YH_EC_P256_PUB_LEN)
        return signet_fail(SIGNET_E_PARSE, "device public key: %zu bytes instead of %d", w.len,
                           YH_EC_P256_PUB_LEN);
    if (w.p[0] != YH_ALGO_EC_P256_YUBICO_AUTHENTICATION)
        return signet_fail(SIGNET_E_PARSE, "device public key of algorithm %u (%d expected)",
                           w.p[0], YH_ALGO_EC_P256_YUBICO_AUTHENTICATION);
    uint8_t pt[YH_EC_P256_PUB_LEN];
    pt[0] = 0x04; /* the first byte on the wire names the algorithm */
    memcpy(pt + 1, w.p + 1, YH_EC_P256_PUB_LEN - 1);
    rc = pubkey_p256_from_point(pt, out);
    return rc ? signet_wrap(rc, "device public key") : SIGNET_OK;
}

signet_rc session_establish_asym(hsm_session *s)
{
    hsm_conn *c = s->conn;
    signet_rc rc = conn_ensure_info(c);
    if (rc)
        return rc;
    if (c->info.major < 2 || (c->info.major == 2 && c->info.minor < 3))
        return signet_fail(SIGNET_E_UNSUPPORTED,
                           "firmware %u.%u.%u has no asymmetric authentication (2.3 or later "
                           "needed); use a password credential",
                           c->info.major, c->info.minor, c->info.patch);
    if ((rc = check_p256_private(s->priv)))
        return rc;

    EVP_PKEY *dev_static = NULL, *eph = NULL, *dev_eph = NULL;
    uint8_t *sec = smem_alloc(32 + 32 + YH_KEY_LEN); /* shsee | shsss | receipt key */
    if (!sec)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    uint8_t *shsee = sec, *shsss = sec + 32, *receipt_key = sec + 64;
    uint8_t cli_eph[YH_EC_P256_PUB_LEN], dev_eph_pt[YH_EC_P256_PUB_LEN];
    uint8_t receipt[16], mac[16];

    if ((rc = hsm_get_device_public_key(c, &dev_static)))
        goto out;
    eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!eph) {
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot generate an ephemeral P-256 key");
        goto out;
    }
    if ((rc = pubkey_p256_point(eph, cli_eph)))
        goto out;

    uint8_t req[2 + YH_EC_P256_PUB_LEN];
    put_be16(req, s->auth_id);
    memcpy(req + 2, cli_eph, sizeof cli_eph);
    uint8_t rbuf[128];
    sb_wr resp;
    sbw_init_fixed(&resp, rbuf, sizeof rbuf);
    rc = session_create_with_backoff(c, req, sizeof req, &resp);
    if (rc) {
        rc = signet_wrap(rc, "opening a session with authentication key %u", s->auth_id);
        goto out;
    }
    sb_rd r;
    sbr_init(&r, resp.p, resp.len);
    uint8_t sid;
    if ((rc = sbr_u8(&r, &sid)) || (rc = sbr_copy(&r, dev_eph_pt, sizeof dev_eph_pt)) ||
        (rc = sbr_copy(&r, receipt, sizeof receipt)) || (rc = sbr_end(&r))) {
        rc = signet_wrap(rc, "create session answer");
        goto out;
    }
    if (sid >= YH_MAX_SESSIONS) {
        rc = signet_fail(SIGNET_E_PARSE, "the device gave session id %u (0..15 expected)", sid);
        goto out;
    }
    if ((rc = pubkey_p256_from_point(dev_eph_pt, &dev_eph)) ||
        (rc = ecdh(eph, dev_eph, shsee)) || (rc = ecdh(s->priv, dev_static, shsss)) ||
        (rc = yh_asym_derive(shsee, shsss, sid, receipt_key, &s->ch)) ||
        (rc = yh_asym_receipt(receipt_key, dev_eph_pt, cli_eph, mac)))
        goto out;
    if (CRYPTO_memcmp(mac, receipt, sizeof mac) != 0) {
        smem_wipe(&s->ch, sizeof s->ch);
        rc = signet_fail(SIGNET_E_AUTH,
                         "the device's session receipt did not verify: authentication key %u does "
                         "not hold this private key's public key (or the peer is not the device)",
                         s->auth_id);
        goto out;
    }
    memcpy(s->ch.chain, receipt, sizeof receipt);
    s->state = SESSION_OPEN;
out:
    smem_free(sec);
    EVP_PKEY_free(dev_static);
    EVP_PKEY_free(eph);
    EVP_PKEY_free(dev_eph);
    return rc;
}

/* The device side of a signature: which command a mechanism is, the key made
 * resident (loaded from its wrapped copy, evicting least recently used keys), and
 * the call itself. */
#include <string.h>

#include "sign_internal.h"

signet_rc signer_pick_command(const signet_keymap_entry *e, signet_mech mech, uint8_t *cmd)
{
    bool rsa = yh_algo_is_rsa(e->algorithm), ec = yh_algo_is_ec(e->algorithm);
    bool ed = e->algorithm == YH_ALGO_EC_ED25519;
    *cmd = 0;
    switch (mech) {
    case SIGNET_MECH_RSA_PKCS1: *cmd = YH_CMD_SIGN_PKCS1; if (rsa) return SIGNET_OK; break;
    case SIGNET_MECH_RSA_PSS: *cmd = YH_CMD_SIGN_PSS; if (rsa) return SIGNET_OK; break;
    case SIGNET_MECH_ECDSA: *cmd = YH_CMD_SIGN_ECDSA; if (ec) return SIGNET_OK; break;
    case SIGNET_MECH_EDDSA: *cmd = YH_CMD_SIGN_EDDSA; if (ed) return SIGNET_OK; break;
    }
    return signet_fail(SIGNET_E_ARG, "key '%s' is %s and cannot make %s signatures", e->name,
                       yh_algo_name(e->algorithm), yh_cmd_name(*cmd));
}

static int resident_slot(const signet_signer *s, uint16_t id)
{
    for (int i = 0; i < (int)(sizeof s->resident / sizeof s->resident[0]); i++)
        if (s->resident[i].id == id)
            return i;
    return -1;
}

/* Resolve: make the key resident (loading its wrapped copy, evicting others)
 * unless this signer saw it resident; keep its LRU stamp fresh to the second. */
signet_rc signer_resolve_key(signet_signer *s, const signet_keymap_entry *e)
{
    int i = resident_slot(s, e->id);
    time_t now = time(NULL);
    if (i >= 0) {
        if (s->resident[i].touched != now) {
            s->resident[i].touched = now;
            return signet_keystore_touch(s->ks, e->name);
        }
        return SIGNET_OK;
    }
    signet_rc rc = s->dev->ops->resolve(s->dev, s->ks, e);
    if (rc)
        return signet_wrap(rc, "loading key '%s'", e->name);
    /* Loading may have evicted keys this signer remembered: start afresh. */
    memset(s->resident, 0, sizeof s->resident);
    s->resident[0].id = e->id;
    s->resident[0].touched = now;
    s->next_slot = 1;
    return SIGNET_OK;
}

static void forget_resident(signet_signer *s, uint16_t id)
{
    int i = resident_slot(s, id);
    if (i >= 0)
        s->resident[i].id = 0;
}

void signer_remember_resident(signet_signer *s, uint16_t id)
{
    if (resident_slot(s, id) >= 0)
        return;
    unsigned n = sizeof s->resident / sizeof s->resident[0];
    s->resident[s->next_slot % n].id = id;
    s->resident[s->next_slot % n].touched = time(NULL);
    s->next_slot++;
}

signet_rc signer_device_sign(signet_signer *s, uint8_t cmd, const signet_keymap_entry *e,
                             const signet_sign_req *r, uint8_t *sig, size_t *sig_len)
{
    signet_dev_sign d = {.cmd = cmd, .data = r->data, .len = r->len, .pss_mgf1 = r->pss_mgf1,
                         .pss_salt_len = r->pss_salt_len};
    signet_rc rc = s->dev->ops->sign(s->dev, e, &d, sig, sig_len);
    if (rc == SIGNET_E_NOTFOUND)
        forget_resident(s, e->id); /* evicted by another process meanwhile */
    else if (rc == SIGNET_OK) {
        s->stats.device_signs++;
        signer_remember_resident(s, e->id);
    }
    return rc;
}

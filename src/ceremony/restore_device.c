/* Restore, the steps that set up the target device like the provisioned ones:
 * connect, reset, clean, audit options, wrap key, roles, log key, factory key. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "restore_internal.h"
#include "signet/proto.h"
#include "signet/secmem.h"

signet_rc rst_step_connect(rest *p)
{
    cer_device *d = &p->dev;
    signet_rc rc = cer_dev_connect(d);
    if (rc == SIGNET_OK)
        rc = cer_dev_login(d, p->o->reset_auth_id, p->o->reset_password, p->o->reset_key);
    if (rc)
        return rc;
    char v[16];
    cer_dev_version(d, v);
    cer_say(&p->run, "target: serial %u, firmware %s, %s", d->serial, v, d->url ? d->url : "in-process");
    return SIGNET_OK;
}

signet_rc rst_step_reset(rest *p)
{
    signet_rc rc = rst_record_reset(p);
    if (rc == SIGNET_OK)
        rc = cer_dev_reset(&p->dev);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target (serial %u) reset; logged in again with the factory key", p->dev.serial);
    return rc;
}

signet_rc rst_step_clean(rest *p)
{
    signet_rc rc = cer_dev_prove_clean(&p->dev);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target: only the factory key (0x0001, all domains)");
    return rc;
}

signet_rc rst_step_audit(rest *p)
{
    signet_rc rc = cer_dev_set_audit(&p->dev, &p->n_audited);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "target: %zu commands audited (fixed), force-audit fixed", p->n_audited);
    return rc ? rc : cer_dev_drain(&p->dev, p->trail);
}

signet_rc rst_step_wrap_key(rest *p)
{
    signet_rc rc = cer_dev_put_wrap_key(&p->dev, p->wk);
    smem_wipe(p->wk->key, sizeof p->wk->key);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "wrap key 0x%04x is on the target", p->wk->id);
    return rc ? rc : cer_dev_drain(&p->dev, p->trail);
}

signet_rc rst_step_roles(rest *p)
{
    signet_rc rc = cer_creds_generate(&p->creds);
    if (rc == SIGNET_OK)
        rc = cer_dev_put_roles(&p->dev, &p->creds, p->plan.domains);
    if (rc)
        return rc;
    cer_say(&p->run, "admin 0x%04x, operator 0x%04x, auditor 0x%04x with new credentials",
            signet_role_get(SIGNET_ROLE_ADMIN)->auth_id, signet_role_get(SIGNET_ROLE_OPERATOR)->auth_id,
            signet_role_get(SIGNET_ROLE_AUDITOR)->auth_id);
    return cer_dev_drain(&p->dev, p->trail);
}

signet_rc rst_step_log_key(rest *p)
{
    uint8_t type = 0;
    uint16_t id = 0;
    signet_rc rc = hsm_import_wrapped(p->dev.sess, p->man->wrap_id, p->log_blob.p, p->log_blob.len,
                                      &type, &id);
    if (rc)
        return signet_wrap(rc, "importing the log key from %s", p->man->log_wrapped);
    if (type != YH_TYPE_ASYMMETRIC_KEY || id != p->man->log_key_id)
        return signet_fail(SIGNET_E_VERIFY, "%s unwrapped to %s 0x%04x, not the log key 0x%04x",
                           p->man->log_wrapped, yh_type_name(type), id, p->man->log_key_id);
    EVP_PKEY *k = NULL;
    uint8_t algo = 0, pub[32];
    size_t n = sizeof pub;
    rc = hsm_get_public_key(p->dev.sess, id, &k, &algo);
    if (rc == SIGNET_OK && (!EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 ||
                            n != 32))
        rc = signet_fail(SIGNET_E_VERIFY, "the imported log key is not an Ed25519 key");
    EVP_PKEY_free(k);
    if (rc)
        return rc;
    if (CRYPTO_memcmp(pub, p->man->vkey.pub, 32) != 0)
        return signet_fail(SIGNET_E_VERIFY, "the imported log key's public key differs from the "
                                            "manifest's verifier key");
    cer_say(&p->run, "log key 0x%04x imported; its public key matches the manifest's vkey", id);
    return cer_dev_drain(&p->dev, p->trail);
}

signet_rc rst_step_factory_key(rest *p)
{
    signet_rc rc;
    if ((rc = cer_dev_try_role(&p->dev, &p->creds, SIGNET_ROLE_OPERATOR)) ||
        (rc = cer_dev_try_role(&p->dev, &p->creds, SIGNET_ROLE_AUDITOR)) ||
        (rc = cer_dev_delete_factory(&p->dev, &p->creds)))
        return rc;
    cer_say(&p->run, "operator and auditor credentials work; logged in as admin and deleted the "
                     "factory key");
    return cer_dev_drain(&p->dev, p->trail);
}

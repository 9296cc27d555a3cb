/* Restore, the key store: every wrapped key imported under the restored wrap key
 * and its public key compared with the recorded one. */
#include <string.h>

#include "restore_internal.h"
#include "signet/proto.h"

/* Imports one wrapped key and compares its public key with the recorded one.  When
 * the device is full, keys checked earlier are deleted again (they stay loadable on
 * demand from the store) to make room. */
static signet_rc import_key(rest *p, const signet_keymap_entry *e, uint16_t *resident, size_t *n_res)
{
    sb_wr blob;
    sbw_init(&blob, 64 * 1024);
    signet_rc rc = signet_keystore_wrapped(p->ks, e->name, &blob);
    uint8_t type = 0;
    uint16_t id = 0;
    size_t evicted = 0;
    while (rc == SIGNET_OK) {
        rc = hsm_import_wrapped(p->dev.sess, p->man->wrap_id, blob.p, blob.len, &type, &id);
        if (rc == SIGNET_OK || signet_err_device() != YH_ERR_STORAGE_FAILED || evicted == *n_res)
            break;
        rc = hsm_delete_object(p->dev.sess, resident[evicted++], YH_TYPE_ASYMMETRIC_KEY);
    }
    sbw_free(&blob);
    if (evicted) {
        memmove(resident, resident + evicted, (*n_res - evicted) * sizeof *resident);
        *n_res -= evicted;
    }
    if (rc)
        return signet_wrap(rc, "importing key %s", e->name);
    if (type != YH_TYPE_ASYMMETRIC_KEY || id != e->id)
        return signet_fail(SIGNET_E_VERIFY, "key %s unwrapped to %s 0x%04x instead of key 0x%04x",
                           e->name, yh_type_name(type), id, e->id);
    resident[(*n_res)++] = id;
    EVP_PKEY *got = NULL, *want = NULL;
    uint8_t algo = 0;
    if ((rc = hsm_get_public_key(p->dev.sess, id, &got, &algo)) == SIGNET_OK &&
        (rc = signet_keystore_public_key(p->ks, e->name, &want)) == SIGNET_OK &&
        (algo != e->algorithm || EVP_PKEY_eq(got, want) != 1))
        rc = signet_fail(SIGNET_E_VERIFY, "key %s: the wrapped copy unwraps to another public key "
                                          "than the one recorded for it (%s.pub.pem): the key store "
                                          "does not match this wrap key; stop and investigate",
                         e->name, e->name);
    EVP_PKEY_free(got);
    EVP_PKEY_free(want);
    return rc;
}

signet_rc rst_step_keystore(rest *p)
{
    if (!p->ks) {
        cer_say(&p->run, "no key store given: nothing to import");
        return SIGNET_OK;
    }
    uint16_t resident[YH_MAX_OBJECTS];
    size_t n_res = 0, done = 0;
    signet_rc rc = SIGNET_OK;
    /* One progress line per key as it starts: a large key store takes minutes. */
    signet_progress pr;
    signet_progress_begin(&pr, NULL, p->n_keys);
    for (size_t i = 0; rc == SIGNET_OK && i < signet_keystore_count(p->ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(p->ks, i);
        if (!signet_keystore_has_key(p->ks, e->name))
            continue;
        char line[512];
        signet_progress_format(&pr, line, sizeof line, "key %s (0x%04x, %s): importing under the "
                                                       "wrap key, comparing its public key",
                               e->name, e->id, yh_algo_name(e->algorithm));
        cer_say(&p->run, "%s", line);
        if ((rc = import_key(p, e, resident, &n_res)) == SIGNET_OK &&
            (rc = cer_dev_drain(&p->dev, p->trail)) == SIGNET_OK) {
            done++;
            signet_progress_done(&pr);
        }
    }
    if (rc == SIGNET_OK)
        cer_say(&p->run, "%zu keys imported and checked; %zu resident", done, n_res);
    return rc;
}

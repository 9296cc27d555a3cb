/* Loading keys on demand.  A YubiHSM 2 holds far fewer keys than an Android
 * release uses (68 RSA-4096 keys fill it), so keys live wrapped on disk and are
 * imported when needed; when the device runs low, the least recently used keys
 * of this store are deleted from it.  Only keys that are provably restorable are
 * ever deleted: keys of this store's map, with a wrapped copy on disk, whose
 * object on the HSM carries their label and algorithm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ks_internal.h"
#include "ks_lru.h"
#include "signet/proto.h"

struct candidate {
    const signet_keymap_entry *e;
    uint64_t stamp;
};

static int by_stamp(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (x->stamp != y->stamp)
        return x->stamp < y->stamp ? -1 : 1;
    return x->e->id < y->e->id ? -1 : x->e->id > y->e->id;
}

/* Deletes the least recently used evictable key other than `keep`.
 * *evicted = false when there is none. */
static signet_rc evict_one(signet_keystore *ks, hsm_session *s, const signet_keymap_entry *keep,
                           bool *evicted)
{
    *evicted = false;
    hsm_filter f = {.type = YH_TYPE_ASYMMETRIC_KEY};
    hsm_object_ref refs[YH_MAX_OBJECTS];
    size_t n = 0;
    signet_rc rc = hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "listing keys on the HSM to make room");
    if (n > YH_MAX_OBJECTS)
        n = YH_MAX_OBJECTS;
    struct candidate c[YH_MAX_OBJECTS];
    size_t nc = 0;
    ks_lru l;
    ks_lru_load(ks, &l);
    for (size_t i = 0; i < n; i++) {
        const signet_keymap_entry *e = signet_keystore_find_id(ks, refs[i].id);
        if (!e || e->id == keep->id || !signet_keystore_has_key(ks, e->name))
            continue;
        c[nc].e = e;
        c[nc++].stamp = ks_lru_stamp(&l, e->name);
    }
    ks_lru_free(&l);
    qsort(c, nc, sizeof c[0], by_stamp);
    for (size_t i = 0; i < nc; i++) {
        yh_object_info oi;
        rc = hsm_get_object_info(s, c[i].e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
        if (rc == SIGNET_E_NOTFOUND)
            continue; /* gone meanwhile */
        if (rc != SIGNET_OK)
            return rc;
        if (!ks_object_is_key(&oi, c[i].e))
            continue; /* same id, but not our key: never touch it */
        rc = hsm_delete_object(s, c[i].e->id, YH_TYPE_ASYMMETRIC_KEY);
        if (rc == SIGNET_E_NOTFOUND)
            continue;
        if (rc != SIGNET_OK)
            return signet_wrap(rc, "evicting key '%s' from the HSM", c[i].e->name);
        *evicted = true;
        return SIGNET_OK;
    }
    signet_err_clear();
    return SIGNET_OK;
}

static bool below(const hsm_storage *st, const signet_evict_policy *p)
{
    return p && (st->free_records < p->min_free_objects || st->free_pages < p->min_free_pages);
}

/* Evicts while the device is below the thresholds and something can go. */
static signet_rc make_room(signet_keystore *ks, hsm_session *s, const signet_keymap_entry *e,
                           const signet_evict_policy *p)
{
    for (;;) {
        hsm_storage st;
        signet_rc rc = hsm_storage_info(s, &st);
        if (rc != SIGNET_OK)
            return signet_wrap(rc, "reading the HSM's free storage");
        if (!below(&st, p))
            return SIGNET_OK;
        bool evicted;
        if ((rc = evict_one(ks, s, e, &evicted)) != SIGNET_OK)
            return rc;
        /* Nothing left to evict: the thresholds are headroom, not a hard limit;
         * the import below still fails cleanly if the device is really full. */
        if (!evicted)
            return SIGNET_OK;
    }
}

static signet_rc check_resident(const yh_object_info *oi, const signet_keymap_entry *e)
{
    if (ks_object_is_key(oi, e))
        return SIGNET_OK;
    return signet_fail(SIGNET_E_STATE,
                       "HSM object 0x%04x is '%s' (%s), not key '%s' (%s): the key map and the "
                       "HSM disagree; see `signet keys list`",
                       e->id, oi->label, yh_algo_name(oi->algorithm), e->name,
                       yh_algo_name(e->algorithm));
}

static signet_rc same_public_key(EVP_PKEY *a, EVP_PKEY *b, bool *same)
{
    sb_wr d1, d2;
    signet_rc rc = ks_spki_der(a, &d1);
    if (rc == SIGNET_OK)
        rc = ks_spki_der(b, &d2);
    else
        sbw_init(&d2, 0);
    *same = rc == SIGNET_OK && d1.len == d2.len && memcmp(d1.p, d2.p, d1.len) == 0;
    sbw_free(&d1);
    sbw_free(&d2);
    return rc;
}

/* Imports the blob and proves it is key e: right id, the recorded public key. */
static signet_rc import_and_check(signet_keystore *ks, hsm_session *s, uint16_t wrap_id,
                                  const signet_keymap_entry *e, const sb_wr *blob,
                                  EVP_PKEY *stored)
{
    uint8_t type = 0;
    uint16_t id = 0;
    signet_rc rc;
    for (;;) {
        rc = hsm_import_wrapped(s, wrap_id, blob->p, blob->len, &type, &id);
        if (rc == SIGNET_OK)
            break;
        uint8_t code = signet_err_device();
        if (code == YH_ERR_OBJECT_EXISTS) {
            /* Loaded meanwhile by another process: check it is ours. */
            yh_object_info oi;
            rc = hsm_get_object_info(s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
            return rc == SIGNET_OK ? check_resident(&oi, e) : rc;
        }
        if (code == YH_ERR_INVALID_DATA || code == YH_ERR_WRONG_LENGTH) {
            /* The device checks the blob's MAC under the wrap key: damaged bytes,
             * or a blob made under another wrap key. */
            char why[256];
            snprintf(why, sizeof why, "%s", signet_errmsg());
            return signet_fail(SIGNET_E_VERIFY,
                               "%s/%s.wrapped does not unwrap under wrap key 0x%04x (%s): the "
                               "file is damaged or was made under another wrap key; restore it "
                               "from the backup copy of the key store (docs/keys.md)",
                               signet_keystore_dir(ks), e->name, wrap_id, why);
        }
        if (code != YH_ERR_STORAGE_FAILED)
            return signet_wrap(rc, "loading key '%s' from its wrapped copy", e->name);
        bool evicted;
        if ((rc = evict_one(ks, s, e, &evicted)) != SIGNET_OK)
            return rc;
        if (!evicted)
            return signet_fail(SIGNET_E_BUSY,
                               "the HSM is full and no key of this store can be evicted to load "
                               "'%s': delete objects you do not need (`signet hsm list`)",
                               e->name);
    }
    if (type != YH_TYPE_ASYMMETRIC_KEY || id != e->id)
        return signet_fail(SIGNET_E_VERIFY,
                           "%s/%s.wrapped holds %s 0x%04x, not key '%s' (0x%04x): the file was "
                           "replaced; restore it from the backup copy of the key store",
                           signet_keystore_dir(ks), e->name, yh_type_name(type), id, e->name,
                           e->id);
    EVP_PKEY *loaded = NULL;
    uint8_t algo = 0;
    rc = hsm_get_public_key(s, e->id, &loaded, &algo);
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "reading the public key of '%s' after loading it", e->name);
    bool same = false;
    rc = same_public_key(stored, loaded, &same);
    EVP_PKEY_free(loaded);
    if (rc == SIGNET_OK && (!same || algo != e->algorithm)) {
        hsm_delete_object(s, e->id, YH_TYPE_ASYMMETRIC_KEY);
        rc = signet_fail(SIGNET_E_VERIFY,
                         "the wrapped copy of '%s' does not hold the recorded public key "
                         "(%s/%s.pub.pem); it was removed from the HSM again",
                         e->name, signet_keystore_dir(ks), e->name);
    }
    return rc;
}

signet_rc signet_keystore_ensure_resident(signet_keystore *ks, hsm_session *s, uint16_t wrap_id,
                                          const signet_keymap_entry *e,
                                          const signet_evict_policy *p)
{
    const signet_keymap_entry *mine = signet_keystore_find(ks, e->name);
    if (!mine || mine->id != e->id || mine->algorithm != e->algorithm)
        return signet_fail(SIGNET_E_ARG, "key '%s' is not in the key map of %s", e->name,
                           signet_keystore_dir(ks));
    yh_object_info oi;
    signet_rc rc = hsm_get_object_info(s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_OK) {
        if ((rc = check_resident(&oi, e)) != SIGNET_OK)
            return rc;
        return signet_keystore_touch(ks, e->name);
    }
    if (rc != SIGNET_E_NOTFOUND)
        return signet_wrap(rc, "looking up key '%s' on the HSM", e->name);
    signet_err_clear();

    sb_wr blob;
    rc = signet_keystore_wrapped(ks, e->name, &blob);
    if (rc == SIGNET_E_NOTFOUND)
        return signet_fail(SIGNET_E_NOTFOUND,
                           "key '%s' is neither on the HSM nor in the key store %s: run `signet "
                           "keys generate`",
                           e->name, signet_keystore_dir(ks));
    if (rc != SIGNET_OK)
        return rc;
    EVP_PKEY *stored = NULL;
    rc = signet_keystore_public_key(ks, e->name, &stored);
    if (rc == SIGNET_OK)
        rc = make_room(ks, s, e, p);
    if (rc == SIGNET_OK)
        rc = import_and_check(ks, s, wrap_id, e, &blob, stored);
    EVP_PKEY_free(stored);
    sbw_free(&blob);
    if (rc == SIGNET_OK)
        rc = signet_keystore_touch(ks, e->name);
    return rc;
}

signet_rc signet_keystore_evict(signet_keystore *ks, hsm_session *s, const signet_keymap_entry *e)
{
    if (!signet_keystore_has_key(ks, e->name))
        return signet_fail(SIGNET_E_STATE,
                           "key '%s' has no wrapped copy in %s: deleting it from the HSM would "
                           "lose it",
                           e->name, signet_keystore_dir(ks));
    yh_object_info oi;
    signet_rc rc = hsm_get_object_info(s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_E_NOTFOUND) {
        signet_err_clear();
        return SIGNET_OK;
    }
    if (rc != SIGNET_OK)
        return rc;
    if ((rc = check_resident(&oi, e)) != SIGNET_OK)
        return rc;
    return hsm_delete_object(s, e->id, YH_TYPE_ASYMMETRIC_KEY);
}

/* Where a key is: on the HSM, only wrapped on disk, or nowhere. */
#include "ks_internal.h"
#include "signet/proto.h"

const char *signet_keyloc_name(signet_keyloc loc)
{
    switch (loc) {
    case SIGNET_KEYLOC_MISSING: return "missing";
    case SIGNET_KEYLOC_WRAPPED: return "wrapped-only";
    case SIGNET_KEYLOC_RESIDENT: return "resident";
    case SIGNET_KEYLOC_UNBACKED: return "resident-no-backup";
    case SIGNET_KEYLOC_CONFLICT: return "id-conflict";
    }
    return "unknown";
}

signet_rc signet_keystore_locate(const signet_keystore *ks, hsm_session *s,
                                 const signet_keymap_entry *e, signet_keyloc *out)
{
    bool wrapped = signet_keystore_has_key(ks, e->name);
    *out = wrapped ? SIGNET_KEYLOC_WRAPPED : SIGNET_KEYLOC_MISSING;
    if (!s)
        return SIGNET_OK;
    yh_object_info oi;
    signet_rc rc = hsm_get_object_info(s, e->id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_E_NOTFOUND) {
        signet_err_clear();
        return SIGNET_OK;
    }
    if (rc != SIGNET_OK)
        return signet_wrap(rc, "looking up key '%s' (0x%04x) on the HSM", e->name, e->id);
    if (!ks_object_is_key(&oi, e))
        *out = SIGNET_KEYLOC_CONFLICT;
    else
        *out = wrapped ? SIGNET_KEYLOC_RESIDENT : SIGNET_KEYLOC_UNBACKED;
    return SIGNET_OK;
}

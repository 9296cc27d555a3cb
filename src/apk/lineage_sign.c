/* Key rotation through the signing path: the old key's signature over the new
 * certificate (a lineage node) is made by signet_sign, so it has its audit record
 * like every other signature of a product key. */
#include <string.h>

#include "apk_internal.h"
#include "signet/apk_lineage.h"
#include "signet/keystore.h"
#include "signet/sign.h"

signet_rc signet_apk_rotation_role_ok(const char *key, const char *role)
{
    static const char *const fixed[] = {"avb", "ota", "apex-payload"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(role, fixed[i]) == 0)
            return signet_fail(SIGNET_E_UNSUPPORTED,
                               "key '%s' has role %s: %s signatures carry no signing-certificate "
                               "lineage, so a lineage cannot rotate it (devices trust that key "
                               "itself: a new key needs a new trust root on the device, see "
                               "docs/migration.md); lineages rotate APK keys only", key, role,
                               i == 0 ? "AVB (vbmeta)" : i == 1 ? "OTA package"
                                                                : "APEX payload (AVB)");
    return SIGNET_OK;
}

static signet_rc key_cert(signet_signer *s, const char *key, sb_wr *der)
{
    signet_keystore *ks = signet_signer_keystore(s);
    const signet_keymap_entry *e = signet_keystore_find(ks, key);
    if (!e)
        return signet_fail(SIGNET_E_NOTFOUND, "no key named '%s' in the key store; see `signet "
                                              "keys list`", key);
    signet_rc rc = signet_apk_rotation_role_ok(key, e->role);
    if (rc)
        return rc;
    rc = signet_keystore_cert_der(ks, key, der);
    return rc ? signet_wrap(rc, "the certificate of key '%s'", key) : SIGNET_OK;
}

signet_rc signet_apk_lineage_rotate(signet_signer *s, signet_apk_lineage *l, const char *old_key,
                                    const char *new_key, const char *artifact_path,
                                    const char *caller)
{
    sb_wr oc, nc, di;
    sbw_init(&oc, 1u << 16);
    sbw_init(&nc, 1u << 16);
    sbw_init(&di, 128);
    signet_apk_rotation r;
    memset(&r, 0, sizeof r);
    size_t before = l->n;
    signet_rc rc = key_cert(s, old_key, &oc);
    rc = rc ? rc : key_cert(s, new_key, &nc);
    rc = rc ? rc : signet_apk_lineage_rotation_tbs(l, oc.p, oc.len, nc.p, nc.len,
                                                   SIGNET_APK_CAP_DEFAULT, &r);
    uint8_t sig[1024];
    size_t sig_len = sizeof sig;
    if (rc == SIGNET_OK) {
        signet_sign_req req = {.key_name = old_key, .artifact_path = artifact_path,
                               .caller = caller ? caller : "signet apk lineage"};
        rc = apk_sign_req_bytes(r.rsa, r.md_nid, r.digest, r.digest_len, &req, &di);
        rc = rc ? rc : signet_sign(s, &req, sig, &sig_len);
    }
    rc = rc ? rc : signet_apk_lineage_rotation_add(l, &r, nc.p, nc.len, SIGNET_APK_CAP_DEFAULT,
                                                   sig, sig_len);
    if (rc && before == 0 && l->n == 1)
        signet_apk_lineage_free(l); /* the node _rotation_tbs started */
    signet_apk_rotation_free(&r);
    sbw_free(&oc);
    sbw_free(&nc);
    sbw_free(&di);
    return rc;
}

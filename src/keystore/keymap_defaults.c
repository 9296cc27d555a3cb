/* The built-in Android key set (docs/keys.md).  Ids come from one rule: a key
 * that is not yet in the map gets the id after the largest one in use (never
 * below 0x0100), in the order APK keys, device keys, APEX keys.  A first
 * `signet keys init --device a` therefore gives releasekey 0x0100 ... nfc 0x0107,
 * avb_a 0x0108; adding a device later appends after the maximum and leaves every
 * existing id alone. */
#include <stdio.h>
#include <string.h>

#include "ks_internal.h"
#include "signet/proto.h"

/* The APK signing keys of an AOSP release (build/make/target/product/security). */
static const char *const APK_KEYS[] = {
    "releasekey", "platform", "shared", "media", "networkstack", "bluetooth", "sdk_sandbox", "nfc",
};

static signet_rc add_one(signet_keymap *m, const char *name, const char *role, uint8_t algorithm,
                         uint16_t domains, size_t *added)
{
    if (!signet_key_name_valid(name))
        return signet_fail(SIGNET_E_ARG,
                           "'%s' would not be a valid key name: names are 1-%d characters of "
                           "A-Z a-z 0-9 _ . - (shorten the device or APEX name)",
                           name, YH_LABEL_LEN);
    if (signet_keymap_find(m, name))
        return SIGNET_OK; /* already there: keeps its id */
    signet_keymap_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", name);
    snprintf(e.role, sizeof e.role, "%s", role);
    e.algorithm = algorithm;
    e.domains = domains;
    e.id = signet_keymap_next_id(m);
    if (e.id == 0)
        return signet_fail(SIGNET_E_STATE, "no free key id is left after 0x%04x", 0xffff);
    signet_rc rc = signet_keymap_add(m, &e);
    if (rc == SIGNET_OK)
        (*added)++;
    return rc;
}

/* Device and APEX names become parts of key names. */
static signet_rc check_part(const char *what, const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n ||
        s[0] == '.' || s[0] == '-')
        return signet_fail(SIGNET_E_ARG,
                           "%s name '%.40s' is not valid: use letters, digits, _ . - "
                           "(not starting with . or -)",
                           what, s);
    return SIGNET_OK;
}

signet_rc signet_keymap_add_defaults(signet_keymap *m, const signet_keymap_defaults *d,
                                     size_t *added)
{
    size_t count = 0;
    uint8_t algo = d->algorithm ? d->algorithm : YH_ALGO_RSA_4096;
    uint16_t domains = d->domains ? d->domains : 1;
    if (!signet_key_algorithm_valid(algo))
        return signet_fail(SIGNET_E_ARG, "'%s' is not a signing key algorithm",
                           yh_algo_name(algo));
    /* avbtool and the APEX payload (an AVB image) take RSA keys only. */
    if (!yh_algo_is_rsa(algo) && (d->n_devices > 0 || d->n_apexes > 0))
        return signet_fail(SIGNET_E_ARG,
                           "AVB and APEX payload keys must be RSA: use --algorithm rsa4096 "
                           "(or rsa2048/rsa3072) with --device or --apex");
    for (size_t i = 0; i < d->n_devices; i++) {
        signet_rc rc = check_part("device", d->devices[i]);
        if (rc != SIGNET_OK)
            return rc;
    }
    for (size_t i = 0; i < d->n_apexes; i++) {
        signet_rc rc = check_part("APEX", d->apexes[i]);
        if (rc != SIGNET_OK)
            return rc;
    }

    /* All or nothing: a failure part way leaves the map as it was. */
    size_t before = m->n;
    signet_rc rc = SIGNET_OK;
    char name[SIGNET_KEY_NAME_MAX + 32];
    for (size_t i = 0; rc == SIGNET_OK && i < sizeof APK_KEYS / sizeof APK_KEYS[0]; i++)
        rc = add_one(m, APK_KEYS[i], "apk", algo, domains, &count);
    for (size_t i = 0; rc == SIGNET_OK && i < d->n_devices; i++) {
        snprintf(name, sizeof name, "avb_%.60s", d->devices[i]);
        rc = add_one(m, name, "avb", algo, domains, &count);
    }
    for (size_t i = 0; rc == SIGNET_OK && i < d->n_apexes; i++) {
        snprintf(name, sizeof name, "%.60s.container", d->apexes[i]);
        rc = add_one(m, name, "apex", algo, domains, &count);
        if (rc == SIGNET_OK) {
            snprintf(name, sizeof name, "%.60s.payload", d->apexes[i]);
            rc = add_one(m, name, "apex-payload", algo, domains, &count);
        }
    }
    if (rc != SIGNET_OK) {
        m->n = before;
        count = 0;
    }
    if (added)
        *added = count;
    return rc;
}

/* Configuration files that name keys (sign_target_files_apks.py RewriteProps,
 * ReplaceCerts): build properties go from test-keys to release-keys, and the
 * certificates in mac_permissions.xml from development to release. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "release_internal.h"

bool rl_is_build_prop(const char *m)
{
    static const char *const exact[] = {
        "SYSTEM/etc/prop.default",         "BOOT/RAMDISK/prop.default",
        "RECOVERY/RAMDISK/prop.default",   "VENDOR_BOOT/RAMDISK/default.prop",
        "VENDOR_BOOT/RAMDISK/prop.default", "ROOT/default.prop",
        "RECOVERY/RAMDISK/default.prop",
    };
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(m, exact[i]) == 0)
            return true;
    return rl_ends_with(m, "build.prop");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* EditTags: -test-keys, -dev-keys, +release-keys on a comma list, sorted, unique. */
static signet_rc edit_tags(const char *tags, size_t n, sb_wr *out)
{
    char buf[1024];
    if (n >= sizeof buf)
        return signet_fail(SIGNET_E_PARSE, "build tags of %zu bytes are too long", n);
    memcpy(buf, tags, n);
    buf[n] = 0;
    char *v[64];
    size_t k = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "test-keys") == 0 || strcmp(t, "dev-keys") == 0)
            continue;
        if (k == 63)
            return signet_fail(SIGNET_E_PARSE, "too many build tags");
        v[k++] = t;
    }
    v[k++] = "release-keys";
    qsort(v, k, sizeof *v, cmp_str);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < k; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            rc = sbw_printf(out, "%s%s", out->len && i ? "," : "", v[i]);
    return rc;
}

static signet_rc rewrite_line(const char *s, size_t n, sb_wr *out)
{
    const char *eq = memchr(s, '=', n);
    if (!n || s[0] == '#' || !eq)
        return sbw_put(out, s, n);
    size_t kl = (size_t)(eq - s);
    char key[256];
    if (kl >= sizeof key)
        return sbw_put(out, s, n);
    memcpy(key, s, kl);
    key[kl] = 0;
    const char *val = eq + 1;
    size_t vl = n - kl - 1;
    bool ro = strncmp(key, "ro.", 3) == 0;
    signet_rc rc = sbw_put(out, s, kl + 1);
    sb_wr tags;
    sbw_init(&tags, 2048);
    char sep = 0;
    if ((ro && (rl_ends_with(key, ".build.fingerprint") || rl_ends_with(key, ".build.thumbprint"))) ||
        strcmp(key, "ro.bootimage.build.fingerprint") == 0)
        sep = '/';
    else if (strcmp(key, "ro.build.description") == 0)
        sep = ' ';
    if (rc == SIGNET_OK && sep) {
        const char *last = val + vl;
        while (last > val && last[-1] != sep)
            last--;
        if (sep == ' ' && !(vl >= 5 && memcmp(val + vl - 5, "-keys", 5) == 0))
            rc = signet_fail(SIGNET_E_PARSE, "ro.build.description does not end in -keys");
        if (rc == SIGNET_OK)
            rc = sbw_put(out, val, (size_t)(last - val));
        if (rc == SIGNET_OK)
            rc = edit_tags(last, (size_t)(val + vl - last), &tags);
        if (rc == SIGNET_OK)
            rc = sbw_put(out, tags.p, tags.len);
    } else if (rc == SIGNET_OK && ro && rl_ends_with(key, ".build.tags")) {
        rc = edit_tags(val, vl, &tags);
        if (rc == SIGNET_OK)
            rc = sbw_put(out, tags.p, tags.len);
    } else if (rc == SIGNET_OK && strcmp(key, "ro.build.display.id") == 0) {
        /* "JWR66N dev-keys" -> "JWR66N" */
        const char *sp = val + vl;
        while (sp > val && sp[-1] != ' ')
            sp--;
        size_t keep = vl;
        if (sp > val && val + vl - sp >= 5 && memcmp(val + vl - 5, "-keys", 5) == 0)
            for (keep = (size_t)(sp - val); keep > 0 && val[keep - 1] == ' ';)
                keep--;
        rc = sbw_put(out, val, keep);
    } else if (rc == SIGNET_OK) {
        rc = sbw_put(out, val, vl);
    }
    sbw_free(&tags);
    return rc;
}

signet_rc rl_rewrite_props(const char *in, size_t n, sb_wr *out)
{
    /* As RewriteProps: every line stripped, joined with newlines, one at the end. */
    size_t pos = 0;
    signet_rc rc = SIGNET_OK;
    bool first = true;
    while (rc == SIGNET_OK && pos <= n) {
        const char *s = in + pos;
        const char *nl = memchr(s, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - s) : n - pos;
        if (!nl && len == 0 && !first)
            break; /* the text ended with a newline */
        pos += len + 1;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
            len--;
        while (len && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        if (!first)
            rc = sbw_u8(out, '\n');
        first = false;
        if (rc == SIGNET_OK)
            rc = rewrite_line(s, len, out);
        if (!nl)
            break;
    }
    return rc == SIGNET_OK ? sbw_u8(out, '\n') : rc;
}

static bool in_list(const char *hex, size_t n, char *const *v, size_t k, size_t step, size_t *at)
{
    for (size_t i = 0; i < k; i += step)
        if (strlen(v[i]) == n && strncasecmp(v[i], hex, n) == 0) {
            if (at)
                *at = i;
            return true;
        }
    return false;
}

/* Whether hex (a DER certificate) is one of AOSP's public test certificates. */
static bool aosp_cert(const char *hex, size_t n, const char **name)
{
    sb_wr der;
    sbw_init(&der, 1 << 16);
    uint8_t sha[32];
    bool ok = hex_decode(&der, hex, n) == SIGNET_OK &&
              EVP_Digest(der.p, der.len, sha, NULL, EVP_sha256(), NULL) == 1 &&
              (*name = signet_release_aosp_test_key(sha)) != NULL;
    sbw_free(&der);
    return ok;
}

signet_rc rl_rewrite_mac_permissions(const char *member, const char *in, size_t n,
                                     char *const *pairs, size_t n_pairs, char *const *allowed,
                                     size_t n_allowed, sb_wr *out)
{
    static const char attr[] = "signature=\"";
    size_t pos = 0, count = 0;
    signet_rc rc = SIGNET_OK;
    while (rc == SIGNET_OK && pos < n) {
        const char *s = in + pos;
        const char *hit = NULL;
        for (size_t i = 0; i + sizeof attr - 1 <= n - pos; i++)
            if (memcmp(s + i, attr, sizeof attr - 1) == 0) {
                hit = s + i;
                break;
            }
        if (!hit)
            return sbw_put(out, s, n - pos);
        const char *v = hit + sizeof attr - 1;
        const char *q = memchr(v, '"', (size_t)(in + n - v));
        if (!q)
            return signet_fail(SIGNET_E_PARSE, "%s: unterminated signature attribute", member);
        size_t vl = (size_t)(q - v), at = 0;
        const char *aosp = NULL;
        count++;
        rc = sbw_put(out, s, (size_t)(v - s));
        if (rc != SIGNET_OK)
            break;
        if (vl > 0 && v[0] == '@') /* @PLATFORM placeholders stay as the build left them */
            rc = sbw_put(out, v, vl);
        else if (in_list(v, vl, pairs, 2 * n_pairs, 2, &at))
            rc = sbw_str(out, pairs[at + 1]);
        else if (in_list(v, vl, allowed, n_allowed, 1, NULL))
            rc = sbw_put(out, v, vl);
        else if (aosp_cert(v, vl, &aosp))
            rc = signet_fail(SIGNET_E_STATE,
                             "%s: signature %zu is AOSP's public test key '%s' (its private key "
                             "is published): give --dev-cert-dir with AOSP's development "
                             "certificates so that it is replaced by its release certificate",
                             member, count, aosp);
        else
            rc = signet_fail(SIGNET_E_STATE,
                             "%s: signature %zu is a certificate that is neither a development "
                             "certificate being replaced nor a release one: give "
                             "--dev-cert-dir (where DEV_KEY.x509.pem files are) or map its key",
                             member, count);
        pos = (size_t)(q - in);
    }
    return rc;
}

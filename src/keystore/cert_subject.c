/* Certificate subjects from a template: openssl -subj style
 * ("/C=US/O=Android/CN={name}") or the comma form ("C=US, O=Android, CN={name}").
 * {name} becomes the key name; a template without CN gets CN=<name> appended, so
 * every key's certificate says which key it is. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509.h>

#include "ks_internal.h"

#define FIELD_MAX 512

/* Appends s to out, replacing every {name} with name. */
static signet_rc expand(const char *s, size_t n, const char *name, sb_wr *out)
{
    static const char tok[] = "{name}";
    size_t tl = sizeof tok - 1;
    for (size_t i = 0; i < n;) {
        if (n - i >= tl && memcmp(s + i, tok, tl) == 0) {
            signet_rc rc = sbw_str(out, name);
            if (rc != SIGNET_OK)
                return rc;
            i += tl;
        } else {
            signet_rc rc = sbw_u8(out, (uint8_t)s[i++]);
            if (rc != SIGNET_OK)
                return rc;
        }
    }
    return SIGNET_OK;
}

static signet_rc add_field(X509_NAME *xn, const char *field, size_t n, const char *name,
                           bool *has_cn)
{
    char buf[FIELD_MAX + 1];
    sb_wr w;
    sbw_init_fixed(&w, buf, FIELD_MAX);
    /* Unescape (backslash protects the separators) while copying. */
    for (size_t i = 0; i < n; i++) {
        if (field[i] == '\\' && i + 1 < n)
            i++;
        if (sbw_u8(&w, (uint8_t)field[i]) != SIGNET_OK)
            return signet_fail(SIGNET_E_ARG, "a subject field is longer than %d bytes", FIELD_MAX);
    }
    buf[w.len] = 0;
    char *eq = strchr(buf, '=');
    /* Trim the blanks the comma form puts around fields. */
    char *key = buf;
    while (*key == ' ')
        key++;
    if (!eq || eq == key)
        return signet_fail(SIGNET_E_ARG,
                           "subject field '%.64s' is not TYPE=value (e.g. /O=Example/CN={name})",
                           key);
    *eq = 0;
    char *ke = eq;
    while (ke > key && ke[-1] == ' ')
        *--ke = 0;
    const char *val = eq + 1;
    char value[FIELD_MAX + SIGNET_KEY_NAME_MAX + 1];
    sb_wr v;
    sbw_init_fixed(&v, value, sizeof value - 1);
    if (expand(val, strlen(val), name, &v) != SIGNET_OK)
        return signet_fail(SIGNET_E_ARG, "subject field %s is too long", key);
    value[v.len] = 0;
    if (v.len == 0)
        return signet_fail(SIGNET_E_ARG, "subject field %s has an empty value", key);
    if (X509_NAME_add_entry_by_txt(xn, key, MBSTRING_UTF8, (const unsigned char *)value, -1, -1,
                                   0) != 1)
        return signet_fail(SIGNET_E_ARG,
                           "subject field %s=%.64s is not accepted (unknown type, or a value of "
                           "the wrong length: C takes 2 letters)",
                           key, value);
    if (OBJ_txt2nid(key) == NID_commonName)
        *has_cn = true;
    return SIGNET_OK;
}

signet_rc signet_cert_subject(const char *tmpl, const char *name, X509_NAME **out)
{
    *out = NULL;
    if (!tmpl)
        tmpl = SIGNET_CERT_DEFAULT_SUBJECT;
    char sep = tmpl[0] == '/' ? '/' : ',';
    const char *p = tmpl[0] == '/' ? tmpl + 1 : tmpl;
    if (!*p)
        return signet_fail(SIGNET_E_ARG, "the certificate subject is empty");
    X509_NAME *xn = X509_NAME_new();
    if (!xn)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    bool has_cn = false;
    signet_rc rc = SIGNET_OK;
    while (rc == SIGNET_OK && *p) {
        size_t n = 0;
        while (p[n] && p[n] != sep) {
            if (p[n] == '\\' && p[n + 1])
                n++;
            n++;
        }
        rc = add_field(xn, p, n, name, &has_cn);
        p += n;
        if (*p == sep)
            p++;
    }
    if (rc == SIGNET_OK && !has_cn &&
        X509_NAME_add_entry_by_NID(xn, NID_commonName, MBSTRING_UTF8, (const unsigned char *)name,
                                   -1, -1, 0) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot add CN=%s to the subject", name);
    if (rc != SIGNET_OK) {
        X509_NAME_free(xn);
        return rc;
    }
    *out = xn;
    return SIGNET_OK;
}

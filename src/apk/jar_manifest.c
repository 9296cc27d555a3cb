/* MANIFEST.MF and the signature file of a v1 (JAR) signature, written as apksig's
 * V1SchemeSigner and ManifestWriter write them: CRLF lines of at most 70 bytes
 * (continuations start with a space), main attributes sorted by name after
 * Manifest-Version / Signature-Version, one section per entry sorted by name. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "jar.h"

#define LINE_MAX_BYTES 70
#define MAX_ENTRY (0xfff00000u)

signet_rc jar_digest_for(int min_sdk, bool rsa, int *md_nid)
{
    if (min_sdk >= 18) {
        *md_nid = NID_sha256;
        return SIGNET_OK;
    }
    if (!rsa)
        return signet_fail(SIGNET_E_UNSUPPORTED, "min SDK %d: Android verifies ECDSA JAR (v1) "
                                                 "signatures only from API 18; sign with an RSA "
                                                 "key or raise --min-sdk-version", min_sdk);
    *md_nid = NID_sha1;
    return SIGNET_OK;
}

void jar_signer_name(const char *in, char out[9])
{
    size_t n = 0;
    for (; in[n] && n < 8; n++) {
        char c = in[n];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        out[n] = ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_') ? c
                                                                                           : '_';
    }
    out[n] = 0;
}

/* "name: value" split into lines of LINE_MAX_BYTES (apksig ManifestWriter.writeLine). */
static signet_rc put_attr(sb_wr *w, const char *name, size_t name_len, const char *value,
                          size_t value_len)
{
    size_t total = name_len + 2 + value_len, done = 0;
    signet_rc rc = SIGNET_OK;
    bool first = true;
    while (rc == SIGNET_OK && done < total) {
        size_t chunk = first ? LINE_MAX_BYTES : LINE_MAX_BYTES - 1;
        if (chunk > total - done)
            chunk = total - done;
        if (!first)
            rc = sbw_put(w, "\r\n ", 3);
        for (size_t i = done; rc == SIGNET_OK && i < done + chunk; i++) {
            uint8_t c = i < name_len ? (uint8_t)name[i]
                      : i < name_len + 2 ? (uint8_t)": "[i - name_len]
                                         : (uint8_t)value[i - name_len - 2];
            rc = sbw_u8(w, c);
        }
        done += chunk;
        first = false;
    }
    return rc ? rc : sbw_put(w, "\r\n", 2);
}

static signet_rc put_digest_attr(sb_wr *w, int md_nid, const char *suffix, const uint8_t *data,
                                 size_t len)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    char name[64];
    if (!EVP_Digest(data, len, md, &mdlen, EVP_get_digestbynid(md_nid), NULL))
        return signet_fail(SIGNET_E_CRYPTO, "hashing for the JAR manifest failed");
    int n = EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
    snprintf(name, sizeof name, "%s-Digest%s", md_nid == NID_sha1 ? "SHA1" : "SHA-256", suffix);
    return put_attr(w, name, strlen(name), b64, (size_t)n);
}

/* ---- the input's main section (java.util.jar.Manifest, kept by apksig) ---- */

void jar_attrs_free(jar_attrs *as)
{
    for (size_t i = 0; i < as->n; i++)
        free(as->a[i].owned);
}

static signet_rc mf_fail(const char *what)
{
    return signet_fail(SIGNET_E_PARSE, "the APK's META-INF/MANIFEST.MF: %s; remove it or fix it "
                                       "(apksigner refuses it too)", what);
}

static bool name_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Reads one line (without its CRLF, LF or CR); false at the end. */
static signet_rc next_line(sb_rd *r, const uint8_t **line, size_t *len, bool *got)
{
    *got = false;
    if (sbr_left(r) == 0)
        return SIGNET_OK;
    const uint8_t *p = sbr_cur(r);
    size_t left = sbr_left(r), i = 0;
    while (i < left && p[i] != '\n' && p[i] != '\r')
        i++;
    if (i == left)
        return mf_fail("the last line has no line end");
    size_t eol = (p[i] == '\r' && i + 1 < left && p[i + 1] == '\n') ? 2 : 1;
    if (i > 511) /* java.util.jar.Manifest reads lines into 512 bytes */
        return mf_fail("a line is longer than 511 bytes");
    *line = p;
    *len = i;
    *got = true;
    return sbr_skip(r, i + eol);
}

static signet_rc attrs_add(jar_attrs *as, const uint8_t *line, size_t len)
{
    size_t c = 0;
    while (c < len && line[c] != ':')
        c++;
    if (c == 0 || c > 70 || c + 1 >= len || line[c + 1] != ' ')
        return mf_fail("a main attribute is not 'Name: value'");
    for (size_t i = 0; i < c; i++)
        if (!name_char(line[i]))
            return mf_fail("an attribute name has a character other than A-Z a-z 0-9 - _");
    /* A repeated name keeps its first spelling and takes the last value (Attributes.put). */
    for (size_t i = 0; i < as->n; i++)
        if (as->a[i].name_len == c && strncasecmp(as->a[i].name, (const char *)line, c) == 0) {
            free(as->a[i].owned);
            as->a[i].owned = NULL;
            as->a[i].value = (const char *)line + c + 2;
            as->a[i].value_len = len - c - 2;
            return SIGNET_OK;
        }
    if (as->n == JAR_MAX_ATTRS)
        return mf_fail("more than 256 main attributes");
    as->a[as->n++] = (jar_attr){(const char *)line, (const char *)line + c + 2, c, len - c - 2,
                                NULL};
    return SIGNET_OK;
}

static signet_rc attrs_continue(jar_attr *a, const uint8_t *more, size_t len)
{
    char *v = malloc(a->value_len + len + 1);
    if (!v)
        return signet_fail(SIGNET_E_NOMEM, "out of memory reading MANIFEST.MF");
    memcpy(v, a->value, a->value_len);
    memcpy(v + a->value_len, more, len);
    free(a->owned);
    a->owned = v;
    a->value = v;
    a->value_len += len;
    return SIGNET_OK;
}

signet_rc jar_parse_main(const uint8_t *mf, size_t len, jar_attrs *as)
{
    sb_rd r;
    sbr_init(&r, mf, len);
    const uint8_t *line;
    size_t ll;
    bool got;
    signet_rc rc;
    while ((rc = next_line(&r, &line, &ll, &got)) == SIGNET_OK && got && ll > 0) {
        if (line[0] == ' ') {
            if (as->n == 0)
                return mf_fail("it starts with a continuation line");
            rc = attrs_continue(&as->a[as->n - 1], line + 1, ll - 1);
        } else {
            rc = attrs_add(as, line, ll);
        }
        if (rc)
            return rc;
    }
    return rc;
}

static int by_attr_name(const void *a, const void *b)
{
    const jar_attr *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* The main section: Manifest-Version first, the rest sorted by name. */
static signet_rc put_main(sb_wr *w, jar_attrs *as)
{
    const jar_attr *version = NULL;
    for (size_t i = 0; i < as->n; i++)
        if (as->a[i].name_len == 16 && strncasecmp(as->a[i].name, "Manifest-Version", 16) == 0)
            version = &as->a[i];
    if (!version)
        return mf_fail("it has no Manifest-Version attribute");
    signet_rc rc = put_attr(w, "Manifest-Version", 16, version->value, version->value_len);
    qsort(as->a, as->n, sizeof as->a[0], by_attr_name);
    for (size_t i = 0; rc == SIGNET_OK && i < as->n; i++) {
        const jar_attr *a = &as->a[i];
        if (a->name_len == 16 && memcmp(a->name, "Manifest-Version", 16) == 0)
            continue;
        rc = put_attr(w, a->name, a->name_len, a->value, a->value_len);
    }
    return rc ? rc : sbw_put(w, "\r\n", 2);
}

/* ---- entries ---- */

size_t jar_utf8_char(const uint8_t *p, size_t n, uint32_t *cp)
{
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint8_t c = p[0];
    size_t k = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
             : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (k == 0 || k > n)
        return 0;
    uint32_t v = k == 1 ? c : (uint32_t)(c & (0xff >> (k + 1)));
    for (size_t m = 1; m < k; m++) {
        if ((p[m] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[m] & 0x3f);
    }
    if (v < least[k] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return k;
}

/* The next UTF-16 code unit of a name (-1 at its end); *low holds the second
 * half of a surrogate pair; a byte that is not UTF-8 becomes 0x10000 + byte. */
static int32_t next_unit(const uint8_t *p, size_t n, size_t *i, int32_t *low)
{
    if (*low >= 0) {
        int32_t u = *low;
        *low = -1;
        return u;
    }
    if (*i >= n)
        return -1;
    uint32_t cp;
    size_t k = jar_utf8_char(p + *i, n - *i, &cp);
    if (k == 0)
        return 0x10000 + p[(*i)++];
    *i += k;
    if (cp < 0x10000)
        return (int32_t)cp;
    cp -= 0x10000;
    *low = (int32_t)(0xdc00 + (cp & 0x3ff));
    return (int32_t)(0xd800 + (cp >> 10));
}

int jar_name_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t i = 0, k = 0;
    int32_t la = -1, lb = -1;
    for (;;) {
        int32_t x = next_unit(a, an, &i, &la), y = next_unit(b, bn, &k, &lb);
        if (x != y)
            return x < y ? -1 : 1;
        if (x < 0)
            return 0;
    }
}

static int by_name(const void *a, const void *b)
{
    const signet_zip_entry *x = *(const signet_zip_entry *const *)a;
    const signet_zip_entry *y = *(const signet_zip_entry *const *)b;
    return jar_name_cmp(x->name, x->name_len, y->name, y->name_len);
}

static signet_rc entry_section(const signet_zip *z, const signet_zip_entry *e, int md_nid,
                               sb_wr *data, sb_wr *mf, sb_wr *sf)
{
    if (memchr(e->name, '\r', e->name_len) || memchr(e->name, '\n', e->name_len) ||
        memchr(e->name, 0, e->name_len))
        return signet_fail(SIGNET_E_UNSUPPORTED, "entry name '%.*s' has a line break or NUL, "
                                                 "which a JAR manifest cannot carry",
                           (int)(e->name_len > 200 ? 200 : e->name_len), (const char *)e->name);
    sbw_reset(data);
    signet_rc rc = signet_zip_extract(z, e, MAX_ENTRY, data);
    size_t start = mf->len;
    rc = rc ? rc : put_attr(mf, "Name", 4, (const char *)e->name, e->name_len);
    rc = rc ? rc : put_digest_attr(mf, md_nid, "", data->p, data->len);
    rc = rc ? rc : sbw_put(mf, "\r\n", 2);
    /* the signature file names the section and signs its bytes */
    rc = rc ? rc : put_attr(sf, "Name", 4, (const char *)e->name, e->name_len);
    rc = rc ? rc : put_digest_attr(sf, md_nid, "", mf->p + start, mf->len - start);
    return rc ? rc : sbw_put(sf, "\r\n", 2);
}

signet_rc jar_make_manifest(const signet_zip *z, int md_nid, const char *created_by,
                            const char *apk_signed, sb_wr *mf, sb_wr *sf)
{
    jar_attrs as;
    as.n = 0;
    sb_wr data, sf_sections, src;
    sbw_init(&data, MAX_ENTRY);
    sbw_init(&sf_sections, MAX_ENTRY);
    sbw_init(&src, 1u << 24);
    const signet_zip_entry **sorted = malloc((z->n ? z->n : 1) * sizeof *sorted);
    size_t n = 0;
    signet_rc rc = sorted ? SIGNET_OK
                          : signet_fail(SIGNET_E_NOMEM, "out of memory for the JAR manifest");
    const signet_zip_entry *in_mf = signet_zip_find(z, JAR_MANIFEST);
    if (rc == SIGNET_OK && in_mf) {
        rc = signet_zip_extract(z, in_mf, src.max, &src);
        rc = rc ? rc : jar_parse_main(src.p, src.len, &as);
    } else if (rc == SIGNET_OK) {
        as.a[0] = (jar_attr){"Manifest-Version", "1.0", 16, 3, NULL};
        as.n = 1;
    }
    rc = rc ? rc : put_main(mf, &as);
    for (size_t i = 0; rc == SIGNET_OK && i < z->n; i++)
        if (apk_entry_kept(&z->e[i]))
            sorted[n++] = &z->e[i];
    if (rc == SIGNET_OK)
        qsort(sorted, n, sizeof *sorted, by_name);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        if (i > 0 && by_name(&sorted[i - 1], &sorted[i]) == 0)
            rc = signet_fail(SIGNET_E_PARSE, "the APK has two entries named '%.*s'; Android "
                                             "refuses such APKs",
                             (int)(sorted[i]->name_len > 200 ? 200 : sorted[i]->name_len),
                             (const char *)sorted[i]->name);
        else
            rc = entry_section(z, sorted[i], md_nid, &data, mf, &sf_sections);
    }
    /* the signature file's main section (V1SchemeSigner.generateSignatureFile) */
    rc = rc ? rc : put_attr(sf, "Signature-Version", 17, "1.0", 3);
    rc = rc ? rc : put_attr(sf, "Created-By", 10, created_by, strlen(created_by));
    rc = rc ? rc : put_digest_attr(sf, md_nid, "-Manifest", mf->p, mf->len);
    if (rc == SIGNET_OK && apk_signed)
        rc = put_attr(sf, "X-Android-APK-Signed", 20, apk_signed, strlen(apk_signed));
    rc = rc ? rc : sbw_put(sf, "\r\n", 2);
    rc = rc ? rc : sbw_put(sf, sf_sections.p, sf_sections.len);
    jar_attrs_free(&as);
    free(sorted);
    sbw_free(&data);
    sbw_free(&sf_sections);
    sbw_free(&src);
    return rc;
}

/* The min SDK of an APK from its binary AndroidManifest.xml (Android's resource
 * XML: a string pool, a resource id map and element chunks), as apksig's
 * ApkUtils.getMinSdkVersionFromBinaryAndroidManifest reads it: the
 * android:minSdkVersion attribute (resource id 0x0101020c) of <uses-sdk> directly
 * under <manifest>; 1 when there is none.  Also whether <manifest> declares
 * android:sharedUserId (0x0101000b), which key rotation must know. */
#include <string.h>

#include "apk_internal.h"

#define RES_XML 0x0003
#define RES_STRING_POOL 0x0001
#define RES_XML_RESOURCE_MAP 0x0180
#define RES_XML_START_ELEMENT 0x0102
#define RES_XML_END_ELEMENT 0x0103
#define ATTR_MIN_SDK 0x0101020cu
#define ATTR_SHARED_UID 0x0101000bu
#define TYPE_STRING 0x03
#define TYPE_INT_DEC 0x10
#define TYPE_INT_HEX 0x11
#define POOL_UTF8 0x100u
#define MANIFEST_MAX (4u << 20)

typedef struct {
    const uint8_t *chunk;   /* the string pool chunk */
    size_t len;
    uint32_t count, flags, strings;
    const uint8_t *ids;     /* resource map */
    uint32_t nids;
} axml;

static signet_rc bad(const char *what)
{
    return signet_fail(SIGNET_E_PARSE, "AndroidManifest.xml: %s", what);
}

/* True when string i of the pool equals the ASCII text s. */
static bool pool_is(const axml *x, uint32_t i, const char *s)
{
    if (!x->chunk || i >= x->count)
        return false;
    size_t hdr = le16(x->chunk + 2);
    if (hdr + 4 * (size_t)(i + 1) > x->len)
        return false;
    size_t off = (size_t)x->strings + le32(x->chunk + hdr + 4 * i);
    size_t n = strlen(s);
    const uint8_t *p = x->chunk + off, *end = x->chunk + x->len;
    if (off >= x->len)
        return false;
    if (x->flags & POOL_UTF8) {
        for (int k = 0; k < 2; k++) { /* UTF-16 length, then UTF-8 length */
            if (p >= end)
                return false;
            size_t l = *p & 0x7f;
            if (*p++ & 0x80) {
                if (p >= end)
                    return false;
                l = (l << 8) | *p++;
            }
            if (k == 1 && l != n)
                return false;
        }
        return (size_t)(end - p) >= n && memcmp(p, s, n) == 0;
    }
    if (end - p < 2)
        return false;
    size_t l = le16(p);
    p += 2;
    if (l & 0x8000) {
        if (end - p < 2)
            return false;
        l = ((l & 0x7fff) << 16) | le16(p);
        p += 2;
    }
    if (l != n || (size_t)(end - p) < 2 * n)
        return false;
    for (size_t k = 0; k < n; k++)
        if (le16(p + 2 * k) != (uint8_t)s[k])
            return false;
    return true;
}

/* What the walk looks for. */
typedef struct {
    bool in_manifest;
    int min_sdk;
    bool found;          /* <uses-sdk android:minSdkVersion> seen: the walk stops */
    bool shared_uid;
} facts;

/* The attribute with resource id `id` of the element chunk c (*out NULL: none). */
static signet_rc find_attr(const axml *x, const uint8_t *c, size_t clen, uint32_t id,
                           const char *elem, const uint8_t **out)
{
    uint16_t hdr = le16(c + 2);
    const uint8_t *e = c + hdr;
    uint16_t astart = le16(e + 8), asize = le16(e + 10), acount = le16(e + 12);
    *out = NULL;
    if (acount == 0)
        return SIGNET_OK;
    if (asize < 20 || (size_t)hdr + astart + (size_t)asize * acount > clen)
        return signet_fail(SIGNET_E_PARSE, "AndroidManifest.xml: attributes of <%s> run past "
                                           "their chunk", elem);
    for (uint16_t i = 0; i < acount; i++) {
        const uint8_t *a = c + hdr + astart + (size_t)asize * i;
        uint32_t an = le32(a + 4);
        if (an < x->nids && le32(x->ids + 4 * an) == id) {
            *out = a;
            return SIGNET_OK;
        }
    }
    return SIGNET_OK;
}

static signet_rc start_element(const axml *x, const uint8_t *c, size_t clen, int depth, facts *f)
{
    uint16_t hdr = le16(c + 2);
    if (clen < (size_t)hdr + 20 || hdr < 16)
        return bad("element chunk is truncated");
    const uint8_t *e = c + hdr;
    uint32_t ns = le32(e), name = le32(e + 4);
    const uint8_t *a = NULL;
    if (depth == 1) {
        f->in_manifest = ns == 0xffffffffu && pool_is(x, name, "manifest");
        signet_rc rc = f->in_manifest ? find_attr(x, c, clen, ATTR_SHARED_UID, "manifest", &a)
                                      : SIGNET_OK;
        if (rc == SIGNET_OK && f->in_manifest && a)
            f->shared_uid = true;
        return rc;
    }
    if (depth != 2 || !f->in_manifest || ns != 0xffffffffu || !pool_is(x, name, "uses-sdk"))
        return SIGNET_OK;
    signet_rc rc = find_attr(x, c, clen, ATTR_MIN_SDK, "uses-sdk", &a);
    if (rc == SIGNET_OK && a) {
        uint8_t type = a[15];
        uint32_t v = le32(a + 16);
        if (type == TYPE_INT_DEC || type == TYPE_INT_HEX) {
            if (v < 1 || v > 10000)
                return bad("android:minSdkVersion is out of range");
            f->min_sdk = (int)v;
            f->found = true;
            return SIGNET_OK;
        }
        if (type == TYPE_STRING)
            return signet_fail(SIGNET_E_UNSUPPORTED, "AndroidManifest.xml: android:minSdkVersion "
                                                     "is a codename; give --min-sdk-version");
        return bad("android:minSdkVersion is neither a number nor a codename");
    }
    return rc;
}

static signet_rc walk(const uint8_t *xml, size_t len, facts *f)
{
    memset(f, 0, sizeof *f);
    f->min_sdk = 1;
    if (len < 8 || le16(xml) != RES_XML)
        return bad("not a binary XML file");
    uint16_t hdr = le16(xml + 2);
    uint32_t total = le32(xml + 4);
    if (hdr < 8 || total > len || hdr > total)
        return bad("binary XML header is malformed");
    axml x = {0};
    int depth = 0;
    size_t off = hdr;
    while (off + 8 <= total && !f->found) {
        const uint8_t *c = xml + off;
        uint16_t type = le16(c), chdr = le16(c + 2);
        uint32_t clen = le32(c + 4);
        if (clen < 8 || chdr > clen || clen > total - off)
            return bad("a chunk runs past the end of the file");
        signet_rc rc = SIGNET_OK;
        switch (type) {
        case RES_STRING_POOL:
            if (chdr < 28)
                return bad("string pool header is truncated");
            x.chunk = c;
            x.len = clen;
            x.count = le32(c + 8);
            x.flags = le32(c + 16);
            x.strings = le32(c + 20);
            if ((uint64_t)chdr + 4ull * x.count > clen || x.strings > clen)
                return bad("string pool offsets run past the pool");
            break;
        case RES_XML_RESOURCE_MAP:
            x.ids = c + chdr;
            x.nids = (clen - chdr) / 4;
            break;
        case RES_XML_START_ELEMENT:
            depth++;
            rc = start_element(&x, c, clen, depth, f);
            break;
        case RES_XML_END_ELEMENT:
            depth--;
            break;
        default:
            break;
        }
        if (rc)
            return rc;
        off += clen;
    }
    return SIGNET_OK;
}

signet_rc signet_apk_manifest_min_sdk(const uint8_t *xml, size_t len, int *min_sdk)
{
    facts f;
    signet_rc rc = walk(xml, len, &f);
    *min_sdk = f.min_sdk;
    return rc;
}

signet_rc signet_apk_manifest_shared_uid(const uint8_t *xml, size_t len, bool *shared)
{
    facts f;
    signet_rc rc = walk(xml, len, &f);
    *shared = f.shared_uid;
    return rc;
}

/* The APK's AndroidManifest.xml, extracted. */
static signet_rc manifest_of(const uint8_t *apk, size_t len, sb_wr *xml)
{
    signet_zip z;
    signet_rc rc = signet_zip_parse(apk, len, &z);
    if (rc)
        return rc;
    const signet_zip_entry *e = signet_zip_find(&z, "AndroidManifest.xml");
    if (!e)
        rc = signet_fail(SIGNET_E_NOTFOUND, "the APK has no AndroidManifest.xml");
    else
        rc = signet_zip_extract(&z, e, MANIFEST_MAX, xml);
    signet_zip_free(&z);
    return rc;
}

signet_rc signet_apk_min_sdk(const uint8_t *apk, size_t len, int *min_sdk)
{
    sb_wr xml;
    sbw_init(&xml, MANIFEST_MAX);
    signet_rc rc = manifest_of(apk, len, &xml);
    rc = rc ? rc : signet_apk_manifest_min_sdk(xml.p, xml.len, min_sdk);
    sbw_free(&xml);
    return rc;
}

signet_rc signet_apk_shared_uid(const uint8_t *apk, size_t len, bool *shared)
{
    *shared = false;
    sb_wr xml;
    sbw_init(&xml, MANIFEST_MAX);
    signet_rc rc = manifest_of(apk, len, &xml);
    rc = rc ? rc : signet_apk_manifest_shared_uid(xml.p, xml.len, shared);
    sbw_free(&xml);
    return rc;
}

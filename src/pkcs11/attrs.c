/* Attribute semantics shared by C_GetAttributeValue and C_FindObjects. */
#include <string.h>

#include "p11.h"

/* PKCS#11 2.40 section 5.7, C_GetAttributeValue, for each entry of the template:
 *   1. sensitive: ulValueLen = CK_UNAVAILABLE_INFORMATION, CKR_ATTRIBUTE_SENSITIVE;
 *   2. not an attribute of the object: CK_UNAVAILABLE_INFORMATION,
 *      CKR_ATTRIBUTE_TYPE_INVALID;
 *   3. pValue NULL: ulValueLen = the length;
 *   4. buffer large enough: copy, ulValueLen = the length;
 *   5. otherwise: CK_UNAVAILABLE_INFORMATION, CKR_BUFFER_TOO_SMALL.
 * Every entry is processed even after one fails (callers such as SunPKCS11 ask for
 * many attributes at once and use what they get). */
CK_RV p11_get_attributes(const struct p11_object *obj, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_ATTRIBUTE *t = &tmpl[i];
        const struct p11_attr *a = p11_object_attr(obj, t->type);
        if (!a) {
            t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        } else if (a->sensitive) {
            t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_ATTRIBUTE_SENSITIVE;
        } else if (!t->pValue) {
            t->ulValueLen = a->len;
        } else if (t->ulValueLen >= a->len) {
            if (a->len)
                memcpy(t->pValue, a->val, a->len);
            t->ulValueLen = a->len;
        } else {
            t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_BUFFER_TOO_SMALL;
        }
    }
    return rv;
}

bool p11_object_matches(const struct p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        const struct p11_attr *a = p11_object_attr(obj, tmpl[i].type);
        if (!a || a->sensitive || a->len != tmpl[i].ulValueLen)
            return false;
        if (a->len && (!tmpl[i].pValue || memcmp(a->val, tmpl[i].pValue, a->len) != 0))
            return false;
    }
    return true;
}

/* Object calls: attribute reads and searches.  Private keys are visible only after
 * C_Login (CKA_PRIVATE); public keys and certificates always. */
#include <stdlib.h>
#include <string.h>

#include "p11.h"

/* The session and a visible object, or the PKCS#11 error. */
static CK_RV lookup(CK_SESSION_HANDLE hs, CK_OBJECT_HANDLE ho, struct p11_object **obj)
{
    if (!p11_session_get(hs))
        return CKR_SESSION_HANDLE_INVALID;
    *obj = p11_object_find(&p11.objects, ho);
    if (!*obj || !p11_object_visible(*obj))
        return CKR_OBJECT_HANDLE_INVALID;
    return CKR_OK;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    if (!pTemplate && ulCount)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_object *obj;
    rv = lookup(hSession, hObject, &obj);
    if (rv == CKR_OK)
        rv = p11_get_attributes(obj, pTemplate, ulCount);
    p11_leave();
    return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    if (!pulSize)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_object *obj;
    rv = lookup(hSession, hObject, &obj);
    if (rv == CKR_OK) {
        /* Nothing of it is stored on the token: the size of what it shows. */
        CK_ULONG size = 0;
        for (size_t i = 0; i < obj->n_attrs; i++)
            size += obj->attrs[i].len;
        *pulSize = size;
    }
    p11_leave();
    return rv;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    if (!pTemplate && ulCount)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (s->find.active) {
        rv = CKR_OPERATION_ACTIVE;
    } else {
        size_t n = p11.objects.n_objs;
        s->find.hits = calloc(n ? n : 1, sizeof *s->find.hits);
        if (!s->find.hits) {
            rv = CKR_HOST_MEMORY;
        } else {
            for (size_t i = 0; i < n; i++) {
                const struct p11_object *obj = &p11.objects.objs[i];
                if (p11_object_visible(obj) && p11_object_matches(obj, pTemplate, ulCount))
                    s->find.hits[s->find.n++] = obj->handle;
            }
            s->find.pos = 0;
            s->find.active = true;
        }
    }
    p11_leave();
    return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    if (!phObject || !pulObjectCount)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!s->find.active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        CK_ULONG k = 0;
        while (k < ulMaxObjectCount && s->find.pos < s->find.n)
            phObject[k++] = s->find.hits[s->find.pos++];
        *pulObjectCount = k;
    }
    p11_leave();
    return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    if (!s)
        rv = CKR_SESSION_HANDLE_INVALID;
    else if (!s->find.active)
        rv = CKR_OPERATION_NOT_INITIALIZED;
    else
        p11_find_clear(&s->find);
    p11_leave();
    return rv;
}

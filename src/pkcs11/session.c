/* PKCS#11 sessions and the token-wide login.  PKCS#11 sessions are cheap local
 * records; all of them share the one device session (device.c). */
#include <stdlib.h>
#include <string.h>

#include "p11.h"
#include "signet/proto.h"
#include "signet/secmem.h"

struct p11_session *p11_session_get(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < p11.n_sessions; i++)
        if (p11.sessions[i]->handle == h)
            return p11.sessions[i];
    return NULL;
}

bool p11_object_visible(const struct p11_object *obj)
{
    return !obj->is_private || p11.logged_in;
}

void p11_find_clear(struct p11_find *f)
{
    free(f->hits);
    memset(f, 0, sizeof *f);
}

/* Every operation of a session ends (close, logout). */
static void session_ops_clear(struct p11_session *s)
{
    p11_op_clear(&s->sign);
    p11_find_clear(&s->find);
    p11_op_clear(&s->digest);
    p11_op_clear(&s->verify);
    p11_op_clear(&s->encrypt);
    p11_op_clear(&s->decrypt);
}

static void session_free(struct p11_session *s)
{
    session_ops_clear(s);
    free(s);
}

void p11_sessions_close_all(void)
{
    for (size_t i = 0; i < p11.n_sessions; i++)
        session_free(p11.sessions[i]);
    p11.n_sessions = 0;
    /* No session left: the token returns to the public state (PKCS#11 2.40, C_CloseSession). */
    p11_device_logout();
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession)
{
    if (!phSession)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (slotID != P11_SLOT_ID) {
        rv = CKR_SLOT_ID_INVALID;
    } else if (!(flags & CKF_SERIAL_SESSION)) {
        rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    } else if (p11.n_sessions >= P11_MAX_SESSIONS) {
        rv = CKR_SESSION_COUNT;
    } else {
        if (p11.n_sessions == p11.cap_sessions) {
            size_t cap = p11.cap_sessions ? p11.cap_sessions * 2 : 16;
            struct p11_session **v = realloc(p11.sessions, cap * sizeof *v);
            if (!v) {
                rv = CKR_HOST_MEMORY;
                goto out;
            }
            p11.sessions = v;
            p11.cap_sessions = cap;
        }
        struct p11_session *s = calloc(1, sizeof *s);
        if (!s) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        s->handle = p11.next_handle++;
        s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
        p11.sessions[p11.n_sessions++] = s;
        *phSession = s->handle;
    }
out:
    p11_leave();
    return rv;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    rv = CKR_SESSION_HANDLE_INVALID;
    for (size_t i = 0; i < p11.n_sessions; i++) {
        if (p11.sessions[i]->handle != hSession)
            continue;
        session_free(p11.sessions[i]);
        p11.sessions[i] = p11.sessions[--p11.n_sessions];
        if (p11.n_sessions == 0)
            p11_device_logout();
        rv = CKR_OK;
        break;
    }
    p11_leave();
    return rv;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (slotID != P11_SLOT_ID)
        rv = CKR_SLOT_ID_INVALID;
    else
        p11_sessions_close_all();
    p11_leave();
    return rv;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    struct p11_session *s = p11_session_get(hSession);
    if (!s) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else {
        bool rw = s->flags & CKF_RW_SESSION;
        memset(pInfo, 0, sizeof *pInfo);
        pInfo->slotID = P11_SLOT_ID;
        pInfo->flags = s->flags;
        if (p11.logged_in)
            pInfo->state = rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS;
        else
            pInfo->state = rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION;
    }
    p11_leave();
    return rv;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
              CK_ULONG ulPinLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    uint16_t auth_id = 0;
    char *pw = NULL;
    if (!p11_session_get(hSession)) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (userType == CKU_CONTEXT_SPECIFIC) {
        rv = CKR_OPERATION_NOT_INITIALIZED; /* no key needs CKA_ALWAYS_AUTHENTICATE */
    } else if (userType != CKU_USER) {
        rv = CKR_USER_TYPE_INVALID; /* there is no security officer: see docs/pkcs11.md */
    } else if (p11.logged_in) {
        rv = CKR_USER_ALREADY_LOGGED_IN;
    } else if (!pPin) {
        rv = CKR_ARGUMENTS_BAD; /* no protected authentication path */
    } else if (p11_pin_parse(pPin, ulPinLen, &auth_id, &pw) != SIGNET_OK) {
        p11_warn("%s", signet_errmsg());
        rv = signet_errcode() == SIGNET_E_NOMEM ? CKR_HOST_MEMORY : CKR_PIN_INCORRECT;
        p11.pin_failed = rv == CKR_PIN_INCORRECT;
    } else {
        signet_rc rc = p11_device_login(auth_id, pw); /* takes pw, also on failure */
        if (rc == SIGNET_E_NOTFOUND && signet_err_device() == YH_ERR_OBJECT_NOT_FOUND) {
            p11_warn("there is no authentication key 0x%04x: the PIN starts with the key id "
                     "as 4 hex digits (e.g. 0001password)", auth_id);
            rv = CKR_PIN_INCORRECT;
            p11.pin_failed = true;
        } else if (rc == SIGNET_E_AUTH) {
            p11_warn("authentication key 0x%04x refused the password", auth_id);
            rv = CKR_PIN_INCORRECT;
            p11.pin_failed = true;
        } else if (rc) {
            rv = p11_rv_from(rc, "cannot log in");
        } else {
            p11.pin_failed = false;
        }
    }
    p11_leave();
    return rv;
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (!p11_session_get(hSession)) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!p11.logged_in) {
        rv = CKR_USER_NOT_LOGGED_IN;
    } else {
        /* Operations end with the login (PKCS#11 2.40, C_Logout). */
        for (size_t i = 0; i < p11.n_sessions; i++)
            session_ops_clear(p11.sessions[i]);
        p11_device_logout();
    }
    p11_leave();
    return rv;
}

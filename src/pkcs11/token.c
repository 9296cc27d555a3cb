/* The one slot, its token and the mechanism list. */
#include <stdio.h>
#include <string.h>

#include "p11.h"

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (pSlotList) {
        if (*pulCount < 1)
            rv = CKR_BUFFER_TOO_SMALL;
        else
            pSlotList[0] = P11_SLOT_ID;
    }
    *pulCount = 1;
    p11_leave();
    return rv;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (slotID != P11_SLOT_ID) {
        p11_leave();
        return CKR_SLOT_ID_INVALID;
    }
    memset(pInfo, 0, sizeof *pInfo);
    char desc[300];
    snprintf(desc, sizeof desc, "signet via %s", p11.cfg.connector);
    p11_pad(pInfo->slotDescription, sizeof pInfo->slotDescription, desc);
    p11_pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, P11_MANUFACTURER);
    pInfo->flags = CKF_TOKEN_PRESENT | CKF_HW_SLOT;
    pInfo->hardwareVersion.major = 2;
    pInfo->firmwareVersion.major = 2;
    pInfo->firmwareVersion.minor = 4;
    p11_leave();
    return CKR_OK;
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (slotID != P11_SLOT_ID) {
        p11_leave();
        return CKR_SLOT_ID_INVALID;
    }
    memset(pInfo, 0, sizeof *pInfo);
    char serial[17];
    p11_device_serial(serial);
    p11_pad(pInfo->label, sizeof pInfo->label, P11_TOKEN_LABEL);
    p11_pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, P11_MANUFACTURER);
    p11_pad(pInfo->model, sizeof pInfo->model, P11_MODEL);
    p11_pad(pInfo->serialNumber, sizeof pInfo->serialNumber, serial);
    /* Not write-protected: pkcs11-tool and libp11 open read/write sessions by habit;
     * object creation is refused function by function instead. */
    /* CKF_RNG: C_GenerateRandom asks the device (Get Pseudo Random). */
    pInfo->flags = CKF_RNG | CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
    /* A refused PIN: the device counts nothing, but tools expect the hint until
     * the next good login (PKCS#11 2.40 section 5.2). */
    if (p11.pin_failed)
        pInfo->flags |= CKF_USER_PIN_COUNT_LOW;
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    CK_ULONG rw = 0;
    for (size_t i = 0; i < p11.n_sessions; i++)
        if (p11.sessions[i]->flags & CKF_RW_SESSION)
            rw++;
    pInfo->ulSessionCount = p11.n_sessions;
    pInfo->ulRwSessionCount = rw;
    pInfo->ulMaxPinLen = P11_PIN_MAX;
    pInfo->ulMinPinLen = P11_PIN_MIN;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->hardwareVersion.major = 2;
    pInfo->firmwareVersion.major = 2;
    pInfo->firmwareVersion.minor = 4;
    p11_pad(pInfo->utcTime, sizeof pInfo->utcTime, "");
    p11_leave();
    return CKR_OK;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                         CK_ULONG_PTR pulCount)
{
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (slotID != P11_SLOT_ID) {
        p11_leave();
        return CKR_SLOT_ID_INVALID;
    }
    size_t n = p11_mech_count();
    if (pMechanismList) {
        if (*pulCount < n)
            rv = CKR_BUFFER_TOO_SMALL;
        else
            for (size_t i = 0; i < n; i++)
                pMechanismList[i] = p11_mech_at(i)->type;
    }
    *pulCount = n;
    p11_leave();
    return rv;
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    const struct p11_mech_desc *m = p11_mech_find(type);
    if (slotID != P11_SLOT_ID)
        rv = CKR_SLOT_ID_INVALID;
    else if (!m)
        rv = CKR_MECHANISM_INVALID;
    else
        p11_mech_info(m, pInfo);
    p11_leave();
    return rv;
}

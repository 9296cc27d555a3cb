/* Functions the module does not offer: object creation and change (keys are made
 * and managed with `signet keys`), token and PIN management (there is no security
 * officer), operation state, recovery and dual-function calls. */
#include "p11.h"

#define NOT_SUPPORTED return CKR_FUNCTION_NOT_SUPPORTED

CK_RV C_InitToken(CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d) { NOT_SUPPORTED; }
CK_RV C_InitPIN(CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c) { NOT_SUPPORTED; }
CK_RV C_SetPIN(CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d, CK_ULONG e)
{
    NOT_SUPPORTED;
}
CK_RV C_GetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c) { NOT_SUPPORTED; }
CK_RV C_SetOperationState(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_OBJECT_HANDLE d,
                          CK_OBJECT_HANDLE e)
{
    NOT_SUPPORTED;
}
CK_RV C_CreateObject(CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b, CK_ULONG c, CK_OBJECT_HANDLE_PTR d)
{
    NOT_SUPPORTED;
}
CK_RV C_CopyObject(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d,
                   CK_OBJECT_HANDLE_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_DestroyObject(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b) { NOT_SUPPORTED; }
CK_RV C_SetAttributeValue(CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d)
{
    NOT_SUPPORTED;
}
CK_RV C_SignRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{
    NOT_SUPPORTED;
}
CK_RV C_SignRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_VerifyRecoverInit(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c)
{
    NOT_SUPPORTED;
}
CK_RV C_VerifyRecover(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                      CK_ULONG_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_DigestEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                            CK_ULONG_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_DecryptDigestUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                            CK_ULONG_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_SignEncryptUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                          CK_ULONG_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_DecryptVerifyUpdate(CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d,
                            CK_ULONG_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_GenerateKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c, CK_ULONG d,
                    CK_OBJECT_HANDLE_PTR e)
{
    NOT_SUPPORTED;
}
CK_RV C_WrapKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_OBJECT_HANDLE d,
                CK_BYTE_PTR e, CK_ULONG_PTR f)
{
    NOT_SUPPORTED;
}
CK_RV C_UnwrapKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_BYTE_PTR d,
                  CK_ULONG e, CK_ATTRIBUTE_PTR f, CK_ULONG g, CK_OBJECT_HANDLE_PTR h)
{
    NOT_SUPPORTED;
}
CK_RV C_DeriveKey(CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_ATTRIBUTE_PTR d,
                  CK_ULONG e, CK_OBJECT_HANDLE_PTR f)
{
    NOT_SUPPORTED;
}
/* Legacy parallel-function calls. */
CK_RV C_GetFunctionStatus(CK_SESSION_HANDLE a) { return CKR_FUNCTION_NOT_PARALLEL; }
CK_RV C_CancelFunction(CK_SESSION_HANDLE a) { return CKR_FUNCTION_NOT_PARALLEL; }
CK_RV C_WaitForSlotEvent(CK_FLAGS a, CK_SLOT_ID_PTR b, CK_VOID_PTR c) { NOT_SUPPORTED; }

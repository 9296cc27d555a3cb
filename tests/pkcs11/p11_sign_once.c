/* p11_sign_once MODULE KEY: loads the module, logs in with $P11_PIN (default
 * 0001password), makes one SHA256-RSA-PKCS / ECDSA-SHA256 signature with KEY and
 * exits WITHOUT C_Logout, C_CloseSession or C_Finalize, the way apksigner does.
 * The module's exit handler must give the device session back.  Exit 0 on success. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static int die(const char *what, CK_RV rv)
{
    fprintf(stderr, "p11_sign_once: %s failed: 0x%lx\n", what, (unsigned long)rv);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: p11_sign_once MODULE KEY\n");
        return 2;
    }
    void *dl = dlopen(argv[1], RTLD_NOW);
    if (!dl) {
        fprintf(stderr, "p11_sign_once: %s\n", dlerror());
        return 1;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
    CK_FUNCTION_LIST *f;
    CK_RV rv;
    if (!get || (rv = get(&f)) != CKR_OK)
        return die("C_GetFunctionList", 0);
    if ((rv = f->C_Initialize(NULL)))
        return die("C_Initialize", rv);
    CK_SESSION_HANDLE s;
    if ((rv = f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s)))
        return die("C_OpenSession", rv);
    const char *pin = getenv("P11_PIN") ? getenv("P11_PIN") : "0001password";
    if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))))
        return die("C_Login", rv);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_LABEL, argv[2], strlen(argv[2])}};
    CK_OBJECT_HANDLE key;
    CK_ULONG n = 0;
    if ((rv = f->C_FindObjectsInit(s, t, 2)) || (rv = f->C_FindObjects(s, &key, 1, &n)) || n != 1)
        return die("finding the key", rv);
    CK_KEY_TYPE kt;
    CK_ATTRIBUTE a = {CKA_KEY_TYPE, &kt, sizeof kt};
    if ((rv = f->C_GetAttributeValue(s, key, &a, 1)))
        return die("C_GetAttributeValue", rv);
    CK_MECHANISM m = {kt == CKK_RSA ? CKM_SHA256_RSA_PKCS : CKM_ECDSA_SHA256, NULL, 0};
    unsigned char sig[1024];
    CK_ULONG len = sizeof sig;
    if ((rv = f->C_SignInit(s, &m, key)) || (rv = f->C_Sign(s, (CK_BYTE_PTR)"data", 4, sig, &len)))
        return die("signing", rv);
    return 0; /* no C_Finalize, on purpose */
}

/* Module life cycle: C_GetFunctionList, C_Initialize, C_Finalize, C_GetInfo, the
 * module lock, fork safety and the close-at-exit of the device session.
 *
 * Why close at exit: apksigner (SunPKCS11) never closes its sessions, never logs
 * out and never calls C_Finalize, and a build signs with it hundreds of times in a
 * row.  The YubiHSM has 16 sessions that time out after 30 s idle, so one leaked
 * device session per run would exhaust it.  An atexit handler closes the device
 * session however the process ends normally. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "p11.h"
#include "signet/secmem.h"

struct p11_module p11 = {.lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

/* ---- errors --------------------------------------------------------------------------- */
void p11_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("signet-pkcs11: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

CK_RV p11_rv_from(signet_rc rc, const char *what)
{
    p11_warn("%s: %s", what, signet_errmsg());
    switch (rc) {
    case SIGNET_OK: return CKR_OK;
    case SIGNET_E_NOMEM: return CKR_HOST_MEMORY;
    case SIGNET_E_ARG: return CKR_ARGUMENTS_BAD;
    case SIGNET_E_NET:
    case SIGNET_E_DEVICE:
    case SIGNET_E_BUSY:
    case SIGNET_E_VERIFY: return CKR_DEVICE_ERROR;
    default: return CKR_FUNCTION_FAILED;
    }
}

void p11_pad(unsigned char *dst, size_t len, const char *src)
{
    size_t n = strlen(src);
    memset(dst, ' ', len);
    memcpy(dst, src, n < len ? n : len);
}

/* ---- fork and exit ------------------------------------------------------------------- */
static void atfork_prepare(void) { pthread_mutex_lock(&p11.lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&p11.lock); }

/* The child keeps the login and its sessions but not the parent's device session:
 * it opens its own at its first signature. */
static void atfork_child(void)
{
    if (p11.initialized && p11.pid != getpid()) {
        p11_device_forget();
        p11_caller_reset();
        p11.pid = getpid();
    }
    pthread_mutex_unlock(&p11.lock);
}

static void close_at_exit(void)
{
    /* Another thread may be in the middle of a signature: wait for it a little, but
     * never hang the exit (the device times an abandoned session out). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    if (pthread_mutex_timedlock(&p11.lock, &ts) != 0)
        return;
    if (p11.initialized && p11.pid == getpid())
        p11_device_logout();
    pthread_mutex_unlock(&p11.lock);
}

static void setup(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
    /* OpenSSL cleans up in its own atexit handler, registered by its first full
     * initialisation; exit handlers run last-registered first.  Initialising it here
     * (options 0 would return early without registering anything) makes its handler
     * run after ours, so closing the session can still use the crypto. */
    OPENSSL_init_crypto(OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS, NULL);
    atexit(close_at_exit);
}

CK_RV p11_enter(void)
{
    pthread_mutex_lock(&p11.lock);
    if (!p11.initialized) {
        pthread_mutex_unlock(&p11.lock);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    /* Fallback for a fork that bypassed the atfork handlers (a raw clone). */
    if (p11.pid != getpid()) {
        p11_device_forget();
        p11_caller_reset();
        p11.pid = getpid();
    }
    return CKR_OK;
}

void p11_leave(void) { pthread_mutex_unlock(&p11.lock); }

/* ---- C_Initialize / C_Finalize / C_GetInfo -------------------------------------------- */
CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    if (pInitArgs) {
        CK_C_INITIALIZE_ARGS *a = pInitArgs;
        if (a->pReserved)
            return CKR_ARGUMENTS_BAD;
        int given = !!a->CreateMutex + !!a->DestroyMutex + !!a->LockMutex + !!a->UnlockMutex;
        if (given != 0 && given != 4)
            return CKR_ARGUMENTS_BAD;
        /* The module locks with pthreads; it cannot use the caller's mutexes. */
        if (given == 4 && !(a->flags & CKF_OS_LOCKING_OK))
            return CKR_CANT_LOCK;
    }
    pthread_once(&setup_once, setup);
    pthread_mutex_lock(&p11.lock);
    CK_RV rv = CKR_OK;
    if (p11.initialized) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
        goto out;
    }
    signet_rc rc = signet_config_load(NULL, &p11.cfg);
    if (rc == SIGNET_OK) {
        /* Stat first: a key map rewritten during the load is read again later. */
        p11_keymap_stat(p11.cfg.keystore, &p11.keymap_stat);
        rc = p11_objects_load(p11.cfg.keystore, &p11.objects);
    }
    if (rc) {
        rv = p11_rv_from(rc, "cannot start");
        if (rv == CKR_ARGUMENTS_BAD)
            rv = CKR_GENERAL_ERROR;
        goto out;
    }
    p11.pid = getpid();
    p11.next_handle = 1;
    p11.initialized = true;
out:
    pthread_mutex_unlock(&p11.lock);
    return rv;
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    if (pReserved)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    p11_sessions_close_all();
    p11_device_logout();
    p11_objects_free(&p11.objects);
    free(p11.sessions);
    p11.sessions = NULL;
    p11.n_sessions = p11.cap_sessions = 0;
    p11_caller_reset();
    p11.serial_known = false;
    p11.pin_failed = false;
    p11.initialized = false;
    p11_leave();
    return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    memset(pInfo, 0, sizeof *pInfo);
    pInfo->cryptokiVersion.major = 2;
    pInfo->cryptokiVersion.minor = 40;
    p11_pad(pInfo->manufacturerID, sizeof pInfo->manufacturerID, P11_MANUFACTURER);
    p11_pad(pInfo->libraryDescription, sizeof pInfo->libraryDescription, P11_LIB_DESCRIPTION);
    pInfo->libraryVersion.major = SIGNET_VERSION_MAJOR;
    pInfo->libraryVersion.minor = SIGNET_VERSION_MINOR;
    p11_leave();
    return CKR_OK;
}

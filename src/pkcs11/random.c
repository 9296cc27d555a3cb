/* C_GenerateRandom through the device's random number generator (Get Pseudo
 * Random on the shared device session), so the token claims CKF_RNG.  The
 * device cannot be seeded: C_SeedRandom answers CKR_RANDOM_SEED_NOT_SUPPORTED,
 * the spec's answer for a token with an RNG that takes no seed.  The session
 * handle is checked before anything else. */
#include <string.h>

#include "p11.h"
#include "signet/client.h"

/* Get Pseudo Random answers at most this much in one response frame. */
#define RANDOM_CHUNK 2000

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    if (!p11_session_get(hSession))
        rv = CKR_SESSION_HANDLE_INVALID;
    else if (!pSeed && ulSeedLen)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = CKR_RANDOM_SEED_NOT_SUPPORTED;
    p11_leave();
    return rv;
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pRandomData, CK_ULONG ulRandomLen)
{
    CK_RV rv = p11_enter();
    if (rv)
        return rv;
    signet_signer *signer = NULL;
    if (!p11_session_get(hSession)) {
        rv = CKR_SESSION_HANDLE_INVALID;
    } else if (!pRandomData && ulRandomLen) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (ulRandomLen == 0) {
        rv = CKR_OK;
    } else if (!p11.logged_in) {
        /* The device's RNG is reached through an authenticated session. */
        rv = CKR_USER_NOT_LOGGED_IN;
    } else {
        signet_rc rc = p11_device_signer(&signer);
        hsm_session *hs = rc ? NULL : signet_signer_session(signer);
        if (rc == SIGNET_OK && !hs) /* backend = pkcs11: ask that token directly */
            rc = signet_fail(SIGNET_E_ARG, "random bytes come from a YubiHSM only");
        for (CK_ULONG done = 0; rc == SIGNET_OK && done < ulRandomLen;) {
            size_t n = ulRandomLen - done > RANDOM_CHUNK ? RANDOM_CHUNK : ulRandomLen - done;
            rc = hsm_get_pseudo_random(hs, n, pRandomData + done);
            done += n;
        }
        if (rc) {
            memset(pRandomData, 0, ulRandomLen);
            rv = p11_rv_from(rc, "asking the HSM for random bytes (the login needs "
                                 "get-pseudo-random)");
        }
    }
    p11_leave();
    return rv;
}

/* One fixed, listed set of PKCS#11 conformance checks, run the same way against
 * any module (signet's and SoftHSM2's in test_p11_conformance).  Every check
 * applies to a token without a security officer and without plaintext key
 * import: the token must hold an RSA key pair and an EC P-256 key pair, and
 * the user PIN is given. */
#ifndef SIGNET_TEST_P11_CONFORMANCE_H
#define SIGNET_TEST_P11_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>

#include <p11-kit/pkcs11.h>

#define P11C_MAX_CHECKS 64

struct p11c_result {
    size_t n;                            /* checks run */
    size_t passed;
    const char *name[P11C_MAX_CHECKS];
    bool ok[P11C_MAX_CHECKS];
};

/* Runs every check against slot of the (initialised) module f.  Prints one line
 * per check ("PASS name" / "FAIL name: why") prefixed by tag. */
void p11c_run(CK_FUNCTION_LIST *f, CK_SLOT_ID slot, const char *pin, const char *tag,
              struct p11c_result *out);

#endif

/* The login PIN: the yubihsm_pkcs11 form "0001password", i.e. the authentication
 * key id as 4 hex digits followed by its password, so that tools written for
 * Yubico's module work unchanged. */
#include <string.h>

#include "p11.h"
#include "signet/secmem.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

signet_rc p11_pin_parse(const uint8_t *pin, size_t len, uint16_t *auth_id, char **password_out)
{
    *password_out = NULL;
    if (!pin || len < P11_PIN_MIN || len > P11_PIN_MAX)
        return signet_fail(SIGNET_E_ARG,
                           "the PIN must be the authentication key id as 4 hex digits followed "
                           "by its password (e.g. 0001password), %d to %d characters",
                           P11_PIN_MIN, P11_PIN_MAX);
    unsigned id = 0;
    for (size_t i = 0; i < P11_PIN_ID_DIGITS; i++) {
        int v = hexval(pin[i]);
        if (v < 0)
            return signet_fail(SIGNET_E_ARG,
                               "the PIN must start with the authentication key id as 4 hex "
                               "digits (e.g. 0001password)");
        id = id << 4 | (unsigned)v;
    }
    if (id == 0)
        return signet_fail(SIGNET_E_ARG, "authentication key id 0000 does not exist: the PIN "
                                         "starts with the key id, e.g. 0001password");
    size_t plen = len - P11_PIN_ID_DIGITS;
    if (memchr(pin + P11_PIN_ID_DIGITS, 0, plen))
        return signet_fail(SIGNET_E_ARG, "the PIN's password part contains a NUL byte");
    char *pw = smem_alloc(plen + 1);
    if (!pw)
        return signet_fail(SIGNET_E_NOMEM, "cannot allocate locked memory for the password");
    memcpy(pw, pin + P11_PIN_ID_DIGITS, plen);
    pw[plen] = 0;
    *auth_id = (uint16_t)id;
    *password_out = pw;
    return SIGNET_OK;
}

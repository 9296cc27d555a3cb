/* Signing cache entries and private key files are bytes from outside the process:
 * a cache directory anyone with write access could fill, a key file the user names.
 * Neither parser may crash or read out of bounds; a cache entry that parses must
 * format back to exactly the bytes given (the format has one encoding). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sign/sign_internal.h"
#include "signet/keystore.h"

static signet_rc no_password(void *ctx, char **out)
{
    (void)ctx;
    *out = NULL;
    return signet_fail(SIGNET_E_AUTH, "no password in the fuzzer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sign_cache_entry e;
    if (sign_cache_entry_parse(data, size, &e) == SIGNET_OK) {
        uint8_t buf[1024];
        sb_wr w;
        sbw_init_fixed(&w, buf, sizeof buf);
        if (sign_cache_entry_format(&e, &w) != SIGNET_OK || w.len != size ||
            memcmp(buf, data, size) != 0)
            abort();
    }
    EVP_PKEY *k = NULL;
    if (signet_key_parse_private(data, size, no_password, NULL, &k) == SIGNET_OK) {
        uint8_t algo;
        (void)signet_key_algorithm_of(k, &algo);
        EVP_PKEY_free(k);
    }
    signet_err_clear();
    return 0;
}

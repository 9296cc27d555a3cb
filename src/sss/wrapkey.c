/* The 52-byte wrap-key blob of yubihsm-setup and signet's check value for it:
 * see include/signet/sss.h. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "signet/secmem.h"
#include "signet/sss.h"

static const char CHECK_LABEL[] = "signet wrap-key check v1";

signet_rc sss_wrapkey_encode(const sss_wrapkey *wk, sb_wr *out)
{
    size_t start = out->len;
    signet_rc rc;
    if ((rc = sbw_u16(out, wk->id)) || (rc = sbw_u16(out, wk->domains)) ||
        (rc = sbw_u64(out, wk->capabilities)) || (rc = sbw_u64(out, wk->delegated)) ||
        (rc = sbw_put(out, wk->key, sizeof wk->key))) {
        out->len = start;
        return rc;
    }
    return SIGNET_OK;
}

signet_rc sss_wrapkey_decode(const uint8_t *blob, size_t len, sss_wrapkey *out)
{
    memset(out, 0, sizeof *out);
    if (len != SSS_WRAPKEY_BLOB_LEN)
        return signet_fail(SIGNET_E_PARSE,
                           "the recovered secret is %zu bytes, but a wrap-key blob is %d: "
                           "these shares are not of a YubiHSM wrap key",
                           len, SSS_WRAPKEY_BLOB_LEN);
    sb_rd r;
    sbr_init(&r, blob, len);
    signet_rc rc;
    if ((rc = sbr_u16(&r, &out->id)) || (rc = sbr_u16(&r, &out->domains)) ||
        (rc = sbr_u64(&r, &out->capabilities)) || (rc = sbr_u64(&r, &out->delegated)) ||
        (rc = sbr_copy(&r, out->key, sizeof out->key)) || (rc = sbr_end(&r))) {
        smem_wipe(out, sizeof *out);
        return rc;
    }
    return SIGNET_OK;
}

signet_rc sss_wrapkey_check(const sss_wrapkey *wk, uint8_t check[SSS_WRAPKEY_CHECK_LEN])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, wk->key, sizeof wk->key,
                   (const unsigned char *)CHECK_LABEL, strlen(CHECK_LABEL), mac, sizeof mac,
                   &maclen) ||
        maclen < SSS_WRAPKEY_CHECK_LEN)
        return signet_fail(SIGNET_E_CRYPTO, "computing the wrap key's check value failed");
    memcpy(check, mac, SSS_WRAPKEY_CHECK_LEN);
    smem_wipe(mac, sizeof mac);
    return SIGNET_OK;
}

signet_rc sss_wrapkey_verify(const sss_wrapkey *wk, const uint8_t expected[SSS_WRAPKEY_CHECK_LEN])
{
    uint8_t got[SSS_WRAPKEY_CHECK_LEN];
    signet_rc rc = sss_wrapkey_check(wk, got);
    if (rc)
        return rc;
    if (CRYPTO_memcmp(got, expected, sizeof got) != 0)
        return signet_fail(SIGNET_E_VERIFY,
                           "the restored wrap key does not match its recorded check value: a "
                           "share is wrong or from another ceremony; do not import this key, "
                           "retry with other shares");
    return SIGNET_OK;
}

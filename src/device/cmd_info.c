/* Device-wide commands: echo, device info, storage info, pseudo-random bytes,
 * reset, blink and close session. */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dev.h"

/* What Device Info with argument 01 answers: the chip designator of the real
 * device; the emulator names itself.  yubihsm-shell's yh_util_get_partnumber
 * refuses answers shorter than 12 bytes, so this is 12 (docs/emulator.md). */
#define DEV_PART_NUMBER "SIGNET-HSM24"

uint8_t cmd_echo(dev_req *rq)
{
    if (rq->len == 0)
        return YH_ERR_INVALID_DATA;
    return sbw_put(rq->out, rq->data, rq->len) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

/* Algorithms the emulator implements, in number order. */
static signet_rc put_algorithms(sb_wr *w)
{
    static const uint8_t fixed[] = {
        YH_ALGO_RSA_PKCS1_SHA1, YH_ALGO_RSA_PKCS1_SHA256, YH_ALGO_RSA_PKCS1_SHA384,
        YH_ALGO_RSA_PKCS1_SHA512, YH_ALGO_RSA_PSS_SHA1, YH_ALGO_RSA_PSS_SHA256,
        YH_ALGO_RSA_PSS_SHA384, YH_ALGO_RSA_PSS_SHA512, YH_ALGO_RSA_2048, YH_ALGO_RSA_3072,
        YH_ALGO_RSA_4096, YH_ALGO_EC_P256, YH_ALGO_EC_P384, YH_ALGO_EC_P521, YH_ALGO_EC_K256,
        YH_ALGO_EC_BP256, YH_ALGO_EC_BP384, YH_ALGO_EC_BP512, YH_ALGO_HMAC_SHA1,
        YH_ALGO_HMAC_SHA256, YH_ALGO_HMAC_SHA384, YH_ALGO_HMAC_SHA512, YH_ALGO_EC_ECDSA_SHA1,
        YH_ALGO_EC_ECDH, YH_ALGO_RSA_OAEP_SHA1, YH_ALGO_RSA_OAEP_SHA256, YH_ALGO_RSA_OAEP_SHA384,
        YH_ALGO_RSA_OAEP_SHA512, YH_ALGO_AES128_CCM_WRAP, YH_ALGO_OPAQUE_DATA,
        YH_ALGO_OPAQUE_X509_CERTIFICATE, YH_ALGO_MGF1_SHA1, YH_ALGO_MGF1_SHA256,
        YH_ALGO_MGF1_SHA384, YH_ALGO_MGF1_SHA512, YH_ALGO_AES128_YUBICO_AUTHENTICATION,
        YH_ALGO_AES192_CCM_WRAP, YH_ALGO_AES256_CCM_WRAP, YH_ALGO_EC_ECDSA_SHA256,
        YH_ALGO_EC_ECDSA_SHA384, YH_ALGO_EC_ECDSA_SHA512, YH_ALGO_EC_ED25519, YH_ALGO_EC_P224,
        YH_ALGO_RSA_PKCS1_DECRYPT, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION, YH_ALGO_AES128,
        YH_ALGO_AES192, YH_ALGO_AES256, YH_ALGO_AES_ECB, YH_ALGO_AES_CBC,
    };
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; i < sizeof fixed && !rc; i++) {
        uint8_t a = fixed[i];
        /* curves only when this OpenSSL has them */
        if ((yh_algo_is_ec(a) || a == YH_ALGO_EC_ED25519) && !dev_algo_asym_supported(a))
            continue;
        rc = sbw_u8(w, a);
    }
    return rc;
}

uint8_t cmd_device_info(dev_req *rq)
{
    if (rq->len == 1 && rq->data[0] == 0x01)
        return sbw_str(rq->out, DEV_PART_NUMBER) ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
    if (rq->len != 0)
        return YH_ERR_INVALID_DATA;
    dev_state *st = rq->dev->st;
    signet_rc rc = sbw_u8(rq->out, DEV_VERSION_MAJOR);
    if (!rc) rc = sbw_u8(rq->out, DEV_VERSION_MINOR);
    if (!rc) rc = sbw_u8(rq->out, DEV_VERSION_PATCH);
    if (!rc) rc = sbw_u32(rq->out, st->serial);
    if (!rc) rc = sbw_u8(rq->out, YH_LOG_CAPACITY);
    if (!rc) rc = sbw_u8(rq->out, (uint8_t)st->log.n);
    if (!rc) rc = put_algorithms(rq->out);
    return rc ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_storage_info(dev_req *rq)
{
    if (rq->len != 0)
        return YH_ERR_WRONG_LENGTH;
    dev_state *st = rq->dev->st;
    unsigned used_pages = dev_used_pages(st);
    signet_rc rc = sbw_u16(rq->out, YH_MAX_OBJECTS);
    if (!rc) rc = sbw_u16(rq->out, (uint16_t)(YH_MAX_OBJECTS - dev_used_records(st)));
    if (!rc) rc = sbw_u16(rq->out, YH_STORAGE_PAGES);
    if (!rc) rc = sbw_u16(rq->out, (uint16_t)(used_pages > YH_STORAGE_PAGES
                                                  ? 0 : YH_STORAGE_PAGES - used_pages));
    if (!rc) rc = sbw_u16(rq->out, YH_PAGE_SIZE);
    return rc ? YH_ERR_WRONG_LENGTH : YH_ERR_OK;
}

uint8_t cmd_get_pseudo_random(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_GET_PSEUDO_RANDOM))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (rq->len != 2)
        return YH_ERR_WRONG_LENGTH;
    uint16_t n = be16(rq->data);
    uint8_t *dst;
    /* Larger than one response can carry: the dispatcher answers wrong length. */
    if (sbw_reserve(rq->out, n, &dst) != SIGNET_OK)
        return YH_ERR_WRONG_LENGTH;
    return RAND_bytes(dst, n) == 1 || n == 0 ? YH_ERR_OK : YH_ERR_COMMAND_UNEXECUTED;
}

uint8_t cmd_reset_device(dev_req *rq)
{
    if (!dev_session_has_cap(rq->dev, rq->sess, YH_CAP_RESET_DEVICE))
        return YH_ERR_INSUFFICIENT_PERMISSIONS;
    if (rq->len != 0)
        return YH_ERR_WRONG_LENGTH;
    rq->reset_after = true;
    return YH_ERR_OK;
}

/* Blink Device: seconds(1), exactly (libyubihsm's yh_util_blink_device and
 * python-yubihsm's blink_device always send the byte).  The emulator has no
 * LED; it accepts and answers. */
uint8_t cmd_blink(dev_req *rq)
{
    if (rq->len != 1)
        return YH_ERR_WRONG_LENGTH;
    return YH_ERR_OK;
}

uint8_t cmd_close_session(dev_req *rq)
{
    if (rq->len != 0)
        return YH_ERR_WRONG_LENGTH;
    rq->close_after = true;
    return YH_ERR_OK;
}

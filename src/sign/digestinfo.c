/* DigestInfo encoding and the PKCS#1 v1.5 type-1 block check: see digestinfo.h. */
#include <string.h>

#include <openssl/objects.h>

#include "signet/digestinfo.h"

static const struct {
    int nid;
    size_t len;
    uint8_t prefix[19];
    size_t prefix_len;
} TABLE[] = {
    {NID_sha1, 20, {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
                    0x04, 0x14}, 15},
    {NID_sha256, 32, {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                      0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, 19},
    {NID_sha384, 48, {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                      0x02, 0x02, 0x05, 0x00, 0x04, 0x30}, 19},
    {NID_sha512, 64, {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
                      0x02, 0x03, 0x05, 0x00, 0x04, 0x40}, 19},
};
#define N_TABLE (sizeof TABLE / sizeof TABLE[0])

signet_rc signet_digestinfo_encode(int md_nid, const uint8_t *digest, size_t len, sb_wr *out)
{
    for (size_t i = 0; i < N_TABLE; i++) {
        if (TABLE[i].nid != md_nid)
            continue;
        if (len != TABLE[i].len)
            return signet_fail(SIGNET_E_ARG, "a %s digest has %zu bytes, not %zu",
                               OBJ_nid2sn(md_nid), TABLE[i].len, len);
        signet_rc rc = sbw_put(out, TABLE[i].prefix, TABLE[i].prefix_len);
        return rc ? rc : sbw_put(out, digest, len);
    }
    return signet_fail(SIGNET_E_UNSUPPORTED, "no DigestInfo for hash %s", OBJ_nid2sn(md_nid));
}

signet_rc signet_digestinfo_parse(const uint8_t *p, size_t len, int *md_nid,
                                  const uint8_t **digest, size_t *digest_len)
{
    for (size_t i = 0; i < N_TABLE; i++) {
        if (len == TABLE[i].prefix_len + TABLE[i].len &&
            memcmp(p, TABLE[i].prefix, TABLE[i].prefix_len) == 0) {
            *md_nid = TABLE[i].nid;
            *digest = p + TABLE[i].prefix_len;
            *digest_len = TABLE[i].len;
            return SIGNET_OK;
        }
    }
    return signet_fail(SIGNET_E_PARSE,
                       "not a DigestInfo of SHA-1, SHA-256, SHA-384 or SHA-512 (%zu bytes)", len);
}

signet_rc signet_pkcs1_block_parse(const uint8_t *block, size_t block_len,
                                   const uint8_t **digestinfo, size_t *di_len, int *md_nid)
{
    if (block_len < 11 || block[0] != 0x00 || block[1] != 0x01)
        return signet_fail(SIGNET_E_PARSE,
                           "the input is not a PKCS#1 v1.5 signature block (must start 00 01)");
    size_t i = 2;
    while (i < block_len && block[i] == 0xff)
        i++;
    if (i - 2 < 8 || i >= block_len || block[i] != 0x00)
        return signet_fail(SIGNET_E_PARSE, "the PKCS#1 v1.5 padding is malformed (need at least "
                                           "8 bytes of FF, then 00)");
    const uint8_t *d;
    size_t dlen;
    signet_rc rc = signet_digestinfo_parse(block + i + 1, block_len - i - 1, md_nid, &d, &dlen);
    if (rc)
        return signet_wrap(rc, "inside the PKCS#1 v1.5 block");
    *digestinfo = block + i + 1;
    *di_len = block_len - i - 1;
    return SIGNET_OK;
}

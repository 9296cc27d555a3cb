/* The AVB footer (libavb avb_footer.c): the last 64 bytes of a partition image.
 *   "AVBf" | u32 major | u32 minor | u64 original image size | u64 vbmeta offset |
 *   u64 vbmeta size | 28 reserved bytes                        (big-endian) */
#include <string.h>

#include "signet/avb.h"

signet_rc signet_avb_footer_parse(const uint8_t *image, size_t len, signet_avb_footer *f)
{
    if (len < SIGNET_AVB_FOOTER_SIZE)
        return signet_fail(SIGNET_E_PARSE, "image of %zu bytes is too short for an AVB footer",
                           len);
    const uint8_t *p = image + len - SIGNET_AVB_FOOTER_SIZE;
    if (memcmp(p, "AVBf", 4) != 0)
        return signet_fail(SIGNET_E_PARSE, "the image does not end with an AVB footer");
    f->version_major = be32(p + 4);
    f->version_minor = be32(p + 8);
    f->original_image_size = be64(p + 12);
    f->vbmeta_offset = be64(p + 20);
    f->vbmeta_size = be64(p + 28);
    if (f->version_major != 1)
        return signet_fail(SIGNET_E_UNSUPPORTED, "AVB footer version %u.%u is not supported",
                           f->version_major, f->version_minor);
    uint64_t room = len - SIGNET_AVB_FOOTER_SIZE;
    if (f->vbmeta_offset > room || f->vbmeta_size > room - f->vbmeta_offset)
        return signet_fail(SIGNET_E_PARSE,
                           "AVB footer points at vbmeta [%llu, +%llu) outside the image of %zu "
                           "bytes",
                           (unsigned long long)f->vbmeta_offset,
                           (unsigned long long)f->vbmeta_size, len);
    if (f->vbmeta_size < SIGNET_AVB_HEADER_SIZE || f->vbmeta_size > SIGNET_AVB_MAX_VBMETA)
        return signet_fail(SIGNET_E_PARSE, "AVB footer gives a vbmeta size of %llu bytes",
                           (unsigned long long)f->vbmeta_size);
    if (f->original_image_size > f->vbmeta_offset)
        return signet_fail(SIGNET_E_PARSE,
                           "AVB footer: the original image (%llu bytes) overlaps the vbmeta at "
                           "%llu",
                           (unsigned long long)f->original_image_size,
                           (unsigned long long)f->vbmeta_offset);
    return SIGNET_OK;
}

void signet_avb_footer_encode(const signet_avb_footer *f, uint8_t out[SIGNET_AVB_FOOTER_SIZE])
{
    memset(out, 0, SIGNET_AVB_FOOTER_SIZE);
    memcpy(out, "AVBf", 4);
    put_be32(out + 4, f->version_major);
    put_be32(out + 8, f->version_minor);
    put_be64(out + 12, f->original_image_size);
    put_be64(out + 20, f->vbmeta_offset);
    put_be64(out + 28, f->vbmeta_size);
}

/* Fuzzes the ZIP reader and the APK verifier (untrusted APKs, OTA packages and
 * target-files members): the end record, central directory and local headers,
 * the APK Signing Block and its scheme blocks, the apksigner output layout, the
 * binary AndroidManifest.xml reader (min SDK, shared UID), the v4 .idsig parser
 * (with its v3.1 signing info) and the key-rotation lineage reader (file and v3
 * attribute encodings).  Seeds: a signed APK, a v3.1-rotated one, a manifest. */
#include <stdint.h>
#include <string.h>

#include "apk/apk_internal.h"
#include "signet/apk.h"
#include "signet/apk_lineage.h"
#include "signet/zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    signet_zip z;
    if (signet_zip_parse(data, size, &z) == SIGNET_OK) {
        apk_layout l;
        if (apk_layout_build(&z, 4096, size & 1, size & 2, &l) == SIGNET_OK)
            apk_layout_free(&l);
        for (size_t i = 0; i < z.n && i < 4; i++) {
            sb_wr out;
            sbw_init(&out, 1 << 16);
            (void)signet_zip_extract(&z, &z.e[i], 1 << 16, &out);
            sbw_free(&out);
        }
        signet_zip_free(&z);
    }
    signet_apk_verify_result r;
    /* the input as an APK, and its second half as the .idsig of its first half */
    (void)signet_apk_verify(data, size, NULL, 0, 24, &r);
    (void)signet_apk_verify(data, size / 2, data + size / 2, size - size / 2, 24, &r);
    uint8_t sha[32];
    (void)signet_ota_verify(data, size, NULL, 0, sha);
    int sdk;
    (void)signet_apk_manifest_min_sdk(data, size, &sdk);
    bool shared;
    (void)signet_apk_manifest_shared_uid(data, size, &shared);
    signet_apk_lineage l;
    if (signet_apk_lineage_read(data, size, &l) == SIGNET_OK)
        signet_apk_lineage_free(&l);
    if (signet_apk_lineage_parse(data, size, &l) == SIGNET_OK)
        signet_apk_lineage_free(&l);
    return 0;
}

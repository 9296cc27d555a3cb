/* The images/OTA recipe of docs/release.md, after `release sign`, with signet's
 * helpers called exactly as AOSP's tools call them (tests/release/recipe_contract.py,
 * from the releasetools and avbtool sources; the tools themselves are not in Debian):
 * - images: misc_info.txt as release sign leaves it gives avbtool an existing key
 *   path, the algorithm of that key's size and `--signing_helper_with_files
 *   signet-avb-sign`, whose signature verifies as avbtool verifies vbmeta;
 * - OTA payload: `--payload_signer signet-payload-sign --payload_signer_args
 *   "--key releasekey"` signs the payload hash so that the certificate in the signed
 *   package's otacerts.zip verifies it (the device's check); another key is caught;
 * - OTA package: `--java_path signet-signapk-java` makes signapk's whole-file
 *   signature with the otacerts.zip certificate's key (no private key on disk), and
 *   `audit prove` then writes a receipt for the OTA package. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/store_fixture.h"

static struct store st;

#define CONTRACT "python3 $SIGNET_SOURCE_DIR/tests/release/recipe_contract.py "

static int setup(void **state)
{
    (void)state;
    if (store_start(&st, NULL) != 0 || store_init_keystore(&st, STORE_SIGN_AUDIT) != 0)
        return -1;
    return store_sh(&st,
                    "signet keys init --device synth --algorithm rsa2048 >/dev/null && "
                    "signet -q keys generate >/dev/null && "
                    "python3 $SIGNET_SOURCE_DIR/tests/release/mktf.py tf --apks 2 --apexes 0 "
                    "  --batch-sign >/dev/null && "
                    "signet -q release sign tf/target_files.zip --device synth --dev-cert-dir "
                    "  tf/dev --avb-helper \"$SIGNET_BIN_DIR/signet-avb-sign\" -o signed.zip") == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    store_cleanup(&st);
    return 0;
}

static void images_avb_helper(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(store_sh_out(&st, &out, CONTRACT "avb signed.zip"), 0);
    assert_non_null(strstr(out, "avb: vbmeta"));
    free(out);
    /* The input package's misc_info names the development key path, which is not
     * there: releasetools would stop, and so does the check. */
    assert_int_not_equal(store_sh(&st, CONTRACT "avb tf/target_files.zip 2>/dev/null"), 0);
}

static void ota_payload_signer(void **state)
{
    (void)state;
    assert_int_equal(store_sh(&st, CONTRACT "payload signed.zip "
                                   "\"$SIGNET_BIN_DIR/signet-payload-sign\" '--key releasekey'"),
                     0);
    /* Signing the payload with another key (the device's AVB key) would give an OTA
     * the device refuses. */
    assert_int_not_equal(store_sh(&st, CONTRACT "payload signed.zip "
                                       "\"$SIGNET_BIN_DIR/signet-payload-sign\" '--key avb_synth' "
                                       "2>/dev/null"),
                         0);
}

static void ota_package_and_receipt(void **state)
{
    (void)state;
    assert_int_equal(store_sh(&st, "python3 -c 'import zipfile\n"
                                   "with zipfile.ZipFile(\"ota-unsigned.zip\", \"w\") as z:\n"
                                   "    z.writestr(\"payload.bin\", b\"payload\" * 1000)\n"
                                   "    z.writestr(\"META-INF/com/android/metadata\", b\"ota\")'"),
                     0);
    assert_int_equal(store_sh(&st, CONTRACT "package signed.zip "
                                   "\"$SIGNET_BIN_DIR/signet-signapk-java\" ota-unsigned.zip "
                                   "ota.zip"),
                     0);
    assert_int_equal(store_sh(&st, "signet -q audit drain && "
                                   "signet audit prove ota.zip --out ota.receipt >/dev/null && "
                                   "test -s ota.receipt"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(images_avb_helper),
        cmocka_unit_test(ota_payload_signer),
        cmocka_unit_test(ota_package_and_receipt),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

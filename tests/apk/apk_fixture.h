/* Test APKs: a binary AndroidManifest.xml naming a min SDK, zips built with the
 * zip tool (stored, deflated, native libraries, directory entries), and a
 * software "device" that answers the engine's requests with a PEM key, so the
 * engine can be compared with apksigner on the same key without an HSM. */
#ifndef SIGNET_TEST_APK_FIXTURE_H
#define SIGNET_TEST_APK_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/apk.h"
#include "signet/buf.h"

/* A binary AndroidManifest.xml: <manifest><uses-sdk android:minSdkVersion=N/>
 * (N 0: no uses-sdk element). */
void apkfix_manifest(int min_sdk, sb_wr *out);
/* The same, <manifest> with android:sharedUserId="org.example.shared" when asked. */
void apkfix_manifest_ex(int min_sdk, bool shared_uid, sb_wr *out);

/* Builds dir/name.apk from a recipe of words (run in dir with the zip tool):
 *   "dex:SIZE"  classes.dex (random, deflated)   "res:SIZE" res/raw/a.txt (text, deflated)
 *   "so:SIZE"   lib/arm64-v8a/libx.so (stored)   "store:SIZE" assets/blob (stored)
 *   "dirs"      add directory entries              "sdk:N" the manifest's min SDK
 *   "shareduid" the manifest declares android:sharedUserId
 * Returns 0 on success. */
int apkfix_build(const char *dir, const char *name, const char *recipe);

/* Makes dir/k.pem, dir/k.pk8 and dir/c.x509.pem (alg: "rsa2048", "rsa4096", "ec"). */
int apkfix_key(const char *dir, const char *prefix, const char *alg);

/* Signs in memory with the engine, answering requests with the PEM key. */
int apkfix_sign_soft(const char *key_pem, const char *cert_pem, const uint8_t *apk, size_t len,
                     const signet_apk_opts *o, sb_wr *out, sb_wr *idsig);

#endif

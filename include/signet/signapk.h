/* signapk: AOSP's signapk.jar in C, over the signing path.
 *
 * Without whole_file an APK is rewritten as signapk writes it (the same
 * JarOutputStream layout as below, deflated entries at level 9, stored entries
 * aligned to `align`, .so to 4096, APK signature files dropped), signed with v1
 * (META-INF/CERT.SF and CERT.RSA|EC, "Created-By: 1.0 (Android SignApk)", the
 * input manifest's main section kept) and then with v2 and v3 by the APK engine
 * over that archive: three requests, the v1 one first.
 *
 * With whole_file (-w) an OTA package is rewritten as signapk writes it
 * (java.util.jar.JarOutputStream: entries sorted by name, directories and old
 * signature files dropped, stored entries first with an alignment extra field,
 * the others re-deflated with a data descriptor, all dated 2009-01-01, then
 * META-INF/com/android/otacert) and signed as one file: a CMS SignedData over
 * every byte up to the end record's comment length goes into the comment,
 * after "signed by SignApk\0", with the 6-byte footer the recovery reads
 * (signet_ota_verify checks it).  The engine does no I/O and holds no key: it
 * asks for one signature, like the APK engine (include/signet/apk.h).
 *
 *   signet_signapk_job *j;
 *   signet_signapk_begin(zip, len, &opts, cert_der, cert_len, &j);
 *   n = signet_signapk_pending(j, &req);  ... sign ..., signet_signapk_set(j, i, sig, len);
 *   signet_signapk_finish(j, &out);
 *   signet_signapk_free(j);
 *
 * Format reference: AOSP build/tools/signapk (SignApk.java), bootable/recovery
 * verifier.  docs/signapk.md describes the command. */
#ifndef SIGNET_SIGNAPK_H
#define SIGNET_SIGNAPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/apk.h"

typedef struct {
    bool whole_file;            /* -w: an OTA package, signed as one file */
    int align;                  /* -a: stored entries' data alignment (APKs; -w: 0) */
    int min_sdk;                /* APKs: --min-sdk-version; 0 reads AndroidManifest.xml */
    bool disable_v2;            /* APKs: --disable-v2 (v1 and v3 only) */
    const uint8_t *cert_file;   /* the certificate file's bytes, written as otacert */
    size_t cert_file_len;
} signet_signapk_opts;

typedef struct signet_signapk_job signet_signapk_job;

signet_rc signet_signapk_begin(const uint8_t *zip, size_t len, const signet_signapk_opts *o,
                               const uint8_t *cert_der, size_t cert_len,
                               signet_signapk_job **out);
size_t signet_signapk_pending(signet_signapk_job *j, const signet_apk_sigreq **reqs);
signet_rc signet_signapk_set(signet_signapk_job *j, size_t i, const uint8_t *sig, size_t len);
signet_rc signet_signapk_finish(signet_signapk_job *j, sb_wr *out);
void signet_signapk_free(signet_signapk_job *j);

/* Through the signing path with key `key` (its certificate from the key store
 * unless o->cert_file is given): one record naming info->artifact_path and the
 * input's SHA-256; info->out_sha256 is set for the binding record. */
signet_rc signet_signapk_key(struct signet_signer *s, const char *key, const uint8_t *zip,
                             size_t len, const signet_signapk_opts *o,
                             signet_apk_sign_info *info, sb_wr *out);

#endif

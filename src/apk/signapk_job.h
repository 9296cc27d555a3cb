/* The signapk job shared by signapk.c (-w, the signing path) and signapk_apk.c
 * (APKs). */
#ifndef SIGNET_SIGNAPK_JOB_H
#define SIGNET_SIGNAPK_JOB_H

#include <openssl/x509.h>

#include "apk_internal.h"
#include "signapk_zip.h"
#include "signet/signapk.h"

struct signet_signapk_job {
    signet_signapk_opts o;
    signet_zip z;
    X509 *cert;
    const uint8_t *cert_der;
    size_t cert_len;
    apk_algo algo;          /* -w: the whole-file signature; APKs: v1 */
    sb_wr out;              /* -w: the archive up to, not including, the comment
                               length; APKs: the v1-signed archive */
    sb_wr sig;
    signet_apk_sigreq req;
    bool have;              /* the first request (-w: the only one) is signed */
    /* APKs */
    jos w;
    bool w_open;
    sb_wr mf, sf;           /* META-INF/MANIFEST.MF and CERT.SF */
    signet_apk_job *apk;    /* v2/v3 over out, once v1 is in */
};

/* APK mode (signapk_apk.c): after the job's certificate is set. */
signet_rc signapk_apk_begin(signet_signapk_job *j, const uint8_t *zip, size_t len);
/* v1 is signed (j->sig): append the v1 files and hand the archive to the APK
 * engine for v2/v3. */
signet_rc signapk_apk_v1_done(signet_signapk_job *j);
void signapk_apk_free(signet_signapk_job *j);

#endif

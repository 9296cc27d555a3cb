/* The APK signing job shared by the engine's files (sign.c, assemble.c). */
#ifndef SIGNET_APK_JOB_H
#define SIGNET_APK_JOB_H

#include <sys/uio.h>

#include <openssl/x509.h>

#include "apk_signed.h"
#include "jar.h"

#define SDK_N 24              /* Android 7.0: v2 and v3 verified, v1 no longer needed */
#define V3_MAX_SDK 0x7fffffffu
#define MAX_APK 0xfff00000u

/* A signer's certificate and what it decides (the key's algorithm, its content
 * digest and signer fields). */
struct apk_key {
    X509 *cert;
    EVP_PKEY *pub;
    uint8_t *spki;
    int spki_len;
    const uint8_t *cert_der;
    size_t cert_len;
    const apk_algo *algo;
    uint8_t digest[64];
    size_t digest_len;
    apk_signer_info si;
};

struct signet_apk_job {
    signet_apk_opts o;
    signet_zip z;
    int min_sdk;
    X509 *cert;
    EVP_PKEY *pub;
    uint8_t *spki;
    int spki_len;
    const uint8_t *cert_der;
    size_t cert_len;
    const apk_algo *algo;
    apk_layout l;
    sb_wr eocd;                   /* with the central directory offset still to set */
    uint8_t digest[64];
    size_t digest_len;
    apk_signer_info si;
    int round;                    /* 0: v2/v3/v3.1, 1: v4, 2: done */
    signet_apk_sigreq req[SIGNET_APK_MAX_SIGS];
    sb_wr data[SIGNET_APK_MAX_SIGS];   /* the signed data of each request */
    sb_wr sig[SIGNET_APK_MAX_SIGS];
    bool have[SIGNET_APK_MAX_SIGS];
    size_t nreq;
    sb_wr tail;                   /* signing block, central directory, end record */
    struct iovec *iov;            /* the signed APK as pieces (after round 0) ... */
    size_t niov;
    uint64_t out_len;
    sb_wr out;                    /* ... or assembled (for v4, or on finish) */
    sb_wr idsig;
    sb_wr tree;                   /* v4 Merkle tree of out */
    uint8_t root[32];
    apk_v1 v1;                    /* v1 (JAR) signing: a round before v2/v3 */
    bool rotated;                 /* o.lineage: v2 signed by old (the oldest signer) */
    bool v31;                     /* the rotation is in a v3.1 block; v3 is old's */
    int rot_sdk;                  /* >= 33: the rotated key's first SDK; 0: v3 from 28 */
    struct apk_key old;
    sb_wr lineage;                /* the v3 proof-of-rotation attribute value */
};

/* The signer of a scheme: the lineage's oldest for v1 and v2 of a rotated APK,
 * and for v3 and v4 when the rotated key signs v3.1 (and v4's v3.1 part, 41). */
static inline bool apk_old_signs(const signet_apk_job *j, int scheme)
{
    return j->rotated && (scheme == 2 || scheme == 1 || /* v1 too, as apksigner does */
                          (j->v31 && (scheme == 3 || scheme == 4)));
}

/* Round 0 done: the signed APK as pieces (j->iov; assembled into j->out for v4);
 * queues the v4 request or ends. */
signet_rc apk_assemble(signet_apk_job *j);
/* Round 1 done: writes the .idsig into j->idsig. */
signet_rc apk_v4_assemble(signet_apk_job *j);
signet_rc apk_add_request(signet_apk_job *j, int scheme);
/* Lays out and hashes the output and queues the v2/v3 requests (after v1). */
signet_rc apk_v2v3_begin(signet_apk_job *j);
/* v1 (jar_sign.c): queue the signature file's request; build the signature
 * block and go on to v2/v3 once signed; append the v1 entries to the layout. */
signet_rc apk_v1_begin(signet_apk_job *j);
signet_rc apk_v1_finish(signet_apk_job *j);
signet_rc apk_v1_append(signet_apk_job *j);

#endif

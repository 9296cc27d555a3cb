/* APK signing engine: APK Signature Scheme v2, v3, v3.1 and v4 over an APK in memory.
 *
 * The engine does no I/O and never holds a private key (STYLE.md point 2, in the
 * shape of apksig's ApkSignerEngine): the caller hands it the input APK and the
 * signer's certificate, the engine lays out the output as Debian's apksigner
 * 31.0.2 does, hashes it (1 MiB chunks, on all cores) and answers with requests
 * "sign these bytes with this algorithm"; the caller gets each signature from the
 * signing path and hands it back; the engine checks it against the certificate's
 * key and assembles the output.  v4 needs the finished APK, so its request comes
 * in a second round:
 *
 *   signet_apk_job *j;
 *   signet_apk_sign_begin(apk, len, &opts, cert_der, cert_len, &j);
 *   const signet_apk_sigreq *req;
 *   size_t n;
 *   while ((n = signet_apk_sign_pending(j, &req)) > 0)
 *       for (size_t i = 0; i < n; i++)
 *           ... sign req[i].digest (req[i].md_nid) ..., signet_apk_sign_set(j, i, sig, len);
 *   signet_apk_sign_finish(j, &apk_out, &idsig_out);   (or signet_apk_sign_pieces)
 *   signet_apk_sign_free(j);
 *
 * Format references: source.android.com "APK Signature Scheme v2/v3/v4", AOSP
 * tools/apksig.  docs/apk.md describes the command and the choices. */
#ifndef SIGNET_APK_H
#define SIGNET_APK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "signet/buf.h"
#include "signet/err.h"

#define SIGNET_APK_V2_BLOCK_ID 0x7109871au
#define SIGNET_APK_V3_BLOCK_ID 0xf05368c0u
#define SIGNET_APK_V31_BLOCK_ID 0x1b93ad61u
#define SIGNET_APK_VERITY_PADDING_ID 0x42726577u
#define SIGNET_APK_STRIPPING_PROTECTION_ATTR 0xbeeff00du
/* In a v3 signer: the min SDK of the v3.1 signer that must be there (stripping
 * protection of the v3.1 block, apksig V3SchemeConstants). */
#define SIGNET_APK_ROTATION_MIN_SDK_ATTR 0x559f8b02u
#define SIGNET_APK_SDK_V3 28          /* Android 9: v3 and key rotation */
#define SIGNET_APK_SDK_V31 33         /* Android 13: v3.1 */

/* Signature algorithm ids of the APK Signing Block. */
#define SIGNET_APK_RSA_PKCS1_SHA256 0x0103u
#define SIGNET_APK_RSA_PKCS1_SHA512 0x0104u
#define SIGNET_APK_ECDSA_SHA256 0x0201u
#define SIGNET_APK_ECDSA_SHA512 0x0202u

#define SIGNET_APK_DEFAULT_PAGE 16384u  /* native library alignment of current tools */
#define SIGNET_APK_DEBIAN_PAGE 4096u    /* Debian's apksigner 31.0.2 */
#define SIGNET_APK_MAX_SIGS 4

typedef struct {
    int min_sdk;               /* 0: read AndroidManifest.xml */
    bool v1, v2, v3, v4;       /* v1: JAR signing asked for; it is also made without
                                  asking when the min SDK is below 24 ... */
    bool v1_off;               /* ... unless it was turned off explicitly */
    const char *v1_signer_name;/* META-INF/NAME.SF; NULL: the key's name or "CERT" */
    unsigned lib_page_align;   /* alignment of stored .so entries; 0 = default */
    bool realign;              /* realign every stored entry (newer apksigner) instead
                                  of keeping the input's layout (apksigner 31.0.2) */
    bool keep_signature_files; /* keep every entry, JAR signature files included: the
                                  input is already laid out and v1-signed (signapk) */
    unsigned threads;          /* hashing threads; 0 = one per core */
    /* Key rotation (include/signet/apk_lineage.h): the v3 signer (the certificate
     * given to begin, the lineage's newest) carries the lineage; v2 is signed by
     * the lineage's oldest signer, as apksigner does for Android before 9. */
    const struct signet_apk_lineage *lineage;
    /* With a lineage: the first SDK on which the newest key signs (0: 33, as
     * apksigner's --rotation-min-sdk-version).  From 33 the rotation goes into a
     * v3.1 block (Android 13+) and v3 keeps the lineage's oldest signer for
     * Android 9-12; below 33 the rotation is in v3, read from Android 9 (and a
     * shared-UID app is refused: Android 9-12 do not let one rotate). */
    int rotation_min_sdk;
} signet_apk_opts;

/* v2 + v3, min SDK from the manifest, 16 KiB library pages. */
void signet_apk_opts_default(signet_apk_opts *o);

typedef struct {
    int scheme;                /* 1, 2, 3, 31 (v3.1), 4, or 41 (v4's v3.1 signing info) */
    uint32_t algorithm;        /* SIGNET_APK_RSA_PKCS1_SHA256 ... */
    int md_nid;                /* NID_sha256 or NID_sha512: what the key signs */
    uint8_t digest[64];        /* the hash of the signed data */
    size_t digest_len;
    bool rsa;                  /* RSA PKCS#1 v1.5 over the DigestInfo; else ECDSA (DER) */
    const uint8_t *cert;       /* DER: the certificate whose key must sign */
    size_t cert_len;
    int signer;                /* 0: the key of the certificate given to begin;
                                  1: the lineage's oldest signer (v1/v2 of a rotated
                                  APK; also v3 and v4 when v3.1 carries the rotation) */
} signet_apk_sigreq;

typedef struct signet_apk_job signet_apk_job;

/* Parses the input, decides the schemes and lays out and hashes the output.
 * apk must stay valid until signet_apk_sign_free.  cert_der: the signer's X.509
 * certificate (its public key picks the algorithms). */
signet_rc signet_apk_sign_begin(const uint8_t *apk, size_t len, const signet_apk_opts *o,
                                const uint8_t *cert_der, size_t cert_len, signet_apk_job **out);
/* The signatures still needed (0 when the job can be finished). */
size_t signet_apk_sign_pending(signet_apk_job *j, const signet_apk_sigreq **reqs);
/* Hands back the signature of pending request i; it is verified with the
 * certificate's key before it is accepted (SIGNET_E_VERIFY otherwise). */
signet_rc signet_apk_sign_set(signet_apk_job *j, size_t i, const uint8_t *sig, size_t len);
/* The signed APK without assembling it: a list of pieces (the input's own bytes
 * where the output keeps them, rewritten headers, the signing block, central
 * directory and end record) to write with writev (signet_file_replace_iov), so
 * a large APK is not copied once more in memory.  Valid until
 * signet_apk_sign_free; the input APK must still be valid.  len: the total. */
signet_rc signet_apk_sign_pieces(signet_apk_job *j, const struct iovec **v, size_t *n,
                                 uint64_t *len);
/* The signed APK (apk_out may be NULL when the pieces are written instead),
 * and the v4 .idsig when v4 was asked for (idsig may be NULL otherwise). */
signet_rc signet_apk_sign_finish(signet_apk_job *j, sb_wr *apk_out, sb_wr *idsig_out);
void signet_apk_sign_free(signet_apk_job *j);
/* What the job decided (valid after begin). */
int signet_apk_job_min_sdk(const signet_apk_job *j);
bool signet_apk_job_scheme(const signet_apk_job *j, int scheme);

/* ---- through the signing path ------------------------------------------------ */
struct signet_signer;
/* Signs an APK in memory with key `key` of the signer's key store: its
 * certificate picks the algorithms, every request goes through signet_sign (one
 * durable record each, naming artifact_path and the input's SHA-256), and the
 * signed APK (and .idsig when o->v4) are returned only after every record is on
 * disk.  The leaves of those records are returned in records[] for the binding
 * record the caller appends once the output is durable (signet_signer_bind). */
#define SIGNET_APK_MAX_RECORDS 8
typedef struct {
    const char *artifact_path;  /* for the records: the input APK's path */
    const char *caller;         /* who asked (redacted command line) */
    bool no_cache;              /* always ask the device (no signing cache) */
    const char *old_key;        /* rotation: the key of the lineage's oldest signer */
    unsigned device_sigs;       /* out: signatures the device made */
    unsigned reused;            /* out: signatures taken from the signing cache */
    uint64_t records[SIGNET_APK_MAX_RECORDS]; /* out: leaves of the sign/reuse records */
    size_t n_records;
    uint8_t in_sha256[32];      /* out: SHA-256 of the input */
    uint8_t out_sha256[32];     /* out: SHA-256 of the signed APK */
} signet_apk_sign_info;
/* The signing rounds of a job already begun (signet_apk_sign_begin with key's
 * certificate): each pending request through signet_sign, then the next round.
 * info->artifact_path, caller and in_sha256 must be set. */
signet_rc signet_apk_job_sign(struct signet_signer *s, const char *key, signet_apk_job *j,
                              signet_apk_sign_info *info);
/* Several jobs of one key, signed together: each round's requests of every job
 * go to the device as one signet_sign_batch (group commit: one drain and one
 * fsync per group of up to SIGNET_BATCH_GROUP signatures instead of two each).
 * Every job has its own result (rc, err); a failing job does not stop the others.
 * Returns the first failure, SIGNET_OK when every job is ready to finish. */
typedef struct {
    signet_apk_job *job;
    signet_apk_sign_info *info;   /* artifact_path, caller, in_sha256 set */
    signet_rc rc;                 /* out */
    char err[256];                /* out: the message when rc != SIGNET_OK */
} signet_apk_batch_job;
signet_rc signet_apk_jobs_sign(struct signet_signer *s, const char *key, signet_apk_batch_job *v,
                               size_t n);
signet_rc signet_apk_sign_key(struct signet_signer *s, const char *key, const uint8_t *apk,
                              size_t len, const signet_apk_opts *o, signet_apk_sign_info *info,
                              sb_wr *out, sb_wr *idsig);

/* ---- verification ------------------------------------------------------------ */
typedef struct {
    bool v1_present;           /* META-INF signature files exist (v1 is not checked) */
    bool v2, v3, v31;          /* schemes present and verified */
    bool v4;                   /* an .idsig was given and verified */
    size_t lineage_signers;    /* v3 (or v3.1) carries a rotation lineage of this many
                                  signers */
    int rotation_min_sdk;      /* v3.1: the SDK from which its (rotated) signer counts */
    int min_sdk;               /* from the manifest or the caller */
    uint8_t cert_sha256[32];   /* the signer's certificate (v3.1's when present) */
    char cert_subject[256];
} signet_apk_verify_result;

/* Verifies every APK Signature Scheme block present (v2, v3, v3.1): signatures
 * over the signed data, content digests over the whole file, v3 stripping
 * protection, the same signer in every scheme.  idsig (may be NULL) is checked
 * as the v4 signature of this APK.  min_sdk 0 reads the manifest.  Fails with
 * SIGNET_E_VERIFY and a message naming the first problem. */
signet_rc signet_apk_verify(const uint8_t *apk, size_t len, const uint8_t *idsig,
                            size_t idsig_len, int min_sdk, signet_apk_verify_result *res);

/* ---- OTA packages ------------------------------------------------------------ */
/* Checks the whole-file signature signapk -w writes (a PKCS#7 SignedData in the
 * ZIP comment with a 6-byte footer) as the recovery does.  cert_der (may be NULL:
 * any signer the package carries) is the certificate it must verify with.
 * signer_sha256 (may be NULL) gets the SHA-256 of the signer's certificate. */
signet_rc signet_ota_verify(const uint8_t *zip, size_t len, const uint8_t *cert_der,
                            size_t cert_len, uint8_t signer_sha256[32]);

/* ---- pieces shared with other engines (release, OTA) ------------------------- */
/* minSdkVersion of a binary AndroidManifest.xml (1 when it names none). */
signet_rc signet_apk_manifest_min_sdk(const uint8_t *xml, size_t len, int *min_sdk);
/* The min SDK of an APK: its AndroidManifest.xml entry, parsed. */
signet_rc signet_apk_min_sdk(const uint8_t *apk, size_t len, int *min_sdk);
/* Whether <manifest> declares android:sharedUserId (binary XML, or an APK). */
signet_rc signet_apk_manifest_shared_uid(const uint8_t *xml, size_t len, bool *shared);
signet_rc signet_apk_shared_uid(const uint8_t *apk, size_t len, bool *shared);

#endif

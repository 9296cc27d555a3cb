/* APK key rotation: the SigningCertificateLineage of APK Signature Scheme v3
 * (source.android.com "APK Signature Scheme v3", AOSP apksig
 * SigningCertificateLineage / V3SigningCertificateLineage).
 *
 * A lineage is a list of signing certificates, oldest first; each node after the
 * first carries a signature by the previous node's key over (its certificate, the
 * algorithm of that signature), so an installed app signed with an old key accepts
 * an update signed with a newer one.  The v3 signer of a rotated APK carries the
 * lineage as its proof-of-rotation attribute; v2 (and v1) stay signed with the
 * oldest key for the Android versions before 9 that know no rotation.
 *
 * Two encodings: the v3 attribute value (u32le version 1, then length-prefixed
 * nodes) and apksigner's lineage file (u32le magic 0x3eff39d1, version 1, length,
 * then the attribute value).  Every reader checks every node's signature. */
#ifndef SIGNET_APK_LINEAGE_H
#define SIGNET_APK_LINEAGE_H

#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

#define SIGNET_APK_LINEAGE_MAGIC 0x3eff39d1u
#define SIGNET_APK_PROOF_OF_ROTATION_ATTR 0x3ba06f8cu
#define SIGNET_APK_LINEAGE_MAX 32

/* Capabilities an older signer keeps (apksig SignerCapabilities). */
#define SIGNET_APK_CAP_INSTALLED_DATA 1u
#define SIGNET_APK_CAP_SHARED_UID 2u
#define SIGNET_APK_CAP_PERMISSION 4u
#define SIGNET_APK_CAP_ROLLBACK 8u
#define SIGNET_APK_CAP_AUTH 16u
/* apksigner's default: everything but rollback */
#define SIGNET_APK_CAP_DEFAULT 23u

typedef struct {
    uint8_t *cert;             /* DER X.509 */
    size_t cert_len;
    uint32_t flags;            /* SIGNET_APK_CAP_* */
    uint32_t parent_alg;       /* algorithm of sig (0 for the first node) */
    uint32_t sig_alg;          /* algorithm this node's key signs the next with (0: last) */
    uint8_t *sig;              /* by the previous node's key; empty for the first */
    size_t sig_len;
} signet_apk_lineage_node;

typedef struct signet_apk_lineage {
    signet_apk_lineage_node v[SIGNET_APK_LINEAGE_MAX];
    size_t n;
} signet_apk_lineage;

void signet_apk_lineage_free(signet_apk_lineage *l);
/* Reads apksigner's lineage file format; every signature is checked. */
signet_rc signet_apk_lineage_read(const uint8_t *p, size_t len, signet_apk_lineage *l);
/* Reads the v3 attribute encoding (version + nodes); every signature is checked. */
signet_rc signet_apk_lineage_parse(const uint8_t *p, size_t len, signet_apk_lineage *l);
/* The v3 attribute encoding. */
signet_rc signet_apk_lineage_encode(const signet_apk_lineage *l, sb_wr *out);
/* The lineage file (what `apksigner rotate` writes). */
signet_rc signet_apk_lineage_write(const signet_apk_lineage *l, sb_wr *out);
/* Index of the node with this certificate, or -1. */
int signet_apk_lineage_find(const signet_apk_lineage *l, const uint8_t *cert, size_t cert_len);

/* Rotation in two steps, so that the signature comes from the signing path:
 * _rotation_tbs starts the lineage with old_cert when it is empty (else old_cert
 * must be its last node) and gives the bytes the old key signs, the algorithm
 * (apksig's choice for the old key) and its digest; _rotation_add checks the
 * signature with the old certificate's key and appends new_cert. */
typedef struct {
    sb_wr tbs;                 /* the bytes signed */
    uint32_t alg;              /* SIGNET_APK_RSA_PKCS1_SHA256 ... */
    int md_nid;
    uint8_t digest[64];
    size_t digest_len;
    int rsa;                   /* RSA PKCS#1 v1.5 (else ECDSA) */
} signet_apk_rotation;
signet_rc signet_apk_lineage_rotation_tbs(signet_apk_lineage *l, const uint8_t *old_cert,
                                          size_t old_len, const uint8_t *new_cert, size_t new_len,
                                          uint32_t old_flags, signet_apk_rotation *r);
signet_rc signet_apk_lineage_rotation_add(signet_apk_lineage *l, signet_apk_rotation *r,
                                          const uint8_t *new_cert, size_t new_len,
                                          uint32_t new_flags, const uint8_t *sig, size_t sig_len);
void signet_apk_rotation_free(signet_apk_rotation *r);

/* Refuses (SIGNET_E_UNSUPPORTED) a key whose role (keymap.txt) is avb, ota or
 * apex-payload: those formats carry no lineage, so nothing a lineage says can make
 * a device accept a new key. */
signet_rc signet_apk_rotation_role_ok(const char *key, const char *role);

/* Through the signing path: the old key (a key of the signer's key store) signs the
 * rotation to the new key (one audit record naming artifact_path).  l may be empty
 * (a new lineage) or end with the old key's certificate. */
struct signet_signer;
signet_rc signet_apk_lineage_rotate(struct signet_signer *s, signet_apk_lineage *l,
                                    const char *old_key, const char *new_key,
                                    const char *artifact_path, const char *caller);

#endif

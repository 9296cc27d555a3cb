/* Pieces shared by the files of the key store module (not a public API). */
#ifndef SIGNET_KS_INTERNAL_H
#define SIGNET_KS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "signet/buf.h"
#include "signet/keystore.h"

struct signet_keystore {
    char *dir;
    signet_keymap map;
};

/* Reads a whole file of at most max bytes into out (a fresh writer the caller
 * frees).  SIGNET_E_NOTFOUND when it does not exist; SIGNET_E_PARSE when larger. */
signet_rc ks_read_file(const char *path, size_t max, sb_wr *out);
/* Durable replace: temp file in the same directory, fsync, rename, fsync the
 * directory.  mode: permissions of the new file. */
signet_rc ks_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without the fsyncs: for state that may be lost (the LRU stamps). */
signet_rc ks_write_replace(const char *path, const void *data, size_t len, mode_t mode);

/* SubjectPublicKeyInfo DER of a key. */
signet_rc ks_spki_der(EVP_PKEY *pk, sb_wr *out);
/* PEM text of a public key / certificate. */
signet_rc ks_pubkey_pem(EVP_PKEY *pk, sb_wr *out);
signet_rc ks_cert_pem(X509 *x, sb_wr *out);

/* Whether the object at (asymmetric key, e->id) is key e: label and algorithm. */
bool ks_object_is_key(const yh_object_info *oi, const signet_keymap_entry *e);

/* ---- the way into the store, shared by generation and import (publish.c) ---- */
/* Everything a new key produces before it is published. */
struct ks_artifacts {
    sb_wr pub_pem, cert_pem, avb, attest_pem, origin, blob;
    bool have_avb, have_attest;     /* origin: written when not empty */
};
void ks_artifacts_init(struct ks_artifacts *a);
void ks_artifacts_free(struct ks_artifacts *a);
void ks_progress(const signet_keygen_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The public key of e on the HSM, checked to be of e's algorithm. */
signet_rc ks_fetch_public_key(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY **pub);
/* pub_pem, and avb for RSA keys AVB accepts. */
signet_rc ks_public_files(const signet_keymap_entry *e, EVP_PKEY *pub,
                          const signet_keygen_opts *o, struct ks_artifacts *a);
/* A self-signed certificate made with the key on the HSM (through o->cert_signer
 * when set), then ks_public_files. */
signet_rc ks_certify(hsm_session *s, const signet_keymap_entry *e, EVP_PKEY *pub,
                     const signet_keygen_opts *o, struct ks_artifacts *a);
/* Exports e under the wrap key into a->blob and proves it: deletes the resident
 * key, imports the blob, compares the public key with pub byte for byte.
 * *resident says whether e is on the HSM afterwards. */
signet_rc ks_export_and_prove(hsm_session *s, uint16_t wrap_id, const signet_keymap_entry *e,
                              EVP_PKEY *pub, struct ks_artifacts *a, bool *resident);
/* Writes the files durably, the wrapped copy last; on failure removes them. */
signet_rc ks_publish(signet_keystore *ks, const signet_keymap_entry *e,
                     const struct ks_artifacts *a);
void ks_unpublish(signet_keystore *ks, const char *name);
/* A key put on the HSM but not published must not stay there: it would block the
 * id and be a key nobody has a backup of.  Deletes it and keeps the first error. */
signet_rc ks_abandon(hsm_session *s, const signet_keymap_entry *e, signet_rc rc);

#endif

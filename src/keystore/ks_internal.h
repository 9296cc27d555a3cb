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

#endif

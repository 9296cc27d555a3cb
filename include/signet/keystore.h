/* The key map and the key store: the many release keys live on disk, wrapped
 * under the HSM's wrap key, and are loaded into the HSM on demand.
 *
 * Key store directory layout:
 *   keymap.txt            one key per line: name id algorithm domains role
 *   <name>.wrapped        the wrap blob exactly as Export Wrapped returned it
 *   <name>.pub.pem        the public key (SubjectPublicKeyInfo PEM)
 *   <name>.x509.pem       the X.509 certificate (self-signed on the HSM)
 *   <name>.attest.pem     the HSM's attestation certificate for the key
 *   <name>.avbpubkey      RSA keys: the AVB public key format (avbtool)
 *
 * Ids never change once assigned: the key map is the record of them. */
#ifndef SIGNET_KEYSTORE_H
#define SIGNET_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "signet/buf.h"
#include "signet/err.h"

#define SIGNET_KEY_NAME_MAX 64

typedef struct {
    char name[SIGNET_KEY_NAME_MAX];   /* [A-Za-z0-9_.-]+, also the PKCS#11 label */
    uint16_t id;                      /* object id on the HSM, also the PKCS#11 CKA_ID */
    uint8_t algorithm;                /* YH_ALGO_RSA_4096, YH_ALGO_EC_P256, ... */
    uint16_t domains;
    char role[32];                    /* apk, apex, avb, ota, platform, ... (free text) */
} signet_keymap_entry;

typedef struct signet_keystore signet_keystore;

/* Opens dir and parses dir/keymap.txt (hostile-input safe: bad lines are errors
 * naming the line).  A missing keymap.txt is an empty store. */
signet_rc signet_keystore_open(const char *dir, signet_keystore **out);
void signet_keystore_close(signet_keystore *ks);
const char *signet_keystore_dir(const signet_keystore *ks);

size_t signet_keystore_count(const signet_keystore *ks);
const signet_keymap_entry *signet_keystore_entry(const signet_keystore *ks, size_t i);
const signet_keymap_entry *signet_keystore_find(const signet_keystore *ks, const char *name);
const signet_keymap_entry *signet_keystore_find_id(const signet_keystore *ks, uint16_t id);

/* "<dir>/<name><suffix>" */
signet_rc signet_keystore_path(const signet_keystore *ks, const char *name, const char *suffix,
                               char *out, size_t out_len);
/* Each fails with SIGNET_E_NOTFOUND when the file does not exist. */
signet_rc signet_keystore_public_key(const signet_keystore *ks, const char *name, EVP_PKEY **out);
signet_rc signet_keystore_cert_der(const signet_keystore *ks, const char *name, sb_wr *der);
signet_rc signet_keystore_wrapped(const signet_keystore *ks, const char *name, sb_wr *blob);

#endif

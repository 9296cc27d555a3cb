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
 *   .lru                  last-use stamps of on-demand keys ("name stamp" lines)
 * Keys generated on a PKCS#11 token (backend = pkcs11) have instead of .wrapped:
 *   <name>.p11wrap        the copy C_WrapKey made under the token's trusted wrap key
 *                         (absent when the token could not wrap it: resident only)
 *   <name>.token          where the key lives and how it is backed up (text)
 *
 * A key is "in the store" once <name>.wrapped (or <name>.token) exists: it is
 * published last, after the wrapped copy was proven to unwrap to the recorded
 * public key.
 *
 * Ids never change once assigned: the key map is the record of them.
 * Format and layout: docs/keys.md. */
#ifndef SIGNET_KEYSTORE_H
#define SIGNET_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "signet/buf.h"
#include "signet/client.h"
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
/* The same for commands that work on an existing store: a directory without
 * keymap.txt is SIGNET_E_NOTFOUND (a wrong --keystore, not an empty store). */
signet_rc signet_keystore_open_existing(const char *dir, signet_keystore **out);
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
/* <name>.p11wrap: a key made on a PKCS#11 token, wrapped there (at most 16 KiB). */
signet_rc signet_keystore_token_wrapped(const signet_keystore *ks, const char *name, sb_wr *blob);

/* True when <dir>/<name><suffix> exists. */
bool signet_keystore_has_file(const signet_keystore *ks, const char *name, const char *suffix);
/* True when the key is in the store (its wrapped copy, or for a key made on a
 * PKCS#11 token its .token file, was published). */
bool signet_keystore_has_key(const signet_keystore *ks, const char *name);
/* Writes <dir>/<name><suffix> durably: temp file, fsync, rename, fsync dir. */
signet_rc signet_keystore_write(const signet_keystore *ks, const char *name, const char *suffix,
                                const void *data, size_t len);
/* SHA-256 of the public key (SubjectPublicKeyInfo DER) and of the certificate DER
 * as stored; SIGNET_E_NOTFOUND when the file does not exist. */
signet_rc signet_keystore_pub_fingerprint(const signet_keystore *ks, const char *name,
                                          uint8_t out[32]);
signet_rc signet_keystore_cert_fingerprint(const signet_keystore *ks, const char *name,
                                           uint8_t out[32]);

/* ---- the key map ---------------------------------------------------------- */
/* Ids the default scheme hands out start here and only grow (docs/keys.md). */
#define SIGNET_KEYMAP_FIRST_ID 0x0100
#define SIGNET_KEYMAP_MAX_BYTES (1u << 20)
#define SIGNET_KEYMAP_FILE "keymap.txt"

typedef struct {
    signet_keymap_entry *v;
    size_t n, cap;
} signet_keymap;

void signet_keymap_init(signet_keymap *m);
void signet_keymap_free(signet_keymap *m);
/* Strict parser: every error names the line ("keymap.txt line 7: ...").  Refuses
 * duplicate names and ids, id 0, unknown or non-signing algorithms, empty domains.
 * On failure *m is left empty. */
signet_rc signet_keymap_parse(const char *text, size_t len, signet_keymap *m);
/* Validates e (name, role, id, algorithm, domains) and appends a copy; refuses a
 * name or id already in the map. */
signet_rc signet_keymap_add(signet_keymap *m, const signet_keymap_entry *e);
/* The text form: a header comment, then one aligned line per key. */
signet_rc signet_keymap_format(const signet_keymap *m, sb_wr *out);
/* File versions.  load: SIGNET_E_NOTFOUND when missing.  save: durable. */
signet_rc signet_keymap_load(const char *path, signet_keymap *m);
signet_rc signet_keymap_save(const char *path, const signet_keymap *m);
const signet_keymap_entry *signet_keymap_find(const signet_keymap *m, const char *name);
const signet_keymap_entry *signet_keymap_find_id(const signet_keymap *m, uint16_t id);
/* The id the next new key gets: one past the largest id in the map, never below
 * SIGNET_KEYMAP_FIRST_ID.  0 when the id space is exhausted. */
uint16_t signet_keymap_next_id(const signet_keymap *m);
/* Names: 1-40 characters (the HSM label) of [A-Za-z0-9_.-], not starting with '.'
 * or '-'.  Roles: 1-31 of the same characters. */
bool signet_key_name_valid(const char *name);
bool signet_key_role_valid(const char *role);
/* Signing algorithms a key map may name: rsa2048/3072/4096, the EC curves, ed25519. */
bool signet_key_algorithm_valid(uint8_t algorithm);

/* The built-in Android set (docs/keys.md):
 *   APK keys:  releasekey platform shared media networkstack bluetooth sdk_sandbox nfc
 *   per device D:  avb_D           (AVB / vbmeta, also OTA; role avb)
 *   per APEX A:    A.container     (role apex), A.payload (role apex-payload)
 * Keys already in the map (by name) are kept with their ids; new keys get ids after
 * the current maximum, in the order above.  AVB and APEX payload keys must be RSA. */
typedef struct {
    uint8_t algorithm;                 /* 0 = YH_ALGO_RSA_4096 */
    uint16_t domains;                  /* 0 = domain 1 */
    const char *const *devices;
    size_t n_devices;
    const char *const *apexes;
    size_t n_apexes;
} signet_keymap_defaults;
/* *added (optional) = how many entries were appended.  On failure the map is left
 * as it was. */
signet_rc signet_keymap_add_defaults(signet_keymap *m, const signet_keymap_defaults *d,
                                     size_t *added);

/* The key store's own map (read-only view). */
const signet_keymap *signet_keystore_map(const signet_keystore *ks);

/* ---- AVB public key -------------------------------------------------------- */
/* avbtool extract_public_key format: u32 key bits, u32 n0inv = -1/n mod 2^32,
 * modulus, R^2 mod n (R = 2^bits), big-endian, each number bits/8 bytes.  RSA
 * 2048/4096/8192 with e = 65537 only (what AVB accepts). */
signet_rc signet_avb_pubkey(EVP_PKEY *rsa, sb_wr *out);

/* ---- self-signed certificates ---------------------------------------------- */
/* Signs a TBSCertificate.  md_nid: NID_sha256/384/512 (RSA: PKCS#1 v1.5 over that
 * digest of tbs; EC: ECDSA over it, signature DER) or NID_undef (Ed25519: pure,
 * over tbs).  sig_len: in capacity, out length. */
typedef signet_rc (*signet_tbs_signer)(void *ctx, const uint8_t *tbs, size_t len, int md_nid,
                                       uint8_t *sig, size_t *sig_len);

#define SIGNET_CERT_DEFAULT_DAYS 10000
/* openssl -subj style; {name} is replaced with the key name.  A template without
 * CN gets /CN=<name> appended. */
#define SIGNET_CERT_DEFAULT_SUBJECT                                                          \
    "/C=US/ST=California/L=Mountain View/O=Android/OU=Android/CN={name}"                       \
    "/emailAddress=android@android.com"

typedef struct {
    const char *subject;   /* NULL = SIGNET_CERT_DEFAULT_SUBJECT */
    unsigned days;         /* 0 = SIGNET_CERT_DEFAULT_DAYS */
} signet_cert_opts;

/* Builds the subject of key `name` from a template (see above). */
signet_rc signet_cert_subject(const char *tmpl, const char *name, X509_NAME **out);
/* X.509 v3, random positive serial, now .. now + days, subject = issuer, the given
 * public key, basicConstraints critical CA:TRUE, subject and authority key
 * identifiers (what AOSP's make_key produces).  The TBS is signed through `sign`
 * and the result is verified against pub before it is returned. */
signet_rc signet_cert_selfsign(EVP_PKEY *pub, const char *name, const signet_cert_opts *o,
                               signet_tbs_signer sign, void *sign_ctx, X509 **out);

/* The certificate signer key generation uses: signs with key `id` on the HSM
 * through session s (ctx is a signet_device_tbs_ctx).  The one place that would
 * route through the signing path. */
typedef struct {
    hsm_session *session;
    uint16_t id;
    uint8_t algorithm;
} signet_device_tbs_ctx;
signet_rc signet_device_tbs_signer(void *ctx, const uint8_t *tbs, size_t len, int md_nid,
                                   uint8_t *sig, size_t *sig_len);

/* ---- generation ------------------------------------------------------------- */
/* Signs key e's own TBSCertificate (md_nid as for signet_tbs_signer).  Key
 * generation uses it so that the certificate signature goes through the signing
 * path and is recorded like any other (src/sign: signet_sign_certificate). */
typedef signet_rc (*signet_cert_signer)(void *ctx, const signet_keymap_entry *e,
                                        const uint8_t *tbs, size_t len, int md_nid, uint8_t *sig,
                                        size_t *sig_len);

typedef struct {
    uint16_t wrap_id;
    signet_cert_opts cert;
    /* NULL: sign directly on the device (signet_device_tbs_signer), for callers
     * without a signing path (tests, a store without an audit trail). */
    signet_cert_signer cert_signer;
    void *cert_signer_ctx;
    /* One line per step ("platform: generated on the HSM"); NULL = silent. */
    void (*progress)(void *ctx, const char *line);
    void *progress_ctx;
} signet_keygen_opts;

/* Capabilities a generated key carries: sign-pkcs,sign-pss (RSA) / sign-ecdsa (EC) /
 * sign-eddsa (Ed25519), plus exportable-under-wrap. */
uint64_t signet_keygen_capabilities(uint8_t algorithm);

/* Generates key e inside the HSM, certifies it (self-signed on the HSM), attests it
 * when the device can, exports it under the wrap key, proves the wrapped copy (delete
 * the resident key, import the blob, compare public keys byte for byte) and only then
 * publishes the files.  Refuses (SIGNET_E_STATE) a key already in the store, or an id
 * already taken on the HSM.  On failure nothing is published and a key generated by
 * this call is deleted from the HSM. */
signet_rc signet_keystore_generate(signet_keystore *ks, hsm_session *s,
                                   const signet_keymap_entry *e, const signet_keygen_opts *o);

/* Generates key e on the PKCS#11 token d (backend.h: signet_pkcs11_generate),
 * certifies it through o->cert_signer (required: the signing path, which checks
 * the token's key against NAME.pub.pem, written first) and publishes NAME.p11wrap
 * (when the token wrapped it) and NAME.token last.  how: one sentence for people,
 * whether the key has a wrapped copy or is resident only.  On failure nothing is
 * published and the new key is deleted from the token. */
typedef struct signet_device signet_device;
signet_rc signet_keystore_generate_token(signet_keystore *ks, signet_device *d,
                                         const signet_keymap_entry *e, const signet_keygen_opts *o,
                                         char *how, size_t how_len);

/* ---- import --------------------------------------------------------------------- */
/* Asked for the password of an encrypted key only when the key is encrypted:
 * *out is smem-allocated (the caller smem_frees it). */
typedef signet_rc (*signet_key_password_fn)(void *ctx, char **out);

/* Parses a private key file held in (preferably locked) memory: PEM "PRIVATE KEY",
 * "ENCRYPTED PRIVATE KEY" (PKCS#8, password through pw), "RSA PRIVATE KEY",
 * "EC PRIVATE KEY", or DER PKCS#8 / encrypted PKCS#8 / RSA / EC (AOSP's .pk8).
 * Intermediate DER stays in locked memory and is wiped.  A wrong password is
 * SIGNET_E_AUTH; legacy encrypted PEM (Proc-Type) is refused with advice. */
signet_rc signet_key_parse_private(const uint8_t *bytes, size_t len, signet_key_password_fn pw,
                                   void *pw_ctx, EVP_PKEY **out);
/* The same for a file, read into locked memory (at most 64 KiB), wiped after. */
signet_rc signet_key_read_file(const char *path, signet_key_password_fn pw, void *pw_ctx,
                               EVP_PKEY **out);
/* True when the certificate's public key is the key's (SubjectPublicKeyInfo DER). */
bool signet_cert_matches_key(X509 *cert, EVP_PKEY *key);
/* The HSM algorithm of a key (rsa2048/3072/4096, the EC curves, ed25519). */
signet_rc signet_key_algorithm_of(EVP_PKEY *key, uint8_t *algo);
/* An X.509 certificate, PEM or DER. */
signet_rc signet_cert_parse(const uint8_t *bytes, size_t len, X509 **out);

/* Imports key e from `key` (a private key; its algorithm must be e's): checks the
 * certificate (when given) certifies that key, puts the key on the HSM (Put
 * Asymmetric Key: the admin credential's put-asymmetric-key capability) with e's
 * id, label, domains and signet_keygen_capabilities(), keeps the certificate given
 * or makes a self-signed one on the HSM (o->cert_signer when set), exports it
 * under o->wrap_id, proves the wrapped copy and publishes the files with
 * NAME.origin ("imported <time>", the source, whether the certificate was given).
 * source: what the key came from, for NAME.origin (file names, never secrets).
 * On failure nothing is published and the key put by this call is deleted. */
signet_rc signet_keystore_import(signet_keystore *ks, hsm_session *s, const signet_keymap_entry *e,
                                 EVP_PKEY *key, X509 *cert, const char *source,
                                 const signet_keygen_opts *o);
/* Where key `name` came from, one word: "imported", "generated-attested" (made on
 * the HSM, with its attestation), "generated" (made on the HSM, the device could not
 * attest), "-" (not in the store). */
signet_rc signet_keystore_origin(const signet_keystore *ks, const char *name, char *out,
                                 size_t out_len);

/* Attestation (Sign Attestation Certificate with the device's attestation key 0).
 * SIGNET_E_UNSUPPORTED when the device cannot attest (message says why); else the
 * DER certificate, checked to certify `pub`. */
signet_rc signet_keystore_attest(hsm_session *s, uint16_t id, EVP_PKEY *pub, sb_wr *der);

/* ---- where a key is --------------------------------------------------------- */
typedef enum {
    SIGNET_KEYLOC_MISSING,      /* neither on the HSM nor in the store */
    SIGNET_KEYLOC_WRAPPED,      /* only wrapped on disk (loaded on demand) */
    SIGNET_KEYLOC_RESIDENT,     /* on the HSM, wrapped copy on disk */
    SIGNET_KEYLOC_UNBACKED,     /* on the HSM, but no wrapped copy on disk */
    SIGNET_KEYLOC_CONFLICT,     /* the id holds another object (label/algorithm differ) */
} signet_keyloc;
/* One word each: missing, wrapped-only, resident, resident-no-backup, id-conflict. */
const char *signet_keyloc_name(signet_keyloc loc);
/* s NULL: offline, looks at the disk only (WRAPPED or MISSING). */
signet_rc signet_keystore_locate(const signet_keystore *ks, hsm_session *s,
                                 const signet_keymap_entry *e, signet_keyloc *out);

/* ---- loading on demand ------------------------------------------------------ */
typedef struct {
    unsigned min_free_objects;  /* evict while fewer object slots are free */
    unsigned min_free_pages;    /* evict while fewer storage pages are free */
} signet_evict_policy;

/* Makes key e resident: when the HSM does not hold it, evicts least recently used
 * on-demand keys while the device is below the policy's thresholds (or an import
 * fails for lack of storage), imports the wrapped copy and checks the public key
 * equals the stored one.  Only keys of this store that have a wrapped copy on disk
 * (and whose object on the HSM carries their label and algorithm) are ever evicted.
 * A resident key is checked for label and algorithm.  Marks e as used. */
signet_rc signet_keystore_ensure_resident(signet_keystore *ks, hsm_session *s, uint16_t wrap_id,
                                          const signet_keymap_entry *e,
                                          const signet_evict_policy *p);
/* Records that key `name` was just used (DIR/.lru; a missing or damaged file is
 * treated as empty).  Stamps only grow, so the order of use is exact. */
signet_rc signet_keystore_touch(signet_keystore *ks, const char *name);
/* Deletes key e from the HSM when the store holds its wrapped copy (the key can
 * be loaded again); refuses otherwise.  Not resident: SIGNET_OK. */
signet_rc signet_keystore_evict(signet_keystore *ks, hsm_session *s,
                                const signet_keymap_entry *e);

#endif

/* The key store directory: its key map and the files of each key (layout in
 * include/signet/keystore.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ks_internal.h"
#include "signet/hash.h"

#define PEM_FILE_MAX (64 * 1024)
#define WRAPPED_MAX (16 * 1024)

signet_rc signet_keystore_open(const char *dir, signet_keystore **out)
{
    *out = NULL;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return signet_fail(SIGNET_E_NOTFOUND,
                               "key store directory %s does not exist: create it with "
                               "`signet keys init --keystore %s`",
                               dir, dir);
        return signet_fail(SIGNET_E_IO, "cannot use key store directory %s: %s", dir,
                           strerror(errno));
    }
    if (!S_ISDIR(st.st_mode))
        return signet_fail(SIGNET_E_ARG, "key store %s is not a directory", dir);
    signet_keystore *ks = calloc(1, sizeof *ks);
    if (!ks || !(ks->dir = strdup(dir))) {
        free(ks);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    size_t n = strlen(ks->dir);
    while (n > 1 && ks->dir[n - 1] == '/')
        ks->dir[--n] = 0;
    char path[4096];
    signet_rc rc = signet_keystore_path(ks, "keymap", ".txt", path, sizeof path);
    if (rc == SIGNET_OK) {
        rc = signet_keymap_load(path, &ks->map);
        if (rc == SIGNET_E_NOTFOUND)
            rc = SIGNET_OK; /* a store without a key map is empty */
    }
    if (rc != SIGNET_OK) {
        signet_keystore_close(ks);
        return rc;
    }
    *out = ks;
    return SIGNET_OK;
}

signet_rc signet_keystore_open_existing(const char *dir, signet_keystore **out)
{
    signet_rc rc = signet_keystore_open(dir, out);
    if (rc != SIGNET_OK)
        return rc;
    char path[4096];
    if (signet_keystore_path(*out, "keymap", ".txt", path, sizeof path) == SIGNET_OK &&
        access(path, F_OK) != 0) {
        signet_keystore_close(*out);
        *out = NULL;
        return signet_fail(SIGNET_E_NOTFOUND,
                           "%s has no key map (keymap.txt), so it is not a key store: point "
                           "--keystore (or keystore in signet.conf) at the store, or create one "
                           "with `signet keys init --keystore %s`",
                           dir, dir);
    }
    return SIGNET_OK;
}

void signet_keystore_close(signet_keystore *ks)
{
    if (!ks)
        return;
    signet_keymap_free(&ks->map);
    free(ks->dir);
    free(ks);
}

const char *signet_keystore_dir(const signet_keystore *ks) { return ks->dir; }
const signet_keymap *signet_keystore_map(const signet_keystore *ks) { return &ks->map; }
size_t signet_keystore_count(const signet_keystore *ks) { return ks->map.n; }

const signet_keymap_entry *signet_keystore_entry(const signet_keystore *ks, size_t i)
{
    return i < ks->map.n ? &ks->map.v[i] : NULL;
}

const signet_keymap_entry *signet_keystore_find(const signet_keystore *ks, const char *name)
{
    return signet_keymap_find(&ks->map, name);
}

const signet_keymap_entry *signet_keystore_find_id(const signet_keystore *ks, uint16_t id)
{
    return signet_keymap_find_id(&ks->map, id);
}

signet_rc signet_keystore_path(const signet_keystore *ks, const char *name, const char *suffix,
                               char *out, size_t out_len)
{
    /* Names reach the file system: only valid key names (and the key map's own
     * name) make paths, so nothing can point outside the directory. */
    if (strcmp(name, "keymap") != 0 && !signet_key_name_valid(name))
        return signet_fail(SIGNET_E_ARG, "'%.64s' is not a valid key name", name);
    if ((size_t)snprintf(out, out_len, "%s/%s%s", ks->dir, name, suffix) >= out_len)
        return signet_fail(SIGNET_E_ARG, "path of key '%s' in %s is too long", name, ks->dir);
    return SIGNET_OK;
}

bool signet_keystore_has_file(const signet_keystore *ks, const char *name, const char *suffix)
{
    char path[4096];
    struct stat st;
    return signet_keystore_path(ks, name, suffix, path, sizeof path) == SIGNET_OK &&
           stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool signet_keystore_has_key(const signet_keystore *ks, const char *name)
{
    return signet_keystore_has_file(ks, name, ".wrapped") ||
           signet_keystore_has_file(ks, name, ".token");
}

signet_rc signet_keystore_write(const signet_keystore *ks, const char *name, const char *suffix,
                                const void *data, size_t len)
{
    char path[4096];
    signet_rc rc = signet_keystore_path(ks, name, suffix, path, sizeof path);
    if (rc != SIGNET_OK)
        return rc;
    /* Wrapped blobs are useless without the wrap key, but there is no reason for
     * anyone else to read them; public files are world-readable. */
    mode_t mode = strcmp(suffix, ".wrapped") == 0 ? 0600 : 0644;
    return ks_write_atomic(path, data, len, mode);
}

static signet_rc read_key_file(const signet_keystore *ks, const char *name, const char *suffix,
                               size_t max, sb_wr *out)
{
    char path[4096];
    signet_rc rc = signet_keystore_path(ks, name, suffix, path, sizeof path);
    if (rc != SIGNET_OK)
        return rc;
    rc = ks_read_file(path, max, out);
    if (rc == SIGNET_E_NOTFOUND)
        return signet_fail(SIGNET_E_NOTFOUND,
                           "key '%s' has no %s file in %s: run `signet keys generate`", name,
                           suffix, ks->dir);
    return rc;
}

signet_rc signet_keystore_public_key(const signet_keystore *ks, const char *name, EVP_PKEY **out)
{
    *out = NULL;
    sb_wr pem;
    signet_rc rc = read_key_file(ks, name, ".pub.pem", PEM_FILE_MAX, &pem);
    if (rc != SIGNET_OK)
        return rc;
    BIO *b = BIO_new_mem_buf(pem.p, (int)pem.len);
    if (b)
        *out = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    sbw_free(&pem);
    if (!*out)
        return signet_fail(SIGNET_E_PARSE,
                           "%s/%s.pub.pem does not hold a PEM public key: restore it from a backup",
                           ks->dir, name);
    return SIGNET_OK;
}

static signet_rc load_cert(const signet_keystore *ks, const char *name, X509 **out)
{
    *out = NULL;
    sb_wr pem;
    signet_rc rc = read_key_file(ks, name, ".x509.pem", PEM_FILE_MAX, &pem);
    if (rc != SIGNET_OK)
        return rc;
    BIO *b = BIO_new_mem_buf(pem.p, (int)pem.len);
    if (b)
        *out = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    sbw_free(&pem);
    if (!*out)
        return signet_fail(SIGNET_E_PARSE,
                           "%s/%s.x509.pem does not hold a PEM certificate: restore it from a "
                           "backup",
                           ks->dir, name);
    return SIGNET_OK;
}

signet_rc signet_keystore_cert_der(const signet_keystore *ks, const char *name, sb_wr *der)
{
    X509 *x;
    signet_rc rc = load_cert(ks, name, &x);
    if (rc != SIGNET_OK)
        return rc;
    unsigned char *p = NULL;
    int n = i2d_X509(x, &p);
    X509_free(x);
    if (n <= 0)
        return signet_fail(SIGNET_E_CRYPTO, "cannot encode the certificate of key '%s'", name);
    sbw_init(der, (size_t)n);
    rc = sbw_put(der, p, (size_t)n);
    OPENSSL_free(p);
    return rc;
}

signet_rc signet_keystore_token_wrapped(const signet_keystore *ks, const char *name, sb_wr *blob)
{
    return read_key_file(ks, name, ".p11wrap", WRAPPED_MAX, blob);
}

signet_rc signet_keystore_wrapped(const signet_keystore *ks, const char *name, sb_wr *blob)
{
    signet_rc rc = read_key_file(ks, name, ".wrapped", WRAPPED_MAX, blob);
    if (rc != SIGNET_OK)
        return rc;
    /* nonce, at least a header, tag: anything shorter cannot be a wrap blob. */
    if (blob->len < YH_WRAP_NONCE_LEN + YH_WRAP_HEADER_LEN + YH_WRAP_TAG_LEN) {
        sbw_free(blob);
        return signet_fail(SIGNET_E_PARSE,
                           "%s/%s.wrapped is too short to be a wrapped key: restore it from the "
                           "backup copy of the key store (docs/keys.md)",
                           ks->dir, name);
    }
    return SIGNET_OK;
}

signet_rc signet_keystore_pub_fingerprint(const signet_keystore *ks, const char *name,
                                          uint8_t out[32])
{
    EVP_PKEY *pk;
    signet_rc rc = signet_keystore_public_key(ks, name, &pk);
    if (rc != SIGNET_OK)
        return rc;
    sb_wr der;
    rc = ks_spki_der(pk, &der);
    EVP_PKEY_free(pk);
    if (rc == SIGNET_OK)
        rc = signet_sha256(der.p, der.len, out);
    sbw_free(&der);
    return rc;
}

signet_rc signet_keystore_cert_fingerprint(const signet_keystore *ks, const char *name,
                                           uint8_t out[32])
{
    sb_wr der;
    signet_rc rc = signet_keystore_cert_der(ks, name, &der);
    if (rc != SIGNET_OK)
        return rc;
    rc = signet_sha256(der.p, der.len, out);
    sbw_free(&der);
    return rc;
}

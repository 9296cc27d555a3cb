/* Internal pieces of the APK engine (src/apk): content digests, block codecs. */
#ifndef SIGNET_APK_INTERNAL_H
#define SIGNET_APK_INTERNAL_H

#include <openssl/evp.h>

#include "signet/apk.h"
#include "signet/zip.h"

#define APK_CHUNK (1u << 20)
#define APK_PAGE 4096u   /* the signing block and v4 tree work on 4 KiB pages */

/* The chunked digest of the three sections (entries incl. padding, central
 * directory, end record): chunk = H(0xa5 | u32le len | bytes), top =
 * H(0x5a | u32le count | chunk digests).  threads 0 = one per core. */
signet_rc apk_content_digest(const uint8_t *const sec[3], const size_t len[3], const EVP_MD *md,
                             unsigned threads, uint8_t *out, size_t *out_len);

/* A piece of an output section: bytes of the input APK (hashed and copied from
 * there, never copied before the signatures are in) or of the layout's own
 * buffer (rewritten headers, padding). */
typedef struct {
    const uint8_t *p;
    size_t len;
    bool side;       /* while the layout is built: p is an offset into its side buffer */
} apk_seg;
/* The same digest over sections given as lists of pieces. */
signet_rc apk_content_digest_segs(const apk_seg *const sec[3], const size_t nseg[3],
                                  const EVP_MD *md, unsigned threads, uint8_t *out,
                                  size_t *out_len);

/* Algorithm table: id -> digest, key type. */
typedef struct {
    uint32_t id;
    const char *name;
    int md_nid;      /* also the chunk digest */
    bool rsa;
} apk_algo;
const apk_algo *apk_algo_find(uint32_t id);
/* apksig's choice for a key: RSA <= 3072 bits SHA-256 else SHA-512, EC <= 256 bits
 * SHA-256 else SHA-512. */
signet_rc apk_algo_for_key(EVP_PKEY *pub, const apk_algo **out);
/* Verifies sig over data (algorithm a) with pub. */
signet_rc apk_verify_sig(EVP_PKEY *pub, const apk_algo *a, const uint8_t *data, size_t len,
                         const uint8_t *sig, size_t sig_len);

/* The request bytes for a digest the key must sign: the DigestInfo (RSA PKCS#1
 * v1.5, written into di) or the bare digest (ECDSA). */
#include "signet/sign.h"
signet_rc apk_sign_req_bytes(bool rsa, int md_nid, const uint8_t *digest, size_t digest_len,
                             signet_sign_req *req, sb_wr *di);

/* u32le length-prefixed writer helper: writes the length of what fn wrote. */
signet_rc apk_lp_begin(sb_wr *w, size_t *mark);
void apk_lp_end(sb_wr *w, size_t mark);
/* u32le length-prefixed reader. */
signet_rc apk_lp(sb_rd *r, sb_rd *sub);

/* The APK Signing Block: pairs (id, value) + a verity padding pair to a multiple of
 * 4096 bytes (apksig ApkSigningBlockUtils.generateApkSigningBlock). */
typedef struct {
    uint32_t id;
    const uint8_t *value;
    size_t len;
} apk_pair;
signet_rc apk_block_encode(const apk_pair *pairs, size_t n, sb_wr *out);
/* Finds pair id in the signing block of z (SIGNET_E_NOTFOUND when absent). */
signet_rc apk_block_find(const signet_zip *z, uint32_t id, sb_rd *value);

/* Whether an entry is kept in a signed APK and listed in a v1 manifest: not a
 * directory, not a JAR signature file of META-INF/ (apksig
 * V1SchemeSigner.isJarEntryDigestNeededInManifest). */
bool apk_entry_kept(const signet_zip_entry *e);

/* The layout of an output APK as apksigner writes it (before the signing block). */
typedef struct {
    apk_seg *seg;    /* the entries section, padded to 4096, as pieces */
    size_t nseg, segcap;
    size_t entries_len;
    sb_wr side;      /* bytes of the pieces that are not the input's */
    size_t pad;      /* zero bytes at the end of entries */
    sb_wr cd;        /* the new central directory */
    uint16_t count;
} apk_layout;
/* keep_all: no entry is dropped (the input's own v1 signature files stay). */
signet_rc apk_layout_build(const signet_zip *z, unsigned lib_align, bool realign, bool keep_all,
                           apk_layout *l);
void apk_layout_free(apk_layout *l);
/* Appends records (rec, which must outlive l) after the laid-out entries and
 * their central directory records, padding again to 4096 (v1 files, jar_sign.c). */
signet_rc apk_layout_append(apk_layout *l, const uint8_t *rec, size_t rec_len, const uint8_t *cd,
                            size_t cd_len, uint16_t count);

/* v4: fs-verity style SHA-256 Merkle tree over 4 KiB blocks of data (no salt);
 * tree levels root first as apksig writes them. */
signet_rc apk_verity_tree(const uint8_t *data, size_t len, sb_wr *tree, uint8_t root[32]);

/* Checks an .idsig against the APK: hash tree root, then for v3's (else v2's)
 * signer and, when the APK has one, v3.1's: APK digest (that block's content
 * digest), certificate and signature over the v4 signed data. */
#include <openssl/x509.h>
typedef struct {
    X509 *cert;
    const uint8_t *digest;
    size_t digest_len;
} apk_v4_signer;
signet_rc apk_v4_verify(const uint8_t *apk, size_t len, const uint8_t *idsig, size_t idsig_len,
                        const apk_v4_signer *v3, const apk_v4_signer *v31);
/* The v4 signed data (apksig V4Signature.getSigningData). */
signet_rc apk_v4_signing_data(uint64_t file_size, const uint8_t root[32], const uint8_t *digest,
                              size_t digest_len, const uint8_t *cert, size_t cert_len, sb_wr *w);

#endif

/* PKCS#1 v1.5 DigestInfo (RFC 8017 section 9.2, note 1) for SHA-1 and SHA-2: the
 * one place these prefixes are spelled out.  The YubiHSM has no raw RSA, so every
 * adapter that receives a DigestInfo or a padded block checks it here. */
#ifndef SIGNET_DIGESTINFO_H
#define SIGNET_DIGESTINFO_H

#include <stddef.h>
#include <stdint.h>

#include "signet/buf.h"
#include "signet/err.h"

/* prefix | digest for md_nid NID_sha1/sha256/sha384/sha512. */
signet_rc signet_digestinfo_encode(int md_nid, const uint8_t *digest, size_t len, sb_wr *out);
/* Recognises a complete DigestInfo of a known hash; SIGNET_E_PARSE otherwise. */
signet_rc signet_digestinfo_parse(const uint8_t *p, size_t len, int *md_nid,
                                  const uint8_t **digest, size_t *digest_len);
/* Checks a whole EMSA-PKCS1-v1_5 block (00 01 FF.. 00 DigestInfo, at least 8 FF bytes,
 * block_len = modulus bytes) and returns the DigestInfo inside it. */
signet_rc signet_pkcs1_block_parse(const uint8_t *block, size_t block_len,
                                   const uint8_t **digestinfo, size_t *di_len, int *md_nid);

#endif

/* Signer block encoders shared by the signer and the verifier's tests. */
#ifndef SIGNET_APK_SIGNED_H
#define SIGNET_APK_SIGNED_H

#include "apk_internal.h"

typedef struct {
    const apk_algo *algo;
    const uint8_t *content_digest;
    size_t content_digest_len;
    const uint8_t *cert;        /* DER */
    size_t cert_len;
    const uint8_t *spki;        /* SubjectPublicKeyInfo DER */
    size_t spki_len;
    uint32_t v3_min_sdk, v3_max_sdk;
    bool v3_too;                /* v2 carries the stripping-protection attribute */
    const uint8_t *lineage;     /* v3/v3.1: proof-of-rotation attribute value (or NULL) */
    size_t lineage_len;
    uint32_t v31_min_sdk;       /* v3: the v3.1 signer's min SDK (0: no v3.1 block) */
} apk_signer_info;

/* The signed data of scheme 2, 3 or 31 (v3.1: v3's encoding). */
signet_rc apk_signed_data(const apk_signer_info *s, int scheme, sb_wr *out);
/* The scheme block value: one signer with its signed data, signature, key. */
signet_rc apk_scheme_block(const apk_signer_info *s, int scheme, const uint8_t *signed_data,
                           size_t sd_len, const uint8_t *sig, size_t sig_len, sb_wr *out);

#endif

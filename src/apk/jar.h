/* v1 (JAR) signing pieces shared by `apk sign` (jar_sign.c) and `signapk`:
 * META-INF/MANIFEST.MF and the signature file as apksig's V1SchemeSigner writes
 * them, the PKCS#7 SignedData block, and deflated entries as apksig's
 * LocalFileRecord writes new ones.  Format: the JAR File Specification
 * ("Signed JAR File") and source.android.com "JAR signing". */
#ifndef SIGNET_APK_JAR_H
#define SIGNET_APK_JAR_H

#include <stdbool.h>

#include "apk_internal.h"

#define JAR_MANIFEST "META-INF/MANIFEST.MF"
#define JAR_CREATED_BY "1.0 (Android)"

/* The digest apksig picks for v1: SHA-1 below min SDK 18 (RSA only; Android
 * verifies ECDSA JAR signatures from 18), SHA-256 otherwise. */
signet_rc jar_digest_for(int min_sdk, bool rsa, int *md_nid);

/* MANIFEST.MF for the kept entries of z (sorted by name, each with the digest of
 * its uncompressed data) and the signature file (.SF) that signs it.  The main
 * section of the input's own MANIFEST.MF is kept when there is one.
 * apk_signed: the value of X-Android-APK-Signed ("2, 3"), NULL for none. */
signet_rc jar_make_manifest(const signet_zip *z, int md_nid, const char *created_by,
                            const char *apk_signed, sb_wr *mf, sb_wr *sf);

/* The PKCS#7 SignedData of a JAR signature block (.RSA/.EC) as apksig writes it:
 * no signed attributes, detached content, one certificate.  cms: encoded as
 * signapk's whole-file signature (Bouncy Castle) instead. */
signet_rc jar_pkcs7(const uint8_t *cert_der, size_t cert_len, int md_nid, bool rsa, bool cms,
                    const uint8_t *sig, size_t sig_len, sb_wr *out);

/* A deflated entry (level 9, raw) with its local header at lfh_offset and its
 * central directory record (apksig LocalFileRecord.outputRecordWithDeflate...). */
signet_rc jar_put_deflated(const char *name, const uint8_t *data, size_t len, uint16_t time,
                           uint16_t date, uint32_t lfh_offset, sb_wr *lfh, sb_wr *cd);

/* The main section of a MANIFEST.MF (java.util.jar.Manifest rules: CRLF, LF or
 * CR line ends, lines of at most 511 bytes, continuation lines start with a space,
 * "Name: value" with names of A-Z a-z 0-9 - _; a repeated name keeps its first
 * spelling and its last value).  Values point into mf or into owned copies. */
#define JAR_MAX_ATTRS 256
typedef struct {
    const char *name, *value;
    size_t name_len, value_len;
    char *owned;   /* value joined from continuation lines */
} jar_attr;
typedef struct {
    jar_attr a[JAR_MAX_ATTRS];
    size_t n;
} jar_attrs;
signet_rc jar_parse_main(const uint8_t *mf, size_t len, jar_attrs *as);
void jar_attrs_free(jar_attrs *as);

/* Entry names as Java strings.  jar_utf8_char: the length (1-4) of the UTF-8
 * character at p and its code point, 0 when the bytes are not UTF-8 (overlong,
 * surrogate, beyond U+10FFFF, cut).  jar_name_cmp: Java's String.compareTo order
 * (UTF-16 code units: U+10000 and above sort before U+E000-U+FFFF, unlike UTF-8
 * bytes), the order of apksig's manifest and of SignApk's entries; bytes that are
 * not UTF-8 sort after every character, by value. */
size_t jar_utf8_char(const uint8_t *p, size_t n, uint32_t *cp);
int jar_name_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);

/* The v1 signer's file names: upper case, A-Z 0-9 _ -, at most 8 characters. */
void jar_signer_name(const char *in, char out[9]);

/* The engine's v1 state (apk_job.h) and its steps (jar_sign.c). */
typedef struct {
    bool on, pending;
    apk_algo algo;           /* the v1 digest; id 0 */
    char name[9];            /* META-INF/NAME.SF */
    uint16_t time, date;     /* of the new entries */
    sb_wr mf, sf, block;
    sb_wr recs;              /* the three entries, a piece of the layout */
} apk_v1;
void apk_v1_free(apk_v1 *v);

#endif

/* signapk without -w: an APK signed as Debian's signapk 10.0.0+r36 signs it
 * (SignApk.main through apksig's DefaultApkSignerEngine, with v1 on,
 * "Created-By: 1.0 (Android SignApk)", other signers' signatures dropped):
 *
 *   1. the archive is rewritten by the JarOutputStream writer (signapk_zip.c):
 *      entries sorted, directories, META-INF/MANIFEST.MF and JAR signature files
 *      dropped (apk_entry_kept), stored entries first and aligned (-a, .so to
 *      4096), the others inflated and deflated again at level 9, all dated
 *      2009-01-01;
 *   2. v1: MANIFEST.MF (the input manifest's main section kept) and CERT.SF are
 *      built from the input's entries; one request signs CERT.SF (SHA-256 from
 *      min SDK 18, SHA-1 below); CERT.SF, CERT.RSA|EC and MANIFEST.MF are then
 *      appended, deflated, and the archive is closed;
 *   3. v2 (unless --disable-v2) and v3: the APK engine signs that archive as it
 *      stands (keep_signature_files: nothing moved, nothing dropped), with the
 *      entries padded to 4096 bytes before the signing block, as apksig does.
 *
 * Not mimicked: the pin list signapk writes (pinlist.meta) for an APK with
 * assets/com.android.hints.pins.txt: such APKs are refused. */
#include <string.h>

#include <openssl/evp.h>

#include "jar.h"
#include "signapk_job.h"

#define MAX_OUT 0xfff00000u
#define CREATED_BY "1.0 (Android SignApk)"
#define PIN_LIST "pinlist.meta"
#define PIN_HINTS "assets/com.android.hints.pins.txt"
#define SIGNER "CERT"   /* SignApk.createSignerConfigs with one key */

static bool apk_keep(const signet_zip_entry *e) { return apk_entry_kept(e); }

signet_rc signapk_apk_begin(signet_signapk_job *j, const uint8_t *zip, size_t len)
{
    signet_rc rc = signet_zip_parse(zip, len, &j->z);
    if (rc == SIGNET_OK && j->z.zip64)
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the APK is a ZIP64 archive; Android and signapk "
                                               "do not accept ZIP64 APKs");
    if (rc == SIGNET_OK && (signet_zip_find(&j->z, PIN_HINTS) || signet_zip_find(&j->z, PIN_LIST)))
        rc = signet_fail(SIGNET_E_UNSUPPORTED, "the APK has %s or %s: signapk writes a pin list "
                                               "for it, which signet does not; sign it with "
                                               "signapk.jar", PIN_HINTS, PIN_LIST);
    if (rc == SIGNET_OK && j->o.min_sdk <= 0) {
        rc = signet_apk_min_sdk(zip, len, &j->o.min_sdk);
        if (rc)
            rc = signet_wrap(rc, "cannot detect the min SDK; give --min-sdk-version");
    }
    if (rc == SIGNET_OK && (j->o.align < 0 || j->o.align > 32768))
        rc = signet_fail(SIGNET_E_ARG, "alignment %d is not between 0 and 32768", j->o.align);
    rc = rc ? rc : jar_digest_for(j->o.min_sdk, j->algo.rsa, &j->algo.md_nid);
    if (rc)
        return rc;
    j->algo.name = "v1 (JAR)";
    sbw_init(&j->mf, MAX_OUT);
    sbw_init(&j->sf, MAX_OUT);
    jos_init(&j->w, &j->out, 9); /* SignApk: outputJar.setLevel(9) */
    j->w_open = true;
    rc = jos_copy_all(&j->w, &j->z, apk_keep, j->o.align);
    /* "2, 3": the engine signs v3 even with --disable-v2 */
    rc = rc ? rc : jar_make_manifest(&j->z, j->algo.md_nid, CREATED_BY,
                                     j->o.disable_v2 ? "3" : "2, 3", &j->mf, &j->sf);
    if (rc)
        return rc;
    signet_apk_sigreq *r = &j->req;
    memset(r, 0, sizeof *r);
    r->scheme = 1;
    r->md_nid = j->algo.md_nid;
    r->rsa = j->algo.rsa;
    r->cert = j->cert_der;
    r->cert_len = j->cert_len;
    unsigned dl = 0;
    if (!EVP_Digest(j->sf.p, j->sf.len, r->digest, &dl, EVP_get_digestbynid(r->md_nid), NULL))
        return signet_fail(SIGNET_E_CRYPTO, "hashing the v1 signature file failed");
    r->digest_len = dl;
    return SIGNET_OK;
}

signet_rc signapk_apk_v1_done(signet_signapk_job *j)
{
    sb_wr block;
    sbw_init(&block, 1u << 20);
    signet_rc rc = jar_pkcs7(j->cert_der, j->cert_len, j->algo.md_nid, j->algo.rsa, false,
                             j->sig.p, j->sig.len, &block);
    /* the engine's order (V1SchemeSigner.sign): signature file, block, manifest */
    const char *sf = "META-INF/" SIGNER ".SF";
    const char *blk = j->algo.rsa ? "META-INF/" SIGNER ".RSA" : "META-INF/" SIGNER ".EC";
    const struct { const char *name; const sb_wr *data; } files[] = {
        {sf, &j->sf}, {blk, &block}, {JAR_MANIFEST, &j->mf}};
    for (size_t i = 0; i < 3 && rc == SIGNET_OK; i++)
        rc = jos_deflated(&j->w, (const uint8_t *)files[i].name, strlen(files[i].name),
                          files[i].data->p, files[i].data->len);
    rc = rc ? rc : jos_finish(&j->w);
    sbw_free(&block);
    if (rc)
        return rc;
    signet_apk_opts ao;
    signet_apk_opts_default(&ao);
    ao.min_sdk = j->o.min_sdk;
    ao.v2 = !j->o.disable_v2;
    ao.v3 = true;
    ao.v1_off = true;
    ao.keep_signature_files = true;
    ao.lib_page_align = SIGNET_APK_DEBIAN_PAGE; /* nothing moves: unused */
    rc = signet_apk_sign_begin(j->out.p, j->out.len, &ao, j->cert_der, j->cert_len, &j->apk);
    return rc ? signet_wrap(rc, "v2/v3 over the v1-signed APK") : SIGNET_OK;
}

void signapk_apk_free(signet_signapk_job *j)
{
    signet_apk_sign_free(j->apk);
    if (j->w_open)
        jos_free(&j->w);
    sbw_free(&j->mf);
    sbw_free(&j->sf);
}

/* `signet release verify`: the job of AOSP's check_target_files_signatures without
 * Java.  Every APK and APEX the plan signs must carry the release certificate of
 * its key (and nothing signed may carry a certificate outside the key store's
 * release set), every APEX payload's vbmeta must verify with its release payload
 * key and match apex_pubkey, and the certificates in configuration files must be
 * the release ones.  One row per check; failures are counted, not stopped at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "release_internal.h"
#include "signet/apk.h"
#include "signet/avb.h"

#define MEMBER_MAX ((size_t)0xffffffffu)

static void row(signet_release_check *c, const char *member, const char *what, bool ok,
                const char *why)
{
    c->checked++;
    c->failed += !ok;
    if (c->out)
        fprintf(c->out, "%-4s %-58s %-28s %s\n", ok ? "ok" : "FAIL", member, what,
                ok ? "" : why);
}

/* The name of the key of the key store whose certificate has this SHA-256 (the
 * plan's logical name when the plan uses it), or NULL: outside the release set. */
static const char *release_cert(signet_release_check *c, const signet_rplan *p,
                                const uint8_t sha[32])
{
    for (size_t i = 0; i < signet_keystore_count(c->ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(c->ks, i);
        uint8_t f[32];
        if (signet_keystore_cert_fingerprint(c->ks, e->name, f) != SIGNET_OK ||
            memcmp(f, sha, 32) != 0)
            continue;
        for (size_t k = 0; k < p->n_keys; k++)
            if (strcmp(p->keys[k].store, e->name) == 0)
                return p->keys[k].name;
        return e->name;
    }
    return NULL;
}

static void check_apk(signet_release_check *c, const signet_rplan *p, const char *member,
                      const uint8_t *apk, size_t len, const char *want)
{
    signet_apk_verify_result res;
    char why[512];
    if (signet_apk_verify(apk, len, NULL, 0, 0, &res) != SIGNET_OK) {
        snprintf(why, sizeof why, "%s", signet_errmsg());
        row(c, member, want, false, why);
        return;
    }
    const char *got = release_cert(c, p, res.cert_sha256);
    const char *aosp = signet_release_aosp_test_key(res.cert_sha256);
    if (!got && aosp)
        snprintf(why, sizeof why, "signed by AOSP's public test key '%s' (its private key is "
                                  "published: anyone can sign as it)", aosp);
    else
        snprintf(why, sizeof why, "signed by %s (%s)", got ? got : "a certificate outside the "
                                                                   "release set",
                 res.cert_subject);
    row(c, member, want, got && strcmp(got, want) == 0, why);
}

/* The APKs inside a (verified) APEX payload: each signed by the release key that
 * apkcerts.txt and the mapping give it, as `release sign` signed it (rows name
 * MEMBER!/PATH); PRESIGNED and EXTERNAL ones are not checked. */
static void check_inner(signet_release_check *c, const signet_rplan *p, const char *member,
                        const uint8_t *img, size_t len)
{
    signet_avb_footer f;
    if (!c->fs || signet_avb_footer_parse(img, len, &f) != SIGNET_OK) {
        signet_err_clear();
        return;
    }
    signet_release_fs *fs = NULL;
    const char *const *apks = NULL;
    size_t n = 0;
    if (c->fs->open(c->fs_ctx, member, img, (size_t)f.original_image_size, &fs, &apks, &n)) {
        row(c, member, "payload file system", false, signet_errmsg());
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char where[4200], *key = NULL, st[41];
        sb_wr apk;
        sbw_init(&apk, MEMBER_MAX);
        signet_rc rc = rl_inner_key(c->meta, c->map, member, apks[i], where, sizeof where, &key,
                                    st);
        if (rc == SIGNET_OK && key)
            rc = c->fs->read(fs, apks[i], &apk);
        if (rc != SIGNET_OK)
            row(c, where, "release key", false, signet_errmsg());
        else if (key)
            check_apk(c, p, where, apk.p, apk.len, key);
        sbw_free(&apk);
        free(key);
    }
    c->fs->close(fs);
}

/* An APEX container, or a .capex whose original_apex is checked as one (its rows
 * name MEMBER!original_apex). */
static void check_apex(signet_release_check *c, const signet_rplan *p, const signet_rplan_item *it,
                       const char *member, const uint8_t *apex, size_t len)
{
    check_apk(c, p, member, apex, len, it->key);
    const signet_rplan_key *k = signet_rplan_key_find(p, it->payload);
    signet_zip z;
    sb_wr img, pub, want;
    sbw_init(&img, MEMBER_MAX);
    sbw_init(&pub, 1 << 16);
    sbw_init(&want, 1 << 16);
    signet_rc rc = signet_zip_parse(apex, len, &z);
    const signet_zip_entry *oe = rc == SIGNET_OK ? signet_zip_find(&z, "original_apex") : NULL;
    if (oe && rl_ends_with(member, ".capex")) {
        char inner[4200];
        snprintf(inner, sizeof inner, "%s!original_apex", member);
        rc = signet_zip_extract(&z, oe, MEMBER_MAX, &img);
        if (rc == SIGNET_OK)
            check_apex(c, p, it, inner, img.p, img.len);
        else
            row(c, inner, "original_apex", false, signet_errmsg());
        signet_zip_free(&z);
        sbw_free(&img), sbw_free(&pub), sbw_free(&want);
        return;
    }
    const signet_zip_entry *pe = rc == SIGNET_OK ? signet_zip_find(&z, "apex_payload.img") : NULL;
    const signet_zip_entry *ke = rc == SIGNET_OK ? signet_zip_find(&z, "apex_pubkey") : NULL;
    if (rc == SIGNET_OK && (!pe || !ke))
        rc = signet_fail(SIGNET_E_VERIFY, "apex_payload.img or apex_pubkey is missing");
    if (rc == SIGNET_OK)
        rc = signet_zip_extract(&z, pe, MEMBER_MAX, &img);
    if (rc == SIGNET_OK)
        rc = signet_zip_extract(&z, ke, 1 << 16, &pub);
    char path[4096];
    if (rc == SIGNET_OK && !k)
        rc = signet_fail(SIGNET_E_STATE, "no payload key in the plan");
    if (rc == SIGNET_OK)
        rc = signet_keystore_path(c->ks, k->store, ".avbpubkey", path, sizeof path);
    if (rc == SIGNET_OK) {
        FILE *f = fopen(path, "rb");
        uint8_t buf[4096];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        rc = n ? sbw_put(&want, buf, n) : signet_fail(SIGNET_E_NOTFOUND, "no %s", path);
    }
    if (rc == SIGNET_OK && (pub.len != want.len || memcmp(pub.p, want.p, want.len) != 0))
        rc = signet_fail(SIGNET_E_VERIFY, "apex_pubkey is not the release payload key");
    if (rc == SIGNET_OK)
        rc = signet_avb_image_verify(img.p, img.len, want.p, want.len);
    char what[128];
    snprintf(what, sizeof what, "payload %s", it->payload ? it->payload : "-");
    row(c, member, what, rc == SIGNET_OK, signet_errmsg());
    if (rc == SIGNET_OK)
        check_inner(c, p, member, img.p, img.len);
    signet_zip_free(&z);
    sbw_free(&img), sbw_free(&pub), sbw_free(&want);
}

/* Every signature="HEX" certificate must be a release certificate. */
static void check_mac(signet_release_check *c, const signet_rplan *p, const char *member,
                      const char *xml, size_t n)
{
    static const char attr[] = "signature=\"";
    size_t count = 0, bad = 0;
    const char *aosp = NULL;
    for (size_t i = 0; i + sizeof attr - 1 <= n; i++) {
        if (memcmp(xml + i, attr, sizeof attr - 1) != 0)
            continue;
        const char *v = xml + i + sizeof attr - 1;
        const char *q = memchr(v, '"', (size_t)(xml + n - v));
        if (!q)
            break;
        count++;
        if (*v == '@')
            continue;
        sb_wr der;
        sbw_init(&der, 1 << 16);
        uint8_t sha[32];
        if (hex_decode(&der, v, (size_t)(q - v)) != SIGNET_OK ||
            EVP_Digest(der.p, der.len, sha, NULL, EVP_sha256(), NULL) != 1 ||
            !release_cert(c, p, sha)) {
            bad++;
            aosp = aosp ? aosp : signet_release_aosp_test_key(sha);
        }
        sbw_free(&der);
    }
    char why[200];
    snprintf(why, sizeof why, "%zu of %zu certificates are not release certificates%s%s%s", bad,
             count, aosp ? " (one is AOSP's public test key '" : "", aosp ? aosp : "",
             aosp ? "')" : "");
    row(c, member, "certificates", bad == 0, why);
}

static void check_otacerts(signet_release_check *c, const signet_rplan *p, const char *member,
                           const uint8_t *zip, size_t n)
{
    signet_zip z;
    bool ok = false;
    size_t entries = 0;
    const char *ota = p->ota_key ? p->ota_key : "releasekey";
    if (signet_zip_parse(zip, n, &z) == SIGNET_OK) {
        ok = z.n > 0;
        for (size_t i = 0; i < z.n; i++) {
            sb_wr pem;
            sbw_init(&pem, 1 << 16);
            entries++;
            X509 *x = NULL;
            if (signet_zip_extract(&z, &z.e[i], 1 << 16, &pem) == SIGNET_OK) {
                BIO *b = BIO_new_mem_buf(pem.p, (int)pem.len);
                x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
                BIO_free(b);
            }
            unsigned char *der = NULL;
            int dl = x ? i2d_X509(x, &der) : -1;
            uint8_t sha[32];
            const char *k = dl > 0 && EVP_Digest(der, (size_t)dl, sha, NULL, EVP_sha256(), NULL)
                                ? release_cert(c, p, sha) : NULL;
            ok = ok && k && strcmp(k, ota) == 0;
            OPENSSL_free(der);
            X509_free(x);
            sbw_free(&pem);
        }
        signet_zip_free(&z);
    }
    char what[80], why[160];
    snprintf(what, sizeof what, "OTA key %s", ota);
    snprintf(why, sizeof why, "its %zu certificate(s) are not only %s's", entries, ota);
    row(c, member, what, ok, why);
}

signet_rc signet_release_verify(signet_release_check *c, const signet_tf *tf,
                                const signet_rplan *p)
{
    for (size_t i = 0; i < tf->z.n; i++) {
        const char *m = tf->names[i];
        const signet_rplan_item *apk = signet_rplan_find(p, SIGNET_RPLAN_APK, m);
        const signet_rplan_item *apex = signet_rplan_find(p, SIGNET_RPLAN_APEX, m);
        bool mac = rl_ends_with(m, "mac_permissions.xml"), ota = rl_ends_with(m, "/otacerts.zip");
        bool prop = rl_is_build_prop(m);
        if (!(apk && apk->action == SIGNET_RPLAN_SIGN) && !(apex && apex->action == SIGNET_RPLAN_SIGN) &&
            !mac && !ota && !prop)
            continue;
        sb_wr in, plain;
        sbw_init(&in, MEMBER_MAX);
        sbw_init(&plain, MEMBER_MAX);
        signet_rc rc = signet_zip_extract(&tf->z, &tf->z.e[i], MEMBER_MAX, &in);
        if (rc == SIGNET_OK && apk && apk->gz)
            rc = rl_gunzip(in.p, in.len, MEMBER_MAX, &plain);
        if (rc != SIGNET_OK)
            row(c, m, "readable", false, signet_errmsg());
        else if (apk)
            check_apk(c, p, m, apk->gz ? plain.p : in.p, apk->gz ? plain.len : in.len, apk->key);
        else if (apex)
            check_apex(c, p, apex, m, in.p, in.len);
        else if (mac)
            check_mac(c, p, m, (const char *)in.p, in.len);
        else if (ota)
            check_otacerts(c, p, m, in.p, in.len);
        else {
            bool test = false;
            for (size_t k = 0; k + 9 <= in.len && !test; k++)
                test = memcmp(in.p + k, "test-keys", 9) == 0 || memcmp(in.p + k, "dev-keys", 8) == 0;
            row(c, m, "release-keys", !test, "still names test-keys or dev-keys");
        }
        sbw_free(&in);
        sbw_free(&plain);
    }
    return SIGNET_OK;
}

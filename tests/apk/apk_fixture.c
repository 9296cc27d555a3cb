/* Test APKs and a software signer: see apk_fixture.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "apk_fixture.h"
#include "common/hsmd_fixture.h"

static const char *const strings[] = {"minSdkVersion", "manifest", "uses-sdk", "package",
                                      "http://schemas.android.com/apk/res/android",
                                      "sharedUserId", "org.example.shared"};
#define NSTR_PLAIN 5
#define NSTR_SHARED 7

static void chunk_end(sb_wr *w, size_t start)
{
    while ((w->len - start) % 4)
        sbw_u8(w, 0);
    put_le32(w->p + start + 4, (uint32_t)(w->len - start));
}

static void element(sb_wr *w, uint16_t type, uint32_t name, int attrs, int min_sdk, bool shared)
{
    size_t s = w->len;
    sbw_u16_le(w, type);
    sbw_u16_le(w, 16);
    sbw_u32_le(w, 0);
    sbw_u32_le(w, 1);           /* line */
    sbw_u32_le(w, 0xffffffffu); /* comment */
    sbw_u32_le(w, 0xffffffffu); /* namespace */
    sbw_u32_le(w, name);
    if (type == 0x0102) {
        sbw_u16_le(w, 20);
        sbw_u16_le(w, 20);
        sbw_u16_le(w, (uint16_t)attrs);
        sbw_zero(w, 6);
        for (int i = 0; i < attrs; i++) {
            sbw_u32_le(w, 4);   /* android namespace */
            sbw_u32_le(w, shared ? 5 : 0); /* sharedUserId = "org.example.shared", or
                                             minSdkVersion = min_sdk */
            sbw_u32_le(w, shared ? 6 : 0xffffffffu);
            sbw_u16_le(w, 8);
            sbw_u8(w, 0);
            sbw_u8(w, shared ? 0x03 : 0x10);
            sbw_u32_le(w, shared ? 6 : (uint32_t)min_sdk);
        }
    }
    chunk_end(w, s);
}

void apkfix_manifest(int min_sdk, sb_wr *w) { apkfix_manifest_ex(min_sdk, false, w); }

void apkfix_manifest_ex(int min_sdk, bool shared_uid, sb_wr *w)
{
    const int nstr = shared_uid ? NSTR_SHARED : NSTR_PLAIN;
    size_t top = w->len;
    sbw_u16_le(w, 0x0003);
    sbw_u16_le(w, 8);
    sbw_u32_le(w, 0);
    size_t pool = w->len;
    sbw_u16_le(w, 0x0001);
    sbw_u16_le(w, 28);
    sbw_u32_le(w, 0);
    sbw_u32_le(w, (uint32_t)nstr);
    sbw_u32_le(w, 0);
    sbw_u32_le(w, 0x100);
    sbw_u32_le(w, 28 + 4 * (uint32_t)nstr);
    sbw_u32_le(w, 0);
    uint32_t off = 0;
    for (int i = 0; i < nstr; i++) {
        sbw_u32_le(w, off);
        off += (uint32_t)strlen(strings[i]) + 3;
    }
    for (int i = 0; i < nstr; i++) {
        size_t n = strlen(strings[i]);
        sbw_u8(w, (uint8_t)n);
        sbw_u8(w, (uint8_t)n);
        sbw_put(w, strings[i], n);
        sbw_u8(w, 0);
    }
    chunk_end(w, pool);
    size_t map = w->len;
    sbw_u16_le(w, 0x0180);
    sbw_u16_le(w, 8);
    sbw_u32_le(w, 0);
    sbw_u32_le(w, 0x0101020c);
    if (shared_uid) { /* strings 1-4 name no attribute; 5 is android:sharedUserId */
        sbw_zero(w, 16);
        sbw_u32_le(w, 0x0101000b);
    }
    chunk_end(w, map);
    element(w, 0x0102, 1, shared_uid ? 1 : 0, 0, shared_uid);
    if (min_sdk > 0) {
        element(w, 0x0102, 2, 1, min_sdk, false);
        element(w, 0x0103, 2, 0, 0, false);
    }
    element(w, 0x0103, 1, 0, 0, false);
    put_le32(w->p + top + 4, (uint32_t)(w->len - top));
}

int apkfix_build(const char *dir, const char *name, const char *recipe)
{
    char cmd[4096], r[512];
    int sdk = 24;
    bool dirs = false, shared = false;
    snprintf(r, sizeof r, "%s", recipe);
    int n = snprintf(cmd, sizeof cmd, "set -e; cd %s && rm -rf src_%s && mkdir -p src_%s && cd src_%s",
                     dir, name, name, name);
    char stored[256] = "", deflated[256] = "AndroidManifest.xml";
    for (char *save = NULL, *t = strtok_r(r, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        long size = 0;
        char kind[16] = "";
        if (strcmp(t, "dirs") == 0 || strcmp(t, "shareduid") == 0) {
            *(strcmp(t, "dirs") == 0 ? &dirs : &shared) = true;
            continue;
        }
        if (sscanf(t, "%15[a-z]:%ld", kind, &size) != 2)
            return -1;
        if (strcmp(kind, "sdk") == 0) {
            sdk = (int)size;
        } else if (strcmp(kind, "dex") == 0) {
            n += snprintf(cmd + n, sizeof cmd - n, " && head -c %ld /dev/urandom > classes.dex", size);
            strcat(deflated, " classes.dex");
        } else if (strcmp(kind, "res") == 0) {
            n += snprintf(cmd + n, sizeof cmd - n, " && mkdir -p res/raw && seq 1 %ld 2>/dev/null | head -c %ld "
                                                   "> res/raw/a.txt", size, size);
            strcat(deflated, " res/raw/a.txt");
        } else if (strcmp(kind, "so") == 0) {
            n += snprintf(cmd + n, sizeof cmd - n, " && mkdir -p lib/arm64-v8a && head -c %ld "
                                                   "/dev/urandom > lib/arm64-v8a/libx.so", size);
            strcat(stored, " lib/arm64-v8a/libx.so");
        } else if (strcmp(kind, "store") == 0) {
            n += snprintf(cmd + n, sizeof cmd - n, " && mkdir -p assets && head -c %ld /dev/urandom "
                                                   "> assets/blob", size);
            strcat(stored, " assets/blob");
        } else {
            return -1;
        }
    }
    sb_wr m;
    sbw_init(&m, 1 << 16);
    apkfix_manifest_ex(sdk, shared, &m);
    char path[512];
    snprintf(path, sizeof path, "%s/src_%s", dir, name);
    if (run_cmd(cmd, NULL) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/src_%s/AndroidManifest.xml", dir, name);
    int rc = test_write_file(path, m.p, m.len);
    sbw_free(&m);
    if (rc)
        return -1;
    /* directory entries first, as a build tool that zips a tree writes them */
    char dircmd[300] = "";
    if (dirs)
        snprintf(dircmd, sizeof dircmd, "zip -q ../%s */ && ", name);
    snprintf(cmd, sizeof cmd, "set -e; cd %s/src_%s && rm -f ../%s && %szip -q -D ../%s %s", dir,
             name, name, dircmd, name, deflated);
    if (run_cmd(cmd, NULL) != 0)
        return -1;
    if (stored[0]) {
        snprintf(cmd, sizeof cmd, "cd %s/src_%s && zip -q -0 -D ../%s %s", dir, name, name,
                 stored);
        if (run_cmd(cmd, NULL) != 0)
            return -1;
    }
    return 0;
}

int apkfix_key(const char *dir, const char *prefix, const char *alg)
{
    char cmd[2048];
    const char *gen = strcmp(alg, "ec") == 0 ? "openssl ecparam -name prime256v1 -genkey -noout"
                      : strcmp(alg, "rsa4096") == 0 ? "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096"
                                                    : "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048";
    snprintf(cmd, sizeof cmd,
             "set -e; cd %s && %s -out %s.pem 2>/dev/null && openssl pkcs8 -topk8 -nocrypt -in "
             "%s.pem -outform DER -out %s.pk8 && openssl req -new -x509 -key %s.pem -days 3650 "
             "-subj /CN=signet-test-%s -out %s.x509.pem",
             dir, gen, prefix, prefix, prefix, prefix, prefix, prefix);
    return run_cmd(cmd, NULL) == 0 ? 0 : -1;
}

int apkfix_sign_soft(const char *key_pem, const char *cert_pem, const uint8_t *apk, size_t len,
                     const signet_apk_opts *o, sb_wr *out, sb_wr *idsig)
{
    FILE *f = fopen(key_pem, "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    f = fopen(cert_pem, "r");
    X509 *c = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    uint8_t *der = NULL;
    int dl = c ? i2d_X509(c, &der) : -1;
    signet_apk_job *j = NULL;
    int ret = -1;
    if (!k || dl <= 0 || signet_apk_sign_begin(apk, len, o, der, (size_t)dl, &j) != SIGNET_OK)
        goto out;
    const signet_apk_sigreq *r;
    size_t m;
    while ((m = signet_apk_sign_pending(j, &r)) > 0) {
        for (size_t i = 0; i < m; i++) {
            EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k, NULL);
            uint8_t sig[1024];
            size_t sl = sizeof sig;
            int ok = pc && EVP_PKEY_sign_init(pc) == 1 &&
                     (!r[i].rsa || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1) &&
                     EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbynid(r[i].md_nid)) == 1 &&
                     EVP_PKEY_sign(pc, sig, &sl, r[i].digest, r[i].digest_len) == 1;
            EVP_PKEY_CTX_free(pc);
            if (!ok || signet_apk_sign_set(j, i, sig, sl) != SIGNET_OK)
                goto out;
        }
    }
    if (signet_apk_sign_finish(j, out, idsig) == SIGNET_OK)
        ret = 0;
out:
    if (ret)
        fprintf(stderr, "apkfix_sign_soft: %s\n", signet_errmsg());
    signet_apk_sign_free(j);
    EVP_PKEY_free(k);
    X509_free(c);
    OPENSSL_free(der);
    return ret;
}

/* `signet release sign` on bytes in memory: every member of the target-files zip in
 * zip order, the APKs and APEXes as artifacts.c signed them (ordered by key across the
 * packages of a run), configuration files rewritten, everything else copied record
 * for record; then the binding records once the package is durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "release_internal.h"
#include "signet/apk.h"
#include "signet/avb.h"
#include "signet/digestinfo.h"
#include "signet/progress.h"
#include "signet/proto.h"
#include "signet/sign.h"

#define MEMBER_MAX ((size_t)0xffffffffu)

signet_rc rl_store_name(const signet_rplan *p, const char *key, char out[41])
{
    const signet_rplan_key *k = signet_rplan_key_find(p, key);
    if (!k)
        return signet_fail(SIGNET_E_STATE, "the plan names key '%s' without a key line", key);
    memcpy(out, k->store, 41);
    return SIGNET_OK;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
    EVP_Digest(p, n, out, NULL, EVP_sha256(), NULL);
}

static signet_rc extract(const signet_tf *tf, const signet_zip_entry *e, sb_wr *w)
{
    sbw_init(w, MEMBER_MAX);
    return signet_zip_extract(&tf->z, e, MEMBER_MAX, w);
}

signet_rc rl_add_member(signet_release_job *j, const char *name, const uint8_t in_sha[32],
                            const uint8_t *out, size_t out_len, const uint64_t *covers,
                            size_t n, bool after_prev)
{
    if (n > sizeof j->members[0].covers / sizeof j->members[0].covers[0])
        return signet_fail(SIGNET_E_STATE, "%s: too many signatures for one member", name);
    if (j->n_members == j->cap_members) {
        size_t cap = j->cap_members ? 2 * j->cap_members : 16;
        signet_release_member *m = realloc(j->members, cap * sizeof *m);
        if (!m)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        j->members = m;
        j->cap_members = cap;
    }
    signet_release_member *m = &j->members[j->n_members];
    memset(m, 0, sizeof *m);
    if (!(m->name = strdup(name)))
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    memcpy(m->in_sha256, in_sha, 32);
    sha256(out, out_len, m->out_sha256);
    memcpy(m->covers, covers, n * sizeof *covers);
    m->n_covers = n;
    m->after_prev = after_prev;
    j->n_members++;
    return SIGNET_OK;
}

bool rl_dropped_member(const char *m)
{
    return strncmp(m, "IMAGES/", 7) == 0 || strcmp(m, "META/vbmeta_digest.txt") == 0 ||
           strcmp(m, "META/care_map.pb") == 0 || strcmp(m, "META/care_map.txt") == 0 ||
           strcmp(m, "META/apex_info.pb") == 0 ||
           (strncmp(m, "OTA/", 4) == 0 && rl_ends_with(m, ".img"));
}

signet_rc rl_signed_add(signet_release_job *j, const char *member, bool gz)
{
    if (j->n_signed == j->cap_signed) {
        size_t cap = j->cap_signed ? 2 * j->cap_signed : 16;
        struct rl_signed *v = realloc(j->signed_v, cap * sizeof *v);
        if (!v)
            return signet_fail(SIGNET_E_NOMEM, "out of memory");
        j->signed_v = v;
        j->cap_signed = cap;
    }
    struct rl_signed *sv = &j->signed_v[j->n_signed];
    memset(sv, 0, sizeof *sv);
    if (!(sv->member = strdup(member)))
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    sv->gz = gz;
    sbw_init(&sv->out, MEMBER_MAX);
    j->n_signed++;
    return SIGNET_OK;
}

void signet_release_job_free(signet_release_job *j)
{
    for (size_t i = 0; i < j->n_signed; i++) {
        free(j->signed_v[i].member);
        sbw_free(&j->signed_v[i].out);
    }
    free(j->signed_v);
    j->signed_v = NULL;
    j->n_signed = j->cap_signed = 0;
    j->artifacts_signed = false;
    for (size_t i = 0; i < j->n_members; i++)
        free(j->members[i].name);
    free(j->members);
    j->members = NULL;
    j->n_members = j->cap_members = 0;
}

signet_rc signet_release_bind(signet_release_job *j, const char *in, const uint8_t in_sha256[32],
                              const char *out, const uint8_t out_sha256[32])
{
    uint64_t *leaves = calloc(j->n_members + 1, sizeof *leaves);
    if (!leaves)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < j->n_members; i++) {
        signet_release_member *m = &j->members[i];
        /* covers[] has room for one more: the payload binding an APEX container covers */
        if (m->after_prev && i > 0 && m->n_covers < 9)
            m->covers[m->n_covers++] = leaves[i - 1];
        size_t ni = strlen(in) + strlen(m->name) + 3, no = strlen(out) + strlen(m->name) + 3;
        char *a = malloc(ni), *b = malloc(no);
        if (!a || !b)
            rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
        if (rc == SIGNET_OK) {
            snprintf(a, ni, "%s!/%s", in, m->name);
            snprintf(b, no, "%s!/%s", out, m->name);
            rc = signet_signer_bind_leaf(j->signer, a, m->in_sha256, b, m->out_sha256, m->covers,
                                         m->n_covers, &leaves[i]);
        }
        free(a), free(b);
    }
    if (rc == SIGNET_OK && j->n_members)
        rc = signet_signer_bind(j->signer, in, in_sha256, out, out_sha256, leaves, j->n_members);
    free(leaves);
    return rc;
}

/* releasetools signs APEX containers with signapk -a 4096: every stored entry's
 * data (apex_payload.img above all, which apexd maps directly) on a 4 KiB boundary,
 * padded with apksigner's alignment extra field, which the APK engine keeps. */
signet_rc rl_align_stored(const uint8_t *zip, size_t len, sb_wr *out)
{
    signet_zip z;
    signet_rc rc = signet_zip_parse(zip, len, &z);
    if (rc != SIGNET_OK)
        return rc;
    rl_zw w;
    rl_zw_init(&w);
    for (size_t i = 0; rc == SIGNET_OK && i < z.n; i++)
        rc = rl_zw_copy_aligned(&w, &z, &z.e[i], SIGNET_APEX_ALIGN);
    if (rc == SIGNET_OK)
        rc = rl_zw_finish(&w, out);
    rl_zw_free(&w);
    signet_zip_free(&z);
    return rc;
}

/* ---- certificates ------------------------------------------------------------ */

static signet_rc cert_hex(const uint8_t *der, size_t n, char **out)
{
    sb_wr w;
    sbw_init(&w, 2 * n + 1);
    signet_rc rc = hex_encode(&w, der, n);
    if (rc == SIGNET_OK)
        rc = sbw_u8(&w, 0);
    *out = rc == SIGNET_OK ? strdup((char *)w.p) : NULL;
    sbw_free(&w);
    return rc == SIGNET_OK && !*out ? signet_fail(SIGNET_E_NOMEM, "out of memory") : rc;
}

static signet_rc release_cert_hex(signet_release_job *j, const char *store, char **out)
{
    sb_wr der;
    signet_rc rc = signet_keystore_cert_der(j->ks, store, &der);
    if (rc == SIGNET_OK)
        rc = cert_hex(der.p, der.len, out);
    sbw_free(&der);
    return rc;
}

/* DIR/DEV_KEY.x509.pem as hex DER, or NULL when the file does not exist. */
static signet_rc dev_cert_hex(const char *dir, const char *dev, char **out)
{
    *out = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.x509.pem", dir, dev);
    FILE *f = fopen(path, "r");
    if (!f)
        return SIGNET_OK;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    unsigned char *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;
    X509_free(x);
    if (n <= 0)
        return signet_fail(SIGNET_E_PARSE, "%s is not a PEM certificate", path);
    signet_rc rc = cert_hex(der, (size_t)n, out);
    OPENSSL_free(der);
    return rc;
}

typedef struct {
    char **pairs;   /* dev hex, release hex, ... */
    size_t n_pairs;
    char **allowed; /* release hex */
    size_t n_allowed;
} certmap;

static void certmap_free(certmap *c)
{
    for (size_t i = 0; i < 2 * c->n_pairs; i++)
        free(c->pairs[i]);
    for (size_t i = 0; i < c->n_allowed; i++)
        free(c->allowed[i]);
    free(c->pairs), free(c->allowed);
}

static bool in_pairs(const certmap *c, const char *dev)
{
    for (size_t i = 0; i < c->n_pairs; i++)
        if (strcmp(c->pairs[2 * i], dev) == 0)
            return true;
    return false;
}

static signet_rc certmap_build(signet_release_job *j, const signet_rplan *p, certmap *c)
{
    memset(c, 0, sizeof *c);
    c->allowed = calloc(p->n_keys + 1, sizeof *c->allowed);
    c->pairs = calloc(2 * p->n_items + 2, sizeof *c->pairs);
    if (!c->allowed || !c->pairs)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < p->n_keys; i++)
        if (strcmp(p->keys[i].role, "apex-payload") && strcmp(p->keys[i].role, "avb") &&
            signet_keystore_has_file(j->ks, p->keys[i].store, ".x509.pem"))
            rc = release_cert_hex(j, p->keys[i].store, &c->allowed[c->n_allowed++]);
    for (size_t i = 0; rc == SIGNET_OK && j->dev_cert_dir && i < p->n_items; i++) {
        const signet_rplan_item *it = &p->items[i];
        if (it->kind == SIGNET_RPLAN_AVB || it->action != SIGNET_RPLAN_SIGN)
            continue;
        char *dev = NULL, *rel = NULL, st[41];
        rc = dev_cert_hex(j->dev_cert_dir, it->dev_key, &dev);
        if (rc == SIGNET_OK && dev && !in_pairs(c, dev))
            rc = rl_store_name(p, it->key, st);
        if (rc == SIGNET_OK && dev && !in_pairs(c, dev))
            rc = release_cert_hex(j, st, &rel);
        if (rc == SIGNET_OK && rel) {
            c->pairs[2 * c->n_pairs] = dev;
            c->pairs[2 * c->n_pairs++ + 1] = rel;
        } else {
            free(dev), free(rel);
        }
    }
    return rc;
}

/* otacerts.zip: one entry, the OTA key's certificate (PEM), as WriteOtacerts. */
static signet_rc otacerts(signet_release_job *j, const signet_rplan *p, sb_wr *out)
{
    char st[41];
    signet_rc rc = rl_store_name(p, p->ota_key ? p->ota_key : "releasekey", st);
    sb_wr der;
    sbw_init(&der, 1);
    if (rc == SIGNET_OK)
        rc = signet_keystore_cert_der(j->ks, st, &der);
    const unsigned char *q = der.p;
    X509 *x = rc == SIGNET_OK ? d2i_X509(NULL, &q, (long)der.len) : NULL;
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pl = 0;
    if (rc == SIGNET_OK && (!x || !b || PEM_write_bio_X509(b, x) != 1 ||
                            (pl = BIO_get_mem_data(b, &pem)) <= 0))
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the certificate of '%s'", st);
    char name[64];
    snprintf(name, sizeof name, "%s.x509.pem", st);
    rl_zw w;
    rl_zw_init(&w);
    if (rc == SIGNET_OK)
        rc = rl_zw_stored(&w, name, (const uint8_t *)pem, (size_t)pl);
    if (rc == SIGNET_OK)
        rc = rl_zw_finish(&w, out);
    rl_zw_free(&w);
    BIO_free(b);
    X509_free(x);
    sbw_free(&der);
    return rc;
}

/* The misc_info args key of a partition (AVB_FOOTER_ARGS_BY_PARTITION). */
static void args_key(const char *part, char *out, size_t n)
{
    static const char *const hash_parts[] = {"boot", "init_boot", "dtbo", "recovery", "pvmfw",
                                             "vendor_boot", "vendor_kernel_boot"};
    if (strncmp(part, "vbmeta", 6) == 0) {
        snprintf(out, n, "avb_%s_args", part);
        return;
    }
    for (size_t i = 0; i < sizeof hash_parts / sizeof hash_parts[0]; i++)
        if (strcmp(part, hash_parts[i]) == 0) {
            snprintf(out, n, "avb_%s_add_hash_footer_args", part);
            return;
        }
    snprintf(out, n, "avb_%s_add_hashtree_footer_args", part);
}

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const signet_kv *)a)->key, ((const signet_kv *)b)->key);
}

/* META/misc_info.txt with the AVB keys, algorithms and signing helper of the
 * release keys; sorted keys joined by newlines, as ReplaceMiscInfoTxt writes it. */
static signet_rc misc_info(signet_release_job *j, const signet_tf *tf, const signet_rplan *p,
                           sb_wr *out)
{
    size_t n = tf->meta.n_misc;
    signet_kv *v = calloc(n ? n : 1, sizeof *v);
    char **own = calloc(2 * n + 1, sizeof *own);
    if (!v || !own) {
        free(v), free(own);
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    }
    memcpy(v, tf->meta.misc, n * sizeof *v);
    signet_rc rc = SIGNET_OK;
    size_t k = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < p->n_items; i++) {
        const signet_rplan_item *it = &p->items[i];
        if (it->kind != SIGNET_RPLAN_AVB)
            continue;
        char st[41], key[200], path[4096];
        rc = rl_store_name(p, it->key, st);
        const signet_keymap_entry *e = rc == SIGNET_OK ? signet_keystore_find(j->ks, st) : NULL;
        if (rc == SIGNET_OK && !e)
            rc = signet_fail(SIGNET_E_NOTFOUND, "AVB key '%s' is not in the key store", st);
        if (rc == SIGNET_OK)
            rc = signet_keystore_path(j->ks, st, ".pub.pem", path, sizeof path);
        unsigned bits = e && e->algorithm == YH_ALGO_RSA_2048 ? 2048 : 4096;
        if (rc == SIGNET_OK && e->algorithm != YH_ALGO_RSA_2048 && e->algorithm != YH_ALGO_RSA_4096)
            rc = signet_fail(SIGNET_E_UNSUPPORTED, "AVB key '%s' must be RSA-2048 or RSA-4096", st);
        for (size_t m = 0; rc == SIGNET_OK && m < n; m++) {
            char buf[4096 + 256];
            const char *nv = NULL;
            snprintf(key, sizeof key, "avb_%s_key_path", it->member);
            if (strcmp(v[m].key, key) == 0)
                nv = path;
            snprintf(key, sizeof key, "avb_%s_algorithm", it->member);
            if (strcmp(v[m].key, key) == 0) {
                snprintf(buf, sizeof buf, "SHA256_RSA%u", bits);
                nv = buf;
            }
            args_key(it->member, key, sizeof key);
            if (strcmp(v[m].key, key) == 0 && j->avb_helper && !strstr(v[m].value, "--signing_helper")) {
                snprintf(buf, sizeof buf, "%s --signing_helper_with_files %s", v[m].value,
                         j->avb_helper);
                nv = buf;
            }
            if (nv) {
                if (!(own[k] = strdup(nv))) {
                    rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
                    break;
                }
                v[m].value = own[k++];
            }
        }
    }
    if (rc == SIGNET_OK && n)
        qsort(v, n, sizeof *v, kv_cmp);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        rc = sbw_printf(out, "%s%s=%s", i ? "\n" : "", v[i].key, v[i].value);
    for (size_t i = 0; i < k; i++)
        free(own[i]);
    free(own), free(v);
    return rc;
}

/* A PRESIGNED member goes out as it came in: refused when its signer is one of AOSP's
 * public test certificates (anyone holds those private keys).  A member that does not
 * verify as an APK is left to release verify. */
static signet_rc not_aosp_signed(const signet_tf *tf, const signet_zip_entry *e, const char *m,
                                 bool gz)
{
    sb_wr in, plain;
    sbw_init(&plain, MEMBER_MAX);
    signet_rc rc = extract(tf, e, &in);
    if (rc == SIGNET_OK && gz)
        rc = rl_gunzip(in.p, in.len, MEMBER_MAX, &plain);
    signet_apk_verify_result res;
    const char *aosp = NULL;
    if (rc == SIGNET_OK) {
        if (signet_apk_verify(gz ? plain.p : in.p, gz ? plain.len : in.len, NULL, 0, 0, &res) ==
            SIGNET_OK)
            aosp = signet_release_aosp_test_key(res.cert_sha256);
        else
            signet_err_clear();
    }
    if (rc == SIGNET_OK && aosp)
        rc = signet_fail(SIGNET_E_STATE, "%s: PRESIGNED but signed with AOSP's public test key "
                                         "'%s' (its private key is published): sign it with a "
                                         "release key (drop PRESIGNED from apkcerts.txt) or get a "
                                         "release-signed build of it",
                         m, aosp);
    sbw_free(&in);
    sbw_free(&plain);
    return rc;
}

size_t signet_release_device_estimate(const signet_rplan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_items; i++)
        if (p->items[i].action == SIGNET_RPLAN_SIGN)
            n += p->items[i].kind == SIGNET_RPLAN_APK ? 2 : p->items[i].kind == SIGNET_RPLAN_APEX ? 3 : 0;
    return n;
}

signet_rc signet_release_sign(signet_release_job *j, const signet_tf *tf, const signet_rplan *p,
                              sb_wr *out)
{
    certmap cm;
    signet_rc rc = certmap_build(j, p, &cm);
    /* A job signed alone (not part of a run over several packages). */
    if (rc == SIGNET_OK && !j->artifacts_signed) {
        signet_release_pkg one = {.j = j, .tf = tf, .p = p};
        rc = signet_release_sign_artifacts(&one, 1, j->progress);
    }
    rl_zw w;
    rl_zw_init(&w);
    size_t next = 0; /* signed_v is in zip order */
    for (size_t i = 0; rc == SIGNET_OK && i < tf->z.n; i++) {
        const signet_zip_entry *e = &tf->z.e[i];
        const char *m = tf->names[i];
        const signet_rplan_item *apk = signet_rplan_find(p, SIGNET_RPLAN_APK, m);
        const signet_rplan_item *apex = signet_rplan_find(p, SIGNET_RPLAN_APEX, m);
        const signet_rplan_item *it = apk ? apk : apex;
        sb_wr in, o;
        sbw_init(&in, 1);
        sbw_init(&o, MEMBER_MAX);
        if (rl_dropped_member(m)) {
            /* rebuilt from the signed package, as sign_target_files_apks drops them */
        } else if (it && it->action == SIGNET_RPLAN_SIGN) {
            if (next < j->n_signed && strcmp(j->signed_v[next].member, m) == 0) {
                rc = rl_zw_stored(&w, m, j->signed_v[next].out.p, j->signed_v[next].out.len);
                next++;
            } else {
                rc = signet_fail(SIGNET_E_STATE, "%s: not signed with the rest of the run", m);
            }
        } else if (!it && (rl_is_build_prop(m) || rl_ends_with(m, "mac_permissions.xml") ||
                           rl_ends_with(m, "/otacerts.zip") || strcmp(m, "META/misc_info.txt") == 0)) {
            bool link = e->cd_len >= 42 && ((le32(e->cd + 38) >> 16) & 0170000) == 0120000;
            rc = extract(tf, e, &in);
            if (rc == SIGNET_OK && link)
                rc = rl_zw_copy(&w, &tf->z, e);
            else if (rc == SIGNET_OK) {
                if (strcmp(m, "META/misc_info.txt") == 0)
                    rc = misc_info(j, tf, p, &o);
                else if (rl_ends_with(m, "/otacerts.zip"))
                    rc = otacerts(j, p, &o);
                else if (rl_is_build_prop(m))
                    rc = rl_rewrite_props((const char *)in.p, in.len, &o);
                else
                    rc = rl_rewrite_mac_permissions(m, (const char *)in.p, in.len, cm.pairs,
                                                    cm.n_pairs, cm.allowed, cm.n_allowed, &o);
                if (rc == SIGNET_OK)
                    rc = rl_zw_stored(&w, m, o.p, o.len);
            }
        } else {
            if (it && it->action == SIGNET_RPLAN_PRESIGNED)
                rc = not_aosp_signed(tf, e, m, apk && apk->gz);
            if (rc == SIGNET_OK)
                rc = rl_zw_copy(&w, &tf->z, e); /* presigned, external and every other file */
        }
        sbw_free(&in);
        sbw_free(&o);
    }
    if (rc == SIGNET_OK)
        rc = rl_zw_finish(&w, out);
    rl_zw_free(&w);
    certmap_free(&cm);
    return rc;
}

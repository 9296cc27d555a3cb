/* signet apk lineage: make or extend an APK signing-certificate lineage (key
 * rotation; include/signet/apk_lineage.h), the twin of `apksigner rotate`, and
 * print one as `apksigner lineage --print-certs` does.  The old key's signature
 * over the new certificate goes through the signing path. */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <openssl/x509.h>

#include "apk_cli.h"
#include "cli_table.h"
#include "file_io.h"
#include "signet/apk_lineage.h"
#include "signet/keystore.h"
#include "signet/sign.h"

static signet_rc read_lineage(const char *path, signet_apk_lineage *l)
{
    sb_wr f;
    signet_rc rc = cli_read_file(path, 1u << 20, &f);
    if (rc)
        return rc;
    rc = signet_apk_lineage_read(f.p, f.len, l);
    sbw_free(&f);
    return rc ? signet_wrap(rc, "%s", path) : SIGNET_OK;
}

static void print_certs(const signet_apk_lineage *l)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } caps[] = {{SIGNET_APK_CAP_INSTALLED_DATA, "installed data capability"},
                {SIGNET_APK_CAP_SHARED_UID, "shared UID capability    "},
                {SIGNET_APK_CAP_PERMISSION, "permission capability    "},
                {SIGNET_APK_CAP_ROLLBACK, "rollback capability      "},
                {SIGNET_APK_CAP_AUTH, "auth capability          "}}; /* as apksigner aligns them */
    for (size_t i = 0; i < l->n; i++) {
        const uint8_t *p = l->v[i].cert;
        X509 *x = d2i_X509(NULL, &p, (long)l->v[i].cert_len);
        char dn[256] = "?";
        if (x)
            X509_NAME_oneline(X509_get_subject_name(x), dn, sizeof dn);
        X509_free(x);
        uint8_t h[32];
        SHA256(l->v[i].cert, l->v[i].cert_len, h);
        printf("Signer #%zu in lineage certificate DN: %s\n", i + 1, dn);
        printf("Signer #%zu in lineage certificate SHA-256 digest: ", i + 1);
        for (int k = 0; k < 32; k++)
            printf("%02x", h[k]);
        printf("\n");
        for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++)
            printf("Has %s: %s\n", caps[c].name,
                   (l->v[i].flags & caps[c].bit) ? "true" : "false");
    }
}

signet_rc apk_lineage_run(struct cli_ctx *c, void *args)
{
    const struct apk_lineage_args *a = args;
    bool rotate = a->old_key || a->new_key || a->out;
    if (rotate && (!a->old_key || !a->new_key || !a->out))
        return signet_fail(SIGNET_E_ARG, "a rotation needs --old-key, --new-key and --out");
    if (!rotate && !(a->in && a->print))
        return signet_fail(SIGNET_E_ARG, "give --old-key/--new-key/--out, or --in with "
                                         "--print-certs");
    signet_apk_lineage l;
    memset(&l, 0, sizeof l);
    signet_rc rc = a->in ? read_lineage(a->in, &l) : SIGNET_OK;
    if (rc == SIGNET_OK && rotate) {
        signet_signer *s = NULL;
        rc = cli_open_signer(c->g, &s);
        rc = rc ? rc : signet_apk_lineage_rotate(s, &l, a->old_key, a->new_key, a->out,
                                                 "signet apk lineage");
        sb_wr w;
        sbw_init(&w, 1u << 20);
        rc = rc ? rc : signet_apk_lineage_write(&l, &w);
        rc = rc ? rc : cli_write_file(a->out, w.p, w.len);
        sbw_free(&w);
        signet_signer_close(s);
    }
    if (rc == SIGNET_OK && a->print)
        print_certs(&l);
    signet_apk_lineage_free(&l);
    return rc;
}

signet_rc apk_batch_set_lineage(struct apk_batch *b, const char *path)
{
    b->lineage = calloc(1, sizeof *b->lineage);
    if (!b->lineage)
        return signet_fail(SIGNET_E_NOMEM, "out of memory for a lineage");
    signet_rc rc = read_lineage(path, b->lineage);
    if (rc == SIGNET_OK)
        b->opts.lineage = b->lineage;
    return rc;
}

signet_rc apk_batch_find_old_key(struct apk_batch *b, signet_keystore *ks)
{
    if (!b->lineage)
        return SIGNET_OK;
    const signet_apk_lineage_node *first = &b->lineage->v[0];
    sb_wr der;
    sbw_init(&der, 1u << 16);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; i < signet_keystore_count(ks) && !b->old_key; i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        sbw_free(&der); /* signet_keystore_cert_der initialises der afresh */
        if (signet_keystore_cert_der(ks, e->name, &der) == SIGNET_OK && der.len == first->cert_len &&
            memcmp(der.p, first->cert, der.len) == 0) {
            b->old_key = strdup(e->name);
            rc = signet_apk_rotation_role_ok(e->name, e->role);
        }
    }
    sbw_free(&der);
    for (size_t i = 0; rc == SIGNET_OK && i < b->n; i++) {
        const signet_keymap_entry *e = signet_keystore_find(ks, b->v[i].key);
        if (e)
            rc = signet_apk_rotation_role_ok(e->name, e->role);
    }
    if (rc)
        return rc;
    if (!b->old_key)
        return signet_fail(SIGNET_E_NOTFOUND, "the lineage's oldest signer (it signs v2) is no "
                                              "key of the key store; import it with `signet keys "
                                              "import` or sign with apksigner");
    return SIGNET_OK;
}

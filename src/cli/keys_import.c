/* `signet keys import`: an existing private key into the key store (docs/keys.md).
 * The key file stays the user's: its bytes and the password are only in locked
 * memory, and signet writes nothing but the wrapped copy and public files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "file_io.h"
#include "keys_cmds.h"
#include "signet/keystore.h"
#include "signet/proto.h"
#include "signet/secmem.h"
#include "signet/sign.h"

const char keys_import_help[] =
    "Brings an existing private key into the key store as key NAME: puts it on the\n"
    "HSM (Put Asymmetric Key: this needs the admin credential, e.g. --auth-key 2\n"
    "with the admin password, because only the admin role has put-asymmetric-key),\n"
    "with the key map's id, domains and the capabilities of a generated key\n"
    "(signing, exportable under wrap); keeps the certificate given, or signs a\n"
    "self-signed one on the HSM; exports the wrapped copy, proves it (delete,\n"
    "import, compare public keys) and publishes NAME.wrapped, NAME.pub.pem,\n"
    "NAME.x509.pem, NAME.avbpubkey (RSA) and NAME.origin.  With an audit trail\n"
    "(audit in signet.conf) a key record with event=imported is appended.\n\n"
    "The key file is never changed or copied: signet keeps no plaintext key.  An\n"
    "imported key may have copies elsewhere; `signet keys list` shows it as imported.\n"
    "Give --key FILE [--cert FILE] or --aosp PREFIX.  Passwords are never taken from\n"
    "the command line; without --key-pass-file or --key-pass-env an encrypted key\n"
    "asks on the terminal.\n\n"
    "Exit status: 0 imported, 1 the certificate is for another key, 2 usage,\n"
    "3 device error (also when the credential lacks put-asymmetric-key: use the\n"
    "admin key), 5 wrong key password, 7 a file is missing or unreadable.\n";

#define T struct keys_import_args
const struct cli_opt keys_import_opts[] = {
    CLI_POS("NAME", cli_p_str, T, name, CLI_REQUIRED, "the key's name in the key map"),
    CLI_OPT("key", 0, "FILE", cli_p_str, T, key, 0,
            "PEM (PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA/EC PRIVATE KEY) or DER PKCS#8"),
    CLI_OPT("cert", 0, "FILE", cli_p_str, T, cert, 0,
            "its X.509 certificate (PEM or DER); must certify the key"),
    CLI_OPT("aosp", 0, "PREFIX", cli_p_str, T, aosp, 0, "AOSP pair: PREFIX.pk8 and PREFIX.x509.pem"),
    CLI_OPT("key-pass-file", 0, "F", cli_p_str, T, pass_file, 0,
            "password of an encrypted key: first line of F"),
    CLI_OPT("key-pass-env", 0, "VAR", cli_p_str, T, pass_env, 0,
            "the password in environment variable VAR (unset after)"),
    CLI_OPT("keystore", 0, "DIR", cli_p_str, T, keystore, 0,
            "the key store directory (default: keystore in signet.conf)"),
    CLI_OPT("wrap-id", 0, "ID", keys_p_wrap_id, T, wrap_id, 0,
            "wrap key (default wrap_key_id of signet.conf, else 0x00ff)"),
    CLI_OPT("role", 0, "R", cli_p_str, T, role, 0, "for a new NAME: its role (default apk)"),
    CLI_OPT("domains", 0, "D", cli_p_domains, T, domains, 0,
            "for a new NAME: its domains (default 1)"),
    CLI_OPT("id", 0, "ID", keys_p_wrap_id, T, id, 0, "for a new NAME: its id (default: the next)"),
    CLI_OPT("subject", 0, "S", cli_p_str, T, subject, 0,
            "the self-signed certificate's subject when no --cert is given"),
    CLI_OPT("days", 0, "N", keys_p_days, T, days, 0, "its validity (default 10000)"),
    CLI_END};
#undef T

struct pass_src {
    const char *file, *env;
};

static signet_rc ask_password(void *ctx, char **out)
{
    const struct pass_src *p = ctx;
    signet_rc rc = signet_read_password(p->file, p->env, "Password of the private key: ", out);
    if (rc == SIGNET_E_ARG)
        return signet_fail(rc, "no password for the encrypted key: give --key-pass-file F or "
                               "--key-pass-env VAR, or run on a terminal");
    return rc;
}

static signet_rc read_cert(const char *path, X509 **out)
{
    sb_wr w;
    signet_rc rc = cli_read_file(path, 64 * 1024, &w);
    if (rc == SIGNET_OK)
        rc = signet_cert_parse(w.p, w.len, out);
    sbw_free(&w);
    return rc == SIGNET_OK ? rc : signet_wrap(rc, "%s", path);
}

/* What the table cannot check alone: one key source, one password source. */
static signet_rc check_args(const struct keys_import_args *a)
{
    if (!signet_key_name_valid(a->name))
        return signet_fail(SIGNET_E_ARG, "'%.64s' is not a key name (1-40 of A-Za-z0-9_.-)",
                           a->name);
    if (!!a->key + !!a->aosp != 1)
        return signet_fail(SIGNET_E_ARG, "give the key with --key FILE or --aosp PREFIX");
    if (a->aosp && a->cert)
        return signet_fail(SIGNET_E_ARG, "--aosp names the certificate already");
    if (a->pass_file && a->pass_env)
        return signet_fail(SIGNET_E_ARG, "--key-pass-file and --key-pass-env exclude each other");
    return SIGNET_OK;
}

/* The key map entry of NAME: the map's, or a new one that will be added. */
static signet_rc entry_for(const signet_keystore *ks, const struct keys_import_args *a, EVP_PKEY *key,
                           signet_keymap_entry *e, bool *is_new)
{
    uint8_t algo;
    signet_rc rc = signet_key_algorithm_of(key, &algo);
    if (rc != SIGNET_OK)
        return rc;
    const signet_keymap_entry *cur = signet_keystore_find(ks, a->name);
    *is_new = cur == NULL;
    if (cur) {
        if (a->role || a->domains || a->id)
            return signet_fail(SIGNET_E_ARG, "'%s' is in the key map already: its role, domains "
                                             "and id come from there", a->name);
        *e = *cur;
        if (e->algorithm != algo)
            return signet_fail(SIGNET_E_ARG, "the key is %s but the key map says '%s' is %s",
                               yh_algo_name(algo), a->name, yh_algo_name(e->algorithm));
        return SIGNET_OK;
    }
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", a->name);
    snprintf(e->role, sizeof e->role, "%s", a->role ? a->role : "apk");
    e->algorithm = algo;
    e->domains = a->domains ? a->domains : 1;
    e->id = a->id ? a->id : signet_keymap_next_id(signet_keystore_map(ks));
    return SIGNET_OK;
}

/* Adds e to keymap.txt (the signing path reads the map to certify it); *saved
 * keeps the old map for undo. */
static signet_rc add_to_map(signet_keystore *ks, const signet_keymap_entry *e, signet_keymap *old)
{
    const signet_keymap *cur = signet_keystore_map(ks);
    signet_keymap m;
    signet_keymap_init(&m);
    signet_rc rc = SIGNET_OK;
    for (size_t i = 0; rc == SIGNET_OK && i < cur->n; i++) {
        rc = signet_keymap_add(&m, &cur->v[i]);
        if (rc == SIGNET_OK)
            rc = signet_keymap_add(old, &cur->v[i]);
    }
    if (rc == SIGNET_OK)
        rc = signet_keymap_add(&m, e);
    char path[4096];
    if (rc == SIGNET_OK && (rc = signet_keystore_path(ks, "keymap", ".txt", path, sizeof path)) ==
                               SIGNET_OK)
        rc = signet_keymap_save(path, &m);
    signet_keymap_free(&m);
    return rc;
}

static void restore_map(signet_keystore *ks, const signet_keymap *old)
{
    char path[4096];
    if (signet_keystore_path(ks, "keymap", ".txt", path, sizeof path) == SIGNET_OK)
        (void)signet_keymap_save(path, old);
}


signet_rc keys_import(struct cli_ctx *c, void *args)
{
    const struct keys_import_args *ap = args;
    const struct keys_import_args a = *ap;
    signet_rc rc = check_args(&a);
    if (rc != SIGNET_OK)
        return rc;
    struct pass_src pass = {a.pass_file, a.pass_env};
    signet_cert_opts cert_opts = {.subject = a.subject, .days = a.days};
    signet_config cfg;
    const char *dir;
    if ((rc = keys_resolve_store(c->g, a.keystore, &cfg, &dir)) != SIGNET_OK)
        return rc;
    char keypath[4096], certpath[4096];
    snprintf(keypath, sizeof keypath, "%s%s", a.aosp ? a.aosp : a.key, a.aosp ? ".pk8" : "");
    if (a.aosp)
        snprintf(certpath, sizeof certpath, "%s.x509.pem", a.aosp);
    else if (a.cert)
        snprintf(certpath, sizeof certpath, "%s", a.cert);
    bool with_cert = a.aosp || a.cert;
    X509_NAME *probe = NULL;
    if (!with_cert && (rc = signet_cert_subject(cert_opts.subject, "probe", &probe)) != SIGNET_OK)
        return signet_wrap(rc, "--subject");
    X509_NAME_free(probe);

    /* Everything that can be checked offline is checked before the HSM is touched. */
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    rc = signet_key_read_file(keypath, ask_password, &pass, &key);
    if (rc == SIGNET_OK && with_cert)
        rc = read_cert(certpath, &cert);
    if (rc == SIGNET_OK && cert && !signet_cert_matches_key(cert, key))
        rc = signet_fail(SIGNET_E_VERIFY, "the certificate %s is for another key than %s: nothing "
                                          "was imported", certpath, keypath);
    signet_keystore *ks = NULL;
    if (rc == SIGNET_OK && mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = signet_fail(SIGNET_E_IO, "cannot create key store directory %s: %s", dir,
                         strerror(errno));
    if (rc == SIGNET_OK)
        rc = signet_keystore_open(dir, &ks);
    signet_keymap_entry e;
    bool is_new = false;
    if (rc == SIGNET_OK)
        rc = entry_for(ks, &a, key, &e, &is_new);
    if (rc == SIGNET_OK && signet_keystore_has_key(ks, e.name))
        rc = signet_fail(SIGNET_E_STATE, "key '%s' is already in the store %s", e.name, dir);
    signet_keymap old;
    signet_keymap_init(&old);
    bool map_changed = false;
    if (rc == SIGNET_OK && is_new) {
        rc = add_to_map(ks, &e, &old);
        map_changed = rc == SIGNET_OK;
    }
    if (rc == SIGNET_OK && cfg.backend == SIGNET_BACKEND_PKCS11)
        rc = signet_fail(SIGNET_E_ARG, "signet.conf names a PKCS#11 token: `keys import` puts keys "
                                       "on a YubiHSM (then `signet keys migrate` moves them); "
                                       "on a token, make new keys with `signet keys generate`");
    if (rc == SIGNET_OK)
        rc = cli_ctx_open_cfg(c, &cfg);
    signet_signer *signer = c->signer;
    hsm_session *sess = cli_ctx_session(c);
    signet_keygen_opts ko = {.wrap_id = a.wrap_id ? a.wrap_id : cfg.wrap_key_id,
                             .cert = cert_opts,
                             .cert_signer = signer ? signet_sign_certificate : NULL,
                             .cert_signer_ctx = signer,
                             .progress = keys_print_progress,
                             .progress_ctx = (void *)c->g};
    char source[8300];
    snprintf(source, sizeof source, "%s%s%s", keypath, with_cert ? " " : "",
             with_cert ? certpath : "");
    if (rc == SIGNET_OK)
        rc = signet_keystore_import(ks, sess, &e, key, cert, source, &ko);
    bool imported = rc == SIGNET_OK;
    if (rc == SIGNET_OK && signer) {
        char note[256];
        snprintf(note, sizeof note, "certificate %s", cert ? "given" : "made on the HSM");
        rc = signet_signer_record_key(signer, &e, "imported", note);
    }
    if (!imported && map_changed)
        restore_map(ks, &old);
    if (rc == SIGNET_OK) {
        printf("imported %s 0x%04x %s\n", e.name, e.id, yh_algo_name(e.algorithm));
        fflush(stdout);
    }
    signet_keymap_free(&old);
    signet_keystore_close(ks);
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

/* `signet keys import`: an existing private key into the key store (docs/keys.md).
 * The key file stays the user's: its bytes and the password are only in locked
 * memory, and signet writes nothing but the wrapped copy and public files. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "cli.h"
#include "file_io.h"
#include "keys_cmds.h"
#include "signet/keystore.h"
#include "signet/proto.h"
#include "signet/secmem.h"
#include "signet/sign.h"

static const char IMPORT_USAGE[] =
    "usage: signet keys import NAME (--key FILE [--cert FILE] | --aosp PREFIX)\n"
    "                          [--key-pass-file F | --key-pass-env VAR]\n"
    "                          [--keystore DIR] [--wrap-id ID] [--role R] [--domains D]\n"
    "                          [--id ID] [--subject S] [--days N]\n\n"
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
    "imported key may have copies elsewhere; `signet keys list` shows it as imported.\n\n"
    "  --key FILE       PEM (PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA/EC PRIVATE KEY)\n"
    "                   or DER PKCS#8 (AOSP's .pk8), plain or password-encrypted\n"
    "  --cert FILE      its X.509 certificate (PEM or DER); must certify the key\n"
    "  --aosp PREFIX    AOSP pair: PREFIX.pk8 and PREFIX.x509.pem\n"
    "  --key-pass-file F  password of an encrypted key: first line of F\n"
    "  --key-pass-env VAR the password in environment variable VAR (unset after);\n"
    "                   without either, an encrypted key asks on the terminal.\n"
    "                   Passwords are never taken from the command line.\n"
    "  --wrap-id ID     wrap key (default wrap_key_id of signet.conf, else 0x00ff)\n"
    "  --role R, --domains D, --id ID   for a NAME not yet in the key map: its role\n"
    "                   (default apk), domains (default 1) and id (default: the next)\n"
    "  --subject S, --days N   the self-signed certificate when no --cert is given\n"
    "                   (as for `signet keys generate`)\n\n"
    "Exit status: 0 imported, 1 the certificate is for another key, 2 usage,\n"
    "3 device error (also when the credential lacks put-asymmetric-key: use the\n"
    "admin key), 5 wrong key password, 6 a file is missing.\n";

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

struct import_args {
    const char *name, *key, *cert, *aosp, *dir;
    struct pass_src pass;
    const char *role;
    uint16_t domains, id, wrap_id;
    bool have_wrap;
    signet_cert_opts cert_opts;
};

static int parse_args(int argc, char **argv, struct import_args *a)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'K'},       {"cert", required_argument, 0, 'c'},
        {"aosp", required_argument, 0, 'A'},      {"key-pass-file", required_argument, 0, 'f'},
        {"key-pass-env", required_argument, 0, 'e'}, {"keystore", required_argument, 0, 'k'},
        {"wrap-id", required_argument, 0, 'w'},   {"role", required_argument, 0, 'r'},
        {"domains", required_argument, 0, 'D'},   {"id", required_argument, 0, 'i'},
        {"subject", required_argument, 0, 's'},   {"days", required_argument, 0, 'd'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'K': a->key = optarg; break;
        case 'c': a->cert = optarg; break;
        case 'A': a->aosp = optarg; break;
        case 'f': a->pass.file = optarg; break;
        case 'e': a->pass.env = optarg; break;
        case 'k': a->dir = optarg; break;
        case 'w':
            if (cli_parse_id(optarg, &a->wrap_id) != SIGNET_OK || a->wrap_id == 0)
                return cli_usage_error("keys import", "--wrap-id: '%s' is not an object id",
                                       optarg);
            a->have_wrap = true;
            break;
        case 'r': a->role = optarg; break;
        case 'D':
            if (yh_domains_parse(optarg, &a->domains) != SIGNET_OK)
                return cli_usage_error("keys import", "--domains: %s", signet_errmsg());
            break;
        case 'i':
            if (cli_parse_id(optarg, &a->id) != SIGNET_OK || a->id == 0)
                return cli_usage_error("keys import", "--id: '%s' is not an object id", optarg);
            break;
        case 's': a->cert_opts.subject = optarg; break;
        case 'd': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || errno || v == 0 || v > 365000)
                return cli_usage_error("keys import",
                                       "--days: '%s' is not a number of days (1-365000)", optarg);
            a->cert_opts.days = (unsigned)v;
            break;
        }
        case 'h': fputs(IMPORT_USAGE, stdout); return 0;
        default: return cli_usage_error("keys import", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("keys import", optind >= argc ? "name the key to import"
                                                             : "one key name at a time");
    a->name = argv[optind];
    if (!signet_key_name_valid(a->name))
        return cli_usage_error("keys import", "'%.64s' is not a key name (1-40 of A-Za-z0-9_.-)",
                               a->name);
    if (!!a->key + !!a->aosp != 1)
        return cli_usage_error("keys import", "give the key with --key FILE or --aosp PREFIX");
    if (a->aosp && a->cert)
        return cli_usage_error("keys import", "--aosp names the certificate already");
    if (a->pass.file && a->pass.env)
        return cli_usage_error("keys import", "--key-pass-file and --key-pass-env exclude each "
                                              "other");
    return -1;
}

/* The key map entry of NAME: the map's, or a new one that will be added. */
static signet_rc entry_for(const signet_keystore *ks, const struct import_args *a, EVP_PKEY *key,
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

static void print_progress(void *ctx, const char *line) { cli_progress(ctx, "%s", line); }

int cli_keys_import(const struct cli_globals *g, int argc, char **argv)
{
    struct import_args a = {0};
    int ret = parse_args(argc, argv, &a);
    if (ret >= 0)
        return ret;
    signet_config cfg;
    signet_config_defaults(&cfg);
    const char *conf = g->config ? g->config : getenv("SIGNET_CONF");
    signet_rc rc = conf && *conf ? signet_config_load(conf, &cfg) : SIGNET_OK;
    if (rc != SIGNET_OK)
        return cli_report(rc);
    const char *dir = a.dir ? a.dir : cfg.keystore[0] ? cfg.keystore : NULL;
    if (!dir)
        return cli_report(signet_fail(SIGNET_E_ARG, "no key store: give --keystore DIR or set "
                                                    "keystore in signet.conf"));
    if (a.dir) /* --keystore overrides signet.conf, for the signing path too */
        snprintf(cfg.keystore, sizeof cfg.keystore, "%s", a.dir);
    char keypath[4096], certpath[4096];
    snprintf(keypath, sizeof keypath, "%s%s", a.aosp ? a.aosp : a.key, a.aosp ? ".pk8" : "");
    if (a.aosp)
        snprintf(certpath, sizeof certpath, "%s.x509.pem", a.aosp);
    else if (a.cert)
        snprintf(certpath, sizeof certpath, "%s", a.cert);
    bool with_cert = a.aosp || a.cert;
    X509_NAME *probe = NULL;
    if (!with_cert && (rc = signet_cert_subject(a.cert_opts.subject, "probe", &probe)) != SIGNET_OK)
        return cli_report(signet_wrap(rc, "--subject"));
    X509_NAME_free(probe);

    /* Everything that can be checked offline is checked before the HSM is touched. */
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    rc = signet_key_read_file(keypath, ask_password, &a.pass, &key);
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
    hsm_conn *conn = NULL;
    hsm_session *sess = NULL;
    signet_signer *signer = NULL;
    if (rc == SIGNET_OK)
        rc = cli_open_session(g, &conn, &sess);
    if (rc == SIGNET_OK && cfg.audit[0]) {
        rc = signet_signer_open_session(&cfg, conn, sess, &signer);
        conn = NULL;
        sess = signer ? signet_signer_session(signer) : NULL;
    }
    signet_keygen_opts ko = {.wrap_id = a.have_wrap ? a.wrap_id : cfg.wrap_key_id,
                             .cert = a.cert_opts,
                             .cert_signer = signer ? signet_sign_certificate : NULL,
                             .cert_signer_ctx = signer,
                             .progress = print_progress,
                             .progress_ctx = (void *)g};
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
    ret = rc == SIGNET_OK ? 0 : cli_report(rc);
    if (signer)
        signet_signer_close(signer);
    else
        cli_close_session(conn, sess);
    signet_keymap_free(&old);
    signet_keystore_close(ks);
    EVP_PKEY_free(key);
    X509_free(cert);
    return ret;
}

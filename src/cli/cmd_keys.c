/* `signet keys <command>`: the release-key store (docs/keys.md).
 *   init      write or extend keymap.txt with the Android default set
 *   generate  make the missing keys on the HSM and publish them wrapped
 *   list      every key, where it is, and its fingerprints
 *   load      load keys from their wrapped copies (evicting LRU keys when low)
 *   evict     remove keys from the HSM that can be loaded again
 *   import    an existing private key into the store (keys_import.c) */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "keys_cmds.h"
#include "signet/keystore.h"
#include "signet/proto.h"
#include "signet/sign.h"

#define MAX_NAMES 256

static int keys_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int keys_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "signet keys %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(try `signet keys %s --help`)\n", cmd);
    return 2;
}

/* Settings a command takes from signet.conf when the command line is silent:
 * only read when --config or $SIGNET_CONF names a file. */
static signet_rc load_config(const struct cli_globals *g, signet_config *cfg)
{
    signet_config_defaults(cfg);
    const char *path = g->config ? g->config : getenv("SIGNET_CONF");
    return path && *path ? signet_config_load(path, cfg) : SIGNET_OK;
}

static signet_rc resolve_keystore(const struct cli_globals *g, const char *opt,
                                  signet_config *cfg, const char **dir)
{
    signet_rc rc = load_config(g, cfg);
    if (rc != SIGNET_OK)
        return rc;
    *dir = opt ? opt : cfg->keystore[0] ? cfg->keystore : NULL;
    if (!*dir)
        return signet_fail(SIGNET_E_ARG,
                           "no key store: give --keystore DIR or set keystore in signet.conf "
                           "(--config F or $SIGNET_CONF)");
    return SIGNET_OK;
}

static void print_progress(void *ctx, const char *line)
{
    cli_progress(ctx, "%s", line);
}

/* The entries a command works on: the names given, else the whole map. */
static signet_rc select_keys(const signet_keystore *ks, char **names, size_t n,
                             const signet_keymap_entry **out, size_t *nout)
{
    *nout = 0;
    if (n == 0) {
        for (size_t i = 0; i < signet_keystore_count(ks); i++)
            out[(*nout)++] = signet_keystore_entry(ks, i);
        return SIGNET_OK;
    }
    for (size_t i = 0; i < n; i++) {
        const signet_keymap_entry *e = signet_keystore_find(ks, names[i]);
        if (!e)
            return signet_fail(SIGNET_E_NOTFOUND, "key '%.64s' is not in the key map of %s",
                               names[i], signet_keystore_dir(ks));
        out[(*nout)++] = e;
    }
    return SIGNET_OK;
}

static const signet_keymap_entry **alloc_selection(const signet_keystore *ks, size_t n_names)
{
    size_t n = n_names ? n_names : signet_keystore_count(ks);
    return calloc(n ? n : 1, sizeof(signet_keymap_entry *));
}

/* ---- init --------------------------------------------------------------------- */

static const char INIT_USAGE[] =
    "usage: signet keys init [--keystore DIR] [--device NAME]... [--apex NAME]...\n"
    "                        [--algorithm A] [--domains D]\n\n"
    "Creates DIR (mode 0700) and DIR/keymap.txt with the Android key set, or adds\n"
    "to an existing key map what is missing.  Ids already given never change; new\n"
    "keys get ids after the largest one (from 0x0100).  No HSM is needed.\n\n"
    "  APK keys     releasekey platform shared media networkstack bluetooth\n"
    "               sdk_sandbox nfc\n"
    "  --device D   adds avb_D (AVB/vbmeta and OTA key of device D); repeatable\n"
    "  --apex A     adds A.container and A.payload (APEX keys of A); repeatable\n"
    "  --algorithm  rsa4096 (default), rsa3072, rsa2048; APK-only maps may also use\n"
    "               ecp256 etc. (AVB and APEX payload keys must be RSA)\n"
    "  --domains    domains of the keys (default 1), e.g. 1,2\n"
    "  --keystore   the key store directory (default: keystore in signet.conf)\n";

static int cmd_init(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"keystore", required_argument, 0, 'k'}, {"device", required_argument, 0, 'd'},
        {"apex", required_argument, 0, 'x'},     {"algorithm", required_argument, 0, 'a'},
        {"domains", required_argument, 0, 'D'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *dir_opt = NULL;
    const char *devices[MAX_NAMES], *apexes[MAX_NAMES];
    signet_keymap_defaults d = {.devices = devices, .apexes = apexes};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': dir_opt = optarg; break;
        case 'd':
            if (d.n_devices == MAX_NAMES)
                return keys_usage("init", "at most %d devices at once", MAX_NAMES);
            devices[d.n_devices++] = optarg;
            break;
        case 'x':
            if (d.n_apexes == MAX_NAMES)
                return keys_usage("init", "at most %d APEXes at once", MAX_NAMES);
            apexes[d.n_apexes++] = optarg;
            break;
        case 'a':
            if (yh_algo_parse(optarg, &d.algorithm) != 0 || !signet_key_algorithm_valid(d.algorithm))
                return keys_usage("init", "'%s' is not a signing key algorithm (rsa4096, rsa2048, "
                                          "ecp256, ed25519, ...)",
                                  optarg);
            break;
        case 'D':
            if (yh_domains_parse(optarg, &d.domains) != SIGNET_OK)
                return keys_usage("init", "--domains: %s", signet_errmsg());
            break;
        case 'h': fputs(INIT_USAGE, stdout); return 0;
        default: return keys_usage("init", "unknown option");
        }
    }
    if (optind < argc)
        return keys_usage("init", "unexpected argument '%s'", argv[optind]);
    signet_config cfg;
    const char *dir;
    signet_rc rc = resolve_keystore(g, dir_opt, &cfg, &dir);
    if (rc != SIGNET_OK)
        return cli_report(rc);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        signet_fail(SIGNET_E_IO, "cannot create key store directory %s: %s", dir, strerror(errno));
        return cli_report(SIGNET_E_IO);
    }
    signet_keystore *ks;
    if ((rc = signet_keystore_open(dir, &ks)) != SIGNET_OK)
        return cli_report(rc);
    /* Work on a copy: the store's map stays what is on disk until the save. */
    signet_keymap m;
    signet_keymap_init(&m);
    const signet_keymap *cur = signet_keystore_map(ks);
    for (size_t i = 0; rc == SIGNET_OK && i < cur->n; i++)
        rc = signet_keymap_add(&m, &cur->v[i]);
    size_t before = m.n, added = 0;
    if (rc == SIGNET_OK)
        rc = signet_keymap_add_defaults(&m, &d, &added);
    char path[4096];
    if (rc == SIGNET_OK && added > 0 &&
        (rc = signet_keystore_path(ks, "keymap", ".txt", path, sizeof path)) == SIGNET_OK)
        rc = signet_keymap_save(path, &m);
    if (rc == SIGNET_OK) {
        for (size_t i = before; i < m.n; i++)
            printf("added %s 0x%04x %s %s\n", m.v[i].name, m.v[i].id,
                   yh_algo_name(m.v[i].algorithm), m.v[i].role);
        cli_progress(g, "%s/keymap.txt: %zu key%s, %zu added", dir, m.n, m.n == 1 ? "" : "s",
                     added);
    }
    signet_keymap_free(&m);
    signet_keystore_close(ks);
    return rc == SIGNET_OK ? 0 : cli_report(rc);
}

/* ---- generate ------------------------------------------------------------------ */

static const char GENERATE_USAGE[] =
    "usage: signet keys generate [--keystore DIR] [--wrap-id ID] [--only NAME]...\n"
    "                            [--subject S] [--days N]\n\n"
    "For each key of the key map that is not yet in the store: generate it on the\n"
    "HSM (id, label, domains from the key map), sign its self-signed certificate\n"
    "on the HSM, attest it when the device can, export it under the wrap key, prove\n"
    "the wrapped copy (delete, import, compare public keys) and publish\n"
    "NAME.wrapped, NAME.pub.pem, NAME.x509.pem, NAME.avbpubkey (RSA) and\n"
    "NAME.attest.pem.  Stops at the first failure; running again continues.\n\n"
    "  --wrap-id ID   wrap key (default wrap_key_id of signet.conf, else 0x00ff)\n"
    "  --only NAME    only this key (repeatable)\n"
    "  --subject S    certificate subject template, openssl -subj style; {name} is\n"
    "                 the key name, CN=<name> is added when S has no CN (default\n"
    "                 /C=US/ST=California/L=Mountain View/O=Android/OU=Android/\n"
    "                 CN={name}/emailAddress=android@android.com)\n"
    "  --days N       certificate validity (default 10000)\n";

static int cmd_generate(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"keystore", required_argument, 0, 'k'}, {"wrap-id", required_argument, 0, 'w'},
        {"only", required_argument, 0, 'o'},     {"subject", required_argument, 0, 's'},
        {"days", required_argument, 0, 'd'},     {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *dir_opt = NULL;
    char *only[MAX_NAMES];
    size_t n_only = 0;
    bool have_wrap = false;
    signet_keygen_opts ko = {.progress = print_progress, .progress_ctx = (void *)g};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': dir_opt = optarg; break;
        case 'w':
            if (cli_parse_id(optarg, &ko.wrap_id) != SIGNET_OK || ko.wrap_id == 0)
                return keys_usage("generate", "--wrap-id: '%s' is not an object id", optarg);
            have_wrap = true;
            break;
        case 'o':
            if (n_only == MAX_NAMES)
                return keys_usage("generate", "at most %d --only names", MAX_NAMES);
            only[n_only++] = optarg;
            break;
        case 's': ko.cert.subject = optarg; break;
        case 'd': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || errno || v == 0 || v > 365000)
                return keys_usage("generate", "--days: '%s' is not a number of days (1-365000)",
                                  optarg);
            ko.cert.days = (unsigned)v;
            break;
        }
        case 'h': fputs(GENERATE_USAGE, stdout); return 0;
        default: return keys_usage("generate", "unknown option");
        }
    }
    if (optind < argc)
        return keys_usage("generate", "unexpected argument '%s'", argv[optind]);
    signet_config cfg;
    const char *dir;
    signet_rc rc = resolve_keystore(g, dir_opt, &cfg, &dir);
    if (rc != SIGNET_OK)
        return cli_report(rc);
    if (!have_wrap)
        ko.wrap_id = cfg.wrap_key_id;
    /* Check the subject template before anything happens on the HSM. */
    X509_NAME *probe = NULL;
    if ((rc = signet_cert_subject(ko.cert.subject, "probe", &probe)) != SIGNET_OK)
        return cli_report(signet_wrap(rc, "--subject"));
    X509_NAME_free(probe);

    signet_keystore *ks;
    if ((rc = signet_keystore_open(dir, &ks)) != SIGNET_OK)
        return cli_report(rc);
    const signet_keymap_entry **sel = alloc_selection(ks, n_only);
    size_t n = 0;
    rc = sel ? select_keys(ks, only, n_only, sel, &n) : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK && n == 0)
        rc = signet_fail(SIGNET_E_STATE, "the key map of %s is empty: run `signet keys init`", dir);
    size_t missing = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        missing += !signet_keystore_has_key(ks, sel[i]->name);
    hsm_conn *conn = NULL;
    hsm_session *sess = NULL;
    signet_signer *signer = NULL;
    if (rc == SIGNET_OK && missing > 0) /* no login when every key is in the store */
        rc = cli_open_session(g, &conn, &sess);
    /* With an audit trail, certificates are signed through the signing path so
     * that each one has its record, and each new key gets a key record. */
    if (rc == SIGNET_OK && sess && cfg.audit[0]) {
        if (dir != cfg.keystore) /* --keystore overrides signet.conf */
            snprintf(cfg.keystore, sizeof cfg.keystore, "%s", dir);
        rc = signet_signer_open_session(&cfg, conn, sess, &signer);
        conn = NULL;
        sess = signer ? signet_signer_session(signer) : NULL;
        ko.cert_signer = signet_sign_certificate;
        ko.cert_signer_ctx = signer;
    }
    size_t made = 0, had = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        if (signet_keystore_has_key(ks, sel[i]->name)) {
            cli_progress(g, "%s: already in the store", sel[i]->name);
            had++;
            continue;
        }
        rc = signet_keystore_generate(ks, sess, sel[i], &ko);
        if (rc == SIGNET_OK && signer)
            rc = signet_signer_record_key(signer, sel[i], "generated", NULL);
        if (rc == SIGNET_OK) {
            printf("generated %s 0x%04x %s\n", sel[i]->name, sel[i]->id,
                   yh_algo_name(sel[i]->algorithm));
            fflush(stdout);
            made++;
        }
    }
    if (rc == SIGNET_OK)
        cli_progress(g, "%zu key%s generated, %zu already in the store", made,
                     made == 1 ? "" : "s", had);
    int ret = rc == SIGNET_OK ? 0 : cli_report(rc);
    if (signer)
        signet_signer_close(signer);
    else
        cli_close_session(conn, sess);
    free(sel);
    signet_keystore_close(ks);
    return ret;
}

/* ---- list ------------------------------------------------------------------------ */

static const char LIST_USAGE[] =
    "usage: signet keys list [--keystore DIR] [--offline]\n\n"
    "One line per key of the key map:\n"
    "  NAME ID ALGORITHM ROLE LOCATION PUBKEY-SHA256 CERT-SHA256 ORIGIN\n"
    "LOCATION is resident (on the HSM, wrapped copy on disk), wrapped-only (loaded\n"
    "on demand), missing, resident-no-backup (on the HSM without a wrapped copy) or\n"
    "id-conflict (the id holds another object).  Fingerprints are SHA-256 of the\n"
    "public key (SubjectPublicKeyInfo DER) and of the certificate DER, '-' when\n"
    "absent.  ORIGIN is generated-attested (made inside the HSM, with its\n"
    "attestation), generated (made inside the HSM, not attested) or imported (the\n"
    "key existed outside the HSM and may have copies elsewhere).  --offline looks at the disk only (no HSM login).  Exit status 1 when\n"
    "a key is missing, unbacked or in conflict.\n";

static void hex32(const uint8_t *d, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = 0;
}

static int cmd_list(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"keystore", required_argument, 0, 'k'},
                                         {"offline", no_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir_opt = NULL;
    bool offline = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': dir_opt = optarg; break;
        case 'o': offline = true; break;
        case 'h': fputs(LIST_USAGE, stdout); return 0;
        default: return keys_usage("list", "unknown option");
        }
    }
    if (optind < argc)
        return keys_usage("list", "unexpected argument '%s'", argv[optind]);
    signet_config cfg;
    const char *dir;
    signet_rc rc = resolve_keystore(g, dir_opt, &cfg, &dir);
    if (rc != SIGNET_OK)
        return cli_report(rc);
    signet_keystore *ks;
    if ((rc = signet_keystore_open(dir, &ks)) != SIGNET_OK)
        return cli_report(rc);
    hsm_conn *conn = NULL;
    hsm_session *sess = NULL;
    if (!offline && (rc = cli_open_session(g, &conn, &sess)) != SIGNET_OK) {
        signet_keystore_close(ks);
        return cli_report(rc);
    }
    /* Columns as wide as the longest name and role, so the output lines up. */
    int wn = 4, wr = 4;
    for (size_t i = 0; i < signet_keystore_count(ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        wn = (int)strlen(e->name) > wn ? (int)strlen(e->name) : wn;
        wr = (int)strlen(e->role) > wr ? (int)strlen(e->role) : wr;
    }
    bool trouble = false;
    for (size_t i = 0; rc == SIGNET_OK && i < signet_keystore_count(ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        signet_keyloc loc;
        if ((rc = signet_keystore_locate(ks, sess, e, &loc)) != SIGNET_OK)
            break;
        uint8_t d[32];
        char pub[65] = "-", cert[65] = "-";
        if (signet_keystore_pub_fingerprint(ks, e->name, d) == SIGNET_OK)
            hex32(d, pub);
        if (signet_keystore_cert_fingerprint(ks, e->name, d) == SIGNET_OK)
            hex32(d, cert);
        char origin[32] = "-";
        if (signet_keystore_origin(ks, e->name, origin, sizeof origin) != SIGNET_OK)
            snprintf(origin, sizeof origin, "unreadable");
        signet_err_clear();
        trouble |= loc == SIGNET_KEYLOC_MISSING || loc == SIGNET_KEYLOC_UNBACKED ||
                   loc == SIGNET_KEYLOC_CONFLICT;
        printf("%-*s 0x%04x %-8s %-*s %-18s %s %s %s\n", wn, e->name, e->id,
               yh_algo_name(e->algorithm), wr, e->role, signet_keyloc_name(loc), pub, cert,
               origin);
    }
    int ret = rc != SIGNET_OK ? cli_report(rc) : trouble ? 1 : 0;
    cli_close_session(conn, sess);
    signet_keystore_close(ks);
    return ret;
}

/* ---- load / evict ------------------------------------------------------------------ */

static const char LOAD_USAGE[] =
    "usage: signet keys load [--keystore DIR] [--wrap-id ID] [--min-free-objects N]\n"
    "                        [--min-free-pages N] [NAME...]\n\n"
    "Makes the named keys (default: all of the key map) resident on the HSM: a key\n"
    "that is only wrapped is imported and checked against its recorded public key.\n"
    "While the HSM has fewer free object slots or storage pages than the limits\n"
    "(defaults from signet.conf: 8 and 64), the least recently used keys of this\n"
    "store that have a wrapped copy are deleted from it first.\n";

static const char EVICT_USAGE[] =
    "usage: signet keys evict [--keystore DIR] NAME...\n\n"
    "Deletes the named keys from the HSM.  Refuses a key without a wrapped copy in\n"
    "the store (it could not be loaded again) and an id that holds another object.\n";

static int cmd_load_evict(const struct cli_globals *g, int argc, char **argv, bool load)
{
    const char *cmd = load ? "load" : "evict";
    static const struct option opts[] = {
        {"keystore", required_argument, 0, 'k'},        {"wrap-id", required_argument, 0, 'w'},
        {"min-free-objects", required_argument, 0, 'o'}, {"min-free-pages", required_argument, 0, 'p'},
        {"help", no_argument, 0, 'h'},                  {0, 0, 0, 0}};
    const char *dir_opt = NULL;
    uint16_t wrap_id = 0;
    long min_obj = -1, min_pages = -1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'k': dir_opt = optarg; break;
        case 'w':
            if (!load)
                return keys_usage(cmd, "unknown option --wrap-id");
            if (cli_parse_id(optarg, &wrap_id) != SIGNET_OK || wrap_id == 0)
                return keys_usage(cmd, "--wrap-id: '%s' is not an object id", optarg);
            break;
        case 'o':
        case 'p': {
            long v = strtol(optarg, &end, 10);
            if (!load || !*optarg || *end || v < 0 || v > 1024)
                return keys_usage(cmd, "limits are numbers 0-1024 (load only)");
            *(c == 'o' ? &min_obj : &min_pages) = v;
            break;
        }
        case 'h': fputs(load ? LOAD_USAGE : EVICT_USAGE, stdout); return 0;
        default: return keys_usage(cmd, "unknown option");
        }
    }
    if (!load && optind >= argc)
        return keys_usage(cmd, "name the keys to evict");
    if ((size_t)(argc - optind) > MAX_NAMES)
        return keys_usage(cmd, "at most %d names at once", MAX_NAMES);
    signet_config cfg;
    const char *dir;
    signet_rc rc = resolve_keystore(g, dir_opt, &cfg, &dir);
    if (rc != SIGNET_OK)
        return cli_report(rc);
    signet_evict_policy pol = {
        .min_free_objects = min_obj >= 0 ? (unsigned)min_obj : cfg.min_free_objects,
        .min_free_pages = min_pages >= 0 ? (unsigned)min_pages : cfg.min_free_pages};
    if (!wrap_id)
        wrap_id = cfg.wrap_key_id;
    signet_keystore *ks;
    if ((rc = signet_keystore_open(dir, &ks)) != SIGNET_OK)
        return cli_report(rc);
    size_t n_names = (size_t)(argc - optind);
    const signet_keymap_entry **sel = alloc_selection(ks, n_names);
    size_t n = 0;
    rc = sel ? select_keys(ks, argv + optind, n_names, sel, &n)
             : signet_fail(SIGNET_E_NOMEM, "out of memory");
    hsm_conn *conn = NULL;
    hsm_session *sess = NULL;
    if (rc == SIGNET_OK)
        rc = cli_open_session(g, &conn, &sess);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        rc = load ? signet_keystore_ensure_resident(ks, sess, wrap_id, sel[i], &pol)
                  : signet_keystore_evict(ks, sess, sel[i]);
        if (rc == SIGNET_OK)
            printf("%s %s\n", load ? "resident" : "evicted", sel[i]->name);
    }
    int ret = rc == SIGNET_OK ? 0 : cli_report(rc);
    cli_close_session(conn, sess);
    free(sel);
    signet_keystore_close(ks);
    return ret;
}

static int cmd_load(const struct cli_globals *g, int argc, char **argv)
{
    return cmd_load_evict(g, argc, argv, true);
}

static int cmd_evict(const struct cli_globals *g, int argc, char **argv)
{
    return cmd_load_evict(g, argc, argv, false);
}

/* ---- dispatch ------------------------------------------------------------------------ */

static const struct cli_command CMDS[] = {
    {"init", cmd_init, "write or extend keymap.txt with the Android key set"},
    {"generate", cmd_generate, "generate missing keys on the HSM and publish them wrapped"},
    {"list", cmd_list, "show each key: id, algorithm, role, location, fingerprints"},
    {"load", cmd_load, "make keys resident from their wrapped copies (LRU eviction)"},
    {"evict", cmd_evict, "delete keys from the HSM that have a wrapped copy"},
    {"import", cli_keys_import, "bring an existing private key (PEM, PKCS#8, AOSP .pk8) into the store"},
};

static int run(const struct cli_globals *g, int argc, char **argv)
{
    return cli_dispatch("keys",
                        "The release-key store: a directory with keymap.txt (name id algorithm\n"
                        "domains role per line) and, per key, its wrapped copy, public key,\n"
                        "certificate, AVB public key and attestation (docs/keys.md).  --keystore DIR\n"
                        "or keystore in signet.conf names it.\n",
                        CMDS, sizeof CMDS / sizeof CMDS[0], g, argc, argv);
}

const struct cli_group cli_group_keys = {
    "keys", "the release-key store: key map, generation, listing, on-demand loading", run};

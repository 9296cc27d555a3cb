/* `signet keys <command>`: the release-key store (docs/keys.md).
 *   init      write or extend keymap.txt with the Android default set
 *   generate  make the missing keys on the HSM and publish them wrapped
 *   list      every key, where it is, and its fingerprints
 *   load      load keys from their wrapped copies (evicting LRU keys when low)
 *   evict     remove keys from the HSM that can be loaded again
 *   import    an existing private key into the store (keys_import.c)
 *   migrate, token-wrap-key   the PKCS#11 token of backend = pkcs11 (keys_migrate.c,
 *             keys_token.c) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keys_cmds.h"
#include "signet/keystore.h"
#include "signet/progress.h"
#include "signet/proto.h"
#include "signet/sign.h"

#define MAX_NAMES 256

signet_rc keys_resolve_store(const struct cli_globals *g, const char *opt, signet_config *cfg,
                             const char **dir)
{
    signet_rc rc = cli_named_config(g, cfg);
    if (rc != SIGNET_OK)
        return rc;
    if (opt) /* --keystore overrides signet.conf, for the signing path too */
        snprintf(cfg->keystore, sizeof cfg->keystore, "%s", opt);
    *dir = cfg->keystore[0] ? cfg->keystore : NULL;
    if (!*dir)
        return signet_fail(SIGNET_E_ARG,
                           "no key store: give --keystore DIR or set keystore in signet.conf "
                           "(--config F or $SIGNET_CONF)");
    return SIGNET_OK;
}

void keys_print_progress(void *ctx, const char *line)
{
    cli_progress(ctx, "%s", line);
}

/* The entries a command works on: the names given, else the whole map. */
static signet_rc select_keys(const signet_keystore *ks, const char *const *names, size_t n,
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

struct init_args {
    const char *keystore;
    struct cli_list devices, apexes;
    uint8_t algorithm;
    uint16_t domains;
};

static signet_rc p_key_algo(const char *s, void *dst)
{
    if (yh_algo_parse(s, dst) != 0 || !signet_key_algorithm_valid(*(uint8_t *)dst))
        return signet_fail(SIGNET_E_ARG, "'%s' is not a signing key algorithm (rsa4096, rsa2048, "
                                         "ecp256, ed25519, ...)", s);
    return SIGNET_OK;
}

static signet_rc cmd_init(struct cli_ctx *c, void *args)
{
    const struct init_args *a = args;
    signet_keymap_defaults d = {.devices = a->devices.v, .n_devices = a->devices.n,
                                .apexes = a->apexes.v, .n_apexes = a->apexes.n,
                                .algorithm = a->algorithm, .domains = a->domains};
    const struct cli_globals *g = c->g;
    signet_config cfg;
    const char *dir;
    signet_rc rc = keys_resolve_store(g, a->keystore, &cfg, &dir);
    if (rc != SIGNET_OK)
        return rc;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return signet_fail(SIGNET_E_IO, "cannot create key store directory %s: %s", dir,
                           strerror(errno));
    signet_keystore *ks;
    if ((rc = signet_keystore_open(dir, &ks)) != SIGNET_OK)
        return rc;
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
    return rc;
}

/* ---- generate ------------------------------------------------------------------ */

struct generate_args {
    const char *keystore;
    uint16_t wrap_id;
    struct cli_list only;
    const char *subject;
    unsigned days;
};

signet_rc keys_p_wrap_id(const char *s, void *dst)
{
    signet_rc rc = cli_parse_id(s, dst);
    if (rc == SIGNET_OK && *(uint16_t *)dst == 0)
        rc = signet_fail(SIGNET_E_ARG, "0 is not a wrap key id");
    return rc;
}

signet_rc keys_p_days(const char *s, void *dst)
{
    signet_rc rc = cli_p_uint(s, dst);
    if (rc == SIGNET_OK && (*(unsigned *)dst == 0 || *(unsigned *)dst > 365000))
        rc = signet_fail(SIGNET_E_ARG, "'%s' is not a number of days (1-365000)", s);
    return rc;
}

/* How a key is announced while the HSM makes it ("RSA-4096"). */
static const struct {
    uint8_t algorithm;
    const char *label;
} ALGO_LABELS[] = {
    {YH_ALGO_RSA_2048, "RSA-2048"},   {YH_ALGO_RSA_3072, "RSA-3072"},
    {YH_ALGO_RSA_4096, "RSA-4096"},   {YH_ALGO_EC_P256, "EC P-256"},
    {YH_ALGO_EC_P384, "EC P-384"},    {YH_ALGO_EC_P521, "EC P-521"},
    {YH_ALGO_EC_ED25519, "Ed25519"},
};

static const char *algo_label(uint8_t algorithm)
{
    for (size_t i = 0; i < sizeof ALGO_LABELS / sizeof ALGO_LABELS[0]; i++)
        if (ALGO_LABELS[i].algorithm == algorithm)
            return ALGO_LABELS[i].label;
    return yh_algo_name(algorithm); /* display only: the device's own name */
}

static signet_rc cmd_generate(struct cli_ctx *c, void *args)
{
    const struct generate_args *a = args;
    const struct cli_globals *g = c->g;
    signet_keygen_opts ko = {.progress = keys_print_progress, .progress_ctx = (void *)g,
                             .cert = {.subject = a->subject, .days = a->days}};
    signet_config cfg;
    const char *dir;
    signet_rc rc = keys_resolve_store(g, a->keystore, &cfg, &dir);
    if (rc != SIGNET_OK)
        return rc;
    ko.wrap_id = a->wrap_id ? a->wrap_id : cfg.wrap_key_id;
    /* Check the subject template before anything happens on the HSM. */
    X509_NAME *probe = NULL;
    if ((rc = signet_cert_subject(ko.cert.subject, "probe", &probe)) != SIGNET_OK)
        return signet_wrap(rc, "--subject");
    X509_NAME_free(probe);

    signet_keystore *ks;
    if ((rc = signet_keystore_open_existing(dir, &ks)) != SIGNET_OK)
        return rc;
    const signet_keymap_entry **sel = alloc_selection(ks, a->only.n);
    size_t n = 0;
    rc = sel ? select_keys(ks, a->only.v, a->only.n, sel, &n)
             : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK && n == 0)
        rc = signet_fail(SIGNET_E_STATE, "the key map of %s is empty: run `signet keys init`", dir);
    size_t missing = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++)
        missing += !signet_keystore_has_key(ks, sel[i]->name);
    /* No login when every key is in the store.  With an audit trail, certificates
     * are signed through the signing path so that each one has its record, and
     * each new key gets a key record. */
    if (rc == SIGNET_OK && missing > 0)
        rc = cli_ctx_open_cfg(c, &cfg);
    signet_signer *signer = c->signer;
    hsm_session *sess = cli_ctx_session(c);
    /* backend = pkcs11: the keys are made on the token, certified through the
     * signing path (which the PKCS#11 backend always opens). */
    bool token = cfg.backend == SIGNET_BACKEND_PKCS11;
    if (signer) {
        ko.cert_signer = signet_sign_certificate;
        ko.cert_signer_ctx = signer;
    }
    size_t made = 0, had = 0;
    /* One line as each key starts, with the time so far and an estimate: an
     * RSA-4096 generation takes up to a minute on a YubiHSM 2. */
    signet_progress pr;
    signet_progress_begin(&pr, g->quiet ? NULL : stderr, missing);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        if (signet_keystore_has_key(ks, sel[i]->name)) {
            cli_progress(g, "%s: already in the store", sel[i]->name);
            had++;
            continue;
        }
        signet_progress_step(&pr, "%s: generating %s on the %s", sel[i]->name,
                             algo_label(sel[i]->algorithm), token ? "token" : "HSM");
        char how[512] = "";
        rc = token ? signet_keystore_generate_token(ks, signet_signer_device(signer), sel[i], &ko,
                                                    how, sizeof how)
                   : signet_keystore_generate(ks, sess, sel[i], &ko);
        signet_progress_done(&pr);
        if (rc == SIGNET_OK && signer)
            rc = signet_signer_record_key(signer, sel[i], "generated",
                                          token ? "on a PKCS#11 token" : NULL);
        if (rc == SIGNET_OK) {
            printf("generated %s 0x%04x %s\n", sel[i]->name, sel[i]->id,
                   yh_algo_name(sel[i]->algorithm));
            if (token) /* where the key is backed up, or that it is not */
                printf("  %s: %s\n", sel[i]->name, how);
            fflush(stdout);
            made++;
        }
    }
    if (rc == SIGNET_OK)
        cli_progress(g, "%zu key%s generated, %zu already in the store", made,
                     made == 1 ? "" : "s", had);
    free(sel);
    signet_keystore_close(ks);
    return rc;
}

/* ---- list ------------------------------------------------------------------------ */

struct list_args {
    const char *keystore;
    bool offline;
};

static void hex32(const uint8_t *d, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = 0;
}

static signet_rc cmd_list(struct cli_ctx *c, void *args)
{
    const struct list_args *a = args;
    signet_config cfg;
    const char *dir;
    signet_rc rc = keys_resolve_store(c->g, a->keystore, &cfg, &dir);
    if (rc != SIGNET_OK)
        return rc;
    signet_keystore *ks;
    if ((rc = signet_keystore_open_existing(dir, &ks)) != SIGNET_OK)
        return rc;
    hsm_session *sess = NULL;
    /* With backend = pkcs11 there is no YubiHSM to ask: the store's files say it all. */
    bool online = !a->offline && cfg.backend != SIGNET_BACKEND_PKCS11;
    if (online && (rc = cli_ctx_open(c)) != SIGNET_OK) {
        signet_keystore_close(ks);
        return rc;
    }
    sess = c->sess;
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
        /* A key made on a PKCS#11 token (NAME.token) lives there, not on the HSM: say
         * so, and whether the store holds its wrapped copy (NAME.p11wrap) or the token
         * is its only home (a decision taken at generation, docs/migration.md). */
        bool token = signet_keystore_has_file(ks, e->name, ".token");
        const char *where = !token ? ""
                            : signet_keystore_has_file(ks, e->name, ".p11wrap")
                                ? " token (wrapped copy)"
                                : " token, RESIDENT ONLY";
        trouble |= !token && (loc == SIGNET_KEYLOC_MISSING || loc == SIGNET_KEYLOC_UNBACKED ||
                              loc == SIGNET_KEYLOC_CONFLICT);
        printf("%-*s 0x%04x %-8s %-*s %-18s %s %s %s%s\n", wn, e->name, e->id,
               yh_algo_name(e->algorithm), wr, e->role, token ? "token" : signet_keyloc_name(loc),
               pub, cert, origin, where);
    }
    if (trouble)
        c->status = 1;
    signet_keystore_close(ks);
    return rc;
}

/* ---- load / evict ------------------------------------------------------------------ */

/* A limit that falls back to signet.conf when not given. */
struct limit {
    bool set;
    unsigned v;
};

struct load_args {
    const char *keystore;
    uint16_t wrap_id;
    struct limit min_obj, min_pages;
    struct cli_list names;
};

static signet_rc p_limit(const char *s, void *dst)
{
    struct limit *l = dst;
    signet_rc rc = cli_p_uint(s, &l->v);
    if (rc == SIGNET_OK && l->v > 1024)
        rc = signet_fail(SIGNET_E_ARG, "limits are numbers 0-1024, not %s", s);
    l->set = rc == SIGNET_OK;
    return rc;
}

static signet_rc load_evict(struct cli_ctx *c, const struct load_args *a, bool load)
{
    if (a->names.n > MAX_NAMES)
        return signet_fail(SIGNET_E_ARG, "at most %d names at once", MAX_NAMES);
    signet_config cfg;
    const char *dir;
    signet_rc rc = keys_resolve_store(c->g, a->keystore, &cfg, &dir);
    if (rc != SIGNET_OK)
        return rc;
    signet_evict_policy pol = {
        .min_free_objects = a->min_obj.set ? a->min_obj.v : cfg.min_free_objects,
        .min_free_pages = a->min_pages.set ? a->min_pages.v : cfg.min_free_pages};
    uint16_t wrap_id = a->wrap_id ? a->wrap_id : cfg.wrap_key_id;
    signet_keystore *ks;
    if ((rc = signet_keystore_open_existing(dir, &ks)) != SIGNET_OK)
        return rc;
    const signet_keymap_entry **sel = alloc_selection(ks, a->names.n);
    size_t n = 0;
    rc = sel ? select_keys(ks, a->names.v, a->names.n, sel, &n)
             : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK)
        rc = cli_ctx_open(c);
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        rc = load ? signet_keystore_ensure_resident(ks, c->sess, wrap_id, sel[i], &pol)
                  : signet_keystore_evict(ks, c->sess, sel[i]);
        if (rc == SIGNET_OK)
            printf("%s %s\n", load ? "resident" : "evicted", sel[i]->name);
    }
    free(sel);
    signet_keystore_close(ks);
    return rc;
}

static signet_rc cmd_load(struct cli_ctx *c, void *args)
{
    return load_evict(c, args, true);
}

static signet_rc cmd_evict(struct cli_ctx *c, void *args)
{
    return load_evict(c, args, false);
}

/* ---- the table ------------------------------------------------------------------------ */

#define KEYSTORE(T)                                                                                    CLI_OPT("keystore", 0, "DIR", cli_p_str, T, keystore, 0,                                                   "the key store directory (default: keystore in signet.conf)")
#define WRAP_ID(T)                                                                                     CLI_OPT("wrap-id", 0, "ID", keys_p_wrap_id, T, wrap_id, 0,                                                 "wrap key (default wrap_key_id of signet.conf, else 0x00ff)")

static const struct cli_opt INIT_OPTS[] = {
    KEYSTORE(struct init_args),
    CLI_OPT("device", 0, "NAME", cli_p_str, struct init_args, devices, CLI_REPEAT,
            "adds avb_NAME (AVB/vbmeta and OTA key of device NAME)"),
    CLI_OPT("apex", 0, "NAME", cli_p_str, struct init_args, apexes, CLI_REPEAT,
            "adds NAME.container and NAME.payload (APEX keys)"),
    CLI_OPT("algorithm", 0, "A", p_key_algo, struct init_args, algorithm, 0,
            "rsa4096 (default), rsa3072, rsa2048; APK-only maps may use ecp256 etc."),
    CLI_OPT("domains", 0, "D", cli_p_domains, struct init_args, domains, 0,
            "domains of the keys (default 1), e.g. 1,2"),
    CLI_END};

static const struct cli_opt GENERATE_OPTS[] = {
    KEYSTORE(struct generate_args), WRAP_ID(struct generate_args),
    CLI_OPT("only", 0, "NAME", cli_p_str, struct generate_args, only, CLI_REPEAT,
            "only this key"),
    CLI_OPT("subject", 0, "S", cli_p_str, struct generate_args, subject, 0,
            "certificate subject template, openssl -subj style; {name} is the key name"),
    CLI_OPT("days", 0, "N", keys_p_days, struct generate_args, days, 0,
            "certificate validity (default 10000)"),
    CLI_END};

static const struct cli_opt LIST_OPTS[] = {
    KEYSTORE(struct list_args),
    CLI_SWITCH("offline", 0, struct list_args, offline, "look at the disk only (no HSM login)"),
    CLI_END};

static const struct cli_opt LOAD_OPTS[] = {
    KEYSTORE(struct load_args), WRAP_ID(struct load_args),
    CLI_OPT("min-free-objects", 0, "N", p_limit, struct load_args, min_obj, 0,
            "evict below this many free object slots (default from signet.conf: 8)"),
    CLI_OPT("min-free-pages", 0, "N", p_limit, struct load_args, min_pages, 0,
            "evict below this many free storage pages (default from signet.conf: 64)"),
    CLI_POS("NAME", cli_p_str, struct load_args, names, CLI_REST, "keys (default: all)"),
    CLI_END};

static const struct cli_opt EVICT_OPTS[] = {
    KEYSTORE(struct load_args),
    CLI_POS("NAME", cli_p_str, struct load_args, names, CLI_REST | CLI_REQUIRED, "keys to evict"),
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {"init", "write or extend keymap.txt with the Android key set",
     "Creates DIR (mode 0700) and DIR/keymap.txt with the Android key set, or adds to\n"
     "an existing key map what is missing.  Ids already given never change; new keys\n"
     "get ids after the largest one (from 0x0100).  No HSM is needed.  APK keys:\n"
     "releasekey platform shared media networkstack bluetooth sdk_sandbox nfc.  AVB\n"
     "and APEX payload keys must be RSA.\n",
     INIT_OPTS, sizeof(struct init_args), 0, cmd_init},
    {"generate", "generate missing keys on the HSM and publish them wrapped",
     "For each key of the key map that is not yet in the store: generate it on the\n"
     "HSM (id, label, domains from the key map), sign its self-signed certificate on\n"
     "the HSM, attest it when the device can, export it under the wrap key, prove the\n"
     "wrapped copy (delete, import, compare public keys) and publish NAME.wrapped,\n"
     "NAME.pub.pem, NAME.x509.pem, NAME.avbpubkey (RSA) and NAME.attest.pem.  Stops at\n"
     "the first failure; running again continues.  Default subject:\n"
     "/C=US/ST=California/L=Mountain View/O=Android/OU=Android/CN={name}/\n"
     "emailAddress=android@android.com (CN=<name> is added when S has no CN).\n"
     "With backend = pkcs11 in signet.conf the key is made on the token instead\n"
     "(C_GenerateKeyPair, sensitive, extractable only under a trusted wrapping key),\n"
     "certified there, and its copy wrapped by C_WrapKey under the token's trusted\n"
     "AES wrap key (pkcs11_wrap_key_label, made by `signet keys token-wrap-key`) is\n"
     "proven and published as NAME.p11wrap, then NAME.token.  A token without that\n"
     "mechanism or that key gets a resident key without backup: each such key is\n"
     "printed as RESIDENT ONLY, with the reason (docs/migration.md).\n",
     GENERATE_OPTS, sizeof(struct generate_args), CLI_SESSION | CLI_LATE, cmd_generate},
    {"list", "show each key: id, algorithm, role, location, fingerprints",
     "One line per key of the key map:\n"
     "  NAME ID ALGORITHM ROLE LOCATION PUBKEY-SHA256 CERT-SHA256 ORIGIN\n"
     "LOCATION is resident (on the HSM, wrapped copy on disk), wrapped-only (loaded on\n"
     "demand), missing, resident-no-backup (on the HSM without a wrapped copy) or\n"
     "id-conflict (the id holds another object).  Fingerprints are SHA-256 of the\n"
     "public key (SubjectPublicKeyInfo DER) and of the certificate DER, '-' when\n"
     "absent.  ORIGIN is generated-attested, generated or imported (the key existed\n"
     "outside the HSM and may have copies elsewhere).  Exit status 1 when a key is\n"
     "missing, unbacked or in conflict.\n",
     LIST_OPTS, sizeof(struct list_args), CLI_SESSION | CLI_LATE, cmd_list},
    {"load", "make keys resident from their wrapped copies (LRU eviction)",
     "A key that is only wrapped is imported and checked against its recorded public\n"
     "key.  While the HSM has fewer free object slots or storage pages than the\n"
     "limits, the least recently used keys of this store that have a wrapped copy are\n"
     "deleted from it first.\n",
     LOAD_OPTS, sizeof(struct load_args), CLI_SESSION | CLI_LATE, cmd_load},
    {"evict", "delete keys from the HSM that have a wrapped copy",
     "Refuses a key without a wrapped copy in the store (it could not be loaded\n"
     "again) and an id that holds another object.\n",
     EVICT_OPTS, sizeof(struct load_args), CLI_SESSION | CLI_LATE, cmd_evict},
    KEYS_IMPORT_ROW,
    KEYS_MIGRATE_ROW,
    KEYS_TOKEN_WRAP_KEY_ROW,
    {0}};

const struct cli_table cli_table_keys = {
    "keys", "the release-key store: key map, generation, listing, on-demand loading",
    "The release-key store: a directory with keymap.txt (name id algorithm domains\n"
    "role per line) and, per key, its wrapped copy, public key, certificate, AVB\n"
    "public key and attestation (docs/keys.md).  --keystore DIR or keystore in\n"
    "signet.conf names it.\n",
    CMDS};

/* `signet audit`: the audit trail (docs/audit.md): init, anchor, drain, checkpoint,
 * verify, prove, verify-receipt, verify-git. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli_table.h"
#include "signet/audit.h"
#include "signet/sign.h"

/* DIR from the argument, else from signet.conf. */
static signet_rc resolve_dir(const struct cli_globals *g, const char *arg, signet_config *cfg,
                             const char **dir)
{
    signet_config_defaults(cfg);
    signet_rc rc = signet_config_load(g->config, cfg);
    if (arg) {
        *dir = arg;
        return SIGNET_OK;
    }
    if (rc)
        return rc;
    if (!cfg->audit[0])
        return signet_fail(SIGNET_E_ARG, "no trail directory: give DIR or set audit = ... in "
                                         "signet.conf");
    *dir = cfg->audit;
    return SIGNET_OK;
}

static signet_rc device_serial(hsm_conn *c, uint32_t *serial)
{
    hsm_devinfo di;
    signet_rc rc = hsm_device_info(c, &di);
    if (rc == SIGNET_OK)
        *serial = di.serial;
    return rc;
}

static signet_rc anchor_connected(const struct cli_globals *g, signet_trail *t, hsm_conn *c,
                                  hsm_session *s)
{
    uint32_t serial;
    hsm_log log;
    memset(&log, 0, sizeof log);
    signet_rc rc = device_serial(c, &serial);
    if (rc == SIGNET_OK)
        rc = hsm_get_log_entries(s, &log);
    if (rc == SIGNET_OK)
        rc = signet_trail_add_anchor(t, serial, &log);
    if (rc == SIGNET_OK && log.n)
        rc = hsm_set_log_index(s, log.entries[log.n - 1].number);
    if (rc)
        return rc;
    cli_progress(g, "anchored device %u at entry %u (%zu entries)", serial,
                 log.n ? log.entries[0].number : 0, log.n);
    return SIGNET_OK;
}

/* Opens the trail, the session (the dispatcher closes it) and locks the trail. */
static signet_rc open_all(struct cli_ctx *c, const char *dir, signet_trail **t, uint32_t *serial)
{
    signet_rc rc = signet_trail_open(dir, t);
    if (rc == SIGNET_OK)
        rc = cli_ctx_open(c);
    if (rc == SIGNET_OK)
        rc = device_serial(c->conn, serial);
    if (rc == SIGNET_OK)
        rc = signet_trail_lock(*t);
    if (rc) {
        signet_trail_close(*t);
        *t = NULL;
    }
    return rc;
}

struct audit_args {
    const char *dir, *dir_opt, *log_key_id_text, *origin, *domains;
    uint16_t log_key_id;
    bool have_key_id;
    const char *vkey, *expect, *checkpoint, *device, *out, *since;
    const char *artifact, *receipt, *repo;
};

static signet_rc do_init(struct cli_ctx *cx, void *args)
{
    const struct audit_args *a = args;
    const struct cli_globals *g = cx->g;
    signet_config cfg;
    const char *dir = NULL;
    signet_rc rc = resolve_dir(g, a->dir, &cfg, &dir);
    if (rc)
        return rc;
    uint16_t key_id = a->have_key_id ? a->log_key_id : cfg.log_key_id, dom;
    if (yh_domains_parse(a->domains, &dom) != SIGNET_OK)
        return signet_wrap(SIGNET_E_ARG, "--domains");
    const char *origin = a->origin ? a->origin : cfg.log_name;
    int ex = 0;

    rc = signet_trail_init(dir);
    signet_trail *t = NULL;
    uint32_t serial;
    if (rc == SIGNET_OK)
        rc = open_all(cx, dir, &t, &serial);
    if (rc)
        return rc;
    hsm_conn *c = cx->conn;
    hsm_session *s = cx->sess;
    char vpath[4200];
    snprintf(vpath, sizeof vpath, "%s/log.vkey", dir);
    FILE *probe = fopen(vpath, "r");
    bool anchored = false;
    {
        char name[64];
        snprintf(name, sizeof name, "%s/device-%u.log", dir, serial);
        FILE *d = fopen(name, "r");
        anchored = d != NULL;
        if (d)
            fclose(d);
    }
    if (!anchored && (rc = anchor_connected(g, t, c, s)))
        goto out;
    /* The log key: generated on the device when missing, never imported. */
    yh_object_info oi;
    rc = hsm_get_object_info(s, key_id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_E_NOTFOUND) {
        hsm_object_attrs attrs = {.id = key_id, .label = "signet audit log", .domains = dom,
                                  .capabilities = YH_CAP(YH_CAP_SIGN_EDDSA),
                                  .algorithm = YH_ALGO_EC_ED25519};
        uint16_t got;
        signet_drain_result d;
        rc = hsm_generate_asymmetric(s, &attrs, &got);
        if (rc == SIGNET_OK)
            rc = signet_audit_drain(t, s, serial, &d);
        if (rc == SIGNET_OK) {
            const signet_dev_entry *e =
                signet_drain_find(&d, YH_CMD_GENERATE_ASYMMETRIC_KEY, got, hsm_session_auth_id(s));
            signet_record r = {.type = SIGNET_REC_KEY, .auth_id = hsm_session_auth_id(s), .serial = serial,
                               .seq = e ? e->seq : 0, .key_id = got};
            snprintf(r.key_name, sizeof r.key_name, "audit-log");
            snprintf(r.event, sizeof r.event, "generated");
            rc = signet_trail_append_record(t, &r);
        }
        if (rc == SIGNET_OK)
            cli_progress(g, "generated the Ed25519 log key 0x%04x", got);
        key_id = got;
    } else if (rc == SIGNET_OK && oi.algorithm != YH_ALGO_EC_ED25519) {
        rc = signet_fail(SIGNET_E_STATE, "object 0x%04x is an %s key, not Ed25519: pick another "
                         "--log-key-id", key_id, yh_algo_name(oi.algorithm));
    }
    EVP_PKEY *pk = NULL;
    uint8_t alg, pub[32];
    size_t pl = sizeof pub;
    if (rc == SIGNET_OK)
        rc = hsm_get_public_key(s, key_id, &pk, &alg);
    if (rc == SIGNET_OK && EVP_PKEY_get_raw_public_key(pk, pub, &pl) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "the log key's public key is not a raw Ed25519 key");
    EVP_PKEY_free(pk);
    signet_vkey vk;
    sb_wr w;
    sbw_init(&w, 512);
    if (rc == SIGNET_OK)
        rc = signet_vkey_make(origin, pub, &vk);
    if (rc == SIGNET_OK)
        rc = signet_vkey_format(&vk, &w);
    if (rc == SIGNET_OK)
        rc = sbw_u8(&w, '\n');
    if (rc == SIGNET_OK && probe) {
        signet_vkey old;
        if (signet_vkey_load(vpath, &old) != SIGNET_OK || memcmp(&old, &vk, sizeof vk) != 0)
            rc = signet_fail(SIGNET_E_STATE, "%s names another key: a trail has one log key for life", vpath);
    } else if (rc == SIGNET_OK) {
        FILE *f = fopen(vpath, "w");
        if (!f || fwrite(w.p, 1, w.len, f) != w.len || fclose(f) != 0)
            rc = signet_fail(SIGNET_E_IO, "cannot write %s", vpath);
    }
    sbw_free(&w);
    if (!rc)
        cli_progress(g, "trail %s ready; verifier key in %s", dir, vpath);
out:
    (void)ex;
    if (probe)
        fclose(probe);
    signet_trail_close(t);
    return rc;
}

static signet_rc do_anchor(struct cli_ctx *c, void *args)
{
    const struct audit_args *a = args;
    signet_config cfg;
    const char *dir = NULL;
    signet_trail *t;
    uint32_t serial;
    signet_rc rc = resolve_dir(c->g, a->dir, &cfg, &dir);
    if (rc == SIGNET_OK)
        rc = open_all(c, dir, &t, &serial);
    if (rc)
        return rc;
    rc = anchor_connected(c->g, t, c->conn, c->sess);
    signet_trail_close(t);
    return rc;
}

static signet_rc do_drain(struct cli_ctx *c, void *args)
{
    const struct audit_args *a = args;
    signet_config cfg;
    const char *dir = NULL;
    signet_trail *t;
    uint32_t serial;
    signet_rc rc = resolve_dir(c->g, a->dir, &cfg, &dir);
    if (rc == SIGNET_OK)
        rc = open_all(c, dir, &t, &serial);
    if (rc)
        return rc;
    signet_drain_result d;
    rc = signet_audit_drain(t, c->sess, serial, &d);
    if (rc == SIGNET_OK) {
        cli_progress(c->g, "device %u: %zu new entries", serial, d.n_new);
        if (d.lost)
            fprintf(stderr, "signet: warning: %llu entries were lost before this drain (the log "
                    "wrapped): treat as an incident\n", (unsigned long long)d.lost);
        if (d.unlogged_boots || d.unlogged_auths)
            fprintf(stderr, "signet: warning: %u unlogged boots, %u unlogged authentications\n",
                    d.unlogged_boots, d.unlogged_auths);
    }
    signet_trail_close(t);
    return rc;
}

static signet_rc do_checkpoint(struct cli_ctx *c, void *args)
{
    const struct audit_args *a = args;
    signet_config cfg;
    const char *dir = NULL;
    signet_trail *t;
    uint32_t serial;
    signet_rc rc = resolve_dir(c->g, a->dir, &cfg, &dir);
    if (rc == SIGNET_OK)
        rc = open_all(c, dir, &t, &serial);
    if (rc)
        return rc;
    uint16_t key_id = a->have_key_id ? a->log_key_id : cfg.log_key_id;
    signet_checkpoint cp;
    rc = signet_audit_checkpoint(t, c->sess, serial, key_id, a->origin ? a->origin : cfg.log_name,
                                 &cp);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "checkpoint of %llu leaves signed", (unsigned long long)cp.size);
    signet_trail_close(t);
    return rc;
}

static signet_rc do_verify(struct cli_ctx *c, void *args)
{
    const struct audit_args *a = args;
    signet_verify_opts vo = {.vkey_path = a->vkey, .expect_path = a->expect,
                             .known_checkpoint = a->checkpoint};
    signet_config cfg;
    const char *dir = NULL;
    signet_rc rc = resolve_dir(c->g, a->dir, &cfg, &dir);
    if (rc == SIGNET_OK)
        rc = cli_require_file(a->vkey);
    if (rc == SIGNET_OK)
        rc = cli_require_file(a->expect);
    if (rc == SIGNET_OK)
        rc = cli_require_file(a->checkpoint);
    if (rc)
        return rc;
    hsm_log live;
    memset(&live, 0, sizeof live);
    if (a->device) {
        /* The live device named by --device, with the global credential. */
        const struct cli_globals *saved = c->g;
        struct cli_globals g2 = *saved;
        g2.connector = a->device;
        c->g = &g2;
        rc = cli_ctx_open(c);
        c->g = saved;
        /* Read, never drain: entries consumed here would be missing from the trail. */
        if (rc == SIGNET_OK)
            hsm_session_set_log_hook(c->sess, NULL, NULL, NULL, 0, 0);
        if (rc == SIGNET_OK)
            rc = device_serial(c->conn, &vo.live_serial);
        if (rc == SIGNET_OK)
            rc = hsm_get_log_entries(c->sess, &live);
        if (rc)
            return rc;
        vo.live = &live;
    }
    signet_report *r = NULL;
    rc = signet_trail_verify(dir, &vo, &r);
    if (r && (rc == SIGNET_OK || rc == SIGNET_E_VERIFY))
        signet_report_print(r, stdout);
    signet_report_free(r);
    if (rc == SIGNET_E_VERIFY) {
        c->status = 1; /* the findings are the report */
        return SIGNET_OK;
    }
    return rc;
}

static signet_rc sha256_file(const char *path, uint8_t out[32])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cli_open_error(NULL, path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t buf[65536];
    size_t n;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n);
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return ok ? SIGNET_OK : signet_fail(SIGNET_E_IO, "cannot hash %s", path);
}

static signet_rc do_prove(struct cli_ctx *c, void *args)
{
    const struct audit_args *a = args;
    const char *art = a->artifact, *out = a->out;
    signet_config cfg;
    const char *dir = NULL;
    signet_rc rc0 = resolve_dir(c->g, a->dir_opt, &cfg, &dir);
    if (rc0)
        return rc0;
    uint8_t sha[32];
    sb_wr w;
    sbw_init(&w, 1 << 20);
    signet_rc rc = sha256_file(art, sha);
    if (rc == SIGNET_OK)
        rc = signet_trail_prove(dir, sha, &w);
    char def[4200];
    snprintf(def, sizeof def, "%s.tlog-proof", art);
    if (!out)
        out = def;
    if (rc == SIGNET_OK) {
        FILE *f = strcmp(out, "-") == 0 ? stdout : fopen(out, "w");
        if (!f || fwrite(w.p, 1, w.len, f) != w.len || (f != stdout && fclose(f) != 0))
            rc = signet_fail(SIGNET_E_IO, "cannot write %s", out);
    }
    sbw_free(&w);
    if (rc == SIGNET_OK)
        cli_progress(c->g, "receipt written to %s", out);
    return rc;
}

static signet_rc do_verify_receipt(struct cli_ctx *c, void *args)
{
    const struct audit_args *a = args;
    (void)c;
    const char *vkey = a->vkey;
    signet_vkey k;
    signet_rc rc = cli_require_file(vkey);
    if (rc == SIGNET_OK)
        rc = cli_require_file(a->receipt);
    if (rc == SIGNET_OK)
        rc = signet_vkey_load(vkey, &k);
    FILE *f = rc ? NULL : fopen(a->receipt, "rb");
    if (!rc && !f)
        rc = cli_open_error(NULL, a->receipt);
    char buf[65537];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f && ferror(f) && rc == SIGNET_OK)
        rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", a->receipt, strerror(errno));
    if (f)
        fclose(f);
    signet_receipt r = {0};
    signet_checkpoint cp;
    signet_record *rec = calloc(1, sizeof *rec);
    if (rc == SIGNET_OK && !rec)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK)
        rc = signet_receipt_parse(buf, n, &r);
    if (rc == SIGNET_OK)
        rc = signet_receipt_verify(&r, &k, &cp);
    if (rc == SIGNET_OK && signet_record_parse((char *)r.extra, r.extra_len, rec) != SIGNET_OK)
        rc = signet_fail(SIGNET_E_VERIFY, "the receipt's leaf is not a signet record");
    if (rc == SIGNET_OK && a->artifact) {
        uint8_t sha[32];
        rc = sha256_file(a->artifact, sha);
        if (rc == SIGNET_OK && !signet_record_names(rec, sha))
            rc = signet_fail(SIGNET_E_VERIFY, "%s is not the artifact this receipt is about",
                             a->artifact);
    }
    if (rc == SIGNET_OK && rec->type == SIGNET_REC_BIND)
        printf("OK: leaf %llu of %s (tree of %llu leaves): %s binds %s (%zu signatures)\n",
               (unsigned long long)r.index, cp.origin, (unsigned long long)cp.size, rec->output,
               rec->artifact, rec->n_covers);
    else if (rc == SIGNET_OK)
        printf("OK: leaf %llu of %s (tree of %llu leaves): %s by key %s (0x%04x) on device %u%s%s\n",
               (unsigned long long)r.index, cp.origin, (unsigned long long)cp.size,
               signet_mech_name(rec->command) ? signet_mech_name(rec->command) : "record",
               rec->key_name, rec->key_id, rec->serial, rec->artifact[0] ? ", artifact " : "",
               rec->artifact);
    signet_receipt_free(&r);
    free(rec);
    return rc;
}

static signet_rc do_verify_git(struct cli_ctx *c, void *args)
{
    const struct audit_args *a = args;
    signet_report *r = NULL;
    signet_rc rc = signet_git_verify(a->repo, a->since, a->vkey, &r);
    for (size_t i = 0; r && i < signet_report_count(r); i++) {
        const signet_finding *f = signet_report_finding(r, i);
        printf("FINDING: %s%s%s\n", f->file, f->file[0] ? ": " : "", f->msg);
    }
    signet_report_free(r);
    if (rc == SIGNET_OK)
        printf("result: OK\n");
    if (rc == SIGNET_E_VERIFY) {
        printf("result: FAILED\n");
        c->status = 1;
        return SIGNET_OK;
    }
    return rc;
}

/* ---- the table ------------------------------------------------------------ */

#define T struct audit_args
static signet_rc p_key_id(const char *s, void *dst)
{
    T *a = (T *)((char *)dst - offsetof(T, log_key_id));
    signet_rc rc = cli_parse_id(s, dst);
    a->have_key_id = rc == SIGNET_OK;
    return rc;
}

#define DIR_ARG CLI_POS("DIR", cli_p_str, T, dir, 0, "the trail (default: audit in signet.conf)")
#define KEY_ID                                                                                     \
    CLI_OPT("log-key-id", 0, "ID", p_key_id, T, log_key_id, 0,                                     \
            "the Ed25519 log key (default log_key_id of signet.conf)")
#define ORIGIN                                                                                     \
    CLI_OPT("origin", 0, "NAME", cli_p_str, T, origin, 0,                                          \
            "the checkpoint origin line (default log_name of signet.conf)")

static const struct cli_opt INIT_OPTS[] = {
    DIR_ARG, KEY_ID, ORIGIN,
    CLI_OPT_DEF("domains", 0, "D", cli_p_str, T, domains, "all", "domains of the log key"),
    CLI_END};
static const struct cli_opt DIR_OPTS[] = {DIR_ARG, CLI_END};
static const struct cli_opt CHECKPOINT_OPTS[] = {DIR_ARG, KEY_ID, ORIGIN, CLI_END};
static const struct cli_opt VERIFY_OPTS[] = {
    DIR_ARG,
    CLI_OPT("vkey", 0, "F", cli_p_str, T, vkey, 0,
            "the published verifier key (else DIR/log.vkey: self-consistency only)"),
    CLI_OPT("expect", 0, "F", cli_p_str, T, expect, 0,
            "lines '<key name> <count>' (and 'from <leaf>'): usage a release should show"),
    CLI_OPT("checkpoint", 0, "F", cli_p_str, T, checkpoint, 0,
            "a signed checkpoint known from elsewhere: detects stale copies"),
    CLI_OPT("device", 0, "URL", cli_p_str, T, device, 0,
            "the live device (global credential; get-log-entries suffices)"),
    CLI_END};
static const struct cli_opt PROVE_OPTS[] = {
    CLI_POS("ARTIFACT", cli_p_str, T, artifact, CLI_REQUIRED, "the signed file"),
    CLI_OPT("dir", 0, "DIR", cli_p_str, T, dir_opt, 0, "the trail (default: audit in signet.conf)"),
    CLI_OPT("out", 0, "F", cli_p_str, T, out, 0, "the receipt (default ARTIFACT.tlog-proof; - for stdout)"),
    CLI_END};
static const struct cli_opt RECEIPT_OPTS[] = {
    CLI_POS("RECEIPT", cli_p_str, T, receipt, CLI_REQUIRED, "a c2sp.org/tlog-proof receipt"),
    CLI_POS("ARTIFACT", cli_p_str, T, artifact, 0, "also check that the receipt names it"),
    CLI_OPT("vkey", 0, "F", cli_p_str, T, vkey, CLI_REQUIRED, "the published verifier key"),
    CLI_END};
static const struct cli_opt GIT_OPTS[] = {
    CLI_POS("REPO", cli_p_str, T, repo, CLI_REQUIRED, "the trail's git repository"),
    CLI_OPT("since", 0, "COMMIT", cli_p_str, T, since, 0,
            "a commit verified before, which must still be an ancestor of HEAD"),
    CLI_OPT("vkey", 0, "F", cli_p_str, T, vkey, 0, "the published verifier key"),
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {"init", "create the trail, the log key and anchor the device",
     "Creates DIR, the Ed25519 log key in the HSM if missing (writes DIR/log.vkey) and\n"
     "anchors the connected device.\n",
     INIT_OPTS, sizeof(T), CLI_SESSION | CLI_LATE, do_init},
    {"anchor", "anchor the connected device (its log as it is now)",
     "Records the connected device's audit log, as it is now, as its trust anchor.  Do\n"
     "it right after a reset, at the key ceremony.\n",
     DIR_OPTS, sizeof(T), CLI_SESSION | CLI_LATE, do_anchor},
    {"drain", "move the device's audit log into the trail, then Set Log Index",
     "Reads the device's audit log, appends the new entries to DIR/device-<serial>.log\n"
     "(checking that they chain), then tells the device to forget them (Set Log\n"
     "Index).  An auditor credential with get-log-entries is enough.\n",
     DIR_OPTS, sizeof(T), CLI_SESSION | CLI_LATE, do_drain},
    {"checkpoint", "sign a checkpoint of the whole trail with the log key",
     "Drains, then signs a c2sp.org/tlog-checkpoint of every leaf with the Ed25519 log\n"
     "key on the device and appends it to DIR/checkpoints (with a record pairing the\n"
     "signature with its device log entry).  Refuses when the trail no longer matches\n"
     "the previous checkpoint.\n",
     CHECKPOINT_OPTS, sizeof(T), CLI_SESSION | CLI_LATE, do_checkpoint},
    {"verify", "check everything; exit 1 with a list of findings",
     "Exit 0 when everything verifies, 1 with a list of findings otherwise\n"
     "(docs/audit.md).\n",
     VERIFY_OPTS, sizeof(T), CLI_SESSION | CLI_LATE, do_verify},
    {"prove", "write a c2sp.org/tlog-proof receipt for the record of ARTIFACT",
     "Proves that the record of ARTIFACT's SHA-256 is in a signed checkpoint.\n", PROVE_OPTS,
     sizeof(T), 0, do_prove},
    {"verify-receipt", "check a receipt offline (and that it names ARTIFACT)",
     "Checks offline that RECEIPT's checkpoint is signed by the key in F and that its\n"
     "record is in the tree; with ARTIFACT, that the record names its SHA-256.\n",
     RECEIPT_OPTS, sizeof(T), 0, do_verify_receipt},
    {"verify-git", "check that every commit of the trail repository only appended",
     "Walks the history of the trail repository with git: every commit may only append\n"
     "to the trail files, never change log.vkey or anchors/, and its checkpoints must\n"
     "verify.\n",
     GIT_OPTS, sizeof(T), 0, do_verify_git},
    {0}};
#undef T

const struct cli_table cli_table_audit = {
    "audit", "the audit trail: drain, checkpoint, verify, prove",
    "The audit trail: an append-only, signed record of everything signed, tied to the\n"
    "HSM's own hash-chained log.  DIR defaults to `audit` in signet.conf.  Manual:\n"
    "docs/audit.md.\n",
    CMDS};

/* `signet audit`: the audit trail (docs/audit.md): init, anchor, drain, checkpoint,
 * verify, prove, verify-receipt, verify-git. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli_table.h"
#include "file_io.h"
#include "keys_cmds.h"
#include "signet/audit.h"
#include "signet/sign.h"

/* The values of every audit command's options and arguments (each row uses some). */
struct audit_args {
    const char *dir, *kid, *origin, *domains;
    const char *vkey, *expect, *checkpoint, *device;
    const char *artifact, *out, *receipt, *repo, *since;
    const char *finding, *reason, *record_key, *input, *output;
};

/* DIR from the argument, else from signet.conf. */
static int resolve_dir(const struct cli_globals *g, const char *arg, signet_config *cfg, const char **dir)
{
    signet_config_defaults(cfg);
    signet_rc rc = signet_config_load(g->config, cfg);
    if (arg) {
        *dir = arg;
        return 0;
    }
    if (rc)
        return cli_report(rc);
    if (!cfg->audit[0])
        return cli_usage_error("audit", "no trail directory: give DIR or set audit = ... in signet.conf");
    *dir = cfg->audit;
    return 0;
}

static signet_rc device_serial(hsm_conn *c, uint32_t *serial)
{
    hsm_devinfo di;
    signet_rc rc = hsm_device_info(c, &di);
    if (rc == SIGNET_OK)
        *serial = di.serial;
    return rc;
}

static int anchor_connected(const struct cli_globals *g, signet_trail *t, hsm_conn *c, hsm_session *s)
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
        return cli_report(rc);
    cli_progress(g, "anchored device %u at entry %u (%zu entries)", serial,
                 log.n ? log.entries[0].number : 0, log.n);
    return 0;
}

/* Opens session and trail, locks; on failure reports and returns the exit code. */
static int open_all(const struct cli_globals *g, const char *dir, hsm_conn **c, hsm_session **s,
                    signet_trail **t, uint32_t *serial)
{
    signet_rc rc = signet_trail_open(dir, t);
    if (rc == SIGNET_OK)
        rc = cli_open_session(g, c, s);
    if (rc == SIGNET_OK)
        rc = device_serial(*c, serial);
    if (rc == SIGNET_OK)
        rc = signet_trail_lock(*t);
    if (rc) {
        int ex = cli_report(rc);
        cli_close_session(*c, *s);
        signet_trail_close(*t);
        *c = NULL;
        *s = NULL;
        *t = NULL;
        return ex;
    }
    return 0;
}

static int do_init(const struct cli_globals *g, const struct audit_args *a)
{
    const char *kid = a->kid, *origin = a->origin, *domains = a->domains;
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, a->dir, &cfg, &dir);
    if (ex)
        return ex;
    uint16_t key_id = cfg.log_key_id, dom;
    if (kid && cli_parse_id(kid, &key_id) != SIGNET_OK)
        return cli_usage_error("audit", "--log-key-id: %s", signet_errmsg());
    if (yh_domains_parse(domains, &dom) != SIGNET_OK)
        return cli_usage_error("audit", "--domains: %s", signet_errmsg());
    if (!origin)
        origin = cfg.log_name;

    signet_rc rc = signet_trail_init(dir);
    hsm_conn *c = NULL;
    hsm_session *s = NULL;
    signet_trail *t = NULL;
    uint32_t serial;
    if (rc)
        return cli_report(rc);
    if ((ex = open_all(g, dir, &c, &s, &t, &serial)))
        return ex;
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
    if (!anchored && (ex = anchor_connected(g, t, c, s)))
        goto out;
    /* The log key: generated on the device when missing, never imported. */
    yh_object_info oi;
    rc = hsm_get_object_info(s, key_id, YH_TYPE_ASYMMETRIC_KEY, &oi);
    if (rc == SIGNET_E_NOTFOUND) {
        hsm_object_attrs oa = {.id = key_id, .label = "signet audit log", .domains = dom,
                              .capabilities = YH_CAP(YH_CAP_SIGN_EDDSA), .algorithm = YH_ALGO_EC_ED25519};
        uint16_t got;
        signet_drain_result d;
        rc = hsm_generate_asymmetric(s, &oa, &got);
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
    ex = rc ? cli_report(rc) : 0;
    if (!rc)
        cli_progress(g, "trail %s ready; verifier key in %s", dir, vpath);
out:
    if (probe)
        fclose(probe);
    signet_trail_close(t);
    cli_close_session(c, s);
    return ex;
}

static int do_anchor(const struct cli_globals *g, const struct audit_args *a)
{
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, a->dir, &cfg, &dir);
    hsm_conn *c;
    hsm_session *s;
    signet_trail *t;
    uint32_t serial;
    if (ex || (ex = open_all(g, dir, &c, &s, &t, &serial)))
        return ex;
    ex = anchor_connected(g, t, c, s);
    signet_trail_close(t);
    cli_close_session(c, s);
    return ex;
}

static int do_drain(const struct cli_globals *g, const struct audit_args *a)
{
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, a->dir, &cfg, &dir);
    hsm_conn *c;
    hsm_session *s;
    signet_trail *t;
    uint32_t serial;
    if (ex || (ex = open_all(g, dir, &c, &s, &t, &serial)))
        return ex;
    signet_drain_result d;
    signet_rc rc = signet_audit_drain(t, s, serial, &d);
    if (rc == SIGNET_OK) {
        cli_progress(g, "device %u: %zu new entries", serial, d.n_new);
        if (d.lost)
            fprintf(stderr, "signet: warning: %llu entries were lost before this drain (the log "
                    "wrapped): treat as an incident\n", (unsigned long long)d.lost);
        if (d.unlogged_boots || d.unlogged_auths)
            fprintf(stderr, "signet: warning: %u unlogged boots, %u unlogged authentications\n",
                    d.unlogged_boots, d.unlogged_auths);
    }
    ex = rc ? cli_report(rc) : 0;
    signet_trail_close(t);
    cli_close_session(c, s);
    return ex;
}

static int do_checkpoint(const struct cli_globals *g, const struct audit_args *a)
{
    const char *kid = a->kid, *origin = a->origin;
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, a->dir, &cfg, &dir);
    if (ex)
        return ex;
    uint16_t key_id = cfg.log_key_id;
    if (kid && cli_parse_id(kid, &key_id) != SIGNET_OK)
        return cli_usage_error("audit", "--log-key-id: %s", signet_errmsg());
    hsm_conn *c;
    hsm_session *s;
    signet_trail *t;
    uint32_t serial;
    if ((ex = open_all(g, dir, &c, &s, &t, &serial)))
        return ex;
    signet_checkpoint cp;
    signet_rc rc = signet_audit_checkpoint(t, s, serial, key_id, origin ? origin : cfg.log_name, &cp);
    if (rc == SIGNET_OK)
        cli_progress(g, "checkpoint of %llu leaves signed", (unsigned long long)cp.size);
    ex = rc ? cli_report(rc) : 0;
    signet_trail_close(t);
    cli_close_session(c, s);
    return ex;
}

static int do_verify(const struct cli_globals *g, const struct audit_args *a)
{
    signet_verify_opts vo = {0};
    vo.vkey_path = a->vkey;
    vo.expect_path = a->expect;
    vo.known_checkpoint = a->checkpoint;
    const char *device = a->device;
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, a->dir, &cfg, &dir);
    if (ex)
        return ex;
    hsm_log live;
    memset(&live, 0, sizeof live);
    if (device) {
        struct cli_globals g2 = *g;
        g2.connector = device;
        hsm_conn *c;
        hsm_session *s;
        signet_rc rc = cli_open_session(&g2, &c, &s);
        /* Read, never drain: entries consumed here would be missing from the trail. */
        if (rc == SIGNET_OK)
            hsm_session_set_log_hook(s, NULL, NULL, NULL, 0, 0);
        if (rc == SIGNET_OK)
            rc = device_serial(c, &vo.live_serial);
        if (rc == SIGNET_OK)
            rc = hsm_get_log_entries(s, &live);
        cli_close_session(c, s);
        if (rc)
            return cli_report(rc);
        vo.live = &live;
    }
    signet_report *r = NULL;
    signet_rc rc = signet_trail_verify(dir, &vo, &r);
    if (r)
        signet_report_print(r, stdout);
    signet_report_free(r);
    if (rc == SIGNET_E_VERIFY)
        return 1;
    return rc ? cli_report(rc) : 0;
}

static int do_prove(const struct cli_globals *g, const struct audit_args *a)
{
    const char *dirarg = a->dir, *out = a->out;
    const char *art = a->artifact;
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, dirarg, &cfg, &dir);
    if (ex)
        return ex;
    uint8_t sha[32];
    sb_wr w;
    sbw_init(&w, 1 << 20);
    signet_rc rc = cli_sha256_file(art, sha);
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
    if (rc)
        return cli_report(rc);
    cli_progress(g, "receipt written to %s", out);
    return 0;
}

static int do_verify_receipt(const struct cli_globals *g, const struct audit_args *a)
{
    const char *vkey = a->vkey;
    signet_vkey k;
    /* A directory is not a file (exit 7), not a malformed key. */
    signet_rc rc = cli_require_file(vkey);
    if (rc == SIGNET_OK)
        rc = cli_require_file(a->receipt);
    if (rc == SIGNET_OK)
        rc = signet_vkey_load(vkey, &k);
    FILE *f = rc ? NULL : fopen(a->receipt, "rb");
    if (!rc && !f)
        rc = signet_fail(SIGNET_E_NOTFOUND, "cannot open %s", a->receipt);
    char buf[65537];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
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
        rc = cli_sha256_file(a->artifact, sha);
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
    if (rc == SIGNET_E_VERIFY) {
        fprintf(stderr, "signet: %s\n", signet_errmsg());
        return 1;
    }
    return rc ? cli_report(rc) : 0;
}

static int do_verify_git(const struct cli_globals *g, const struct audit_args *a)
{
    const char *since = a->since, *vkey = a->vkey;
    signet_report *r = NULL;
    signet_rc rc = signet_git_verify(a->repo, since, vkey, &r);
    for (size_t i = 0; r && i < signet_report_count(r); i++) {
        const signet_finding *f = signet_report_finding(r, i);
        printf("FINDING: %s%s%s\n", f->file, f->file[0] ? ": " : "", f->msg);
    }
    signet_report_free(r);
    if (rc == SIGNET_OK)
        printf("result: OK\n");
    if (rc == SIGNET_E_VERIFY) {
        printf("result: FAILED\n");
        return 1;
    }
    return rc ? cli_report(rc) : 0;
}

/* Thin: the work is signet_trail_acknowledge (src/audit/ack.c). */
static int do_acknowledge(const struct cli_globals *g, const struct audit_args *a)
{
    const char *reason = a->reason, *keyfile = a->record_key, *dirarg = a->dir;
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, dirarg, &cfg, &dir);
    if (ex)
        return ex;
    FILE *f = strcmp(keyfile, "-") == 0 ? stdin : fopen(keyfile, "r");
    if (!f)
        return cli_report(signet_fail(SIGNET_E_NOTFOUND, "cannot open the record key %s", keyfile));
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    if (f != stdin)
        fclose(f);
    if (!k)
        return cli_report(signet_fail(SIGNET_E_PARSE, "%s holds no PEM private key", keyfile));
    signet_rc rc = signet_trail_acknowledge(dir, NULL, a->finding, reason, k);
    EVP_PKEY_free(k);
    if (rc)
        return cli_report(rc);
    cli_progress(g, "finding %s acknowledged", a->finding);
    return 0;
}

static int do_bind(const struct cli_globals *g, const struct audit_args *a)
{
    return cli_audit_bind(g, a->input, a->output);
}

/* The commands report their own errors and return the exit code. */
#define AUDIT_HANDLER(fn)                                                                          \
    static signet_rc run_##fn(struct cli_ctx *c, void *args)                                       \
    {                                                                                              \
        c->status = fn(c->g, args);                                                                \
        return SIGNET_OK;                                                                          \
    }
AUDIT_HANDLER(do_init)
AUDIT_HANDLER(do_anchor)
AUDIT_HANDLER(do_drain)
AUDIT_HANDLER(do_checkpoint)
AUDIT_HANDLER(do_verify)
AUDIT_HANDLER(do_prove)
AUDIT_HANDLER(do_verify_receipt)
AUDIT_HANDLER(do_verify_git)
AUDIT_HANDLER(do_acknowledge)
AUDIT_HANDLER(do_bind)

#define A struct audit_args
#define DIR_POS CLI_POS("DIR", cli_p_str, A, dir, 0, "the trail (default: audit in signet.conf)")
#define KID_OPT                                                                                    \
    CLI_OPT("log-key-id", 0, "ID", cli_p_str, A, kid, 0, "the Ed25519 log key (default: signet.conf)")
#define ORIGIN_OPT                                                                                 \
    CLI_OPT("origin", 0, "NAME", cli_p_str, A, origin, 0, "the log's name (default: signet.conf)")

static const struct cli_opt INIT_OPTS[] = {
    DIR_POS, KID_OPT, ORIGIN_OPT,
    CLI_OPT_DEF("domains", 0, "D", cli_p_str, A, domains, "all", "domains of a new log key"),
    CLI_END};
static const struct cli_opt DIR_OPTS[] = {DIR_POS, CLI_END};
static const struct cli_opt CHECKPOINT_OPTS[] = {DIR_POS, KID_OPT, ORIGIN_OPT, CLI_END};
static const struct cli_opt VERIFY_OPTS[] = {
    DIR_POS,
    CLI_OPT("vkey", 0, "F", cli_p_str, A, vkey, 0,
            "the published verifier key (else DIR/log.vkey: self-consistency only)"),
    CLI_OPT("expect", 0, "F", cli_p_str, A, expect, 0,
            "lines '<key name> <count>' (and 'from <leaf>'): usage a release should show"),
    CLI_OPT("checkpoint", 0, "F", cli_p_str, A, checkpoint, 0,
            "a signed checkpoint known from elsewhere: detects stale copies"),
    CLI_OPT("device", 0, "URL", cli_p_str, A, device, 0,
            "the live device (read, never drained): the trail's tail must match its log"),
    CLI_END};
static const struct cli_opt PROVE_OPTS[] = {
    CLI_POS("ARTIFACT", cli_p_str, A, artifact, CLI_REQUIRED, "the signed file"),
    CLI_OPT("dir", 0, "DIR", cli_p_str, A, dir, 0, "the trail (default: audit in signet.conf)"),
    CLI_OPT("out", 0, "F", cli_p_str, A, out, 0, "the receipt (default: ARTIFACT.tlog-proof; - for stdout)"),
    CLI_END};
static const struct cli_opt RECEIPT_OPTS[] = {
    CLI_POS("RECEIPT", cli_p_str, A, receipt, CLI_REQUIRED, "a c2sp.org/tlog-proof receipt"),
    CLI_OPT("vkey", 0, "F", cli_p_str, A, vkey, CLI_REQUIRED, "the published verifier key"),
    CLI_POS("ARTIFACT", cli_p_str, A, artifact, 0, "the file the receipt must name"),
    CLI_END};
static const struct cli_opt GIT_OPTS[] = {
    CLI_POS("REPO", cli_p_str, A, repo, CLI_REQUIRED, "the trail's git repository"),
    CLI_OPT("since", 0, "COMMIT", cli_p_str, A, since, 0,
            "a commit verified before (must still be an ancestor of HEAD)"),
    CLI_OPT("vkey", 0, "F", cli_p_str, A, vkey, 0, "the published verifier key"),
    CLI_END};
static const struct cli_opt ACK_OPTS[] = {
    CLI_POS("FINDING-HASH", cli_p_str, A, finding, CLI_REQUIRED, "the hash in the finding's [ ]"),
    CLI_OPT("reason", 0, "TEXT", cli_p_str, A, reason, CLI_REQUIRED, "why the incident is closed"),
    CLI_OPT("record-key", 0, "F", cli_p_str, A, record_key, CLI_REQUIRED,
            "your Ed25519 record key (PEM; - reads standard input)"),
    CLI_OPT("dir", 0, "DIR", cli_p_str, A, dir, 0, "the trail (default: audit in signet.conf)"),
    CLI_END};
static const struct cli_opt BIND_OPTS[] = {
    CLI_POS("INPUT", cli_p_str, A, input, CLI_REQUIRED, "the file that was signed"),
    CLI_POS("OUTPUT", cli_p_str, A, output, CLI_REQUIRED, "the signed result"),
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {"init", "create the trail, the log key if missing, anchor the device",
     "Creates DIR, the Ed25519 log key in the HSM if missing (writes DIR/log.vkey) and\n"
     "anchors the connected device.\n",
     INIT_OPTS, sizeof(A), 0, run_do_init},
    {"anchor", "anchor the connected device (its log as it is now)",
     "Records the connected device's audit log, as it is now, as its trust anchor.\n"
     "Do it right after a reset, at the key ceremony.\n",
     DIR_OPTS, sizeof(A), 0, run_do_anchor},
    {"drain", "move the device's audit log into the trail, then Set Log Index",
     "Reads the device's audit log, appends the new entries to DIR/device-<serial>.log\n"
     "(checking that they chain), then tells the device to forget them (Set Log Index).\n"
     "An auditor credential with get-log-entries is enough.\n",
     DIR_OPTS, sizeof(A), 0, run_do_drain},
    {"checkpoint", "sign a checkpoint of the whole trail with the log key",
     "Drains, then signs a c2sp.org/tlog-checkpoint of every leaf with the Ed25519 log\n"
     "key on the device and appends it to DIR/checkpoints (with a record pairing the\n"
     "signature with its device log entry).  Refuses when the trail no longer matches\n"
     "the previous checkpoint.\n",
     CHECKPOINT_OPTS, sizeof(A), 0, run_do_checkpoint},
    {"verify", "check everything; exit 1 with a list of findings",
     "Checks the whole trail.  --device uses the global credentials (get-log-entries\n"
     "suffices).  Exit 0 when everything verifies, 1 with a list of findings otherwise.\n",
     VERIFY_OPTS, sizeof(A), 0, run_do_verify},
    {"prove", "write a c2sp.org/tlog-proof receipt for the record of ARTIFACT",
     "Writes a c2sp.org/tlog-proof receipt (default: ARTIFACT.tlog-proof) proving\n"
     "that the record of ARTIFACT's SHA-256 is in a signed checkpoint.\n",
     PROVE_OPTS, sizeof(A), 0, run_do_prove},
    {"verify-receipt", "check a receipt offline (and that it names ARTIFACT)",
     "Checks offline that RECEIPT's checkpoint is signed by the key in F and that its\n"
     "record is in the tree; with ARTIFACT, that the record names its SHA-256.\n",
     RECEIPT_OPTS, sizeof(A), 0, run_do_verify_receipt},
    {"verify-git", "check that every commit of the trail repository only appended",
     "Walks the history of the trail repository with git: every commit may only append\n"
     "to the trail files, never change log.vkey or anchors/, and its checkpoints must\n"
     "verify.\n",
     GIT_OPTS, sizeof(A), 0, run_do_verify_git},
    {"acknowledge", "close one incident with a record signed by your record key",
     "Closes one incident that `signet audit verify` lists (by the hash in its [ ]) with an\n"
     "acknowledgement record signed by your Ed25519 record key (PEM; - reads standard\n"
     "input, e.g. from `age -d`), which anchors/record-keys must name.  Tampering\n"
     "(altered, forked or forged trails) cannot be acknowledged.\n",
     ACK_OPTS, sizeof(A), 0, run_do_acknowledge},
    {"bind", "bind a signed OUTPUT to the signatures of its INPUT",
     "Run it after a tool that signed through the PKCS#11 module or a helper with\n"
     "SIGNET_ARTIFACT=INPUT has written OUTPUT, e.g.\n"
     "  SIGNET_ARTIFACT=app.apk apksigner sign ... --out app-signed.apk app.apk\n"
     "  signet audit bind app.apk app-signed.apk\n"
     "Appends one bind record to the trail (audit in signet.conf): OUTPUT's SHA-256 and\n"
     "every sign or reuse record naming INPUT's SHA-256 that no earlier binding of\n"
     "INPUT covers.  Exit 6 when no signature of INPUT waits for a binding.\n",
     BIND_OPTS, sizeof(A), 0, run_do_bind},
    {0}};

const struct cli_table cli_table_audit = {
    "audit", "the audit trail: drain, checkpoint, verify, prove",
    "The audit trail: an append-only, signed record of everything signed, tied to the\n"
    "HSM's own hash-chained log.  DIR defaults to `audit` in signet.conf.  Manual:\n"
    "docs/audit.md\n",
    CMDS};

/* `signet audit`: the audit trail (docs/audit.md): init, anchor, drain, checkpoint,
 * verify, prove, verify-receipt, verify-git. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli.h"
#include "file_io.h"
#include "keys_cmds.h"
#include "signet/audit.h"
#include "signet/sign.h"

static const char USAGE[] =
    "usage: signet [global options] audit <command> [options]\n"
    "\n"
    "The audit trail: an append-only, signed record of everything signed, tied to the\n"
    "HSM's own hash-chained log.  DIR defaults to `audit` in signet.conf.\n"
    "\n"
    "commands:\n"
    "  init [DIR] [--log-key-id ID] [--origin NAME] [--domains D]\n"
    "        create DIR, the Ed25519 log key in the HSM if missing (writes DIR/log.vkey)\n"
    "        and anchor the connected device\n"
    "  anchor [DIR]          anchor the connected device (its log as it is now)\n"
    "  drain [DIR]           move the device's audit log into the trail, then Set Log Index\n"
    "  checkpoint [DIR] [--log-key-id ID] [--origin NAME]\n"
    "        sign a checkpoint of the whole trail with the log key\n"
    "  verify [DIR] [--vkey F] [--expect F] [--checkpoint F] [--device URL]\n"
    "        check everything; exit 1 with a list of findings when anything is wrong\n"
    "  prove ARTIFACT [--dir DIR] [--out F]\n"
    "        write a c2sp.org/tlog-proof receipt for the record of ARTIFACT\n"
    "  verify-receipt RECEIPT --vkey F [ARTIFACT]\n"
    "        check a receipt offline (and that it names ARTIFACT)\n"
    "  verify-git REPO [--since COMMIT] [--vkey F]\n"
    "        check that every commit of the trail repository only appended\n"
    "  acknowledge FINDING-HASH --reason TEXT --record-key F|- [--dir DIR]\n"
    "        close one incident with a record signed by your record key\n"
    "\n"
    "Each command has --help.  Manual: docs/audit.md\n";

struct sub {
    const char *name;
    const char *usage;
    int (*run)(const struct cli_globals *g, int argc, char **argv);
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

static int do_init(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"log-key-id", required_argument, 0, 'k'},
                                      {"origin", required_argument, 0, 'o'},
                                      {"domains", required_argument, 0, 'd'},
                                      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *kid = NULL, *origin = NULL, *domains = "all";
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'k': kid = optarg; break;
        case 'o': origin = optarg; break;
        case 'd': domains = optarg; break;
        case 'h': printf("%s", USAGE); return 0;
        default: return 2;
        }
    }
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, optind < argc ? argv[optind] : NULL, &cfg, &dir);
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
        hsm_object_attrs a = {.id = key_id, .label = "signet audit log", .domains = dom,
                              .capabilities = YH_CAP(YH_CAP_SIGN_EDDSA), .algorithm = YH_ALGO_EC_ED25519};
        uint16_t got;
        signet_drain_result d;
        rc = hsm_generate_asymmetric(s, &a, &got);
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

static int do_anchor(const struct cli_globals *g, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: signet audit anchor [DIR]\n\nRecords the connected device's audit log, as it "
               "is now, as its trust anchor.\nDo it right after a reset, at the key ceremony.\n");
        return 0;
    }
    signet_config cfg;
    const char *dir;
    if (argc > 2 || (argc > 1 && argv[1][0] == '-'))
        return cli_usage_error("audit", argc > 2 ? "unexpected argument '%s'" : "unknown option '%s'",
                               argv[argc > 2 ? 2 : 1]);
    int ex = resolve_dir(g, argc > 1 ? argv[1] : NULL, &cfg, &dir);
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

static int do_drain(const struct cli_globals *g, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        printf("usage: signet audit drain [DIR]\n\nReads the device's audit log, appends the new "
               "entries to DIR/device-<serial>.log\n(checking that they chain), then tells the device "
               "to forget them (Set Log Index).\nAn auditor credential with get-log-entries is enough.\n");
        return 0;
    }
    signet_config cfg;
    const char *dir;
    if (argc > 2 || (argc > 1 && argv[1][0] == '-'))
        return cli_usage_error("audit", argc > 2 ? "unexpected argument '%s'" : "unknown option '%s'",
                               argv[argc > 2 ? 2 : 1]);
    int ex = resolve_dir(g, argc > 1 ? argv[1] : NULL, &cfg, &dir);
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

static int do_checkpoint(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"log-key-id", required_argument, 0, 'k'},
                                      {"origin", required_argument, 0, 'o'},
                                      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *kid = NULL, *origin = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'k': kid = optarg; break;
        case 'o': origin = optarg; break;
        case 'h':
            printf("usage: signet audit checkpoint [DIR] [--log-key-id ID] [--origin NAME]\n\n"
                   "Drains, then signs a c2sp.org/tlog-checkpoint of every leaf with the Ed25519 log\n"
                   "key on the device and appends it to DIR/checkpoints (with a record pairing the\n"
                   "signature with its device log entry).  Refuses when the trail no longer matches\n"
                   "the previous checkpoint.\n");
            return 0;
        default: return 2;
        }
    }
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, optind < argc ? argv[optind] : NULL, &cfg, &dir);
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

static int do_verify(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"vkey", required_argument, 0, 'v'},
                                      {"expect", required_argument, 0, 'e'},
                                      {"checkpoint", required_argument, 0, 'c'},
                                      {"device", required_argument, 0, 'd'},
                                      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    signet_verify_opts vo = {0};
    const char *device = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'v': vo.vkey_path = optarg; break;
        case 'e': vo.expect_path = optarg; break;
        case 'c': vo.known_checkpoint = optarg; break;
        case 'd': device = optarg; break;
        case 'h':
            printf("usage: signet audit verify [DIR] [--vkey F] [--expect F] [--checkpoint F] "
                   "[--device URL]\n\n"
                   "  --vkey F        the published verifier key (else DIR/log.vkey: self-consistency only)\n"
                   "  --expect F      lines '<key name> <count>' (and 'from <leaf>'): usage a release should show\n"
                   "  --checkpoint F  a signed checkpoint known from elsewhere: detects stale copies\n"
                   "  --device URL    the live device (global credentials; get-log-entries suffices):\n"
                   "                  the trail's tail must match its log\n"
                   "Exit 0 when everything verifies, 1 with a list of findings otherwise.\n");
            return 0;
        default: return 2;
        }
    }
    signet_config cfg;
    const char *dir;
    int ex = resolve_dir(g, optind < argc ? argv[optind] : NULL, &cfg, &dir);
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

static int do_prove(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"dir", required_argument, 0, 'd'}, {"out", required_argument, 0, 'o'},
                                      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dirarg = NULL, *out = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'd': dirarg = optarg; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: signet audit prove ARTIFACT [--dir DIR] [--out F]\n\n"
                   "Writes a c2sp.org/tlog-proof receipt (default: ARTIFACT.tlog-proof) proving\n"
                   "that the record of ARTIFACT's SHA-256 is in a signed checkpoint.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind >= argc)
        return cli_usage_error("audit", "prove needs the ARTIFACT");
    const char *art = argv[optind];
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

static int do_verify_receipt(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"vkey", required_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
                                      {0, 0, 0, 0}};
    const char *vkey = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'v': vkey = optarg; break;
        case 'h':
            printf("usage: signet audit verify-receipt RECEIPT --vkey F [ARTIFACT]\n\n"
                   "Checks offline that RECEIPT's checkpoint is signed by the key in F and that its\n"
                   "record is in the tree; with ARTIFACT, that the record names its SHA-256.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind >= argc || !vkey)
        return cli_usage_error("audit", "verify-receipt needs RECEIPT and --vkey");
    signet_vkey k;
    signet_rc rc = signet_vkey_load(vkey, &k);
    FILE *f = rc ? NULL : fopen(argv[optind], "rb");
    if (!rc && !f)
        rc = signet_fail(SIGNET_E_NOTFOUND, "cannot open %s", argv[optind]);
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
    if (rc == SIGNET_OK && optind + 1 < argc) {
        uint8_t sha[32];
        rc = cli_sha256_file(argv[optind + 1], sha);
        if (rc == SIGNET_OK && !signet_record_names(rec, sha))
            rc = signet_fail(SIGNET_E_VERIFY, "%s is not the artifact this receipt is about",
                             argv[optind + 1]);
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

static int do_verify_git(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"since", required_argument, 0, 's'},
                                      {"vkey", required_argument, 0, 'v'},
                                      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *since = NULL, *vkey = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 's': since = optarg; break;
        case 'v': vkey = optarg; break;
        case 'h':
            printf("usage: signet audit verify-git REPO [--since COMMIT] [--vkey F]\n\n"
                   "Walks the history of the trail repository with git: every commit may only append\n"
                   "to the trail files, never change log.vkey or anchors/, and its checkpoints must\n"
                   "verify.  --since: a commit verified before, which must still be an ancestor of HEAD.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind >= argc)
        return cli_usage_error("audit", "verify-git needs the REPO");
    signet_report *r = NULL;
    signet_rc rc = signet_git_verify(argv[optind], since, vkey, &r);
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
static int do_acknowledge(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"reason", required_argument, 0, 'r'},
                                      {"record-key", required_argument, 0, 'k'},
                                      {"dir", required_argument, 0, 'd'},
                                      {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *reason = NULL, *keyfile = NULL, *dirarg = NULL;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        switch (ch) {
        case 'r': reason = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'd': dirarg = optarg; break;
        case 'h':
            printf("usage: signet audit acknowledge FINDING-HASH --reason TEXT --record-key F|- [--dir DIR]\n\n"
                   "Closes one incident that `signet audit verify` lists (by the hash in its [ ]) with an\n"
                   "acknowledgement record signed by your Ed25519 record key (PEM; - reads standard\n"
                   "input, e.g. from `age -d`), which anchors/record-keys must name.  Tampering\n"
                   "(altered, forked or forged trails) cannot be acknowledged.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind >= argc || !reason || !keyfile)
        return cli_usage_error("audit", "acknowledge needs FINDING-HASH, --reason and --record-key");
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
    signet_rc rc = signet_trail_acknowledge(dir, NULL, argv[optind], reason, k);
    EVP_PKEY_free(k);
    if (rc)
        return cli_report(rc);
    cli_progress(g, "finding %s acknowledged", argv[optind]);
    return 0;
}

static const struct sub SUBS[] = {
    {"init", "init [DIR] [--log-key-id ID] [--origin NAME] [--domains D]", do_init},
    {"anchor", "anchor [DIR]", do_anchor},
    {"drain", "drain [DIR]", do_drain},
    {"checkpoint", "checkpoint [DIR] [--log-key-id ID] [--origin NAME]", do_checkpoint},
    {"verify", "verify [DIR] [--vkey F] [--expect F] [--checkpoint F] [--device URL]", do_verify},
    {"prove", "prove ARTIFACT [--dir DIR] [--out F]", do_prove},
    {"verify-receipt", "verify-receipt RECEIPT --vkey F [ARTIFACT]", do_verify_receipt},
    {"verify-git", "verify-git REPO [--since COMMIT] [--vkey F]", do_verify_git},
    {"acknowledge", "acknowledge FINDING-HASH --reason TEXT --record-key F|- [--dir DIR]", do_acknowledge},
    {"bind", "bind INPUT OUTPUT", cli_audit_bind},
};

static int run(const struct cli_globals *g, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof SUBS / sizeof SUBS[0]; i++)
        if (strcmp(argv[1], SUBS[i].name) == 0) {
            optind = 0;
            return SUBS[i].run(g, argc - 1, argv + 1);
        }
    return cli_usage_error("audit", "unknown command '%s'", argv[1]);
}

const struct cli_group cli_group_audit = {"audit", "the audit trail: drain, checkpoint, verify, prove", run};

/* `signet hsm` commands that inspect the device and its objects: info, list,
 * get-info, get-public-key, delete, storage, random, echo. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "hsm_cmds.h"
#include "signet/proto.h"
#include "signet/secmem.h"

static const struct option HELP_ONLY[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* Parses a command that takes only --help; returns -1 to go on, else an exit code. */
static int only_help(const char *cmd, const char *usage, int argc, char **argv)
{
    int c;
    while ((c = getopt_long_only(argc, argv, "h", HELP_ONLY, NULL)) != -1) {
        if (c == 'h')
            return hsm_help(usage);
        return hsm_usage(cmd, "bad option (see above)");
    }
    return -1;
}

static int finish(hsm_conn *conn, hsm_session *s, signet_rc rc)
{
    int ex = rc ? cli_report(rc) : 0;
    cli_close_session(conn, s);
    return ex;
}

static const char INFO_USAGE[] =
    "usage: signet hsm info\n\n"
    "Shows the connector's status and the device's firmware, serial number, audit log\n"
    "use and algorithms.  Needs no credentials.\n";

int hsm_cmd_info(const struct cli_globals *g, int argc, char **argv)
{
    int ex = only_help("info", INFO_USAGE, argc, argv);
    if (ex >= 0)
        return ex;
    if (optind != argc)
        return hsm_usage("info", "unexpected argument '%s'", argv[optind]);
    hsm_conn *c;
    signet_rc rc = hsm_conn_open(g->connector, &c);
    if (rc)
        return cli_report(rc);
    char serial[64], version[64];
    hsm_devinfo di;
    rc = hsm_conn_status(c, serial, sizeof serial, version, sizeof version);
    if (rc == SIGNET_OK)
        rc = hsm_device_info(c, &di);
    if (rc) {
        ex = cli_report(rc);
        hsm_conn_close(c);
        return ex;
    }
    printf("connector: %s\n", g->connector ? g->connector : SIGNET_DEFAULT_CONNECTOR);
    printf("connector-status: OK\n");
    printf("connector-version: %s\n", version[0] ? version : "unknown");
    printf("firmware: %u.%u.%u\n", di.major, di.minor, di.patch);
    printf("serial: %u\n", di.serial);
    printf("log: %u/%u entries used\n", di.log_used, di.log_total);
    printf("algorithms:");
    for (size_t i = 0; i < di.n_algorithms; i++)
        printf(" %s", yh_algo_name(di.algorithms[i]));
    printf("\n");
    hsm_conn_close(c);
    return 0;
}

static const char LIST_USAGE[] =
    "usage: signet hsm list [--type T] [--id ID] [--domains D] [--label L]\n"
    "                       [--algorithm A] [--capabilities C]\n\n"
    "Lists the objects the authentication key can see, one per line:\n"
    "  id=0x0064 type=asymmetric-key algorithm=rsa2048 sequence=0 domains=1 label=\"...\"\n"
    "Filters narrow the list on the device (capabilities: objects having all of them).\n";

int hsm_cmd_list(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, 0, 't'},       {"id", required_argument, 0, 'i'},
        {"domains", required_argument, 0, 'd'},    {"label", required_argument, 0, 'l'},
        {"algorithm", required_argument, 0, 'a'},  {"capabilities", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    hsm_filter f = {0};
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': if (!hsm_arg_type("list", optarg, &f.type)) return 2; break;
        case 'i': if (!hsm_arg_id("list", "--id", optarg, &f.id)) return 2; break;
        case 'd': if (!hsm_arg_domains("list", optarg, &f.domains)) return 2; break;
        case 'l':
            if (strlen(optarg) > YH_LABEL_LEN)
                return hsm_usage("list", "--label: at most %d bytes", YH_LABEL_LEN);
            f.label = optarg;
            break;
        case 'a': if (!hsm_arg_algo("list", optarg, &f.algorithm)) return 2; break;
        case 'c':
            if (!hsm_arg_caps("list", "--capabilities", optarg, &f.capabilities))
                return 2;
            break;
        case 'h': return hsm_help(LIST_USAGE);
        default: return hsm_usage("list", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("list", "unexpected argument '%s'", argv[optind]);
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    hsm_object_ref refs[YH_MAX_OBJECTS];
    size_t n = 0;
    rc = hsm_list_objects(s, &f, refs, YH_MAX_OBJECTS, &n);
    if (n > YH_MAX_OBJECTS)
        n = YH_MAX_OBJECTS;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        yh_object_info oi;
        rc = hsm_get_object_info(s, refs[i].id, refs[i].type, &oi);
        if (rc)
            break;
        printf("id=0x%04x type=%s algorithm=%s sequence=%u domains=%s label=%s\n", oi.id,
               yh_type_name(oi.type), yh_algo_name(oi.algorithm), oi.sequence,
               hsm_fmt_domains(oi.domains), hsm_fmt_label(oi.label));
    }
    if (rc == SIGNET_OK)
        cli_progress(g, "%zu object%s", n, n == 1 ? "" : "s");
    return finish(conn, s, rc);
}

static const char GET_INFO_USAGE[] =
    "usage: signet hsm get-info ID TYPE\n\n"
    "Shows every attribute of one object.  TYPE is opaque, authentication-key,\n"
    "asymmetric-key, wrap-key, hmac-key, template, otp-aead-key or symmetric-key.\n";

int hsm_cmd_get_info(const struct cli_globals *g, int argc, char **argv)
{
    int ex = only_help("get-info", GET_INFO_USAGE, argc, argv);
    if (ex >= 0)
        return ex;
    if (argc - optind != 2)
        return hsm_usage("get-info", "give an object id and a type");
    uint16_t id;
    uint8_t type;
    if (!hsm_arg_id("get-info", "ID", argv[optind], &id) ||
        !hsm_arg_type("get-info", argv[optind + 1], &type))
        return 2;
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    yh_object_info oi;
    rc = hsm_get_object_info(s, id, type, &oi);
    if (rc == SIGNET_OK) {
        printf("id: 0x%04x\n", oi.id);
        printf("type: %s\n", yh_type_name(oi.type));
        printf("algorithm: %s\n", yh_algo_name(oi.algorithm));
        printf("label: %s\n", hsm_fmt_label(oi.label));
        printf("length: %u\n", oi.len);
        printf("domains: %s\n", hsm_fmt_domains(oi.domains));
        printf("sequence: %u\n", oi.sequence);
        printf("origin: %s\n", hsm_fmt_origin(oi.origin));
        printf("capabilities: %s\n", hsm_fmt_caps(oi.capabilities));
        printf("delegated-capabilities: %s\n", hsm_fmt_caps(oi.delegated_capabilities));
    }
    return finish(conn, s, rc);
}

static const char GET_PUBLIC_KEY_USAGE[] =
    "usage: signet hsm get-public-key ID [-out FILE]\n\n"
    "Writes the public key of asymmetric key ID as PEM (SubjectPublicKeyInfo) to FILE,\n"
    "or to standard output.\n";

int hsm_cmd_get_public_key(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': return hsm_help(GET_PUBLIC_KEY_USAGE);
        default: return hsm_usage("get-public-key", "bad option (see above)");
        }
    }
    if (argc - optind != 1)
        return hsm_usage("get-public-key", "give one key id");
    uint16_t id;
    if (!hsm_arg_id("get-public-key", "ID", argv[optind], &id))
        return 2;
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    EVP_PKEY *pk = NULL;
    rc = hsm_get_public_key(s, id, &pk, NULL);
    if (rc == SIGNET_OK) {
        BIO *b = BIO_new(BIO_s_mem());
        char *pem = NULL;
        long n = 0;
        if (!b || PEM_write_bio_PUBKEY(b, pk) != 1 || (n = BIO_get_mem_data(b, &pem)) <= 0)
            rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the public key as PEM");
        else if (out)
            rc = hsm_write_file(out, pem, (size_t)n, 0644);
        else
            fwrite(pem, 1, (size_t)n, stdout);
        BIO_free(b);
    }
    EVP_PKEY_free(pk);
    return finish(conn, s, rc);
}

static const char DELETE_USAGE[] =
    "usage: signet hsm delete ID TYPE\n\n"
    "Deletes one object.  There is no undo: export it under a wrap key first if it\n"
    "may be needed again.\n";

int hsm_cmd_delete(const struct cli_globals *g, int argc, char **argv)
{
    int ex = only_help("delete", DELETE_USAGE, argc, argv);
    if (ex >= 0)
        return ex;
    if (argc - optind != 2)
        return hsm_usage("delete", "give an object id and a type");
    uint16_t id;
    uint8_t type;
    if (!hsm_arg_id("delete", "ID", argv[optind], &id) ||
        !hsm_arg_type("delete", argv[optind + 1], &type))
        return 2;
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    rc = hsm_delete_object(s, id, type);
    if (rc == SIGNET_OK)
        cli_progress(g, "deleted %s 0x%04x", yh_type_name(type), id);
    return finish(conn, s, rc);
}

static const char STORAGE_USAGE[] =
    "usage: signet hsm storage\n\n"
    "Shows free object slots (records) and free storage pages.\n";

int hsm_cmd_storage(const struct cli_globals *g, int argc, char **argv)
{
    int ex = only_help("storage", STORAGE_USAGE, argc, argv);
    if (ex >= 0)
        return ex;
    if (optind != argc)
        return hsm_usage("storage", "unexpected argument '%s'", argv[optind]);
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    hsm_storage st;
    rc = hsm_storage_info(s, &st);
    if (rc == SIGNET_OK) {
        printf("records: %u free of %u\n", st.free_records, st.total_records);
        printf("pages: %u free of %u (%u bytes each)\n", st.free_pages, st.total_pages,
               st.page_size);
    }
    return finish(conn, s, rc);
}

static const char RANDOM_USAGE[] =
    "usage: signet hsm random N\n\n"
    "Prints N (1..65536) random bytes from the device's generator, in hex.\n";

int hsm_cmd_random(const struct cli_globals *g, int argc, char **argv)
{
    int ex = only_help("random", RANDOM_USAGE, argc, argv);
    if (ex >= 0)
        return ex;
    if (argc - optind != 1)
        return hsm_usage("random", "give a number of bytes");
    char *end;
    unsigned long n = strtoul(argv[optind], &end, 10);
    if (*end || n < 1 || n > 65536)
        return hsm_usage("random", "'%s' is not a number of bytes from 1 to 65536", argv[optind]);
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    uint8_t *buf = malloc(n);
    sb_wr hex;
    sbw_init(&hex, 2 * n + 1);
    rc = buf ? hsm_get_pseudo_random(s, n, buf) : signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK)
        rc = hex_encode(&hex, buf, n);
    if (rc == SIGNET_OK)
        printf("%.*s\n", (int)hex.len, (const char *)hex.p);
    sbw_free(&hex);
    free(buf);
    return finish(conn, s, rc);
}

static const char ECHO_USAGE[] =
    "usage: signet hsm echo [TEXT]\n\n"
    "Sends TEXT (default \"signet\") through the secure channel and checks that the\n"
    "same bytes come back; prints the text.\n";

int hsm_cmd_echo(const struct cli_globals *g, int argc, char **argv)
{
    int ex = only_help("echo", ECHO_USAGE, argc, argv);
    if (ex >= 0)
        return ex;
    if (argc - optind > 1)
        return hsm_usage("echo", "give at most one text");
    const char *text = argc - optind == 1 ? argv[optind] : "signet";
    size_t len = strlen(text);
    if (len > 2048)
        return hsm_usage("echo", "at most 2048 bytes");
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    sb_wr out;
    sbw_init(&out, YH_MAX_FRAME);
    rc = hsm_echo(s, (const uint8_t *)text, len, &out);
    if (rc == SIGNET_OK)
        printf("%.*s\n", (int)out.len, (const char *)out.p);
    sbw_free(&out);
    return finish(conn, s, rc);
}

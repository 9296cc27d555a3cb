/* `signet hsm` commands that create, use and move keys: generate, sign,
 * put-wrap-key, generate-wrap-key, export-wrapped, import-wrapped, put-auth-key,
 * change-password. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "hsm_cmds.h"
#include "signet/proto.h"
#include "signet/secmem.h"

static int finish(hsm_conn *conn, hsm_session *s, signet_rc rc)
{
    int ex = rc ? cli_report(rc) : 0;
    cli_close_session(conn, s);
    return ex;
}

/* Options every object-creating command shares. */
struct attr_opts {
    hsm_object_attrs a;
    bool have_domains, have_caps;
};

enum { O_ID = 1000, O_LABEL, O_DOMAINS, O_CAPS, O_DELEGATED, O_ALGO };

#define ATTR_OPTIONS                                                                               \
    {"id", required_argument, 0, O_ID}, {"label", required_argument, 0, O_LABEL},                  \
        {"domains", required_argument, 0, O_DOMAINS},                                              \
        {"capabilities", required_argument, 0, O_CAPS},                                            \
        {"delegated", required_argument, 0, O_DELEGATED},                                          \
        {"algorithm", required_argument, 0, O_ALGO}, {"help", no_argument, 0, 'h'}

/* Handles one of ATTR_OPTIONS: 1 handled, 0 not an attribute option, -1 usage error. */
static int attr_option(const char *cmd, int c, struct attr_opts *o)
{
    switch (c) {
    case O_ID: return hsm_arg_id(cmd, "--id", optarg, &o->a.id) ? 1 : -1;
    case O_LABEL:
        if (strlen(optarg) > YH_LABEL_LEN) {
            hsm_usage(cmd, "--label: at most %d bytes", YH_LABEL_LEN);
            return -1;
        }
        o->a.label = optarg;
        return 1;
    case O_DOMAINS:
        o->have_domains = true;
        return hsm_arg_domains(cmd, optarg, &o->a.domains) ? 1 : -1;
    case O_CAPS:
        o->have_caps = true;
        return hsm_arg_caps(cmd, "--capabilities", optarg, &o->a.capabilities) ? 1 : -1;
    case O_DELEGATED: return hsm_arg_caps(cmd, "--delegated", optarg, &o->a.delegated) ? 1 : -1;
    case O_ALGO: return hsm_arg_algo(cmd, optarg, &o->a.algorithm) ? 1 : -1;
    default: return 0;
    }
}

static int attr_required(const char *cmd, const struct attr_opts *o)
{
    if (!o->have_domains)
        return hsm_usage(cmd, "--domains is required (e.g. --domains 1)");
    if (!o->have_caps)
        return hsm_usage(cmd, "--capabilities is required (e.g. --capabilities sign-pkcs)");
    return 0;
}

static const char GENERATE_USAGE[] =
    "usage: signet hsm generate --algorithm A --domains D --capabilities C\n"
    "                           [--id ID] [--label L] [--public-out FILE]\n\n"
    "Generates an asymmetric key on the device and prints its id (0x....).\n"
    "  --algorithm      rsa2048, rsa3072, rsa4096, ecp224, ecp256, ecp384, ecp521,\n"
    "                   eck256, ecbp256, ecbp384, ecbp512, ed25519\n"
    "  --domains        e.g. 1,2 or all\n"
    "  --capabilities   e.g. sign-pkcs,sign-pss,exportable-under-wrap\n"
    "  --id             0 (default) lets the device choose\n"
    "  --public-out     also write the public key there (PEM)\n";

int hsm_cmd_generate(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {ATTR_OPTIONS, {"public-out", required_argument, 0, 'p'},
                                         {0, 0, 0, 0}};
    struct attr_opts o = {0};
    const char *pub_out = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        int r = attr_option("generate", c, &o);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case 'p': pub_out = optarg; break;
        case 'h': return hsm_help(GENERATE_USAGE);
        default: return hsm_usage("generate", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("generate", "unexpected argument '%s'", argv[optind]);
    if (!o.a.algorithm)
        return hsm_usage("generate", "--algorithm is required (e.g. --algorithm rsa4096)");
    int ex = attr_required("generate", &o);
    if (ex)
        return ex;
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    uint16_t id = 0;
    rc = hsm_generate_asymmetric(s, &o.a, &id);
    if (rc == SIGNET_OK) {
        printf("0x%04x\n", id);
        fflush(stdout);
    }
    if (rc == SIGNET_OK && pub_out) {
        EVP_PKEY *pk = NULL;
        rc = hsm_get_public_key(s, id, &pk, NULL);
        BIO *b = rc == SIGNET_OK ? BIO_new(BIO_s_mem()) : NULL;
        char *pem = NULL;
        long n = 0;
        if (rc == SIGNET_OK &&
            (!b || PEM_write_bio_PUBKEY(b, pk) != 1 || (n = BIO_get_mem_data(b, &pem)) <= 0))
            rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the public key as PEM");
        if (rc == SIGNET_OK)
            rc = hsm_write_file(pub_out, pem, (size_t)n, 0644);
        BIO_free(b);
        EVP_PKEY_free(pk);
    }
    return finish(conn, s, rc);
}

/* Hashes a whole file with md, streaming. */
static signet_rc digest_file(const char *path, const EVP_MD *md, uint8_t *out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return signet_fail(SIGNET_E_IO, "cannot open %s", path);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1;
    uint8_t buf[65536];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n) == 1;
    bool rerr = ferror(f);
    fclose(f);
    unsigned int dl = 0;
    ok = ok && !rerr && EVP_DigestFinal_ex(ctx, out, &dl) == 1;
    EVP_MD_CTX_free(ctx);
    if (rerr)
        return signet_fail(SIGNET_E_IO, "cannot read %s", path);
    if (!ok)
        return signet_fail(SIGNET_E_CRYPTO, "hashing %s failed", path);
    *out_len = dl;
    return SIGNET_OK;
}

/* The hashes `hsm sign` takes, each with the MGF1 the device pairs with it for
 * PSS: an unknown name is refused, never mapped to a default. */
static const struct sign_hash {
    const char *name;
    const EVP_MD *(*md)(void);
    uint8_t mgf1;
} SIGN_HASHES[] = {
    {"sha1", EVP_sha1, YH_ALGO_MGF1_SHA1},
    {"sha256", EVP_sha256, YH_ALGO_MGF1_SHA256},
    {"sha384", EVP_sha384, YH_ALGO_MGF1_SHA384},
    {"sha512", EVP_sha512, YH_ALGO_MGF1_SHA512},
};

static const struct sign_hash *sign_hash_named(const char *name)
{
    for (size_t i = 0; i < sizeof SIGN_HASHES / sizeof SIGN_HASHES[0]; i++)
        if (strcmp(SIGN_HASHES[i].name, name) == 0)
            return &SIGN_HASHES[i];
    return NULL;
}

static const char SIGN_USAGE[] =
    "usage: signet hsm sign --id ID --mech pkcs1|pss|ecdsa|eddsa [--hash H] -in FILE -out SIG\n\n"
    "Signs FILE with device key ID and writes the raw signature to SIG.  pkcs1, pss\n"
    "and ecdsa sign the FILE's digest (--hash sha1, sha256 (default), sha384, sha512;\n"
    "PSS uses MGF1 with the same hash and a salt as long as the digest); eddsa signs\n"
    "the file itself (at most 3000 bytes).  ECDSA signatures are DER.\n"
    "This is the low-level device command; release signing goes through the signing\n"
    "path, which keeps the audit trail.\n";

int hsm_cmd_sign(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"id", required_argument, 0, 'i'},  {"mech", required_argument, 0, 'm'},
        {"hash", required_argument, 0, 'H'}, {"in", required_argument, 0, 'I'},
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    uint16_t id = 0;
    bool have_id = false;
    const char *mech = NULL, *hash = "sha256", *in = NULL, *out = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (!hsm_arg_id("sign", "--id", optarg, &id))
                return 2;
            have_id = true;
            break;
        case 'm': mech = optarg; break;
        case 'H': hash = optarg; break;
        case 'I': in = optarg; break;
        case 'o': out = optarg; break;
        case 'h': return hsm_help(SIGN_USAGE);
        default: return hsm_usage("sign", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("sign", "unexpected argument '%s'", argv[optind]);
    if (!have_id || !mech || !in || !out)
        return hsm_usage("sign", "--id, --mech, -in and -out are required");
    bool eddsa = strcmp(mech, "eddsa") == 0;
    if (!eddsa && strcmp(mech, "pkcs1") != 0 && strcmp(mech, "pss") != 0 &&
        strcmp(mech, "ecdsa") != 0)
        return hsm_usage("sign", "--mech is pkcs1, pss, ecdsa or eddsa, not '%s'", mech);
    const struct sign_hash *sh = sign_hash_named(hash);
    if (!sh)
        return hsm_usage("sign", "--hash is sha1, sha256, sha384 or sha512, not '%s'", hash);
    const EVP_MD *md = sh->md();

    /* Read or hash the input before logging in: a bad path costs no session. */
    uint8_t digest[EVP_MAX_MD_SIZE];
    size_t dlen = 0;
    sb_wr msg;
    sbw_init(&msg, 3000);
    signet_rc rc = eddsa ? hsm_read_file(in, 3000, &msg) : digest_file(in, md, digest, &dlen);
    if (rc) {
        sbw_free(&msg);
        return cli_report(rc);
    }
    hsm_conn *conn;
    hsm_session *s;
    rc = cli_open_session(g, &conn, &s);
    if (rc) {
        sbw_free(&msg);
        return cli_report(rc);
    }
    uint8_t sig[1024];
    size_t slen = sizeof sig;
    if (eddsa)
        rc = hsm_sign_eddsa(s, id, msg.p ? msg.p : (const uint8_t *)"", msg.len, sig, &slen);
    else if (strcmp(mech, "pkcs1") == 0)
        rc = hsm_sign_pkcs1(s, id, digest, dlen, sig, &slen);
    else if (strcmp(mech, "pss") == 0)
        rc = hsm_sign_pss(s, id, sh->mgf1, (uint16_t)dlen, digest, dlen, sig, &slen);
    else
        rc = hsm_sign_ecdsa(s, id, digest, dlen, sig, &slen);
    sbw_free(&msg);
    if (rc == SIGNET_OK)
        rc = hsm_write_file(out, sig, slen, 0644);
    if (rc == SIGNET_OK)
        cli_progress(g, "signed %s with key 0x%04x (%s): %zu-byte signature in %s", in, id, mech,
                     slen, out);
    return finish(conn, s, rc);
}

static const char PUT_WRAP_KEY_USAGE[] =
    "usage: signet hsm put-wrap-key --key-file F --domains D --capabilities C --delegated C\n"
    "                               [--id ID] [--label L] [--algorithm A]\n\n"
    "Imports a wrap key.  F holds a 16, 24 or 32-byte AES key, raw or as hex (keys are\n"
    "never taken from the command line).  The algorithm follows from the key length\n"
    "(aes128-ccm-wrap, aes192-ccm-wrap, aes256-ccm-wrap).  --delegated is the most an\n"
    "object exported or imported under this key may carry.  Prints the key's id.\n";

static const char GENERATE_WRAP_KEY_USAGE[] =
    "usage: signet hsm generate-wrap-key --domains D --capabilities C --delegated C\n"
    "                                    [--id ID] [--label L] [--algorithm A]\n\n"
    "Generates a wrap key on the device (default aes256-ccm-wrap); it can never be\n"
    "backed up, so use put-wrap-key for a key that must survive the device.  Prints\n"
    "the key's id.\n";

static int wrap_key_cmd(const struct cli_globals *g, int argc, char **argv, bool generate)
{
    const char *cmd = generate ? "generate-wrap-key" : "put-wrap-key";
    static const struct option opts[] = {ATTR_OPTIONS, {"key-file", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    struct attr_opts o = {0};
    const char *key_file = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        int r = attr_option(cmd, c, &o);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case 'k':
            if (generate)
                return hsm_usage(cmd, "--key-file is for put-wrap-key");
            key_file = optarg;
            break;
        case 'h': return hsm_help(generate ? GENERATE_WRAP_KEY_USAGE : PUT_WRAP_KEY_USAGE);
        default: return hsm_usage(cmd, "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage(cmd, "unexpected argument '%s'", argv[optind]);
    int ex = attr_required(cmd, &o);
    if (ex)
        return ex;
    if (!generate && !key_file)
        return hsm_usage(cmd, "--key-file is required");
    sb_wr key;
    sbw_init_secure(&key, 64);
    signet_rc rc = SIGNET_OK;
    if (!generate) {
        rc = hsm_read_key_file(key_file, &key);
        if (rc == SIGNET_OK && !o.a.algorithm)
            o.a.algorithm = key.len == 16   ? YH_ALGO_AES128_CCM_WRAP
                            : key.len == 24 ? YH_ALGO_AES192_CCM_WRAP
                                            : YH_ALGO_AES256_CCM_WRAP;
    } else if (!o.a.algorithm) {
        o.a.algorithm = YH_ALGO_AES256_CCM_WRAP;
    }
    if (rc) {
        sbw_free(&key);
        return cli_report(rc);
    }
    hsm_conn *conn;
    hsm_session *s;
    rc = cli_open_session(g, &conn, &s);
    if (rc) {
        sbw_free(&key);
        return cli_report(rc);
    }
    uint16_t id = 0;
    rc = generate ? hsm_generate_wrap_key(s, &o.a, &id)
                  : hsm_put_wrap_key(s, &o.a, key.p, key.len, &id);
    sbw_free(&key);
    if (rc == SIGNET_OK)
        printf("0x%04x\n", id);
    return finish(conn, s, rc);
}

int hsm_cmd_put_wrap_key(const struct cli_globals *g, int argc, char **argv)
{
    return wrap_key_cmd(g, argc, argv, false);
}

int hsm_cmd_generate_wrap_key(const struct cli_globals *g, int argc, char **argv)
{
    return wrap_key_cmd(g, argc, argv, true);
}

static const char EXPORT_WRAPPED_USAGE[] =
    "usage: signet hsm export-wrapped --wrap-id W --type T --id ID -out FILE\n\n"
    "Exports object (T, ID) encrypted under wrap key W, exactly as the device returns\n"
    "it (nonce | AES-CCM ciphertext | tag), to FILE (written durably).\n";

int hsm_cmd_export_wrapped(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"wrap-id", required_argument, 0, 'w'}, {"type", required_argument, 0, 't'},
        {"id", required_argument, 0, 'i'},      {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    uint16_t wrap_id = 0, id = 0;
    uint8_t type = 0;
    bool have_w = false, have_id = false;
    const char *out = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (!hsm_arg_id("export-wrapped", "--wrap-id", optarg, &wrap_id))
                return 2;
            have_w = true;
            break;
        case 't': if (!hsm_arg_type("export-wrapped", optarg, &type)) return 2; break;
        case 'i':
            if (!hsm_arg_id("export-wrapped", "--id", optarg, &id))
                return 2;
            have_id = true;
            break;
        case 'o': out = optarg; break;
        case 'h': return hsm_help(EXPORT_WRAPPED_USAGE);
        default: return hsm_usage("export-wrapped", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("export-wrapped", "unexpected argument '%s'", argv[optind]);
    if (!have_w || !type || !have_id || !out)
        return hsm_usage("export-wrapped", "--wrap-id, --type, --id and -out are required");
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    sb_wr blob;
    sbw_init(&blob, YH_MAX_FRAME);
    rc = hsm_export_wrapped(s, wrap_id, type, id, &blob);
    if (rc == SIGNET_OK)
        rc = hsm_write_file(out, blob.p, blob.len, 0600);
    if (rc == SIGNET_OK)
        cli_progress(g, "exported %s 0x%04x under wrap key 0x%04x: %zu bytes in %s",
                     yh_type_name(type), id, wrap_id, blob.len, out);
    sbw_free(&blob);
    return finish(conn, s, rc);
}

static const char IMPORT_WRAPPED_USAGE[] =
    "usage: signet hsm import-wrapped --wrap-id W -in FILE\n\n"
    "Imports an object exported under wrap key W and prints its type and id\n"
    "(\"asymmetric-key 0x0064\").\n";

int hsm_cmd_import_wrapped(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"wrap-id", required_argument, 0, 'w'},
                                         {"in", required_argument, 0, 'I'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    uint16_t wrap_id = 0;
    bool have_w = false;
    const char *in = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w':
            if (!hsm_arg_id("import-wrapped", "--wrap-id", optarg, &wrap_id))
                return 2;
            have_w = true;
            break;
        case 'I': in = optarg; break;
        case 'h': return hsm_help(IMPORT_WRAPPED_USAGE);
        default: return hsm_usage("import-wrapped", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("import-wrapped", "unexpected argument '%s'", argv[optind]);
    if (!have_w || !in)
        return hsm_usage("import-wrapped", "--wrap-id and -in are required");
    sb_wr blob;
    sbw_init(&blob, YH_MAX_FRAME);
    signet_rc rc = hsm_read_file(in, YH_MAX_DATA, &blob);
    if (rc) {
        sbw_free(&blob);
        return cli_report(rc);
    }
    hsm_conn *conn;
    hsm_session *s;
    rc = cli_open_session(g, &conn, &s);
    if (rc) {
        sbw_free(&blob);
        return cli_report(rc);
    }
    uint8_t type = 0;
    uint16_t id = 0;
    rc = hsm_import_wrapped(s, wrap_id, blob.p, blob.len, &type, &id);
    sbw_free(&blob);
    if (rc == SIGNET_OK)
        printf("%s 0x%04x\n", yh_type_name(type), id);
    return finish(conn, s, rc);
}

/* A new password: --new-password-file, $SIGNET_NEW_PASSWORD, or typed twice. */
static signet_rc read_new_password(const char *file, char **out)
{
    *out = NULL;
    bool prompting = !file && !getenv("SIGNET_NEW_PASSWORD");
    signet_rc rc = signet_read_password(file, "SIGNET_NEW_PASSWORD", "New password: ", out);
    if (rc || !prompting)
        return rc;
    char *again = NULL;
    rc = signet_read_password(NULL, NULL, "New password again: ", &again);
    if (rc == SIGNET_OK && strcmp(*out, again) != 0)
        rc = signet_fail(SIGNET_E_ARG, "the two passwords differ; nothing was changed");
    smem_free(again);
    if (rc) {
        smem_free(*out);
        *out = NULL;
    }
    return rc;
}

/* An EC P-256 public key from a PEM file, as the 65-byte uncompressed point. */
static signet_rc read_p256_public(const char *path, uint8_t pt[YH_EC_P256_PUB_LEN])
{
    FILE *f = fopen(path, "r");
    if (!f)
        return signet_fail(SIGNET_E_IO, "cannot open %s", path);
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (!k)
        return signet_fail(SIGNET_E_PARSE, "%s does not hold a PEM public key", path);
    size_t n = 0;
    int ok = EVP_PKEY_is_a(k, "EC") &&
             EVP_PKEY_get_octet_string_param(k, "pub", pt, YH_EC_P256_PUB_LEN, &n) == 1 &&
             n == YH_EC_P256_PUB_LEN && EVP_PKEY_get_bits(k) == 256;
    EVP_PKEY_free(k);
    if (!ok)
        return signet_fail(SIGNET_E_ARG, "%s is not an EC P-256 public key", path);
    return SIGNET_OK;
}

static const char PUT_AUTH_KEY_USAGE[] =
    "usage: signet hsm put-auth-key --id ID --domains D --capabilities C --delegated C\n"
    "                               [--label L] [--new-password-file F | --public-key P]\n\n"
    "Adds an authentication key.  With a password (from F, $SIGNET_NEW_PASSWORD, or\n"
    "typed twice) it is a symmetric key; with --public-key (PEM, EC P-256) it is an\n"
    "asymmetric one whose holder logs in with --auth-key-file.  Prints its id.\n";

int hsm_cmd_put_auth_key(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {ATTR_OPTIONS,
                                         {"new-password-file", required_argument, 0, 'n'},
                                         {"public-key", required_argument, 0, 'P'},
                                         {0, 0, 0, 0}};
    struct attr_opts o = {0};
    const char *pw_file = NULL, *pub_file = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        int r = attr_option("put-auth-key", c, &o);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        switch (c) {
        case 'n': pw_file = optarg; break;
        case 'P': pub_file = optarg; break;
        case 'h': return hsm_help(PUT_AUTH_KEY_USAGE);
        default: return hsm_usage("put-auth-key", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("put-auth-key", "unexpected argument '%s'", argv[optind]);
    int ex = attr_required("put-auth-key", &o);
    if (ex)
        return ex;
    if (pw_file && pub_file)
        return hsm_usage("put-auth-key", "give a password or a public key, not both");
    /* Log in first: the login password may also come from the environment. */
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    uint16_t id = 0;
    if (pub_file) {
        uint8_t pt[YH_EC_P256_PUB_LEN];
        rc = read_p256_public(pub_file, pt);
        if (rc == SIGNET_OK)
            rc = hsm_put_auth_key_asym(s, &o.a, pt, &id);
    } else {
        char *pw = NULL;
        rc = read_new_password(pw_file, &pw);
        if (rc == SIGNET_OK)
            rc = hsm_put_auth_key(s, &o.a, pw, &id);
        smem_free(pw);
    }
    if (rc == SIGNET_OK)
        printf("0x%04x\n", id);
    return finish(conn, s, rc);
}

static const char CHANGE_PASSWORD_USAGE[] =
    "usage: signet hsm change-password [--new-password-file F | --public-key P]\n\n"
    "Changes the credential of the authentication key you log in with (--auth-key):\n"
    "a new password (from F, $SIGNET_NEW_PASSWORD, or typed twice), or an EC P-256\n"
    "public key (PEM) to make it an asymmetric key.\n";

int hsm_cmd_change_password(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"new-password-file", required_argument, 0, 'n'},
                                         {"public-key", required_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *pw_file = NULL, *pub_file = NULL;
    int c;
    while ((c = getopt_long_only(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': pw_file = optarg; break;
        case 'P': pub_file = optarg; break;
        case 'h': return hsm_help(CHANGE_PASSWORD_USAGE);
        default: return hsm_usage("change-password", "bad option (see above)");
        }
    }
    if (optind != argc)
        return hsm_usage("change-password", "unexpected argument '%s'", argv[optind]);
    if (pw_file && pub_file)
        return hsm_usage("change-password", "give a password or a public key, not both");
    hsm_conn *conn;
    hsm_session *s;
    signet_rc rc = cli_open_session(g, &conn, &s);
    if (rc)
        return cli_report(rc);
    if (pub_file) {
        uint8_t pt[YH_EC_P256_PUB_LEN];
        rc = read_p256_public(pub_file, pt);
        if (rc == SIGNET_OK)
            rc = hsm_change_auth_key_asym(s, pt);
    } else {
        char *pw = NULL;
        rc = read_new_password(pw_file, &pw);
        if (rc == SIGNET_OK)
            rc = hsm_change_auth_key(s, pw);
        smem_free(pw);
    }
    if (rc == SIGNET_OK)
        cli_progress(g, "changed the credential of authentication key %u", g->auth_key);
    return finish(conn, s, rc);
}

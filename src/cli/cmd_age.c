/* signet age: encrypt, decrypt and make keys in the age format, with the flags of
 * the age and age-keygen tools.  Output files are written to a temporary file in
 * the same directory, fsynced and renamed into place only on success, so a failed
 * decryption never leaves partial plaintext under the requested name. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "signet/age.h"
#include "signet/secmem.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: signet age encrypt (-r RECIPIENT | -R FILE)... [-a] [-o OUT] [IN]\n"
            "       signet age encrypt -p [--passphrase-file F] [-a] [-o OUT] [IN]\n"
            "       signet age decrypt (-i IDENTITY_FILE... | -p [--passphrase-file F]) [-o OUT] [IN]\n"
            "       signet age keygen [--pq] [-o OUT]\n"
            "\n"
            "age file encryption (age-encryption.org/v1), interoperable with age(1).\n"
            "IN defaults to standard input, OUT to standard output.\n"
            "\n"
            "  encrypt   encrypt to every recipient: age1... keys or ssh-ed25519 public keys\n"
            "  decrypt   decrypt a binary or armored file with the first identity that fits:\n"
            "            AGE-SECRET-KEY-1... files or unencrypted OpenSSH Ed25519 keys\n"
            "  keygen    make an X25519 identity (--pq, or -pq as age-keygen spells it: a\n"
            "            post-quantum ML-KEM-768 + X25519 one); the file is created with\n"
            "            mode 0600 and never overwritten; its public key is on the\n"
            "            \"# public key:\" line\n"
            "\n"
            "options:\n"
            "  -r, --recipient R        encrypt to R (repeatable)\n"
            "  -R, --recipients-file F  encrypt to every recipient in F, one per line\n"
            "  -a, --armor              write ASCII armor (PEM) instead of binary\n"
            "  -i, --identity F         identity file for decrypt (repeatable)\n"
            "  -p, --passphrase         encrypt to / decrypt with a passphrase (scrypt), read from\n"
            "                           --passphrase-file F, else $SIGNET_AGE_PASSPHRASE, else\n"
            "                           the terminal; never from the command line\n"
            "      --work-factor N      scrypt log2(N) for encrypt -p (default 18, at most 22)\n"
            "  -o, --output OUT         write OUT (atomically) instead of standard output\n"
            "  -h, --help               this help\n"
            "\n"
            "Manual: docs/age.md\n");
}

/* ---------------------------------------------------------------- output files */

struct out_file {
    char path[4096];
    char tmp[4096 + 16];
    int fd;
};

static signet_rc fsync_dir_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open the directory of %s: %s", path,
                           strerror(errno));
    int r = fsync(dfd);
    close(dfd);
    if (r != 0)
        return signet_fail(SIGNET_E_IO, "cannot sync the directory of %s: %s", path,
                           strerror(errno));
    return SIGNET_OK;
}

/* A temporary file next to path with the given mode (less the umask). */
static signet_rc out_open(const char *path, mode_t mode, struct out_file *o)
{
    if (strlen(path) >= sizeof o->path)
        return signet_fail(SIGNET_E_ARG, "output path is too long");
    snprintf(o->path, sizeof o->path, "%s", path);
    snprintf(o->tmp, sizeof o->tmp, "%s.tmpXXXXXX", path);
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    if (o->fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot create a file next to %s: %s", path,
                           strerror(errno));
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(o->fd, mode & ~mask) != 0) {
        signet_rc rc = signet_fail(SIGNET_E_IO, "cannot set the mode of %s: %s", o->tmp,
                                   strerror(errno));
        close(o->fd);
        unlink(o->tmp);
        return rc;
    }
    return SIGNET_OK;
}

static void out_abort(struct out_file *o)
{
    if (o->fd >= 0) {
        close(o->fd);
        unlink(o->tmp);
        o->fd = -1;
    }
}

/* fsync, then rename over path (replace) or link to it (no_replace: fails when
 * path exists), then fsync the directory. */
static signet_rc out_commit(struct out_file *o, bool no_replace)
{
    signet_rc rc = SIGNET_OK;
    if (fsync(o->fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot sync %s: %s", o->tmp, strerror(errno));
    if (close(o->fd) != 0 && !rc)
        rc = signet_fail(SIGNET_E_IO, "cannot close %s: %s", o->tmp, strerror(errno));
    o->fd = -1;
    if (!rc && no_replace) {
        if (link(o->tmp, o->path) != 0)
            rc = signet_fail(errno == EEXIST ? SIGNET_E_ARG : SIGNET_E_IO,
                             "cannot create %s: %s", o->path,
                             errno == EEXIST ? "it already exists (refusing to overwrite)"
                                             : strerror(errno));
        unlink(o->tmp);
    } else if (!rc && rename(o->tmp, o->path) != 0) {
        rc = signet_fail(SIGNET_E_IO, "cannot rename %s to %s: %s", o->tmp, o->path,
                         strerror(errno));
    }
    if (rc)
        unlink(o->tmp);
    return rc ? rc : fsync_dir_of(o->path);
}

static signet_rc open_input(const char *path, int *fd)
{
    if (!path || strcmp(path, "-") == 0) {
        *fd = STDIN_FILENO;
        return SIGNET_OK;
    }
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return signet_fail(errno == ENOENT ? SIGNET_E_NOTFOUND : SIGNET_E_IO,
                           "cannot open %s: %s", path, strerror(errno));
    return SIGNET_OK;
}

/* Runs op from in_path to out_path (or stdout), committing the file on success. */
typedef signet_rc (*age_op)(const void *keys, bool armor, int in, int out);

static signet_rc run_op(age_op op, const void *keys, bool armor, const char *in_path,
                        const char *out_path, mode_t mode)
{
    int in = -1;
    signet_rc rc = open_input(in_path, &in);
    if (rc)
        return rc;
    if (!out_path) {
        rc = op(keys, armor, in, STDOUT_FILENO);
    } else {
        struct out_file o;
        if ((rc = out_open(out_path, mode, &o)) == SIGNET_OK) {
            rc = op(keys, armor, in, o.fd);
            if (rc)
                out_abort(&o);
            else
                rc = out_commit(&o, false);
        }
    }
    if (in != STDIN_FILENO)
        close(in);
    return rc;
}

static signet_rc do_encrypt(const void *keys, bool armor, int in, int out)
{
    return age_encrypt_fd(keys, armor, in, out);
}

static signet_rc do_decrypt(const void *keys, bool armor, int in, int out)
{
    (void)armor;
    return age_decrypt_fd(keys, in, out);
}

/* ---------------------------------------------------------------- passphrases */

#define PASS_ENV "SIGNET_AGE_PASSPHRASE"

/* The passphrase from file, $SIGNET_AGE_PASSPHRASE or the terminal (asked twice
 * when confirm is set and it comes from the terminal). */
static signet_rc read_passphrase(const char *file, bool confirm, char **out)
{
    bool from_tty = !file && !getenv(PASS_ENV);
    signet_rc rc = signet_read_password(file, PASS_ENV, "Enter passphrase: ", out);
    if (rc || !confirm || !from_tty)
        return rc;
    char *again = NULL;
    if ((rc = signet_read_password(NULL, PASS_ENV, "Confirm passphrase: ", &again)))
        return rc;
    if (strcmp(*out, again) != 0)
        rc = signet_fail(SIGNET_E_ARG, "the passphrases do not match: try again");
    smem_free(again);
    return rc;
}

/* ---------------------------------------------------------------- commands */

static int run_encrypt(int argc, char **argv)
{
    static const struct option opts[] = {
        {"recipient", required_argument, 0, 'r'}, {"recipients-file", required_argument, 0, 'R'},
        {"armor", no_argument, 0, 'a'},          {"output", required_argument, 0, 'o'},
        {"passphrase", no_argument, 0, 'p'},     {"passphrase-file", required_argument, 0, 'P'},
        {"work-factor", required_argument, 0, 'W'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    unsigned work_factor = 0;
    age_recipients *r = NULL;
    const char *out = NULL, *pass_file = NULL;
    bool armor = false, pass = false;
    signet_rc rc = age_recipients_new(&r);
    if (rc)
        return cli_report(rc);
    int c, status = 0;
    optind = 0;
    while (!status && (c = getopt_long(argc, argv, "r:R:ao:ph", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if ((rc = age_recipients_add(r, optarg, strlen(optarg))))
                status = cli_report(rc);
            break;
        case 'R':
            if ((rc = age_recipients_add_file(r, optarg)))
                status = cli_report(rc);
            break;
        case 'a': armor = true; break;
        case 'o': out = optarg; break;
        case 'p': pass = true; break;
        case 'P': pass = true; pass_file = optarg; break;
        case 'W': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg < '1' || *optarg > '9' || *end || v > AGE_SCRYPT_MAX_WORK_FACTOR)
                status = cli_usage_error("age", "--work-factor takes a number from 1 to %d",
                                         AGE_SCRYPT_MAX_WORK_FACTOR);
            work_factor = (unsigned)v;
            break;
        }
        case 'h': usage(stdout); age_recipients_free(r); return 0;
        default: status = cli_usage_error("age", "unknown option for encrypt"); break;
        }
    }
    if (!status && argc - optind > 1)
        status = cli_usage_error("age", "encrypt takes one input file at most");
    if (!status && pass && age_recipients_count(r) > 0)
        status = cli_usage_error("age", "-p cannot be combined with -r or -R (an scrypt stanza "
                                        "must be alone in the file)");
    if (!status && pass) {
        char *pw = NULL;
        if ((rc = read_passphrase(pass_file, true, &pw)) ||
            (rc = age_recipients_add_passphrase(r, pw, strlen(pw), work_factor)))
            status = cli_report(rc);
        smem_free(pw);
    }
    if (!status && age_recipients_count(r) == 0)
        status = cli_usage_error("age", "encrypt needs at least one -r RECIPIENT or -R FILE, "
                                        "or -p");
    if (!status && !out && !armor && isatty(STDOUT_FILENO))
        status = cli_usage_error("age", "refusing to write binary to a terminal: use -a or -o");
    if (!status && (rc = run_op(do_encrypt, r, armor, optind < argc ? argv[optind] : NULL, out,
                                0666)))
        status = cli_report(rc);
    age_recipients_free(r);
    return status;
}

/* One exit status per failure class of age's test vectors (docs/age.md). */
static int decrypt_status(signet_rc rc)
{
    int status = cli_report(rc);
    switch (age_decrypt_failure()) {
    case AGE_FAIL_HMAC: return 1;
    case AGE_FAIL_NO_MATCH: return 5;
    case AGE_FAIL_HEADER: return 9;
    case AGE_FAIL_PAYLOAD: return 10;
    case AGE_FAIL_ARMOR: return 11;
    default: return status;
    }
}

static int run_decrypt(int argc, char **argv)
{
    static const struct option opts[] = {{"identity", required_argument, 0, 'i'},
                                         {"output", required_argument, 0, 'o'},
                                         {"decrypt", no_argument, 0, 'd'},
                                         {"passphrase", no_argument, 0, 'p'},
                                         {"passphrase-file", required_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    age_identities *ids = NULL;
    const char *out = NULL, *pass_file = NULL;
    bool pass = false;
    signet_rc rc = age_identities_new(&ids);
    if (rc)
        return cli_report(rc);
    int c, status = 0;
    optind = 0;
    while (!status && (c = getopt_long(argc, argv, "i:o:dph", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if ((rc = age_identities_add_file(ids, optarg)))
                status = cli_report(rc);
            break;
        case 'o': out = optarg; break;
        case 'd': break; /* accepted for age compatibility */
        case 'p': pass = true; break;
        case 'P': pass = true; pass_file = optarg; break;
        case 'h': usage(stdout); age_identities_free(ids); return 0;
        default: status = cli_usage_error("age", "unknown option for decrypt"); break;
        }
    }
    if (!status && argc - optind > 1)
        status = cli_usage_error("age", "decrypt takes one input file at most");
    if (!status && pass) {
        char *pw = NULL;
        if ((rc = read_passphrase(pass_file, false, &pw)) ||
            (rc = age_identities_add_passphrase(ids, pw, strlen(pw))))
            status = cli_report(rc);
        smem_free(pw);
    }
    if (!status && age_identities_count(ids) == 0)
        status = cli_usage_error("age", "decrypt needs at least one -i IDENTITY_FILE, or -p");
    if (!status && (rc = run_op(do_decrypt, ids, false, optind < argc ? argv[optind] : NULL,
                                out, 0600)))
        status = decrypt_status(rc);
    age_identities_free(ids);
    return status;
}

static signet_rc write_fd(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return signet_fail(SIGNET_E_IO, "cannot write the key: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
    return SIGNET_OK;
}

static int run_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"pq", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    bool pq = false;
    int c;
    /* age-keygen's single-dash "-pq". */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-pq") == 0)
            argv[i] = (char *)"--pq";
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'Q': pq = true; break;
        case 'h': usage(stdout); return 0;
        default: return cli_usage_error("age", "unknown option for keygen");
        }
    }
    if (optind != argc)
        return cli_usage_error("age", "keygen takes no arguments");
    if (out && access(out, F_OK) == 0)
        return cli_report(signet_fail(SIGNET_E_ARG, "%s already exists: refusing to overwrite "
                                                    "a key",
                                      out));

    sb_wr id, pub, text;
    sbw_init_secure(&id, 256);
    sbw_init(&pub, 4096);
    sbw_init_secure(&text, 4096);
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    signet_rc rc = pq ? age_keygen_pq(&id, &pub) : age_keygen(&id, &pub);
    if (!rc)
        rc = sbw_printf(&text, "# created: %s\n# public key: %.*s\n", created, (int)pub.len,
                        (const char *)pub.p);
    if (!rc && !(rc = sbw_put(&text, id.p, id.len)))
        rc = sbw_u8(&text, '\n');
    if (!rc && !out) {
        rc = write_fd(STDOUT_FILENO, text.p, text.len);
    } else if (!rc) {
        struct out_file o;
        if ((rc = out_open(out, 0600, &o)) == SIGNET_OK) {
            if ((rc = write_fd(o.fd, text.p, text.len)))
                out_abort(&o);
            else
                rc = out_commit(&o, true);
        }
        if (!rc)
            fprintf(stderr, "Public key: %.*s\n", (int)pub.len, (const char *)pub.p);
    }
    sbw_free(&id);
    sbw_free(&pub);
    sbw_free(&text);
    return rc ? cli_report(rc) : 0;
}

static int run(const struct cli_globals *g, int argc, char **argv)
{
    (void)g;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "encrypt") == 0)
        return run_encrypt(argc - 1, argv + 1);
    if (strcmp(argv[1], "decrypt") == 0)
        return run_decrypt(argc - 1, argv + 1);
    if (strcmp(argv[1], "keygen") == 0)
        return run_keygen(argc - 1, argv + 1);
    return cli_usage_error("age", "unknown command '%s' (encrypt, decrypt or keygen)", argv[1]);
}

const struct cli_group cli_group_age = {"age", "encrypt and decrypt files with age (shares to custodians)",
                                        run};

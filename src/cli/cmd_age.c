/* signet age: encrypt, decrypt and make keys in the age format, with the flags of
 * the age and age-keygen tools.  Output files are written to a temporary file in
 * the same directory, fsynced and renamed into place only on success, so a failed
 * decryption never leaves partial plaintext under the requested name. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_table.h"
#include "signet/age.h"
#include "signet/secmem.h"

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

/* --work-factor: scrypt's log2(N), 1..AGE_SCRYPT_MAX_WORK_FACTOR. */
static signet_rc p_work_factor(const char *s, void *dst)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '1' || *s > '9' || *end || v > AGE_SCRYPT_MAX_WORK_FACTOR)
        return signet_fail(SIGNET_E_ARG, "--work-factor takes a number from 1 to %d",
                           AGE_SCRYPT_MAX_WORK_FACTOR);
    *(unsigned *)dst = (unsigned)v;
    return SIGNET_OK;
}

struct encrypt_args {
    struct cli_list recipients, recipient_files;
    bool armor, pass;
    const char *out, *pass_file, *in;
    unsigned work_factor;
};

static const struct cli_opt ENCRYPT_OPTS[] = {
    CLI_OPT("recipient", 'r', "R", cli_p_str, struct encrypt_args, recipients, CLI_REPEAT,
            "encrypt to R: an age1... key or an ssh-ed25519 public key"),
    CLI_OPT("recipients-file", 'R', "F", cli_p_str, struct encrypt_args, recipient_files,
            CLI_REPEAT, "encrypt to every recipient in F, one per line"),
    CLI_SWITCH("armor", 'a', struct encrypt_args, armor, "write ASCII armor (PEM) instead of binary"),
    CLI_SWITCH("passphrase", 'p', struct encrypt_args, pass,
               "encrypt to a passphrase (scrypt; alone in the file)"),
    CLI_OPT("passphrase-file", 0, "F", cli_p_str, struct encrypt_args, pass_file, 0,
            "read the passphrase from F (implies -p)"),
    CLI_OPT("work-factor", 0, "N", p_work_factor, struct encrypt_args, work_factor, 0,
            "scrypt log2(N) for -p (default 18, at most 22)"),
    CLI_OPT("output", 'o', "OUT", cli_p_str, struct encrypt_args, out, 0,
            "write OUT (atomically) instead of standard output"),
    CLI_POS("IN", cli_p_str, struct encrypt_args, in, 0, "input file (default: standard input)"),
    CLI_END};

static signet_rc run_encrypt(struct cli_ctx *c, void *args)
{
    const struct encrypt_args *a = args;
    bool pass = a->pass || a->pass_file;
    age_recipients *r = NULL;
    signet_rc rc = age_recipients_new(&r);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < a->recipients.n; i++)
        rc = age_recipients_add(r, a->recipients.v[i], strlen(a->recipients.v[i]));
    for (size_t i = 0; !rc && i < a->recipient_files.n; i++)
        rc = age_recipients_add_file(r, a->recipient_files.v[i]);
    int status = rc ? cli_report(rc) : 0;
    if (!status && pass && age_recipients_count(r) > 0)
        status = cli_usage_error("age", "-p cannot be combined with -r or -R (an scrypt stanza "
                                        "must be alone in the file)");
    if (!status && pass) {
        char *pw = NULL;
        if ((rc = read_passphrase(a->pass_file, true, &pw)) ||
            (rc = age_recipients_add_passphrase(r, pw, strlen(pw), a->work_factor)))
            status = cli_report(rc);
        smem_free(pw);
    }
    if (!status && age_recipients_count(r) == 0)
        status = cli_usage_error("age", "encrypt needs at least one -r RECIPIENT or -R FILE, "
                                        "or -p");
    if (!status && !a->out && !a->armor && isatty(STDOUT_FILENO))
        status = cli_usage_error("age", "refusing to write binary to a terminal: use -a or -o");
    if (!status && (rc = run_op(do_encrypt, r, a->armor, a->in, a->out, 0666)))
        status = cli_report(rc);
    age_recipients_free(r);
    c->status = status;
    return SIGNET_OK;
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

struct decrypt_args {
    struct cli_list identities;
    bool decrypt, pass;
    const char *out, *pass_file, *in;
};

static const struct cli_opt DECRYPT_OPTS[] = {
    CLI_OPT("identity", 'i', "F", cli_p_str, struct decrypt_args, identities, CLI_REPEAT,
            "identity file: AGE-SECRET-KEY-1... lines or an unencrypted OpenSSH Ed25519 key"),
    CLI_SWITCH("passphrase", 'p', struct decrypt_args, pass, "decrypt with a passphrase (scrypt)"),
    CLI_OPT("passphrase-file", 0, "F", cli_p_str, struct decrypt_args, pass_file, 0,
            "read the passphrase from F (implies -p)"),
    CLI_OPT("output", 'o', "OUT", cli_p_str, struct decrypt_args, out, 0,
            "write OUT (atomically, mode 0600) instead of standard output"),
    CLI_SWITCH("decrypt", 'd', struct decrypt_args, decrypt, "accepted for age compatibility"),
    CLI_POS("IN", cli_p_str, struct decrypt_args, in, 0, "input file (default: standard input)"),
    CLI_END};

static signet_rc run_decrypt(struct cli_ctx *c, void *args)
{
    const struct decrypt_args *a = args;
    age_identities *ids = NULL;
    signet_rc rc = age_identities_new(&ids);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < a->identities.n; i++)
        rc = age_identities_add_file(ids, a->identities.v[i]);
    int status = rc ? cli_report(rc) : 0;
    if (!status && (a->pass || a->pass_file)) {
        char *pw = NULL;
        if ((rc = read_passphrase(a->pass_file, false, &pw)) ||
            (rc = age_identities_add_passphrase(ids, pw, strlen(pw))))
            status = cli_report(rc);
        smem_free(pw);
    }
    if (!status && age_identities_count(ids) == 0)
        status = cli_usage_error("age", "decrypt needs at least one -i IDENTITY_FILE, or -p");
    if (!status && (rc = run_op(do_decrypt, ids, false, a->in, a->out, 0600)))
        status = decrypt_status(rc);
    age_identities_free(ids);
    c->status = status;
    return SIGNET_OK;
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

struct keygen_args {
    const char *out;
    bool pq;
};

/* "-pq", as age-keygen spells it, is found by its long name. */
static const struct cli_opt KEYGEN_OPTS[] = {
    CLI_SWITCH("pq", 0, struct keygen_args, pq,
               "a post-quantum ML-KEM-768 + X25519 identity (also -pq)"),
    CLI_OPT("output", 'o', "OUT", cli_p_str, struct keygen_args, out, 0,
            "write the identity to OUT (mode 0600, never overwritten)"),
    CLI_END};

static signet_rc run_keygen(struct cli_ctx *c, void *args)
{
    (void)c;
    const struct keygen_args *a = args;
    const char *out = a->out;
    if (out && access(out, F_OK) == 0)
        return signet_fail(SIGNET_E_ARG, "%s already exists: refusing to overwrite a key", out);

    sb_wr id, pub, text;
    sbw_init_secure(&id, 256);
    sbw_init(&pub, 4096);
    sbw_init_secure(&text, 4096);
    char created[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    signet_rc rc = a->pq ? age_keygen_pq(&id, &pub) : age_keygen(&id, &pub);
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
    return rc;
}

static const struct cli_cmd CMDS[] = {
    {"encrypt", "encrypt to recipients (age1..., ssh-ed25519) or a passphrase",
     "Encrypts IN (default: standard input) to every recipient given with -r and -R,\n"
     "or to a passphrase with -p (read from --passphrase-file F, else\n"
     "$SIGNET_AGE_PASSPHRASE, else the terminal; never from the command line).\n"
     "Usage:\n"
     "  signet age encrypt (-r RECIPIENT | -R FILE)... [-a] [-o OUT] [IN]\n"
     "  signet age encrypt -p [--passphrase-file F] [--work-factor N] [-a] [-o OUT] [IN]\n",
     ENCRYPT_OPTS, sizeof(struct encrypt_args), 0, run_encrypt},
    {"decrypt", "decrypt a binary or armored file with the first identity that fits",
     "Decrypts IN (default: standard input) with the first identity that fits:\n"
     "AGE-SECRET-KEY-1... files or unencrypted OpenSSH Ed25519 keys (-i, repeatable),\n"
     "or a passphrase (-p).  Exit status: 1 a header MAC mismatch, 5 no identity\n"
     "matches, 9 a malformed header, 10 a bad payload, 11 malformed armor.\n"
     "Usage:\n"
     "  signet age decrypt (-i IDENTITY_FILE... | -p [--passphrase-file F]) [-o OUT] [IN]\n",
     DECRYPT_OPTS, sizeof(struct decrypt_args), 0, run_decrypt},
    {"keygen", "make an X25519 (or post-quantum) identity",
     "Makes an X25519 identity (--pq, or -pq as age-keygen spells it: a post-quantum\n"
     "ML-KEM-768 + X25519 one).  The file is created with mode 0600 and never\n"
     "overwritten; its public key is on the \"# public key:\" line.\n",
     KEYGEN_OPTS, sizeof(struct keygen_args), 0, run_keygen},
    {0}};

const struct cli_table cli_table_age = {
    "age", "encrypt and decrypt files with age (shares to custodians)",
    "age file encryption (age-encryption.org/v1), interoperable with age(1).\n"
    "  signet age encrypt (-r RECIPIENT | -R FILE)... [-a] [-o OUT] [IN]\n"
    "  signet age decrypt (-i IDENTITY_FILE... | -p) [-o OUT] [IN]\n"
    "  signet age keygen [--pq] [-o OUT]\n"
    "Manual: docs/age.md\n",
    CMDS};

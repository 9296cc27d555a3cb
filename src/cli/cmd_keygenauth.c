/* signet keygen-auth: makes an asymmetric authentication credential, an EC P-256
 * key pair.  The private key goes to --out (PEM, PKCS#8, mode 0600, never
 * overwriting a file); its holder logs in with `signet --auth-key-file KEY.pem`.
 * The public key is printed as the hex of its uncompressed point and, with
 * --pub-out, written as PEM for `signet hsm put-auth-key --public-key PUB`.
 * The private key is created on this machine: make it on the machine (or token)
 * where it will live, and never copy it around. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cli_table.h"
#include "file_io.h"
#include "signet/secmem.h"

static const char USAGE_TEXT[] =
    "Makes an EC P-256 key pair for asymmetric authentication to a YubiHSM 2\n"
    "(firmware 2.3 or later) or signet-hsm.  KEY.pem gets the private key (mode 0600;\n"
    "an existing file is never overwritten).  The public key is printed as hex\n"
    "(uncompressed point) and, with --pub-out, written as PEM.  Then an administrator\n"
    "runs `signet hsm put-auth-key --public-key PUB.pem ...` and the holder logs in\n"
    "with `signet --auth-key ID --auth-key-file KEY.pem ...`.\n";

static signet_rc fsync_dir_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open the directory of %s: %s", path,
                           strerror(errno));
    int r = fsync(dfd);
    int e = errno;
    close(dfd);
    return r == 0 ? SIGNET_OK
                  : signet_fail(SIGNET_E_IO, "cannot sync the directory of %s: %s", path,
                                strerror(e));
}

/* Writes a new file with mode: a temporary file in the same directory, fsync,
 * then link() to the name (which fails rather than replace an existing file). */
static signet_rc write_new_file(const char *path, const uint8_t *p, size_t n, mode_t mode)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= sizeof tmp)
        return signet_fail(SIGNET_E_ARG, "path too long: %s", path);
    int fd = mkostemp(tmp, O_CLOEXEC); /* 0600 */
    if (fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot create a file next to %s: %s", path,
                           strerror(errno));
    signet_rc rc = SIGNET_OK;
    if (fchmod(fd, mode) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot set the mode of %s: %s", tmp, strerror(errno));
    if (rc == SIGNET_OK)
        rc = cli_write_all(fd, path, p, n);
    if (rc == SIGNET_OK && fsync(fd) != 0)
        rc = signet_fail(SIGNET_E_IO, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == SIGNET_OK)
        rc = signet_fail(SIGNET_E_IO, "cannot close %s: %s", tmp, strerror(errno));
    if (rc == SIGNET_OK && link(tmp, path) != 0)
        rc = errno == EEXIST
                 ? signet_fail(SIGNET_E_IO, "%s exists; it was not overwritten (choose another "
                                            "name or move it away)",
                               path)
                 : signet_fail(SIGNET_E_IO, "cannot create %s: %s", path, strerror(errno));
    unlink(tmp);
    return rc == SIGNET_OK ? fsync_dir_of(path) : rc;
}

/* PEM of the private key (in secure memory) or of the public key. */
static signet_rc key_pem(EVP_PKEY *k, bool private, sb_wr *out)
{
    BIO *bio = BIO_new(private ? BIO_s_secmem() : BIO_s_mem());
    int ok = bio && (private ? PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL)
                             : PEM_write_bio_PUBKEY(bio, k));
    signet_rc rc = SIGNET_OK;
    char *data = NULL;
    long n = ok ? BIO_get_mem_data(bio, &data) : 0;
    if (!ok || n <= 0)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the %s key as PEM",
                         private ? "private" : "public");
    else
        rc = sbw_put(out, data, (size_t)n);
    BIO_free(bio);
    return rc;
}

struct keygen_args {
    const char *out, *pub_out;
};

static signet_rc run(struct cli_ctx *c, void *args)
{
    (void)c;
    const struct keygen_args *a = args;
    const char *out = a->out, *pub_out = a->pub_out;
    if (pub_out && strcmp(pub_out, out) == 0)
        return signet_fail(SIGNET_E_ARG, "--out and --pub-out must be different files");

    signet_rc rc = SIGNET_OK;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!k)
        return signet_fail(SIGNET_E_CRYPTO, "cannot generate an EC P-256 key");
    uint8_t pt[YH_EC_P256_PUB_LEN];
    size_t n = 0;
    sb_wr priv, pub, hex;
    sbw_init_secure(&priv, 8192);
    sbw_init(&pub, 8192);
    sbw_init(&hex, 256);
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) != 1 ||
        n != sizeof pt)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot read the new public key");
    if (rc == SIGNET_OK)
        rc = key_pem(k, true, &priv);
    if (rc == SIGNET_OK)
        rc = key_pem(k, false, &pub);
    if (rc == SIGNET_OK)
        rc = hex_encode(&hex, pt, sizeof pt);
    if (rc == SIGNET_OK)
        rc = write_new_file(out, priv.p, priv.len, 0600);
    if (rc == SIGNET_OK && pub_out) {
        rc = write_new_file(pub_out, pub.p, pub.len, 0644);
        if (rc)
            rc = signet_wrap(rc, "the private key is in %s, but the public key file failed", out);
    }
    if (rc == SIGNET_OK)
        printf("%.*s\n", (int)hex.len, (const char *)hex.p);
    sbw_free(&priv);
    sbw_free(&pub);
    sbw_free(&hex);
    EVP_PKEY_free(k);
    return rc;
}

static const struct cli_opt OPTS[] = {
    CLI_OPT("out", 'o', "KEY.pem", cli_p_str, struct keygen_args, out, CLI_REQUIRED,
            "the private key (PEM, mode 0600; never overwritten)"),
    CLI_OPT("pub-out", 0, "PUB.pem", cli_p_str, struct keygen_args, pub_out, 0,
            "also the public key (PEM)"),
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {NULL, "Make an EC P-256 key pair for asymmetric authentication", USAGE_TEXT, OPTS,
     sizeof(struct keygen_args), 0, run},
    {0}};

const struct cli_table cli_table_keygenauth = {
    "keygen-auth", "make an EC P-256 key pair for asymmetric authentication", NULL, CMDS};

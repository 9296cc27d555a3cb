/* Helpers shared by the `signet hsm` commands: argument parsing, formatting,
 * durable file writes and confirmation prompts. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "hsm_cmds.h"
#include "signet/file.h"
#include "signet/proto.h"
#include "signet/secmem.h"

signet_rc hsm_p_type(const char *s, void *dst)
{
    if (yh_type_parse(s, dst) != 0)
        return signet_fail(SIGNET_E_ARG, "'%s' is not an object type (opaque, authentication-key, "
                                         "asymmetric-key, wrap-key, hmac-key, template, "
                                         "otp-aead-key, symmetric-key)", s);
    return SIGNET_OK;
}

signet_rc hsm_p_algo(const char *s, void *dst)
{
    if (yh_algo_parse(s, dst) != 0)
        return signet_fail(SIGNET_E_ARG, "'%s' is not an algorithm name (e.g. rsa2048, rsa4096, "
                                         "ecp256, ed25519, aes256-ccm-wrap)", s);
    return SIGNET_OK;
}

signet_rc hsm_p_caps(const char *s, void *dst)
{
    return yh_caps_parse(s, dst);
}

signet_rc hsm_p_label(const char *s, void *dst)
{
    if (strlen(s) > YH_LABEL_LEN)
        return signet_fail(SIGNET_E_ARG, "a label has at most %d bytes", YH_LABEL_LEN);
    *(const char **)dst = s;
    return SIGNET_OK;
}

signet_rc hsm_write_public_pem(EVP_PKEY *pk, const char *path)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long n = 0;
    signet_rc rc = SIGNET_OK;
    if (!b || PEM_write_bio_PUBKEY(b, pk) != 1 || (n = BIO_get_mem_data(b, &pem)) <= 0)
        rc = signet_fail(SIGNET_E_CRYPTO, "cannot encode the public key as PEM");
    else if (path)
        rc = hsm_write_file(path, pem, (size_t)n, 0644);
    else if (fwrite(pem, 1, (size_t)n, stdout) != (size_t)n)
        rc = signet_fail(SIGNET_E_IO, "cannot write to standard output");
    BIO_free(b);
    return rc;
}

static const char *to_static(char *buf, size_t cap, signet_rc (*fmt)(sb_wr *, const void *),
                             const void *arg)
{
    sb_wr w;
    sbw_init_fixed(&w, buf, cap - 1);
    if (fmt(&w, arg) != SIGNET_OK)
        return "?";
    buf[w.len] = 0;
    return buf;
}

static signet_rc caps_fmt(sb_wr *w, const void *arg)
{
    return yh_caps_format(*(const uint64_t *)arg, w);
}

static signet_rc domains_fmt(sb_wr *w, const void *arg)
{
    return yh_domains_format(*(const uint16_t *)arg, w);
}

const char *hsm_fmt_caps(uint64_t caps)
{
    static char buf[2048];
    return to_static(buf, sizeof buf, caps_fmt, &caps);
}

const char *hsm_fmt_domains(uint16_t domains)
{
    static char buf[64];
    return to_static(buf, sizeof buf, domains_fmt, &domains);
}

const char *hsm_fmt_origin(uint8_t origin)
{
    static char buf[64];
    const char *base = (origin & YH_ORIGIN_GENERATED)  ? "generated"
                       : (origin & YH_ORIGIN_IMPORTED) ? "imported"
                                                       : "unknown";
    snprintf(buf, sizeof buf, "%s%s", base,
             (origin & YH_ORIGIN_IMPORTED_WRAPPED) ? ",imported-wrapped" : "");
    return buf;
}

const char *hsm_fmt_label(const char *label)
{
    static char buf[4 * YH_LABEL_LEN + 3];
    size_t o = 0;
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)label; *p && o < sizeof buf - 6; p++) {
        if (isprint(*p) && *p != '"' && *p != '\\')
            buf[o++] = (char)*p;
        else
            o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", *p);
    }
    buf[o++] = '"';
    buf[o] = 0;
    return buf;
}

signet_rc hsm_read_file(const char *path, size_t max, sb_wr *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_open_error(NULL, path);
    uint8_t buf[4096];
    signet_rc rc = SIGNET_OK;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = signet_fail(SIGNET_E_IO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (out->len + (size_t)n > max) {
            rc = signet_fail(SIGNET_E_ARG, "%s is larger than %zu bytes", path, max);
            break;
        }
        if ((rc = sbw_put(out, buf, (size_t)n)))
            break;
    }
    smem_wipe(buf, sizeof buf);
    close(fd);
    return rc;
}

signet_rc hsm_write_file(const char *path, const void *data, size_t len, int mode)
{
    return signet_file_replace(path, data, len, (mode_t)mode, true);
}

signet_rc hsm_read_key_file(const char *path, sb_wr *out)
{
    sb_wr raw;
    sbw_init_secure(&raw, 4096);
    signet_rc rc = hsm_read_file(path, 4096, &raw);
    if (rc) {
        sbw_free(&raw);
        return rc;
    }
    /* Hex when every byte is a hex digit or white space and there are 32, 48 or 64
     * digits; raw bytes otherwise.  (A random raw key that happens to be all hex
     * digits is vanishingly unlikely.) */
    size_t digits = 0;
    bool hex = raw.len > 0;
    for (size_t i = 0; i < raw.len && hex; i++) {
        if (isxdigit(raw.p[i]))
            digits++;
        else if (!isspace(raw.p[i]))
            hex = false;
    }
    hex = hex && (digits == 32 || digits == 48 || digits == 64);
    if (hex) {
        char *compact = smem_alloc(digits + 1);
        if (!compact) {
            sbw_free(&raw);
            return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
        }
        size_t o = 0;
        for (size_t i = 0; i < raw.len; i++)
            if (isxdigit(raw.p[i]))
                compact[o++] = (char)raw.p[i];
        rc = hex_decode(out, compact, o);
        smem_free(compact);
    } else if (raw.len == 16 || raw.len == 24 || raw.len == 32) {
        rc = sbw_put(out, raw.p, raw.len);
    } else {
        rc = signet_fail(SIGNET_E_ARG,
                         "%s holds %zu bytes: a key file holds a 16, 24 or 32-byte key, raw or "
                         "as hex",
                         path, raw.len);
    }
    sbw_free(&raw);
    return rc;
}

bool hsm_confirm(const char *question, const char *word)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty)
        return false;
    fprintf(tty, "%s\nType %s to continue: ", question, word);
    fflush(tty);
    char line[64] = "";
    bool ok = fgets(line, sizeof line, tty) != NULL;
    fclose(tty);
    line[strcspn(line, "\r\n")] = 0;
    return ok && strcmp(line, word) == 0;
}

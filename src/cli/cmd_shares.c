/* signet shares: split a secret into Shamir shares and combine them again, in
 * yubihsm-setup's share format.  Secrets and shares go through stdin and stdout
 * only (never argv), are held in locked memory and written with write(2), so no
 * stdio buffer keeps a copy. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_table.h"
#include "signet/secmem.h"
#include "signet/sss.h"

#define STDIN_MAX (64 * 1024)

/* All of stdin into locked memory. */
static signet_rc read_stdin(sb_wr *w)
{
    for (;;) {
        uint8_t *dst;
        if (sbw_reserve(w, 4096, &dst) != SIGNET_OK)
            return signet_fail(SIGNET_E_ARG, "standard input is larger than %d bytes",
                               STDIN_MAX - 4096);
        ssize_t n = read(STDIN_FILENO, dst, 4096);
        if (n < 0 && errno == EINTR) {
            w->len -= 4096;
            continue;
        }
        if (n < 0) {
            w->len -= 4096;
            return signet_fail(SIGNET_E_IO, "cannot read standard input: %s", strerror(errno));
        }
        w->len -= 4096 - (size_t)n;
        if (n == 0)
            return SIGNET_OK;
    }
}

static signet_rc write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return signet_fail(SIGNET_E_IO, "cannot write the output: %s", strerror(errno));
        p += k;
        n -= (size_t)k;
    }
    return SIGNET_OK;
}

static bool is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct shares_args {
    unsigned threshold, shares;
    const char *check;
};

static signet_rc run_split(struct cli_ctx *c, void *args)
{
    (void)c;
    const struct shares_args *sa = args;
    unsigned t = sa->threshold, n = sa->shares;
    sb_wr in, secret, out;
    sbw_init_secure(&in, STDIN_MAX);
    sbw_init_secure(&secret, SSS_MAX_SECRET);
    sbw_init_secure(&out, 16 * 1024);
    sss_share *shares = sss_shares_alloc(SSS_MAX_SHARES);
    signet_rc rc = shares ? read_stdin(&in) : signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    if (!rc) {
        size_t a = 0, b = in.len;
        while (a < b && is_space(in.p[a]))
            a++;
        while (b > a && is_space(in.p[b - 1]))
            b--;
        if (a == b)
            rc = signet_fail(SIGNET_E_ARG, "no secret on standard input: give it as hex");
        else if ((rc = hex_decode(&secret, (const char *)in.p + a, b - a)) != SIGNET_OK)
            rc = signet_wrap(SIGNET_E_ARG, "the secret on standard input must be hex (at most "
                                           "%d bytes)",
                             SSS_MAX_SECRET);
    }
    if (!rc)
        rc = sss_split(secret.p, secret.len, t, n, shares);
    for (unsigned i = 0; !rc && i < n; i++)
        if (!(rc = sss_share_format(&shares[i], &out)))
            rc = sbw_u8(&out, '\n');
    if (!rc)
        rc = write_all(STDOUT_FILENO, out.p, out.len);
    sss_shares_free(shares, SSS_MAX_SHARES);
    sbw_free(&in);
    sbw_free(&secret);
    sbw_free(&out);
    return rc;
}

/* Parses the share lines of text into shares; *k gets their number. */
static signet_rc parse_share_lines(const sb_wr *in, sss_share *shares, size_t *k)
{
    size_t lineno = 0;
    *k = 0;
    for (size_t pos = 0; pos < in->len;) {
        const char *line = (const char *)in->p + pos;
        const char *nl = memchr(line, '\n', in->len - pos);
        size_t n = nl ? (size_t)(nl - line) : in->len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        size_t a = 0;
        while (a < n && is_space((uint8_t)line[a]))
            a++;
        while (n > a && is_space((uint8_t)line[n - 1]))
            n--;
        if (a == n || line[a] == '#')
            continue;
        if (*k == SSS_MAX_SHARES)
            return signet_fail(SIGNET_E_ARG, "more than %d shares given: a split has at most %d",
                               SSS_MAX_SHARES, SSS_MAX_SHARES);
        signet_rc rc = sss_share_parse(line + a, n - a, &shares[*k]);
        if (rc)
            return signet_wrap(rc, "line %zu", lineno);
        (*k)++;
    }
    return SIGNET_OK;
}

static signet_rc check_wrapkey(const sb_wr *secret, const char *check_hex)
{
    uint8_t mem[SSS_WRAPKEY_CHECK_LEN];
    sb_wr want;
    sbw_init_fixed(&want, mem, sizeof mem);
    if (hex_decode(&want, check_hex, strlen(check_hex)) || want.len != SSS_WRAPKEY_CHECK_LEN)
        return signet_fail(SIGNET_E_ARG, "--check wants the %d-byte check value as %d hex "
                                         "digits",
                           SSS_WRAPKEY_CHECK_LEN, 2 * SSS_WRAPKEY_CHECK_LEN);
    sss_wrapkey *wk = smem_alloc(sizeof *wk);
    if (!wk)
        return signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    signet_rc rc = sss_wrapkey_decode(secret->p, secret->len, wk);
    if (!rc)
        rc = sss_wrapkey_verify(wk, mem);
    smem_free(wk);
    return rc;
}

static signet_rc run_combine(struct cli_ctx *c, void *args)
{
    (void)c;
    const char *check = ((const struct shares_args *)args)->check;
    sb_wr in, secret, out;
    sbw_init_secure(&in, STDIN_MAX);
    sbw_init_secure(&secret, SSS_MAX_SECRET);
    sbw_init_secure(&out, 2 * SSS_MAX_SECRET + 1);
    size_t k = 0;
    sss_share *shares = sss_shares_alloc(SSS_MAX_SHARES);
    signet_rc rc = shares ? read_stdin(&in) : signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    if (!rc)
        rc = parse_share_lines(&in, shares, &k);
    if (!rc)
        rc = sss_combine(shares, k, &secret);
    if (!rc && check)
        rc = check_wrapkey(&secret, check);
    if (!rc)
        rc = hex_encode(&out, secret.p, secret.len);
    if (!rc)
        rc = sbw_u8(&out, '\n');
    if (!rc)
        rc = write_all(STDOUT_FILENO, out.p, out.len);
    sss_shares_free(shares, SSS_MAX_SHARES);
    sbw_free(&in);
    sbw_free(&secret);
    sbw_free(&out);
    return rc;
}

#define T struct shares_args
static const struct cli_opt SPLIT_OPTS[] = {
    CLI_OPT("threshold", 't', "THRESHOLD", cli_p_uint, T, threshold, CLI_REQUIRED,
            "shares needed to recover the secret (2 <= THRESHOLD <= SHARES)"),
    CLI_OPT("shares", 'n', "SHARES", cli_p_uint, T, shares, CLI_REQUIRED,
            "shares to make (at most 9)"),
    CLI_END};
static const struct cli_opt COMBINE_OPTS[] = {
    CLI_OPT("check", 0, "HEX", cli_p_str, T, check, 0,
            "the secret must be a 52-byte wrap-key blob whose check value (signet's, from the "
            "ceremony manifest) is HEX; otherwise nothing is printed and the exit status is 1"),
    CLI_END};

static const struct cli_cmd CMDS[] = {
    {"split", "read a secret as hex on stdin, print shares, one per line",
     "Reads the secret as hex on standard input and prints SHARES shares (T-X-BASE64),\n"
     "one per line; any THRESHOLD of them recover it (2 <= THRESHOLD <= SHARES <= 9).\n",
     SPLIT_OPTS, sizeof(T), 0, run_split},
    {"combine", "read shares on stdin, print the secret as hex",
     "Reads shares on standard input, one per line (blank lines and # comments are\n"
     "skipped), and prints the secret as hex; shares beyond the threshold are checked\n"
     "against the others.\n",
     COMBINE_OPTS, sizeof(T), 0, run_combine},
    {0}};
#undef T

const struct cli_table cli_table_shares = {
    "shares", "split a secret into Shamir shares, combine them",
    "Shamir secret sharing over GF(2^8), compatible with yubihsm-setup's shares\n"
    "(T-X-BASE64: threshold, index, unpadded base64 of the share).  Secrets and shares\n"
    "pass through stdin and stdout only.  Manual: docs/shares.md\n",
    CMDS};

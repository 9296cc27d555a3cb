/* Redaction of caller command lines before they go into a record: the record says
 * who asked for a signature, never with which password. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signet/audit.h"
#include "signet/secmem.h"

#define REDACTED "<redacted>"

/* Options whose next word (or =value) is a secret, as apksigner, openssl,
 * pkcs11-tool, keytool, signapk and friends spell them. */
static const char *const SECRET_OPTS[] = {
    "--ks-pass", "--key-pass", "-ks-pass", "-key-pass", "--pin", "-pin", "--so-pin", "--puk",
    "--new-pin", "--password", "-password", "--passwd", "--passphrase", "-passphrase", "--pass",
    "-pass", "-passin", "-passout", "--passin", "--passout", "-storepass", "-keypass", "-srcstorepass",
    "-deststorepass", "-srckeypass", "-destkeypass", "--secret", "--token", "-p", "--auth-password",
    NULL,
};

static bool is_secret_opt(const char *w, size_t n)
{
    for (const char *const *o = SECRET_OPTS; *o; o++)
        if (strlen(*o) == n && strncasecmp(w, *o, n) == 0)
            return true;
    return false;
}

/* KEY of KEY=VALUE names a secret: it contains pass, secret or token, or is / ends
 * in pin. */
static bool is_secret_key(const char *k, size_t n)
{
    char low[64];
    if (n == 0 || n >= sizeof low)
        return false;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    low[n] = 0;
    const char *p = low;
    while (*p == '-')
        p++;
    size_t pl = strlen(p);
    return strstr(p, "pass") || strstr(p, "secret") || strstr(p, "token") || strstr(p, "pwd") ||
           (pl >= 3 && strcmp(p + pl - 3, "pin") == 0);
}

/* One word, redacted where needed.  *next_secret: this word is an option whose
 * value is the next word. */
static signet_rc redact_word(const char *w, bool *next_secret, sb_wr *out)
{
    size_t n = strlen(w);
    if (*next_secret) {
        *next_secret = false;
        /* env:NAME and file:PATH name where a secret is, not the secret. */
        if (strncmp(w, "env:", 4) == 0 || strncmp(w, "file:", 5) == 0)
            return sbw_str(out, w);
        return sbw_str(out, strncmp(w, "pass:", 5) == 0 ? "pass:" REDACTED : REDACTED);
    }
    const char *eq = strchr(w, '=');
    if (is_secret_opt(w, eq ? (size_t)(eq - w) : n)) {
        if (!eq) {
            *next_secret = true;
            return sbw_str(out, w);
        }
        signet_rc rc = sbw_put(out, w, (size_t)(eq - w) + 1);
        const char *v = eq + 1;
        if (rc == SIGNET_OK)
            rc = strncmp(v, "env:", 4) == 0 || strncmp(v, "file:", 5) == 0 ? sbw_str(out, v)
                                                                            : sbw_str(out, REDACTED);
        return rc;
    }
    /* pass:SECRET anywhere (apksigner --ks-pass pass:..., openssl -passin pass:...). */
    const char *pp = strstr(w, "pass:");
    if (pp) {
        signet_rc rc = sbw_put(out, w, (size_t)(pp - w) + 5);
        return rc ? rc : sbw_str(out, REDACTED);
    }
    if (eq && is_secret_key(w, (size_t)(eq - w))) {
        signet_rc rc = sbw_put(out, w, (size_t)(eq - w) + 1);
        return rc ? rc : sbw_str(out, REDACTED);
    }
    /* scheme://user:password@host */
    const char *sch = strstr(w, "://");
    if (sch) {
        const char *auth = sch + 3;
        const char *at = strchr(auth, '@');
        const char *slash = strchr(auth, '/');
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (at && colon && (!slash || at < slash)) {
            signet_rc rc = sbw_put(out, w, (size_t)(colon - w) + 1);
            if (rc == SIGNET_OK)
                rc = sbw_str(out, REDACTED);
            return rc ? rc : sbw_str(out, at);
        }
    }
    return sbw_str(out, w);
}

signet_rc signet_redact_argv(int argc, char *const *argv, sb_wr *out)
{
    bool next_secret = false;
    signet_rc rc = SIGNET_OK;
    for (int i = 0; rc == SIGNET_OK && i < argc; i++) {
        if (i > 0)
            rc = sbw_u8(out, ' ');
        if (rc == SIGNET_OK)
            rc = redact_word(argv[i] ? argv[i] : "", &next_secret, out);
    }
    return rc;
}

signet_rc signet_redact_cmdline(const char *cmdline, sb_wr *out)
{
    char *copy = strdup(cmdline);
    if (!copy)
        return signet_fail(SIGNET_E_NOMEM, "out of memory redacting a command line");
    size_t cap = strlen(cmdline) / 2 + 2, n = 0;
    char **words = calloc(cap, sizeof *words);
    if (!words) {
        free(copy);
        return signet_fail(SIGNET_E_NOMEM, "out of memory redacting a command line");
    }
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t\n\r", &save); w && n < cap; w = strtok_r(NULL, " \t\n\r", &save))
        words[n++] = w;
    signet_rc rc = signet_redact_argv((int)n, words, out);
    free(words);
    /* The copy held the secrets too. */
    smem_wipe(copy, strlen(cmdline));
    free(copy);
    return rc;
}

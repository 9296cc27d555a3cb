/* `signet keys migrate`: moves the key store's keys onto the PKCS#11 token that
 * signet.conf names (backend = pkcs11) without re-keying (docs/migration.md). */
#include <string.h>

#include "keys_cmds.h"
#include "signet/backend.h"
#include "signet/secmem.h"
#include "signet/sign.h"
#include "signet/sss.h"

const char keys_migrate_help[] =
    "Moves every key of the key store (or the NAMEs) onto the PKCS#11 token of\n"
    "signet.conf (backend = pkcs11, pkcs11_module, pkcs11_token, pkcs11_pin_file):\n"
    "each NAME.wrapped is opened with the YubiHSM wrap key in locked memory and\n"
    "moved into the token by C_UnwrapKey under a transport key generated on the\n"
    "token; the token's public key is compared with NAME.pub.pem.  The wrap key is\n"
    "read from --wrap-key-file F (first line: hex of the 32-byte AES key, or of the\n"
    "52-byte blob `signet shares combine` prints) or $SIGNET_WRAP_KEY; never from\n"
    "the command line.  Keys the token already holds (same public key) are kept.\n"
    "Each moved key gets a key record (imported) in the trail.  Run it offline, under\n"
    "the conditions of a provisioning ceremony: the plaintext keys exist in this\n"
    "machine's locked memory while it runs.  RSA, EC and Ed25519 keys; an Ed25519\n"
    "key moves only from a wrapped copy that carries its seed (format 1, what `signet\n"
    "keys generate` exports).\n";

const struct cli_opt keys_migrate_opts[] = {
    CLI_OPT("keystore", 0, "DIR", cli_p_str, struct keys_migrate_args, keystore, 0,
            "the key store (default: keystore in signet.conf)"),
    CLI_OPT("wrap-key-file", 0, "F", cli_p_str, struct keys_migrate_args, wrap_key_file, 0,
            "the wrap key (hex); else $SIGNET_WRAP_KEY"),
    CLI_POS("NAME", cli_p_str, struct keys_migrate_args, names, CLI_REST, "keys (default: all)"),
    CLI_END};

/* The AES wrap key from hex: the bare key (16, 24 or 32 bytes) or the share blob. */
static signet_rc read_wrap_key(const char *file, sb_wr *key)
{
    char *hex = NULL;
    signet_rc rc = signet_read_password(file, "SIGNET_WRAP_KEY", "wrap key (hex): ", &hex);
    if (rc)
        return signet_wrap(rc, "the wrap key (--wrap-key-file or $SIGNET_WRAP_KEY)");
    sb_wr raw;
    sbw_init_secure(&raw, 64);
    rc = hex_decode(&raw, hex, strlen(hex));
    smem_free(hex);
    sss_wrapkey *wk = smem_alloc(sizeof *wk);
    if (rc)
        rc = signet_fail(SIGNET_E_PARSE, "the wrap key is not hex");
    else if (!wk)
        rc = signet_fail(SIGNET_E_NOMEM, "out of secret memory");
    else if (raw.len == SSS_WRAPKEY_BLOB_LEN && sss_wrapkey_decode(raw.p, raw.len, wk) == SIGNET_OK)
        rc = sbw_put(key, wk->key, sizeof wk->key);
    else if (raw.len == 16 || raw.len == 24 || raw.len == 32)
        rc = sbw_put(key, raw.p, raw.len);
    else
        rc = signet_fail(SIGNET_E_PARSE, "the wrap key has %zu bytes: expected 16, 24 or 32 "
                                         "(an AES key) or 52 (the blob of `signet shares combine`)",
                         raw.len);
    smem_free(wk);
    sbw_free(&raw);
    return rc;
}

signet_rc keys_migrate(struct cli_ctx *c, void *args)
{
    const struct keys_migrate_args *a = args;
    signet_config cfg;
    const char *dir;
    signet_rc rc = keys_resolve_store(c->g, a->keystore, &cfg, &dir);
    if (rc)
        return rc;
    if (cfg.backend != SIGNET_BACKEND_PKCS11)
        return signet_fail(SIGNET_E_ARG, "signet.conf names no PKCS#11 token: set backend = "
                                         "pkcs11, pkcs11_module and pkcs11_token (the target)");
    sb_wr wk;
    sbw_init_secure(&wk, 64);
    signet_signer *s = NULL;
    rc = read_wrap_key(a->wrap_key_file, &wk);
    if (rc == SIGNET_OK)
        rc = signet_signer_open_config(&cfg, &s);
    signet_keystore *ks = s ? signet_signer_keystore(s) : NULL;
    size_t n = ks ? signet_keystore_count(ks) : 0, moved = 0, kept = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < n; i++) {
        const signet_keymap_entry *e = signet_keystore_entry(ks, i);
        bool want = a->names.n == 0;
        for (size_t k = 0; k < a->names.n; k++)
            want |= strcmp(a->names.v[k], e->name) == 0;
        if (!want || !signet_keystore_has_key(ks, e->name))
            continue;
        if (!signet_keystore_has_file(ks, e->name, ".wrapped")) { /* made on a token */
            cli_progress(c->g, "%s: made on a PKCS#11 token, nothing to move", e->name);
            continue;
        }
        bool existed = false;
        rc = signet_pkcs11_import_wrapped(signet_signer_device(s), ks, e, wk.p, wk.len, &existed);
        if (rc == SIGNET_OK && !existed)
            rc = signet_signer_record_key(s, e, "imported",
                                          "migrated: wrapped copy moved onto a PKCS#11 token");
        if (rc == SIGNET_OK) {
            existed ? kept++ : moved++;
            cli_progress(c->g, "%s: %s", e->name, existed ? "already on the token" : "moved");
        }
    }
    for (size_t k = 0; rc == SIGNET_OK && k < a->names.n; k++)
        if (!signet_keystore_find(ks, a->names.v[k]))
            rc = signet_fail(SIGNET_E_NOTFOUND, "no key named '%s' in the key store %s",
                             a->names.v[k], dir);
    sbw_free(&wk);
    if (rc == SIGNET_OK)
        printf("%zu key%s moved, %zu already on the token\n", moved, moved == 1 ? "" : "s", kept);
    /* Closing writes a checkpoint (best effort) whose failure must not hide why the
     * migration stopped. */
    char msg[2048] = "";
    if (rc)
        snprintf(msg, sizeof msg, "%s", signet_errmsg());
    signet_signer_close(s);
    return rc ? signet_fail(rc, "%s", msg) : SIGNET_OK;
}

/* Records: one line of records.log per signature, checkpoint, service or key event,
 * cache reuse or output binding. */
#include <stdio.h>
#include <string.h>

#include "audit_internal.h"

static const struct {
    uint8_t command;
    const char *name;
} MECHS[] = {
    {YH_CMD_SIGN_PKCS1, "rsa-pkcs1"}, {YH_CMD_SIGN_PSS, "rsa-pss"},
    {YH_CMD_SIGN_ECDSA, "ecdsa"},     {YH_CMD_SIGN_EDDSA, "eddsa"},
    {YH_CMD_SIGN_HMAC, "hmac"},       {YH_CMD_SIGN_SSH_CERTIFICATE, "ssh-cert"},
};

const char *signet_mech_name(uint8_t command)
{
    for (size_t i = 0; i < sizeof MECHS / sizeof MECHS[0]; i++)
        if (MECHS[i].command == command)
            return MECHS[i].name;
    return NULL;
}

/* Commands that sign data a caller chose: each one on the device needs a record. */
bool signet_command_is_signing(uint8_t command) { return signet_mech_name(command) != NULL; }

static int mech_parse(const char *s)
{
    for (size_t i = 0; i < sizeof MECHS / sizeof MECHS[0]; i++)
        if (strcmp(MECHS[i].name, s) == 0)
            return MECHS[i].command;
    return -1;
}

static const char *const TYPES[] = {NULL, "sign", "checkpoint", "service", "key", "intent", "bind",
                                    "reuse", "ack"};
#define N_TYPES ((int)(sizeof TYPES / sizeof TYPES[0]) - 1)
static const char *const SERVICE_EVENTS[] = {"out", "in", "backup", "restore", "reset", "log-key",
                                             NULL};
static const char *const KEY_EVENTS[] = {"generated", "imported", "rotated", "revoked", "deleted", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static signet_rc check_record(const signet_record *r)
{
    switch (r->type) {
    case SIGNET_REC_SIGN:
        if (!signet_command_is_signing(r->command))
            return signet_fail(SIGNET_E_ARG, "sign record: command 0x%02x is not a signing command",
                               r->command);
        if (!r->key_name[0] || r->sig_len == 0 || r->sig_len > SIGNET_SIG_MAX)
            return signet_fail(SIGNET_E_ARG, "sign record needs a key name and the signature");
        if ((r->seq == 0) != r->no_log)
            return signet_fail(SIGNET_E_ARG, r->no_log ? "a sign record of a device without a log "
                                                         "names no device entry"
                                                       : "sign record needs the device entry of "
                                                         "the signature");
        return SIGNET_OK;
    case SIGNET_REC_CHECKPOINT:
        if (r->seq == 0)
            return signet_fail(SIGNET_E_ARG, "checkpoint record needs the device entry of its signature");
        return SIGNET_OK;
    case SIGNET_REC_SERVICE:
        if (!in_list(r->event, SERVICE_EVENTS))
            return signet_fail(SIGNET_E_ARG,
                               "service record event '%s': use out, in, backup, restore, reset "
                               "or log-key", r->event);
        if (strcmp(r->event, "log-key") == 0 && !r->note[0])
            return signet_fail(SIGNET_E_ARG, "a change of log key names the new key (its vkey line) "
                                             "in its note");
        return SIGNET_OK;
    case SIGNET_REC_INTENT:
        if (!signet_command_is_signing(r->command) || !r->key_name[0])
            return signet_fail(SIGNET_E_ARG, "intent record needs a key name and a signing command");
        return SIGNET_OK;
    case SIGNET_REC_KEY:
        if (!in_list(r->event, KEY_EVENTS) || !r->key_name[0])
            return signet_fail(SIGNET_E_ARG, "key record needs a key name and an event: generated, "
                               "imported, rotated, revoked or deleted");
        return SIGNET_OK;
    case SIGNET_REC_REUSE:
        if (!signet_command_is_signing(r->command) || !r->key_name[0] || r->sig_len == 0 ||
            r->sig_len > SIGNET_SIG_MAX)
            return signet_fail(SIGNET_E_ARG, "reuse record needs a key name, a signing command and "
                               "the signature");
        if (r->seq)
            return signet_fail(SIGNET_E_ARG, "a reuse record makes no device entry (seq must be 0)");
        if (r->original >= r->index && r->index)
            return signet_fail(SIGNET_E_ARG, "reuse record: the original (leaf %llu) must come before "
                               "the reuse (leaf %llu)", (unsigned long long)r->original,
                               (unsigned long long)r->index);
        return SIGNET_OK;
    case SIGNET_REC_ACK: {
        size_t n = strlen(r->finding);
        bool hex = n == 16;
        for (size_t i = 0; hex && i < n; i++)
            hex = (r->finding[i] >= '0' && r->finding[i] <= '9') || (r->finding[i] >= 'a' && r->finding[i] <= 'f');
        if (!hex || !r->note[0])
            return signet_fail(SIGNET_E_ARG, "an acknowledgement needs the finding's hash (16 hex digits) "
                               "and a reason");
        return SIGNET_OK;
    }
    case SIGNET_REC_BIND:
        if (!r->artifact[0] || !r->has_artifact_sha256 || !r->output[0])
            return signet_fail(SIGNET_E_ARG, "binding record needs the input artifact (path and SHA-256) "
                               "and the output path");
        if (r->n_covers == 0 || r->n_covers > SIGNET_BIND_MAX)
            return signet_fail(SIGNET_E_ARG, "binding record must cover 1 to %d records, not %zu",
                               SIGNET_BIND_MAX, r->n_covers);
        if (r->seq)
            return signet_fail(SIGNET_E_ARG, "a binding record makes no device entry (seq must be 0)");
        for (size_t i = 0; i < r->n_covers; i++)
            if ((i && r->covers[i] <= r->covers[i - 1]) || (r->index && r->covers[i] >= r->index))
                return signet_fail(SIGNET_E_ARG, "binding record: covered leaves must be earlier "
                                   "records, in increasing order");
        return SIGNET_OK;
    }
    return signet_fail(SIGNET_E_ARG, "unknown record type %d", (int)r->type);
}

signet_rc signet_record_format(const signet_record *r, sb_wr *out)
{
    signet_rc rc = check_record(r);
    char t[32];
    if (rc || (rc = time_format(r->time, t)))
        return rc;
    size_t start = out->len; /* a group of records is formatted into one buffer */
    if ((rc = kv_put_u64(out, "i", r->index)) || (rc = kv_put_str(out, "type", TYPES[r->type])) ||
        (rc = kv_put_str(out, "t", t)) || (rc = kv_put_str(out, "host", r->host[0] ? r->host : "-")) ||
        (rc = kv_put_hex16(out, "auth", r->auth_id)) || (rc = kv_put_u64(out, "dev", r->serial)))
        return rc;
    if (r->seq && (rc = kv_put_u64(out, "seq", r->seq)))
        return rc;
    if (r->type == SIGNET_REC_SIGN && r->no_log && (rc = kv_put_str(out, "log", "none")))
        return rc;
    switch (r->type) {
    case SIGNET_REC_SIGN:
        if ((rc = kv_put_str(out, "key", r->key_name)) || (rc = kv_put_hex16(out, "key_id", r->key_id)) ||
            (rc = kv_put_str(out, "mech", signet_mech_name(r->command))) ||
            (rc = kv_put_hexbytes(out, "data", r->data_sha256, SIGNET_HASH_LEN)) ||
            (rc = kv_put_b64(out, "sig", r->sig, r->sig_len)))
            return rc;
        if (r->artifact[0] && (rc = kv_put_str(out, "artifact", r->artifact)))
            return rc;
        if (r->has_artifact_sha256 &&
            (rc = kv_put_hexbytes(out, "artifact_sha256", r->artifact_sha256, SIGNET_HASH_LEN)))
            return rc;
        if (r->caller[0] && (rc = kv_put_str(out, "caller", r->caller)))
            return rc;
        break;
    case SIGNET_REC_INTENT:
        if ((rc = kv_put_str(out, "key", r->key_name)) || (rc = kv_put_hex16(out, "key_id", r->key_id)) ||
            (rc = kv_put_str(out, "mech", signet_mech_name(r->command))) ||
            (rc = kv_put_hexbytes(out, "data", r->data_sha256, SIGNET_HASH_LEN)))
            return rc;
        break;
    case SIGNET_REC_REUSE:
        if ((rc = kv_put_str(out, "key", r->key_name)) || (rc = kv_put_hex16(out, "key_id", r->key_id)) ||
            (rc = kv_put_str(out, "mech", signet_mech_name(r->command))) ||
            (rc = kv_put_hexbytes(out, "data", r->data_sha256, SIGNET_HASH_LEN)) ||
            (rc = kv_put_b64(out, "sig", r->sig, r->sig_len)) || (rc = kv_put_u64(out, "orig", r->original)))
            return rc;
        if (r->artifact[0] && (rc = kv_put_str(out, "artifact", r->artifact)))
            return rc;
        if (r->has_artifact_sha256 &&
            (rc = kv_put_hexbytes(out, "artifact_sha256", r->artifact_sha256, SIGNET_HASH_LEN)))
            return rc;
        if (r->caller[0] && (rc = kv_put_str(out, "caller", r->caller)))
            return rc;
        break;
    case SIGNET_REC_BIND:
        if ((rc = kv_put_str(out, "artifact", r->artifact)) ||
            (rc = kv_put_hexbytes(out, "artifact_sha256", r->artifact_sha256, SIGNET_HASH_LEN)) ||
            (rc = kv_put_str(out, "output", r->output)) ||
            (rc = kv_put_hexbytes(out, "output_sha256", r->output_sha256, SIGNET_HASH_LEN)) ||
            (rc = kv_put_u64_list(out, "covers", r->covers, r->n_covers)))
            return rc;
        if (r->caller[0] && (rc = kv_put_str(out, "caller", r->caller)))
            return rc;
        break;
    case SIGNET_REC_ACK:
        break;
    case SIGNET_REC_CHECKPOINT:
        if ((rc = kv_put_hex16(out, "key_id", r->key_id)) || (rc = kv_put_u64(out, "size", r->tree_size)) ||
            (rc = kv_put_b64(out, "root", r->root, SIGNET_HASH_LEN)))
            return rc;
        break;
    case SIGNET_REC_SERVICE:
        if ((rc = kv_put_str(out, "event", r->event)))
            return rc;
        break;
    case SIGNET_REC_KEY:
        if ((rc = kv_put_str(out, "event", r->event)) || (rc = kv_put_str(out, "key", r->key_name)) ||
            (rc = kv_put_hex16(out, "key_id", r->key_id)))
            return rc;
        break;
    }
    if (r->type == SIGNET_REC_ACK && (rc = kv_put_str(out, "finding", r->finding)))
        return rc;
    if (r->note[0] && (rc = kv_put_str(out, "note", r->note)))
        return rc;
    /* The signature comes last: it covers every byte before " rsig=". */
    if (r->signer[0] && (rc = kv_put_str(out, "signer", r->signer)))
        return rc;
    if (r->has_rsig && (rc = kv_put_b64(out, "rsig", r->rsig, sizeof r->rsig)))
        return rc;
    if (out->len - start > SIGNET_LINE_MAX)
        return signet_fail(SIGNET_E_ARG, "record of %zu bytes is longer than a trail line may be (%d): "
                           "shorten the caller or note", out->len - start, SIGNET_LINE_MAX);
    return SIGNET_OK;
}

/* An optional field: absent is fine, malformed is not. */
static signet_rc opt(signet_rc rc) { return rc == SIGNET_E_NOTFOUND ? SIGNET_OK : rc; }

signet_rc signet_record_parse(const char *line, size_t len, signet_record *r)
{
    kv_line l;
    char type[16], t[32], mech[16];
    signet_rc rc = kv_parse(line, len, &l);
    if (rc)
        return rc;
    memset(r, 0, sizeof *r);
    if (l.n < 2 || l.f[0].klen != 1 || l.f[0].key[0] != 'i')
        return signet_fail(SIGNET_E_PARSE, "a trail line starts with i=<leaf index>");
    if ((rc = kv_get_u64(&l, "i", true, &r->index)) ||
        (rc = kv_get_str(&l, "type", true, type, sizeof type)) ||
        (rc = kv_get_str(&l, "t", true, t, sizeof t)) || (rc = time_parse(t, &r->time)) ||
        (rc = kv_get_str(&l, "host", true, r->host, sizeof r->host)) ||
        (rc = kv_get_hex16(&l, "auth", true, &r->auth_id)) ||
        (rc = kv_get_u32(&l, "dev", true, &r->serial)) || (rc = opt(kv_get_u64(&l, "seq", false, &r->seq))) ||
        (rc = opt(kv_get_str(&l, "note", false, r->note, sizeof r->note))))
        return rc;
    int ty = 0;
    for (int i = 1; i <= N_TYPES; i++)
        if (strcmp(type, TYPES[i]) == 0)
            ty = i;
    if (!ty)
        return signet_fail(SIGNET_E_PARSE, "unknown record type '%s'", type);
    r->type = (signet_record_type)ty;
    switch (r->type) {
    case SIGNET_REC_SIGN:
    case SIGNET_REC_REUSE:
        if ((rc = kv_get_str(&l, "key", true, r->key_name, sizeof r->key_name)) ||
            (rc = kv_get_hex16(&l, "key_id", true, &r->key_id)) ||
            (rc = kv_get_str(&l, "mech", true, mech, sizeof mech)) ||
            (rc = kv_get_hexbytes(&l, "data", true, r->data_sha256, SIGNET_HASH_LEN)) ||
            (rc = kv_get_b64(&l, "sig", true, r->sig, sizeof r->sig, &r->sig_len)) ||
            (r->type == SIGNET_REC_REUSE && (rc = kv_get_u64(&l, "orig", true, &r->original))) ||
            (rc = opt(kv_get_str(&l, "artifact", false, r->artifact, sizeof r->artifact))) ||
            (rc = opt(kv_get_str(&l, "caller", false, r->caller, sizeof r->caller))))
            return rc;
        rc = kv_get_hexbytes(&l, "artifact_sha256", false, r->artifact_sha256, SIGNET_HASH_LEN);
        if (rc && rc != SIGNET_E_NOTFOUND)
            return rc;
        r->has_artifact_sha256 = rc == SIGNET_OK;
        if (r->type == SIGNET_REC_SIGN) {
            char logv[8];
            rc = kv_get_str(&l, "log", false, logv, sizeof logv);
            if (rc == SIGNET_OK && strcmp(logv, "none") != 0)
                return signet_fail(SIGNET_E_PARSE, "log=%s: the only value is none", logv);
            if (rc && rc != SIGNET_E_NOTFOUND)
                return rc;
            r->no_log = rc == SIGNET_OK;
        }
        int c = mech_parse(mech);
        if (c < 0)
            return signet_fail(SIGNET_E_PARSE, "unknown mechanism '%s'", mech);
        r->command = (uint8_t)c;
        break;
    case SIGNET_REC_INTENT: {
        if ((rc = kv_get_str(&l, "key", true, r->key_name, sizeof r->key_name)) ||
            (rc = kv_get_hex16(&l, "key_id", true, &r->key_id)) ||
            (rc = kv_get_str(&l, "mech", true, mech, sizeof mech)) ||
            (rc = kv_get_hexbytes(&l, "data", true, r->data_sha256, SIGNET_HASH_LEN)))
            return rc;
        int ic = mech_parse(mech);
        if (ic < 0)
            return signet_fail(SIGNET_E_PARSE, "unknown mechanism '%s'", mech);
        r->command = (uint8_t)ic;
        break;
    }
    case SIGNET_REC_CHECKPOINT: {
        size_t n;
        if ((rc = kv_get_hex16(&l, "key_id", true, &r->key_id)) ||
            (rc = kv_get_u64(&l, "size", true, &r->tree_size)) ||
            (rc = kv_get_b64(&l, "root", true, r->root, sizeof r->root, &n)))
            return rc;
        if (n != SIGNET_HASH_LEN)
            return signet_fail(SIGNET_E_PARSE, "'root=' must be 32 bytes");
        break;
    }
    case SIGNET_REC_SERVICE:
        if ((rc = kv_get_str(&l, "event", true, r->event, sizeof r->event)))
            return rc;
        break;
    case SIGNET_REC_KEY:
        if ((rc = kv_get_str(&l, "event", true, r->event, sizeof r->event)) ||
            (rc = kv_get_str(&l, "key", true, r->key_name, sizeof r->key_name)) ||
            (rc = kv_get_hex16(&l, "key_id", true, &r->key_id)))
            return rc;
        break;
    case SIGNET_REC_BIND:
        if ((rc = kv_get_str(&l, "artifact", true, r->artifact, sizeof r->artifact)) ||
            (rc = kv_get_hexbytes(&l, "artifact_sha256", true, r->artifact_sha256, SIGNET_HASH_LEN)) ||
            (rc = kv_get_str(&l, "output", true, r->output, sizeof r->output)) ||
            (rc = kv_get_hexbytes(&l, "output_sha256", true, r->output_sha256, SIGNET_HASH_LEN)) ||
            (rc = kv_get_u64_list(&l, "covers", true, r->covers, SIGNET_BIND_MAX, &r->n_covers)) ||
            (rc = opt(kv_get_str(&l, "caller", false, r->caller, sizeof r->caller))))
            return rc;
        r->has_artifact_sha256 = true;
        break;
    case SIGNET_REC_ACK:
        break;
    }
    if (r->type == SIGNET_REC_ACK &&
        (rc = kv_get_str(&l, "finding", true, r->finding, sizeof r->finding)))
        return rc;
    if (r->type == SIGNET_REC_ACK || r->type == SIGNET_REC_SERVICE) {
        size_t n = 0;
        if ((rc = opt(kv_get_str(&l, "signer", false, r->signer, sizeof r->signer))))
            return rc;
        rc = kv_get_b64(&l, "rsig", false, r->rsig, sizeof r->rsig, &n);
        if (rc && rc != SIGNET_E_NOTFOUND)
            return rc;
        r->has_rsig = rc == SIGNET_OK;
        if (r->has_rsig && (n != sizeof r->rsig || !r->signer[0] ||
                            l.f[l.n - 1].klen != 4 || memcmp(l.f[l.n - 1].key, "rsig", 4) != 0))
            return signet_fail(SIGNET_E_PARSE, "'rsig=' must be a 64-byte signature, last, after 'signer='");
        if (r->has_rsig)
            r->signed_len = (size_t)(l.f[l.n - 1].key - line) - 1;
    }
    if ((rc = kv_check_used(&l)))
        return rc;
    rc = check_record(r);
    if (rc) {
        char m[320];
        snprintf(m, sizeof m, "%s", signet_errmsg());
        return signet_fail(SIGNET_E_PARSE, "%s", m);
    }
    return SIGNET_OK;
}

bool signet_record_names(const signet_record *r, const uint8_t sha256[SIGNET_HASH_LEN])
{
    switch (r->type) {
    case SIGNET_REC_SIGN:
    case SIGNET_REC_REUSE:
        return r->has_artifact_sha256 && memcmp(r->artifact_sha256, sha256, SIGNET_HASH_LEN) == 0;
    case SIGNET_REC_BIND:
        return memcmp(r->output_sha256, sha256, SIGNET_HASH_LEN) == 0;
    default:
        return false;
    }
}

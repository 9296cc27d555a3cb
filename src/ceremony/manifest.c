/* The public manifest of a ceremony: "key value" lines (the plan's tokenizer),
 * written by provision and read back by restore.  Restore trusts nothing in it
 * blindly: the check value only confirms shares, file hashes only confirm files,
 * and paths are confined to the manifest's directory. */
#include <string.h>

#include "ceremony_internal.h"
#include "signet/proto.h"

bool cer_rel_path_valid(const char *s, size_t len)
{
    if (len == 0 || len >= CER_REL_MAX || s[0] == '/')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-' || c == '/'))
            return false;
        /* No "." or ".." component: the path stays below the manifest. */
        bool start = i == 0 || s[i - 1] == '/';
        if (start && c == '.')
            return false;
        if (c == '/' && (i + 1 == len || s[i + 1] == '/'))
            return false;
    }
    return true;
}

enum { M_THRESHOLD, M_SHARES, M_WID, M_WDOM, M_WCAPS, M_WDEL, M_WCHECK, M_LID, M_LVKEY, M_LWRAP,
       M__COUNT };
static const char *const MKEYS[M__COUNT] = {
    "threshold",          "shares",           "wrap-key.id",     "wrap-key.domains",
    "wrap-key.capabilities", "wrap-key.delegated", "wrap-key.check", "log-key.id",
    "log-key.vkey",       "log-key.wrapped"};

static signet_rc bad(const cer_kv *kv, const char *what)
{
    return signet_fail(SIGNET_E_PARSE, "manifest line %u: %s", kv->lineno, what);
}

/* A NUL-terminated copy of the value for the table parsers. */
static signet_rc value_str(const cer_kv *kv, char *buf, size_t cap)
{
    if (kv->val_len == 0 || kv->val_len >= cap)
        return bad(kv, "the value is empty or too long");
    memcpy(buf, kv->val, kv->val_len);
    buf[kv->val_len] = 0;
    return SIGNET_OK;
}

static signet_rc parse_single(cer_manifest *m, int k, const cer_kv *kv)
{
    char buf[2048];
    unsigned long v;
    signet_rc rc = value_str(kv, buf, sizeof buf);
    if (rc)
        return rc;
    switch (k) {
    case M_THRESHOLD:
    case M_SHARES:
        if (cer_parse_uint(kv->val, kv->val_len, SSS_MAX_SHARES, &v) || v < SSS_MIN_THRESHOLD)
            return bad(kv, "threshold and shares are numbers from 2 to 9");
        *(k == M_THRESHOLD ? &m->threshold : &m->n_shares) = (unsigned)v;
        return SIGNET_OK;
    case M_WID:
    case M_LID:
        if (cer_parse_id(kv->val, kv->val_len, k == M_WID ? &m->wrap_id : &m->log_key_id))
            return bad(kv, "not an object id");
        return SIGNET_OK;
    case M_WDOM:
        if (yh_domains_parse(buf, &m->wrap_domains) || m->wrap_domains == 0)
            return bad(kv, "not a domain list");
        return SIGNET_OK;
    case M_WCAPS:
    case M_WDEL:
        if (yh_caps_parse(buf, k == M_WCAPS ? &m->wrap_caps : &m->wrap_delegated))
            return bad(kv, "not a capability list");
        return SIGNET_OK;
    case M_WCHECK: {
        sb_wr w;
        sbw_init_fixed(&w, m->check, sizeof m->check);
        if (hex_decode(&w, kv->val, kv->val_len) || w.len != sizeof m->check)
            return bad(kv, "the check value is 32 hex digits");
        return SIGNET_OK;
    }
    case M_LVKEY:
        if ((rc = signet_vkey_parse(kv->val, kv->val_len, &m->vkey)))
            return signet_wrap(rc, "manifest line %u: log-key.vkey", kv->lineno);
        return SIGNET_OK;
    case M_LWRAP:
        if (!cer_rel_path_valid(kv->val, kv->val_len))
            return bad(kv, "log-key.wrapped must be a relative path inside the ceremony directory");
        memcpy(m->log_wrapped, kv->val, kv->val_len);
        m->log_wrapped[kv->val_len] = 0;
        return SIGNET_OK;
    }
    return SIGNET_OK;
}

/* custodian <index> <name> <file> <recipient...> */
static signet_rc parse_custodian(cer_manifest *m, const cer_kv *kv)
{
    const char *w1, *r1, *w2, *r2, *w3, *r3;
    size_t l1, rl1, l2, rl2, l3, rl3;
    cer_split_word(kv->val, kv->val_len, &w1, &l1, &r1, &rl1);
    cer_split_word(r1, rl1, &w2, &l2, &r2, &rl2);
    cer_split_word(r2, rl2, &w3, &l3, &r3, &rl3);
    unsigned long idx;
    if (cer_parse_uint(w1, l1, SSS_MAX_SHARES, &idx) || idx == 0)
        return bad(kv, "custodian: the share index is 1..9");
    if (!cer_name_valid(w2, l2))
        return bad(kv, "custodian: not a valid name");
    if (!cer_rel_path_valid(w3, l3))
        return bad(kv, "custodian: the share file must be a relative path inside the ceremony "
                       "directory");
    if (m->n_listed_shares == SSS_MAX_SHARES)
        return bad(kv, "more than 9 custodians");
    for (size_t i = 0; i < m->n_listed_shares; i++)
        if (m->shares[i].index == idx)
            return bad(kv, "custodian: this share index was listed already");
    cer_manifest_share *s = &m->shares[m->n_listed_shares++];
    s->index = (unsigned)idx;
    memcpy(s->name, w2, l2);
    s->name[l2] = 0;
    memcpy(s->file, w3, l3);
    s->file[l3] = 0;
    return SIGNET_OK;
}

/* file <sha256 hex> <path> */
static signet_rc parse_file(cer_manifest *m, const cer_kv *kv)
{
    const char *h, *p;
    size_t hl, pl;
    cer_split_word(kv->val, kv->val_len, &h, &hl, &p, &pl);
    if (m->n_files == CER_MANIFEST_MAX_FILES)
        return bad(kv, "more than 128 files");
    cer_manifest_file *f = &m->files[m->n_files];
    sb_wr w;
    sbw_init_fixed(&w, f->sha256, sizeof f->sha256);
    if (hex_decode(&w, h, hl) || w.len != 32)
        return bad(kv, "file: the SHA-256 is 64 hex digits");
    if (!cer_rel_path_valid(p, pl))
        return bad(kv, "file: not a relative path inside the ceremony directory");
    memcpy(f->path, p, pl);
    f->path[pl] = 0;
    if (cer_manifest_find_file(m, f->path))
        return bad(kv, "file: listed twice");
    m->n_files++;
    return SIGNET_OK;
}

signet_rc cer_manifest_parse(const char *text, size_t len, cer_manifest *m)
{
    memset(m, 0, sizeof *m);
    if (len > 1024 * 1024)
        return signet_fail(SIGNET_E_PARSE, "the manifest is larger than 1 MiB: is it the right file?");
    cer_lines l;
    cer_lines_init(&l, "manifest", text, len);
    cer_kv kv;
    bool got, first = true;
    unsigned seen[M__COUNT] = {0};
    signet_rc rc;
    while ((rc = cer_lines_next(&l, &kv, &got)) == SIGNET_OK && got) {
        if (first) {
            if (!cer_kv_is(&kv, "signet-ceremony-manifest") || kv.val_len != 2 ||
                memcmp(kv.val, "v1", 2) != 0)
                return signet_fail(SIGNET_E_PARSE, "this is not a signet ceremony manifest (it "
                                                    "must begin with '%s')",
                                   CER_MANIFEST_MAGIC);
            first = false;
            continue;
        }
        int k = -1;
        for (int i = 0; i < M__COUNT; i++)
            if (cer_kv_is(&kv, MKEYS[i]))
                k = i;
        if (k >= 0) {
            if (seen[k])
                return signet_fail(SIGNET_E_PARSE, "manifest line %u: %s was given already on "
                                                    "line %u",
                                   kv.lineno, MKEYS[k], seen[k]);
            seen[k] = kv.lineno;
            rc = parse_single(m, k, &kv);
        } else if (cer_kv_is(&kv, "custodian")) {
            rc = parse_custodian(m, &kv);
        } else if (cer_kv_is(&kv, "file")) {
            rc = parse_file(m, &kv);
        } else if (cer_kv_is(&kv, "device") && kv.val_len > 8 &&
                   memcmp(kv.val, "primary ", 8) == 0) {
            /* The serial only: a migration retires the primary's log key. */
            const char *w, *rest;
            size_t wl, rl;
            unsigned long serial;
            cer_split_word(kv.val + 8, kv.val_len - 8, &w, &wl, &rest, &rl);
            rc = cer_parse_uint(w, wl, 0xffffffffUL, &serial);
            if (rc)
                rc = signet_wrap(rc, "manifest line %u: the primary device's serial", kv.lineno);
            m->primary_serial = (uint32_t)serial;
        }
        /* Other lines (objects, roles, times, the backup) are for people. */
        if (rc)
            return rc;
    }
    if (rc)
        return rc;
    if (first)
        return signet_fail(SIGNET_E_PARSE, "the manifest is empty");
    for (int i = 0; i < M__COUNT; i++)
        if (!seen[i])
            return signet_fail(SIGNET_E_PARSE, "the manifest has no %s line: it is incomplete "
                                                "(was the ceremony finished?)",
                               MKEYS[i]);
    if (m->threshold > m->n_shares)
        return signet_fail(SIGNET_E_PARSE, "the manifest's threshold %u exceeds its %u shares",
                           m->threshold, m->n_shares);
    if (m->n_listed_shares != m->n_shares)
        return signet_fail(SIGNET_E_PARSE, "the manifest lists %zu custodians for %u shares",
                           m->n_listed_shares, m->n_shares);
    for (size_t i = 0; i < m->n_listed_shares; i++)
        if (m->shares[i].index > m->n_shares)
            return signet_fail(SIGNET_E_PARSE, "the manifest lists share %u of only %u",
                               m->shares[i].index, m->n_shares);
    return SIGNET_OK;
}

const cer_manifest_file *cer_manifest_find_file(const cer_manifest *m, const char *path)
{
    for (size_t i = 0; i < m->n_files; i++)
        if (strcmp(m->files[i].path, path) == 0)
            return &m->files[i];
    return NULL;
}

signet_rc cer_manifest_add_files(sb_wr *w, const char *dir, char (*paths)[CER_REL_MAX], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char full[CER_PATH_MAX];
        uint8_t h[32];
        snprintf(full, sizeof full, "%s/%s", dir, paths[i]);
        signet_rc rc = cer_file_sha256(full, h);
        if (rc == SIGNET_OK)
            rc = sbw_printf(w, "file ");
        if (rc == SIGNET_OK)
            rc = hex_encode(w, h, sizeof h);
        if (rc == SIGNET_OK)
            rc = sbw_printf(w, " %s\n", paths[i]);
        if (rc)
            return rc;
    }
    return SIGNET_OK;
}

/* Restore, step 1: the plan, the ceremony's manifest and the files it lists
 * (each checked against its recorded SHA-256), the key store's recorded public
 * keys; then the output directory. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "restore_internal.h"

/* A file the manifest lists, read and checked against its recorded SHA-256. */
signet_rc rst_read_listed(rest *p, const char *rel, size_t max, sb_wr *out)
{
    const cer_manifest_file *f = cer_manifest_find_file(p->man, rel);
    if (!f)
        return signet_fail(SIGNET_E_VERIFY, "the manifest lists no SHA-256 for %s: it is not a "
                                            "complete ceremony manifest",
                           rel);
    char path[CER_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", p->man_dir, rel);
    signet_rc rc = cer_read_file(path, max, out);
    if (rc)
        return rc;
    uint8_t h[32];
    if (EVP_Digest(out->p, out->len, h, NULL, EVP_sha256(), NULL) != 1)
        return signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed");
    if (CRYPTO_memcmp(h, f->sha256, 32) != 0)
        return signet_fail(SIGNET_E_VERIFY, "%s differs from the file the ceremony recorded (its "
                                            "SHA-256 does not match the manifest): it was altered "
                                            "or replaced; use the ceremony's copy",
                           path);
    return SIGNET_OK;
}

static signet_rc check_plan_matches(rest *p)
{
    const signet_plan *pl = &p->plan;
    const cer_manifest *m = p->man;
    if (pl->threshold != m->threshold || pl->n_custodians != m->n_shares)
        return signet_fail(SIGNET_E_ARG, "the plan splits %u of %zu but the ceremony split %u of "
                                         "%u: use the ceremony's plan (plan.txt next to the "
                                         "manifest); only role holders may change",
                           pl->threshold, pl->n_custodians, m->threshold, m->n_shares);
    for (size_t i = 0; i < m->n_listed_shares; i++) {
        const cer_manifest_share *s = &m->shares[i];
        if (strcmp(pl->custodians[s->index - 1].name, s->name) != 0)
            return signet_fail(SIGNET_E_ARG, "share %u belongs to %s in the manifest but to %s in "
                                             "the plan: use the ceremony's plan",
                               s->index, s->name, pl->custodians[s->index - 1].name);
    }
    if (pl->wrap_key_id != m->wrap_id || pl->log_key_id != m->log_key_id ||
        pl->domains != m->wrap_domains)
        return signet_fail(SIGNET_E_ARG, "the plan's wrap-key-id, log-key-id or domains differ "
                                         "from the ceremony's: use the ceremony's plan");
    if (strcmp(pl->log_name, m->vkey.name) != 0)
        return signet_fail(SIGNET_E_ARG, "the plan's log-name %s differs from the ceremony's %s",
                           pl->log_name, m->vkey.name);
    return SIGNET_OK;
}

static signet_rc check_keystore(rest *p)
{
    signet_rc rc = signet_keystore_open(p->o->keystore_dir, &p->ks);
    if (rc)
        return rc;
    for (size_t i = 0; i < signet_keystore_count(p->ks); i++) {
        const signet_keymap_entry *e = signet_keystore_entry(p->ks, i);
        if (!signet_keystore_has_key(p->ks, e->name))
            continue;
        EVP_PKEY *pub = NULL;
        if ((rc = signet_keystore_public_key(p->ks, e->name, &pub)))
            return signet_wrap(rc, "key store %s, key %s: without its recorded public key the "
                                   "imported key cannot be checked",
                               p->o->keystore_dir, e->name);
        EVP_PKEY_free(pub);
        p->n_keys++;
    }
    return SIGNET_OK;
}

signet_rc rst_load_inputs(rest *p)
{
    const signet_restore_opts *o = p->o;
    signet_rc rc = signet_plan_load(o->plan_path, &p->plan, &p->plan_raw);
    if (rc)
        return rc;
    sb_wr mt;
    sbw_init(&mt, 1024 * 1024);
    rc = cer_read_file(o->manifest_path, 1024 * 1024, &mt);
    if (rc == SIGNET_OK && (rc = cer_manifest_parse((const char *)mt.p, mt.len, p->man)))
        rc = signet_wrap(rc, "%s", o->manifest_path);
    if (rc == SIGNET_OK && EVP_Digest(mt.p, mt.len, p->man_sha, NULL, EVP_sha256(), NULL) != 1)
        rc = signet_fail(SIGNET_E_CRYPTO, "SHA-256 failed");
    sbw_free(&mt);
    if (rc)
        return rc;
    char tmp[CER_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", o->manifest_path);
    snprintf(p->man_dir, sizeof p->man_dir, "%s", dirname(tmp));
    if ((rc = check_plan_matches(p)))
        return rc;
    if ((rc = rst_read_listed(p, p->man->log_wrapped, 64 * 1024, &p->log_blob)))
        return rc;
    if (o->keystore_dir && (rc = check_keystore(p)))
        return rc;
    return SIGNET_OK;
}

signet_rc rst_step_plan(rest *p)
{
    const signet_restore_opts *o = p->o;
    signet_rc rc = rst_load_inputs(p);
    if (rc || (rc = rst_choose_signer(p)))
        return rc;
    cer_say(&p->run, "plan %s, manifest %s: wrap key 0x%04x split %u of %u, log key 0x%04x", o->plan_path,
            o->manifest_path, p->man->wrap_id, p->man->threshold, p->man->n_shares,
            p->man->log_key_id);
    if (o->keystore_dir)
        cer_say(&p->run, "key store %s: %zu wrapped keys to import and check", o->keystore_dir,
                p->n_keys);
    char moved[CER_PATH_MAX];
    if ((rc = cer_prepare_out(o->out_dir, CER_RESTORE_MANIFEST_FILE, moved, sizeof moved)) ||
        (rc = cer_run_open_transcript(&p->run)))
        return rc;
    if (moved[0])
        cer_say(&p->run, "an earlier attempt that did not finish was moved to %s", moved);
    if ((rc = rst_output(p, "plan.txt", p->plan_raw.p, p->plan_raw.len, 0644)) ||
        (rc = cer_mkdir(o->out_dir, "credentials", 0700)))
        return rc;
    return SIGNET_OK;
}

/* Writing checkpoints: the tree of every leaf so far, a refusal to sign anything
 * inconsistent with the previous checkpoint, the signature (through a callback or
 * the log key on the device) and a durable append to DIR/checkpoints. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

/* The newest checkpoint in DIR/checkpoints, signature checked; *have = false when
 * the file is missing or empty. */
static signet_rc last_checkpoint(const char *dir, const trail_logkeys *k, signet_checkpoint *cp, bool *have)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, CHECKPOINTS_FILE);
    char *data;
    size_t len;
    *have = false;
    signet_rc rc = file_read_all(path, &data, &len);
    if (rc == SIGNET_E_NOTFOUND)
        return SIGNET_OK;
    if (rc)
        return rc;
    size_t pos = 0;
    const char *note = NULL, *n;
    size_t nlen = 0, l;
    while (notes_next(data, len, &pos, &n, &l, NULL)) {
        note = n;
        nlen = l;
    }
    if (note) {
        rc = trail_checkpoint_open(k, note, nlen, cp, NULL);
        if (rc)
            rc = signet_wrap(rc, "the last checkpoint in %s", path);
        *have = rc == SIGNET_OK;
    }
    free(data);
    return rc;
}

signet_rc checkpoint_prepare(signet_trail *t, const char *origin, cp_prepared *p)
{
    char path[PATH_MAX];
    memset(p, 0, sizeof *p);
    sbw_init(&p->text, 1024);
    signet_rc rc = trail_require_lock(t);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s/%s", t->dir, VKEY_FILE);
    if ((rc = signet_vkey_load(path, &p->vkey)))
        return rc;
    /* After a change of log key, the newest key signs. */
    trail_logkeys *keys = malloc(sizeof *keys);
    if (!keys)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    if ((rc = trail_logkeys_load(t->dir, &p->vkey, keys))) {
        free(keys);
        return rc;
    }
    p->vkey = keys->k[keys->n - 1];
    if (strcmp(p->vkey.name, origin) != 0) {
        free(keys);
        return signet_fail(SIGNET_E_ARG, "%s names the log '%s' but the checkpoint origin is '%s': "
                           "use the same name (log_name in signet.conf)", path, p->vkey.name, origin);
    }
    merkle_tree *tree = NULL;
    if ((rc = trail_tree(t->dir, &tree))) {
        free(keys);
        return signet_wrap(rc, "refusing to checkpoint a damaged trail");
    }
    if (merkle_tree_size(tree) != t->next_index) {
        merkle_tree_free(tree);
        free(keys);
        return signet_fail(SIGNET_E_VERIFY, "the trail holds %llu leaves but its tails say %llu: "
                           "refusing to checkpoint (run `signet audit verify`)",
                           (unsigned long long)merkle_tree_size(tree), (unsigned long long)t->next_index);
    }
    /* A log must never sign a checkpoint inconsistent with one it signed before. */
    signet_checkpoint prev;
    bool have = false;
    rc = last_checkpoint(t->dir, keys, &prev, &have);
    free(keys);
    if (rc == SIGNET_OK && have) {
        uint8_t root[SIGNET_HASH_LEN];
        if (prev.size > merkle_tree_size(tree) ||
            merkle_tree_root(tree, prev.size, root) != SIGNET_OK ||
            memcmp(root, prev.root, SIGNET_HASH_LEN) != 0)
            rc = signet_fail(SIGNET_E_VERIFY,
                             "refusing to sign: the trail no longer matches the last checkpoint (size "
                             "%llu); lines were altered or removed (run `signet audit verify`)",
                             (unsigned long long)prev.size);
    }
    if (rc == SIGNET_OK) {
        snprintf(p->cp.origin, sizeof p->cp.origin, "%s", origin);
        p->cp.size = merkle_tree_size(tree);
        rc = merkle_tree_root(tree, p->cp.size, p->cp.root);
    }
    merkle_tree_free(tree);
    return rc ? rc : signet_checkpoint_format(&p->cp, &p->text);
}

signet_rc checkpoint_sign_check(cp_prepared *p, signet_sign_fn fn, void *ctx, sb_wr *note)
{
    signet_rc rc = signet_note_sign((const char *)p->text.p, p->text.len, p->vkey.name, p->vkey.key_id,
                                    fn, ctx, note);
    /* Catches a log key that is not the one log.vkey names before anything is written. */
    if (rc == SIGNET_OK && signet_note_open((const char *)note->p, note->len, &p->vkey, NULL) != SIGNET_OK)
        rc = signet_fail(SIGNET_E_VERIFY, "the new checkpoint's signature does not verify with the log "
                         "key (log.vkey, or the newest change of log key in records.log): the "
                         "signing key is not the log key");
    return rc;
}

signet_rc signet_trail_checkpoint(signet_trail *t, const char *origin, signet_sign_fn fn, void *ctx,
                                  signet_checkpoint *out)
{
    cp_prepared p;
    sb_wr note;
    sbw_init(&note, 4096);
    signet_rc rc = checkpoint_prepare(t, origin, &p);
    if (rc == SIGNET_OK)
        rc = checkpoint_sign_check(&p, fn, ctx, &note);
    if (rc == SIGNET_OK)
        rc = file_append_durable(t->dir, CHECKPOINTS_FILE, note.p, note.len);
    if (rc == SIGNET_OK && out)
        *out = p.cp;
    sbw_free(&note);
    sbw_free(&p.text);
    return rc;
}


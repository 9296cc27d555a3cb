/* Proof receipts for artifacts: the record naming an artifact's SHA-256, its
 * inclusion proof and the newest checkpoint that covers it (c2sp.org/tlog-proof). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_internal.h"

signet_rc signet_trail_prove(const char *dir, const uint8_t sha[SIGNET_HASH_LEN], sb_wr *receipt)
{
    char path[PATH_MAX];
    signet_vkey k;
    merkle_tree *tree = NULL;
    signet_record *r = malloc(sizeof *r);
    char *found = NULL, *cps = NULL;
    size_t found_len = 0, cps_len = 0;
    uint64_t found_index = 0;
    signet_rc rc = r ? SIGNET_OK : signet_fail(SIGNET_E_NOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/%s", dir, VKEY_FILE);
    trail_logkeys *keys = malloc(sizeof *keys);
    if (rc == SIGNET_OK && !keys)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    if (rc == SIGNET_OK)
        rc = signet_vkey_load(path, &k);
    if (rc == SIGNET_OK)
        rc = trail_logkeys_load(dir, &k, keys);
    if (rc == SIGNET_OK)
        rc = trail_tree(dir, &tree);

    /* The newest record naming this file: a sign or reuse record of the artifact, or
     * the binding of an output file (the file that ships). */
    line_reader lr;
    snprintf(path, sizeof path, "%s/%s", dir, RECORDS_FILE);
    if (rc == SIGNET_OK && (rc = lr_open(&lr, path)) == SIGNET_OK) {
        const char *line;
        size_t len;
        int kind;
        while ((rc = lr_next(&lr, &line, &len, &kind)) == SIGNET_OK && kind == 1) {
            if (signet_record_parse(line, len, r) != SIGNET_OK || !signet_record_names(r, sha))
                continue;
            char *copy = realloc(found, len);
            if (!copy) {
                rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
                break;
            }
            found = copy;
            memcpy(found, line, len);
            found_len = len;
            found_index = r->index;
        }
        lr_close(&lr);
    }
    if (rc == SIGNET_OK && !found)
        rc = signet_fail(SIGNET_E_NOTFOUND, "no record in %s names a file with that SHA-256: was it "
                         "signed through signet with the artifact given (and its output bound)?", dir);

    /* The newest checkpoint covering the record whose root matches the trail. */
    signet_checkpoint best = {0}, c;
    const char *best_note = NULL;
    size_t best_len = 0;
    snprintf(path, sizeof path, "%s/%s", dir, CHECKPOINTS_FILE);
    if (rc == SIGNET_OK && (rc = file_read_all(path, &cps, &cps_len)) == SIGNET_E_NOTFOUND)
        rc = signet_fail(SIGNET_E_NOTFOUND, "%s has no checkpoints yet: run `signet audit checkpoint`", dir);
    size_t pos = 0;
    const char *note;
    size_t nlen;
    while (rc == SIGNET_OK && notes_next(cps, cps_len, &pos, &note, &nlen, NULL)) {
        uint8_t root[SIGNET_HASH_LEN];
        if (trail_checkpoint_open(keys, note, nlen, &c, NULL) != SIGNET_OK || c.size <= found_index ||
            c.size > merkle_tree_size(tree) || merkle_tree_root(tree, c.size, root) != SIGNET_OK ||
            memcmp(root, c.root, SIGNET_HASH_LEN) != 0)
            continue;
        if (!best_note || c.size >= best.size) {
            best = c;
            best_note = note;
            best_len = nlen;
        }
    }
    if (rc == SIGNET_OK && !best_note)
        rc = signet_fail(SIGNET_E_NOTFOUND, "no valid checkpoint covers leaf %llu yet: run `signet audit "
                         "checkpoint`, then prove again", (unsigned long long)found_index);

    sb_wr proof;
    sbw_init(&proof, 64 * SIGNET_HASH_LEN);
    if (rc == SIGNET_OK)
        rc = merkle_tree_inclusion(tree, found_index, best.size, &proof);
    if (rc == SIGNET_OK) {
        signet_receipt rec = {(uint8_t *)found, found_len, found_index, proof.p,
                              proof.len / SIGNET_HASH_LEN, (char *)best_note, best_len};
        rc = signet_receipt_format(&rec, receipt);
    }
    sbw_free(&proof);
    merkle_tree_free(tree);
    free(found);
    free(cps);
    free(r);
    free(keys);
    return rc;
}

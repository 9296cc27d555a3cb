/* signet apk sign: the list of APKs to sign (one, or a batch) and its runner. */
#ifndef SIGNET_CLI_APK_H
#define SIGNET_CLI_APK_H

#include "cli.h"
#include "signet/apk.h"

#define APK_CLI_MAX 0xfff00000u

struct apk_item {
    char *in, *out, *key;
};

struct apk_batch {
    struct apk_item *v;
    size_t n, cap;
    signet_apk_opts opts;
    const char *v4_file;   /* single APK only */
    bool no_cache;         /* --no-cache: every signature from the device */
    struct signet_apk_lineage *lineage; /* --lineage: key rotation */
    char *old_key;         /* the key of the lineage's oldest signer (signs v2) */
};

void apk_batch_init(struct apk_batch *b);
void apk_batch_free(struct apk_batch *b);
/* Appends an item (out and key may be NULL: filled later). */
signet_rc apk_batch_add(struct apk_batch *b, const char *in, const char *out, const char *key);
/* --out after --in: the output of the last item without one. */
signet_rc apk_batch_set_out(struct apk_batch *b, const char *out);
/* Reads "IN OUT KEY" lines. */
signet_rc apk_batch_load(struct apk_batch *b, const char *path);
/* Fills missing keys with key and checks the list (SIGNET_E_ARG: usage). */
signet_rc apk_batch_check(struct apk_batch *b, const char *key, bool extra_args);
/* --lineage FILE: read (every signature checked) into b->lineage, b->opts. */
signet_rc apk_batch_set_lineage(struct apk_batch *b, const char *path);
/* The key of the lineage's oldest signer, found by its certificate. */
struct signet_keystore;
signet_rc apk_batch_find_old_key(struct apk_batch *b, struct signet_keystore *ks);
/* signet apk lineage (a command-table handler, src/cli/cli_table.h) */
struct apk_lineage_args {
    const char *old_key, *new_key, *in, *out;
    bool print;
};
struct cli_ctx;
signet_rc apk_lineage_run(struct cli_ctx *c, void *args);
/* Signs every item in one device session; returns the exit code. */
int apk_batch_run(const struct cli_globals *g, struct apk_batch *b);

#endif

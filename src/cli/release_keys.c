/* `signet release plan --generate-missing`: the release keys a plan needs and the
 * key store lacks are added to its key map (each under its store name, with the
 * plan's role) and made by `signet keys generate --only NAME...`, the same program
 * run as a child so that key generation keeps its one path: its credential
 * (password from the environment or --password-file, never argv), its progress
 * lines, its key records and its certificates. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "release_keys.h"
#include "signet/keystore.h"

static signet_rc run_generate(const struct cli_globals *g, const char *dir, char **names,
                              size_t n)
{
    size_t max = 20 + 2 * n;
    char **argv = calloc(max, sizeof *argv);
    char auth[16];
    if (!argv)
        return signet_fail(SIGNET_E_NOMEM, "out of memory");
    size_t a = 0;
    argv[a++] = "signet";
    if (g->connector)
        argv[a++] = "--connector", argv[a++] = (char *)g->connector;
    if (g->auth_key_set) {
        snprintf(auth, sizeof auth, "%u", g->auth_key);
        argv[a++] = "--auth-key", argv[a++] = auth;
    }
    if (g->password_file)
        argv[a++] = "--password-file", argv[a++] = (char *)g->password_file;
    if (g->auth_key_file)
        argv[a++] = "--auth-key-file", argv[a++] = (char *)g->auth_key_file;
    if (g->config)
        argv[a++] = "--config", argv[a++] = (char *)g->config;
    if (g->quiet)
        argv[a++] = "-q";
    argv[a++] = "keys", argv[a++] = "generate", argv[a++] = "--keystore";
    argv[a++] = (char *)dir;
    for (size_t i = 0; i < n; i++)
        argv[a++] = "--only", argv[a++] = names[i];
    argv[a] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        free(argv);
        return signet_fail(SIGNET_E_IO, "cannot start signet keys generate: %s", strerror(errno));
    }
    if (pid == 0) {
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    free(argv);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    if (code != 0)
        return signet_fail(code == 6 ? SIGNET_E_NOTFOUND : SIGNET_E_STATE,
                           "signet keys generate failed (exit status %d): the keys it did not "
                           "make are still missing; fix what it reported and rerun",
                           code);
    return SIGNET_OK;
}

signet_rc cli_release_generate_missing(const struct cli_globals *g, const signet_keystore *ks,
                                       const signet_rplan *p, uint8_t algorithm, size_t *made)
{
    *made = 0;
    const char *dir = signet_keystore_dir(ks);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, SIGNET_KEYMAP_FILE);
    signet_keymap m;
    signet_keymap_init(&m);
    signet_rc rc = signet_keymap_load(path, &m);
    if (rc == SIGNET_E_NOTFOUND)
        rc = signet_fail(SIGNET_E_NOTFOUND, "%s has no key map: run signet keys init first", dir);
    char **names = calloc(p->n_keys + 1, sizeof *names);
    if (rc == SIGNET_OK && !names)
        rc = signet_fail(SIGNET_E_NOMEM, "out of memory");
    size_t n = 0, added = 0;
    for (size_t i = 0; rc == SIGNET_OK && i < p->n_keys; i++) {
        const signet_rplan_key *k = &p->keys[i];
        if (signet_keystore_has_key(ks, k->store))
            continue;
        names[n++] = (char *)k->store;
        if (signet_keymap_find(&m, k->store))
            continue; /* in the map already, never generated */
        signet_keymap_entry e;
        memset(&e, 0, sizeof e);
        snprintf(e.name, sizeof e.name, "%s", k->store);
        snprintf(e.role, sizeof e.role, "%s", k->role);
        e.id = signet_keymap_next_id(&m);
        e.domains = 1;
        /* AVB and APEX payload keys must be RSA (avbtool); RSA-4096 unless told. */
        bool rsa_only = !strcmp(k->role, "avb") || !strcmp(k->role, "apex-payload");
        bool is_rsa = algorithm == YH_ALGO_RSA_2048 || algorithm == YH_ALGO_RSA_3072 ||
                      algorithm == YH_ALGO_RSA_4096;
        e.algorithm = rsa_only && !is_rsa ? YH_ALGO_RSA_4096 : algorithm;
        if (e.id == 0)
            rc = signet_fail(SIGNET_E_STATE, "the key map of %s has no free ids left", dir);
        else
            rc = signet_keymap_add(&m, &e);
        added += rc == SIGNET_OK;
    }
    if (rc == SIGNET_OK && added)
        rc = signet_keymap_save(path, &m);
    if (rc == SIGNET_OK && n) {
        if (!g->quiet)
            fprintf(stderr, "signet: %zu release key%s missing (%zu added to %s): generating "
                            "them with signet keys generate\n",
                    n, n == 1 ? "" : "s", added, path);
        rc = run_generate(g, dir, names, n);
    }
    if (rc == SIGNET_OK)
        *made = n;
    free(names);
    signet_keymap_free(&m);
    return rc;
}

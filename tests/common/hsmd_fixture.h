/* Test fixture: a private signet-hsm daemon per test, plus small helpers for
 * running commands and handling files.  Link with signet_testfix:
 *
 *   signet_test(test_x test_x.c)
 *   target_link_libraries(test_x PRIVATE signet_testfix)
 *
 *   struct hsmd h;
 *   assert_int_equal(hsmd_start(&h, "--serial 42"), 0);
 *   ... connect to h.url (e.g. hsm_conn_open(h.url, &c), or SIGNET_CONNECTOR=h.url) ...
 *   hsmd_cleanup(&h);
 *
 * The daemon is found in $SIGNET_BIN_DIR (set by ctest for every signet_test).  It
 * listens on 127.0.0.1 on a free port, keeps its state in a fresh temporary
 * directory and logs to h.log; it is killed if the test process dies. */
#ifndef SIGNET_TEST_HSMD_FIXTURE_H
#define SIGNET_TEST_HSMD_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

struct hsmd {
    pid_t pid;          /* 0 when not running */
    char url[64];       /* "http://127.0.0.1:PORT" */
    char state[256];    /* state file (dir/signet-hsm.state unless --state was given) */
    char dir[256];      /* private temporary directory; tests may put files here */
    char log[256];      /* the daemon's stderr, appended across restarts */
    int exit_status;    /* of the last stopped daemon: exit code, 128+signal, or -1 */
};

/* Makes a temporary directory and starts signet-hsm in it with
 * `--listen 127.0.0.1:0 --state <dir>/signet-hsm.state` and extra_args (may be
 * NULL; split on spaces, no quoting).  Waits until the daemon prints its URL.
 * Returns 0 on success; otherwise prints why (and the daemon's log) and returns -1. */
int hsmd_start(struct hsmd *h, const char *extra_args);
/* Stops the daemon and starts it again on the same state file and directory
 * (a new port: read h->url again). */
int hsmd_restart(struct hsmd *h, const char *extra_args);
/* SIGTERM, then waits (SIGKILL after 20 s).  Keeps the directory. */
void hsmd_stop(struct hsmd *h);
/* hsmd_stop, then removes the temporary directory. */
void hsmd_cleanup(struct hsmd *h);

/* Path of a built program: $SIGNET_BIN_DIR/name.  Aborts the test when
 * SIGNET_BIN_DIR is unset (run tests through ctest). */
const char *test_bin(const char *name);

/* Runs `/bin/sh -c cmd`.  stdout is captured into *out (malloc'd, NUL-terminated;
 * pass NULL to discard); stderr goes to the test's stderr.  Returns the exit code,
 * 128+signal if it was killed, 124 after a timeout of 300 s, -1 if it could not run. */
int run_cmd(const char *cmd, char **out);
/* The same with stdin fed from in/in_len (may be NULL), stdout and stderr both
 * captured (each may be NULL to discard; lengths optional), and a timeout in
 * seconds (0 = 300). */
int run_cmd_full(const char *cmd, const void *in, size_t in_len, char **out, size_t *out_len,
                 char **err, unsigned timeout_s);

/* Whole-file helpers for test data: 0 on success, -1 (with a message) otherwise.
 * read_file NUL-terminates the malloc'd buffer (not counted in *len). */
int test_write_file(const char *path, const void *data, size_t len);
int test_read_file(const char *path, char **data, size_t *len);

#endif

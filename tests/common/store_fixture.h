/* Test fixture: a signet workspace over a private signet-hsm, as an operator sets one
 * up, for tests that drive the `signet` command line.  Link with signet_testfix.
 *
 *   static struct store st;
 *   store_start(&st, "--session-timeout 2");     emulator, environment, signet.conf
 *   store_init_keystore(&st, STORE_SIGN_AUDIT);  wrap key 0xff, command audit, trail
 *   store_sh(&st, "signet keys import k --key k.key --cert k.crt");
 *   store_cleanup(&st);
 *
 * signet.conf (in st.h.dir) names the connector, keystore = DIR/keys and
 * audit = DIR/audit.  Commands run by store_sh() start in DIR with SIGNET_CONNECTOR,
 * SIGNET_PASSWORD (the factory credential), SIGNET_CONF and PATH (the built programs
 * first) set. */
#ifndef SIGNET_TEST_STORE_FIXTURE_H
#define SIGNET_TEST_STORE_FIXTURE_H

#include "common/hsmd_fixture.h"

struct store {
    struct hsmd h;
    char env[2048]; /* shell prefix: `export ...;` */
};

/* Every signing command audited, as a ceremony leaves a device. */
#define STORE_SIGN_AUDIT "sign-pkcs1=on,sign-pss=on,sign-ecdsa=on,sign-eddsa=on"

/* Starts the emulator (hsmd_args as for hsmd_start) and writes signet.conf.
 * 0 on success, -1 (with a message) otherwise. */
int store_start(struct store *s, const char *hsmd_args);
/* Puts the wrap key (id 0xff, 32 bytes of test material), sets the device's command
 * audit to command_audit (an `hsm set-option command-audit` list; NULL leaves it) and
 * initialises the audit trail.  0 on success. */
int store_init_keystore(struct store *s, const char *command_audit);
/* Runs a shell command (printf format) in the workspace; stdout into *out as
 * run_cmd does (out may be NULL).  Returns the command's exit code. */
int store_sh_out(struct store *s, char **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define store_sh(s, ...) store_sh_out((s), NULL, __VA_ARGS__)
/* A command's output read as a decimal number; -1 if it failed or printed none. */
long store_num(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Stops the emulator and removes the workspace. */
void store_cleanup(struct store *s);

#endif

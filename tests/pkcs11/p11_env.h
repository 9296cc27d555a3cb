/* Test environment of the PKCS#11 module tests: a private signet-hsm with a wrap
 * key, a key store whose keys were generated on it, a signet.conf naming both
 * ($SIGNET_CONF is set), and the module loaded with dlopen. */
#ifndef SIGNET_TEST_P11_ENV_H
#define SIGNET_TEST_P11_ENV_H

#include <stdbool.h>

#include <p11-kit/pkcs11.h>

#include "common/hsmd_fixture.h"

#define P11_TEST_PIN "0001password"
#define P11_TEST_WRAP_ID 0x00ff

struct p11_env {
    struct hsmd h;
    char keystore[300];
    char audit[300];    /* empty when the environment has no audit trail */
    char conf[300];
    char module[600];   /* path of libsignet-pkcs11.so */
    void *dl;
    CK_FUNCTION_LIST *f;
};

/* keys: "name algorithm" pairs separated by commas, e.g.
 * "platform rsa2048,ec ecp256,ed ed25519"; ids are 0x0101, 0x0102, ... in order.
 * audit: also make an audit trail (records can then be counted).
 * hsmd_args: extra daemon arguments (may be NULL).  Returns 0 on success. */
int p11_env_start(struct p11_env *e, const char *keys, bool audit, const char *hsmd_args);
/* Writes signet.conf again with extra "key = value" lines appended. */
int p11_env_write_conf(struct p11_env *e, const char *extra);
/* dlopen()s the module and fetches its function list (without C_Initialize). */
int p11_env_load(struct p11_env *e);
void p11_env_unload(struct p11_env *e);
void p11_env_stop(struct p11_env *e);

/* Runs a shell command made with printf (run_cmd); prints the command and its output
 * when it fails.  Returns the exit code; stdout in *out (malloc'd) when out is given. */
int p11_sh(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Environment prefix for programs that load the module ("" normally).  When the
 * module is built with sanitizers, a program that is not (pkcs11-tool, openssl,
 * java) can load it only with the sanitizer runtime preloaded: CMake passes it in
 * $SIGNET_P11_PRELOAD, and the sanitizer must not judge the program's own leaks. */
const char *p11_peer_env(void);

/* Opens (then closes) all 16 device sessions at once with the client library: 0 when
 * every one could be opened, i.e. no process left a device session behind.  (The
 * client waits out "sessions full" for 5 s at most; a leaked session lives 30 s.) */
int p11_env_all_sessions_free(const struct p11_env *e);

/* Records of released signatures in the trail's records.log (0 when missing): one
 * per signature made on the device (sign) or reused from the signing cache (reuse);
 * intent records are not counted. */
int p11_env_count_records(const struct p11_env *e);
/* The last sign or reuse record of records.log (malloc'd) or NULL. */
char *p11_env_last_record(const struct p11_env *e);

#endif

/* Helpers for the ceremony tests: real age and ssh identities for the people of a
 * plan, writing plans, running signet, decrypting with the real `age`, and logging
 * in to a device with a role's decrypted credential. */
#ifndef SIGNET_TEST_CER_RIG_H
#define SIGNET_TEST_CER_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signet/client.h"

#define RIG_CUSTODIANS 5
#define RIG_PATH 512

/* People of the test plan.  Custodian 2 (bob) uses an ssh-ed25519 key made with
 * ssh-keygen; everyone else an age identity made with age-keygen. */
struct rig_person {
    char name[32];
    char identity[RIG_PATH];   /* the secret identity file */
    char recipient[1024];      /* public: age1... or ssh-ed25519 AAAA... */
};

struct rig {
    char dir[RIG_PATH];                          /* private temporary directory */
    struct rig_person custodian[RIG_CUSTODIANS];
    struct rig_person admin, operator_, auditor;
};

/* Makes the directory and everyone's identities.  0 on success. */
int rig_init(struct rig *r);
void rig_cleanup(struct rig *r);    /* removes the directory */

/* Writes a 3-of-5 plan for the two URLs to path. */
int rig_write_plan(const struct rig *r, const char *path, const char *primary, const char *backup);

/* Runs `signet ARGS` (ARGS a shell fragment) with optional extra environment
 * assignments (e.g. "SIGNET_CEREMONY_FAIL_AT=roles", may be NULL) and stdin.
 * Captures stdout and stderr (malloc'd; may be NULL to discard).  Returns the
 * exit code. */
int rig_signet(const char *env, const char *args, const char *in, char **out, char **err);

/* `age -d -i identity file` with the real age; the plaintext (malloc'd) or NULL. */
char *rig_age_decrypt(const char *identity, const char *file);

/* The manifest's value of a single-value key ("wrap-key.check"), malloc'd, or NULL. */
char *rig_manifest_value(const char *manifest_path, const char *key);

/* Sessions with a role's credential: the operator's password or a PEM private key
 * (the decrypted credential text).  Return the signet_rc. */
int rig_login_password(const char *url, uint16_t id, const char *password, hsm_conn **c,
                       hsm_session **s);
int rig_login_pem(const char *url, uint16_t id, const char *pem, hsm_conn **c, hsm_session **s);
void rig_logout(hsm_conn *c, hsm_session *s);

/* Drains the device log through s (Get Log Entries, Set Log Index), so that direct
 * test commands never fill a force-audited log.  Returns the signet_rc. */
int rig_consume_log(hsm_session *s);

/* Puts an opaque marker object with the factory key and returns the device log's
 * newest entry number and digest (the device's state, to prove it untouched). */
int rig_mark_device(const char *url, uint16_t *last_number, uint8_t last_digest[16]);
/* True when the marker is still there and the log is exactly as it was. */
bool rig_device_untouched(const char *url, uint16_t last_number, const uint8_t last_digest[16]);

/* SHA-256 of a file as 64 hex digits into out (65 bytes); 0 on success. */
int rig_file_sha256_hex(const char *path, char out[65]);

/* True when the file (binary) contains the string. */
bool rig_file_contains(const char *path, const char *needle);

#endif

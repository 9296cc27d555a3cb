/* In-process HSM for key store tests: the emulator core behind the client's
 * transport hook, logged in with the factory key, with a wrap key, and a
 * temporary key store directory. */
#ifndef SIGNET_TEST_KS_RIG_H
#define SIGNET_TEST_KS_RIG_H

#include "signet/client.h"
#include "signet/device.h"
#include "signet/keystore.h"

#define RIG_WRAP_ID 0x00ff

struct ks_rig {
    hsm_device *dev;
    hsm_conn *conn;
    hsm_session *s;
    char dir[64];
    signet_keystore *ks;
};

/* keymap: text of keymap.txt (NULL: none). */
void ks_rig_open(struct ks_rig *r, const char *keymap);
void ks_rig_close(struct ks_rig *r);
/* Reopens the key store (after the test changed keymap.txt). */
void ks_rig_reopen_store(struct ks_rig *r);
/* Generates every key of the map into the store; fails the test on error. */
void ks_rig_generate_all(struct ks_rig *r);
bool ks_rig_resident(struct ks_rig *r, const char *name);
/* Signs a digest with key `name` on the HSM and verifies it with the stored
 * public key: the key on the HSM is the recorded one and usable. */
void ks_rig_sign_and_verify(struct ks_rig *r, const char *name);
void ks_rig_path(struct ks_rig *r, const char *name, const char *suffix, char *out, size_t n);

#endif

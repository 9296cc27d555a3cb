/* A test rig for the HSM client: the emulator's device core in-process behind
 * hsm_conn_open_transport, with a fake clock and hooks to disturb the traffic
 * (tamper with answers, count commands, expire sessions at a chosen moment). */
#ifndef SIGNET_TEST_CLIENT_RIG_H
#define SIGNET_TEST_CLIENT_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include "signet/client.h"
#include "signet/device.h"

struct rig {
    hsm_device *dev;
    hsm_conn *conn;
    uint64_t now_ms;         /* the device's clock */
    unsigned transfers;      /* frames sent */
    unsigned creates;        /* Create Session requests */
    unsigned session_msgs;   /* 0x05 requests */
    bool tamper_rmac;        /* flip a bit in the MAC of the next 0x85 answer */
    unsigned expire_at_create; /* when creates reaches this, advance the clock 31 s (0 = never) */
    unsigned fail_next;      /* fail this many transfers with SIGNET_E_NET, unsent */
};

/* Opens a fresh volatile device and a connection to it; aborts the test on failure. */
void rig_open(struct rig *r);
void rig_close(struct rig *r);
/* A session with the factory key (id 1, "password"). */
hsm_session *rig_login(struct rig *r);
/* Adds a password authentication key with these capabilities and domains. */
void rig_add_auth(hsm_session *admin, uint16_t id, const char *password, uint64_t caps,
                  uint64_t delegated, uint16_t domains);

#endif

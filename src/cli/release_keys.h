/* `signet release plan --generate-missing` (release_keys.c). */
#ifndef SIGNET_CLI_RELEASE_KEYS_H
#define SIGNET_CLI_RELEASE_KEYS_H

#include "cli.h"
#include "signet/release.h"

/* Adds the plan's keys missing from ks to its key map (store name, plan role,
 * algorithm; AVB and APEX payload keys RSA-4096 when algorithm is not RSA) and runs
 * `signet keys generate --only ...` for them.  *made = how many were missing. */
signet_rc cli_release_generate_missing(const struct cli_globals *g, const signet_keystore *ks,
                                       const signet_rplan *p, uint8_t algorithm, size_t *made);

#endif

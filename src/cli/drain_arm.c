/* Every session the CLI opens on a device anchored in the configured trail drains
 * the device log into it as it goes (signet_audit_arm), so no sequence of ordinary
 * commands fills a force-audit log.  One place, not one call per command. */
#include "cli.h"
#include "signet/audit.h"
#include "signet/sign.h"

signet_rc cli_arm_drain(const signet_config *cfg, hsm_session *s)
{
    if (!cfg->audit[0])
        return SIGNET_OK; /* no trail configured: nothing to drain into */
    bool armed;
    signet_rc rc = signet_audit_arm(s, cfg->audit, &armed);
    return rc ? signet_wrap(rc, "preparing to drain the device log into %s", cfg->audit) : SIGNET_OK;
}

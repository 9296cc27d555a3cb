/* Restore, what it hands out: the new credentials, encrypted to their holders,
 * and the public restore manifest. */
#include <string.h>

#include "restore_internal.h"
#include "signet/proto.h"

static signet_rc output_cb(void *ctx, const char *rel, const void *data, size_t len,
                           mode_t mode)
{
    return rst_output(ctx, rel, data, len, mode);
}

signet_rc rst_step_credentials(rest *p)
{
    return cer_seal_credentials(&p->creds, &p->plan, &p->run, output_cb, p);
}

signet_rc rst_step_manifest(rest *p)
{
    sb_wr m, tmp;
    sbw_init(&m, 1024 * 1024);
    sbw_init(&tmp, 8192);
    char stamp[32], ver[16];
    cer_utc_now(stamp);
    cer_dev_version(&p->dev, ver);
    signet_rc rc = sbw_printf(&m, "signet-restore-manifest v1\n# The public record of a restore "
                                  "from a signet key ceremony (docs/ceremony.md).\n"
                                  "kind restore\ncreated %s\nceremony-manifest ",
                              stamp);
    if (rc == SIGNET_OK && (rc = hex_encode(&m, p->man_sha, 32)) == SIGNET_OK)
        rc = sbw_printf(&m, "\nshares-used %s\n", p->used);
    if (rc == SIGNET_OK && p->wrong[0])
        rc = sbw_printf(&m, "shares-wrong %s\n", p->wrong);
    if (rc == SIGNET_OK)
        rc = sbw_printf(&m, "wrap-key.id 0x%04x\nwrap-key.check ", p->man->wrap_id);
    if (rc == SIGNET_OK && (rc = hex_encode(&m, p->man->check, sizeof p->man->check)) == SIGNET_OK &&
        (rc = signet_vkey_format(&p->man->vkey, &tmp)) == SIGNET_OK)
        rc = sbw_printf(&m, "\nlog-key.id 0x%04x\nlog-key.vkey %.*s\ntrail %s\nkeystore %s\n"
                            "keystore.keys %zu\n",
                        p->man->log_key_id, (int)tmp.len, (const char *)tmp.p, p->trail_dir,
                        p->o->keystore_dir ? p->o->keystore_dir : "-", p->n_keys);
    for (int r = 0; rc == SIGNET_OK && r < SIGNET_ROLE__COUNT; r++) {
        const signet_role_def *def = signet_role_get((signet_role)r);
        char rel[CER_REL_MAX];
        cer_cred_file((signet_role)r, p->plan.holders[r].name, rel, sizeof rel);
        rc = sbw_printf(&m, "role %s 0x%04x %s %s %s %s\n", def->name, def->auth_id,
                        def->asymmetric ? "ecp256" : "password", p->plan.holders[r].name, rel,
                        p->plan.holders[r].recipient);
    }
    if (rc == SIGNET_OK && p->new_rkeys)
        rc = cer_rkeys_manifest(&p->rkeys, &p->plan, &m);
    if (rc == SIGNET_OK)
        rc = sbw_printf(&m, "device target %u firmware=%s audited-commands=%zu force-audit=fixed\n",
                        p->dev.serial, ver, p->n_audited);
    if (rc == SIGNET_OK)
        rc = cer_dev_describe_objects(&p->dev, &m);
    if (rc == SIGNET_OK && p->default_trail && p->n_outputs < RST_MAX_OUTPUTS)
        snprintf(p->outputs[p->n_outputs++], CER_REL_MAX, "audit/anchors/device-%u.anchor",
                 p->dev.serial);
    if (rc == SIGNET_OK)
        rc = cer_manifest_add_files(&m, p->o->out_dir, p->outputs, p->n_outputs);
    if (rc == SIGNET_OK)
        rc = cer_write_file(p->o->out_dir, CER_RESTORE_MANIFEST_FILE, m.p, m.len, 0644);
    if (rc == SIGNET_OK)
        cer_say(&p->run, "restore manifest %s written", CER_RESTORE_MANIFEST_FILE);
    sbw_free(&m);
    sbw_free(&tmp);
    return rc;
}

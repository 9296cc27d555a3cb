/* `signet audit bind INPUT OUTPUT`: the binding record for a tool that signed through
 * the PKCS#11 module or a helper.  apksigner signs with SIGNET_ARTIFACT=INPUT, so its
 * records name the input; once OUTPUT is complete, this appends one `bind` record
 * covering those signatures with OUTPUT's SHA-256, and `signet audit prove OUTPUT`
 * can then prove the file that ships. */
#include <stdio.h>

#include "cli.h"
#include "file_io.h"
#include "keys_cmds.h"
#include "signet/sign.h"

int cli_audit_bind(const struct cli_globals *g, const char *in, const char *out)
{
    uint8_t in_sha[32], out_sha[32];
    signet_rc rc = cli_sha256_file(in, in_sha);
    if (rc == SIGNET_OK)
        rc = cli_sha256_file(out, out_sha);
    struct signet_signer *s = NULL;
    if (rc == SIGNET_OK)
        rc = cli_open_signer(g, &s);
    size_t n = 0;
    if (rc == SIGNET_OK)
        rc = signet_signer_bind_input(s, in, in_sha, out, out_sha, &n);
    if (rc == SIGNET_OK)
        printf("bound %s to %zu signature%s of %s\n", out, n, n == 1 ? "" : "s", in);
    signet_signer_close(s);
    return rc == SIGNET_OK ? 0 : cli_report(rc);
}

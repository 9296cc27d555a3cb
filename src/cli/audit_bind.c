/* `signet audit bind INPUT OUTPUT`: the binding record for a tool that signed through
 * the PKCS#11 module or a helper.  apksigner signs with SIGNET_ARTIFACT=INPUT, so its
 * records name the input; once OUTPUT is complete, this appends one `bind` record
 * covering those signatures with OUTPUT's SHA-256, and `signet audit prove OUTPUT`
 * can then prove the file that ships. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "file_io.h"
#include "keys_cmds.h"
#include "signet/sign.h"

static const char BIND_USAGE[] =
    "usage: signet audit bind INPUT OUTPUT\n\n"
    "Run it after a tool that signed through the PKCS#11 module or a helper with\n"
    "SIGNET_ARTIFACT=INPUT has written OUTPUT, e.g.\n\n"
    "  SIGNET_ARTIFACT=app.apk apksigner sign ... --out app-signed.apk app.apk\n"
    "  signet audit bind app.apk app-signed.apk\n\n"
    "Appends one bind record to the trail (audit in signet.conf): OUTPUT's SHA-256 and\n"
    "every sign or reuse record naming INPUT's SHA-256 that no earlier binding of\n"
    "INPUT covers.  Logs in like the signing commands (the trail lock and the device\n"
    "serial come from the signing path).  Exit 6 when no signature of INPUT waits for\n"
    "a binding.\n";

int cli_audit_bind(const struct cli_globals *g, int argc, char **argv)
{
    static const struct option o[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "h", o, NULL)) != -1) {
        if (ch == 'h') {
            fputs(BIND_USAGE, stdout);
            return 0;
        }
        return cli_usage_error("audit", "bind: unknown option");
    }
    if (argc - optind != 2)
        return cli_usage_error("audit", "bind needs INPUT and OUTPUT");
    const char *in = argv[optind], *out = argv[optind + 1];
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

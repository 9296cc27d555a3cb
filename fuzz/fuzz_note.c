/* Fuzzes signed-note, checkpoint and verifier-key parsing (untrusted text that a
 * verifier reads from a trail or a receipt). */
#include <stdint.h>
#include <string.h>

#include "signet/audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char VKEY[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    signet_vkey k;
    if (signet_vkey_parse(VKEY, strlen(VKEY), &k) != SIGNET_OK)
        return 0;
    size_t tlen;
    (void)signet_note_open((const char *)data, size, &k, &tlen);
    signet_checkpoint c;
    (void)signet_checkpoint_parse((const char *)data, size, &c);
    (void)signet_checkpoint_open((const char *)data, size, &k, &c);
    signet_vkey v;
    (void)signet_vkey_parse((const char *)data, size, &v);
    return 0;
}

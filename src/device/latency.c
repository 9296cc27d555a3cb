/* The "yubihsm2" latency profile: roughly how long the real device takes, so
 * that timeouts, batching and progress output can be exercised against the
 * emulator.  Figures are approximate (Yubico publishes ~0.1-0.2 s for an
 * RSA-2048 signature and ~1 s for RSA-4096); the table is in docs/emulator.md. */
#include <errno.h>
#include <time.h>

#include "dev.h"

static unsigned rsa_sign_ms(uint8_t algo)
{
    switch (algo) {
    case YH_ALGO_RSA_2048: return 150;
    case YH_ALGO_RSA_3072: return 450;
    case YH_ALGO_RSA_4096: return 1000;
    default: return 150;
    }
}

unsigned dev_latency_ms(uint8_t cmd, uint8_t algo)
{
    switch (cmd) {
    case YH_CMD_SIGN_PKCS1:
    case YH_CMD_SIGN_PSS:
        return rsa_sign_ms(algo);
    case YH_CMD_SIGN_ECDSA:
        return 70;
    case YH_CMD_SIGN_EDDSA:
        return 40;
    case YH_CMD_GENERATE_ASYMMETRIC_KEY:
        /* RSA generation on the device takes seconds; EC is quick. */
        if (algo == YH_ALGO_RSA_2048) return 3000;
        if (algo == YH_ALGO_RSA_3072) return 12000;
        if (algo == YH_ALGO_RSA_4096) return 30000;
        return 100;
    case YH_CMD_PUT_ASYMMETRIC_KEY:
    case YH_CMD_IMPORT_WRAPPED:
    case YH_CMD_EXPORT_WRAPPED:
        return yh_algo_is_rsa(algo) ? 60 : 20;
    case YH_CMD_CREATE_SESSION:
    case YH_CMD_AUTHENTICATE_SESSION:
        return 15;
    case YH_CMD_RESET_DEVICE:
        return 500;
    case YH_CMD_ECHO:
    case YH_CMD_DEVICE_INFO:
        return 5;
    default:
        return 10;
    }
}

void dev_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

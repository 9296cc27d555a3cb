/* Strictness, table-driven: for each command a set of malformed requests (too
 * short, one stray trailing byte, a missing capability) and the device error
 * each must get, so that signet's client, tested only against the emulator,
 * cannot depend on leniency the firmware does not have.  Layouts are those of
 * Yubico's libyubihsm (yubihsm.c) and python-yubihsm (core.py, objects.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "dev_client.h"

#define CAP(x) YH_CAP(YH_CAP_##x)

struct row {
    const char *what;
    uint8_t cmd;
    uint8_t req[64];
    size_t len;
    int want;
};

/* Objects present: asymmetric EC key 0x0010, opaque 0x0020 (see setup). */
static const struct row ROWS[] = {
    /* fixed-length requests: short and long */
    {"get object info short", YH_CMD_GET_OBJECT_INFO, {0x00, 0x10}, 2, YH_ERR_WRONG_LENGTH},
    {"get object info trailing", YH_CMD_GET_OBJECT_INFO, {0x00, 0x10, 0x03, 0x00}, 4, YH_ERR_WRONG_LENGTH},
    {"delete object short", YH_CMD_DELETE_OBJECT, {0x00, 0x10}, 2, YH_ERR_WRONG_LENGTH},
    {"delete object trailing", YH_CMD_DELETE_OBJECT, {0x00, 0x10, 0x03, 0x00}, 4, YH_ERR_WRONG_LENGTH},
    {"get opaque short", YH_CMD_GET_OPAQUE, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"get opaque trailing", YH_CMD_GET_OPAQUE, {0x00, 0x20, 0x00}, 3, YH_ERR_WRONG_LENGTH},
    {"get public key short", YH_CMD_GET_PUBLIC_KEY, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"get public key trailing", YH_CMD_GET_PUBLIC_KEY, {0x00, 0x10, 0x03, 0x00}, 4, YH_ERR_WRONG_LENGTH},
    {"storage info trailing", YH_CMD_GET_STORAGE_INFO, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"get log entries trailing", YH_CMD_GET_LOG_ENTRIES, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"set log index short", YH_CMD_SET_LOG_INDEX, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"set log index trailing", YH_CMD_SET_LOG_INDEX, {0x00, 0x01, 0x00}, 3, YH_ERR_WRONG_LENGTH},
    {"get option empty", YH_CMD_GET_OPTION, {0}, 0, YH_ERR_WRONG_LENGTH},
    {"get option trailing", YH_CMD_GET_OPTION, {0x01, 0x00}, 2, YH_ERR_WRONG_LENGTH},
    {"set option short", YH_CMD_SET_OPTION, {0x01, 0x00}, 2, YH_ERR_WRONG_LENGTH},
    {"set option length field", YH_CMD_SET_OPTION, {0x01, 0x00, 0x02, 0x00}, 4, YH_ERR_WRONG_LENGTH},
    {"get pseudo random short", YH_CMD_GET_PSEUDO_RANDOM, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"get pseudo random trailing", YH_CMD_GET_PSEUDO_RANDOM, {0x00, 0x08, 0x00}, 3, YH_ERR_WRONG_LENGTH},
    {"export wrapped short", YH_CMD_EXPORT_WRAPPED, {0x00, 0xff, 0x03, 0x00}, 4, YH_ERR_WRONG_LENGTH},
    {"export wrapped trailing", YH_CMD_EXPORT_WRAPPED, {0x00, 0xff, 0x03, 0x00, 0x10, 0x00, 0x00}, 7, YH_ERR_WRONG_LENGTH},
    {"generate asymmetric short", YH_CMD_GENERATE_ASYMMETRIC_KEY, {0x00, 0x30}, 2, YH_ERR_WRONG_LENGTH},
    {"device pubkey trailing", YH_CMD_GET_DEVICE_PUBKEY, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"close session trailing", YH_CMD_CLOSE_SESSION, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    /* key id required */
    {"sign pkcs1 no id", YH_CMD_SIGN_PKCS1, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"sign ecdsa no id", YH_CMD_SIGN_ECDSA, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"sign eddsa no id", YH_CMD_SIGN_EDDSA, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"sign pss short", YH_CMD_SIGN_PSS, {0x00, 0x10, 0x21}, 3, YH_ERR_WRONG_LENGTH},
    {"decrypt pkcs1 no id", YH_CMD_DECRYPT_PKCS1, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"derive ecdh no id", YH_CMD_DERIVE_ECDH, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"sign hmac no id", YH_CMD_SIGN_HMAC, {0x00}, 1, YH_ERR_WRONG_LENGTH},
    {"import wrapped short", YH_CMD_IMPORT_WRAPPED, {0x00, 0xff, 0x00}, 3, YH_ERR_WRONG_LENGTH},
    {"change auth key short", YH_CMD_CHANGE_AUTHENTICATION_KEY, {0x00, 0x02}, 2, YH_ERR_WRONG_LENGTH},
    /* objects that are not there, or of another type */
    {"get public key of opaque id", YH_CMD_GET_PUBLIC_KEY, {0x00, 0x20}, 2, YH_ERR_OBJECT_NOT_FOUND},
    {"sign ecdsa missing key", YH_CMD_SIGN_ECDSA, {0x0f, 0x0f, 0x01}, 3, YH_ERR_OBJECT_NOT_FOUND},
    {"get opaque missing", YH_CMD_GET_OPAQUE, {0x0f, 0x0f}, 2, YH_ERR_OBJECT_NOT_FOUND},
};

/* The same requests from a session whose key has no capability at all: every
 * command that needs one answers insufficient permissions (well-formed input). */
static const struct row NOCAP[] = {
    {"get object info", YH_CMD_GET_OBJECT_INFO, {0x00, 0x10, 0x03}, 3, 0},
    {"get pseudo random", YH_CMD_GET_PSEUDO_RANDOM, {0x00, 0x08}, 2, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"get log entries", YH_CMD_GET_LOG_ENTRIES, {0}, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"set log index", YH_CMD_SET_LOG_INDEX, {0x00, 0x01}, 2, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"get option", YH_CMD_GET_OPTION, {0x01}, 1, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"set option", YH_CMD_SET_OPTION, {0x01, 0x00, 0x01, 0x00}, 4, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"sign ecdsa", YH_CMD_SIGN_ECDSA, {0x00, 0x10, 0x01}, 3, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"get opaque", YH_CMD_GET_OPAQUE, {0x00, 0x20}, 2, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"delete object", YH_CMD_DELETE_OBJECT, {0x00, 0x20, 0x01}, 3, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"export wrapped", YH_CMD_EXPORT_WRAPPED, {0x00, 0xff, 0x03, 0x00, 0x10}, 5, YH_ERR_INSUFFICIENT_PERMISSIONS},
    {"reset device", YH_CMD_RESET_DEVICE, {0}, 0, YH_ERR_INSUFFICIENT_PERMISSIONS},
};

static void run(tc_session *s, const struct row *rows, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int got = tc_cmd(s, rows[i].cmd, rows[i].req, rows[i].len, NULL);
        if (got != rows[i].want) {
            print_error("%s: got 0x%x, want 0x%x\n", rows[i].what, got, rows[i].want);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void malformed_requests(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    tc_attrs k = {.id = 0x0010, .label = "k", .domains = 1, .caps = CAP(SIGN_ECDSA),
                  .algorithm = YH_ALGO_EC_P256};
    uint16_t id;
    assert_int_equal(tc_generate(&s, &k, &id), 0);
    tc_attrs o = {.id = 0x0020, .label = "o", .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    assert_int_equal(tc_put_opaque(&s, &o, (const uint8_t *)"x", 1, &id), 0);
    run(&s, ROWS, sizeof ROWS / sizeof ROWS[0]);

    /* a key without capabilities (domain 1) */
    tc_attrs a = {.id = 0x0002, .label = "none", .domains = 1, .caps = 0,
                  .algorithm = YH_ALGO_AES128_YUBICO_AUTHENTICATION};
    assert_int_equal(tc_put_auth_key(&s, &a, 0, "pw"), 0);
    tc_session n;
    assert_int_equal(tc_open(dev, 2, "pw", &n), 0);
    run(&n, NOCAP, sizeof NOCAP / sizeof NOCAP[0]);
    tc_close(&n);
    tc_close(&s);
    hsm_device_free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The device's own keys at the protocol level: Get Device Public Key (plain and
 * in a session), asymmetric Create Session frames and their refusals, the
 * attestation certificate as opaque 0, and how the keys persist: across
 * restarts and resets, from state files written before the device had them
 * (version 1), and a damaged key section refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "dev_client.h"

static void device_public_key(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    sb_wr r1, r2;
    sbw_init(&r1, 256);
    sbw_init(&r2, 256);
    assert_int_equal(tc_plain(dev, YH_CMD_GET_DEVICE_PUBKEY, NULL, 0, &r1), 0);
    assert_int_equal(r1.len, 65);
    assert_int_equal(r1.p[0], YH_ALGO_EC_P256_YUBICO_AUTHENTICATION);
    /* the same inside a session; arguments are refused */
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_DEVICE_PUBKEY, NULL, 0, &r2), 0);
    assert_int_equal(r1.len, r2.len);
    assert_memory_equal(r1.p, r2.p, r1.len);
    assert_int_equal(tc_plain(dev, YH_CMD_GET_DEVICE_PUBKEY, (const uint8_t *)"x", 1, NULL),
                     YH_ERR_WRONG_LENGTH);
    /* Other session commands stay refused outside a session. */
    assert_int_equal(tc_plain(dev, YH_CMD_SIGN_ATTESTATION_CERTIFICATE, (const uint8_t *)"\0\1\0\0",
                              4, NULL),
                     YH_ERR_INVALID_COMMAND);
    /* Two devices have different keys. */
    hsm_device *other = tc_device(NULL, NULL);
    sbw_reset(&r2);
    assert_int_equal(tc_plain(other, YH_CMD_GET_DEVICE_PUBKEY, NULL, 0, &r2), 0);
    assert_memory_not_equal(r1.p, r2.p, 65);
    hsm_device_free(other);
    sbw_free(&r1);
    sbw_free(&r2);
    hsm_device_free(dev);
}

static void asym_create_session_frames(void **state)
{
    hsm_device *dev = tc_device(NULL, NULL);
    /* The generator of P-256: a valid point, of which nobody here knows the key. */
    static const uint8_t G[65] = {
        0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4,
        0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8,
        0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
        0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40,
        0x68, 0x37, 0xbf, 0x51, 0xf5};
    uint8_t req[2 + 65];
    memcpy(req + 2, G, 65);
    /* the factory key is symmetric: an asymmetric request is invalid data */
    put_be16(req, 1);
    assert_int_equal(tc_plain(dev, YH_CMD_CREATE_SESSION, req, sizeof req, NULL),
                     YH_ERR_INVALID_DATA);
    /* put an asymmetric key (the point G) */
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    sb_wr w;
    sbw_init(&w, 256);
    tc_attrs a = {.id = 7, .label = "g", .domains = 1, .caps = YH_CAP(YH_CAP_GET_PSEUDO_RANDOM),
                  .algorithm = YH_ALGO_EC_P256_YUBICO_AUTHENTICATION};
    tc_put_hdr(&w, &a);
    sbw_u64(&w, 0);
    sbw_put(&w, G + 1, 64);
    assert_int_equal(tc_cmd(&s, YH_CMD_PUT_AUTHENTICATION_KEY, w.p, w.len, NULL), 0);
    /* with a wrong length, a point off the curve, a compressed point */
    put_be16(req, 7);
    sb_wr r;
    sbw_init(&r, 256);
    assert_int_equal(tc_plain(dev, YH_CMD_CREATE_SESSION, req, sizeof req - 1, NULL),
                     YH_ERR_WRONG_LENGTH);
    req[2 + 64] ^= 1;
    assert_int_equal(tc_plain(dev, YH_CMD_CREATE_SESSION, req, sizeof req, NULL),
                     YH_ERR_INVALID_DATA);
    req[2 + 64] ^= 1;
    req[2] = 0x02;
    assert_int_equal(tc_plain(dev, YH_CMD_CREATE_SESSION, req, sizeof req, NULL),
                     YH_ERR_INVALID_DATA);
    req[2] = 0x04;
    /* a valid request: session id, the device's ephemeral point, a receipt */
    assert_int_equal(tc_plain(dev, YH_CMD_CREATE_SESSION, req, sizeof req, &r), 0);
    assert_int_equal(r.len, 1 + 65 + 16);
    assert_true(r.p[0] < 16);
    assert_int_equal(r.p[1], 0x04);
    /* the session is authenticated already: Authenticate Session is refused */
    uint8_t auth[1 + 8 + 8] = {r.p[0]};
    assert_int_equal(tc_plain(dev, YH_CMD_AUTHENTICATE_SESSION, auth, sizeof auth, NULL),
                     YH_ERR_INVALID_SESSION);
    /* and a password request for the asymmetric key is invalid data */
    uint8_t sym[2 + 8] = {0, 7};
    assert_int_equal(tc_plain(dev, YH_CMD_CREATE_SESSION, sym, sizeof sym, NULL),
                     YH_ERR_INVALID_DATA);
    /* An asymmetric key with a point off the curve is refused at put and change. */
    sbw_reset(&w);
    a.id = 8;
    tc_put_hdr(&w, &a);
    sbw_u64(&w, 0);
    sbw_put(&w, G + 1, 63);
    sbw_u8(&w, G[64] ^ 1);
    assert_int_equal(tc_cmd(&s, YH_CMD_PUT_AUTHENTICATION_KEY, w.p, w.len, NULL),
                     YH_ERR_INVALID_DATA);
    /* Get Object Info reports delegated(8) + X|Y = 72 bytes, one page. */
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 7, YH_TYPE_AUTHENTICATION_KEY, &oi), 0);
    assert_int_equal(oi.len, 72);
    assert_int_equal(oi.algorithm, YH_ALGO_EC_P256_YUBICO_AUTHENTICATION);
    sbw_free(&w);
    sbw_free(&r);
    hsm_device_free(dev);
}

static void temp_path(char *dir, size_t dlen, char *path, size_t plen)
{
    snprintf(dir, dlen, "/tmp/signet-devid-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, plen, "%s/state", dir);
}

static void cleanup(const char *dir, const char *path)
{
    char ca[600];
    snprintf(ca, sizeof ca, "%s.ca.pem", path);
    unlink(ca);
    snprintf(ca, sizeof ca, "%s.journal", path);
    unlink(ca);
    unlink(path);
    rmdir(dir);
}

static void keys_persist_and_survive_reset(void **state)
{
    char dir[64], path[128];
    temp_path(dir, sizeof dir, path, sizeof path);
    hsm_device *dev = tc_device(path, NULL);
    assert_non_null(dev);
    sb_wr pub1, pub2, ca1, ca2, op0;
    sbw_init(&pub1, 256);
    sbw_init(&pub2, 256);
    sbw_init(&ca1, 8192);
    sbw_init(&ca2, 8192);
    sbw_init(&op0, 8192);
    assert_int_equal(tc_plain(dev, YH_CMD_GET_DEVICE_PUBKEY, NULL, 0, &pub1), 0);
    assert_int_equal(hsm_device_ca_der(dev, &ca1), SIGNET_OK);
    /* the certificate reads as opaque 0 */
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    uint8_t zero[2] = {0, 0};
    assert_int_equal(tc_cmd(&s, YH_CMD_GET_OPAQUE, zero, 2, &op0), 0);
    assert_int_equal(op0.len, ca1.len);
    assert_memory_equal(op0.p, ca1.p, ca1.len);
    /* Reset: objects go, the device's keys stay. */
    assert_int_equal(tc_cmd(&s, YH_CMD_RESET_DEVICE, NULL, 0, NULL), 0);
    assert_int_equal(tc_plain(dev, YH_CMD_GET_DEVICE_PUBKEY, NULL, 0, &pub2), 0);
    assert_memory_equal(pub1.p, pub2.p, 65);
    assert_int_equal(hsm_device_ca_der(dev, &ca2), SIGNET_OK);
    assert_memory_equal(ca1.p, ca2.p, ca1.len);
    hsm_device_free(dev);
    /* Restart: the same keys from the state file. */
    dev = tc_device(path, NULL);
    assert_non_null(dev);
    sbw_reset(&pub2);
    sbw_reset(&ca2);
    assert_int_equal(tc_plain(dev, YH_CMD_GET_DEVICE_PUBKEY, NULL, 0, &pub2), 0);
    assert_memory_equal(pub1.p, pub2.p, 65);
    assert_int_equal(hsm_device_ca_der(dev, &ca2), SIGNET_OK);
    assert_int_equal(ca2.len, ca1.len);
    assert_memory_equal(ca1.p, ca2.p, ca1.len);
    /* and the PEM next to the state */
    sb_wr pem;
    sbw_init(&pem, 16384);
    assert_int_equal(hsm_device_ca_pem(dev, &pem), SIGNET_OK);
    char capath[600];
    snprintf(capath, sizeof capath, "%s.ca.pem", path);
    FILE *f = fopen(capath, "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(n, pem.len);
    assert_memory_equal(buf, pem.p, n);
    hsm_device_free(dev);
    sbw_free(&pem);
    sbw_free(&pub1);
    sbw_free(&pub2);
    sbw_free(&ca1);
    sbw_free(&ca2);
    sbw_free(&op0);
    cleanup(dir, path);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t *p = malloc(1 << 20);
    *len = fread(p, 1, 1 << 20, f);
    fclose(f);
    return p;
}

static void spit(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);
}

/* Rewrites a state file as version 1: without the key section, new checksum. */
static void downgrade(const char *path, size_t cert_len)
{
    size_t len;
    uint8_t *p = slurp(path, &len);
    size_t section = 1 + 32 + 1 + 32 + 4 + cert_len;
    assert_true(len > 32 + section);
    size_t body = len - 32 - section;
    assert_int_equal(p[body], 1); /* "present" */
    p[8] = 0;
    p[9] = 1;
    SHA256(p, body, p + body);
    spit(path, p, body + 32);
    free(p);
}

static void version1_state_loads(void **state)
{
    char dir[64], path[128];
    temp_path(dir, sizeof dir, path, sizeof path);
    hsm_device *dev = tc_device(path, NULL);
    assert_non_null(dev);
    tc_session s;
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    tc_attrs a = {.id = 0x42, .label = "kept", .domains = 1, .algorithm = YH_ALGO_OPAQUE_DATA};
    uint16_t id;
    assert_int_equal(tc_put_opaque(&s, &a, (const uint8_t *)"data", 4, &id), 0);
    sb_wr ca1, ca2;
    sbw_init(&ca1, 8192);
    sbw_init(&ca2, 8192);
    assert_int_equal(hsm_device_ca_der(dev, &ca1), SIGNET_OK);
    hsm_device_free(dev);
    downgrade(path, ca1.len);

    /* It loads, keeps its objects, and the device makes its keys now. */
    dev = tc_device(path, NULL);
    assert_non_null(dev);
    assert_int_equal(tc_open(dev, 1, "password", &s), 0);
    yh_object_info oi;
    assert_int_equal(tc_get_info(&s, 0x42, YH_TYPE_OPAQUE, &oi), 0);
    assert_string_equal(oi.label, "kept");
    assert_int_equal(hsm_device_ca_der(dev, &ca2), SIGNET_OK);
    assert_true(ca2.len != ca1.len || memcmp(ca1.p, ca2.p, ca1.len) != 0);
    hsm_device_free(dev);
    /* ... and wrote them: the next start has the same ones. */
    dev = tc_device(path, NULL);
    assert_non_null(dev);
    sbw_reset(&ca1);
    assert_int_equal(hsm_device_ca_der(dev, &ca1), SIGNET_OK);
    assert_int_equal(ca1.len, ca2.len);
    assert_memory_equal(ca1.p, ca2.p, ca1.len);
    hsm_device_free(dev);

    /* A damaged key section (valid checksum) is refused, never replaced. */
    size_t len;
    uint8_t *p = slurp(path, &len);
    size_t at = len - 32 - (1 + 32 + 1 + 32 + 4 + ca1.len) + 1 + 32; /* the algorithm byte */
    assert_int_equal(p[at], YH_ALGO_EC_P256);
    p[at] = YH_ALGO_RSA_2048;
    SHA256(p, len - 32, p + len - 32);
    spit(path, p, len);
    dev = tc_device(path, NULL);
    assert_null(dev);
    assert_non_null(strstr(signet_errmsg(), "corrupt"));
    size_t len2;
    uint8_t *q = slurp(path, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(p, q, len);
    free(p);
    free(q);
    sbw_free(&ca1);
    sbw_free(&ca2);
    cleanup(dir, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(device_public_key),
        cmocka_unit_test(asym_create_session_frames),
        cmocka_unit_test(keys_persist_and_survive_reset),
        cmocka_unit_test(version1_state_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

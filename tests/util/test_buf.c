/* The byte buffer, hex and base64 codecs, and the error model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "signet/buf.h"
#include "signet/secmem.h"

static void reader_bounds(void **state)
{
    const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05};
    sb_rd r;
    sbr_init(&r, data, sizeof data);
    uint16_t v16;
    uint32_t v32;
    assert_int_equal(sbr_u16(&r, &v16), SIGNET_OK);
    assert_int_equal(v16, 0x0102);
    /* Only 3 left: a u32 fails and does not move the cursor. */
    assert_int_equal(sbr_u32(&r, &v32), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "need 4 bytes, have 3"));
    assert_int_equal(sbr_left(&r), 3);
    assert_int_equal(sbr_end(&r), SIGNET_E_PARSE);
    assert_int_equal(sbr_skip(&r, 3), SIGNET_OK);
    assert_int_equal(sbr_end(&r), SIGNET_OK);
}

static void sshstr_truncated(void **state)
{
    const uint8_t data[] = {0, 0, 0, 9, 'a', 'b'};
    sb_rd r;
    sbr_init(&r, data, sizeof data);
    const uint8_t *p;
    size_t n;
    assert_int_equal(sbr_sshstr(&r, &p, &n), SIGNET_E_PARSE);
    assert_int_equal(r.pos, 0);
}

static void writer_limit(void **state)
{
    sb_wr w;
    sbw_init(&w, 6);
    assert_int_equal(sbw_u32(&w, 0xdeadbeef), SIGNET_OK);
    assert_int_equal(sbw_u16(&w, 0x0102), SIGNET_OK);
    assert_int_equal(sbw_u8(&w, 1), SIGNET_E_PARSE);
    assert_int_equal(w.len, 6);
    assert_memory_equal(w.p, "\xde\xad\xbe\xef\x01\x02", 6);
    sbw_free(&w);

    uint8_t mem[4];
    sbw_init_fixed(&w, mem, sizeof mem);
    assert_int_equal(sbw_printf(&w, "abc"), SIGNET_OK);
    assert_int_equal(w.len, 3);
    assert_int_equal(sbw_printf(&w, "de"), SIGNET_E_PARSE);

    sbw_init_secure(&w, 1 << 20);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(sbw_u8(&w, (uint8_t)i), SIGNET_OK);
    assert_int_equal(w.p[9999], (uint8_t)9999);
    sbw_free(&w);
}

static void hex_codec(void **state)
{
    sb_wr w;
    sbw_init(&w, 64);
    assert_int_equal(hex_decode(&w, "00fFa1", 6), SIGNET_OK);
    assert_memory_equal(w.p, "\x00\xff\xa1", 3);
    sbw_reset(&w);
    assert_int_equal(hex_decode(&w, "abc", 3), SIGNET_E_PARSE);
    assert_int_equal(hex_decode(&w, "zz", 2), SIGNET_E_PARSE);
    assert_int_equal(w.len, 0);
    assert_int_equal(hex_encode(&w, (const uint8_t *)"\x01\xab", 2), SIGNET_OK);
    assert_memory_equal(w.p, "01ab", 4);
    sbw_free(&w);
}

static void b64_codec(void **state)
{
    static const struct { const char *in, *padded, *raw; } v[] = {
        {"", "", ""}, {"f", "Zg==", "Zg"}, {"fo", "Zm8=", "Zm8"}, {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"}, {"fooba", "Zm9vYmE=", "Zm9vYmE"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        sb_wr w;
        sbw_init(&w, 64);
        assert_int_equal(b64_encode(&w, (const uint8_t *)v[i].in, strlen(v[i].in), true), 0);
        assert_int_equal(w.len, strlen(v[i].padded));
        assert_memory_equal(w.p, v[i].padded, w.len);
        sbw_reset(&w);
        assert_int_equal(b64_encode(&w, (const uint8_t *)v[i].in, strlen(v[i].in), false), 0);
        assert_memory_equal(w.p, v[i].raw, w.len);
        sbw_reset(&w);
        assert_int_equal(b64_decode(&w, v[i].raw, strlen(v[i].raw), false), 0);
        assert_int_equal(w.len, strlen(v[i].in));
        assert_memory_equal(w.p, v[i].in, w.len);
        sbw_reset(&w);
        assert_int_equal(b64_decode(&w, v[i].padded, strlen(v[i].padded), true), 0);
        assert_memory_equal(w.p, v[i].in, w.len);
        sbw_free(&w);
    }
    sb_wr w;
    sbw_init(&w, 64);
    assert_int_equal(b64_decode(&w, "Zh", 2, false), SIGNET_E_PARSE); /* non-canonical */
    assert_int_equal(b64_decode(&w, "Z", 1, false), SIGNET_E_PARSE);
    assert_int_equal(b64_decode(&w, "Zm9v!", 5, false), SIGNET_E_PARSE);
    assert_int_equal(b64_decode(&w, "Zg=", 3, true), SIGNET_E_PARSE);
    assert_int_equal(b64_decode(&w, "Zm8==", 5, true), SIGNET_E_PARSE);
    sbw_free(&w);
}

static void secure_memory(void **state)
{
    char *p = smem_alloc(100);
    assert_non_null(p);
    for (int i = 0; i < 100; i++)
        assert_int_equal(p[i], 0);
    memcpy(p, "secret", 7);
    p = smem_realloc(p, 9000);
    assert_string_equal(p, "secret");
    smem_free(p);
    smem_free(NULL);
}

static void error_model(void **state)
{
    assert_int_equal(signet_fail(SIGNET_E_IO, "disk %d", 3), SIGNET_E_IO);
    assert_string_equal(signet_errmsg(), "disk 3");
    signet_wrap(SIGNET_E_IO, "saving state");
    assert_string_equal(signet_errmsg(), "saving state: disk 3");
    assert_int_equal(signet_fail_device(0x0a, "signing"), SIGNET_E_DEVICE);
    assert_non_null(strstr(signet_errmsg(), "signet audit drain"));
    assert_int_equal(signet_err_device(), 0x0a);
    assert_int_equal(signet_exit_code(SIGNET_E_VERIFY), 1);
    assert_int_equal(signet_exit_code(SIGNET_E_ARG), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reader_bounds), cmocka_unit_test(sshstr_truncated),
        cmocka_unit_test(writer_limit),  cmocka_unit_test(hex_codec),
        cmocka_unit_test(b64_codec),     cmocka_unit_test(secure_memory),
        cmocka_unit_test(error_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

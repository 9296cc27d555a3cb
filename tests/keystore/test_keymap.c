/* The key map: strict parsing (every error names its line), formatting, the
 * Android default set and its id scheme. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "signet/keystore.h"
#include "signet/proto.h"

static signet_rc parse(const char *text, signet_keymap *m)
{
    return signet_keymap_parse(text, strlen(text), m);
}

static void parses_valid_map(void **state)
{
    const char *text = "# release keys\n"
                       "\n"
                       "releasekey 0x0100 rsa4096 1 apk   # the main key\n"
                       "platform\t257\trsa2048\t1,2\tplatform\n"
                       "  avb_a 0x102 ecp256 all avb\n"
                       "ota.b 0xFFFF ed25519 16 ota";
    signet_keymap m;
    assert_int_equal(parse(text, &m), SIGNET_OK);
    assert_int_equal(m.n, 4);
    assert_string_equal(m.v[0].name, "releasekey");
    assert_int_equal(m.v[0].id, 0x0100);
    assert_int_equal(m.v[0].algorithm, YH_ALGO_RSA_4096);
    assert_int_equal(m.v[0].domains, 1);
    assert_string_equal(m.v[0].role, "apk");
    assert_int_equal(m.v[1].id, 257);
    assert_int_equal(m.v[1].algorithm, YH_ALGO_RSA_2048);
    assert_int_equal(m.v[1].domains, 3);
    assert_int_equal(m.v[2].algorithm, YH_ALGO_EC_P256);
    assert_int_equal(m.v[2].domains, 0xffff);
    assert_int_equal(m.v[3].id, 0xffff);
    assert_int_equal(m.v[3].algorithm, YH_ALGO_EC_ED25519);
    assert_int_equal(m.v[3].domains, 0x8000);
    assert_non_null(signet_keymap_find(&m, "avb_a"));
    assert_null(signet_keymap_find(&m, "avb_b"));
    assert_string_equal(signet_keymap_find_id(&m, 257)->name, "platform");
    signet_keymap_free(&m);

    assert_int_equal(parse("", &m), SIGNET_OK);
    assert_int_equal(m.n, 0);
    assert_int_equal(parse("# nothing\n\n   \n", &m), SIGNET_OK);
    assert_int_equal(m.n, 0);
    signet_keymap_free(&m);
}

struct bad {
    const char *text;
    const char *expect; /* substring of the message */
};

static void refuses_every_error(void **state)
{
    static const struct bad cases[] = {
        {"a 0x100 rsa2048 1\n", "line 1: 4 fields"},
        {"# c\na 0x100 rsa2048 1 apk extra\n", "line 2: 6 fields"},
        {"a\n", "line 1: 1 field,"},
        {"a 0 rsa2048 1 apk\n", "line 1: id 0"},
        {"a 0x0 rsa2048 1 apk\n", "line 1: id 0"},
        {"a 0x10000 rsa2048 1 apk\n", "line 1: id '0x10000'"},
        {"a 65536 rsa2048 1 apk\n", "line 1: id '65536'"},
        {"a 0100 rsa2048 1 apk\n", "line 1: id '0100'"},
        {"a -1 rsa2048 1 apk\n", "line 1: id '-1'"},
        {"a 0x rsa2048 1 apk\n", "line 1: id '0x'"},
        {"a 12z rsa2048 1 apk\n", "line 1: id '12z'"},
        {"a 0x100 rsa1024 1 apk\n", "line 1: 'rsa1024' is not a signing key algorithm"},
        {"a 0x100 aes128-ccm-wrap 1 apk\n", "line 1: 'aes128-ccm-wrap' is not a signing"},
        {"a 0x100 hmac-sha256 1 apk\n", "line 1: 'hmac-sha256' is not a signing"},
        {"a 0x100 rsa2048 17 apk\n", "line 1: bad domain"},
        {"a 0x100 rsa2048 0x0 apk\n", "line 1: domain mask is empty"},
        {"a 0x100 rsa2048 1,x apk\n", "line 1: bad domain"},
        {"a/b 0x100 rsa2048 1 apk\n", "line 1: key name 'a/b' is not valid"},
        {".hidden 0x100 rsa2048 1 apk\n", "line 1: key name '.hidden'"},
        {"-opt 0x100 rsa2048 1 apk\n", "line 1: key name '-opt'"},
        {"..\t0x100 rsa2048 1 apk\n", "line 1: key name '..'"},
        {"a_name_that_is_longer_than_forty_characters 0x100 rsa2048 1 apk\n",
         "line 1: key name 'a_name_that_is_longer_than_forty_characters'"},
        {"a 0x100 rsa2048 1 ro/le\n", "line 1: role 'ro/le' is not valid"},
        {"a 0x100 rsa2048 1 role_that_is_much_longer_than_31_chars\n", "line 1: role"},
        {"a 0x100 rsa2048 1 apk\r\n", "line 1: carriage return"},
        {"a 0x100 rsa2048 1 apk\n\x01\n", "line 2: control character 0x01"},
        {"a 0x100 rsa2048 1 apk\nb\xc3\xa9 0x101 rsa2048 1 apk\n", "line 2: non-ASCII byte"},
        {"a 0x100 rsa2048 1 apk\nb 0x101 rsa2048 1 apk\na 0x102 rsa2048 1 apk\n",
         "line 3: key 'a' is already defined on line 1"},
        {"a 0x100 rsa2048 1 apk\n\nb 256 rsa2048 1 apk\n",
         "line 3: id 0x0100 of key 'b' is already used by key 'a' on line 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        signet_keymap m;
        signet_rc rc = parse(cases[i].text, &m);
        if (rc != SIGNET_E_PARSE || !strstr(signet_errmsg(), cases[i].expect)) {
            fprintf(stderr, "case %zu: rc %d, message \"%s\", expected \"%s\"\n", i, rc,
                    signet_errmsg(), cases[i].expect);
            fail();
        }
        assert_int_equal(m.n, 0);
        assert_null(m.v);
    }
}

static void refuses_nul_and_long_lines(void **state)
{
    signet_keymap m;
    const char nul[] = "a 0x100 rsa2048 1 apk\nb 0x101\0 rsa2048 1 apk\n";
    assert_int_equal(signet_keymap_parse(nul, sizeof nul - 1, &m), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "line 2: contains a NUL byte"));

    char *longline = malloc(3000);
    memset(longline, '#', 2999);
    longline[2999] = 0;
    assert_int_equal(parse(longline, &m), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "line 1 is longer than"));
    free(longline);

    /* Comments may hold UTF-8 (people's names), text outside them may not. */
    assert_int_equal(parse("# Ren\xc3\xa9\na 0x100 rsa2048 1 apk # Jos\xc3\xa9\n", &m), SIGNET_OK);
    assert_int_equal(m.n, 1);
    signet_keymap_free(&m);
}

static void format_round_trip(void **state)
{
    signet_keymap m, back;
    assert_int_equal(parse("releasekey 0x100 rsa4096 1 apk\n"
                           "com.android.adbd.payload 0x1ff rsa4096 1,2,16 apex-payload\n"
                           "x 7 ed25519 all ota\n",
                           &m),
                     SIGNET_OK);
    sb_wr w;
    sbw_init(&w, 1 << 16);
    assert_int_equal(signet_keymap_format(&m, &w), SIGNET_OK);
    assert_int_equal(signet_keymap_parse((const char *)w.p, w.len, &back), SIGNET_OK);
    assert_int_equal(back.n, m.n);
    assert_memory_equal(back.v, m.v, m.n * sizeof m.v[0]);
    assert_non_null(memmem(w.p, w.len, "0x01ff rsa4096  1,2,16  apex-payload", 36));
    sbw_free(&w);
    signet_keymap_free(&m);
    signet_keymap_free(&back);
}

static void add_checks_entries(void **state)
{
    signet_keymap m;
    signet_keymap_init(&m);
    signet_keymap_entry e = {.name = "a", .id = 0x100, .algorithm = YH_ALGO_RSA_2048,
                             .domains = 1, .role = "apk"};
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_OK);
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "already in the key map"));
    snprintf(e.name, sizeof e.name, "b");
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), "already used by key 'a'"));
    e.id = 0;
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_E_PARSE);
    e.id = 0x101;
    e.domains = 0;
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_E_PARSE);
    e.domains = 1;
    e.algorithm = YH_ALGO_AES256_CCM_WRAP;
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_E_PARSE);
    e.algorithm = YH_ALGO_EC_P384;
    snprintf(e.role, sizeof e.role, "bad role");
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_E_PARSE);
    snprintf(e.role, sizeof e.role, "ok");
    assert_int_equal(signet_keymap_add(&m, &e), SIGNET_OK);
    assert_int_equal(m.n, 2);
    assert_int_equal(signet_keymap_next_id(&m), 0x102);
    signet_keymap_free(&m);
}

static void next_id_scheme(void **state)
{
    signet_keymap m;
    signet_keymap_init(&m);
    assert_int_equal(signet_keymap_next_id(&m), SIGNET_KEYMAP_FIRST_ID);
    assert_int_equal(parse("low 5 rsa2048 1 apk\n", &m), SIGNET_OK);
    assert_int_equal(signet_keymap_next_id(&m), 0x0100); /* never below the first id */
    signet_keymap_free(&m);
    assert_int_equal(parse("hi 0x0300 rsa2048 1 apk\nlo 0x0200 rsa2048 1 apk\n", &m), SIGNET_OK);
    assert_int_equal(signet_keymap_next_id(&m), 0x0301);
    signet_keymap_free(&m);
    assert_int_equal(parse("top 0xffff rsa2048 1 apk\n", &m), SIGNET_OK);
    assert_int_equal(signet_keymap_next_id(&m), 0);
    signet_keymap_free(&m);
}

static const char *const APK[] = {"releasekey", "platform",  "shared",      "media",
                                  "networkstack", "bluetooth", "sdk_sandbox", "nfc"};

static void default_set(void **state)
{
    const char *devs[] = {"alpha", "beta"};
    const char *apex[] = {"com.android.adbd"};
    signet_keymap_defaults d = {.algorithm = YH_ALGO_RSA_2048, .devices = devs, .n_devices = 2,
                                .apexes = apex, .n_apexes = 1};
    signet_keymap m;
    signet_keymap_init(&m);
    size_t added = 0;
    assert_int_equal(signet_keymap_add_defaults(&m, &d, &added), SIGNET_OK);
    assert_int_equal(added, 12);
    assert_int_equal(m.n, 12);
    for (size_t i = 0; i < 8; i++) {
        assert_string_equal(m.v[i].name, APK[i]);
        assert_int_equal(m.v[i].id, 0x0100 + i);
        assert_string_equal(m.v[i].role, "apk");
        assert_int_equal(m.v[i].algorithm, YH_ALGO_RSA_2048);
        assert_int_equal(m.v[i].domains, 1);
    }
    assert_string_equal(m.v[8].name, "avb_alpha");
    assert_int_equal(m.v[8].id, 0x0108);
    assert_string_equal(m.v[8].role, "avb");
    assert_string_equal(m.v[9].name, "avb_beta");
    assert_int_equal(m.v[9].id, 0x0109);
    assert_string_equal(m.v[10].name, "com.android.adbd.container");
    assert_string_equal(m.v[10].role, "apex");
    assert_int_equal(m.v[10].id, 0x010a);
    assert_string_equal(m.v[11].name, "com.android.adbd.payload");
    assert_string_equal(m.v[11].role, "apex-payload");
    assert_int_equal(m.v[11].id, 0x010b);

    /* A later device: appended after the maximum, nothing else moves. */
    signet_keymap_entry before[12];
    memcpy(before, m.v, sizeof before);
    const char *later[] = {"gamma", "alpha"};
    signet_keymap_defaults d2 = {.devices = later, .n_devices = 2};
    assert_int_equal(signet_keymap_add_defaults(&m, &d2, &added), SIGNET_OK);
    assert_int_equal(added, 1);
    assert_int_equal(m.n, 13);
    assert_memory_equal(m.v, before, sizeof before);
    assert_string_equal(m.v[12].name, "avb_gamma");
    assert_int_equal(m.v[12].id, 0x010c);
    assert_int_equal(m.v[12].algorithm, YH_ALGO_RSA_4096); /* default algorithm */
    signet_keymap_free(&m);
}

static void default_set_after_hand_edits(void **state)
{
    /* A map someone extended by hand keeps its ids; new keys go after its maximum. */
    signet_keymap m;
    assert_int_equal(parse("platform 0x0500 rsa4096 1 apk\nmine 0x0600 ecp256 2 other\n", &m),
                     SIGNET_OK);
    signet_keymap_defaults d = {0};
    size_t added;
    assert_int_equal(signet_keymap_add_defaults(&m, &d, &added), SIGNET_OK);
    assert_int_equal(added, 7);
    assert_int_equal(signet_keymap_find(&m, "platform")->id, 0x0500);
    assert_int_equal(signet_keymap_find(&m, "releasekey")->id, 0x0601);
    assert_int_equal(signet_keymap_find(&m, "nfc")->id, 0x0607);
    signet_keymap_free(&m);
}

static void default_set_refusals(void **state)
{
    signet_keymap m;
    signet_keymap_init(&m);
    const char *devs[] = {"alpha"};
    signet_keymap_defaults d = {.algorithm = YH_ALGO_EC_P256, .devices = devs, .n_devices = 1};
    assert_int_equal(signet_keymap_add_defaults(&m, &d, NULL), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "must be RSA"));
    assert_int_equal(m.n, 0);
    /* Without AVB or APEX keys an EC set is fine. */
    d.n_devices = 0;
    assert_int_equal(signet_keymap_add_defaults(&m, &d, NULL), SIGNET_OK);
    assert_int_equal(m.n, 8);
    signet_keymap_free(&m);

    /* A failure part way leaves the map untouched. */
    signet_keymap_init(&m);
    const char *okdev[] = {"fine"};
    signet_keymap_defaults d4 = {.devices = okdev, .n_devices = 1};
    assert_int_equal(signet_keymap_parse("top 0xfffa rsa2048 1 apk\n", 24, &m), SIGNET_OK);
    assert_int_equal(signet_keymap_add_defaults(&m, &d4, NULL), SIGNET_E_STATE);
    assert_non_null(strstr(signet_errmsg(), "no free key id"));
    assert_int_equal(m.n, 1);
    signet_keymap_free(&m);

    const char *bad[] = {"../x"};
    signet_keymap_defaults d2 = {.devices = bad, .n_devices = 1};
    assert_int_equal(signet_keymap_add_defaults(&m, &d2, NULL), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "device name '../x'"));
    const char *longname[] = {"a_device_name_far_too_long_for_a_label_xx"};
    signet_keymap_defaults d3 = {.devices = longname, .n_devices = 1};
    assert_int_equal(signet_keymap_add_defaults(&m, &d3, NULL), SIGNET_E_ARG);
    assert_non_null(strstr(signet_errmsg(), "would not be a valid key name"));
    signet_keymap_free(&m);
}

static void file_save_and_load(void **state)
{
    char dir[] = "/tmp/signet-keymap-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/keymap.txt", dir);
    signet_keymap m, back;
    assert_int_equal(signet_keymap_load(path, &back), SIGNET_E_NOTFOUND);
    signet_keymap_init(&m);
    signet_keymap_defaults d = {.algorithm = YH_ALGO_RSA_2048};
    assert_int_equal(signet_keymap_add_defaults(&m, &d, NULL), SIGNET_OK);
    assert_int_equal(signet_keymap_save(path, &m), SIGNET_OK);
    assert_int_equal(signet_keymap_load(path, &back), SIGNET_OK);
    assert_int_equal(back.n, 8);
    assert_memory_equal(back.v, m.v, m.n * sizeof m.v[0]);
    signet_keymap_free(&back);

    FILE *f = fopen(path, "a");
    fputs("broken line\n", f);
    fclose(f);
    assert_int_equal(signet_keymap_load(path, &back), SIGNET_E_PARSE);
    assert_non_null(strstr(signet_errmsg(), path));
    assert_non_null(strstr(signet_errmsg(), "line 11: 2 fields"));
    unlink(path);
    rmdir(dir);
    signet_keymap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_valid_map),
        cmocka_unit_test(refuses_every_error),
        cmocka_unit_test(refuses_nul_and_long_lines),
        cmocka_unit_test(format_round_trip),
        cmocka_unit_test(add_checks_entries),
        cmocka_unit_test(next_id_scheme),
        cmocka_unit_test(default_set),
        cmocka_unit_test(default_set_after_hand_edits),
        cmocka_unit_test(default_set_refusals),
        cmocka_unit_test(file_save_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* `signet shares split|combine` end to end: the real binary, stdin and stdout,
 * exit codes and messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/signet-shares-XXXXXX";
static char out[8192], err[8192];

static void slurp(const char *name, char *buf, size_t cap)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
}

/* Runs `signet ARGS` with input on stdin; returns the exit status, fills out/err. */
static int signet(const char *input, const char *args)
{
    char path[256], cmd[1024];
    snprintf(path, sizeof path, "%s/in", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(input, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s && \"%s/signet\" %s <in >out 2>err", dir,
             getenv("SIGNET_BIN_DIR"), args);
    int st = system(cmd);
    slurp("out", out, sizeof out);
    slurp("err", err, sizeof err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* id 0x00ff, domains 1, caps, delegated, key 00..1f: a wrap-key blob. */
static const char BLOB[] = "00ff0001000000000000300000000000000000000"
                           "00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char CHECK[] = "c8e32265306c03a1ac5b6e0da6dad7b4";

static void split_then_every_triple_combines(void **state)
{
    char shares[5][128];
    assert_int_equal(signet(BLOB, "shares split -t 3 -n 5"), 0);
    char *p = out;
    for (int i = 0; i < 5; i++) {
        char *nl = strchr(p, '\n');
        assert_non_null(nl);
        *nl = 0;
        /* T-X- plus 70 characters of base64 for the 52-byte blob. */
        assert_int_equal(strlen(p), 74);
        assert_int_equal(p[0], '3');
        assert_int_equal(p[2], '1' + i);
        snprintf(shares[i], sizeof shares[i], "%s", p);
        p = nl + 1;
    }
    assert_int_equal(*p, 0);
    for (int a = 0; a < 5; a++)
        for (int b = a + 1; b < 5; b++)
            for (int c = b + 1; c < 5; c++) {
                char in[512];
                snprintf(in, sizeof in, "# custodians\n\n  %s\n%s\r\n%s\n", shares[c], shares[a],
                         shares[b]);
                assert_int_equal(signet(in, "shares combine"), 0);
                assert_int_equal(strncmp(out, BLOB, strlen(BLOB)), 0);
                assert_string_equal(out + strlen(BLOB), "\n");
            }

    char in[512], args[128];
    snprintf(in, sizeof in, "%s\n%s\n%s\n", shares[0], shares[1], shares[4]);
    snprintf(args, sizeof args, "shares combine --check %s", CHECK);
    assert_int_equal(signet(in, args), 0);
    assert_int_equal(strncmp(out, BLOB, strlen(BLOB)), 0);
    /* A wrong check value: exit 1, nothing on stdout. */
    snprintf(args, sizeof args, "shares combine --check %.31s0", CHECK);
    assert_int_equal(signet(in, args), 1);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "check value"));

    /* Two shares are not enough. */
    snprintf(in, sizeof in, "%s\n%s\n", shares[0], shares[1]);
    assert_int_equal(signet(in, "shares combine"), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "collect 1 more"));
    /* Four shares, one mistyped: caught. */
    char bad[128];
    snprintf(bad, sizeof bad, "%s", shares[3]);
    bad[10] = bad[10] == 'A' ? 'B' : 'A';
    snprintf(in, sizeof in, "%s\n%s\n%s\n%s\n", shares[0], shares[1], shares[2], bad);
    assert_int_equal(signet(in, "shares combine"), 1);
    assert_non_null(strstr(err, "does not agree"));
}

static void known_vector_through_cli(void **state)
{
    assert_int_equal(signet("2-1-1YAYwmOHqZ69jA\n2-4-F7rAjX3UOa53KA\n", "shares combine"), 0);
    assert_string_equal(out, "4d79207365637265740a\n"); /* "My secret\n" */
}

static void rejections_and_help(void **state)
{
    assert_int_equal(signet("00ff", "shares split -t 1 -n 3"), 2);
    assert_non_null(strstr(err, "threshold 1"));
    assert_int_equal(signet("00ff", "shares split -t 3 -n 10"), 2);
    assert_int_equal(signet("00ff", "shares split -t 4 -n 3"), 2);
    assert_int_equal(signet("00fg", "shares split -t 2 -n 3"), 2);
    assert_non_null(strstr(err, "hex"));
    assert_int_equal(signet("", "shares split -t 2 -n 3"), 2);
    assert_int_equal(signet("00ff", "shares split -n 3"), 2);
    assert_int_equal(signet("00ff", "shares split -t 2 -n 3 extra"), 2);
    assert_int_equal(signet("2-1-1YAYwmOHqZ69jA\n2-0-F7rAjX3UOa53KA\n", "shares combine"), 8);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "index 0"));
    /* The message never repeats the share. */
    assert_null(strstr(err, "F7rAjX3UOa53KA"));
    assert_int_equal(signet("2-1-1YAYwmOHqZ69jA\n2-1-1YAYwmOHqZ69jA\n", "shares combine"), 2);
    assert_non_null(strstr(err, "both have index 1"));
    assert_int_equal(signet("", "shares frobnicate"), 2);
    assert_int_equal(signet("", "shares combine --bogus"), 2);
    assert_int_equal(signet("", "shares combine extra"), 2);
    assert_int_equal(signet("", "shares --help"), 0);
    assert_non_null(strstr(out, "usage: signet [global options] shares <command>"));
    assert_non_null(strstr(out, "\n  split "));
    assert_non_null(strstr(out, "\n  combine "));
    assert_int_equal(signet("", "shares split --help"), 0);
    assert_non_null(strstr(out, "THRESHOLD"));
    assert_int_equal(signet("", "shares combine --help"), 0);
    assert_non_null(strstr(out, "--check"));
}

static int setup(void **state)
{
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    if (!getenv("SIGNET_BIN_DIR")) {
        fprintf(stderr, "SIGNET_BIN_DIR is not set: run this test through ctest\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_then_every_triple_combines),
        cmocka_unit_test(known_vector_through_cli),
        cmocka_unit_test(rejections_and_help),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* Reading a password: a file's first line, the environment variable, the terminal.
 * A password file longer than the longest password is refused (it was once cut
 * to its first 4095 bytes and used); with no source at all, the message names the
 * environment variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signet/hash.h"
#include "signet/secmem.h"

static char dir[] = "/tmp/signet-secmem-XXXXXX";
static char path[64];

static int setup(void **state)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/pw", dir);
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    rmdir(dir);
    return 0;
}

static void put(const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void file_first_line(void **state)
{
    char *pw = NULL;
    put("secret\r\nnext line\n", 18);
    assert_int_equal(signet_read_password(path, NULL, NULL, &pw), SIGNET_OK);
    assert_string_equal(pw, "secret");
    smem_free(pw);
}

static void file_at_and_over_the_limit(void **state)
{
    char big[4097];
    memset(big, 'p', sizeof big);
    char *pw = NULL;
    /* 4095 bytes is the longest password: taken whole. */
    put(big, 4095);
    assert_int_equal(signet_read_password(path, NULL, NULL, &pw), SIGNET_OK);
    assert_int_equal(strlen(pw), 4095);
    smem_free(pw);
    /* 4095 and its newline: still the same password. */
    big[4095] = '\n';
    put(big, 4096);
    assert_int_equal(signet_read_password(path, NULL, NULL, &pw), SIGNET_OK);
    assert_int_equal(strlen(pw), 4095);
    smem_free(pw);
    /* One byte more (or more): refused, not cut. */
    memset(big, 'p', sizeof big);
    for (size_t len = 4096; len <= 4097; len++) {
        pw = NULL;
        put(big, len);
        assert_int_equal(signet_read_password(path, NULL, NULL, &pw), SIGNET_E_ARG);
        assert_null(pw);
        assert_non_null(strstr(signet_errmsg(), "longer than a password of at most 4095 bytes"));
    }
    /* A short first line in a file too long to read whole: refused too. */
    char *huge = calloc(1, 10000);
    assert_non_null(huge);
    memset(huge, 'x', 9999);
    memcpy(huge, "short\n", 6);
    put(huge, 9999);
    free(huge);
    assert_int_equal(signet_read_password(path, NULL, NULL, &pw), SIGNET_E_ARG);
}

static void file_with_nul_or_missing(void **state)
{
    char *pw = NULL;
    put("abc\0def\n", 8);
    assert_int_equal(signet_read_password(path, NULL, NULL, &pw), SIGNET_E_ARG);
    assert_null(pw);
    assert_non_null(strstr(signet_errmsg(), "NUL"));
    assert_int_equal(signet_read_password("/nonexistent/pw", NULL, NULL, &pw), SIGNET_E_IO);
    assert_non_null(strstr(signet_errmsg(), "/nonexistent/pw"));
}

static void environment_taken_and_cleared(void **state)
{
    char *pw = NULL;
    setenv("SIGNET_TEST_PW", "from-env", 1);
    assert_int_equal(signet_read_password(NULL, "SIGNET_TEST_PW", NULL, &pw), SIGNET_OK);
    assert_string_equal(pw, "from-env");
    assert_null(getenv("SIGNET_TEST_PW"));
    smem_free(pw);
}

/* No file, no variable, no terminal (a new session has no controlling tty). */
static void no_source_names_the_variable(void **state)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        setsid();
        unsetenv("SIGNET_PASSWORD");
        char *pw = NULL;
        signet_rc rc = signet_read_password(NULL, "SIGNET_PASSWORD", "pw: ", &pw);
        const char *m = signet_errmsg();
        if (write(fds[1], m, strlen(m)) < 0)
            _exit(99);
        _exit(rc == SIGNET_E_ARG ? 0 : 1);
    }
    close(fds[1]);
    char msg[512] = {0};
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 && (r = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)r;
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_non_null(strstr(msg, "--password-file"));
    assert_non_null(strstr(msg, "SIGNET_PASSWORD"));
}

/* The one-shot hash helper: known answer, and a NULL digest is an error. */
static void hash_helper(void **state)
{
    uint8_t out[EVP_MAX_MD_SIZE];
    static const uint8_t abc_sha256[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22,
        0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00,
        0x15, 0xad};
    assert_int_equal(signet_sha256("abc", 3, out), SIGNET_OK);
    assert_memory_equal(out, abc_sha256, 32);
    unsigned len = 0;
    assert_int_equal(signet_hash(EVP_sha384(), "", 0, out, &len), SIGNET_OK);
    assert_int_equal(len, 48);
    assert_int_equal(signet_hash(NULL, "abc", 3, out, &len), SIGNET_E_CRYPTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(file_first_line),
        cmocka_unit_test(file_at_and_over_the_limit),
        cmocka_unit_test(file_with_nul_or_missing),
        cmocka_unit_test(environment_taken_and_cleared),
        cmocka_unit_test(no_source_names_the_variable),
        cmocka_unit_test(hash_helper),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

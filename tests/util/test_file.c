/* The durable writer from pieces (signet_file_replace_iov): many pieces (more
 * than one writev takes), empty pieces, a large piece, nothing at all; the
 * file holds exactly the pieces in order, with the mode asked for, and no
 * temporary file is left; staged files appear only when committed; a missing
 * directory is an I/O error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/hsmd_fixture.h"
#include "signet/buf.h"
#include "signet/file.h"

static char dir[] = "/tmp/test_file_XXXXXX";

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

static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_pieces_in_order(void **state)
{
    enum { N = 300, BIG = 3 << 20 };
    struct iovec v[N];
    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 7 + 3);
    static uint8_t small[N][8];
    sb_wr want;
    sbw_init(&want, 64u << 20);
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)(i % 9); /* every ninth piece is empty */
        memset(small[i], 'a' + i % 26, sizeof small[i]);
        v[i] = (struct iovec){small[i], len};
        if (i == 150)
            v[i] = (struct iovec){big, BIG};
        assert_int_equal(sbw_put(&want, v[i].iov_base, v[i].iov_len), SIGNET_OK);
    }
    char path[128];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    assert_int_equal(signet_file_replace_iov(path, v, N, 0640, true), SIGNET_OK);
    size_t len;
    char *got;
    assert_int_equal(test_read_file(path, &got, &len), 0);
    assert_int_equal(len, want.len);
    assert_memory_equal(got, want.p, len);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(entries(), 1);
    free(got);

    /* replacing with nothing: an empty file */
    assert_int_equal(signet_file_replace_iov(path, v, 0, 0644, false), SIGNET_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(entries(), 1);
    sbw_free(&want);
    free(big);
}

/* Two steps: nothing is at the path before the commit, an aborted file leaves
 * nothing behind. */
static void test_stage_commit_abort(void **state)
{
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/a.bin", dir);
    snprintf(b, sizeof b, "%s/b.bin", dir);
    unlink(a);
    int before = entries();
    struct iovec v[2] = {{(void *)"hello ", 6}, {(void *)"world", 5}};
    signet_file_stage sa, sb;
    assert_int_equal(signet_file_stage_iov(&sa, a, v, 2, 0644), SIGNET_OK);
    assert_int_equal(signet_file_stage_iov(&sb, b, v, 1, 0644), SIGNET_OK);
    struct stat st;
    assert_int_not_equal(stat(a, &st), 0);
    assert_int_equal(entries(), before + 2); /* the two temporary files */
    signet_file_abort(&sb);
    assert_int_equal(signet_file_commit(&sa, true), SIGNET_OK);
    assert_int_equal(signet_fsync_parent(a), SIGNET_OK);
    assert_int_equal(entries(), before + 1);
    assert_int_not_equal(stat(b, &st), 0);
    char *got;
    size_t len;
    assert_int_equal(test_read_file(a, &got, &len), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(got, "hello world", 11);
    free(got);
    /* a second commit of the same stage is refused */
    assert_int_equal(signet_file_commit(&sa, true), SIGNET_E_STATE);
    unlink(a);
}

static void test_missing_directory(void **state)
{
    char path[128];
    snprintf(path, sizeof path, "%s/no/such/out.bin", dir);
    struct iovec v = {(void *)"x", 1};
    assert_int_equal(signet_file_replace_iov(path, &v, 1, 0644, true), SIGNET_E_IO);
    assert_non_null(strstr(signet_errmsg(), "temporary file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pieces_in_order),
        cmocka_unit_test(test_stage_commit_abort),
        cmocka_unit_test(test_missing_directory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

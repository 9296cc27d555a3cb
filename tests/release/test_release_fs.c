/* APEX payload file systems (src/cli/release_fs.c): an ext4 payload whose inodes
 * carry SELinux labels and a file capability, as apexer's e2fsdroid writes them, is
 * unpacked, one APK inside rewritten, and rebuilt; every security.* attribute must be
 * in the new image byte for byte (read back with debugfs ea_get), e2fsck must find
 * it clean, and two rebuilds of the same input must be the same bytes.  A payload
 * whose attribute names debugfs cannot round-trip is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/release_fs.h"
#include "common/hsmd_fixture.h"

static char dir[] = "/tmp/signet-fs-test-XXXXXX";

/* file_io.c's one dependency on the rest of the command (src/cli/common.c, which
 * pulls in the whole CLI): the same message. */
signet_rc cli_open_error(const char *what, const char *path);
signet_rc cli_open_error(const char *what, const char *path)
{
    return signet_fail(SIGNET_E_IO, "cannot open %s %s", what ? what : "", path);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "cd %s && ", dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    return run_cmd(cmd, NULL);
}

/* The labels AOSP gives (the kernel stores them NUL-terminated), one capability
 * (struct vfs_cap_data, revision 2, CAP_NET_RAW) and one user attribute. */
static const struct {
    const char *path, *name, *printf_value;
} ATTRS[] = {
    {"/", "security.selinux", "u:object_r:system_file:s0\\000"},
    {"/etc", "security.selinux", "u:object_r:system_file:s0\\000"},
    {"/etc/data.bin", "security.selinux", "u:object_r:system_lib_file:s0\\000"},
    {"/etc/data.bin", "security.capability",
     "\\001\\000\\000\\002\\000\\040\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000"
     "\\000\\000"},
    {"/app/Inner/Inner.apk", "security.selinux", "u:object_r:system_file:s0\\000"},
};

static void make_image(const char *extra_name)
{
    assert_int_equal(sh("mkdir -p root/etc root/app/Inner && head -c 5000 /dev/zero > "
                        "root/etc/data.bin && printf apk > root/app/Inner/Inner.apk && "
                        "mkfs.ext4 -q -F -b 4096 -O ^has_journal -E "
                        "root_owner=0:0,hash_seed=00000000-0000-0000-0000-000000000005 -U "
                        "00000000-0000-0000-0000-000000000001 -d root old.img 256k && "
                        ": > set.cmds"),
                     0);
    for (size_t i = 0; i < sizeof ATTRS / sizeof ATTRS[0]; i++)
        assert_int_equal(sh("printf '%s' > v%zu && echo 'ea_set -f v%zu %s %s' >> set.cmds",
                            ATTRS[i].printf_value, i, i, ATTRS[i].path, ATTRS[i].name),
                         0);
    assert_int_equal(sh("echo 'ea_set /etc user.note kept-out' >> set.cmds"), 0);
    if (extra_name)
        assert_int_equal(sh("echo 'ea_set /etc %s x' >> set.cmds", extra_name), 0);
    assert_int_equal(sh("debugfs -w -f set.cmds old.img >/dev/null 2>&1"), 0);
}

/* Unpacks old.img, rewrites the APK inside, rebuilds into OUT. */
static signet_rc rebuild(const char *out)
{
    char path[300];
    snprintf(path, sizeof path, "%s/old.img", dir);
    char *img = NULL;
    size_t len = 0;
    assert_int_equal(test_read_file(path, &img, &len), 0);
    signet_release_fs *fs = NULL;
    const char *const *apks = NULL;
    size_t n_apks = 0;
    signet_rc rc = cli_release_fs_ops.open(NULL, "test.apex", (const uint8_t *)img, len, &fs,
                                           &apks, &n_apks);
    free(img);
    if (rc != SIGNET_OK)
        return rc;
    assert_int_equal(n_apks, 1);
    assert_string_equal(apks[0], "app/Inner/Inner.apk");
    static const char signed_apk[] = "a longer, re-signed apk";
    assert_int_equal(cli_release_fs_ops.write(fs, apks[0], (const uint8_t *)signed_apk,
                                              sizeof signed_apk - 1),
                     SIGNET_OK);
    sb_wr w;
    rc = cli_release_fs_ops.rebuild(fs, &w);
    cli_release_fs_ops.close(fs);
    assert_int_equal(rc, SIGNET_OK);
    snprintf(path, sizeof path, "%s/%s", dir, out);
    assert_int_equal(test_write_file(path, w.p, w.len), 0);
    sbw_free(&w);
    return SIGNET_OK;
}

static void labels_carried(void **state)
{
    (void)state;
    make_image(NULL);
    assert_int_equal(rebuild("new.img"), SIGNET_OK);
    assert_int_equal(sh("e2fsck -fn new.img >/dev/null 2>&1"), 0);
    for (size_t i = 0; i < sizeof ATTRS / sizeof ATTRS[0]; i++)
        assert_int_equal(sh("rm -f got && debugfs -R 'ea_get -f got %s %s' new.img >/dev/null "
                            "2>&1 && cmp -s got v%zu",
                            ATTRS[i].path, ATTRS[i].name, i),
                         0);
    /* The rewritten APK is in the new image; user.* attributes are not carried. */
    assert_int_equal(sh("debugfs -R 'cat /app/Inner/Inner.apk' new.img 2>/dev/null | "
                        "grep -q re-signed"),
                     0);
    assert_int_not_equal(sh("debugfs -R 'ea_list /etc' new.img 2>/dev/null | grep -q user.note"),
                         0);
    /* The same input rebuilds to the same bytes. */
    assert_int_equal(rebuild("again.img"), SIGNET_OK);
    assert_int_equal(sh("cmp -s new.img again.img"), 0);
}

/* A name longer than any security.* attribute signet carries is refused, not dropped. */
static void odd_name_refused(void **state)
{
    (void)state;
    assert_int_equal(sh("rm -rf root old.img"), 0);
    make_image("security.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    signet_rc rc = rebuild("bad.img");
    assert_int_not_equal(rc, SIGNET_OK);
    assert_non_null(strstr(signet_errmsg(), "debugfs ea_list"));
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(labels_carried),
        cmocka_unit_test(odd_name_refused),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)run_cmd(cmd, NULL);
    return r;
}

/* A provision that stops midway leaves a clear state and can be rerun to success:
 * a fault injected at a step, the backup daemon killed while the ceremony runs,
 * and the ceremony process itself killed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ceremony/cer_rig.h"
#include "common/hsmd_fixture.h"
#include "signet/audit.h"

struct fx {
    struct rig r;
    struct hsmd pri, bak;
    char plan[RIG_PATH], out[RIG_PATH];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (rig_init(&f->r) != 0)
        return -1;
    snprintf(f->plan, sizeof f->plan, "%s/plan.txt", f->r.dir);
    *state = f;
    return 0;
}

/* Each test: two devices in factory state and its own output directory. */
static void fresh(struct fx *f, unsigned serial, const char *outname)
{
    char a[32], b[32];
    hsmd_cleanup(&f->pri);
    hsmd_cleanup(&f->bak);
    snprintf(a, sizeof a, "--serial %u", serial);
    snprintf(b, sizeof b, "--serial %u", serial + 1);
    assert_int_equal(hsmd_start(&f->pri, a), 0);
    assert_int_equal(hsmd_start(&f->bak, b), 0);
    assert_int_equal(rig_write_plan(&f->r, f->plan, f->pri.url, f->bak.url), 0);
    snprintf(f->out, sizeof f->out, "%s/%s", f->r.dir, outname);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    hsmd_cleanup(&f->pri);
    hsmd_cleanup(&f->bak);
    rig_cleanup(&f->r);
    free(f);
    return 0;
}

static int provision(struct fx *f, const char *env, char **err)
{
    char args[3 * RIG_PATH];
    snprintf(args, sizeof args, "ceremony provision --plan '%s' --out '%s'", f->plan, f->out);
    return rig_signet(env, args, NULL, NULL, err);
}

static char *state_file(struct fx *f, const char *sub)
{
    static char p[3 * RIG_PATH];
    snprintf(p, sizeof p, "%s/%s%sceremony.state", f->out, sub ? sub : "", sub ? "/" : "");
    return p;
}

/* The rerun finished: manifest present, no state file, the trail verifies. */
static void assert_completed(struct fx *f)
{
    char p[3 * RIG_PATH];
    snprintf(p, sizeof p, "%s/manifest.txt", f->out);
    assert_int_equal(access(p, F_OK), 0);
    assert_int_equal(access(state_file(f, NULL), F_OK), -1);
    char trail[2 * RIG_PATH], vkey[3 * RIG_PATH];
    snprintf(trail, sizeof trail, "%s/audit", f->out);
    snprintf(vkey, sizeof vkey, "%s/log.vkey", trail);
    signet_verify_opts o = {.vkey_path = vkey};
    signet_report *rep = NULL;
    signet_rc rc = signet_trail_verify(trail, &o, &rep);
    if (rc && rep)
        signet_report_print(rep, stderr);
    assert_int_equal(rc, SIGNET_OK);
    signet_report_free(rep);
}

static void fault_at_step_then_rerun(void **state)
{
    struct fx *f = *state;
    fresh(f, 2001, "ceremony-fault");
    char *err = NULL;
    int rc = provision(f, "SIGNET_CEREMONY_FAIL_AT=log-key", &err);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(err, "stopped at step 9 of 14 (log-key)"));
    assert_non_null(strstr(err, "ceremony.state says what was done and how to resume"));
    free(err);
    const char *st = state_file(f, NULL);
    assert_true(rig_file_contains(st, "FAILED"));
    assert_true(rig_file_contains(st, "steps done: plan connect reset anchor clean audit wrap-key roles\n"));
    assert_true(rig_file_contains(st, "Both devices still have their factory key"));
    char p[3 * RIG_PATH];
    snprintf(p, sizeof p, "%s/manifest.txt", f->out);
    assert_int_equal(access(p, F_OK), -1);

    assert_int_equal(provision(f, NULL, &err), 0);
    assert_non_null(strstr(err, "failed-attempts/1"));
    free(err);
    assert_completed(f);
    /* The failed attempt is kept as evidence, with its own trail. */
    assert_true(rig_file_contains(state_file(f, "failed-attempts/1"), "log-key"));
    snprintf(p, sizeof p, "%s/failed-attempts/1/audit/anchors/device-2001.anchor", f->out);
    assert_int_equal(access(p, F_OK), 0);
}

/* Starts the ceremony with SIGNET_CEREMONY_STOP_AT=step and returns its pid once it
 * has stopped itself there; its stderr goes to errfile. */
static pid_t start_stopped(struct fx *f, const char *step, const char *errfile)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("SIGNET_CEREMONY_STOP_AT", step, 1);
        FILE *e = freopen(errfile, "w", stderr);
        (void)e;
        execl(test_bin("signet"), "signet", "ceremony", "provision", "--plan", f->plan, "--out",
              f->out, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
    assert_true(WIFSTOPPED(st));
    return pid;
}

static void backup_killed_midway_then_rerun(void **state)
{
    struct fx *f = *state;
    fresh(f, 2003, "ceremony-backup-killed");
    char errfile[2 * RIG_PATH];
    snprintf(errfile, sizeof errfile, "%s/err.txt", f->r.dir);
    pid_t pid = start_stopped(f, "roles", errfile);
    /* The backup's daemon dies while the ceremony is at the roles step. */
    hsmd_stop(&f->bak);
    kill(pid, SIGCONT);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 4); /* connector unreachable */
    assert_true(rig_file_contains(errfile, "stopped at step 8 of 14 (roles)"));
    assert_true(rig_file_contains(errfile, "backup"));
    assert_true(rig_file_contains(state_file(f, NULL), "FAILED"));
    assert_true(rig_file_contains(state_file(f, NULL), "step 8 of 14: roles"));

    /* The backup comes back (same device state, new port); the plan is updated and
     * the ceremony rerun: it resets both again, fixed audit options included. */
    assert_int_equal(hsmd_restart(&f->bak, NULL), 0);
    assert_int_equal(rig_write_plan(&f->r, f->plan, f->pri.url, f->bak.url), 0);
    char *err = NULL;
    assert_int_equal(provision(f, NULL, &err), 0);
    free(err);
    assert_completed(f);
    assert_true(rig_file_contains(state_file(f, "failed-attempts/1"), "roles"));
}

static void ceremony_killed_then_rerun(void **state)
{
    struct fx *f = *state;
    fresh(f, 2005, "ceremony-killed");
    char errfile[2 * RIG_PATH];
    snprintf(errfile, sizeof errfile, "%s/err2.txt", f->r.dir);
    pid_t pid = start_stopped(f, "shares", errfile);
    kill(pid, SIGKILL);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    /* What a person finds: the run was interrupted at the shares step. */
    const char *sf = state_file(f, NULL);
    assert_true(rig_file_contains(sf, "in progress"));
    assert_true(rig_file_contains(sf, "step 10 of 14: shares"));
    assert_true(rig_file_contains(sf, "run the same command again"));

    char *err = NULL;
    assert_int_equal(provision(f, NULL, &err), 0);
    free(err);
    assert_completed(f);
    assert_true(rig_file_contains(state_file(f, "failed-attempts/1"), "in progress"));
}

/* Killed after the factory keys were deleted (at the checkpoint step): only the
 * attempt's admin credential opens the devices.  The state file and the rerun's
 * error say so; the rerun given the admin holder's identity resets both with it
 * and completes. */
static void killed_after_factory_key_then_rerun_with_admin_identity(void **state)
{
    struct fx *f = *state;
    fresh(f, 2007, "ceremony-no-factory-key");
    char errfile[2 * RIG_PATH];
    snprintf(errfile, sizeof errfile, "%s/err3.txt", f->r.dir);
    pid_t pid = start_stopped(f, "checkpoint", errfile);
    kill(pid, SIGKILL);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    const char *sf = state_file(f, NULL);
    assert_true(rig_file_contains(sf, "step 13 of 14: checkpoint"));
    assert_true(rig_file_contains(sf, "run the same command again with --admin-identity FILE, the "
                                      "age identity of the admin holder (frank)"));

    /* Without the identity: refused before any device is changed, naming the file. */
    char *err = NULL;
    assert_int_equal(provision(f, NULL, &err), 5);
    assert_non_null(strstr(err, "the primary (serial 2007) no longer accepts the factory key"));
    assert_non_null(strstr(err, "failed-attempts/1/credentials/admin-frank.age"));
    free(err);
    assert_true(rig_file_contains(state_file(f, NULL), "Run the same command again with "
                                                       "--admin-identity FILE"));

    /* A wrong identity (a custodian's) opens nothing. */
    char args[4 * RIG_PATH];
    snprintf(args, sizeof args, "ceremony provision --plan '%s' --out '%s' --admin-identity '%s'",
             f->plan, f->out, f->r.custodian[0].identity);
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, &err), 5);
    assert_non_null(strstr(err, "is not encrypted to the identity"));
    free(err);

    snprintf(args, sizeof args, "ceremony provision --plan '%s' --out '%s' --admin-identity '%s'",
             f->plan, f->out, f->r.admin.identity);
    assert_int_equal(rig_signet(NULL, args, NULL, NULL, &err), 0);
    assert_non_null(strstr(err, "primary: its factory key was deleted by an earlier attempt; "
                                "logged in as admin with failed-attempts/1/credentials/"
                                "admin-frank.age"));
    assert_non_null(strstr(err, "backup: its factory key was deleted"));
    free(err);
    assert_completed(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fault_at_step_then_rerun),
        cmocka_unit_test(backup_killed_midway_then_rerun),
        cmocka_unit_test(ceremony_killed_then_rerun),
        cmocka_unit_test(killed_after_factory_key_then_rerun_with_admin_identity),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

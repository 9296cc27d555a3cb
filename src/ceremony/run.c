/* Running a ceremony as numbered steps: progress lines, the transcript (a human-
 * readable record appended as the ceremony goes), the state file that tells a
 * person what happened when a run stops, and the fault-injection points tests use
 * to stop a run at a chosen step. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ceremony_internal.h"

#define TRANSCRIPT_FILE "transcript.txt"

void cer_utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void cer_run_init(cer_run *r, const char *kind, const char *out_dir, const cer_step_def *steps,
                  size_t n, signet_progress_fn fn, void *ctx)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->out_dir = out_dir;
    r->steps = steps;
    r->n_steps = n;
    r->transcript_fd = -1;
    r->progress = fn;
    r->progress_ctx = ctx;
    sbw_init(&r->pending, 1 << 20);
    signet_progress_begin(&r->pr, NULL, n);
}

static void transcript_put(cer_run *r, const char *s, size_t n)
{
    if (r->transcript_fd < 0) {
        sbw_put(&r->pending, s, n);
        return;
    }
    while (n) {
        ssize_t k = write(r->transcript_fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return; /* the transcript is a convenience; the manifest is the record */
        s += k;
        n -= (size_t)k;
    }
}

signet_rc cer_run_open_transcript(cer_run *r)
{
    char path[CER_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", r->out_dir, TRANSCRIPT_FILE);
    r->transcript_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (r->transcript_fd < 0)
        return signet_fail(SIGNET_E_IO, "cannot open %s: %s", path, strerror(errno));
    transcript_put(r, (const char *)r->pending.p, r->pending.len);
    sbw_free(&r->pending);
    return SIGNET_OK;
}

void cer_say(cer_run *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (r->progress)
        r->progress(r->progress_ctx, line);
    char stamp[32];
    cer_utc_now(stamp);
    transcript_put(r, stamp, strlen(stamp));
    transcript_put(r, "  ", 2);
    transcript_put(r, line, strlen(line));
    transcript_put(r, "\n", 1);
}

static void write_state(cer_run *r, const char *status, const char *detail)
{
    if (r->transcript_fd < 0)
        return; /* the output directory is not ready yet */
    sb_wr w;
    sbw_init(&w, 64 * 1024);
    char stamp[32];
    cer_utc_now(stamp);
    sbw_printf(&w, "signet ceremony %s: %s (%s)\n", r->kind, status, stamp);
    if (r->cur)
        sbw_printf(&w, "step %zu of %zu: %s (%s)\n", r->cur, r->n_steps, r->steps[r->cur - 1].name,
                   r->steps[r->cur - 1].summary);
    sbw_printf(&w, "steps done:");
    for (size_t i = 0; r->cur && i + 1 < r->cur; i++)
        sbw_printf(&w, " %s", r->steps[i].name);
    sbw_printf(&w, "%s\n", r->cur > 1 ? "" : " none");
    if (detail)
        sbw_printf(&w, "%s\n", detail);
    else if (r->resume)
        sbw_printf(&w, "%s\n", r->resume);
    else
        sbw_printf(&w, "If this file is still here and no signet process is running, the run was "
                       "interrupted: run the same command again (it starts again from the device "
                       "reset; this attempt's files are moved to %s/).\n",
                   CER_ATTEMPTS_DIR);
    /* Best effort: a state file that cannot be written must not hide the real error. */
    signet_rc saved = signet_errcode();
    char msg[512];
    snprintf(msg, sizeof msg, "%s", signet_errmsg());
    if (w.p)
        cer_state_write(r->out_dir, (const char *)w.p);
    signet_fail(saved, "%s", msg);
    sbw_free(&w);
}

signet_rc cer_step(cer_run *r, const char *name)
{
    size_t idx = 0;
    while (idx < r->n_steps && strcmp(r->steps[idx].name, name) != 0)
        idx++;
    if (idx == r->n_steps)
        return signet_fail(SIGNET_E_ARG, "internal: unknown ceremony step %s", name);
    r->cur = idx + 1;
    r->pr.done = idx; /* the steps before this one are finished */
    if (r->transcript_fd >= 0)
        fsync(r->transcript_fd);
    write_state(r, "in progress", NULL);
    char line[1024];
    signet_progress_format(&r->pr, line, sizeof line, "%s: %s", name, r->steps[idx].summary);
    cer_say(r, "%s", line);
    const char *fail_at = getenv("SIGNET_CEREMONY_FAIL_AT");
    if (fail_at && strcmp(fail_at, name) == 0)
        return signet_fail(SIGNET_E_STATE, "stopped by SIGNET_CEREMONY_FAIL_AT=%s (fault injection "
                                           "for tests)",
                           name);
    const char *stop_at = getenv("SIGNET_CEREMONY_STOP_AT");
    if (stop_at && strcmp(stop_at, name) == 0)
        raise(SIGSTOP); /* a test kills something now, then continues or kills us */
    return SIGNET_OK;
}

signet_rc cer_run_fail(cer_run *r, signet_rc rc, const char *advice)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s", signet_errmsg());
    const char *step = r->cur ? r->steps[r->cur - 1].name : "start";
    sb_wr w;
    sbw_init(&w, 16 * 1024);
    sbw_printf(&w, "FAILED: %s\n%s", msg, advice ? advice : "");
    cer_say(r, "the %s stopped at step %zu of %zu (%s): %s", r->kind, r->cur, r->n_steps, step, msg);
    if (advice)
        cer_say(r, "%s", advice);
    signet_fail(rc, "%s", msg);
    write_state(r, "FAILED", w.p ? (const char *)w.p : msg);
    sbw_free(&w);
    if (r->transcript_fd >= 0)
        fsync(r->transcript_fd);
    if (r->transcript_fd >= 0)
        return signet_wrap(rc, "the %s stopped at step %zu of %zu (%s); %s/%s says what was done "
                               "and how to resume",
                           r->kind, r->cur, r->n_steps, step, r->out_dir, CER_STATE_FILE);
    return signet_wrap(rc, "the %s stopped at step %zu of %zu (%s), before any device was touched",
                       r->kind, r->cur, r->n_steps, step);
}

signet_rc cer_run_finish(cer_run *r)
{
    if (r->transcript_fd >= 0 && fsync(r->transcript_fd) != 0)
        return signet_fail(SIGNET_E_IO, "cannot fsync the transcript: %s", strerror(errno));
    return cer_state_remove(r->out_dir);
}

void cer_run_close(cer_run *r)
{
    if (r->transcript_fd >= 0)
        close(r->transcript_fd);
    r->transcript_fd = -1;
    sbw_free(&r->pending);
}

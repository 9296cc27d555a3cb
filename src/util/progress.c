/* Progress lines with elapsed time and an estimate from the mean step time. */
#include <stdarg.h>
#include <time.h>

#include "signet/progress.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void signet_progress_begin(signet_progress *p, FILE *out, size_t total)
{
    p->out = out;
    p->total = total;
    p->done = 0;
    p->start = now_seconds();
}

double signet_progress_elapsed(const signet_progress *p)
{
    return now_seconds() - p->start;
}

double signet_progress_eta(const signet_progress *p)
{
    if (p->done == 0 || p->total <= p->done)
        return p->total && p->done >= p->total ? 0 : -1;
    return signet_progress_elapsed(p) / (double)p->done * (double)(p->total - p->done);
}

void signet_progress_step(signet_progress *p, const char *fmt, ...)
{
    if (!p->out)
        return;
    if (p->total)
        fprintf(p->out, "%zu/%zu ", p->done + 1, p->total);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->out, fmt, ap);
    va_end(ap);
    double eta = signet_progress_eta(p);
    if (eta >= 0)
        fprintf(p->out, " (%.0f s, ~%.0f s left)\n", signet_progress_elapsed(p), eta);
    else
        fprintf(p->out, " (%.0f s)\n", signet_progress_elapsed(p));
    fflush(p->out);
}

void signet_progress_done(signet_progress *p)
{
    p->done++;
}

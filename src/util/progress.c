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

void signet_progress_vformat(const signet_progress *p, char *buf, size_t cap, const char *fmt,
                             va_list ap)
{
    if (cap == 0)
        return;
    size_t n = 0;
    int k = p->total ? snprintf(buf, cap, "%zu/%zu ", p->done + 1, p->total) : 0;
    n = k > 0 ? (size_t)k : 0;
    if (n < cap) {
        k = vsnprintf(buf + n, cap - n, fmt, ap);
        n += k > 0 ? (size_t)k : 0;
    }
    if (n < cap) {
        double eta = signet_progress_eta(p);
        if (eta >= 0)
            snprintf(buf + n, cap - n, " (%.0f s, ~%.0f s left)", signet_progress_elapsed(p), eta);
        else
            snprintf(buf + n, cap - n, " (%.0f s)", signet_progress_elapsed(p));
    }
}

void signet_progress_format(const signet_progress *p, char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    signet_progress_vformat(p, buf, cap, fmt, ap);
    va_end(ap);
}

void signet_progress_step(signet_progress *p, const char *fmt, ...)
{
    if (!p->out)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    signet_progress_vformat(p, line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
}

void signet_progress_done(signet_progress *p)
{
    p->done++;
}

/* Progress on long work: "3/9 media: generating RSA-4096 on the HSM (12 s, ~24 s
 * left)".  One line per step on a stream (stderr by default), so a slow device
 * operation is never silent and a log keeps every step.  Used by key generation,
 * ceremonies, batches and release signing. */
#ifndef SIGNET_PROGRESS_H
#define SIGNET_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>

typedef struct {
    FILE *out;          /* NULL: silent (quiet mode) */
    size_t total;       /* steps expected (0: unknown, no estimate) */
    size_t done;        /* steps finished */
    double start;       /* monotonic seconds at signet_progress_begin */
} signet_progress;

/* out NULL makes every call a no-op. */
void signet_progress_begin(signet_progress *p, FILE *out, size_t total);
/* Announces step done+1 as it starts: "N/TOTAL <message> (elapsed, ~left)". */
void signet_progress_step(signet_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same line without the newline into buf (cap bytes), whether or not the
 * progress has a stream: for callers that route lines elsewhere (the ceremony's
 * transcript and callback). */
void signet_progress_format(const signet_progress *p, char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void signet_progress_vformat(const signet_progress *p, char *buf, size_t cap, const char *fmt,
                             va_list ap);
/* Marks one step finished (the estimate is the mean time of finished steps). */
void signet_progress_done(signet_progress *p);
/* Seconds since begin. */
double signet_progress_elapsed(const signet_progress *p);
/* Estimated seconds left, or -1 when nothing has finished yet. */
double signet_progress_eta(const signet_progress *p);

#endif

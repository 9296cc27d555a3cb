/* The report behind the opaque signet_report (report.c, verify.c, gitverify.c). */
#ifndef SIGNET_AUDIT_REPORT_INTERNAL_H
#define SIGNET_AUDIT_REPORT_INTERNAL_H

#include "audit_internal.h"

typedef struct {
    uint32_t serial;
    uint64_t first_seq, last_seq, signatures, failed;
} report_dev;

struct signet_report {
    signet_finding *f;
    size_t n, cap, omitted;
    signet_key_usage *u;
    size_t nu, capu;
    report_dev *devs;
    size_t ndevs;
    uint64_t leaves, records, entries, checkpoints, checkpoints_valid, newest_checkpoint, set_aside;
    bool nomem;                /* a finding could not be stored: the report is incomplete */
};

/* True when a finding needs attention: anything but a notice (or findings were
 * omitted). */
bool report_failed(const signet_report *r);

signet_report *report_new(void);
void report_add(signet_report *r, signet_finding_kind kind, const char *file, uint64_t line,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Index of the usage row for (name, id), created when new; -1 without memory. */
int report_usage_slot(signet_report *r, const char *name, uint16_t key_id);

#endif

/*
 * metrics.h - counters for Prometheus, written as a textfile for
 * node_exporter's textfile collector (milter.metrics_file).
 *
 * The hot path only adds to relaxed atomic counters: no lock per
 * decision. A thread of its own writes the file every
 * milter.metrics_interval seconds (to a temporary file in the same
 * directory, then rename(2), so a reader never sees half a file) and
 * once more at a clean stop. With no metrics_file everything here is a
 * test of one flag.
 */
#ifndef TLSPM_METRICS_H
#define TLSPM_METRICS_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "tlspolicy/policy.h"

/* Rules with a series of their own; the rest are counted as "other". */
#define TLSPM_METRICS_RULES 100

enum tlspm_stage { TLSPM_STAGE_MAIL = 0, TLSPM_STAGE_RCPT, TLSPM_STAGE_COUNT };

/* Set by tlspm_metrics_start() before any connection; read-only then. */
extern int tlspm_metrics_on;

/* A monotonic time in ns to pass to tlspm_metrics_decision(); 0 (and no
 * clock read) while metrics are off. */
static inline uint64_t
tlspm_metrics_clock(void)
{
	struct timespec ts;

	if (!tlspm_metrics_on)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Turns metrics on when st names a metrics_file: the start time, the
 * policy in force, the partner tracker. Then starts the thread that
 * writes the file (after the daemon has forked and dropped privileges,
 * with the signals blocked). Says what failed in the log. 0, or -1 when
 * the thread could not start (out of memory).
 */
int tlspm_metrics_start(const struct tlsp_settings *st,
			const struct tlsp_policy *p);
/* Stops the thread and writes the file a last time (before the audit
 * log is closed: its counts are read from it). Nothing when off. */
void tlspm_metrics_stop(void);

/*
 * One decision at `stage`: its verdict, the session's TLS version, the
 * sender as sent (may be NULL) and the client's address (for partner
 * alerts), the log id of its transaction, and t0 from
 * tlspm_metrics_clock() when it began.
 */
void tlspm_metrics_decision(enum tlspm_stage stage,
			    const struct tlsp_verdict *v,
			    enum tlsp_version version, const char *sender,
			    const char *client_addr, const char *logid,
			    uint64_t t0);
/* A connection opened (+1) or closed (-1). */
void tlspm_metrics_connection(int delta);
/* A reload: p is the policy now in force, NULL when the reload failed. */
void tlspm_metrics_reload(const struct tlsp_policy *p);

/* The whole file's text into f, as at `now` (the tests' way in). 0, or
 * -1 on a write error. */
int tlspm_metrics_render(FILE *f, time_t now);

#endif

/*
 * log.h - the daemon's log, and the rate limiter of its warnings.
 *
 * Lines are key=value; anything from the network is escaped by the caller
 * (tlsp_escape_log) before it gets here.
 */
#ifndef TLSPM_LOG_H
#define TLSPM_LOG_H

#include <stdatomic.h>

/* Opens the log: syslog with `facility`, or stderr when `to_stderr`. */
void tlspm_log_open(const char *ident, int facility, int to_stderr,
		    int verbose);
void tlspm_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A line formatted already (at most TLSPM_LOG_LINE - 1 bytes are kept),
 * as tlspm_log(prio, "%s", text) without formatting it again. */
#define TLSPM_LOG_LINE 4096
void tlspm_log_text(int prio, const char *text);
/* The same, with ": strerror(errno)" appended (errno as at the call). */
void tlspm_log_errno(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int tlspm_log_verbose(void);
/* Maps "mail", "local0".. to LOG_*; -1 if unknown. */
int tlspm_log_facility(const char *name);

/* True at most once an hour per `last` (a time(2) value, initially 0),
 * across all threads: for warnings that a busy server would repeat. */
int tlspm_log_rate_ok(_Atomic(long) *last);

#endif

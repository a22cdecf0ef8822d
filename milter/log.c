/*
 * log.c - the daemon's log: syslog, or stderr in the foreground; and
 * the rate limiter of warnings a busy server would repeat.
 *
 * Lines are key=value; anything from the network is escaped by the caller
 * with tlsp_escape_log() before it gets here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"
#include "tlspolicy/policy.h"

/* The policy's facility table holds RFC 5424 numbers. */
_Static_assert(LOG_USER == 1 << 3 && LOG_MAIL == 2 << 3 &&
		       LOG_DAEMON == 3 << 3 && LOG_LOCAL0 == 16 << 3 &&
		       LOG_LOCAL7 == 23 << 3,
	       "syslog.h facilities are RFC 5424 numbers shifted by 3");

static int use_stderr, verbose;

void
tlspm_log_open(const char *ident, int facility, int to_stderr, int v)
{
	use_stderr = to_stderr;
	verbose = v;
	/* In the foreground libmilter's own messages (it logs through
	 * syslog) are copied to stderr too, so they are not lost. */
	openlog(ident, LOG_PID | LOG_NDELAY | (to_stderr ? LOG_PERROR : 0),
		facility);
}

int
tlspm_log_verbose(void)
{
	return verbose;
}

static void
put_line(int prio, const char *line)
{
	static const char *const names[] = {"emerg", "alert",	"crit",
					    "error", "warning", "notice",
					    "info",  "debug"};

	if (!use_stderr) {
		syslog(prio, "%s", line);
		return;
	}
	/* One fprintf per line: stdio locks the stream, so lines from
	 * several threads never interleave. */
	fprintf(stderr, "tlspolicy-milter: %s: %s\n", names[prio & 7], line);
}

void
tlspm_log(int prio, const char *fmt, ...)
{
	char line[TLSPM_LOG_LINE];
	va_list ap;

	if (prio == LOG_DEBUG && !verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	put_line(prio, line);
}

void
tlspm_log_text(int prio, const char *text)
{
	if (prio == LOG_DEBUG && !verbose)
		return;
	put_line(prio, text);
}

void
tlspm_log_errno(int prio, const char *fmt, ...)
{
	int e = errno;
	char line[4096];
	size_t n;
	va_list ap;

	if (prio == LOG_DEBUG && !verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	snprintf(line + n, sizeof(line) - n, ": %s", strerror(e));
	put_line(prio, line);
}

int
tlspm_log_facility(const char *name)
{
	int code = tlsp_name_code(tlsp_syslog_facility_names, name);

	return code < 0 ? -1 : code << 3;
}

int
tlspm_log_rate_ok(_Atomic(long) *last)
{
	long now = (long)time(NULL), prev = atomic_load(last);

	return now - prev >= 3600 &&
	       atomic_compare_exchange_strong(last, &prev, now);
}

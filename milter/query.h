/*
 * query.h - the query mode: "what would happen to this session?"
 *
 * Policy editors ask before a reload, tests ask to check a verdict. The
 * arguments are key=value pairs named after the macros the MTA sends, so
 * what an admin sees in a log can be pasted back in.
 */
#ifndef TLSPM_QUERY_H
#define TLSPM_QUERY_H

#include <stdio.h>

#include "tlspolicy/policy.h"

#define TLSPM_QUERY_MAX_RCPT 64

struct tlspm_query {
	struct tlsp_macros m;
	const char *sender; /* NULL when not given */
	const char *rcpt[TLSPM_QUERY_MAX_RCPT];
	size_t nrcpt;
	time_t at;    /* the instant to decide at (--at, or now) */
	int at_given; /* print it even for a policy without dates */
};

/*
 * Parses argv[0..argc-1] ("key=value") into q; values point into argv.
 * Returns 0, or -1 with a message (naming the argument) in err.
 */
int tlspm_query_parse(int argc, char *const argv[], struct tlspm_query *q,
		      char *err, size_t errsz);

/* Prints the schedule of scheduled rules and the exceptions, as of
 * `now`, for -n (at most `max` rules listed). */
void tlspm_query_print_schedule(const struct tlsp_policy *, time_t now,
				FILE *out, size_t max);

/* Prints the verdicts for every recipient to `out`. Returns the strictest
 * enforced action. */
enum tlsp_action tlspm_query_run(const struct tlsp_policy *,
				 const struct tlspm_query *, FILE *out);

/*
 * --test: runs every case of cs against p through the code -q uses, and
 * prints each verdict that differs from its expectation as
 * "file:line:col: case ... : expected ... / got ..." and a summary line.
 * `mta` is the shape a case without mta= or v= has; `now` the instant a
 * case without `time:` is decided at (-n --at, or now). Returns the number
 * of mismatches, or -1 when a case states a bad fact (each printed on
 * standard error as file:line:col; nothing is run then).
 */
int tlspm_query_cases(const struct tlsp_policy *, const struct tlsp_cases *,
		      enum tlsp_mta mta, time_t now, FILE *out);

#endif

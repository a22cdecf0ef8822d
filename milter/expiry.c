/*
 * expiry.c - see expiry.h.
 *
 * The published policy lists its exceptions by end time; a cursor walks
 * that list as time passes, and a set of (name, end) digests makes sure
 * an exception is logged once per process, however many reloads bring
 * it back. Only the signal thread calls in, so nothing here is locked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "expiry.h"
#include "holder.h"
#include "log.h"

static char seen_policy[65]; /* hash of the policy the cursor walks */
static size_t cursor;
static uint64_t *logged; /* digests of the exceptions logged */
static size_t nlogged, caplogged;

static uint64_t
digest(const struct tlsp_exception *e)
{
	const unsigned char *s = (const unsigned char *)tlsp_exception_name(e);
	uint64_t h = 1469598103934665603u ^ (uint64_t)tlsp_exception_expires(e);

	while (*s)
		h = (h ^ *s++) * 1099511628211u;
	return h;
}

/* 1 the first time it is asked about e (or if it cannot remember). */
static int
first_time(const struct tlsp_exception *e)
{
	uint64_t h = digest(e);
	size_t i;

	for (i = 0; i < nlogged; i++)
		if (logged[i] == h)
			return 0;
	if (nlogged == caplogged) {
		size_t cap = caplogged ? caplogged * 2 : 16;
		uint64_t *t = realloc(logged, cap * sizeof(*t));

		if (t == NULL)
			return 1;
		logged = t;
		caplogged = cap;
	}
	logged[nlogged++] = h;
	return 1;
}

static void
log_expired(const struct tlsp_policy *p, const struct tlsp_exception *e)
{
	char when[40], sel[300], shown[4 * sizeof(sel)];
	const char *ticket = tlsp_exception_ticket(e);

	tlsp_policy_format_time(p, tlsp_exception_expires(e), when,
				sizeof(when));
	tlsp_exception_describe(e, sel, sizeof(sel));
	tlsp_escape_log(sel, strlen(sel), shown, sizeof(shown));
	tlspm_log(LOG_WARNING,
		  "exception %s expired at %s: its requirements apply again "
		  "(%s; owner %s%s%s)",
		  tlsp_exception_name(e), when, shown, tlsp_exception_owner(e),
		  ticket ? "; ticket " : "", ticket ? ticket : "");
}

unsigned
tlspm_expiry_watch(time_t now)
{
	struct tlsp_policy *p = tlspm_holder_get();
	const struct tlsp_exception *e;
	time_t wait = TLSPM_EXPIRY_MAX_WAIT;

	if (p == NULL)
		return TLSPM_EXPIRY_MAX_WAIT;
	if (strcmp(seen_policy, tlsp_policy_hash(p)) != 0) {
		snprintf(seen_policy, sizeof(seen_policy), "%s",
			 tlsp_policy_hash(p));
		cursor = 0;
	}
	while ((e = tlsp_policy_exception_by_expiry(p, cursor)) != NULL &&
	       tlsp_exception_expires(e) <= now) {
		if (first_time(e))
			log_expired(p, e);
		cursor++;
	}
	if (e != NULL && tlsp_exception_expires(e) - now < wait)
		wait = tlsp_exception_expires(e) - now;
	tlsp_policy_unref(p);
	return wait < 1 ? 1 : (unsigned)wait;
}

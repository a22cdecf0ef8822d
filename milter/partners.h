/*
 * partners.h - "a partner started failing": one warning when a sending
 * domain (or, for mail without one, a client address) that kept passing
 * its rules fails them, a summary at most once an interval while it
 * keeps failing, and one line when it recovers.
 *
 * A partner is passing once its last `window` decisions all passed (every
 * rule that applied met every requirement), and recovers the same way.
 * At most `max` partners are tracked (least recently seen ones are
 * forgotten first); nothing survives a restart.
 */
#ifndef TLSPM_PARTNERS_H
#define TLSPM_PARTNERS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tlspolicy/policy.h"

/* Sets the tracker up before any thread uses it; 0, or -1 out of memory.
 * Summaries come at most every summary_secs per partner. */
int tlspm_partners_init(unsigned window, size_t max, unsigned summary_secs);
/* Frees everything; after the last tlspm_partners_observe(). */
void tlspm_partners_free(void);

/*
 * One decision: the envelope sender as sent (NULL or without a domain:
 * the client address stands for the partner), its verdict, the log id of
 * its transaction and the time. Decisions no rule applied to are not
 * counted. Thread-safe; logs (escaped) after letting go of its lock.
 */
void tlspm_partners_observe(const char *sender, const char *client_addr,
			    const struct tlsp_verdict *v, const char *logid,
			    time_t now);

/* Partners failing now, partners tracked, and lines said so far. */
struct tlspm_partners_stats {
	uint64_t failing, tracked;
	uint64_t warned, recovered, summaries;
};
void tlspm_partners_stats(struct tlspm_partners_stats *out);

#endif

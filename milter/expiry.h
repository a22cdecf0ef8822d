/*
 * expiry.h - a log line when a policy exception ends.
 *
 * An exception stops applying at its end without a reload (evaluation
 * takes the time); this says so in the log, once per exception and
 * process, at the time it happens rather than at the next message.
 */
#ifndef TLSPM_EXPIRY_H
#define TLSPM_EXPIRY_H

#include <time.h>

/*
 * Logs each exception of the published policy that has ended by `now`
 * and was not logged before (also those already ended when the policy
 * was loaded). Returns the seconds until the next end to watch, between
 * 1 and TLSPM_EXPIRY_MAX_WAIT. Called by the signal thread only: the
 * module's state is that thread's.
 */
#define TLSPM_EXPIRY_MAX_WAIT 3600
unsigned tlspm_expiry_watch(time_t now);

#endif

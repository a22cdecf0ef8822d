/*
 * holder.c - the published policy.
 *
 * A connection takes a reference at its start and keeps that policy for
 * its whole life, so one session never sees two policies. A reload
 * (reload.c) parses outside any lock (a large policy takes a while) and
 * only swaps the pointer here under the mutex; the old policy is freed by
 * whichever thread drops its last reference.
 */
#include <pthread.h>

#include "holder.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tlsp_policy *current;

struct tlsp_policy *
tlspm_holder_get(void)
{
	struct tlsp_policy *p;

	pthread_mutex_lock(&lock);
	p = tlsp_policy_ref(current);
	pthread_mutex_unlock(&lock);
	return p;
}

void
tlspm_holder_set(struct tlsp_policy *p)
{
	struct tlsp_policy *old;

	pthread_mutex_lock(&lock);
	old = current;
	current = p;
	pthread_mutex_unlock(&lock);
	tlsp_policy_unref(old);
}

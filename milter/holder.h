/*
 * holder.h - the published policy.
 *
 * A connection takes a reference at its start and keeps that policy for
 * its whole life, so one session never sees two policies.
 */
#ifndef TLSPM_HOLDER_H
#define TLSPM_HOLDER_H

#include "tlspolicy/policy.h"

/* A new reference to the current policy (NULL before the first set); the
 * caller drops it with tlsp_policy_unref(). */
struct tlsp_policy *tlspm_holder_get(void);
/* Publishes p, taking the caller's reference; drops the old one. */
void tlspm_holder_set(struct tlsp_policy *p);

#endif

/*
 * recfacts.h - the facts of a decision record, rebuilt through the
 * engine (recfacts.c). Private to the tool.
 */
#ifndef TLSPOLICY_AUDIT_RECFACTS_H
#define TLSPOLICY_AUDIT_RECFACTS_H

#include "tlspolicy/policy.h"
#include "tool.h"

struct tlspa_recfacts {
	struct tlsp_facts f;
	/* the macro was sent, but the record predates the member that says
	 * what it held (audit format 2 added them) */
	int auth_unknown, daemon_unknown;
	const char *why; /* why the facts cannot be rebuilt; static */
	/* buffers the macros point into while they are read */
	char bits[24];
	char subject[3 * TLSP_DN_MAX], issuer[3 * TLSP_DN_MAX];
};

/* Rebuilds the facts of decision record rec into *rf. 0, or -1 with
 * rf->why saying what the record lacks. */
int tlspa_recfacts_read(const struct tlspa_jv *rec, struct tlspa_recfacts *rf);

#endif

/*
 * state.h - the daemon's process-wide state.
 *
 * Set up before the first connection (daemon.c); after that only its
 * atomic counters change. Everything per connection is in session.h.
 */
#ifndef TLSPM_STATE_H
#define TLSPM_STATE_H

#include <stdatomic.h>

#include "tlspolicy/audit.h"

struct tlspm_state {
	const char *policy_path;
	struct tlsp_audit *audit; /* NULL: no audit log */
	const char *hostname;
	_Atomic(unsigned long) conn_seq;
	/* Blind-milter and configuration warnings, rate-limited. */
	_Atomic(long) warned_blind, warned_verify, warned_actions,
		warned_nocert, warned_fds, warned_mta_strip;
	_Atomic(unsigned long) tls_cert_rule_sessions, certs_seen;
};
extern struct tlspm_state tlspm;

#endif

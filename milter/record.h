/*
 * record.h - what a decision leaves behind: one key=value log line per
 * decision, and an audit event.
 */
#ifndef TLSPM_RECORD_H
#define TLSPM_RECORD_H

#include "session.h"
#include "tlspolicy/audit.h"
#include "tlspolicy/policy.h"

/* The log line for one decision; `stage` is "rcpt" or "mail". Whether a
 * line is written follows milter.log_decisions. */
void tlspm_record_line(const struct tlspm_session *, const char *stage,
		       const char *addr, const struct tlsp_verdict *,
		       const char *reply);
/* A refusal at MAIL (TLSP_EV_MAIL) or RCPT (TLSP_EV_RCPT); 0 or -1. */
int tlspm_record_refusal(const struct tlspm_session *, enum tlsp_event_type,
			 const char *rcpt, const struct tlsp_verdict *,
			 const char *reply);
/* The message record, with every accepted recipient's verdict; 0 or -1. */
int tlspm_record_message(const struct tlspm_session *,
			 const struct tlsp_verdict *verdicts,
			 enum tlsp_action action, enum tlsp_action would);
/* A transaction that ended without a message (failures are logged). */
void tlspm_record_abort(struct tlspm_session *);
/* Lifecycle records (start, reload, reload_failed, stop). */
void tlspm_record_lifecycle(enum tlsp_event_type, const struct tlsp_policy *,
			    const char *detail);

/* The stop record, as the last the sink takes (to the log, or with what
 * the log cannot take to the spill), then the sink closed. */
void tlspm_record_close(const struct tlsp_policy *);

#endif

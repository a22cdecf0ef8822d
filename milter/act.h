/*
 * act.h - doing what was decided: SMTP replies, on_error, removing forged
 * tag headers, adding ours, quarantine.
 */
#ifndef TLSPM_ACT_H
#define TLSPM_ACT_H

#include <libmilter/mfapi.h>

#include "session.h"
#include "tlspolicy/audit.h"
#include "tlspolicy/policy.h"

/* What on_error says, with a reply, and a loud log line naming `why`.
 * s may be NULL (no session): tempfail. */
sfsistat tlspm_act_on_error(SMFICTX *, const struct tlspm_session *,
			    const char *why);
/* A decision that could not be recorded (`what`: "a reject", "the
 * message"): on_error, with the audit log's own error in the line. */
sfsistat tlspm_act_unrecorded(SMFICTX *, struct tlspm_session *,
			      const char *what);
/* Refuses with the verdict's reply once the refusal is recorded. */
sfsistat tlspm_act_refuse(SMFICTX *, struct tlspm_session *,
			  enum tlsp_event_type, const char *addr,
			  const struct tlsp_verdict *);
/* Whether this connection removes incoming copies of our header, and the
 * header's name. */
int tlspm_act_strips_headers(const struct tlspm_session *);
const char *tlspm_act_tag_header(const struct tlspm_session *);
/* Removes the incoming copies counted in s->forged; 0 or -1. */
int tlspm_act_strip(SMFICTX *, struct tlspm_session *);
/* Tags (and for TLSP_ACTION_QUARANTINE quarantines) the message from the
 * verdicts of its s->nrcpts recipients; 0 or -1. */
int tlspm_act_mark(SMFICTX *, struct tlspm_session *,
		   const struct tlsp_verdict *vs, enum tlsp_action act);

#endif

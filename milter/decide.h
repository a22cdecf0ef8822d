/*
 * decide.h - from facts to an action, at MAIL, RCPT, DATA and EOM.
 */
#ifndef TLSPM_DECIDE_H
#define TLSPM_DECIDE_H

#include <libmilter/mfapi.h>

#include "session.h"

/* The decision at MAIL and at RCPT: evaluate, log, record, act. Each
 * returns the SMFIS_* code for the callback. At MAIL, argv is the
 * callback's: the sender, then the ESMTP parameters (kept for the
 * record). */
sfsistat tlspm_decide_mail(SMFICTX *, struct tlspm_session *,
			   char *const *argv);
sfsistat tlspm_decide_rcpt(SMFICTX *, struct tlspm_session *, const char *rcpt);
/* At DATA (accept early when nothing is left to do) and at EOM. */
sfsistat tlspm_decide_data(SMFICTX *, struct tlspm_session *);
sfsistat tlspm_decide_eom(SMFICTX *, struct tlspm_session *);

#endif

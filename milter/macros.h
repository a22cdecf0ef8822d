/*
 * macros.h - the MTA's macros, read into the session's facts.
 */
#ifndef TLSPM_MACROS_H
#define TLSPM_MACROS_H

#include <libmilter/mfapi.h>

#include "session.h"

/*
 * Reads the TLS macros now (never cached from HELO: the first EHLO comes
 * before STARTTLS), unless this transaction's facts already show TLS,
 * which cannot change inside a transaction. `sentinel` (checked every
 * time) is the macro that proves the MTA sends this stage's list
 * ("{mail_addr}", "{rcpt_addr}"). Returns 0, or -1 when the TLS state
 * cannot be known (the caller follows on_error).
 */
int tlspm_macros_read_facts(SMFICTX *, struct tlspm_session *,
			    const char *sentinel);
/* Takes the queue id once the MTA sends it (DATA or EOM on Postfix,
 * earlier on Sendmail); once known it holds for the transaction. */
void tlspm_macros_queue_id(SMFICTX *, struct tlspm_session *);

#endif

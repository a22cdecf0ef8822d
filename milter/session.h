/*
 * session.h - per-connection and per-transaction state.
 *
 * Reached only through smfi_getpriv(): libmilter may run each callback of
 * one connection on a different thread, so nothing per-connection may be
 * thread-local.
 */
#ifndef TLSPM_SESSION_H
#define TLSPM_SESSION_H

#include <stddef.h>

#include "tlspolicy/policy.h"

#define TLSPM_TXID_MAX 40
/* ESMTP MAIL parameters kept for the audit record: at most this many,
 * each cut to at most TLSPM_MAIL_PARAM_LEN - 1 bytes. */
#define TLSPM_MAIL_PARAMS_MAX 16
#define TLSPM_MAIL_PARAM_LEN 128

/* One accepted recipient: its action, kept for the message's verdict. */
struct tlspm_rcpt {
	char *addr;
	enum tlsp_action action, would;
	const struct tlsp_rule *decided_by;
};

/* Per connection, via smfi_setpriv; per-message parts reset at EOM and
 * abort. The policy is pinned for the connection's life. */
struct tlspm_session {
	struct tlsp_policy *policy;
	const struct tlsp_settings *st;
	unsigned long proto; /* negotiated SMFIP_* flags */
	char conn_id[24];
	unsigned ntx;
	char client_addr[64];
	/* The client's host name and HELO as sent (tlsp_text_copy: bounded,
	 * never cut inside a character), not escaped: each sink escapes them
	 * once. */
	char client_name[256];
	char helo[256];
	/* the transaction */
	int in_tx;
	char txid[TLSPM_TXID_MAX];
	char queue_id[64];	/* as the MTA sent it */
	char queue_id_log[256]; /* the same escaped for logs (4 x 63 + 1) */
	char *sender;
	/* MAIL's ESMTP parameters as the MTA passed them (tlsp_text_copy),
	 * "SIZE=1234", "BODY=8BITMIME"; escaped by the sink. */
	char mail_params[TLSPM_MAIL_PARAMS_MAX][TLSPM_MAIL_PARAM_LEN];
	const char *mail_param[TLSPM_MAIL_PARAMS_MAX];
	size_t nmail_params;
	/* When the transaction began: every verdict of the transaction
	 * (MAIL, each RCPT, again at DATA/EOM) is taken at this instant, so
	 * a schedule or an exception ending mid-transaction cannot make the
	 * end of message disagree with what RCPT answered. */
	time_t tx_time;
	struct tlsp_facts facts;
	struct tlspm_rcpt *rcpts;
	size_t nrcpts, cap;
	unsigned forged;  /* incoming copies of our header */
	int tls_required; /* enum tlspm_tls_required */
};

/* A TLS-Required header (RFC 8689) in the message, as far as the header
 * callback saw it (only where header callbacks are negotiated). */
enum tlspm_tls_required {
	TLSPM_TLSREQ_ABSENT = 0,
	TLSPM_TLSREQ_NO,    /* "TLS-Required: No" */
	TLSPM_TLSREQ_OTHER, /* a value RFC 8689 does not define */
};

/* A session pinning the published policy; NULL when out of memory or no
 * policy is published. Freed with tlspm_session_free (NULL is fine). */
struct tlspm_session *tlspm_session_new(void);
void tlspm_session_free(struct tlspm_session *);
/* Ends the transaction's state (after EOM or abort). */
void tlspm_session_reset_tx(struct tlspm_session *);
/* Starts a transaction: a fresh transaction id. */
void tlspm_session_begin_tx(struct tlspm_session *);
/* Keeps MAIL's parameters (argv[1..], NULL-terminated) for the record:
 * the first TLSPM_MAIL_PARAMS_MAX, each bounded. */
void tlspm_session_mail_params(struct tlspm_session *, char *const *argv);
/* Keeps an accepted recipient (addr is copied); 0, or -1 out of memory. */
int tlspm_session_add_rcpt(struct tlspm_session *, const char *addr,
			   const struct tlsp_verdict *);
/* The queue id (escaped for a log line) if the MTA has sent it, else our
 * transaction id: for log lines only. */
const char *tlspm_session_logid(const struct tlspm_session *);

#endif

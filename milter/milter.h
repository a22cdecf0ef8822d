/*
 * milter.h - what the parts of tlspolicy-milter share.
 *
 * callbacks.c reads like the protocol and calls decide.c for every
 * decision; session.c owns the per-connection state (reached only through
 * smfi_setpriv, since libmilter moves a connection between threads);
 * holder.c publishes the current policy; daemon.c starts and stops.
 */
#ifndef TLSPM_MILTER_H
#define TLSPM_MILTER_H

#include <libmilter/mfapi.h>
#include <stdatomic.h>
#include <stdint.h>

#include "tlspolicy/audit.h"
#include "tlspolicy/policy.h"

/* ------------------------------------------------------------ smfi table */

/* The libmilter calls the callbacks make, through a table that unit tests
 * can replace before any connection exists. Strings are const here; the
 * real table copies them for libmilter, which wants char *. */
struct tlspm_smfi {
	const char *(*getsymval)(SMFICTX *, const char *);
	int (*setreply)(SMFICTX *, const char *, const char *, const char *);
	int (*insheader)(SMFICTX *, int, const char *, const char *);
	int (*chgheader)(SMFICTX *, const char *, int, const char *);
	int (*quarantine)(SMFICTX *, const char *);
	void *(*getpriv)(SMFICTX *);
	int (*setpriv)(SMFICTX *, void *);
	int (*setsymlist)(SMFICTX *, int, const char *);
};
extern const struct tlspm_smfi *tlspm_smfi;

/* ------------------------------------------------------------------ logs */

/* Opens the log: syslog with `facility`, or stderr when `to_stderr`. */
void tlspm_log_open(const char *ident, int facility, int to_stderr,
		    int verbose);
void tlspm_log(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int tlspm_log_verbose(void);
/* Maps "mail", "local0".. to LOG_*; -1 if unknown. */
int tlspm_log_facility(const char *name);

/* ---------------------------------------------------------- the daemon */

/* Process-wide state, set up before the first connection. */
struct tlspm_daemon {
	const char *policy_path;
	struct tlsp_audit *audit; /* NULL: no audit log */
	const char *hostname;
	_Atomic(unsigned long) conn_seq;
	/* Blind-milter and configuration warnings, rate-limited. */
	_Atomic(long) warned_blind, warned_verify, warned_actions, warned_nocert,
	    warned_fds;
	_Atomic(unsigned long) tls_cert_rule_sessions, certs_seen;
};
extern struct tlspm_daemon tlspm;

/* accept.c: one descriptor kept in reserve, so that libmilter does not
 * spin at the descriptor limit; connections shed there so far. */
void tlspm_accept_reserve(void);
unsigned long tlspm_accept_shed(void);

/* The published policy (holder.c). get returns a new reference. */
struct tlsp_policy *tlspm_policy_get(void);
void tlspm_policy_set(struct tlsp_policy *); /* takes the reference */
/* Loads the policy file again; 0 if swapped, -1 if the old one stays. */
int tlspm_policy_reload(void);

/* ------------------------------------------------------------- sessions */

#define TLSPM_TXID_MAX 40

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
	char client_name[256];
	char helo[256];
	/* the transaction */
	int in_tx;
	char txid[TLSPM_TXID_MAX];
	char queue_id[64];
	char *sender;
	struct tlsp_facts facts;
	struct tlspm_rcpt *rcpts;
	size_t nrcpts, cap;
	unsigned forged; /* incoming copies of our header */
};

struct tlspm_session *tlspm_session_new(void);
void tlspm_session_free(struct tlspm_session *);
/* Ends the transaction's state (after EOM or abort). */
void tlspm_session_reset_tx(struct tlspm_session *);
/* Starts a transaction: a fresh transaction id. */
void tlspm_session_begin_tx(struct tlspm_session *);
int tlspm_session_add_rcpt(struct tlspm_session *, const char *addr,
			   const struct tlsp_verdict *);
/* The queue id if the MTA has sent it, else our transaction id. */
const char *tlspm_session_logid(const struct tlspm_session *);

/* ------------------------------------------------------------ decisions */

/*
 * Reads the TLS macros now (never cached from HELO: the first EHLO comes
 * before STARTTLS), unless this transaction's facts already show TLS,
 * which cannot change inside a transaction. `sentinel` (checked every
 * time) is the macro that proves the MTA sends
 * this stage's list ("{mail_addr}", "{rcpt_addr}"). Returns 0, or -1 when
 * the TLS state cannot be known (the caller follows on_error).
 */
int tlspm_read_facts(SMFICTX *, struct tlspm_session *, const char *sentinel);

/* The decision at MAIL and at RCPT: evaluate, log, record, act. Each
 * returns the SMFIS_* code for the callback. */
sfsistat tlspm_decide_mail(SMFICTX *, struct tlspm_session *, const char *sender);
sfsistat tlspm_decide_rcpt(SMFICTX *, struct tlspm_session *, const char *rcpt);
/* At DATA (accept early when nothing is left to do) and at EOM. */
sfsistat tlspm_decide_data(SMFICTX *, struct tlspm_session *);
sfsistat tlspm_decide_eom(SMFICTX *, struct tlspm_session *);
/* A transaction that ended without a message. */
void tlspm_record_abort(struct tlspm_session *);

/* record.c: the log line for one decision; `stage` is "rcpt" or "mail". */
void tlspm_log_decision(const struct tlspm_session *, const char *stage,
			const char *addr, const struct tlsp_verdict *,
			const char *reply);
/* A refusal at MAIL (TLSP_EV_MAIL) or RCPT (TLSP_EV_RCPT); 0 or -1. */
int tlspm_record_refusal(const struct tlspm_session *, enum tlsp_event_type,
			 const char *rcpt, const struct tlsp_verdict *,
			 const char *reply);
/* The message record, with every accepted recipient's verdict. */
int tlspm_record_message(const struct tlspm_session *,
			 const struct tlsp_verdict *verdicts,
			 enum tlsp_action action, enum tlsp_action would);

/* Whether this connection removes incoming copies of our header, and the
 * header's name. */
int tlspm_strips_headers(const struct tlspm_session *);
const char *tlspm_tag_header(const struct tlspm_session *);

/* At most once an hour per kind, across all threads. */
int tlspm_rate_ok(_Atomic(long) *last);

/* What on_error says, with a reply, and a loud log line naming `why`. */
sfsistat tlspm_on_error(SMFICTX *, const struct tlspm_session *,
			const char *why);

/* Lifecycle records (start, reload, reload_failed, stop). */
void tlspm_record_lifecycle(enum tlsp_event_type, const struct tlsp_policy *,
			    const char *detail);

/* The callback table for smfi_register. */
extern struct smfiDesc tlspm_desc;

/* Runs the daemon; returns an exit code (sysexits.h). */
struct tlspm_options {
	const char *policy_path, *socket, *user, *pidfile;
	int foreground, verbose;
	int run_as_root; /* --run-as-root: no -u or milter.user needed */
};
int tlspm_daemon_run(const struct tlspm_options *);

#endif

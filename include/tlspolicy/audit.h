/*
 * audit.h - decision records and the audit sink.
 *
 * Every decision the milter takes, and every lifecycle event (start,
 * reload, reload_failed, stop), passes tlsp_audit_submit() as one typed
 * event. The sink turns it into one JSON line and says whether it was
 * recorded; a caller that gets -1 follows on_error. This interface is
 * what the callbacks see: the writer behind it (today a simple JSON Lines
 * file; later a hash-chained, group-committed log) can change without
 * touching them.
 *
 * Thread safety: tlsp_audit_submit() may be called from any number of
 * threads at once; records are never interleaved and sequence numbers are
 * contiguous in file order.
 */
#ifndef TLSPOLICY_AUDIT_H
#define TLSPOLICY_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "tlspolicy/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tlsp_event_type {
	TLSP_EV_START = 0,
	TLSP_EV_RELOAD,
	TLSP_EV_RELOAD_FAILED,
	TLSP_EV_STOP,
	TLSP_EV_MAIL,	 /* a sender rule refused the transaction at MAIL */
	TLSP_EV_RCPT,	 /* a recipient refused at RCPT (may never reach DATA) */
	TLSP_EV_MESSAGE, /* the message's verdict at DATA or end of message */
	TLSP_EV_ABORT,	 /* a transaction that ended without a message */
};

/* One recipient of a message record, or the recipient of a RCPT record. */
struct tlsp_event_rcpt {
	const char *addr;		 /* as sent; untrusted */
	const struct tlsp_verdict *v;	 /* NULL: not evaluated */
	const char *reply;		 /* the SMTP reply given, or NULL */
};

/*
 * A decision or lifecycle event. Strings are borrowed for the duration of
 * the call; any of them may be NULL. Network strings (client name, HELO,
 * addresses, certificate names) are untrusted and are escaped by the sink.
 */
struct tlsp_audit_event {
	enum tlsp_event_type type;
	const char *txid;     /* our transaction id */
	const char *queue_id; /* the MTA's, when known */
	const char *client_addr, *client_name, *helo;
	const char *sender;
	const struct tlsp_facts *facts; /* NULL for lifecycle events */
	const struct tlsp_verdict *sender_verdict; /* MAIL stage, or NULL */
	const struct tlsp_event_rcpt *rcpts;
	size_t nrcpts;
	enum tlsp_action action;       /* what was done */
	enum tlsp_mode mode;	       /* ENFORCE unless only monitor rules */
	enum tlsp_action would_action; /* including monitor-mode rules */
	const char *reply;	       /* the SMTP reply given, or NULL */
	const char *policy_hash;
	const char *detail;	       /* lifecycle: version, errors, reason */
};

enum tlsp_audit_sync {
	TLSP_SYNC_BATCH = 0, /* fdatasync at most every 50 ms (default); with
				no writer thread yet, the tail waits for the
				next submit or close */
	TLSP_SYNC_ALWAYS,    /* a record is on disk before submit returns */
	TLSP_SYNC_NONE,	     /* left to the kernel */
};

struct tlsp_audit;

/*
 * Opens (creating, mode 0640) or appends to the log at `path`, continuing
 * its sequence numbers, and locks it (flock) so no second writer shares
 * it. Refuses anything but a regular file, and a non-empty file that is
 * not an audit log. Returns a sink, or NULL with a message in err. `host`
 * (NULL: gethostname) is recorded in every line. The caller ignores
 * SIGXFSZ (a size limit then gives EFBIG, which is handled) and closes the
 * sink with tlsp_audit_close().
 */
struct tlsp_audit *tlsp_audit_open(const char *path, const char *host,
				   enum tlsp_audit_sync sync, char *err,
				   size_t errsz);

/*
 * Records one event. With `durable` (or sync: always) the record is on
 * disk (written and fdatasync'ed) when this returns 0. Returns -1 when the
 * record could not be written: it is then not in the log and its sequence
 * number is not used (the error is kept for tlsp_audit_last_error); the
 * caller must follow on_error.
 */
int tlsp_audit_submit(struct tlsp_audit *, const struct tlsp_audit_event *,
		      int durable);

/* Reopens the log by path (after logrotate moved it). 0 or -1. */
int tlsp_audit_reopen(struct tlsp_audit *);

/* The text of the last write error, for logging; static or owned. */
const char *tlsp_audit_last_error(struct tlsp_audit *, char *buf,
				  size_t bufsz);

/* Flushes, syncs and closes; NULL is fine. */
void tlsp_audit_close(struct tlsp_audit *);

/*
 * Writes `in` as the body of a JSON string (without the quotes) into out,
 * always NUL-terminated (-1 when outsz is 0): '"', '\\', C0 and C1
 * controls, DEL, U+2028 and U+2029 escaped (\uXXXX or the short forms),
 * valid UTF-8 kept, and each byte 0xHH of invalid UTF-8 written as the
 * lone surrogate \udcHH ("surrogateescape"), so a reader restores the
 * exact bytes (Python: s.encode("utf-8", "surrogateescape")). Returns the
 * length, or -1 if it did not fit (out then holds a valid prefix).
 */
int tlsp_json_escape(const char *in, size_t inlen, char *out, size_t outsz);

const char *tlsp_event_type_name(enum tlsp_event_type);

#ifdef __cplusplus
}
#endif
#endif

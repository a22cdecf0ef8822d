/*
 * audit.h - decision records and the audit sink.
 *
 * Every decision the milter takes, and every lifecycle event (start,
 * reload, reload_failed, stop), passes tlsp_audit_submit() as one typed
 * event. The sink turns it into one JSON line and says whether it was
 * recorded; a caller that gets -1 follows on_error. This interface is
 * what the callbacks see: behind it, one writer thread appends the
 * records to a hash-chained JSON Lines file (audit/FORMAT.md), batching
 * write + fdatasync (group commit).
 *
 * Thread safety: tlsp_audit_submit() may be called from any number of
 * threads at once; records are never interleaved and sequence numbers are
 * contiguous in file order.
 */
#ifndef TLSPOLICY_AUDIT_H
#define TLSPOLICY_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tlspolicy/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of audit/FORMAT.md the records follow: written as the
 * member "format" of every start and reload record (format 1, before it,
 * had no such member). */
#define TLSP_AUDIT_FORMAT 2

enum tlsp_event_type {
	TLSP_EV_START = 0,
	TLSP_EV_RELOAD,
	TLSP_EV_RELOAD_FAILED,
	TLSP_EV_STOP,
	TLSP_EV_MAIL, /* a sender rule refused the transaction at MAIL */
	TLSP_EV_RCPT, /* a recipient refused at RCPT (may never reach DATA) */
	TLSP_EV_MESSAGE, /* the message's verdict at DATA or end of message */
	TLSP_EV_ABORT,	 /* a transaction that ended without a message */
	TLSP_EV_ROTATE,	 /* first record of a new file (written by the sink) */
	TLSP_EV_CHECKPOINT, /* periodic, its hash also sent to syslog */
};

/* One recipient of a message record, or the recipient of a RCPT record. */
struct tlsp_event_rcpt {
	const char *addr;	      /* as sent; untrusted */
	const struct tlsp_verdict *v; /* NULL: not evaluated */
	const char *reply;	      /* the SMTP reply given, or NULL */
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
	/* MAIL's ESMTP parameters as sent ("SIZE=1234"), or NULL; the sink
	 * records the values of those named in its table and only the
	 * keyword of the others (audit/FORMAT.md, mail_params). */
	const char *const *mail_params;
	size_t nmail_params;
	const struct tlsp_facts *facts; /* NULL for lifecycle events */
	const struct tlsp_verdict *sender_verdict; /* MAIL stage, or NULL */
	const struct tlsp_event_rcpt *rcpts;
	size_t nrcpts;
	enum tlsp_action action;       /* what was done */
	enum tlsp_mode mode;	       /* ENFORCE unless only monitor rules */
	enum tlsp_action would_action; /* including monitor-mode rules */
	const char *reply;	       /* the SMTP reply given, or NULL */
	/* message: "no" for a "TLS-Required: No" header (RFC 8689), "other"
	 * for another value, NULL when absent or not looked for */
	const char *tls_required;
	const char *policy_hash;
	const char *detail; /* lifecycle: version, errors, reason */
};

enum tlsp_audit_sync {
	TLSP_SYNC_BATCH = 0, /* fdatasync at most every 50 ms (default);
				submit returns once the record is queued */
	TLSP_SYNC_ALWAYS,    /* submit returns once the record is on disk */
	TLSP_SYNC_NONE,	     /* left to the kernel */
};

/* What the log keeps of envelope addresses. */
enum tlsp_audit_addresses {
	TLSP_AUDIT_ADDR_FULL = 0,     /* as sent */
	TLSP_AUDIT_ADDR_PSEUDONYMIZE, /* "hmac:<16 hex>@domain" */
	TLSP_AUDIT_ADDR_DOMAIN,	      /* "@domain" */
};

struct tlsp_audit_options {
	const char *host; /* recorded in every line; NULL: gethostname */
	enum tlsp_audit_sync sync;
	enum tlsp_audit_addresses addresses;
	const char *key_file;		/* HMAC key of the chain, or NULL */
	const char *pseudonym_key_file; /* required for PSEUDONYMIZE */
	unsigned checkpoint_secs;	/* 0: no checkpoints */
	/*
	 * Where the records the log cannot take when the sink closes go,
	 * chained as in the log, or NULL: they are lost. Its directory
	 * must exist at open, which takes back into the log what a spill
	 * left there holds (see tlsp_audit_open_with).
	 */
	const char *spill;
	size_t queue_max; /* records waiting; 0: 4096 */
	/*
	 * Called on the writer thread with a syslog priority and a line to
	 * log: checkpoints ("audit checkpoint seq=N hash=H"), write errors
	 * and recoveries. NULL: nothing is said.
	 */
	void (*notify)(void *arg, int priority, const char *msg);
	void *notify_arg;
};

struct tlsp_audit;

/*
 * Opens (creating, mode 0640) or appends to the log at `path`, continuing
 * its hash chain and sequence numbers (from its last record, or from
 * `path`.head when the file is new or empty), locks it (flock) so no
 * second writer shares it, and starts the writer thread. Refuses anything
 * but a regular file, and a non-empty file that is not an audit log. Key
 * files are read here (so they may be readable by root only). Returns a
 * sink, or NULL with a message in err. The writer thread starts with the
 * first submit (so the sink may be opened before fork) and inherits that
 * caller's signal mask. The caller
 * ignores SIGXFSZ (a size limit then gives EFBIG, which is handled) and
 * closes the sink with tlsp_audit_close().
 *
 * With o->spill, records a spill left there that the log lacks (they
 * must continue its chain, each hash verifying, or open fails) are
 * written back into the log before any new record, by themselves; the
 * spill is removed once they are synced there. Until then new records
 * wait behind them (and, while the log cannot be written, get -1 as
 * always). A spill whose records the log already has (a start that
 * ended between the two steps) is only removed.
 */
struct tlsp_audit *tlsp_audit_open_with(const char *path,
					const struct tlsp_audit_options *o,
					char *err, size_t errsz);

/* tlsp_audit_open_with() with only host and sync set. */
struct tlsp_audit *tlsp_audit_open(const char *path, const char *host,
				   enum tlsp_audit_sync sync, char *err,
				   size_t errsz);

/*
 * Records one event. With `durable` (or sync: always) the record is on
 * disk (written and fdatasync'ed) when this returns 0; otherwise it is
 * queued, and the writer thread writes it within 50 ms (batch) or leaves
 * syncing to the kernel (none). Returns -1 when the record could not be
 * recorded (the queue stayed full for a second, or, while the log is
 * failing, the write failed): it is then not in the log (the error is
 * kept for tlsp_audit_last_error); the caller must follow on_error.
 * While writes fail, every submit waits for its own record, so nothing
 * is reported recorded that is not.
 */
int tlsp_audit_submit(struct tlsp_audit *, const struct tlsp_audit_event *,
		      int durable);

/* Reopens the log by path (after logrotate moved it); when the path now
 * names another file, its first record is a "rotate" record linking the
 * chain to the old file. Waits for the writer thread. 0 or -1. */
int tlsp_audit_reopen(struct tlsp_audit *);

/* Gives the open log file to uid:gid (fchown), for a daemon that opens it
 * as root before dropping privileges. Call before the first submit.
 * 0, or -1 with errno set. */
int tlsp_audit_chown(struct tlsp_audit *, uid_t uid, gid_t gid);

/* The text of the last write error, for logging; static or owned. */
const char *tlsp_audit_last_error(struct tlsp_audit *, char *buf, size_t bufsz);

/* Writes what is queued, syncs, writes `path`.head, reports the last
 * hash through notify, stops the writer thread and closes; NULL is fine.
 * Records the log cannot take then go to the spill (one line through
 * notify says where, which seq, and how to verify them), or, without
 * one or when it cannot be written either, are counted as lost. */
void tlsp_audit_close(struct tlsp_audit *);

/* tlsp_audit_close(), with `last` (the stop record; NULL: none) queued
 * after everything else, so that it reaches the log or the spill with
 * the rest. Its strings are borrowed for the call. */
void tlsp_audit_close_with(struct tlsp_audit *,
			   const struct tlsp_audit_event *last);

/* For a spill at path next to a log at `log`: 0 when its directory
 * exists, -1 with err otherwise; *same_fs is set when it is on the
 * log's directory's file system (a full disk then fills both). */
int tlsp_audit_spill_check(const char *path, const char *log, int *same_fs,
			   char *err, size_t errsz);

/*
 * What the sink has done, for the daemon's metrics. Counts since open;
 * the fdatasync latency histogram has TLSP_AUDIT_SYNC_BUCKETS buckets
 * with the upper bounds (microseconds) of tlsp_audit_sync_bounds_us and
 * one more for the rest (+Inf); each count is of its bucket alone (not
 * cumulative).
 */
#define TLSP_AUDIT_SYNC_BUCKETS 11
extern const uint64_t tlsp_audit_sync_bounds_us[TLSP_AUDIT_SYNC_BUCKETS];
struct tlsp_audit_stats {
	uint64_t written;      /* records appended to the log */
	uint64_t write_errors; /* batches that could not be written or synced */
	uint64_t queued;       /* records waiting for the writer now */
	uint64_t syncs, sync_us; /* fdatasync calls, their total time */
	uint64_t sync_bucket[TLSP_AUDIT_SYNC_BUCKETS + 1];
};
/* Fills *out; safe from any thread while the sink is open (reads
 * atomics and, briefly, the queue's lock). A NULL sink gives zeros. */
void tlsp_audit_stats(struct tlsp_audit *, struct tlsp_audit_stats *out);

/* JSON escaping: tlsp_escape_json() in tlspolicy/policy.h. */

const char *tlsp_event_type_name(enum tlsp_event_type);

#ifdef __cplusplus
}
#endif
#endif

/*
 * follow.h - the chain follower: which lines of an audit log are
 * evidence (private to tlspolicy-audit and its tests).
 *
 * verify and the record scanner of report, show and redact feed their
 * lines through one follower, so the rules of audit/FORMAT.md sections
 * 1, 4 and 5 exist once: each record's hash (HMAC with a key), its link
 * to the record before (prev, seq + 1), a second genesis, the anchors,
 * and where a torn line may stand. A line that is not a record is
 * tolerated only where a crash can leave one: the last line of the log,
 * the last line of a file when the next record read is a `start` record,
 * or a line followed directly by a `start` record; anywhere else it is a
 * break at its FILE:LINE. Deciding that needs one record of lookahead, so
 * a torn line is held (its place, not its bytes) until the next record
 * or the end decides it.
 *
 * After a break the follower goes on: the line at the break is not in
 * the chain (not evidence), and the records after it are checked against
 * it (the chain re-syncs there). Callers that stop at the first break
 * (verify) look at `breaks` after each line.
 */
#ifndef TLSPOLICY_AUDIT_FOLLOW_H
#define TLSPOLICY_AUDIT_FOLLOW_H

#include <stdint.h>

#include "chain.h"
#include "jsonread.h"
#include "reader.h"

enum tlspa_follow_kind {
	TLSPA_FOLLOW_BREAK, /* the chain does not hold here */
	TLSPA_FOLLOW_WARN,  /* tolerated: a torn line, the clock stepped back */
	TLSPA_FOLLOW_NOTE,  /* what cannot be checked from these files */
};

/* The findings, as they are made: PATH:LINE (LINE 0: the file as a
 * whole) and a text without the place. */
typedef void tlspa_follow_say_fn(void *arg, enum tlspa_follow_kind kind,
				 const char *path, unsigned long long lineno,
				 const char *text);

/* A hash from the daemon's syslog checkpoints: record `seq` has `hash`. */
struct tlspa_follow_anchor {
	uint64_t seq;
	char hash[TLSP_HASH_HEX + 1];
	int seen;
};

#define TLSPA_FOLLOW_WHERE 5 /* places of skipped lines remembered */

struct tlspa_follow_place {
	const char *path;
	unsigned long long lineno;
};

/*
 * Zero-initialise, set what the caller chooses, feed every line of the
 * files in order with tlspa_follow_line, then call tlspa_follow_end
 * once and tlspa_follow_free. Everything borrowed stays the caller's.
 */
struct tlspa_follow {
	/* set by the caller */
	char *const *files; /* the files, as given to the reader (borrowed) */
	int nfiles;
	const struct tlsp_chain_key *key;    /* NULL or key->k NULL: no key */
	struct tlspa_follow_anchor *anchors; /* borrowed; `seen` is set */
	size_t nanchors;
	int allow_empty; /* a file with no bytes is accepted, not a break */
	int guess_key;	 /* no key, and the first record's hash is not
			    plain SHA-256: take the log as keyed and check
			    only seq and prev (`unkeyed` says so) */
	tlspa_follow_say_fn *say; /* NULL: silent */
	void *say_arg;

	/* after tlspa_follow_line returned 1: the record */
	struct tlsp_chain_rec rec;
	const struct tlspa_jv *tree; /* its JSON, until the next line */

	/* results */
	unsigned long long records; /* in the chain (returned 1) */
	uint64_t first_seq, seq;    /* of the first and last of those */
	char hash[TLSP_HASH_HEX + 1];
	unsigned long long breaks;  /* findings that break the chain */
	unsigned long long skipped; /* lines not in the chain by a break */
	unsigned long long torn;    /* torn lines tolerated (warned) */
	int unkeyed;		    /* guess_key took the log as keyed */
	struct tlspa_follow_place guessed_at; /* the record it guessed at */
	int start_checked; /* the first record's predecessor is known */
	struct tlspa_follow_place where[TLSPA_FOLLOW_WHERE]; /* skipped */
	struct tlspa_follow_place first_break;
	char first_break_text[512];

	/* private */
	struct tlspa_json json;
	struct tlsp_jbuf scratch;
	struct pending *pend; /* torn lines not yet decided */
	size_t npend, pendcap;
	int synced;			/* a record to link to is known */
	int next_file;			/* files before it were seen */
	unsigned long long lines;	/* lines fed */
	struct tlspa_follow_place last; /* of the record synced to */
	char time[32];			/* of the last record */
	int oom;
};

/*
 * Feeds the next line. Returns 1 when it is a record in the chain
 * (f->rec and f->tree describe it), 0 when it is not evidence (a torn
 * line, held or skipped, or a record at a break), -1 when out of memory.
 */
int tlspa_follow_line(struct tlspa_follow *f,
		      const struct tlspa_reader_line *ln);

/* After the last line: decides the torn lines still held, the empty
 * files at the end and the anchors never met. 0, or -1 out of memory. */
int tlspa_follow_end(struct tlspa_follow *f);

/* 1 when the files hold no line and no break was found. */
int tlspa_follow_empty(const struct tlspa_follow *f);

void tlspa_follow_free(struct tlspa_follow *f);

#endif

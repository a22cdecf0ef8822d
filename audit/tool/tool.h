/*
 * tool.h - what the commands of tlspolicy-audit share (private to it).
 *
 * tool.c holds main() and the warnings that say where; time.c the time
 * arguments and time zones; text.c recipient domains and printing
 * hostile strings safely; follow.c the chain follower that decides which
 * lines are evidence, for verify and for scan.c, the record scanner that
 * report and show read their input through. Each command lives in a file
 * of its own and returns an exit status from the table below.
 *
 * Names: what a file of audit/tool/ exports is tlspa_<file>_<verb>
 * (tlspa_reader_next in reader.c, tlspa_time_arg in time.c, each
 * command's tlspa_<command>_main); report_out.c is the second half of
 * the report module and names its functions tlspa_report_*; jsonread.c
 * names its functions after the two types it defines, the parser
 * (tlspa_json_*) and the value (tlspa_jv_*). Structs shared between
 * files are struct tlspa_<thing>; file-local ones are unprefixed and
 * defined once.
 */
#ifndef TLSPOLICY_AUDIT_TOOL_H
#define TLSPOLICY_AUDIT_TOOL_H

#include <stdint.h>
#include <stdio.h>

#include "follow.h"
#include "jsonread.h"
#include "reader.h"

/*
 * The exit statuses of every command (EXIT STATUS in tlspolicy-audit(1)),
 * as the independent verifier (contrib/audit) and the test vectors have
 * them, rather than <sysexits.h>: scripts of auditors test for 1 (like
 * diff(1) and grep(1), 1 is an answer, not an error).
 *
 *   0  done, and the evidence holds (--ignore-breaks: report, show and
 *      redact went on past breaks and said so)
 *   1  the log does not verify: a break, a changed record, a line that
 *      is not in the chain, garbage, no records
 *   2  usage, I/O error or invalid input (an unreadable or invalid file
 *      given to a command, such as a policy file), out of memory
 *   3  a condition the caller asked about (--fail-on) matched
 */
#define TLSPA_EX_OK 0
#define TLSPA_EX_BROKEN 1
#define TLSPA_EX_ERROR 2
#define TLSPA_EX_MATCHED 3

#define TLSPA_TIME_MIN INT64_MIN
#define TLSPA_TIME_MAX INT64_MAX

/* The commands: argv[0] is the command's name. Each returns an exit
 * status and frees what it allocated. */
int tlspa_verify_main(int argc, char **argv);
int tlspa_report_main(int argc, char **argv);
int tlspa_show_main(int argc, char **argv);
int tlspa_redact_main(int argc, char **argv);
int tlspa_inventory_main(int argc, char **argv);
int tlspa_replay_main(int argc, char **argv);
int tlspa_suggest_main(int argc, char **argv);

/* An --anchor: "SEQ:HASH" or the daemon's "audit checkpoint seq=N
 * hash=H" (verify.c, also for report). 0, or -1 when arg is neither. */
int tlspa_verify_anchor(const char *arg, struct tlspa_follow_anchor *a);

/* Prints "usage: ..." for one command (NULL: all) to stderr and returns
 * TLSPA_EX_ERROR. */
int tlspa_tool_usage(const char *command);

/* --------------------------------------------------- warnings (tool.c) */

/* "PATH:LINE: warning: ..." on stderr; after the first 100, only
 * counted. Not thread-safe (the tool has one thread). */
void tlspa_tool_warn(const char *path, unsigned long long lineno,
		     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Says how many warnings (and breaks) were not shown, if any. */
void tlspa_tool_warn_summary(void);

/* "PATH:LINE: ..." for a break, on stderr, also with -q; after the first
 * 100, only counted. */
void tlspa_tool_break(const char *path, unsigned long long lineno,
		      const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Loads --key FILE into *key (freeing a key given before). 0, or -1
 * after saying why on stderr. */
int tlspa_tool_key(struct tlsp_chain_key *key, const char *path);

/* What a chain follower found (a tlspa_follow_say_fn): a break as by
 * tlspa_tool_break, a warning as by tlspa_tool_warn, a note as
 * "PATH:LINE: note: ..." (not with -q). */
void tlspa_tool_say(void *arg, enum tlspa_follow_kind kind, const char *path,
		    unsigned long long lineno, const char *text);
extern int tlspa_tool_quiet; /* -q: no warnings */

/* Breaks and warnings past the first TLSPA_TOOL_SAY_MAX of each are only
 * counted ("(N more breaks not shown)"). A thread that keeps findings to
 * say later in order keeps that many of each kind and gives the number
 * of the rest to tlspa_tool_unsaid, for the count. */
#define TLSPA_TOOL_SAY_MAX 100
void tlspa_tool_unsaid(enum tlspa_follow_kind kind, unsigned long long n);

/* ------------------------------------------------------- time (time.c) */

/* Sets the time zone of day boundaries and of dates without a zone:
 * NULL or "UTC" for UTC, else a zone name (Europe/Berlin) or a POSIX TZ
 * string. 0, or -1 if the zone is unknown. */
int tlspa_time_zone(const char *zone);

/*
 * A --since/--until argument: RFC 3339 (2026-11-01T08:00:00Z, offsets,
 * fractions), a local date-time without zone, or a date YYYY-MM-DD
 * (local midnight; for --until, the midnight after, so the day counts).
 * Milliseconds since the epoch into *ms. 0, or -1.
 */
int tlspa_time_arg(const char *s, int is_until, int64_t *ms);

/* A record's "time" (RFC 3339 with a zone) in ms; 0, or -1. */
int tlspa_time_rfc3339(const char *s, size_t len, int64_t *ms);

/* ms as RFC 3339 UTC without fraction: "2026-11-01T08:00:00Z". */
void tlspa_time_format(int64_t ms, char buf[32]);

/* The local day of ms in the zone set: "YYYY-MM-DD", and the day's
 * bounds [*start, *end) in ms. */
void tlspa_time_day(int64_t ms, char day[16], int64_t *start, int64_t *end);

/* -------------------------------------------- addresses, text (text.c) */

/* The domain of an envelope address: after the last '@', without a
 * closing '>' or a trailing dot, ASCII lowercased, into out (always
 * NUL-terminated). Returns its length; 0 when there is no '@'. */
size_t tlspa_text_domain(const char *addr, size_t len, char *out, size_t outsz);

/* The key of a record's sender (its "sender" member, NULL if absent):
 * its domain as tlspa_text_domain gives it, or "(null sender)",
 * "(redacted)", "(no domain)", "(no sender)". */
void tlspa_text_sender_key(const struct tlspa_jv *sender, char *out,
			   size_t outsz);
/* 1 if domain d matches pattern p: equal (case-insensitive), or p starts
 * with '.' and d is a subdomain of p. */
int tlspa_text_domain_match(const char *d, const char *p);

/* Writes s so that it cannot drive a terminal: valid printable UTF-8
 * stays, a backslash doubles, and every other byte (controls, DEL, C1,
 * invalid UTF-8, line and paragraph separators, bidi overrides) is
 * written as \xHH. */
void tlspa_text_put_safe(FILE *f, const char *s, size_t len);

/* The same into out (outsz > 4), cut short with "..." if it does not
 * fit. Returns out. */
char *tlspa_text_safe(const char *s, size_t len, char *out, size_t outsz);

/* A value for people: the string, "[redacted sha256:1234abcd...]",
 * a number as written, "null", or "-" when absent. Written safely. */
void tlspa_text_put_value(FILE *f, const struct tlspa_jv *v);

/* --------------------------------------------- record scanning (scan.c) */

/*
 * Reads records for report and show: the lines that the chain follower
 * finds in the chain (follow.h), in [since, until) by their "time". A
 * line that is not in the chain is not evidence: it is reported (where,
 * and why) and not returned. Zero-initialise, set files, nfiles, since
 * and until (TLSPA_TIME_MIN/MAX for none), and optionally key (without
 * one, a keyed log is checked for seq and prev only, and says so),
 * allow_empty, and say and err (where findings and errors go, for a
 * scan on a thread that must not write to stderr); free with
 * tlspa_scan_close.
 */
struct tlspa_scan {
	char *const *files;
	int nfiles;
	int64_t since, until;
	const struct tlsp_chain_key *key;
	int allow_empty;
	/* the chain's findings; NULL: tlspa_tool_say */
	tlspa_follow_say_fn *say;
	void *say_arg;
	FILE *err; /* read errors, out of memory; NULL: stderr */

	struct tlspa_reader lines;
	struct tlspa_follow chain;     /* what verified */
	struct tlspa_reader_line line; /* the current line */
	const struct tlspa_jv *rec;    /* its tree */
	int64_t ms;		       /* its time; TLSPA_TIME_MIN if none */
	unsigned long long records;    /* read, in the window */
	unsigned long long outside;    /* read, outside the window */
	int started, ended;
};

/* 1 with s->line, s->rec and s->ms set; 0 at the end (the chain's last
 * checks done); -1 on a read error or out of memory (reported). */
int tlspa_scan_next(struct tlspa_scan *s);

/* Sets the zone of dates (tlspa_time_zone; NULL: UTC) and the window
 * [since, until) from --since/--until (NULL: open). 0, or -1 after
 * saying why on stderr. */
int tlspa_scan_window(struct tlspa_scan *s, const char *tz, const char *since,
		      const char *until);

/*
 * After the end of a follower (a scan's chain, or redact's): says on
 * stderr what did not verify (how many lines were
 * not counted, and where the first few are), "hashes not checked: no
 * key" when that is so, and "no records". Returns 0, or TLSPA_EX_BROKEN
 * when the log did not verify (with `ignore_breaks`: 0, and the message
 * says that the evidence is weakened).
 */
int tlspa_scan_status(const struct tlspa_follow *f, int ignore_breaks);

/* One line for a report: "verified: 8 records, seq 1..8", or what was
 * not verified. Into buf (always NUL-terminated). */
void tlspa_scan_evidence(const struct tlspa_scan *s, char *buf, size_t n);

void tlspa_scan_close(struct tlspa_scan *s);

#endif

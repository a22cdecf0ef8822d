/*
 * auditlog.h - reads a daemon's audit log back for the durability and
 * fault tests: checks the hash chain with audit/chain.c (the code the
 * writer hashes with) and indexes the decision records, so a test can ask
 * "is the decision the MTA was told on record?".
 *
 * Everything is read into memory; the caller frees with al_free().
 */
#ifndef TLSP_TESTS_MILTER_AUDITLOG_H
#define TLSP_TESTS_MILTER_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

/* What a test needs of one record; strings as written (escapes kept),
 * "" when absent. */
struct al_rec {
	uint64_t seq;
	int file;  /* index into the files given to al_load */
	long line; /* 1-based, within that file */
	char type[16];
	char queue_id[64];
	char addr[128];	 /* the first recipient's address */
	char action[16]; /* the decision's, top level */
	char reply[160]; /* top level */
	char detail[128];
	char prev[65], hash[65];
};

struct al_log {
	struct al_rec *v;
	size_t n;
	size_t torn;	     /* lines skipped as torn */
	int torn_at_end;     /* the last line of the last file is torn */
	struct al_key *keys; /* sorted: (kind, key) -> record */
	size_t nkeys;
	char err[768]; /* why al_load failed */
};

/*
 * Reads the files, oldest first, as one chain: each complete line must be
 * a record whose hash is right (HMAC with the key file's bytes, if given),
 * whose prev is the hash of the record before it (across files) and whose
 * seq is one more; the first record may continue an earlier chain. A line
 * that is not a record, or the last one without its newline, is torn: it
 * is skipped and counted. Returns 0, or -1 with log->err naming FILE:LINE.
 * The log is filled as far as it was read either way.
 */
int al_load(struct al_log *log, const char *const *files, size_t nfiles,
	    const char *keyfile);

/*
 * The record of a decision: kind 'r' a "rcpt" record of recipient `key`
 * (its address as sent), kind 'm' a "message" record with queue id `key`.
 * NULL when there is none; *count (unless NULL) says how many there are.
 */
const struct al_rec *al_find(const struct al_log *log, char kind,
			     const char *key, size_t *count);

/* The first record of file index `file` (after torn lines), or NULL. */
const struct al_rec *al_first_of(const struct al_log *log, int file);

/* How many records have this type. */
size_t al_count_type(const struct al_log *log, const char *type);

/*
 * Whether the log agrees with what the MTA was told: NULL when it does,
 * else what is wrong. A decision must be on record exactly once, with
 * the action (and, at RCPT, the reply) the MTA saw; a decision answered
 * with on_error must not be on record at all.
 */
struct hn_decision;
const char *al_mismatch(const struct al_log *log, const struct hn_decision *d);

void al_free(struct al_log *log);

#endif

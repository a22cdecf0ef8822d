/*
 * follow.c - the chain follower (follow.h): the rules of FORMAT.md
 * sections 1, 4 and 5 that decide which lines are evidence.
 *
 * A line is a record when audit/chain.c can parse and hash it; it is
 * then checked in the order verify has always used: its hash, its link
 * (the first record: the genesis or an anchor), one JSON object with a
 * time, the anchors on its seq. Any other line is torn. A torn line is
 * held until the next record or the end decides it; the held lines are
 * all but the last the last lines of their files (a torn line followed
 * by another torn line of the same file is a break at once, and so is
 * everything held before it), so what is held is bounded by the number
 * of files, whatever the input.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "follow.h"

/* A torn line held until the next record or the end. */
struct pending {
	const char *path;
	unsigned long long lineno;
	int file;
	int overlong;
};

static const struct tlsp_chain_key no_key;

/* ============================================================ findings */

static void say(struct tlspa_follow *f, enum tlspa_follow_kind kind,
		const char *path, unsigned long long lineno, const char *fmt,
		...) __attribute__((format(printf, 5, 6)));

static void
say(struct tlspa_follow *f, enum tlspa_follow_kind kind, const char *path,
    unsigned long long lineno, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (kind == TLSPA_FOLLOW_BREAK && f->breaks++ == 0) {
		f->first_break.path = path;
		f->first_break.lineno = lineno;
		snprintf(f->first_break_text, sizeof(f->first_break_text), "%s",
			 text);
	}
	if (f->say != NULL)
		f->say(f->say_arg, kind, path, lineno, text);
}

/* The line at path:lineno is not in the chain because of a break. */
static void
skip(struct tlspa_follow *f, const char *path, unsigned long long lineno)
{
	if (f->skipped < TLSPA_FOLLOW_WHERE) {
		f->where[f->skipped].path = path;
		f->where[f->skipped].lineno = lineno;
	}
	f->skipped++;
}

/* ========================================================= torn lines */

/* Decides every held torn line: tolerated (`ok`) or a break. */
static void
pend_decide(struct tlspa_follow *f, int ok)
{
	const struct pending *p;
	size_t i;

	for (i = 0; i < f->npend; i++) {
		p = &f->pend[i];
		if (ok) {
			f->torn++;
			say(f, TLSPA_FOLLOW_WARN, p->path, p->lineno,
			    "torn line skipped%s",
			    p->overlong ? " (longer than 16 MiB)" : "");
			continue;
		}
		say(f, TLSPA_FOLLOW_BREAK, p->path, p->lineno,
		    "not a record%s, and not where a crash leaves a torn "
		    "line (the last line of the log, or before a start "
		    "record)",
		    p->overlong ? " (longer than 16 MiB)" : "");
		skip(f, p->path, p->lineno);
	}
	f->npend = 0;
}

static int
pend_push(struct tlspa_follow *f, const struct tlspa_reader_line *ln)
{
	struct pending *np;
	size_t ncap;

	if (f->npend == f->pendcap) {
		ncap = f->pendcap ? 2 * f->pendcap : 4;
		if ((np = realloc(f->pend, ncap * sizeof(*np))) == NULL)
			return -1;
		f->pend = np;
		f->pendcap = ncap;
	}
	np = &f->pend[f->npend++];
	np->path = ln->path;
	np->lineno = ln->lineno;
	np->file = ln->file;
	np->overlong = ln->overlong;
	return 0;
}

/* The files before index `upto` that gave no line are empty. */
static void
empty_files(struct tlspa_follow *f, int upto)
{
	for (; f->next_file < upto; f->next_file++) {
		const char *path = f->files[f->next_file];

		if (f->allow_empty)
			say(f, TLSPA_FOLLOW_WARN, path, 0,
			    "empty file accepted (--allow-empty)");
		else
			say(f, TLSPA_FOLLOW_BREAK, path, 0,
			    "no records: the file is empty (--allow-empty "
			    "accepts a freshly rotated file)");
	}
}

static int
follow_torn(struct tlspa_follow *f, const struct tlspa_reader_line *ln)
{
	if (f->npend > 0 && f->pend[f->npend - 1].file == ln->file)
		pend_decide(f, 0);
	empty_files(f, ln->file);
	f->next_file = ln->file + 1;
	if (f->synced)
		return pend_push(f, ln);
	say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
	    "not a record%s, and no record before it: not an audit log?",
	    ln->overlong ? " (longer than 16 MiB)" : "");
	skip(f, ln->path, ln->lineno);
	return 0;
}

/* ============================================================ records */

/* The first record: a genesis, an anchored continuation, or a start
 * that nothing here can check (a note says so). 0, or -1 on a break. */
static int
check_first(struct tlspa_follow *f, const struct tlspa_reader_line *ln,
	    const struct tlsp_chain_rec *r)
{
	int checked = 0;
	size_t i;

	if (strcmp(r->prev, tlsp_chain_genesis) == 0) {
		if (r->seq != 1) {
			say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
			    "a new chain starts at seq 1, not %" PRIu64,
			    r->seq);
			return -1;
		}
		checked = 1;
	}
	for (i = 0; i < f->nanchors; i++) {
		struct tlspa_follow_anchor *a = &f->anchors[i];

		if (a->seq >= r->seq)
			continue;
		a->seen = 1; /* met, right or wrong: one finding */
		if (a->seq + 1 < r->seq) {
			say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
			    "anchor %" PRIu64 " not found: the log "
			    "begins at seq %" PRIu64 " (older records "
			    "missing: head cut?)",
			    a->seq, r->seq);
			return -1;
		}
		if (strcmp(a->hash, r->prev) != 0) {
			say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
			    "anchor %" PRIu64 ": hash differs "
			    "(anchor %s, prev of the first record %s)",
			    a->seq, a->hash, r->prev);
			return -1;
		}
		checked = 1;
	}
	f->start_checked = checked;
	if (!checked)
		say(f, TLSPA_FOLLOW_NOTE, ln->path, ln->lineno,
		    "the chain starts at seq %" PRIu64 " with prev %s, "
		    "not at the genesis: what came before is unchecked "
		    "(give --anchor %" PRIu64 ":HASH)",
		    r->seq, r->prev, r->seq - 1);
	return 0;
}

static int
check_link(struct tlspa_follow *f, const struct tlspa_reader_line *ln,
	   const struct tlsp_chain_rec *r)
{
	if (strcmp(r->prev, tlsp_chain_genesis) == 0)
		say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
		    "new chain started (genesis prev) after the first "
		    "record: the log was replaced?");
	else if (strcmp(r->prev, f->hash) != 0)
		say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
		    "does not link to the previous record (deleted, "
		    "inserted or reordered records?): seq %" PRIu64
		    " after seq %" PRIu64 " at %s:%llu",
		    r->seq, f->seq, f->last.path, f->last.lineno);
	else if (r->seq != f->seq + 1)
		say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
		    "sequence gap: seq %" PRIu64 " after %" PRIu64, r->seq,
		    f->seq);
	else
		return 0;
	return -1;
}

/* 1 if t is the writer's time format, 2026-11-23T08:41:07.123Z. */
static int
time_shaped(const struct tlspa_jv *t)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (t == NULL || t->type != TLSPA_J_STR || t->len != sizeof(pat) - 1)
		return 0;
	for (i = 0; i < t->len; i++)
		if (pat[i] == 'd' ? t->s[i] < '0' || t->s[i] > '9'
				  : t->s[i] != pat[i])
			return 0;
	return 1;
}

/* 1 if some object in j names a member twice: JSON readers disagree on
 * which value such a record holds. */
static int
dup_member(const struct tlspa_jv *j)
{
	const struct tlspa_jv *a, *b;

	if (j->type != TLSPA_J_OBJ && j->type != TLSPA_J_ARR)
		return 0;
	for (a = j->kids; a != NULL; a = a->next) {
		if (j->type == TLSPA_J_OBJ)
			for (b = a->next; b != NULL; b = b->next)
				if (a->keylen == b->keylen &&
				    (a->keylen == 0 ||
				     a->key[0] == b->key[0]) &&
				    memcmp(a->key, b->key, a->keylen) == 0)
					return 1;
		if (dup_member(a))
			return 1;
	}
	return 0;
}

/*
 * A record must be one JSON object with a time: a line forged with a
 * right hash but bytes no JSON reader accepts would read differently in
 * different tools. The clock may step back (NTP): a warning, since only
 * the order of seq is proof.
 */
static int
check_json(struct tlspa_follow *f, const struct tlspa_reader_line *ln)
{
	const struct tlspa_jv *t = tlspa_jv_get(f->tree, "time");

	if (f->tree == NULL)
		say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
		    "record is not valid JSON (%s at byte %zu)", f->json.err,
		    f->json.errpos + 1);
	else if (dup_member(f->tree))
		say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
		    "record is not valid JSON (a member name appears "
		    "twice)");
	else if (t == NULL || t->type != TLSPA_J_STR)
		say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
		    "record is not a JSON object with a time");
	else
		goto fine;
	return -1;
fine:
	if (!time_shaped(t))
		return 0;
	if (f->time[0] != '\0' && memcmp(t->s, f->time, t->len) < 0)
		say(f, TLSPA_FOLLOW_WARN, ln->path, ln->lineno,
		    "clock stepped back (%s after %s)", t->s, f->time);
	memcpy(f->time, t->s, t->len + 1);
	return 0;
}

/* A record whose hash is wrong: a break, unless guess_key finds the log
 * keyed at its first record. 0 to go on checking, -1 on a break. */
static int
check_hash(struct tlspa_follow *f, const struct tlspa_reader_line *ln,
	   int first)
{
	const int keyed = f->key != NULL && f->key->k != NULL;

	if (f->unkeyed)
		return 0;
	if (first && !keyed && f->guess_key) {
		f->unkeyed = 1;
		f->guessed_at.path = ln->path;
		f->guessed_at.lineno = ln->lineno;
		say(f, TLSPA_FOLLOW_NOTE, ln->path, ln->lineno,
		    "hashes not checked: no key (the first record's hash is "
		    "not a plain SHA-256: the log is keyed, or was changed); "
		    "only seq and prev are checked");
		return 0;
	}
	say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno, "record changed (%s)",
	    keyed ? "or wrong --key" : "or the log is keyed: give --key");
	return -1;
}

static int
check_anchors(struct tlspa_follow *f, const struct tlspa_reader_line *ln,
	      const struct tlsp_chain_rec *r)
{
	struct tlspa_follow_anchor *a;
	size_t i;

	for (i = 0; i < f->nanchors; i++) {
		a = &f->anchors[i];
		if (a->seq != r->seq)
			continue;
		a->seen = 1; /* met, right or wrong: one finding */
		if (strcmp(a->hash, r->hash) != 0) {
			say(f, TLSPA_FOLLOW_BREAK, ln->path, ln->lineno,
			    "anchor %" PRIu64 ": hash differs "
			    "(anchor %s, record %s)",
			    a->seq, a->hash, r->hash);
			return -1;
		}
	}
	return 0;
}

/* The chain goes on from r, whether it holds there or not. */
static void
sync_to(struct tlspa_follow *f, const struct tlspa_reader_line *ln,
	const struct tlsp_chain_rec *r)
{
	f->synced = 1;
	f->seq = r->seq;
	memcpy(f->hash, r->hash, sizeof(f->hash));
	f->last.path = ln->path;
	f->last.lineno = ln->lineno;
}

static int
follow_record(struct tlspa_follow *f, const struct tlspa_reader_line *ln,
	      int hash_ok)
{
	const struct tlsp_chain_rec *r = &f->rec;
	int first = !f->synced;

	f->tree = tlspa_json_parse(&f->json, ln->p, ln->len);
	if (f->tree == NULL && strcmp(f->json.err, "out of memory") == 0) {
		f->oom = 1;
		return -1;
	}
	if (f->npend > 0)
		pend_decide(f,
			    f->tree != NULL && !dup_member(f->tree) &&
				    tlspa_jv_is(tlspa_jv_get(f->tree, "type"),
						"start"));
	empty_files(f, ln->file);
	f->next_file = ln->file + 1;
	/* Taken for keyed, the log holds a record that hashes without a
	 * key: it is not keyed, and the first record was changed. */
	if (hash_ok && f->unkeyed) {
		f->unkeyed = 0;
		say(f, TLSPA_FOLLOW_BREAK, f->guessed_at.path,
		    f->guessed_at.lineno,
		    "record changed: its hash is not a plain SHA-256, but "
		    "that of %s:%llu is, so the log is not keyed",
		    ln->path, ln->lineno);
		skip(f, f->guessed_at.path, f->guessed_at.lineno);
	}
	if ((hash_ok || check_hash(f, ln, first) == 0) &&
	    (f->synced ? check_link(f, ln, r) : check_first(f, ln, r)) == 0 &&
	    check_json(f, ln) == 0 && check_anchors(f, ln, r) == 0) {
		if (f->records++ == 0)
			f->first_seq = r->seq;
		sync_to(f, ln, r);
		return 1;
	}
	sync_to(f, ln, r);
	skip(f, ln->path, ln->lineno);
	f->tree = NULL;
	return 0;
}

/* ============================================================== entry */

int
tlspa_follow_line(struct tlspa_follow *f, const struct tlspa_reader_line *ln)
{
	const struct tlsp_chain_key *key = f->key != NULL ? f->key : &no_key;
	int rc;

	f->lines++;
	f->tree = NULL;
	/* A last line lacking only its LF is still a record (FORMAT.md 1). */
	rc = ln->overlong ? -1
			  : tlsp_chain_verify(ln->p, ln->len, key, &f->scratch,
					      &f->rec);
	if (f->scratch.oom)
		return -1;
	rc = rc < 0 ? follow_torn(f, ln) : follow_record(f, ln, rc == 1);
	return f->oom ? -1 : rc;
}

int
tlspa_follow_end(struct tlspa_follow *f)
{
	struct tlspa_follow_anchor *a;
	size_t i;

	/* The last line read is the last line of the log: tolerated. */
	if (f->npend > 0) {
		struct pending last = f->pend[--f->npend];

		pend_decide(f, 0);
		f->pend[f->npend++] = last;
		pend_decide(f, 1);
	}
	empty_files(f, f->nfiles);
	for (i = 0; i < f->nanchors; i++) {
		a = &f->anchors[i];
		if (a->seen)
			continue;
		if (!f->synced)
			say(f, TLSPA_FOLLOW_BREAK, f->files[f->nfiles - 1], 0,
			    "anchor %" PRIu64 " not found: no records", a->seq);
		else
			say(f, TLSPA_FOLLOW_BREAK, f->last.path, f->last.lineno,
			    "anchor %" PRIu64 " not found: the log ends at "
			    "seq %" PRIu64 " before it (tail cut?)",
			    a->seq, f->seq);
	}
	return f->oom ? -1 : 0;
}

int
tlspa_follow_empty(const struct tlspa_follow *f)
{
	return f->lines == 0 && f->breaks == 0;
}

void
tlspa_follow_free(struct tlspa_follow *f)
{
	tlspa_json_free(&f->json);
	tlsp_jb_free(&f->scratch);
	free(f->pend);
	f->pend = NULL;
	f->npend = f->pendcap = 0;
}

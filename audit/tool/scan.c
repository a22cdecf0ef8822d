/*
 * scan.c - the records that report and show read: the lines of the
 * files that are in the hash chain, in a window of time.
 *
 * Lines come from the bounded reader (reader.c) and go through the chain
 * follower (follow.c), the same rules as verify: only a record in the
 * chain is returned, so a line inserted by hand, a changed record or a
 * torn line where no crash leaves one is never counted or shown. The
 * follower parses each record once, and that tree is what the caller
 * reads. Without --key, a keyed log is recognised by its first record's
 * hash and checked for seq and prev only, and the status says so.
 */
#include <inttypes.h>
#include <stdio.h>

#include "tool.h"

static void
scan_start(struct tlspa_scan *s)
{
	s->started = 1;
	s->lines.files = s->files;
	s->lines.nfiles = s->nfiles;
	s->chain.files = s->files;
	s->chain.nfiles = s->nfiles;
	s->chain.key = s->key;
	s->chain.guess_key = s->key == NULL || s->key->k == NULL;
	s->chain.allow_empty = s->allow_empty;
	s->chain.say = s->say != NULL ? s->say : tlspa_tool_say;
	s->chain.say_arg = s->say_arg;
}

int
tlspa_scan_next(struct tlspa_scan *s)
{
	const struct tlspa_jv *t;
	int rc, in;

	if (!s->started)
		scan_start(s);
	while ((rc = tlspa_reader_next(&s->lines, &s->line)) > 0) {
		if ((in = tlspa_follow_line(&s->chain, &s->line)) < 0)
			goto oom;
		if (in == 0)
			continue;
		s->rec = s->chain.tree;
		t = tlspa_jv_get(s->rec, "time");
		if (t == NULL || t->type != TLSPA_J_STR ||
		    tlspa_time_rfc3339(t->s, t->len, &s->ms) < 0)
			s->ms = TLSPA_TIME_MIN;
		if ((s->since != TLSPA_TIME_MIN ||
		     s->until != TLSPA_TIME_MAX) &&
		    (s->ms == TLSPA_TIME_MIN || s->ms < s->since ||
		     s->ms >= s->until)) {
			s->outside++;
			continue;
		}
		s->records++;
		return 1;
	}
	if (rc < 0) {
		fprintf(s->err != NULL ? s->err : stderr,
			"tlspolicy-audit: %s\n", s->lines.err);
		return rc;
	}
	if (!s->ended) {
		s->ended = 1;
		if (tlspa_follow_end(&s->chain) < 0)
			goto oom;
	}
	return 0;
oom:
	fprintf(s->err != NULL ? s->err : stderr,
		"tlspolicy-audit: out of memory\n");
	return -1;
}

int
tlspa_scan_window(struct tlspa_scan *s, const char *tz, const char *since,
		  const char *until)
{
	s->since = TLSPA_TIME_MIN;
	s->until = TLSPA_TIME_MAX;
	if (tlspa_time_zone(tz) < 0) {
		fprintf(stderr, "tlspolicy-audit: --tz %s: unknown time zone\n",
			tz);
		return -1;
	}
	if (since != NULL && tlspa_time_arg(since, 0, &s->since) < 0) {
		fprintf(stderr,
			"tlspolicy-audit: --since %s: expected "
			"YYYY-MM-DD or RFC 3339\n",
			since);
		return -1;
	}
	if (until != NULL && tlspa_time_arg(until, 1, &s->until) < 0) {
		fprintf(stderr,
			"tlspolicy-audit: --until %s: expected "
			"YYYY-MM-DD or RFC 3339\n",
			until);
		return -1;
	}
	return 0;
}

void
tlspa_scan_evidence(const struct tlspa_scan *s, char *buf, size_t n)
{
	const struct tlspa_follow *f = &s->chain;

	if (f->breaks > 0)
		snprintf(buf, n,
			 "NOT VERIFIED: %llu break%s, %llu line%s not counted "
			 "(the first break at %s:%llu)",
			 f->breaks, f->breaks == 1 ? "" : "s", f->skipped,
			 f->skipped == 1 ? "" : "s", f->first_break.path,
			 f->first_break.lineno);
	else if (f->records == 0)
		snprintf(buf, n, "verified: no records (empty files)");
	else if (f->unkeyed)
		snprintf(buf, n,
			 "chained, hashes not checked: no key; %llu record%s, "
			 "seq %" PRIu64 "..%" PRIu64 " (seq and prev only)",
			 f->records, f->records == 1 ? "" : "s", f->first_seq,
			 f->seq);
	else
		snprintf(buf, n,
			 "verified: %llu record%s, seq %" PRIu64 "..%" PRIu64,
			 f->records, f->records == 1 ? "" : "s", f->first_seq,
			 f->seq);
}

int
tlspa_scan_status(const struct tlspa_follow *f, int ignore_breaks)
{
	size_t i;

	if (f->unkeyed)
		fprintf(stderr, "tlspolicy-audit: hashes not checked: no key "
				"(give --key for a keyed log)\n");
	if (f->breaks == 0)
		return 0;
	fprintf(stderr,
		"tlspolicy-audit: the log does not verify: %llu break%s; "
		"%llu line%s not counted as evidence (",
		f->breaks, f->breaks == 1 ? "" : "s", f->skipped,
		f->skipped == 1 ? "" : "s");
	for (i = 0; i < f->skipped && i < TLSPA_FOLLOW_WHERE; i++)
		fprintf(stderr, "%s%s:%llu", i ? ", " : "", f->where[i].path,
			f->where[i].lineno);
	if (f->skipped > TLSPA_FOLLOW_WHERE)
		fprintf(stderr, ", ...");
	if (f->skipped == 0)
		fprintf(stderr, "the first break at %s:%llu",
			f->first_break.path, f->first_break.lineno);
	fprintf(stderr, ")\n");
	if (!ignore_breaks)
		return TLSPA_EX_BROKEN;
	fprintf(stderr, "tlspolicy-audit: --ignore-breaks: going on; the "
			"evidence is weakened\n");
	return 0;
}

void
tlspa_scan_close(struct tlspa_scan *s)
{
	tlspa_reader_close(&s->lines);
	tlspa_follow_free(&s->chain);
}

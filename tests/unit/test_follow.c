/*
 * test_follow.c - the chain follower (audit/tool/follow.c): which lines
 * of a log are evidence, and every finding with its FILE:LINE.
 *
 * Each row is a log written as a shape, one letter a line: R a record
 * that continues the chain, S a start record that does, T a torn line
 * (a record cut short), G a line of text, C a record whose bytes were
 * changed after hashing, D the line before once more, and | the end of
 * a file (|| an empty file). The records are real: hashed by
 * audit/chain.c as the writer hashes them. The follower's findings are
 * written "B" (break), "W" (warning) or "N" (note) with FILE:LINE, in
 * the order it made them, and compared whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "follow.h"

#define MAXLINES 64
#define LINESZ 512
#define MAXFILES 8

struct log {
	struct tlsp_chain_key key;
	struct tlsp_jbuf scratch;
	uint64_t seq;
	char prev[TLSP_HASH_HEX + 1];
	char line[MAXLINES][LINESZ];
	struct tlspa_reader_line ln[MAXLINES];
	size_t n;
	char *files[MAXFILES];
	int nfiles;
};

static char names[MAXFILES][8];

/* The next record of the chain, of `type`, into buf. */
static void
record(struct log *lg, const char *type, char *buf)
{
	char body[LINESZ], hex[TLSP_HASH_HEX + 1];
	int n;

	lg->seq++;
	n = snprintf(body, sizeof(body),
		     "{\"seq\":%llu,\"time\":\"2026-11-01T08:%02llu:%02llu."
		     "000Z\",\"host\":\"mx\",\"type\":\"%s\",\"prev\":\"%s\"}",
		     (unsigned long long)lg->seq,
		     (unsigned long long)lg->seq / 60,
		     (unsigned long long)lg->seq % 60, type, lg->prev);
	assert_int_equal(tlsp_chain_hash(body, (size_t)n, &lg->key,
					 &lg->scratch, hex),
			 0);
	snprintf(buf, LINESZ, "%.*s,\"hash\":\"%s\"}", n - 1, body, hex);
	memcpy(lg->prev, hex, sizeof(lg->prev));
}

/* Writes the lines of `shape`. */
static void
build(struct log *lg, const char *shape)
{
	unsigned long long lineno = 0;
	char prev[TLSP_HASH_HEX + 1];
	const char *c;
	uint64_t seq;
	char *b;

	memset(lg->line, 0, sizeof(lg->line));
	lg->n = 0;
	lg->seq = 0;
	memcpy(lg->prev, tlsp_chain_genesis, sizeof(lg->prev));
	lg->nfiles = 1;
	lg->files[0] = names[0];
	for (c = shape; *c != '\0'; c++) {
		if (*c == '|') {
			assert_true(lg->nfiles < MAXFILES);
			lg->files[lg->nfiles] = names[lg->nfiles];
			lg->nfiles++;
			lineno = 0;
			continue;
		}
		assert_true(lg->n < MAXLINES);
		b = lg->line[lg->n];
		switch (*c) {
		case 'R':
			record(lg, "mail", b);
			break;
		case 'C':
			record(lg, "mail", b);
			memcpy(strstr(b, "\"mx\""), "\"my\"", 4);
			break;
		case 'S':
			record(lg, "start", b);
			break;
		case 'T':
			seq = lg->seq;
			memcpy(prev, lg->prev, sizeof(prev));
			record(lg, "mail", b);
			b[40] = '\0'; /* cut short: the record never was */
			lg->seq = seq;
			memcpy(lg->prev, prev, sizeof(prev));
			break;
		case 'G':
			strcpy(b, "hello, world");
			break;
		case 'D':
			strcpy(b, lg->line[lg->n - 1]);
			break;
		default:
			fail_msg("shape letter %c", *c);
		}
		lg->ln[lg->n].p = b;
		lg->ln[lg->n].len = strlen(b);
		lg->ln[lg->n].lf = 1;
		lg->ln[lg->n].path = lg->files[lg->nfiles - 1];
		lg->ln[lg->n].lineno = ++lineno;
		lg->ln[lg->n].file = lg->nfiles - 1;
		lg->n++;
	}
}

struct found {
	char text[512];
};

static void
collect(void *arg, enum tlspa_follow_kind kind, const char *path,
	unsigned long long lineno, const char *text)
{
	struct found *fd = arg;
	size_t len = strlen(fd->text);

	(void)text;
	snprintf(fd->text + len, sizeof(fd->text) - len, "%s%c%s:%llu",
		 len ? " " : "",
		 kind == TLSPA_FOLLOW_BREAK  ? 'B'
		 : kind == TLSPA_FOLLOW_WARN ? 'W'
					     : 'N',
		 path, lineno);
}

struct row {
	const char *name;
	const char *shape;
	int allow_empty;
	const char *want;	    /* the findings, in order */
	unsigned long long records; /* returned as in the chain */
	unsigned long long skipped;
	const char *in; /* per line: 1 in the chain, 0 not */
};

static const struct row rows[] = {
	{"a good chain", "RRR", 0, "", 3, 0, "111"},
	{"torn last line of the log", "RRT", 0, "Wf0:3", 2, 0, "110"},
	{"torn line, then an ordinary record", "RRTR", 0, "Bf0:3", 3, 1,
	 "1101"},
	{"torn line right before a start record", "RRTSR", 0, "Wf0:3", 4, 0,
	 "11011"},
	{"two torn lines at the end", "RRTT", 0, "Bf0:3 Wf0:4", 2, 1, "1100"},
	{"two torn lines, then a start record", "RRTTS", 0, "Bf0:3 Wf0:4", 3, 1,
	 "11001"},
	{"torn end of a file, the next begins with start", "RRT|SR", 0, "Wf0:3",
	 4, 0, "11011"},
	{"torn end of a file, the next goes on", "RRT|R", 0, "Bf0:3", 3, 1,
	 "1101"},
	{"torn ends of two files before a start", "RRT|T|S", 0, "Wf0:3 Wf1:1",
	 3, 0, "11001"},
	{"a torn line in the middle of the file between", "RRT|TT|S", 0,
	 "Bf0:3 Bf1:1 Wf1:2", 3, 2, "110001"},
	{"torn end of a file, an empty file, then start", "RRT||S", 0,
	 "Wf0:3 Bf1:0", 3, 0, "1101"},
	{"the same with --allow-empty", "RRT||S", 1, "Wf0:3 Wf1:0", 3, 0,
	 "1101"},
	{"not an audit log", "GG", 0, "Bf0:1 Bf0:2", 0, 2, "00"},
	{"a log that does not begin with a record", "GRR", 0, "Bf0:1", 2, 1,
	 "011"},
	{"an empty file", "", 0, "Bf0:0", 0, 0, ""},
	{"an empty file, allowed", "", 1, "Wf0:0", 0, 0, ""},
	{"an empty file after the log", "RR|", 0, "Bf1:0", 2, 0, "11"},
	{"a changed record: skipped, the chain re-syncs", "RRCR", 0, "Bf0:3", 3,
	 1, "1101"},
	{"a line copied in: skipped, the chain re-syncs", "RRDR", 0, "Bf0:3", 3,
	 1, "1101"},
	{"text as the last line of the log", "RR|G", 0, "Wf1:1", 2, 0, "110"},
};

static void
run_row(const struct row *rw, const struct tlsp_chain_key *key, int guess_key,
	struct found *fd)
{
	struct tlspa_follow f;
	struct log lg;
	size_t i;
	int in;

	memset(&lg, 0, sizeof(lg));
	build(&lg, rw->shape);
	memset(&f, 0, sizeof(f));
	memset(fd, 0, sizeof(*fd));
	f.files = lg.files;
	f.nfiles = lg.nfiles;
	f.allow_empty = rw->allow_empty;
	f.key = key;
	f.guess_key = guess_key;
	f.say = collect;
	f.say_arg = fd;
	for (i = 0; i < lg.n; i++) {
		in = tlspa_follow_line(&f, &lg.ln[i]);
		assert_int_not_equal(in, -1);
		if (rw->in[i] - '0' != in)
			fail_msg("%s: line %zu: in the chain %d, want %c",
				 rw->name, i + 1, in, rw->in[i]);
		if (in)
			assert_non_null(f.tree);
	}
	assert_int_equal(tlspa_follow_end(&f), 0);
	if (strcmp(fd->text, rw->want) != 0)
		fail_msg("%s (%s): found '%s', want '%s'", rw->name, rw->shape,
			 fd->text, rw->want);
	assert_int_equal(f.records, rw->records);
	assert_int_equal(f.skipped, rw->skipped);
	assert_int_equal(f.breaks == 0, strchr(rw->want, 'B') == NULL ? 1 : 0);
	tlspa_follow_free(&f);
	tlsp_jb_free(&lg.scratch);
}

static void
test_shapes(void **state)
{
	struct found fd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i], NULL, 0, &fd);
}

/* The places of skipped lines are kept for the message, the first few. */
static void
test_where(void **state)
{
	static const struct row r = {"", "RTRTRTRTRTRTRT", 0, "", 0, 0, ""};
	struct tlspa_follow f;
	struct log lg;
	size_t i;

	(void)state;
	memset(&lg, 0, sizeof(lg));
	build(&lg, r.shape);
	memset(&f, 0, sizeof(f));
	f.files = lg.files;
	f.nfiles = 1;
	for (i = 0; i < lg.n; i++)
		assert_true(tlspa_follow_line(&f, &lg.ln[i]) >= 0);
	assert_int_equal(tlspa_follow_end(&f), 0);
	assert_int_equal(f.breaks, 6);
	assert_int_equal(f.skipped, 6);
	assert_int_equal(f.torn, 1); /* the last line */
	for (i = 0; i < TLSPA_FOLLOW_WHERE; i++)
		assert_int_equal(f.where[i].lineno, 2 * i + 2);
	assert_int_equal(f.first_break.lineno, 2);
	tlspa_follow_free(&f);
	tlsp_jb_free(&lg.scratch);
}

/* A keyed log: with the key all verifies; without, a break at the first
 * record; with guess_key, a note and seq/prev still checked. */
static void
test_keyed(void **state)
{
	static unsigned char k[32] = "0123456789abcdef0123456789abcdef";
	const struct tlsp_chain_key key = {k, sizeof(k)};
	struct tlspa_follow f;
	struct found fd;
	struct log lg;
	size_t i;

	(void)state;
	memset(&lg, 0, sizeof(lg));
	lg.key = key;
	build(&lg, "RRRDR");
	for (i = 0; i < 3; i++) {
		memset(&f, 0, sizeof(f));
		memset(&fd, 0, sizeof(fd));
		f.files = lg.files;
		f.nfiles = 1;
		f.key = i == 0 ? &key : NULL;
		f.guess_key = i == 2;
		f.say = collect;
		f.say_arg = &fd;
		for (size_t j = 0; j < lg.n; j++)
			assert_true(tlspa_follow_line(&f, &lg.ln[j]) >= 0);
		assert_int_equal(tlspa_follow_end(&f), 0);
		if (i == 0)
			assert_string_equal(fd.text, "Bf0:4");
		else if (i == 1)
			assert_string_equal(fd.text,
					    "Bf0:1 Bf0:2 Bf0:3 Bf0:4 Bf0:5");
		else
			assert_string_equal(fd.text, "Nf0:1 Bf0:4");
		assert_int_equal(f.unkeyed, i == 2);
		tlspa_follow_free(&f);
	}
	tlsp_jb_free(&lg.scratch);
	lg.key.k = NULL;
}

/* Held torn lines are bounded by the number of files, not the lines. */
static void
test_bounded(void **state)
{
	struct tlspa_reader_line ln;
	struct tlspa_follow f;
	struct log lg;
	char *files[1] = {names[0]};
	unsigned long long i;

	(void)state;
	memset(&lg, 0, sizeof(lg));
	build(&lg, "R");
	memset(&f, 0, sizeof(f));
	f.files = files;
	f.nfiles = 1;
	assert_int_equal(tlspa_follow_line(&f, &lg.ln[0]), 1);
	ln = lg.ln[0];
	ln.p = (char *)"garbage";
	ln.len = 7;
	for (i = 2; i <= 100000; i++) {
		ln.lineno = i;
		assert_int_equal(tlspa_follow_line(&f, &ln), 0);
		assert_true(f.npend <= 1);
	}
	assert_int_equal(tlspa_follow_end(&f), 0);
	assert_int_equal(f.breaks, 99998);
	assert_int_equal(f.torn, 1);
	assert_true(f.pendcap <= 4);
	tlspa_follow_free(&f);
	tlsp_jb_free(&lg.scratch);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_keyed),
		cmocka_unit_test(test_bounded),
	};
	int i;

	for (i = 0; i < MAXFILES; i++)
		snprintf(names[i], sizeof(names[i]), "f%d", i);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

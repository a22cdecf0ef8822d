/*
 * test_hostile_names.c - hostile client host names and HELO names
 * through the real daemon, down to the exact bytes they leave behind.
 *
 * Each row connects with its own host name and HELO (a double quote, a
 * backslash, control characters, invalid UTF-8, U+2028, bidirectional
 * overrides and isolates, ...) and sends a recipient the policy refuses,
 * so that the daemon writes a decision line and a rcpt record. What must
 * hold, escaped once by each sink (tlspolicy-milter(8) LOGGING and
 * audit/FORMAT.md section 1):
 *
 * - the decision line is exactly the expected line, the host name
 *   escaped as \xHH, and no line of the log holds a row's raw bytes;
 * - the rcpt record holds exactly the expected JSON tokens for the host
 *   name and the HELO;
 * - the audit chain holds for audit/chain.c, `tlspolicy-audit verify`
 *   and contrib/audit/tlspolicy-verify.py;
 * - Python's json module, with surrogateescape, gives back the exact
 *   bytes that were sent, from every record.
 *
 * The expected strings are written out by hand in the table, not made
 * with the escapers under test.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "fixture.h"

struct row {
	const char *name;
	const char *host, *helo;	   /* as sent */
	const char *log_host;		   /* in the decision line */
	const char *json_host, *json_helo; /* tokens in the record */
};

static const struct row rows[] = {
	{"double quote", "evil\"host", "mx\"1.example", "evil\\x22host",
	 "evil\\\"host", "mx\\\"1.example"},
	{"backslash", "back\\slash.example", "a\\\\b", "back\\x5cslash.example",
	 "back\\\\slash.example", "a\\\\\\\\b"},
	{"control characters", "ctl\x01\x1b[31m\x7f.example",
	 "h\r\nX-Injected: yes", "ctl\\x01\\x1b[31m\\x7f.example",
	 "ctl\\u0001\\u001b[31m\\u007f.example", "h\\r\\nX-Injected: yes"},
	{"invalid UTF-8", "mx\xff.example", "mx\xff.example", "mx\\xff.example",
	 "mx\\udcff.example", "mx\\udcff.example"},
	{"cut and overlong UTF-8", "a\xe2\x82.b\xc0\xaf", "\xed\xa0\x80x",
	 "a\\xe2\\x82.b\\xc0\\xaf", "a\\udce2\\udc82.b\\udcc0\\udcaf",
	 "\\udced\\udca0\\udc80x"},
	{"U+2028 line separator", "line\xe2\x80\xa8sep.example",
	 "p\xe2\x80\xa9sep", "line\\xe2\\x80\\xa8sep.example",
	 "line\\u2028sep.example", "p\\u2029sep"},
	{"U+202E bidi override", "evil\xe2\x80\xaegro.example",
	 "\xe2\x81\xa6isolate\xe2\x81\xa9\xe2\x80\xaa",
	 "evil\\xe2\\x80\\xaegro.example", "evil\\u202egro.example",
	 "\\u2066isolate\\u2069\\u202a"},
	{"C1, zero width, BOM, tag; UTF-8 kept",
	 "caf\xc3\xa9\xc2\x85\xe2\x80\x8b\xef\xbb\xbf.example",
	 "t\xf3\xa0\x81\x81g",
	 "caf\xc3\xa9\\xc2\\x85\\xe2\\x80\\x8b\\xef\\xbb\\xbf.example",
	 "caf\xc3\xa9\\u0085\\u200b\\ufeff.example", "t\\udb40\\udc41g"},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* The decision line of row i, whole (milter/record.c's format). */
static void
want_line(unsigned i, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz,
		 "tlspolicy-milter: info: HN%02u: rcpt=<h%02u@refuse.example> "
		 "from=<s@sender.example> client=%s[192.0.2.10] tls=TLSv1.2 "
		 "cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 cert=\"not "
		 "verified\" rules=recipient:refuse.example action=reject "
		 "failed=min_version unknown=- reply=\"550 5.7.1 Message "
		 "refused: TLS policy for the recipient domain not met\"\n",
		 i, i, rows[i].log_host);
}

struct fx {
	struct hn_daemon d;
};

static int
setup(void **state)
{
	return fx_setup(state, sizeof(struct fx), "always", 0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f != NULL)
		fx_cleanup(&f->d, NULL);
	free(f);
	return 0;
}

/* One session: the row's host name and HELO, MAIL, a refused RCPT. */
static void
one_row(struct fx *f, unsigned i)
{
	const char *from = "<s@sender.example>";
	char qid[16], to[64], err[256];
	const char *tov = to;
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;

	assert_non_null(r);
	snprintf(qid, sizeof(qid), "HN%02u", i);
	snprintf(to, sizeof(to), "<h%02u@refuse.example>", i);
	c = mt_open(f->d.spec, 10000, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s: %s", rows[i].name, err);
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    hn_mta_macros(c, SMFIC_CONNECT, NULL, NULL, NULL) < 0 ||
	    mt_connect(c, rows[i].host, SMFIA_INET, 25, "192.0.2.10", r) < 0 ||
	    hn_mta_macros(c, SMFIC_HELO, NULL, NULL, NULL) < 0 ||
	    mt_helo(c, rows[i].helo, r) < 0 ||
	    hn_mta_macros(c, SMFIC_MAIL, qid, "{mail_addr}", "s") < 0 ||
	    mt_mail(c, &from, 1, r) < 0 || r->code != SMFIR_CONTINUE ||
	    hn_mta_macros(c, SMFIC_RCPT, qid, "{rcpt_addr}", "h") < 0 ||
	    mt_rcpt(c, &tov, 1, r) < 0)
		fail_msg("%s: %s (last reply %s %s)", rows[i].name, mt_error(c),
			 mt_code_name(r->code), r->text);
	if (r->code != SMFIR_REPLYCODE ||
	    strncmp(r->text, HN_REFUSED_REPLY, strlen(HN_REFUSED_REPLY)) != 0)
		fail_msg("%s: RCPT got %s %s", rows[i].name,
			 mt_code_name(r->code), r->text);
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

/* The whole file; NUL-terminated (*len without it). */
static char *
slurp(const char *path, size_t *len)
{
	FILE *in = fopen(path, "rb");
	char *buf = NULL;
	long n = 0;

	if (in == NULL || fseek(in, 0, SEEK_END) != 0 || (n = ftell(in)) < 0)
		fail_msg("%s: cannot read", path);
	rewind(in);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, in), (size_t)n);
	buf[n] = '\0';
	fclose(in);
	*len = (size_t)n;
	return buf;
}

/* The decision lines are exactly the expected ones, and no raw byte
 * string of a row (where escaping changes it) is anywhere in the log. */
static void
assert_decision_lines(const struct hn_daemon *d)
{
	size_t len, i;
	char *log = slurp(d->errlog, &len), want[1024];

	for (i = 0; i < NROWS; i++) {
		want_line((unsigned)i, want, sizeof(want));
		if (strstr(log, want) == NULL) {
			hn_errlog_dump(d, 0);
			fail_msg("%s: no decision line\n%s", rows[i].name,
				 want);
		}
		if (strstr(log, rows[i].host) != NULL ||
		    strstr(log, rows[i].helo) != NULL)
			fail_msg("%s: raw bytes in the daemon's log",
				 rows[i].name);
	}
	free(log);
}

/* The rcpt record of row i holds exactly the expected tokens. */
static void
assert_records(const struct hn_daemon *d)
{
	size_t len, i;
	char *log = slurp(d->audit, &len), want[1024];

	for (i = 0; i < NROWS; i++) {
		char qid[32];
		const char *rec, *end;

		snprintf(qid, sizeof(qid), "\"queue_id\":\"HN%02zu\"", i);
		rec = strstr(log, qid);
		if (rec == NULL)
			fail_msg("%s: no record", rows[i].name);
		end = strchr(rec, '\n');
		assert_non_null(end);
		snprintf(want, sizeof(want),
			 "%s,\"client\":{\"addr\":\"192.0.2.10\",\"name\":"
			 "\"%s\"},\"helo\":\"%s\",\"sender\":",
			 qid, rows[i].json_host, rows[i].json_helo);
		if (strncmp(rec, want, strlen(want)) != 0)
			fail_msg("%s: record\n%.*s\nwant\n%s", rows[i].name,
				 (int)(end - rec), rec, want);
	}
	free(log);
}

/* Runs a shell command; its exit status, or -1. */
static int
run(const char *cmd)
{
	int st = system(cmd);

	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/*
 * The Python side: the independent verifier accepts the log, and the
 * json module with surrogateescape gives back each row's bytes from its
 * record (the expected bytes are passed as hex, from the table).
 */
static void
assert_python(const struct hn_daemon *d)
{
	static const char restore[] =
		"import json, sys\n"
		"want = {}\n"
		"for a in sys.argv[2:]:\n"
		"    q, h, e = a.split(':')\n"
		"    want[q] = (bytes.fromhex(h), bytes.fromhex(e))\n"
		"got = {}\n"
		"for line in open(sys.argv[1], 'rb'):\n"
		"    r = json.loads(line)\n"
		"    if r.get('queue_id') in want:\n"
		"        got[r['queue_id']] = tuple(\n"
		"            s.encode('utf-8', 'surrogateescape')\n"
		"            for s in (r['client']['name'], r['helo']))\n"
		"sys.exit(0 if got == want else 'restored %r, sent %r' % "
		"(got, want))\n";
	const char *src = getenv("top_srcdir");
	char *cmd, *p;
	size_t i, k, cap = 65536;

	if (src == NULL || run("python3 -c '' 2>/dev/null") != 0) {
		print_message("python3 or top_srcdir missing: the Python "
			      "verifier and the restoring are skipped\n");
		return;
	}
	cmd = malloc(cap);
	assert_non_null(cmd);
	snprintf(cmd, cap,
		 "python3 '%s/contrib/audit/tlspolicy-verify.py' '%s' 1>&2",
		 src, d->audit);
	if (run(cmd) != 0)
		fail_msg("tlspolicy-verify.py rejects the log");
	p = cmd +
	    snprintf(cmd, cap, "python3 -c \"%s\" '%s'", restore, d->audit);
	for (i = 0; i < NROWS; i++) {
		p += snprintf(p, cap - (size_t)(p - cmd), " HN%02zu:", i);
		for (k = 0; rows[i].host[k]; k++)
			p += snprintf(p, 3, "%02x",
				      (unsigned char)rows[i].host[k]);
		*p++ = ':';
		for (k = 0; rows[i].helo[k]; k++)
			p += snprintf(p, 3, "%02x",
				      (unsigned char)rows[i].helo[k]);
		*p = '\0';
	}
	if (run(cmd) != 0)
		fail_msg("the bytes sent were not restored from the records");
	free(cmd);
}

static void
test_hostile_names(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	struct al_log log = {0};
	unsigned i;

	assert_int_equal(hn_start(&f->d), 0);
	for (i = 0; i < NROWS; i++)
		one_row(f, i);
	fx_stop(&f->d, NULL);
	/* audit/chain.c and tlspolicy-audit verify */
	fx_assert_log(&log, files, 1, NULL);
	assert_int_equal(al_count_type(&log, "rcpt"), NROWS);
	al_free(&log);
	assert_decision_lines(&f->d);
	assert_records(&f->d);
	assert_python(&f->d);
	print_message("%zu hostile host names and HELOs: each escaped once "
		      "in the log and the record, restored from JSON\n",
		      NROWS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_names, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

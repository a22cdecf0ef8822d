/*
 * test_hostile_names.c - hostile client host names and HELO names
 * through the real daemon, down to the exact bytes they leave behind.
 *
 * Each row connects with its own host name and HELO (a double quote, a
 * backslash, control characters, invalid UTF-8, U+2028, bidirectional
 * overrides and isolates, ...) and sends a recipient the policy refuses,
 * so that the daemon writes a decision line and a rcpt record; one more
 * session carries a hostile {cipher} and certificate subject (values of
 * the MTA, kept as sent in the facts). What must hold, escaped once by
 * each sink (tlspolicy-milter(8) LOGGING and audit/FORMAT.md section 1):
 *
 * - the decision line is exactly the expected line, the host name (and
 *   the cipher) escaped as \xHH, and no line of the log holds the raw
 *   bytes;
 * - the rcpt record holds exactly the expected JSON tokens for the host
 *   name and the HELO (and the cipher and the subject);
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

/* The TLS macros of a session: Postfix over TLSv1.2, with this cipher
 * and subject (NULL: not sent). */
#define CIPHER "ECDHE-RSA-AES256-GCM-SHA384"
struct tls_row {
	const char *cipher, *subject;		/* as sent */
	const char *log_cipher, *cert;		/* in the decision line */
	const char *json_cipher, *json_subject; /* tokens in the record */
};

static const struct tls_row plain_tls = {CIPHER,	 NULL,	 CIPHER,
					 "not verified", CIPHER, NULL};
static const struct tls_row hostile_tls = {
	"AES\"128\\\xe2\x80\xae\xff",
	"mx.\xe2\x80\xae"
	"evil\"cn\\",
	"AES\\x22128\\x5c\\xe2\\x80\\xae\\xff",
	"verified",
	"AES\\\"128\\\\\\u202e\\udcff",
	"mx.\\u202eevil\\\"cn\\\\",
};

/* The decision line of session i, whole (milter/record.c's format). */
static void
want_line(unsigned i, const char *log_host, const struct tls_row *t, char *buf,
	  size_t bufsz)
{
	snprintf(buf, bufsz,
		 "tlspolicy-milter: info: HN%02u: rcpt=<h%02u@refuse.example> "
		 "from=<s@sender.example> client=%s[192.0.2.10] tls=TLSv1.2 "
		 "cipher=%s bits=256 cert=\"%s\" "
		 "rules=recipient:refuse.example action=reject "
		 "failed=min_version unknown=- reply=\"550 5.7.1 Message "
		 "refused: TLS policy for the recipient domain not met\"\n",
		 i, i, log_host, t->log_cipher, t->cert);
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

/* The macros for event cmd, with queue id qid (unless NULL). */
static int
send_macros(struct mt_conn *c, int cmd, const char *qid,
	    const struct tls_row *t)
{
	const struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", "Postfix 3.7.11"},
		{"{tls_version}", "TLSv1.2"},
		{"{cipher}", t->cipher},
		{"{cipher_bits}", "256"},
		{"{cert_subject}", t->subject},
		{"i", qid},
		{"{mail_addr}", "s@sender.example"},
		{"{rcpt_addr}", "h@refuse.example"},
	};

	return mt_macros(c, cmd, m, sizeof(m) / sizeof(m[0])) < 0 ? -1 : 0;
}

/* Session i: host name, HELO and TLS macros, MAIL, a refused RCPT. */
static void
one_session(struct fx *f, unsigned i, const char *host, const char *helo,
	    const struct tls_row *t)
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
		fail_msg("session %u: %s", i, err);
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    send_macros(c, SMFIC_CONNECT, NULL, t) < 0 ||
	    mt_connect(c, host, SMFIA_INET, 25, "192.0.2.10", r) < 0 ||
	    send_macros(c, SMFIC_HELO, NULL, t) < 0 ||
	    mt_helo(c, helo, r) < 0 || send_macros(c, SMFIC_MAIL, qid, t) < 0 ||
	    mt_mail(c, &from, 1, r) < 0 || r->code != SMFIR_CONTINUE ||
	    send_macros(c, SMFIC_RCPT, qid, t) < 0 ||
	    mt_rcpt(c, &tov, 1, r) < 0)
		fail_msg("session %u: %s (last reply %s %s)", i, mt_error(c),
			 mt_code_name(r->code), r->text);
	if (r->code != SMFIR_REPLYCODE ||
	    strncmp(r->text, HN_REFUSED_REPLY, strlen(HN_REFUSED_REPLY)) != 0)
		fail_msg("session %u: RCPT got %s %s", i, mt_code_name(r->code),
			 r->text);
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
 * string of a session (escaping changes each) is anywhere in the log. */
static void
assert_decision_lines(const struct hn_daemon *d)
{
	size_t len, i;
	char *log = slurp(d->errlog, &len), want[1024];

	for (i = 0; i < NROWS; i++) {
		want_line((unsigned)i, rows[i].log_host, &plain_tls, want,
			  sizeof(want));
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
	want_line(NROWS, "tls.example", &hostile_tls, want, sizeof(want));
	if (strstr(log, want) == NULL) {
		hn_errlog_dump(d, 0);
		fail_msg("hostile TLS values: no decision line\n%s", want);
	}
	if (strstr(log, hostile_tls.cipher) != NULL ||
	    strstr(log, hostile_tls.subject) != NULL)
		fail_msg("hostile TLS values: raw bytes in the daemon's log");
	free(log);
}

/* The rcpt record of session i, from its queue id on, into *rec. */
static const char *
record_of(const char *log, size_t i, char *qid, size_t qidsz)
{
	const char *rec;

	snprintf(qid, qidsz, "\"queue_id\":\"HN%02zu\"", i);
	rec = strstr(log, qid);
	if (rec == NULL)
		fail_msg("session %zu: no record", i);
	return rec;
}

/* The rcpt records hold exactly the expected tokens. */
static void
assert_records(const struct hn_daemon *d)
{
	size_t len, i;
	char *log = slurp(d->audit, &len), want[1024], qid[32];
	const char *rec, *end;

	for (i = 0; i < NROWS; i++) {
		rec = record_of(log, i, qid, sizeof(qid));
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
	rec = record_of(log, NROWS, qid, sizeof(qid));
	end = strchr(rec, '\n');
	assert_non_null(end);
	snprintf(want, sizeof(want),
		 "\"tls\":{\"version\":\"TLSv1.2\",\"cipher\":\"%s\",\"bits\":"
		 "256,",
		 hostile_tls.json_cipher);
	if (strstr(rec, want) == NULL || strstr(rec, want) > end)
		fail_msg("hostile TLS values: no %s", want);
	snprintf(want, sizeof(want), "\"subject\":\"%s\",",
		 hostile_tls.json_subject);
	if (strstr(rec, want) == NULL || strstr(rec, want) > end)
		fail_msg("hostile TLS values: no %s", want);
	free(log);
}

/* Runs a shell command; its exit status, or -1. */
static int
run(const char *cmd)
{
	int st = system(cmd);

	return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

/* Appends " QID:PATH:HEX" (the bytes of s in hex) to the command. */
static char *
add_want(char *p, const char *end, size_t i, const char *path, const char *s)
{
	p += snprintf(p, (size_t)(end - p), " HN%02zu:%s:", i, path);
	for (; *s != '\0' && end - p > 2; s++)
		p += snprintf(p, 3, "%02x", (unsigned char)*s);
	return p;
}

/*
 * The Python side: the independent verifier accepts the log, and the
 * json module with surrogateescape gives back, from every record of
 * each session, the bytes that were sent (passed as hex, from the
 * tables).
 */
static void
assert_python(const struct hn_daemon *d)
{
	static const char restore[] =
		"import json, sys\n"
		"want = [a.split(':') for a in sys.argv[2:]]\n"
		"seen = set()\n"
		"for line in open(sys.argv[1], 'rb'):\n"
		"    r = json.loads(line)\n"
		"    for q, path, h in want:\n"
		"        if r.get('queue_id') != q:\n"
		"            continue\n"
		"        v = r\n"
		"        for k in path.split('.'):\n"
		"            v = v[k]\n"
		"        got = v.encode('utf-8', 'surrogateescape')\n"
		"        if got != bytes.fromhex(h):\n"
		"            sys.exit('%s %s: restored %r' % (q, path, got))\n"
		"        seen.add((q, path))\n"
		"sys.exit(0 if len(seen) == len(want) else 'not all found')\n";
	const char *src = getenv("top_srcdir");
	size_t i, cap = 65536;
	char *cmd, *p;

	if (src == NULL || run("python3 -c '' 2>/dev/null") != 0) {
		/* a skip the stage summary names, never a silent pass */
		print_message("python3 or top_srcdir missing: the Python "
			      "verifier and the restoring cannot run\n");
		skip();
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
		p = add_want(p, cmd + cap, i, "client.name", rows[i].host);
		p = add_want(p, cmd + cap, i, "helo", rows[i].helo);
	}
	p = add_want(p, cmd + cap, NROWS, "tls.cipher", hostile_tls.cipher);
	(void)add_want(p, cmd + cap, NROWS, "tls.subject", hostile_tls.subject);
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
		one_session(f, i, rows[i].host, rows[i].helo, &plain_tls);
	one_session(f, NROWS, "tls.example", "tls.example", &hostile_tls);
	fx_stop(&f->d, NULL);
	/* audit/chain.c and tlspolicy-audit verify */
	fx_assert_log(&log, files, 1, NULL);
	assert_int_equal(al_count_type(&log, "rcpt"), NROWS + 1);
	al_free(&log);
	assert_decision_lines(&f->d);
	assert_records(&f->d);
	assert_python(&f->d);
	print_message("%zu hostile host names and HELOs, a hostile cipher "
		      "and subject: each escaped once in the log and the "
		      "record, restored from JSON\n",
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

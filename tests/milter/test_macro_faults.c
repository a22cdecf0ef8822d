/*
 * test_macro_faults.c - hostile macro values through the real daemon,
 * down to what they leave behind.
 *
 * tests/unit/test_facts.c checks the decoders row by row and
 * test_daemon.c's hostile-macro test checks the replies; here each row's
 * value goes, at every stage, to a fresh session of a daemon whose
 * policy tags the message, and what must hold is checked where the
 * value ends up: the tag header is one header, with no CR or LF (no
 * second header forged); the daemon's log has one line per line it
 * meant to write (no line starts with anything but its own prefix); the
 * audit log's chain holds, every line is one record, and Python's json
 * module reads every line as one object (json_lines_check.py).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

/* as large as a macro packet can be: libmilter refuses packets over
 * 64 KiB - 1, and the other macros share it */
#define BIG (63 * 1024)

static char big_subject[BIG + 1];

struct row {
	const char *name;
	const char *macro; /* "{cert_subject}", ... */
	const char *value;
	const char *mta; /* "v": Postfix or Sendmail shapes */
};

#define PF "Postfix 3.7.11"
#define SM "8.17.1"

static const struct row rows[] = {
	{"63 KiB subject", "{cert_subject}", big_subject, PF},
	{"63 KiB issuer, Sendmail", "{cert_issuer}", big_subject, SM},
	{"subject with CR LF and a header", "{cert_subject}",
	 "mx.example\r\nX-Injected: yes\r\n", PF},
	{"subject with a lone LF", "{cert_subject}", "a\nX-Injected: yes", PF},
	{"quotes and backslashes", "{cert_subject}", "/CN=\"a\\\"b\\\\\"/O='x'",
	 SM},
	{"invalid UTF-8", "{cert_subject}",
	 "/CN=\xff\xfe\xc3\x28\xed\xa0\x80\xf4\x90\x80\x80", SM},
	{"xtext: bad escapes", "{cert_subject}", "/CN=a+ZZ+2+g+", SM},
	{"xtext: escaped NUL", "{cert_subject}", "/CN=a+00b", SM},
	{"xtext: escaped CR LF header", "{cert_subject}",
	 "/CN=a+0D+0AX-Injected:+20yes", SM},
	{"version injects a header", "{tls_version}",
	 "TLSv1.2\r\nX-Injected: yes", PF},
	{"cipher injects a folded line", "{cipher}",
	 "AES128-SHA\r\n\tX-Injected: yes", PF},
	{"cipher with quotes and percent", "{cipher}", "%n%s\"'<>;=", PF},
	{"verify with CR LF", "{verify}", "OK\r\nX-Injected: yes", SM},
	{"bits not a number", "{cipher_bits}", "256\r\nX-Injected: 1", PF},
	{"huge bits", "{cipher_bits}", "99999999999999999999999", PF},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

struct fx {
	struct hn_daemon d;
};

static int
setup(void **state)
{
	size_t i;

	for (i = 0; i < BIG; i++)
		big_subject[i] = "/CN=a\r\n\"\\%\xff\xc3+ZZ"[i % 15];
	big_subject[BIG] = '\0';
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

/* The row's macros: a session over TLSv1.2 (which the tag.example rule
 * fails, so the message is tagged), with the row's value in place. */
static int
send_macros(struct mt_conn *c, int cmd, const struct row *r, const char *qid)
{
	struct mt_macro m[] = {
		{"j", "mx.test.example"},
		{"{daemon_name}", "smtpd"},
		{"v", r->mta},
		{"{tls_version}", "TLSv1.2"},
		{"{cipher}", "ECDHE-RSA-AES256-GCM-SHA384"},
		{"{cipher_bits}", "256"},
		{"{cert_subject}", NULL},
		{"{cert_issuer}", NULL},
		{"{verify}", strcmp(r->mta, SM) == 0 ? "OK" : NULL},
		{"i", qid},
		{"{mail_addr}", "s@sender.example"},
		{"{rcpt_addr}", "h@tag.example"},
	};
	size_t i;

	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (strcmp(m[i].name, r->macro) == 0)
			m[i].value = r->value;
	return mt_macros(c, cmd, m, sizeof(m) / sizeof(m[0])) < 0 ? -1 : 0;
}

/* The only modification is our header, once, on one line. */
static void
assert_one_clean_header(const struct row *row, const struct mt_reply *r)
{
	const struct mt_mod *h = mt_reply_find(r, SMFIR_INSHEADER,
					       "X-TLS-Policy");

	if (r->code != SMFIR_ACCEPT)
		fail_msg("%s: end of message got %s", row->name,
			 mt_code_name(r->code));
	if (h == NULL || r->nmods_seen != 1)
		fail_msg("%s: %zu modifications, tag header %s", row->name,
			 r->nmods_seen, h ? "present" : "missing");
	if (strpbrk(h->value, "\r\n") != NULL ||
	    strstr(h->value, "X-Injected:") != NULL)
		fail_msg("%s: the tag header carries a line break: \"%s\"",
			 row->name, h->value);
	if (strpbrk(h->name, "\r\n: ") != NULL)
		fail_msg("%s: header name \"%s\"", row->name, h->name);
}

static void
one_row(struct fx *f, const struct row *row, unsigned i)
{
	const char *from = "<s@sender.example>", *to = "<h@tag.example>";
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;
	char qid[16], err[256];

	assert_non_null(r);
	snprintf(qid, sizeof(qid), "H%02u", i);
	c = mt_open(f->d.spec, 10000, err, sizeof(err));
	if (c == NULL)
		fail_msg("%s: %s", row->name, err);
	if (mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
	    send_macros(c, SMFIC_CONNECT, row, NULL) < 0 ||
	    mt_connect(c, "client.example", SMFIA_INET, 25, "192.0.2.10", r) <
		    0 ||
	    send_macros(c, SMFIC_HELO, row, NULL) < 0 ||
	    mt_helo(c, "client.example", r) < 0 ||
	    send_macros(c, SMFIC_MAIL, row, qid) < 0 ||
	    mt_mail(c, &from, 1, r) < 0 || r->code != SMFIR_CONTINUE ||
	    send_macros(c, SMFIC_RCPT, row, qid) < 0 ||
	    mt_rcpt(c, &to, 1, r) < 0 || r->code != SMFIR_CONTINUE ||
	    send_macros(c, SMFIC_DATA, row, qid) < 0 || mt_data(c, r) < 0 ||
	    r->code != SMFIR_CONTINUE ||
	    mt_header(c, "Subject", "hostile", r) < 0 ||
	    send_macros(c, SMFIC_BODYEOB, row, qid) < 0 || mt_eom(c, r) < 0)
		fail_msg("%s: %s (last reply %s %s)", row->name, mt_error(c),
			 mt_code_name(r->code), r->text);
	assert_one_clean_header(row, r);
	assert_int_equal(mt_quit(c), 0);
	mt_close(c);
	free(r);
}

/*
 * A macro packet with a NUL inside a value: to libmilter that ends the
 * value, and what follows is read as the next name, so the pairs shift
 * ("b\r\nX-Injected: yes" becomes a name, "{i}" its value).
 *
 * With an odd number of strings libmilter's smfi_getsymval() would step
 * past the list's NULL end (8.17.1: SIGSEGV in strcmp); milter/frame.c
 * ends such a connection before libmilter parses the packet, which
 * test_frame_faults.c checks.
 */
static void
embedded_nul(struct fx *f)
{
	static const char even[] = "M{cert_subject}\0/CN=a\0b\r\nX-Injected: "
				   "yes\0{i}"; /* 4 strings */
	const char *from = "<s@sender.example>";
	struct hn_mta m = {0};

	if (hn_mta_open(&m, f->d.spec, 10000) < 0)
		fail_msg("%s", m.err);
	assert_int_equal(mt_send_raw(m.c, SMFIC_MACRO, even, sizeof(even)), 0);
	if (mt_mail(m.c, &from, 1, m.r) < 0)
		print_message("embedded NUL: %s\n", mt_error(m.c));
	else
		print_message("embedded NUL: MAIL answered %s\n",
			      mt_code_name(m.r->code));
	hn_mta_close(&m);
	usleep(100000);
	if (!hn_alive(&f->d)) {
		int st = 0;

		waitpid(f->d.pid, &st, 0);
		f->d.pid = 0;
		hn_errlog_dump(&f->d, f->d.started_at);
		fail_msg("the daemon died on a macro with an embedded NUL "
			 "(status 0x%x)",
			 st);
	}
	one_row(f, &rows[0], 99); /* and the next session is served */
}

/* Every line the daemon wrote after `from` is its own, whole. */
static void
assert_log_lines(const struct hn_daemon *d, long from)
{
	FILE *in = fopen(d->errlog, "re");
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	assert_non_null(in);
	fseek(in, from, SEEK_SET);
	while (getline(&line, &cap, in) > 0) {
		n++;
		if (strncmp(line, "tlspolicy-milter: ", 18) != 0) {
			print_error("line %ld of the daemon's log: %s", n,
				    line);
			fail_msg("a hostile value broke a log line");
		}
	}
	free(line);
	fclose(in);
	assert_true(n > (long)NROWS);
}

/* json_lines_check.py on the log, when python3 is there. */
static void
assert_json(const char *log)
{
	const char *src = getenv("top_srcdir");
	char cmd[1024];
	int st;

	if (src == NULL || system("python3 -c '' 2>/dev/null") != 0) {
		print_message("python3 or top_srcdir missing: JSON check "
			      "skipped\n");
		return;
	}
	snprintf(cmd, sizeof(cmd),
		 "python3 '%s/tests/unit/json_lines_check.py' '%s' 1>&2", src,
		 log);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("json_lines_check.py rejected the audit log");
}

static void
test_hostile_macros(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	struct al_log log = {0};
	size_t i;

	assert_int_equal(hn_start(&f->d), 0);
	for (i = 0; i < NROWS; i++)
		one_row(f, &rows[i], (unsigned)i);
	embedded_nul(f);
	assert_true(hn_alive(&f->d));
	fx_stop(&f->d, NULL);
	assert_log_lines(&f->d, f->d.started_at);
	fx_assert_log(&log, files, 1, NULL);
	for (i = 0; i < NROWS; i++) {
		char qid[16];

		snprintf(qid, sizeof(qid), "H%02zu", i);
		if (al_find(&log, 'm', qid, NULL) == NULL)
			fail_msg("%s: no message record", rows[i].name);
	}
	print_message("%zu rows and an embedded NUL: %zu audit records, one "
		      "tag header each, no line broken\n",
		      NROWS, log.n);
	al_free(&log);
	assert_json(f->d.audit);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_macros, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

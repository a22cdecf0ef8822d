/*
 * test_frame_faults.c - one hostile connection must not take the daemon
 * down.
 *
 * libmilter turns a macro packet into a list of strings that
 * smfi_getsymval() walks two at a time; with an odd number of strings it
 * reads past the list, and the daemon crashed on 9 of 80 such
 * connections. milter/frame.c refuses those packets before libmilter
 * parses them. Each row's packet goes to the real daemon on CONNS fresh
 * connections, one after the other: the packet at its place in an
 * ordinary session (negotiation, CONNECT, HELO, MAIL, RCPT; a macro
 * packet instead of its stage's own), whose next event waits for a reply
 * or for the daemon to close the connection, so that the packet has been
 * dealt with before the next one. Before each, one ordinary transaction
 * on a connection of its own leaves the heap as a busy daemon's: what
 * lies past a short list is then not all zeros.
 *
 * What must hold: the daemon survives every connection (one that dies is
 * counted, restarted, and fails the test at the end, so that a run
 * against the daemon built without the guard says how many it lost:
 * TLSPOLICY_MILTER=tests/bench/tlspolicy-milter-noguard); every packet
 * the guard refuses ends its own connection, is counted once (the daemon
 * says how many when it stops) and logged, at most LOG_BURST lines a
 * minute; the rows libmilter checks itself pass the guard and are
 * answered or closed as libmilter decides (those with no valid header
 * closed); afterwards a good transaction is decided, the daemon stops
 * cleanly (exit 0, no sanitizer report) and the audit chain holds.
 * Debian's libmilter is not instrumented, so under AddressSanitizer too
 * the evidence is survival, not a report.
 */
#include <errno.h>
#include <poll.h>
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

#define CONNS 20
#define LOG_BURST 10 /* milter/frame.c: refusals logged a minute */
#define REPLY_MS 5000
#define HOSTILE_MS 500 /* for a reply to the hostile packet */

/* Where the row's packet goes in the session. */
enum at {
	AT_NEG,	 /* after negotiation, before CONNECT */
	AT_HELO, /* after HELO, before MAIL */
	AT_MAIL, /* after MAIL, before RCPT */
	AT_RAW	 /* the bytes alone on a bare socket, no negotiation */
};

struct row {
	const char *name;
	enum at at;
	int cmd; /* the packet's command (AT_RAW: the bytes are the packet) */
	const char *data;
	size_t len;
	int guarded; /* 1: frame.c refuses it; 0: libmilter checks it */
};

#define DATA(s) s, sizeof(s) - 1

static const struct row rows[] = {
	/* the four variants of the report, and three more of the kind */
	{"CONNECT macros: one string", AT_NEG, SMFIC_MACRO,
	 DATA("C{daemon_name}\0"), 1},
	{"MAIL macros: three strings", AT_HELO, SMFIC_MACRO,
	 DATA("Mi\0F01\0{mail_addr}\0"), 1},
	{"MAIL macros: a NUL inside a value", AT_HELO, SMFIC_MACRO,
	 DATA("M{cert_subject}\0/CN=a\0b\0i\0F01\0"), 1},
	{"MAIL macros: a value without its NUL", AT_HELO, SMFIC_MACRO,
	 DATA("Mi\0F01\0{mail_addr}\0s@sender.example"), 1},
	{"MAIL macros: a name without its NUL", AT_HELO, SMFIC_MACRO,
	 DATA("Mi\0F01\0{mail_addr}"), 1},
	{"RCPT macros: one string", AT_MAIL, SMFIC_MACRO,
	 DATA("R{rcpt_addr}\0"), 1},
	{"HELO macros after MAIL: one string", AT_MAIL, SMFIC_MACRO,
	 DATA("H{tls_version}\0"), 1},
	/* libmilter's own checks: the guard lets them through */
	{"CONNECT: host name without NUL", AT_NEG, SMFIC_CONNECT,
	 DATA("client.example"), 0},
	{"CONNECT: address without NUL", AT_NEG, SMFIC_CONNECT,
	 DATA("client.example\0"
	      "4\0\x19"
	      "192.0.2.1"),
	 0},
	{"HELO without NUL", AT_HELO, SMFIC_HELO, DATA("client.example"), 0},
	{"MAIL without NUL", AT_HELO, SMFIC_MAIL, DATA("<s@sender.example>"),
	 0},
	{"MAIL: three empty strings", AT_HELO, SMFIC_MAIL, DATA("\0\0\0"), 0},
	{"RCPT without NUL", AT_MAIL, SMFIC_RCPT, DATA("<r@plain.example>"), 0},
	{"length 2^31 - 1", AT_RAW, 0,
	 DATA("\x7f\xff\xff\xff"
	      "D"),
	 0},
	{"negative length", AT_RAW, 0,
	 DATA("\xff\xff\xff\xfe"
	      "M"),
	 0},
	{"macro packet without data", AT_RAW, 0,
	 DATA("\0\0\0\1"
	      "D"),
	 0},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

struct fx {
	struct hn_daemon d;
	struct hn_mta m;
	unsigned tx;
	unsigned deaths;
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
		fx_cleanup(&f->d, &f->m);
	free(f);
	return 0;
}

/* After a connection: a daemon that died is counted, reaped and started
 * again, so that the run goes on and says how many died. */
static void
count_death(struct fx *f, const struct row *row, unsigned k)
{
	int st = 0;

	if (hn_alive(&f->d))
		return;
	waitpid(f->d.pid, &st, 0);
	f->d.pid = 0;
	f->deaths++;
	mt_close(f->m.c); /* the ordinary mail's connection died with it */
	f->m.c = NULL;
	print_error("%s, connection %u: the daemon died (status 0x%x)\n",
		    row->name, k, st);
	hn_errlog_dump(&f->d, f->d.started_at);
	if (hn_start(&f->d) < 0)
		fail_msg("the daemon did not start again");
}

/*
 * One ordinary transaction before each hostile connection: the heap as a
 * busy daemon's, where what lies past a short list is not all zeros. If
 * it fails, the daemon is dying of the last hostile connection: its
 * death is counted once it is gone.
 */
static void
ordinary_mail(struct fx *f, const struct row *row, unsigned k)
{
	struct hn_decision told[2];
	long deadline = hn_now_ms() + REPLY_MS;
	char qid[32];
	size_t n;

	snprintf(qid, sizeof(qid), "MIX%05u", f->tx);
	if ((f->m.c != NULL || hn_mta_open(&f->m, f->d.spec, REPLY_MS) == 0) &&
	    hn_mta_tx(&f->m, qid, f->tx++ % 2, told, &n) == 0)
		return;
	while (hn_alive(&f->d) && hn_now_ms() < deadline)
		usleep(10000);
	if (hn_alive(&f->d))
		fail_msg("%s: ordinary mail failed: %s", row->name, f->m.err);
	count_death(f, row, k ? k - 1 : 0);
}

/* Sends the packet of `row` and, for a command, reads its reply (or
 * none, if negotiated away), so that the replies stay in step. */
static int
hostile(struct mt_conn *c, const struct row *row, struct mt_reply *r)
{
	int rc;

	if (mt_send_raw(c, row->cmd, row->data, row->len) < 0)
		return -1;
	if (row->cmd == SMFIC_MACRO)
		return 0;
	/* libmilter leaves some unanswered (a HELO without its NUL) */
	mt_set_timeout(c, HOSTILE_MS);
	rc = mt_read_reply(c, row->cmd, r);
	mt_set_timeout(c, REPLY_MS);
	return rc;
}

/* The macros of stage cmd, unless the row's macro packet stands in for
 * them (else theirs would replace it before the event reads it). */
static int
stage_macros(struct mt_conn *c, const struct row *row, int cmd, const char *qid,
	     const char *name, const char *value)
{
	if (row->cmd == SMFIC_MACRO && row->data[0] == cmd)
		return 0;
	return hn_mta_macros(c, cmd, qid, name, value);
}

/*
 * One session with the row's packet at its place; 1 if it went to the
 * end (RCPT answered), 0 if it ended early (the daemon closed it).
 */
static int
session(const struct fx *f, const struct row *row, unsigned k)
{
	const char *from = "<s@sender.example>", *to = "<r@plain.example>";
	struct mt_reply *r = calloc(1, sizeof(*r));
	struct mt_conn *c;
	char qid[16], err[256];
	int ok;

	assert_non_null(r);
	snprintf(qid, sizeof(qid), "F%02u", k);
	if ((c = mt_open(f->d.spec, REPLY_MS, err, sizeof(err))) == NULL)
		fail_msg("%s, connection %u: %s", row->name, k, err);
	ok = mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) == 0 &&
	     (row->at != AT_NEG || hostile(c, row, r) == 0) &&
	     stage_macros(c, row, SMFIC_CONNECT, NULL, NULL, NULL) == 0 &&
	     mt_connect(c, "client.example", SMFIA_INET, 25, "192.0.2.10", r) ==
		     0 &&
	     stage_macros(c, row, SMFIC_HELO, NULL, NULL, NULL) == 0 &&
	     mt_helo(c, "client.example", r) == 0 &&
	     (row->at != AT_HELO || hostile(c, row, r) == 0) &&
	     stage_macros(c, row, SMFIC_MAIL, qid, "{mail_addr}",
			  "s@sender.example") == 0 &&
	     mt_mail(c, &from, 1, r) == 0 &&
	     (row->at != AT_MAIL || hostile(c, row, r) == 0) &&
	     stage_macros(c, row, SMFIC_RCPT, qid, "{rcpt_addr}",
			  "r@plain.example") == 0 &&
	     mt_rcpt(c, &to, 1, r) == 0;
	if (ok)
		(void)mt_quit(c);
	mt_close(c);
	free(r);
	return ok;
}

/* The row's bytes on a bare socket; 1 if the daemon closed it within
 * REPLY_MS (libmilter ends such a connection), 0 if not. */
static int
raw_session(const struct fx *f, const struct row *row)
{
	struct pollfd p;
	char buf[64];
	long deadline = hn_now_ms() + REPLY_MS;
	ssize_t n = 1;
	int fd = hn_raw_connect(&f->d);

	if (fd < 0)
		fail_msg("%s: connect: %s", row->name, strerror(errno));
	assert_int_equal(write(fd, row->data, row->len), (ssize_t)row->len);
	p.fd = fd;
	p.events = POLLIN;
	while (n > 0 && hn_now_ms() < deadline)
		if (poll(&p, 1, 100) > 0)
			n = read(fd, buf, sizeof(buf));
	close(fd);
	return n <= 0;
}

static void
test_hostile_packets(void **state)
{
	struct fx *f = *state;
	unsigned i, k, guarded = 0, cut, total = 0, wrong = 0;
	char want[128];
	long logged;

	assert_int_equal(hn_start(&f->d), 0);
	for (i = 0; i < NROWS; i++) {
		const struct row *row = &rows[i];

		for (k = cut = 0; k < CONNS; k++, total++) {
			/* ordinary mail between them: the heap as a busy
			 * daemon's, where what lies past a short list is
			 * not all zeros */
			ordinary_mail(f, row, k);
			if (row->at == AT_RAW)
				cut += raw_session(f, row);
			else
				cut += !session(f, row, k);
			count_death(f, row, k);
		}
		usleep(50000); /* a crash may take a moment */
		count_death(f, row, CONNS);
		print_message("%-40s %2u connections, %2u ended early\n",
			      row->name, CONNS, cut);
		/* a refused packet ends its own connection, every time,
		 * and so does libmilter a packet it cannot read */
		if ((row->guarded || row->at == AT_RAW) && cut != CONNS) {
			print_error("%s: %u of %u connections went on\n",
				    row->name, CONNS - cut, CONNS);
			wrong++;
		}
		guarded += row->guarded ? CONNS : 0;
	}
	if (f->deaths > 0)
		fail_msg("%u of %u hostile connections took the daemon down",
			 f->deaths, total);
	if (wrong > 0)
		fail_msg("%u rows were not refused", wrong);
	print_message("%u hostile connections in %zu variants (%u refused "
		      "by the guard): the daemon survived all\n",
		      total, NROWS, guarded);
	/* the first refusal, as logged */
	if (!hn_errlog_has(&f->d, f->d.started_at,
			   "tlspolicy-milter: warning: malformed milter "
			   "packet: fd=",
			   " cmd=D stage=\"C\" len=15 strings=1 error=\"an odd "
			   "number of macro strings\"; connection closed (1 so "
			   "far)")) {
		hn_errlog_dump(&f->d, f->d.started_at);
		fail_msg("no log line for the first refused packet");
	}
	logged = hn_errlog_count(&f->d, f->d.started_at,
				 "malformed milter packet:");
	print_message("%ld refusals logged of %u\n", logged, guarded);
	assert_true(logged >= 1 && logged <= 2 * LOG_BURST); /* two minutes */
	/* and the daemon still serves */
	fx_tx_decided(&f->d, &f->m, "GOOD", &f->tx, 2);
	fx_stop(&f->d, &f->m);
	snprintf(want, sizeof(want),
		 "tlspolicy-milter: warning: %u connections were closed for a "
		 "malformed milter packet",
		 guarded);
	if (!hn_errlog_has(&f->d, f->d.started_at, want, NULL)) {
		hn_errlog_dump(&f->d, f->d.started_at);
		fail_msg("the daemon did not count %u refusals", guarded);
	}
	{
		const char *files[] = {f->d.audit};
		struct al_log log = {0};

		fx_assert_log(&log, files, 1, NULL);
		al_free(&log);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostile_packets, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(600); /* a hung run fails; the daemons die with us */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

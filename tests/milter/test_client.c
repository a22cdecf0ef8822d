/*
 * test_client.c - tests of the milter protocol client (client.c).
 *
 * Against nullmilter, a real libmilter milter started per test on a unix
 * socket in a temporary directory (or on a loopback port), the client must
 * honour each negotiated SMFIP_NO* and SMFIP_NR_* flag, filter macros by
 * the milter's lists, run several transactions on one connection, abort,
 * reuse the connection (QUIT_NC), collect end-of-message modifications,
 * time out on a stopped milter, and work from several threads at once.
 * Against a scripted fake milter in a thread, it must turn every reply that
 * libmilter never sends (bad lengths, wrong codes, modifications out of
 * place, stray replies, silence) into a clear error instead of a hang.
 *
 * nullmilter is found through $NULLMILTER, else
 * $top_builddir/tests/milter/nullmilter. Table rows are checked one by one;
 * every row that disagrees is reported by name before the test fails.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../bench/clock.h"
#include "client.h"

#define TIMEOUT_MS 5000

/* What the lean preset of nullmilter asks for. */
#define LEAN                                                                   \
	(SMFIP_NODATA | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOBODY |            \
	 SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL)
#define ALL_NR                                                                 \
	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT |       \
	 SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY |         \
	 SMFIP_NR_UNKN)

struct fixture {
	char dir[128];
	char spec[256]; /* "unix:<dir>/milter.sock" */
	pid_t pid;	/* nullmilter, or -1 */
};

/* ------------------------------------------------------ small tools */

static void
sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

/* A writable copy, since execv() wants char *const argv[]. */
static char *
nullmilter_path(char *buf, size_t size)
{
	const char *p = getenv("NULLMILTER");
	const char *top = getenv("top_builddir");

	if (p != NULL && *p != '\0')
		snprintf(buf, size, "%s", p);
	else
		snprintf(buf, size, "%s/tests/milter/nullmilter",
			 top != NULL && *top != '\0' ? top : ".");
	return buf;
}

/* Can a connection be made? (libmilter just sees EOF and moves on.) */
static int
probe(const char *spec)
{
	char err[256];
	struct mt_conn *c = mt_open(spec, 200, err, sizeof err);

	mt_close(c);
	return c != NULL ? 0 : -1;
}

/* ---------------------------------------------------- the nullmilter */

/*
 * SIGKILL, not SIGTERM: libmilter's listener looks for a stop request only
 * every 5 s (MI_CHK_TIME), and nullmilter has nothing to clean up. It also
 * ends a process a test has stopped.
 */
static void
milter_stop(struct fixture *fx)
{
	int st;

	if (fx->pid <= 0)
		return;
	kill(fx->pid, SIGKILL);
	waitpid(fx->pid, &st, 0);
	fx->pid = -1;
}

/* Starts nullmilter on spec with extra arguments (NULL-terminated). */
static int
milter_start(struct fixture *fx, const char *spec, char *const *args)
{
	char path[512], popt[] = "-p", sock[256], *argv[32];
	size_t n = 0;
	int64_t end = tb_now_ms() + 10000;
	int st;

	snprintf(sock, sizeof sock, "%s", spec);
	argv[n++] = nullmilter_path(path, sizeof path);
	argv[n++] = popt;
	argv[n++] = sock;
	while (args != NULL && *args != NULL && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	fflush(NULL);
	if ((fx->pid = fork()) == 0) {
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	while (fx->pid > 0 && tb_now_ms() < end) {
		if (waitpid(fx->pid, &st, WNOHANG) == fx->pid) {
			fprintf(stderr, "%s exited (status 0x%x)\n", argv[0],
				st);
			fx->pid = -1;
			return -1;
		}
		if (probe(spec) == 0)
			return 0;
		sleep_ms(10);
	}
	fprintf(stderr, "%s did not come up on %s\n", argv[0], spec);
	milter_stop(fx);
	return -1;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	const char *tmp = getenv("TMPDIR");

	if (fx == NULL)
		return -1;
	/* sun_path holds ~100 bytes: only use TMPDIR if it is short */
	if (tmp == NULL || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(fx->dir, sizeof fx->dir, "%s/mtest-XXXXXX", tmp);
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->spec, sizeof fx->spec, "unix:%s/milter.sock", fx->dir);
	fx->pid = -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char path[300];

	milter_stop(fx);
	unlink(fx->spec + 5);
	/* left behind when an assertion jumped over fake_stop() */
	snprintf(path, sizeof path, "%s/fake.sock", fx->dir);
	unlink(path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Opens and negotiates; NULL after printing why. */
static struct mt_conn *
connect_to(const char *spec, uint32_t actions, uint32_t protocol)
{
	char err[256];
	struct mt_conn *c = mt_open(spec, TIMEOUT_MS, err, sizeof err);

	if (c == NULL) {
		print_error("mt_open(%s): %s\n", spec, err);
		return NULL;
	}
	if (mt_negotiate(c, actions, protocol) < 0) {
		print_error("mt_negotiate: %s\n", mt_error(c));
		mt_close(c);
		return NULL;
	}
	return c;
}

/* A failed client call: report and fail the test. */
#define CALL(c, expr)                                                          \
	do {                                                                   \
		if ((expr) != 0)                                               \
			fail_msg("%s: %s", #expr, mt_error(c));                \
	} while (0)

static const char *const sender[] = {"<alice@example.org>", "SIZE=100"};
static const char *const rcpt_ok[] = {"<bob@example.net>"};
static const char *const rcpt_rej[] = {"<carol+reject@example.net>"};
static const char *const rcpt_tmp[] = {"<dave+tempfail@example.net>"};

/* --------------------------------------------- stages against flags */

enum {
	S_CONN,
	S_HELO,
	S_MAIL,
	S_RCPT,
	S_DATA,
	S_HDR,
	S_EOH,
	S_BODY,
	S_EOM,
	S_N
};

static const char *const stage_name[S_N] = {
	"connect", "helo", "mail", "rcpt", "data",
	"header",  "eoh",  "body", "eom",
};

struct stage_case {
	const char *name;
	char *args[4];	   /* nullmilter arguments */
	uint32_t offer;	   /* protocol flags the client offers */
	uint32_t protocol; /* what the milter must choose */
	int want[S_N];	   /* reply per stage */
};

#define NR MT_NOREPLY
#define SK MT_SKIPPED

static const struct stage_case stage_cases[] = {
	{"lean (default), all offered",
	 {NULL},
	 MT_ALL_PROTOCOL,
	 LEAN,
	 {NR, NR, NR, 'c', SK, SK, SK, SK, 'a'}},
	{"lean, MTA offers no NR_*: libmilter fakes the replies",
	 {NULL},
	 MT_ALL_PROTOCOL & ~ALL_NR,
	 LEAN & ~ALL_NR,
	 {'c', 'c', 'c', 'c', SK, SK, SK, SK, 'a'}},
	{"every stage, every reply",
	 {"-f", "all", NULL},
	 MT_ALL_PROTOCOL,
	 0,
	 {'c', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'a'}},
	{"every stage, no replies",
	 {"-f", "nr", NULL},
	 MT_ALL_PROTOCOL,
	 ALL_NR,
	 {NR, NR, NR, NR, NR, NR, NR, NR, 'a'}},
	{"every stage, no replies wanted but none offered",
	 {"-f", "nr", NULL},
	 MT_ALL_PROTOCOL & ~ALL_NR,
	 0,
	 {'c', 'c', 'c', 'c', 'c', 'c', 'c', 'c', 'a'}},
	{"no HELO, no MAIL",
	 {"-f", "nohelo,nomail", NULL},
	 MT_ALL_PROTOCOL,
	 SMFIP_NOHELO | SMFIP_NOMAIL,
	 {'c', SK, SK, 'c', 'c', 'c', 'c', 'c', 'a'}},
	{"no connect, header without reply",
	 {"-f", "noconnect,nr_hdr,nr_eoh", NULL},
	 MT_ALL_PROTOCOL,
	 SMFIP_NOCONNECT | SMFIP_NR_HDR | SMFIP_NR_EOH,
	 {SK, 'c', 'c', 'c', 'c', NR, NR, 'c', 'a'}},
	{"body without reply, no data",
	 {"-f", "nodata,nr_body", NULL},
	 MT_ALL_PROTOCOL,
	 SMFIP_NODATA | SMFIP_NR_BODY,
	 {'c', 'c', 'c', 'c', SK, 'c', 'c', NR, 'a'}},
};

/* Runs one transaction through every stage, recording each reply. */
static int
run_stages(struct mt_conn *c, int got[S_N])
{
	struct mt_reply r;
	int rc = 0;

#define STEP(i, call)                                                          \
	do {                                                                   \
		rc |= (call);                                                  \
		got[i] = r.code;                                               \
	} while (0)
	STEP(S_CONN, mt_connect(c, "client.example", SMFIA_INET, 25123,
				"192.0.2.7", &r));
	STEP(S_HELO, mt_helo(c, "client.example", &r));
	STEP(S_MAIL, mt_mail(c, sender, 2, &r));
	STEP(S_RCPT, mt_rcpt(c, rcpt_ok, 1, &r));
	STEP(S_DATA, mt_data(c, &r));
	STEP(S_HDR, mt_header(c, "Subject", "stages", &r));
	STEP(S_EOH, mt_eoh(c, &r));
	STEP(S_BODY, mt_body(c, "hello\r\n", 7, &r));
	STEP(S_EOM, mt_eom(c, &r));
#undef STEP
	return rc;
}

/* The counters follow from the replies: one command per event sent. */
static int
stats_match(const struct mt_stats *s, const int want[S_N])
{
	uint64_t cmds = 2, trips = 1, nr = 1, skipped = 0; /* OPTNEG, QUIT */
	int i;

	for (i = 0; i < S_N; i++) {
		skipped += want[i] == SK;
		nr += want[i] == NR;
		trips += want[i] != SK && want[i] != NR;
		cmds += want[i] != SK;
	}
	/* one send() per round trip, plus QUIT: no-reply commands ride along
	 * with the next command that waits */
	return s->commands == cmds && s->round_trips == trips &&
	       s->no_reply == nr && s->not_sent == skipped &&
	       s->macro_packets == 0 && s->writes == trips + 1;
}

static int
check_stage_case(struct fixture *fx, const struct stage_case *t)
{
	struct mt_conn *c;
	int got[S_N], i, bad = 0;

	if (milter_start(fx, fx->spec, t->args) < 0)
		return 1;
	if ((c = connect_to(fx->spec, MT_ALL_ACTIONS, t->offer)) == NULL) {
		milter_stop(fx);
		return 1;
	}
	if (mt_protocol(c) != t->protocol) {
		print_error("%s: protocol 0x%lx, want 0x%lx\n", t->name,
			    (unsigned long)mt_protocol(c),
			    (unsigned long)t->protocol);
		bad = 1;
	}
	if (run_stages(c, got) != 0 || mt_quit(c) != 0) {
		print_error("%s: %s\n", t->name, mt_error(c));
		bad = 1;
	}
	for (i = 0; i < S_N && !bad; i++)
		if (got[i] != t->want[i]) {
			print_error("%s: %s got %s, want %s\n", t->name,
				    stage_name[i], mt_code_name(got[i]),
				    mt_code_name(t->want[i]));
			bad = 1;
		}
	if (!bad && !stats_match(mt_stats(c), t->want)) {
		print_error("%s: counters do not match the replies\n", t->name);
		bad = 1;
	}
	mt_close(c);
	milter_stop(fx);
	return bad;
}

static void
test_stages(void **state)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof stage_cases / sizeof stage_cases[0]; i++)
		bad |= check_stage_case(*state, &stage_cases[i]);
	assert_int_equal(bad, 0);
}

/* --------------------------------------------- transactions, replies */

/* The one header nullmilter -a X-Null:yes adds, and nothing else. */
static void
assert_tagged_code(const struct mt_reply *r, int code)
{
	const struct mt_mod *m = mt_reply_find(r, SMFIR_ADDHEADER, "x-null");

	assert_int_equal(r->code, code);
	assert_int_equal(r->nmods, 1);
	assert_non_null(m);
	assert_string_equal(m->name, "X-Null");
	assert_string_equal(m->value, "yes");
	assert_int_equal(m->value_len, 3);
	assert_false(r->truncated);
}

static void
assert_tagged(const struct mt_reply *r)
{
	assert_tagged_code(r, SMFIR_ACCEPT);
}

static void
test_transactions(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-f", "nr_conn,nr_helo,nodata,nohdrs,noeoh,nobody",
			"-a", "X-Null:yes", NULL};
	const char *const bad_sender[] = {"<eve+reject@example.org>"};
	struct mt_conn *c;
	struct mt_reply r;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	assert_int_equal(mt_actions(c), SMFIF_ADDHDRS);
	CALL(c, mt_connect(c, "client.example", SMFIA_INET6, 2525,
			   "2001:db8::7", &r));
	CALL(c, mt_helo(c, "client.example", &r));
	/* 1: per-recipient replies, then a tagged message */
	CALL(c, mt_mail(c, sender, 2, &r));
	assert_int_equal(r.code, SMFIR_CONTINUE);
	CALL(c, mt_rcpt(c, rcpt_rej, 1, &r));
	assert_int_equal(r.code, SMFIR_REPLYCODE);
	assert_string_equal(r.text, "550 5.7.1 rejected by nullmilter");
	CALL(c, mt_rcpt(c, rcpt_tmp, 1, &r));
	assert_int_equal(r.code, SMFIR_TEMPFAIL);
	assert_string_equal(r.text, "");
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	assert_int_equal(r.code, SMFIR_CONTINUE);
	CALL(c, mt_data(c, &r));
	assert_int_equal(r.code, MT_SKIPPED);
	CALL(c, mt_eom(c, &r));
	assert_tagged(&r);
	/* 2: a second EHLO (as after STARTTLS), then RSET */
	CALL(c, mt_helo(c, "client.example", &r));
	assert_int_equal(r.code, MT_NOREPLY);
	CALL(c, mt_mail(c, sender, 1, &r));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	CALL(c, mt_abort(c));
	/* 3: a rejected sender, then one that passes */
	CALL(c, mt_mail(c, bad_sender, 1, &r));
	assert_int_equal(r.code, SMFIR_REJECT);
	CALL(c, mt_mail(c, sender, 1, &r));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	assert_int_equal(r.code, SMFIR_CONTINUE);
	CALL(c, mt_eom(c, &r));
	assert_tagged(&r);
	CALL(c, mt_quit(c));
	assert_int_equal(mt_stats(c)->not_sent, 1);
	/* after QUIT the connection is done */
	assert_int_equal(mt_helo(c, "x", &r), -1);
	assert_non_null(strstr(mt_error(c), "mt_quit"));
	mt_close(c);
}

static void
test_eom_mods(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-g",	 "-q", "held for review", "-a",
			"X-A:1", "-a", "X-B:two words",	  NULL};
	struct mt_conn *c;
	struct mt_reply r;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	assert_int_equal(mt_actions(c), SMFIF_ADDHDRS | SMFIF_QUARANTINE);
	CALL(c, mt_connect(c, "[192.0.2.7]", SMFIA_INET, 0, "192.0.2.7", &r));
	CALL(c, mt_mail(c, sender, 1, &r));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	CALL(c, mt_eom(c, &r));
	/* the progress report is absorbed; the rest keeps its order */
	assert_int_equal(r.code, SMFIR_ACCEPT);
	assert_int_equal(r.nmods, 3);
	assert_int_equal(r.nmods_seen, 3);
	assert_int_equal(r.mods[0].cmd, SMFIR_QUARANTINE);
	assert_string_equal(r.mods[0].value, "held for review");
	assert_int_equal(r.mods[1].cmd, SMFIR_ADDHEADER);
	assert_string_equal(r.mods[1].name, "X-A");
	assert_string_equal(r.mods[1].value, "1");
	assert_string_equal(r.mods[2].name, "X-B");
	assert_string_equal(r.mods[2].value, "two words");
	/* 1 OPTNEG + RCPT + EOM waited; EOM brought 5 packets */
	assert_int_equal(mt_stats(c)->round_trips, 3);
	assert_int_equal(mt_stats(c)->replies, 1 + 1 + 5);
	CALL(c, mt_quit(c));
	mt_close(c);
}

static void
test_symlists(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-m", "envfrom:{tls_version} j",
			"-m", "connect:{daemon_name}",
			"-M", "{tls_version}",
			"-M", "{cipher}",
			"-M", "j",
			"-M", "{daemon_name}",
			"-M", "{client_addr}",
			"-M", "{rcpt_mailer}",
			NULL};
	const struct mt_macro conn[] = {{"{daemon_name}", "smtpd"},
					{"{client_addr}", "192.0.2.7"}};
	const struct mt_macro mail[] = {{"{tls_version}", "TLSv1.3"},
					{"{cipher}", "TLS_AES_256_GCM_SHA384"},
					{"j", "mx.example"},
					{"{undefined}", NULL}};
	const struct mt_macro rcpt[] = {{"{rcpt_mailer}", "smtp"}};
	const char *want[] = {"{tls_version}=TLSv1.3", "{cipher}=(unset)",
			      "j=mx.example",	       "{daemon_name}=smtpd",
			      "{client_addr}=(unset)", "{rcpt_mailer}=smtp"};
	struct mt_conn *c;
	struct mt_reply r;
	size_t i;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	assert_int_equal(mt_actions(c), SMFIF_ADDHDRS | SMFIF_SETSYMLIST);
	assert_string_equal(mt_symlist(c, SMFIM_ENVFROM), "{tls_version} j");
	assert_string_equal(mt_symlist(c, SMFIM_CONNECT), "{daemon_name}");
	assert_null(mt_symlist(c, SMFIM_HELO));
	assert_null(mt_symlist(c, SMFIM_ENVRCPT));
	assert_null(mt_symlist(c, SMFIM_LAST + 1));
	/* listed stages send only what is listed; others everything */
	assert_int_equal(mt_macros(c, SMFIC_CONNECT, conn, 2), 1);
	CALL(c,
	     mt_connect(c, "client.example", SMFIA_INET, 1, "192.0.2.7", &r));
	assert_int_equal(mt_macros(c, SMFIC_MAIL, mail, 4), 2);
	CALL(c, mt_mail(c, sender, 1, &r));
	assert_int_equal(mt_macros(c, SMFIC_RCPT, rcpt, 1), 1);
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	CALL(c, mt_eom(c, &r));
	assert_int_equal(r.code, SMFIR_ACCEPT);
	assert_int_equal(r.nmods, 6);
	for (i = 0; i < 6; i++)
		assert_string_equal(r.mods[i].value, want[i]);
	assert_int_equal(mt_stats(c)->macro_packets, 3);
	CALL(c, mt_quit(c));
	mt_close(c);
}

/*
 * Three SMTP sessions on one milter connection. Every event gets a reply
 * (-f all), so a CONNECT libmilter dropped would time out. QUIT_NC is only
 * taken after "continue" at end of message; after ACCEPT it is dropped.
 */
static void
test_quit_nc(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-f", "all",	    "-E", "continue",
			"-a", "X-Null:yes", NULL};
	char *accepting[] = {"-f", "all", NULL};
	struct mt_conn *c;
	struct mt_reply r;
	int i;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	for (i = 0; i < 3; i++) {
		if (i > 0)
			CALL(c, mt_quit_nc(c));
		CALL(c, mt_connect(c, "client.example", SMFIA_INET, 1,
				   "192.0.2.7", &r));
		assert_int_equal(r.code, SMFIR_CONTINUE);
		CALL(c, mt_helo(c, "client.example", &r));
		CALL(c, mt_mail(c, sender, 1, &r));
		CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
		assert_int_equal(r.code, SMFIR_CONTINUE);
		CALL(c, mt_eom(c, &r));
		assert_tagged_code(&r, SMFIR_CONTINUE);
	}
	CALL(c, mt_quit(c));
	mt_close(c);
	milter_stop(fx);

	assert_int_equal(milter_start(fx, fx->spec, accepting), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	CALL(c, mt_mail(c, sender, 1, &r));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r)); /* EOM after MAIL: dropped too */
	CALL(c, mt_eom(c, &r));
	assert_int_equal(r.code, SMFIR_ACCEPT);
	CALL(c, mt_quit_nc(c));
	mt_set_timeout(c, 300);
	assert_int_equal(mt_connect(c, "h", SMFIA_INET, 1, "192.0.2.7", &r),
			 -1);
	assert_non_null(strstr(mt_error(c), "timed out"));
	mt_close(c);
}

/* QUIT in mid-transaction: libmilter ignores it; EOF still ends it. */
static void
test_quit_midway(void **state)
{
	struct fixture *fx = *state;
	struct mt_conn *c;
	struct mt_reply r;
	int64_t t0;

	assert_int_equal(milter_start(fx, fx->spec, NULL), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	CALL(c, mt_connect(c, "client.example", SMFIA_UNIX, 0, "/sock", &r));
	CALL(c, mt_helo(c, "client.example", &r));
	CALL(c, mt_mail(c, sender, 1, &r));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	t0 = tb_now_ms();
	CALL(c, mt_quit(c));
	assert_true(tb_now_ms() - t0 <
		    TIMEOUT_MS / 2); /* EOF, not the timeout */
	mt_close(c);
}

static void
test_body(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-f", "skip", NULL};
	static char big[200000];
	struct mt_conn *c;
	struct mt_reply r;
	uint64_t trips;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	assert_int_equal(mt_protocol(c), SMFIP_SKIP);
	CALL(c, mt_connect(c, "h", SMFIA_UNKNOWN, 0, NULL, &r));
	CALL(c, mt_mail(c, sender, 1, &r));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	CALL(c, mt_data(c, &r));
	CALL(c, mt_header(c, "Subject", "body", &r));
	CALL(c, mt_eoh(c, &r));
	/* a large body goes in 64 KiB chunks, one round trip each */
	memset(big, 'x', sizeof big);
	trips = mt_stats(c)->round_trips;
	CALL(c, mt_body(c, big, sizeof big, &r));
	assert_int_equal(r.code, SMFIR_CONTINUE);
	assert_int_equal(mt_stats(c)->round_trips - trips, 4);
	/* after SMFIR_SKIP no more body is sent, until another event */
	CALL(c, mt_body(c, "SKIP the rest\r\n", 15, &r));
	assert_int_equal(r.code, SMFIR_SKIP);
	CALL(c, mt_body(c, "more\r\n", 6, &r));
	assert_int_equal(r.code, MT_SKIPPED);
	CALL(c, mt_body(c, "", 0, &r));
	assert_int_equal(r.code, MT_SKIPPED);
	CALL(c, mt_eom(c, &r));
	assert_int_equal(r.code, SMFIR_ACCEPT);
	CALL(c, mt_quit(c));
	mt_close(c);
}

/* libmilter sends SMFIR_SKIP even to an MTA that cannot take it. */
static void
test_skip_not_offered(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-f", "skip", NULL};
	struct mt_conn *c;
	struct mt_reply r;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL & ~SMFIP_SKIP);
	assert_non_null(c);
	assert_int_equal(mt_protocol(c), 0);
	CALL(c, mt_mail(c, sender, 1, &r));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	assert_int_equal(mt_body(c, "SKIP\r\n", 6, &r), -1);
	assert_non_null(strstr(mt_error(c), "without SMFIP_SKIP"));
	/* the connection stays broken with the first error */
	assert_int_equal(mt_eom(c, &r), -1);
	assert_non_null(strstr(mt_error(c), "without SMFIP_SKIP"));
	mt_close(c);
}

/* ------------------------------------------- sockets, timeouts, usage */

/* A loopback port that was free a moment ago. */
static int
free_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* Both spellings of inet sockets; the mean end-of-message time is shown
 * because a milter that writes several packets can stall on Nagle. */
static void
test_inet(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-a", "X-Null:yes", NULL};
	char spec[64], spec2[64];
	struct mt_conn *c;
	struct mt_reply r;
	int port = free_port(), i;
	int64_t t0;

	assert_true(port > 0);
	snprintf(spec, sizeof spec, "inet:%d@127.0.0.1", port);
	snprintf(spec2, sizeof spec2, "inet:127.0.0.1:%d", port);
	assert_int_equal(milter_start(fx, spec, args), 0);
	c = connect_to(spec2, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	CALL(c,
	     mt_connect(c, "client.example", SMFIA_INET, 1, "192.0.2.7", &r));
	t0 = tb_now_ms();
	for (i = 0; i < 20; i++) {
		CALL(c, mt_mail(c, sender, 1, &r));
		CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
		CALL(c, mt_eom(c, &r));
		assert_tagged(&r);
	}
	print_message("inet: %.1f ms per tagged transaction\n",
		      (double)(tb_now_ms() - t0) / 20);
	CALL(c, mt_quit(c));
	mt_close(c);
}

/*
 * kill() returns before the child has stopped: SIGSTOP waits in the shared
 * queue until one thread takes it and starts the group stop, and meanwhile
 * a worker woken by our command still answers it. waitpid(WUNTRACED)
 * reports the child only once every thread has stopped. Bounded: 2 s.
 */
static int
stop_child(pid_t pid)
{
	int i, st;

	if (kill(pid, SIGSTOP) < 0)
		return 0;
	for (i = 0; i < 200; i++) {
		if (waitpid(pid, &st, WUNTRACED | WNOHANG) == pid)
			return WIFSTOPPED(st);
		sleep_ms(10);
	}
	return 0;
}

/* A stopped milter makes calls fail after the timeout, not hang. */
static void
test_hung_milter(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-f", "all", NULL};
	struct mt_conn *c;
	struct mt_reply r;
	int64_t t0;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	c = connect_to(fx->spec, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	CALL(c,
	     mt_connect(c, "client.example", SMFIA_INET, 1, "192.0.2.7", &r));
	assert_true(stop_child(fx->pid));
	mt_set_timeout(c, 300);
	t0 = tb_now_ms();
	assert_int_equal(mt_helo(c, "client.example", &r), -1);
	assert_true(tb_now_ms() - t0 >= 290);
	assert_true(tb_now_ms() - t0 < 2000);
	assert_non_null(strstr(mt_error(c), "timed out after 300 ms"));
	mt_close(c);
}

static void
test_usage(void **state)
{
	struct fixture *fx = *state;
	char err[256];
	struct mt_conn *c;
	struct mt_reply r;
	static char huge[70000];

	assert_null(mt_open(fx->spec, 200, err, sizeof err));
	assert_non_null(strstr(err, "No such file"));
	assert_null(mt_open("tcp:25@127.0.0.1", 200, err, sizeof err));
	assert_non_null(strstr(err, "want unix:"));
	assert_null(mt_open("inet:nonsense", 200, err, sizeof err));
	assert_int_equal(milter_start(fx, fx->spec, NULL), 0);
	c = mt_open(fx->spec, TIMEOUT_MS, err, sizeof err);
	assert_non_null(c);
	/* no events before negotiation; misuse leaves c usable */
	assert_int_equal(mt_helo(c, "x", &r), -1);
	assert_non_null(strstr(mt_error(c), "mt_negotiate() first"));
	CALL(c, mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL));
	assert_int_equal(mt_negotiate(c, 0, 0), -1);
	assert_int_equal(mt_mail(c, NULL, 0, &r), -1);
	assert_int_equal(mt_connect(c, "h", 'x', 1, "a", &r), -1);
	memset(huge, 'a', sizeof huge - 1);
	assert_int_equal(mt_helo(c, huge, &r), -1);
	assert_non_null(strstr(mt_error(c), "exceeds the limit"));
	/* a NULL reply is allowed */
	CALL(c, mt_mail(c, sender, 1, NULL));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, &r));
	assert_int_equal(r.code, SMFIR_CONTINUE);
	/* raw: an RCPT without its NUL makes libmilter drop the session
	 * (out-of-order commands it would ignore instead) */
	CALL(c, mt_send_raw(c, SMFIC_RCPT, "junk", 4));
	assert_int_equal(mt_read_reply(c, SMFIC_RCPT, &r), -1);
	assert_non_null(strstr(mt_error(c), "closed the connection"));
	mt_close(c);
	mt_close(NULL);
}

/* ---------------------------------------------------- a fake milter */

/* One packet the fake sends; code -1 sends data as raw bytes. */
struct pkt {
	int code;
	const char *data;
	size_t len;
};

#define PK(code, s)                                                            \
	{                                                                      \
		code, s, sizeof(s) - 1                                         \
	}
#define RAW(s)                                                                 \
	{                                                                      \
		-1, s, sizeof(s) - 1                                           \
	}
#define W0 "\0\0\0\0"
#define V6 "\0\0\0\x06"
#define OPT_OK PK('O', V6 W0 W0)

#define FAKE_STEPS 4

/*
 * Reads one packet for each step and answers with the step's packets (a
 * list ending with code 0). A step with nothing to say makes it silent
 * for hold_ms, then it closes. After the script it reads until EOF.
 */
struct fake {
	char path[256];
	int lfd;
	const struct pkt *say[FAKE_STEPS];
	int hold_ms;
	int echo; /* after the script, answer every command with continue */
	unsigned char rec[4096]; /* what the client sent, as sent */
	size_t reclen;
	pthread_t tid;
};

static int
read_full(int fd, void *buf, size_t n, int ms)
{
	unsigned char *p = buf;
	struct pollfd pf;
	ssize_t k;

	while (n > 0) {
		pf.fd = fd, pf.events = POLLIN, pf.revents = 0;
		if (poll(&pf, 1, ms) != 1 || (k = read(fd, p, n)) <= 0)
			return -1;
		p += k, n -= (size_t)k;
	}
	return 0;
}

/* Reads (and records) one packet; returns its command or -1. */
static int
fake_read_packet(struct fake *f, int fd)
{
	unsigned char hdr[5], buf[512];
	uint32_t n;
	size_t k;

	if (read_full(fd, hdr, 5, TIMEOUT_MS) < 0)
		return -1;
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (f->reclen + 5 <= sizeof f->rec) {
		memcpy(f->rec + f->reclen, hdr, 5);
		f->reclen += 5;
	}
	for (n = n > 0 ? n - 1 : 0; n > 0; n -= (uint32_t)k) {
		k = n < sizeof buf ? n : sizeof buf;
		if (read_full(fd, buf, k, TIMEOUT_MS) < 0)
			return -1;
		if (f->reclen + k <= sizeof f->rec) {
			memcpy(f->rec + f->reclen, buf, k);
			f->reclen += k;
		}
	}
	return hdr[4];
}

static void
fake_say(int fd, const struct pkt *p)
{
	unsigned char hdr[5];
	uint32_t n;

	for (; p->code != 0; p++) {
		if (p->code != -1) {
			n = (uint32_t)p->len + 1;
			hdr[0] = (unsigned char)(n >> 24);
			hdr[1] = (unsigned char)(n >> 16);
			hdr[2] = (unsigned char)(n >> 8);
			hdr[3] = (unsigned char)n;
			hdr[4] = (unsigned char)p->code;
			(void)send(fd, hdr, 5, MSG_NOSIGNAL);
		}
		if (p->len > 0)
			(void)send(fd, p->data, p->len, MSG_NOSIGNAL);
	}
}

/* Discards input until EOF or ms pass. */
static void
fake_drain(int fd, int ms)
{
	unsigned char buf[512];
	int64_t end = tb_now_ms() + ms;
	struct pollfd pf;

	while (tb_now_ms() < end) {
		pf.fd = fd, pf.events = POLLIN, pf.revents = 0;
		if (poll(&pf, 1, (int)(end - tb_now_ms())) != 1 ||
		    read(fd, buf, sizeof buf) <= 0)
			return;
	}
}

static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	struct pollfd pf = {f->lfd, POLLIN, 0};
	int fd, i;

	if (poll(&pf, 1, TIMEOUT_MS) != 1 || (fd = accept(f->lfd, 0, 0)) < 0)
		return NULL;
	for (i = 0; i < FAKE_STEPS && f->say[i] != NULL; i++) {
		if (fake_read_packet(f, fd) < 0)
			break;
		if (f->say[i]->code == 0) {
			fake_drain(fd, f->hold_ms);
			close(fd);
			return NULL;
		}
		fake_say(fd, f->say[i]);
	}
	while (f->echo && (i = fake_read_packet(f, fd)) != -1)
		if (strchr("DAKQ", i) == NULL) /* those get no reply */
			fake_say(fd, (const struct pkt[]){PK('c', ""), {0}});
	fake_drain(fd, TIMEOUT_MS);
	close(fd);
	return NULL;
}

static int
fake_start(struct fixture *fx, struct fake *f)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(f->path, sizeof f->path, "%s/fake.sock", fx->dir);
	if (strlen(f->path) >= sizeof sun.sun_path)
		return -1;
	memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
	unlink(f->path);
	if ((f->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(f->lfd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    listen(f->lfd, 4) < 0 ||
	    pthread_create(&f->tid, NULL, fake_run, f) != 0) {
		print_error("fake milter: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static void
fake_stop(struct fake *f)
{
	pthread_join(f->tid, NULL);
	close(f->lfd);
	unlink(f->path);
}

enum act { DO_NOTHING, DO_CONNECT, DO_RCPT, DO_EOM, DO_QUIT };

struct fake_case {
	const char *name;
	struct pkt say1[4]; /* answer to SMFIC_OPTNEG */
	struct pkt say2[4]; /* answer to the command act sends */
	int hold_ms;	    /* silence where a step says nothing */
	uint32_t offer_actions, offer_protocol; /* 0: MT_ALL_* */
	enum act act;
	int want_code;	      /* if the calls succeed */
	const char *want_err; /* else: in the error message */
};

static const struct fake_case fake_cases[] = {
	/* negotiation */
	{"silent milter",
	 {{0}},
	 {{0}},
	 3000,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "SMFIC_OPTNEG: timed out after 200 ms"},
	{"milter closes at once",
	 {{0}},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "closed the connection"},
	{"continue instead of OPTNEG",
	 {PK('c', "")},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "SMFIR_CONTINUE in reply to SMFIC_OPTNEG"},
	{"short OPTNEG",
	 {PK('O', V6)},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "want at least 12"},
	{"version 7",
	 {PK('O', "\0\0\0\x07" W0 W0)},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "version 7"},
	{"version 1",
	 {PK('O', "\0\0\0\x01" W0 W0)},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "version 1"},
	{"action not offered",
	 {PK('O', V6 "\0\0\0\x21" W0)},
	 {{0}},
	 0,
	 SMFIF_ADDHDRS,
	 0,
	 DO_NOTHING,
	 0,
	 "actions 0x20, not offered"},
	{"protocol flag not offered",
	 {PK('O', V6 W0 "\0\0\x10\x01")},
	 {{0}},
	 0,
	 0,
	 SMFI_V2_PROT,
	 DO_NOTHING,
	 0,
	 "protocol flags 0x1000, not offered"},
	{"zero-length packet",
	 {RAW(W0)},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "zero-length packet"},
	{"absurd packet length",
	 {RAW("\x7f\xff\xff\xff")},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "packet of 2147483647 bytes"},
	{"macro list for stage 9",
	 {PK('O', V6 W0 W0 "\0\0\0\x09"
			   "j\0")},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "unknown stage 9"},
	{"macro list without NUL",
	 {PK('O', V6 W0 W0 "\0\0\0\x01"
			   "j")},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "not NUL-terminated"},
	{"macro list twice",
	 {PK('O', V6 W0 W0 "\0\0\0\x01"
			   "j\0"
			   "\0\0\0\x01"
			   "i\0")},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "repeated stage 1"},
	{"truncated macro list",
	 {PK('O', V6 W0 W0 "\0\0\0")},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_NOTHING,
	 0,
	 "truncated macro list"},

	/* replies to events */
	{"header before end of message",
	 {OPT_OK},
	 {PK('h', "A\0B\0")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "modifications come only at end of message"},
	{"header without SMFIF_ADDHDRS",
	 {OPT_OK},
	 {PK('h', "A\0B\0")},
	 0,
	 0,
	 0,
	 DO_EOM,
	 0,
	 "without negotiating action 0x1"},
	{"reply code 250",
	 {OPT_OK},
	 {PK('y', "250 ok\0")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "malformed SMFIR_REPLYCODE \"250 ok\""},
	{"reply code with mismatched class",
	 {OPT_OK},
	 {PK('y', "550 4.7.1 no\0")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "malformed"},
	{"reply code without NUL",
	 {OPT_OK},
	 {PK('y', "550 5.7.1 no")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "malformed"},
	{"multi-line reply code",
	 {OPT_OK},
	 {PK('y', "550-5.7.1 one\r\n550 5.7.1 two\0")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 SMFIR_REPLYCODE,
	 NULL},
	{"continue with data",
	 {OPT_OK},
	 {PK('c', "X")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "SMFIR_CONTINUE in reply to SMFIC_RCPT carries 1 bytes"},
	{"unknown reply",
	 {OPT_OK},
	 {PK('Z', "")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "unknown reply 0x5a to SMFIC_RCPT"},
	{"skip outside the body",
	 {OPT_OK},
	 {PK('s', "")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "SMFIR_SKIP in reply to SMFIC_RCPT"},
	{"discard at connect",
	 {OPT_OK},
	 {PK('d', "")},
	 0,
	 0,
	 0,
	 DO_CONNECT,
	 0,
	 "SMFIR_DISCARD is not allowed for SMFIC_CONNECT"},
	{"shutdown",
	 {OPT_OK},
	 {PK('4', "")},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 SMFIR_SHUTDOWN,
	 NULL},
	{"milter closes while a reply is due",
	 {OPT_OK},
	 {{0}},
	 0,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "reading the reply to SMFIC_RCPT: the milter closed"},
	{"milter hangs at RCPT",
	 {OPT_OK},
	 {{0}},
	 3000,
	 0,
	 0,
	 DO_RCPT,
	 0,
	 "reply to SMFIC_RCPT: timed out after 200 ms"},
	{"stray reply at QUIT",
	 {OPT_OK},
	 {PK('c', "")},
	 0,
	 0,
	 0,
	 DO_QUIT,
	 0,
	 "unsolicited SMFIR_CONTINUE"},
	{"progress with data",
	 {OPT_OK},
	 {PK('p', "X")},
	 0,
	 0,
	 0,
	 DO_EOM,
	 0,
	 "SMFIR_PROGRESS carries 1 bytes"},
	{"progress, progress, accept",
	 {OPT_OK},
	 {PK('p', ""), PK('p', ""), PK('a', "")},
	 0,
	 0,
	 0,
	 DO_EOM,
	 SMFIR_ACCEPT,
	 NULL},
	{"continue at end of message",
	 {OPT_OK},
	 {PK('c', "")},
	 0,
	 0,
	 0,
	 DO_EOM,
	 SMFIR_CONTINUE,
	 NULL},
};

static int
do_act(struct mt_conn *c, enum act act, struct mt_reply *r)
{
	switch (act) {
	case DO_NOTHING:
		return 0;
	case DO_CONNECT:
		return mt_connect(c, "h", SMFIA_INET, 1, "192.0.2.1", r);
	case DO_RCPT:
		return mt_rcpt(c, rcpt_ok, 1, r);
	case DO_EOM:
		return mt_eom(c, r);
	case DO_QUIT:
		return mt_quit(c);
	}
	return -1;
}

static int
check_fake_case(struct fixture *fx, const struct fake_case *t)
{
	struct fake f = {.say = {t->say1, t->say2}, .hold_ms = t->hold_ms};
	struct mt_conn *c;
	struct mt_reply r = {0};
	char err[256];
	int rc, bad;

	if (fake_start(fx, &f) < 0)
		return 1;
	c = mt_open(f.path, t->hold_ms > 0 ? 200 : TIMEOUT_MS, err, sizeof err);
	rc = c == NULL ? -1
		       : mt_negotiate(c,
				      t->offer_actions ? t->offer_actions
						       : MT_ALL_ACTIONS,
				      t->offer_protocol ? t->offer_protocol
							: MT_ALL_PROTOCOL);
	if (rc == 0)
		rc = do_act(c, t->act, &r);
	if (t->want_err != NULL)
		bad = rc == 0 || strstr(mt_error(c), t->want_err) == NULL;
	else
		bad = rc != 0 || r.code != t->want_code;
	if (bad)
		print_error("%s: rc %d, code %s, error \"%s\"\n", t->name, rc,
			    mt_code_name(r.code), c ? mt_error(c) : err);
	mt_close(c);
	fake_stop(&f);
	return bad;
}

static void
test_fake_replies(void **state)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof fake_cases / sizeof fake_cases[0]; i++)
		bad |= check_fake_case(*state, &fake_cases[i]);
	assert_int_equal(bad, 0);
}

/* Every modification's layout, and what does not fit. */
static void
test_fake_mods(void **state)
{
	static char longval[5002];
	static struct pkt many[19];
	const struct pkt opt[] = {PK('O', V6 "\0\0\x01\xff" W0), {0}};
	const struct pkt mods[] = {PK('i', W0 "X-I\0v\0"),
				   PK('m', "\0\0\0\x02"
					   "Subject\0\0"),
				   PK('+', "<new@x>\0"),
				   PK('-', "<old@x>\0"),
				   PK('2', "<p@x>\0NOTIFY=NEVER\0"),
				   PK('2', "<q@x>\0"),
				   PK('e', "<f@x>\0SIZE=1\0"),
				   PK('b', "line\r\n"),
				   PK('q', "why\0"),
				   PK('y', "451 4.7.1 later\0"),
				   {0}};
	const struct pkt big[] = {
		{'h', longval, sizeof longval}, PK('a', ""), {0}};
	struct fake f = {.say = {opt, mods, many, big}};
	struct mt_conn *c;
	struct mt_reply r;
	size_t i;

	for (i = 0; i < 17; i++)
		many[i] = (struct pkt)PK('h', "X-Many\0v\0");
	many[17] = (struct pkt)PK('a', "");
	memcpy(longval, "X-Long\0", 7);
	memset(longval + 7, 'v', sizeof longval - 8);
	longval[sizeof longval - 1] = '\0';
	assert_int_equal(fake_start(*state, &f), 0);
	c = connect_to(f.path, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	CALL(c, mt_eom(c, &r));
	assert_int_equal(r.code, SMFIR_REPLYCODE);
	assert_string_equal(r.text, "451 4.7.1 later");
	assert_int_equal(r.nmods, 9);
	assert_int_equal(r.mods[0].cmd, SMFIR_INSHEADER);
	assert_int_equal(r.mods[0].index, 0);
	assert_string_equal(r.mods[0].name, "X-I");
	assert_string_equal(r.mods[0].value, "v");
	assert_int_equal(r.mods[1].index, 2);
	assert_string_equal(r.mods[1].name, "Subject");
	assert_string_equal(r.mods[1].value, ""); /* delete */
	assert_string_equal(r.mods[2].value, "<new@x>");
	assert_string_equal(r.mods[3].value, "<old@x>");
	assert_string_equal(r.mods[4].value, "<p@x>");
	assert_string_equal(r.mods[4].name, "NOTIFY=NEVER");
	assert_string_equal(r.mods[5].name, "");
	assert_string_equal(r.mods[6].value, "<f@x>");
	assert_string_equal(r.mods[6].name, "SIZE=1");
	assert_string_equal(r.mods[7].value, "line\r\n");
	assert_int_equal(r.mods[7].value_len, 6);
	assert_ptr_equal(mt_reply_find(&r, SMFIR_QUARANTINE, NULL), &r.mods[8]);
	assert_false(r.truncated);
	CALL(c, mt_eom(c, &r));
	assert_int_equal(r.nmods, MT_MAX_MODS);
	assert_int_equal(r.nmods_seen, 17);
	assert_true(r.truncated);
	CALL(c, mt_eom(c, &r));
	assert_int_equal(r.mods[0].value_len, sizeof longval - 8);
	assert_int_equal(strlen(r.mods[0].value), MT_VALUE_MAX - 1);
	assert_true(r.truncated);
	mt_close(c);
	fake_stop(&f);
}

/* The bytes on the wire, packet by packet, against hand-made packets. */
static const struct pkt wire_want[] = {
	PK('O', V6 "\0\0\x01\xff"
		   "\0\x1f\xff\xff"),
	PK('D', "C{daemon_name}\0smtpd\0j\0mx.example\0"),
	PK('C', "client.example\0"
		"4\x62\x1f"
		"192.0.2.7\0"),
	PK('H', "client.example\0"),
	PK('M', "<alice@example.org>\0SIZE=100\0"),
	PK('R', "<bob@example.net>\0"),
	PK('T', ""),
	PK('L', "Subject\0 wire\0"),
	PK('N', ""),
	PK('B', "hello\r\n"),
	PK('D', "E{i}\0"
		"4Q1AbC\0"),
	PK('E', ""),
	PK('U', "HELP\0"),
	PK('A', ""),
	PK('K', ""),
	PK('C', "h\0U"),
	PK('C', "h\0"
		"6\x01\xbb"
		"2001:db8::1\0"),
	PK('C', "h\0"
		"L\0\0"
		"/run/smtp\0"),
	PK('Q', ""),
};

static size_t
wire_expected(unsigned char *buf, size_t size)
{
	size_t i, n = 0;
	uint32_t len;

	for (i = 0; i < sizeof wire_want / sizeof wire_want[0]; i++) {
		len = (uint32_t)wire_want[i].len + 1;
		assert_true(n + 5 + wire_want[i].len <= size);
		buf[n++] = (unsigned char)(len >> 24);
		buf[n++] = (unsigned char)(len >> 16);
		buf[n++] = (unsigned char)(len >> 8);
		buf[n++] = (unsigned char)len;
		buf[n++] = (unsigned char)wire_want[i].code;
		memcpy(buf + n, wire_want[i].data, wire_want[i].len);
		n += wire_want[i].len;
	}
	return n;
}

static void
test_wire_format(void **state)
{
	const struct pkt opt[] = {OPT_OK, {0}};
	const struct mt_macro conn[] = {{"{daemon_name}", "smtpd"},
					{"j", "mx.example"}};
	const struct mt_macro eom[] = {{"{i}", "4Q1AbC"}};
	struct fake f = {.say = {opt}, .echo = 1};
	unsigned char want[2048];
	size_t n = wire_expected(want, sizeof want), i;
	struct mt_conn *c;

	assert_int_equal(fake_start(*state, &f), 0);
	c = connect_to(f.path, MT_ALL_ACTIONS, MT_ALL_PROTOCOL);
	assert_non_null(c);
	assert_int_equal(mt_macros(c, SMFIC_CONNECT, conn, 2), 2);
	CALL(c, mt_connect(c, "client.example", SMFIA_INET, 25119, "192.0.2.7",
			   NULL));
	CALL(c, mt_helo(c, "client.example", NULL));
	CALL(c, mt_mail(c, sender, 2, NULL));
	CALL(c, mt_rcpt(c, rcpt_ok, 1, NULL));
	CALL(c, mt_data(c, NULL));
	CALL(c, mt_header(c, "Subject", " wire", NULL));
	CALL(c, mt_eoh(c, NULL));
	CALL(c, mt_body(c, "hello\r\n", 7, NULL));
	assert_int_equal(mt_macros(c, SMFIC_BODYEOB, eom, 1), 1);
	CALL(c, mt_eom(c, NULL));
	CALL(c, mt_unknown(c, "HELP", NULL));
	CALL(c, mt_abort(c));
	CALL(c, mt_quit_nc(c));
	CALL(c, mt_connect(c, "h", SMFIA_UNKNOWN, 0, NULL, NULL));
	CALL(c, mt_connect(c, "h", SMFIA_INET6, 443, "2001:db8::1", NULL));
	CALL(c, mt_connect(c, "h", SMFIA_UNIX, 0, "/run/smtp", NULL));
	CALL(c, mt_quit(c));
	mt_close(c);
	fake_stop(&f);
	for (i = 0; i < n && i < f.reclen && f.rec[i] == want[i]; i++)
		continue;
	if (i < n || f.reclen != n)
		fail_msg("wire bytes differ at offset %zu (sent %zu, want %zu)",
			 i, f.reclen, n);
}

/* --------------------------------------------------------- threads */

struct worker {
	const char *spec;
	char err[320];
};

/* 5 connections of 10 transactions; the first failure is kept. */
static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct mt_conn *c = NULL;
	struct mt_reply *r = malloc(sizeof *r);
	int k, j, rc = r == NULL;

	for (k = 0; k < 5 && rc == 0; k++) {
		c = mt_open(w->spec, TIMEOUT_MS, w->err, sizeof w->err);
		if (c == NULL)
			break;
		rc = mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) ||
		     mt_connect(c, "t", SMFIA_INET, 1, "192.0.2.9", r);
		for (j = 0; j < 10 && rc == 0; j++) {
			rc = mt_mail(c, sender, 2, r) ||
			     mt_rcpt(c, rcpt_ok, 1, r) || mt_eom(c, r);
			if (rc == 0 &&
			    (r->code != SMFIR_ACCEPT ||
			     !mt_reply_find(r, SMFIR_ADDHEADER, "X-Null")))
				rc = -1;
		}
		rc = rc || mt_quit(c);
		if (rc != 0)
			snprintf(w->err, sizeof w->err, "%s (code %s)",
				 mt_error(c), mt_code_name(r->code));
		mt_close(c);
	}
	if (r == NULL)
		snprintf(w->err, sizeof w->err, "out of memory");
	free(r);
	return NULL;
}

static void
test_threads(void **state)
{
	struct fixture *fx = *state;
	char *args[] = {"-a", "X-Null:yes", "-b", "64", NULL};
	struct worker w[4];
	pthread_t tid[4];
	int i, bad = 0;

	assert_int_equal(milter_start(fx, fx->spec, args), 0);
	for (i = 0; i < 4; i++) {
		w[i].spec = fx->spec;
		w[i].err[0] = '\0';
		assert_int_equal(pthread_create(&tid[i], NULL, worker_run,
						&w[i]),
				 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		if (w[i].err[0] != '\0') {
			print_error("thread %d: %s\n", i, w[i].err);
			bad = 1;
		}
	}
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_stages),	   T(test_transactions),
		T(test_eom_mods),  T(test_symlists),
		T(test_quit_nc),   T(test_quit_midway),
		T(test_body),	   T(test_skip_not_offered),
		T(test_inet),	   T(test_hung_milter),
		T(test_usage),	   T(test_fake_replies),
		T(test_fake_mods), T(test_wire_format),
		T(test_threads),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

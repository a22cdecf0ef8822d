/*
 * test_conn_faults.c - MTA connections misbehaving against a running
 * daemon.
 *
 * Each test starts its own daemon (tests/milter/harness.c), abuses its
 * socket in one way, and then checks the same things: the daemon is
 * still up, a fresh connection still gets its transaction decided, the
 * threads and descriptors the abuse took are given back, it stops
 * cleanly on SIGTERM (exit 0, no sanitizer report), and the audit chain
 * holds with no torn line.
 *
 *   a. clients that vanish mid-transaction: after MAIL, after RCPT, in
 *      the middle of a packet, after DATA, in the middle of the body
 *   b. MTA-side timeouts: connections that stop at every stage and hold
 *      the socket; the daemon must sleep, not spin (CPU time measured)
 *   c. 2,000 simultaneous connections (1,000 under ThreadSanitizer,
 *      whose thread limit is lower): all negotiate, a fresh one still
 *      works; threads and RSS per connection are printed
 *   d. descriptor exhaustion: the daemon's RLIMIT_NOFILE lowered to 64
 *      with prlimit(2) and more connections than it can accept; they
 *      are refused or closed, the daemon does not spin, and service
 *      resumes once they are gone
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

/* hn_quick(): 500 connections, held idle for 500 ms */
#define MANY (hn_quick() ? 500 : HN_UNDER_TSAN ? 1000 : 2000)
#define IDLE_MS (hn_quick() ? 500 : 2000) /* idle connections held */
#define IDLE_CPU_MS 200			  /* CPU the daemon may use meanwhile */
/* for threads to go after their sockets: an idle libmilter pool worker
 * leaves only when its 10 s wait for work times out (COND_TIMEOUT in its
 * worker.c) */
#define SETTLE_MS 15000

struct fx {
	struct hn_daemon d;
	struct hn_mta m;
	unsigned tx;
	long threads0, fds0, socks0; /* once started, no connection open */
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

/*
 * The idle counts are read once the daemon's threads are all there: it
 * logs "started" before its signal thread and libmilter's pool (the
 * controller and its first workers) exist, and a count read then was 3
 * or 4 against the 7 it keeps. Stable means unchanged for 500 ms.
 */
static void
start(struct fx *f)
{
	long th, prev = -1, deadline;
	int same = 0;

	assert_int_equal(hn_start(&f->d), 0);
	deadline = hn_now_ms() + 5000;
	while (same < 10 && hn_now_ms() < deadline) {
		usleep(50000);
		th = hn_proc_threads(f->d.pid);
		same = th == prev ? same + 1 : 0;
		prev = th;
	}
	f->threads0 = hn_proc_threads(f->d.pid);
	f->fds0 = hn_proc_fds_sockets(f->d.pid, &f->socks0);
	assert_true(f->threads0 > 0 && f->fds0 > 0 && f->socks0 > 0);
}

/* A full transaction on a fresh connection, decided by the policy: the
 * refused recipient refused, the message accepted (tagged or not). */
static void
good_tx(struct fx *f)
{
	fx_tx_decided(&f->d, &f->m, "CF", &f->tx, 1);
	hn_mta_close(&f->m);
}

/*
 * Waits until the daemon holds no more sockets than at start (each
 * session holds its socket: a leaked one keeps it), no more other
 * descriptors than at start (SAN_FDS more under ThreadSanitizer, whose
 * symbolizer it starts, with pipes kept open, the first time it looks
 * at a report, even a suppressed one of libmilter's), and no more than
 * POOL_SLACK threads over its idle count (libmilter's pool may keep a
 * worker or two past its idle timeout); fails with what it has after
 * SETTLE_MS.
 */
#if HN_UNDER_TSAN
#define SAN_FDS 3
#else
#define SAN_FDS 0
#endif
#define POOL_SLACK 2
static void
assert_settles(const struct fx *f)
{
	long deadline = hn_now_ms() + SETTLE_MS, th = -1, fds = -1, socks = -1;
	char cmd[96];

	while (hn_now_ms() < deadline) {
		th = hn_proc_threads(f->d.pid);
		fds = hn_proc_fds_sockets(f->d.pid, &socks);
		if (th >= 0 && th <= f->threads0 + POOL_SLACK && fds >= 0 &&
		    socks <= f->socks0 &&
		    fds - socks <= f->fds0 - f->socks0 + SAN_FDS)
			return;
		usleep(20000);
	}
	snprintf(cmd, sizeof(cmd), "ls -l /proc/%ld/fd >&2", (long)f->d.pid);
	if (system(cmd) == -1) /* a diagnostic only */
		perror("system");
	fail_msg("after %d ms the daemon has %ld threads (%ld idle), %ld "
		 "sockets (%ld idle) and %ld descriptors (%ld idle): a session "
		 "leaked",
		 SETTLE_MS, th, f->threads0, socks, f->socks0, fds, f->fds0);
}

/* Alive, serving, settled, stopped cleanly, chain intact. */
static void
finish(struct fx *f)
{
	const char *files[] = {f->d.audit};
	struct al_log log = {0};

	assert_true(hn_alive(&f->d));
	good_tx(f);
	assert_settles(f);
	fx_stop(&f->d, NULL);
	fx_assert_log(&log, files, 1, NULL);
	al_free(&log);
}

/* ======================================== a. clients that vanish */

enum stage { AFTER_MAIL, AFTER_RCPT, MID_PACKET, AFTER_DATA, MID_BODY, STAGES };

static const char *const stage_names[] = {
	"after MAIL", "after RCPT", "mid-packet", "after DATA", "mid-body"};

/* Opens a session and goes as far as `st`, then closes the socket
 * without QUIT (the MTA process died, or its connection was cut). */
static void
vanish(struct fx *f, enum stage st, unsigned i)
{
	static const char torn[] = {0, 0, 0x10, 0, SMFIC_HEADER, 'X', '-'};
	const char *from = "<s@sender.example>", *to = "<v@plain.example>";
	struct hn_mta m = {0};
	struct mt_reply *r;
	char qid[32], body[2048];

	if (hn_mta_open(&m, f->d.spec, 10000) < 0)
		fail_msg("%s row %u: %s", stage_names[st], i, m.err);
	r = m.r;
	snprintf(qid, sizeof(qid), "V%u%u", (unsigned)st, i);
	assert_int_equal(hn_mta_macros(m.c, SMFIC_MAIL, qid, "{mail_addr}",
				       "s@sender.example"),
			 0);
	if (mt_mail(m.c, &from, 1, r) < 0 || r->code != SMFIR_CONTINUE)
		fail_msg("MAIL: %s %s", mt_error(m.c), mt_code_name(r->code));
	if (st == AFTER_MAIL)
		goto gone;
	assert_int_equal(hn_mta_macros(m.c, SMFIC_RCPT, qid, "{rcpt_addr}",
				       "v@plain.example"),
			 0);
	if (mt_rcpt(m.c, &to, 1, r) < 0 || r->code != SMFIR_CONTINUE)
		fail_msg("RCPT: %s %s", mt_error(m.c), mt_code_name(r->code));
	if (st == AFTER_RCPT)
		goto gone;
	if (st == MID_PACKET) {
		/* a header packet announcing 4 KiB, of which 3 bytes come */
		assert_int_equal(mt_flush(m.c), 0);
		mt_close(m.c);
		m.c = NULL;
		{
			int fd = hn_raw_connect(&f->d);

			assert_true(fd >= 0);
			assert_int_equal(write(fd, torn, sizeof(torn)),
					 (ssize_t)sizeof(torn));
			close(fd);
		}
		goto gone;
	}
	assert_int_equal(hn_mta_macros(m.c, SMFIC_DATA, qid, NULL, NULL), 0);
	if (mt_data(m.c, r) < 0)
		fail_msg("DATA: %s", mt_error(m.c));
	if (st == AFTER_DATA)
		goto gone;
	/* mid-body: a chunk goes (raw: sent even if the milter negotiated
	 * body events away), then the connection is cut */
	memset(body, 'b', sizeof(body));
	assert_int_equal(mt_send_raw(m.c, SMFIC_BODY, body, sizeof(body)), 0);
gone:
	mt_close(m.c); /* no QUIT: the socket just closes */
	m.c = NULL;
	hn_mta_close(&m);
}

static void
test_vanish(void **state)
{
	struct fx *f = *state;
	unsigned i, st;

	start(f);
	for (i = 0; i < 20; i++)
		for (st = 0; st < STAGES; st++)
			vanish(f, (enum stage)st, i);
	print_message("vanish: %u sessions cut at %d stages; daemon %ld "
		      "threads, %ld KiB RSS\n",
		      i * STAGES, STAGES, hn_proc_threads(f->d.pid),
		      hn_proc_rss_kb(f->d.pid));
	finish(f);
}

/* ======================================= b. MTA-side timeouts */

/* Connections that stop at each stage and hold their socket. */
static void
test_idle_held(void **state)
{
	enum { PER = 10 };
	struct fx *f = *state;
	struct mt_conn *held[5 * PER] = {0};
	const char *from = "<s@sender.example>", *to = "<i@plain.example>";
	struct mt_reply *r = calloc(1, sizeof(*r));
	char err[256];
	int raw[PER], k;
	long cpu0, cpu1, threads;
	size_t n = 0, i;

	assert_non_null(r);
	start(f);
	for (k = 0; k < PER; k++) {
		/* connected, not a byte sent */
		raw[k] = hn_raw_connect(&f->d);
		assert_true(raw[k] >= 0);
		/* negotiated only; then after connect, MAIL and RCPT */
		for (i = 0; i < 4; i++) {
			struct mt_conn *c = mt_open(f->d.spec, 10000, err,
						    sizeof(err));

			assert_non_null(c);
			held[n++] = c;
			assert_int_equal(mt_negotiate(c, MT_ALL_ACTIONS,
						      MT_ALL_PROTOCOL),
					 0);
			if (i >= 1)
				assert_true(hn_mta_macros(c, SMFIC_CONNECT,
							  NULL, NULL,
							  NULL) == 0 &&
					    mt_connect(c, "idle.example",
						       SMFIA_INET, 25,
						       "192.0.2.7", r) == 0 &&
					    hn_mta_macros(c, SMFIC_HELO, NULL,
							  NULL, NULL) == 0 &&
					    mt_helo(c, "idle.example", r) == 0);
			if (i >= 2)
				assert_true(hn_mta_macros(c, SMFIC_MAIL, "IDLE",
							  "{mail_addr}",
							  "s@sender.example") ==
						    0 &&
					    mt_mail(c, &from, 1, r) == 0 &&
					    r->code == SMFIR_CONTINUE);
			if (i >= 3)
				assert_true(hn_mta_macros(c, SMFIC_RCPT, "IDLE",
							  "{rcpt_addr}",
							  "i@plain.example") ==
						    0 &&
					    mt_rcpt(c, &to, 1, r) == 0 &&
					    r->code == SMFIR_CONTINUE);
		}
		/* a packet half-sent: the daemon waits for the rest */
		{
			struct mt_conn *c = mt_open(f->d.spec, 10000, err,
						    sizeof(err));
			static const char part[] = {0,	0,	    0,
						    40, SMFIC_MAIL, '<'};

			assert_non_null(c);
			held[n++] = c;
			assert_int_equal(mt_negotiate(c, MT_ALL_ACTIONS,
						      MT_ALL_PROTOCOL),
					 0);
			assert_int_equal(mt_connect(c, "idle.example",
						    SMFIA_INET, 25, "192.0.2.7",
						    r),
					 0);
			/* mt_send_raw frames its own packet: write the torn
			 * one with the socket's own descriptor via a dup */
			assert_int_equal(mt_flush(c), 0);
			{
				int fd = hn_raw_connect(&f->d);

				assert_true(fd >= 0);
				assert_int_equal(write(fd, part, sizeof(part)),
						 (ssize_t)sizeof(part));
				/* keep it: it replaces this raw slot later */
				close(raw[k]);
				raw[k] = fd;
			}
		}
	}
	usleep(200000); /* let every session reach its wait */
	threads = hn_proc_threads(f->d.pid);
	cpu0 = hn_proc_cpu_ms(f->d.pid);
	usleep(IDLE_MS * 1000);
	cpu1 = hn_proc_cpu_ms(f->d.pid);
	print_message("idle: %zu sessions held for %d ms: daemon %ld threads, "
		      "%ld ms CPU\n",
		      n + PER, IDLE_MS, threads, cpu1 - cpu0);
	assert_true(cpu0 >= 0 && cpu1 >= 0);
	if (cpu1 - cpu0 > IDLE_CPU_MS)
		fail_msg(
			"the daemon used %ld ms of CPU in %d ms with only idle "
			"connections: it spins",
			cpu1 - cpu0, IDLE_MS);
	/* a held session does not block anyone else */
	good_tx(f);
	for (i = 0; i < n; i++)
		mt_close(held[i]);
	for (k = 0; k < PER; k++)
		close(raw[k]);
	free(r);
	finish(f);
}

/* ================================== c. many simultaneous sessions */

/* Raises our descriptor limit (the daemon inherits it) to at least
 * `want`; skips when even root cannot. */
static void
raise_nofile(rlim_t want)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_max < want) {
			print_message(
				"skipped: RLIMIT_NOFILE hard limit %llu < "
				"%llu\n",
				(unsigned long long)rl.rlim_max,
				(unsigned long long)want);
			skip();
		}
		rl.rlim_cur = want;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
}

static void
test_many_connections(void **state)
{
	struct fx *f = *state;
	struct mt_conn **c = calloc(MANY, sizeof(*c));
	struct mt_reply *r = calloc(1, sizeof(*r));
	long rss0, rss1, th1, t0, took;
	char err[256];
	size_t i;

	assert_non_null(c);
	assert_non_null(r);
	raise_nofile(MANY + 512);
	start(f);
	rss0 = hn_proc_rss_kb(f->d.pid);
	t0 = hn_now_ms();
	for (i = 0; i < MANY; i++) {
		c[i] = mt_open(f->d.spec, 20000, err, sizeof(err));
		if (c[i] == NULL)
			fail_msg("connection %zu: %s", i, err);
		if (mt_negotiate(c[i], MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0 ||
		    hn_mta_macros(c[i], SMFIC_CONNECT, NULL, NULL, NULL) < 0 ||
		    mt_connect(c[i], "many.example", SMFIA_INET, 25,
			       "192.0.2.9", r) < 0 ||
		    hn_mta_macros(c[i], SMFIC_HELO, NULL, NULL, NULL) < 0 ||
		    mt_helo(c[i], "many.example", r) < 0)
			fail_msg("connection %zu: %s", i, mt_error(c[i]));
		if (r->code != SMFIR_CONTINUE && r->code != MT_NOREPLY)
			fail_msg("connection %zu: connect answered %s", i,
				 mt_code_name(r->code));
	}
	took = hn_now_ms() - t0;
	th1 = hn_proc_threads(f->d.pid);
	rss1 = hn_proc_rss_kb(f->d.pid);
	print_message("%d sessions open in %ld ms: daemon %ld threads (%ld "
		      "idle), RSS %ld -> %ld KiB, %.1f KiB per connection\n",
		      MANY, took, th1, f->threads0, rss0, rss1,
		      (double)(rss1 - rss0) / MANY);
	/* libmilter's worker pool, not a thread per session */
	assert_true(th1 < f->threads0 + 64);
	good_tx(f); /* and the next one is still served */
	/* every one of them still works: a MAIL on each tenth */
	for (i = 0; i < MANY; i += 10) {
		const char *from = "<s@sender.example>";

		if (hn_mta_macros(c[i], SMFIC_MAIL, "MANY", "{mail_addr}",
				  "s@sender.example") < 0 ||
		    mt_mail(c[i], &from, 1, r) < 0 || r->code != SMFIR_CONTINUE)
			fail_msg("connection %zu: MAIL: %s %s", i,
				 mt_error(c[i]), mt_code_name(r->code));
	}
	for (i = 0; i < MANY; i++) {
		(void)mt_quit(c[i]);
		mt_close(c[i]);
	}
	free(c);
	free(r);
	finish(f);
}

/* ======================================= d. descriptor exhaustion */

#define LOW_NOFILE 64

static void
test_fd_exhaustion(void **state)
{
	enum { OPEN = 150 };
	struct fx *f = *state;
	struct rlimit low, old;
	int fds[OPEN], k, nopen = 0, refused = 0, closed = 0, alive = 0;
	long cpu0, cpu1;
	char err[256];

	start(f);
	assert_int_equal(prlimit(f->d.pid, RLIMIT_NOFILE, NULL, &old), 0);
	low.rlim_cur = LOW_NOFILE;
	low.rlim_max = old.rlim_max;
	assert_int_equal(prlimit(f->d.pid, RLIMIT_NOFILE, &low, NULL), 0);
	/* more sessions than it has descriptors: each one that got a
	 * thread waits for negotiation; the rest wait in the backlog or
	 * are refused by the kernel */
	for (k = 0; k < OPEN; k++) {
		fds[k] = hn_raw_connect(&f->d);
		if (fds[k] < 0)
			refused++;
		else
			nopen++;
	}
	usleep(300000);
	cpu0 = hn_proc_cpu_ms(f->d.pid);
	usleep(IDLE_MS * 1000);
	cpu1 = hn_proc_cpu_ms(f->d.pid);
	print_message("fd exhaustion: RLIMIT_NOFILE %d, %d connections "
		      "(%d refused by the kernel), daemon %ld descriptors, "
		      "%ld threads, %ld ms CPU in %d ms\n",
		      LOW_NOFILE, OPEN, refused, hn_proc_fds(f->d.pid),
		      hn_proc_threads(f->d.pid), cpu1 - cpu0, IDLE_MS);
	assert_true(hn_alive(&f->d));
	/* libmilter's listener retries accept() at once on EMFILE while
	 * the backlog stays readable; milter/accept.c sheds the waiting
	 * connections instead, so the daemon idles at its limit. */
	if (cpu1 - cpu0 > IDLE_CPU_MS)
		fail_msg("the daemon used %ld ms of CPU in %d ms at its "
			 "descriptor limit: it spins",
			 cpu1 - cpu0, IDLE_MS);
	/* and says so, naming the limit to raise */
	if (!hn_errlog_has(&f->d, f->d.started_at, "out of file descriptors",
			   "RLIMIT_NOFILE")) {
		hn_errlog_dump(&f->d, f->d.started_at);
		fail_msg("no error about the descriptor limit in the log");
	}
	/* a new session now: refused, closed or served, never hung */
	{
		struct mt_conn *c = mt_open(f->d.spec, 2000, err, sizeof(err));

		if (c == NULL ||
		    mt_negotiate(c, MT_ALL_ACTIONS, MT_ALL_PROTOCOL) < 0)
			closed++;
		else
			alive++;
		mt_close(c);
	}
	print_message("fd exhaustion: a session at the limit was %s\n",
		      closed ? "refused or closed" : "served");
	for (k = 0; k < OPEN; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	assert_settles(f);
	assert_int_equal(prlimit(f->d.pid, RLIMIT_NOFILE, &old, NULL), 0);
	(void)alive;
	finish(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vanish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_held, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_connections, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fd_exhaustion, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(300); /* a hung run fails; the daemons die with us */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

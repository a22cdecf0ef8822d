/*
 * test_policy_faults.c - the policy file broken under a running daemon,
 * during reload storms, under load.
 *
 * Four connections run transactions throughout while the policy file is
 * replaced, atomically (rename) and in place (truncating writes), by
 * every kind of bad file in the table below, and SIGUSR1 is sent 200
 * times in about three seconds. Then a 100 MiB file, and one over the
 * 256 MiB cap. Promised: the daemon stays up; every transaction is
 * decided by the old policy (refused where it refuses, tagged where it
 * tags; nothing tempfailed or failed); each failed reload is in the log
 * and in the audit trail as reload_failed; memory stays flat; a good
 * policy then loads and takes effect; the daemon stops cleanly and the
 * audit chain holds.
 *
 * As root the daemon runs as nobody (-u), so that a file with mode 000
 * is unreadable to it; without a user nobody that row is skipped.
 *
 * A second daemon has a FIFO put in place of its policy (test_fifo_policy);
 * a third reloads good and hostile files in turn (test_reload_loop); a
 * fourth has its policy split with include: and a bad included file
 * (test_include_reload).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "fixture.h"

#define THREADS 4
#define SIGNALS (hn_quick() ? 100 : 200)
#define SIGNAL_GAP_US 15000 /* 200 signals in about 3 s */
#define MAX_TX 2000	    /* per connection: a bound, not a target */
#define BIG_MIB (hn_quick() ? 20 : 100)
/* RSS growth allowed over the storm: the allocator may keep a few
 * arenas' worth; a leak per reload (200 of them, each parsing a file)
 * would exceed it. Sanitizers keep freed memory in quarantine: the
 * number is printed, not asserted. */
#define RSS_SLACK_KB (20 * 1024)

struct fx {
	struct hn_daemon d;
	char *good; /* the harness's policy, as written */
	size_t goodlen;
	char tmp[HN_PATH + 8];
	int as_nobody;
	int isdir; /* the policy path is a directory now */
};

static int
setup(void **state)
{
	struct fx *f;
	FILE *in;
	long n;

	if (fx_setup(state, sizeof(*f), "always", 0) < 0)
		return -1;
	f = *state;
	snprintf(f->tmp, sizeof(f->tmp), "%s.new", f->d.policy);
	if ((in = fopen(f->d.policy, "re")) == NULL)
		return -1;
	fseek(in, 0, SEEK_END);
	n = ftell(in);
	rewind(in);
	f->good = malloc((size_t)n + 1);
	if (f->good == NULL || fread(f->good, 1, (size_t)n, in) != (size_t)n) {
		fclose(in);
		return -1;
	}
	f->good[n] = '\0';
	f->goodlen = (size_t)n;
	return fclose(in);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	fx_cleanup(&f->d, NULL);
	free(f->good);
	free(f);
	return 0;
}

/* ================================================= the bad files */

struct bad {
	const char *name;
	/* fills buf (cap bytes), returns the length; mode for the file */
	size_t (*make)(const struct fx *f, char *buf, size_t cap);
	mode_t mode;
	int in_place_ok; /* every prefix is also refused */
};

static size_t
garbage(const struct fx *f, char *buf, size_t cap)
{
	size_t i, n = cap < 4096 ? cap : 4096;
	unsigned x = 2463534242u;

	(void)f;
	for (i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		buf[i] = (char)(x & 0xff);
	}
	buf[0] = (char)0xff; /* not UTF-8 from the first byte */
	return n;
}

/* cut inside a flow mapping: no prefix of a policy is taken for it */
static size_t
truncated(const struct fx *f, char *buf, size_t cap)
{
	const char *cut = strstr(f->good, "refuse.example: {min_version: TLS");
	size_t n;

	assert_non_null(cut);
	n = (size_t)(cut - f->good) +
	    strlen("refuse.example: {min_version: TLS");
	assert_true(n < cap);
	memcpy(buf, f->good, n);
	return n;
}

static size_t
deep(const struct fx *f, char *buf, size_t cap)
{
	size_t n = 0, i;

	(void)f;
	for (i = 0; i < 40; i++)
		buf[n++] = '[';
	for (i = 0; i < 40; i++)
		buf[n++] = ']';
	buf[n++] = '\n';
	assert_true(n < cap);
	return n;
}

/* deep nesting after a valid start: the depth limit, not a syntax error */
static size_t
deep_in_policy(const struct fx *f, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap,
				    "version: 1\nrecipients:\n  x.example: ");
	size_t i;

	(void)f;
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(buf + n, cap - n, "{a: ");
	buf[n++] = '1';
	for (i = 0; i < 30; i++)
		buf[n++] = '}';
	buf[n++] = '\n';
	return n;
}

static size_t
alias_bomb(const struct fx *f, char *buf, size_t cap)
{
	(void)f;
	return (size_t)snprintf(
		buf, cap,
		"a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
		"b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
		"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
		"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
		"version: 1\nrecipients: {x.example: *g}\n");
}

/* an anchor inside an otherwise good policy */
static size_t
anchored(const struct fx *f, char *buf, size_t cap)
{
	const char *at = strstr(f->good, "{min_version: TLSv1.3, action: tag}");
	size_t n = (size_t)(at - f->good);

	assert_non_null(at);
	return (size_t)snprintf(buf, cap, "%.*s&t %s", (int)n, f->good, at);
}

static size_t
empty(const struct fx *f, char *buf, size_t cap)
{
	(void)f;
	(void)buf;
	(void)cap;
	return 0;
}

/* the good policy, but the daemon may not read it */
static size_t
good_copy(const struct fx *f, char *buf, size_t cap)
{
	assert_true(f->goodlen < cap);
	memcpy(buf, f->good, f->goodlen);
	return f->goodlen;
}

static const struct bad bads[] = {
	{"garbage bytes", garbage, 0644, 1},
	{"truncated YAML", truncated, 0644, 0},
	{"a directory", NULL, 0755, 0},
	{"unreadable (mode 000)", good_copy, 0000, 0},
	{"nesting 40 deep", deep, 0644, 1},
	{"nesting 30 deep in a policy", deep_in_policy, 0644, 0},
	{"alias bomb", alias_bomb, 0644, 1},
	{"an anchor", anchored, 0644, 0},
	{"empty", empty, 0644, 1},
};
#define NBAD (sizeof(bads) / sizeof(bads[0]))

static void
write_all(int fd, const char *buf, size_t len, size_t chunk)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len < chunk ? len : chunk);
		assert_true(w > 0);
		buf += w;
		len -= (size_t)w;
		sched_yield(); /* let a reload see it half written */
	}
}

/* Puts bad file b in place of the policy: atomically by rename, or (when
 * every prefix of it is also bad) by truncating and rewriting the file
 * the daemon reads. */
static void
install_bad(struct fx *f, const struct bad *b, int in_place)
{
	static char buf[8192];
	size_t len;
	int fd;

	if (f->isdir) {
		assert_int_equal(rmdir(f->d.policy), 0);
		f->isdir = 0;
	}
	if (b->make == NULL) { /* a directory */
		(void)unlink(f->d.policy);
		assert_int_equal(mkdir(f->d.policy, b->mode), 0);
		f->isdir = 1;
		return;
	}
	len = b->make(f, buf, sizeof(buf));
	if (in_place && b->in_place_ok && access(f->d.policy, F_OK) == 0) {
		fd = open(f->d.policy, O_WRONLY | O_TRUNC | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(fchmod(fd, b->mode), 0);
		write_all(fd, buf, len, 64);
		assert_int_equal(close(fd), 0);
		return;
	}
	fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	write_all(fd, buf, len, len ? len : 1);
	assert_int_equal(fchmod(fd, b->mode), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(rename(f->tmp, f->d.policy), 0);
}

/* Replaces the policy atomically with text. */
static void
install_text(struct fx *f, const char *text, size_t len)
{
	int fd;

	if (f->isdir) {
		assert_int_equal(rmdir(f->d.policy), 0);
		f->isdir = 0;
	}
	fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	write_all(fd, text, len, 1 << 20);
	assert_int_equal(close(fd), 0);
	assert_int_equal(rename(f->tmp, f->d.policy), 0);
}

/* ====================================================== the load */

struct worker {
	struct fx *f;
	atomic_int *stop;
	unsigned id, tx, decisions;
	unsigned max; /* transactions at most; 0: MAX_TX */
	char err[1100];
};

/* Transactions until told to stop: every one decided by the old policy
 * (hn_mta_tx checks refusal and tag), none answered with on_error. */
static void *
work(void *arg)
{
	struct worker *w = arg;
	struct hn_mta m = {0};
	struct hn_decision told[2];
	char qid[32];
	size_t n, i;

	while (!atomic_load(w->stop) && w->tx < (w->max ? w->max : MAX_TX)) {
		if (m.c == NULL && hn_mta_open(&m, w->f->d.spec, 10000) < 0) {
			snprintf(w->err, sizeof(w->err), "%s", m.err);
			break;
		}
		snprintf(qid, sizeof(qid), "P%uT%05u", w->id, w->tx);
		if (hn_mta_tx(&m, qid, w->tx++ % 2, told, &n) < 0) {
			snprintf(w->err, sizeof(w->err), "%s", m.err);
			break;
		}
		for (i = 0; i < n; i++) {
			w->decisions++;
			if (told[i].on_error) {
				snprintf(w->err, sizeof(w->err),
					 "%s: on_error "
					 "(%s) during the storm",
					 told[i].key, told[i].reply);
				goto out;
			}
		}
		/* a new session now and then: it takes the current policy */
		if (w->tx % 8 == 0)
			hn_mta_close(&m);
	}
out:
	hn_mta_close(&m);
	return NULL;
}

/* ===================================================== the checks */

/* Waits until the reload thread has handled everything sent: one more
 * SIGUSR1, and its "reload failed" line. */
static void
drain(struct fx *f, long *off)
{
	*off = hn_errlog_size(&f->d);
	assert_int_equal(kill(f->d.pid, SIGUSR1), 0);
	if (!hn_errlog_wait(&f->d, *off, "reload failed", NULL, 60000)) {
		hn_errlog_dump(&f->d, *off);
		fail_msg("no \"reload failed\" within 60 s of SIGUSR1");
	}
}

static void
run_as_nobody(struct fx *f)
{
	int rc;

	if (geteuid() != 0)
		return;
	if ((rc = hn_as_nobody(&f->d)) == 1) {
		print_message(
			"root, and no user nobody: the mode 000 row reads "
			"the file anyway (it then reloads the old "
			"policy's twin, which counts as a reload)\n");
		return;
	}
	assert_int_equal(rc, 0);
	f->as_nobody = 1;
}

/* The storm: load on THREADS connections, the file replaced by every
 * bad kind in turn, SIGUSR1 in a tight loop. */
static void
test_reload_storm(void **state)
{
	struct fx *f = *state;
	pthread_t t[THREADS];
	struct worker w[THREADS];
	atomic_int stop = 0;
	long off0, off, rss0, rss1, failed, reloaded, t0, sent = 0;
	unsigned i, k, started = 0, decisions = 0, txs = 0;
	int rc = 0;

	run_as_nobody(f);
	assert_int_equal(hn_start(&f->d), 0);
	/* warm up: every bad kind once, then measure */
	for (k = 0; k < NBAD; k++) {
		install_bad(f, &bads[k], 0);
		drain(f, &off);
	}
	rss0 = hn_proc_rss_kb(f->d.pid);
	off0 = hn_errlog_size(&f->d);
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].f = f;
		w[i].stop = &stop;
		w[i].id = i;
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	t0 = hn_now_ms();
	for (i = 0; i < SIGNALS && started == THREADS; i++) {
		if (i % 3 == 0)
			install_bad(f, &bads[(i / 3) % NBAD],
				    (i / 3 / NBAD) % 2);
		if (kill(f->d.pid, SIGUSR1) < 0) {
			rc = -1;
			break;
		}
		sent++;
		usleep(SIGNAL_GAP_US);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(started, THREADS);
	assert_int_equal(rc, 0);
	for (i = 0; i < THREADS; i++) {
		if (w[i].err[0] != '\0') {
			hn_errlog_dump(&f->d, off0);
			fail_msg("connection %u: %s", i, w[i].err);
		}
		txs += w[i].tx;
		decisions += w[i].decisions;
	}
	drain(f, &off);
	assert_true(hn_alive(&f->d));
	rss1 = hn_proc_rss_kb(f->d.pid);
	failed = hn_errlog_count(&f->d, off0, "reload failed");
	reloaded = hn_errlog_count(&f->d, off0, "reloaded policy");
	print_message("storm: %ld SIGUSR1 in %ld ms, %u transactions (%u "
		      "decisions, all by the old policy) on %d connections; "
		      "%ld reloads failed, %ld succeeded; RSS %ld -> %ld KiB "
		      "(%+ld)%s\n",
		      sent, hn_now_ms() - t0, txs, decisions, THREADS, failed,
		      reloaded, rss0, rss1, rss1 - rss0,
		      f->as_nobody ? "; daemon as nobody" : "");
	assert_true(txs >= THREADS);
	assert_true(failed >= (long)NBAD); /* signals coalesce: not 200 */
	if (f->as_nobody || geteuid() != 0)
		assert_int_equal(reloaded, 0);
	if (!HN_SANITIZED && rss1 - rss0 > RSS_SLACK_KB)
		fail_msg("RSS grew by %ld KiB over the storm", rss1 - rss0);
	/* the log says why, per kind (the last ones installed) */
	assert_true(hn_errlog_has(&f->d, 0,
				  "reload: ", "aliases are not allowed") ||
		    hn_errlog_has(&f->d, 0,
				  "reload: ", "anchors are not allowed"));
	assert_true(hn_errlog_has(&f->d, 0, "reload: ", "is a directory"));
	assert_true(hn_errlog_has(&f->d, 0, "keeping policy sha256=", NULL));
	if (f->as_nobody)
		assert_true(hn_errlog_has(&f->d, 0,
					  "reload: ", "Permission denied"));

	/* A file of 100 MiB: a valid start, comments, a syntax error at
	 * the very end, so that all of it is read and scanned. */
	{
		size_t big = (size_t)BIG_MIB << 20, n;
		char *text = malloc(big);
		long t1, took, rss2;

		assert_non_null(text);
		n = (size_t)snprintf(text, big, "%s", f->good);
		static const char pad[] = "# padding padding padding padding "
					  "padding padding padding padding\n";

		while (n + sizeof(pad) + 32 < big) {
			memcpy(text + n, pad, sizeof(pad) - 1);
			n += sizeof(pad) - 1;
		}
		n += (size_t)snprintf(text + n, big - n, "recipients: [\n");
		install_text(f, text, n);
		free(text);
		t1 = hn_now_ms();
		drain(f, &off);
		took = hn_now_ms() - t1;
		rss2 = hn_proc_rss_kb(f->d.pid);
		print_message("%d MiB policy: refused in %ld ms; RSS after %ld "
			      "KiB\n",
			      BIG_MIB, took, rss2);
		if (!HN_SANITIZED && rss2 - rss0 > RSS_SLACK_KB)
			fail_msg("RSS grew by %ld KiB after the %d MiB file",
				 rss2 - rss0, BIG_MIB);
	}
	/* over the cap: refused before it is read (a sparse file) */
	{
		int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			      0644);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, f->good, f->goodlen),
				 (ssize_t)f->goodlen);
		assert_int_equal(ftruncate(fd, (off_t)300 << 20), 0);
		assert_int_equal(close(fd), 0);
		assert_int_equal(rename(f->tmp, f->d.policy), 0);
		drain(f, &off);
		assert_true(hn_errlog_has(&f->d, off, "larger than 256 MiB",
					  NULL));
	}
	/* the old policy still decides */
	{
		struct worker one = {.f = f, .stop = &stop, .id = 9};
		atomic_int go = 0;

		one.stop = &go;
		one.tx = MAX_TX - 4;
		work(&one);
		if (one.err[0] != '\0')
			fail_msg("after the storm: %s", one.err);
	}
}

/* After the storm a good policy loads and takes effect: refuse.example
 * accepted at RCPT now. Then the daemon stops cleanly and the audit
 * trail has the failures, the one reload, and an intact chain. */
static void
test_good_policy_after_storm(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	const char *from = "<s@sender.example>", *to = "<x@refuse.example>";
	struct hn_mta m = {0};
	struct al_log log = {0};
	char *text, *p;
	long off;
	size_t nfail;

	test_reload_storm(state);
	text = strdup(f->good);
	assert_non_null(text);
	p = strstr(text, "refuse.example: {min_version: TLSv1.3");
	assert_non_null(p);
	memcpy(p + strlen("refuse.example: {min_version: TLSv1."), "2", 1);
	off = hn_errlog_size(&f->d);
	install_text(f, text, strlen(text));
	free(text);
	assert_int_equal(kill(f->d.pid, SIGUSR1), 0);
	if (!hn_errlog_wait(&f->d, off, "reloaded policy", NULL, 30000)) {
		hn_errlog_dump(&f->d, off);
		fail_msg("the good policy was not loaded");
	}
	if (hn_mta_open(&m, f->d.spec, 10000) < 0)
		fail_msg("%s", m.err);
	assert_int_equal(hn_mta_macros(m.c, SMFIC_MAIL, "GOOD", "{mail_addr}",
				       "s@sender.example"),
			 0);
	assert_int_equal(mt_mail(m.c, &from, 1, m.r), 0);
	assert_int_equal(m.r->code, SMFIR_CONTINUE);
	assert_int_equal(hn_mta_macros(m.c, SMFIC_RCPT, "GOOD", "{rcpt_addr}",
				       "x@refuse.example"),
			 0);
	assert_int_equal(mt_rcpt(m.c, &to, 1, m.r), 0);
	if (m.r->code != SMFIR_CONTINUE)
		fail_msg("the new policy did not take effect: RCPT got %s %s",
			 mt_code_name(m.r->code), m.r->text);
	fx_stop(&f->d, &m);
	fx_assert_log(&log, files, 1, NULL);
	nfail = al_count_type(&log, "reload_failed");
	print_message("audit: %zu records, %zu reload_failed, %zu reload\n",
		      log.n, nfail, al_count_type(&log, "reload"));
	assert_true(nfail >= NBAD);
	/* As root, the storm's unreadable files are read all the same:
	 * those reloads succeed too. */
	if (f->as_nobody || geteuid() != 0)
		assert_int_equal(al_count_type(&log, "reload"), 1);
	else
		assert_true(al_count_type(&log, "reload") >= 1);
	al_free(&log);
}

/* ============================================ a FIFO for a policy */

#define FIFO_WAIT_MS 10000 /* a reload of a FIFO answers at once */
#define STOP_BOUND_MS 5000 /* SIGTERM to exit, a FIFO in place */

/* SIGUSR1, and the reload's outcome line (`want`) within FIFO_WAIT_MS;
 * returns where the log stood before the signal. */
static long
reload_expect(struct fx *f, const char *want)
{
	long off = hn_errlog_size(&f->d);

	assert_int_equal(kill(f->d.pid, SIGUSR1), 0);
	if (!hn_errlog_wait(&f->d, off, want, NULL, FIFO_WAIT_MS)) {
		hn_errlog_dump(&f->d, off);
		fail_msg("no \"%s\" within %d ms of SIGUSR1", want,
			 FIFO_WAIT_MS);
	}
	return off;
}

/*
 * The policy path becomes a FIFO with no writer, then a symlink to one,
 * under load: each reload is refused at once, naming the file, the old
 * policy decides every transaction, and a symlink to a regular file
 * still loads. Then SIGTERM with the FIFO in place: the daemon exits
 * 0 within STOP_BOUND_MS (it used to block in open() until a writer came,
 * and its stop waited for that reload), and the audit trail holds.
 */
static void
test_fifo_policy(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	char fifo[HN_PATH + 16], good[HN_PATH + 16], want[HN_PATH + 96];
	pthread_t t[2];
	struct worker w[2];
	atomic_int stop = 0;
	struct al_log log = {0};
	unsigned i, started = 0, txs = 0;
	long off, t0;
	FILE *out;

	snprintf(fifo, sizeof(fifo), "%s/other.fifo", f->d.dir);
	snprintf(good, sizeof(good), "%s/good.yaml", f->d.dir);
	snprintf(want, sizeof(want),
		 "reload: %s: is a FIFO (named pipe), not a regular file",
		 f->d.policy);
	assert_int_equal(hn_start(&f->d), 0);
	memset(w, 0, sizeof(w));
	for (i = 0; i < 2; i++) {
		w[i] = (struct worker){.f = f, .stop = &stop, .id = i};
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	assert_int_equal(started, 2);

	assert_int_equal(mkfifo(f->tmp, 0644), 0);
	assert_int_equal(rename(f->tmp, f->d.policy), 0);
	off = reload_expect(f, "reload failed");
	assert_true(hn_errlog_has(&f->d, off, want, NULL));
	/* one error, in the singular */
	assert_true(hn_errlog_has(&f->d, off,
				  "reload failed: 1 error; keeping policy "
				  "sha256=",
				  NULL));

	assert_int_equal(mkfifo(fifo, 0644), 0);
	assert_int_equal(symlink(fifo, f->tmp), 0);
	assert_int_equal(rename(f->tmp, f->d.policy), 0);
	off = reload_expect(f, "reload failed");
	assert_true(hn_errlog_has(&f->d, off, want, NULL));

	out = fopen(good, "we");
	assert_non_null(out);
	assert_int_equal(fwrite(f->good, 1, f->goodlen, out), f->goodlen);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(symlink(good, f->tmp), 0);
	assert_int_equal(rename(f->tmp, f->d.policy), 0);
	(void)reload_expect(f, "reloaded policy");

	assert_int_equal(unlink(f->d.policy), 0);
	assert_int_equal(mkfifo(f->d.policy, 0644), 0);
	off = reload_expect(f, "reload failed");
	assert_true(hn_errlog_has(&f->d, off, want, NULL));

	atomic_store(&stop, 1);
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err[0] != '\0')
			fail_msg("connection %u: %s", i, w[i].err);
		txs += w[i].tx;
	}
	assert_true(txs >= 2);
	assert_true(hn_alive(&f->d));

	t0 = hn_now_ms();
	fx_stop(&f->d, NULL);
	print_message("FIFO policy: 3 reloads refused, 1 through a symlink "
		      "to a file loaded, %u transactions; stopped %ld ms "
		      "after SIGTERM\n",
		      txs, hn_now_ms() - t0);
	assert_true(hn_now_ms() - t0 < STOP_BOUND_MS);
	fx_assert_log(&log, files, 1, NULL);
	assert_int_equal(al_count_type(&log, "reload_failed"), 3);
	assert_int_equal(al_count_type(&log, "reload"), 1);
	al_free(&log);
}

/* ======================================= good and hostile, in turn */

#define LOOP_RELOADS (hn_quick() ? 100 : 300)

/* A good policy that decides as the harness's does but hashes apart:
 * the good one with a comment numbered n. */
static void
install_good(struct fx *f, unsigned n)
{
	char *text = malloc(f->goodlen + 32);
	int len;

	assert_non_null(text);
	len = snprintf(text, f->goodlen + 32, "%s# variant %u\n", f->good, n);
	install_text(f, text, (size_t)len);
	free(text);
}

/* Reload i: the file, the signal, and the one outcome it must give. */
static void
reload_one(struct fx *f, unsigned i)
{
	const struct bad *b = &bads[(i / 2) % NBAD];
	long off;

	if (i % 2 == 0) {
		install_good(f, i);
	} else if (b->mode == 0) { /* unreadable only to a user: a FIFO */
		install_text(f, "", 0);
		assert_int_equal(unlink(f->d.policy), 0);
		assert_int_equal(mkfifo(f->d.policy, 0644), 0);
	} else {
		install_bad(f, b, i % 4 == 3);
	}
	off = reload_expect(f, i % 2 ? "reload failed" : "reloaded policy");
	if (hn_errlog_has(&f->d, off,
			  i % 2 ? "reloaded policy" : "reload failed", NULL)) {
		hn_errlog_dump(&f->d, off);
		fail_msg("reload %u (%s) ended the other way", i,
			 i % 2 ? b->name : "good");
	}
}

/*
 * Reloads one after the other, good and hostile in turn (every bad kind
 * above, a FIFO for the mode 000 row), while two connections send mail
 * and open new sessions, so old policies are dropped by sessions as well
 * as by the reload. Every good one loads, every bad one is refused, no
 * transaction is answered with on_error; the daemon then stops cleanly,
 * which in the asan stage means LeakSanitizer found nothing: a policy,
 * a YAML tree or a diagnostic lost on any of these paths fails here.
 */
static void
test_reload_loop(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	pthread_t t[2];
	struct worker w[2];
	atomic_int stop = 0;
	struct al_log log = {0};
	unsigned i, started = 0, txs = 0, n = LOOP_RELOADS;
	long rss0 = 0, rss1, t0 = hn_now_ms();

	assert_int_equal(hn_start(&f->d), 0);
	memset(w, 0, sizeof(w));
	for (i = 0; i < 2; i++) {
		/* busy throughout: the loop, not MAX_TX, ends the load */
		w[i] = (struct worker){
			.f = f, .stop = &stop, .id = i, .max = 100 * MAX_TX};
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	assert_int_equal(started, 2);
	for (i = 0; i < n; i++) {
		reload_one(f, i);
		if (i + 1 == n / 2)
			rss0 = hn_proc_rss_kb(f->d.pid);
	}
	rss1 = hn_proc_rss_kb(f->d.pid);
	atomic_store(&stop, 1);
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err[0] != '\0')
			fail_msg("connection %u: %s", i, w[i].err);
		if (w[i].tx >= w[i].max)
			fail_msg("connection %u ran out of transactions before "
				 "the reloads ended",
				 i);
		txs += w[i].tx;
	}
	print_message("%u reloads, good and hostile in turn, in %ld ms, %u "
		      "transactions; RSS at reload %u %ld KiB, at %u %ld "
		      "KiB\n",
		      n, hn_now_ms() - t0, txs, n / 2, rss0, n, rss1);
	assert_true(txs >= 2);
	if (!HN_SANITIZED && rss1 - rss0 > RSS_SLACK_KB)
		fail_msg("RSS grew by %ld KiB over the second half",
			 rss1 - rss0);
	fx_stop(&f->d, NULL);
	fx_assert_log(&log, files, 1, NULL);
	assert_int_equal(al_count_type(&log, "reload"), n / 2);
	assert_int_equal(al_count_type(&log, "reload_failed"), n / 2);
	al_free(&log);
}

/* ================================================== split policies */

static void
write_file(const char *path, const char *text)
{
	FILE *out = fopen(path, "we");

	assert_non_null(out);
	assert_int_equal(fputs(text, out) >= 0, 1);
	assert_int_equal(fclose(out), 0);
}

static void
hex(const unsigned char *md, char out[65])
{
	int i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The hash tlspolicy.yaml(5) promises for files in load order:
 * `sha256sum FILES | cut -c1-64 | sha256sum`. */
static void
split_hash(const char *const *paths, size_t n, char out[65])
{
	char lines[8 * 65], h[65], buf[16384];
	unsigned char md[32];
	unsigned int mdlen;
	size_t i, len;
	FILE *in;

	assert_true(n <= 8);
	for (i = 0; i < n; i++) {
		in = fopen(paths[i], "re");
		assert_non_null(in);
		len = fread(buf, 1, sizeof(buf), in);
		fclose(in);
		assert_true(EVP_Digest(buf, len, md, &mdlen, EVP_sha256(),
				       NULL));
		hex(md, h);
		memcpy(lines + 65 * i, h, 64);
		lines[65 * i + 64] = '\n';
	}
	assert_true(EVP_Digest(lines, 65 * n, md, &mdlen, EVP_sha256(), NULL));
	hex(md, out);
}

/*
 * The harness's policy, including every .yaml file in parts/, under load: the
 * start takes the included file and its hash covers both files; a
 * change to an included file alone reloads (the main file unchanged);
 * a bad included file (an unknown key, then a pattern the main file
 * has) is refused naming its file:line:col, and the old policy decides
 * every transaction meanwhile; fixed, it loads; the audit trail holds
 * the reloads and the refusals.
 */
static void
test_include_reload(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	char parts[HN_PATH + 8], a[HN_PATH + 24], b[HN_PATH + 24];
	char h[65], h2[65], want[3 * HN_PATH + 200], *text;
	const char *paths[3];
	pthread_t t[2];
	struct worker w[2];
	atomic_int stop = 0;
	struct al_log log = {0};
	unsigned i, started = 0, txs = 0;
	long off;

	snprintf(parts, sizeof(parts), "%s/parts", f->d.dir);
	snprintf(a, sizeof(a), "%s/parts/a.yaml", f->d.dir);
	snprintf(b, sizeof(b), "%s/parts/b.yaml", f->d.dir);
	assert_int_equal(mkdir(parts, 0755), 0);
	write_file(a, "recipients:\n  split-a.example: {tls: required}\n");
	text = malloc(f->goodlen + 64);
	assert_non_null(text);
	i = (unsigned)snprintf(text, f->goodlen + 64,
			       "%sinclude: parts/*.yaml\n", f->good);
	install_text(f, text, i);
	free(text);
	paths[0] = f->d.policy;
	paths[1] = a;
	split_hash(paths, 2, h);

	assert_int_equal(hn_start(&f->d), 0);
	snprintf(want, sizeof(want), "sha256=%s", h);
	assert_true(hn_errlog_has(&f->d, f->d.started_at, want, NULL));
	memset(w, 0, sizeof(w));
	for (i = 0; i < 2; i++) {
		w[i] = (struct worker){.f = f, .stop = &stop, .id = i};
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	assert_int_equal(started, 2);

	/* only the included file changes */
	write_file(a, "recipients:\n  split-a.example: {tls: required}\n"
		      "  split-c.example: {}\n");
	split_hash(paths, 2, h2);
	assert_string_not_equal(h, h2);
	off = reload_expect(f, "reloaded policy");
	snprintf(want, sizeof(want), "sha256=%s", h2);
	assert_true(hn_errlog_has(&f->d, off, want, NULL));

	/* a bad file joins the glob */
	write_file(b, "recipients:\n  split-b.example: {tsl: required}\n");
	off = reload_expect(f, "reload failed");
	snprintf(want, sizeof(want),
		 "reload: %s:2:21: recipient:split-b.example: unknown key "
		 "'tsl'; did you mean 'tls'?",
		 b);
	if (!hn_errlog_has(&f->d, off, want, NULL)) {
		hn_errlog_dump(&f->d, off);
		fail_msg("no \"%s\"", want);
	}
	snprintf(want, sizeof(want), "keeping policy sha256=%s", h2);
	assert_true(hn_errlog_has(&f->d, off, want, NULL));

	/* a pattern of the other included file: both places named */
	write_file(b, "recipients:\n  split-c.example: {}\n");
	off = reload_expect(f, "reload failed");
	snprintf(want, sizeof(want),
		 "reload: %s:2:3: duplicate pattern 'split-c.example' (the "
		 "same as %s:3:3)",
		 b, a);
	if (!hn_errlog_has(&f->d, off, want, NULL)) {
		hn_errlog_dump(&f->d, off);
		fail_msg("no \"%s\"", want);
	}

	/* fixed: three files now */
	write_file(b, "recipients:\n  split-b.example: {tls: required}\n");
	paths[2] = b;
	split_hash(paths, 3, h);
	off = reload_expect(f, "reloaded policy");
	snprintf(want, sizeof(want), "sha256=%s", h);
	assert_true(hn_errlog_has(&f->d, off, want, NULL));

	atomic_store(&stop, 1);
	for (i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err[0] != '\0')
			fail_msg("connection %u: %s", i, w[i].err);
		txs += w[i].tx;
	}
	assert_true(txs >= 2);
	fx_stop(&f->d, NULL);
	fx_assert_log(&log, files, 1, NULL);
	assert_int_equal(al_count_type(&log, "reload"), 2);
	assert_int_equal(al_count_type(&log, "reload_failed"), 2);
	al_free(&log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_policy_after_storm,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_policy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_loop, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_include_reload, setup,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(300); /* a hung run fails; the daemons die with us */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

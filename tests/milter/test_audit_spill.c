/*
 * test_audit_spill.c - nothing decided is lost when the audit disk is
 * full at shutdown.
 *
 * The real daemon, sync: batch, its audit log alone on a small tmpfs
 * and audit.spill on the test's own file system. Eight connections send
 * mail; the tmpfs is filled under them, so decisions already answered
 * (queued, batch) cannot be written, and later ones get on_error. The
 * daemon is stopped while the disk is still full. Then:
 *
 *   1. every decision the MTA was told is on record exactly once, in
 *      the log or in the spill, and nothing answered with on_error is;
 *      `tlspolicy-audit verify LOG SPILL` passes (the spill continues
 *      the chain) and ends with the stop record; the daemon's log points
 *      at the spill with its path, count and seq range, not the records;
 *   2. restarted while the disk is still full, the daemon keeps the
 *      spilled records ahead of everything (decisions get on_error), and
 *      at stop adds its stop record to the spill;
 *   3. with space freed, the next start puts the spill back into the log
 *      and removes it; new decisions follow, and the log alone verifies
 *      as one chain holding every decision told, once.
 *
 * Root only (a mount in a private namespace, gone with the process);
 * exits 77, saying why, when it cannot mount.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#define THREADS 8
#define PER_THREAD 4000
#define LOAD_MS 1500 /* of load after the disk filled */

struct fx {
	struct hn_daemon d;
	struct hn_mta m;
	char spilldir[HN_PATH], spill[HN_PATH + 16], filler[HN_PATH + 16];
	struct hn_decision *told;
	size_t n;
	unsigned tx;
	int mounted;
	struct al_log log;
};

static char why_skip[256];

/* The harness's policy, with audit.spill added. */
static int
add_spill(struct fx *f)
{
	char buf[4096], *at, out[4200];
	FILE *fp = fopen(f->d.policy, "re");
	size_t n;

	if (fp == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((at = strstr(buf, "sync: batch")) == NULL)
		return -1;
	at += strlen("sync: batch");
	snprintf(out, sizeof(out), "%.*s, spill: %s%s", (int)(at - buf), buf,
		 f->spill, at);
	if ((fp = fopen(f->d.policy, "we")) == NULL)
		return -1;
	fputs(out, fp);
	return fclose(fp);
}

/* A private mount namespace with a small tmpfs on the log directory. */
static int
mount_small(struct fx *f)
{
	if (unshare(CLONE_NEWNS) < 0) {
		snprintf(why_skip, sizeof(why_skip), "unshare(CLONE_NEWNS): %s",
			 strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tlsp-spill-test", f->d.logdir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=1m,mode=0755") < 0) {
		snprintf(why_skip, sizeof(why_skip), "mount tmpfs: %s",
			 strerror(errno));
		return -1;
	}
	f->mounted = 1;
	return 0;
}

static int
setup(void **state)
{
	struct fx *f;

	if (fx_setup(state, sizeof(struct fx), "batch", 0) < 0)
		return -1;
	f = *state;
	snprintf(f->spilldir, sizeof(f->spilldir), "%s/spill", f->d.dir);
	snprintf(f->spill, sizeof(f->spill), "%s/audit.spill", f->spilldir);
	snprintf(f->filler, sizeof(f->filler), "%s/filler", f->d.logdir);
	f->told = calloc(THREADS * PER_THREAD + 64, sizeof(*f->told));
	if (f->told == NULL || mkdir(f->spilldir, 0755) < 0 || add_spill(f) < 0)
		return -1;
	return mount_small(f) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	hn_mta_close(&f->m);
	hn_kill(&f->d);
	if (f->mounted)
		umount2(f->d.logdir, MNT_DETACH);
	fx_cleanup(&f->d, NULL);
	al_free(&f->log);
	free(f->told);
	free(f);
	return 0;
}

/* Fills the file system of the log with one file. */
static void
fill(const struct fx *f)
{
	static const char block[4096];
	int fd = open(f->filler, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);

	assert_true(fd >= 0);
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

/* count transactions on f->m; every decision must be told (or, with
 * on_error, every one must be on_error). */
static void
run(struct fx *f, int count, int on_error)
{
	size_t n, i;

	while (count-- > 0) {
		n = fx_tx(&f->d, &f->m, "SQ", &f->tx, &f->told[f->n]);
		for (i = 0; i < n; i++)
			if (f->told[f->n + i].on_error != on_error)
				fail_msg("%s: \"%s\" %s", f->told[f->n + i].key,
					 f->told[f->n + i].reply,
					 on_error ? "while the disk is full"
						  : "with room on the disk");
		f->n += n;
	}
}

/* ============================================ load while it fills */

struct worker {
	const struct fx *f;
	int id;
	atomic_int *stop;
	struct hn_decision *d;
	size_t n;
	unsigned tx;
	char err[1100];
};

static atomic_size_t on_errors;

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct hn_mta m = {0};
	char qid[32];
	size_t got;

	if (hn_mta_open(&m, w->f->d.spec, 10000) < 0) {
		snprintf(w->err, sizeof(w->err), "%s", m.err);
		hn_mta_close(&m);
		return NULL;
	}
	while (!atomic_load(w->stop) && w->n + 2 <= PER_THREAD) {
		snprintf(qid, sizeof(qid), "S%dQ%05u", w->id, w->tx);
		if (hn_mta_tx(&m, qid, w->tx++ % 2, &w->d[w->n], &got) < 0) {
			snprintf(w->err, sizeof(w->err), "%s", m.err);
			break;
		}
		while (got-- > 0)
			if (w->d[w->n++].on_error)
				atomic_fetch_add(&on_errors, 1);
	}
	hn_mta_close(&m);
	return NULL;
}

/* Eight connections; the disk fills 100 ms in, and the load goes on
 * for LOAD_MS after that. Their decisions join f->told. Returns how
 * many were told (not on_error). */
static size_t
load_and_fill(struct fx *f)
{
	struct worker *w = calloc(THREADS, sizeof(*w));
	pthread_t t[THREADS];
	atomic_int stop = 0;
	size_t i, j, started = 0, told = 0;

	assert_non_null(w);
	atomic_store(&on_errors, 0);
	for (i = 0; i < THREADS; i++) {
		w[i].f = f;
		w[i].id = (int)i;
		w[i].stop = &stop;
		w[i].d = calloc(PER_THREAD, sizeof(*w[i].d));
		if (w[i].d == NULL ||
		    pthread_create(&t[i], NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	usleep(100000);
	fill(f);
	usleep(LOAD_MS * 1000);
	atomic_store(&stop, 1);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(started, THREADS);
	for (i = 0; i < THREADS; i++) {
		if (w[i].err[0] != '\0')
			fail_msg("connection %zu: %s", i, w[i].err);
		for (j = 0; j < w[i].n; j++) {
			told += !w[i].d[j].on_error;
			f->told[f->n++] = w[i].d[j];
		}
		free(w[i].d);
	}
	free(w);
	assert_true(atomic_load(&on_errors) > 0); /* the disk did fill */
	return told;
}

/* ========================================================= checks */

/* fx_assert_log over the files (chain, no torn line, ends with a stop
 * record, tlspolicy-audit verify agrees), and every decision told is on
 * record once, none answered with on_error. */
static void
assert_all_told(struct fx *f, const char *const *files, size_t nfiles)
{
	size_t i, bad = 0;
	const char *why;

	al_free(&f->log);
	fx_assert_log(&f->log, files, nfiles, NULL);
	for (i = 0; i < f->n; i++)
		if ((why = al_mismatch(&f->log, &f->told[i])) != NULL &&
		    bad++ < 10)
			print_error("%c %s (%s): %s\n", f->told[i].kind,
				    f->told[i].key, f->told[i].reply, why);
	if (bad > 0)
		fail_msg("%zu of %zu decisions disagree with the audit files",
			 bad, f->n);
}

/* Decisions told whose record is in file index `file`. */
static size_t
told_in(const struct fx *f, int file)
{
	const struct al_rec *r;
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		if (!f->told[i].on_error &&
		    (r = al_find(&f->log, f->told[i].kind, f->told[i].key,
				 NULL)) != NULL &&
		    r->file == file)
			n++;
	return n;
}

static size_t
lines_in(const char *path)
{
	FILE *fp = fopen(path, "re");
	size_t n = 0;
	int ch;

	if (fp == NULL)
		return 0;
	while ((ch = getc(fp)) != EOF)
		n += ch == '\n';
	fclose(fp);
	return n;
}

/* Polled: some lines (the spill plan) come just after "started". */
static void
assert_said(const struct fx *f, long from, const char *a, const char *b)
{
	if (!hn_errlog_wait(&f->d, from, a, b, 10000)) {
		hn_errlog_dump(&f->d, from);
		fail_msg("the daemon's log does not say \"%s\"%s%s", a,
			 b ? " with " : "", b ? b : "");
	}
}

/* =========================================================== test */

static void
test_full_at_stop(void **state)
{
	struct fx *f = *state;
	const char *both[] = {f->d.audit, f->spill}, *one[] = {f->d.audit};
	char want[HN_PATH * 2 + 64];
	size_t told, in_log, in_spill, spilled, before;
	long off, t0, took_back;

	/* 1. full at stop: the spill keeps what the log cannot take */
	assert_int_equal(hn_start(&f->d), 0);
	assert_said(f, f->d.started_at, "(another file system)", f->spill);
	run(f, 3, 0);
	told = load_and_fill(f);
	off = hn_errlog_size(&f->d);
	fx_stop(&f->d, &f->m);
	assert_int_equal(access(f->spill, F_OK), 0);
	assert_all_told(f, both, 2);
	in_log = told_in(f, 0);
	in_spill = told_in(f, 1);
	spilled = lines_in(f->spill);
	snprintf(want, sizeof(want), "audit: %zu records spilled to %s, seq ",
		 spilled, f->spill);
	assert_said(f, off, want, NULL);
	snprintf(want, sizeof(want), "tlspolicy-audit verify %s %s", f->d.audit,
		 f->spill);
	assert_said(f, off, want, NULL);
	assert_int_equal(hn_errlog_count(&f->d, off, "\"type\":"), 0);
	print_message("disk full at stop: %zu decisions told (6 of them before "
		      "the load), %zu on_error; %zu recorded in the log, %zu "
		      "in the spill (%zu records with the stop record), 0 "
		      "lost\n",
		      told + 6, f->n - told - 6, in_log, in_spill, spilled);
	assert_int_equal(in_log + in_spill, told + 6);
	assert_true(in_spill > 0); /* what this test is about */

	/* 2. restarted while still full: the spill stays ahead */
	before = f->n;
	off = hn_errlog_size(&f->d);
	assert_int_equal(hn_start(&f->d), 0);
	assert_said(f, off, "go back into", NULL);
	run(f, 2, 1);
	fx_stop(&f->d, &f->m);
	assert_said(f, off, "are still only in", f->spill);
	assert_int_equal(lines_in(f->spill), spilled + 1); /* its stop */
	assert_all_told(f, both, 2);
	assert_int_equal(f->n - before, 4);

	/* 3. room again (the file system grown, the filler gone): the next
	 * start puts the spill back */
	assert_int_equal(mount(NULL, f->d.logdir, NULL, MS_REMOUNT, "size=8m"),
			 0);
	assert_int_equal(unlink(f->filler), 0);
	off = hn_errlog_size(&f->d);
	t0 = hn_now_ms();
	assert_int_equal(hn_start(&f->d), 0);
	took_back = hn_now_ms() - t0;
	snprintf(want, sizeof(want), "%s removed", f->spill);
	assert_said(f, off, "are in", want);
	assert_int_equal(access(f->spill, F_OK), -1);
	run(f, 3, 0);
	fx_stop(&f->d, &f->m);
	assert_all_told(f, one, 1);
	/* the start while full had no record ("audit: cannot record
	 * start"); its stop record was spilled */
	assert_int_equal(al_count_type(&f->log, "start"), 2);
	assert_int_equal(al_count_type(&f->log, "stop"), 3);
	print_message("space freed: the next start put %zu spilled records "
		      "back and was serving %ld ms after it was started; the "
		      "log alone verifies, %zu records\n",
		      spilled + 1, took_back, f->log.n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_at_stop, setup,
						teardown),
	};
	struct fx probe = {0};

	if (geteuid() != 0) {
		printf("SKIP: test_audit_spill needs root (a tmpfs mount)\n");
		return 77;
	}
	/* whether the system lets us mount: in a child, so that this
	 * process's namespace stays as it is for the test */
	if (hn_init(&probe.d, "batch", 0) == 0) {
		pid_t pid = fork();
		int status = 0;

		if (pid == 0) {
			if (mount_small(&probe) == 0)
				_exit(0);
			printf("SKIP: test_audit_spill: %s\n", why_skip);
			_exit(1);
		}
		waitpid(pid, &status, 0);
		hn_cleanup(&probe.d);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	alarm(300);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_audit_faults.c - the audit log failing under a running daemon.
 *
 * Each test starts its own daemon, drives it as an MTA (one connection;
 * eight in g), breaks the log in one way, mends it, and stops the daemon
 * cleanly.
 * Throughout, what the MTA was told must agree with the log: a decision
 * told is on record exactly once; a decision that could not be recorded
 * is answered with on_error (tempfail, "451 4.7.0 ...") and is not on
 * record; the daemon says loudly what failed and that it recovered, which
 * it does by itself; and the chain holds across everything, files
 * included.
 *
 *   a. a file size limit: the daemon's RLIMIT_FSIZE lowered and raised
 *      with prlimit(2) (the soft limit only, so no privilege is needed)
 *   b. the log removed: a new file, starting with a rotate record
 *   c. logrotate: rename, then SIGUSR2
 *   d. the log removed and its directory unwritable: as root the daemon
 *      runs as nobody (-u), since root ignores permissions and chattr +i
 *      needs a filesystem and a capability a container may lack
 *   e. a full disk: a 64 KiB tmpfs in a private mount namespace (root
 *      only; skipped when unshare or mount is refused)
 *   f. sync: batch: decisions taken before the failure was noticed stay
 *      queued and reach the log after it; later ones get on_error
 *   g. eight connections while the limit comes and goes, in both modes
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#define RECOVER_MS 5000 /* the writer retries once a second */

static off_t file_size(const char *path);

/* One test's daemon and everything its MTA was told. */
struct fx {
	struct hn_daemon d;
	struct hn_mta m;
	struct hn_decision *told;
	size_t n, cap;
	unsigned tx;
	const char *prefix; /* of this test's queue ids */
	int mounted;	    /* d.logdir is a tmpfs of ours */
	int old_fd;	    /* the removed log, still open */
	struct al_log log;  /* as read back at the end */
};

static int
setup_sync(void **state, const char *sync, const char *prefix)
{
	int rc = fx_setup(state, sizeof(struct fx), sync, 0);
	struct fx *f = *state;

	if (f != NULL) {
		f->prefix = prefix;
		f->old_fd = -1;
	}
	return rc;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f == NULL)
		return 0;
	hn_mta_close(&f->m);
	hn_kill(&f->d); /* before its tmpfs goes */
	if (f->mounted)
		umount2(f->d.logdir, MNT_DETACH);
	if (f->old_fd >= 0)
		close(f->old_fd);
	fx_cleanup(&f->d, NULL);
	al_free(&f->log);
	free(f->told);
	free(f);
	return 0;
}

static int
setup_always(void **state)
{
	return setup_sync(state, "always", "AQ");
}

/* ====================================================== the MTA side */

/* One transaction; reconnects when the last one broke the connection.
 * Returns how many of its decisions were answered with on_error. */
static size_t
tx(struct fx *f)
{
	size_t n, i, errs = 0;

	if (f->n + 2 > f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->told = realloc(f->told, f->cap * sizeof(*f->told));
		assert_non_null(f->told);
	}
	n = fx_tx(&f->d, &f->m, f->prefix, &f->tx, &f->told[f->n]);
	for (i = 0; i < n; i++)
		errs += f->told[f->n + i].on_error;
	f->n += n;
	return errs;
}

/* count transactions, every decision taken and told */
static void
run_ok(struct fx *f, int count)
{
	while (count-- > 0)
		if (tx(f) > 0)
			fail_msg("on_error while the log is writable (%s)",
				 f->told[f->n - 1].key);
}

/* count transactions, every decision answered with on_error */
static void
run_on_error(struct fx *f, int count)
{
	size_t from = f->n, i;

	while (count-- > 0)
		tx(f);
	for (i = from; i < f->n; i++)
		if (!f->told[i].on_error)
			fail_msg(
				"%s told \"%s\" while the log cannot be written",
				f->told[i].key, f->told[i].reply);
}

/*
 * Transactions until a decision gets on_error: at least max_tx of them,
 * or for at least max_ms (10 ms apart), whichever lasts longer. Returns
 * how many decisions were told before it. With sync: always that is the
 * first decision; with sync: batch it depends on when the writer thread
 * next tries the file, which a slow fdatasync of the batch before can
 * delay for any number of decisions: a bound in time, not in count.
 */
static size_t
run_until_on_error(struct fx *f, int max_tx, int max_ms)
{
	size_t from = f->n, i;
	long t0 = hn_now_ms();

	while (max_tx-- > 0 || hn_now_ms() - t0 < max_ms) {
		tx(f);
		for (i = from; i < f->n; i++)
			if (f->told[i].on_error)
				return i - from;
		if (max_ms > 0)
			usleep(10000);
	}
	print_error("the log is %lld bytes; the daemon's log:\n",
		    (long long)file_size(f->d.audit));
	hn_errlog_dump(&f->d, f->d.started_at);
	fail_msg("no decision got on_error although the log cannot be "
		 "written");
	return 0;
}

/* Transactions, 100 ms apart, until one is decided without on_error,
 * for at most RECOVER_MS; then a few more, all decided. Returns the
 * time it took, in ms. */
static long
run_until_recovered(struct fx *f)
{
	long t0 = hn_now_ms();

	while (tx(f) > 0) {
		if (hn_now_ms() - t0 > RECOVER_MS)
			fail_msg("still on_error %d ms after the fault was "
				 "mended",
				 RECOVER_MS);
		usleep(100000);
	}
	t0 = hn_now_ms() - t0;
	run_ok(f, 3);
	return t0;
}

/* ========================================================= the checks */

/* The log is whole (fx_assert_log) and agrees with everything the MTA
 * was told. Leaves it in f->log. */
static void
assert_log(struct fx *f, const char *const *files, size_t nfiles)
{
	size_t i, bad = 0;
	const char *why;

	fx_assert_log(&f->log, files, nfiles, f->d.with_key ? f->d.key : NULL);
	for (i = 0; i < f->n; i++)
		if ((why = al_mismatch(&f->log, &f->told[i])) != NULL &&
		    bad++ < 10)
			print_error("%c %s (%s): %s\n", f->told[i].kind,
				    f->told[i].key, f->told[i].reply, why);
	if (bad > 0)
		fail_msg("%zu of %zu decisions disagree with the log", bad,
			 f->n);
}

/* assert_log on the file before a rotation and the one after it, which
 * begins with a rotate record saying `detail`. */
static void
assert_rotated_log(struct fx *f, const char *const *files, const char *detail)
{
	const struct al_rec *first;

	assert_log(f, files, 2);
	first = al_first_of(&f->log, 1);
	assert_non_null(first);
	assert_string_equal(first->type, "rotate");
	assert_string_equal(first->detail, detail);
}

/* Decisions from..to-1 are on record in file `file`. */
static void
assert_in_file(const struct al_log *log, const struct fx *f, size_t from,
	       size_t to, int file)
{
	const struct al_rec *r;

	for (; from < to; from++) {
		r = al_find(log, f->told[from].kind, f->told[from].key, NULL);
		assert_non_null(r);
		if (r->file != file)
			fail_msg("%s is in file %d, not %d", f->told[from].key,
				 r->file, file);
	}
}

/* The daemon said what failed, that decisions follow on_error, and
 * which decision it refused to take, all after byte `from` of its log. */
static void
assert_said_failing(const struct fx *f, long from, const char *what)
{
	if (!hn_errlog_wait(&f->d, from, f->d.audit, what, 2000) ||
	    !hn_errlog_has(&f->d, from, "decisions follow on_error", NULL) ||
	    !hn_errlog_has(&f->d, from, "audit: cannot record",
			   "on_error=tempfail")) {
		hn_errlog_dump(&f->d, from);
		fail_msg("the daemon's log does not say \"%s\" loudly", what);
	}
}

static void
assert_said_recovered(const struct fx *f, long from)
{
	if (!hn_errlog_wait(&f->d, from, "writable again", f->d.audit, 2000)) {
		hn_errlog_dump(&f->d, from);
		fail_msg("the daemon's log does not say the log recovered");
	}
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Sets the soft RLIMIT_FSIZE of the running daemon, keeping the old
 * limits in *old (unless NULL). 0 or -1 (errno); no cmocka, so a test
 * may call it while its threads run. */
static int
fsize_set(const struct fx *f, rlim_t soft, struct rlimit *old)
{
	struct rlimit cur, nl;

	if (prlimit(f->d.pid, RLIMIT_FSIZE, NULL, &cur) < 0)
		return -1;
	if (old != NULL)
		*old = cur;
	nl.rlim_cur = soft;
	nl.rlim_max = cur.rlim_max;
	return prlimit(f->d.pid, RLIMIT_FSIZE, &nl, NULL);
}

/* A limit just above the log's size now, room for a torn line: the next
 * record cannot be written. Returns the old limits. */
static struct rlimit
limit_fsize(const struct fx *f)
{
	struct rlimit old;

	off_t size = file_size(f->d.audit);

	if (fsize_set(f, (rlim_t)size + 100, &old) < 0)
		fail_msg("prlimit: %s", strerror(errno));
	print_message("file size limit %lld (log %lld bytes)\n",
		      (long long)size + 100, (long long)size);
	return old;
}

/* ============================================================ tests */

/* a. A file size limit just above the log: the write that crosses it is
 * cut back out of the file, and the decision gets on_error. */
static void
test_fsize_limit(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	struct rlimit old;
	off_t size;
	long off;

	assert_int_equal(hn_start(&f->d), 0);
	run_ok(f, 4);
	size = file_size(f->d.audit);
	off = hn_errlog_size(&f->d);
	old = limit_fsize(f);
	/* sync: always: the very first decision cannot be recorded */
	assert_int_equal(run_until_on_error(f, 1, 0), 0);
	run_on_error(f, 3);
	assert_int_equal(file_size(f->d.audit), size); /* no partial line */
	assert_said_failing(f, off, "File too large");
	assert_int_equal(prlimit(f->d.pid, RLIMIT_FSIZE, &old, NULL), 0);
	print_message("fsize: recovered %ld ms after the limit was raised\n",
		      run_until_recovered(f));
	assert_said_recovered(f, off);
	fx_stop(&f->d, &f->m);
	assert_log(f, files, 1);
}

/* Opens the log so it can be read after it is removed, and removes it. */
static void
remove_log(struct fx *f)
{
	f->old_fd = open(f->d.audit, O_RDONLY | O_CLOEXEC);
	assert_true(f->old_fd >= 0);
	assert_int_equal(unlink(f->d.audit), 0);
}

/* A copy of the removed file (read through our descriptor), for the
 * checks and for tlspolicy-audit. */
static const char *
old_log(const struct fx *f)
{
	static char path[HN_PATH + 16];
	char buf[65536];
	ssize_t r;
	off_t at = 0;
	FILE *out;

	snprintf(path, sizeof(path), "%s/removed.log", f->d.dir);
	out = fopen(path, "we");
	assert_non_null(out);
	while ((r = pread(f->old_fd, buf, sizeof(buf), at)) > 0) {
		assert_int_equal(fwrite(buf, 1, (size_t)r, out), (size_t)r);
		at += r;
	}
	assert_int_equal(r, 0);
	assert_int_equal(fclose(out), 0);
	return path;
}

/* b. The log removed while running: nothing is lost, the daemon opens
 * a new file whose first record, a rotate record, links to the old one. */
static void
test_log_removed(void **state)
{
	struct fx *f = *state;
	const char *files[2];
	size_t before;

	assert_int_equal(hn_start(&f->d), 0);
	run_ok(f, 3);
	before = f->n;
	remove_log(f);
	run_ok(f, 3);
	assert_int_equal(access(f->d.audit, F_OK), 0);
	fx_stop(&f->d, &f->m);
	files[0] = old_log(f);
	files[1] = f->d.audit;
	assert_rotated_log(f, files, "the log file was removed or replaced");
	assert_in_file(&f->log, f, 0, before, 0);
	assert_in_file(&f->log, f, before, f->n, 1);
}

/* c. logrotate: records go to the renamed file until SIGUSR2, then to a
 * new file that begins with a rotate record; one chain across both. */
static void
test_rename_and_sigusr2(void **state)
{
	struct fx *f = *state;
	char rotated[HN_PATH + 4];
	const char *files[] = {rotated, f->d.audit};
	size_t renamed;
	long off;

	snprintf(rotated, sizeof(rotated), "%s.1", f->d.audit);
	assert_int_equal(hn_start(&f->d), 0);
	run_ok(f, 3);
	assert_int_equal(rename(f->d.audit, rotated), 0);
	run_ok(f, 2); /* still into the renamed file */
	renamed = f->n;
	off = hn_errlog_size(&f->d);
	assert_int_equal(kill(f->d.pid, SIGUSR2), 0);
	assert_true(hn_errlog_wait(&f->d, off, "audit: log reopened", NULL,
				   5000));
	run_ok(f, 3);
	fx_stop(&f->d, &f->m);
	assert_rotated_log(f, files, "reopened on request (log rotation)");
	assert_in_file(&f->log, f, 0, renamed, 0);
	assert_in_file(&f->log, f, renamed, f->n, 1);
}

/* d. The log removed and its directory read-only: no new file can be
 * made, decisions get on_error until the directory is writable again. */
static void
test_unwritable_directory(void **state)
{
	struct fx *f = *state;
	const char *files[2];
	long off;
	int rc;

	if (geteuid() == 0) {
		/* root writes anywhere: the daemon drops to nobody */
		if ((rc = hn_as_nobody(&f->d)) == 1) {
			print_message("skipped: root, and no user nobody to "
				      "run the daemon as\n");
			skip();
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(hn_start(&f->d), 0);
	run_ok(f, 3);
	remove_log(f);
	assert_int_equal(chmod(f->d.logdir, 0555), 0);
	off = hn_errlog_size(&f->d);
	assert_int_equal(run_until_on_error(f, 1, 0), 0);
	run_on_error(f, 2);
	assert_said_failing(f, off, "Permission denied");
	assert_int_equal(access(f->d.audit, F_OK), -1);
	assert_int_equal(chmod(f->d.logdir, 0755), 0);
	print_message("unwritable: recovered %ld ms after chmod\n",
		      run_until_recovered(f));
	assert_said_recovered(f, off);
	fx_stop(&f->d, &f->m);
	files[0] = old_log(f);
	files[1] = f->d.audit;
	assert_rotated_log(f, files, "the log file was removed or replaced");
}

/* A private mount namespace with a 64 KiB tmpfs on the log directory;
 * 0, or -1 with the reason when the system does not allow it. */
static int
mount_tiny_tmpfs(struct fx *f, char *why, size_t whysz)
{
	if (geteuid() != 0) {
		snprintf(why, whysz, "needs root");
		return -1;
	}
	if (unshare(CLONE_NEWNS) < 0) {
		snprintf(why, whysz, "unshare(CLONE_NEWNS): %s",
			 strerror(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tlsp-test", f->d.logdir, "tmpfs", MS_NOSUID | MS_NODEV,
		  "size=64k,mode=0755") < 0) {
		snprintf(why, whysz, "mount tmpfs: %s", strerror(errno));
		return -1;
	}
	f->mounted = 1;
	return 0;
}

/* Fills the filesystem of dir with one file, named in path. */
static void
fill(const char *dir, char *path, size_t pathsz)
{
	static const char block[4096];
	ssize_t w;
	int fd;

	snprintf(path, pathsz, "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	while ((w = write(fd, block, sizeof(block))) > 0)
		;
	while ((w = write(fd, block, 1)) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	close(fd);
}

/* e. A full disk. The log's last page may still take a record or two,
 * so decisions go on until one cannot be recorded; from then on every
 * decision gets on_error until space is freed. */
static void
test_disk_full(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	char why[256], filler[HN_PATH + 16];
	size_t squeezed;
	long off;

	if (mount_tiny_tmpfs(f, why, sizeof(why)) < 0) {
		print_message("skipped: %s\n", why);
		skip();
	}
	assert_int_equal(hn_start(&f->d), 0);
	run_ok(f, 3);
	off = hn_errlog_size(&f->d);
	fill(f->d.logdir, filler, sizeof(filler));
	squeezed = run_until_on_error(f, 20, 0);
	run_on_error(f, 3);
	assert_said_failing(f, off, "No space left on device");
	assert_int_equal(unlink(filler), 0);
	print_message("ENOSPC: %zu decisions still fit, recovered %ld ms after "
		      "space was freed\n",
		      squeezed, run_until_recovered(f));
	assert_said_recovered(f, off);
	fx_stop(&f->d, &f->m);
	assert_log(f, files, 1);
}

static int
setup_batch(void **state)
{
	return setup_sync(state, "batch", "BQ");
}

/* Until the record of the last decision told is in the file. */
static void
wait_recorded(const struct fx *f)
{
	const char *files[] = {f->d.audit};
	long t0 = hn_now_ms();
	struct al_log log;
	int found, rc;

	for (;;) {
		rc = al_load(&log, files, 1, NULL);
		found = rc == 0 &&
			al_mismatch(&log, &f->told[f->n - 1]) == NULL;
		al_free(&log);
		assert_int_equal(rc, 0);
		if (found)
			return;
		if (hn_now_ms() - t0 > 5000)
			fail_msg("%s not written within 5 s",
				 f->told[f->n - 1].key);
		usleep(20000);
	}
}

/* f. sync: batch. A decision taken before the writer found the log
 * failing was told at once; its record stays queued and is written once
 * the log recovers. Once the failure is known every decision waits for
 * its record and gets on_error. Nothing told is missing at the end. */
static void
test_batch_under_failure(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	struct rlimit old;
	size_t early;
	long off;

	assert_int_equal(hn_start(&f->d), 0);
	run_ok(f, 4);
	wait_recorded(f);
	off = hn_errlog_size(&f->d);
	old = limit_fsize(f);
	early = run_until_on_error(f, 1, 5000);
	assert_true(early >= 1); /* the first was told before the failure */
	run_on_error(f, 3);
	assert_said_failing(f, off, "File too large");
	assert_int_equal(prlimit(f->d.pid, RLIMIT_FSIZE, &old, NULL), 0);
	print_message("batch: %zu decisions told before the failure was "
		      "noticed; recovered %ld ms after the limit was raised\n",
		      early, run_until_recovered(f));
	assert_said_recovered(f, off);
	fx_stop(&f->d, &f->m);
	assert_log(f, files, 1);
}

#define THREADS 8
#define CYCLES (hn_quick() ? 1 : 3) /* at least */
#define CYCLES_MAX 10		    /* until some decision got on_error */
#define PER_THREAD 8000 /* decisions kept; a connection stops at that */

static atomic_size_t on_errors; /* by all connections, so far */

struct worker {
	const struct fx *f;
	int id;
	atomic_int *stop;
	struct hn_decision *d; /* its slice of f->told */
	size_t n;
	unsigned tx;
	char err[1100];
};

/* No cmocka here: a failure is kept in w->err. */
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
		snprintf(qid, sizeof(qid), "G%dQ%05u", w->id, w->tx);
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

/* The limit comes and goes, 150 ms writable, 400 ms not: CYCLES times,
 * and more (up to CYCLES_MAX) until a decision got on_error, since on a
 * slow disk the writer may not try the file while it is limited. 0, or
 * -1 if prlimit failed. */
static int
flap_fsize(const struct fx *f)
{
	struct rlimit old;
	struct stat st;
	int c, rc = 0;

	for (c = 0; rc == 0 && c < CYCLES_MAX &&
		    (c < CYCLES || atomic_load(&on_errors) == 0);
	     c++) {
		usleep(150000);
		if (stat(f->d.audit, &st) < 0 ||
		    fsize_set(f, (rlim_t)st.st_size + 100, &old) < 0)
			return -1;
		usleep(400000);
		rc = prlimit(f->d.pid, RLIMIT_FSIZE, &old, NULL);
	}
	usleep(1500000); /* the writer retries what is queued once a second */
	return rc;
}

/* g. Eight connections while the limit comes and goes, in either sync
 * mode: every decision is either told and on record exactly once, or
 * answered with on_error and not on record; some of each. */
static void
test_concurrent_failures(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->d.audit};
	struct worker w[THREADS];
	pthread_t t[THREADS];
	atomic_int stop = 0;
	size_t i, j, started = 0, told = 0, errs = 0;
	int flapped;

	assert_int_equal(hn_start(&f->d), 0);
	atomic_store(&on_errors, 0);
	f->cap = THREADS * PER_THREAD;
	f->told = calloc(f->cap, sizeof(*f->told));
	assert_non_null(f->told);
	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].f = f;
		w[i].id = (int)i;
		w[i].stop = &stop;
		w[i].d = f->told + i * PER_THREAD;
		if (pthread_create(&t[i], NULL, work, &w[i]) != 0)
			break;
		started++;
	}
	flapped = started == THREADS ? flap_fsize(f) : -1;
	atomic_store(&stop, 1);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(started, THREADS);
	assert_int_equal(flapped, 0);
	/* one list, in place, so assert_log checks them all */
	for (i = 0; i < THREADS; i++) {
		if (w[i].err[0] != '\0')
			fail_msg("connection %zu: %s", i, w[i].err);
		for (j = 0; j < w[i].n; j++) {
			f->told[f->n] = w[i].d[j];
			told += !f->told[f->n].on_error;
			errs += f->told[f->n++].on_error;
		}
	}
	fx_stop(&f->d, &f->m);
	assert_log(f, files, 1);
	print_message("sync: %s, %d connections: %zu decisions told and on "
		      "record, %zu answered with on_error and not on record\n",
		      f->d.sync, THREADS, told, errs);
	assert_true(errs > 0 && told > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fsize_limit, setup_always,
						teardown),
		cmocka_unit_test_setup_teardown(test_log_removed, setup_always,
						teardown),
		cmocka_unit_test_setup_teardown(test_rename_and_sigusr2,
						setup_always, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_directory,
						setup_always, teardown),
		cmocka_unit_test_setup_teardown(test_batch_under_failure,
						setup_batch, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_failures,
						setup_always, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_failures,
						setup_batch, teardown),
		/* last: it leaves the process in a private mount namespace */
		cmocka_unit_test_setup_teardown(test_disk_full, setup_always,
						teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(300); /* a hung run fails; the daemons die with us */
	return cmocka_run_group_tests(tests, NULL, NULL);
}

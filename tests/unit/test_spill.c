/*
 * test_spill.c - unit tests for the spill (audit/spill.c, and its use in
 * audit/writer.c): nothing the sink accepted is lost when the log cannot
 * take it at close, and the next open puts it back exactly once.
 *
 * The log fails through RLIMIT_FSIZE (SIGXFSZ ignored, as the daemon
 * does), set just above the log's size; the log is first made larger
 * than anything spilled, so that the same limit lets the spill through.
 * Every check reads the files back and walks the chain with
 * audit/chain.c: each hash right, each record linked to the one before,
 * across log and spill. Nothing is asserted while the limit holds
 * (cmocka's output may go to a file). Logs that a killed start or a
 * write that could not be cut back leave torn are built byte by byte,
 * and `tlspolicy-audit verify` must pass over what the sink makes of
 * them.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain.h"
#include "tlspolicy/audit.h"

#define PREFILL 300 /* records in the log before it fails: ~100 KiB */
#define HELD 40	    /* records queued when it fails */

/* One test's files and what the sink said. */
struct fx {
	char dir[64], log[128], spill[128], spilldir[96];
	pthread_mutex_t lock;
	char said[64][1024];
	int pri[64];
	size_t nsaid;
	struct rlimit old;
};

static void
notify(void *arg, int pri, const char *msg)
{
	struct fx *f = arg;

	pthread_mutex_lock(&f->lock);
	if (f->nsaid < 64) {
		snprintf(f->said[f->nsaid], sizeof(f->said[0]), "%s", msg);
		f->pri[f->nsaid++] = pri;
	}
	pthread_mutex_unlock(&f->lock);
}

/* The line the sink said that holds `a`, or NULL. */
static const char *
said(struct fx *f, const char *a, int *pri)
{
	size_t i;

	for (i = 0; i < f->nsaid; i++)
		if (strstr(f->said[i], a) != NULL) {
			if (pri != NULL)
				*pri = f->pri[i];
			return f->said[i];
		}
	return NULL;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tlsp-spill-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/audit.log", f->dir);
	snprintf(f->spilldir, sizeof(f->spilldir), "%s/spill", f->dir);
	snprintf(f->spill, sizeof(f->spill), "%s/audit.spill", f->spilldir);
	if (mkdir(f->spilldir, 0755) < 0)
		return -1;
	pthread_mutex_init(&f->lock, NULL);
	getrlimit(RLIMIT_FSIZE, &f->old);
	signal(SIGXFSZ, SIG_IGN);
	*state = f;
	return 0;
}

/* Sets or clears the append-only attribute of path (chattr +a): then
 * the file can be written at its end, never cut. -1 where the file
 * system or the privileges do not allow it. */
static int
set_append_only(const char *path, int on)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), flags, rc = -1;

	if (fd < 0)
		return -1;
	if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0) {
		flags = on ? flags | FS_APPEND_FL : flags & ~FS_APPEND_FL;
		rc = ioctl(fd, FS_IOC_SETFLAGS, &flags);
	}
	close(fd);
	return rc;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	(void)set_append_only(f->log, 0);
	setrlimit(RLIMIT_FSIZE, &f->old);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", f->dir);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return 0;
}

static struct tlsp_audit *
open_sink(struct fx *f, const char *spill)
{
	struct tlsp_audit_options o = {.host = "mx.test",
				       .sync = TLSP_SYNC_BATCH,
				       .spill = spill,
				       .notify = notify,
				       .notify_arg = f};
	char err[512];
	struct tlsp_audit *a = tlsp_audit_open_with(f->log, &o, err,
						    sizeof(err));

	if (a == NULL)
		print_error("open: %s\n", err);
	assert_non_null(a);
	return a;
}

static int
submit(struct tlsp_audit *a, const char *detail, int durable)
{
	struct tlsp_audit_event ev = {.type = TLSP_EV_RELOAD, .detail = detail};

	return tlsp_audit_submit(a, &ev, durable);
}

static off_t
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A log of PREFILL records, all on disk. */
static void
prefill(struct fx *f)
{
	struct tlsp_audit *a = open_sink(f, NULL);
	char d[32];
	int i;

	for (i = 0; i < PREFILL; i++) {
		snprintf(d, sizeof(d), "fill %d", i);
		assert_int_equal(submit(a, d, i == PREFILL - 1), 0);
	}
	tlsp_audit_close(a);
}

static void
limit_to_log(struct fx *f)
{
	struct rlimit lim = f->old;

	lim.rlim_cur = (rlim_t)size_of(f->log) + 10;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

/*
 * The log of f fails; HELD records are submitted at once (batch: each is
 * answered once queued, until the writer finds the log failing; later
 * ones wait and get -1), then the sink closes with a stop record. The
 * details of the answered ones go into told (room for HELD); returns
 * their number.
 */
static size_t
fail_and_close(struct fx *f, struct tlsp_audit *a, char told[][16])
{
	static int round;
	struct tlsp_audit_event stop = {.type = TLSP_EV_STOP};
	size_t n = 0;
	int i;

	limit_to_log(f);
	round++;
	for (i = 0; i < HELD; i++) {
		snprintf(told[n], 16, "held %d.%d", round, i);
		if (submit(a, told[n], 0) == 0)
			n++;
	}
	tlsp_audit_close_with(a, &stop);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &f->old), 0);
	return n;
}

/* ============================================== reading back */

struct chain {
	char **line; /* the records, in order, across the files */
	size_t n;
	uint64_t first_seq, last_seq;
};

static void
chain_free(struct chain *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->line[i]);
	free(c->line);
	memset(c, 0, sizeof(*c));
}

/* Reads the files as one chain from genesis: every line whole, its hash
 * right, each record following the one before. Fails the test if not. */
static void
chain_load(struct chain *c, const char *const *files, size_t nfiles)
{
	struct tlsp_chain_key key = {0};
	struct tlsp_jbuf scratch = {0};
	struct tlsp_chain_rec rec;
	char prev[TLSP_HASH_HEX + 1], *line = NULL;
	size_t cap = 0, i;
	ssize_t len;
	uint64_t seq = 0;
	FILE *fp;

	memset(c, 0, sizeof(*c));
	memcpy(prev, tlsp_chain_genesis, sizeof(prev));
	for (i = 0; i < nfiles; i++) {
		fp = fopen(files[i], "re");
		if (fp == NULL)
			fail_msg("%s: %s", files[i], strerror(errno));
		while ((len = getline(&line, &cap, fp)) > 0) {
			if (line[len - 1] != '\n')
				fail_msg("%s: torn last line", files[i]);
			if (tlsp_chain_verify(line, (size_t)len - 1, &key,
					      &scratch, &rec) != 1)
				fail_msg("%s: line %zu does not verify",
					 files[i], c->n + 1);
			if (rec.seq != seq + 1 || strcmp(rec.prev, prev) != 0)
				fail_msg("%s: seq %llu after %llu: the chain "
					 "breaks",
					 files[i], (unsigned long long)rec.seq,
					 (unsigned long long)seq);
			seq = rec.seq;
			memcpy(prev, rec.hash, sizeof(prev));
			c->line = realloc(c->line,
					  (c->n + 1) * sizeof(*c->line));
			assert_non_null(c->line);
			c->line[c->n++] = strdup(line);
		}
		fclose(fp);
	}
	free(line);
	tlsp_jb_free(&scratch);
	c->last_seq = seq;
}

/* How many records of the chain carry "detail":"<detail>". */
static size_t
count_detail(const struct chain *c, const char *detail)
{
	char want[64];
	size_t i, n = 0;

	snprintf(want, sizeof(want), "\"detail\":\"%s\"", detail);
	for (i = 0; i < c->n; i++)
		n += strstr(c->line[i], want) != NULL;
	return n;
}

static size_t
count_type(const struct chain *c, const char *type)
{
	char want[64];
	size_t i, n = 0;

	snprintf(want, sizeof(want), "\"type\":\"%s\"", type);
	for (i = 0; i < c->n; i++)
		n += strstr(c->line[i], want) != NULL;
	return n;
}

static void
assert_each_once(const struct chain *c, char told[][16], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (count_detail(c, told[i]) != 1)
			fail_msg("\"%s\" is on record %zu times, not once",
				 told[i], count_detail(c, told[i]));
}

/* Lines, not a chain: a spill alone does not start at genesis. */
static size_t
lines_of(const char *path)
{
	size_t n;
	FILE *fp = fopen(path, "re");
	int ch;

	assert_non_null(fp);
	for (n = 0; (ch = getc(fp)) != EOF;)
		n += ch == '\n';
	fclose(fp);
	return n;
}

/* ============================================================ tests */

/* Closing while the log fails: everything answered, and the stop
 * record, goes to the spill, chained after the log; syslog gets one
 * line with the path, the count and the seq range. */
static void
test_close_spills(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->log, f->spill};
	char told[HELD][16], want[640];
	struct tlsp_audit *a;
	struct chain c;
	size_t n;
	int pri = -1;

	prefill(f);
	a = open_sink(f, f->spill);
	n = fail_and_close(f, a, told);
	print_message("%zu of %d submits answered before the failure was "
		      "known\n",
		      n, HELD);
	assert_true(n >= 1);
	assert_int_equal(lines_of(f->log), PREFILL);
	assert_int_equal(lines_of(f->spill), n + 1);
	chain_load(&c, files, 2);
	assert_each_once(&c, told, n);
	assert_int_equal(count_type(&c, "stop"), 1);
	assert_non_null(strstr(c.line[c.n - 1], "\"type\":\"stop\""));
	snprintf(want, sizeof(want),
		 "audit: %zu records spilled to %s, seq %d to %llu, last hash "
		 "%.64s: %s could not take them before stopping",
		 n + 1, f->spill, PREFILL + 1, (unsigned long long)c.last_seq,
		 strstr(c.line[c.n - 1], "\"hash\":\"") + 8, f->log);
	assert_non_null(said(f, want, &pri));
	assert_int_equal(pri, LOG_ERR);
	assert_null(said(f, told[0], NULL)); /* a pointer, not records */
	chain_free(&c);
}

/* The next open puts the spilled records back into the log before
 * anything else and removes the spill: one chain, each record once. */
static void
test_open_takes_back(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->log};
	char told[HELD][16];
	struct tlsp_audit *a;
	struct chain c;
	size_t n;

	prefill(f);
	n = fail_and_close(f, open_sink(f, f->spill), told);
	a = open_sink(f, f->spill);
	assert_int_equal(submit(a, "after", 1), 0);
	assert_int_equal(access(f->spill, F_OK), -1);
	tlsp_audit_close(a);
	chain_load(&c, files, 1);
	assert_int_equal(c.n, PREFILL + n + 2);
	assert_each_once(&c, told, n);
	assert_non_null(strstr(c.line[PREFILL + n], "\"type\":\"stop\""));
	assert_non_null(strstr(c.line[c.n - 1], "\"detail\":\"after\""));
	assert_non_null(said(f, "go back into", NULL));
	assert_non_null(said(f, "are in", NULL));
	chain_free(&c);
}

/* Still full at the next open: nothing new gets in ahead of the spilled
 * records; at close the new ones join them in the spill, and the open
 * after that, with room, puts all of them back. */
static void
test_still_full_at_open(void **state)
{
	struct fx *f = *state;
	const char *both[] = {f->log, f->spill}, *files[] = {f->log};
	char told[HELD][16], told2[HELD][16];
	struct tlsp_audit *a;
	struct chain c;
	size_t n, n2, spilled;

	prefill(f);
	n = fail_and_close(f, open_sink(f, f->spill), told);
	spilled = lines_of(f->spill);
	a = open_sink(f, f->spill);
	n2 = fail_and_close(f, a, told2);
	assert_int_equal(lines_of(f->log), PREFILL);
	assert_int_equal(lines_of(f->spill), spilled + n2 + 1);
	chain_load(&c, both, 2);
	assert_each_once(&c, told, n);
	assert_each_once(&c, told2, n2);
	chain_free(&c);
	assert_non_null(said(f, "are still only in", NULL));

	tlsp_audit_close(open_sink(f, f->spill));
	assert_int_equal(access(f->spill, F_OK), -1);
	chain_load(&c, files, 1);
	assert_each_once(&c, told, n);
	assert_each_once(&c, told2, n2);
	assert_int_equal(count_type(&c, "stop"), 2);
	chain_free(&c);
}

/* Appends the first `lines` lines of from to to (lines < 0: all). */
static void
copy_lines(const char *from, const char *to, int lines)
{
	FILE *in = fopen(from, "re"), *out = fopen(to, "ae");
	int ch;

	assert_non_null(in);
	assert_non_null(out);
	while (lines != 0 && (ch = getc(in)) != EOF) {
		putc(ch, out);
		if (ch == '\n')
			lines--;
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* A start that died while it put the records back: all, or the first
 * few, are in the log and the spill is still there. The next open adds
 * only what is missing, and never a record twice. */
static void
test_interrupted_take_back(void **state)
{
	static const int copied[] = {-1, 1, 3};
	struct fx *f = *state;
	const char *files[] = {f->log};
	char told[HELD][16];
	char head[160];
	struct chain c;
	size_t n, i;

	snprintf(head, sizeof(head), "%s.head", f->log);
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		unlink(f->log);
		unlink(head); /* a new chain each round */
		unlink(f->spill);
		f->nsaid = 0;
		prefill(f);
		n = fail_and_close(f, open_sink(f, f->spill), told);
		if (copied[i] > 0 && (size_t)copied[i] > n)
			continue;
		copy_lines(f->spill, f->log, copied[i]);
		tlsp_audit_close(open_sink(f, f->spill));
		assert_int_equal(access(f->spill, F_OK), -1);
		chain_load(&c, files, 1);
		assert_int_equal(c.n, PREFILL + n + 1); /* and the stop */
		assert_each_once(&c, told, n);
		if (copied[i] < 0)
			assert_non_null(said(f, "already has", NULL));
		chain_free(&c);
	}
}

/* Line `k` (from 0) of path, without its newline, into buf. */
static size_t
line_of(const char *path, int k, char *buf, size_t bufsz)
{
	FILE *fp = fopen(path, "re");
	size_t n = 0;
	int ch;

	assert_non_null(fp);
	while (k > 0 && (ch = getc(fp)) != EOF)
		k -= ch == '\n';
	while ((ch = getc(fp)) != EOF && ch != '\n' && n + 1 < bufsz)
		buf[n++] = (char)ch;
	fclose(fp);
	assert_int_equal(ch, '\n');
	buf[n] = '\0';
	return n;
}

static void
append_bytes(const char *path, const char *p, size_t n)
{
	FILE *fp = fopen(path, "ae");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* tlspolicy-audit verify over the files exits 0 (its output on stderr).
 * Skipped outside `make check`, which says where the tool is. */
static void
assert_tool_verifies(const char *log)
{
	const char *b = getenv("top_builddir");
	char cmd[512];
	int rc;

	if (b == NULL) {
		print_message(
			"top_builddir not set: tlspolicy-audit not run\n");
		return;
	}
	snprintf(cmd, sizeof(cmd), "'%s/tlspolicy-audit' verify '%s' 1>&2", b,
		 log);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("tlspolicy-audit verify %s: exit status 0x%x", log,
			 rc);
}

/*
 * A start that was killed while it wrote the spilled records back: the
 * log ends in the first bytes of one of them (1, half, all but its
 * newline), after none or some of the others. The next open cuts that
 * copy off before writing the records again, and says so: the log
 * verifies, with its start record, and holds each record once.
 */
static void
test_killed_while_taking_back(void **state)
{
	static const int copied[] = {0, 2};
	struct fx *f = *state;
	struct tlsp_audit_event start = {.type = TLSP_EV_START},
				stop = {.type = TLSP_EV_STOP};
	const char *files[] = {f->log};
	char told[HELD][16], head[160], next[4096];
	size_t n, len, cut[3], i, j;
	struct tlsp_audit *a;
	struct chain c;
	int pri = -1;

	snprintf(head, sizeof(head), "%s.head", f->log);
	for (i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		for (j = 0; j < 3; j++) {
			unlink(f->log);
			unlink(head); /* a new chain each round */
			unlink(f->spill);
			f->nsaid = 0;
			prefill(f);
			n = fail_and_close(f, open_sink(f, f->spill), told);
			assert_true(n + 1 > (size_t)copied[i]);
			len = line_of(f->spill, copied[i], next, sizeof(next));
			cut[0] = 1;
			cut[1] = len / 2;
			cut[2] = len; /* all but the newline */
			copy_lines(f->spill, f->log, copied[i]);
			append_bytes(f->log, next, cut[j]);

			a = open_sink(f, f->spill);
			assert_int_equal(tlsp_audit_submit(a, &start, 1), 0);
			tlsp_audit_close_with(a, &stop);
			assert_int_equal(access(f->spill, F_OK), -1);
			assert_tool_verifies(f->log);
			/* no torn line left: every line a record, chained */
			chain_load(&c, files, 1);
			assert_int_equal(c.n, PREFILL + n + 3);
			assert_each_once(&c, told, n);
			assert_int_equal(count_type(&c, "stop"), 2);
			assert_non_null(strstr(c.line[PREFILL + n + 1],
					       "\"type\":\"start\""));
			chain_free(&c);
			if (cut[j] < len) {
				assert_non_null(said(f, "cut off the", &pri));
				assert_int_equal(pri, LOG_WARNING);
				assert_non_null(said(f, "died while it put",
						     NULL));
			}
			print_message("%d records back, then %zu of %zu "
				      "bytes: the log verifies\n",
				      copied[i], cut[j], len);
		}
	}
}

/* A torn line that is no copy of the spill's next record stops the
 * open, and log and spill are left as they are. */
static void
test_torn_not_spilled(void **state)
{
	static const char junk[] = "{\"seq\":1,\"time\":\"20";
	struct fx *f = *state;
	struct tlsp_audit_options o = {.host = "h", .spill = f->spill};
	char told[HELD][16], err[1024], want[256];
	off_t log, spill;

	prefill(f);
	fail_and_close(f, open_sink(f, f->spill), told);
	append_bytes(f->log, junk, sizeof(junk) - 1);
	log = size_of(f->log);
	spill = size_of(f->spill);
	assert_null(tlsp_audit_open_with(f->log, &o, err, sizeof(err)));
	snprintf(want, sizeof(want),
		 "ends in a torn line (from byte %lld) that is not the "
		 "beginning of seq %d",
		 (long long)(log - (off_t)sizeof(junk) + 1), PREFILL + 1);
	if (strstr(err, want) == NULL)
		fail_msg("open: %s", err);
	assert_int_equal(size_of(f->log), log);
	assert_int_equal(size_of(f->spill), spill);
}

/*
 * At run time, a write that fails part-way through a record and cannot
 * be cut back (an append-only log: chattr +a) leaves a torn line. Nothing
 * is written after it until it can be cut off; then it is, said, and the
 * log verifies. Root (or CAP_LINUX_IMMUTABLE) on a file system with the
 * attribute; skipped otherwise.
 */
static void
test_failed_cut_back(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->log};
	struct tlsp_audit *a;
	struct chain c;
	char err[512];
	int lost, blocked, after, pri = -1;
	off_t size;

	prefill(f);
	size = size_of(f->log);
	if (set_append_only(f->log, 1) < 0) {
		print_message("chattr +a refused (%s): skipped\n",
			      strerror(errno));
		skip();
	}
	a = open_sink(f, NULL);
	limit_to_log(f); /* 10 bytes of the next record get in */
	lost = submit(a, "lost", 1);
	blocked = submit(a, "blocked", 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &f->old), 0);
	assert_int_equal(lost, -1);
	assert_int_equal(submit(a, "still blocked", 1), -1);
	tlsp_audit_last_error(a, err, sizeof(err));
	if (strstr(err, "cutting off its torn last line") == NULL)
		fail_msg("last error: %s", err);
	assert_int_equal(size_of(f->log), size + 10); /* nothing after it */
	assert_int_equal(set_append_only(f->log, 0), 0);
	after = submit(a, "after", 1);
	tlsp_audit_close(a);
	assert_int_equal(blocked, -1);
	assert_int_equal(after, 0);
	assert_tool_verifies(f->log);
	chain_load(&c, files, 1);
	assert_int_equal(c.n, PREFILL + 1);
	assert_int_equal(count_detail(&c, "after"), 1);
	assert_non_null(said(f, "cut off the 10 bytes", &pri));
	assert_int_equal(pri, LOG_WARNING);
	assert_non_null(said(f, "left by a failed write", NULL));
	chain_free(&c);
}

/* A spill that does not continue the log is refused, loudly, and left
 * alone: it is not the daemon's to judge. */
static void
test_foreign_spill(void **state)
{
	struct fx *f = *state;
	struct tlsp_audit_options o = {.host = "h", .spill = f->spill};
	char told[HELD][16], err[512], moved[160];
	struct tlsp_audit *a;
	off_t size;

	prefill(f);
	fail_and_close(f, open_sink(f, f->spill), told);
	snprintf(moved, sizeof(moved), "%s.old", f->log);
	assert_int_equal(rename(f->log, moved), 0);
	copy_lines(moved, f->log, 5); /* another log: ends at seq 5 */
	size = size_of(f->spill);
	a = tlsp_audit_open_with(f->log, &o, err, sizeof(err));
	assert_null(a);
	assert_non_null(strstr(err, "do not continue the audit log, which "
				    "ends at seq 5"));
	assert_int_equal(size_of(f->spill), size);

	/* a changed record: its hash does not verify */
	unlink(f->log);
	assert_int_equal(rename(moved, f->log), 0);
	{
		FILE *fp = fopen(f->spill, "r+e");

		assert_non_null(fp);
		assert_int_equal(fseek(fp, 30, SEEK_SET), 0);
		putc('#', fp);
		assert_int_equal(fclose(fp), 0);
	}
	assert_null(tlsp_audit_open_with(f->log, &o, err, sizeof(err)));
	assert_non_null(strstr(err, ":1: "));
}

/* A torn last line in the spill (the daemon died while it spilled) is
 * cut off and said; the whole records before it go back. */
static void
test_torn_spill(void **state)
{
	struct fx *f = *state;
	const char *files[] = {f->log};
	char told[HELD][16];
	struct chain c;
	size_t n;
	FILE *fp;

	prefill(f);
	n = fail_and_close(f, open_sink(f, f->spill), told);
	fp = fopen(f->spill, "ae");
	assert_non_null(fp);
	fputs("{\"seq\":99999,\"time\":\"20", fp);
	assert_int_equal(fclose(fp), 0);
	tlsp_audit_close(open_sink(f, f->spill));
	chain_load(&c, files, 1);
	assert_each_once(&c, told, n);
	assert_non_null(said(f, "ended in a torn line", NULL));
	chain_free(&c);
}

/* Last resort: no spill set, or a spill that cannot be written: the
 * count of what is lost, at LOG_CRIT. */
static void
test_lost_loudly(void **state)
{
	struct fx *f = *state;
	char told[HELD][16], want[128];
	size_t n;
	int pri = -1;

	prefill(f);
	n = fail_and_close(f, open_sink(f, NULL), told);
	snprintf(want, sizeof(want), "audit: %zu records are lost", n + 1);
	assert_non_null(said(f, want, &pri));
	assert_int_equal(pri, LOG_CRIT);
	assert_non_null(said(f, "no audit.spill is set", NULL));
	assert_null(said(f, told[0], NULL));

	f->nsaid = 0;
	{
		struct tlsp_audit *a = open_sink(f, f->spill);

		assert_int_equal(rmdir(f->spilldir), 0);
		n = fail_and_close(f, a, told);
	}
	snprintf(want, sizeof(want), "audit: %zu records are lost", n + 1);
	assert_non_null(said(f, want, &pri));
	assert_int_equal(pri, LOG_CRIT);
	assert_non_null(said(f, "the spill cannot be written either", NULL));
	assert_non_null(said(f, "No such file or directory", NULL));
}

/* The spill's directory must exist at open. */
static void
test_missing_directory(void **state)
{
	struct fx *f = *state;
	struct tlsp_audit_options o = {.host = "h"};
	char err[512], spill[160];
	int same = -1;

	snprintf(spill, sizeof(spill), "%s/none/audit.spill", f->dir);
	o.spill = spill;
	assert_null(tlsp_audit_open_with(f->log, &o, err, sizeof(err)));
	assert_non_null(strstr(err, "the spill's directory"));
	assert_int_equal(tlsp_audit_spill_check(f->spill, f->log, &same, err,
						sizeof(err)),
			 0);
	assert_int_equal(same, 1); /* both in f->dir's file system */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_close_spills, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_takes_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_still_full_at_open, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_interrupted_take_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_while_taking_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_not_spilled, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_cut_back, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_foreign_spill, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_spill, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lost_loudly, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_directory, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

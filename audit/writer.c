/*
 * writer.c - the audit sink: a bounded queue, one writer thread, group
 * commit.
 *
 * Milter threads build a record's body themselves (body.c), without any
 * lock, and queue it. The writer thread takes everything queued at once,
 * numbers each record, stamps its time, links it into the hash chain
 * (chain.c), and appends the whole batch with one write(2); then one
 * fdatasync covers every record in it. Under load many decisions share a
 * sync; idle, a record waits no longer than its own write.
 *
 * sync: always - submit returns when the record is on disk.
 * sync: batch  - submit returns once queued; the writer syncs at most
 *                50 ms after a write.
 * sync: none   - syncing is left to the kernel.
 *
 * Failure is an answer, not a crash. A batch that cannot be written is
 * cut back out of the file (or, if even that fails, the complete records
 * that reached it are kept and the chain continues after them; the torn
 * rest is cut off before anything else is written). Records
 * whose submitters already returned stay queued and are retried every
 * second, in order; while the log is failing, every new submit waits for
 * its own record and gets -1 if it could not be written, so the caller
 * follows on_error and nothing is reported recorded that is not. The
 * writer tells the caller (notify) when the log starts failing, every
 * minute while it does, and when it recovers. A file removed or replaced
 * under us is reopened by path; the new file begins with a rotate record.
 *
 * Nothing answered is dropped at stop. What the log cannot take when the
 * sink closes goes, numbered and chained as it would have been in the
 * log, to the spill file (spill.c), and the next open queues the spilled
 * records ahead of everything else: the writer puts them back into the
 * log, unchanged and by themselves, and removes the spill once they are
 * synced there. Until then new records wait behind them, so the chain
 * runs log, spill, and on. A start killed while it put them back leaves
 * a torn copy of one at the log's end: the next open cuts it off.
 *
 * Locking: `lock` guards the queue, the flags and `err`; the log file
 * and the buffers under "writer thread only" belong to the writer thread
 * once it runs (to open and close otherwise).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "chain.h"
#include "json.h"
#include "logfile.h"
#include "spill.h"
#include "tlspolicy/audit.h"

#define BATCH_NS 50000000L	 /* sync: batch - longest unsynced time */
#define WRITE_NS 5000000L	 /* batch, none - longest time queued */
#define WAKE_QLEN 256		 /* ... or this many records waiting */
#define RETRY_NS 1000000000L	 /* while failing, retry this often */
#define ROOM_WAIT_NS 1000000000L /* how long submit waits for room */
#define NAG_SECS 60		 /* "still failing" at most this often */
#define QUEUE_DEFAULT 4096

struct entry {
	struct entry *next;
	struct tlsp_jbuf body;
	int wait;      /* the submitter waits for the result and frees */
	int durable;   /* synced before it counts as done */
	int written;   /* complete in the file (set by the writer) */
	int droppable; /* a checkpoint: made again when due, never retried */
	int sealed;    /* from the spill: body is the whole line, seq and
			  hash are its own */
	int done, rc;
	uint64_t seq;
	char hash[TLSP_HASH_HEX + 1];
};

struct tlsp_audit {
	pthread_mutex_t lock;
	pthread_cond_t work; /* the writer waits for entries and requests */
	pthread_cond_t done; /* submitters wait for their entry */
	pthread_cond_t room; /* submitters wait for space in the queue */
	struct entry *head, **tailp;
	size_t qlen, qmax;
	int stop;    /* close: write what is queued, then end */
	int failing; /* the last write failed */
	int kick;    /* a submit arrived while failing: retry now */
	int urgent;  /* someone waits for the queue: write it now */
	struct timespec write_at; /* the queue is written by then */
	int sleeping;		  /* the writer waits, until sleep_until */
	struct timespec sleep_until;
	uint64_t reopen_req, reopen_done;
	int reopen_rc;
	char err[512]; /* the last error; "" if none */
	pthread_t thread;
	int started;

	/* set by open, read-only afterwards */
	char *path, *host;
	enum tlsp_audit_sync sync;
	struct tlsp_chain_key key, pkey;
	struct tlsp_body_opts bo;
	unsigned checkpoint_secs;
	void (*notify)(void *, int, const char *);
	void *notify_arg;
	char *spill;	 /* NULL: none */
	char note[1024]; /* what open did with the spill, said at start */
	int note_pri;
	size_t back_n;	  /* records taken back from the spill ... */
	uint64_t back_lo; /* ... seq back_lo to back_hi */
	uint64_t back_hi;

	/* writer thread only (close's, once the thread has ended) */
	int taking_back;  /* records from the spill are queued */
	off_t spill_size; /* what the spill holds; -1: not ours to write */
	struct tlsp_logfile lf;
	char cut_why[256]; /* what lf's torn line due to be cut off is */
	struct tlsp_jbuf out, line, scratch;
	struct tlsp_chain_ctx *hx; /* the chain's digests, prepared at open */
	char stamp[40];		   /* rfc3339_now(): the date and time ... */
	size_t stamp_len;	   /* ... of the second stamp_sec */
	time_t stamp_sec;
	const char *rotate_why; /* a rotate record is due */
	struct timespec last_checkpoint, retry_at, last_nag;
	uint64_t checkpoint_seq;
	unsigned long failures;
	char werr[512];

	/* counts for tlsp_audit_stats(): written by the writer thread,
	 * read by anyone (relaxed: each is a count on its own) */
	_Atomic(uint64_t) n_written, n_errors, n_syncs, sync_us;
	_Atomic(uint64_t) sync_bucket[TLSP_AUDIT_SYNC_BUCKETS + 1];
};

/* ============================================================ helpers */

/* "record" or "records" after a count. */
static const char *
records(size_t n)
{
	return n == 1 ? "record" : "records";
}

static void say(struct tlsp_audit *a, int pri, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
say(struct tlsp_audit *a, int pri, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (a->notify == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->notify(a->notify_arg, pri, msg);
}

static long long
ns_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)(now.tv_sec - t->tv_sec) * 1000000000LL +
	       (now.tv_nsec - t->tv_nsec);
}

static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void
ts_add_ns(struct timespec *t, long long ns)
{
	t->tv_sec += (time_t)(ns / 1000000000LL);
	t->tv_nsec += (long)(ns % 1000000000LL);
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

const uint64_t tlsp_audit_sync_bounds_us[TLSP_AUDIT_SYNC_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000};

/* fdatasync, its time counted for the stats. */
static int
timed_sync(struct tlsp_audit *a, char *err, size_t errsz)
{
	struct timespec t0;
	uint64_t us;
	size_t i = 0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = tlsp_logfile_sync(&a->lf, err, errsz);
	us = (uint64_t)(ns_since(&t0) / 1000);
	while (i < TLSP_AUDIT_SYNC_BUCKETS && us > tlsp_audit_sync_bounds_us[i])
		i++;
	atomic_fetch_add_explicit(&a->sync_bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->n_syncs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->sync_us, us, memory_order_relaxed);
	return rc;
}

/*
 * RFC 3339, UTC, milliseconds: "2024-05-01T12:34:56.789Z". The date and
 * time of day are formatted once a second (a->stamp), the milliseconds
 * per record. Writer thread only. Returns the length.
 */
static size_t
rfc3339_now(struct tlsp_audit *a, char *buf, size_t bufsz)
{
	struct timespec ts;
	struct tm tm;
	size_t n;
	long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (a->stamp_len == 0 || ts.tv_sec != a->stamp_sec) {
		gmtime_r(&ts.tv_sec, &tm);
		a->stamp_len = strftime(a->stamp, sizeof(a->stamp),
					"%Y-%m-%dT%H:%M:%S", &tm);
		a->stamp_sec = ts.tv_sec;
	}
	n = a->stamp_len;
	if (n + 6 > bufsz)
		return 0;
	ms = ts.tv_nsec / 1000000L;
	memcpy(buf, a->stamp, n);
	buf[n] = '.';
	buf[n + 1] = (char)('0' + ms / 100);
	buf[n + 2] = (char)('0' + ms / 10 % 10);
	buf[n + 3] = (char)('0' + ms % 10);
	buf[n + 4] = 'Z';
	buf[n + 5] = '\0';
	return n + 5;
}

static void
entry_free(struct entry *e)
{
	if (e == NULL)
		return;
	tlsp_jb_free(&e->body);
	free(e);
}

/* A record the writer makes itself (rotate, checkpoint). */
static struct entry *
own_entry(struct tlsp_audit *a, enum tlsp_event_type type, const char *detail)
{
	struct tlsp_audit_event ev = {.type = type, .detail = detail};
	struct entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	if (tlsp_body_build(&e->body, &a->bo, &ev) < 0) {
		entry_free(e);
		return NULL;
	}
	e->durable = 1;
	return e;
}

/*
 * path.head lets a log rotated while the daemon is down continue the
 * chain; it is refreshed at every checkpoint, reopen and stop, so after a
 * crash it is at most one checkpoint interval behind.
 */
static void
save_head(struct tlsp_audit *a)
{
	char err[512];

	if (a->lf.seq > 0 &&
	    tlsp_logfile_save_head(&a->lf, err, sizeof(err)) < 0)
		say(a, LOG_ERR, "audit: %s", err);
}

/* ====================================================== the batch */

/*
 * Appends the line of one record to a->out: {"seq":N,"time":"T", the
 * body's members, "prev", and "hash" computed over the rest. *seq and
 * hash advance to this record. -1 on out of memory.
 */
static int
append_record(struct tlsp_audit *a, const struct tlsp_jbuf *body, uint64_t *seq,
	      char hash[TLSP_HASH_HEX + 1])
{
	char digits[24], now[40], h[TLSP_HASH_HEX + 1];
	uint64_t next = *seq + 1;
	size_t d = sizeof(digits);

	do /* {"seq":N,"time":"T", */
		digits[--d] = (char)('0' + next % 10);
	while ((next /= 10) != 0);
	tlsp_jb_reset(&a->line);
	tlsp_jb_raw(&a->line, "{\"seq\":", 7);
	tlsp_jb_raw(&a->line, digits + d, sizeof(digits) - d);
	tlsp_jb_raw(&a->line, ",\"time\":\"", 9);
	tlsp_jb_raw(&a->line, now, rfc3339_now(a, now, sizeof(now)));
	tlsp_jb_raw(&a->line, "\",", 2);
	tlsp_jb_raw(&a->line, body->p + 1, body->len - 2);
	tlsp_jb_raw(&a->line, ",\"prev\":\"", 9);
	tlsp_jb_raw(&a->line, hash, TLSP_HASH_HEX);
	tlsp_jb_raw(&a->line, "\"}", 2);
	if (a->line.oom || tlsp_chain_hash_with(a->hx, a->line.p, a->line.len,
						&a->scratch, h) < 0)
		return -1;
	a->line.len--; /* the closing brace: the hash goes before it */
	tlsp_jb_raw(&a->line, ",\"hash\":\"", 9);
	tlsp_jb_raw(&a->line, h, TLSP_HASH_HEX);
	tlsp_jb_raw(&a->line, "\"}\n", 3);
	tlsp_jb_raw(&a->out, a->line.p, a->line.len);
	if (a->line.oom || a->out.oom)
		return -1;
	(*seq)++;
	memcpy(hash, h, TLSP_HASH_HEX + 1);
	return 0;
}

/* A record from the spill, as it was written there: its own seq and
 * hash, which continue the chain where the log ends. */
static int
append_sealed(struct tlsp_audit *a, const struct entry *e, uint64_t *seq,
	      char hash[TLSP_HASH_HEX + 1])
{
	tlsp_jb_raw(&a->out, e->body.p, e->body.len);
	tlsp_jb_raw(&a->out, "\n", 1);
	if (a->out.oom)
		return -1;
	*seq = e->seq;
	memcpy(hash, e->hash, TLSP_HASH_HEX + 1);
	return 0;
}

/* After a failed write that left `kept` bytes of a->out in the file,
 * which held `size` bytes before it: the complete records among them
 * count as written. What follows them is a torn line, to be cut off
 * before anything else is written (a verifier takes a torn line
 * followed by an ordinary record for a break). */
static void
adopt_partial(struct tlsp_audit *a, struct entry *batch, off_t size,
	      size_t kept, const size_t *ends, const uint64_t *seqs,
	      char (*hashes)[65], size_t n)
{
	size_t i, whole;
	struct entry *e = batch;

	/* A record that lacks only its newline counts: the next write's
	 * leading newline completes it. */
	for (i = 0; i < n && ends[i] - 1 <= kept; i++, e = e->next) {
		e->written = 1;
		a->lf.seq = seqs[i];
		memcpy(a->lf.hash, hashes[i], sizeof(a->lf.hash));
	}
	/* the bytes of whole lines: the records, or the leading newline */
	whole = i > 0 ? ends[i - 1] : a->out.len > 0 && a->out.p[0] == '\n';
	a->lf.torn = kept != whole;
	if (kept > whole) {
		a->lf.torn_at = size + (off_t)whole;
		a->lf.cut_torn = 1;
		snprintf(a->cut_why, sizeof(a->cut_why),
			 "left by a failed write (its records are written "
			 "again, or were answered as not recorded)");
	} else {
		a->lf.torn_at = -1;
	}
}

/* Cuts off the torn line due to be cut off the log, saying so; -1 with
 * werr if it cannot be: nothing may be written after it. */
static int
cut_tail(struct tlsp_audit *a)
{
	off_t at = a->lf.torn_at, cut;

	if (!a->lf.cut_torn)
		return 0;
	if (tlsp_logfile_cut(&a->lf, &cut, a->werr, sizeof(a->werr)) < 0)
		return -1;
	say(a, LOG_WARNING,
	    "audit: %s: cut off the %lld bytes of a torn last line at "
	    "offset %lld, %s",
	    a->path, (long long)cut, (long long)at, a->cut_why);
	return 0;
}

/* A checkpoint is due every checkpoint_secs when records were written
 * since the last one (or are about to be). */
static int
checkpoint_due(const struct tlsp_audit *a, int more)
{
	return a->checkpoint_secs > 0 &&
	       (a->lf.seq > a->checkpoint_seq || more) &&
	       ns_since(&a->last_checkpoint) >=
		       (long long)a->checkpoint_secs * 1000000000LL;
}

/*
 * Writes the batch (a rotate record first when one is due, a checkpoint
 * last when one is due) and syncs when the batch or the mode asks for it.
 * Returns 0 when every record is in the file (and synced where needed),
 * -1 otherwise, with e->written telling which ones made it.
 */
static int
write_batch(struct tlsp_audit *a, struct entry **batchp)
{
	struct entry *e, *r, *c = NULL, *batch;
	size_t n = 0, i, kept, *ends = NULL;
	uint64_t seq, *seqs = NULL;
	char hash[TLSP_HASH_HEX + 1], (*hashes)[65] = NULL;
	int need_sync = 0, switched = 0, rc = -1;
	off_t size;

	if (cut_tail(a) < 0)
		return -1;
	if ((rc = tlsp_logfile_check(&a->lf, &size, a->werr,
				     sizeof(a->werr))) != 0) {
		if (rc < 0 || tlsp_logfile_reopen(&a->lf, &switched, a->werr,
						  sizeof(a->werr)) < 0)
			return -1;
		if (tlsp_logfile_check(&a->lf, &size, a->werr,
				       sizeof(a->werr)) != 0) {
			snprintf(a->werr, sizeof(a->werr),
				 "%s: removed again "
				 "as it was reopened",
				 a->path);
			return -1;
		}
		if (switched) {
			a->rotate_why = "the log file was removed or replaced";
			say(a, LOG_WARNING,
			    "audit: %s was removed; the chain "
			    "continues in a new file at that path",
			    a->path);
		}
	}
	rc = -1;
	/* Records from the spill go in by themselves: nothing of ours may
	 * come between them and the log's last record. */
	if (*batchp != NULL && (*batchp)->sealed)
		goto numbered;
	if (a->rotate_why != NULL) {
		if ((r = own_entry(a, TLSP_EV_ROTATE, a->rotate_why)) == NULL)
			goto oom;
		r->next = *batchp;
		*batchp = r;
		a->rotate_why = NULL;
	}
	if (checkpoint_due(a, *batchp != NULL)) {
		if ((c = own_entry(a, TLSP_EV_CHECKPOINT, NULL)) == NULL)
			goto oom;
		c->droppable = 1;
		for (e = *batchp; e != NULL && e->next != NULL; e = e->next)
			;
		if (e != NULL)
			e->next = c;
		else
			*batchp = c;
	}
numbered:
	batch = *batchp;
	if (batch == NULL) {
		if (a->lf.unsynced && a->sync == TLSP_SYNC_BATCH &&
		    ns_since(&a->lf.last_sync) >= BATCH_NS)
			return timed_sync(a, a->werr, sizeof(a->werr));
		return 0;
	}
	for (e = batch; e != NULL; e = e->next)
		n++;
	ends = calloc(n, sizeof(*ends));
	seqs = calloc(n, sizeof(*seqs));
	hashes = calloc(n, sizeof(*hashes));
	if (ends == NULL || seqs == NULL || hashes == NULL)
		goto oom;
	tlsp_jb_reset(&a->out);
	if (a->lf.torn)
		tlsp_jb_raw(&a->out, "\n", 1);
	seq = a->lf.seq;
	memcpy(hash, a->lf.hash, sizeof(hash));
	for (e = batch, i = 0; e != NULL; e = e->next, i++) {
		if ((e->sealed ? append_sealed(a, e, &seq, hash)
			       : append_record(a, &e->body, &seq, hash)) < 0)
			goto oom;
		ends[i] = a->out.len;
		seqs[i] = seq;
		memcpy(hashes[i], hash, sizeof(hashes[i]));
		need_sync |= e->durable;
	}
	if (tlsp_logfile_write(&a->lf, size, a->out.p, a->out.len, &kept,
			       a->werr, sizeof(a->werr)) < 0) {
		if (kept > 0)
			adopt_partial(a, batch, size, kept, ends, seqs, hashes,
				      n);
		goto out;
	}
	if (a->sync == TLSP_SYNC_ALWAYS ||
	    (a->sync == TLSP_SYNC_BATCH &&
	     ns_since(&a->lf.last_sync) >= BATCH_NS))
		need_sync = 1;
	if (need_sync && timed_sync(a, a->werr, sizeof(a->werr)) < 0) {
		/* Not on disk for sure: take the batch back if we can. If we
		 * cannot, the records stay and count as written, but those
		 * whose submitters wait still get -1 (see finish()). */
		if (tlsp_logfile_truncate(&a->lf, size) == 0)
			goto out;
		adopt_partial(a, batch, size, a->out.len, ends, seqs, hashes,
			      n);
		goto out;
	}
	for (e = batch; e != NULL; e = e->next)
		e->written = 1;
	atomic_fetch_add_explicit(&a->n_written, n, memory_order_relaxed);
	a->lf.seq = seq;
	memcpy(a->lf.hash, hash, sizeof(a->lf.hash));
	a->lf.torn = 0;
	a->lf.torn_at = -1;
	if (c != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &a->last_checkpoint);
		a->checkpoint_seq = seq;
		say(a, LOG_INFO, "audit checkpoint seq=%llu hash=%s",
		    (unsigned long long)seq, hash);
		save_head(a);
	}
	rc = 0;
	goto out;
oom:
	snprintf(a->werr, sizeof(a->werr), "%s: out of memory", a->path);
out:
	free(ends);
	free(seqs);
	free(hashes);
	return rc;
}

/*
 * Hands out the results of a batch (lock held). A record that reached
 * the file is done; one that did not goes back to the head of the queue
 * if nobody waits for it (its decision was already taken), else its
 * submitter gets -1. Own records (rotate, checkpoint) count as nobody's.
 * Returns the entries nobody needs any more, for the caller to free
 * once it has let go of the lock.
 */
static struct entry *
finish(struct tlsp_audit *a, struct entry *batch, int ok)
{
	struct entry *e, *next, *retry = NULL, **rt = &retry, *spent = NULL;

	for (e = batch; e != NULL; e = next) {
		next = e->next;
		e->next = NULL;
		if (e->wait) {
			e->rc = ok ? 0 : -1;
			e->done = 1;
		} else if (ok || e->written || e->droppable) {
			e->next = spent;
			spent = e;
		} else {
			*rt = e;
			rt = &e->next;
			a->qlen++;
		}
	}
	if (retry != NULL) {
		*rt = a->head;
		if (a->head == NULL)
			a->tailp = rt;
		a->head = retry;
	}
	pthread_cond_broadcast(&a->done);
	return spent;
}

/* Loud on the way down, quiet while down (once a minute), loud on the
 * way up. Lock held. */
static void
track_health(struct tlsp_audit *a, int ok)
{
	if (!ok) {
		snprintf(a->err, sizeof(a->err), "%s", a->werr);
		clock_gettime(CLOCK_MONOTONIC, &a->retry_at);
		ts_add_ns(&a->retry_at, RETRY_NS);
		if (!a->failing || ns_since(&a->last_nag) >=
					   (long long)NAG_SECS * 1000000000LL) {
			say(a, LOG_ERR, "audit: %s; %s", a->werr,
			    a->failing ? "still failing"
				       : "decisions follow on_error until the "
					 "log can be written again");
			clock_gettime(CLOCK_MONOTONIC, &a->last_nag);
		}
		a->failures++;
		a->failing = 1;
		atomic_fetch_add_explicit(&a->n_errors, 1,
					  memory_order_relaxed);
	} else if (a->failing) {
		say(a, LOG_NOTICE,
		    "audit: %s writable again after %lu failed "
		    "attempts",
		    a->path, a->failures);
		a->failing = 0;
		a->failures = 0;
	}
	a->kick = 0;
}

/* ================================================== the writer thread */

/* The time the writer must wake up by without new work (lock held). */
static void
next_deadline(const struct tlsp_audit *a, struct timespec *dl)
{
	clock_gettime(CLOCK_MONOTONIC, dl);
	if (a->failing && a->head != NULL) {
		*dl = a->retry_at;
		return;
	}
	if (a->lf.unsynced && a->sync == TLSP_SYNC_BATCH) {
		*dl = a->lf.last_sync;
		ts_add_ns(dl, BATCH_NS);
	} else if (a->checkpoint_secs > 0 && a->lf.seq > a->checkpoint_seq) {
		*dl = a->last_checkpoint;
		dl->tv_sec += (time_t)a->checkpoint_secs;
	} else {
		dl->tv_sec += 3600;
	}
	if (a->head != NULL && ts_before(&a->write_at, dl))
		*dl = a->write_at;
}

/*
 * Is there something to do now? (lock held) Records nobody waits for
 * are written in batches: WRITE_NS after the first of them was queued,
 * or at once when WAKE_QLEN are waiting. Waking the writer for each
 * record cost a context switch and two fstat(2) per message: 30 of the
 * milter's 190 us of CPU per message at concurrency 1
 * (tests/bench/RESULTS.md).
 */
static int
has_work(const struct tlsp_audit *a)
{
	struct timespec now;

	if (a->stop || a->reopen_req != a->reopen_done || a->rotate_why)
		return 1;
	if (a->head == NULL)
		return 0;
	if (a->failing)
		return a->kick;
	if (a->urgent)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return !ts_before(&now, &a->write_at);
}

static void
reopen_now(struct tlsp_audit *a)
{
	uint64_t req = a->reopen_req;
	int switched = 0, rc;

	pthread_mutex_unlock(&a->lock);
	rc = cut_tail(a);
	if (rc == 0)
		rc = tlsp_logfile_reopen(&a->lf, &switched, a->werr,
					 sizeof(a->werr));
	if (rc == 0 && switched) {
		a->rotate_why = "reopened on request (log rotation)";
		save_head(a);
	}
	pthread_mutex_lock(&a->lock);
	if (rc < 0)
		snprintf(a->err, sizeof(a->err), "%s", a->werr);
	a->reopen_rc = rc;
	a->reopen_done = req;
	pthread_cond_broadcast(&a->done);
}

/* The queue, or only the records from the spill at its head (lock
 * held). */
static struct entry *
take_batch(struct tlsp_audit *a)
{
	struct entry *batch = a->head, *last = batch;
	size_t n = 1;

	if (batch != NULL && batch->sealed) {
		for (; last->next != NULL && last->next->sealed; n++)
			last = last->next;
		a->head = last->next;
		last->next = NULL;
		a->qlen -= n;
	} else {
		a->head = NULL;
		a->qlen = 0;
	}
	if (a->head == NULL) {
		a->tailp = &a->head;
		a->urgent = 0;
	}
	pthread_cond_broadcast(&a->room);
	return batch;
}

/* The spill's records could not go back into the log, so nothing queued
 * behind them can be written either: whoever waits gets -1 now, as for
 * any failed write (lock held). */
static void
fail_waiters(struct tlsp_audit *a)
{
	struct entry **pp = &a->head, *e;

	while ((e = *pp) != NULL) {
		if (!e->wait) {
			pp = &e->next;
			continue;
		}
		*pp = e->next;
		e->next = NULL;
		e->rc = -1;
		e->done = 1;
		a->qlen--;
	}
	a->tailp = pp;
	pthread_cond_broadcast(&a->done);
}

/* Every record from the spill is in the log and synced: the spill goes.
 * The head file first, so that a log rotated before the next start
 * still continues after them. */
static void
take_back_done(struct tlsp_audit *a)
{
	char err[512];
	int rc;

	a->taking_back = 0;
	save_head(a);
	rc = tlsp_spill_remove(a->spill, err, sizeof(err));
	a->spill_size = rc < 0 ? -1 : 0;
	if (rc == 0)
		say(a, LOG_NOTICE,
		    "audit: the %zu %s spilled at the last stop "
		    "(seq %llu to %llu) are in %s now; %s removed",
		    a->back_n, records(a->back_n),
		    (unsigned long long)a->back_lo,
		    (unsigned long long)a->back_hi, a->path, a->spill);
	else
		say(a, LOG_ERR,
		    "audit: the %zu %s spilled at the last stop "
		    "(seq %llu to %llu) are in %s now, but %s; %s",
		    a->back_n, records(a->back_n),
		    (unsigned long long)a->back_lo,
		    (unsigned long long)a->back_hi, a->path, err,
		    rc > 0 ? "it was emptied instead"
			   : "remove it by hand before the next start");
}

static void *
writer_main(void *arg)
{
	struct tlsp_audit *a = arg;
	struct entry *batch, *spent, *next;
	struct timespec dl;
	int ok, had, stop, rc, sealed;

	if (a->note[0] != '\0')
		say(a, a->note_pri, "%s", a->note);
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (!has_work(a)) {
			next_deadline(a, &dl);
			a->sleeping = 1;
			a->sleep_until = dl;
			rc = pthread_cond_timedwait(&a->work, &a->lock, &dl);
			a->sleeping = 0;
			if (rc == ETIMEDOUT)
				break;
		}
		batch = take_batch(a);
		sealed = batch != NULL && batch->sealed;
		stop = a->stop;
		pthread_mutex_unlock(&a->lock);
		ok = write_batch(a, &batch) == 0;
		had = batch != NULL;
		pthread_mutex_lock(&a->lock);
		if ((spent = finish(a, batch, ok)) != NULL) {
			/* free(3) of memory other threads allocated can
			 * wait for their arenas: not with submitters
			 * queueing behind us */
			pthread_mutex_unlock(&a->lock);
			for (; spent != NULL; spent = next) {
				next = spent->next;
				entry_free(spent);
			}
			pthread_mutex_lock(&a->lock);
		}
		if (had || !ok)
			track_health(a, ok);
		if (sealed && !ok)
			fail_waiters(a);
		if (a->taking_back && (a->head == NULL || !a->head->sealed)) {
			pthread_mutex_unlock(&a->lock);
			take_back_done(a);
			pthread_mutex_lock(&a->lock);
		}
		/* after the batch: what was queued before it belongs in the
		 * old file */
		if (a->reopen_req != a->reopen_done)
			reopen_now(a);
		if (stop && (a->head == NULL || !ok))
			break;
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ========================================================= interface */

static char *
default_host(void)
{
	char buf[256];

	if (gethostname(buf, sizeof(buf)) < 0)
		return strdup("localhost");
	buf[sizeof(buf) - 1] = '\0';
	return strdup(buf);
}

static void
audit_free(struct tlsp_audit *a)
{
	struct entry *e, *next;

	for (e = a->head; e != NULL; e = next) {
		next = e->next;
		entry_free(e);
	}
	tlsp_chain_key_free(&a->key);
	tlsp_chain_key_free(&a->pkey);
	tlsp_jb_free(&a->out);
	tlsp_jb_free(&a->line);
	tlsp_jb_free(&a->scratch);
	tlsp_chain_ctx_free(a->hx);
	free(a->path);
	free(a->host);
	free(a->spill);
	free(a);
}

static int
sync_init(struct tlsp_audit *a)
{
	pthread_condattr_t ca;
	int rc = -1;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_mutex_init(&a->lock, NULL) == 0) {
		if (pthread_cond_init(&a->work, &ca) == 0) {
			if (pthread_cond_init(&a->done, &ca) == 0) {
				if (pthread_cond_init(&a->room, &ca) == 0)
					rc = 0;
				else
					pthread_cond_destroy(&a->done);
			}
			if (rc < 0)
				pthread_cond_destroy(&a->work);
		}
		if (rc < 0)
			pthread_mutex_destroy(&a->lock);
	}
	pthread_condattr_destroy(&ca);
	return rc;
}

static int
load_keys(struct tlsp_audit *a, const struct tlsp_audit_options *o, char *err,
	  size_t errsz)
{
	if (o->key_file != NULL &&
	    tlsp_chain_key_load(o->key_file, &a->key, err, errsz) < 0)
		return -1;
	if (o->addresses == TLSP_AUDIT_ADDR_PSEUDONYMIZE) {
		if (o->pseudonym_key_file == NULL) {
			snprintf(err, errsz,
				 "%s: addresses: pseudonymize "
				 "needs a pseudonym key file",
				 a->path);
			return -1;
		}
		if (tlsp_chain_key_load(o->pseudonym_key_file, &a->pkey, err,
					errsz) < 0)
			return -1;
	}
	return 0;
}

static void note(struct tlsp_audit *a, int pri, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Keeps a line for the writer to say when it starts: open runs before
 * the daemon's log does. The more urgent priority wins. */
static void
note(struct tlsp_audit *a, int pri, const char *fmt, ...)
{
	size_t n = strlen(a->note);
	va_list ap;

	if (n > 0 && n + 2 < sizeof(a->note)) {
		memcpy(a->note + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(a->note + n, sizeof(a->note) - n, fmt, ap);
	va_end(ap);
	if (n == 0 || pri < a->note_pri)
		a->note_pri = pri;
}

/*
 * A log that ends in a torn line, with spilled records to go back: a
 * start that died while it put them back leaves the first bytes of the
 * next one they lack, and the verifier tolerates a torn line only last
 * or before a start record. That copy is cut off before they go back
 * (nothing is lost: the whole record is in the spill). Any other torn
 * line stops the start: the spilled records cannot follow it.
 */
static int
resume_after_torn(struct tlsp_audit *a, const struct tlsp_spill *sp, char *err,
		  size_t errsz)
{
	const struct tlsp_spill_rec *next = &sp->v[sp->first];
	int is;

	if (a->lf.torn_at < 0)
		return 0;
	if ((is = tlsp_logfile_torn_is(&a->lf, next->line, next->len, err,
				       errsz)) < 0)
		return -1;
	if (is == 0) {
		snprintf(err, errsz,
			 "%s: ends in a torn line (from byte %lld) that is "
			 "not the beginning of seq %llu, the next record of "
			 "the spill %s: the spilled records cannot follow it "
			 "(a verifier would stop there). Check the line; if "
			 "it is not evidence, cut it (truncate -s %lld %s) "
			 "and start again",
			 a->path, (long long)a->lf.torn_at,
			 (unsigned long long)next->seq, a->spill,
			 (long long)a->lf.torn_at, a->path);
		return -1;
	}
	a->lf.cut_torn = 1;
	snprintf(a->cut_why, sizeof(a->cut_why),
		 "the beginning of seq %llu from %s, left by a start that died "
		 "while it put the spill back; the whole record goes back "
		 "now",
		 (unsigned long long)next->seq, a->spill);
	return 0;
}

/* Queues, ahead of everything, the spilled records the log lacks (no
 * thread runs yet). A spill with nothing the log lacks is removed. */
static int
take_back(struct tlsp_audit *a, const char *path, char *err, size_t errsz)
{
	struct tlsp_spill sp = {0};
	struct entry *e;
	size_t i;
	int same, rc = -1;

	if ((a->spill = strdup(path)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	if (tlsp_spill_check(path, a->path, &same, err, errsz) < 0 ||
	    tlsp_spill_load(&sp, path, &a->key, a->lf.seq, a->lf.hash, err,
			    errsz) < 0)
		goto out;
	a->spill_size = sp.len;
	if (sp.torn > 0)
		note(a, LOG_ERR,
		     "audit: %s ended in a torn line (the daemon died while "
		     "it spilled): %lld bytes cut off",
		     path, (long long)sp.torn);
	if (sp.exists && sp.first == sp.n) {
		/* empty, or put back by a start that ended before it could
		 * remove it */
		if (tlsp_spill_remove(path, err, errsz) < 0)
			goto out;
		a->spill_size = 0;
		if (sp.n > 0)
			note(a, LOG_NOTICE,
			     "audit: %s held %zu %s that %s already "
			     "has (up to seq %llu); removed",
			     path, sp.n, records(sp.n), a->path,
			     (unsigned long long)sp.v[sp.n - 1].seq);
	}
	if (sp.first < sp.n && resume_after_torn(a, &sp, err, errsz) < 0)
		goto out;
	for (i = sp.first; i < sp.n; i++) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (tlsp_jb_raw(&e->body, sp.v[i].line, sp.v[i].len),
		     e->body.oom)) {
			entry_free(e);
			snprintf(err, errsz, "%s: out of memory", path);
			goto out;
		}
		e->sealed = e->durable = 1;
		e->seq = sp.v[i].seq;
		memcpy(e->hash, sp.v[i].hash, sizeof(e->hash));
		*a->tailp = e;
		a->tailp = &e->next;
		a->qlen++;
	}
	if (sp.first < sp.n) {
		a->taking_back = 1;
		a->back_n = sp.n - sp.first;
		a->back_lo = sp.v[sp.first].seq;
		a->back_hi = sp.v[sp.n - 1].seq;
		note(a, LOG_NOTICE,
		     "audit: %zu %s spilled at the last stop (seq %llu "
		     "to %llu) go back into %s before anything else",
		     a->back_n, records(a->back_n),
		     (unsigned long long)a->back_lo,
		     (unsigned long long)a->back_hi, a->path);
	}
	rc = 0;
out:
	tlsp_spill_free(&sp);
	return rc;
}

struct tlsp_audit *
tlsp_audit_open_with(const char *path, const struct tlsp_audit_options *o,
		     char *err, size_t errsz)
{
	struct tlsp_audit *a;

	if (path == NULL || *path == '\0') {
		snprintf(err, errsz, "audit log: no path given");
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(path)) == NULL ||
	    (a->host = o->host != NULL ? strdup(o->host) : default_host()) ==
		    NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		if (a != NULL)
			audit_free(a);
		return NULL;
	}
	a->lf.fd = -1;
	a->tailp = &a->head;
	a->sync = o->sync;
	a->qmax = o->queue_max > 0 ? o->queue_max : QUEUE_DEFAULT;
	a->checkpoint_secs = o->checkpoint_secs;
	a->notify = o->notify;
	a->notify_arg = o->notify_arg;
	if (load_keys(a, o, err, errsz) < 0)
		goto fail;
	if ((a->hx = tlsp_chain_ctx_new(&a->key)) == NULL) {
		snprintf(err, errsz, "%s: cannot set up SHA-256/HMAC", path);
		goto fail;
	}
	a->bo.host = a->host;
	a->bo.addresses = o->addresses;
	a->bo.pkey = a->pkey.k;
	a->bo.pkeylen = a->pkey.len;
	if (tlsp_logfile_open(&a->lf, a->path, err, errsz) < 0)
		goto fail;
	if (o->spill != NULL && take_back(a, o->spill, err, errsz) < 0)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &a->last_checkpoint);
	a->checkpoint_seq = a->lf.seq;
	if (sync_init(a) < 0) {
		snprintf(err, errsz, "%s: cannot create a mutex", path);
		goto fail;
	}
	return a;
fail:
	tlsp_logfile_close(&a->lf);
	audit_free(a);
	return NULL;
}

struct tlsp_audit *
tlsp_audit_open(const char *path, const char *host, enum tlsp_audit_sync sync,
		char *err, size_t errsz)
{
	struct tlsp_audit_options o = {.host = host, .sync = sync};

	return tlsp_audit_open_with(path, &o, err, errsz);
}

/*
 * The writer thread starts with the first record, not at open, so that
 * a daemon can open its log before it forks into the background (fork
 * keeps only the calling thread). Lock held.
 */
static int
ensure_started(struct tlsp_audit *a)
{
	if (a->started)
		return 0;
	if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
		snprintf(a->err, sizeof(a->err),
			 "%s: cannot start the writer "
			 "thread",
			 a->path);
		return -1;
	}
	a->started = 1;
	return 0;
}

/* Waits for room in the queue for up to a second (lock held). */
static int
wait_room(struct tlsp_audit *a)
{
	struct timespec dl;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	ts_add_ns(&dl, ROOM_WAIT_NS);
	while (a->qlen >= a->qmax && !a->stop)
		if (pthread_cond_timedwait(&a->room, &a->lock, &dl) ==
		    ETIMEDOUT) {
			snprintf(a->err, sizeof(a->err),
				 "%s: queue full (%zu records waiting for the "
				 "disk)",
				 a->path, a->qlen);
			return -1;
		}
	return 0;
}

int
tlsp_audit_submit(struct tlsp_audit *a, const struct tlsp_audit_event *ev,
		  int durable)
{
	struct entry *e;
	int rc;

	if (a == NULL || ev == NULL)
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    tlsp_body_build(&e->body, &a->bo, ev) < 0) {
		entry_free(e);
		pthread_mutex_lock(&a->lock);
		snprintf(a->err, sizeof(a->err), "%s: out of memory", a->path);
		pthread_mutex_unlock(&a->lock);
		return -1;
	}
	e->durable = durable || a->sync == TLSP_SYNC_ALWAYS;
	pthread_mutex_lock(&a->lock);
	e->wait = e->durable || a->failing;
	if (a->failing)
		a->kick = 1;
	if (a->stop || ensure_started(a) < 0 || wait_room(a) < 0) {
		if (a->stop)
			snprintf(a->err, sizeof(a->err), "%s: closing",
				 a->path);
		pthread_mutex_unlock(&a->lock);
		entry_free(e);
		return -1;
	}
	if (a->head == NULL) {
		clock_gettime(CLOCK_MONOTONIC, &a->write_at);
		ts_add_ns(&a->write_at, WRITE_NS);
	}
	*a->tailp = e;
	a->tailp = &e->next;
	a->qlen++;
	if (e->wait || a->failing || a->qlen >= WAKE_QLEN) {
		a->urgent = 1;
		pthread_cond_signal(&a->work);
	} else if (a->sleeping && ts_before(&a->write_at, &a->sleep_until)) {
		/* asleep until later than this record may wait */
		a->sleeping = 0;
		pthread_cond_signal(&a->work);
	}
	if (!e->wait) {
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	while (!e->done)
		pthread_cond_wait(&a->done, &a->lock);
	rc = e->rc;
	pthread_mutex_unlock(&a->lock);
	entry_free(e);
	return rc;
}

void
tlsp_audit_stats(struct tlsp_audit *a, struct tlsp_audit_stats *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (a == NULL)
		return;
	out->written = atomic_load_explicit(&a->n_written,
					    memory_order_relaxed);
	out->write_errors = atomic_load_explicit(&a->n_errors,
						 memory_order_relaxed);
	out->syncs = atomic_load_explicit(&a->n_syncs, memory_order_relaxed);
	out->sync_us = atomic_load_explicit(&a->sync_us, memory_order_relaxed);
	for (i = 0; i <= TLSP_AUDIT_SYNC_BUCKETS; i++)
		out->sync_bucket[i] =
			atomic_load_explicit(&a->sync_bucket[i],
					     memory_order_relaxed);
	pthread_mutex_lock(&a->lock);
	out->queued = a->qlen;
	pthread_mutex_unlock(&a->lock);
}

int
tlsp_audit_reopen(struct tlsp_audit *a)
{
	uint64_t req;
	int rc;

	if (a == NULL)
		return -1;
	pthread_mutex_lock(&a->lock);
	if (ensure_started(a) < 0) {
		pthread_mutex_unlock(&a->lock);
		return -1;
	}
	req = ++a->reopen_req;
	pthread_cond_signal(&a->work);
	while (a->reopen_done < req && a->started)
		pthread_cond_wait(&a->done, &a->lock);
	rc = a->reopen_rc;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int
tlsp_audit_chown(struct tlsp_audit *a, uid_t uid, gid_t gid)
{
	if (a == NULL || a->started || a->lf.fd < 0) {
		errno = EINVAL;
		return -1;
	}
	return fchown(a->lf.fd, uid, gid);
}

/* Copies the text into buf (always NUL-terminated when bufsz > 0) and
 * returns buf; "" when nothing has failed yet. */
const char *
tlsp_audit_last_error(struct tlsp_audit *a, char *buf, size_t bufsz)
{
	if (buf == NULL || bufsz == 0)
		return "";
	buf[0] = '\0';
	if (a == NULL)
		return buf;
	pthread_mutex_lock(&a->lock);
	snprintf(buf, bufsz, "%s", a->err);
	pthread_mutex_unlock(&a->lock);
	return buf;
}

int
tlsp_audit_spill_check(const char *spill, const char *log, int *same_fs,
		       char *err, size_t errsz)
{
	return tlsp_spill_check(spill, log, same_fs, err, errsz);
}

/*
 * The records still queued when the writer has ended (close): numbered
 * and chained after the log's last record, as the log would have had
 * them, and appended to the spill; the ones that came from the spill
 * are there already. One line to syslog says where they are.
 */
static void
spill_rest(struct tlsp_audit *a)
{
	char err[512] = "", hash[TLSP_HASH_HEX + 1];
	uint64_t seq = a->lf.seq, lo = 0;
	size_t n = 0, back = 0, want = 0;
	struct entry *e;

	for (e = a->head; e != NULL; e = e->next)
		want += !e->sealed;
	memcpy(hash, a->lf.hash, sizeof(hash));
	tlsp_jb_reset(&a->out);
	for (e = a->head; e != NULL; e = e->next) {
		if (e->sealed) {
			seq = e->seq;
			memcpy(hash, e->hash, sizeof(hash));
			back++;
			continue;
		}
		if (append_record(a, &e->body, &seq, hash) < 0) {
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		lo = lo ? lo : seq;
		n++;
	}
	if (back > 0)
		say(a, LOG_ERR,
		    "audit: %zu %s spilled at an earlier stop are "
		    "still only in %s: %s could not take them",
		    back, records(back), a->spill, a->path);
	if (want == 0)
		return;
	if (e != NULL || a->spill == NULL || a->spill_size < 0 ||
	    tlsp_spill_append(a->spill, a->spill_size, a->out.p, a->out.len,
			      err, sizeof(err)) < 0) {
		say(a, LOG_CRIT,
		    "audit: %zu %s lost: %s could not take them "
		    "before stopping (%s), and %s",
		    want, want == 1 ? "record is" : "records are", a->path,
		    a->err,
		    a->spill == NULL	? "no audit.spill is set"
		    : a->spill_size < 0 ? "the spill is not ours to write into"
					: "the spill cannot be written either");
		if (err[0] != '\0')
			say(a, LOG_CRIT, "audit: %s", err);
		return;
	}
	say(a, LOG_ERR,
	    "audit: %zu %s spilled to %s, seq %llu to %llu, last hash %s: "
	    "%s could not take them before stopping (%s); the next start "
	    "puts them back; until then verify them as the log's "
	    "continuation: tlspolicy-audit verify %s %s",
	    n, records(n), a->spill, (unsigned long long)lo,
	    (unsigned long long)seq, hash, a->path, a->err, a->path, a->spill);
}

/* No other thread may use the sink any more. */
void
tlsp_audit_close(struct tlsp_audit *a)
{
	tlsp_audit_close_with(a, NULL);
}

void
tlsp_audit_close_with(struct tlsp_audit *a, const struct tlsp_audit_event *last)
{
	struct entry *e = NULL;
	char err[512];

	if (a == NULL)
		return;
	if (last != NULL && ((e = calloc(1, sizeof(*e))) == NULL ||
			     tlsp_body_build(&e->body, &a->bo, last) < 0)) {
		say(a, LOG_ERR, "audit: cannot record %s: out of memory",
		    tlsp_event_type_name(last->type));
		entry_free(e);
		e = NULL;
	}
	pthread_mutex_lock(&a->lock);
	if (e != NULL) {
		e->durable = 1;
		*a->tailp = e;
		a->tailp = &e->next;
		a->qlen++;
	}
	if (a->head != NULL) {
		a->urgent = 1;
		(void)ensure_started(a); /* else it is spilled below */
	}
	a->stop = 1;
	pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->lock);
	if (a->started)
		pthread_join(a->thread, NULL);
	else if (a->note[0] != '\0')
		say(a, a->note_pri, "%s", a->note);
	/* what reached the log first, then what did not */
	if (a->lf.fd >= 0 && a->lf.unsynced)
		(void)tlsp_logfile_sync(&a->lf, err, sizeof(err));
	if (a->head != NULL)
		spill_rest(a);
	if (a->lf.fd >= 0 && a->lf.seq > 0) {
		save_head(a);
		say(a, LOG_INFO, "audit checkpoint seq=%llu hash=%s (closed)",
		    (unsigned long long)a->lf.seq, a->lf.hash);
	}
	tlsp_logfile_close(&a->lf);
	pthread_cond_destroy(&a->room);
	pthread_cond_destroy(&a->done);
	pthread_cond_destroy(&a->work);
	pthread_mutex_destroy(&a->lock);
	audit_free(a);
}

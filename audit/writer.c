/*
 * writer.c - the audit sink: one JSON line per event, appended to a file.
 *
 * A record is built in two steps. The body (host, type, envelope, TLS
 * facts, verdicts, action) depends only on the event, so it is built by
 * the calling thread without any lock. The line is then finished under the
 * sink's mutex, which assigns the next sequence number and the time, and
 * is written with one write(2) to a descriptor opened O_APPEND, so lines
 * are never interleaved and sequence numbers are contiguous in file order.
 * A later writer (hash chain, group commit on a thread of its own) keeps
 * the body builder and replaces only log_append().
 *
 * Failure is an answer, not a crash: a write or sync error returns -1 and
 * keeps its text for tlsp_audit_last_error(). A record that was only
 * partly written is cut off again (ftruncate to the old size), so the file
 * never holds half a line followed by a whole one; if even that fails the
 * next line starts with a newline of its own. Each submit tries afresh, so
 * the sink recovers by itself once the disk has room again.
 *
 * Signals: a regular file never raises SIGPIPE. A write past
 * RLIMIT_FSIZE raises SIGXFSZ, which kills a process that does not
 * ignore it; the daemon ignores it, and write(2) then fails with EFBIG,
 * handled here like ENOSPC.
 *
 * The file is locked with flock(2) while open, so a second daemon cannot
 * append to the same log and reuse its sequence numbers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "tlspolicy/audit.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* BATCH: at most one fdatasync per this many nanoseconds. */
#define BATCH_NS 50000000L
/* How far back from the end open looks for the last sequence number. */
#define TAIL_MAX ((off_t)16 << 20)

struct tlsp_audit {
	pthread_mutex_t lock; /* guards everything below */
	char *path;	      /* owned */
	char *host;	      /* owned */
	enum tlsp_audit_sync sync;
	int fd;			   /* -1 after a failed reopen */
	dev_t dev;		   /* identity of the open file */
	ino_t ino;
	uint64_t seq;		   /* of the last record written */
	int torn;		   /* the file may end inside a line */
	int unsynced;		   /* written since the last fdatasync */
	struct timespec last_sync; /* CLOCK_MONOTONIC */
	struct tlsp_jbuf line;	   /* the line being written */
	char err[512];		   /* the last error; "" if none */
};

static const char *const event_names[] = {
	[TLSP_EV_START] = "start",	   [TLSP_EV_RELOAD] = "reload",
	[TLSP_EV_RELOAD_FAILED] = "reload_failed",
	[TLSP_EV_STOP] = "stop",	   [TLSP_EV_MAIL] = "mail",
	[TLSP_EV_RCPT] = "rcpt",	   [TLSP_EV_MESSAGE] = "message",
	[TLSP_EV_ABORT] = "abort",
};

const char *
tlsp_event_type_name(enum tlsp_event_type t)
{
	return (unsigned)t < NELEM(event_names) ? event_names[t] : NULL;
}

/* ======================================================== the record */

static const char *
status_name(enum tlsp_status st)
{
	switch (st) {
	case TLSP_PASS:
		return "pass";
	case TLSP_FAIL:
		return "fail";
	case TLSP_UNKNOWN:
		return "unknown";
	}
	return NULL;
}

static void
record_failure(struct tlsp_jbuf *jb, const struct tlsp_failure *fl)
{
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "requirement", tlsp_req_name(fl->req));
	tlsp_jb_kstr(jb, "status", status_name(fl->status));
	tlsp_jb_kstr(jb, "required", fl->required);
	tlsp_jb_kstr(jb, "observed", fl->observed);
	tlsp_jb_close(jb, '}');
}

static void
record_rule(struct tlsp_jbuf *jb, const struct tlsp_rule_result *r)
{
	size_t i;

	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "rule", r->rule != NULL ? tlsp_rule_name(r->rule)
						 : NULL);
	tlsp_jb_kbool(jb, "exempt", r->exempt);
	tlsp_jb_kstr(jb, "status", status_name(r->status));
	tlsp_jb_kstr(jb, "action", tlsp_action_name(r->action));
	tlsp_jb_kstr(jb, "mode", tlsp_mode_name(r->mode));
	tlsp_jb_key(jb, "failures");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < r->nfail && i < TLSP_MAX_FAILURES; i++)
		record_failure(jb, &r->fail[i]);
	tlsp_jb_close(jb, ']');
	tlsp_jb_close(jb, '}');
}

static void
record_verdict(struct tlsp_jbuf *jb, const struct tlsp_verdict *v)
{
	static const struct {
		unsigned bit;
		const char *name;
	} flags[] = {
		{TLSP_V_SENDER_UNPARSABLE, "sender_unparsable"},
		{TLSP_V_RCPT_UNPARSABLE, "rcpt_unparsable"},
		{TLSP_V_NO_RULE, "no_rule"},
		{TLSP_V_SESSION_EXEMPT, "session_exempt"},
	};
	size_t i;

	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "action", tlsp_action_name(v->action));
	tlsp_jb_kstr(jb, "would_action", tlsp_action_name(v->would_action));
	tlsp_jb_kstr(jb, "decided_by", v->decided_by != NULL
					   ? tlsp_rule_name(v->decided_by)
					   : NULL);
	tlsp_jb_key(jb, "flags");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < NELEM(flags); i++)
		if (v->flags & flags[i].bit)
			tlsp_jb_str(jb, flags[i].name);
	tlsp_jb_close(jb, ']');
	tlsp_jb_key(jb, "rules");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < v->nrules && i < TLSP_MAX_RULES_PER_VERDICT; i++)
		record_rule(jb, &v->r[i]);
	tlsp_jb_close(jb, ']');
	tlsp_jb_close(jb, '}');
}

/*
 * The macros the MTA sent, as far as the facts can tell: a value sent
 * empty ("" for {tls_version}) reads as absent, and a malformed one
 * counts as sent (its flag says so).
 */
static void
record_observed(struct tlsp_jbuf *jb, const struct tlsp_facts *f)
{
	const struct {
		int sent;
		const char *name;
	} m[] = {
		{f->version_raw[0] != '\0', "{tls_version}"},
		{f->cipher[0] != '\0', "{cipher}"},
		{f->cipher_bits >= 0 || (f->flags & TLSP_FACT_BAD_BITS),
		 "{cipher_bits}"},
		{f->subject_seen, "{cert_subject}"},
		{f->issuer_seen, "{cert_issuer}"},
		{f->verify_seen, "{verify}"},
		{f->fingerprint[0] != '\0' || (f->flags & TLSP_FACT_BAD_FP),
		 "{cert_fp}"},
		{f->authenticated, "{auth_authen}"},
		{f->daemon_name[0] != '\0', "{daemon_name}"},
		{f->client_addr[0] != '\0', "{client_addr}"},
	};
	size_t i;

	tlsp_jb_open(jb, '[');
	for (i = 0; i < NELEM(m); i++)
		if (m[i].sent)
			tlsp_jb_str(jb, m[i].name);
	tlsp_jb_close(jb, ']');
}

/* A certificate name: the full DN (Sendmail) or the CN (Postfix); null
 * when the macro was not sent. */
static const char *
cert_name(int seen, const char *dn, const char *cn)
{
	if (!seen)
		return NULL;
	return dn[0] != '\0' ? dn : cn;
}

static void
record_tls(struct tlsp_jbuf *jb, const struct tlsp_facts *f)
{
	tlsp_jb_key(jb, "tls");
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "version",
		     f->version == TLSP_VER_NONE ? NULL : f->version_raw);
	tlsp_jb_kstr(jb, "cipher", f->cipher[0] != '\0' ? f->cipher : NULL);
	tlsp_jb_key(jb, "bits");
	if (f->cipher_bits >= 0)
		tlsp_jb_int(jb, f->cipher_bits);
	else
		tlsp_jb_null(jb);
	tlsp_jb_key(jb, "forward_secrecy");
	if (f->cipher_info.forward_secrecy >= 0)
		tlsp_jb_bool(jb, f->cipher_info.forward_secrecy);
	else
		tlsp_jb_null(jb);
	tlsp_jb_kstr(jb, "cert", tlsp_cert_state_name(f->cert));
	tlsp_jb_kstr(jb, "subject",
		     cert_name(f->subject_seen, f->subject_dn, f->subject_cn));
	tlsp_jb_kstr(jb, "issuer",
		     cert_name(f->issuer_seen, f->issuer_dn, f->issuer_cn));
	tlsp_jb_kstr(jb, "verify", f->verify_seen ? f->verify : NULL);
	tlsp_jb_kstr(jb, "fingerprint",
		     f->fingerprint[0] != '\0' ? f->fingerprint : NULL);
	tlsp_jb_key(jb, "observed");
	record_observed(jb, f);
	tlsp_jb_close(jb, '}');
}

static void
record_rcpts(struct tlsp_jbuf *jb, const struct tlsp_audit_event *ev)
{
	size_t i;

	tlsp_jb_key(jb, "recipients");
	tlsp_jb_open(jb, '[');
	for (i = 0; i < ev->nrcpts; i++) {
		const struct tlsp_event_rcpt *r = &ev->rcpts[i];

		tlsp_jb_open(jb, '{');
		tlsp_jb_kstr(jb, "addr", r->addr);
		tlsp_jb_key(jb, "verdict");
		if (r->v != NULL)
			record_verdict(jb, r->v);
		else
			tlsp_jb_null(jb);
		tlsp_jb_kstr(jb, "reply", r->reply);
		tlsp_jb_close(jb, '}');
	}
	tlsp_jb_close(jb, ']');
}

/* Adds "key": s, unless s is NULL. */
static void
record_opt(struct tlsp_jbuf *jb, const char *key, const char *s)
{
	if (s != NULL)
		tlsp_jb_kstr(jb, key, s);
}

static void
record_envelope(struct tlsp_jbuf *jb, const struct tlsp_audit_event *ev)
{
	record_opt(jb, "txid", ev->txid);
	record_opt(jb, "queue_id", ev->queue_id);
	if (ev->client_addr != NULL || ev->client_name != NULL) {
		tlsp_jb_key(jb, "client");
		tlsp_jb_open(jb, '{');
		tlsp_jb_kstr(jb, "addr", ev->client_addr);
		tlsp_jb_kstr(jb, "name", ev->client_name);
		tlsp_jb_close(jb, '}');
	}
	record_opt(jb, "helo", ev->helo);
	record_opt(jb, "sender", ev->sender);
}

static int
is_decision(enum tlsp_event_type t)
{
	return t == TLSP_EV_MAIL || t == TLSP_EV_RCPT ||
	       t == TLSP_EV_MESSAGE || t == TLSP_EV_ABORT;
}

/*
 * The record without "seq" and "time", as one JSON object: {"host":...}.
 * Fields that are absent from the event are left out; "action", "mode"
 * and "would_action" are written for decision events only, where they
 * mean something. On allocation failure jb->oom is set.
 */
static void
record_body(struct tlsp_jbuf *jb, const char *host,
	    const struct tlsp_audit_event *ev)
{
	tlsp_jb_open(jb, '{');
	tlsp_jb_kstr(jb, "host", host);
	tlsp_jb_kstr(jb, "type", tlsp_event_type_name(ev->type));
	record_envelope(jb, ev);
	if (ev->facts != NULL) {
		tlsp_jb_kstr(jb, "mta", tlsp_mta_name(ev->facts->mta));
		record_tls(jb, ev->facts);
	}
	if (ev->sender_verdict != NULL) {
		tlsp_jb_key(jb, "sender_verdict");
		record_verdict(jb, ev->sender_verdict);
	}
	if (ev->rcpts != NULL && ev->nrcpts > 0)
		record_rcpts(jb, ev);
	if (is_decision(ev->type)) {
		tlsp_jb_kstr(jb, "action", tlsp_action_name(ev->action));
		tlsp_jb_kstr(jb, "mode", tlsp_mode_name(ev->mode));
		tlsp_jb_kstr(jb, "would_action",
			     tlsp_action_name(ev->would_action));
	}
	record_opt(jb, "reply", ev->reply);
	record_opt(jb, "policy", ev->policy_hash);
	record_opt(jb, "detail", ev->detail);
	tlsp_jb_close(jb, '}');
}

/* RFC 3339, UTC, milliseconds: "2024-05-01T12:34:56.789Z". */
static void
rfc3339_now(char *buf, size_t bufsz)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, bufsz - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

/*
 * The whole line: {"seq":N,"time":"T", then the body's fields, then a
 * newline (preceded by one when the file may end inside a line).
 */
static void
record_line(struct tlsp_jbuf *line, uint64_t seq, int torn,
	    const struct tlsp_jbuf *body)
{
	char now[40];

	rfc3339_now(now, sizeof(now));
	tlsp_jb_reset(line);
	if (torn)
		tlsp_jb_raw(line, "\n", 1);
	tlsp_jb_raw(line, "{", 1);
	tlsp_jb_key(line, "seq");
	tlsp_jb_uint(line, seq);
	tlsp_jb_kstr(line, "time", now);
	tlsp_jb_raw(line, ",", 1);
	tlsp_jb_raw(line, body->p + 1, body->len - 1);
	tlsp_jb_raw(line, "\n", 1);
}

/* ========================================================== the file */

/* Formats "path: what: strerror(errnum)" into err. */
static void
set_err(char *err, size_t errsz, const char *path, const char *what,
	int errnum)
{
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "%s: %s: %s", path, what,
			 strerror(errnum));
}

/*
 * Reads the sequence number at the start of the line at off, if that
 * line begins {"seq":N, as ours do. Returns 1 and sets *seq, else 0.
 */
static int
line_seq(int fd, off_t off, uint64_t *seq)
{
	static const char pfx[] = "{\"seq\":";
	char buf[48];
	ssize_t n;
	uint64_t v = 0;
	size_t i = sizeof(pfx) - 1;

	do
		n = pread(fd, buf, sizeof(buf), off);
	while (n < 0 && errno == EINTR);
	if (n <= (ssize_t)i || memcmp(buf, pfx, i) != 0)
		return 0;
	if (buf[i] < '0' || buf[i] > '9')
		return 0;
	for (; i < (size_t)n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(buf[i] - '0');
	}
	if (i == (size_t)n || buf[i] != ',')
		return 0;
	*seq = v;
	return 1;
}

/*
 * Finds the sequence number of the last line (within TAIL_MAX of the
 * end) that starts like one of ours; a torn or foreign last line is
 * skipped. Returns 1 if found, 0 if not, -1 on a read error.
 */
static int
tail_seq(int fd, off_t size, uint64_t *seq)
{
	char buf[8192];
	off_t end = size, lo;
	off_t limit = size > TAIL_MAX ? size - TAIL_MAX : 0;
	ssize_t n;

	while (end > limit) {
		lo = end - limit > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf)
						      : limit;
		do
			n = pread(fd, buf, (size_t)(end - lo), lo);
		while (n < 0 && errno == EINTR);
		if (n != end - lo) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
		while (n-- > 0)
			if (buf[n] == '\n' && lo + n + 1 < size &&
			    line_seq(fd, lo + n + 1, seq))
				return 1;
		end = lo;
	}
	return limit == 0 && size > 0 && line_seq(fd, 0, seq);
}

/* What log_open() found. */
struct log_file {
	int fd;
	dev_t dev;
	ino_t ino;
	uint64_t seq; /* last sequence number in the file; 0 if none */
	int torn;     /* the file does not end with a newline */
};

/*
 * Reads where the log left off, through a read-only descriptor of its
 * own (the log's is write-only), checked to be the same file. An empty
 * file is a new log; a non-empty one must end in our records.
 */
static int
log_read_tail(struct log_file *lf, const char *path, off_t size, char *err,
	      size_t errsz)
{
	struct stat st;
	char last = '\n';
	int fd, found = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		set_err(err, errsz, path, "open for reading", errno);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		set_err(err, errsz, path, "fstat", errno);
	} else if (st.st_dev != lf->dev || st.st_ino != lf->ino) {
		snprintf(err, errsz, "%s: replaced while being opened", path);
	} else {
		errno = EIO;
		found = tail_seq(fd, size, &lf->seq);
		if (found >= 0 && pread(fd, &last, 1, size - 1) != 1)
			found = -1;
		if (found < 0)
			set_err(err, errsz, path, "reading the last record",
				errno);
		else if (found == 0)
			snprintf(err, errsz, "%s: not an audit log (no record "
				 "with a \"seq\" near its end)", path);
	}
	close(fd);
	lf->torn = last != '\n';
	return found > 0 ? 0 : -1;
}

/* Checks an open log: a regular file, ours alone, and either empty or
 * ending in our records. 0, or -1 with err set. */
static int
log_inspect(struct log_file *lf, const char *path, char *err, size_t errsz)
{
	struct stat st;

	if (fstat(lf->fd, &st) < 0) {
		set_err(err, errsz, path, "fstat", errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		return -1;
	}
	if (flock(lf->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errsz, "%s: locked: another process "
				 "writes this log", path);
		else
			set_err(err, errsz, path, "flock", errno);
		return -1;
	}
	lf->dev = st.st_dev;
	lf->ino = st.st_ino;
	lf->seq = 0;
	lf->torn = 0;
	if (st.st_size == 0)
		return 0;
	return log_read_tail(lf, path, st.st_size, err, errsz);
}

/*
 * Opens the log at path for appending, creating it 0640. O_NONBLOCK only
 * keeps a FIFO at that path from hanging us; a regular file ignores it.
 * On success the caller owns lf->fd.
 */
static int
log_open(struct log_file *lf, const char *path, char *err, size_t errsz)
{
	lf->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
				O_NONBLOCK, 0640);
	if (lf->fd < 0) {
		set_err(err, errsz, path, "open", errno);
		return -1;
	}
	if (log_inspect(lf, path, err, errsz) < 0) {
		close(lf->fd);
		lf->fd = -1;
		return -1;
	}
	return 0;
}

/* Syncs what was written since the last sync. Lock held. */
static int
log_sync(struct tlsp_audit *a)
{
	if (fdatasync(a->fd) < 0) {
		set_err(a->err, sizeof(a->err), a->path, "fdatasync", errno);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a->last_sync);
	a->unsynced = 0;
	return 0;
}

/*
 * Switches to the file now at the path. The sequence continues (from the
 * new file's last record if that is further on). The old file is synced
 * first, so nothing written to it is left in the page cache only; if
 * that sync fails the error is kept but the switch still happens. Lock
 * held. 0, or -1 with the old file kept.
 */
static int
log_reopen(struct tlsp_audit *a)
{
	struct log_file lf;
	struct stat st;

	if (a->fd >= 0 && stat(a->path, &st) == 0 && st.st_dev == a->dev &&
	    st.st_ino == a->ino)
		return 0; /* still the same file */
	if (log_open(&lf, a->path, a->err, sizeof(a->err)) < 0)
		return -1;
	if (a->fd >= 0) {
		if (a->unsynced)
			(void)log_sync(a);
		close(a->fd);
	}
	a->fd = lf.fd;
	a->dev = lf.dev;
	a->ino = lf.ino;
	a->torn = lf.torn;
	a->unsynced = 0;
	if (lf.seq > a->seq)
		a->seq = lf.seq;
	return 0;
}

/* One write(2) of the whole buffer, continued after a short write. Returns
 * 0, or -1 with errno set and *done the bytes that did reach the file. */
static int
write_all(int fd, const char *p, size_t n, size_t *done)
{
	ssize_t w;

	*done = 0;
	while (*done < n) {
		w = write(fd, p + *done, n - *done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		*done += (size_t)w;
	}
	return 0;
}

/*
 * Cuts off a record that failed, so the file ends where it did. If that
 * fails too, what was written stays: its number counts as used (numbers
 * never repeat in a file), and a line cut short is ended by the next.
 */
static void
log_unwrite(struct tlsp_audit *a, off_t size, size_t written, size_t len)
{
	if (ftruncate(a->fd, size) == 0)
		return;
	a->seq++;
	a->torn = written < len;
}

static int
sync_due(const struct tlsp_audit *a, int durable)
{
	struct timespec now;
	long long ns;

	if (durable || a->sync == TLSP_SYNC_ALWAYS)
		return 1;
	if (a->sync == TLSP_SYNC_NONE)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (long long)(now.tv_sec - a->last_sync.tv_sec) * 1000000000LL +
	     (now.tv_nsec - a->last_sync.tv_nsec);
	return ns >= BATCH_NS;
}

/* Makes sure a->fd is the file at the path (it may have been removed
 * under us) and returns its size, or -1. Lock held. */
static off_t
log_ready(struct tlsp_audit *a)
{
	struct stat st;

	if (a->fd < 0 || (fstat(a->fd, &st) == 0 && st.st_nlink == 0)) {
		if (log_reopen(a) < 0)
			return -1;
	}
	if (fstat(a->fd, &st) < 0) {
		set_err(a->err, sizeof(a->err), a->path, "fstat", errno);
		return -1;
	}
	return st.st_size;
}

/*
 * Appends one record: numbers it, writes it, syncs if due. On any error
 * the record is taken back out of the file (best effort) and its number
 * is not used. Lock held.
 */
static int
log_append(struct tlsp_audit *a, const struct tlsp_jbuf *body, int durable)
{
	off_t size = log_ready(a);
	size_t done;

	if (size < 0)
		return -1;
	record_line(&a->line, a->seq + 1, a->torn, body);
	if (a->line.oom) {
		snprintf(a->err, sizeof(a->err), "%s: out of memory", a->path);
		return -1;
	}
	if (write_all(a->fd, a->line.p, a->line.len, &done) < 0) {
		set_err(a->err, sizeof(a->err), a->path, "write", errno);
		if (done > 0)
			log_unwrite(a, size, done, a->line.len);
		return -1;
	}
	a->torn = 0;
	a->unsynced = 1;
	if (sync_due(a, durable) && log_sync(a) < 0) {
		log_unwrite(a, size, done, done);
		return -1;
	}
	a->seq++;
	return 0;
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

/*
 * The sink owns copies of path and host. A log that exists must end in
 * our records: its last sequence number is where this sink continues.
 */
struct tlsp_audit *
tlsp_audit_open(const char *path, const char *host,
		enum tlsp_audit_sync sync, char *err, size_t errsz)
{
	struct tlsp_audit *a = NULL;
	struct log_file lf = {.fd = -1};

	if (path == NULL || *path == '\0') {
		snprintf(err, errsz, "audit log: no path given");
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->path = strdup(path)) == NULL ||
	    (a->host = host != NULL ? strdup(host) : default_host()) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		goto fail;
	}
	if (log_open(&lf, path, err, errsz) < 0)
		goto fail;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		snprintf(err, errsz, "%s: cannot create a mutex", path);
		goto fail;
	}
	a->sync = sync;
	a->fd = lf.fd;
	a->dev = lf.dev;
	a->ino = lf.ino;
	a->seq = lf.seq;
	a->torn = lf.torn;
	clock_gettime(CLOCK_MONOTONIC, &a->last_sync);
	return a;
fail:
	if (lf.fd >= 0)
		close(lf.fd);
	if (a != NULL) {
		free(a->path);
		free(a->host);
		free(a);
	}
	return NULL;
}

/* The body is built before the lock is taken; only numbering, writing
 * and syncing happen under it. */
int
tlsp_audit_submit(struct tlsp_audit *a, const struct tlsp_audit_event *ev,
		  int durable)
{
	struct tlsp_jbuf body;
	int rc;

	if (a == NULL || ev == NULL)
		return -1;
	tlsp_jb_init(&body);
	record_body(&body, a->host, ev);
	pthread_mutex_lock(&a->lock);
	if (body.oom) {
		snprintf(a->err, sizeof(a->err), "%s: out of memory", a->path);
		rc = -1;
	} else {
		rc = log_append(a, &body, durable);
	}
	pthread_mutex_unlock(&a->lock);
	tlsp_jb_free(&body);
	return rc;
}

int
tlsp_audit_reopen(struct tlsp_audit *a)
{
	int rc;

	if (a == NULL)
		return -1;
	pthread_mutex_lock(&a->lock);
	rc = log_reopen(a);
	pthread_mutex_unlock(&a->lock);
	return rc;
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

/* No other thread may use the sink any more. A sync error here has no
 * one to report to: the records were already acknowledged. */
void
tlsp_audit_close(struct tlsp_audit *a)
{
	if (a == NULL)
		return;
	if (a->fd >= 0) {
		if (a->unsynced)
			(void)fdatasync(a->fd);
		close(a->fd);
	}
	pthread_mutex_destroy(&a->lock);
	tlsp_jb_free(&a->line);
	free(a->path);
	free(a->host);
	free(a);
}

/*
 * client.c - the MTA side of the milter protocol, version 6 (see client.h).
 *
 * Packets are 4-byte big-endian length, 1-byte command, payload. Commands
 * are built straight into a per-connection output buffer and sent when a
 * reply must be waited for; replies are read through a per-connection input
 * buffer. The socket is non-blocking and every wait is a poll() bounded by
 * a deadline, so a hung or dead milter turns into an error message.
 *
 * The checks follow what the real MTAs enforce (Postfix milter8.c,
 * Sendmail milter.c) and what libmilter itself guarantees, so that a reply
 * this client accepts is one both MTAs would accept.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

/* Largest reply packet accepted: libmilter sends at most 1 MiB of data. */
#define MT_MAX_IN (4u << 20)
/* Largest packet mt_send_raw() queues. */
#define MT_MAX_RAW (16u << 20)
/* Send buffered no-reply commands once this much has piled up. */
#define MT_FLUSH_AT (256u * 1024)

struct mt_conn {
	int fd;
	int timeout_ms;
	int negotiated;
	int broken; /* I/O error or protocol violation: no more I/O */
	int quit;   /* mt_quit() done */
	uint32_t offered_actions, offered_protocol;
	uint32_t version, actions, protocol;
	char *symlist[SMFIM_LAST + 1];
	int skip_cmd; /* event the milter answered SMFIR_SKIP to */
	unsigned char *out;
	size_t outlen, outcap;
	unsigned char *in;
	size_t inpos, inlen, incap;
	struct mt_stats stats;
	struct mt_reply *scratch; /* for callers that pass no reply; ~70 KB,
				    * so only made when needed */
	char err[512];
};

/* ------------------------------------------------------------ names */

struct event {
	int cmd;
	uint32_t no; /* SMFIP_NO* flag: the milter does not want the event */
	uint32_t nr; /* SMFIP_NR_* flag: the milter does not reply to it */
	int stage;   /* SMFIM_* index of its macro list, -1 if none */
	const char *name;
};

static const struct event events[] = {
	{SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN, SMFIM_CONNECT,
	 "SMFIC_CONNECT"},
	{SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO, SMFIM_HELO, "SMFIC_HELO"},
	{SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL, SMFIM_ENVFROM, "SMFIC_MAIL"},
	{SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT, SMFIM_ENVRCPT, "SMFIC_RCPT"},
	{SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA, SMFIM_DATA, "SMFIC_DATA"},
	{SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR, -1, "SMFIC_HEADER"},
	{SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH, SMFIM_EOH, "SMFIC_EOH"},
	{SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY, -1, "SMFIC_BODY"},
	{SMFIC_BODYEOB, 0, 0, SMFIM_EOM, "SMFIC_BODYEOB"},
	{SMFIC_UNKNOWN, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN, -1, "SMFIC_UNKNOWN"},
	{SMFIC_OPTNEG, 0, 0, -1, "SMFIC_OPTNEG"},
	{SMFIC_MACRO, 0, 0, -1, "SMFIC_MACRO"},
	{SMFIC_ABORT, 0, 0, -1, "SMFIC_ABORT"},
	{SMFIC_QUIT, 0, 0, -1, "SMFIC_QUIT"},
	{SMFIC_QUIT_NC, 0, 0, -1, "SMFIC_QUIT_NC"},
};

/* Replies read for a command outside the table (mt_read_reply). */
static const struct event raw_event = {0, 0, 0, -1, "raw command"};

static const struct event *
event_of(int cmd)
{
	size_t i;

	for (i = 0; i < sizeof events / sizeof events[0]; i++)
		if (events[i].cmd == cmd)
			return &events[i];
	return NULL;
}

struct code_name {
	int code;
	const char *wire; /* SMFIR_* name */
	const char *word; /* for mt_code_name() */
};

static const struct code_name codes[] = {
	{SMFIR_CONTINUE, "SMFIR_CONTINUE", "continue"},
	{SMFIR_ACCEPT, "SMFIR_ACCEPT", "accept"},
	{SMFIR_REJECT, "SMFIR_REJECT", "reject"},
	{SMFIR_TEMPFAIL, "SMFIR_TEMPFAIL", "tempfail"},
	{SMFIR_DISCARD, "SMFIR_DISCARD", "discard"},
	{SMFIR_REPLYCODE, "SMFIR_REPLYCODE", "replycode"},
	{SMFIR_SKIP, "SMFIR_SKIP", "skip"},
	{SMFIR_SHUTDOWN, "SMFIR_SHUTDOWN", "shutdown"},
	{SMFIR_CONN_FAIL, "SMFIR_CONN_FAIL", "connection failure"},
	{SMFIR_PROGRESS, "SMFIR_PROGRESS", "progress"},
	{SMFIR_ADDHEADER, "SMFIR_ADDHEADER", "add header"},
	{SMFIR_INSHEADER, "SMFIR_INSHEADER", "insert header"},
	{SMFIR_CHGHEADER, "SMFIR_CHGHEADER", "change header"},
	{SMFIR_QUARANTINE, "SMFIR_QUARANTINE", "quarantine"},
	{SMFIR_ADDRCPT, "SMFIR_ADDRCPT", "add recipient"},
	{SMFIR_ADDRCPT_PAR, "SMFIR_ADDRCPT_PAR", "add recipient with args"},
	{SMFIR_DELRCPT, "SMFIR_DELRCPT", "delete recipient"},
	{SMFIR_CHGFROM, "SMFIR_CHGFROM", "change sender"},
	{SMFIR_REPLBODY, "SMFIR_REPLBODY", "replace body"},
	{SMFIR_SETSYMLIST, "SMFIR_SETSYMLIST", "set macro list"},
	{SMFIC_OPTNEG, "SMFIC_OPTNEG", "negotiate"},
	{MT_NOREPLY, "(none)", "no reply"},
	{MT_SKIPPED, "(not sent)", "not sent"},
};

static const struct code_name *
code_of(int code)
{
	size_t i;

	for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == code)
			return &codes[i];
	return NULL;
}

const char *
mt_code_name(int code)
{
	const struct code_name *n = code_of(code);

	return n != NULL ? n->word : "unknown";
}

/* The reply's wire name, or "'x'" in a caller-provided buffer. */
static const char *
reply_name(int code, char buf[16])
{
	const struct code_name *n = code_of(code);

	if (n != NULL && code != MT_NOREPLY && code != MT_SKIPPED)
		return n->wire;
	snprintf(buf, 16, "0x%02x", (unsigned)(code & 0xff));
	return buf;
}

/* ----------------------------------------------------------- errors */

#if defined(__GNUC__)
#define MT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MT_PRINTF(f, a)
#endif

static void verr(struct mt_conn *c, const char *fmt, va_list ap)
	MT_PRINTF(2, 0);
static int usage(struct mt_conn *c, const char *fmt, ...) MT_PRINTF(2, 3);
static int fail(struct mt_conn *c, const char *fmt, ...) MT_PRINTF(2, 3);

static void
verr(struct mt_conn *c, const char *fmt, va_list ap)
{
	vsnprintf(c->err, sizeof c->err, fmt, ap);
}

/* An error that leaves the connection usable: nothing was sent. */
static int
usage(struct mt_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->broken)
		return -1;
	va_start(ap, fmt);
	verr(c, fmt, ap);
	va_end(ap);
	return -1;
}

/* An error after which the byte stream can no longer be trusted. */
static int
fail(struct mt_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->broken)
		return -1;
	c->broken = 1;
	va_start(ap, fmt);
	verr(c, fmt, ap);
	va_end(ap);
	return -1;
}

/* strerror() is not thread-safe; strerror_r() has two signatures. */
static const char *
errstr(int e, char *buf, size_t size)
{
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
	return strerror_r(e, buf, size);
#else
	if (strerror_r(e, buf, size) != 0)
		snprintf(buf, size, "error %d", e);
	return buf;
#endif
}

static int
fail_errno(struct mt_conn *c, int e, const char *what, const char *cmd)
{
	char buf[128];

	return fail(c, "%s %s: %s", what, cmd, errstr(e, buf, sizeof buf));
}

/* ------------------------------------------------------------- time */

static void
clock_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static void
deadline_in(struct timespec *t, int ms)
{
	clock_now(t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int64_t
ns_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000 +
	       (b->tv_nsec - a->tv_nsec);
}

/* Milliseconds left, rounded up so a wait never ends early; >= 0. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	int64_t ns;

	clock_now(&now);
	ns = ns_between(&now, deadline);
	if (ns <= 0)
		return 0;
	if (ns > (int64_t)INT32_MAX * 1000000)
		return INT32_MAX;
	return (int)((ns + 999999) / 1000000);
}

/* Waits until fd is ready for events or the deadline passes. */
static int
wait_fd(struct mt_conn *c, short ev, const struct timespec *deadline,
	const char *what, const char *cmd)
{
	struct pollfd p;
	int n;

	for (;;) {
		p.fd = c->fd;
		p.events = ev;
		p.revents = 0;
		n = poll(&p, 1, ms_left(deadline));
		if (n > 0)
			return 0; /* ready, or an error the next call reports */
		if (n == 0)
			return fail(c, "%s %s: timed out after %d ms", what,
				    cmd, c->timeout_ms);
		if (errno != EINTR)
			return fail_errno(c, errno, what, cmd);
	}
}

/* ------------------------------------------------------------ bytes */

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Doubles a buffer's capacity until n more bytes fit after used. */
static int
grow(struct mt_conn *c, unsigned char **buf, size_t *cap, size_t used, size_t n)
{
	size_t want = *cap != 0 ? *cap : 8192;
	unsigned char *p;

	while (want - used < n) {
		if (want > SIZE_MAX / 2)
			return fail(c, "out of memory");
		want *= 2;
	}
	if (want == *cap)
		return 0;
	if ((p = realloc(*buf, want)) == NULL)
		return fail(c, "out of memory (%zu bytes)", want);
	*buf = p;
	*cap = want;
	return 0;
}

/* ----------------------------------------------------------- output */

static int
pkt_begin(struct mt_conn *c, int cmd, size_t *start)
{
	if (grow(c, &c->out, &c->outcap, c->outlen, 5) < 0)
		return -1;
	*start = c->outlen;
	c->out[c->outlen + 4] = (unsigned char)cmd;
	c->outlen += 5;
	return 0;
}

static int
pkt_put(struct mt_conn *c, const void *p, size_t n)
{
	if (grow(c, &c->out, &c->outcap, c->outlen, n) < 0)
		return -1;
	if (n > 0)
		memcpy(c->out + c->outlen, p, n);
	c->outlen += n;
	return 0;
}

static int
pkt_str(struct mt_conn *c, const char *s)
{
	return pkt_put(c, s, strlen(s) + 1);
}

/*
 * Fills in the length. A payload over max is withdrawn: libmilter drops
 * the session on a command longer than its data limit (64 KiB by default).
 */
static int
pkt_end(struct mt_conn *c, size_t start, size_t max)
{
	size_t payload = c->outlen - start - 5;
	int cmd = c->out[start + 4];

	if (payload > max) {
		c->outlen = start;
		return usage(c,
			     "%c packet of %zu bytes exceeds the limit of "
			     "%zu",
			     cmd, payload, max);
	}
	put_u32(c->out + start, (uint32_t)(payload + 1));
	return 0;
}

static int
flush_out(struct mt_conn *c, const char *cmd)
{
	struct timespec deadline;
	size_t off = 0;
	ssize_t n;

	deadline_in(&deadline, c->timeout_ms);
	while (off < c->outlen) {
		n = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
		c->stats.writes++;
		if (n > 0) {
			off += (size_t)n;
			c->stats.bytes_out += (uint64_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c, POLLOUT, &deadline, "sending", cmd) < 0)
				return -1;
		} else {
			return fail_errno(c, n < 0 ? errno : EPIPE, "sending",
					  cmd);
		}
	}
	c->outlen = 0;
	return 0;
}

/* ------------------------------------------------------------ input */

/* Makes room for need unread bytes from inpos. */
static int
in_room(struct mt_conn *c, size_t need)
{
	size_t unread = c->inlen - c->inpos;

	if (c->inpos > 0 && (unread == 0 || c->incap - c->inpos < need)) {
		memmove(c->in, c->in + c->inpos, unread);
		c->inpos = 0;
		c->inlen = unread;
	}
	if (c->incap - c->inpos < need || c->incap == c->inlen)
		return grow(c, &c->in, &c->incap, c->inlen,
			    need > unread ? need - unread : 1);
	return 0;
}

/*
 * Reads until need bytes are unread. Polls first when nothing is buffered:
 * right after a command the reply cannot be there yet, and poll+recv is one
 * system call less than recv+poll+recv.
 */
static int
fill(struct mt_conn *c, size_t need, const struct timespec *deadline,
     const char *cmd)
{
	ssize_t n;
	int poll_first = c->inlen == c->inpos;

	while (c->inlen - c->inpos < need) {
		if (in_room(c, need) < 0)
			return -1;
		if (poll_first && wait_fd(c, POLLIN, deadline,
					  "waiting for the reply to", cmd) < 0)
			return -1;
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		c->stats.reads++;
		poll_first = 1;
		if (n > 0) {
			c->inlen += (size_t)n;
			c->stats.bytes_in += (uint64_t)n;
		} else if (n == 0) {
			return fail(c,
				    "reading the reply to %s: the milter "
				    "closed the connection",
				    cmd);
		} else if (errno == EINTR) {
			poll_first = 0;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
			return fail_errno(c, errno, "reading the reply to",
					  cmd);
		}
	}
	return 0;
}

/* One packet; data stays valid until the next read on c. */
static int
read_packet(struct mt_conn *c, const struct timespec *deadline, const char *cmd,
	    int *code, const unsigned char **data, size_t *len)
{
	uint32_t n;

	if (fill(c, 4, deadline, cmd) < 0)
		return -1;
	n = get_u32(c->in + c->inpos);
	if (n == 0)
		return fail(c,
			    "protocol violation: zero-length packet in "
			    "reply to %s",
			    cmd);
	if (n > MT_MAX_IN)
		return fail(c,
			    "protocol violation: packet of %lu bytes in "
			    "reply to %s",
			    (unsigned long)n, cmd);
	if (fill(c, 4 + (size_t)n, deadline, cmd) < 0)
		return -1;
	*code = c->in[c->inpos + 4];
	*data = c->in + c->inpos + 5;
	*len = n - 1;
	c->inpos += 4 + (size_t)n;
	c->stats.replies++;
	return 0;
}

/* ------------------------------------------------------ open, close */

static int
spec_split(struct mt_conn *c, const char *rest, int v6, char *host, size_t hsz,
	   char *port, size_t psz)
{
	const char *at = strchr(rest, '@');
	const char *h, *p;
	size_t hl, pl;

	if (at != NULL) { /* Sendmail: port@host */
		p = rest, pl = (size_t)(at - rest);
		h = at + 1, hl = strlen(h);
	} else if ((p = strrchr(rest, ':')) != NULL) { /* Postfix: host:port */
		h = rest, hl = (size_t)(p - rest);
		p++, pl = strlen(p);
	} else {
		return usage(c, "socket \"%s\": want port@host or host:port",
			     rest);
	}
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
		h++, hl -= 2;
	if (hl == 0)
		h = v6 ? "::1" : "127.0.0.1", hl = strlen(h);
	if (pl == 0 || pl >= psz || hl >= hsz)
		return usage(c, "socket \"%s\": bad host or port", rest);
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, pl);
	port[pl] = '\0';
	return 0;
}

static int
new_socket(struct mt_conn *c, int domain)
{
	int fl;

#ifdef SOCK_CLOEXEC
	c->fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
	if ((c->fd = socket(domain, SOCK_STREAM, 0)) >= 0)
		(void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
#endif
	if (c->fd < 0 || (fl = fcntl(c->fd, F_GETFL)) < 0 ||
	    fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail_errno(c, errno, "creating", "socket");
	return 0;
}

/* Finishes a non-blocking connect within the deadline. */
static int
connect_wait(struct mt_conn *c, const struct sockaddr *sa, socklen_t len,
	     const struct timespec *deadline, const char *spec)
{
	int e = 0;
	socklen_t el = sizeof e;

	while (connect(c->fd, sa, len) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) { /* unix socket backlog full: retry */
			struct timespec ms = {0, 1000000};

			if (ms_left(deadline) == 0)
				return fail(c,
					    "connecting to %s: timed out "
					    "(backlog full)",
					    spec);
			nanosleep(&ms, NULL);
			continue;
		}
		if (errno != EINPROGRESS)
			return fail_errno(c, errno, "connecting to", spec);
		if (wait_fd(c, POLLOUT, deadline, "connecting to", spec) < 0)
			return -1;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
			e = errno;
		return e != 0 ? fail_errno(c, e, "connecting to", spec) : 0;
	}
	return 0;
}

static int
open_unix(struct mt_conn *c, const char *path, const char *spec,
	  const struct timespec *deadline)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return usage(c, "socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (new_socket(c, AF_UNIX) < 0)
		return -1;
	return connect_wait(c, (struct sockaddr *)&sun, sizeof sun, deadline,
			    spec);
}

static int
open_inet(struct mt_conn *c, const char *rest, int v6, const char *spec,
	  const struct timespec *deadline)
{
	char host[256], port[16];
	struct addrinfo hints, *ai;
	int rc, one = 1;

	if (spec_split(c, rest, v6, host, sizeof host, port, sizeof port) < 0)
		return -1;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = v6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return usage(c, "socket %s: %s", spec, gai_strerror(rc));
	rc = new_socket(c, ai->ai_family);
	if (rc == 0)
		rc = connect_wait(c, ai->ai_addr, ai->ai_addrlen, deadline,
				  spec);
	freeaddrinfo(ai);
	/* Nagle would hold a command behind an unacknowledged one. (The
	 * milter's side is its own: libmilter does not set TCP_NODELAY, so
	 * several replies at end of message can stall ~40 ms on inet.) */
	if (rc == 0 &&
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		rc = fail_errno(c, errno, "setting TCP_NODELAY on", spec);
	return rc;
}

static int
open_spec(struct mt_conn *c, const char *spec)
{
	struct timespec deadline;

	deadline_in(&deadline, c->timeout_ms);
	if (strncmp(spec, "unix:", 5) == 0)
		return open_unix(c, spec + 5, spec, &deadline);
	if (strncmp(spec, "local:", 6) == 0)
		return open_unix(c, spec + 6, spec, &deadline);
	if (spec[0] == '/')
		return open_unix(c, spec, spec, &deadline);
	if (strncmp(spec, "inet:", 5) == 0)
		return open_inet(c, spec + 5, 0, spec, &deadline);
	if (strncmp(spec, "inet6:", 6) == 0)
		return open_inet(c, spec + 6, 1, spec, &deadline);
	return usage(c, "socket \"%s\": want unix:, local:, inet: or inet6:",
		     spec);
}

struct mt_conn *
mt_open(const char *spec, int timeout_ms, char *err, size_t errsz)
{
	struct mt_conn *c = calloc(1, sizeof *c);

	if (c == NULL) {
		if (err != NULL && errsz > 0)
			snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
	if (spec == NULL)
		spec = "(null)";
	if (open_spec(c, spec) == 0)
		return c;
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "%s", c->err);
	mt_close(c);
	return NULL;
}

void
mt_close(struct mt_conn *c)
{
	int i;

	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	for (i = 0; i <= SMFIM_LAST; i++)
		free(c->symlist[i]);
	free(c->scratch);
	free(c->out);
	free(c->in);
	free(c);
}

void
mt_set_timeout(struct mt_conn *c, int timeout_ms)
{
	if (c != NULL)
		c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
}

/* 0 if c may do I/O (and, if asked, has negotiated). */
static int
usable(struct mt_conn *c, int need_negotiated)
{
	if (c->broken)
		return -1; /* c->err keeps the first error */
	if (c->quit)
		return usage(c, "the connection has ended with mt_quit()");
	if (need_negotiated && !c->negotiated)
		return usage(c, "call mt_negotiate() first");
	return 0;
}

/* ------------------------------------------------------ negotiation */

/* Macro lists after the three words: {index(4) "names\0"}... */
static int
parse_symlists(struct mt_conn *c, const unsigned char *p, size_t len)
{
	const unsigned char *nul;
	uint32_t idx;
	size_t n;

	while (len > 0) {
		if (len < 5)
			return fail(c, "protocol violation: truncated macro "
				       "list in SMFIC_OPTNEG reply");
		idx = get_u32(p);
		p += 4, len -= 4;
		if ((nul = memchr(p, '\0', len)) == NULL)
			return fail(c,
				    "protocol violation: macro list for "
				    "stage %lu not NUL-terminated",
				    (unsigned long)idx);
		if (idx > SMFIM_LAST || c->symlist[idx] != NULL)
			return fail(c,
				    "protocol violation: macro list for "
				    "%s stage %lu",
				    idx > SMFIM_LAST ? "unknown" : "repeated",
				    (unsigned long)idx);
		n = (size_t)(nul - p) + 1;
		if ((c->symlist[idx] = malloc(n)) == NULL)
			return fail(c, "out of memory");
		memcpy(c->symlist[idx], p, n);
		p += n, len -= n;
	}
	return 0;
}

/* What the milter chose must be what was offered, as Sendmail checks. */
static int
check_choice(struct mt_conn *c)
{
	/* libmilter reads 0 as "version 1 defaults" */
	uint32_t acts = c->offered_actions ? c->offered_actions : SMFI_V1_ACTS;
	uint32_t prot = c->offered_protocol ? c->offered_protocol
					    : SMFI_V1_PROT;

	if (c->version < 2 || c->version > SMFI_PROT_VERSION)
		return fail(c,
			    "protocol violation: milter chose protocol "
			    "version %lu, offered %d",
			    (unsigned long)c->version, SMFI_PROT_VERSION);
	if ((c->actions & ~acts) != 0)
		return fail(c,
			    "protocol violation: milter chose actions "
			    "0x%lx, not offered (offered 0x%lx)",
			    (unsigned long)(c->actions & ~acts),
			    (unsigned long)acts);
	if ((c->protocol & ~prot) != 0)
		return fail(c,
			    "protocol violation: milter chose protocol "
			    "flags 0x%lx, not offered (offered 0x%lx)",
			    (unsigned long)(c->protocol & ~prot),
			    (unsigned long)prot);
	return 0;
}

static int
read_optneg(struct mt_conn *c)
{
	struct timespec deadline;
	const unsigned char *d;
	size_t len;
	int code;
	char nb[16];

	deadline_in(&deadline, c->timeout_ms);
	if (read_packet(c, &deadline, "SMFIC_OPTNEG", &code, &d, &len) < 0)
		return -1;
	if (code != SMFIC_OPTNEG)
		return fail(c,
			    "protocol violation: %s in reply to "
			    "SMFIC_OPTNEG",
			    reply_name(code, nb));
	if (len < MILTER_OPTLEN)
		return fail(c,
			    "protocol violation: SMFIC_OPTNEG reply of %zu "
			    "bytes, want at least %d",
			    len, MILTER_OPTLEN);
	c->version = get_u32(d);
	c->actions = get_u32(d + 4);
	c->protocol = get_u32(d + 8);
	if (check_choice(c) < 0)
		return -1;
	return parse_symlists(c, d + MILTER_OPTLEN, len - MILTER_OPTLEN);
}

int
mt_negotiate(struct mt_conn *c, uint32_t actions_offered,
	     uint32_t protocol_offered)
{
	unsigned char opt[MILTER_OPTLEN];
	struct timespec t0, t1;
	size_t start;
	int rc;

	if (c == NULL || usable(c, 0) < 0)
		return -1;
	if (c->negotiated)
		return usage(c, "mt_negotiate(): the protocol negotiates once "
				"per connection");
	c->offered_actions = actions_offered;
	c->offered_protocol = protocol_offered;
	put_u32(opt, SMFI_PROT_VERSION);
	put_u32(opt + 4, actions_offered);
	put_u32(opt + 8, protocol_offered);
	clock_now(&t0);
	if (pkt_begin(c, SMFIC_OPTNEG, &start) < 0 ||
	    pkt_put(c, opt, sizeof opt) < 0 || pkt_end(c, start, 12) < 0 ||
	    flush_out(c, "SMFIC_OPTNEG") < 0)
		return -1;
	c->stats.commands++;
	c->stats.round_trips++;
	rc = read_optneg(c);
	clock_now(&t1);
	c->stats.wait_ns += (uint64_t)ns_between(&t0, &t1);
	if (rc == 0)
		c->negotiated = 1;
	return rc;
}

uint32_t
mt_version(const struct mt_conn *c)
{
	return c != NULL ? c->version : 0;
}

uint32_t
mt_actions(const struct mt_conn *c)
{
	return c != NULL ? c->actions : 0;
}

uint32_t
mt_protocol(const struct mt_conn *c)
{
	return c != NULL ? c->protocol : 0;
}

const char *
mt_symlist(const struct mt_conn *c, int stage)
{
	if (c == NULL || stage < SMFIM_FIRST || stage > SMFIM_LAST)
		return NULL;
	return c->symlist[stage];
}

/* ----------------------------------------------------------- macros */

/* Is name a word of list? Postfix splits on blanks and commas. */
static int
in_list(const char *list, const char *name)
{
	static const char sep[] = " ,\t\r\n";
	size_t nl = strlen(name), wl;

	while (*list != '\0') {
		list += strspn(list, sep);
		wl = strcspn(list, sep);
		if (wl == nl && wl > 0 && memcmp(list, name, nl) == 0)
			return 1;
		list += wl;
	}
	return 0;
}

int
mt_macros(struct mt_conn *c, int cmd, const struct mt_macro *m, size_t n)
{
	const struct event *ev = event_of(cmd);
	const char *list = NULL;
	unsigned char code = (unsigned char)cmd;
	size_t i, start = 0;
	int count = 0;

	if (c == NULL || usable(c, 1) < 0)
		return -1;
	if (n > 0 && m == NULL)
		return usage(c, "mt_macros(): no macros given");
	if (ev != NULL && ev->stage >= 0)
		list = c->symlist[ev->stage];
	for (i = 0; i < n; i++) {
		if (m[i].name == NULL || m[i].value == NULL)
			continue;
		if (list != NULL && !in_list(list, m[i].name))
			continue;
		if (count == 0 && (pkt_begin(c, SMFIC_MACRO, &start) < 0 ||
				   pkt_put(c, &code, 1) < 0))
			return -1;
		if (pkt_str(c, m[i].name) < 0 || pkt_str(c, m[i].value) < 0)
			return -1;
		count++;
	}
	if (count == 0)
		return 0;
	if (pkt_end(c, start, MILTER_MAX_DATA_SIZE) < 0)
		return -1;
	c->stats.macro_packets++;
	return count;
}

/* ---------------------------------------------------------- replies */

/* Where a reply goes: the caller's, or c's scratch one. */
static struct mt_reply *
reply_for(struct mt_conn *c, struct mt_reply *r)
{
	if (r != NULL)
		return r;
	if (c->scratch == NULL &&
	    (c->scratch = malloc(sizeof *c->scratch)) == NULL) {
		usage(c, "out of memory");
		return NULL;
	}
	return c->scratch;
}

static void
reply_reset(struct mt_reply *r)
{
	r->code = MT_NOREPLY;
	r->text[0] = '\0';
	r->nmods = 0;
	r->nmods_seen = 0;
	r->truncated = 0;
}

/* Copies n bytes and a NUL into dst[size]; sets *cut if they do not fit. */
static void
copy_cut(char *dst, size_t size, const unsigned char *src, size_t n, int *cut)
{
	if (n >= size) {
		n = size - 1;
		*cut = 1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Takes one NUL-terminated string off the front of *p. */
static int
take_str(const unsigned char **p, size_t *len, const unsigned char **s,
	 size_t *sl)
{
	const unsigned char *nul = memchr(*p, '\0', *len);

	if (nul == NULL)
		return -1;
	*s = *p;
	*sl = (size_t)(nul - *p);
	*len -= *sl + 1;
	*p = nul + 1;
	return 0;
}

enum mod_shape {
	SHAPE_NV,  /* name value */
	SHAPE_INV, /* index name value */
	SHAPE_V,   /* value */
	SHAPE_VA,  /* value [args] */
	SHAPE_RAW, /* bytes */
};

struct mod_rule {
	int cmd;
	uint32_t action; /* SMFIF_* the milter must have negotiated */
	enum mod_shape shape;
};

static const struct mod_rule mod_rules[] = {
	{SMFIR_ADDHEADER, SMFIF_ADDHDRS, SHAPE_NV},
	{SMFIR_INSHEADER, SMFIF_ADDHDRS, SHAPE_INV},
	{SMFIR_CHGHEADER, SMFIF_CHGHDRS, SHAPE_INV},
	{SMFIR_QUARANTINE, SMFIF_QUARANTINE, SHAPE_V},
	{SMFIR_ADDRCPT, SMFIF_ADDRCPT, SHAPE_V},
	{SMFIR_DELRCPT, SMFIF_DELRCPT, SHAPE_V},
	{SMFIR_ADDRCPT_PAR, SMFIF_ADDRCPT_PAR, SHAPE_VA},
	{SMFIR_CHGFROM, SMFIF_CHGFROM, SHAPE_VA},
	{SMFIR_REPLBODY, SMFIF_CHGBODY, SHAPE_RAW},
};

static const struct mod_rule *
mod_rule_of(int cmd)
{
	size_t i;

	for (i = 0; i < sizeof mod_rules / sizeof mod_rules[0]; i++)
		if (mod_rules[i].cmd == cmd)
			return &mod_rules[i];
	return NULL;
}

/* Splits a modification's payload by its shape; -1 if malformed. */
static int
mod_parse(enum mod_shape shape, const unsigned char *p, size_t len,
	  struct mt_mod *m, int *cut)
{
	const unsigned char *a = (const unsigned char *)"", *b = a;
	size_t al = 0, bl = 0;

	m->index = 0;
	if (shape == SHAPE_RAW) {
		m->name[0] = '\0';
		m->value_len = len;
		copy_cut(m->value, sizeof m->value, p, len, cut);
		return 0;
	}
	if (shape == SHAPE_INV) {
		if (len < 4)
			return -1;
		m->index = get_u32(p);
		p += 4, len -= 4;
	}
	if (take_str(&p, &len, &a, &al) < 0)
		return -1;
	if (shape != SHAPE_V && !(shape == SHAPE_VA && len == 0) &&
	    take_str(&p, &len, &b, &bl) < 0)
		return -1;
	if (len != 0 || (shape != SHAPE_V && shape != SHAPE_VA && al == 0))
		return -1; /* left-over bytes, or an empty header name */
	if (shape == SHAPE_V || shape == SHAPE_VA) { /* value first */
		const unsigned char *t = a;
		size_t tl = al;

		a = b, al = bl, b = t, bl = tl;
	}
	copy_cut(m->name, sizeof m->name, a, al, cut);
	copy_cut(m->value, sizeof m->value, b, bl, cut);
	m->value_len = bl;
	return 0;
}

static int
add_mod(struct mt_conn *c, int code, const unsigned char *p, size_t len,
	struct mt_reply *r, const char *cmd)
{
	const struct mod_rule *rule = mod_rule_of(code);
	struct mt_mod spare;
	struct mt_mod *m;
	char nb[16];

	if (rule == NULL)
		return fail(c, "protocol violation: unknown reply %s to %s",
			    reply_name(code, nb), cmd);
	if ((c->actions & rule->action) == 0)
		return fail(c,
			    "protocol violation: %s without negotiating "
			    "action 0x%lx",
			    reply_name(code, nb), (unsigned long)rule->action);
	r->nmods_seen++;
	m = r->nmods < MT_MAX_MODS ? &r->mods[r->nmods++] : &spare;
	if (m == &spare)
		r->truncated = 1;
	m->cmd = code;
	if (mod_parse(rule->shape, p, len, m, &r->truncated) < 0)
		return fail(c, "protocol violation: malformed %s (%zu bytes)",
			    reply_name(code, nb), len);
	return 0;
}

/* Postfix's check: "4xx|5xx[ -]" and a matching class in x.y.z. */
static int
set_replycode(struct mt_conn *c, const unsigned char *p, size_t len,
	      struct mt_reply *r, const char *cmd)
{
	const char *s = (const char *)p;

	if (len < 5 || p[len - 1] != '\0' || strlen(s) != len - 1 ||
	    (s[0] != '4' && s[0] != '5') || s[1] < '0' || s[1] > '9' ||
	    s[2] < '0' || s[2] > '9' || (s[3] != ' ' && s[3] != '-') ||
	    (s[4] >= '0' && s[4] <= '9' && s[4] != s[0]))
		return fail(c,
			    "protocol violation: malformed SMFIR_REPLYCODE "
			    "\"%.*s\" in reply to %s",
			    (int)(len > 100 ? 100 : len), s, cmd);
	copy_cut(r->text, sizeof r->text, p, len - 1, &r->truncated);
	r->code = SMFIR_REPLYCODE;
	return 0;
}

/* A final reply without data; 1 if it ends the event. */
static int
final_plain(struct mt_conn *c, const struct event *ev, int code, size_t len,
	    struct mt_reply *r)
{
	char nb[16];

	if (len != 0)
		return fail(c,
			    "protocol violation: %s in reply to %s carries "
			    "%zu bytes",
			    reply_name(code, nb), ev->name, len);
	if (code == SMFIR_DISCARD &&
	    (ev->cmd == SMFIC_CONNECT || ev->cmd == SMFIC_HELO))
		return fail(c,
			    "protocol violation: SMFIR_DISCARD is not "
			    "allowed for %s (Postfix)",
			    ev->name);
	if (code == SMFIR_SKIP &&
	    (ev->cmd != SMFIC_BODY || !(c->offered_protocol & SMFIP_SKIP)))
		return fail(c,
			    "protocol violation: SMFIR_SKIP in reply to "
			    "%s%s",
			    ev->name,
			    ev->cmd == SMFIC_BODY ? " without SMFIP_SKIP" : "");
	if (code == SMFIR_SKIP)
		c->skip_cmd = ev->cmd;
	r->code = code;
	return 1;
}

/* Reads the replies to ev until its final one; mods only at EOM. */
static int
read_reply(struct mt_conn *c, const struct event *ev, struct mt_reply *r)
{
	struct timespec deadline;
	const unsigned char *d;
	size_t len;
	int code;

	deadline_in(&deadline, c->timeout_ms);
	for (;;) {
		if (read_packet(c, &deadline, ev->name, &code, &d, &len) < 0)
			return -1;
		switch (code) {
		case SMFIR_PROGRESS: /* keep waiting, with a fresh timeout */
			if (len != 0)
				return fail(c,
					    "protocol violation: "
					    "SMFIR_PROGRESS carries %zu bytes",
					    len);
			deadline_in(&deadline, c->timeout_ms);
			continue;
		case SMFIR_CONTINUE:
		case SMFIR_ACCEPT:
		case SMFIR_REJECT:
		case SMFIR_TEMPFAIL:
		case SMFIR_DISCARD:
		case SMFIR_SHUTDOWN:
		case SMFIR_SKIP:
			return final_plain(c, ev, code, len, r) < 0 ? -1 : 0;
		case SMFIR_REPLYCODE:
			return set_replycode(c, d, len, r, ev->name);
		}
		if (ev->cmd != SMFIC_BODYEOB && mod_rule_of(code) != NULL) {
			char nb[16];

			return fail(c,
				    "protocol violation: %s in reply to %s; "
				    "modifications come only at end of "
				    "message",
				    reply_name(code, nb), ev->name);
		}
		if (add_mod(c, code, d, len, r, ev->name) < 0)
			return -1;
	}
}

/* Sends what is queued and waits for the reply to ev. */
static int
round_trip(struct mt_conn *c, const struct event *ev, struct mt_reply *r)
{
	struct timespec t0, t1;
	int rc;

	/* Bytes already here belong to no command: a stray reply. */
	if (c->inpos != c->inlen)
		return fail(c,
			    "protocol violation: %zu unsolicited bytes from "
			    "the milter before %s",
			    c->inlen - c->inpos, ev->name);
	clock_now(&t0);
	if (flush_out(c, ev->name) < 0)
		return -1;
	c->stats.round_trips++;
	rc = read_reply(c, ev, r);
	clock_now(&t1);
	c->stats.wait_ns += (uint64_t)ns_between(&t0, &t1);
	return rc;
}

/* ----------------------------------------------------------- events */

/*
 * Starts event cmd: -1 on error, 1 if it is not to be sent (reported as
 * MT_SKIPPED), 0 to go on. A different event ends an SMFIR_SKIP.
 */
static int
event_begin(struct mt_conn *c, int cmd, struct mt_reply **r,
	    const struct event **ev)
{
	if (usable(c, 1) < 0 || (*r = reply_for(c, *r)) == NULL)
		return -1;
	reply_reset(*r);
	if ((*ev = event_of(cmd)) == NULL)
		return usage(c, "not an event command");
	if ((c->protocol & (*ev)->no) != 0 || c->skip_cmd == cmd) {
		(*r)->code = MT_SKIPPED;
		c->stats.not_sent++;
		return 1;
	}
	c->skip_cmd = 0;
	return 0;
}

/* Finishes the packet; waits for the reply unless NR_* says none comes. */
static int
event_end(struct mt_conn *c, const struct event *ev, size_t start,
	  struct mt_reply *r)
{
	if (pkt_end(c, start, MILTER_MAX_DATA_SIZE) < 0)
		return -1;
	c->stats.commands++;
	if ((c->protocol & ev->nr) != 0) {
		r->code = MT_NOREPLY;
		c->stats.no_reply++;
		return c->outlen >= MT_FLUSH_AT ? flush_out(c, ev->name) : 0;
	}
	return round_trip(c, ev, r);
}

/* Shorthand for an event whose payload is a list of strings. */
static int
event_strs(struct mt_conn *c, int cmd, const char *const *s, size_t n,
	   struct mt_reply *r)
{
	const struct event *ev;
	size_t i, start;
	int rc;

	if (c == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] == NULL)
			return usage(c, "%c: argument %zu is NULL", cmd, i);
	if ((rc = event_begin(c, cmd, &r, &ev)) != 0)
		return rc < 0 ? -1 : 0;
	if (pkt_begin(c, cmd, &start) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (pkt_str(c, s[i]) < 0)
			return -1;
	return event_end(c, ev, start, r);
}

int
mt_connect(struct mt_conn *c, const char *hostname, int family, uint16_t port,
	   const char *addr, struct mt_reply *r)
{
	const struct event *ev;
	unsigned char fp[3];
	size_t start;
	int rc;

	if (c == NULL)
		return -1;
	if (hostname == NULL || family == 0 || strchr("46LU", family) == NULL ||
	    (family != SMFIA_UNKNOWN && addr == NULL))
		return usage(c, "mt_connect(): bad hostname, family or addr");
	if ((rc = event_begin(c, SMFIC_CONNECT, &r, &ev)) != 0)
		return rc < 0 ? -1 : 0;
	fp[0] = (unsigned char)family;
	fp[1] = (unsigned char)(port >> 8); /* network byte order */
	fp[2] = (unsigned char)port;
	if (pkt_begin(c, SMFIC_CONNECT, &start) < 0 ||
	    pkt_str(c, hostname) < 0 ||
	    pkt_put(c, fp, family == SMFIA_UNKNOWN ? 1 : 3) < 0 ||
	    (family != SMFIA_UNKNOWN && pkt_str(c, addr) < 0))
		return -1;
	return event_end(c, ev, start, r);
}

int
mt_helo(struct mt_conn *c, const char *name, struct mt_reply *r)
{
	return event_strs(c, SMFIC_HELO, &name, 1, r);
}

int
mt_mail(struct mt_conn *c, const char *const *args, size_t n,
	struct mt_reply *r)
{
	if (c != NULL && (args == NULL || n == 0))
		return usage(c, "mt_mail(): no address");
	return event_strs(c, SMFIC_MAIL, args, n, r);
}

int
mt_rcpt(struct mt_conn *c, const char *const *args, size_t n,
	struct mt_reply *r)
{
	if (c != NULL && (args == NULL || n == 0))
		return usage(c, "mt_rcpt(): no address");
	return event_strs(c, SMFIC_RCPT, args, n, r);
}

int
mt_data(struct mt_conn *c, struct mt_reply *r)
{
	return event_strs(c, SMFIC_DATA, NULL, 0, r);
}

int
mt_header(struct mt_conn *c, const char *name, const char *value,
	  struct mt_reply *r)
{
	const char *nv[2];

	nv[0] = name;
	nv[1] = value;
	return event_strs(c, SMFIC_HEADER, nv, 2, r);
}

int
mt_eoh(struct mt_conn *c, struct mt_reply *r)
{
	return event_strs(c, SMFIC_EOH, NULL, 0, r);
}

int
mt_eom(struct mt_conn *c, struct mt_reply *r)
{
	return event_strs(c, SMFIC_BODYEOB, NULL, 0, r);
}

int
mt_unknown(struct mt_conn *c, const char *command, struct mt_reply *r)
{
	return event_strs(c, SMFIC_UNKNOWN, &command, 1, r);
}

int
mt_body(struct mt_conn *c, const void *buf, size_t len, struct mt_reply *r)
{
	const unsigned char *p = buf;
	const struct event *ev;
	size_t n, start;
	int rc;

	if (c == NULL)
		return -1;
	if (len > 0 && buf == NULL)
		return usage(c, "mt_body(): no buffer");
	if ((rc = event_begin(c, SMFIC_BODY, &r, &ev)) != 0 || len == 0) {
		if (rc == 0) { /* empty: libmilter would drop the session */
			r->code = MT_SKIPPED;
			c->stats.not_sent++;
		}
		return rc < 0 ? -1 : 0;
	}
	for (;;) {
		n = len < MILTER_CHUNK_SIZE ? len : MILTER_CHUNK_SIZE;
		if (pkt_begin(c, SMFIC_BODY, &start) < 0 ||
		    pkt_put(c, p, n) < 0 || event_end(c, ev, start, r) < 0)
			return -1;
		p += n, len -= n;
		if (len == 0 ||
		    (r->code != SMFIR_CONTINUE && r->code != MT_NOREPLY))
			return 0;
		if ((rc = event_begin(c, SMFIC_BODY, &r, &ev)) != 0)
			return rc < 0 ? -1 : 0;
	}
}

/* -------------------------------------------------- end of sessions */

/* Queues a command that never gets a reply and sends it at once. */
static int
send_noreply(struct mt_conn *c, int cmd, int need_negotiated)
{
	const struct event *ev = event_of(cmd);
	size_t start;

	if (c == NULL || usable(c, need_negotiated) < 0)
		return -1;
	if (pkt_begin(c, cmd, &start) < 0 || pkt_end(c, start, 0) < 0)
		return -1;
	c->stats.commands++;
	c->stats.no_reply++;
	c->skip_cmd = 0;
	return flush_out(c, ev->name);
}

int
mt_abort(struct mt_conn *c)
{
	return send_noreply(c, SMFIC_ABORT, 1);
}

int
mt_quit_nc(struct mt_conn *c)
{
	return send_noreply(c, SMFIC_QUIT_NC, 1);
}

/*
 * After QUIT the milter must only close. The first stray packet is named:
 * typically a reply to a command the milter negotiated as no-reply.
 */
static int
wait_eof(struct mt_conn *c)
{
	struct timespec deadline;
	char nb[16];
	ssize_t n;

	deadline_in(&deadline, c->timeout_ms);
	for (;;) {
		if (c->inpos != c->inlen)
			return fail(c,
				    "protocol violation: unsolicited %s "
				    "from the milter, seen at SMFIC_QUIT",
				    c->inlen - c->inpos >= 5
					    ? reply_name(c->in[c->inpos + 4],
							 nb)
					    : "bytes");
		if (wait_fd(c, POLLIN, &deadline,
			    "waiting for the milter to "
			    "close after",
			    "SMFIC_QUIT") < 0 ||
		    in_room(c, 1) < 0)
			return -1;
		n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		c->stats.reads++;
		if (n == 0)
			return 0;
		if (n > 0) {
			c->inlen += (size_t)n;
			c->stats.bytes_in += (uint64_t)n;
		} else if (errno != EINTR && errno != EAGAIN &&
			   errno != EWOULDBLOCK) {
			return fail_errno(c, errno,
					  "waiting for the milter to "
					  "close after",
					  "SMFIC_QUIT");
		}
	}
}

/*
 * libmilter ends the session at QUIT in any state (out of order it skips
 * the command, but still leaves its loop) and at EOF, and runs the close
 * callback before it closes the socket. The half-close makes the EOF
 * certain for milters that would wait for more; then wait for theirs.
 */
int
mt_quit(struct mt_conn *c)
{
	if (send_noreply(c, SMFIC_QUIT, 0) < 0)
		return -1;
	if (shutdown(c->fd, SHUT_WR) < 0)
		return fail_errno(c, errno, "shutting down after",
				  "SMFIC_QUIT");
	if (wait_eof(c) < 0)
		return -1;
	c->quit = 1;
	return 0;
}

int
mt_flush(struct mt_conn *c)
{
	if (c == NULL || usable(c, 0) < 0)
		return -1;
	return flush_out(c, "buffered commands");
}

int
mt_send_raw(struct mt_conn *c, int cmd, const void *data, size_t len)
{
	size_t start;

	if (c == NULL || usable(c, 0) < 0)
		return -1;
	if (len > 0 && data == NULL)
		return usage(c, "mt_send_raw(): no data");
	if (pkt_begin(c, cmd, &start) < 0 || pkt_put(c, data, len) < 0 ||
	    pkt_end(c, start, MT_MAX_RAW) < 0)
		return -1;
	c->stats.commands++;
	return flush_out(c, "raw command");
}

int
mt_read_reply(struct mt_conn *c, int cmd, struct mt_reply *r)
{
	const struct event *ev = event_of(cmd);
	struct timespec t0, t1;
	int rc;

	if (c == NULL || usable(c, 0) < 0 || (r = reply_for(c, r)) == NULL)
		return -1;
	reply_reset(r);
	if (flush_out(c, "buffered commands") < 0)
		return -1;
	clock_now(&t0);
	c->stats.round_trips++;
	rc = read_reply(c, ev != NULL ? ev : &raw_event, r);
	clock_now(&t1);
	c->stats.wait_ns += (uint64_t)ns_between(&t0, &t1);
	return rc;
}

/* -------------------------------------------------------- accessors */

const char *
mt_error(const struct mt_conn *c)
{
	return c != NULL ? c->err : "no connection";
}

const struct mt_stats *
mt_stats(const struct mt_conn *c)
{
	return c != NULL ? &c->stats : NULL;
}

const struct mt_mod *
mt_reply_find(const struct mt_reply *r, int cmd, const char *name)
{
	size_t i;

	for (i = 0; r != NULL && i < r->nmods; i++)
		if (r->mods[i].cmd == cmd &&
		    (name == NULL || strcasecmp(r->mods[i].name, name) == 0))
			return &r->mods[i];
	return NULL;
}

/*
 * frame.c - one hostile connection must not take the daemon down.
 *
 * libmilter (8.17.1, Debian's libmilter1.0.1) turns the data of a macro
 * packet (SMFIC_MACRO, 'D': a stage letter, then names and values, each
 * ending in NUL) into a NULL-ended list with one entry per NUL (engine.c,
 * dec_argv(): a last string without its NUL is dropped), and
 * smfi_getsymval() walks that list two entries at a time (smfi.c). With
 * an odd number of strings the last entry is a name: the walk steps over
 * the NULL end and reads what lies past the array, and the daemon
 * crashes (9 connections of 80 did) or reads a wrong value. Only a peer
 * that can open the milter socket can send that; the daemon must not
 * depend on its peer being well-formed.
 *
 * So the packet is stopped at the boundary, before libmilter parses it.
 * The executable's read() and close() come first for libmilter, as
 * accept() in accept.c does: accept() marks each connection it hands to
 * libmilter, and read() follows that connection's framing (libmilter
 * reads a 5-byte header, a 4-byte length and the command, then length - 1
 * bytes of data: comm.c, mi_rd_cmd()). A macro packet whose strings do
 * not all end in NUL, or are odd in number, fails the read that would
 * complete it (EPROTO): libmilter ends that one connection as it does on
 * any read error (its abort and close callbacks run; the MTA applies its
 * default action to that session only). Each is logged, rate-limited,
 * and counted.
 *
 * libmilter's other string packets are checked by libmilter itself:
 * HELO and header need their final NUL, MAIL and RCPT become a NULL-ended
 * list whatever their count, CONNECT needs a NUL after the host name and
 * at the end of the address, and a length over its limit ends the
 * connection (SMFIC_TOOBIG). They pass as sent (test_frame_faults.c sends
 * each).
 *
 * __read_chk() is guarded as read(): a libmilter built with
 * _FORTIFY_SOURCE would read through it (Debian's calls read()). Every
 * other descriptor's read goes straight through. The state is per
 * descriptor, never per thread: libmilter's worker pool moves a
 * connection between threads, but reads it from one thread at a time and
 * hands it over under its own mutex. close() forgets a descriptor before
 * closing it, so a number the kernel hands out again starts clean; `on`
 * carries that across threads (released by close(), acquired by
 * tlspm_frame_track()).
 *
 * The real functions: under clang's sanitizers read() and close() are
 * the runtime's interceptors (weak symbols, replaced by ours), called by
 * their __interceptor_ names so that the sanitizer still sees every read
 * and close; otherwise the next definition (the C library's, or libasan's
 * under gcc), found with dlsym(RTLD_NEXT).
 *
 * TLSPM_FRAME_GUARD=0 builds a daemon without the guard, for the
 * benchmark's paired rounds only (tests/bench/run.sh, section frame).
 */
#undef _FORTIFY_SOURCE /* its inline read() would clash with ours */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfdef.h>

#include "frame.h"
#include "log.h"
#include "tlspolicy/policy.h"

#ifndef TLSPM_FRAME_GUARD
#define TLSPM_FRAME_GUARD 1
#endif

static _Atomic(unsigned long) refused;

unsigned long
tlspm_frame_refused(void)
{
	return atomic_load(&refused);
}

#if !TLSPM_FRAME_GUARD
int
tlspm_frame_track(int fd)
{
	(void)fd;
	return 0;
}
#else

#define HDR 5 /* MILTER_LEN_BYTES and the command */
#define PAGE_BITS 10
#define PAGE (1 << PAGE_BITS)
#define PAGES 1024   /* descriptors below 2^20, Linux's default nr_open */
#define LOG_BURST 10 /* refusals logged a minute; the others counted */

/* Where one connection is in its packets. */
struct state {
	unsigned char hdr[HDR];
	unsigned char have; /* header bytes read; HDR: in the data */
	unsigned char cmd;
	unsigned char stage; /* a macro packet's first data byte */
	unsigned char last;  /* its last data byte so far */
	unsigned char refused;
	uint32_t len;  /* the packet's data length */
	uint32_t left; /* data bytes still to come */
	uint32_t nuls; /* NULs in a macro packet's strings so far */
};

struct frame {
	atomic_uchar on; /* a connection libmilter reads */
	struct state st;
};

/* Pages of PAGE descriptors, made on first use, kept for the process. */
static _Atomic(struct frame *) pages[PAGES];

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef int (*close_fn)(int);
extern ssize_t __interceptor_read(int, void *, size_t) __attribute__((weak));
extern int __interceptor_close(int) __attribute__((weak));
static _Atomic(read_fn) next_read;
static _Atomic(close_fn) next_close;

static read_fn
real_read(void)
{
	read_fn f = atomic_load_explicit(&next_read, memory_order_relaxed);

	if (f == NULL) {
		f = __interceptor_read ? __interceptor_read
				       : (read_fn)dlsym(RTLD_NEXT, "read");
		if (f == NULL)
			abort(); /* no C library read(): cannot go on */
		atomic_store_explicit(&next_read, f, memory_order_relaxed);
	}
	return f;
}

static close_fn
real_close(void)
{
	close_fn f = atomic_load_explicit(&next_close, memory_order_relaxed);

	if (f == NULL) {
		f = __interceptor_close ? __interceptor_close
					: (close_fn)dlsym(RTLD_NEXT, "close");
		if (f == NULL)
			abort();
		atomic_store_explicit(&next_close, f, memory_order_relaxed);
	}
	return f;
}

static struct frame *
slot(int fd)
{
	struct frame *p;

	if (fd < 0 || fd >= PAGES * PAGE)
		return NULL;
	p = atomic_load_explicit(&pages[fd >> PAGE_BITS], memory_order_acquire);
	return p ? &p[fd & (PAGE - 1)] : NULL;
}

static struct frame *
slot_make(int fd)
{
	struct frame *f = slot(fd), *p, *none = NULL;

	if (f != NULL || fd < 0 || fd >= PAGES * PAGE)
		return f;
	if ((p = calloc(PAGE, sizeof(*p))) == NULL)
		return NULL;
	if (!atomic_compare_exchange_strong(&pages[fd >> PAGE_BITS], &none, p))
		free(p); /* another thread made it first */
	return slot(fd);
}

int
tlspm_frame_track(int fd)
{
	struct frame *f = slot_make(fd);

	if (f == NULL)
		return -1;
	/* pairs with close()'s release: the last connection on this number
	 * is done with st before it is reset */
	(void)atomic_load_explicit(&f->on, memory_order_acquire);
	f->st = (struct state){.have = 0};
	atomic_store_explicit(&f->on, 1, memory_order_release);
	return 0;
}

/* A header is complete: the data length as mi_rd_cmd() reads it (a
 * signed 32-bit length less the command byte; none if not positive). */
static void
begin(struct state *s)
{
	uint32_t n;
	int64_t data;

	memcpy(&n, s->hdr, sizeof(n));
	data = (int64_t)(int32_t)ntohl(n) - 1;
	s->cmd = s->hdr[HDR - 1];
	s->len = s->left = data > 0 ? (uint32_t)data : 0;
	s->stage = s->last = 0;
	s->nuls = 0;
	if (s->left == 0)
		s->have = 0; /* no data: the next header follows */
}

/* k more bytes of a macro packet's data. */
static void
scan(struct state *s, const unsigned char *p, size_t k)
{
	const unsigned char *end = p + k;

	if (k > 0 && s->left == s->len) /* the first: the stage letter */
		s->stage = *p++;
	if (p == end)
		return;
	s->last = end[-1];
	for (; p < end; p++) /* one pass, no call per string */
		s->nuls += *p == '\0';
}

/* Whether a complete packet may reach libmilter. */
static int
packet_ok(const struct state *s)
{
	if (s->cmd != SMFIC_MACRO || s->len <= 1)
		return 1; /* a lone stage letter: libmilter ignores it */
	return s->last == '\0' && s->nuls % 2 == 0;
}

/* Takes the n bytes a read returned; -1 if they complete a packet that
 * must not reach libmilter. */
static int
follow(struct state *s, const unsigned char *p, size_t n)
{
	size_t k;

	while (n > 0) {
		if (s->have < HDR) {
			k = (size_t)(HDR - s->have);
			k = k < n ? k : n;
			memcpy(s->hdr + s->have, p, k);
			s->have += (unsigned char)k;
			if (s->have == HDR)
				begin(s);
		} else {
			k = s->left < n ? s->left : n;
			if (s->cmd == SMFIC_MACRO)
				scan(s, p, k);
			s->left -= (uint32_t)k;
			if (s->left == 0) {
				s->have = 0;
				if (!packet_ok(s))
					return -1;
			}
		}
		p += k;
		n -= k;
	}
	return 0;
}

/* At most LOG_BURST lines a minute; *quiet: refusals not logged since
 * the last line. Approximate across threads, which is enough. */
static int
log_ok(unsigned long *quiet)
{
	static _Atomic(long) minute;
	static atomic_uint lines;
	static _Atomic(unsigned long) unlogged;
	long now = (long)(time(NULL) / 60), was = atomic_load(&minute);

	if (now != was && atomic_compare_exchange_strong(&minute, &was, now))
		atomic_store(&lines, 0);
	if (atomic_fetch_add(&lines, 1) >= LOG_BURST) {
		atomic_fetch_add(&unlogged, 1);
		return 0;
	}
	*quiet = atomic_exchange(&unlogged, 0);
	return 1;
}

static void
refuse(int fd, const struct state *s)
{
	unsigned long n = atomic_fetch_add(&refused, 1) + 1, quiet = 0;
	char stage[8], more[64] = "";

	if (!log_ok(&quiet))
		return;
	tlsp_escape_log((const char *)&s->stage, 1, stage, sizeof(stage));
	if (quiet > 0)
		snprintf(more, sizeof(more), ", %lu not logged", quiet);
	tlspm_log(LOG_WARNING,
		  "malformed milter packet: fd=%d cmd=D stage=\"%s\" len=%u "
		  "strings=%u error=\"%s\"; connection closed (%lu so far%s)",
		  fd, stage, (unsigned)s->len,
		  (unsigned)(s->nuls + (s->last != '\0')),
		  s->last != '\0' ? "a macro string without its NUL"
				  : "an odd number of macro strings",
		  n, more);
}

ssize_t
read(int fd, void *buf, size_t n)
{
	struct frame *f = slot(fd);
	ssize_t r;

	if (f == NULL || !atomic_load_explicit(&f->on, memory_order_relaxed))
		return real_read()(fd, buf, n);
	if (f->st.refused) {
		errno = EPROTO;
		return -1;
	}
	r = real_read()(fd, buf, n);
	if (r > 0 && follow(&f->st, buf, (size_t)r) < 0) {
		f->st.refused = 1;
		refuse(fd, &f->st);
		errno = EPROTO;
		return -1;
	}
	return r;
}

/* A libmilter built with _FORTIFY_SOURCE reads through this one: it
 * must not pass the guard by. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);

ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		abort(); /* as the C library's: the caller's buffer is short */
	return read(fd, buf, n);
}

int
close(int fd)
{
	struct frame *f = slot(fd);

	/* before the number can be handed out again */
	if (f != NULL && atomic_load_explicit(&f->on, memory_order_relaxed))
		atomic_store_explicit(&f->on, 0, memory_order_release);
	return real_close()(fd);
}
#endif

/*
 * test_frame.c - milter/frame.c's packet framing, read by read() in any
 * chunks.
 *
 * libmilter reads a header and then its data, but the guard must not
 * depend on that: each row's packets are written to one end of a socket
 * pair the guard follows, and read from the other in chunks of 1, 2, 3,
 * 5, 7 and 4096 bytes. A good stream comes through byte for byte; a bad
 * one comes through up to the read that would complete its bad packet,
 * which fails with EPROTO, as every read after it. A descriptor the
 * guard does not follow, and one whose number was closed and handed out
 * again, read anything.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "log.h"

struct row {
	const char *name;
	const char *bytes; /* whole packets: length, command, data */
	size_t len;
	long bad_end; /* offset just past the bad packet, or -1 */
};

#define BYTES(s) s, sizeof(s) - 1

static const struct row rows[] = {
	{"macros, two pairs",
	 BYTES("\0\0\0\x0d"
	       "DMi\0Q1\0{a}\0b\0"),
	 -1},
	{"macros, one string",
	 BYTES("\0\0\0\x06"
	       "DC{x}\0"),
	 10},
	{"macros after a good packet, three strings",
	 BYTES("\0\0\0\x01"
	       "A"
	       "\0\0\0\x0b"
	       "DMi\0Q1\0{a}\0"),
	 20},
	{"macros, NUL inside a value (five strings)",
	 BYTES("\0\0\0\x0e"
	       "DM{s}\0a\0b\0i\0Q\0"),
	 18},
	{"macros, last value without NUL",
	 BYTES("\0\0\0\x09"
	       "DMi\0Q1\0ab"),
	 13},
	{"macros, a lone stage letter",
	 BYTES("\0\0\0\x02"
	       "DM"),
	 -1},
	{"MAIL with three empty strings",
	 BYTES("\0\0\0\x04"
	       "M\0\0\0"),
	 -1},
	{"a body of NULs and an odd macro packet after it",
	 BYTES("\0\0\0\x04"
	       "B\0\0\0"
	       "\0\0\0\x04"
	       "DRr\0"),
	 16},
	{"no data (length 0), then a good macro packet",
	 BYTES("\0\0\0\0"
	       "T"
	       "\0\0\0\x06"
	       "DHj\0x\0"),
	 -1},
	{"negative length: no data follows",
	 BYTES("\xff\xff\xff\xfe"
	       "D"
	       "\0\0\0\x06"
	       "DHj\0x\0"),
	 -1},
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const size_t chunks[] = {1, 2, 3, 5, 7, 4096};

/* A socket pair whose reading end (sv[0]) the guard follows if asked. */
static void
pair(int sv[2], int track)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (track)
		assert_int_equal(tlspm_frame_track(sv[0]), 0);
}

/* Reads everything the row wrote, `chunk` bytes at a time: how many
 * bytes came through before a read failed (errno then EPROTO), and
 * checks they are the row's bytes. */
static long
drain(int fd, const struct row *r, size_t chunk, int *failed)
{
	char buf[4096];
	size_t got = 0;
	ssize_t n;

	*failed = 0;
	while (got < r->len) {
		n = read(fd, buf, chunk < r->len - got ? chunk : r->len - got);
		if (n < 0) {
			assert_int_equal(errno, EPROTO);
			*failed = 1;
			/* and every read after it */
			errno = 0;
			assert_int_equal(read(fd, buf, 1), -1);
			assert_int_equal(errno, EPROTO);
			break;
		}
		assert_true(n > 0);
		assert_memory_equal(buf, r->bytes + got, (size_t)n);
		got += (size_t)n;
	}
	return (long)got;
}

static void
test_rows(void **state)
{
	size_t i, k;
	int sv[2], failed;
	long got;

	(void)state;
	for (i = 0; i < NROWS; i++)
		for (k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
			const struct row *r = &rows[i];

			pair(sv, 1);
			assert_int_equal(write(sv[1], r->bytes, r->len),
					 (ssize_t)r->len);
			got = drain(sv[0], r, chunks[k], &failed);
			if (r->bad_end < 0 && (failed || got != (long)r->len))
				fail_msg("%s, chunks of %zu: refused after %ld "
					 "bytes",
					 r->name, chunks[k], got);
			/* everything before the read that ends it came */
			if (r->bad_end >= 0 &&
			    (!failed || got >= r->bad_end ||
			     got < r->bad_end - (long)chunks[k]))
				fail_msg("%s, chunks of %zu: %s after %ld "
					 "bytes, the bad packet ends at %ld",
					 r->name, chunks[k],
					 failed ? "refused" : "not refused",
					 got, r->bad_end);
			close(sv[0]);
			close(sv[1]);
		}
}

/* An untracked descriptor reads the bytes as sent; so does one whose
 * number was refused, closed and handed out again, and followed again
 * it starts clean. */
static void
test_untracked_and_reused(void **state)
{
	const struct row *bad = &rows[1], *good = &rows[0];
	unsigned long before = tlspm_frame_refused();
	int sv[2], fd, failed;

	(void)state;
	pair(sv, 0);
	assert_int_equal(write(sv[1], bad->bytes, bad->len), (ssize_t)bad->len);
	assert_int_equal(drain(sv[0], bad, 4096, &failed), (long)bad->len);
	assert_false(failed);
	close(sv[0]);
	close(sv[1]);

	pair(sv, 1);
	assert_int_equal(write(sv[1], bad->bytes, bad->len), (ssize_t)bad->len);
	(void)drain(sv[0], bad, 4096, &failed);
	assert_true(failed);
	assert_int_equal(tlspm_frame_refused(), before + 1);
	fd = sv[0];
	close(sv[0]);
	close(sv[1]);

	/* the lowest free number: the refused one, now not followed */
	pair(sv, 0);
	assert_int_equal(sv[0], fd);
	assert_int_equal(write(sv[1], bad->bytes, bad->len), (ssize_t)bad->len);
	assert_int_equal(drain(sv[0], bad, 4096, &failed), (long)bad->len);
	assert_false(failed);
	/* followed again: nothing of the refused connection remains */
	assert_int_equal(tlspm_frame_track(sv[0]), 0);
	assert_int_equal(write(sv[1], good->bytes, good->len),
			 (ssize_t)good->len);
	assert_int_equal(drain(sv[0], good, 1, &failed), (long)good->len);
	assert_false(failed);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_untracked_and_reused),
	};

	tlspm_log_open("test_frame", LOG_USER, 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

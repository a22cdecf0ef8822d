/*
 * reader.c - audit log lines from a list of files.
 *
 * Lines: files are read in large chunks into one buffer that grows to at
 * most the line cap plus a little; lines are found with memchr and handed
 * out in place, NUL-terminated where their LF was. A line longer than
 * the cap is counted and skipped, never stored. A gzip file is read from
 * a `gzip -dc` child (no zlib, no shell): its exit status is checked at
 * the end of the file, so a truncated or corrupt archive is an error,
 * not a silently short log. The JSON parser for these lines is in
 * jsonread.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reader.h"

#define CHUNK ((size_t)1 << 20)

/* ============================================================ lines */

static void
lines_err(struct tlspa_reader *lr, const char *what, int errnum)
{
	snprintf(lr->err, sizeof(lr->err), "%s: %s%s%s", lr->files[lr->cur],
		 what, errnum ? ": " : "", errnum ? strerror(errnum) : "");
}

static int
is_magic(const unsigned char *m)
{
	return m[0] == 0x1f && m[1] == 0x8b;
}

/* 1 if the file is gzip-compressed: by name, or (a seekable file) by
 * its magic bytes, so a rotated file renamed without ".gz" is still read. */
static int
is_gzip(const char *path, int fd)
{
	size_t n = strlen(path);
	unsigned char m[2];
	off_t off;

	if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
		return 1;
	if ((off = lseek(fd, 0, SEEK_CUR)) < 0)
		return 0;
	return pread(fd, m, 2, off) == 2 && is_magic(m);
}

static char *const gzip_argv[] = {(char *)"gzip", (char *)"-dc", NULL};

/* Starts `gzip -dc` reading fd; returns the read end of its output and
 * sets *pid, or -1. fd is closed in any case. */
static int
gzip_spawn(int fd, pid_t *pid)
{
	int p[2];

	if (pipe(p) < 0) {
		close(fd);
		return -1;
	}
	if ((*pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		close(fd);
		return -1;
	}
	if (*pid == 0) {
		if (dup2(fd, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(127);
		close(p[0]);
		execvp("gzip", gzip_argv);
		_exit(127);
	}
	close(p[1]);
	close(fd);
	(void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
	return p[0];
}

/* Writes n bytes; -1 when the reader went away (gzip failed). */
static int
feed_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The feeder child of gzip_spawn_fed: gives gzip the bytes already read,
 * then the rest of fd, and exits with gzip's status. */
static void
gzip_feeder(int fd, const char *pre, size_t n, int out)
{
	char buf[65536];
	ssize_t r;
	pid_t gz;
	int in[2], st = 0;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(in) < 0 || (gz = fork()) < 0)
		_exit(127);
	if (gz == 0) {
		if (dup2(in[0], 0) < 0 || dup2(out, 1) < 0)
			_exit(127);
		close(in[1]);
		execvp("gzip", gzip_argv);
		_exit(127);
	}
	close(in[0]);
	close(out);
	if (feed_all(in[1], pre, n) == 0)
		while ((r = read(fd, buf, sizeof(buf))) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 || feed_all(in[1], buf, (size_t)r) < 0)
				break;
		}
	close(in[1]);
	while (waitpid(gz, &st, 0) < 0 && errno == EINTR)
		;
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 126);
}

/* gzip_spawn for a pipe whose first n bytes (pre) were already read to
 * recognise it: a feeder child puts them back in front. */
static int
gzip_spawn_fed(int fd, const char *pre, size_t n, pid_t *pid)
{
	int p[2];

	if (pipe(p) < 0)
		return -1;
	if ((*pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (*pid == 0) {
		close(p[0]);
		gzip_feeder(fd, pre, n, p[1]);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
	return p[0];
}

/* Standard input: gzip is recognised by its magic bytes, also in a pipe
 * (the bytes read to tell stay in the buffer, or go to gzip first). */
static int
stdin_open(struct tlspa_reader *lr)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	lr->fd = 0;
	if (lseek(0, 0, SEEK_CUR) >= 0) {
		if (!is_gzip("-", 0))
			return 0;
		if ((fd = dup(0)) < 0 ||
		    (lr->fd = gzip_spawn(fd, &lr->pid)) < 0)
			goto fail;
		return 0;
	}
	while (got < 2) {
		n = read(0, lr->buf + got, 2 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lines_err(lr, "read", errno);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	lr->end = got;
	if (lr->end == 2 && is_magic((unsigned char *)lr->buf)) {
		lr->end = 0;
		if ((lr->fd = gzip_spawn_fed(0, lr->buf, 2, &lr->pid)) < 0)
			goto fail;
	} else if (lr->tap != NULL && got > 0) {
		lr->tap(lr->tap_arg, lr->tap_base + lr->cur, lr->buf, got);
	}
	return 0;
fail:
	lr->fd = -1;
	lines_err(lr, "cannot start gzip -dc", errno);
	return -1;
}

static int
lines_open(struct tlspa_reader *lr)
{
	const char *path = lr->files[lr->cur];
	struct stat st;
	int fd;

	lr->pid = 0;
	lr->eof = 0;
	lr->skipping = 0;
	lr->lineno = 0;
	lr->start = lr->end = 0;
	if (strcmp(path, "-") == 0)
		return stdin_open(lr);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		lines_err(lr, "cannot open", errno);
		return -1;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		lines_err(lr, "is a directory", 0);
		return -1;
	}
	if (is_gzip(path, fd)) {
		if ((fd = gzip_spawn(fd, &lr->pid)) < 0) {
			lines_err(lr, "cannot start gzip -dc", errno);
			return -1;
		}
	}
	lr->fd = fd;
	return 0;
}

/* Closes the current file. With `check`, a gzip child that did not exit
 * 0 is an error (-1); a child stopped early by us is not. */
static int
lines_close_file(struct tlspa_reader *lr, int check)
{
	int status = 0, rc = 0;
	char what[128];

	if (lr->fd > 0 || (lr->fd == 0 && strcmp(lr->files[lr->cur], "-")))
		close(lr->fd);
	lr->fd = -1;
	if (lr->pid <= 0)
		return 0;
	if (!check)
		(void)kill(lr->pid, SIGTERM);
	while (waitpid(lr->pid, &status, 0) < 0 && errno == EINTR)
		;
	lr->pid = 0;
	if (!check)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		lines_err(lr, "cannot run gzip -dc", 0);
		rc = -1;
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(what, sizeof(what),
			 "gzip -dc failed (%s %d): "
			 "corrupt or truncated archive?",
			 WIFEXITED(status) ? "exit status" : "signal",
			 WIFEXITED(status) ? WEXITSTATUS(status)
					   : WTERMSIG(status));
		lines_err(lr, what, 0);
		rc = -1;
	}
	return rc;
}

/* Hands out buf[start .. start+len) as a line; it ended at `lf`. */
static int
line_out(struct tlspa_reader *lr, struct tlspa_reader_line *out, size_t len,
	 int lf)
{
	out->path = lr->files[lr->cur];
	out->file = lr->cur;
	out->lineno = ++lr->lineno;
	out->lf = lf;
	if (lr->skipping || len > lr->max) {
		out->overlong = 1;
		out->p = NULL;
		out->len = lr->skipped + len;
		lr->skipping = 0;
		lr->skipped = 0;
	} else {
		out->overlong = 0;
		out->p = lr->buf + lr->start;
		out->p[len] = '\0';
		out->len = len;
	}
	lr->start += len + (lf ? 1 : 0);
	return 1;
}

/* Makes room to read into: drops an overlong line's bytes, moves a
 * partial line to the front, grows the buffer up to the cap. */
static int
lines_room(struct tlspa_reader *lr)
{
	size_t have = lr->end - lr->start, ncap;
	char *nb;

	if (!lr->skipping && have > lr->max) {
		lr->skipping = 1;
		lr->skipped = 0;
	}
	if (lr->skipping) {
		lr->skipped += have;
		lr->start = lr->end = 0;
		return 0;
	}
	if (lr->start > 0) {
		memmove(lr->buf, lr->buf + lr->start, have);
		lr->start = 0;
		lr->end = have;
	}
	if (lr->cap - 1 - lr->end > 0)
		return 0;
	ncap = lr->cap * 2 < lr->max + 2 ? lr->cap * 2 : lr->max + 2;
	if ((nb = realloc(lr->buf, ncap)) == NULL) {
		lines_err(lr, "out of memory", 0);
		return -1;
	}
	lr->buf = nb;
	lr->cap = ncap;
	return 0;
}

static int
lines_fill(struct tlspa_reader *lr)
{
	ssize_t n;

	if (lines_room(lr) < 0)
		return -1;
	do
		n = read(lr->fd, lr->buf + lr->end, lr->cap - 1 - lr->end);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		lines_err(lr, "read", errno);
		return -1;
	}
	if (n == 0)
		lr->eof = 1;
	else if (lr->tap != NULL && lr->pid == 0)
		lr->tap(lr->tap_arg, lr->tap_base + lr->cur, lr->buf + lr->end,
			(size_t)n);
	lr->end += (size_t)n;
	return 0;
}

static int
lines_start(struct tlspa_reader *lr)
{
	lr->started = 1;
	lr->cur = -1;
	lr->fd = -1;
	if (lr->max == 0)
		lr->max = TLSPA_LINE_MAX;
	lr->cap = lr->max + 2 < CHUNK ? lr->max + 2 : CHUNK;
	if ((lr->buf = malloc(lr->cap)) == NULL) {
		snprintf(lr->err, sizeof(lr->err), "out of memory");
		return -1;
	}
	return 0;
}

int
tlspa_reader_next(struct tlspa_reader *lr, struct tlspa_reader_line *out)
{
	char *nl;

	if (!lr->started && lines_start(lr) < 0)
		return -1;
	for (;;) {
		if (lr->fd < 0) {
			if (lr->cur + 1 >= lr->nfiles)
				return 0;
			lr->cur++;
			if (lines_open(lr) < 0)
				return -1;
		}
		nl = memchr(lr->buf + lr->start, '\n', lr->end - lr->start);
		if (nl != NULL)
			return line_out(lr, out,
					(size_t)(nl - lr->buf) - lr->start, 1);
		if (lr->eof) {
			if (lr->end > lr->start || lr->skipping)
				return line_out(lr, out, lr->end - lr->start,
						0);
			if (lr->tap != NULL && lr->pid == 0)
				lr->tap(lr->tap_arg, lr->tap_base + lr->cur,
					NULL, 0);
			if (lines_close_file(lr, 1) < 0)
				return -1;
			continue;
		}
		if (lines_fill(lr) < 0)
			return -1;
	}
}

void
tlspa_reader_close(struct tlspa_reader *lr)
{
	if (lr->started && lr->fd >= 0)
		(void)lines_close_file(lr, 0);
	free(lr->buf);
	lr->buf = NULL;
	lr->started = 0;
}

/*
 * logfile.c - the audit log file on disk.
 *
 * The file is opened O_APPEND and locked with flock(2), so a second
 * daemon cannot append to it and fork the chain. Where the chain left off
 * comes from the file itself: its last complete record (a torn last line,
 * left by a crash in the middle of a write, is skipped, and the next
 * record starts with a newline of its own). A new or empty file continues
 * from path.head, which the writer leaves behind when it stops, so a log
 * rotated while the daemon was down still links to its predecessor.
 * A torn line is cut off only when the writer asks (cut_torn): one its
 * own failed write left, or a copy of a spilled record that goes back.
 *
 * Signals: a regular file never raises SIGPIPE. A write past
 * RLIMIT_FSIZE raises SIGXFSZ, which the daemon ignores; write(2) then
 * fails with EFBIG, handled like ENOSPC.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"

/* How far back from the end open looks for the last record. */
#define TAIL_MAX ((size_t)16 << 20)

static void
set_err(char *err, size_t errsz, const char *path, const char *what, int e)
{
	if (err != NULL && errsz > 0)
		snprintf(err, errsz, "%s: %s: %s", path, what, strerror(e));
}

static ssize_t
pread_all(int fd, char *buf, size_t n, off_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = pread(fd, buf + got, n - got, off + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * Looks for the last complete record in buf (the last n bytes of the
 * file; `whole` when that is the whole file). Returns 1 and fills rec,
 * 0 if none is complete in buf.
 */
static int
last_record(const char *buf, size_t n, int whole, struct tlsp_chain_rec *rec)
{
	size_t end = n, start;

	/*
	 * A last line without its newline is torn, unless only the newline
	 * is missing: the next write begins with a newline, which makes it
	 * a whole record, so the chain must continue from it.
	 */
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (end < n && (end > 0 || whole) &&
	    tlsp_chain_parse(buf + end, n - end, rec) == 0)
		return 1;
	while (end > 0) {
		start = end - 1;
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		if (start == 0 && !whole)
			return 0; /* the line may begin before buf */
		if (tlsp_chain_parse(buf + start, end - 1 - start, rec) == 0)
			return 1;
		end = start;
	}
	return 0;
}

/* A read-only descriptor of the open file (the log is opened
 * write-only), checked to be the same file; -1 with err. */
static int
open_reader(const struct tlsp_logfile *lf, char *err, size_t errsz)
{
	struct stat st;
	int fd;

	if ((fd = open(lf->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		set_err(err, errsz, lf->path, "open for reading", errno);
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_dev != lf->dev ||
	    st.st_ino != lf->ino) {
		snprintf(err, errsz, "%s: replaced while being opened",
			 lf->path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads the chain's state from the end of the file (size > 0), and
 * where a torn last line begins. */
static int
read_tail(struct tlsp_logfile *lf, off_t size, char *err, size_t errsz)
{
	struct tlsp_chain_rec rec;
	size_t want = 65536, n, last;
	char *buf = NULL, *nb;
	int fd, found = 0, rc = -1;

	if ((fd = open_reader(lf, err, errsz)) < 0)
		return -1;
	for (;;) {
		n = (off_t)want < size ? want : (size_t)size;
		if ((nb = realloc(buf, n)) == NULL) {
			snprintf(err, errsz, "%s: out of memory", lf->path);
			goto out;
		}
		buf = nb;
		if (pread_all(fd, buf, n, size - (off_t)n) != (ssize_t)n) {
			set_err(err, errsz, lf->path, "reading the last record",
				errno ? errno : EIO);
			goto out;
		}
		found = last_record(buf, n, (off_t)n == size, &rec);
		if (found || (off_t)n == size || n >= TAIL_MAX)
			break;
		want *= 4;
	}
	if (!found) {
		snprintf(err, errsz,
			 "%s: not a tlspolicy audit log (no record "
			 "with \"seq\" and \"hash\" near its end)",
			 lf->path);
		goto out;
	}
	lf->seq = rec.seq;
	memcpy(lf->hash, rec.hash, sizeof(lf->hash));
	lf->torn = buf[n - 1] != '\n';
	/* a record was found before the last line: that line is whole */
	for (last = n; last > 0 && buf[last - 1] != '\n'; last--)
		;
	if (lf->torn && tlsp_chain_parse(buf + last, n - last, &rec) != 0)
		lf->torn_at = size - (off_t)(n - last);
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Where the chain continues for an empty file: path.head, or genesis. */
static int
read_head(struct tlsp_logfile *lf, char *err, size_t errsz)
{
	char name[4096], line[128], hash[TLSP_HASH_HEX + 2];
	unsigned long long seq;
	FILE *f;
	int ok;

	lf->seq = 0;
	memcpy(lf->hash, tlsp_chain_genesis, sizeof(lf->hash));
	snprintf(name, sizeof(name), "%s.head", lf->path);
	if ((f = fopen(name, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		set_err(err, errsz, name, "open", errno);
		return -1;
	}
	ok = fgets(line, sizeof(line), f) != NULL &&
	     sscanf(line, "%llu %65s", &seq, hash) == 2 &&
	     strlen(hash) == TLSP_HASH_HEX &&
	     strspn(hash, "0123456789abcdef") == TLSP_HASH_HEX;
	fclose(f);
	if (!ok) {
		snprintf(err, errsz,
			 "%s: not \"SEQ HASH\": cannot continue "
			 "the audit chain (remove the file to start a new one)",
			 name);
		return -1;
	}
	lf->seq = seq;
	memcpy(lf->hash, hash, sizeof(lf->hash));
	return 0;
}

/* Checks the open file: regular, ours alone, and where its chain ends. */
static int
inspect(struct tlsp_logfile *lf, char *err, size_t errsz)
{
	struct stat st;

	if (fstat(lf->fd, &st) < 0) {
		set_err(err, errsz, lf->path, "fstat", errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", lf->path);
		return -1;
	}
	if (flock(lf->fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errsz,
				 "%s: locked: another process "
				 "writes this log",
				 lf->path);
		else
			set_err(err, errsz, lf->path, "flock", errno);
		return -1;
	}
	lf->dev = st.st_dev;
	lf->ino = st.st_ino;
	lf->torn = 0;
	lf->torn_at = -1;
	lf->cut_torn = 0;
	if (st.st_size == 0)
		return read_head(lf, err, errsz);
	return read_tail(lf, st.st_size, err, errsz);
}

/* O_NONBLOCK only keeps a FIFO at that path from hanging us. */
int
tlsp_logfile_open(struct tlsp_logfile *lf, const char *path, char *err,
		  size_t errsz)
{
	lf->path = path;
	lf->unsynced = 0;
	clock_gettime(CLOCK_MONOTONIC, &lf->last_sync);
	lf->fd = open(path,
		      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK,
		      0640);
	if (lf->fd < 0) {
		set_err(err, errsz, path, "open", errno);
		return -1;
	}
	if (inspect(lf, err, errsz) < 0) {
		close(lf->fd);
		lf->fd = -1;
		return -1;
	}
	return 0;
}

int
tlsp_logfile_moved(const struct tlsp_logfile *lf)
{
	struct stat st;

	if (lf->fd < 0)
		return 1;
	if (fstat(lf->fd, &st) == 0 && st.st_nlink == 0)
		return 1;
	return stat(lf->path, &st) != 0 || st.st_dev != lf->dev ||
	       st.st_ino != lf->ino;
}

int
tlsp_logfile_check(const struct tlsp_logfile *lf, off_t *size, char *err,
		   size_t errsz)
{
	struct stat st;

	if (lf->fd < 0)
		return 1;
	if (fstat(lf->fd, &st) < 0) {
		set_err(err, errsz, lf->path, "fstat", errno);
		return -1;
	}
	*size = st.st_size;
	return st.st_nlink == 0;
}

int
tlsp_logfile_reopen(struct tlsp_logfile *lf, int *switched, char *err,
		    size_t errsz)
{
	struct tlsp_logfile nf;

	*switched = 0;
	if (!tlsp_logfile_moved(lf))
		return 0;
	if (tlsp_logfile_open(&nf, lf->path, err, errsz) < 0)
		return -1;
	if (nf.seq == 0 || nf.seq < lf->seq) {
		/* a new file: the chain goes on from the old one */
		nf.seq = lf->seq;
		memcpy(nf.hash, lf->hash, sizeof(nf.hash));
	}
	if (lf->fd >= 0) {
		if (lf->unsynced)
			(void)fdatasync(lf->fd);
		close(lf->fd);
	}
	*lf = nf;
	*switched = 1;
	return 0;
}

int
tlsp_logfile_write(struct tlsp_logfile *lf, off_t size, const char *p,
		   size_t len, size_t *kept, char *err, size_t errsz)
{
	size_t done = 0;
	ssize_t w;

	*kept = 0;
	while (done < len) {
		w = write(lf->fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			set_err(err, errsz, lf->path, "write",
				w == 0 ? EIO : errno);
			if (done > 0 && ftruncate(lf->fd, size) < 0)
				*kept = done;
			return -1;
		}
		done += (size_t)w;
		lf->unsynced = 1;
	}
	return 0;
}

int
tlsp_logfile_sync(struct tlsp_logfile *lf, char *err, size_t errsz)
{
	if (fdatasync(lf->fd) < 0) {
		set_err(err, errsz, lf->path, "fdatasync", errno);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &lf->last_sync);
	lf->unsynced = 0;
	return 0;
}

int
tlsp_logfile_torn_is(const struct tlsp_logfile *lf, const char *line,
		     size_t len, char *err, size_t errsz)
{
	struct stat st;
	size_t n;
	char *buf;
	int fd, rc = -1;

	if (lf->torn_at < 0)
		return 0;
	if (fstat(lf->fd, &st) < 0) {
		set_err(err, errsz, lf->path, "fstat", errno);
		return -1;
	}
	if (st.st_size <= lf->torn_at ||
	    (size_t)(st.st_size - lf->torn_at) >= len)
		return 0; /* a whole line is no part of one */
	n = (size_t)(st.st_size - lf->torn_at);
	if ((fd = open_reader(lf, err, errsz)) < 0)
		return -1;
	if ((buf = malloc(n)) == NULL)
		snprintf(err, errsz, "%s: out of memory", lf->path);
	else if (pread_all(fd, buf, n, lf->torn_at) != (ssize_t)n)
		set_err(err, errsz, lf->path, "reading its torn last line",
			errno ? errno : EIO);
	else
		rc = memcmp(buf, line, n) == 0;
	free(buf);
	close(fd);
	return rc;
}

int
tlsp_logfile_cut(struct tlsp_logfile *lf, off_t *cut, char *err, size_t errsz)
{
	struct stat st;

	*cut = 0;
	if (lf->torn_at < 0)
		return 0;
	if (fstat(lf->fd, &st) < 0 ||
	    (st.st_size > lf->torn_at &&
	     (ftruncate(lf->fd, lf->torn_at) < 0 || fdatasync(lf->fd) < 0))) {
		set_err(err, errsz, lf->path, "cutting off its torn last line",
			errno);
		return -1;
	}
	if (st.st_size > lf->torn_at)
		*cut = st.st_size - lf->torn_at;
	lf->torn = 0;
	lf->torn_at = -1;
	lf->cut_torn = 0;
	return 0;
}

int
tlsp_logfile_truncate(struct tlsp_logfile *lf, off_t size)
{
	return ftruncate(lf->fd, size);
}

int
tlsp_logfile_save_head(const struct tlsp_logfile *lf, char *err, size_t errsz)
{
	char name[4096], tmp[4200], line[128];
	int fd, n, ok;

	snprintf(name, sizeof(name), "%s.head", lf->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	n = snprintf(line, sizeof(line), "%llu %s\n",
		     (unsigned long long)lf->seq, lf->hash);
	if ((fd = open(tmp,
		       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		       0640)) < 0) {
		set_err(err, errsz, tmp, "open", errno);
		return -1;
	}
	ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
	if (!ok)
		set_err(err, errsz, tmp, "write", errno ? errno : EIO);
	if (close(fd) < 0 && ok) {
		set_err(err, errsz, tmp, "close", errno);
		ok = 0;
	}
	if (ok && rename(tmp, name) < 0) {
		set_err(err, errsz, name, "rename", errno);
		ok = 0;
	}
	if (!ok)
		(void)unlink(tmp);
	return ok ? 0 : -1;
}

void
tlsp_logfile_close(struct tlsp_logfile *lf)
{
	if (lf->fd < 0)
		return;
	if (lf->unsynced)
		(void)fdatasync(lf->fd);
	close(lf->fd);
	lf->fd = -1;
}

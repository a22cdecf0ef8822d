/*
 * spill.c - the spill file on disk (see spill.h).
 *
 * Written once per stop at most, read once per start: simple reads and
 * writes of the whole file, never on a mail path. Every write is synced
 * with its directory entry, since a spill exists only because the log
 * could not take its records: it is their one copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spill.h"

/* A spill holds at most a few queues' worth of records. */
#define SPILL_MAX ((off_t)256 << 20)

static void
set_err(char *err, size_t errsz, const char *path, const char *what, int e)
{
	snprintf(err, errsz, "%s: %s: %s", path, what, strerror(e));
}

/* The directory of path into buf (dirname(3) works on a copy). */
static const char *
dir_of(const char *path, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s", path);
	return dirname(buf);
}

static int
sync_dir(const char *path, char *err, size_t errsz)
{
	char buf[4096];
	const char *dir = dir_of(path, buf, sizeof(buf));
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		set_err(err, errsz, dir, "open", errno);
		return -1;
	}
	rc = fsync(fd);
	if (rc < 0)
		set_err(err, errsz, dir, "fsync", errno);
	close(fd);
	return rc;
}

/* Reads the whole file (a regular file, at most SPILL_MAX) into sp. */
static int
read_whole(struct tlsp_spill *sp, int fd, const char *path, char *err,
	   size_t errsz)
{
	struct stat st;
	ssize_t r;
	off_t got = 0;

	if (fstat(fd, &st) < 0) {
		set_err(err, errsz, path, "fstat", errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > SPILL_MAX) {
		snprintf(err, errsz, "%s: %s", path,
			 S_ISREG(st.st_mode) ? "larger than 256 MiB"
					     : "not a regular file");
		return -1;
	}
	if ((sp->buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	while (got < st.st_size) {
		r = pread(fd, sp->buf + got, (size_t)(st.st_size - got), got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			set_err(err, errsz, path, "read", r < 0 ? errno : EIO);
			return -1;
		}
		got += r;
	}
	sp->len = got;
	return 0;
}

/* A torn last line never was a record anywhere: cut it off the file. */
static int
cut_torn(struct tlsp_spill *sp, int fd, const char *path, char *err,
	 size_t errsz)
{
	off_t end = sp->len;

	while (end > 0 && sp->buf[end - 1] != '\n')
		end--;
	if (end == sp->len)
		return 0;
	if (ftruncate(fd, end) < 0 || fdatasync(fd) < 0) {
		set_err(err, errsz, path, "cutting off a torn last line",
			errno);
		return -1;
	}
	sp->torn = sp->len - end;
	sp->len = end;
	return 0;
}

/* Splits sp->buf into records, each verified and linked to the one
 * before it. */
static int
parse_lines(struct tlsp_spill *sp, const char *path,
	    const struct tlsp_chain_key *key, char *err, size_t errsz)
{
	struct tlsp_jbuf scratch = {0};
	struct tlsp_chain_rec rec, last;
	size_t count = 0, start, end;
	int ok, rc = -1;

	for (end = 0; end < (size_t)sp->len; end++)
		count += sp->buf[end] == '\n';
	if (count > 0 && (sp->v = calloc(count, sizeof(*sp->v))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -1;
	}
	for (start = 0; start < (size_t)sp->len; start = end + 1) {
		end = (size_t)((char *)memchr(sp->buf + start, '\n',
					      (size_t)sp->len - start) -
			       sp->buf);
		ok = tlsp_chain_verify(sp->buf + start, end - start, key,
				       &scratch, &rec);
		if (ok <= 0) {
			snprintf(err, errsz, "%s:%zu: %s", path, sp->n + 1,
				 ok < 0 ? "not an audit record"
					: "its hash does not verify (changed, "
					  "or another key_file)");
			goto out;
		}
		if (sp->n > 0 &&
		    (rec.seq != last.seq + 1 || strcmp(rec.prev, last.hash))) {
			snprintf(err, errsz,
				 "%s:%zu: seq %llu does not follow seq %llu "
				 "of the line before",
				 path, sp->n + 1, (unsigned long long)rec.seq,
				 (unsigned long long)last.seq);
			goto out;
		}
		sp->v[sp->n].line = sp->buf + start;
		sp->v[sp->n].len = end - start;
		sp->v[sp->n].seq = rec.seq;
		memcpy(sp->v[sp->n].hash, rec.hash, sizeof(rec.hash));
		sp->n++;
		last = rec;
	}
	rc = 0;
out:
	tlsp_jb_free(&scratch);
	return rc;
}

/* Where the records the log lacks begin: after the one that is the
 * log's last record, or at the first if it follows the log. */
static int
find_first(struct tlsp_spill *sp, const char *path, uint64_t seq,
	   const char *hash, char *err, size_t errsz)
{
	struct tlsp_chain_rec first;
	size_t i;

	if (sp->n == 0)
		return 0;
	(void)tlsp_chain_parse(sp->v[0].line, sp->v[0].len, &first);
	if (first.seq == seq + 1 && strcmp(first.prev, hash) == 0) {
		sp->first = 0;
		return 0;
	}
	for (i = 0; i < sp->n; i++)
		if (sp->v[i].seq == seq && strcmp(sp->v[i].hash, hash) == 0) {
			sp->first = i + 1;
			return 0;
		}
	snprintf(err, errsz,
		 "%s: its records (seq %llu to %llu) do not continue the "
		 "audit log, which ends at seq %llu: check them with "
		 "\"tlspolicy-audit verify LOG SPILL\", and move the spill "
		 "away once they are kept elsewhere",
		 path, (unsigned long long)first.seq,
		 (unsigned long long)sp->v[sp->n - 1].seq,
		 (unsigned long long)seq);
	return -1;
}

int
tlsp_spill_load(struct tlsp_spill *sp, const char *path,
		const struct tlsp_chain_key *key, uint64_t seq,
		const char *hash, char *err, size_t errsz)
{
	int fd, rc = -1;

	memset(sp, 0, sizeof(*sp));
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		set_err(err, errsz, path, "open", errno);
		return -1;
	}
	sp->exists = 1;
	if (read_whole(sp, fd, path, err, errsz) == 0 &&
	    cut_torn(sp, fd, path, err, errsz) == 0 &&
	    parse_lines(sp, path, key, err, errsz) == 0 &&
	    find_first(sp, path, seq, hash, err, errsz) == 0)
		rc = 0;
	close(fd);
	return rc;
}

void
tlsp_spill_free(struct tlsp_spill *sp)
{
	free(sp->buf);
	free(sp->v);
	memset(sp, 0, sizeof(*sp));
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
tlsp_spill_append(const char *path, off_t expect, const char *p, size_t len,
		  char *err, size_t errsz)
{
	struct stat st;
	int fd, rc = -1;

	fd = open(path,
		  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
			  O_NONBLOCK,
		  0640);
	if (fd < 0) {
		set_err(err, errsz, path, "open", errno);
		return -1;
	}
	if (fstat(fd, &st) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		set_err(err, errsz, path, "fstat/flock", errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size != expect) {
		snprintf(err, errsz,
			 "%s: holds %lld bytes, not the %lld this daemon "
			 "knows of: not writing into it",
			 path, (long long)st.st_size, (long long)expect);
		goto out;
	}
	if (write_all(fd, p, len) < 0 || fdatasync(fd) < 0) {
		set_err(err, errsz, path, "write", errno);
		/* failing that, the torn tail is cut off at the next load */
		if (ftruncate(fd, expect) < 0)
			set_err(err, errsz, path, "write, then cut back",
				errno);
		goto out;
	}
	rc = sync_dir(path, err, errsz);
out:
	close(fd);
	return rc;
}

int
tlsp_spill_remove(const char *path, char *err, size_t errsz)
{
	/* Should the removal not reach the disk, the spill is back after a
	 * crash, and the next start finds its records in the log. */
	if (unlink(path) == 0) {
		(void)sync_dir(path, err, errsz);
		return 0;
	}
	set_err(err, errsz, path, "unlink", errno);
	return truncate(path, 0) == 0 ? 1 : -1;
}

int
tlsp_spill_check(const char *path, const char *log, int *same_fs, char *err,
		 size_t errsz)
{
	char buf[4096];
	const char *dir = dir_of(path, buf, sizeof(buf));
	struct stat sd, ld;

	*same_fs = 0;
	if (stat(dir, &sd) < 0) {
		set_err(err, errsz, dir, "the spill's directory", errno);
		return -1;
	}
	if (!S_ISDIR(sd.st_mode)) {
		snprintf(err, errsz,
			 "%s: the spill's directory is not a "
			 "directory",
			 dir);
		return -1;
	}
	dir = dir_of(log, buf, sizeof(buf));
	*same_fs = stat(dir, &ld) == 0 && ld.st_dev == sd.st_dev;
	return 0;
}

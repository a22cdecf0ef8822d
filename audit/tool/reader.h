/*
 * reader.h - reading audit logs back, line by line (private to
 * tlspolicy-audit and its tests; the lines are parsed with jsonread.h).
 *
 * The line reader walks a list of files in order ("-" is standard input;
 * a gzip file, by its ".gz" name or its magic bytes, is read through a
 * `gzip -dc` child), one line at a time, in a buffer of bounded size: a
 * log of any length is read in constant memory, and a line longer than
 * the cap is skipped and reported rather than held.
 */
#ifndef TLSPOLICY_AUDIT_READER_H
#define TLSPOLICY_AUDIT_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ------------------------------------------------------------ lines */

#define TLSPA_LINE_MAX ((size_t)16 << 20) /* longer lines are skipped */

/* One line, valid until the next call. */
struct tlspa_reader_line {
	char *p;	  /* its bytes, NUL-terminated; NULL if overlong */
	size_t len;	  /* without the LF; overlong: bytes skipped */
	int lf;		  /* it ended in LF (else: end of file) */
	int overlong;	  /* longer than the cap: content dropped */
	const char *path; /* the file, as given ("-": stdin) */
	unsigned long long lineno; /* 1-based, within path */
	int file;		   /* path's index in the list */
};

/*
 * The reader over a list of files. Zero-initialise, set `files`,
 * `nfiles` and optionally `max` (0: TLSPA_LINE_MAX), then call
 * tlspa_reader_next until it returns 0, and tlspa_reader_close once.
 * The file names are borrowed; the buffer is owned and freed by close.
 */
struct tlspa_reader {
	char *const *files;
	int nfiles;
	size_t max;
	/* Optional: sees every byte of a file as stored, in order, then
	 * once n == 0 when the file was read to its end: a digest of
	 * exactly the bytes read. Not for a gzip file (its bytes go to
	 * gzip, not to the reader); a file read only in part never gets
	 * the n == 0 call. `file` is tap_base plus the file's index. */
	void (*tap)(void *arg, int file, const char *p, size_t n);
	void *tap_arg;
	int tap_base; /* the `file` the tap gets for files[0] */

	/* state, private */
	int cur;      /* index of the open file; -1 before the first */
	int fd;	      /* -1 when no file is open */
	pid_t pid;    /* the gzip child, or 0 */
	int skipping; /* inside an overlong line */
	int eof;      /* fd reached end of file */
	unsigned long long lineno;
	char *buf;
	size_t cap, start, end, skipped;
	int started;
	char err[512]; /* the error when next returns -1 */
};

/*
 * The next line of the files: 1 with *out set, 0 after the last line of
 * the last file, -1 on an error (a file cannot be opened or read, gzip
 * failed) with the text in lr->err; reading cannot continue after -1.
 */
int tlspa_reader_next(struct tlspa_reader *lr, struct tlspa_reader_line *out);

/* Closes the open file (waiting for a gzip child) and frees the buffer.
 * Safe to call twice. */
void tlspa_reader_close(struct tlspa_reader *lr);

#endif

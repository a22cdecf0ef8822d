/*
 * logfile.h - the audit log file: open, lock, find where the chain left
 * off, append, sync, take back a failed append (private to audit/).
 *
 * One struct tlsp_logfile belongs to the writer thread; nothing here
 * locks. Functions return 0 or -1 with a message in err.
 */
#ifndef TLSPOLICY_AUDIT_LOGFILE_H
#define TLSPOLICY_AUDIT_LOGFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "chain.h"

struct tlsp_logfile {
	const char *path; /* borrowed */
	int fd;		  /* -1 after a failed reopen */
	dev_t dev;	  /* identity of the open file */
	ino_t ino;
	uint64_t seq;		      /* of the last record in the chain */
	char hash[TLSP_HASH_HEX + 1]; /* its hash; genesis when seq is 0 */
	int torn;		      /* the file may end inside a line */
	off_t torn_at;		      /* where its torn last line begins;
					 -1: none, or only a record's
					 newline is missing */
	int cut_torn;		      /* cut it off before the next write */
	int unsynced;		      /* written since the last fdatasync */
	struct timespec last_sync;    /* CLOCK_MONOTONIC */
};

/*
 * Opens path for appending (creating it 0640), locks it, and sets seq and
 * hash from its last record, or, for an empty file, from path.head, or
 * to the genesis. A non-empty file must end in records of ours.
 */
int tlsp_logfile_open(struct tlsp_logfile *, const char *path, char *err,
		      size_t errsz);

/* 1 if the path names another file than the open one (rotated, removed)
 * or no file is open. */
int tlsp_logfile_moved(const struct tlsp_logfile *);

/* The open file's size in *size, 0; 1 if it was removed (no name left)
 * or none is open: the writer then reopens by itself (a file renamed by
 * logrotate is still written to until the reopen signal); -1 if fstat
 * fails. One fstat(2): the writer calls it for every batch. */
int tlsp_logfile_check(const struct tlsp_logfile *, off_t *size, char *err,
		       size_t errsz);

/*
 * Switches to the file now at the path; the chain continues from the
 * old file's last record, or from the new file's if that is a non-empty
 * log of ours. The old file is synced and closed. On error the old file
 * stays open. Sets *switched when another file was opened.
 */
int tlsp_logfile_reopen(struct tlsp_logfile *, int *switched, char *err,
			size_t errsz);

/*
 * Appends len bytes. Returns 0, or -1 after a failed write: the file is
 * cut back to `size` when possible (*kept 0), else *kept is the number
 * of bytes that stayed in the file.
 */
int tlsp_logfile_write(struct tlsp_logfile *, off_t size, const char *p,
		       size_t len, size_t *kept, char *err, size_t errsz);

/* fdatasync; 0 or -1. */
int tlsp_logfile_sync(struct tlsp_logfile *, char *err, size_t errsz);

/*
 * 1 when the file ends in a torn line (torn_at) whose bytes are the
 * beginning of `line` (len bytes, without its newline), 0 when it does
 * not (or ends in no torn line), -1 with err if it cannot be read.
 */
int tlsp_logfile_torn_is(const struct tlsp_logfile *, const char *line,
			 size_t len, char *err, size_t errsz);

/*
 * Cuts the torn last line (torn_at) off the file and syncs it; *cut is
 * the number of bytes cut. 0, or -1 with err (the file is as it was,
 * or shorter but still ending in a part of that line).
 */
int tlsp_logfile_cut(struct tlsp_logfile *, off_t *cut, char *err,
		     size_t errsz);

/* Cuts the file back to size; 0 or -1. */
int tlsp_logfile_truncate(struct tlsp_logfile *, off_t size);

/* Writes "SEQ HASH\n" to path.head (via a temporary file and rename). */
int tlsp_logfile_save_head(const struct tlsp_logfile *, char *err,
			   size_t errsz);

/* Syncs if needed and closes. */
void tlsp_logfile_close(struct tlsp_logfile *);

#endif

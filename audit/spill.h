/*
 * spill.h - the spill file: where the records the audit log cannot take
 * go when the daemon stops, and from where the next start moves them
 * back into the log (private to audit/).
 *
 * A spill holds ordinary records, whole lines with their seq, prev and
 * hash: they continue the log's chain, so `tlspolicy-audit verify LOG
 * SPILL` checks them as a continuation. Nothing here locks or keeps
 * state between calls.
 */
#ifndef TLSPOLICY_AUDIT_SPILL_H
#define TLSPOLICY_AUDIT_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chain.h"

struct tlsp_spill_rec {
	const char *line; /* into tlsp_spill.buf, without its newline */
	size_t len;
	uint64_t seq;
	char hash[TLSP_HASH_HEX + 1];
};

struct tlsp_spill {
	int exists;		  /* the file was there */
	char *buf;		  /* its whole lines; owned */
	off_t len;		  /* their bytes: the file's size after load */
	off_t torn;		  /* bytes of a torn last line cut off */
	struct tlsp_spill_rec *v; /* owned */
	size_t n;
	size_t first; /* v[first..n-1] are not in the log yet */
};

/*
 * Reads the spill at path into sp (zeroed first; absent: sp->exists 0).
 * Every line must be a record whose hash verifies under key and that
 * follows the line before it. The records must continue the log, whose
 * last record is (seq, hash), or overlap its end: a start that appended
 * them and stopped before removing the spill leaves the log ending
 * inside or at the end of the spill. sp->first says where the records
 * the log lacks begin. A torn last line (the daemon died while it
 * spilled) is cut off the file, and counted in sp->torn. 0, or -1 with
 * err; the caller frees sp with tlsp_spill_free() either way.
 */
int tlsp_spill_load(struct tlsp_spill *sp, const char *path,
		    const struct tlsp_chain_key *key, uint64_t seq,
		    const char *hash, char *err, size_t errsz);

void tlsp_spill_free(struct tlsp_spill *sp);

/*
 * Appends len bytes of whole lines to the spill at path, creating it
 * (mode 0640), when it holds exactly `expect` bytes (what this process
 * last knew of it), then fdatasyncs it and syncs its directory. On a
 * failed write the file is cut back to `expect`. 0, or -1 with err.
 */
int tlsp_spill_append(const char *path, off_t expect, const char *p, size_t len,
		      char *err, size_t errsz);

/*
 * Removes the spill once the log holds its records, and syncs the
 * directory (a removal lost in a crash is harmless: the next load finds
 * the records in the log); a spill that cannot be removed is emptied
 * instead (returns 1, err says why). 0, 1, or -1 with err.
 */
int tlsp_spill_remove(const char *path, char *err, size_t errsz);

/*
 * 0 when the spill's directory exists; -1 with err otherwise. *same_fs
 * is set when it is on the file system of the log's directory (when
 * that exists).
 */
int tlsp_spill_check(const char *path, const char *log, int *same_fs, char *err,
		     size_t errsz);

#endif

/*
 * smfi.h - the libmilter calls the callbacks make, as a table.
 *
 * Unit tests replace the table before any connection exists, to see
 * every reply, header and quarantine without an MTA.
 */
#ifndef TLSPM_SMFI_H
#define TLSPM_SMFI_H

#include <libmilter/mfapi.h>

/* Strings are const here; the real table (smfi.c) copies them for
 * libmilter, which wants char *. */
struct tlspm_smfi {
	const char *(*getsymval)(SMFICTX *, const char *);
	int (*setreply)(SMFICTX *, const char *, const char *, const char *);
	int (*insheader)(SMFICTX *, int, const char *, const char *);
	int (*chgheader)(SMFICTX *, const char *, int, const char *);
	int (*quarantine)(SMFICTX *, const char *);
	void *(*getpriv)(SMFICTX *);
	int (*setpriv)(SMFICTX *, void *);
	int (*setsymlist)(SMFICTX *, int, const char *);
};
extern const struct tlspm_smfi *tlspm_smfi;

#endif
